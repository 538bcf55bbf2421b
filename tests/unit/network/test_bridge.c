/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_bridge.c - the bridge network plugin never adopts what another
 * request made: the built plugin, loaded through the core loader and
 * called through core/dispatch as the daemon does, against real netlink
 * and nftables in a fresh network namespace per test (skipped without
 * root or `ip netns`).  Ports and segments carry the making request's key
 * in their alias; port_create of an existing name under another key, or
 * none, is CONFLICT; port_delete with DELETE_IF_KEY removes only its own
 * port; segment_ensure says in segment_info.made whether its key made the
 * segment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/loader/loader.h"
#include "../assert_rc.h"

struct fx {
	tr_registry_t *reg;
	struct trellis_plugin *p;
	struct tr_target *t;
	char ns[32];
	trellis_call_t call;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char path[1024], cmd[128], uri[64];
	const char *b = getenv("TRELLIS_BUILD");
	*state = f;
	snprintf(path, sizeof path, "%s/plugins/bridge.so",
		 b ? b : TR_BUILD_ABS);
	if (access(path, F_OK) != 0)
		return 0; /* not built (libnl or libnftables missing) */
	snprintf(f->ns, sizeof f->ns, "trub%d", getpid());
	snprintf(cmd, sizeof cmd, "ip netns add %s 2>/dev/null", f->ns);
	if (getuid() != 0 || system(cmd) != 0) {
		f->ns[0] = '\0';
		return 0;
	}
	f->reg = tr_registry_new();
	f->p = tr_registry_load_file(f->reg, path);
	assert_non_null(f->p);
	if (f->p->state != TR_PLUGIN_LOADED)
		fail_msg("%s: %s", path, f->p->reason);
	snprintf(uri, sizeof uri, "netns:%s", f->ns);
	tr_call_init(&f->call, NULL);
	if (tr_target_open(f->p, &f->call, NULL, uri, NULL, 0, &f->t))
		fail_msg("connect %s: %s", uri, f->call.message);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[96];
	tr_target_close(f->t);
	if (f->reg)
		tr_registry_free(f->reg);
	if (f->ns[0]) {
		snprintf(cmd, sizeof cmd, "ip netns del %s", f->ns);
		assert_int_equal(system(cmd), 0);
	}
	free(f);
	return 0;
}

/* Whether device dev exists in the test's namespace. */
static int dev_exists(struct fx *f, const char *dev)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "ip -n %s link show %s >/dev/null 2>&1",
		 f->ns, dev);
	return system(cmd) == 0;
}

static int seg(struct fx *f, const char *name, uint32_t id, const char *key,
	       trellis_segment_info_t *out)
{
	trellis_segment_spec_t s = {.struct_size = sizeof s,
				    .name = name,
				    .mode = TRELLIS_SEGMENT_LOCAL,
				    .segment_id = id};
	tr_call_init(&f->call, NULL);
	return tr_net_segment_ensure(f->t, &f->call, &s, key, 0, out);
}

static int port(struct fx *f, const char *name, const char *segment,
		const char *key, trellis_port_info_t *out)
{
	trellis_port_spec_t s = {
	    .struct_size = sizeof s, .name = name, .segment = segment};
	tr_call_init(&f->call, NULL);
	return tr_net_port_create(f->t, &f->call, &s, key, 0, out);
}

static int del(struct fx *f, const char *name, const char *key,
	       uint32_t flags)
{
	tr_call_init(&f->call, NULL);
	return tr_net_port_delete(f->t, &f->call, name, key, flags);
}

#define NEEDS_NETNS(f)                                                         \
	do {                                                                   \
		if (!(f)->t) {                                                 \
			skip();                                                \
			return;                                                \
		}                                                              \
	} while (0)

/* The issue-14 reproduction: a second provision's port step of the same
 * VM name must not take the running VM's port (its undo deleted it). */
static void test_port_create_never_adopts(void **state)
{
	struct fx *f = *state;
	trellis_port_info_t a, b;
	NEEDS_NETNS(f);
	assert_rc(f, seg(f, "blue", 40, "wf1/seg", NULL), 0);
	assert_rc(f, port(f, "ux-a-nic0", "blue", "wf1/port", &a), 0);

	assert_rc(f, port(f, "ux-a-nic0", "blue", "wf2/port", &b),
		  TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message,
			       "port 'ux-a-nic0' already exists"));
	assert_non_null(strstr(f->call.message, a.ifname));
	assert_non_null(strstr(f->call.message, "made by another request"));
	assert_rc(f, port(f, "ux-a-nic0", "blue", NULL, &b),
		  TRELLIS_E_CONFLICT);
	assert_rc(f, port(f, "ux-a-nic0", "blue", "", &b), TRELLIS_E_CONFLICT);

	/* The replay of the first request still gets its port. */
	assert_rc(f, port(f, "ux-a-nic0", "blue", "wf1/port", &b), 0);
	assert_string_equal(b.ifname, a.ifname);
	assert_string_equal(b.mac, a.mac);
	assert_true(dev_exists(f, a.ifname));
}

/* A port with no key in its alias (made by an older bridge plugin, or by
 * hand) is nobody's to adopt either. */
static void test_port_without_key_is_conflict(void **state)
{
	struct fx *f = *state;
	trellis_port_info_t a, b;
	char cmd[256];
	NEEDS_NETNS(f);
	assert_rc(f, seg(f, "blue", 41, "wf1/seg", NULL), 0);
	assert_rc(f, port(f, "p0", "blue", NULL, &a), 0);
	/* Made without a key: none is recorded, so no replay finds it. */
	assert_rc(f, port(f, "p0", "blue", NULL, &b), TRELLIS_E_CONFLICT);

	snprintf(cmd, sizeof cmd,
		 "ip -n %s tuntap add dev tr-told0 mode tap && ip -n %s link set "
		 "tr-told0 alias 'trellis port=p1 seg=blue mac=52:54:00:00:00:01'",
		 f->ns, f->ns);
	assert_int_equal(system(cmd), 0);
	assert_rc(f, port(f, "p1", "blue", "wf3/port", &b), TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "tr-told0"));
	assert_true(dev_exists(f, "tr-told0"));
}

static void test_port_delete_if_key(void **state)
{
	struct fx *f = *state;
	trellis_port_info_t a;
	const uint32_t IF_KEY = TRELLIS_NET_PORT_DELETE_IF_KEY;
	NEEDS_NETNS(f);
	assert_rc(f, seg(f, "blue", 42, "wf1/seg", NULL), 0);
	assert_rc(f, port(f, "p0", "blue", "wf1/port", &a), 0);

	assert_rc(f, del(f, "p0", "wf2/port", IF_KEY), TRELLIS_E_CONFLICT);
	assert_non_null(strstr(f->call.message, "port 'p0'"));
	assert_non_null(strstr(f->call.message, "left untouched"));
	assert_true(dev_exists(f, a.ifname));
	assert_rc(f, del(f, "p0", NULL, IF_KEY), TRELLIS_E_INVALID_ARG);
	assert_true(dev_exists(f, a.ifname));

	assert_rc(f, del(f, "p0", "wf1/port", IF_KEY), 0);
	assert_false(dev_exists(f, a.ifname));
	assert_rc(f, del(f, "p0", "wf1/port", IF_KEY), 0); /* missing */
	/* Without the flag a delete is by name, as in 1.0. */
	assert_rc(f, port(f, "p0", "blue", "wf1/port", &a), 0);
	assert_rc(f, del(f, "p0", "someone", 0), 0);
	assert_false(dev_exists(f, a.ifname));
}

/* With IF_KEY, RELEASE_SEGMENT takes the segment only when the same
 * request made it (network.port_create brings its segment under its own
 * key); a segment someone else made stays. */
static void test_release_segment_if_key(void **state)
{
	struct fx *f = *state;
	trellis_segment_info_t si;
	trellis_port_info_t a;
	const uint32_t FL =
	    TRELLIS_NET_PORT_DELETE_IF_KEY | TRELLIS_NET_PORT_RELEASE_SEGMENT;
	NEEDS_NETNS(f);
	assert_rc(f, seg(f, "red", 43, "other/seg", &si), 0);
	assert_rc(f, port(f, "p0", "red", "wf1/port", &a), 0);
	assert_rc(f, del(f, "p0", "wf1/port", FL), 0);
	assert_false(dev_exists(f, a.ifname));
	assert_true(dev_exists(f, si.bridge));

	assert_rc(f, seg(f, "green", 44, "wf2/port", &si), 0);
	assert_rc(f, port(f, "p1", "green", "wf2/port", &a), 0);
	assert_rc(f, del(f, "p1", "wf2/port", FL), 0);
	assert_false(dev_exists(f, si.bridge));
}

static void test_segment_made(void **state)
{
	struct fx *f = *state;
	trellis_segment_info_t si;
	NEEDS_NETNS(f);
	assert_rc(f, seg(f, "blue", 45, "wf1/seg", &si), 0);
	assert_int_equal(si.made, 1);
	assert_rc(f, seg(f, "blue", 45, "wf1/seg", &si), 0); /* a replay */
	assert_int_equal(si.made, 1);
	assert_rc(f, seg(f, "blue", 45, "wf2/seg", &si), 0); /* found */
	assert_int_equal(si.made, 0);
	assert_rc(f, seg(f, "blue", 45, NULL, &si), 0);
	assert_int_equal(si.made, 0);
	/* The making key survives the others' ensures. */
	assert_rc(f, seg(f, "blue", 45, "wf1/seg", &si), 0);
	assert_int_equal(si.made, 1);

	/* A 1.0 caller's struct ends before made: it is not written. */
	const struct trellis_network_ops *ops = tr_plugin_ops(f->p);
	trellis_segment_spec_t s = {.struct_size = sizeof s,
				    .name = "blue",
				    .mode = TRELLIS_SEGMENT_LOCAL,
				    .segment_id = 45};
	trellis_segment_info_t old = {
	    .struct_size = offsetof(trellis_segment_info_t, made), .made = 7};
	tr_call_init(&f->call, NULL);
	assert_rc(f, ops->segment_ensure(f->t->handle, &f->call, &s, "wf1/seg",
					 0, &old),
		  0);
	assert_int_equal(old.made, 7);
	assert_string_equal(old.bridge, si.bridge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_port_create_never_adopts,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_without_key_is_conflict,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_port_delete_if_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_release_segment_if_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_segment_made, setup,
					    teardown),
	};
	return cmocka_run_group_tests_name("bridge plugin", tests, NULL, NULL);
}
