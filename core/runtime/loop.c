/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loop.c - the daemon's one poll() loop (worker.h), its timers and the
 * completion queue that workers feed.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "worker.h"
#include "worker_int.h"

struct fdwatch {
	int fd;
	short events;
	tr_fd_fn fn;
	void *arg;
};

struct timer {
	uint64_t id;
	uint64_t due;      /* monotonic ms */
	uint64_t interval; /* 0: once */
	tr_tick_fn fn;
	void *arg;
};

struct tr_loop {
	struct tr_daemon *d;
	int tfd, sfd, efd;
	tr_signal_fn on_signal;
	struct fdwatch *fds;
	size_t nfds, capfds;
	int fds_changed;
	struct timer *timers;
	size_t ntimers, captimers;
	uint64_t next_id;
	pthread_mutex_t lock; /* completions */
	struct tr_job *done_head, *done_tail;
	int quit;
};

struct tr_loop *tr_loop_new(struct tr_daemon *d, const int *sigs, size_t n,
			    tr_signal_fn on_signal, char *err, size_t errlen)
{
	struct tr_loop *l = tr_xcalloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->d = d;
	l->tfd = l->sfd = l->efd = -1;
	l->next_id = 1;
	l->on_signal = on_signal;
	pthread_mutex_init(&l->lock, NULL);
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->tfd < 0 || l->efd < 0) {
		snprintf(err, errlen, "timerfd/eventfd: %s", strerror(errno));
		goto fail;
	}
	if (n > 0) {
		sigset_t set;
		sigemptyset(&set);
		for (size_t i = 0; i < n; i++)
			sigaddset(&set, sigs[i]);
		l->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		if (l->sfd < 0) {
			snprintf(err, errlen, "signalfd: %s", strerror(errno));
			goto fail;
		}
	}
	return l;
fail:
	tr_loop_free(l);
	return NULL;
}

void tr_loop_free(struct tr_loop *l)
{
	if (!l)
		return;
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->sfd >= 0)
		close(l->sfd);
	if (l->efd >= 0)
		close(l->efd);
	/* Completions never delivered: run them so their args are freed. */
	tr_loop_deliver(l);
	free(l->fds);
	free(l->timers);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void tr_loop_quit(struct tr_loop *l)
{
	l->quit = 1;
	tr_loop_wake(l);
}

void tr_loop_wake(struct tr_loop *l)
{
	uint64_t one = 1;
	ssize_t r = write(l->efd, &one, sizeof one);
	(void)r; /* EAGAIN: the counter is already non-zero, a wakeup is due */
}

void tr_loop_post(struct tr_loop *l, struct tr_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&l->lock);
	if (l->done_tail)
		l->done_tail->next = job;
	else
		l->done_head = job;
	l->done_tail = job;
	pthread_mutex_unlock(&l->lock);
	tr_loop_wake(l);
}

void tr_loop_deliver(struct tr_loop *l)
{
	pthread_mutex_lock(&l->lock);
	struct tr_job *job = l->done_head;
	l->done_head = l->done_tail = NULL;
	pthread_mutex_unlock(&l->lock);
	while (job) {
		struct tr_job *next = job->next;
		if (job->done)
			job->done(l->d, job->arg);
		tr_workers_job_delivered(job->pool);
		free(job);
		job = next;
	}
}

int tr_daemon_call_main(struct tr_daemon *d, tr_done_fn fn, void *arg)
{
	struct tr_job *job = tr_xcalloc(1, sizeof *job);
	if (!job)
		return TRELLIS_E_NOMEM;
	job->done = fn;
	job->arg = arg;
	tr_loop_post(d->loop, job);
	return 0;
}

/* ---- fds ---- */

int tr_daemon_fd_add(struct tr_daemon *d, int fd, short events, tr_fd_fn fn,
		     void *arg)
{
	struct tr_loop *l = d->loop;
	TR_GROW(l->fds, l->nfds, l->capfds);
	l->fds[l->nfds++] = (struct fdwatch){fd, events, fn, arg};
	l->fds_changed = 1;
	return 0;
}

void tr_daemon_fd_remove(struct tr_daemon *d, int fd)
{
	struct tr_loop *l = d->loop;
	for (size_t i = 0; i < l->nfds; i++) {
		if (l->fds[i].fd == fd) {
			l->fds[i] = l->fds[--l->nfds];
			l->fds_changed = 1;
			return;
		}
	}
}

/* ---- timers ---- */

static void arm(struct tr_loop *l)
{
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	uint64_t due = UINT64_MAX;
	for (size_t i = 0; i < l->ntimers; i++)
		if (l->timers[i].due < due)
			due = l->timers[i].due;
	if (due != UINT64_MAX) {
		if (due == 0)
			due = 1; /* 0 would disarm */
		its.it_value.tv_sec = (time_t)(due / 1000);
		its.it_value.tv_nsec = (long)(due % 1000) * 1000000;
	}
	timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

int tr_daemon_timer_add(struct tr_daemon *d, uint64_t delay_ms,
			uint64_t interval_ms, tr_tick_fn fn, void *arg,
			uint64_t *id)
{
	struct tr_loop *l = d->loop;
	TR_GROW(l->timers, l->ntimers, l->captimers);
	uint64_t tid = l->next_id++;
	l->timers[l->ntimers++] = (struct timer){
		tid, tr_now_ms() + delay_ms, interval_ms, fn, arg};
	if (id)
		*id = tid;
	arm(l);
	return 0;
}

int tr_daemon_timer_cancel(struct tr_daemon *d, uint64_t id)
{
	struct tr_loop *l = d->loop;
	for (size_t i = 0; i < l->ntimers; i++) {
		if (l->timers[i].id == id) {
			l->timers[i] = l->timers[--l->ntimers];
			arm(l);
			return 0;
		}
	}
	return TRELLIS_E_NOTFOUND;
}

static void run_timers(struct tr_loop *l)
{
	uint64_t expirations;
	ssize_t r = read(l->tfd, &expirations, sizeof expirations);
	(void)r;
	uint64_t now = tr_now_ms();
	/* A callback may add or cancel timers: rescan after each one. */
	for (int again = 1; again;) {
		again = 0;
		for (size_t i = 0; i < l->ntimers; i++) {
			struct timer t = l->timers[i];
			if (t.due > now)
				continue;
			if (t.interval)
				l->timers[i].due = now + t.interval;
			else
				l->timers[i] = l->timers[--l->ntimers];
			t.fn(l->d, t.arg);
			again = 1;
			break;
		}
	}
	arm(l);
}

/* ---- the loop ---- */

int tr_loop_run(struct tr_loop *l, int (*done)(struct tr_daemon *d))
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	int ret = 0;
	while (!l->quit && !(done && done(l->d))) {
		size_t n = 3 + l->nfds;
		if (n > cap) {
			struct pollfd *p = tr_xrealloc(pfd, n * sizeof *p);
			if (!p) {
				ret = TRELLIS_E_NOMEM;
				break;
			}
			pfd = p;
			cap = n;
		}
		pfd[0] = (struct pollfd){l->efd, POLLIN, 0};
		pfd[1] = (struct pollfd){l->tfd, POLLIN, 0};
		pfd[2] = (struct pollfd){l->sfd, POLLIN, 0};
		for (size_t i = 0; i < l->nfds; i++)
			pfd[3 + i] = (struct pollfd){l->fds[i].fd,
						     l->fds[i].events, 0};
		/* The timeout only bounds how long done() goes unchecked. */
		int rc = poll(pfd, (nfds_t)n, 1000);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			tr_err("poll: %s", strerror(errno));
			ret = TRELLIS_E_IO;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(l->efd, &v, sizeof v);
			(void)r;
			tr_loop_deliver(l);
		}
		if (pfd[1].revents & POLLIN)
			run_timers(l);
		if (l->sfd >= 0 && (pfd[2].revents & POLLIN)) {
			struct signalfd_siginfo si;
			while (read(l->sfd, &si, sizeof si) == sizeof si)
				if (l->on_signal)
					l->on_signal(l->d, (int)si.ssi_signo);
		}
		l->fds_changed = 0;
		for (size_t i = 0; i < n - 3; i++) {
			if (!pfd[3 + i].revents)
				continue;
			/* A callback may add or remove watches; find the
			 * watch by fd again instead of trusting i. */
			for (size_t j = 0; j < l->nfds; j++) {
				if (l->fds[j].fd == pfd[3 + i].fd) {
					struct fdwatch w = l->fds[j];
					w.fn(l->d, w.fd, pfd[3 + i].revents,
					     w.arg);
					break;
				}
			}
		}
	}
	free(pfd);
	return ret;
}
