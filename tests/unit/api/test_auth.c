/* SPDX-License-Identifier: Apache-2.0 */
/* test_auth.c - identities and access (issue 17): every op declares a
 * permission; roles and their patterns; custom roles from YAML with
 * file:line:col; one check before an op runs; BU scoping where another
 * BU's object is NOTFOUND exactly as a missing one; the audit trail
 * records refusals, holds no secret, and cannot be rewritten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/api/api.h"
#include "../../../core/auth/auth.h"
#include "../../../core/netpool/netpool.h"
#include "../../../core/runtime/daemon.h"
#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"
#include "../../../core/tenancy/tenancy.h"
#include "../../../core/util/log.h"

struct fx {
	char dir[64];
	struct tr_daemon d;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/trellis-auth-XXXXXX");
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_auth");
	assert_non_null(mkdtemp(f->dir));
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/t.db", f->dir);
	f->d.store = tr_store_open(path, 0, err, sizeof err);
	assert_non_null(f->d.store);
	f->d.registry = tr_registry_new();
	struct tr_api_limits lim = {.max_message = 65536, .max_inflight = 16};
	f->d.api = tr_api_new(&f->d, &lim);
	tr_api_register_all(f->d.api);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_api_free(f->d.api);
	tr_registry_free(f->d.registry);
	tr_store_close(f->d.store);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* op with args (JSON text) as user; the parsed answer. */
static json_t *call_as(struct fx *f, const char *user, const char *op,
		       const char *args)
{
	char text[4096];
	snprintf(text, sizeof text, "{\"v\":1,\"op\":\"%s\",\"args\":%s}", op,
		 args ? args : "{}");
	char *reply = NULL;
	assert_int_equal(tr_api_handle_bytes_as(f->d.api, user, text,
						strlen(text), &reply),
			 0);
	assert_non_null(reply);
	json_t *r = json_loads(reply, 0, NULL);
	assert_non_null(r);
	free(reply);
	return r;
}

static json_t *ok_as(struct fx *f, const char *user, const char *op,
		     const char *args)
{
	json_t *r = call_as(f, user, op, args);
	if (!json_is_true(json_object_get(r, "ok"))) {
		char *t = json_dumps(r, 0);
		fail_msg("%s as %s: %s", op, user, t);
	}
	json_t *res = json_incref(json_object_get(r, "result"));
	json_decref(r);
	return res;
}

/* The error code of an answer that must fail; *msg gets its message. */
static const char *code_of(json_t *r, char *msg, size_t len)
{
	assert_true(json_is_false(json_object_get(r, "ok")));
	json_t *e = json_object_get(r, "error");
	if (msg)
		snprintf(msg, len, "%s",
			 json_string_value(json_object_get(e, "message")));
	return json_string_value(json_object_get(e, "code"));
}

static void expect_code(struct fx *f, const char *user, const char *op,
			const char *args, const char *code)
{
	json_t *r = call_as(f, user, op, args);
	char msg[512];
	const char *c = code_of(r, msg, sizeof msg);
	if (strcmp(c, code) != 0)
		fail_msg("%s as %s: %s (%s), wanted %s", op, user, c, msg, code);
	json_decref(r);
}

/* Two BUs, a VM and a network in each, and users. */
static void world(struct fx *f)
{
	json_decref(ok_as(f, "root", "bu.create", "{\"name\":\"acme\"}"));
	json_decref(ok_as(f, "root", "tenant.create", "{\"name\":\"globex\"}"));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *vms[][3] = {{"11111111-0000-0000-0000-000000000001",
				 "web-a", "acme"},
				{"22222222-0000-0000-0000-000000000002",
				 "web-b", "globex"}};
	for (int i = 0; i < 2; i++) {
		json_t *fl = json_pack("{s:s, s:s, s:s}", "uuid", vms[i][0],
				       "name", vms[i][1], "tenant", vms[i][2]);
		assert_int_equal(tr_store_create(f->d.store, TR_KIND_VM, NULL,
						 fl, NULL, &call),
				 0);
		json_decref(fl);
		fl = json_pack("{s:s, s:s, s:s, s:i}", "name",
			       i ? "net-b" : "net-a", "plugin", "bridge",
			       "tenant", vms[i][2], "vni", 100 + i);
		assert_int_equal(tr_store_create(f->d.store, TR_KIND_SEGMENT,
						 NULL, fl, NULL, &call),
				 0);
		json_decref(fl);
	}
	json_decref(ok_as(f, "root", "user.create",
			  "{\"name\":\"alice\",\"role\":\"bu-admin\","
			  "\"bu\":\"acme\",\"uid\":4001}"));
	json_decref(ok_as(f, "root", "user.create",
			  "{\"name\":\"bob\",\"role\":\"bu-user\","
			  "\"bu\":\"globex\"}"));
	json_decref(ok_as(f, "root", "user.create",
			  "{\"name\":\"carol\",\"role\":\"auditor\"}"));
}

static void test_every_op_declares_a_permission(void **state)
{
	struct fx *f = *state;
	size_t n = tr_api_count(f->d.api), bad = 0;
	assert_true(n > 50);
	for (size_t i = 0; i < n; i++) {
		const struct tr_api_op *op = tr_api_at(f->d.api, i);
		if (op->perm != TR_PERM_ANYONE && op->perm != TR_PERM_DC &&
		    op->perm != TR_PERM_BU) {
			print_error("op %s declares no permission\n", op->name);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* And the check can fail: an undeclared one is what it catches. */
	struct tr_api_op undeclared = {"x.y", "", NULL, NULL, 0, 0};
	assert_int_equal(undeclared.perm, TR_PERM_UNDECLARED);
}

static void test_patterns(void **state)
{
	(void)state;
	assert_true(tr_perm_match("vm.*", "vm.list"));
	assert_true(tr_perm_match("*", "zone.create"));
	assert_true(tr_perm_match("*.list", "host.list"));
	assert_false(tr_perm_match("*.list", "host.show"));
	assert_false(tr_perm_match("vm.*", "vmx.list"));
	assert_true(tr_perm_match("allocation.request", "allocation.request"));
	assert_false(tr_perm_match("allocation.request", "allocation.approve"));
	const struct tr_roles *b = tr_roles_builtin();
	const struct tr_role *bu_user = tr_roles_find(b, "bu-user");
	assert_non_null(bu_user);
	assert_true(tr_role_grants(bu_user, "vm.list"));
	assert_true(tr_role_grants(bu_user, "workflow:vm.provision"));
	assert_false(tr_role_grants(bu_user, "workflow:allocation.provision"));
	assert_false(tr_role_grants(bu_user, "allocation.request"));
	const struct tr_role *auditor = tr_roles_find(b, "auditor");
	assert_true(tr_role_grants(auditor, "audit.list"));
	assert_false(tr_role_grants(auditor, "zone.create"));
	for (const char *const *r = (const char *const[]){"dc-admin", "bu-admin",
							  "bu-user", "support",
							  "auditor", NULL};
	     *r; r++)
		assert_non_null(tr_roles_find(b, *r));
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void test_custom_roles(void **state)
{
	struct fx *f = *state;
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/roles.yaml", f->dir);
	write_file(path, "roles:\n"
			 "  - name: operator\n"
			 "    scope: global\n"
			 "    permissions: [host.*, vm.list, \"workflow:vm.*\"]\n"
			 "  - name: viewer\n"
			 "    scope: bu\n"
			 "    permissions: [vm.list, vm.show]\n");
	struct tr_roles *r = tr_roles_load(path, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(tr_roles_count(r), 7);
	assert_true(tr_role_grants(tr_roles_find(r, "operator"), "host.add"));
	assert_int_equal(tr_roles_find(r, "viewer")->scope, TR_SCOPE_BU);
	tr_roles_free(r);

	static const struct {
		const char *yaml, *want;
	} bad[] = {
	    {"roles:\n  - name: x\n    scope: everywhere\n    permissions: "
	     "[a]\n",
	     ":3:12: scope must be global or bu"},
	    {"roles:\n  - name: x\n    permissions: [vm.*, \"bad pattern\"]\n",
	     ":3:25: 'bad pattern' is not a permission pattern"},
	    {"roles:\n  - name: dc-admin\n    permissions: [vm.*]\n",
	     ":2:11: role 'dc-admin' is built in"},
	    {"roles:\n  - name: x\n    colour: red\n    permissions: [a]\n",
	     ":3:5: unknown key 'colour'"},
	    {"roles:\n  - name: x\n", ":2:5: role 'x' needs permissions"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_file(path, bad[i].yaml);
		assert_null(tr_roles_load(path, err, sizeof err));
		if (!strstr(err, bad[i].want) || strncmp(err, path, strlen(path)))
			fail_msg("case %zu: '%s' lacks '%s'", i, err,
				 bad[i].want);
	}
}

static void test_check_before_the_op(void **state)
{
	struct fx *f = *state;
	world(f);
	/* A bu-user cannot run data-center or admin ops... */
	expect_code(f, "bob", "zone.create", "{\"name\":\"z\"}", "PERMISSION");
	expect_code(f, "bob", "user.create",
		    "{\"name\":\"eve\",\"role\":\"bu-user\",\"bu\":\"globex\"}",
		    "PERMISSION");
	expect_code(f, "bob", "audit.list", NULL, "PERMISSION");
	/* ...nor start workflows its role does not name, nor inline ones. */
	expect_code(f, "bob", "workflow.run",
		    "{\"workflow\":\"allocation.provision\"}", "PERMISSION");
	expect_code(f, "bob", "workflow.run", "{\"source\":\"workflow: x\"}",
		    "PERMISSION");
	/* Nothing ran: no zone. */
	json_t *z = ok_as(f, "root", "zone.list", NULL);
	assert_int_equal(json_array_size(json_object_get(z, "items")), 0);
	json_decref(z);
	/* A bu-admin may not hand out global roles, nor join another BU. */
	expect_code(f, "alice", "user.create",
		    "{\"name\":\"mallory\",\"role\":\"dc-admin\"}",
		    "PERMISSION");
	expect_code(f, "alice", "user.create",
		    "{\"name\":\"mallory\",\"role\":\"bu-user\","
		    "\"bu\":\"globex\"}",
		    "NOTFOUND");
	json_t *u = ok_as(f, "alice", "user.create",
			  "{\"name\":\"dave\",\"role\":\"bu-user\"}");
	assert_string_equal(json_string_value(json_object_get(u, "bu")),
			    "acme");
	json_decref(u);
	/* An auditor reads, and changes nothing. */
	json_decref(ok_as(f, "carol", "vm.list", NULL));
	expect_code(f, "carol", "bu.create", "{\"name\":\"x\"}", "PERMISSION");
	/* Who is calling. */
	json_t *w = ok_as(f, "alice", "auth.whoami", NULL);
	assert_string_equal(json_string_value(json_object_get(w, "bu")), "acme");
	assert_string_equal(json_string_value(json_object_get(w, "scope")),
			    "bu");
	json_decref(w);
}

/* The names of the items of a list answer, comma-separated. */
static void names(json_t *res, char *buf, size_t len)
{
	size_t i;
	json_t *it;
	buf[0] = '\0';
	json_array_foreach(json_object_get(res, "items"), i, it)
	{
		size_t l = strlen(buf);
		snprintf(buf + l, len - l, "%s%s", l ? "," : "",
			 json_string_value(json_object_get(it, "name")));
	}
}

static void test_scoping(void **state)
{
	struct fx *f = *state;
	world(f);
	char buf[256];
	json_t *r = ok_as(f, "alice", "vm.list", NULL);
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "web-a");
	json_decref(r);
	r = ok_as(f, "alice", "vm.list", "{\"tenant\":\"globex\"}");
	assert_int_equal(json_array_size(json_object_get(r, "items")), 0);
	json_decref(r);
	r = ok_as(f, "bob", "network.list", NULL);
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "net-b");
	json_decref(r);
	r = ok_as(f, "bob", "bu.list", NULL);
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "globex");
	json_decref(r);
	r = ok_as(f, "root", "vm.list", NULL);
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "web-a,web-b");
	json_decref(r);
	/* Another BU's object answers exactly as a missing one. */
	static const char *const shows[][3] = {
	    {"vm.show", "web-b", "no-such-vm"},
	    {"network.show", "net-b", "no-such-net"},
	    {"bu.show", "globex", "no-such-bu"},
	    {"user.show", "bob", "no-such-user"},
	    {"vm.console", "web-b", "no-such-vm"},
	};
	for (size_t i = 0; i < sizeof shows / sizeof *shows; i++) {
		char a[128], b[128], ma[512], mb[512];
		snprintf(a, sizeof a, "{\"name\":\"%s\"}", shows[i][1]);
		snprintf(b, sizeof b, "{\"name\":\"%s\"}", shows[i][2]);
		json_t *ra = call_as(f, "alice", shows[i][0], a);
		json_t *rb = call_as(f, "alice", shows[i][0], b);
		assert_string_equal(code_of(ra, ma, sizeof ma), "NOTFOUND");
		assert_string_equal(code_of(rb, mb, sizeof mb), "NOTFOUND");
		/* Same words but for the name asked for. */
		char *p = strstr(ma, shows[i][1]);
		assert_non_null(p);
		char exp[512];
		snprintf(exp, sizeof exp, "%.*s%s%s", (int)(p - ma), ma,
			 shows[i][2], p + strlen(shows[i][1]));
		assert_string_equal(exp, mb);
		json_decref(ra);
		json_decref(rb);
	}
	/* Workflows that touch another BU's VM: not found either. */
	expect_code(f, "alice", "workflow.run",
		    "{\"workflow\":\"vm.destroy\",\"inputs\":{\"vm\":\"web-b\"}}",
		    "NOTFOUND");
	expect_code(f, "alice", "network.delete", "{\"name\":\"net-b\"}",
		    "NOTFOUND");
	r = ok_as(f, "root", "network.list", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "items")), 2);
	json_decref(r);
}

static void test_audit(void **state)
{
	struct fx *f = *state;
	world(f);
	expect_code(f, "bob", "zone.create", "{\"name\":\"z\"}", "PERMISSION");
	expect_code(f, "alice", "vm.show", "{\"name\":\"web-b\"}", "NOTFOUND");
	json_t *k = ok_as(f, "alice", "user.key_add",
			  "{\"user\":\"alice\",\"name\":\"laptop\"}");
	char token[128];
	snprintf(token, sizeof token, "%s",
		 json_string_value(json_object_get(k, "token")));
	json_decref(k);
	assert_int_equal(strncmp(token, "tru_", 4), 0);
	/* The key is alice's: her identity and BU. */
	struct tr_ident id;
	char kname[128];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_auth_by_key(f->d.store, tr_roles_builtin(), token,
					&id, kname, sizeof kname, &call),
			 0);
	assert_string_equal(id.user, "alice");
	assert_string_equal(id.bu, "acme");

	json_t *all = ok_as(f, "carol", "audit.list", NULL);
	int denied_zone = 0, denied_vm = 0;
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(all, "items"), i, it)
	{
		const char *op = json_string_value(json_object_get(it, "op"));
		const char *res =
		    json_string_value(json_object_get(it, "result"));
		if (!strcmp(op, "zone.create") && !strcmp(res, "denied") &&
		    !strcmp(json_string_value(json_object_get(it, "user")),
			    "bob"))
			denied_zone = 1;
		if (!strcmp(op, "vm.show") && !strcmp(res, "denied") &&
		    !strcmp(json_string_value(json_object_get(it, "code")),
			    "NOTFOUND"))
			denied_vm = 1;
	}
	assert_true(denied_zone);
	assert_true(denied_vm);
	/* No secret: the token is nowhere in the trail. */
	char *text = json_dumps(all, 0);
	assert_null(strstr(text, token));
	assert_null(strstr(text, token + 4));
	free(text);
	json_decref(all);
	/* A bu-admin sees its BU's records only. */
	json_t *mine = ok_as(f, "alice", "audit.list", NULL);
	json_array_foreach(json_object_get(mine, "items"), i, it)
	    assert_string_equal(json_string_value(json_object_get(it, "bu")),
				"acme");
	assert_true(json_array_size(json_object_get(mine, "items")) >= 2);
	json_decref(mine);
	/* Filters. */
	json_t *ops = ok_as(f, "root", "audit.list",
			    "{\"op\":\"user.*\",\"since\":\"1h\"}");
	json_array_foreach(json_object_get(ops, "items"), i, it)
	    assert_int_equal(strncmp(json_string_value(json_object_get(it, "op")),
				     "user.", 5),
			     0);
	assert_true(json_array_size(json_object_get(ops, "items")) >= 3);
	json_decref(ops);
	/* Append-only. */
	struct tr_sql *db = tr_store_sql(f->d.store);
	assert_int_not_equal(tr_sql_exec(db, "UPDATE audit SET user = 'x'"), 0);
	assert_int_not_equal(tr_sql_exec(db, "DELETE FROM audit"), 0);
}

static void test_templates_and_quotas(void **state)
{
	struct fx *f = *state;
	world(f);
	json_t *t = ok_as(f, "root", "template.create",
			  "{\"name\":\"small\",\"vcpus\":2,\"memory\":\"1G\","
			  "\"disk\":\"5G\",\"kernel\":\"/k\"}");
	assert_int_equal(json_integer_value(json_object_get(t, "memory_mib")),
			 1024);
	assert_int_equal(json_integer_value(json_object_get(t, "disk_gib")), 5);
	json_decref(t);
	expect_code(f, "alice", "template.create",
		    "{\"name\":\"big\",\"vcpus\":8,\"memory\":\"8G\","
		    "\"disk\":\"50G\"}",
		    "PERMISSION");
	t = ok_as(f, "bob", "template.list", NULL);
	assert_int_equal(json_array_size(json_object_get(t, "items")), 1);
	json_decref(t);
	/* Explicit inputs override the template's. */
	json_t *in = json_pack("{s:s, s:s, s:i}", "name", "v1", "template",
			       "small", "vcpus", 4);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_template_apply(f->d.store, in, &call), 0);
	assert_int_equal(json_integer_value(json_object_get(in, "vcpus")), 4);
	assert_int_equal(json_integer_value(json_object_get(in, "memory_mb")),
			 1024);
	assert_int_equal(json_integer_value(json_object_get(in, "disk_gb")), 5);
	assert_string_equal(json_string_value(json_object_get(in, "kernel")),
			    "/k");
	json_object_set_new(in, "template", json_string("huge"));
	assert_int_equal(tr_template_apply(f->d.store, in, &call),
			 TRELLIS_E_NOTFOUND);
	json_decref(in);
	/* Quotas: set by the data center, read by the BU. */
	json_t *q = ok_as(f, "root", "quota.set",
			  "{\"bu\":\"acme\",\"vms\":10,\"memory\":\"4G\","
			  "\"templates\":{\"small\":3}}");
	json_decref(q);
	expect_code(f, "alice", "quota.set", "{\"bu\":\"acme\",\"vms\":99}",
		    "PERMISSION");
	q = ok_as(f, "alice", "quota.show", NULL);
	json_t *lim = json_object_get(q, "limits");
	assert_int_equal(json_integer_value(json_object_get(lim, "vms")), 10);
	assert_int_equal(json_integer_value(json_object_get(lim, "memory_mib")),
			 4096);
	assert_true(json_is_null(json_object_get(lim, "vcpus")));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(lim, "templates"), "small")),
			 3);
	json_decref(q);
	expect_code(f, "alice", "quota.show", "{\"bu\":\"globex\"}",
		    "NOTFOUND");
	expect_code(f, "root", "quota.set", "{\"bu\":\"nope\",\"vms\":1}",
		    "NOTFOUND");
}

/* A store made by today's schema (every migration before the BU ones),
 * with a tenant, its private zone, a host and a VM: the migration keeps
 * them all, and the tenant is a business unit whose admin sees its VM. */
static void test_migration_keeps_inventory(void **state)
{
	(void)state;
	char dir[] = "/tmp/trellis-mig-XXXXXX", path[128], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/old.db", dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE schema_migrations (id TEXT "
				      "PRIMARY KEY, applied_at INTEGER NOT "
				      "NULL)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	size_t i = 0;
	for (; i < tr_n_migrations &&
	       strncmp(tr_migrations[i].id, "bu-", 3) != 0;
	     i++) {
		char ins[256];
		assert_int_equal(sqlite3_exec(db, tr_migrations[i].sql, NULL,
					      NULL, NULL),
				 SQLITE_OK);
		snprintf(ins, sizeof ins,
			 "INSERT INTO schema_migrations VALUES ('%s', 0)",
			 tr_migrations[i].id);
		assert_int_equal(sqlite3_exec(db, ins, NULL, NULL, NULL),
				 SQLITE_OK);
	}
	assert_true(i < tr_n_migrations);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"INSERT INTO tenant VALUES (1, 'acme', 0);"
		"INSERT INTO zone (id, name, private, owner_id, created_at) "
		"VALUES (1, 'zp', 1, 1, 0);"
		"INSERT INTO pod VALUES (1, 1, 'p', 0);"
		"INSERT INTO cluster VALUES (1, 1, 'c', 0);"
		"INSERT INTO host (id, cluster_id, name, hypervisor, uri, "
		"created_at) VALUES (1, 1, 'h1', 'libvirt', 'test:///default', "
		"0);"
		"INSERT INTO vm (uuid, name, host_id, tenant_id, created_at) "
		"VALUES ('u-1', 'old-vm', 1, 1, 0);"
		"INSERT INTO vm (uuid, name, host_id, created_at) VALUES "
		"('u-2', 'nobodys', 1, 0);",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	struct fx f;
	memset(&f, 0, sizeof f);
	f.d.store = tr_store_open(path, 0, err, sizeof err);
	if (!f.d.store)
		fail_msg("%s", err);
	assert_int_equal(tr_store_schema_version(f.d.store),
			 (int)tr_n_migrations);
	f.d.registry = tr_registry_new();
	struct tr_api_limits lim = {.max_message = 65536, .max_inflight = 16};
	f.d.api = tr_api_new(&f.d, &lim);
	tr_api_register_all(f.d.api);
	json_t *r = ok_as(&f, "root", "bu.list", NULL);
	char buf[256];
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "acme");
	json_decref(r);
	r = ok_as(&f, "root", "zone.show", "{\"name\":\"zp\"}");
	assert_string_equal(json_string_value(json_object_get(r, "owner")),
			    "acme");
	json_decref(r);
	json_decref(ok_as(&f, "root", "host.show", "{\"name\":\"h1\"}"));
	json_decref(ok_as(&f, "root", "user.create",
			  "{\"name\":\"alice\",\"role\":\"bu-admin\","
			  "\"bu\":\"acme\"}"));
	r = ok_as(&f, "alice", "vm.list", NULL);
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "old-vm");
	json_decref(r);
	r = ok_as(&f, "root", "vm.list", NULL);
	names(r, buf, sizeof buf);
	assert_string_equal(buf, "old-vm,nobodys");
	json_decref(r);
	tr_api_free(f.d.api);
	tr_registry_free(f.d.registry);
	tr_store_close(f.d.store);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Chargeback equals the price arithmetic over the recorded intervals,
 * to the cent (worked by hand below), clipped to the period; open
 * intervals run to now. */
static void test_chargeback(void **state)
{
	struct fx *f = *state;
	world(f);
	char path[128], err[512];
	snprintf(path, sizeof path, "%s/prices.yaml", f->dir);
	write_file(path, "currency: EUR\n"
			 "prices:\n"
			 "  vcpu_hour: 0.021\n"
			 "  memory_gib_hour: 0.0033\n"
			 "  storage_gib_hour: 0.0017\n"
			 "  segment_hour: 0.013\n"
			 "  templates: {small: 0.11}\n");
	struct tr_prices p;
	assert_int_equal(tr_prices_load(path, &p, err, sizeof err), 0);
	assert_int_equal(p.vcpu_hour, 21000);
	long long t0 = (long long)time(NULL) - 100000;
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "INSERT INTO alloc_usage (allocation, tenant, vcpus, "
		 "memory_mib, storage_gib, segments, started_at, ended_at) "
		 "VALUES ('acme-1', 'acme', 8, 16384, 100, 2, %lld, %lld);"
		 "INSERT INTO vm_usage (uuid, tenant, vcpus, memory_mib, "
		 "disk_gib, template, started_at, ended_at) VALUES "
		 "('v1', 'acme', 2, 3000, 7, 'small', %lld, %lld),"
		 "('v2', 'acme', 1, 512, 3, NULL, %lld, NULL),"
		 "('v3', 'globex', 64, 65536, 999, 'small', %lld, NULL);",
		 t0, t0 + 36000, t0 + 1000, t0 + 5000, t0 + 4000, t0);
	assert_int_equal(tr_sql_exec(tr_store_sql(f->d.store), sql), 0);
	json_t *r = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	/* The period: 2.5 hours from t0 + 1 h. */
	assert_int_equal(tr_report_chargeback(f->d.store, &p, "acme", t0 + 3600,
					      t0 + 12600, &r, &call),
			 0);
	/* reservation (9000 s of the allocation):
	 *   vcpu     8 x 2.5 h = 20 vcpu-h x 0.021       = 0.42
	 *   memory  16 GiB x 2.5 h = 40 x 0.0033 = 0.132  -> 0.13
	 *   storage 100 x 2.5 = 250 x 0.0017 = 0.425      -> 0.43
	 *   segment 2 x 2.5 = 5 x 0.013 = 0.065           -> 0.07
	 * allocation (v1: 1400 s in the period, v2: 8600 s):
	 *   vcpu    2 x 1400 + 1 x 8600 = 11400 s = 3.166667 h x 0.021
	 *           = 0.0665                              -> 0.07
	 *   memory  (3000 x 1400 + 512 x 8600) / 1024 / 3600
	 *           = 2.333767 GiB-h x 0.0033 = 0.0077    -> 0.01
	 *   storage (7 x 1400 + 3 x 8600) / 3600 = 9.888889 x 0.0017
	 *           = 0.016811                            -> 0.02
	 *   small   1400 s = 0.388889 h x 0.11 = 0.042778 -> 0.04 */
	static const char *const want[][4] = {
	    {"reservation", "vcpu", "20.000000", "0.42"},
	    {"reservation", "memory_gib", "40.000000", "0.13"},
	    {"reservation", "storage_gib", "250.000000", "0.43"},
	    {"reservation", "segment", "5.000000", "0.07"},
	    {"allocation", "vcpu", "3.166667", "0.07"},
	    {"allocation", "memory_gib", "2.333767", "0.01"},
	    {"allocation", "storage_gib", "9.888889", "0.02"},
	    {"allocation", "template:small", "0.388889", "0.04"},
	};
	json_t *items = json_object_get(r, "items");
	assert_int_equal(json_array_size(items), 8);
	for (size_t i = 0; i < 8; i++) {
		json_t *it = json_array_get(items, i);
		assert_string_equal(json_string_value(json_object_get(it, "basis")),
				    want[i][0]);
		assert_string_equal(
		    json_string_value(json_object_get(it, "resource")), want[i][1]);
		assert_string_equal(
		    json_string_value(json_object_get(it, "quantity")), want[i][2]);
		assert_string_equal(json_string_value(json_object_get(it, "amount")),
				    want[i][3]);
	}
	json_t *tot = json_array_get(json_object_get(r, "totals"), 0);
	assert_string_equal(json_string_value(json_object_get(tot, "reservation")),
			    "1.05");
	assert_string_equal(json_string_value(json_object_get(tot, "allocation")),
			    "0.14");
	assert_string_equal(json_string_value(json_object_get(tot, "total")),
			    "1.19");
	json_decref(r);
	/* Every BU: globex's VM (open, since t0) is 2.5 h of it. */
	assert_int_equal(tr_report_chargeback(f->d.store, &p, NULL, t0 + 3600,
					      t0 + 12600, &r, &call),
			 0);
	assert_int_equal(json_array_size(json_object_get(r, "totals")), 2);
	json_decref(r);
	assert_int_equal(tr_report_chargeback(f->d.store, &p, "nope", t0,
					      t0 + 1, &r, &call),
			 TRELLIS_E_NOTFOUND);
	/* Errors name their place. */
	write_file(path, "prices:\n  vcpu_hour: 0.0000001\n");
	assert_int_equal(tr_prices_load(path, &p, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2:14: a price is a decimal"));
	write_file(path, "prices:\n  gpu_hour: 1\n");
	assert_int_equal(tr_prices_load(path, &p, err, sizeof err), -1);
	assert_non_null(strstr(err, ":2:3: unknown price 'gpu_hour'"));
	/* The lifecycle triggers record a VM's life and its claim. */
	json_t *fl = json_pack("{s:s, s:s, s:s, s:i, s:i}", "uuid", "v9", "name",
			       "x", "tenant", "acme", "vcpus", 3, "memory_mib",
			       64);
	assert_int_equal(tr_store_create(f->d.store, TR_KIND_VM, NULL, fl, NULL,
					 &call),
			 0);
	json_decref(fl);
	assert_int_equal(tr_store_delete(f->d.store, TR_KIND_VM, "v9", NULL,
					 &call),
			 0);
	struct tr_sql_stmt *st = NULL;
	assert_int_equal(tr_sql_prepare(tr_store_sql(f->d.store),
					"SELECT tenant, vcpus, ended_at IS "
					"NOT NULL FROM vm_usage WHERE uuid "
					"= 'v9'",
					&st),
			 0);
	assert_int_equal(tr_sql_step(st), TR_SQL_ROW);
	assert_string_equal(tr_sql_column_text(st, 0), "acme");
	assert_int_equal(tr_sql_column_int64(st, 1), 3);
	assert_int_equal(tr_sql_column_int64(st, 2), 1);
	tr_sql_finalize(st);
}

/* allocation.provision's steps and their compensations, one by one: each
 * undo gives back exactly what its step took (quota, segments, zone). */
static void test_allocation_compensation(void **state)
{
	struct fx *f = *state;
	world(f);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_store *s = f->d.store;
	assert_int_equal(tr_netpool_create(s, "np", "vxlan", 500, 509, NULL,
					   &call),
			 0);
	json_decref(ok_as(f, "root", "zone.create", "{\"name\":\"zd\"}"));
	json_decref(ok_as(f, "root", "quota.set",
			  "{\"bu\":\"acme\",\"vms\":7}"));
	json_t *a = ok_as(f, "alice", "allocation.request",
			  "{\"vcpus\":4,\"memory\":\"1G\",\"segments\":2,"
			  "\"netpool\":\"np\",\"zone\":\"zd\"}");
	const char *name = json_string_value(json_object_get(a, "name"));
	assert_int_equal(tr_alloc_reserve(s, name, 0, &call), 0);
	json_t *made = NULL;
	assert_int_equal(tr_alloc_segments(s, name, 0, &made, &call), 0);
	assert_int_equal(json_array_size(made), 2);
	json_decref(made);
	assert_int_equal(tr_alloc_zone(s, name, 0, &call), 0);
	json_t *z = ok_as(f, "root", "zone.show", "{\"name\":\"zd\"}");
	assert_string_equal(json_string_value(json_object_get(z, "owner")),
			    "acme");
	json_decref(z);
	json_t *q = ok_as(f, "root", "quota.show", "{\"bu\":\"acme\"}");
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(q, "limits"), "vcpus")),
			 4);
	json_decref(q);
	/* A replayed step changes nothing more. */
	assert_int_equal(tr_alloc_zone(s, name, 0, &call), 0);
	assert_int_equal(tr_alloc_segments(s, name, 0, &made, &call), 0);
	json_decref(made);
	/* Compensation, in reverse. */
	assert_int_equal(tr_alloc_zone(s, name, 1, &call), 0);
	assert_int_equal(tr_alloc_segments(s, name, 1, NULL, &call), 0);
	assert_int_equal(tr_alloc_reserve(s, name, 1, &call), 0);
	z = ok_as(f, "root", "zone.show", "{\"name\":\"zd\"}");
	assert_true(json_is_null(json_object_get(z, "owner")));
	assert_true(json_is_false(json_object_get(z, "private")));
	json_decref(z);
	json_t *n = ok_as(f, "root", "network.list", NULL);
	char buf[256];
	names(n, buf, sizeof buf);
	assert_string_equal(buf, "net-a,net-b");
	json_decref(n);
	q = ok_as(f, "root", "quota.show", "{\"bu\":\"acme\"}");
	assert_true(json_is_null(
	    json_object_get(json_object_get(q, "limits"), "vcpus")));
	json_decref(q);
	json_t *np = NULL;
	assert_int_equal(tr_netpool_get(s, "np", &np, &call), 0);
	assert_int_equal(json_integer_value(json_object_get(np, "used")), 0);
	json_decref(np);
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_op_declares_a_permission,
					    setup, teardown),
	    cmocka_unit_test(test_patterns),
	    cmocka_unit_test_setup_teardown(test_custom_roles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_before_the_op, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_scoping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_templates_and_quotas, setup,
					    teardown),
	    cmocka_unit_test(test_migration_keeps_inventory),
	    cmocka_unit_test_setup_teardown(test_chargeback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_allocation_compensation, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
