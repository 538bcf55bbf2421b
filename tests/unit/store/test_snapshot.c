/* SPDX-License-Identifier: Apache-2.0 */
/* test_snapshot.c - read snapshots kept between reads (store.h,
 * tr_store_read_begin): kept only while the store is quiet, stale after
 * any commit of this process, never older than a second, and never
 * keeping the WAL from starting over while writes go on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/store/store.h"

struct fx {
	char dir[64];
	char path[128];
	struct tr_store *w, *r; /* the writer and a reader */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/trellis-snap-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	char err[512];
	f->w = tr_store_open(f->path, 0, err, sizeof err);
	if (!f->w)
		fail_msg("open: %s", err);
	f->r = tr_store_open(f->path, TR_STORE_READONLY, err, sizeof err);
	if (!f->r)
		fail_msg("open reader: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_store_close(f->r);
	tr_store_close(f->w);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void zone(struct tr_store *s, const char *name)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *fields = json_pack("{s:s}", "name", name);
	if (tr_store_create(s, TR_KIND_ZONE, NULL, fields, NULL, &call) != 0)
		fail_msg("create %s: %s", name, call.message);
	json_decref(fields);
}

/* Whether the reader sees zone name, in a read of its own. */
static int sees(struct tr_store *r, const char *name, int keep)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char *text = NULL;
	assert_int_equal(tr_store_read_begin(r), 0);
	int rc = tr_store_get_text(r, TR_KIND_ZONE, name, &text, &call);
	tr_store_read_end(r, keep);
	free(text);
	if (rc != 0 && rc != TRELLIS_E_NOTFOUND)
		fail_msg("get %s: %s", name, call.message);
	return rc == 0;
}

/* A write the store's commit counter does not see: another process's. */
static void zone_behind_its_back(const char *path, const char *name)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char sql[256];
	snprintf(sql, sizeof sql, "INSERT INTO zone(name, created_at) VALUES('%s', 0)", name);
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static int held(struct tr_store *r)
{
	return !sqlite3_get_autocommit(tr_store_db(r));
}

static void quiet(void)
{
	usleep(1100 * 1000); /* QUIET_MS, and MAX_AGE_MS */
}

static void test_kept_while_quiet(void **state)
{
	struct fx *f = *state;
	zone(f->w, "a");
	quiet();
	assert_true(sees(f->r, "a", 1));
	assert_true(held(f->r));
	/* The kept snapshot is the one taken: a write it was not told
	 * about is not in it... */
	zone_behind_its_back(f->path, "b");
	assert_false(sees(f->r, "b", 1));
	/* ...but a commit of this process makes it stale at once, so a
	 * read after an acknowledged write sees it, and what came before. */
	unsigned long before = tr_store_commits();
	zone(f->w, "c");
	assert_true(tr_store_commits() > before);
	assert_true(sees(f->r, "c", 1));
	assert_true(sees(f->r, "b", 1));
	/* Written a moment ago: not kept. */
	assert_false(held(f->r));
	/* keep = 0 always ends it. */
	quiet();
	assert_true(sees(f->r, "a", 1));
	assert_true(held(f->r));
	tr_store_read_end(f->r, 0);
	assert_false(held(f->r));
}

static void test_never_older_than_a_second(void **state)
{
	struct fx *f = *state;
	zone(f->w, "a");
	quiet();
	assert_true(sees(f->r, "a", 1));
	zone_behind_its_back(f->path, "b");
	assert_false(sees(f->r, "b", 1));
	quiet();
	assert_true(sees(f->r, "b", 1));
}

static void test_writers_only_on_readers(void **state)
{
	struct fx *f = *state;
	assert_int_equal(tr_store_read_begin(f->w), -1);
	tr_store_read_end(f->w, 1);
	assert_false(held(f->w));
	zone(f->w, "a");
}

/* Writes and reads in turn, the reader asking to keep its snapshot each
 * time: with writes going on it must not, or it would always hold a WAL
 * read mark and the WAL could never start over (3000 commits of a VM
 * row, its index and its doc is ~9000 frames, 36 MB of WAL). */
static void test_wal_starts_over_while_writing(void **state)
{
	struct fx *f = *state;
	zone(f->w, "z");
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *p = json_pack("{s:s}", "name", "p");
	assert_int_equal(tr_store_create(f->w, TR_KIND_POD, "z", p, NULL, &call),
			 0);
	json_decref(p);
	json_t *c = json_pack("{s:s}", "name", "c");
	assert_int_equal(
		tr_store_create(f->w, TR_KIND_CLUSTER, "z/p", c, NULL, &call), 0);
	json_decref(c);
	json_t *h = json_pack("{s:s, s:s, s:s}", "name", "h", "hypervisor",
			      "libvirt", "uri", "test:///default");
	assert_int_equal(tr_store_create(f->w, TR_KIND_HOST, "c", h, NULL, &call),
			 0);
	json_decref(h);
	char wal[160];
	snprintf(wal, sizeof wal, "%s-wal", f->path);
	off_t most = 0;
	for (int i = 0; i < 3000; i++) {
		char name[32], uuid[40];
		snprintf(name, sizeof name, "vm%d", i);
		snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
		json_t *vm = json_pack("{s:s, s:s, s:s}", "name", name, "uuid",
				       uuid, "state", "running");
		if (tr_store_create(f->w, TR_KIND_VM, "h", vm, NULL, &call) != 0)
			fail_msg("vm %d: %s", i, call.message);
		json_decref(vm);
		char *text = NULL;
		assert_int_equal(tr_store_read_begin(f->r), 0);
		assert_int_equal(
			tr_store_get_text(f->r, TR_KIND_VM, name, &text, &call),
			0);
		tr_store_read_end(f->r, 1);
		free(text);
		struct stat st;
		if (stat(wal, &st) == 0 && st.st_size > most)
			most = st.st_size;
	}
	print_message("# largest WAL: %lld bytes\n", (long long)most);
	/* One auto-checkpoint's worth (1000 pages) and some slack. */
	assert_true(most < 8 * 1024 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept_while_quiet, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_never_older_than_a_second,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_writers_only_on_readers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wal_starts_over_while_writing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
