/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Engine semantics with the built-in actions (core/workflow/engine.c,
 * sched.c, journal.c) on a real store, loop and worker pool: success and
 * outputs, retry and backoff, step and workflow timeouts,
 * continue_on_error, enabled: false, when, undo order, compensation
 * failure, cancel, admission limit, priority, restart (secrets:
 * test_secrets.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "../../../core/host/host.h"
#include "../../../core/runtime/worker.h"
#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"
#include "../../../core/util/log.h"
#include "fixture.h"

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_success_and_outputs(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 4, 4);
	char *id = wfx_start(&x,
			     "workflow: ok\n"
			     "inputs: {who: {type: string, default: world}}\n"
			     "steps:\n"
			     "  - id: a\n    call: core.log\n"
			     "    with: {message: \"hello ${inputs.who}\"}\n"
			     "  - id: b\n    call: core.sleep\n"
			     "    with: {duration: 10ms}\n"
			     "  - id: c\n    call: core.log\n"
			     "    with: {message: \"${steps.a.message}!\"}\n"
			     "    needs: [b]\n"
			     "outputs: {greeting: \"${steps.c.message}\", "
			     "slept: \"${steps.b.slept_ms}\"}\n",
			     NULL);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	json_t *out = json_object_get(s, "outputs");
	assert_string_equal(wfx_str(out, "greeting"), "hello world!");
	assert_int_equal(json_integer_value(json_object_get(out, "slept")), 10);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(s, "steps"), "succeeded")),
			 3);
	json_decref(s);
	json_t *logs = wfx_logs(&x, id);
	json_t *c = wfx_step(logs, "c");
	assert_string_equal(wfx_str(c, "state"), "succeeded");
	assert_int_equal(json_integer_value(json_object_get(c, "attempts")), 1);
	assert_string_equal(wfx_str(json_object_get(c, "inputs"), "message"),
			    "hello world!");
	json_decref(logs);
	wfx_free(&x);
}

static void test_retry_backoff(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 4);
	int64_t t0 = mono();
	char *ok = wfx_start(&x,
			     "workflow: retry\nsteps:\n"
			     "  - id: flaky\n    call: core.fail\n"
			     "    with: {fail_attempts: 2, code: BUSY}\n"
			     "    retry: {attempts: 3, backoff: 100ms}\n",
			     NULL);
	char okid[64];
	snprintf(okid, sizeof okid, "%s", ok);
	char *bad = wfx_start(&x,
			      "workflow: retry2\nsteps:\n"
			      "  - id: hopeless\n    call: core.fail\n"
			      "    with: {message: nope}\n"
			      "    retry: {attempts: 2, backoff: 10ms}\n",
			      NULL);
	wfx_run(&x, 5000);
	int64_t took = mono() - t0;
	/* backoff 100 ms then 200 ms */
	assert_true(took >= 300);
	json_t *s = wfx_status(&x, okid);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	json_decref(s);
	json_t *logs = wfx_logs(&x, okid);
	assert_int_equal(json_integer_value(json_object_get(
				 wfx_step(logs, "flaky"), "attempts")),
			 3);
	json_decref(logs);
	s = wfx_status(&x, bad);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "failed_step"), "hopeless");
	assert_string_equal(wfx_str(s, "error"), "BACKEND: nope");
	json_decref(s);
	logs = wfx_logs(&x, bad);
	assert_int_equal(json_integer_value(json_object_get(
				 wfx_step(logs, "hopeless"), "attempts")),
			 2);
	json_decref(logs);
	wfx_free(&x);
}

/* A CONFLICT never heals (a name taken, an object another key made): one
 * attempt, however many the retry allows. */
static void test_conflict_not_retried(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 4);
	char *id = wfx_start(&x,
			     "workflow: conflict\nsteps:\n"
			     "  - id: taken\n    call: core.fail\n"
			     "    with: {message: taken, code: CONFLICT}\n"
			     "    retry: {attempts: 3, backoff: 1s}\n",
			     NULL);
	char cid[64];
	snprintf(cid, sizeof cid, "%s", id);
	int64_t t0 = mono();
	wfx_run(&x, 5000);
	assert_true(mono() - t0 < 900);
	json_t *s = wfx_status(&x, cid);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "error"), "CONFLICT: taken");
	json_decref(s);
	json_t *logs = wfx_logs(&x, cid);
	assert_int_equal(json_integer_value(json_object_get(
				 wfx_step(logs, "taken"), "attempts")),
			 1);
	json_decref(logs);
	wfx_free(&x);
}

static void test_timeouts(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 4, 4);
	int64_t t0 = mono();
	char step_id[64];
	snprintf(step_id, sizeof step_id, "%s",
		 wfx_start(&x,
			   "workflow: steptimeout\nsteps:\n"
			   "  - id: slow\n    call: core.sleep\n"
			   "    with: {duration: 20s}\n    timeout: 100ms\n",
			   NULL));
	char *wf_id = wfx_start(&x,
				"workflow: wftimeout\ntimeout: 300ms\nsteps:\n"
				"  - id: quick\n    call: core.sleep\n"
				"    with: {duration: 10ms}\n"
				"    undo: {call: core.log, with: {message: u}}\n"
				"  - id: slow\n    call: core.sleep\n"
				"    needs: quick\n"
				"    with: {duration: 20s}\n",
				NULL);
	wfx_run(&x, 5000);
	assert_true(mono() - t0 < 3000);
	json_t *s = wfx_status(&x, step_id);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "error"),
			    "TIMEOUT: step timed out after 100 ms");
	json_decref(s);
	s = wfx_status(&x, wf_id);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "error"),
			    "workflow timed out after 300 ms");
	assert_string_equal(wfx_str(s, "compensation"), "done");
	json_decref(s);
	json_t *logs = wfx_logs(&x, wf_id);
	assert_string_equal(wfx_str(wfx_step(logs, "quick"), "undo_state"),
			    "undone");
	json_decref(logs);
	wfx_free(&x);
}

static void test_continue_enabled_when(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 4, 4);
	char *id = wfx_start(
		&x,
		"workflow: flags\n"
		"inputs: {go: {type: bool, default: false}}\n"
		"steps:\n"
		"  - id: oops\n    call: core.fail\n    continue_on_error: true\n"
		"  - id: after\n    call: core.log\n    needs: oops\n"
		"    with: {message: still here}\n"
		"  - id: off\n    call: core.log\n    enabled: false\n"
		"    with: {message: never}\n"
		"  - id: below_off\n    call: core.log\n    needs: [off]\n"
		"    with: {message: never}\n"
		"  - id: guarded\n    call: core.log\n    when: \"${inputs.go}\"\n"
		"    with: {message: never}\n"
		"  - id: guarded_yes\n    call: core.log\n"
		"    when: \"${steps.after.message}\"\n"
		"    with: {message: yes}\n"
		"  - id: compared\n    call: core.log\n"
		"    when: \"${steps.after.message} == 'still here'\"\n"
		"    with: {message: eq}\n"
		"  - id: compared_not\n    call: core.log\n"
		"    when: \"${steps.after.message} != 'still here'\"\n"
		"    with: {message: ne}\n"
		"  - id: last_skipped\n    call: core.log\n"
		"    needs: [guarded_yes]\n    when: false\n"
		"    with: {message: never}\n",
		NULL);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	json_decref(s);
	json_t *logs = wfx_logs(&x, id);
	assert_string_equal(wfx_str(wfx_step(logs, "oops"), "state"), "failed");
	assert_string_equal(wfx_str(wfx_step(logs, "after"), "state"),
			    "succeeded");
	assert_string_equal(wfx_str(wfx_step(logs, "off"), "state"), "skipped");
	assert_string_equal(wfx_str(wfx_step(logs, "below_off"), "state"),
			    "skipped");
	assert_string_equal(wfx_str(wfx_step(logs, "guarded"), "state"),
			    "skipped");
	assert_string_equal(wfx_str(wfx_step(logs, "guarded_yes"), "state"),
			    "succeeded");
	assert_string_equal(wfx_str(wfx_step(logs, "compared"), "state"),
			    "succeeded");
	assert_string_equal(wfx_str(wfx_step(logs, "compared_not"), "state"),
			    "skipped");
	json_decref(logs);
	wfx_free(&x);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	char buf[4096];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = '\0';
	fclose(f);
	return strdup(buf);
}

static void test_undo_order_and_failure(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 4, 4);
	char file[400], yaml[4096];
	snprintf(file, sizeof file, "%s/undo.log", x.dir);
	/* a, b, c finish in that order (sleeps), d fails: undo c, b, a. */
	snprintf(yaml, sizeof yaml,
		 "workflow: saga\nsteps:\n"
		 "  - id: a\n    call: core.sleep\n    with: {duration: 1ms}\n"
		 "    undo: {call: exec, with: {command: [sh, -c, \"echo a >> %s\"]}}\n"
		 "  - id: b\n    call: core.sleep\n    with: {duration: 60ms}\n"
		 "    undo: {call: exec, with: {command: [sh, -c, \"echo b >> %s\"]}}\n"
		 "  - id: c\n    call: core.sleep\n    with: {duration: 120ms}\n"
		 "    undo: {call: exec, with: {command: [sh, -c, \"echo c >> %s\"]}}\n"
		 "  - id: d\n    call: core.fail\n    needs: [a, b, c]\n"
		 "    with: {message: boom}\n",
		 file, file, file);
	char id[64];
	snprintf(id, sizeof id, "%s", wfx_start(&x, yaml, NULL));
	/* compensation fails for one step: left behind is reported */
	/* an undo that hangs is bounded by the step's timeout */
	char *id3 = wfx_start(&x,
			      "workflow: saga3\nsteps:\n"
			      "  - id: stuck\n    call: core.log\n"
			      "    with: {message: thing}\n    timeout: 100ms\n"
			      "    undo: {call: core.sleep, with: {duration: "
			      "30s}}\n"
			      "  - id: boom\n    call: core.fail\n"
			      "    needs: stuck\n",
			      NULL);
	char id3s[64];
	snprintf(id3s, sizeof id3s, "%s", id3);
	char *id2 = wfx_start(&x,
			      "workflow: saga2\nsteps:\n"
			      "  - id: made\n    call: core.log\n"
			      "    with: {message: thing}\n"
			      "    undo: {call: core.fail, with: {message: "
			      "cannot delete}}\n"
			      "  - id: ok\n    call: core.log\n"
			      "    with: {message: x}\n"
			      "    undo: {call: core.log, with: {message: y}}\n"
			      "  - id: boom\n    call: core.fail\n"
			      "    needs: [made, ok]\n",
			      NULL);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "compensation"), "done");
	assert_string_equal(wfx_str(s, "failed_step"), "d");
	json_decref(s);
	char *order = slurp(file);
	assert_string_equal(order, "c\nb\na\n");
	free(order);
	s = wfx_status(&x, id2);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "compensation"), "failed");
	json_t *lb = json_object_get(s, "left_behind");
	assert_int_equal(json_array_size(lb), 1);
	assert_string_equal(wfx_str(json_array_get(lb, 0), "step"), "made");
	assert_string_equal(wfx_str(json_array_get(lb, 0), "error"),
			    "BACKEND: cannot delete");
	json_decref(s);
	s = wfx_status(&x, id3s);
	assert_string_equal(wfx_str(s, "compensation"), "failed");
	assert_string_equal(
		wfx_str(json_array_get(json_object_get(s, "left_behind"), 0),
			"error"),
		"TIMEOUT: step timed out after 100 ms");
	json_decref(s);
	json_t *logs = wfx_logs(&x, id2);
	assert_string_equal(wfx_str(wfx_step(logs, "ok"), "undo_state"),
			    "undone");
	assert_string_equal(wfx_str(wfx_step(logs, "made"), "undo_state"),
			    "undo_failed");
	json_decref(logs);
	wfx_free(&x);
}

static struct wfx *cx;
static char cancel_id[64];

static void do_cancel(struct tr_daemon *d, void *arg)
{
	(void)d;
	(void)arg;
	trellis_call_t call;
	tr_call_init(&call, "test");
	assert_int_equal(tr_engine_cancel(cx->e, cancel_id, &call), 0);
}

static void test_cancel(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 4, 4);
	cx = &x;
	int64_t t0 = mono();
	snprintf(cancel_id, sizeof cancel_id, "%s",
		 wfx_start(&x,
			   "workflow: long\nsteps:\n"
			   "  - id: made\n    call: core.log\n"
			   "    with: {message: thing}\n"
			   "    undo: {call: core.log, with: {message: gone}}\n"
			   "  - id: wait\n    call: core.sleep\n    needs: made\n"
			   "    with: {duration: 30s}\n"
			   "  - id: never\n    call: core.log\n    needs: wait\n"
			   "    with: {message: x}\n",
			   NULL));
	tr_daemon_timer_add(&x.d, 150, 0, do_cancel, NULL, NULL);
	wfx_run(&x, 5000);
	assert_true(mono() - t0 < 3000);
	json_t *s = wfx_status(&x, cancel_id);
	assert_string_equal(wfx_str(s, "state"), "cancelled");
	assert_string_equal(wfx_str(s, "compensation"), "done");
	json_decref(s);
	json_t *logs = wfx_logs(&x, cancel_id);
	assert_string_equal(wfx_str(wfx_step(logs, "made"), "undo_state"),
			    "undone");
	assert_string_equal(wfx_str(wfx_step(logs, "never"), "state"),
			    "not_run");
	json_decref(logs);
	trellis_call_t call;
	tr_call_init(&call, "test");
	assert_int_equal(tr_engine_cancel(x.e, cancel_id, &call),
			 TRELLIS_E_CONFLICT);
	assert_int_equal(tr_engine_cancel(x.e, "wf-nope", &call),
			 TRELLIS_E_NOTFOUND);
	wfx_free(&x);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_admission_limit(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 8, 2);
	char ids[6][64];
	for (int k = 0; k < 6; k++)
		snprintf(ids[k], sizeof ids[k], "%s",
			 wfx_start(&x,
				   "workflow: w\nsteps:\n  - id: s\n"
				   "    call: core.sleep\n"
				   "    with: {duration: 80ms}\n",
				   NULL));
	wfx_run(&x, 5000);
	/* At any instant at most 2 instances ran: sweep their intervals. */
	int64_t ev[12];
	int n = 0;
	for (int k = 0; k < 6; k++) {
		json_t *s = wfx_status(&x, ids[k]);
		assert_string_equal(wfx_str(s, "state"), "succeeded");
		int64_t a = json_integer_value(json_object_get(s, "started_at"));
		int64_t b = json_integer_value(json_object_get(s, "finished_at"));
		ev[n++] = a * 2 + 1; /* start after an end at the same ms */
		ev[n++] = b * 2;
		json_decref(s);
	}
	qsort(ev, (size_t)n, sizeof *ev, cmp_i64);
	int cur = 0, max = 0;
	for (int k = 0; k < n; k++) {
		cur += (ev[k] & 1) ? 1 : -1;
		if (cur > max)
			max = cur;
	}
	assert_int_equal(max, 2);
	wfx_free(&x);
}

static void test_priority(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 4, 1);
	const char *normal = "workflow: create\nsteps:\n  - id: s\n"
			     "    call: core.sleep\n    with: {duration: 20ms}\n";
	const char *high = "workflow: start\npriority: high\nsteps:\n"
			   "  - id: s\n    call: core.sleep\n"
			   "    with: {duration: 20ms}\n";
	char ids[6][64];
	const char *kinds = "NNNHHN";
	snprintf(ids[0], 64, "%s", wfx_start(&x, normal, NULL)); /* runs */
	for (int k = 1; k < 6; k++)
		snprintf(ids[k], 64, "%s",
			 wfx_start(&x, kinds[k] == 'H' ? high : normal, NULL));
	wfx_run(&x, 5000);
	/* Order of start: 0 (already running), then 3, 4 (high), then 1,
	 * 2, 5 (normal, in arrival order). */
	int64_t started[6];
	for (int k = 0; k < 6; k++) {
		json_t *s = wfx_status(&x, ids[k]);
		started[k] = json_integer_value(json_object_get(s, "started_at"));
		json_decref(s);
	}
	assert_true(started[3] <= started[4]);
	assert_true(started[4] <= started[1]);
	assert_true(started[1] <= started[2]);
	assert_true(started[2] <= started[5]);
	assert_true(started[0] <= started[3]);
	/* and strictly: a high one started before every queued normal */
	assert_true(started[4] < started[5]);
	wfx_free(&x);
}

static void test_restart_resumes(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 4);
	char file[400], yaml[2048];
	snprintf(file, sizeof file, "%s/runs.log", x.dir);
	snprintf(yaml, sizeof yaml,
		 "workflow: resume\n"
		 "inputs: {token: secret}\n"
		 "steps:\n"
		 "  - id: first\n    call: exec\n"
		 "    with: {command: [sh, -c, \"echo first >> %s\"]}\n"
		 "  - id: second\n    call: core.sleep\n    needs: first\n"
		 "    with: {duration: 300ms}\n"
		 "  - id: third\n    call: exec\n    needs: second\n"
		 "    with: {command: [sh, -c, \"echo third ${inputs.token} >> %s\"]}\n",
		 file, file);
	json_t *in = json_pack("{s:s}", "token", "tok");
	char id[64];
	snprintf(id, sizeof id, "%s", wfx_start(&x, yaml, in));
	json_decref(in);
	/* Run until `second` is running, then stop the daemon. */
	int64_t t0 = mono();
	while (mono() - t0 < 3000) {
		json_t *logs = wfx_logs(&x, id);
		const char *s2 = wfx_str(wfx_step(logs, "second"), "state");
		int go = strcmp(s2, "running") == 0;
		json_decref(logs);
		if (go)
			break;
		wfx_spin(&x, 10);
	}
	wfx_restart(&x);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	json_decref(s);
	char *runs = slurp(file);
	/* first ran once; the sealed secret input survived the restart */
	assert_string_equal(runs, "first\nthird tok\n");
	free(runs);
	json_t *logs = wfx_logs(&x, id);
	assert_int_equal(json_integer_value(json_object_get(
				 wfx_step(logs, "first"), "attempts")),
			 1);
	assert_int_equal(json_integer_value(json_object_get(
				 wfx_step(logs, "second"), "attempts")),
			 2);
	json_decref(logs);
	wfx_free(&x);
}

static void test_subworkflow(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 1); /* one slot: a child must not wait for it */
	char defs[400], path[500];
	snprintf(defs, sizeof defs, "%s/defs", x.dir);
	assert_int_equal(mkdir(defs, 0755), 0);
	snprintf(path, sizeof path, "%s/child.yaml", defs);
	FILE *f = fopen(path, "w");
	fputs("workflow: child\ninputs: {who: string, fail: {type: bool, "
	      "default: false}}\nsteps:\n"
	      "  - id: hello\n    call: core.log\n"
	      "    with: {message: \"hi ${inputs.who}\"}\n"
	      "    undo: {call: core.log, with: {message: bye}}\n"
	      "  - id: maybe\n    call: core.fail\n    needs: hello\n"
	      "    when: \"${inputs.fail}\"\n"
	      "outputs: {said: \"${steps.hello.message}\"}\n",
	      f);
	fclose(f);
	const char *dirs[] = {defs};
	x.opts.dirs = dirs;
	x.opts.n_dirs = 1;
	wfx_restart(&x);
	const char *parent =
		"workflow: parent\ninputs: {fail: {type: bool, default: false}}\n"
		"steps:\n"
		"  - id: before\n    call: core.log\n    with: {message: b}\n"
		"    undo: {call: core.log, with: {message: unb}}\n"
		"  - id: sub\n    call: workflow.run\n    needs: before\n"
		"    with: {workflow: child, inputs: {who: kid, fail: "
		"\"${inputs.fail}\"}}\n"
		"outputs: {said: \"${steps.sub.outputs.said}\"}\n";
	char ok[64], bad[64];
	snprintf(ok, sizeof ok, "%s", wfx_start(&x, parent, NULL));
	json_t *in = json_pack("{s:b}", "fail", 1);
	snprintf(bad, sizeof bad, "%s", wfx_start(&x, parent, in));
	json_decref(in);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, ok);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	assert_string_equal(wfx_str(json_object_get(s, "outputs"), "said"),
			    "hi kid");
	json_decref(s);
	s = wfx_status(&x, bad);
	assert_string_equal(wfx_str(s, "state"), "failed");
	assert_string_equal(wfx_str(s, "failed_step"), "sub");
	assert_string_equal(wfx_str(s, "compensation"), "done");
	json_decref(s);
	json_t *logs = wfx_logs(&x, bad);
	assert_string_equal(wfx_str(wfx_step(logs, "before"), "undo_state"),
			    "undone");
	json_decref(logs);
	/* the child compensated itself */
	trellis_call_t call;
	tr_call_init(&call, "test");
	json_t *list = NULL;
	assert_int_equal(tr_engine_list(x.e, "failed", 0, &list, &call), 0);
	size_t k, children = 0;
	json_t *it;
	json_array_foreach(json_object_get(list, "items"), k, it)
	{
		if (!strcmp(wfx_str(it, "workflow"), "child")) {
			children++;
			assert_string_equal(wfx_str(it, "compensation"), "done");
		}
	}
	assert_int_equal(children, 1);
	json_decref(list);
	wfx_free(&x);
}

static void test_full_pool(void **st)
{
	(void)st;
	/* A pool that queues one job: the engine's other submissions are
	 * answered BUSY and must be retried, not failed. */
	wfx_queue = 1;
	struct wfx x;
	wfx_init(&x, 1, 4);
	wfx_queue = 100000;
	char yaml[4096] = "workflow: wide\nsteps:\n";
	for (int k = 0; k < 12; k++) {
		size_t n = strlen(yaml);
		snprintf(yaml + n, sizeof yaml - n,
			 "  - {id: s%d, call: core.sleep, with: {duration: "
			 "5ms}}\n",
			 k);
	}
	char *id = wfx_start(&x, yaml, NULL);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	json_decref(s);
	wfx_free(&x);
}

static void test_others_rollback(void **st)
{
	(void)st;
	/* Another subsystem on the main thread rolls its own transaction
	 * back while our journal batch is pending: our records survive. */
	struct wfx x;
	wfx_init(&x, 2, 4);
	char id[64];
	snprintf(id, sizeof id, "%s",
		 wfx_start(&x,
			   "workflow: rb\nsteps:\n"
			   "  - {id: a, call: core.log, with: {message: x}}\n"
			   "  - {id: b, call: core.sleep, needs: a, with: "
			   "{duration: 50ms}}\n",
			   NULL));
	trellis_call_t call;
	tr_call_init(&call, "test");
	assert_int_equal(tr_store_begin(x.d.store, &call), 0);
	tr_sql_exec(tr_store_sql(x.d.store),
		    "INSERT INTO tenant (name, created_at) VALUES ('t', 0)");
	tr_store_rollback(x.d.store);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "state"), "succeeded");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(s, "steps"), "succeeded")),
			 2);
	json_decref(s);
	wfx_free(&x);
}

/* A start of src with inputs in (stolen) is INVALID_ARG saying msg. */
static void refused(struct wfx *x, const char *src, json_t *in,
		    const char *msg)
{
	trellis_call_t call;
	char *id = NULL;
	tr_call_init(&call, "test");
	assert_int_equal(tr_engine_start(x->e, NULL, src, "s.yaml", in, &id,
					 NULL, &call),
			 TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, msg);
	json_decref(in);
}

static void test_bad_start(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 4);
	trellis_call_t call;
	tr_call_init(&call, "test");
	char *id = NULL;
	json_t *details = NULL;
	assert_int_equal(tr_engine_start(x.e, NULL, "workflow: x\nsteps: 3\n",
					 "bad.yaml", NULL, &id, &details, &call),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "bad.yaml:2:8: steps:"));
	assert_int_equal(json_array_size(json_object_get(details, "errors")), 1);
	json_decref(details);
	assert_int_equal(tr_engine_start(x.e, "no.such", NULL, NULL, NULL, &id,
					 NULL, &call),
			 TRELLIS_E_NOTFOUND);
	json_t *in = json_pack("{s:s}", "n", "many");
	assert_int_equal(tr_engine_start(x.e, NULL,
					 "workflow: x\ninputs: {n: int}\n"
					 "steps: [{id: a, call: core.log, with: "
					 "{message: x}}]\n",
					 "i.yaml", in, &id, NULL, &call),
			 TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, "input 'n': expected int, got 'many'");
	json_decref(in);
	/* An input named for its unit takes a size; a mistyped name gets a
	 * guess. */
	const char *sized = "workflow: x\ninputs: {memory_mb: int, disk_gb: "
			    "{type: int, default: 1}}\nsteps: [{id: a, call: "
			    "core.log, with: {message: x}}]\n";
	refused(&x, sized, json_pack("{s:s, s:s}", "memory_mb", "2G", "disk_gb",
				     "512M"),
		"input 'disk_gb': '512M' is not a whole number of GiB");
	refused(&x, sized, json_pack("{s:s}", "memroy_mb", "1"),
		"workflow x has no input 'memroy_mb' (did you mean "
		"'memory_mb'?)");
	refused(&x, sized, json_pack("{s:s}", "memory_mb", "lots"),
		"input 'memory_mb': expected int or a size (512M, 2G), got "
		"'lots'");
	in = json_pack("{s:s}", "memory_mb", "2G");
	assert_int_equal(tr_engine_start(x.e, NULL, sized, "s.yaml", in, &id,
					 NULL, &call),
			 0);
	json_decref(in);
	wfx_run(&x, 5000);
	json_t *st2 = wfx_status(&x, id);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(st2, "inputs"), "memory_mb")),
			 2048);
	json_decref(st2);
	free(id);
	wfx_free(&x);
}

int main(void)
{
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_WARNING, "test");
	tr_actions_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_and_outputs),
		cmocka_unit_test(test_retry_backoff),
		cmocka_unit_test(test_timeouts),
		cmocka_unit_test(test_continue_enabled_when),
		cmocka_unit_test(test_undo_order_and_failure),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_admission_limit),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_conflict_not_retried),
		cmocka_unit_test(test_restart_resumes),
		cmocka_unit_test(test_subworkflow),
		cmocka_unit_test(test_full_pool),
		cmocka_unit_test(test_others_rollback),
		cmocka_unit_test(test_bad_start),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tr_host_shutdown();
	return rc;
}
