/* SPDX-License-Identifier: Apache-2.0 */
/* test_api.c - the API's envelope and argument validation: every bad
 * request gets a clear INVALID_ARG naming what is wrong, and changes
 * nothing in the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/api/api.h"
#include "../../../core/runtime/daemon.h"
#include "../../../core/store/store.h"
#include "../../../core/util/log.h"

struct fx {
	char dir[64];
	struct tr_daemon d;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/trellis-api-XXXXXX");
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_api");
	assert_non_null(mkdtemp(f->dir));
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/t.db", f->dir);
	f->d.store = tr_store_open(path, 0, err, sizeof err);
	assert_non_null(f->d.store);
	f->d.registry = tr_registry_new();
	struct tr_api_limits lim = {.max_message = 4096, .max_inflight = 16};
	f->d.api = tr_api_new(&f->d, &lim);
	tr_api_register_all(f->d.api);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_api_free(f->d.api);
	tr_registry_free(f->d.registry);
	tr_store_close(f->d.store);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Sends text, returns the parsed answer. */
static json_t *req(struct fx *f, const char *text, size_t len)
{
	char *reply = NULL;
	assert_int_equal(tr_api_handle_bytes(f->d.api, text, len, &reply), 0);
	assert_non_null(reply);
	json_t *r = json_loads(reply, 0, NULL);
	assert_non_null(r);
	free(reply);
	return r;
}

static int zones(struct fx *f)
{
	const char *t = "{\"v\":1,\"op\":\"zone.list\"}";
	json_t *r = req(f, t, strlen(t));
	assert_true(json_is_true(json_object_get(r, "ok")));
	int n = (int)json_array_size(
		json_object_get(json_object_get(r, "result"), "items"));
	json_decref(r);
	return n;
}

/* Asserts an error with code and a message containing want. */
static void expect_error(struct fx *f, const char *text, size_t len,
			 const char *code, const char *want)
{
	json_t *r = req(f, text, len);
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_t *err = json_object_get(r, "error");
	const char *c = json_string_value(json_object_get(err, "code"));
	const char *m = json_string_value(json_object_get(err, "message"));
	assert_non_null(c);
	assert_non_null(m);
	if (strcmp(c, code) != 0 || !strstr(m, want))
		fail_msg("got %s: %s; want %s containing '%s'", c, m, code,
			 want);
	json_decref(r);
}

#define E(f, s, code, want) expect_error(f, s, strlen(s), code, want)

static void test_ok(void **state)
{
	struct fx *f = *state;
	json_t *r = req(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z1\"}}",
			strlen("{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z1\"}}"));
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "result"), "name")),
			    "z1");
	json_decref(r);
	assert_int_equal(zones(f), 1);
}

static void test_envelope(void **state)
{
	struct fx *f = *state;
	E(f, "not json", "INVALID_ARG", "malformed request");
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z", "INVALID_ARG",
	  "malformed request");
	E(f, "[1,2,3]", "INVALID_ARG", "must be an object");
	E(f, "{\"op\":\"zone.list\"}", "INVALID_ARG", "'v' must be 1");
	E(f, "{\"v\":2,\"op\":\"zone.list\"}", "INVALID_ARG", "'v' must be 1");
	E(f, "{\"v\":1}", "INVALID_ARG", "'op' must be a string");
	E(f, "{\"v\":1,\"op\":7}", "INVALID_ARG", "'op' must be a string");
	E(f, "{\"v\":1,\"op\":\"zone.list\",\"args\":[]}", "INVALID_ARG",
	  "'args' must be an object");
	E(f, "{\"v\":1,\"op\":\"zone.list\",\"extra\":1}", "INVALID_ARG",
	  "unknown envelope field 'extra'");
	E(f, "{\"v\":1,\"op\":\"zone.list\",\"auth\":7}", "INVALID_ARG",
	  "'auth' must be a string");
	E(f, "{\"v\":1,\"op\":\"zone.explode\"}", "INVALID_ARG",
	  "unknown op 'zone.explode'");
	E(f, "{\"v\":1,\"v\":1,\"op\":\"zone.list\"}", "INVALID_ARG",
	  "malformed request");
	expect_error(f, "\0\1\2\3", 4, "INVALID_ARG", "malformed request");
	expect_error(f, "", 0, "INVALID_ARG", "malformed request");
	assert_int_equal(zones(f), 0);
}

static void test_args(void **state)
{
	struct fx *f = *state;
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z\",\"colour\":1}}",
	  "INVALID_ARG", "unknown field 'colour'");
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":5}}",
	  "INVALID_ARG", "field 'name': expected string");
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z\",\"private\":\"yes\"}}",
	  "INVALID_ARG", "field 'private': expected bool");
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{}}", "INVALID_ARG",
	  "missing required field 'name'");
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z\",\"spill\":\"deny\"}}",
	  "INVALID_ARG", "private zones only");
	E(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z\",\"private\":true}}",
	  "INVALID_ARG", "needs an owner");
	E(f, "{\"v\":1,\"op\":\"zone.list\",\"args\":{\"limit\":0}}",
	  "INVALID_ARG", "limit must be 1 to 1000");
	E(f, "{\"v\":1,\"op\":\"pod.create\",\"args\":{\"name\":\"p\",\"zone\":\"none\"}}",
	  "NOTFOUND", "zone 'none' not found");
	assert_int_equal(zones(f), 0);
}

static void test_limits(void **state)
{
	struct fx *f = *state;
	/* Past max_message (4096 here). */
	size_t n = 5000;
	char *big = malloc(n + 64);
	int len = snprintf(big, n + 64,
			   "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"");
	memset(big + len, 'a', n - (size_t)len - 4);
	strcpy(big + n - 4, "\"}}");
	expect_error(f, big, strlen(big), "INVALID_ARG",
		     "exceeds the limit of 4096 bytes");
	free(big);
	/* Deep nesting is refused by the parser, not by the stack. */
	size_t depth = 3000;
	char *deep = malloc(depth * 2 + 64);
	len = sprintf(deep, "{\"v\":1,\"op\":\"zone.list\",\"args\":");
	(void)len;
	size_t pos = strlen(deep);
	for (size_t i = 0; i < depth && pos < 4000; i++)
		deep[pos++] = '[';
	deep[pos] = '\0';
	expect_error(f, deep, strlen(deep), "INVALID_ARG", "malformed request");
	free(deep);
	/* A long name within the limit is refused by the store's rules. */
	char name[400];
	memset(name, 'x', 300);
	name[300] = '\0';
	char msg[600];
	snprintf(msg, sizeof msg,
		 "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"%s\"}}",
		 name);
	E(f, msg, "INVALID_ARG", "1 to 63 characters");
	assert_int_equal(zones(f), 0);
}

static void ok(struct fx *f, const char *text)
{
	json_t *r = req(f, text, strlen(text));
	if (!json_is_true(json_object_get(r, "ok")))
		fail_msg("%s failed", text);
	json_decref(r);
}

static void test_delete_names_children(void **state)
{
	struct fx *f = *state;
	ok(f, "{\"v\":1,\"op\":\"zone.create\",\"args\":{\"name\":\"z\"}}");
	ok(f, "{\"v\":1,\"op\":\"pod.create\",\"args\":{\"name\":\"p1\",\"zone\":\"z\"}}");
	json_t *r = req(f, "{\"v\":1,\"op\":\"zone.delete\",\"args\":{\"name\":\"z\"}}",
			strlen("{\"v\":1,\"op\":\"zone.delete\",\"args\":{\"name\":\"z\"}}"));
	json_t *err = json_object_get(r, "error");
	assert_string_equal(json_string_value(json_object_get(err, "code")),
			    "CONFLICT");
	assert_non_null(strstr(json_string_value(json_object_get(err, "message")),
			       "pod p1"));
	json_t *kids = json_object_get(json_object_get(err, "details"),
				       "children");
	assert_int_equal(json_array_size(kids), 1);
	json_decref(r);
	assert_int_equal(zones(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_names_children,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
