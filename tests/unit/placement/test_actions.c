/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_actions.c - policy.place and policy.release through the action
 * registry, as a workflow step runs them: a real store (temporary file)
 * with zones and hosts, the shipped policies, the builtin plugin.  Place,
 * replay, exhaust (the "why not placed" error), undo, place again; the
 * engine follows inventory changes made through the store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/actions/action.h"
#include "../../../core/placement/service.h"
#include "../../../core/runtime/daemon.h"
#include "../../../core/store/store.h"
#include "fixture.h"

/* A NOSPACE message starts with the filters' account; what was asked and
 * the most free follow (place.c: amounts). */
#define assert_prefix(got, want)                                               \
	assert_int_equal(strncmp((got), (want), strlen(want)), 0)

static char dbpath[256];
static struct tr_daemon daemon_;

static void create(enum tr_kind kind, const char *parent, const char *json)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *f = json_loads(json, 0, NULL);
	assert_non_null(f);
	if (tr_store_create(daemon_.store, kind, parent, f, NULL, &call) < 0)
		fail_msg("%s: %s", json, call.message);
	json_decref(f);
}

static int setup(void **state)
{
	char err[256], dir[4096];
	fx_setup(state);
	const char *src = getenv("TRELLIS_SRC");
	snprintf(dir, sizeof dir, "%s/policies", src ? src : ".");
	setenv("TRELLIS_POLICY_DIR", dir, 1);
	snprintf(dbpath, sizeof dbpath, "/tmp/trellis-actions-XXXXXX");
	int fd = mkstemp(dbpath);
	assert_true(fd >= 0);
	close(fd);
	unlink(dbpath);
	daemon_.store = tr_store_open(dbpath, 0, err, sizeof err);
	if (!daemon_.store)
		fail_msg("%s", err);
	daemon_.registry = fx_reg;
	create(TR_KIND_ZONE, NULL, "{\"name\":\"z\"}");
	create(TR_KIND_POD, "z", "{\"name\":\"p\"}");
	create(TR_KIND_CLUSTER, "z/p", "{\"name\":\"c\"}");
	/* 8 GiB each: two 6 GiB VMs fit, a third does not. */
	create(TR_KIND_HOST, "z/p/c",
	       "{\"name\":\"h1\",\"hypervisor\":\"t\",\"uri\":\"t:///\","
	       "\"cpus\":8,\"memory_kib\":8388608}");
	create(TR_KIND_HOST, "z/p/c",
	       "{\"name\":\"h2\",\"hypervisor\":\"t\",\"uri\":\"t:///\","
	       "\"cpus\":8,\"memory_kib\":8388608}");
	tr_actions_init();
	return 0;
}

static int teardown(void **state)
{
	char p[300];
	tr_placement_shutdown(&daemon_);
	tr_store_close(daemon_.store);
	unlink(dbpath);
	snprintf(p, sizeof p, "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", dbpath);
	unlink(p);
	return fx_teardown(state);
}

/* Runs an action as a step with key "wf/STEP"; returns its code. */
static int step(const char *action, const char *stepid, const char *args,
		json_t **result, char *msg, size_t msglen)
{
	const struct tr_action *a = tr_action_find(action);
	assert_non_null(a);
	char key[64], err[256];
	snprintf(key, sizeof key, "wf/%s", stepid);
	struct tr_action_env env = {.daemon = &daemon_,
				    .idem_key = key,
				    .instance_id = "wf",
				    .step_id = stepid,
				    .attempt = 1};
	json_t *j = json_loads(args, 0, NULL);
	assert_non_null(j);
	if (tr_action_check_args(a, j, err, sizeof err))
		fail_msg("%s %s: %s", action, args, err);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	*result = NULL;
	int rc = a->run(&env, j, result, &call);
	if (msg)
		snprintf(msg, msglen, "%s", rc ? call.message : "");
	json_decref(j);
	return rc;
}

static const char *host_of(json_t *r)
{
	static char h[64];
	snprintf(h, sizeof h, "%s",
		 json_string_value(json_object_get(r, "host")));
	json_decref(r);
	return h;
}

static void test_place_replay_exhaust_undo(void **state)
{
	(void)state;
	json_t *r;
	char msg[1024];
	const struct tr_action *a = tr_action_find("policy.place");
	assert_string_equal(a->undo, "policy.release");
	assert_true(a->flags & TR_ACTION_MAIN_THREAD);
	assert_int_equal(
	    step("policy.place", "s1", "{\"memory\":\"6G\"}", &r, NULL, 0), 0);
	const char *first = host_of(r);
	char h1[64];
	snprintf(h1, sizeof h1, "%s", first);
	/* A replay of the step gets the same host. */
	assert_int_equal(
	    step("policy.place", "s1", "{\"memory\":\"6G\"}", &r, NULL, 0), 0);
	assert_string_equal(host_of(r), h1);
	assert_int_equal(
	    step("policy.place", "s2", "{\"memory_mb\":6144}", &r, NULL, 0), 0);
	assert_string_not_equal(host_of(r), h1);
	assert_int_equal(step("policy.place", "s3", "{\"memory\":\"6G\"}", &r,
			      msg, sizeof msg),
			 TRELLIS_E_NOSPACE);
	assert_prefix(msg, "no host fits (2 hosts): capacity removed 2 (memory)");
	/* The undo of s1 frees its host for s3. */
	assert_int_equal(
	    step("policy.release", "s1", "{\"memory\":\"6G\"}", &r, NULL, 0),
	    0);
	assert_true(json_is_true(json_object_get(r, "released")));
	json_decref(r);
	/* The same release replayed succeeds; one of a claim nobody holds,
	 * or that another release took, is an error. */
	assert_int_equal(step("policy.release", "s1", "{}", &r, NULL, 0), 0);
	assert_true(json_is_true(json_object_get(r, "released")));
	json_decref(r);
	assert_int_equal(step("policy.release", "s9", "{\"claim\":\"wf/s1\"}", &r,
			      msg, sizeof msg),
			 TRELLIS_E_NOTFOUND);
	assert_non_null(strstr(msg, "released already (by wf/s1"));
	assert_int_equal(step("policy.release", "s9", "{\"claim\":\"nosuch\"}",
			      &r, msg, sizeof msg),
			 TRELLIS_E_NOTFOUND);
	assert_non_null(strstr(msg, "never made"));
	assert_int_equal(
	    step("policy.place", "s3", "{\"memory\":\"6G\"}", &r, NULL, 0), 0);
	assert_string_equal(host_of(r), h1);
	/* A host added through the store is seen by the next placement. */
	create(TR_KIND_HOST, "z/p/c",
	       "{\"name\":\"h3\",\"hypervisor\":\"t\",\"uri\":\"t:///\","
	       "\"cpus\":8,\"memory_kib\":8388608}");
	assert_int_equal(
	    step("policy.place", "s4", "{\"memory\":\"6G\"}", &r, NULL, 0), 0);
	assert_string_equal(host_of(r), "h3");
	/* Bad input is refused by name. */
	assert_int_equal(step("policy.place", "s5",
			      "{\"memory\":\"1G\",\"zone\":\"nowhere\"}", &r,
			      msg, sizeof msg),
			 TRELLIS_E_NOTFOUND);
	assert_string_equal(msg, "unknown zone 'nowhere'");
}

static void test_zone_policy_persists(void **state)
{
	(void)state;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_placement_set_policy(&daemon_, "z", "firstfit", &call), 0);
	assert_int_equal(tr_placement_set_policy(&daemon_, "z", "nope", &call),
			 TRELLIS_E_NOTFOUND);
	/* A fresh engine (restart) reads the choice from the store. */
	tr_placement_shutdown(&daemon_);
	struct tr_placer *p = tr_placement_engine(&daemon_, &call);
	assert_non_null(p);
	assert_string_equal(tr_placer_zone_policy(p, "z"), "firstfit");
	assert_string_equal(tr_placer_default(p), "default");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_place_replay_exhaust_undo),
	    cmocka_unit_test(test_zone_policy_persists),
	};
	return cmocka_run_group_tests_name("placement actions", tests, setup,
					   teardown);
}
