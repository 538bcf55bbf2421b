/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_workflow - journaled steps per second of the workflow engine, on a
 * real SQLite store (on disk, synchronous=FULL), main loop and worker pool.
 *
 *   wide:  one workflow of N no-op steps (core.log), all independent;
 *   many:  M concurrent workflows of 10 chained no-op steps each;
 *   base:  the same journal writes (a running and a finished record per
 *          step, batched) straight into SQLite without the engine: the
 *          floor the engine is measured against.
 *
 * Prints the median of R runs of each and the ratio engine/baseline.
 *   bench_workflow [-n STEPS] [-m WORKFLOWS] [-r RUNS]
 * Exits 1 only when a run does not complete (it cannot measure).
 */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"
#include "../../../core/util/log.h"
#include "../../unit/workflow/fixture.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *wide_yaml(int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "workflow: bench.wide\nsteps:\n");
	for (int k = 0; k < n; k++)
		fprintf(f, "  - {id: s%d, call: core.log, with: {message: x}}\n",
			k);
	fclose(f);
	return buf;
}

static char *chain_yaml(int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "workflow: bench.chain\nsteps:\n");
	for (int k = 0; k < n; k++) {
		fprintf(f, "  - {id: s%d, call: core.log, ", k);
		if (k)
			fprintf(f, "needs: s%d, ", k - 1);
		fprintf(f, "with: {message: x}}\n");
	}
	fclose(f);
	return buf;
}

/* Steps per second for `count` instances of yaml (steps each). */
static double run_engine(const char *yaml, int count, int steps)
{
	struct wfx x;
	wfx_init(&x, 4, (unsigned)count);
	double t0 = now_s();
	for (int k = 0; k < count; k++)
		wfx_start(&x, yaml, NULL);
	wfx_run(&x, 600000);
	double dt = now_s() - t0;
	wfx_free(&x);
	return (double)count * steps / dt;
}

/* The same journal writes without the engine: insert the rows, then per
 * step an update to running and one to succeeded, committed in batches
 * of 256 steps (what the engine's 5 ms batches hold at this rate). */
static double run_base(int total)
{
	struct wfx x;
	wfx_init(&x, 1, 1);
	struct tr_sql *db = tr_store_sql(x.d.store);
	tr_sql_exec(
	    db, "INSERT INTO wf_instance (id, seq, workflow, source, inputs, "
		"state, created_at) VALUES ('b', 999, 'b', '', '{}', "
		"'running', 0)");
	struct tr_sql_stmt *ins, *upd;
	tr_sql_prepare(db,
		       "INSERT INTO wf_step (instance, idx, step, state) "
		       "VALUES ('b', ?1, 's', 'pending')",
		       &ins);
	tr_sql_prepare(db,
		       "UPDATE wf_step SET state = ?2, inputs = ?3, "
		       "outputs = ?4 WHERE instance = 'b' AND idx = ?1",
		       &upd);
	double t0 = now_s();
	tr_sql_exec(db, "BEGIN");
	for (int k = 0; k < total; k++) {
		tr_sql_bind_int64(ins, 1, k);
		tr_sql_step(ins);
		tr_sql_reset(ins);
	}
	tr_sql_exec(db, "COMMIT");
	tr_sql_exec(db, "BEGIN");
	for (int k = 0; k < total; k++) {
		for (int phase = 0; phase < 2; phase++) {
			tr_sql_bind_int64(upd, 1, k);
			tr_sql_bind_text(upd, 2,
					 phase ? "succeeded" : "running");
			tr_sql_bind_text(upd, 3, "{\"message\":\"x\"}");
			if (phase)
				tr_sql_bind_text(upd, 4, "{\"message\":\"x\"}");
			else
				tr_sql_bind_null(upd, 4);
			tr_sql_step(upd);
			tr_sql_reset(upd);
		}
		if (k % 256 == 255) {
			tr_sql_exec(db, "COMMIT");
			tr_sql_exec(db, "BEGIN");
		}
	}
	tr_sql_exec(db, "COMMIT");
	double dt = now_s() - t0;
	tr_sql_finalize(ins);
	tr_sql_finalize(upd);
	wfx_free(&x);
	return total / dt;
}

int main(int argc, char **argv)
{
	int n = 10000, m = 1000, runs = 5, c;
	while ((c = getopt(argc, argv, "n:m:r:h")) != -1) {
		switch (c) {
		case 'n': n = atoi(optarg); break;
		case 'm': m = atoi(optarg); break;
		case 'r': runs = atoi(optarg); break;
		default:
			printf("usage: bench_workflow [-n STEPS] [-m WORKFLOWS] "
			       "[-r RUNS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (n < 1 || m < 1 || runs < 1 || runs > 100)
		return 2;
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_WARNING, "bench");
	tr_actions_init();
	char *wide = wide_yaml(n), *chain = chain_yaml(10);
	double *w = calloc((size_t)runs, sizeof *w);
	double *mm = calloc((size_t)runs, sizeof *mm);
	double *b = calloc((size_t)runs, sizeof *b);
	for (int r = 0; r < runs; r++) {
		b[r] = run_base(n);
		w[r] = run_engine(wide, 1, n);
		mm[r] = run_engine(chain, m, 10);
		fprintf(stderr, "run %d: base %.0f, wide %.0f, many %.0f steps/s\n",
			r + 1, b[r], w[r], mm[r]);
	}
	double mb = median(b, runs), mw = median(w, runs), mmm = median(mm, runs);
	printf("baseline (journal writes only, %d steps): %.0f steps/s median "
	       "of %d\n",
	       n, mb, runs);
	printf("one workflow of %d steps: %.0f journaled steps/s median "
	       "(%.2f of baseline)\n",
	       n, mw, mw / mb);
	printf("%d concurrent workflows of 10 steps: %.0f journaled steps/s "
	       "median (%.2f of baseline)\n",
	       m, mmm, mmm / mb);
	printf("target: 20000 steps/s\n");
	free(w);
	free(mm);
	free(b);
	free(wide);
	free(chain);
	return 0;
}
