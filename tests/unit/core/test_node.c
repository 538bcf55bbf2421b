/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the YAML node tree (core/util/node.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/util/node.h"

static trellis_node_t *parse(const char *s, char *err)
{
	return tr_node_parse_string("t.yaml", s, strlen(s), err, 256);
}

static void test_map_and_positions(void **st)
{
	(void)st;
	char err[256] = "";
	trellis_node_t *n = parse("a: 1\nb:\n  - x\n  - 'y'\n", err);
	assert_non_null(n);
	assert_int_equal(tr_node_type(n), TRELLIS_NODE_MAP);
	int64_t v = 0;
	assert_int_equal(tr_node_int(tr_node_get(n, "a"), &v), 0);
	assert_int_equal(v, 1);
	const trellis_node_t *b = tr_node_get(n, "b");
	assert_int_equal(tr_node_len(b), 2);
	assert_string_equal(tr_node_str(tr_node_at(b, 1)), "y");
	assert_string_equal(tr_node_where(tr_node_at(b, 1)), "t.yaml:4:5");
	/* quoted scalars are strings, never numbers */
	assert_int_not_equal(tr_node_int(tr_node_at(b, 1), &v), 0);
	assert_null(tr_node_get(n, "missing"));
	tr_node_free(n);
}

static void test_syntax_error_has_position(void **st)
{
	(void)st;
	char err[256] = "";
	assert_null(parse("a: [1, 2\nb: 3\n", err));
	assert_non_null(strstr(err, "t.yaml:"));
	assert_non_null(strstr(err, "YAML syntax error"));
}

static void test_duplicate_key(void **st)
{
	(void)st;
	char err[256] = "";
	assert_null(parse("a: 1\na: 2\n", err));
	assert_string_equal(err,
			    "t.yaml:2:1: duplicate key 'a' (first at line 1)");
}

static void test_alias_refused(void **st)
{
	(void)st;
	char err[256] = "";
	assert_null(parse("a: &x [1]\nb: *x\n", err));
	assert_non_null(strstr(err, "t.yaml:2:4: YAML aliases"));
}

static void test_depth_limit(void **st)
{
	(void)st;
	char buf[1024], err[256];
	size_t i;
	for (i = 0; i < 100; i++)
		buf[i] = '[';
	buf[i] = '\0';
	assert_null(parse(buf, err));
	assert_non_null(strstr(err, "nested too deeply"));
}

static void test_empty_is_map(void **st)
{
	(void)st;
	char err[256];
	trellis_node_t *n = parse("", err);
	assert_non_null(n);
	assert_int_equal(tr_node_type(n), TRELLIS_NODE_MAP);
	assert_int_equal(tr_node_len(n), 0);
	tr_node_free(n);
}

static void test_bool(void **st)
{
	(void)st;
	char err[256];
	trellis_node_t *n = parse("a: yes\nb: false\nc: maybe\n", err);
	int b = -1;
	assert_int_equal(tr_node_bool(tr_node_get(n, "a"), &b), 0);
	assert_int_equal(b, 1);
	assert_int_equal(tr_node_bool(tr_node_get(n, "b"), &b), 0);
	assert_int_equal(b, 0);
	assert_int_not_equal(tr_node_bool(tr_node_get(n, "c"), &b), 0);
	tr_node_free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_and_positions),
		cmocka_unit_test(test_syntax_error_has_position),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_alias_refused),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_empty_is_map),
		cmocka_unit_test(test_bool),
	};
	return cmocka_run_group_tests_name("node", tests, NULL, NULL);
}
