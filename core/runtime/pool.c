/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pool.c - the bounded worker pool (daemon.h: tr_daemon_submit).  Jobs
 * run in submission order; a finished job goes to the loop's completion
 * queue, so its done callback runs on the main thread.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "worker_int.h"

struct tr_workers {
	struct tr_daemon *d;
	pthread_t *threads;
	unsigned n;
	unsigned cap;      /* jobs waiting, at most */
	unsigned waiting;
	unsigned pending;  /* waiting + running + not yet delivered */
	struct tr_job *head, *tail;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

static void *worker_main(void *arg)
{
	struct tr_workers *w = arg;
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->head)
			break;
		struct tr_job *job = w->head;
		w->head = job->next;
		if (!w->head)
			w->tail = NULL;
		w->waiting--;
		pthread_mutex_unlock(&w->lock);
		if (job->work)
			job->work(job->arg);
		tr_loop_post(w->d->loop, job);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

struct tr_workers *tr_workers_new(struct tr_daemon *d, unsigned threads,
				  unsigned queue, char *err, size_t errlen)
{
	struct tr_workers *w = tr_xcalloc(1, sizeof *w);
	if (!w || !(w->threads = tr_xcalloc(threads, sizeof *w->threads))) {
		free(w);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->d = d;
	w->cap = queue;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	for (unsigned i = 0; i < threads; i++) {
		int rc = pthread_create(&w->threads[i], NULL, worker_main, w);
		if (rc != 0) {
			snprintf(err, errlen, "worker thread: %s",
				 strerror(rc));
			tr_workers_free(w);
			return NULL;
		}
		w->n++;
	}
	return w;
}

void tr_workers_free(struct tr_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	/* Deliver what finished so every done callback runs once. */
	if (w->d->loop)
		tr_loop_deliver(w->d->loop);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->threads);
	if (w->d->workers == w)
		w->d->workers = NULL;
	if (w->d->readers == w)
		w->d->readers = NULL;
	free(w);
}

int tr_daemon_submit(struct tr_daemon *d, tr_work_fn work, tr_done_fn done,
		     void *arg)
{
	return tr_workers_submit(d->workers, work, done, arg);
}

int tr_workers_submit(struct tr_workers *w, tr_work_fn work, tr_done_fn done,
		      void *arg)
{
	if (!w)
		return TRELLIS_E_CANCELLED;
	struct tr_job *job = tr_xcalloc(1, sizeof *job);
	if (!job)
		return TRELLIS_E_NOMEM;
	job->work = work;
	job->done = done;
	job->arg = arg;
	job->pool = w;
	pthread_mutex_lock(&w->lock);
	int rc = 0;
	if (w->stop)
		rc = TRELLIS_E_CANCELLED;
	else if (w->waiting >= w->cap)
		rc = TRELLIS_E_BUSY;
	if (rc == 0) {
		if (w->tail)
			w->tail->next = job;
		else
			w->head = job;
		w->tail = job;
		w->waiting++;
		w->pending++;
		pthread_cond_signal(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
	if (rc != 0)
		free(job);
	return rc;
}

unsigned tr_workers_pending(struct tr_workers *w)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	unsigned n = w->pending;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void tr_workers_job_delivered(struct tr_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->pending)
		w->pending--;
	pthread_mutex_unlock(&w->lock);
}
