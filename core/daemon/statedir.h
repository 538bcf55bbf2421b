/* SPDX-License-Identifier: Apache-2.0 */
/* statedir.h - the daemon's state directory: making it, and the lock
 * (DIR/trellisd.lock) that keeps one trellisd per state dir. */
#ifndef TRELLIS_CORE_DAEMON_STATEDIR_H
#define TRELLIS_CORE_DAEMON_STATEDIR_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p dir with mode.  0, or -1 with errno. */
int tr_mkdirs(const char *dir, mode_t mode);
/* Takes an fcntl write lock on DIR/trellisd.lock for the caller's life
 * and records its pid there: the lock's fd (kept open: closing it drops
 * the lock), or -1 with err naming the pid that holds it. */
int tr_state_lock(const char *dir, char *err, size_t errlen);
/* The pid of the trellisd that holds dir's lock, or 0 when none does. */
pid_t tr_state_holder(const char *dir);

#endif
