/* SPDX-License-Identifier: Apache-2.0 */
/* nsexec.c - one thread per network namespace (nsexec.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsexec.h"

struct nsexec {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int nsfd;    /* -1: stay where we are */
	int started; /* 1 ready, <0 -errno of setns */
	int stop;
	/* the one job in flight; submitters queue on busy */
	int busy, done;
	int (*fn)(void *);
	void *arg;
	int result;
};

static void *ns_main(void *p)
{
	struct nsexec *ns = p;
	int rc = 0;
	if (ns->nsfd >= 0 && setns(ns->nsfd, CLONE_NEWNET) != 0)
		rc = -errno;
	pthread_mutex_lock(&ns->lock);
	ns->started = rc ? rc : 1;
	pthread_cond_broadcast(&ns->cond);
	while (!rc) {
		while (!ns->stop && !(ns->busy && !ns->done))
			pthread_cond_wait(&ns->cond, &ns->lock);
		if (ns->stop)
			break;
		pthread_mutex_unlock(&ns->lock);
		int r = ns->fn(ns->arg);
		pthread_mutex_lock(&ns->lock);
		ns->result = r;
		ns->done = 1;
		pthread_cond_broadcast(&ns->cond);
	}
	pthread_mutex_unlock(&ns->lock);
	return NULL;
}

int nsexec_new(const char *netns_path, struct nsexec **out, char *err,
	       size_t errlen)
{
	*out = NULL;
	struct nsexec *ns = calloc(1, sizeof *ns);
	if (!ns) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ns->nsfd = -1;
	pthread_mutex_init(&ns->lock, NULL);
	pthread_cond_init(&ns->cond, NULL);
	int rc = 0;
	if (netns_path) {
		ns->nsfd = open(netns_path, O_RDONLY | O_CLOEXEC);
		if (ns->nsfd < 0) {
			rc = -errno;
			snprintf(err, errlen, "network namespace %s: %s",
				 netns_path, strerror(errno));
			goto fail;
		}
	}
	rc = -pthread_create(&ns->thread, NULL, ns_main, ns);
	if (rc) {
		snprintf(err, errlen, "cannot start a thread: %s",
			 strerror(-rc));
		goto fail;
	}
	pthread_mutex_lock(&ns->lock);
	while (!ns->started)
		pthread_cond_wait(&ns->cond, &ns->lock);
	rc = ns->started < 0 ? ns->started : 0;
	pthread_mutex_unlock(&ns->lock);
	if (rc) {
		pthread_join(ns->thread, NULL);
		snprintf(err, errlen, "cannot enter network namespace %s: %s",
			 netns_path, strerror(-rc));
		goto fail;
	}
	*out = ns;
	return 0;
fail:
	if (ns->nsfd >= 0)
		close(ns->nsfd);
	pthread_mutex_destroy(&ns->lock);
	pthread_cond_destroy(&ns->cond);
	free(ns);
	return rc;
}

int nsexec_run(struct nsexec *ns, int (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&ns->lock);
	while (ns->busy)
		pthread_cond_wait(&ns->cond, &ns->lock);
	ns->busy = 1;
	ns->done = 0;
	ns->fn = fn;
	ns->arg = arg;
	pthread_cond_broadcast(&ns->cond);
	while (!ns->done)
		pthread_cond_wait(&ns->cond, &ns->lock);
	int r = ns->result;
	ns->busy = 0;
	pthread_cond_broadcast(&ns->cond);
	pthread_mutex_unlock(&ns->lock);
	return r;
}

void nsexec_free(struct nsexec *ns)
{
	if (!ns)
		return;
	pthread_mutex_lock(&ns->lock);
	ns->stop = 1;
	pthread_cond_broadcast(&ns->cond);
	pthread_mutex_unlock(&ns->lock);
	pthread_join(ns->thread, NULL);
	if (ns->nsfd >= 0)
		close(ns->nsfd);
	pthread_mutex_destroy(&ns->lock);
	pthread_cond_destroy(&ns->cond);
	free(ns);
}
