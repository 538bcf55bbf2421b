/* SPDX-License-Identifier: Apache-2.0 */
/* worker_int.h - shared by loop.c and pool.c; not for other callers. */
#ifndef TRELLIS_CORE_RUNTIME_WORKER_INT_H
#define TRELLIS_CORE_RUNTIME_WORKER_INT_H

#include <stdint.h>

#include "../util/clock.h"
#include "worker.h"

struct tr_job {
	tr_work_fn work;
	tr_done_fn done;
	void *arg;
	struct tr_workers *pool; /* the pool it ran on */
	struct tr_job *next;
};

/* Queues a finished job's completion for the main thread (any thread). */
void tr_loop_post(struct tr_loop *l, struct tr_job *job);
void tr_workers_job_delivered(struct tr_workers *w);

#endif
