/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the loader (core/loader): the descriptor checks beyond
 * the ABI refusal classes of tests/abi, the registry (find, ops presence,
 * caps), per-plugin config, directory scanning, and the kinds table that
 * the checker and dispatch rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include <trellis/hypervisor.h>
#include <trellis/network.h>
#include <trellis/policy.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/loader/loader.h"
#include "../../../core/util/log.h"
#include "../../../core/util/node.h"
#include "plugdir.h"

static struct trellis_plugin *load(tr_registry_t *reg, const char *name)
{
	char path[PATH_MAX];
	unit_plugin(path, sizeof path, name);
	struct trellis_plugin *p = tr_registry_load_file(reg, path);
	assert_non_null(p);
	return p;
}

static void refused(const char *name, const char *reason)
{
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = load(reg, name);
	assert_int_equal(p->state, TR_PLUGIN_REFUSED);
	assert_string_equal(p->reason, reason);
	tr_registry_free(reg);
}

static void test_entry_returns_null(void **st)
{
	(void)st;
	refused("desc1", "entry symbol returned no descriptor");
}

static void test_struct_size_too_small_for_version(void **st)
{
	(void)st;
	refused("desc2", "descriptor struct_size 4 is too small to hold an ABI "
			 "version");
}

static void test_invalid_name(void **st)
{
	(void)st;
	refused("desc3", "invalid plugin name 'Bad Name' (want [a-z0-9_-], 1 "
			 "to 32 characters)");
}

static void test_no_version(void **st)
{
	(void)st;
	refused("desc4", "plugin 'desc-case' has no version");
}

static void test_unknown_thread_model(void **st)
{
	(void)st;
	refused("desc5", "unknown thread model 7");
}

static void test_no_ops_table(void **st)
{
	(void)st;
	refused("desc6", "no ops table for kind storage");
}

static void test_valid_descriptor_loads(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = load(reg, "desc7");
	assert_int_equal(p->state, TR_PLUGIN_LOADED);
	assert_string_equal(p->name, "desc-case");
	assert_int_equal(p->desc_size, sizeof(trellis_plugin_desc_t));
	assert_string_equal(p->reason, "");
	tr_registry_free(reg);
}

/* A plugin refused before its name is known is listed by its file. */
static void test_refused_named_by_file(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = load(reg, "desc1");
	assert_string_equal(p->name, "unit_desc1");
	assert_null(tr_registry_find(reg, "unit_desc1", 0));
	tr_registry_free(reg);
}

static void test_find_by_name_and_kind(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = load(reg, "probe_serial");
	load(reg, "desc1");
	assert_int_equal(tr_registry_count(reg), 2);
	assert_ptr_equal(tr_registry_at(reg, 0), p);
	assert_null(tr_registry_at(reg, 2));
	assert_ptr_equal(tr_registry_find(reg, "probe-serial", 0), p);
	assert_ptr_equal(
	    tr_registry_find(reg, "probe-serial", TRELLIS_KIND_STORAGE), p);
	assert_null(
	    tr_registry_find(reg, "probe-serial", TRELLIS_KIND_HYPERVISOR));
	assert_null(tr_registry_find(reg, "nope", 0));
	tr_registry_free(reg);
}

static void test_has_op(void **st)
{
	(void)st;
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = load(reg, "probe_serial");
	assert_true(TR_PLUGIN_HAS_OP(p, struct trellis_storage_ops, vol_info));
	assert_false(TR_PLUGIN_HAS_OP(p, struct trellis_storage_ops, vol_list));
	assert_false(
	    TR_PLUGIN_HAS_OP(p, struct trellis_storage_ops, snapshot_delete));
	/* Beyond the table: absent, never read as a pointer. */
	assert_false(tr_plugin_has_op(p, TRELLIS_STORAGE_OPS_SIZE_1_0));
	assert_false(tr_plugin_has_op(p, 1u << 20));
	assert_false(tr_plugin_has_op(NULL, 8));
	tr_registry_free(reg);
}

static void test_caps_str(void **st)
{
	(void)st;
	char buf[128];
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *s = load(reg, "probe_serial");
	struct trellis_plugin *po = load(reg, "policy_probe");
	struct trellis_plugin *bad = load(reg, "desc1");
	assert_string_equal(tr_plugin_caps_str(s, buf, sizeof buf),
			    "thin,resize");
	assert_string_equal(tr_plugin_caps_str(po, buf, sizeof buf), "-");
	assert_string_equal(tr_plugin_caps_str(bad, buf, sizeof buf), "");
	tr_registry_free(reg);
}

static const char *config_value(tr_registry_t *reg, const char *key)
{
	static trellis_vol_info_t info;
	struct trellis_plugin *p = load(reg, "probe_serial");
	assert_int_equal(p->state, TR_PLUGIN_LOADED);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char name[64];
	snprintf(name, sizeof name, "config:%s", key);
	assert_int_equal(tr_st_vol_info(&(struct tr_target){.plugin = p}, &call,
					name, 0, &info),
			 0);
	return info.path;
}

/* A plugin sees its own section of the config, and an empty map when
 * there is none. */
static void test_config_section(void **st)
{
	(void)st;
	static const char yaml[] = "probe-serial: {greeting: hello}\n"
				   "other: {greeting: wrong}\n";
	char err[256];
	trellis_node_t *cfg = tr_node_parse_string(
	    "t.yaml", yaml, sizeof yaml - 1, err, sizeof err);
	assert_non_null(cfg);
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_config(reg, cfg);
	assert_string_equal(config_value(reg, "greeting"), "hello");
	tr_registry_free(reg);
	tr_node_free(cfg);

	reg = tr_registry_new();
	assert_string_equal(config_value(reg, "greeting"), "(none)");
	struct trellis_plugin *p = tr_registry_find(reg, "probe-serial", 0);
	assert_int_equal(tr_host()->node_type(tr_host()->config(p)),
			 TRELLIS_NODE_MAP);
	tr_registry_free(reg);
}

static void link_plugin(const char *dir, const char *file, const char *name)
{
	char from[PATH_MAX], to[PATH_MAX];
	unit_plugin(from, sizeof from, name);
	snprintf(to, sizeof to, "%s/%s", dir, file);
	assert_int_equal(symlink(from, to), 0);
}

/* Only visible *.so files, in name order; the others are left alone. */
static void test_load_dir(void **st)
{
	(void)st;
	char dir[] = "/tmp/trellis-test-loader-XXXXXX";
	assert_non_null(mkdtemp(dir));
	link_plugin(dir, "b.so", "probe_reentrant");
	link_plugin(dir, "a.so", "policy_probe");
	link_plugin(dir, ".hidden.so", "probe_serial");
	link_plugin(dir, "c.so.bak", "probe_per_target");
	link_plugin(dir, "notes.txt", "probe_per_target");
	char err[256] = "";
	tr_registry_t *reg = tr_registry_new();
	assert_int_equal(tr_registry_load_dir(reg, dir, err, sizeof err), 2);
	assert_int_equal(tr_registry_count(reg), 2);
	assert_string_equal(tr_registry_at(reg, 0)->name, "policy-probe");
	assert_string_equal(tr_registry_at(reg, 1)->name, "probe-reentrant");
	tr_registry_free(reg);
	static const char *const files[] = {"a.so", "b.so", ".hidden.so",
					    "c.so.bak", "notes.txt"};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void test_load_dir_missing(void **st)
{
	(void)st;
	char err[256] = "";
	tr_registry_t *reg = tr_registry_new();
	assert_int_equal(tr_registry_load_dir(reg, "/nonexistent-trellis-dir",
					      err, sizeof err),
			 TRELLIS_E_IO);
	assert_string_equal(err, "/nonexistent-trellis-dir: No such file or "
				 "directory");
	assert_int_equal(tr_registry_count(reg), 0);
	tr_registry_free(reg);
}

/*
 * The kinds table lists every slot of every ops table, in order, up to the
 * 1.0 size: a slot added to a header but not to kinds.c would escape the
 * checker's flag and NOTSUP sweeps.
 */
static void test_kinds_table_covers_every_slot(void **st)
{
	(void)st;
	static const uint32_t kinds[] = {
	    TRELLIS_KIND_HYPERVISOR, TRELLIS_KIND_STORAGE, TRELLIS_KIND_NETWORK,
	    TRELLIS_KIND_POLICY};
	static const size_t sizes[] = {
	    TRELLIS_HYPERVISOR_OPS_SIZE_1_0, TRELLIS_STORAGE_OPS_SIZE_1_0,
	    TRELLIS_NETWORK_OPS_SIZE_1_0, TRELLIS_POLICY_OPS_SIZE_1_0};
	for (size_t k = 0; k < 4; k++) {
		const struct tr_kind_info *ki = tr_kind_info(kinds[k]);
		assert_non_null(ki);
		assert_string_equal(ki->name, trellis_kind_name(kinds[k]));
		assert_int_equal(ki->ops_size_1_0, sizes[k]);
		/* The first slot follows struct_size (padded). */
		assert_int_equal(ki->all[0].offset, sizeof(void *));
		for (size_t i = 0; i < ki->n_all; i++)
			assert_int_equal(ki->all[i].offset,
					 (i + 1) * sizeof(void *));
		assert_int_equal(ki->all[ki->n_all - 1].offset + sizeof(void *),
				 sizes[k]);
		for (size_t r = 0; r < ki->n_required; r++) {
			int found = 0;
			for (size_t i = 0; i < ki->n_all; i++)
				found |= ki->all[i].offset ==
					     ki->required[r].offset &&
					 !strcmp(ki->all[i].name,
						 ki->required[r].name);
			assert_true(found);
		}
	}
	assert_null(tr_kind_info(0));
	assert_null(tr_kind_info(99));
}

/* What every plugin's init receives. */
static void test_host_table(void **st)
{
	(void)st;
	const trellis_host_t *h = tr_host();
	assert_true(h->struct_size >= TRELLIS_HOST_SIZE_1_0);
	assert_int_equal(h->abi_major, TRELLIS_ABI_MAJOR);
	assert_int_equal(h->abi_minor, TRELLIS_ABI_MINOR);
	assert_true(TRELLIS_HOST_HAS(h, exec));
	assert_true(TRELLIS_HOST_HAS(h, set_error));
}

int main(void)
{
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_loader");
	find_plugdir();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_entry_returns_null),
	    cmocka_unit_test(test_struct_size_too_small_for_version),
	    cmocka_unit_test(test_invalid_name),
	    cmocka_unit_test(test_no_version),
	    cmocka_unit_test(test_unknown_thread_model),
	    cmocka_unit_test(test_no_ops_table),
	    cmocka_unit_test(test_valid_descriptor_loads),
	    cmocka_unit_test(test_refused_named_by_file),
	    cmocka_unit_test(test_find_by_name_and_kind),
	    cmocka_unit_test(test_has_op),
	    cmocka_unit_test(test_caps_str),
	    cmocka_unit_test(test_config_section),
	    cmocka_unit_test(test_load_dir),
	    cmocka_unit_test(test_load_dir_missing),
	    cmocka_unit_test(test_kinds_table_covers_every_slot),
	    cmocka_unit_test(test_host_table),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tr_host_shutdown();
	return rc;
}
