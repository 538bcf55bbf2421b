/* SPDX-License-Identifier: Apache-2.0 */
/* fixture.c - see fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/placement/service.h"
#include "../../../core/runtime/worker.h"
#include "../../../core/store/store.h"
#include "fixture.h"

static unsigned g_threads;
unsigned wfx_queue = 100000;

static void make_engine(struct wfx *x)
{
	char err[512];
	x->e = tr_engine_new(&x->d, &x->opts, err, sizeof err);
	if (!x->e)
		fail_msg("engine: %s", err);
}

static void make_daemon(struct wfx *x)
{
	char err[512], path[512];
	snprintf(path, sizeof path, "%s/state.db", x->dir);
	x->d.store = tr_store_open(path, 0, err, sizeof err);
	if (!x->d.store)
		fail_msg("store: %s", err);
	x->d.loop = tr_loop_new(&x->d, NULL, 0, NULL, err, sizeof err);
	if (!x->d.loop)
		fail_msg("loop: %s", err);
	x->d.workers = tr_workers_new(&x->d, g_threads, wfx_queue, err,
				      sizeof err);
	if (!x->d.workers)
		fail_msg("workers: %s", err);
	x->d.state_dir = x->dir;
}

/* State dirs not removed yet: a failing test jumps out of its body, so
 * whatever it made is removed when the program exits. */
static char leftover[64][256];

static void rm_dir(const char *dir)
{
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		print_error("cannot remove %s\n", dir);
}

static void rm_leftovers(void)
{
	for (size_t k = 0; k < sizeof leftover / sizeof *leftover; k++)
		if (leftover[k][0])
			rm_dir(leftover[k]);
}

static void track(const char *dir, int add)
{
	static int registered;
	if (!registered) {
		atexit(rm_leftovers);
		registered = 1;
	}
	for (size_t k = 0; k < sizeof leftover / sizeof *leftover; k++) {
		if (add && !leftover[k][0]) {
			snprintf(leftover[k], sizeof leftover[k], "%s", dir);
			return;
		}
		if (!add && strcmp(leftover[k], dir) == 0) {
			leftover[k][0] = '\0';
			return;
		}
	}
}

void wfx_init(struct wfx *x, unsigned threads, unsigned max_workflows)
{
	memset(x, 0, sizeof *x);
	snprintf(x->dir, sizeof x->dir, "/tmp/trellis-wf-XXXXXX");
	if (!mkdtemp(x->dir))
		fail_msg("mkdtemp failed");
	track(x->dir, 1);
	g_threads = threads;
	x->opts.max_workflows = max_workflows;
	make_daemon(x);
	make_engine(x);
}

static void free_daemon(struct wfx *x, int keep_engine_state)
{
	(void)keep_engine_state;
	tr_engine_stop(x->e);
	tr_workers_free(x->d.workers);
	x->d.workers = NULL;
	tr_engine_free(x->e);
	x->e = NULL;
	tr_placement_shutdown(&x->d);
	tr_loop_free(x->d.loop);
	x->d.loop = NULL;
	tr_store_close(x->d.store);
	x->d.store = NULL;
}

void wfx_restart(struct wfx *x)
{
	free_daemon(x, 1);
	make_daemon(x);
	make_engine(x);
}

void wfx_free(struct wfx *x)
{
	free_daemon(x, 0);
	rm_dir(x->dir);
	track(x->dir, 0);
}

char *wfx_start(struct wfx *x, const char *yaml, json_t *inputs)
{
	static char idbuf[64];
	trellis_call_t call;
	tr_call_init(&call, "test");
	char *id = NULL;
	json_t *details = NULL;
	int rc = tr_engine_start(x->e, NULL, yaml, "test.yaml", inputs, &id,
				 &details, &call);
	if (rc) {
		char *d = details ? json_dumps(details, 0) : NULL;
		fail_msg("start: %s %s", call.message, d ? d : "");
	}
	snprintf(idbuf, sizeof idbuf, "%s", id);
	free(id);
	return idbuf;
}

static struct wfx *running;

static int idle(struct tr_daemon *d)
{
	(void)d;
	return tr_engine_active(running->e) == 0;
}

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline;

static int idle_or_late(struct tr_daemon *d)
{
	return idle(d) || mono() > deadline;
}

void wfx_run(struct wfx *x, int max_ms)
{
	running = x;
	deadline = mono() + max_ms;
	tr_loop_run(x->d.loop, idle_or_late);
	tr_engine_flush(x->e);
	if (!idle(&x->d))
		fail_msg("workflows still active after %d ms", max_ms);
}

static int late(struct tr_daemon *d)
{
	(void)d;
	return mono() > deadline;
}

static void wake(struct tr_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
}

void wfx_spin(struct wfx *x, int ms)
{
	running = x;
	deadline = mono() + ms;
	/* The loop checks late() only when something wakes it. */
	tr_daemon_timer_add(&x->d, (uint64_t)ms + 2, 0, wake, NULL, NULL);
	tr_loop_run(x->d.loop, late);
}

json_t *wfx_status(struct wfx *x, const char *id)
{
	trellis_call_t call;
	tr_call_init(&call, "test");
	json_t *out = NULL;
	if (tr_engine_status(x->e, id, &out, &call))
		fail_msg("status: %s", call.message);
	return out;
}

json_t *wfx_logs(struct wfx *x, const char *id)
{
	trellis_call_t call;
	tr_call_init(&call, "test");
	json_t *out = NULL;
	if (tr_engine_logs(x->e, id, &out, &call))
		fail_msg("logs: %s", call.message);
	return out;
}

json_t *wfx_step(json_t *logs, const char *step)
{
	size_t k;
	json_t *s;
	json_array_foreach(json_object_get(logs, "steps"), k, s)
	{
		if (strcmp(json_string_value(json_object_get(s, "step")), step) ==
		    0)
			return s;
	}
	fail_msg("no step %s in logs", step);
	return NULL;
}

const char *wfx_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "(null)";
}
