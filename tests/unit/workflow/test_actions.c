/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the action registry and the built-in actions
 * (core/actions/registry.c, core.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/actions/action.h"
#include "../../../core/host/host.h"

static void test_parse_size(void **st)
{
	(void)st;
	long long v = 0;
	assert_int_equal(tr_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(tr_parse_size("10G", &v), 0);
	assert_int_equal(v, 10LL << 30);
	assert_int_equal(tr_parse_size("512M", &v), 0);
	assert_int_equal(v, 512LL << 20);
	assert_int_equal(tr_parse_size("1k", &v), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(tr_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2LL << 30);
	assert_int_equal(tr_parse_size("1T", &v), 0);
	assert_int_equal(v, 1LL << 40);
	const char *bad[] = {"", "G", "-1G", "10X", "10GG", " 1", "1.5G",
			     "99999999999E"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(tr_parse_size(bad[i], &v), -1);
}

static void test_parse_duration(void **st)
{
	(void)st;
	long long v = 0;
	assert_int_equal(tr_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(tr_parse_duration("30s", &v), 0);
	assert_int_equal(v, 30000);
	assert_int_equal(tr_parse_duration("2m", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(tr_parse_duration("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(tr_parse_duration("1m30s", &v), 0);
	assert_int_equal(v, 90000);
	assert_int_equal(tr_parse_duration("1500", &v), 0);
	assert_int_equal(v, 1500);
	const char *bad[] = {"", "s", "-1s", "10x", "1s5", "1.5s", "s1"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(tr_parse_duration(bad[i], &v), -1);
}

static void test_registry(void **st)
{
	(void)st;
	tr_actions_init();
	tr_actions_init(); /* idempotent */
	size_t n = tr_action_count();
	assert_true(n >= 4);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(tr_action_at(i - 1)->name,
				   tr_action_at(i)->name) < 0);
	assert_non_null(tr_action_find("core.sleep"));
	assert_non_null(tr_action_find("exec"));
	assert_null(tr_action_find("core.nope"));
	assert_null(tr_action_at(n));
	json_t *j = tr_action_json(tr_action_find("core.sleep"));
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "core.sleep");
	json_t *in0 = json_array_get(json_object_get(j, "input"), 0);
	assert_string_equal(json_string_value(json_object_get(in0, "type")),
			    "duration");
	assert_true(json_is_true(json_object_get(in0, "required")));
	json_decref(j);
}

static void test_check_args(void **st)
{
	(void)st;
	tr_actions_init();
	const struct tr_action *a = tr_action_find("core.fail");
	char err[512];
	json_t *args = json_pack("{s:s, s:s}", "message", "x", "delay", "2s");
	assert_int_equal(tr_action_check_args(a, args, err, sizeof err), 0);
	assert_int_equal(json_integer_value(json_object_get(args, "delay")),
			 2000);
	json_decref(args);

	args = json_pack("{s:i, s:s, s:b}", "message", 3, "delay", "soon",
			 "bogus", 1);
	assert_int_equal(tr_action_check_args(a, args, err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(err, "field 'message': expected string, got int"));
	assert_non_null(strstr(err, "field 'delay': expected duration, got 'soon'"));
	assert_non_null(strstr(err, "unknown field 'bogus'"));
	json_decref(args);

	a = tr_action_find("core.sleep");
	args = json_object();
	assert_int_equal(tr_action_check_args(a, args, err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	assert_string_equal(err, "missing required field 'duration'");
	json_decref(args);
	args = json_integer(3);
	assert_int_equal(tr_action_check_args(a, args, err, sizeof err),
			 TRELLIS_E_INVALID_ARG);
	json_decref(args);
}

static int run(const char *name, json_t *args, int attempt, json_t **res,
	       trellis_call_t *call)
{
	const struct tr_action *a = tr_action_find(name);
	char err[256];
	if (tr_action_check_args(a, args, err, sizeof err))
		fail_msg("%s", err);
	struct tr_action_env env = {.idem_key = "i/s", .attempt = attempt};
	tr_call_init(call, "core");
	*res = NULL;
	int rc = a->run(&env, args, res, call);
	json_decref(args);
	return rc;
}

static void test_builtins(void **st)
{
	(void)st;
	tr_actions_init();
	trellis_call_t call;
	json_t *res;
	assert_int_equal(run("core.sleep", json_pack("{s:s}", "duration",
						      "10ms"),
			     1, &res, &call),
			 0);
	assert_int_equal(json_integer_value(json_object_get(res, "slept_ms")),
			 10);
	json_decref(res);

	assert_int_equal(run("core.fail", json_pack("{s:s, s:s}", "message",
						     "boom", "code", "BUSY"),
			     1, &res, &call),
			 TRELLIS_E_BUSY);
	assert_string_equal(call.message, "boom");
	assert_int_equal(run("core.fail", json_pack("{s:i}", "fail_attempts", 2),
			     2, &res, &call),
			 TRELLIS_E_BACKEND);
	assert_int_equal(run("core.fail", json_pack("{s:i}", "fail_attempts", 2),
			     3, &res, &call),
			 0);
	assert_int_equal(json_integer_value(json_object_get(res, "attempts")),
			 3);
	json_decref(res);

	assert_int_equal(run("exec", json_pack("{s:[s,s,s]}", "command", "sh",
						"-c", "echo hi; exit 3"),
			     1, &res, &call),
			 TRELLIS_E_BACKEND);
	assert_non_null(strstr(call.message, "exit status 3"));
	assert_int_equal(run("exec", json_pack("{s:[s,s,s], s:[i]}", "command",
						"sh", "-c", "echo hi; exit 3",
						"success_codes", 3),
			     1, &res, &call),
			 0);
	assert_string_equal(json_string_value(json_object_get(res, "stdout")),
			    "hi\n");
	json_decref(res);
	assert_int_equal(run("exec", json_pack("{s:[s,s], s:s}", "command",
						"sleep", "5", "timeout",
						"100ms"),
			     1, &res, &call),
			 TRELLIS_E_TIMEOUT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_duration),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_check_args),
		cmocka_unit_test(test_builtins),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tr_host_shutdown();
	return rc;
}
