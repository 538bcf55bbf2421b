/* SPDX-License-Identifier: Apache-2.0 */
/* test_caps.c - cap precedence (core/tenancy/caps.c): per field the
 * offering's cap, then the BU's default, then the global one; each with
 * its source; a BU field unset falls through; bad caps are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/store/store.h"
#include "../../../core/tenancy/tenancy.h"

struct fx {
	char dir[64];
	char path[128];
	struct tr_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/trellis-caps-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	char err[512];
	f->s = tr_store_open(f->path, 0, err, sizeof err);
	if (!f->s)
		fail_msg("open: %s", err);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *t = json_pack("{s:s}", "name", "acme");
	assert_int_equal(tr_store_create(f->s, TR_KIND_TENANT, NULL, t, NULL,
					 &call),
			 0);
	json_decref(t);
	t = json_pack("{s:s, s:i, s:i, s:i, s:i}", "name", "small", "vcpus", 1,
		      "memory_mib", 256, "disk_gib", 1, "disk_write_iops_sec",
		      100);
	if (tr_template_create(f->s, t, NULL, &call))
		fail_msg("template: %s", call.message);
	json_decref(t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_store_close(f->s);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void expect(json_t *caps, const char *field, json_int_t value,
		   const char *source)
{
	json_t *c = json_object_get(caps, field);
	assert_non_null(c);
	assert_int_equal(json_integer_value(json_object_get(c, "value")), value);
	assert_string_equal(json_string_value(json_object_get(c, "source")),
			    source);
}

static void test_precedence(void **state)
{
	struct fx *f = *state;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	/* global: cpu 300, read iops 500, write iops 900 */
	unsigned global[TR_CAP_N] = {300, 0, 0, 500, 900, 0, 0};
	json_t *bu = json_pack("{s:i, s:i}", "cpu_shares", 700,
			       "disk_write_iops_sec", 200);
	assert_int_equal(tr_caps_bu_set(f->s, "acme", bu, &call), 0);
	json_decref(bu);
	json_t *caps = NULL;
	assert_int_equal(
	    tr_caps_effective(f->s, global, "small", "acme", &caps, &call), 0);
	expect(caps, "disk_write_iops_sec", 100, "offering:small");
	expect(caps, "cpu_shares", 700, "bu:acme");
	expect(caps, "disk_read_iops_sec", 500, "global");
	expect(caps, "nic_inbound_kbps", 0, "none");
	json_decref(caps);
	/* No offering: the BU's; no BU: the global ones. */
	assert_int_equal(tr_caps_effective(f->s, global, NULL, "acme", &caps,
					   &call),
			 0);
	expect(caps, "disk_write_iops_sec", 200, "bu:acme");
	json_decref(caps);
	assert_int_equal(
	    tr_caps_effective(f->s, global, "", NULL, &caps, &call), 0);
	expect(caps, "disk_write_iops_sec", 900, "global");
	expect(caps, "cpu_shares", 300, "global");
	json_decref(caps);
	/* A BU field unset falls through to the global one. */
	bu = json_pack("{s:n}", "cpu_shares");
	assert_int_equal(tr_caps_bu_set(f->s, "acme", bu, &call), 0);
	json_decref(bu);
	assert_int_equal(tr_caps_effective(f->s, global, "small", "acme", &caps,
					   &call),
			 0);
	expect(caps, "cpu_shares", 300, "global");
	expect(caps, "disk_write_iops_sec", 100, "offering:small");
	json_decref(caps);
}

static void test_refused(void **state)
{
	struct fx *f = *state;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *bad = json_pack("{s:i}", "disk_write_iops_sec", -3);
	assert_int_equal(tr_caps_bu_set(f->s, "acme", bad, &call),
			 TRELLIS_E_INVALID_ARG);
	json_decref(bad);
	bad = json_pack("{s:i}", "gpu", 1);
	assert_int_equal(tr_caps_bu_set(f->s, "acme", bad, &call),
			 TRELLIS_E_INVALID_ARG);
	json_decref(bad);
	json_t *ok = json_pack("{s:i}", "cpu_shares", 10);
	assert_int_equal(tr_caps_bu_set(f->s, "nobody", ok, &call),
			 TRELLIS_E_NOTFOUND);
	json_decref(ok);
	json_t *caps = NULL;
	assert_int_equal(tr_caps_effective(f->s, NULL, "nosuch", NULL, &caps,
					   &call),
			 TRELLIS_E_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_precedence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
