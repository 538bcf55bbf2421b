/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for core/dispatch: NOTSUP for absent ops, refusal of wrong or
 * refused plugins, the generic error fill-in, output zeroing, the progress
 * hook surviving a call, targets, policy wrappers, and the thread models
 * (SERIALIZED, PER_TARGET, REENTRANT) honoured under concurrent callers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/loader/loader.h"
#include "../../../core/util/log.h"
#include "plugdir.h"

static tr_registry_t *reg;

static struct trellis_plugin *plugin(const char *name)
{
	struct trellis_plugin *p = tr_registry_find(reg, name, 0);
	assert_non_null(p);
	return p;
}

static struct tr_target *open_target(const char *name)
{
	trellis_call_t call;
	struct tr_target *t = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_target_open(plugin(name), &call, "pool", "mem", NULL, 0, &t), 0);
	assert_non_null(t);
	return t;
}

static void test_notsup_for_null_slot(void **st)
{
	(void)st;
	struct tr_target *t = open_target("probe-serial");
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_st_vol_list(t, &call, 0, NULL, NULL),
			 TRELLIS_E_NOTSUP);
	assert_int_equal(call.code, TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'probe-serial' (storage) "
					  "does not support vol_list");
	assert_string_equal(call.plugin, "probe-serial");
	assert_int_equal(tr_st_snapshot_delete(t, &call, "v", "s", "k", 0),
			 TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'probe-serial' (storage) "
					  "does not support snapshot_delete");
	tr_target_close(t);
}

static void test_wrong_kind(void **st)
{
	(void)st;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_host_info(
		&(struct tr_target){.plugin = plugin("probe-serial")}, &call, 0,
		NULL),
	    TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message,
			    "plugin 'probe-serial' is a storage plugin, not "
			    "hypervisor: cannot call host_info");
	assert_int_equal(tr_st_pool_info(NULL, &call, 0, NULL),
			 TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, "no storage plugin to call "
					  "pool_info");
}

static void test_refused_plugin(void **st)
{
	(void)st;
	tr_registry_t *r = tr_registry_new();
	char path[PATH_MAX];
	unit_plugin(path, sizeof path, "desc6");
	struct trellis_plugin *p = tr_registry_load_file(r, path);
	assert_int_equal(p->state, TR_PLUGIN_REFUSED);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_st_pool_info(&(struct tr_target){.plugin = p}, &call, 0, NULL),
	    TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, "plugin 'desc-case' is not loaded "
					  "(no ops table for kind storage)");
	struct tr_target *t = (struct tr_target *)1;
	assert_int_equal(tr_target_open(p, &call, "x", "y", NULL, 0, &t),
			 TRELLIS_E_INVALID_ARG);
	assert_null(t);
	tr_registry_free(r);
}

static void test_generic_error_filled_in(void **st)
{
	(void)st;
	struct tr_target *t = open_target("probe-serial");
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_st_vol_info(t, &call, "silent-fail", 0, NULL),
			 TRELLIS_E_BACKEND);
	assert_int_equal(call.code, TRELLIS_E_BACKEND);
	assert_true(call.has_error);
	assert_true(call.generic);
	assert_string_equal(call.message,
			    "plugin 'probe-serial' failed in vol_info with "
			    "BACKEND without giving a reason");

	/* A plugin's own message is kept, and not marked generic. */
	assert_int_equal(tr_st_vol_info(t, &call, "own-fail", 0, NULL),
			 TRELLIS_E_NOTFOUND);
	assert_false(call.generic);
	assert_string_equal(call.message, "no volume 'own-fail'");

	/* The return code wins over the code given to set_error. */
	assert_int_equal(tr_st_vol_info(t, &call, "mismatch", 0, NULL),
			 TRELLIS_E_BACKEND);
	assert_int_equal(call.code, TRELLIS_E_BACKEND);
	assert_string_equal(call.message, "said NOTFOUND");

	/* Success clears what an earlier call left. */
	assert_int_equal(tr_st_vol_info(t, &call, "ok", 0, NULL), 0);
	assert_int_equal(call.code, 0);
	assert_false(call.has_error);
	assert_string_equal(call.message, "");
	tr_target_close(t);
}

static void test_output_zeroed_with_size(void **st)
{
	(void)st;
	struct tr_target *t = open_target("probe-serial");
	trellis_call_t call;
	trellis_vol_info_t info;
	tr_call_init(&call, NULL);
	memset(&info, 0xAA, sizeof info);
	assert_int_equal(tr_st_vol_info(t, &call, "v1", 0, &info), 0);
	assert_string_equal(info.format, "zeroed");
	assert_int_equal(info.struct_size, sizeof info);
	assert_string_equal(info.name, "v1");
	assert_int_equal(info.capacity, 0);
	trellis_pool_info_t pi;
	memset(&pi, 0xAA, sizeof pi);
	assert_int_equal(tr_st_pool_info(t, &call, 0, &pi), 0);
	assert_int_equal(pi.struct_size, sizeof pi);
	tr_target_close(t);
}

static unsigned progress_seen;
static char progress_what[32];

static void on_progress(void *arg, unsigned percent, const char *what)
{
	(void)arg;
	progress_seen = percent;
	snprintf(progress_what, sizeof progress_what, "%s", what);
}

/* Dispatch resets the error but keeps the caller's progress hook. */
static void test_progress_hook_kept(void **st)
{
	(void)st;
	struct tr_target *t = open_target("probe-serial");
	trellis_call_t call;
	tr_call_init(&call, NULL);
	call.progress_fn = on_progress;
	tr_call_set(&call, TRELLIS_E_BUSY, "stale");
	assert_int_equal(tr_st_vol_info(t, &call, "progress", 0, NULL), 0);
	assert_int_equal(progress_seen, 50);
	assert_string_equal(progress_what, "halfway");
	assert_string_equal(call.message, "");
	tr_target_close(t);
}

static void test_target_needs_a_target_kind(void **st)
{
	(void)st;
	trellis_call_t call;
	struct tr_target *t = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_target_open(plugin("policy-probe"), &call, NULL,
					"x", NULL, 0, &t),
			 TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, "plugin 'policy-probe' has no "
					  "targets (kind policy)");
	assert_null(t);
	tr_target_close(NULL);
	/* The plugin's own refusal of a flag comes back as its error. */
	assert_int_equal(tr_target_open(plugin("probe-serial"), &call, NULL,
					"x", NULL, 1u << 31, &t),
			 TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, "unknown flags 0x80000000");
	assert_null(t);
}

static void test_policy_wrappers(void **st)
{
	(void)st;
	struct trellis_plugin *p = plugin("policy-probe");
	assert_int_equal(tr_policy_n_filters(p), 1);
	assert_int_equal(tr_policy_n_weighers(p), 1);
	assert_string_equal(tr_policy_filter_at(p, 0)->name, "odd-only");
	assert_null(tr_policy_filter_at(p, 1));
	assert_string_equal(tr_policy_weigher_at(p, 0)->name, "by-id");
	assert_int_equal(tr_policy_n_filters(plugin("probe-serial")), 0);

	trellis_host_view_t hv[4];
	const trellis_host_view_t *hosts[4];
	for (int i = 0; i < 4; i++) {
		memset(&hv[i], 0, sizeof hv[i]);
		hv[i].struct_size = sizeof hv[i];
		hv[i].id = (uint64_t)i + 1;
		hosts[i] = &hv[i];
	}
	trellis_place_request_t req = {.struct_size = sizeof req};
	uint8_t keep[4] = {1, 1, 1, 1};
	char reason[64] = "junk";
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_policy_filter(p, &call, 0, &req, hosts, 4, keep, 0, reason), 2);
	assert_string_equal(reason, "even");
	assert_memory_equal(keep, ((uint8_t[]){1, 0, 1, 0}), 4);
	assert_int_equal(call.code, 0);

	double scores[4] = {0};
	assert_int_equal(
	    tr_policy_weigh(p, &call, 0, &req, hosts, 4, keep, scores, 0), 0);
	assert_true(scores[2] == 3.0 && scores[1] == 0.0);

	assert_int_equal(
	    tr_policy_filter(p, &call, 1, &req, hosts, 4, keep, 0, NULL),
	    TRELLIS_E_INVALID_ARG);
	assert_string_equal(call.message, "plugin 'policy-probe' (policy) has "
					  "no filter number 1 (it has 1)");
	assert_int_equal(tr_policy_weigh(plugin("policy-probe-noweigh"), &call,
					 0, &req, hosts, 4, keep, scores, 0),
			 TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'policy-probe-noweigh' "
					  "(policy) does not support weigh");
}

/* ---- thread models ---- */

struct worker {
	struct tr_target *t;
	pthread_barrier_t *start;
	int failures; /* cmocka's asserts are not for other threads */
};

static void *work(void *arg)
{
	struct worker *w = arg;
	pthread_barrier_wait(w->start);
	for (int i = 0; i < 4; i++) {
		trellis_call_t call;
		tr_call_init(&call, NULL);
		if (tr_st_vol_info(w->t, &call, "sleep", 0, NULL) != 0)
			w->failures++;
	}
	return NULL;
}

/* Runs 4 threads, thread i on targets[i % n_targets]; returns the most
 * calls seen inside the plugin at once, over all and per target. */
static void run_concurrently(struct tr_target **targets, int n_targets,
			     unsigned *max_all, unsigned *max_target)
{
	enum { N = 4 };
	pthread_t th[N];
	struct worker w[N];
	pthread_barrier_t start;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	for (int i = 0; i < n_targets; i++)
		tr_st_vol_delete(targets[i], &call, "reset", NULL, 0);
	pthread_barrier_init(&start, NULL, N);
	for (int i = 0; i < N; i++) {
		w[i].t = targets[i % n_targets];
		w[i].start = &start;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	pthread_barrier_destroy(&start);
	*max_target = 0;
	for (int i = 0; i < n_targets; i++) {
		trellis_pool_info_t pi;
		assert_int_equal(tr_st_pool_info(targets[i], &call, 0, &pi), 0);
		if (pi.n_volumes > *max_target)
			*max_target = pi.n_volumes;
		*max_all = (unsigned)pi.allocation;
	}
}

static void test_serialized_never_concurrent(void **st)
{
	(void)st;
	struct tr_target *t[2] = {open_target("probe-serial"),
				  open_target("probe-serial")};
	unsigned all, per;
	run_concurrently(t, 2, &all, &per);
	assert_int_equal(all, 1);
	assert_int_equal(per, 1);
	tr_target_close(t[0]);
	tr_target_close(t[1]);
}

static void test_per_target_one_call_per_target(void **st)
{
	(void)st;
	struct tr_target *one = open_target("probe-per-target");
	unsigned all, per;
	run_concurrently(&one, 1, &all, &per);
	assert_int_equal(all, 1);
	assert_int_equal(per, 1);

	/* Two targets may run side by side, but never two calls on one. */
	struct tr_target *t[2] = {one, open_target("probe-per-target")};
	run_concurrently(t, 2, &all, &per);
	assert_int_equal(per, 1);
	assert_true(all <= 2);
	tr_target_close(t[0]);
	tr_target_close(t[1]);
}

static void test_reentrant_runs_concurrently(void **st)
{
	(void)st;
	struct tr_target *t = open_target("probe-reentrant");
	unsigned all, per;
	run_concurrently(&t, 1, &all, &per);
	/* Four threads sleeping 20 ms each, released together: a plugin
	 * that is never serialised sees them overlap. */
	assert_true(all > 1);
	tr_target_close(t);
}

static int setup(void **st)
{
	(void)st;
	static const char *const names[] = {"probe_serial", "probe_per_target",
					    "probe_reentrant", "policy_probe",
					    "policy_noweigh"};
	reg = tr_registry_new();
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char path[PATH_MAX];
		unit_plugin(path, sizeof path, names[i]);
		struct trellis_plugin *p = tr_registry_load_file(reg, path);
		if (!p || p->state != TR_PLUGIN_LOADED) {
			fprintf(stderr, "%s: %s\n", path,
				p ? p->reason : "out of memory");
			return -1;
		}
	}
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	tr_registry_free(reg);
	return 0;
}

int main(void)
{
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_dispatch");
	find_plugdir();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notsup_for_null_slot),
	    cmocka_unit_test(test_wrong_kind),
	    cmocka_unit_test(test_refused_plugin),
	    cmocka_unit_test(test_generic_error_filled_in),
	    cmocka_unit_test(test_output_zeroed_with_size),
	    cmocka_unit_test(test_progress_hook_kept),
	    cmocka_unit_test(test_target_needs_a_target_kind),
	    cmocka_unit_test(test_policy_wrappers),
	    cmocka_unit_test(test_serialized_never_concurrent),
	    cmocka_unit_test(test_per_target_one_call_per_target),
	    cmocka_unit_test(test_reentrant_runs_concurrently),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	tr_host_shutdown();
	return rc;
}
