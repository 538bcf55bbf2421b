/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maint_int.h - what the files of core/maint share (maint.h is the
 * public side): a window in memory (struct win), the manager
 * (struct tr_maint) and the functions of each file, bottom up:
 *   maint.c   the windows: their rows (table maint), their status, the
 *             audit of every step, the pending answers
 *   lock.c    locking again: the maint.disable workflow and the partial
 *             steps (close the port, lock the account)
 *   enable.c  opening a window: the maint.enable workflow
 *   fetch.c   the engineer's retrieval from the escrow
 *   watch.c   the 1 s watch (deadlines, the sshd log, the port's
 *             counter), start and stop
 * A file calls only the files above it in this list.
 */
#ifndef TRELLIS_CORE_MAINT_INT_H
#define TRELLIS_CORE_MAINT_INT_H

#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "../auth/auth.h"
#include "../escrow/escrow.h"
#include "../runtime/daemon.h"
#include "maint.h"

#define MAX_PIDS 16

struct win {
	struct win *next;
	char vm[48], name[128], host[128], bu[TR_NAME_LEN + 1];
	char requester[TR_NAME_LEN + 1], user[33], port_name[128];
	char mode[16], state[16], instance[64], lock_instance[64];
	char rule_id[64], withdraw[ESCROW_HASH_HEX], log_path[256];
	char source[64], reason[256];
	int port;
	int64_t window_ms, password_ttl_ms;
	int64_t requested_at, opened_at, window_expires_at, password_expires_at;
	int64_t connected_at, login_at, logoff_at, locked_at, log_offset;
	int port_open, password_valid, sessions;
	/* In memory only. */
	int busy;           /* a job of this window is in flight */
	int primed;         /* log_offset is where this window's log begins */
	int lost;           /* opening when trellisd started: no one has
			       the code, so it locks as soon as it opens */
	int want_close, want_lock;
	char want_why[128];
	int64_t retry_at;   /* no new attempt before this (unix s) */
	int64_t bu_id;      /* the requester's BU, for the workflow's owner */
	long pids[MAX_PIDS];
	int npids;
	char *code;         /* the access code until the requester has it */
	tr_maint_done_fn done; /* the pending answer (enable, disable) */
	void *done_arg;
	int warned;         /* the log could not be read (said once) */
};

struct tr_maint {
	struct win *wins;
	uint64_t timer;
};

static inline struct tr_maint *M(struct tr_daemon *d)
{
	return d ? d->maint : NULL;
}

static inline int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* A bounded copy, cut short to cap - 1. */
static inline void cpy(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	while (src && n + 1 < cap && src[n]) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = 0;
}
#define CPY(dst, src) cpy(dst, sizeof dst, src)


/* ---- maint.c: the windows ---- */

/* Writes w's row (INSERT OR REPLACE), errors logged. */
void tr_maint_save(struct tr_daemon *d, const struct win *w);
/* Loads the windows that are not over into m->wins (at start). */
int tr_maint_load(struct tr_daemon *d, struct tr_maint *m, char *err,
		  size_t errlen);
/* The status object of w (new reference). */
json_t *tr_maint_win_json(const struct win *w);
/* One audit record "maint:EVENT" and the event "maint.EVENT". */
void tr_maint_audit(struct tr_daemon *d, const struct win *w, const char *ev,
		    const char *user, int code, const char *detail);
struct win *tr_maint_find(struct tr_maint *m, const char *vm);
/* locked or failed. */
int tr_maint_over(const struct win *w);
void tr_maint_wipe_code(struct win *w);
/* Hands result (stolen) or call to w's pending answer, if any. */
void tr_maint_answer(struct tr_daemon *d, struct win *w, json_t *result,
		     trellis_call_t *call);
void tr_maint_fail_answer(struct tr_daemon *d, struct win *w, int code,
			  const char *msg);
/* The TRELLIS_E_* code an instance's error names ("UNAVAILABLE: ..."). */
int tr_maint_code_in(const char *err);

/* ---- lock.c: locking again ---- */

/* Starts maint.disable (close, end sessions, lock, withdraw). */
void tr_maint_full_lock(struct tr_daemon *d, struct win *w, const char *why);
/* The end of maint.disable's instance (its status st). */
void tr_maint_lock_finished(struct tr_daemon *d, struct win *w, json_t *st);
void tr_maint_close_port(struct tr_daemon *d, struct win *w);
void tr_maint_expire_password(struct tr_daemon *d, struct win *w);

/* ---- enable.c: opening a window ---- */

/* The end of maint.enable's instance (its status st). */
void tr_maint_enable_finished(struct tr_daemon *d, struct win *w, json_t *st);

#endif
