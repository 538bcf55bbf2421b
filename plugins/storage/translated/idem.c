/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idem.c - the translated storage plugin: the idempotency keys of the
 * volumes the plugin made (a replayed create finds its volume).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- idempotency keys of the volumes this process made ----
 * A vendor array keeps no idempotency key with a volume, so the plugin
 * remembers them (per pool target and name) for the life of the process:
 * a replayed create finds its volume; one made under another key is
 * CONFLICT.  After a restart a volume made before is no longer known as
 * ours (see docs/storage-adapters.md). */
struct made {
	char *where; /* "endpoint|target|name" */
	char *key;
	struct made *next;
};
static struct made *made_list;
static pthread_mutex_t made_lock = PTHREAD_MUTEX_INITIALIZER;

static void made_where(struct tx_pool *p, const char *name, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s|%s|%s", p->endpoint, p->target, name);
}

int tx_made_is(struct tx_pool *p, const char *name, const char *key)
{
	char w[2048];
	made_where(p, name, w, sizeof w);
	int r = 0;
	pthread_mutex_lock(&made_lock);
	for (struct made *m = made_list; m; m = m->next)
		if (!strcmp(m->where, w)) {
			r = key && !strcmp(m->key, key) ? 1 : -1;
			break;
		}
	pthread_mutex_unlock(&made_lock);
	return r;
}

void tx_made_set(struct tx_pool *p, const char *name, const char *key)
{
	char w[2048];
	made_where(p, name, w, sizeof w);
	pthread_mutex_lock(&made_lock);
	struct made **pp = &made_list;
	while (*pp && strcmp((*pp)->where, w))
		pp = &(*pp)->next;
	if (*pp && !key) {
		struct made *m = *pp;
		*pp = m->next;
		free(m->where);
		free(m->key);
		free(m);
	} else if (!*pp && key) {
		struct made *m = calloc(1, sizeof *m);
		if (m && (m->where = strdup(w)) && (m->key = strdup(key))) {
			m->next = made_list;
			made_list = m;
		} else if (m) {
			free(m->where);
			free(m);
		}
	}
	pthread_mutex_unlock(&made_lock);
}
