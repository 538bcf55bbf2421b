/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_vm.c - trellis vm list|show (VMs are made by workflows). */
#include "cli.h"

static const char *const origins[] = {"trellis", "discovered", NULL};

static const struct cli_opt list_opts[] = {
	{"--host", "host", CLI_STR, "HOST", "only VMs on this host", 0, NULL},
	{"--state", "state", CLI_STR, "STATE", "only VMs in this state", 0,
	 NULL},
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
	{"STATE", "state"}, {"VCPUS", "vcpus"},   {"MEMORY_MIB", "memory_mib"},
	{"ORIGIN", "origin"}, CLI_COLS_END};

static const struct cli_verb verbs[] = {
	{"list", "List VMs, 100 per page", "vm.list", NULL, NULL, list_opts,
	 cols, "items", NULL},
	{"show", "Show a VM by uuid, or by name when unique", "vm.show", "name",
	 "VM", NULL, NULL, NULL, NULL},
	{"console",
	 "A browser console: a single-use token and its URL (docs/console.md)",
	 "console.open", "name", "VM", console_opts, NULL, NULL,
	 cli_vm_console},
	{"vnc",
	 "VNC endpoint and a one-time password (--ttl, default 5m)",
	 "vm.console", "name", "VM", vnc_opts, NULL, NULL, NULL},
	CLI_VERBS_END};

const struct cli_noun cli_noun_vm = {
	"vm", "Virtual machines (created through workflows)", verbs};
