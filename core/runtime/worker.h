/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.h - the machinery behind daemon.h's services: the main loop
 * (poll over registered fds, a timerfd for timers, a signalfd, an eventfd
 * for worker completions), the bounded worker pool, and the cache of
 * plugin targets.  trellisd's main.c and tests build a daemon with these;
 * subsystems use the tr_daemon_* functions of daemon.h instead.
 */
#ifndef TRELLIS_CORE_RUNTIME_WORKER_H
#define TRELLIS_CORE_RUNTIME_WORKER_H

#include "daemon.h"

/* The loop.  Signals in sigs (may be NULL) are delivered through a
 * signalfd to on_signal; the caller blocks them in every thread first. */
typedef void (*tr_signal_fn)(struct tr_daemon *d, int signo);
struct tr_loop *tr_loop_new(struct tr_daemon *d, const int *sigs, size_t n,
			    tr_signal_fn on_signal, char *err, size_t errlen);
void tr_loop_free(struct tr_loop *l);
/* Runs until done(d) returns non-zero (checked after every wakeup) or
 * tr_loop_quit().  At most max_wait_ms between checks. */
int tr_loop_run(struct tr_loop *l, int (*done)(struct tr_daemon *d));
void tr_loop_quit(struct tr_loop *l);
/* Wakes the loop from any thread (it re-checks done()). */
void tr_loop_wake(struct tr_loop *l);
/* Runs the completions and main-thread calls queued so far, now (main
 * thread): what tr_loop_run() does on each wakeup, for a shutdown that
 * must see every handed-over job finish before it frees their owner. */
void tr_loop_deliver(struct tr_loop *l);

/* The pool: threads workers, at most queue jobs waiting. */
struct tr_workers *tr_workers_new(struct tr_daemon *d, unsigned threads,
				  unsigned queue, char *err, size_t errlen);
/* Stops taking jobs, lets running ones finish, joins the threads and
 * delivers their completions (on the calling thread). */
void tr_workers_free(struct tr_workers *w);
/* tr_daemon_submit() on a given pool (d->workers, d->readers). */
int tr_workers_submit(struct tr_workers *w, tr_work_fn work, tr_done_fn done,
		      void *arg);
/* Jobs queued, running or completed but not delivered yet. */
unsigned tr_workers_pending(struct tr_workers *w);

struct tr_conns *tr_conns_new(struct tr_daemon *d);
/* Closes every cached target (all users must have put theirs). */
void tr_conns_free(struct tr_conns *c);

#endif
