/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_place.c - the weighers, the herding guard (top N), policy files and
 * per-zone selection, and the index: on random inventories the indexed
 * pipeline must pick exactly what a full scan picks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/util/node.h"
#include "fixture.h"

/* A NOSPACE message starts with the filters' account; what was asked and
 * the most free follow (place.c: amounts). */
#define assert_prefix(got, want)                                               \
	assert_int_equal(strncmp((got), (want), strlen(want)), 0)

#define reg fx_reg

/* h1 8 GiB, h2 32 GiB, h3 16 GiB: empty. */
static struct tr_placer *three(const char *yaml)
{
	struct tr_placer *p = fx_placer(reg, yaml);
	fx_host(p, 1, "h1", "z", NULL, NULL, 8, 8192);
	fx_host(p, 2, "h2", "z", NULL, NULL, 8, 32768);
	fx_host(p, 3, "h3", "z", NULL, NULL, 8, 16384);
	fx_commit(p);
	return p;
}

static void test_weighers(void **state)
{
	(void)state;
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 4096};
	struct tr_placer *p = three(FX_POLICY("firstfit", 1));
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h1");
	tr_placer_free(p);
	p = three(FX_POLICY("binpack", 1));
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h1");
	q.memory_mib = 10000; /* h1 cannot: the fullest that fits is h3 */
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h3");
	tr_placer_free(p);
	p = three(FX_POLICY("spread", 1));
	q.memory_mib = 4096;
	/* h2 32 GiB, h3 16 GiB: h2 until it is down to 16 GiB... */
	for (int i = 0; i < 4; i++)
		assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0),
				    "h2");
	/* ...then a tie (16 = 16) goes to the lower id, then h3. */
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h2");
	assert_string_equal(fx_place(p, &q, TR_PLACE_CLAIM, NULL, 0), "h3");
	tr_placer_free(p);
	/* A negative weight turns spread into binpack: no order hint
	 * applies, so the engine scores every candidate. */
	p = three("policy: w\nfilters: [capacity]\n"
		  "weights: {spread: -1.0}\n");
	assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h1");
	tr_placer_free(p);
}

static void test_top_n_bounds(void **state)
{
	(void)state;
	struct tr_placer *p = fx_placer(reg, FX_POLICY("binpack", 3));
	char name[16];
	/* Ten hosts, h0 fullest ... h9 emptiest. */
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "h%d", i);
		fx_host(p, (uint64_t)i + 1, name, "z", NULL, NULL, 8,
			8192 + 1024 * (uint64_t)i);
	}
	fx_commit(p);
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 1024};
	int seen[10] = {0};
	for (int i = 0; i < 300; i++) {
		const char *h = fx_place(p, &q, 0, NULL, 0);
		assert_non_null(h);
		seen[atoi(h + 1)]++;
	}
	/* Only the three best, and each of them sometimes. */
	for (int i = 0; i < 10; i++) {
		if (i < 3)
			assert_true(seen[i] > 50);
		else
			assert_int_equal(seen[i], 0);
	}
	tr_placer_free(p);
	/* N = 1 is deterministic. */
	p = fx_placer(reg, FX_POLICY("binpack", 1));
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "h%d", i);
		fx_host(p, (uint64_t)i + 1, name, "z", NULL, NULL, 8,
			8192 + 1024 * (uint64_t)i);
	}
	fx_commit(p);
	for (int i = 0; i < 50; i++)
		assert_string_equal(fx_place(p, &q, 0, NULL, 0), "h0");
	tr_placer_free(p);
}

static void check_bad(const char *yaml, const char *want)
{
	char err[512];
	trellis_node_t *root = tr_node_parse_string(
	    "bad.yaml", yaml, strlen(yaml), err, sizeof err);
	assert_non_null(root);
	struct tr_policy *pol = tr_policy_parse(root, reg, err, sizeof err);
	tr_node_free(root);
	assert_null(pol);
	if (!strstr(err, want))
		fail_msg("got '%s', want '%s'", err, want);
}

static void test_policy_errors(void **state)
{
	(void)state;
	check_bad("policy: x\nfilters: [capacity, capacty]\n",
		  "bad.yaml:2:21: unknown filter 'capacty' (loaded policy "
		  "plugins offer: capacity, location");
	check_bad("policy: x\nweights: {binpak: 1}\n",
		  "bad.yaml:2:11: unknown weigher 'binpak'");
	check_bad("policy: x\nweights: {binpack: heavy}\n",
		  "bad.yaml:2:20: weight of 'binpack' must be a number");
	check_bad("policy: x\ntop_n: 0\n",
		  "bad.yaml:2:8: top_n must be an integer from 1 to 64");
	check_bad("policy: x\novercommit: {cpu: -1}\n",
		  "bad.yaml:2:19: overcommit cpu must be a number above 0");
	check_bad("policy: x\nfilter: [capacity]\n",
		  "bad.yaml:2:1: unknown key 'filter' in a policy");
	check_bad("filters: []\n", "missing 'policy: NAME'");
	check_bad("policy: x\nfilters: [builtin:tags, other:tags]\n",
		  "bad.yaml:2:25: unknown filter 'other:tags'");
}

static void test_shipped_policies_and_zone_selection(void **state)
{
	(void)state;
	char err[2048], path[4096];
	const char *src = getenv("TRELLIS_SRC");
	snprintf(path, sizeof path, "%s/policies", src ? src : ".");
	struct tr_placer *p = tr_placer_new(reg);
	int n = tr_placer_load_policies(p, path, err, sizeof err);
	if (n < 3)
		fail_msg("%d policies from %s: %s", n, path, err);
	assert_int_equal(tr_placer_set_default(p, "default", err, sizeof err),
			 0);
	assert_non_null(tr_placer_policy(p, "spread"));
	tr_placer_seed(p, 7);
	fx_host(p, 1, "a1", "za", NULL, NULL, 8, 8192);
	fx_host(p, 2, "a2", "za", NULL, NULL, 8, 65536);
	fx_host(p, 3, "b1", "zb", NULL, NULL, 8, 8192);
	fx_host(p, 4, "b2", "zb", NULL, NULL, 8, 65536);
	fx_commit(p);
	assert_string_equal(tr_placer_zone_policy(p, "zb"), "default");
	assert_int_equal(
	    tr_placer_set_zone_policy(p, "zb", "firstfit", err, sizeof err), 0);
	assert_string_equal(tr_placer_zone_policy(p, "zb"), "firstfit");
	assert_int_equal(
	    tr_placer_set_zone_policy(p, "zb", "nope", err, sizeof err),
	    TRELLIS_E_NOTFOUND);
	struct tr_place_result r;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 1024, .zone = "zb"};
	assert_int_equal(tr_place(p, &q, 0, &r, &call), 0);
	assert_string_equal(r.policy, "firstfit");
	assert_string_equal(r.host, "b1");
	/* A host (or pod, cluster) in zb is placed by zb's policy too. */
	q.zone = NULL;
	q.host = "b2";
	assert_int_equal(tr_place(p, &q, 0, &r, &call), 0);
	assert_string_equal(r.policy, "firstfit");
	q.host = NULL;
	q.zone = "za";
	assert_int_equal(tr_place(p, &q, 0, &r, &call), 0);
	assert_string_equal(r.policy, "default");
	/* The default's cpu overcommit (4x) reaches the hosts of za. */
	q.vcpus = 32;
	assert_int_equal(tr_place(p, &q, 0, &r, &call), 0);
	q.vcpus = 33;
	assert_int_equal(tr_place(p, &q, 0, &r, &call), TRELLIS_E_NOSPACE);
	assert_prefix(call.message, "no host fits (4 hosts): location "
					  "removed 2 (zone), capacity removed "
					  "2 (vcpus)");
	tr_placer_free(p);
}

/* ---- the index against a full scan ---- */

static uint64_t rnd_state = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state % n);
}

static void random_inventory(struct tr_placer *p, int n)
{
	char name[32], zone[8], pod[8], cl[8];
	static const char *tagset[] = {"ssd", "gpu", "fast"};
	fx_zone(p, "z0", "t1", 1, 1);
	fx_zone(p, "z1", "t2", 0, 0);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "h%d", i);
		snprintf(zone, sizeof zone, "z%u", rnd(4));
		snprintf(pod, sizeof pod, "p%u", rnd(2));
		snprintf(cl, sizeof cl, "c%u", rnd(3));
		struct tr_host_def h = {.id = 1000 + (uint64_t)rnd(100000) * 7 +
					      (uint64_t)i,
					.name = name,
					.zone = zone,
					.pod = pod,
					.cluster = cl,
					.cpus = 4 + rnd(3) * 4,
					.memory_mib = 4096u << rnd(3),
					.disk_gib = 100,
					.vm_limit = rnd(4) ? 0 : 3,
					.tags = tagset + rnd(3),
					.n_tags = rnd(2),
					.used_memory_mib = rnd(3) ? 0 : 2048};
		fx_host_def(p, &h);
	}
	fx_commit(p);
}

static void random_request(struct tr_place_req *q, char *buf)
{
	static const char *tags[] = {"ssd", "gpu"};
	static const char *groups[] = {"g1", "g2", "g3"};
	memset(q, 0, sizeof *q);
	q->vcpus = 1 + rnd(4);
	q->memory_mib = 512u << rnd(4);
	switch (rnd(6)) {
	case 0:
		sprintf(buf, "z%u", rnd(4));
		q->zone = buf;
		break;
	case 1:
		sprintf(buf, "z%u/p%u/c%u", rnd(4), rnd(2), rnd(3));
		q->cluster = buf;
		break;
	case 2:
		sprintf(buf, "z%u/p%u", rnd(4), rnd(2));
		q->pod = buf;
		break;
	default:
		break;
	}
	q->tenant = rnd(3) == 0 ? (rnd(2) ? "t1" : "t2") : NULL;
	if (rnd(3) == 0)
		q->anti_affinity_group = groups[rnd(3)];
	else if (rnd(4) == 0)
		q->affinity_group = groups[rnd(3)];
	if (rnd(4) == 0) {
		q->tags = tags + rnd(2);
		q->n_tags = 1;
	}
}

static void compare_with_full_scan(const char *weigher)
{
	char yaml[512];
	snprintf(yaml, sizeof yaml, FX_POLICY("%s", 1), weigher);
	struct tr_placer *p = fx_placer(reg, yaml);
	random_inventory(p, 300);
	int placed = 0, refused = 0;
	struct tr_place_result live[64];
	uint32_t n_live = 0;
	for (int i = 0; i < 1500; i++) {
		/* Releases too, so the index is checked as hosts move both
		 * ways. */
		if (n_live && rnd(3) == 0) {
			uint32_t k = rnd(n_live);
			assert_int_equal(tr_place_unclaim(p, &live[k]), 0);
			live[k] = live[--n_live];
		}
		char buf[32];
		struct tr_place_req q;
		random_request(&q, buf);
		struct tr_place_result a, b;
		trellis_call_t ca, cb;
		tr_call_init(&ca, NULL);
		tr_call_init(&cb, NULL);
		int ra = tr_place(p, &q, TR_PLACE_NAIVE, &a, &ca);
		int rb = tr_place(p, &q, TR_PLACE_CLAIM, &b, &cb);
		if (ra != rb)
			fail_msg("%s request %d: full scan %d (%s), index %d "
				 "(%s)",
				 weigher, i, ra, ca.message, rb, cb.message);
		if (ra) {
			refused++;
			continue;
		}
		placed++;
		if (n_live < 64)
			live[n_live++] = b;
		if (a.host_id != b.host_id)
			fail_msg("%s request %d: full scan picked %s, index %s",
				 weigher, i, a.host, b.host);
	}
	/* The mix must exercise both outcomes. */
	assert_true(placed > 100);
	assert_true(refused > 50);
	tr_placer_free(p);
}

static void test_index_equals_full_scan(void **state)
{
	(void)state;
	compare_with_full_scan("binpack");
	compare_with_full_scan("spread");
	compare_with_full_scan("firstfit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_weighers),
	    cmocka_unit_test(test_top_n_bounds),
	    cmocka_unit_test(test_policy_errors),
	    cmocka_unit_test(test_shipped_policies_and_zone_selection),
	    cmocka_unit_test(test_index_equals_full_scan),
	};
	return cmocka_run_group_tests_name("placement", tests, fx_setup,
					   fx_teardown);
}
