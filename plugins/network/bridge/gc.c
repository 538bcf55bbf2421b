/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gc.c - removing what the core no longer knows: every object of the
 * plugin on a host (devices under the tr- prefix, nftables chains of
 * ports) whose name is not in the keep list.
 */
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "fw.h"
#include "links.h"

#define H (j->c->b->host)

static int kept(struct br_job *j, const char *name)
{
	for (uint32_t i = 0; i < j->n_keep; i++)
		if (j->keep[i] && !strcmp(j->keep[i], name))
			return 1;
	return 0;
}

struct gc_list {
	struct lk_info *v;
	size_t n, cap;
};

static int gc_collect(void *opaque, const struct lk_info *li)
{
	struct gc_list *l = opaque;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct lk_info *v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return 1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *li;
	return 0;
}

static int dry(const struct br_job *j)
{
	return (j->flags & TRELLIS_NET_GC_DRY_RUN) != 0;
}

static void gc_report(struct br_job *j, const char *what, const char *name)
{
	H->log(j->c->b->self, TRELLIS_LOG_NOTICE, "%s: gc %s %s %s", j->c->uri,
	       dry(j) ? "would remove" : "removed", what, name);
	if (j->gc_fn)
		j->gc_fn(j->opaque, what, name);
}

/* Ports first (their segments may then go), then segments, then devices
 * and chains that belong to nothing. */
static int gc_links(struct br_job *j, struct gc_list *l)
{
	char err[BR_ERRLEN], name[80];
	int rc = 0;
	/* A dry run removes no port, so a segment counts the ports it
	 * would lose as gone: their bridges, one entry per port. */
	int *gone = dry(j) ? calloc(l->n + 1, sizeof *gone) : NULL;
	size_t n_gone = 0;
	if (dry(j) && !gone)
		return br_fail(j, TRELLIS_E_NOMEM, "out of memory");
	for (size_t i = 0; !rc && i < l->n; i++) {
		struct lk_info *li = &l->v[i];
		char seg[80];
		br_alias_get(li->alias, "port", name, sizeof name);
		br_alias_get(li->alias, "seg", seg, sizeof seg);
		if (strncmp(li->name, BR_PREFIX "t", 4) ||
		    (name[0] && kept(j, name)) ||
		    ((j->flags & TRELLIS_NET_GC_KEEP_SEGMENT_PORTS) && seg[0] &&
		     kept(j, seg)))
			continue;
		if (!dry(j))
			rc = lk_delete(j->c->sk, li->name, err, sizeof err);
		if (!rc && !dry(j))
			rc = fw_port_del(j->c->nft, li->name, err, sizeof err);
		if (!rc)
			gc_report(j, "port", name[0] ? name : li->name);
		if (!rc && gone)
			gone[n_gone++] = li->master;
	}
	for (size_t i = 0; !rc && i < l->n; i++) {
		struct lk_info *li = &l->v[i];
		unsigned n = 0;
		br_alias_get(li->alias, "seg", name, sizeof name);
		if (strncmp(li->name, BR_PREFIX "b", 4) ||
		    (name[0] && kept(j, name)))
			continue;
		rc = br_count_ports(j, li->ifindex, &n, NULL, 0);
		if (rc) {
			free(gone);
			return rc;
		}
		for (size_t k = 0; k < n_gone && n; k++)
			if (gone[k] == li->ifindex)
				n--;
		if (n) { /* a kept port still uses it */
			H->log(j->c->b->self, TRELLIS_LOG_WARNING,
			       "%s: gc keeps %s: %u kept port(s) use it",
			       j->c->uri, li->name, n);
			continue;
		}
		if (!dry(j))
			rc = lk_delete(j->c->sk, li->name, err, sizeof err);
		if (!rc)
			gc_report(j, "segment", name[0] ? name : li->name);
	}
	for (size_t i = 0; !rc && i < l->n; i++) {
		struct lk_info *li = &l->v[i];
		struct lk_info cur;
		char c = li->name[3];
		if (c != 'x' && c != 'v')
			continue;
		/* a VXLAN/VLAN device whose bridge is gone */
		if (lk_get(j->c->sk, li->name, &cur, err, sizeof err) ||
		    cur.master)
			continue;
		if (!dry(j))
			rc = lk_delete(j->c->sk, li->name, err, sizeof err);
		if (!rc)
			gc_report(j, "link", li->name);
	}
	free(gone);
	return rc ? br_fail(j, rc, "gc: %s", err) : 0;
}

int br_job_gc(struct br_job *j)
{
	char err[BR_ERRLEN];
	struct gc_list l = {0};
	struct br_scan *sc = NULL;
	int rc = br_flags_check(j, "gc",
				TRELLIS_NET_GC_KEEP_SEGMENT_PORTS |
				    TRELLIS_NET_GC_DRY_RUN);
	if (rc)
		return rc;
	rc = lk_each(j->c->sk, BR_PREFIX, gc_collect, &l, err, sizeof err);
	if (rc) {
		rc = br_fail(j, rc, "gc: %s", err);
		goto out;
	}
	rc = gc_links(j, &l);
	if (rc)
		goto out;
	sc = calloc(1, sizeof *sc);
	if (!sc) {
		rc = br_fail(j, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	rc = fw_scan(j->c->nft, NULL, br_scan_cb, sc, err, sizeof err);
	/* A port's chains whose device is gone (the port's p-/a- pair is
	 * removed together, p- first: it jumps to a-). */
	for (unsigned i = 0; !rc && i < sc->n_chains; i++) {
		const char *ch = sc->chains[i];
		struct lk_info li;
		if ((strncmp(ch, "p-", 2) && strncmp(ch, "a-", 2) &&
		     strncmp(ch, "s-", 2)) ||
		    lk_get(j->c->sk, ch + 2, &li, err, sizeof err) !=
			TRELLIS_E_NOTFOUND)
			continue;
		if (!dry(j))
			rc = fw_port_del(j->c->nft, ch + 2, err, sizeof err);
		if (!rc)
			gc_report(j, "filter", ch + 2);
		for (unsigned k = i + 1; k < sc->n_chains; k++)
			if (!strcmp(sc->chains[k] + 2, ch + 2))
				sc->chains[k][0] = '\0';
	}
	if (!rc && !dry(j))
		rc = br_drop_table_if_unused(j, err, sizeof err);
	if (rc)
		rc = br_fail(j, rc, "gc: %s", err);
out:
	free(sc);
	free(l.v);
	return rc;
}
