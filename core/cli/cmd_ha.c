/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_ha.c - trellis ha status|clear: host HA (docs/ha.md). */
#include "cli.h"

static const struct cli_verb verbs[] = {
    {.name = "status",
     .summary = "Each host's HA state and each VM restart (and why one failed)",
     .op = "ha.status"},
    {.name = "clear",
     .summary = "Forget a failed host's HA state once it is repaired",
     .op = "ha.clear",
     .positional = "host",
     .pos_metavar = "HOST"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_ha = {
    "ha", "Host HA: failed hosts fenced, their VMs restarted in the pod",
    verbs, NULL};
