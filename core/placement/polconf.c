/* SPDX-License-Identifier: Apache-2.0 */
/* polconf.c - parsing and resolving policy files (polconf.h). */
#include "polconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dispatch/dispatch.h"
#include "../util/alloc.h"
#include "../util/node.h"

void tr_policy_free(struct tr_policy *pol)
{
	if (!pol)
		return;
	free(pol->name);
	free(pol->description);
	free(pol->file);
	free(pol->filters);
	free(pol->weighers);
	free(pol);
}

static int bit_slot(uint32_t bit)
{
	return bit == TRELLIS_POLICY_INDEX_CAPACITY   ? 0
	       : bit == TRELLIS_POLICY_INDEX_LOCATION ? 1
	       : bit == TRELLIS_POLICY_INDEX_PHASE    ? 2
	       : bit == TRELLIS_POLICY_INDEX_AFFINITY ? 3
	       : bit == TRELLIS_POLICY_INDEX_VCPUS    ? 4
						      : -1;
}

const struct tr_pstage *tr_policy_index_stage(const struct tr_policy *pol,
					      uint32_t bit)
{
	int s = bit_slot(bit);
	if (s < 0 || pol->stage_of_index[s] < 0)
		return NULL;
	return &pol->filters[pol->stage_of_index[s]];
}

/* Finds a filter (weigher = 0) or weigher by "NAME" or "PLUGIN:NAME". */
static int resolve(const tr_registry_t *reg, const char *spec, int weigher,
		   struct tr_pstage *out, char *known, size_t knownlen)
{
	const char *colon = strchr(spec, ':');
	size_t plen = colon ? (size_t)(colon - spec) : 0;
	const char *name = colon ? colon + 1 : spec;
	int found = 0;
	size_t kl = 0;
	known[0] = '\0';
	for (size_t i = 0; i < tr_registry_count(reg); i++) {
		struct trellis_plugin *p = tr_registry_at(reg, i);
		size_t n =
		    weigher ? tr_policy_n_weighers(p) : tr_policy_n_filters(p);
		for (size_t j = 0; j < n; j++) {
			const trellis_policy_item_t *it =
			    weigher ? tr_policy_weigher_at(p, j)
				    : tr_policy_filter_at(p, j);
			if (!it || !it->name)
				continue;
			if (kl + strlen(it->name) + 3 < knownlen)
				kl += (size_t)snprintf(
				    known + kl, knownlen - kl, "%s%s",
				    kl ? ", " : "", it->name);
			if (strcmp(it->name, name) ||
			    (colon && (strlen(p->name) != plen ||
				       strncmp(p->name, spec, plen))))
				continue;
			if (found++)
				continue;
			out->plugin = p;
			out->idx = (uint32_t)j;
			out->item = it;
		}
	}
	return found;
}

static int stage_list(const trellis_node_t *list, const tr_registry_t *reg,
		      int weigher, struct tr_pstage **out, uint32_t *n,
		      char *err, size_t errlen)
{
	const char *what = weigher ? "weigher" : "filter";
	size_t len = tr_node_len(list);
	if (len > TR_POLICY_MAX_STAGES) {
		snprintf(err, errlen, "%s: at most %d %ss per policy",
			 tr_node_where(list), TR_POLICY_MAX_STAGES, what);
		return -1;
	}
	*out = tr_xcalloc(len ? len : 1, sizeof **out);
	if (!*out) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char known[512];
	for (size_t i = 0; i < len; i++) {
		const trellis_node_t *item = tr_node_at(list, i);
		const trellis_node_t *key =
		    weigher ? tr_node_key_node_at(list, i) : item;
		const char *name = tr_node_str(key);
		if (!name || !*name) {
			snprintf(err, errlen,
				 "%s: a %s must be named by a string",
				 tr_node_where(key), what);
			return -1;
		}
		struct tr_pstage *st = &(*out)[i];
		int found =
		    resolve(reg, name, weigher, st, known, sizeof known);
		if (found == 0) {
			snprintf(err, errlen,
				 "%s: unknown %s '%s' (loaded policy plugins "
				 "offer: %s)",
				 tr_node_where(key), what, name,
				 known[0] ? known : "nothing");
			return -1;
		}
		if (!tr_plugin_has_op(
			st->plugin,
			weigher
			    ? offsetof(struct trellis_policy_ops, weigh)
			    : offsetof(struct trellis_policy_ops, filter))) {
			snprintf(err, errlen,
				 "%s: plugin '%s' lists %s '%s' but has no %s "
				 "op",
				 tr_node_where(key), st->plugin->name, what,
				 name, weigher ? "weigh" : "filter");
			return -1;
		}
		if (found > 1) {
			snprintf(err, errlen,
				 "%s: %s '%s' is offered by %d plugins: "
				 "write PLUGIN:%s",
				 tr_node_where(key), what, name, found, name);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if ((*out)[j].plugin == st->plugin &&
			    (*out)[j].idx == st->idx) {
				snprintf(err, errlen,
					 "%s: %s '%s' is listed twice",
					 tr_node_where(key), what, name);
				return -1;
			}
		if (weigher) {
			const char *w = tr_node_str(item);
			char *end = NULL;
			st->weight = w ? strtod(w, &end) : 0;
			if (!w || end == w || *end) {
				snprintf(err, errlen,
					 "%s: weight of '%s' must be a number",
					 tr_node_where(item), name);
				return -1;
			}
		}
	}
	*n = (uint32_t)len;
	return 0;
}

static int get_ratio(const trellis_node_t *map, const char *key, double *out,
		     char *err, size_t errlen)
{
	const trellis_node_t *n = tr_node_get(map, key);
	if (!n)
		return 0;
	const char *s = tr_node_str(n);
	char *end = NULL;
	double v = s ? strtod(s, &end) : 0;
	if (!s || end == s || *end || !(v > 0) || v > 1000) {
		snprintf(err, errlen,
			 "%s: overcommit %s must be a number above 0 "
			 "(1.0: none)",
			 tr_node_where(n), key);
		return -1;
	}
	*out = v;
	return 0;
}

static int check_keys(const trellis_node_t *map, const char *const *allowed,
		      const char *what, char *err, size_t errlen)
{
	for (size_t i = 0; i < tr_node_len(map); i++) {
		const char *k = tr_node_key_at(map, i);
		int ok = 0;
		for (size_t j = 0; allowed[j]; j++)
			ok |= !strcmp(k, allowed[j]);
		if (!ok) {
			snprintf(err, errlen, "%s: unknown key '%s' in %s",
				 tr_node_where(tr_node_key_node_at(map, i)), k,
				 what);
			return -1;
		}
	}
	return 0;
}

/* Which walk order lets the core stop early: the order hint shared by
 * every positively weighted weigher, firstfit's when there are none. */
static uint32_t derive_order(const struct tr_policy *pol)
{
	uint32_t order = TRELLIS_POLICY_ORDER_FIRST;
	int any = 0;
	for (uint32_t i = 0; i < pol->n_weighers; i++) {
		const struct tr_pstage *w = &pol->weighers[i];
		if (w->weight == 0)
			continue;
		if (w->weight < 0 ||
		    w->item->order == TRELLIS_POLICY_ORDER_NONE)
			return TRELLIS_POLICY_ORDER_NONE;
		if (any && w->item->order != order)
			return TRELLIS_POLICY_ORDER_NONE;
		order = w->item->order;
		any = 1;
	}
	return order;
}

struct tr_policy *tr_policy_parse(const trellis_node_t *root,
				  const tr_registry_t *reg, char *err,
				  size_t errlen)
{
	static const char *const keys[] = {
	    "policy", "description", "filters",	 "weights",
	    "top_n",  "overcommit",  "vm_limit", NULL};
	static const char *const oc_keys[] = {"cpu", "memory", NULL};
	struct tr_policy *pol = tr_xcalloc(1, sizeof *pol);
	if (!pol) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pol->top_n = 1;
	pol->cpu_ratio = pol->memory_ratio = 1.0;
	for (int i = 0; i < TR_POLICY_INDEX_BITS; i++)
		pol->stage_of_index[i] = -1;
	if (tr_node_type(root) != TRELLIS_NODE_MAP) {
		snprintf(err, errlen, "%s: a policy is a map",
			 tr_node_where(root));
		goto fail;
	}
	if (check_keys(root, keys, "a policy", err, errlen))
		goto fail;
	const char *name = tr_node_str(tr_node_get(root, "policy"));
	if (!name || !*name) {
		snprintf(err, errlen, "%s: missing 'policy: NAME'",
			 tr_node_where(root));
		goto fail;
	}
	const char *desc = tr_node_str(tr_node_get(root, "description"));
	pol->name = tr_xstrdup(name);
	pol->description = tr_xstrdup(desc ? desc : "");
	pol->file = tr_xstrdup(root->file ? root->file : "");
	if (!pol->name || !pol->description || !pol->file) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	const trellis_node_t *f = tr_node_get(root, "filters");
	if (f && tr_node_type(f) != TRELLIS_NODE_SEQ) {
		snprintf(err, errlen, "%s: 'filters' is a list of filter names",
			 tr_node_where(f));
		goto fail;
	}
	if (stage_list(f, reg, 0, &pol->filters, &pol->n_filters, err, errlen))
		goto fail;
	const trellis_node_t *w = tr_node_get(root, "weights");
	if (w && tr_node_type(w) != TRELLIS_NODE_MAP) {
		snprintf(err, errlen,
			 "%s: 'weights' maps weigher names to numbers",
			 tr_node_where(w));
		goto fail;
	}
	if (stage_list(w, reg, 1, &pol->weighers, &pol->n_weighers, err,
		       errlen))
		goto fail;
	const trellis_node_t *t = tr_node_get(root, "top_n");
	int64_t v;
	if (t) {
		if (tr_node_int(t, &v) || v < 1 || v > TR_POLICY_MAX_TOP_N) {
			snprintf(err, errlen,
				 "%s: top_n must be an integer from 1 to %d",
				 tr_node_where(t), TR_POLICY_MAX_TOP_N);
			goto fail;
		}
		pol->top_n = (uint32_t)v;
	}
	const trellis_node_t *l = tr_node_get(root, "vm_limit");
	if (l) {
		if (tr_node_int(l, &v) || v < 0 || v > UINT32_MAX) {
			snprintf(err, errlen,
				 "%s: vm_limit must be an integer >= 0 "
				 "(0: no limit)",
				 tr_node_where(l));
			goto fail;
		}
		pol->vm_limit = (uint32_t)v;
	}
	const trellis_node_t *oc = tr_node_get(root, "overcommit");
	if (oc) {
		if (tr_node_type(oc) != TRELLIS_NODE_MAP) {
			snprintf(
			    err, errlen,
			    "%s: 'overcommit' is a map {cpu: R, memory: R}",
			    tr_node_where(oc));
			goto fail;
		}
		if (check_keys(oc, oc_keys, "overcommit", err, errlen) ||
		    get_ratio(oc, "cpu", &pol->cpu_ratio, err, errlen) ||
		    get_ratio(oc, "memory", &pol->memory_ratio, err, errlen))
			goto fail;
	}
	for (uint32_t i = 0; i < pol->n_filters; i++) {
		uint32_t idx = pol->filters[i].item->index;
		pol->index |= idx;
		for (uint32_t b = 0; b < TR_POLICY_INDEX_BITS; b++)
			if ((idx & (1u << b)) && pol->stage_of_index[b] < 0)
				pol->stage_of_index[b] = (int)i;
	}
	pol->order = derive_order(pol);
	return pol;
fail:
	tr_policy_free(pol);
	return NULL;
}

struct tr_policy *tr_policy_load(const char *path, const tr_registry_t *reg,
				 char *err, size_t errlen)
{
	trellis_node_t *root = tr_node_parse_file(path, err, errlen);
	if (!root)
		return NULL;
	struct tr_policy *pol = tr_policy_parse(root, reg, err, errlen);
	tr_node_free(root);
	return pol;
}
