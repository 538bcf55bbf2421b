/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec.h - run a command without a shell, capture its output, bound its
 * time.  Backs host->exec and the workflow engine's `exec` steps.
 */
#ifndef TRELLIS_CORE_EXEC_H
#define TRELLIS_CORE_EXEC_H

#include <trellis/host.h>

#define TR_EXEC_OUTPUT_MAX (64 * 1024)

int tr_exec(trellis_call_t *call, const char *const *argv, unsigned timeout_ms,
	    char **out, char **err, int *status);

#endif
