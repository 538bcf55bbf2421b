/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conns.c - the cache of plugin targets (daemon.h: tr_conn_*): one open
 * connection per host, pool or network target, shared by every job that
 * needs it, reopened when the host's plugin or uri changes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../dispatch/dispatch.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "worker.h"

struct tr_conn {
	enum tr_conn_kind kind;
	char *key, *plugin, *uri;
	struct tr_target *target;
	unsigned refs;  /* users, plus one for the cache while cached */
	int cached;
	struct tr_conn *next;
};

struct tr_conns {
	struct tr_daemon *d;
	pthread_mutex_t lock;
	struct tr_conn *head;
};

struct tr_conns *tr_conns_new(struct tr_daemon *d)
{
	struct tr_conns *c = tr_xcalloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->d = d;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void conn_free(struct tr_conn *c)
{
	tr_target_close(c->target);
	free(c->key);
	free(c->plugin);
	free(c->uri);
	free(c);
}

void tr_conns_free(struct tr_conns *cs)
{
	if (!cs)
		return;
	for (struct tr_conn *c = cs->head, *next; c; c = next) {
		next = c->next;
		if (c->refs > 1)
			tr_warn("connection %s still in use at shutdown",
				c->key);
		conn_free(c);
	}
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

/* Removes c from the cache (lock held); the caller drops the cache's ref. */
static void unlink_conn(struct tr_conns *cs, struct tr_conn *c)
{
	for (struct tr_conn **pp = &cs->head; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			c->cached = 0;
			return;
		}
	}
}

static struct tr_conn *find(struct tr_conns *cs, enum tr_conn_kind kind,
			    const char *key)
{
	for (struct tr_conn *c = cs->head; c; c = c->next)
		if (c->kind == kind && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

static int same(const struct tr_conn *c, const struct tr_conn_spec *s)
{
	return strcmp(c->plugin, s->plugin) == 0 &&
	       strcmp(c->uri, s->uri ? s->uri : "") == 0;
}

/* Drops one ref (lock held); returns c when it must be freed. */
static struct tr_conn *unref(struct tr_conn *c)
{
	return --c->refs == 0 ? c : NULL;
}

/* Takes c (may be NULL) out of the cache (lock held); returns it when
 * its last ref went with it, for conn_free() outside the lock. */
static struct tr_conn *uncache(struct tr_conns *cs, struct tr_conn *c)
{
	if (!c)
		return NULL;
	unlink_conn(cs, c);
	return unref(c);
}

int tr_conn_get(struct tr_daemon *d, const struct tr_conn_spec *spec,
		trellis_call_t *call, struct tr_conn **out)
{
	struct tr_conns *cs = d->conns;
	struct tr_conn *dead = NULL;
	*out = NULL;
	pthread_mutex_lock(&cs->lock);
	struct tr_conn *c = find(cs, spec->kind, spec->key);
	if (c && same(c, spec)) {
		c->refs++;
		pthread_mutex_unlock(&cs->lock);
		*out = c;
		return 0;
	}
	if (c)
		dead = uncache(cs, c);
	pthread_mutex_unlock(&cs->lock);
	if (dead)
		conn_free(dead);

	static const uint32_t kinds[] = {
		[TR_CONN_HOST] = TRELLIS_KIND_HYPERVISOR,
		[TR_CONN_POOL] = TRELLIS_KIND_STORAGE,
		[TR_CONN_NETWORK] = TRELLIS_KIND_NETWORK,
	};
	uint32_t kind = (unsigned)spec->kind <= TR_CONN_NETWORK
				? kinds[spec->kind]
				: 0;
	struct trellis_plugin *p =
		kind ? tr_registry_find(d->registry, spec->plugin, kind) : NULL;
	if (!p)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "no loaded %s plugin named '%s'",
				   trellis_kind_name(kind), spec->plugin);
	/* Open outside the lock: it blocks (network round trips). */
	struct tr_target *t = NULL;
	int rc = tr_target_open(p, call,
				spec->name ? spec->name : spec->key, spec->uri,
				spec->options, spec->flags, &t);
	if (rc < 0)
		return rc;
	struct tr_conn *n = tr_xcalloc(1, sizeof *n);
	if (!n || !(n->key = tr_xstrdup(spec->key)) ||
	    !(n->plugin = tr_xstrdup(spec->plugin)) ||
	    !(n->uri = tr_xstrdup(spec->uri ? spec->uri : ""))) {
		if (n) {
			n->target = t;
			conn_free(n);
		} else {
			tr_target_close(t);
		}
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	n->kind = spec->kind;
	n->target = t;
	pthread_mutex_lock(&cs->lock);
	c = find(cs, spec->kind, spec->key);
	if (c && same(c, spec)) {
		/* Another job opened it meanwhile: use theirs. */
		c->refs++;
		pthread_mutex_unlock(&cs->lock);
		conn_free(n);
		*out = c;
		return 0;
	}
	if (c)
		dead = uncache(cs, c);
	n->refs = 2; /* the cache's and the caller's */
	n->cached = 1;
	n->next = cs->head;
	cs->head = n;
	pthread_mutex_unlock(&cs->lock);
	if (dead)
		conn_free(dead);
	*out = n;
	return 0;
}

struct tr_target *tr_conn_target(struct tr_conn *c)
{
	return c->target;
}

void tr_conn_put(struct tr_daemon *d, struct tr_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&d->conns->lock);
	struct tr_conn *dead = unref(c);
	pthread_mutex_unlock(&d->conns->lock);
	if (dead)
		conn_free(dead);
}

void tr_conn_forget(struct tr_daemon *d, enum tr_conn_kind kind,
		    const char *key)
{
	struct tr_conns *cs = d->conns;
	pthread_mutex_lock(&cs->lock);
	struct tr_conn *dead = uncache(cs, find(cs, kind, key));
	pthread_mutex_unlock(&cs->lock);
	if (dead)
		conn_free(dead);
}
