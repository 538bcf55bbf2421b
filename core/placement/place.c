/* SPDX-License-Identifier: Apache-2.0 */
/* place.c - the placement pipeline (place.h): resolve, walk, filter,
 * weigh, pick, claim; and the "why not placed" explanation. */
#include "place.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dispatch/dispatch.h"
#include "../util/log.h"
#include "claims.h"
#include "placer_int.h"

/* Batches start small (a top-N pick usually needs a handful of hosts) and
 * double, so a long walk still makes few plugin calls. */
#define BATCH_MIN 4
#define BATCH_MAX 256

/* What the filters removed during one pass, for the explanation. */
struct pstats {
	uint32_t universe;
	uint32_t removed[TR_POLICY_MAX_STAGES];
	char reason[TR_POLICY_MAX_STAGES][64];
};

struct cand {
	double score;
	uint64_t id;
	uint32_t hi;
};

struct topn {
	struct cand c[TR_POLICY_MAX_TOP_N];
	uint32_t n, cap;
};

struct walk {
	struct tr_placer *P;
	const struct tr_policy *pol;
	const trellis_place_request_t *r;
	struct pstats *st;
	struct topn *top;
	int early; /* stop once top is full */
	int naive; /* no index, one batch */
	uint32_t passed;
};

/* ---- resolve: names to ids ---- */

static int resolve_pod(struct tr_inv *inv, const struct tr_place_req *q,
		       uint32_t *out, trellis_call_t *call)
{
	char key[512];
	uint32_t id;
	if (strchr(q->pod, '/')) {
		id = tr_intern_find(inv->names, q->pod);
	} else if (q->zone) {
		snprintf(key, sizeof key, "%s/%s", q->zone, q->pod);
		id = tr_intern_find(inv->names, key);
	} else {
		uint32_t s = tr_intern_find(inv->names, q->pod);
		id = s && s < inv->n_map ? inv->alias[s] : 0;
		if (id == TR_INV_AMBIGUOUS)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "pod '%s' is in several zones: "
					   "name it ZONE/POD or give the zone",
					   q->pod);
	}
	if (!tr_inv_pod_level(inv, id))
		return tr_call_set(call, TRELLIS_E_NOTFOUND, "unknown pod '%s'",
				   q->pod);
	*out = id;
	return 0;
}

static int resolve_cluster(struct tr_inv *inv, const struct tr_place_req *q,
			   uint32_t pod, trellis_call_t *call, uint32_t *out)
{
	char key[768];
	uint32_t id = 0;
	const char *c = q->cluster, *s1 = strchr(c, '/');
	if (s1 && strchr(s1 + 1, '/')) {
		id = tr_intern_find(inv->names, c);
	} else if (s1 && q->zone) {
		snprintf(key, sizeof key, "%s/%s", q->zone, c);
		id = tr_intern_find(inv->names, key);
	} else if (!s1 && pod) {
		snprintf(key, sizeof key, "%s/%s",
			 tr_intern_str(inv->names, pod), c);
		id = tr_intern_find(inv->names, key);
	} else {
		uint32_t s = tr_intern_find(inv->names, c);
		id = s && s < inv->n_map ? inv->alias[s] : 0;
		if (id == TR_INV_AMBIGUOUS)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "cluster '%s' is in several pods: "
					   "name it ZONE/POD/CLUSTER",
					   c);
	}
	if (!tr_inv_cluster_level(inv, id))
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "unknown cluster '%s'", c);
	*out = id;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Fills r from q; *scope gets the finest level the location names (or
 * NULL for the whole inventory); a host constraint becomes the one-host
 * level one. */
static int resolve(struct tr_inv *inv, const struct tr_place_req *q,
		   trellis_place_request_t *r, uint32_t *tags,
		   struct tr_level **scope, struct tr_level *one,
		   uint32_t *one_hi, trellis_call_t *call)
{
	int rc;
	memset(r, 0, sizeof *r);
	r->struct_size = sizeof *r;
	r->vcpus = q->vcpus;
	r->memory_mib = q->memory_mib;
	r->disk_gib = q->disk_gib;
	r->zone = q->zone;
	r->pod = q->pod;
	r->cluster = q->cluster;
	r->host = q->host;
	r->tenant = q->tenant;
	r->affinity_group = q->affinity_group;
	r->anti_affinity_group = q->anti_affinity_group;
	r->tags = q->tags;
	r->n_tags = q->n_tags;
	*scope = NULL;
	if (q->n_tags > TR_PLACE_MAX_TAGS)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "at most %d tags per request",
				   TR_PLACE_MAX_TAGS);
	if (q->zone) {
		r->zone_id = tr_intern_find(inv->names, q->zone);
		*scope = tr_inv_zone_level(inv, r->zone_id);
		if (!*scope)
			return tr_call_set(call, TRELLIS_E_NOTFOUND,
					   "unknown zone '%s'", q->zone);
	}
	if (q->pod) {
		if ((rc = resolve_pod(inv, q, &r->pod_id, call)))
			return rc;
		*scope = tr_inv_pod_level(inv, r->pod_id);
	}
	if (q->cluster) {
		if ((rc = resolve_cluster(inv, q, r->pod_id, call,
					  &r->cluster_id)))
			return rc;
		*scope = tr_inv_cluster_level(inv, r->cluster_id);
	}
	if (q->host) {
		int64_t hi = tr_inv_host_by_name(inv, q->host);
		if (hi < 0)
			return tr_call_set(call, TRELLIS_E_NOTFOUND,
					   "unknown host '%s'", q->host);
		r->host_id = inv->hosts[hi].v.id;
		*one_hi = (uint32_t)hi;
		one->n = one->cap = 1;
		one->by_id = one_hi;
		*scope = one;
	}
	r->tenant_id = tr_intern_find(inv->names, q->tenant);
	r->affinity_id = tr_intern_find(inv->names, q->affinity_group);
	r->affinity_hosts = tr_inv_group(inv, r->affinity_id)->n;
	r->anti_affinity_id =
	    tr_intern_find(inv->names, q->anti_affinity_group);
	for (uint32_t i = 0; i < q->n_tags; i++) {
		/* A tag no host has matches no host. */
		tags[i] = tr_intern_find(inv->names, q->tags[i]);
		if (!tags[i])
			tags[i] = UINT32_MAX;
	}
	qsort(tags, q->n_tags, sizeof *tags, cmp_u32);
	r->tag_ids = tags;
	return 0;
}

/* ---- the walk ---- */

static int better(const struct cand *a, const struct cand *b)
{
	return a->score > b->score || (a->score == b->score && a->id < b->id);
}

static void top_insert(struct topn *t, double score, uint64_t id, uint32_t hi)
{
	struct cand c = {score, id, hi};
	if (t->n == t->cap && !better(&c, &t->c[t->n - 1]))
		return;
	uint32_t i = t->n < t->cap ? t->n++ : t->n - 1;
	while (i > 0 && better(&c, &t->c[i - 1])) {
		t->c[i] = t->c[i - 1];
		i--;
	}
	t->c[i] = c;
}

/* Merges comma-separated words into a reason set. */
static void reason_merge(char dst[64], const char *src)
{
	char word[64];
	while (*src) {
		size_t n = strcspn(src, ",");
		if (n && n < sizeof word) {
			memcpy(word, src, n);
			word[n] = '\0';
			int have = 0;
			for (const char *p = dst; (p = strstr(p, word)); p += n)
				if ((p == dst || p[-1] == ',') &&
				    (p[n] == ',' || !p[n]))
					have = 1;
			size_t len = strlen(dst);
			if (!have && len + n + 2 <= 64) {
				if (len)
					dst[len++] = ',';
				memcpy(dst + len, word, n + 1);
			}
		}
		src += n + (src[n] == ',');
	}
}

/* Runs the filters and weighers over P->batch[0..n) and keeps the best. */
static int flush(struct walk *w, uint32_t n)
{
	struct tr_placer *P = w->P;
	const trellis_host_view_t **b = P->batch;
	const struct tr_policy *pol = w->pol;
	for (uint32_t f = 0; f < pol->n_filters && n; f++) {
		const struct tr_pstage *s = &pol->filters[f];
		char reason[64];
		memset(P->keep, 1, n);
		int rc = tr_policy_filter(s->plugin, &P->call, s->idx, w->r, b,
					  n, P->keep, 0, reason);
		if (rc < 0)
			return rc;
		if (!rc)
			continue;
		uint32_t live = 0;
		for (uint32_t i = 0; i < n; i++)
			if (P->keep[i])
				b[live++] = b[i];
		w->st->removed[f] += n - live;
		reason_merge(w->st->reason[f], reason);
		n = live;
	}
	if (!n)
		return 0;
	memset(P->keep, 1, n);
	memset(P->scores, 0, n * sizeof *P->scores);
	for (uint32_t k = 0; k < pol->n_weighers; k++) {
		const struct tr_pstage *s = &pol->weighers[k];
		if (s->weight == 0)
			continue;
		memset(P->tmp, 0, n * sizeof *P->tmp);
		int rc = tr_policy_weigh(s->plugin, &P->call, s->idx, w->r, b,
					 n, P->keep, P->tmp, 0);
		if (rc < 0)
			return rc;
		for (uint32_t i = 0; i < n; i++)
			P->scores[i] += s->weight * P->tmp[i];
	}
	struct tr_phost *H = P->inv->hosts;
	for (uint32_t i = 0; i < n; i++)
		top_insert(w->top, P->scores[i], b[i]->id,
			   (uint32_t)((const struct tr_phost *)b[i] - H));
	w->passed += n;
	return 0;
}

struct feeder {
	struct walk *w;
	uint32_t nb, bsz;
	int rc, done;
	int early;     /* this walk follows the score order: may stop early */
	int64_t vcpus; /* hosts with fewer free go no further (0: no check) */
	uint32_t fed, mem_short; /* hosts queued; skipped for memory inline */
};

/* Queues host hi; runs a batch when full.  Returns nonzero to stop. */
static int feed(struct feeder *f, uint32_t hi)
{
	struct walk *w = f->w;
	/* The vcpu index: a compare here instead of a trip through the
	 * filters (counted when nothing fits, see walk_level). */
	if (f->vcpus && w->P->inv->cpu_keys[hi] < f->vcpus)
		return 0;
	f->fed++;
	w->P->batch[f->nb++] = &w->P->inv->hosts[hi].v;
	if (f->nb < f->bsz)
		return 0;
	f->rc = flush(w, f->nb);
	f->nb = 0;
	if (f->bsz < BATCH_MAX && !w->naive)
		f->bsz *= 2;
	f->done = f->rc < 0 || (f->early && w->top->n == w->top->cap);
	return f->done;
}

/* Walks one level: the candidates in the policy's order, starting past
 * the hosts without the memory when the capacity filter lets the index
 * stand for it (those are counted later, and only if nothing fits). */
/* The first position >= from in L's id order with the memory and (when
 * cpuidx) the vcpus: the two max trees leapfrog each other. */
static uint32_t next_fit(const struct tr_level *L, uint32_t from, int64_t mem,
			 int cpuidx, int64_t vcpus)
{
	for (;;) {
		uint32_t a = tr_maxtree_next(&L->first, from, mem);
		if (!cpuidx || a >= L->n)
			return a;
		uint32_t b = tr_maxtree_next(&L->first_cpu, a, vcpus);
		if (b == a || b >= L->n)
			return b;
		from = b;
	}
}

static int walk_level(struct walk *w, const struct tr_level *L,
		      uint32_t *cap_cut, uint32_t *cpu_cut)
{
	struct tr_inv *inv = w->P->inv;
	const int64_t *K = inv->keys;
	const struct tr_order *o = &L->free;
	int64_t mem = (int64_t)w->r->memory_mib;
	int capidx =
	    !w->naive && (w->pol->index & TRELLIS_POLICY_INDEX_CAPACITY);
	int cpuidx = !w->naive &&
		     (w->pol->index & TRELLIS_POLICY_INDEX_VCPUS) &&
		     w->r->vcpus;
	/* The one-host level of a host constraint has no free order. */
	uint32_t order =
	    w->naive || !o->b ? TRELLIS_POLICY_ORDER_NONE : w->pol->order;
	uint32_t start =
	    2 * w->top->cap > BATCH_MIN ? 2 * w->top->cap : BATCH_MIN;
	/* A walk by id follows the score order only for firstfit. */
	int early = w->early &&
		    (order != TRELLIS_POLICY_ORDER_NONE ||
		     w->pol->order == TRELLIS_POLICY_ORDER_FIRST || L->n <= 1);
	struct feeder f = {w, 0,     w->naive ? L->n : start,		0,
			   0, early, cpuidx ? (int64_t)w->r->vcpus : 0, 0,
			   0};
	if (!f.bsz)
		return 0;
	uint32_t b0 = capidx ? tr_order_bucket(mem) : 0;
	switch (order) {
	case TRELLIS_POLICY_ORDER_LEAST_FREE:
		for (uint32_t b = b0; b <= o->top && !f.done; b++) {
			const struct tr_bucket *B = &o->b[b];
			uint32_t i = capidx && b == b0
					 ? tr_bucket_lower_bound(B, K, mem)
					 : 0;
			for (; i < B->n && !f.done; i++)
				feed(&f, B->h[i]);
		}
		break;
	case TRELLIS_POLICY_ORDER_MOST_FREE:
		/* Descending free memory, but ascending id among equals, the
		 * order the scores tie-break in. */
		for (uint32_t b = o->top + 1; b-- > b0 && !f.done;) {
			const struct tr_bucket *B = &o->b[b];
			uint32_t cut = capidx && b == b0
					   ? tr_bucket_lower_bound(B, K, mem)
					   : 0;
			for (uint32_t i = B->n; i > cut && !f.done;) {
				int64_t key = K[B->h[i - 1]];
				uint32_t j = i - 1;
				while (j > cut && K[B->h[j - 1]] == key)
					j--;
				for (uint32_t k = j; k < i && !f.done; k++)
					feed(&f, B->h[k]);
				i = j;
			}
		}
		break;
	default:
		if (capidx && L->first.t) {
			/* Id order, jumping over the hosts without the memory.
			 */
			int64_t vc = (int64_t)w->r->vcpus;
			for (uint32_t i = next_fit(L, 0, mem, cpuidx, vc);
			     i < L->n && !f.done;
			     i = next_fit(L, i + 1, mem, cpuidx, vc))
				feed(&f, L->by_id[i]);
			break;
		}
		for (uint32_t i = 0; i < L->n && !f.done; i++) {
			uint32_t hi = L->by_id[i];
			if (capidx && K[hi] < mem) {
				f.mem_short++;
				continue;
			}
			feed(&f, hi);
		}
		break;
	}
	if (!f.done && f.nb)
		f.rc = flush(w, f.nb);
	/* What the index skipped, counted only when it matters: nothing
	 * fits, so the walk saw the whole level.  Memory first, as the
	 * capacity filter checks it first. */
	if (!f.rc && !w->top->n) {
		uint32_t mem_short = capidx && o->b
					 ? tr_order_count_below(o, K, mem)
					 : f.mem_short;
		*cap_cut += mem_short;
		if (cpuidx)
			*cpu_cut += L->n - f.fed - mem_short;
	}
	return f.rc;
}

/* ---- the engine ---- */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Prints "no host fits (N hosts): f removed X (why), ..." into buf. */
static size_t explain(const struct tr_policy *pol, const struct pstats *st,
		      const char *where, char *buf, size_t len)
{
	size_t n =
	    (size_t)snprintf(buf, len, "no host fits%s (%u host%s)", where,
			     st->universe, st->universe == 1 ? "" : "s");
	const char *sep = ": ";
	for (uint32_t f = 0; f < pol->n_filters && n < len; f++) {
		if (!st->removed[f])
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%s removed %u", sep,
				      pol->filters[f].item->name,
				      st->removed[f]);
		if (st->reason[f][0] && n < len)
			n += (size_t)snprintf(buf + n, len - n, " (%s)",
					      st->reason[f]);
		sep = ", ";
	}
	if (n < len && !st->universe)
		n += (size_t)snprintf(buf + n, len - n,
				      ": there are no hosts to place on");
	return n < len ? n : len;
}

/* Appends what was asked and the most any host in lv has free ("; asked
 * 4096 MiB memory, 2 vcpus, 10 GiB disk; the most free: 2048 MiB memory
 * (host h1), 8 vcpus"), so a NOSPACE says by how much it missed.  Only
 * on a refusal: a walk over the hosts of the level. */
static void amounts(const struct tr_inv *inv, const struct tr_level *lv,
		    const trellis_place_request_t *r, char *buf, size_t len)
{
	size_t n = strlen(buf);
	if (n >= len)
		return;
	n += (size_t)snprintf(buf + n, len - n,
			      "; asked %llu MiB memory, %u vcpus, %llu GiB disk",
			      (unsigned long long)r->memory_mib, r->vcpus,
			      (unsigned long long)r->disk_gib);
	if (!lv || !lv->n || n >= len)
		return;
	int64_t best_mem = INT64_MIN, best_cpu = INT64_MIN;
	uint32_t at = 0;
	for (uint32_t i = 0; i < lv->n; i++) {
		uint32_t h = lv->by_id[i];
		if (inv->keys[h] > best_mem) {
			best_mem = inv->keys[h];
			at = h;
		}
		if (inv->cpu_keys[h] > best_cpu)
			best_cpu = inv->cpu_keys[h];
	}
	snprintf(buf + n, len - n,
		 "; the most free: %lld MiB memory (host %s), %lld vcpus",
		 (long long)(best_mem < 0 ? 0 : best_mem),
		 inv->hosts[at].v.name ? inv->hosts[at].v.name : "?",
		 (long long)(best_cpu < 0 ? 0 : best_cpu));
}

static void why_pass(const struct tr_policy *pol, const struct pstats *st,
		     struct tr_place_why_pass *out)
{
	out->hosts = st->universe;
	out->n = 0;
	for (uint32_t f = 0; f < pol->n_filters; f++) {
		if (!st->removed[f])
			continue;
		out->by[out->n].filter = pol->filters[f].item->name;
		out->by[out->n].removed = st->removed[f];
		memcpy(out->by[out->n].reason, st->reason[f],
		       sizeof out->by[0].reason);
		out->n++;
	}
}

/* Runs one pass over the levels of scope (NULL: all hosts). */
static int run_pass(struct tr_placer *P, const struct tr_policy *pol,
		    const trellis_place_request_t *r,
		    const struct tr_level *const *levels, uint32_t n_levels,
		    uint32_t scope_bit, uint32_t universe, int naive,
		    struct topn *top, struct pstats *st, uint32_t *passed)
{
	/* Only what this policy uses: the struct is 2 KiB of mostly reasons. */
	st->universe = universe;
	for (uint32_t f = 0; f < pol->n_filters; f++) {
		st->removed[f] = 0;
		st->reason[f][0] = '\0';
	}
	top->n = 0;
	top->cap = naive ? 1 : pol->top_n;
	struct walk w = {
	    P,	   pol, r,
	    st,	   top, !naive && pol->order != TRELLIS_POLICY_ORDER_NONE,
	    naive, 0};
	uint32_t cap_cut = 0, cpu_cut = 0, walked = 0;
	for (uint32_t i = 0; i < n_levels; i++) {
		int rc = walk_level(&w, levels[i], &cap_cut, &cpu_cut);
		if (rc < 0)
			return rc;
		walked += levels[i]->n;
	}
	/* Hosts the index kept out count for the filter it stands for. */
	const struct tr_pstage *s;
	if (cap_cut &&
	    (s = tr_policy_index_stage(pol, TRELLIS_POLICY_INDEX_CAPACITY))) {
		uint32_t f = (uint32_t)(s - pol->filters);
		st->removed[f] += cap_cut;
		reason_merge(st->reason[f], "memory");
	}
	if (cpu_cut &&
	    (s = tr_policy_index_stage(pol, TRELLIS_POLICY_INDEX_VCPUS))) {
		uint32_t f = (uint32_t)(s - pol->filters);
		st->removed[f] += cpu_cut;
		reason_merge(st->reason[f], "vcpus");
	}
	if (walked < universe && (s = tr_policy_index_stage(pol, scope_bit))) {
		uint32_t f = (uint32_t)(s - pol->filters);
		st->removed[f] += universe - walked;
		reason_merge(st->reason[f],
			     scope_bit == TRELLIS_POLICY_INDEX_PHASE
				 ? "outside the tenant's private zones"
			     : scope_bit == TRELLIS_POLICY_INDEX_AFFINITY
				 ? "group elsewhere"
			     : r->host_id    ? "host"
			     : r->cluster_id ? "cluster"
			     : r->pod_id     ? "pod"
					     : "zone");
	}
	*passed = w.passed;
	return 0;
}

/* snprintf(dst, len, "%s", src) without the formatting engine: this runs
 * three times per placement. */
static void copy(char *dst, size_t len, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

static void fill_result(struct tr_placer *P, const struct tr_policy *pol,
			const struct topn *top, uint32_t passed, uint32_t phase,
			struct tr_place_result *out)
{
	uint32_t k = top->n > 1 ? (uint32_t)(rng_next(&P->rng) % top->n) : 0;
	const struct tr_phost *h = &P->inv->hosts[top->c[k].hi];
	memset(out, 0, sizeof *out);
	out->host_id = h->v.id;
	out->hint = top->c[k].hi;
	copy(out->host, sizeof out->host, h->v.name);
	copy(out->zone, sizeof out->zone,
	     tr_intern_str(P->inv->names, h->v.zone_id));
	copy(out->policy, sizeof out->policy, pol->name);
	out->score = top->c[k].score;
	out->candidates = passed;
	out->phase = phase;
}

int tr_place(struct tr_placer *P, const struct tr_place_req *q, uint32_t flags,
	     struct tr_place_result *out, trellis_call_t *call)
{
	return tr_place_why(P, q, flags, out, NULL, call);
}

int tr_place_why(struct tr_placer *P, const struct tr_place_req *q,
		 uint32_t flags, struct tr_place_result *out,
		 struct tr_place_why *why, trellis_call_t *call)
{
	trellis_place_request_t r;
	uint32_t tags[TR_PLACE_MAX_TAGS], one_hi = 0;
	struct tr_level one = {0}, *scope = NULL;
	struct pstats st, own_st;
	struct topn top;
	uint32_t passed = 0;
	int rc;
	char msg[768];

	pthread_mutex_lock(&P->lock);
	struct tr_inv *inv = P->inv;
	const struct tr_policy *pol = NULL;
	if (!inv->built) {
		rc = tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				 "the placement index is not built yet");
		goto out;
	}
	if ((rc = resolve(inv, q, &r, tags, &scope, &one, &one_hi, call)))
		goto out;
	/* The policy of the zone the request names, or that its pod,
	 * cluster or host lies in; the default otherwise. */
	if (scope && scope->n)
		pol = P->zone_pol[inv->hosts[scope->by_id[0]].zone];
	else if (scope && r.zone_id)
		pol = P->zone_pol[inv->zone_of[r.zone_id] - 1];
	else
		pol = tr_placer_default_policy(P);
	if (!pol) {
		rc = tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				 "no placement policy is loaded");
		goto out;
	}
	int naive = (flags & TR_PLACE_NAIVE) != 0;
	int use_loc = !naive && (pol->index & TRELLIS_POLICY_INDEX_LOCATION);
	const struct tr_level *levels[64];
	uint32_t n_levels = 0, own_universe = 0, spill_ok = 0;
	/* The owner's private zones first, unless the request names a place. */
	if (!scope && r.tenant_id &&
	    (pol->index & TRELLIS_POLICY_INDEX_PHASE)) {
		for (uint32_t z = 0; z < inv->n_zones; z++) {
			struct tr_izone *zone = &inv->zones[z];
			if (zone->owner_id != r.tenant_id)
				continue;
			if (n_levels < 64)
				levels[n_levels++] = &zone->level;
			own_universe += zone->level.n;
			spill_ok |= zone->flags & TRELLIS_ZONE_SPILL_ALLOW;
		}
	}
	if (n_levels) {
		r.phase = TRELLIS_PLACE_OWN;
		if (naive) {
			levels[0] = &inv->all;
			n_levels = 1;
		}
		rc = run_pass(P, pol, &r, levels, n_levels,
			      TRELLIS_POLICY_INDEX_PHASE, own_universe, naive,
			      &top, &own_st, &passed);
		if (rc < 0)
			goto plugin_failed;
		if (top.n)
			goto found;
		size_t n =
		    explain(pol, &own_st, " in the tenant's private zones", msg,
			    sizeof msg);
		if (why) {
			memset(why, 0, sizeof *why);
			why->own = 1;
			why->spill_denied = !spill_ok;
			why_pass(pol, &own_st, &why->own_pass);
			why->pass = why->own_pass;
		}
		if (!spill_ok) {
			rc = tr_call_set(call, TRELLIS_E_NOSPACE,
					 "%.*s; tenant '%s' may not spill to "
					 "public zones (its zones say spill: "
					 "deny)",
					 (int)n, msg, q->tenant);
			goto out;
		}
		r.phase = TRELLIS_PLACE_SPILL;
	}
	/* The smallest candidate set an index gives: the place asked for, or
	 * the hosts already running the affinity group. */
	uint32_t scope_bit = TRELLIS_POLICY_INDEX_LOCATION;
	levels[0] = use_loc && scope ? scope : &inv->all;
	if (levels[0] == &inv->all && !naive && r.affinity_hosts &&
	    (pol->index & TRELLIS_POLICY_INDEX_AFFINITY)) {
		levels[0] = tr_inv_group(inv, r.affinity_id);
		scope_bit = TRELLIS_POLICY_INDEX_AFFINITY;
	}
	rc = run_pass(P, pol, &r, levels, 1, scope_bit, inv->n_hosts, naive,
		      &top, &st, &passed);
	if (rc < 0)
		goto plugin_failed;
	if (top.n)
		goto found;
	if (why) {
		if (r.phase != TRELLIS_PLACE_SPILL)
			memset(why, 0, sizeof *why);
		why_pass(pol, &st, &why->pass);
	}
	if (r.phase == TRELLIS_PLACE_SPILL) {
		size_t n =
		    explain(pol, &own_st, " in the tenant's private zones", msg,
			    sizeof msg);
		char rest[512];
		explain(pol, &st, "", rest, sizeof rest);
		amounts(inv, levels[0], &r, rest, sizeof rest);
		rc = tr_call_set(call, TRELLIS_E_NOSPACE,
				 "%.*s; spilled to public zones: %s", (int)n,
				 msg, rest);
	} else {
		explain(pol, &st, "", msg, sizeof msg);
		amounts(inv, levels[0], &r, msg, sizeof msg);
		rc = tr_call_set(call, TRELLIS_E_NOSPACE, "%s", msg);
	}
	goto out;
found:
	fill_result(P, pol, &top, passed, r.phase, out);
	out->vcpus = q->vcpus;
	out->memory_mib = q->memory_mib;
	out->disk_gib = q->disk_gib;
	if (flags & TR_PLACE_CLAIM) {
		out->groups[0] = tr_intern_add(inv->names, q->affinity_group);
		out->groups[1] =
		    tr_intern_add(inv->names, q->anti_affinity_group);
		tr_inv_apply(inv, out->hint, +1, out->vcpus, out->memory_mib,
			     out->disk_gib, out->groups);
	}
	rc = 0;
	goto out;
plugin_failed:
	rc = tr_call_set(call, rc, "policy '%s': %s", pol->name,
			 P->call.message);
out:
	pthread_mutex_unlock(&P->lock);
	return rc;
}

/* The host index of a result: its hint while the index still holds. */
static int64_t host_of(const struct tr_inv *inv,
		       const struct tr_place_result *r)
{
	if (r->hint < inv->n_hosts && inv->hosts[r->hint].v.id == r->host_id)
		return r->hint;
	return tr_inv_host_by_id(inv, r->host_id);
}

int tr_place_unclaim(struct tr_placer *P, const struct tr_place_result *r)
{
	pthread_mutex_lock(&P->lock);
	int64_t hi = host_of(P->inv, r);
	if (hi >= 0)
		tr_inv_apply(P->inv, (uint32_t)hi, -1, r->vcpus, r->memory_mib,
			     r->disk_gib, r->groups);
	pthread_mutex_unlock(&P->lock);
	return hi >= 0 ? 0 : TRELLIS_E_NOTFOUND;
}

int tr_place_book(struct tr_placer *P, uint64_t host_id, uint32_t vcpus,
		  uint64_t memory_mib, uint64_t disk_gib, const char *group,
		  const char *anti_group)
{
	pthread_mutex_lock(&P->lock);
	int64_t hi = tr_inv_host_by_id(P->inv, host_id);
	if (hi >= 0) {
		uint32_t groups[2] = {tr_intern_add(P->inv->names, group),
				      tr_intern_add(P->inv->names, anti_group)};
		tr_inv_apply(P->inv, (uint32_t)hi, +1, vcpus, memory_mib,
			     disk_gib, groups);
	}
	pthread_mutex_unlock(&P->lock);
	return hi >= 0 ? 0 : TRELLIS_E_NOTFOUND;
}

int tr_place_room(struct tr_placer *P, uint64_t host_id,
		  struct tr_claim_room *room)
{
	pthread_mutex_lock(&P->lock);
	int64_t hi = tr_inv_host_by_id(P->inv, host_id);
	if (hi >= 0) {
		const struct tr_phost *h = &P->inv->hosts[hi];
		const trellis_host_view_t *v = &h->v;
		room->vcpus = trellis_host_free_vcpus(v) + h->claimed_vcpus;
		room->memory_mib = trellis_host_free_memory_mib(v) +
				   (int64_t)h->claimed_memory_mib;
		room->disk_gib = (int64_t)v->disk_gib -
				 (int64_t)v->used_disk_gib +
				 (int64_t)h->claimed_disk_gib;
		room->vm_slots = v->vm_limit ? (int64_t)v->vm_limit -
						   v->vm_count + h->claimed_vms
					     : -1;
	}
	pthread_mutex_unlock(&P->lock);
	return hi >= 0 ? 0 : TRELLIS_E_NOTFOUND;
}

void tr_place_sync_host(struct tr_placer *P, uint64_t host_id,
			const struct tr_claim *sum)
{
	pthread_mutex_lock(&P->lock);
	int64_t hi = tr_inv_host_by_id(P->inv, host_id);
	if (hi >= 0)
		tr_inv_set_claimed(P->inv, (uint32_t)hi, sum->vcpus,
				   sum->memory_mib, sum->disk_gib,
				   (uint32_t)sum->host_id);
	pthread_mutex_unlock(&P->lock);
}
