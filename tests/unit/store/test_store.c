/* SPDX-License-Identifier: Apache-2.0 */
/* test_store.c - the store: migrations, the five verbs, references,
 * uniqueness within the parent, refusing deletes with children, paging,
 * and that failed writes leave nothing behind.  Every case runs on both
 * backends: SQLite in a temporary file, PostgreSQL in a database of its
 * own in the cluster TRELLIS_TEST_PG_DSN names (skipped without one);
 * on PostgreSQL, two processes migrating one new database at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/store/store.h"
#include "../../lib/pgdb.h"

struct fx {
	char dir[64];
	char path[700]; /* a file, or "pg:" and a DSN */
	int pg, none;   /* none: no PostgreSQL, the case skips */
	struct tr_store *s;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/trellis-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	char err[512];
	f->s = tr_store_open(f->path, 0, err, sizeof err);
	if (!f->s)
		fail_msg("open: %s", err);
	*state = f;
	return 0;
}

static int setup_pg(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	f->pg = 1;
	*state = f;
	char dsn[600];
	if (tr_test_pg_db("test_store", dsn, sizeof dsn) < 0) {
		f->none = 1;
		return 0;
	}
	snprintf(f->path, sizeof f->path, "pg:%s", dsn);
	char err[512];
	f->s = tr_store_open(f->path, 0, err, sizeof err);
	if (!f->s)
		fail_msg("open: %s", err);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_store_close(f->s);
	if (!f->pg) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
		assert_int_equal(system(cmd), 0);
	}
	free(f);
	return 0;
}

/* The fixture, or a skip when there is no PostgreSQL for it. */
static struct fx *fixture(void **state)
{
	struct fx *f = *state;
	if (f->none) {
		print_message("skip: no PostgreSQL (TRELLIS_TEST_PG_DSN)\n");
		skip();
	}
	return f;
}

static void exec_ok(struct tr_store *s, const char *sql)
{
	if (tr_sql_exec(tr_store_sql(s), sql) < 0)
		fail_msg("%s: %s", sql, tr_sql_errmsg(tr_store_sql(s)));
}

static void mk(struct tr_store *s, enum tr_kind k, const char *parent,
	       const char *json)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *fields = json_loads(json, 0, NULL);
	assert_non_null(fields);
	int rc = tr_store_create(s, k, parent, fields, NULL, &call);
	if (rc != 0)
		fail_msg("create %s: %s", json, call.message);
	json_decref(fields);
}

static int try_create(struct tr_store *s, enum tr_kind k, const char *parent,
		      const char *json, trellis_call_t *call)
{
	tr_call_init(call, NULL);
	json_t *fields = json_loads(json, 0, NULL);
	int rc = tr_store_create(s, k, parent, fields, NULL, call);
	json_decref(fields);
	return rc;
}

static int count(struct tr_store *s, const char *table)
{
	char sql[128];
	struct tr_sql_stmt *st;
	snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
	assert_int_equal(tr_sql_prepare(tr_store_sql(s), sql, &st), 0);
	assert_int_equal(tr_sql_step(st), TR_SQL_ROW);
	int n = (int)tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	return n;
}

static void test_migrations(void **state)
{
	struct fx *f = fixture(state);
	assert_int_equal(tr_store_schema_version(f->s), (int)tr_n_migrations);
	/* Reopening applies nothing twice. */
	tr_store_close(f->s);
	char err[512];
	f->s = tr_store_open(f->path, 0, err, sizeof err);
	assert_non_null(f->s);
	assert_int_equal(count(f->s, "schema_migrations"),
			 (int)tr_n_migrations);
	if (f->pg)
		return;
	/* WAL and foreign keys are on. */
	sqlite3_stmt *st;
	sqlite3_prepare_v2(tr_store_db(f->s), "PRAGMA journal_mode", -1, &st,
			   NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_prepare_v2(tr_store_db(f->s), "PRAGMA foreign_keys", -1, &st,
			   NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
}

static void test_unknown_migration_refused(void **state)
{
	struct fx *f = fixture(state);
	exec_ok(f->s, "INSERT INTO schema_migrations VALUES ('9999-future', 0)");
	tr_store_close(f->s);
	char err[512];
	f->s = tr_store_open(f->path, 0, err, sizeof err);
	assert_null(f->s);
	assert_non_null(strstr(err, "9999-future"));
	/* Let teardown close a real store. */
	f->s = tr_store_open(f->path, TR_STORE_READONLY, err, sizeof err);
	assert_null(f->s);
	if (f->pg) {
		struct tr_sql *db = tr_sql_open_pg(f->path + 3, err, sizeof err);
		assert_non_null(db);
		assert_int_equal(tr_sql_exec(db, "DELETE FROM schema_migrations"
						 " WHERE id = '9999-future'"),
				 0);
		tr_sql_close(db);
	} else {
		sqlite3 *db;
		sqlite3_open(f->path, &db);
		sqlite3_exec(db,
			     "DELETE FROM schema_migrations WHERE id = "
			     "'9999-future'",
			     NULL, NULL, NULL);
		sqlite3_close(db);
	}
	f->s = tr_store_open(f->path, 0, err, sizeof err);
	assert_non_null(f->s);
}

static void test_tree_and_refs(void **state)
{
	struct fx *f = fixture(state);
	trellis_call_t call;
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"z1\"}");
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"z2\"}");
	mk(f->s, TR_KIND_POD, "z1", "{\"name\":\"p1\"}");
	mk(f->s, TR_KIND_POD, "z2", "{\"name\":\"p1\"}"); /* same name, other zone */
	mk(f->s, TR_KIND_POD, "z2", "{\"name\":\"p2\"}");
	mk(f->s, TR_KIND_CLUSTER, "z2/p2", "{\"name\":\"c1\"}");
	/* Unique within the parent. */
	assert_int_equal(try_create(f->s, TR_KIND_POD, "z1", "{\"name\":\"p1\"}",
				    &call),
			 TRELLIS_E_CONFLICT);
	assert_non_null(strstr(call.message, "already exists in zone 'z1'"));
	/* A short reference that is ambiguous names the candidates. */
	json_t *o = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_store_get(f->s, TR_KIND_POD, "p1", &o, &call),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "z1/p1"));
	assert_non_null(strstr(call.message, "z2/p1"));
	assert_int_equal(tr_store_get(f->s, TR_KIND_POD, "z2/p1", &o, &call), 0);
	assert_string_equal(json_string_value(json_object_get(o, "zone")), "z2");
	json_decref(o);
	/* Unique short references resolve. */
	assert_int_equal(tr_store_get(f->s, TR_KIND_CLUSTER, "c1", &o, &call), 0);
	assert_string_equal(json_string_value(json_object_get(o, "pod")), "z2/p2");
	json_decref(o);
	assert_int_equal(tr_store_get(f->s, TR_KIND_CLUSTER, "p2/c1", &o, &call),
			 0);
	json_decref(o);
	assert_int_equal(tr_store_get(f->s, TR_KIND_CLUSTER, "z1/p2/c1", &o,
				      &call),
			 TRELLIS_E_NOTFOUND);
	/* A missing parent is NOTFOUND and creates nothing. */
	assert_int_equal(try_create(f->s, TR_KIND_POD, "nope", "{\"name\":\"p9\"}",
				    &call),
			 TRELLIS_E_NOTFOUND);
	assert_int_equal(count(f->s, "pod"), 3);
}

static void test_delete_refuses_children(void **state)
{
	struct fx *f = fixture(state);
	trellis_call_t call;
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"z1\"}");
	mk(f->s, TR_KIND_POD, "z1", "{\"name\":\"pa\"}");
	mk(f->s, TR_KIND_POD, "z1", "{\"name\":\"pb\"}");
	json_t *details = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_store_delete(f->s, TR_KIND_ZONE, "z1", &details,
					 &call),
			 TRELLIS_E_CONFLICT);
	assert_non_null(strstr(call.message, "pod pa"));
	assert_non_null(strstr(call.message, "pod pb"));
	assert_int_equal(json_array_size(json_object_get(details, "children")),
			 2);
	json_decref(details);
	assert_int_equal(count(f->s, "zone"), 1);
	tr_call_init(&call, NULL);
	assert_int_equal(tr_store_delete(f->s, TR_KIND_POD, "pa", NULL, &call), 0);
	assert_int_equal(tr_store_delete(f->s, TR_KIND_POD, "pb", NULL, &call), 0);
	assert_int_equal(tr_store_delete(f->s, TR_KIND_ZONE, "z1", NULL, &call), 0);
	assert_int_equal(count(f->s, "zone"), 0);
}

static void test_fields_checked(void **state)
{
	struct fx *f = fixture(state);
	trellis_call_t call;
	assert_int_equal(try_create(f->s, TR_KIND_ZONE, NULL,
				    "{\"name\":\"z\",\"color\":\"red\"}", &call),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "unknown field 'color'"));
	assert_int_equal(try_create(f->s, TR_KIND_ZONE, NULL,
				    "{\"name\":\"z\",\"private\":\"yes\"}",
				    &call),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(try_create(f->s, TR_KIND_ZONE, NULL,
				    "{\"name\":\"z\",\"spill\":\"maybe\"}",
				    &call),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(try_create(f->s, TR_KIND_ZONE, NULL,
				    "{\"name\":\"a/b\"}", &call),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(try_create(f->s, TR_KIND_ZONE, NULL,
				    "{\"name\":\"z\",\"owner\":\"ghost\"}",
				    &call),
			 TRELLIS_E_NOTFOUND);
	assert_int_equal(count(f->s, "zone"), 0);
	mk(f->s, TR_KIND_TENANT, NULL, "{\"name\":\"acme\"}");
	mk(f->s, TR_KIND_ZONE, NULL,
	   "{\"name\":\"z\",\"private\":true,\"owner\":\"acme\",\"spill\":\"deny\"}");
	json_t *o = NULL;
	assert_int_equal(tr_store_get(f->s, TR_KIND_ZONE, "z", &o, &call), 0);
	assert_true(json_is_true(json_object_get(o, "private")));
	assert_string_equal(json_string_value(json_object_get(o, "owner")), "acme");
	json_decref(o);
	/* The tenant owns a zone: not deletable. */
	assert_int_equal(tr_store_delete(f->s, TR_KIND_TENANT, "acme", NULL,
					 &call),
			 TRELLIS_E_CONFLICT);
}

static void test_vms_and_paging(void **state)
{
	struct fx *f = fixture(state);
	trellis_call_t call;
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"z\"}");
	mk(f->s, TR_KIND_POD, "z", "{\"name\":\"p\"}");
	mk(f->s, TR_KIND_CLUSTER, "z/p", "{\"name\":\"c\"}");
	mk(f->s, TR_KIND_HOST, "c",
	   "{\"name\":\"h\",\"hypervisor\":\"libvirt\",\"uri\":\"test:///default\","
	   "\"cpus\":8}");
	tr_call_init(&call, NULL);
	assert_int_equal(tr_store_begin(f->s, &call), 0);
	for (int i = 0; i < 250; i++) {
		char js[256];
		snprintf(js, sizeof js,
			 "{\"uuid\":\"00000000-0000-0000-0000-%012d\","
			 "\"name\":\"vm%d\",\"state\":\"%s\",\"spec\":{\"i\":%d}}",
			 i, i, i % 2 ? "running" : "shutoff", i);
		mk(f->s, TR_KIND_VM, "h", js);
	}
	assert_int_equal(tr_store_commit(f->s, &call), 0);
	struct tr_store_query q = {.limit = 100};
	json_t *page = NULL;
	int total = 0;
	do {
		json_decref(page);
		assert_int_equal(tr_store_list(f->s, TR_KIND_VM, &q, &page, &call),
				 0);
		total += (int)json_array_size(json_object_get(page, "items"));
		json_t *next = json_object_get(page, "next");
		q.after_id = json_is_integer(next) ? json_integer_value(next) : -1;
	} while (q.after_id >= 0);
	json_decref(page);
	assert_int_equal(total, 250);
	struct tr_store_query q2 = {.parent_ref = "h", .filter_key = "state",
				    .filter_value = "running"};
	assert_int_equal(tr_store_list(f->s, TR_KIND_VM, &q2, &page, &call), 0);
	assert_int_equal(json_array_size(json_object_get(page, "items")), 125);
	json_decref(page);
	json_t *vm = NULL;
	assert_int_equal(tr_store_get(f->s, TR_KIND_VM, "vm7", &vm, &call), 0);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(vm, "spec"), "i")),
			 7);
	assert_string_equal(json_string_value(json_object_get(vm, "host")), "h");
	json_decref(vm);
	assert_int_equal(tr_store_get(f->s, TR_KIND_VM,
				      "00000000-0000-0000-0000-000000000003",
				      &vm, &call),
			 0);
	json_decref(vm);
	/* A host with VMs is not deletable; the rollback undoes a batch. */
	assert_int_equal(tr_store_delete(f->s, TR_KIND_HOST, "h", NULL, &call),
			 TRELLIS_E_CONFLICT);
	assert_int_equal(tr_store_begin(f->s, &call), 0);
	assert_int_equal(tr_store_delete(f->s, TR_KIND_VM, "vm1", NULL, &call), 0);
	tr_store_rollback(f->s);
	assert_int_equal(count(f->s, "vm"), 250);
	/* Updates change fields, never names. */
	json_t *upd = json_pack("{s:s}", "state", "paused");
	assert_int_equal(tr_store_update(f->s, TR_KIND_VM, "vm2", upd, &vm, &call),
			 0);
	assert_string_equal(json_string_value(json_object_get(vm, "state")),
			    "paused");
	json_decref(vm);
	json_decref(upd);
	upd = json_pack("{s:s}", "name", "other");
	assert_int_equal(tr_store_update(f->s, TR_KIND_VM, "vm2", upd, NULL, &call),
			 TRELLIS_E_INVALID_ARG);
	json_decref(upd);
}

/* The text forms are the json_t forms, for every kind. */
static void test_text_forms(void **state)
{
	struct fx *f = fixture(state);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	mk(f->s, TR_KIND_TENANT, NULL, "{\"name\":\"acme\"}");
	mk(f->s, TR_KIND_ZONE, NULL,
	   "{\"name\":\"z\",\"private\":true,\"owner\":\"acme\"}");
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"pub\"}");
	mk(f->s, TR_KIND_POD, "z", "{\"name\":\"p\"}");
	mk(f->s, TR_KIND_CLUSTER, "p", "{\"name\":\"c\"}");
	mk(f->s, TR_KIND_HOST, "c",
	   "{\"name\":\"h\",\"hypervisor\":\"x\",\"uri\":\"u\",\"cpus\":4}");
	mk(f->s, TR_KIND_VM, "h",
	   "{\"uuid\":\"u1\",\"name\":\"v\",\"tenant\":\"acme\","
	   "\"spec\":{\"disks\":[{\"path\":\"/a\"}],\"x\":1.5}}");
	mk(f->s, TR_KIND_VM, NULL, "{\"uuid\":\"u2\",\"name\":\"w\"}");
	mk(f->s, TR_KIND_POOL, NULL,
	   "{\"name\":\"pl\",\"plugin\":\"localfs\",\"target\":\"/t\"}");
	mk(f->s, TR_KIND_VOLUME, "pl", "{\"name\":\"vol\",\"size_bytes\":5}");
	mk(f->s, TR_KIND_SEGMENT, NULL, "{\"name\":\"seg\",\"plugin\":\"bridge\"}");
	static const struct {
		enum tr_kind k;
		const char *ref;
	} objs[] = {{TR_KIND_TENANT, "acme"}, {TR_KIND_ZONE, "z"},
		    {TR_KIND_ZONE, "pub"},   {TR_KIND_POD, "p"},
		    {TR_KIND_CLUSTER, "c"},  {TR_KIND_HOST, "h"},
		    {TR_KIND_VM, "u1"},      {TR_KIND_VM, "w"},
		    {TR_KIND_POOL, "pl"},    {TR_KIND_VOLUME, "pl/vol"},
		    {TR_KIND_SEGMENT, "seg"}};
	for (size_t i = 0; i < sizeof objs / sizeof *objs; i++) {
		json_t *o = NULL;
		char *text = NULL;
		assert_int_equal(tr_store_get(f->s, objs[i].k, objs[i].ref, &o,
					      &call),
				 0);
		assert_int_equal(tr_store_get_text(f->s, objs[i].k, objs[i].ref,
						   &text, &call),
				 0);
		json_t *t = json_loads(text, 0, NULL);
		if (!json_equal(o, t))
			fail_msg("%s %s: text %s", tr_kind_str(objs[i].k),
				 objs[i].ref, text);
		json_decref(t);
		json_decref(o);
		free(text);
		struct tr_store_query q = {.limit = 1};
		assert_int_equal(tr_store_list(f->s, objs[i].k, &q, &o, &call), 0);
		assert_int_equal(tr_store_list_text(f->s, objs[i].k, &q, &text,
						    &call),
				 0);
		t = json_loads(text, 0, NULL);
		if (!json_equal(o, t))
			fail_msg("list %s: text %s", tr_kind_str(objs[i].k), text);
		json_decref(t);
		json_decref(o);
		free(text);
	}
	char *text = NULL;
	assert_int_equal(tr_store_get_text(f->s, TR_KIND_VM, "nope", &text,
					   &call),
			 TRELLIS_E_NOTFOUND);
	/* A write through the SQL layer keeps the VM's JSON right. */
	exec_ok(f->s, "UPDATE vm SET state = 'paused', vcpus = 7"
		      " WHERE uuid = 'u1'");
	assert_int_equal(tr_store_get_text(f->s, TR_KIND_VM, "u1", &text,
					   &call),
			 0);
	json_t *t = json_loads(text, 0, NULL), *o = NULL;
	assert_int_equal(tr_store_get(f->s, TR_KIND_VM, "u1", &o, &call), 0);
	assert_true(json_equal(o, t));
	assert_string_equal(json_string_value(json_object_get(t, "state")),
			    "paused");
	assert_int_equal(json_integer_value(json_object_get(t, "vcpus")), 7);
	json_decref(t);
	json_decref(o);
	free(text);
}

static void test_readonly(void **state)
{
	struct fx *f = fixture(state);
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"z\"}");
	char err[512];
	struct tr_store *r = tr_store_open(f->path, TR_STORE_READONLY, err,
					   sizeof err);
	assert_non_null(r);
	json_t *o = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_store_get(r, TR_KIND_ZONE, "z", &o, &call), 0);
	json_decref(o);
	assert_int_equal(try_create(r, TR_KIND_ZONE, NULL, "{\"name\":\"y\"}",
				    &call),
			 TRELLIS_E_PERMISSION);
	if (f->pg) {
		/* the reader's session itself refuses writes, and keeps no
		 * snapshots (each read is its own transaction) */
		assert_int_equal(tr_sql_exec(tr_store_sql(r),
					     "INSERT INTO tenant (name,"
					     " created_at) VALUES ('t', 0)"),
				 TRELLIS_E_PERMISSION);
		assert_int_equal(tr_store_read_begin(r), -1);
	}
	tr_store_close(r);
}

/* Two processes open one new PostgreSQL database at once: the advisory
 * lock lets one migrate while the other waits, and both come up with
 * every migration applied once. */
static void test_concurrent_migrations(void **state)
{
	struct fx *f = fixture(state);
	if (!f->pg)
		return;
	char dsn[600];
	assert_int_equal(tr_test_pg_db("test_store_race", dsn, sizeof dsn), 0);
	char loc[700];
	snprintf(loc, sizeof loc, "pg:%s", dsn);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			char err[512];
			struct tr_store *s = tr_store_open(loc, 0, err, sizeof err);
			if (!s)
				fprintf(stderr, "# child %d: %s\n", i, err);
			int ok = s && tr_store_schema_version(s) ==
					      (int)tr_n_migrations;
			tr_store_close(s);
			_exit(ok ? 0 : 1);
		}
	}
	for (int i = 0; i < 3; i++) {
		int st = 0;
		assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	char err[512];
	struct tr_store *s = tr_store_open(loc, 0, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(count(s, "schema_migrations"), (int)tr_n_migrations);
	tr_store_close(s);
}

/* PostgreSQL: the server ends the store's session (as a restart
 * would): the next read says UNAVAILABLE, clearly, never a wrong answer,
 * and the one after works again (reconnected). */
static void test_server_gone(void **state)
{
	struct fx *f = fixture(state);
	if (!f->pg)
		return;
	mk(f->s, TR_KIND_ZONE, NULL, "{\"name\":\"z\"}");
	assert_int_equal(tr_test_pg_kill(tr_store_sql(f->s), f->path + 3), 0);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *o = NULL;
	assert_int_equal(tr_store_get(f->s, TR_KIND_ZONE, "z", &o, &call),
			 TRELLIS_E_UNAVAILABLE);
	assert_null(o);
	assert_non_null(strstr(call.message, "cannot be reached"));
	tr_call_init(&call, NULL);
	assert_int_equal(tr_store_get(f->s, TR_KIND_ZONE, "z", &o, &call), 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "z");
	json_decref(o);
}

#define BOTH(fn) TR_TEST_BOTH(fn, setup, setup_pg, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_migrations),
		BOTH(test_unknown_migration_refused),
		BOTH(test_tree_and_refs),
		BOTH(test_delete_refuses_children),
		BOTH(test_fields_checked),
		BOTH(test_vms_and_paging),
		BOTH(test_text_forms),
		BOTH(test_readonly),
		{"test_concurrent_migrations[postgresql]",
		 test_concurrent_migrations, setup_pg, teardown, NULL},
		{"test_server_gone[postgresql]", test_server_gone, setup_pg,
		 teardown, NULL},
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
