/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for config schemas (core/loader/confschema.c, ABI 1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/loader/confschema.h"
#include "../../../core/util/node.h"

TRELLIS_CONFIG_SCHEMA(schema,
		      {"endpoint", TRELLIS_CONFIG_STRING,
		       TRELLIS_CONFIG_REQUIRED, NULL, "the array's API"},
		      {"timeout", TRELLIS_CONFIG_DURATION, 0, "30s", "per call"},
		      {"cache", TRELLIS_CONFIG_SIZE, 0, "64M", "cache size"},
		      {"retries", TRELLIS_CONFIG_INT, 0, "3", NULL},
		      {"verify", TRELLIS_CONFIG_BOOL, 0, "true", NULL},
		      {"hosts", TRELLIS_CONFIG_LIST, 0, NULL, NULL},
		      {"password", TRELLIS_CONFIG_STRING,
		       TRELLIS_CONFIG_SECRET, NULL, NULL});

static trellis_node_t *parse(const char *s)
{
	char err[256];
	trellis_node_t *n = tr_node_parse_string("c.yaml", s, strlen(s), err,
						 sizeof err);
	assert_non_null(n);
	return n;
}

static void test_valid_schema(void **st)
{
	(void)st;
	char err[256];
	assert_int_equal(tr_schema_valid(&schema, err, sizeof err), 0);
	TRELLIS_CONFIG_SCHEMA(bad_default,
			      {"t", TRELLIS_CONFIG_DURATION, 0, "soon", NULL});
	assert_int_equal(tr_schema_valid(&bad_default, err, sizeof err), -1);
	assert_string_equal(err, "key 't': default 'soon' is not a duration "
				 "(like 250ms, 30s or 2m)");
	TRELLIS_CONFIG_SCHEMA(twice, {"a", TRELLIS_CONFIG_INT, 0, NULL, NULL},
			      {"a", TRELLIS_CONFIG_INT, 0, NULL, NULL});
	assert_int_equal(tr_schema_valid(&twice, err, sizeof err), -1);
	TRELLIS_CONFIG_SCHEMA(badtype, {"a", 99, 0, NULL, NULL});
	assert_int_equal(tr_schema_valid(&badtype, err, sizeof err), -1);
	assert_string_equal(err, "key 'a': unknown type 99");
}

static void test_good_section_gets_defaults(void **st)
{
	(void)st;
	char err[1024];
	trellis_node_t *n =
		parse("endpoint: https://x\ncache: 1G\noptional: true\n");
	assert_int_equal(tr_schema_check(&schema, n, "plugins.x", NULL, err,
					 sizeof err),
			 0);
	static const char *const skip[] = {"optional", NULL};
	trellis_node_t *c = tr_schema_apply(&schema, n, skip, "plugins.x");
	tr_node_free(n);
	assert_non_null(c);
	assert_null(tr_node_get(c, "optional"));
	uint64_t v = 0;
	assert_int_equal(tr_node_size(tr_node_get(c, "cache"), &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(tr_node_duration(tr_node_get(c, "timeout"), &v), 0);
	assert_int_equal(v, 30000);
	int64_t r = 0;
	assert_int_equal(tr_node_int(tr_node_get(c, "retries"), &r), 0);
	assert_int_equal(r, 3);
	assert_string_equal(tr_node_where(tr_node_key_node_at(c, 0)),
			    "c.yaml:1:1");
	tr_node_free(c);
}

static void test_every_problem_with_its_position(void **st)
{
	(void)st;
	char err[2048];
	trellis_node_t *n = parse("timout: 5s\ncache: lots\nhosts: {a: 1}\n"
				  "password: [x]\n");
	assert_int_equal(tr_schema_check(&schema, n, "plugins.x", NULL, err,
					 sizeof err),
			 5);
	assert_non_null(strstr(err, "c.yaml:1:1: plugins.x: unknown key "
				    "'timout' (did you mean 'timeout'?)"));
	assert_non_null(strstr(err, "c.yaml:2:8: plugins.x.cache: expected a "
				    "size (like 4096, 64M or 2G), got 'lots'"));
	assert_non_null(strstr(err, "plugins.x.hosts: expected a list, got a "
				    "map"));
	assert_non_null(strstr(err, "c.yaml:1:1: plugins.x: missing required "
				    "key 'endpoint' (the array's API)"));
	tr_node_free(n);
}

static void test_not_a_map(void **st)
{
	(void)st;
	char err[256];
	trellis_node_t *n = parse("[1, 2]\n");
	assert_int_equal(tr_schema_check(&schema, n, "plugins.x", NULL, err,
					 sizeof err),
			 1);
	assert_string_equal(err, "c.yaml:1:1: plugins.x: expected a map of "
				 "settings");
	tr_node_free(n);
}

static void test_json(void **st)
{
	(void)st;
	json_t *j = tr_schema_json(&schema);
	assert_int_equal(json_array_size(j), 7);
	json_t *t = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(t, "type")),
			    "duration");
	assert_string_equal(json_string_value(json_object_get(t, "default")),
			    "30s");
	assert_true(json_is_true(json_object_get(json_array_get(j, 0),
						 "required")));
	json_decref(j);
	assert_null(tr_schema_json(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_schema),
	    cmocka_unit_test(test_good_section_gets_defaults),
	    cmocka_unit_test(test_every_problem_with_its_position),
	    cmocka_unit_test(test_not_a_map),
	    cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
