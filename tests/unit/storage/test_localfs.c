/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_localfs.c - the localfs storage plugin against real qemu-img, loaded
 * through the core loader and called through core/dispatch exactly as the
 * daemon does.  Pools are temporary directories; the full-disk case mounts
 * a small tmpfs (skipped when mounting is not allowed).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/loader/loader.h"
#include "../../../core/util/node.h"
#include "../assert_rc.h"

#define MiB (UINT64_C(1) << 20)

struct fx {
	tr_registry_t *reg;
	struct trellis_plugin *p;
	struct tr_target *pool;
	char dir[256];
	trellis_call_t call;
};

static int rm_rf(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd);
}

/* Entries of dir, hidden ones included, as "a,b,.c" (sorted). */
static void ls_dir(const char *dir, char *buf, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		const char *s = names[i]->d_name;
		if (strcmp(s, ".") && strcmp(s, "..")) {
			if (buf[0])
				strncat(buf, ",", len - strlen(buf) - 1);
			strncat(buf, s, len - strlen(buf) - 1);
		}
		free(names[i]);
	}
	free(names);
}

static struct trellis_plugin *load_localfs(tr_registry_t *reg)
{
	char path[1024];
	const char *b = getenv("TRELLIS_BUILD");
	snprintf(path, sizeof path, "%s/plugins/localfs.so",
		 b ? b : TR_BUILD_ABS);
	struct trellis_plugin *p = tr_registry_load_file(reg, path);
	assert_non_null(p);
	if (p->state != TR_PLUGIN_LOADED)
		fail_msg("%s: %s", path, p->reason);
	return p;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->reg = tr_registry_new();
	f->p = load_localfs(f->reg);
	snprintf(f->dir, sizeof f->dir, "/tmp/trellis-lfs-%d-XXXXXX", getpid());
	assert_non_null(mkdtemp(f->dir));
	tr_call_init(&f->call, NULL);
	char pooldir[300];
	snprintf(pooldir, sizeof pooldir, "%s/pool", f->dir);
	int rc = tr_target_open(f->p, &f->call, "p1", pooldir, NULL,
				TRELLIS_POOL_OPEN_CREATE, &f->pool);
	if (rc)
		fail_msg("pool_open: %s", f->call.message);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char mnt[300];
	tr_target_close(f->pool);
	/* a failed full-disk test must not leave its tmpfs mounted */
	snprintf(mnt, sizeof mnt, "%s/small", f->dir);
	umount2(mnt, MNT_DETACH);
	rm_rf(f->dir);
	tr_registry_free(f->reg);
	free(f);
	return 0;
}

static int create(struct fx *f, const char *name, uint64_t size,
		  const char *fmt, const char *tpl, const char *key,
		  uint32_t flags, trellis_vol_info_t *out)
{
	trellis_vol_spec_t spec = {.struct_size = sizeof spec,
				   .name = name,
				   .size = size,
				   .format = fmt,
				   .template_path = tpl};
	return tr_st_vol_create(f->pool, &f->call, &spec, key, flags,
				out);
}

static void test_create_replay_conflict(void **state)
{
	struct fx *f = *state;
	trellis_vol_info_t a, b;
	assert_rc(f, create(f, "disk0", 8 * MiB, NULL, NULL, "wf1/s1", 0, &a),
		  0);
	assert_string_equal(a.format, "qcow2");
	assert_int_equal(a.capacity, 8 * MiB);
	assert_string_equal(a.backing, "");
	assert_non_null(strstr(a.path, "/pool/disk0"));
	/* a replay finds the first attempt's volume */
	assert_rc(f, create(f, "disk0", 8 * MiB, NULL, NULL, "wf1/s1", 0, &b),
		  0);
	assert_string_equal(a.path, b.path);
	/* another request may not take the name */
	assert_rc(f, create(f, "disk0", 8 * MiB, NULL, NULL, "wf2/s1", 0, &b),
		  TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "already exists"));
	assert_non_null(strstr(f->call.message, "wf1/s1"));
	assert_rc(f, create(f, "disk0", 8 * MiB, NULL, NULL, NULL, 0, &b),
		  TRELLIS_E_CONFLICT);
	/* raw, preallocated */
	assert_rc(f,
		  create(f, "raw0", 4 * MiB, "raw", NULL, "k",
			 TRELLIS_VOL_PREALLOCATE, &b),
		  0);
	assert_string_equal(b.format, "raw");
	assert_true(b.allocation >= 4 * MiB);

	trellis_pool_info_t pi;
	assert_rc(f, tr_st_pool_info(f->pool, &f->call, 0, &pi), 0);
	assert_int_equal(pi.n_volumes, 2);
	assert_true(pi.capacity > 0 && pi.available <= pi.capacity);
}

/* A file in the pool that no request made (an operator's image, a
 * volume of an older plugin): no create adopts it, and it stays. */
static void test_volume_without_key_is_conflict(void **state)
{
	struct fx *f = *state;
	trellis_vol_info_t vi;
	char path[400], cmd[512];
	snprintf(path, sizeof path, "%s/pool/ux-a-root", f->dir);
	snprintf(cmd, sizeof cmd, "qemu-img create -q -f qcow2 %s 1M", path);
	assert_int_equal(system(cmd), 0);
	assert_rc(f, create(f, "ux-a-root", MiB, NULL, NULL, "wf2/disk", 0,
			    &vi),
		  TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "volume 'ux-a-root'"));
	assert_non_null(strstr(f->call.message, "another request"));
	assert_rc(f, create(f, "src", MiB, NULL, NULL, "wf2/src", 0, &vi), 0);
	assert_rc(f,
		  tr_st_vol_clone(f->pool, &f->call, "src",
				  "ux-a-root", "wf2/clone", 0, &vi),
		  TRELLIS_E_CONFLICT);
	assert_int_equal(access(path, F_OK), 0);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "ux-a-root",
				   "wf2/disk", TRELLIS_VOL_DELETE_IF_KEY),
		  TRELLIS_E_CONFLICT);
	assert_int_equal(access(path, F_OK), 0);
}

/* The undo of a create deletes only what that create made. */
static void test_delete_if_key(void **state)
{
	struct fx *f = *state;
	trellis_vol_info_t vi;
	const uint32_t IF_KEY = TRELLIS_VOL_DELETE_IF_KEY;
	assert_rc(f, create(f, "d0", MiB, NULL, NULL, "wf1/disk", 0, &vi), 0);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "d0", "wf2/disk",
				   IF_KEY),
		  TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "volume 'd0'"));
	assert_non_null(strstr(f->call.message, "left untouched"));
	assert_non_null(strstr(f->call.message, "wf1/disk"));
	assert_int_equal(access(vi.path, F_OK), 0);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "d0", NULL,
				   IF_KEY),
		  TRELLIS_E_INVALID_ARG);
	assert_int_equal(access(vi.path, F_OK), 0);

	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "d0", "wf1/disk",
				   IF_KEY),
		  0);
	assert_int_equal(access(vi.path, F_OK), -1);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "d0", "wf1/disk",
				   IF_KEY),
		  0); /* missing: success */
	/* A clone is made under the clone's key. */
	assert_rc(f, create(f, "d1", MiB, NULL, NULL, "wf1/disk", 0, &vi), 0);
	assert_rc(f,
		  tr_st_vol_clone(f->pool, &f->call, "d1", "d1c",
				  "wf3/clone", 0, &vi),
		  0);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "d1c", "wf1/disk",
				   IF_KEY),
		  TRELLIS_E_CONFLICT);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "d1c",
				   "wf3/clone", IF_KEY),
		  0);
}

static void test_names_refused(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {"../escape", "a/b", ".hidden", "",	   "a..b",
			     "-dash",	  "x y", "..",	    "/abs"};
	trellis_vol_info_t vi;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_rc(f, create(f, bad[i], MiB, NULL, NULL, "k", 0, &vi),
			  TRELLIS_E_INVALID_ARG);
		assert_non_null(strstr(f->call.message, "invalid volume name"));
		assert_rc(
		    f,
		    tr_st_vol_delete(f->pool, &f->call, bad[i], "k", 0),
		    TRELLIS_E_INVALID_ARG);
	}
	assert_rc(f,
		  tr_st_vol_clone(f->pool, &f->call, "x", "../../etc/y",
				  "k", 0, NULL),
		  TRELLIS_E_INVALID_ARG);
	char ls[1024];
	ls_dir(f->dir, ls, sizeof ls);
	assert_string_equal(ls, "pool");
	ls_dir(f->pool->uri, ls, sizeof ls);
	assert_string_equal(ls, "");
}

static void test_sizes_and_flags_refused(void **state)
{
	struct fx *f = *state;
	trellis_vol_info_t vi;
	assert_rc(f, create(f, "v", 0, NULL, NULL, "k", 0, &vi),
		  TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(f->call.message, "invalid size 0"));
	assert_rc(f, create(f, "v", 1000, NULL, NULL, "k", 0, &vi),
		  TRELLIS_E_INVALID_ARG);
	assert_rc(f, create(f, "v", UINT64_MAX - 511, NULL, NULL, "k", 0, &vi),
		  TRELLIS_E_INVALID_ARG);
	assert_rc(f, create(f, "v", MiB, "vmdk", NULL, "k", 0, &vi),
		  TRELLIS_E_INVALID_ARG);
	assert_rc(f, create(f, "v", MiB, NULL, NULL, "k", 1u << 30, &vi),
		  TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(f->call.message, "unknown flag"));
	assert_rc(f, tr_st_vol_info(f->pool, &f->call, "v", 0, &vi),
		  TRELLIS_E_NOTFOUND);
	/* shrinking is refused, growing works and is idempotent */
	assert_rc(f, create(f, "g", 2 * MiB, NULL, NULL, "k", 0, &vi), 0);
	assert_rc(f,
		  tr_st_vol_resize(f->pool, &f->call, "g", MiB, "r", 0),
		  TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(f->call.message, "shrinking"));
	for (int i = 0; i < 2; i++)
		assert_rc(f,
			  tr_st_vol_resize(f->pool, &f->call, "g",
					   4 * MiB, "r", 0),
			  0);
	assert_rc(f, tr_st_vol_info(f->pool, &f->call, "g", 0, &vi), 0);
	assert_int_equal(vi.capacity, 4 * MiB);
}

static void test_template_clone_snapshot_delete(void **state)
{
	struct fx *f = *state;
	char tpl[512], cmd[4096];
	snprintf(tpl, sizeof tpl, "%s/base.qcow2", f->dir);
	snprintf(cmd, sizeof cmd,
		 "qemu-img create -q -f qcow2 %s 16M && "
		 "qemu-io -c 'write -P 0x5a 0 1M' %s >/dev/null",
		 tpl, tpl);
	assert_int_equal(system(cmd), 0);
	trellis_vol_info_t ov, cp, cl;
	/* overlay on the template (default) */
	assert_rc(f, create(f, "overlay", 0, NULL, tpl, "k1", 0, &ov), 0);
	assert_string_equal(ov.backing, tpl);
	assert_int_equal(ov.capacity, 16 * MiB);
	/* independent copy, grown */
	assert_rc(f,
		  create(f, "copy", 32 * MiB, NULL, tpl, "k2",
			 TRELLIS_VOL_TEMPLATE_COPY, &cp),
		  0);
	assert_string_equal(cp.backing, "");
	assert_int_equal(cp.capacity, 32 * MiB);
	/* smaller than the template, raw overlay, missing template */
	assert_rc(f, create(f, "small", 8 * MiB, NULL, tpl, "k3", 0, &cp),
		  TRELLIS_E_INVALID_ARG);
	assert_rc(f, create(f, "rawov", 0, "raw", tpl, "k3", 0, &cp),
		  TRELLIS_E_INVALID_ARG);
	assert_rc(
	    f, create(f, "nope", 0, NULL, "/nonexistent/t.qcow2", "k3", 0, &cp),
	    TRELLIS_E_NOTFOUND);
	assert_rc(f, create(f, "rel", 0, NULL, "base.qcow2", "k3", 0, &cp),
		  TRELLIS_E_INVALID_ARG);

	/* clone flattens the overlay: data stays, backing goes */
	for (int i = 0; i < 2; i++)
		assert_rc(f,
			  tr_st_vol_clone(f->pool, &f->call, "overlay",
					  "clone", "k4", 0, &cl),
			  0);
	assert_string_equal(cl.backing, "");
	assert_int_equal(cl.capacity, 16 * MiB);
	snprintf(cmd, sizeof cmd,
		 "qemu-io -f qcow2 -c 'read -P 0x5a 0 1M' %s | "
		 "grep -q 'read 1048576'",
		 cl.path);
	assert_int_equal(system(cmd), 0);
	char clpath[1024];
	snprintf(clpath, sizeof clpath, "%s", cl.path);
	assert_rc(f,
		  tr_st_vol_clone(f->pool, &f->call, "missing", "c2",
				  "k5", 0, &cl),
		  TRELLIS_E_NOTFOUND);

	/* snapshots: create, replay, conflict, delete, raw refused */
	assert_rc(f,
		  tr_st_snapshot_create(f->pool, &f->call, "clone",
					"s1", "k6", 0),
		  0);
	assert_rc(f,
		  tr_st_snapshot_create(f->pool, &f->call, "clone",
					"s1", "k6", 0),
		  0);
	assert_rc(f,
		  tr_st_snapshot_create(f->pool, &f->call, "clone",
					"s1", "k7", 0),
		  TRELLIS_E_CONFLICT);
	snprintf(cmd, sizeof cmd, "qemu-img snapshot -l %s | grep -qw s1",
		 clpath);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < 2; i++)
		assert_rc(f,
			  tr_st_snapshot_delete(f->pool, &f->call,
						"clone", "s1", "k8", 0),
			  0);
	assert_int_not_equal(system(cmd), 0);
	assert_rc(f, create(f, "r", MiB, "raw", NULL, "k9", 0, &cp), 0);
	assert_rc(f,
		  tr_st_snapshot_create(f->pool, &f->call, "r", "s1",
					"k10", 0),
		  TRELLIS_E_NOTSUP);

	/* delete: a base still in use is refused; missing is fine */
	assert_rc(f, create(f, "child", 0, NULL, clpath, "k11", 0, &cp), 0);
	assert_rc(f,
		  tr_st_vol_delete(f->pool, &f->call, "clone", "d", 0),
		  TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "'child'"));
	const char *order[] = {"child", "clone", "overlay", "copy", "r"};
	for (size_t i = 0; i < 5; i++)
		assert_rc(f,
			  tr_st_vol_delete(f->pool, &f->call, order[i],
					   "d", 0),
			  0);
	assert_rc(
	    f, tr_st_vol_delete(f->pool, &f->call, "clone", "d", 0), 0);
	char ls[1024];
	ls_dir(f->pool->uri, ls, sizeof ls);
	assert_string_equal(ls, "");
}

static int collect(void *opaque, const trellis_vol_info_t *v)
{
	char *buf = opaque;
	strcat(buf, v->name);
	strcat(buf, ";");
	return 0;
}

static void test_list_hides_temp_files(void **state)
{
	struct fx *f = *state;
	trellis_vol_info_t vi;
	char empty[8] = "";
	assert_rc(
	    f, tr_st_vol_list(f->pool, &f->call, 0, collect, empty), 0);
	assert_string_equal(empty, "");
	assert_rc(f, create(f, "b", MiB, NULL, NULL, "k", 0, &vi), 0);
	assert_rc(f, create(f, "a", MiB, "raw", NULL, "k", 0, &vi), 0);
	char p[512];
	snprintf(p, sizeof p, "%s/.tmp.c.XXXXXX", f->pool->uri);
	close(mkstemp(p));
	char buf[256] = "";
	assert_rc(f, tr_st_vol_list(f->pool, &f->call, 0, collect, buf),
		  0);
	assert_string_equal(buf, "a;b;");
}

static void test_pool_open_errors(void **state)
{
	struct fx *f = *state;
	struct tr_target *t;
	assert_int_equal(tr_target_open(f->p, &f->call, "x", "relative/dir",
					NULL, TRELLIS_POOL_OPEN_CREATE, &t),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(
	    tr_target_open(f->p, &f->call, "x", "/nonexistent/p", NULL, 0, &t),
	    TRELLIS_E_NOTFOUND);
	assert_int_equal(tr_target_open(f->p, &f->call, "x", f->pool->uri, NULL,
					1u << 7, &t),
			 TRELLIS_E_INVALID_ARG);
}

/* A 4 MiB tmpfs stands in for a full disk. */
static void test_full_disk(void **state)
{
	struct fx *f = *state;
	char mnt[300];
	snprintf(mnt, sizeof mnt, "%s/small", f->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=4m") != 0) {
		skip(); /* not root, or no mount namespace rights */
		return;
	}
	struct tr_target *t;
	int rc = tr_target_open(f->p, &f->call, "small", mnt, NULL, 0, &t);
	assert_int_equal(rc, 0);
	trellis_vol_info_t vi;
	trellis_vol_spec_t spec = {.struct_size = sizeof spec,
				   .name = "big",
				   .size = 8 * MiB,
				   .format = "raw"};
	rc = tr_st_vol_create(t, &f->call, &spec, "k",
			      TRELLIS_VOL_PREALLOCATE, &vi);
	assert_int_equal(rc, TRELLIS_E_NOSPACE);
	assert_non_null(strstr(f->call.message, "not enough space"));
	assert_non_null(strstr(f->call.message, "'big'"));
	/* a 3 MiB volume fits; its clone does not */
	spec.name = "fits";
	spec.size = 3 * MiB;
	assert_rc(f,
		  tr_st_vol_create(t, &f->call, &spec, "k",
				   TRELLIS_VOL_PREALLOCATE, &vi),
		  0);
	rc = tr_st_vol_clone(t, &f->call, "fits", "twin", "k2", 0, &vi);
	assert_int_equal(rc, TRELLIS_E_NOSPACE);
	char ls[1024];
	ls_dir(mnt, ls, sizeof ls);
	assert_string_equal(ls, "fits"); /* no temp file, no half volume */
	tr_target_close(t);
	umount2(mnt, MNT_DETACH);
}

/* template_dirs confines templates, symlinks and ".." included. */
static void test_template_dirs(void **state)
{
	struct fx *f = *state;
	char yaml[600], err[256], cmd[2048], cfgname[32] = "cfg";
	snprintf(yaml, sizeof yaml, "localfs: {template_dirs: [%s/tpl]}\n",
		 f->dir);
	trellis_node_t *cfg =
	    tr_node_parse_string(cfgname, yaml, strlen(yaml), err, sizeof err);
	assert_non_null(cfg);
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_config(reg, cfg);
	struct trellis_plugin *p = load_localfs(reg);
	struct tr_target *t;
	char pool[300];
	snprintf(pool, sizeof pool, "%s/confined", f->dir);
	assert_rc(f,
		  tr_target_open(p, &f->call, "c", pool, NULL,
				 TRELLIS_POOL_OPEN_CREATE, &t),
		  0);
	snprintf(
	    cmd, sizeof cmd,
	    "mkdir %s/tpl && qemu-img create -q -f qcow2 %s/tpl/ok.qcow2 1M"
	    " && qemu-img create -q -f qcow2 %s/outside.qcow2 1M && "
	    "ln -s %s/outside.qcow2 %s/tpl/link.qcow2",
	    f->dir, f->dir, f->dir, f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	const char *bad[] = {"%s/outside.qcow2", "%s/tpl/link.qcow2",
			     "%s/tpl/../outside.qcow2"};
	trellis_vol_spec_t spec = {.struct_size = sizeof spec, .name = "v"};
	trellis_vol_info_t vi;
	char tpl[512];
	for (size_t i = 0; i < 3; i++) {
		snprintf(tpl, sizeof tpl, bad[i], f->dir);
		spec.template_path = tpl;
		assert_rc(f,
			  tr_st_vol_create(t, &f->call, &spec, "k",
					   TRELLIS_VOL_TEMPLATE_COPY, &vi),
			  TRELLIS_E_PERMISSION);
		assert_non_null(strstr(f->call.message, "template_dirs"));
	}
	snprintf(tpl, sizeof tpl, "%s/tpl/ok.qcow2", f->dir);
	spec.template_path = tpl;
	assert_rc(f, tr_st_vol_create(t, &f->call, &spec, "k", 0, &vi),
		  0);
	tr_target_close(t);
	tr_registry_free(reg);
	tr_node_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_replay_conflict, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_volume_without_key_is_conflict,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_if_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_names_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_sizes_and_flags_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_template_clone_snapshot_delete,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_hides_temp_files, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_pool_open_errors, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_template_dirs, setup,
					    teardown),
	};
	return cmocka_run_group_tests_name("localfs", tests, NULL, NULL);
}
