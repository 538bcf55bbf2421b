/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_plugin.c - the built libvirt plugin (BUILD/plugins/libvirt.so),
 * loaded as trellisd loads it and driven through core/dispatch against
 * libvirt's test driver (test:///default): connections, host info,
 * idempotent create and destroy, errors and their codes, lifecycle, and
 * vm.state events from libvirt's event loop.
 */
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
#include "../../../core/host/host.h"
#include "../../../core/loader/loader.h"

#define URI "test:///default"

static tr_registry_t *reg;
static struct trellis_plugin *plugin;
static struct tr_target *tgt;
static char prefix[32];

/* vm.state events seen, as "name state event" lines. */
static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static char events[8192];

static void on_event(void *arg, const char *p, const char *topic,
		     const char *const *kv)
{
	(void)arg;
	const char *name = "", *state = "", *event = "";
	if (strcmp(topic, "vm.state") != 0 || strcmp(p, "libvirt") != 0)
		return;
	for (size_t i = 0; kv[i] && kv[i + 1]; i += 2) {
		if (!strcmp(kv[i], "name"))
			name = kv[i + 1];
		else if (!strcmp(kv[i], "state"))
			state = kv[i + 1];
		else if (!strcmp(kv[i], "event"))
			event = kv[i + 1];
	}
	pthread_mutex_lock(&ev_lock);
	size_t l = strlen(events);
	snprintf(events + l, sizeof events - l, "%s %s %s\n", name, state,
		 event);
	pthread_mutex_unlock(&ev_lock);
}

/* Waits up to 3 s for an event line; 1 when seen. */
static int saw_event(const char *line)
{
	for (int i = 0; i < 300; i++) {
		pthread_mutex_lock(&ev_lock);
		int seen = strstr(events, line) != NULL;
		pthread_mutex_unlock(&ev_lock);
		if (seen)
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

static int setup(void **state)
{
	(void)state;
	const char *b = getenv("TRELLIS_BUILD");
	char path[4096];
	snprintf(path, sizeof path, "%s/plugins/libvirt.so",
		 b ? b : TRELLIS_BUILD_ABS);
	snprintf(prefix, sizeof prefix, "ut%ld", (long)getpid());
	tr_host_set_event_sink(on_event, NULL);
	reg = tr_registry_new();
	plugin = tr_registry_load_file(reg, path);
	if (!plugin || plugin->state != TR_PLUGIN_LOADED) {
		fprintf(stderr, "%s: %s\n", path,
			plugin ? plugin->reason : "oom");
		return -1;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	return tr_target_open(plugin, &call, NULL, URI, NULL, 0, &tgt);
}

static int teardown(void **state)
{
	(void)state;
	tr_target_close(tgt);
	tr_registry_free(reg);
	tr_host_shutdown();
	return 0;
}

static trellis_vm_spec_t spec(const char *suffix, char *name, size_t len)
{
	snprintf(name, len, "%s-%s", prefix, suffix);
	return (trellis_vm_spec_t){.struct_size = sizeof(trellis_vm_spec_t),
				   .name = name,
				   .vcpus = 1,
				   .memory_mib = 64};
}

#define CALL(var)                                                              \
	trellis_call_t var;                                                    \
	tr_call_init(&var, NULL)

/* The domain called name, if any (through vm_list). */
struct find {
	const char *name;
	int n;
	trellis_vm_info_t vm;
};
static int find_cb(void *opaque, const trellis_vm_info_t *vm)
{
	struct find *f = opaque;
	if (!strcmp(vm->name, f->name)) {
		f->n++;
		f->vm = *vm;
	}
	return 0;
}
static int count_named(const char *name)
{
	CALL(call);
	struct find f = {.name = name};
	assert_int_equal(tr_hv_vm_list(tgt, &call, 0, find_cb, &f), 0);
	return f.n;
}

static void test_connect_errors(void **state)
{
	(void)state;
	void *conn = NULL;
	CALL(call);
	assert_int_equal(
	    tr_hv_connect(plugin, &call, URI, NULL, 1u << 9, &conn),
	    TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "unknown flag bits 0x200"));
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_connect(plugin, &call, "", NULL, 0, &conn),
			 TRELLIS_E_INVALID_ARG);
	/* A test driver URI naming a missing file fails inside libvirt,
	 * with no daemon involved. */
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_connect(plugin, &call,
				       "test:///nonexistent/trellis.xml", NULL,
				       0, &conn),
			 TRELLIS_E_UNAVAILABLE);
	assert_non_null(strstr(call.message,
			       "connect to test:///nonexistent/trellis.xml: "));
	assert_null(conn);
}

static void test_host_info(void **state)
{
	(void)state;
	CALL(call);
	trellis_hv_host_info_t h;
	assert_int_equal(tr_hv_host_info(tgt, &call, 0, &h), 0);
	assert_string_equal(h.hv_type, "TEST");
	assert_string_equal(h.domain_type, "test");
	assert_true(h.cpus > 0);
	assert_true(h.memory_kib > 0);
	assert_true(h.hostname[0] != 0);
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_host_info(tgt, &call, 1u << 3, &h),
			 TRELLIS_E_INVALID_ARG);
}

static void test_create_replay_destroy(void **state)
{
	(void)state;
	char name[64];
	trellis_vm_spec_t s = spec("idem", name, sizeof name);
	trellis_vm_info_t a, b;
	char key[96];
	snprintf(key, sizeof key, "wf-%s/vm", prefix);
	CALL(call);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, key,
					 TRELLIS_VM_CREATE_START, &a),
			 0);
	assert_string_equal(a.name, name);
	assert_int_equal(a.state, TRELLIS_VM_RUNNING);
	assert_true(a.backend_id > 0);
	assert_int_equal(a.memory_mib, 64);
	assert_true(saw_event("-idem running started"));

	/* a replay finds it: same uuid, one domain */
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, key,
					 TRELLIS_VM_CREATE_START, &b),
			 0);
	assert_string_equal(a.uuid, b.uuid);
	assert_int_equal(count_named(name), 1);

	/* the same name under another key is somebody else's VM */
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_vm_create(tgt, &call, &s, "other/key", 0, &b),
	    TRELLIS_E_CONFLICT);
	assert_non_null(strstr(call.message, "a domain of that name exists"));

	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_destroy(tgt, &call, a.uuid, key, 0),
			 0);
	assert_true(saw_event("-idem undefined undefined"));
	assert_int_equal(count_named(name), 0);
	/* gone already: still a success */
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_destroy(tgt, &call, a.uuid, key, 0),
			 0);
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_info(tgt, &call, a.uuid, 0, &b),
			 TRELLIS_E_NOTFOUND);
	assert_int_equal(call.backend_code, 42 /* VIR_ERR_NO_DOMAIN */);
}

/* test:///default's own domain "test" was made outside Trellis (no
 * metadata of ours): no create takes its name or its UUID, with a key or
 * without, and it keeps running. */
static void test_foreign_domain_is_conflict(void **state)
{
	(void)state;
	char name[64];
	trellis_vm_spec_t s = spec("x", name, sizeof name);
	trellis_vm_info_t foreign, b;
	struct find f = {.name = "test"};
	CALL(call);
	assert_int_equal(tr_hv_vm_list(tgt, &call, 0, find_cb, &f), 0);
	assert_int_equal(f.n, 1);
	foreign = f.vm;

	s.name = "test";
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_vm_create(tgt, &call, &s, "wf/vm", 0, &b),
	    TRELLIS_E_CONFLICT);
	assert_non_null(strstr(call.message, "VM 'test'"));
	assert_non_null(strstr(call.message, foreign.uuid));
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, NULL, 0, &b),
			 TRELLIS_E_CONFLICT);

	/* Its UUID under a new name would redefine or clash with it. */
	s.name = name;
	s.uuid = foreign.uuid;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_vm_create(tgt, &call, &s, "wf/vm", 0, &b),
	    TRELLIS_E_CONFLICT);
	assert_non_null(strstr(call.message, "is already domain 'test'"));
	assert_int_equal(count_named(name), 0);

	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_vm_info(tgt, &call, foreign.uuid, 0, &b), 0);
	assert_string_equal(b.name, "test");
	assert_int_equal(b.state, foreign.state);
}

/* A replay after a crash between define and start finishes the start. */
static void test_replay_starts(void **state)
{
	(void)state;
	char name[64];
	trellis_vm_spec_t s = spec("half", name, sizeof name);
	trellis_vm_info_t a;
	CALL(call);
	assert_int_equal(
	    tr_hv_vm_create(tgt, &call, &s, "k/half", 0, &a), 0);
	assert_int_equal(a.state, TRELLIS_VM_SHUTOFF);
	assert_int_equal(a.backend_id, -1);
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, "k/half",
					 TRELLIS_VM_CREATE_START, &a),
			 0);
	assert_int_equal(a.state, TRELLIS_VM_RUNNING);
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_destroy(tgt, &call, a.uuid, NULL, 0),
			 0);
}

static void test_bad_input_leaves_nothing(void **state)
{
	(void)state;
	char name[64];
	trellis_vm_info_t a;
	trellis_vm_spec_t s = spec("huge", name, sizeof name);
	s.memory_mib = 1u << 22; /* 4 TiB: more than the test host has */
	CALL(call);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, "k/huge",
					 TRELLIS_VM_CREATE_START, &a),
			 TRELLIS_E_NOSPACE);
	assert_non_null(strstr(call.message, "exceeds the host's total"));
	assert_int_equal(count_named(name), 0);

	s = spec("bad", name, sizeof name);
	s.kernel = "relative/vmlinuz";
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, NULL, 0, &a),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "must be an absolute path"));
	assert_int_equal(count_named(name), 0);

	s = spec("flags", name, sizeof name);
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_vm_create(tgt, &call, &s, NULL, 1u << 5, &a),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(count_named(name), 0);

	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_info(tgt, &call, "nope", 0, &a),
			 TRELLIS_E_INVALID_ARG);
	assert_non_null(strstr(call.message, "VM uuid 'nope': not a UUID"));
}

static void test_lifecycle(void **state)
{
	(void)state;
	char name[64];
	trellis_vm_spec_t s = spec("life", name, sizeof name);
	trellis_vm_info_t a;
	CALL(call);
	assert_int_equal(tr_hv_vm_create(tgt, &call, &s, NULL,
					 TRELLIS_VM_CREATE_START, &a),
			 0);
	const char *u = a.uuid;
#define OK(expr)                                                               \
	do {                                                                   \
		tr_call_init(&call, NULL);                                     \
		assert_int_equal((expr), 0);                                   \
	} while (0)
#define STATE(st)                                                              \
	do {                                                                   \
		trellis_vm_info_t i_;                                          \
		OK(tr_hv_vm_info(tgt, &call, u, 0, &i_));              \
		assert_int_equal(i_.state, (st));                              \
	} while (0)
	OK(tr_hv_vm_pause(tgt, &call, u, 0));
	STATE(TRELLIS_VM_PAUSED);
	assert_true(saw_event("-life paused suspended"));
	OK(tr_hv_vm_pause(tgt, &call, u, 0)); /* already: fine */
	OK(tr_hv_vm_resume(tgt, &call, u, 0));
	STATE(TRELLIS_VM_RUNNING);
	OK(tr_hv_vm_resume(tgt, &call, u, 0));
	OK(tr_hv_vm_shutdown(tgt, &call, u, 5, 0));
	STATE(TRELLIS_VM_SHUTOFF);
	assert_true(saw_event("-life shutoff stopped"));
	OK(tr_hv_vm_shutdown(tgt, &call, u, 5, 0)); /* off: fine */
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_resume(tgt, &call, u, 0),
			 TRELLIS_E_CONFLICT);
	OK(tr_hv_vm_start(tgt, &call, u, 0));
	OK(tr_hv_vm_start(tgt, &call, u, 0)); /* running: fine */
	STATE(TRELLIS_VM_RUNNING);
	/* zero timeout with force: power off at once */
	OK(tr_hv_vm_shutdown(tgt, &call, u, 0,
			     TRELLIS_VM_SHUTDOWN_FORCE));
	STATE(TRELLIS_VM_SHUTOFF);

	/* a console needs a running VM; hotplug is not in the test driver
	 * and says so */
	trellis_console_info_t ci;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_hv_vm_console(tgt, &call, u, 60, 0, &ci),
			 TRELLIS_E_CONFLICT);
	trellis_disk_spec_t d = {
	    .struct_size = sizeof d, .path = "/dev/null", .target = "vdb"};
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_hv_vm_disk_attach(tgt, &call, u, &d, NULL, 0),
	    TRELLIS_E_NOTSUP);
	/* detaching what is not there succeeds */
	OK(tr_hv_vm_disk_detach(tgt, &call, u, "vdq", NULL, 0));
	OK(tr_hv_vm_nic_detach(tgt, &call, u, "52:54:00:01:02:03", NULL,
			       0));
	OK(tr_hv_vm_destroy(tgt, &call, u, NULL, 0));
#undef OK
#undef STATE
}

static int stop_after_one(void *opaque, const trellis_vm_info_t *vm)
{
	(void)vm;
	(*(int *)opaque)++;
	return 1;
}

static void test_list_stops_early(void **state)
{
	(void)state;
	int n = 0;
	CALL(call);
	/* the test driver always has its "test" domain */
	assert_int_equal(
	    tr_hv_vm_list(tgt, &call, 0, stop_after_one, &n), 0);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connect_errors),
	    cmocka_unit_test(test_host_info),
	    cmocka_unit_test(test_create_replay_destroy),
	    cmocka_unit_test(test_foreign_domain_is_conflict),
	    cmocka_unit_test(test_replay_starts),
	    cmocka_unit_test(test_bad_input_leaves_nothing),
	    cmocka_unit_test(test_lifecycle),
	    cmocka_unit_test(test_list_stops_early),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
