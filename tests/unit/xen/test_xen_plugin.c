/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_xen_plugin.c - the built Xen plugin (BUILD/plugins/xen.so) on a
 * machine without Xen: it loads through the core loader like any plugin,
 * and connect() fails at once with UNAVAILABLE and the reason instead of
 * crashing or hanging.  Argument checks that come before any hypervisor
 * call (flags, URIs) are covered too.  On a Xen dom0 the UNAVAILABLE case
 * is skipped: tests/xen/live.t covers the live side.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/loader/loader.h"

static tr_registry_t *reg;
static struct trellis_plugin *xen;

static int setup(void **st)
{
	const char *build = getenv("TRELLIS_BUILD");
	char path[4096];

	(void)st;
	snprintf(path, sizeof path, "%s/plugins/xen.so",
		 build ? build : "build");
	if (access(path, R_OK) != 0) {
		fprintf(stderr, "no %s (set TRELLIS_BUILD)\n", path);
		return -1;
	}
	reg = tr_registry_new();
	xen = tr_registry_load_file(reg, path);
	return xen ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	tr_registry_free(reg);
	return 0;
}

static int have_xen(void)
{
	return access("/dev/xen/privcmd", F_OK) == 0 ||
	       access("/proc/xen/privcmd", F_OK) == 0;
}

static void test_loads(void **st)
{
	(void)st;
	if (xen->state != TR_PLUGIN_LOADED)
		fail_msg("xen.so refused: %s", xen->reason);
	assert_string_equal(xen->name, "xen");
	assert_int_equal(xen->desc->kind, TRELLIS_KIND_HYPERVISOR);
	assert_int_equal(xen->desc->thread_model, TRELLIS_THREAD_PER_TARGET);
	assert_true(xen->desc->caps & TRELLIS_HV_CAP_KERNEL_BOOT);
}

static void test_unavailable(void **st)
{
	trellis_call_t call;
	struct tr_target *t = NULL;
	struct timespec a, b;
	int rc;

	(void)st;
	if (have_xen())
		skip();
	tr_call_init(&call, "xen");
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = tr_target_open(xen, &call, NULL, "xen:///", NULL, 0, &t);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(rc, TRELLIS_E_UNAVAILABLE);
	assert_null(t);
	assert_false(call.generic);
	if (strncmp(call.message, "Xen hypervisor interface not available (",
		    40) != 0)
		fail_msg("message: %s", call.message);
	/* the reason underneath: privcmd is missing */
	assert_non_null(strstr(call.message, "No such file or directory"));
	assert_int_equal(call.backend_code, ENOENT);
	assert_true(b.tv_sec - a.tv_sec < 5); /* never a hang */
}

static void test_connect_args(void **st)
{
	trellis_call_t call;
	struct tr_target *t = NULL;
	int rc;

	(void)st;
	tr_call_init(&call, "xen");
	rc = tr_target_open(xen, &call, NULL, "xen:///", NULL, 1u << 31, &t);
	assert_int_equal(rc, TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "flags"));

	rc = tr_target_open(xen, &call, NULL, "qemu:///system", NULL, 0, &t);
	assert_int_equal(rc, TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "qemu:///system"));

	rc = tr_target_open(xen, &call, NULL, "xen://elsewhere/", NULL, 0, &t);
	assert_int_equal(rc, TRELLIS_E_NOTSUP);
	assert_non_null(strstr(call.message, "remote"));
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loads),
	    cmocka_unit_test(test_unavailable),
	    cmocka_unit_test(test_connect_args),
	};
	return cmocka_run_group_tests_name("xen_plugin", tests, setup,
					   teardown);
}
