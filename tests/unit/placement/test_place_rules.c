/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_place_rules.c - every built-in filter, the private-zone rules
 * (exclusivity, spill allow/deny) and the "why not placed" message, run
 * through the real engine and the real builtin plugin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

/* A NOSPACE message starts with the filters' account; what was asked and
 * the most free follow (place.c: amounts). */
#define assert_prefix(got, want)                                               \
	assert_int_equal(strncmp((got), (want), strlen(want)), 0)

#define reg fx_reg

/* Two hosts: h1 (4 cpus, 4 GiB), h2 (16 cpus, 64 GiB). */
static struct tr_placer *two_hosts(const char *yaml)
{
	struct tr_placer *p = fx_placer(reg, yaml);
	fx_host(p, 1, "h1", "z1", "p1", "c1", 4, 4096);
	fx_host(p, 2, "h2", "z1", "p1", "c2", 16, 65536);
	fx_commit(p);
	return p;
}

static void test_capacity_memory_cpu_disk(void **state)
{
	(void)state;
	struct tr_placer *p = two_hosts(FX_POLICY("firstfit", 1));
	char msg[512];
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 2048};
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h1");
	q.memory_mib = 8192; /* only h2 has the memory */
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h2");
	q.memory_mib = 1024;
	q.vcpus = 8; /* only h2 has the cpus */
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h2");
	q.vcpus = 1;
	q.disk_gib = 5000; /* nobody has the disk */
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (2 hosts): capacity removed 2 (disk)");
	q.disk_gib = 0;
	q.memory_mib = 100000;
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (2 hosts): capacity removed 2 (memory)");
	/* ...and by how much: what was asked, and the most a host has. */
	assert_non_null(strstr(msg, "; asked 100000 MiB memory, 1 vcpus, 0 GiB "
				    "disk; the most free: "));
	assert_non_null(strstr(msg, "MiB memory (host h2)"));
	tr_placer_free(p);
}

static void test_capacity_overcommit(void **state)
{
	(void)state;
	/* 2x cpu, 1.5x memory: h1 offers 8 vcpus and 6 GiB. */
	struct tr_placer *p = two_hosts(
	    "policy: oc\nfilters: [capacity]\nweights: {firstfit: 1}\n"
	    "overcommit: {cpu: 2.0, memory: 1.5}\n");
	struct tr_place_req q = {.vcpus = 8, .memory_mib = 6144};
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h1");
	/* h1 is now full on both counts. */
	q.vcpus = 1;
	q.memory_mib = 1;
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h2");
	tr_placer_free(p);
	/* Without overcommit the same request does not fit h1. */
	p = two_hosts("policy: none\nfilters: [capacity]\n"
		      "weights: {firstfit: 1}\n");
	q.vcpus = 8;
	q.memory_mib = 6144;
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h2");
	tr_placer_free(p);
}

static void test_location(void **state)
{
	(void)state;
	struct tr_placer *p = fx_placer(reg, FX_POLICY("firstfit", 1));
	fx_host(p, 1, "a1", "za", "pa", "ca", 8, 8192);
	fx_host(p, 2, "a2", "za", "pa", "cb", 8, 8192);
	fx_host(p, 3, "b1", "zb", "pa", "ca", 8, 8192); /* same short names */
	fx_host(p, 4, "b2", "zb", "pb", "cc", 8, 8192);
	fx_commit(p);
	char msg[512];
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 512};
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "a1");
	q.zone = "zb";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "b1");
	q.zone = NULL;
	q.cluster = "cb"; /* unique short name */
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "a2");
	q.cluster = "ca"; /* in two zones */
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_non_null(strstr(msg, "cluster 'ca' is in several pods"));
	q.cluster = "zb/pa/ca";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "b1");
	q.cluster = NULL;
	q.pod = "pb";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "b2");
	q.pod = NULL;
	q.host = "b2";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "b2");
	q.host = "nope";
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_string_equal(msg, "unknown host 'nope'");
	q.host = NULL;
	q.zone = "zc";
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_string_equal(msg, "unknown zone 'zc'");
	/* Hosts outside the asked-for place count under location. */
	q.zone = "za";
	q.memory_mib = 9000;
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (4 hosts): location removed 2 "
				 "(zone), capacity removed 2 (memory)");
	tr_placer_free(p);
}

/* A public zone (pub, 2 hosts) and acme's private zone (priv, 1 host). */
static struct tr_placer *zones(int exclusive, int spill)
{
	struct tr_placer *p = fx_placer(reg, FX_POLICY("firstfit", 1));
	fx_zone(p, "priv", "acme", exclusive, spill);
	fx_host(p, 1, "pub1", "pub", NULL, NULL, 8, 8192);
	fx_host(p, 2, "pub2", "pub", NULL, NULL, 8, 8192);
	fx_host(p, 3, "priv1", "priv", NULL, NULL, 8, 8192);
	fx_commit(p);
	return p;
}

/* A dedicated host (tr_host_def.owner) in a public zone takes only its
 * owner's VMs, the owner's VMs may still go elsewhere, and a request
 * without a tenant is kept off it too. */
static void test_dedicated_host(void **state)
{
	(void)state;
	struct tr_placer *p = fx_placer(reg, FX_POLICY("firstfit", 1));
	struct tr_host_def h = {.id = 1,
				.name = "ded1",
				.zone = "pub",
				.cpus = 8,
				.memory_mib = 8192,
				.disk_gib = 1000,
				.owner = "acme"};
	fx_host_def(p, &h);
	fx_host(p, 2, "pub2", "pub", NULL, NULL, 8, 8192);
	fx_commit(p);
	char msg[512];
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 512, .host = "ded1", .tenant = "other"};
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_non_null(strstr(msg, "exclusive removed 1 (exclusive to "
				    "another tenant)"));
	q.tenant = NULL;
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	q.tenant = "acme";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "ded1");
	q.host = NULL;
	q.tenant = "other";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "pub2");
	tr_placer_free(p);
}

static void test_exclusive(void **state)
{
	(void)state;
	struct tr_placer *p = zones(1, 1);
	char msg[512];
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 512, .zone = "priv", .tenant = "other"};
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (3 hosts): location removed 2 "
				 "(zone), exclusive removed 1 (exclusive to "
				 "another tenant)");
	q.tenant = "acme";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "priv1");
	tr_placer_free(p);
	/* Not exclusive: others may use it. */
	p = zones(0, 1);
	q.tenant = "other";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "priv1");
	tr_placer_free(p);
}

static void test_owner_first_then_spill(void **state)
{
	(void)state;
	struct tr_placer *p = zones(1, 1);
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 6000, .tenant = "acme"};
	/* The owner's zone first, though pub1 comes first in id order. */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "priv1");
	/* Full: spill: allow sends it to the public zone. */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "pub1");
	/* Other tenants never see the private zone. */
	q.tenant = "other";
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "pub2");
	char msg[512];
	q.tenant = "acme";
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits in the tenant's private zones (1 host): "
		 "capacity removed 1 (memory); spilled to public zones: "
		 "no host fits (3 hosts): capacity removed 3 (memory)");
	tr_placer_free(p);
}

/* Spilling goes to public zones, not to another tenant's shared zone. */
static void test_spill_public_only(void **state)
{
	(void)state;
	char msg[512];
	struct tr_placer *p = fx_placer(reg, FX_POLICY("spread", 1));
	fx_zone(p, "acme-z", "acme", 0, 1);
	fx_zone(p, "beta-z", "beta", 0, 0);
	fx_host(p, 1, "a1", "acme-z", NULL, NULL, 8, 4096);
	fx_host(p, 2, "b1", "beta-z", NULL, NULL, 8, 65536);
	fx_host(p, 3, "p1", "pub", NULL, NULL, 8, 8192);
	fx_commit(p);
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 6000, .tenant = "acme"};
	/* spread would pick b1 (emptiest); the spill pass keeps public. */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "p1");
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits in the tenant's private zones (1 "
			    "host): capacity removed 1 (memory); spilled to "
			    "public zones: no host fits (3 hosts): spill "
			    "removed 1 (not a public zone), capacity removed 2 "
			    "(memory)");
	/* Another tenant may use beta's shared zone. */
	q.tenant = "gamma";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "b1");
	tr_placer_free(p);
}

static void test_spill_deny(void **state)
{
	(void)state;
	struct tr_placer *p = zones(1, 0);
	char msg[512];
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 6000, .tenant = "acme"};
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "priv1");
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits in the tenant's private zones (1 "
			    "host): capacity removed 1 (memory); tenant 'acme' "
			    "may not spill to public zones (its zones say "
			    "spill: deny)");
	/* The same as data. */
	struct tr_place_why why;
	struct tr_place_result r;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_place_why(p, &q, 0, &r, &why, &call),
			 TRELLIS_E_NOSPACE);
	assert_true(why.own && why.spill_denied);
	assert_int_equal(why.own_pass.hosts, 1);
	assert_int_equal(why.own_pass.n, 1);
	assert_string_equal(why.own_pass.by[0].filter, "capacity");
	assert_int_equal(why.own_pass.by[0].removed, 1);
	assert_string_equal(why.own_pass.by[0].reason, "memory");
	/* Naming a public zone explicitly is not spilling. */
	q.zone = "pub";
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "pub1");
	tr_placer_free(p);
}

static void test_affinity(void **state)
{
	(void)state;
	struct tr_placer *p = fx_placer(reg, FX_POLICY("spread", 1));
	fx_host(p, 1, "h1", "z", NULL, NULL, 8, 8192);
	fx_host(p, 2, "h2", "z", NULL, NULL, 8, 16384);
	fx_host(p, 3, "h3", "z", NULL, NULL, 8, 16384);
	fx_commit(p);
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 8192, .affinity_group = "db"};
	/* A new group starts on the emptiest host... */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h2");
	/* ...and stays with it although h3 is now emptier. */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h2");
	char msg[512];
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (3 hosts): capacity removed 1 "
				 "(memory), affinity removed 2 (group "
				 "elsewhere)");
	tr_placer_free(p);
}

static void test_anti_affinity(void **state)
{
	(void)state;
	struct tr_placer *p = fx_placer(reg, FX_POLICY("binpack", 1));
	fx_host(p, 1, "h1", "z", NULL, NULL, 8, 8192);
	fx_host(p, 2, "h2", "z", NULL, NULL, 8, 16384);
	fx_commit(p);
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 1024, .anti_affinity_group = "web"};
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h1");
	/* binpack would pick h1 again; anti-affinity forbids it. */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h2");
	char msg[512];
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (2 hosts): anti-affinity "
				 "removed 2 (group member present)");
	/* Releasing a member frees its host for the group again. */
	struct tr_place_result r = {
	    .host_id = 1, .vcpus = 1, .memory_mib = 1024};
	r.groups[1] = tr_intern_find(tr_placer_inv(p)->names, "web");
	assert_int_equal(tr_place_unclaim(p, &r), 0);
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h1");
	tr_placer_free(p);
}

static void test_tags_and_vm_limit(void **state)
{
	(void)state;
	struct tr_placer *p = fx_placer(reg, FX_POLICY("firstfit", 1));
	const char *ssd[] = {"ssd"}, *both[] = {"ssd", "gpu"};
	struct tr_host_def h = {.id = 1,
				.name = "plain",
				.zone = "z",
				.cpus = 64,
				.memory_mib = 65536,
				.disk_gib = 100,
				.vm_limit = 2};
	fx_host_def(p, &h);
	h = (struct tr_host_def){.id = 2,
				 .name = "fast",
				 .zone = "z",
				 .cpus = 64,
				 .memory_mib = 65536,
				 .disk_gib = 100,
				 .tags = ssd,
				 .n_tags = 1};
	fx_host_def(p, &h);
	h = (struct tr_host_def){.id = 3,
				 .name = "gpu",
				 .zone = "z",
				 .cpus = 64,
				 .memory_mib = 65536,
				 .disk_gib = 100,
				 .tags = both,
				 .n_tags = 2};
	fx_host_def(p, &h);
	fx_commit(p);
	char msg[512];
	const char *want[] = {"gpu", "ssd"};
	struct tr_place_req q = {
	    .vcpus = 1, .memory_mib = 1, .tags = want, .n_tags = 2};
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "gpu");
	q.n_tags = 1; /* "gpu" alone */
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "gpu");
	q.tags = ssd;
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "fast");
	const char *unknown[] = {"fpga"};
	q.tags = unknown;
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (3 hosts): tags removed 3 (missing tag)");
	/* vm-limit: "plain" takes two VMs, then the next goes elsewhere. */
	q.n_tags = 0;
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "plain");
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "plain");
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "fast");
	q.host = "plain";
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (3 hosts): location removed 2 "
			    "(host), vm-limit removed 1 (at its VM limit)");
	tr_placer_free(p);
}

/* A policy-wide vm_limit applies to hosts without a lower one. */
static void test_policy_vm_limit(void **state)
{
	(void)state;
	struct tr_placer *p =
	    two_hosts("policy: l\nfilters: [vm-limit]\n"
		      "weights: {firstfit: 1}\nvm_limit: 1\n");
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 1};
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h1");
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h2");
	assert_null(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0));
	tr_placer_free(p);
}

static void test_empty_inventory(void **state)
{
	(void)state;
	char msg[512];
	struct tr_placer *p = fx_placer(reg, FX_POLICY("binpack", 1));
	fx_commit(p);
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 1};
	assert_null(fx_place(p, &q, 0, msg, sizeof msg));
	assert_prefix(msg, "no host fits (0 hosts): there are no hosts to place on");
	tr_placer_free(p);
}

/* The index passes over hosts short of memory or vcpus; when nothing fits
 * they are counted as the capacity filter would, whatever the walk. */
static void test_index_counts(void **state)
{
	(void)state;
	static const char *const weighers[] = {"binpack", "spread", "firstfit"};
	for (int k = 0; k < 3; k++) {
		char yaml[512], msg[512];
		snprintf(yaml, sizeof yaml, FX_POLICY("%s", 2), weighers[k]);
		struct tr_placer *p = fx_placer(reg, yaml);
		fx_host(p, 1, "small", "z", NULL, NULL, 16, 1024);
		fx_host(p, 2, "few-cpus", "z", NULL, NULL, 1, 8192);
		fx_host(p, 3, "big", "z", NULL, NULL, 16, 8192);
		fx_host(p, 4, "big2", "z", NULL, NULL, 16, 16384);
		fx_commit(p);
		const char *gpu[] = {"gpu"};
		struct tr_place_req q = {
		    .vcpus = 4, .memory_mib = 4096, .tags = gpu, .n_tags = 1};
		assert_null(fx_place(p, &q, 0, msg, sizeof msg));
		assert_prefix(msg, "no host fits (4 hosts): capacity "
				    "removed 2 (memory,vcpus), tags removed "
				    "2 (missing tag)");
		q.n_tags = 0;
		q.vcpus = 17;
		assert_null(fx_place(p, &q, 0, msg, sizeof msg));
		assert_prefix(msg, "no host fits (4 hosts): capacity "
					 "removed 4 (memory,vcpus)");
		tr_placer_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capacity_memory_cpu_disk),
	    cmocka_unit_test(test_capacity_overcommit),
	    cmocka_unit_test(test_location),
	    cmocka_unit_test(test_exclusive),
	    cmocka_unit_test(test_dedicated_host),
	    cmocka_unit_test(test_owner_first_then_spill),
	    cmocka_unit_test(test_spill_public_only),
	    cmocka_unit_test(test_spill_deny),
	    cmocka_unit_test(test_affinity),
	    cmocka_unit_test(test_anti_affinity),
	    cmocka_unit_test(test_tags_and_vm_limit),
	    cmocka_unit_test(test_policy_vm_limit),
	    cmocka_unit_test(test_empty_inventory),
	    cmocka_unit_test(test_index_counts),
	};
	return cmocka_run_group_tests_name("placement rules", tests, fx_setup,
					   fx_teardown);
}
