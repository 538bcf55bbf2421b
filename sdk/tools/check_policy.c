/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_policy.c - conformance scenario for policy plugins.
 *
 * Policy plugins have no target: every filter and weigher runs over a small
 * synthetic set of hosts (a big one, a nearly full one, a full one, one in
 * a private zone, one carrying an affinity group).  The checks: the item
 * lists are well formed; a filter only clears keep[] entries, returns how
 * many it cleared and says why; a weigher leaves dropped hosts alone and
 * gives finite scores; both give the same answer twice, handle zero hosts,
 * and reject an unknown flag.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define N_HOSTS 5

static const uint32_t ssd[] = {7};
static const uint32_t web[] = {3};

#define HOST(i, nm, z, c_, m, d, uc, um, ud, vms)                              \
	{                                                                      \
		.struct_size = sizeof(trellis_host_view_t), .id = i,           \
		.name = nm, .zone_id = z, .pod_id = 1, .cluster_id = 1,        \
		.cpus = c_, .memory_mib = m, .disk_gib = d, .cpu_ratio = 1.0,  \
		.memory_ratio = 1.0, .used_vcpus = uc, .used_memory_mib = um,  \
		.used_disk_gib = ud, .vm_count = vms                           \
	}

static trellis_host_view_t hosts_v[N_HOSTS] = {
    HOST(1, "big", 1, 64, 262144, 2048, 4, 8192, 100, 2),
    HOST(2, "nearly-full", 1, 4, 8192, 100, 3, 7168, 90, 3),
    HOST(3, "full", 1, 8, 16384, 200, 8, 16384, 200, 8),
    HOST(4, "private", 2, 32, 65536, 500, 0, 0, 0, 0),
    HOST(5, "grouped", 1, 16, 32768, 400, 2, 2048, 20, 1),
};

static const trellis_host_view_t *hosts[N_HOSTS];

static const trellis_place_request_t request = {
    .struct_size = sizeof request,
    .vcpus = 2,
    .memory_mib = 2048,
    .disk_gib = 20,
    .tenant = "tenant1",
    .tenant_id = 9,
    .phase = TRELLIS_PLACE_ANY,
};

static void setup_hosts(void)
{
	hosts_v[0].tag_ids = ssd;
	hosts_v[0].n_tags = 1;
	hosts_v[3].owner_id = 5;
	hosts_v[3].zone_flags = TRELLIS_ZONE_PRIVATE | TRELLIS_ZONE_EXCLUSIVE;
	hosts_v[4].group_ids = web;
	hosts_v[4].n_groups = 1;
	for (size_t i = 0; i < N_HOSTS; i++)
		hosts[i] = &hosts_v[i];
}

static int check_items(
    struct chk *c, const char *what,
    size_t (*count)(const struct trellis_plugin *),
    const trellis_policy_item_t *(*at)(const struct trellis_plugin *, size_t))
{
	size_t n = count(c->p);
	char check[64];
	snprintf(check, sizeof check, "items:%s", what);
	for (size_t i = 0; i < n; i++) {
		const trellis_policy_item_t *it = at(c->p, i);
		if (it->struct_size <
			offsetof(trellis_policy_item_t, description) +
			    sizeof(const char *) ||
		    !it->name || !it->name[0]) {
			chk_fail(c, check,
				 "%s #%zu has no name or a struct_size "
				 "below 1.0's",
				 what, i);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(at(c->p, j)->name, it->name) == 0) {
				chk_fail(c, check, "%s name '%s' is used twice",
					 what, it->name);
				return -1;
			}
	}
	char names[512] = "";
	size_t w = 0;
	for (size_t i = 0; i < n && w < sizeof names; i++)
		w += (size_t)snprintf(names + w, sizeof names - w, "%s%s",
				      i ? " " : "", at(c->p, i)->name);
	chk_pass(c, check, "%zu: %s", n, n ? names : "none");
	return 0;
}

static void check_filter(struct chk *c, uint32_t idx)
{
	const trellis_policy_item_t *it = tr_policy_filter_at(c->p, idx);
	char check[96], reason[64];
	uint8_t keep[N_HOSTS], keep2[N_HOSTS];
	trellis_call_t call;
	int rc, rc2;

	snprintf(check, sizeof check, "filter:%s", it->name);
	/* Host 0 is already dropped: the filter must neither revive nor
	 * count it. */
	memset(keep, 1, sizeof keep);
	keep[0] = 0;
	chk_call(c, &call);
	chk_begin(check);
	rc = tr_policy_filter(c->p, &call, idx, &request, hosts, N_HOSTS, keep,
			      0, reason);
	chk_end();
	if (rc < 0) {
		chk_fail(c, check, "%s: %s", trellis_error_name(rc),
			 call.message);
		return;
	}
	int cleared = 0;
	for (size_t i = 1; i < N_HOSTS; i++)
		cleared += !keep[i];
	if (keep[0])
		chk_fail(c, check,
			 "set keep[] back for a host already dropped");
	else if (rc != cleared)
		chk_fail(c, check, "returned %d but cleared %d keep[] entries",
			 rc, cleared);
	else if (rc > 0 && !reason[0])
		chk_fail(c, check, "dropped %d hosts without a reason", rc);
	else
		chk_pass(c, check, "dropped %d of %d hosts%s%s", rc,
			 N_HOSTS - 1, rc ? ", reason: " : "", rc ? reason : "");
	if (it->index & TRELLIS_POLICY_INDEX_CAPACITY) {
		/* It promised to drop every host the capacity index would. */
		snprintf(check, sizeof check, "index:filter:%s", it->name);
		size_t bad = N_HOSTS;
		for (size_t i = 1; i < N_HOSTS && bad == N_HOSTS; i++)
			if (keep[i] && trellis_host_free_memory_mib(hosts[i]) <
					   (int64_t)request.memory_mib)
				bad = i;
		if (bad < N_HOSTS)
			chk_fail(c, check,
				 "declares the CAPACITY index but "
				 "kept '%s', which lacks memory",
				 hosts[bad]->name);
		else
			chk_pass(c, check,
				 "agrees with its CAPACITY index "
				 "hint");
	}

	memset(keep2, 1, sizeof keep2);
	keep2[0] = 0;
	chk_call(c, &call);
	chk_begin(check);
	rc2 = tr_policy_filter(c->p, &call, idx, &request, hosts, N_HOSTS,
			       keep2, 0, NULL);
	chk_end();
	snprintf(check, sizeof check, "deterministic:filter:%s", it->name);
	if (rc2 != rc || memcmp(keep, keep2, sizeof keep) != 0)
		chk_fail(c, check,
			 "a second run over the same hosts gave "
			 "another answer");
	else
		chk_pass(c, check, "same answer twice");

	snprintf(check, sizeof check, "empty:filter:%s", it->name);
	chk_call(c, &call);
	chk_begin(check);
	rc = tr_policy_filter(c->p, &call, idx, &request, hosts, 0, keep2, 0,
			      NULL);
	chk_end();
	if (rc != 0)
		chk_fail(c, check, "zero hosts gave %d (%s)", rc, call.message);
	else
		chk_pass(c, check, "zero hosts: 0 dropped");

	snprintf(check, sizeof check, "flags:filter:%s", it->name);
	memset(keep2, 1, sizeof keep2);
	chk_call(c, &call);
	chk_begin(check);
	rc = tr_policy_filter(c->p, &call, idx, &request, hosts, N_HOSTS, keep2,
			      CHK_BAD_FLAG, NULL);
	chk_end();
	chk_expect(c, check, "filter with unknown flag bit 31", &call, rc,
		   TRELLIS_E_INVALID_ARG);
}

/* Position of host a before host b along a core order (ties: id). */
static int before(uint32_t order, const trellis_host_view_t *a,
		  const trellis_host_view_t *b)
{
	int64_t fa = trellis_host_free_memory_mib(a);
	int64_t fb = trellis_host_free_memory_mib(b);
	if (order == TRELLIS_POLICY_ORDER_LEAST_FREE && fa != fb)
		return fa < fb;
	if (order == TRELLIS_POLICY_ORDER_MOST_FREE && fa != fb)
		return fa > fb;
	return a->id < b->id;
}

/* A weigher with an order hint: its score never increases along it. */
static void check_order(struct chk *c, const trellis_policy_item_t *it,
			const uint8_t *keep, const double *s)
{
	char check[96];
	snprintf(check, sizeof check, "order:weigher:%s", it->name);
	if (it->order == TRELLIS_POLICY_ORDER_NONE)
		return;
	if (it->order > TRELLIS_POLICY_ORDER_MOST_FREE) {
		chk_fail(c, check, "unknown order hint %u", it->order);
		return;
	}
	for (size_t i = 0; i < N_HOSTS; i++)
		for (size_t j = 0; j < N_HOSTS; j++)
			if (keep[i] && keep[j] &&
			    before(it->order, hosts[i], hosts[j]) &&
			    s[i] < s[j]) {
				chk_fail(c, check,
					 "order hint %u says '%s' comes before "
					 "'%s', but it scores lower (%g < %g)",
					 it->order, hosts[i]->name,
					 hosts[j]->name, s[i], s[j]);
				return;
			}
	chk_pass(c, check, "scores agree with order hint %u", it->order);
}

static void check_weigher(struct chk *c, uint32_t idx)
{
	const trellis_policy_item_t *it = tr_policy_weigher_at(c->p, idx);
	char check[96];
	const uint8_t keep[N_HOSTS] = {1, 1, 0, 1, 1};
	/* The dropped host's score must stay as it was. */
	const double untouched = -12345.0;
	double s1[N_HOSTS] = {0, 0, untouched, 0, 0};
	double s2[N_HOSTS] = {0, 0, untouched, 0, 0};
	trellis_call_t call;
	int rc;

	snprintf(check, sizeof check, "weigher:%s", it->name);
	chk_call(c, &call);
	chk_begin(check);
	rc = tr_policy_weigh(c->p, &call, idx, &request, hosts, N_HOSTS, keep,
			     s1, 0);
	chk_end();
	if (rc < 0) {
		chk_fail(c, check, "%s: %s", trellis_error_name(rc),
			 call.message);
		return;
	}
	int finite = 1;
	for (size_t i = 0; i < N_HOSTS; i++)
		finite &= isfinite(s1[i]) != 0;
	if (!finite)
		chk_fail(c, check, "gave a score that is NaN or infinite");
	else if (s1[2] != untouched)
		chk_fail(c, check,
			 "scored a host that was dropped (keep[2]=0)");
	else
		chk_pass(c, check, "scores %.3g %.3g - %.3g %.3g", s1[0], s1[1],
			 s1[3], s1[4]);
	check_order(c, it, keep, s1);

	chk_call(c, &call);
	chk_begin(check);
	rc = tr_policy_weigh(c->p, &call, idx, &request, hosts, N_HOSTS, keep,
			     s2, 0);
	chk_end();
	snprintf(check, sizeof check, "deterministic:weigher:%s", it->name);
	if (rc < 0 || memcmp(s1, s2, sizeof s1) != 0)
		chk_fail(c, check, "a second run gave other scores");
	else
		chk_pass(c, check, "same scores twice");

	snprintf(check, sizeof check, "flags:weigher:%s", it->name);
	chk_call(c, &call);
	chk_begin(check);
	rc = tr_policy_weigh(c->p, &call, idx, &request, hosts, N_HOSTS, keep,
			     s2, CHK_BAD_FLAG);
	chk_end();
	chk_expect(c, check, "weigh with unknown flag bit 31", &call, rc,
		   TRELLIS_E_INVALID_ARG);
}

/* An absent filter()/weigh() must come back from dispatch as NOTSUP. */
static void check_absent(struct chk *c, const char *op, int is_filter)
{
	char check[64];
	trellis_call_t call;
	uint8_t keep[N_HOSTS];
	double s[N_HOSTS] = {0};
	int rc;
	memset(keep, 1, sizeof keep);
	snprintf(check, sizeof check, "notsup:%s", op);
	chk_call(c, &call);
	chk_begin(check);
	rc = is_filter ? tr_policy_filter(c->p, &call, 0, &request, hosts,
					  N_HOSTS, keep, 0, NULL)
		       : tr_policy_weigh(c->p, &call, 0, &request, hosts,
					 N_HOSTS, keep, s, 0);
	chk_end();
	if (rc == TRELLIS_E_NOTSUP && strstr(call.message, "does not support"))
		chk_pass(c, check, "%s is absent; dispatch says: %s", op,
			 call.message);
	else
		chk_fail(c, check, "%s is absent but dispatch gave %s (%s)", op,
			 trellis_error_name(rc), call.message);
}

void chk_policy(struct chk *c)
{
	setup_hosts();
	size_t nf = tr_policy_n_filters(c->p), nw = tr_policy_n_weighers(c->p);
	int has_filter =
	    tr_plugin_has_op(c->p, offsetof(struct trellis_policy_ops, filter));
	int has_weigh =
	    tr_plugin_has_op(c->p, offsetof(struct trellis_policy_ops, weigh));
	if (check_items(c, "filters", tr_policy_n_filters,
			tr_policy_filter_at) < 0 ||
	    check_items(c, "weighers", tr_policy_n_weighers,
			tr_policy_weigher_at) < 0)
		return;
	if (!nf && !nw) {
		chk_fail(c, "items",
			 "the plugin offers no filters and no "
			 "weighers");
		return;
	}
	if (nf && !has_filter)
		chk_fail(c, "items",
			 "%zu filters listed but filter() is "
			 "missing",
			 nf);
	if (nw && !has_weigh)
		chk_fail(c, "items",
			 "%zu weighers listed but weigh() is "
			 "missing",
			 nw);
	if (has_filter)
		for (uint32_t i = 0; i < nf; i++)
			check_filter(c, i);
	else
		check_absent(c, "filter", 1);
	if (has_weigh)
		for (uint32_t i = 0; i < nw; i++)
			check_weigher(c, i);
	else
		check_absent(c, "weigh", 0);
	chk_skip(c, "idempotent",
		 "policy plugins make nothing: no create or "
		 "delete to replay");
}
