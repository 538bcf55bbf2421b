/* SPDX-License-Identifier: Apache-2.0 */
/* cmd_ha.c - trellis ha status|clear: host HA (docs/ha.md). */
#include "cli.h"

static const struct cli_verb verbs[] = {
    {"status", "Each host's HA state and each VM restart (and why one failed)",
     "ha.status", NULL, NULL, NULL, NULL, NULL, NULL},
    {"clear", "Forget a failed host's HA state once it is repaired",
     "ha.clear", "host", "HOST", NULL, NULL, NULL, NULL},
    CLI_VERBS_END};

const struct cli_noun cli_noun_ha = {
    "ha", "Host HA: failed hosts fenced, their VMs restarted in the pod",
    verbs, NULL};
