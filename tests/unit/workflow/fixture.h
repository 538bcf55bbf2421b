/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fixture.h - a real, small daemon for engine tests and benchmarks: a
 * SQLite store in a temporary directory, the main loop, a worker pool and
 * the workflow engine, without sockets.
 */
#ifndef TRELLIS_TEST_WF_FIXTURE_H
#define TRELLIS_TEST_WF_FIXTURE_H

#include <jansson.h>

#include "../../../core/runtime/daemon.h"
#include "../../../core/workflow/engine.h"

struct wfx {
	struct tr_daemon d;
	struct tr_engine *e;
	char dir[256];
	struct tr_engine_opts opts;
};

/* Jobs the worker pool queues at most (set before wfx_init). */
extern unsigned wfx_queue;

/* Makes the daemon (threads workers) and the engine; aborts the test on
 * failure. */
void wfx_init(struct wfx *x, unsigned threads, unsigned max_workflows);
/* Re-creates the engine on the same store (a restart without a crash). */
void wfx_restart(struct wfx *x);
void wfx_free(struct wfx *x);
/* Starts an instance of YAML text with inputs (may be NULL); returns its
 * id (static storage of the fixture's, valid until the next call). */
char *wfx_start(struct wfx *x, const char *yaml, json_t *inputs);
/* Runs the loop until no instance is active, or max_ms passed (then
 * fails the test). */
void wfx_run(struct wfx *x, int max_ms);
/* Runs the loop for ms milliseconds. */
void wfx_spin(struct wfx *x, int ms);
/* Status / logs of an instance (new references). */
json_t *wfx_status(struct wfx *x, const char *id);
json_t *wfx_logs(struct wfx *x, const char *id);
/* A step of logs by id (borrowed). */
json_t *wfx_step(json_t *logs, const char *step);
const char *wfx_str(json_t *o, const char *key);

#endif
