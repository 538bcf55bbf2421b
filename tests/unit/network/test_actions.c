/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_actions.c - the storage.* and network.* actions as a workflow step
 * runs them: a daemon with a real store (pool and segment records), the
 * real localfs and bridge plugins and the target cache; each action's
 * run() is called with schema-checked arguments, and its outputs are fed
 * to its undo action the way the engine builds compensations.  The
 * network half needs root and network namespaces (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/actions/action.h"
#include "../../../core/netpool/netpool.h"
#include "../../../core/runtime/daemon.h"
#include "../../../core/runtime/worker.h"
#include "../../../core/store/store.h"

struct fx {
	char dir[64];
	char ns[32];
	int missing; /* a plugin was not built: skip */
	struct tr_daemon d;
	trellis_call_t call;
};

/* 0, or -1 when the plugin was not built (its -dev package missing). */
static int load(struct fx *f, const char *name)
{
	char path[1024];
	const char *b = getenv("TRELLIS_BUILD");
	snprintf(path, sizeof path, "%s/plugins/%s.so", b ? b : TR_BUILD_ABS,
		 name);
	if (access(path, F_OK) != 0)
		return -1;
	struct trellis_plugin *p = tr_registry_load_file(f->d.registry, path);
	assert_non_null(p);
	if (p->state != TR_PLUGIN_LOADED)
		fail_msg("%s: %s", path, p->reason);
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char path[128], err[256];
	snprintf(f->dir, sizeof f->dir, "/tmp/trellis-acts-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof path, "%s/trellis.db", f->dir);
	f->d.state_dir = f->dir;
	f->d.store = tr_store_open(path, 0, err, sizeof err);
	if (!f->d.store)
		fail_msg("store: %s", err);
	f->d.registry = tr_registry_new();
	f->missing = load(f, "localfs") | load(f, "bridge");
	f->d.conns = tr_conns_new(&f->d);
	tr_call_init(&f->call, NULL);
	tr_actions_init();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[160];
	tr_conns_free(f->d.conns);
	tr_store_close(f->d.store);
	tr_registry_free(f->d.registry);
	if (f->ns[0]) {
		snprintf(cmd, sizeof cmd, "ip netns del %s", f->ns);
		assert_int_equal(system(cmd), 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Runs action name with args (a JSON text) under key; the result (a new
 * reference) or NULL with the error in f->call. */
static json_t *act(struct fx *f, const char *name, const char *key,
		   const char *args_fmt, ...)
{
	const struct tr_action *a = tr_action_find(name);
	if (!a)
		fail_msg("no action %s", name);
	char buf[2048], err[256];
	va_list ap;
	va_start(ap, args_fmt);
	vsnprintf(buf, sizeof buf, args_fmt, ap);
	va_end(ap);
	json_t *args = json_loads(buf, 0, NULL);
	if (!args)
		fail_msg("bad test JSON: %s", buf);
	if (tr_action_check_args(a, args, err, sizeof err))
		fail_msg("%s: %s", name, err);
	struct tr_action_env env = {
	    .daemon = &f->d, .idem_key = key, .attempt = 1};
	json_t *out = NULL;
	tr_call_init(&f->call, NULL);
	int rc = a->run(&env, args, &out, &f->call);
	tr_call_finish(&f->call, name, rc);
	json_decref(args);
	return rc ? NULL : out;
}

/* The engine's compensation: the step's args and outputs, filtered by the
 * undo action's input schema. */
static json_t *undo(struct fx *f, const char *name, json_t *args, json_t *out)
{
	const struct tr_action *a = tr_action_find(name);
	const struct tr_action *u = tr_action_find(a->undo);
	json_t *in = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(args, k, v) if (tr_field_find(u->input, k))
	    json_object_set(in, k, v);
	json_object_foreach(out, k, v) if (tr_field_find(u->input, k))
	    json_object_set(in, k, v);
	char *text = json_dumps(in, 0);
	json_t *r = act(f, u->name, "undo", "%s", text);
	free(text);
	json_decref(in);
	return r;
}

static const char *s(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void test_storage_actions(void **state)
{
	struct fx *f = *state;
	char target[128];
	if (f->missing) {
		skip();
		return;
	}
	snprintf(target, sizeof target, "%s/pool", f->dir);
	json_t *rec = json_pack("{s:s, s:s, s:s}", "name", "p1", "plugin",
				"localfs", "target", target);
	assert_int_equal(tr_store_create(f->d.store, TR_KIND_POOL, NULL, rec,
					 NULL, &f->call),
			 0);
	json_decref(rec);

	json_t *v = act(f, "storage.volume_create", "wf/disk",
			"{\"pool\":\"p1\",\"name\":\"vm1-root\","
			"\"size_gb\":1}");
	if (!v)
		fail_msg("%s", f->call.message);
	assert_string_equal(s(v, "format"), "qcow2");
	assert_int_equal(json_integer_value(json_object_get(v, "capacity")),
			 1 << 30);
	assert_non_null(strstr(s(v, "path"), "/pool/vm1-root"));
	json_t *again = act(f, "storage.volume_create", "wf/disk",
			    "{\"pool\":\"p1\",\"name\":\"vm1-root\","
			    "\"size\":\"1G\"}");
	assert_non_null(again); /* a replayed step */
	json_decref(again);
	assert_null(act(f, "storage.volume_create", "wf2/disk",
			"{\"pool\":\"p1\",\"name\":\"vm1-root\",\"size\":"
			"\"1G\"}"));
	assert_int_equal(f->call.code, TRELLIS_E_CONFLICT);
	assert_null(act(f, "storage.volume_create", "k",
			"{\"pool\":\"nope\",\"name\":\"x\",\"size\":\"1M\"}"));
	assert_int_equal(f->call.code, TRELLIS_E_NOTFOUND);

	json_t *c = act(f, "storage.volume_clone", "wf/clone",
			"{\"pool\":\"p1\",\"source\":\"vm1-root\","
			"\"name\":\"vm1-copy\"}");
	assert_non_null(c);
	json_t *sn = act(f, "storage.snapshot_create", "wf/snap",
			 "{\"pool\":\"p1\",\"volume\":\"vm1-copy\","
			 "\"snapshot\":\"s1\"}");
	assert_non_null(sn);
	json_t *info = act(f, "storage.pool_info", NULL, "{\"pool\":\"p1\"}");
	assert_int_equal(json_integer_value(json_object_get(info, "volumes")),
			 2);
	json_decref(info);

	/* compensations, as the engine builds them */
	json_t *args = json_pack("{s:s, s:s, s:s}", "pool", "p1", "volume",
				 "vm1-copy", "snapshot", "s1");
	json_t *u = undo(f, "storage.snapshot_create", args, sn);
	assert_non_null(u);
	json_decref(u);
	json_decref(args);
	args = json_pack("{s:s, s:s, s:i}", "pool", "p1", "name", "vm1-root",
			 "size_gb", 1);
	u = undo(f, "storage.volume_create", args, v);
	if (!u)
		fail_msg("%s", f->call.message);
	json_decref(u);
	json_decref(args);
	args = json_pack("{s:s, s:s, s:s}", "pool", "p1", "source", "vm1-root",
			 "name", "vm1-copy");
	u = undo(f, "storage.volume_clone", args, c);
	assert_non_null(u);
	json_decref(u);
	json_decref(args);
	json_t *l = act(f, "storage.volume_list", NULL, "{\"pool\":\"p1\"}");
	assert_int_equal(json_array_size(json_object_get(l, "items")), 0);
	json_decref(l);
	json_decref(v);
	json_decref(c);
	json_decref(sn);
}

static void test_network_actions(void **state)
{
	struct fx *f = *state;
	char cmd[128], uri[48];
	if (f->missing) {
		skip();
		return;
	}
	snprintf(f->ns, sizeof f->ns, "tr5ua%d", getpid());
	snprintf(cmd, sizeof cmd, "ip netns add %s 2>/dev/null", f->ns);
	if (getuid() != 0 || system(cmd) != 0) {
		f->ns[0] = '\0';
		skip();
		return;
	}
	snprintf(uri, sizeof uri, "netns:%s", f->ns);
	uint32_t id;
	assert_int_equal(tr_netpool_create(f->d.store, "np", "vxlan", 300, 301,
					   NULL, &f->call),
			 0);
	assert_int_equal(
	    tr_netpool_alloc(f->d.store, "np", "blue", &id, NULL, &f->call), 0);
	json_t *rec = json_pack("{s:s, s:s, s:s, s:i, s:{s:s}}", "name", "blue",
				"plugin", "bridge", "type", "vxlan", "vni",
				(int)id, "spec", "pool", "np");
	assert_int_equal(tr_store_create(f->d.store, TR_KIND_SEGMENT, NULL, rec,
					 NULL, &f->call),
			 0);
	json_decref(rec);

	/* The first port brings the segment to the host. */
	json_t *p = act(f, "network.port_create", "wf/port",
			"{\"host\":\"h1\",\"uri\":\"%s\",\"name\":\"vm1-nic0\","
			"\"segment\":\"blue\"}",
			uri);
	if (!p)
		fail_msg("%s", f->call.message);
	assert_string_equal(s(p, "bridge"), "tr-bx300");
	assert_int_equal(strncmp(s(p, "ifname"), "tr-t", 4), 0);
	assert_null(act(f, "network.port_create", "k",
			"{\"host\":\"h1\",\"uri\":\"%s\",\"name\":\"x\","
			"\"segment\":\"nosuch\"}",
			uri));
	assert_non_null(
	    strstr(f->call.message, "network 'nosuch' does not exist"));

	json_t *r = act(f, "network.port_open", "wf/open",
			"{\"host\":\"h1\",\"uri\":\"%s\",\"port\":\"vm1-nic0\","
			"\"protocol\":\"tcp\",\"port_min\":22,\"ttl\":\"1h\"}",
			uri);
	if (!r)
		fail_msg("%s", f->call.message);
	assert_true(json_integer_value(json_object_get(r, "expires_at")) >
		    time(NULL) + 3500);
	snprintf(cmd, sizeof cmd,
		 "ip netns exec %s nft list table bridge trellis | grep -q "
		 "'tr:%s:'",
		 f->ns, s(r, "rule_id"));
	assert_int_equal(system(cmd), 0);
	json_t *args =
	    json_pack("{s:s, s:s, s:s, s:s, s:i}", "host", "h1", "uri", uri,
		      "port", "vm1-nic0", "protocol", "tcp", "port_min", 22);
	json_t *u = undo(f, "network.port_open", args, r);
	assert_non_null(u);
	json_decref(u);
	json_decref(args);
	assert_int_not_equal(system(cmd), 0);

	/* port_delete (the undo of port_create) takes the bridge along. */
	args = json_pack("{s:s, s:s, s:s, s:s}", "host", "h1", "uri", uri,
			 "name", "vm1-nic0", "segment", "blue");
	u = undo(f, "network.port_create", args, p);
	if (!u)
		fail_msg("%s", f->call.message);
	json_decref(u);
	json_decref(args);
	snprintf(cmd, sizeof cmd, "ip -n %s link show tr-bx300 >/dev/null 2>&1",
		 f->ns);
	assert_int_not_equal(system(cmd), 0);
	json_decref(p);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_storage_actions, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_network_actions, setup,
					    teardown),
	};
	return cmocka_run_group_tests_name("kind actions", tests, NULL, NULL);
}
