/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm_events.c - VM records follow the hypervisors: a plugin's vm.state
 * event (libvirt's lifecycle events, on the plugin's thread) is handed to
 * the main thread, which updates the VM's state, records a VM that
 * appeared on a known host as discovered, and forgets a discovered VM
 * that was undefined.  VMs made by Trellis are never deleted here: they
 * become "undefined" and their workflow decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "inventory.h"

struct vm_news {
	char uuid[40], name[128], state[32], event[32], uri[512], plugin[64];
	char host[64]; /* known (an agent's delta), or "": found by uri */
};

static void copy(char *dst, size_t len, json_t *body, const char *key)
{
	const char *v = json_string_value(json_object_get(body, key));
	snprintf(dst, len, "%s", v ? v : "");
}

/* The one host this plugin reaches at uri, or NULL. */
static char *host_of(struct tr_store *s, const struct vm_news *n)
{
	struct tr_store_query q = {.filter_key = "uri",
				   .filter_value = n->uri,
				   .limit = 2};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *hosts = NULL;
	char *name = NULL;
	if (tr_store_list(s, TR_KIND_HOST, &q, &hosts, &call) == 0) {
		json_t *items = json_object_get(hosts, "items");
		json_t *h = json_array_get(items, 0);
		if (json_array_size(items) == 1 &&
		    strcmp(json_string_value(json_object_get(h, "hypervisor")),
			   n->plugin) == 0)
			name = tr_xstrdup(json_string_value(json_object_get(h, "name")));
	}
	json_decref(hosts);
	return name;
}

static void apply(struct tr_daemon *d, void *arg)
{
	struct vm_news *n = arg;
	struct tr_store *s = d->store;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *vm = NULL;
	int rc = 0;
	if (!s || !n->uuid[0])
		goto out;
	int undefined = strcmp(n->event, "undefined") == 0;
	int defined = strcmp(n->event, "defined") == 0;
	if (tr_store_get(s, TR_KIND_VM, n->uuid, &vm, &call) == 0) {
		const char *origin =
			json_string_value(json_object_get(vm, "origin"));
		if (undefined && origin && strcmp(origin, "discovered") == 0) {
			rc = tr_store_delete(s, TR_KIND_VM, n->uuid, NULL, &call);
		} else if (!defined &&
			   !(strcmp(n->state, "shutoff") == 0 &&
			     json_string_value(json_object_get(vm, "state")) &&
			     strcmp(json_string_value(json_object_get(vm, "state")),
				    "failed") == 0)) {
			/* A VM a start left "failed" (vm.started) stays so
			 * when its domain reports shutoff: the reason holds
			 * until a start succeeds. */
			json_t *upd = json_pack("{s:s}", "state",
						undefined ? "undefined" : n->state);
			rc = tr_store_update(s, TR_KIND_VM, n->uuid, upd, NULL,
					     &call);
			json_decref(upd);
		}
	} else if (!undefined) {
		char *host = n->host[0] ? tr_xstrdup(n->host) : host_of(s, n);
		if (host) {
			json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "uuid",
					      n->uuid, "name", n->name, "state",
					      defined ? "shutoff" : n->state,
					      "origin", "discovered");
			rc = tr_store_create(s, TR_KIND_VM, host, f, NULL, &call);
			json_decref(f);
			free(host);
		}
	}
	if (rc < 0)
		tr_warn("vm %s (%s): %s", n->uuid, n->event, call.message);
out:
	json_decref(vm);
	free(n);
}

static struct vm_news *news_of(json_t *body)
{
	struct vm_news *n = tr_xcalloc(1, sizeof *n);
	copy(n->uuid, sizeof n->uuid, body, "uuid");
	copy(n->name, sizeof n->name, body, "name");
	copy(n->state, sizeof n->state, body, "state");
	copy(n->event, sizeof n->event, body, "event");
	copy(n->uri, sizeof n->uri, body, "uri");
	copy(n->plugin, sizeof n->plugin, body, "plugin");
	return n;
}

void tr_vm_event_hook(void *arg, const char *topic, json_t *body)
{
	struct tr_daemon *d = arg;
	if (strcmp(topic, "vm.state") != 0 || d->stopping)
		return;
	struct vm_news *n = news_of(body);
	if (tr_daemon_call_main(d, apply, n) < 0)
		free(n);
}

void tr_inventory_agent_delta(struct tr_daemon *d, const char *agent,
			      const char *host, json_t *vm)
{
	json_t *rec = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (!d->store ||
	    tr_store_get(d->store, TR_KIND_HOST, host, &rec, &call) < 0)
		return;
	const char *owner = json_string_value(json_object_get(rec, "agent"));
	if (!owner || strcmp(owner, agent) != 0) {
		tr_warn("agent '%s' sent a delta for host '%s', which is not "
			"its own: ignored", agent, host);
		json_decref(rec);
		return;
	}
	json_decref(rec);
	struct vm_news *n = news_of(vm);
	snprintf(n->host, sizeof n->host, "%s", host);
	apply(d, n); /* main thread already: frees n */
}
