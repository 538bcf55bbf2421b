/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_template.c - trellis template create|list|show|delete and trellis
 * quota set|show: the VM catalogue and a business unit's quotas. */
#include "cli.h"

/* The cap options (core/tenancy/caps.c's fields). */
#define CAP_OPTS(unset)                                                        \
	{"--cpu-shares", "cpu_shares", CLI_INT, "N",                           \
	 "relative CPU weight (cputune shares)" unset, 0, NULL},               \
	    {"--nic-in", "nic_inbound_kbps", CLI_INT, "KBPS",                  \
	     "NIC bandwidth into the VM, KB/s" unset, 0, NULL},                \
	    {"--nic-out", "nic_outbound_kbps", CLI_INT, "KBPS",                \
	     "NIC bandwidth out of the VM, KB/s" unset, 0, NULL},              \
	    {"--read-iops", "disk_read_iops_sec", CLI_INT, "N",                \
	     "disk read IOPS" unset, 0, NULL},                                 \
	    {"--write-iops", "disk_write_iops_sec", CLI_INT, "N",              \
	     "disk write IOPS" unset, 0, NULL},                                \
	    {"--read-bps", "disk_read_bytes_sec", CLI_INT, "BYTES",            \
	     "disk read bytes/s" unset, 0, NULL},                              \
	{                                                                      \
		"--write-bps", "disk_write_bytes_sec", CLI_INT, "BYTES",       \
		    "disk write bytes/s" unset, 0, NULL                        \
	}

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
    CAP_OPTS(""),
    CLI_OPTS_END};
static const struct cli_col cols[] = {
    {"NAME", "name"},	     {"VCPUS", "vcpus"},
    {"MEMORY", "memory_mib"}, {"DISK", "disk_gib"},
    {"KERNEL", "kernel"},    {"IMAGE", "image"},
    CLI_COLS_END};

static const struct cli_verb verbs[] = {{.name = "create",
					 .summary = "Create a VM template",
					 .op = "template.create",
					 .positional = "name",
					 .pos_metavar = "NAME",
					 .opts = create_opts},
					{.name = "list",
					 .summary = "List VM templates",
					 .op = "template.list",
					 .cols = cols,
					 .list_key = "items"},
					{.name = "show",
					 .summary = "Show a VM template",
					 .op = "template.show",
					 .positional = "name",
					 .pos_metavar = "NAME"},
					{.name = "delete",
					 .summary = "Delete a VM template",
					 .op = "template.delete",
					 .positional = "name",
					 .pos_metavar = "NAME"},
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
    {.name = "set",
     .summary = "Set a business unit's quotas",
     .op = "quota.set",
     .positional = "bu",
     .pos_metavar = "BU",
     .opts = set_opts},
    {.name = "show",
     .summary = "A business unit's quotas and use (a BU's users: theirs)",
     .op = "quota.show",
     .opts = show_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_quota = {
    "quota",
    "Quotas of a business unit, checked atomically with each placement",
    quota_verbs, NULL};

static const struct cli_opt caps_set_opts[] = {CAP_OPTS(" (-1: unset)"),
					       CLI_OPTS_END};
static const struct cli_opt caps_show_opts[] = {
    {"--bu", "bu", CLI_STR, "BU", "the business unit (a BU's users: theirs)",
     0, NULL},
    {"--template", "template", CLI_STR, "NAME", "the offering (VM template)",
     0, NULL},
    CLI_OPTS_END};

static const struct cli_verb caps_verbs[] = {
    {.name = "set",
     .summary = "Set a business unit's default caps",
     .op = "caps.set",
     .positional = "bu",
     .pos_metavar = "BU",
     .opts = caps_set_opts},
    {.name = "show",
     .summary =
	 "The caps a VM gets, each with its source (offering, bu, global)",
     .op = "caps.show",
     .opts = caps_show_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_caps = {
    "caps",
    "VM caps: the offering's, then the business unit's, then the global "
    "default, per field",
    caps_verbs, NULL};
