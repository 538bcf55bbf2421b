/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_template.c - trellis template create|list|show|delete and trellis
 * quota set|show: the VM catalogue and a business unit's quotas. */
#include "cli.h"

static const struct cli_opt create_opts[] = {
    {"--vcpus", "vcpus", CLI_INT, "N", "virtual CPUs", 1, NULL},
    {"--memory", "memory", CLI_SIZE, "SIZE", "memory (512M, 2G)", 1, NULL},
    {"--disk", "disk", CLI_SIZE, "SIZE", "root disk (10G)", 1, NULL},
    {"--image", "image", CLI_STR, "IMAGE", "boot image", 0, NULL},
    {"--kernel", "kernel", CLI_STR, "PATH", "direct-boot kernel", 0, NULL},
    {"--initrd", "initrd", CLI_STR, "PATH", "initramfs", 0, NULL},
    {"--cmdline", "cmdline", CLI_STR, "TEXT", "kernel command line", 0, NULL},
    {"--max-nics", "max_nics", CLI_INT, "N", "NICs a VM may have (1)", 0,
     NULL},
    {"--max-disks", "max_disks", CLI_INT, "N", "disks a VM may have (1)", 0,
     NULL},
    CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	     {"VCPUS", "vcpus"},
    {"MEMORY", "memory_mib"}, {"DISK", "disk_gib"},
    {"KERNEL", "kernel"},    {"IMAGE", "image"},
    CLI_COLS_END};

static const struct cli_verb verbs[] = {
    {"create", "Create a VM template", "template.create", "name", "NAME",
     create_opts, NULL, NULL, NULL},
    {"list", "List VM templates", "template.list", NULL, NULL, NULL, cols,
     "items", NULL},
    {"show", "Show a VM template", "template.show", "name", "NAME", NULL,
     NULL, NULL, NULL},
    {"delete", "Delete a VM template", "template.delete", "name", "NAME",
     NULL, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_template = {
    "template",
    "VM templates: named shapes (vcpus, memory, disk, boot) for vm "
    "provision template=NAME",
    verbs, NULL};

static const struct cli_opt set_opts[] = {
    {"--vcpus", "vcpus", CLI_INT, "N", "vcpus its VMs may claim (-1: none)",
     0, NULL},
    {"--memory", "memory", CLI_SIZE, "SIZE", "memory its VMs may claim", 0,
     NULL},
    {"--storage", "storage", CLI_SIZE, "SIZE", "disk its VMs may claim", 0,
     NULL},
    {"--vms", "vms", CLI_INT, "N", "how many VMs (-1: no limit)", 0, NULL},
    {"--templates", "templates", CLI_JSON, "JSON",
     "VMs per template, '{\"small\": 10}'", 0, NULL},
    CLI_OPTS_END};

static const struct cli_opt show_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "the business unit (a BU's users: theirs)",
     0, NULL},
    CLI_OPTS_END};

static const struct cli_verb quota_verbs[] = {
    {"set", "Set a business unit's quotas", "quota.set", "bu", "BU",
     set_opts, NULL, NULL, NULL},
    {"show", "A business unit's quotas and use (a BU's users: theirs)",
     "quota.show", NULL, NULL, show_opts, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_quota = {
    "quota",
    "Quotas of a business unit, checked atomically with each placement",
    quota_verbs, NULL};
