/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_vm.c - trellis vm list|show|create|start|stop|reboot|destroy|console|vnc.
 *
 * The verbs that change a VM run the shipped workflows (vm.provision,
 * vm.start, vm.stop, vm.reboot, vm.destroy) with the VM's name alone: the
 * VM's record says its host, disks, ports and claim.  Their options are
 * the workflow's inputs (the option table maps each to its input), and
 * --wait follows the instance as `workflow run --wait` does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const origins[] = {"trellis", "discovered", NULL};
/* trellis_vm_state_name()'s words, and "undefined" (the inventory's,
 * for a domain undefined on its host). */
static const char *const states[] = {
	"running",   "blocked", "paused",    "shutting-down", "shutoff",
	"crashed",   "suspended", "undefined", "unknown",	    NULL};
static const char *const consoles[] = {"vnc", "none", NULL};

static const struct cli_opt list_opts[] = {
	{"--host", "host", CLI_STR, "HOST", "only VMs on this host", 0, NULL},
	{"--state", "state", CLI_STR, "STATE", "only VMs in this state", 0,
	 states},
	{"--tenant", "tenant", CLI_STR, "TENANT", "only this tenant's VMs", 0,
	 NULL},
	{"--origin", "origin", CLI_STR, "ORIGIN",
	 "made by Trellis or discovered on a host", 0, origins},
	CLI_PAGING_OPTS, CLI_OPTS_END};
static const struct cli_opt vnc_opts[] = {
	{"--ttl", "ttl", CLI_STR, "DURATION",
	 "how long the password is valid (30s, 5m...)", 0, NULL},
	CLI_OPTS_END};
static const char *const console_modes[] = {"ws", "stripe", NULL};
static const struct cli_opt console_opts[] = {
	{"--ttl", "ttl", CLI_STR, "DURATION",
	 "how long the token may be redeemed (default console.token_ttl, "
	 "10m at most)", 0, NULL},
	{"--url", "url", CLI_FLAG, NULL, "print the URL alone", 0, NULL},
	{"--mode", "mode", CLI_STR, "MODE",
	 "ws (noVNC, default) or stripe (image stripes over HTTPS)", 0,
	 console_modes},
	CLI_OPTS_END};
static const struct cli_col cols[] = {
	{"NAME", "name"},   {"UUID", "uuid"},     {"HOST", "host"},
	{"STATE", "state"}, {"VCPUS", "vcpus"},   {"MEMORY", "memory_mib"},
	{"ORIGIN", "origin"}, CLI_COLS_END};

#define WAIT_OPTS                                                              \
	{"--wait", "\x02wait", CLI_FLAG, NULL,                                 \
	 "follow the workflow to its end, each step as it finishes (the "     \
	 "default on a terminal); the exit status is the workflow's",          \
	 0, NULL},                                                             \
	{"--no-wait", "\x02nowait", CLI_FLAG, NULL,                            \
	 "print the workflow instance's id and return once it has started",   \
	 0, NULL}

static const struct cli_opt create_opts[] = {
	{"--template", "template", CLI_STR, "T",
	 "a VM template (trellis template list): its shape unless given here",
	 0, NULL},
	{"--vcpus", "vcpus", CLI_INT, "N", "virtual CPUs (default 1)", 0, NULL},
	{"--memory", "memory_mb", CLI_SIZE, "SIZE",
	 "memory: 512M, 2G (a bare number is MiB; default 256M)", 0, NULL},
	{"--disk", "disk_gb", CLI_SIZE, "SIZE",
	 "root disk: 10G (a bare number is GiB; default 1G)", 0, NULL},
	{"--network", "segment", CLI_STR, "NET",
	 "the network of its NIC (default: default)", 0, NULL},
	{"--host", "host", CLI_STR, "H", "only this host (else placement "
	 "chooses)", 0, NULL},
	{"--kernel", "kernel", CLI_STR, "K", "direct-boot kernel (a path on "
	 "the host)", 0, NULL},
	{"--initrd", "initrd", CLI_STR, "I", "initramfs for the kernel", 0,
	 NULL},
	{"--cmdline", "cmdline", CLI_STR, "C", "kernel command line", 0, NULL},
	{"--image", "image", CLI_STR, "PATH",
	 "base image of the disk (a path on the host; the disk is a qcow2 "
	 "overlay over it)", 0, NULL},
	{"--blank", "blank", CLI_FLAG, NULL,
	 "without --kernel or --image: a blank disk anyway (it boots nothing "
	 "until an OS is installed)", 0, NULL},
	{"--console", "console", CLI_STR, "TYPE", "a console (default none)", 0,
	 consoles},
	{"--serial-log", "serial_log", CLI_STR, "FILE",
	 "file on the host that gets the serial console", 0, NULL},
	{"--bu", "bu", CLI_STR, "BU", "the business unit it is for (its "
	 "quotas apply)", 0, NULL},
	WAIT_OPTS, CLI_OPTS_END};
static const struct cli_opt start_opts[] = {WAIT_OPTS, CLI_OPTS_END};
static const struct cli_opt stop_opts[] = {
	{"--force", "\x02" "force", CLI_FLAG, NULL,
	 "power off at once, without asking the guest", 0, NULL},
	{"--grace", "grace", CLI_INT, "SECONDS",
	 "how long the guest has to shut down before the power off (default "
	 "60)", 0, NULL},
	WAIT_OPTS, CLI_OPTS_END};
static const struct cli_opt destroy_opts[] = {
	{"--force", "force", CLI_FLAG, NULL,
	 "destroy a VM Trellis did not make (discovered) too: its domain only",
	 0, NULL},
	WAIT_OPTS, CLI_OPTS_END};

/* The shared runner of the workflow verbs: v->op is "workflow.run", the
 * workflow is named by the verb, the options are its inputs. */
static int run_wf(const struct cli *cli, const struct cli_verb *v, int argc,
		  char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "vm", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	int wait = json_is_true(json_object_get(args, "\x02wait"))     ? 1
		   : json_is_true(json_object_get(args, "\x02nowait")) ? 0
								       : -1;
	if (json_is_true(json_object_get(args, "\x02" "force"))) {
		/* vm stop --force: no grace at all. */
		if (json_object_get(args, "grace")) {
			json_decref(args);
			fprintf(stderr, "trellis vm %s: --force and --grace "
					"exclude each other\n",
				v->name);
			return CLI_USAGE;
		}
		json_object_set_new(args, "grace", json_integer(0));
	}
	if (json_is_true(json_object_get(args, "\x02wait")) &&
	    json_is_true(json_object_get(args, "\x02nowait"))) {
		json_decref(args);
		fprintf(stderr, "trellis vm %s: --wait and --no-wait exclude "
				"each other\n",
			v->name);
		return CLI_USAGE;
	}
	json_object_del(args, "\x02wait");
	json_object_del(args, "\x02nowait");
	json_object_del(args, "\x02" "force");
	char wf[32];
	snprintf(wf, sizeof wf, "vm.%s",
		 strcmp(v->name, "create") == 0 ? "provision" : v->name);
	return cli_wf_start(cli, wf, args, wait);
}

/* vm show: the record, then its disks and NICs as tables (virsh
 * domblklist, domiflist). */
static const struct cli_col disk_cols[] = {
	{"POOL", "pool"}, {"VOLUME", "name"}, {"SIZE", "capacity:bytes"},
	{"FORMAT", "format"}, {"PATH", "path"}, CLI_COLS_END};
static const struct cli_col nic_cols[] = {
	{"PORT", "name"}, {"HOST", "host"}, {"NETWORK", "segment"},
	{"MAC", "mac"}, {"IFNAME", "ifname"}, CLI_COLS_END};

/* A titled table of rows (borrowed), or a word that there are none. */
static void section(const struct cli *cli, const char *title, json_t *rows,
		    const struct cli_col *row_cols)
{
	printf("\n%s:\n", title);
	if (!json_array_size(rows)) {
		printf("  (none recorded)\n");
		return;
	}
	json_t *wrap = json_pack("{s:O}", "items", rows);
	cli_print(cli, wrap, row_cols, "items");
	json_decref(wrap);
}

static int vm_show(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	json_t *args = NULL, *res = NULL;
	int rc = cli_parse_args(v, "vm", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	rc = cli_call(cli, v->op, args, &res);
	if (rc != CLI_OK)
		return rc;
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, res, NULL, NULL);
		json_decref(res);
		return CLI_OK;
	}
	json_t *disks = json_incref(json_object_get(res, "disks"));
	json_t *nics = json_incref(json_object_get(res, "nics"));
	json_object_del(res, "disks");
	json_object_del(res, "nics");
	json_object_del(res, "spec"); /* what disks and nics show */
	cli_print(cli, res, NULL, NULL);
	section(cli, "Disks", disks, disk_cols);
	section(cli, "NICs", nics, nic_cols);
	json_decref(disks);
	json_decref(nics);
	json_decref(res);
	return CLI_OK;
}

static const struct cli_verb verbs[] = {
    {.name = "list",
     .summary = "List VMs, 100 per page",
     .op = "vm.list",
     .opts = list_opts,
     .cols = cols,
     .list_key = "items"},
    {.name = "show",
     .summary =
	 "Show a VM by uuid, or by name when unique: its record, disks, NICs, "
	 "console, pool and placement claim",
     .op = "vm.show",
     .positional = "name",
     .pos_metavar = "VM",
     .run = vm_show},
    {.name = "create",
     .summary =
	 "Create and start a VM NAME: runs vm.provision (placement, disk, "
	 "NIC, VM), undone on failure; refused without --kernel, --image or "
	 "--blank",
     .op = "workflow.run",
     .positional = "name",
     .pos_metavar = "NAME",
     .opts = create_opts,
     .run = run_wf},
    {.name = "start",
     .summary = "Start a VM (runs vm.start)",
     .op = "workflow.run",
     .positional = "vm",
     .pos_metavar = "VM",
     .opts = start_opts,
     .run = run_wf},
    {.name = "stop",
     .summary =
	 "Shut a VM down (runs vm.stop): ACPI, then a power off after the "
	 "grace; --force powers it off at once",
     .op = "workflow.run",
     .positional = "vm",
     .pos_metavar = "VM",
     .opts = stop_opts,
     .run = run_wf},
    {.name = "reboot",
     .summary = "Shut a VM down as stop does and start it again (runs "
		"vm.reboot)",
     .op = "workflow.run",
     .positional = "vm",
     .pos_metavar = "VM",
     .opts = stop_opts,
     .run = run_wf},
    {.name = "destroy",
     .summary =
	 "Destroy a VM and delete exactly what its provision made: disk, NIC, "
	 "placement claim (runs vm.destroy); a VM Trellis did not make is "
	 "refused unless --force",
     .op = "workflow.run",
     .positional = "vm",
     .pos_metavar = "VM",
     .opts = destroy_opts,
     .run = run_wf},
    {.name = "console",
     .summary =
	 "A browser console: a single-use token and its URL (docs/console.md)",
     .op = "console.open",
     .positional = "name",
     .pos_metavar = "VM",
     .opts = console_opts,
     .run = cli_vm_console},
    {.name = "vnc",
     .summary = "VNC endpoint and a one-time password (--ttl, default 5m)",
     .op = "vm.console",
     .positional = "name",
     .pos_metavar = "VM",
     .opts = vnc_opts},
    CLI_VERBS_END};

const struct cli_noun cli_noun_vm = {"vm", "Virtual machines", verbs, NULL};
