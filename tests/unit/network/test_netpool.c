/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_netpool.c - segment-id pools in a real (temporary) store: lowest
 * free id first, idempotent allocation per segment, the exhausted-pool
 * message, release and reuse, overlapping ranges refused, and ranges
 * checked against what VXLAN and 802.1Q allow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/netpool/netpool.h"

struct fx {
	char dir[64];
	struct tr_store *s;
	trellis_call_t call;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char path[128], err[256];
	snprintf(f->dir, sizeof f->dir, "/tmp/trellis-netpool-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof path, "%s/t.db", f->dir);
	f->s = tr_store_open(path, 0, err, sizeof err);
	if (!f->s)
		fail_msg("store: %s", err);
	tr_call_init(&f->call, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];
	tr_store_close(f->s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

#define OK(f, expr)                                                            \
	do {                                                                   \
		if ((expr) != 0)                                               \
			fail_msg("%s: %s", #expr, (f)->call.message);          \
	} while (0)

static void test_alloc_lowest_and_idempotent(void **state)
{
	struct fx *f = *state;
	uint32_t id;
	const char *mode;
	OK(f,
	   tr_netpool_create(f->s, "vx", "vxlan", 5000, 5002, NULL, &f->call));
	OK(f, tr_netpool_alloc(f->s, "vx", "acme", &id, &mode, &f->call));
	assert_int_equal(id, 5000);
	assert_string_equal(mode, "vxlan");
	OK(f, tr_netpool_alloc(f->s, "vx", "globex", &id, NULL, &f->call));
	assert_int_equal(id, 5001);
	/* a replay gets the same id, nothing new */
	OK(f, tr_netpool_alloc(f->s, "vx", "acme", &id, NULL, &f->call));
	assert_int_equal(id, 5000);
	OK(f, tr_netpool_alloc(f->s, "vx", "initech", &id, NULL, &f->call));
	assert_int_equal(id, 5002);

	/* exhausted: the message names pool, range and count */
	assert_int_equal(
	    tr_netpool_alloc(f->s, "vx", "umbrella", &id, NULL, &f->call),
	    TRELLIS_E_NOSPACE);
	assert_string_equal(f->call.message,
			    "no free segment id in pool vx (range 5000-5002, "
			    "all 3 in use)");
	json_t *p;
	OK(f, tr_netpool_get(f->s, "vx", &p, &f->call));
	assert_int_equal(json_integer_value(json_object_get(p, "used")), 3);
	json_decref(p);

	/* release makes the id reusable; the lowest free one comes back */
	OK(f, tr_netpool_release(f->s, "vx", "globex", &f->call));
	OK(f, tr_netpool_release(f->s, "vx", "globex", &f->call));
	OK(f, tr_netpool_alloc(f->s, "vx", "umbrella", &id, NULL, &f->call));
	assert_int_equal(id, 5001);

	assert_int_equal(tr_netpool_delete(f->s, "vx", &f->call),
			 TRELLIS_E_CONFLICT);
	assert_int_equal(
	    tr_netpool_alloc(f->s, "nope", "x", &id, NULL, &f->call),
	    TRELLIS_E_NOTFOUND);
}

static void test_ranges_checked(void **state)
{
	struct fx *f = *state;
	OK(f, tr_netpool_create(f->s, "vl", "vlan", 100, 199, NULL, &f->call));
	assert_int_equal(
	    tr_netpool_create(f->s, "vl2", "vlan", 150, 300, NULL, &f->call),
	    TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "overlaps pool 'vl'"));
	/* another mode may reuse the numbers: VNIs and VLAN ids differ */
	OK(f, tr_netpool_create(f->s, "vx", "vxlan", 150, 300, NULL, &f->call));
	assert_int_equal(
	    tr_netpool_create(f->s, "big", "vlan", 1, 4095, NULL, &f->call),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(tr_netpool_create(f->s, "big", "vxlan", 1, 16777216,
					   NULL, &f->call),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(
	    tr_netpool_create(f->s, "rev", "vxlan", 10, 5, NULL, &f->call),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(
	    tr_netpool_create(f->s, "m", "gre", 1, 5, NULL, &f->call),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(
	    tr_netpool_create(f->s, "vl", "vlan", 1000, 1001, NULL, &f->call),
	    TRELLIS_E_CONFLICT);
	json_t *l;
	OK(f, tr_netpool_list(f->s, &l, &f->call));
	assert_int_equal(json_array_size(json_object_get(l, "items")), 2);
	json_decref(l);
	OK(f, tr_netpool_delete(f->s, "vl", &f->call));
	assert_int_equal(tr_netpool_get(f->s, "vl", &l, &f->call),
			 TRELLIS_E_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_alloc_lowest_and_idempotent,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ranges_checked, setup,
					    teardown),
	};
	return cmocka_run_group_tests_name("netpool", tests, NULL, NULL);
}
