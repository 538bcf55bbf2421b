/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ABI tests: the loader refuses each deliberately wrong plugin with the
 * exact reason an operator sees, goes on loading the others, and keeps
 * loading a plugin built against the frozen 1.0 headers on a newer host,
 * where ops beyond its shorter ops table come back as NOTSUP.
 *
 * The plugins are built by tests/abi/SConscript into BUILD/tests/plugins/,
 * found from this binary's location (BUILD/tests/bin/abi/test_abi).
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../core/dispatch/dispatch.h"
#include "../../core/loader/listing.h"
#include "../../core/loader/confschema.h"
#include "../../core/loader/loader.h"
#include "../../core/util/node.h"
#include "../../core/util/log.h"

static char plugdir[PATH_MAX / 2];

static void find_plugdir(void)
{
	char exe[PATH_MAX / 4];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0'; /* BUILD/tests/bin/abi */
	snprintf(plugdir, sizeof plugdir, "%s/../../plugins", exe);
	char *real = realpath(plugdir, NULL);
	assert_non_null(real);
	snprintf(plugdir, sizeof plugdir, "%s", real);
	free(real);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/abi_%s.so", plugdir, name);
}

static struct trellis_plugin *load(tr_registry_t *reg, const char *name)
{
	char path[PATH_MAX];
	path_of(path, sizeof path, name);
	assert_int_equal(access(path, R_OK), 0);
	struct trellis_plugin *p = tr_registry_load_file(reg, path);
	assert_non_null(p);
	return p;
}

/* Loads name into a fresh host (this build's ABI) and checks the refusal
 * reason. */
static void expect_refused(const char *name, const char *fmt, ...)
    TRELLIS_PRINTF(2, 3);
static void expect_refused(const char *name, const char *fmt, ...)
{
	char want[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof want, fmt, ap);
	va_end(ap);
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = load(reg, name);
	assert_int_equal(p->state, TR_PLUGIN_REFUSED);
	assert_null(p->desc);
	assert_string_equal(p->reason, want);
	/* A refused plugin is never callable. */
	assert_false(tr_plugin_has_op(
	    p, offsetof(struct trellis_storage_ops, pool_open)));
	tr_registry_free(reg);
}

static void test_no_entry_symbol(void **st)
{
	(void)st;
	expect_refused("no_entry",
		       "no entry symbol 'trellis_plugin_entry' (is this a "
		       "Trellis plugin? did you use TRELLIS_PLUGIN_DEFINE?)");
}

static void test_abi_major_differs(void **st)
{
	(void)st;
	expect_refused("abi_major",
		       "ABI major differs: plugin built for ABI %d.0, host "
		       "provides ABI %d.%d",
		       TRELLIS_ABI_MAJOR + 1, TRELLIS_ABI_MAJOR,
		       TRELLIS_ABI_MINOR);
}

/* The other direction: a 1.0 plugin on a 2.0 host. */
static void test_abi_major_host_newer(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_abi(reg, 2, 0, NULL);
	struct trellis_plugin *p = load(reg, "frozen_1_0");
	assert_int_equal(p->state, TR_PLUGIN_REFUSED);
	assert_string_equal(p->reason, "ABI major differs: plugin built for "
				       "ABI 1.0, host provides ABI 2.0");
	tr_registry_free(reg);
}

static void test_abi_minor_newer(void **st)
{
	(void)st;
	expect_refused("abi_minor_newer",
		       "plugin ABI %d.%d is newer than host ABI %d.%d "
		       "(rebuild the plugin against this host's SDK, or "
		       "upgrade the host)",
		       TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR + 1,
		       TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR);
}

/* ...and the same plugin loads once the host has caught up. */
static void test_abi_minor_newer_loads_on_newer_host(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_abi(reg, TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR + 1,
			    NULL);
	struct trellis_plugin *p = load(reg, "abi_minor_newer");
	assert_int_equal(p->state, TR_PLUGIN_LOADED);
	tr_registry_free(reg);
}

static void test_build_tag_differs(void **st)
{
	(void)st;
	expect_refused("build_tag",
		       "build tag differs: plugin 'trellis1/ptr4/long4/le', "
		       "host '%s'",
		       TRELLIS_BUILD_TAG);
}

static void test_descriptor_too_small(void **st)
{
	(void)st;
	expect_refused("desc_small",
		       "descriptor struct_size %zu is below ABI 1.0's %zu",
		       (size_t)TRELLIS_PLUGIN_DESC_SIZE_1_0 - sizeof(void *),
		       (size_t)TRELLIS_PLUGIN_DESC_SIZE_1_0);
}

static void test_ops_too_small(void **st)
{
	(void)st;
	expect_refused("ops_small",
		       "storage ops struct_size %zu is below ABI 1.0's %zu",
		       offsetof(struct trellis_storage_ops, vol_list),
		       (size_t)TRELLIS_STORAGE_OPS_SIZE_1_0);
}

static void test_unknown_kind(void **st)
{
	(void)st;
	expect_refused("unknown_kind", "unknown kind 99 (this host knows "
				       "hypervisor, storage, network, policy)");
}

static void test_duplicate_name(void **st)
{
	(void)st;
	char first[PATH_MAX];
	path_of(first, sizeof first, "dup_a");
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *a = load(reg, "dup_a");
	struct trellis_plugin *b = load(reg, "dup_b");
	assert_int_equal(a->state, TR_PLUGIN_LOADED);
	assert_int_equal(b->state, TR_PLUGIN_REFUSED);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof want,
		 "duplicate plugin name 'dup' (already loaded from %s)", first);
	assert_string_equal(b->reason, want);
	/* The first one keeps the name. */
	assert_ptr_equal(tr_registry_find(reg, "dup", 0), a);
	assert_string_equal(tr_registry_find(reg, "dup", 0)->desc->version,
			    "1.0.0");
	tr_registry_free(reg);
}

static void test_required_op_missing(void **st)
{
	(void)st;
	expect_refused("required_op",
		       "required storage op 'vol_info' is missing");
}

static void test_init_failed(void **st)
{
	(void)st;
	expect_refused("init_failed",
		       "init failed: UNAVAILABLE: backend 'array-7' does not "
		       "answer on 10.0.0.7:3260");
}

static void test_undefined_symbol(void **st)
{
	(void)st;
	char path[PATH_MAX];
	path_of(path, sizeof path, "undefined_symbol");
	expect_refused("undefined_symbol",
		       "cannot load: %s: undefined symbol: "
		       "trellis_abi_test_missing_symbol",
		       path);
}

/* One bad plugin never stops the others, and the listing names the file
 * and the reason on one line. */
static void test_load_dir_goes_on(void **st)
{
	(void)st;
	char err[256];
	tr_registry_t *reg = tr_registry_new();
	int loaded = tr_registry_load_dir(reg, plugdir, err, sizeof err);
	assert_true(loaded >= 2);
	static const struct {
		const char *name;
		int state;
	} want[] = {
	    {"no_entry", TR_PLUGIN_REFUSED},
	    {"abi_major", TR_PLUGIN_REFUSED},
	    {"abi_minor_newer", TR_PLUGIN_REFUSED},
	    {"build_tag", TR_PLUGIN_REFUSED},
	    {"desc_small", TR_PLUGIN_REFUSED},
	    {"ops_small", TR_PLUGIN_REFUSED},
	    {"unknown_kind", TR_PLUGIN_REFUSED},
	    {"dup_a", TR_PLUGIN_LOADED},
	    {"dup_b", TR_PLUGIN_REFUSED},
	    {"required_op", TR_PLUGIN_REFUSED},
	    {"init_failed", TR_PLUGIN_REFUSED},
	    {"undefined_symbol", TR_PLUGIN_REFUSED},
	    {"frozen_1_0", TR_PLUGIN_LOADED},
	};
	for (size_t w = 0; w < sizeof want / sizeof *want; w++) {
		char path[PATH_MAX];
		path_of(path, sizeof path, want[w].name);
		int found = 0;
		for (size_t i = 0; i < tr_registry_count(reg); i++) {
			struct trellis_plugin *p = tr_registry_at(reg, i);
			if (strcmp(p->path, path) != 0)
				continue;
			found = 1;
			if ((int)p->state != want[w].state)
				fail_msg("%s: state %d, want %d (%s)", path,
					 p->state, want[w].state, p->reason);
		}
		if (!found)
			fail_msg("%s was not loaded from %s", want[w].name,
				 plugdir);
	}

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tr_registry_print(reg, f, 0);
	fclose(f);
	char path[PATH_MAX];
	path_of(path, sizeof path, "required_op");
	const char *row = strstr(buf, path);
	assert_non_null(row);
	const char *eol = strchr(row, '\n');
	const char *why = strstr(row, " refused: required storage op "
				      "'vol_info' is missing\n");
	if (!why || why > eol)
		fail_msg("listing row for %s lacks the reason:\n%s", path, buf);
	free(buf);
	tr_registry_free(reg);
}

/*
 * The frozen 1.0 plugin on a host that acts as 1.1: it loads, works
 * through dispatch, and a slot beyond its ops struct_size (where a 1.1
 * op would be) is absent even though memory there holds a function
 * pointer.
 */
static void test_frozen_1_0_on_1_1_host(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_abi(reg, 1, 1, NULL);
	struct trellis_plugin *p = load(reg, "frozen_1_0");
	assert_int_equal(p->state, TR_PLUGIN_LOADED);
	assert_int_equal(p->desc->abi_minor, 0);

	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_target *t;
	assert_int_equal(tr_target_open(p, &call, "p", "mem", NULL,
					TRELLIS_POOL_OPEN_CREATE, &t),
			 0);
	trellis_vol_spec_t spec = {
	    .struct_size = sizeof spec, .name = "v1", .size = 4096};
	trellis_vol_info_t info;
	assert_int_equal(tr_st_vol_create(t, &call, &spec, "k", 0, &info), 0);
	assert_string_equal(info.path, "mem:v1");
	assert_int_equal(info.struct_size, sizeof info);
	assert_int_equal(tr_st_vol_info(t, &call, "nope", 0, &info),
			 TRELLIS_E_NOTFOUND);
	assert_string_equal(call.message, "no volume 'nope'");

	/* A 1.0 op the plugin left NULL. */
	assert_int_equal(tr_st_vol_list(t, &call, 0, NULL, NULL),
			 TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'frozen-1-0' (storage) does "
					  "not support vol_list");

	/* A 1.1 slot, right after the 1.0 table. */
	size_t slot_1_1 = TRELLIS_STORAGE_OPS_SIZE_1_0;
	const char *mem = (const char *)tr_plugin_ops(p) + slot_1_1;
	void *beyond;
	memcpy(&beyond, mem, sizeof beyond);
	assert_non_null(beyond); /* there is something there... */
	assert_false(tr_plugin_has_op(p, slot_1_1)); /* ...but it is absent */
	assert_null(tr_dispatch_begin(p, TRELLIS_KIND_STORAGE, slot_1_1,
				      "vol_rename", &call));
	assert_int_equal(call.code, TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'frozen-1-0' (storage) does "
					  "not support vol_rename");

	/* The storage ops of 1.1 (issue 21), through their real wrappers:
	 * a 1.0 table ends before them, so each is NOTSUP, named. */
	trellis_assign_spec_t as = {.struct_size = sizeof as,
				    .volume = "v1",
				    .host = "h"};
	trellis_st_object_t obj;
	void *stream = (void *)&as;
	char buf[16];
	size_t got = 99;
	assert_int_equal(tr_st_discover(t, &call, 0, 0, NULL, NULL),
			 TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'frozen-1-0' (storage) does "
					  "not support discover");
	assert_int_equal(tr_st_assign(t, &call, &as, "k", 0), TRELLIS_E_NOTSUP);
	assert_int_equal(tr_st_unassign(t, &call, &as, "k", 0),
			 TRELLIS_E_NOTSUP);
	assert_int_equal(tr_st_port_connect(t, &call, "p0", "k", 0, &obj),
			 TRELLIS_E_NOTSUP);
	assert_int_equal(
	    tr_st_vol_open(t, &call, "v1", TRELLIS_STREAM_READ, &stream),
	    TRELLIS_E_NOTSUP);
	assert_null(stream);
	assert_int_equal(
	    tr_st_vol_read(t, NULL, &call, 0, buf, sizeof buf, &got),
	    TRELLIS_E_NOTSUP);
	assert_int_equal(got, 0);
	assert_int_equal(tr_st_vol_write(t, NULL, &call, 0, buf, sizeof buf),
			 TRELLIS_E_NOTSUP);
	assert_int_equal(tr_st_vol_stream_close(t, NULL, &call, 0),
			 TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'frozen-1-0' (storage) does "
					  "not support vol_stream_close");
	int fd = 7;
	assert_int_equal(tr_st_vol_stream_fd(t, NULL, &call, &fd),
			 TRELLIS_E_NOTSUP);
	assert_int_equal(fd, -1);
	tr_target_close(t);
	tr_registry_free(reg);
}

/* A network plugin of ABI 1.0 on a 1.1 host: the routers (since 1.1)
 * are NOTSUP, named, although memory after its table holds pointers. */
static void test_net_1_0_routers_notsup(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_abi(reg, 1, 1, NULL);
	struct trellis_plugin *p = load(reg, "net_1_0");
	assert_int_equal(p->state, TR_PLUGIN_LOADED);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_target t = {.plugin = p, .lock = PTHREAD_MUTEX_INITIALIZER};
	assert_int_equal(tr_net_connect(p, &call, "local", NULL, 0, &t.handle),
			 0);
	trellis_router_spec_t rs = {.struct_size = sizeof rs, .name = "n"};
	trellis_router_info_t out;
	assert_int_equal(tr_net_router_ensure(&t, &call, &rs, "k", 0, &out),
			 TRELLIS_E_NOTSUP);
	assert_string_equal(call.message, "plugin 'net-1-0' (network) does "
					  "not support router_ensure");
	tr_call_init(&call, NULL);
	assert_int_equal(tr_net_router_remove(&t, &call, "n", "k", 0),
			 TRELLIS_E_NOTSUP);
	tr_net_disconnect(&t);
	tr_registry_free(reg);
}

/* A 1.0 plugin declares no config schema: its section reaches init()
 * unchecked (it checks it itself, as before), only without the keys the
 * core reads ("optional"). */
static void test_frozen_1_0_config_unchecked(void **st)
{
	(void)st;
	char err[256];
	const char *y = "frozen-1-0: {anything: [1, 2], optional: true}\n";
	trellis_node_t *cfg =
		tr_node_parse_string("c.yaml", y, strlen(y), err, sizeof err);
	assert_non_null(cfg);
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_config(reg, cfg);
	struct trellis_plugin *p = load(reg, "frozen_1_0");
	assert_int_equal(p->state, TR_PLUGIN_LOADED);
	assert_non_null(tr_node_get(p->config, "anything"));
	assert_null(tr_node_get(p->config, "optional"));
	assert_string_equal(tr_node_where(tr_node_get(p->config, "anything")),
			    "c.yaml:1:24");
	assert_null(tr_plugin_config_schema(p));
	tr_registry_free(reg);
	tr_node_free(cfg);
}

/* And on the host it was built for. */
static void test_frozen_1_0_on_1_0_host(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_abi(reg, 1, 0, NULL);
	assert_int_equal(load(reg, "frozen_1_0")->state, TR_PLUGIN_LOADED);
	tr_registry_free(reg);
}

int main(void)
{
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_abi");
	find_plugdir();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_entry_symbol),
	    cmocka_unit_test(test_abi_major_differs),
	    cmocka_unit_test(test_abi_major_host_newer),
	    cmocka_unit_test(test_abi_minor_newer),
	    cmocka_unit_test(test_abi_minor_newer_loads_on_newer_host),
	    cmocka_unit_test(test_build_tag_differs),
	    cmocka_unit_test(test_descriptor_too_small),
	    cmocka_unit_test(test_ops_too_small),
	    cmocka_unit_test(test_unknown_kind),
	    cmocka_unit_test(test_duplicate_name),
	    cmocka_unit_test(test_required_op_missing),
	    cmocka_unit_test(test_init_failed),
	    cmocka_unit_test(test_undefined_symbol),
	    cmocka_unit_test(test_load_dir_goes_on),
	    cmocka_unit_test(test_frozen_1_0_on_1_1_host),
	    cmocka_unit_test(test_net_1_0_routers_notsup),
	    cmocka_unit_test(test_frozen_1_0_on_1_0_host),
	    cmocka_unit_test(test_frozen_1_0_config_unchecked),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tr_host_shutdown();
	return rc;
}
