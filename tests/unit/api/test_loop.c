/* SPDX-License-Identifier: Apache-2.0 */
/* test_loop.c - the daemon's main loop and worker pool (core/runtime),
 * which the API's async handlers stand on: jobs run on workers and their
 * completions on the loop's thread, in order; timers fire, repeat and
 * cancel; a full queue says BUSY; fd watches fire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/runtime/worker.h"
#include "../../../core/util/log.h"

struct fx {
	struct tr_daemon d;
	pthread_t main_thread;
	int done_jobs, ticks, once, fd_hits;
	int order[64];
	int norder;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[256];
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_loop");
	f->main_thread = pthread_self();
	f->d.loop = tr_loop_new(&f->d, NULL, 0, NULL, err, sizeof err);
	assert_non_null(f->d.loop);
	f->d.workers = tr_workers_new(&f->d, 4, 8, err, sizeof err);
	assert_non_null(f->d.workers);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_workers_free(f->d.workers);
	tr_loop_free(f->d.loop);
	free(f);
	return 0;
}

struct job {
	struct fx *f;
	int n;
	pthread_t ran_on;
	int sleep_ms;
};

static void work(void *arg)
{
	struct job *j = arg;
	j->ran_on = pthread_self();
	if (j->sleep_ms)
		usleep((useconds_t)j->sleep_ms * 1000);
}

static void done(struct tr_daemon *d, void *arg)
{
	struct job *j = arg;
	(void)d;
	/* Completions run on the loop's thread, never on the worker. */
	assert_true(pthread_equal(pthread_self(), j->f->main_thread));
	assert_false(pthread_equal(j->ran_on, j->f->main_thread));
	j->f->order[j->f->norder++] = j->n;
	j->f->done_jobs++;
	free(j);
}

static int all_done(struct tr_daemon *d)
{
	return tr_workers_pending(d->workers) == 0;
}

static void test_jobs(void **state)
{
	struct fx *f = *state;
	for (int i = 0; i < 8; i++) {
		struct job *j = calloc(1, sizeof *j);
		j->f = f;
		j->n = i;
		j->sleep_ms = 5;
		assert_int_equal(tr_daemon_submit(&f->d, work, done, j), 0);
	}
	/* The queue holds 8 waiting jobs at most. */
	int busy = 0;
	struct job extra[16];
	for (int i = 0; i < 16; i++) {
		extra[i] = (struct job){.f = f, .n = 100 + i};
		if (tr_daemon_submit(&f->d, work, NULL, &extra[i]) ==
		    TRELLIS_E_BUSY)
			busy++;
	}
	assert_true(busy > 0);
	assert_int_equal(tr_loop_run(f->d.loop, all_done), 0);
	assert_int_equal(f->done_jobs, 8);
}

static void tick(struct tr_daemon *d, void *arg)
{
	struct fx *f = arg;
	f->ticks++;
	if (f->ticks == 3)
		tr_loop_quit(d->loop);
}

static void once(struct tr_daemon *d, void *arg)
{
	(void)d;
	((struct fx *)arg)->once++;
}

static void never(struct tr_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	fail_msg("a cancelled timer ran");
}

static void test_timers(void **state)
{
	struct fx *f = *state;
	uint64_t id, cancelled;
	assert_int_equal(tr_daemon_timer_add(&f->d, 5, 5, tick, f, &id), 0);
	assert_int_equal(tr_daemon_timer_add(&f->d, 1, 0, once, f, NULL), 0);
	assert_int_equal(tr_daemon_timer_add(&f->d, 2, 0, never, f, &cancelled),
			 0);
	assert_int_equal(tr_daemon_timer_cancel(&f->d, cancelled), 0);
	assert_int_equal(tr_daemon_timer_cancel(&f->d, cancelled),
			 TRELLIS_E_NOTFOUND);
	assert_int_equal(tr_loop_run(f->d.loop, NULL), 0);
	assert_int_equal(f->ticks, 3);
	assert_int_equal(f->once, 1);
	assert_int_equal(tr_daemon_timer_cancel(&f->d, id), 0);
}

static void on_fd(struct tr_daemon *d, int fd, short revents, void *arg)
{
	struct fx *f = arg;
	char c;
	(void)revents;
	assert_int_equal(read(fd, &c, 1), 1);
	if (++f->fd_hits == 2) {
		tr_daemon_fd_remove(d, fd);
		tr_loop_quit(d->loop);
	}
}

static void test_fds(void **state)
{
	struct fx *f = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(tr_daemon_fd_add(&f->d, p[0], POLLIN, on_fd, f), 0);
	assert_int_equal(write(p[1], "ab", 2), 2);
	assert_int_equal(tr_loop_run(f->d.loop, NULL), 0);
	assert_int_equal(f->fd_hits, 2);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
