/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hosts.c - hosts in the inventory (inventory.h): a host is probed through
 * the hypervisor.host_probe action (on a worker: connect and host_info
 * block), its capacity is recorded, and the VMs its hypervisor already
 * runs are recorded as "discovered".  An unreachable host is refused with
 * the plugin's error and nothing is recorded; a recorded one is marked
 * unreachable.  One hypervisor is never recorded as two hosts (its
 * capacity would count twice): a second host with the URI, or on the
 * machine, of a known one is refused naming the first.  The periodic refresh does the same for every host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../actions/lookup.h"
#include "../relay/relay.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "inventory.h"

struct host_sync {
	unsigned flags;
	int queued; /* tr_action_submit() returned: done runs later */
	char *name, *cluster, *plugin, *uri;
	char *agent;     /* the private zone's agent that reaches it, or NULL */
	json_t *options; /* the host's own options for connect, or NULL */
	tr_host_synced_fn done;
	void *arg;
};

static void sync_free(struct host_sync *h)
{
	free(h->name);
	free(h->cluster);
	free(h->plugin);
	free(h->uri);
	json_decref(h->options);
	free(h->agent);
	free(h);
}

/* The host record's fields from what the probe returned. */
static json_t *info_fields(json_t *r)
{
	return json_pack(
		"{s:s, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O,"
		" s:O, s:O, s:I, s:n, s:s?}",
		"state", "up", "cpus", json_object_get(r, "cpus"), "memory_kib",
		json_object_get(r, "memory_kib"), "free_memory_kib",
		json_object_get(r, "free_memory_kib"), "hv_type",
		json_object_get(r, "hv_type"), "hv_version",
		json_object_get(r, "hv_version"), "domain_type",
		json_object_get(r, "domain_type"), "arch",
		json_object_get(r, "arch"), "cpu_model",
		json_object_get(r, "cpu_model"), "hostname",
		json_object_get(r, "hostname"), "sockets",
		json_object_get(r, "sockets"), "cores",
		json_object_get(r, "cores"), "threads",
		json_object_get(r, "threads"), "mhz", json_object_get(r, "mhz"),
		"refreshed_at", (json_int_t)time(NULL), "error", "host_uuid",
		tr_json_str_opt(r, "host_uuid"));
}

/* What an operator entered by hand (host.set: the spec's "manual")
 * holds over what the probe says. */
static void manual_over(struct tr_store *s, const char *name, json_t *fields)
{
	json_t *rec = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_get(s, TR_KIND_HOST, name, &rec, &call) < 0)
		return;
	json_t *manual = json_object_get(json_object_get(rec, "spec"), "manual");
	if (json_is_object(manual))
		json_object_update_existing(fields, manual);
	json_decref(rec);
}

/* The name of the recorded host whose field equals value, into name:
 * 1 when there is one, 0 when not ("" and NULL values match nothing).
 * With by_agent, only a host reached the same road counts: through the
 * same agent, or directly when agent is NULL (a URI names a hypervisor
 * as seen from where it is reached: qemu:///system at two sites is two
 * machines). */
static int host_with(struct tr_store *s, const char *field, const char *value,
		     int by_agent, const char *agent, char *name, size_t len)
{
	struct tr_store_query q = {
	    .filter_key = field, .filter_value = value, .limit = 1000};
	trellis_call_t call;
	json_t *hosts = NULL, *h;
	size_t i;
	int found = 0;
	tr_call_init(&call, NULL);
	if (!value || !*value ||
	    tr_store_list(s, TR_KIND_HOST, &q, &hosts, &call) < 0)
		return 0;
	json_array_foreach(json_object_get(hosts, "items"), i, h)
	{
		const char *via = tr_json_str_opt(h, "agent");
		if (by_agent && (agent ? !via || strcmp(via, agent) : via != NULL))
			continue;
		snprintf(name, len, "%s",
			 json_string_value(json_object_get(h, "name")));
		found = 1;
		break;
	}
	json_decref(hosts);
	return found;
}

int tr_inventory_host_conflict(struct tr_store *s, const char *name,
			       const char *uri, const char *host_uuid,
			       const char *agent, trellis_call_t *call)
{
	char other[256];
	if (host_with(s, "uri", uri, 1, agent, other, sizeof other))
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "host '%s': %s is already host '%s' (one "
				   "hypervisor is never added twice)",
				   name, uri, other);
	if (host_with(s, "host_uuid", host_uuid, 0, NULL, other, sizeof other))
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "host '%s': %s runs on machine %s, which is "
				   "already host '%s' (one machine is never "
				   "added twice)",
				   name, uri, host_uuid, other);
	return 0;
}

/* Whether HA holds the host's state (failed, fenced, fence_failed:
 * core/ha): a refresh does not undo it; `trellis ha clear` does. */
static int ha_held(struct tr_store *s, const char *name)
{
	json_t *h = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_get(s, TR_KIND_HOST, name, &h, &call) < 0)
		return 0;
	const char *st = tr_json_str_opt(h, "state");
	int held = st && (!strcmp(st, "failed") || !strcmp(st, "fenced") ||
			  !strcmp(st, "fence_failed"));
	json_decref(h);
	return held;
}

/* Brings the VM records of a host in line with what its hypervisor
 * reported: new ones are recorded as discovered, known ones get their
 * state, discovered ones that vanished are dropped. */
static int sync_vms(struct tr_store *s, const char *host, json_t *vms,
		    trellis_call_t *call)
{
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm)
	{
		const char *uuid = json_string_value(json_object_get(vm, "uuid"));
		json_t *cur = NULL;
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		json_t *upd = json_pack("{s:O, s:O, s:O}", "state",
					json_object_get(vm, "state"), "vcpus",
					json_object_get(vm, "vcpus"),
					"memory_mib",
					json_object_get(vm, "memory_mib"));
		int rc;
		if (tr_store_get(s, TR_KIND_VM, uuid, &cur, &c2) == 0) {
			rc = tr_store_update(s, TR_KIND_VM, uuid, upd, NULL,
					     call);
		} else {
			json_object_set(upd, "uuid", json_object_get(vm, "uuid"));
			json_object_set(upd, "name", json_object_get(vm, "name"));
			json_object_set_new(upd, "origin",
					    json_string("discovered"));
			rc = tr_store_create(s, TR_KIND_VM, host, upd, NULL,
					     call);
		}
		json_decref(cur);
		json_decref(upd);
		if (rc < 0)
			return rc;
	}
	struct tr_store_query q = {.parent_ref = host};
	json_t *known = NULL;
	if (tr_store_list(s, TR_KIND_VM, &q, &known, call) < 0)
		return call->code;
	json_array_foreach(json_object_get(known, "items"), i, vm)
	{
		const char *uuid = json_string_value(json_object_get(vm, "uuid"));
		int present = 0;
		size_t k;
		json_t *h;
		json_array_foreach(vms, k, h)
			present |= strcmp(json_string_value(
						  json_object_get(h, "uuid")),
					  uuid) == 0;
		if (present)
			continue;
		int rc;
		if (strcmp(json_string_value(json_object_get(vm, "origin")),
			   "discovered") == 0)
			rc = tr_store_delete(s, TR_KIND_VM, uuid, NULL, call);
		else
			rc = tr_store_update(s, TR_KIND_VM, uuid,
					     json_pack("{s:s}", "state",
						       "missing"),
					     NULL, call);
		if (rc < 0) {
			json_decref(known);
			return rc;
		}
	}
	json_decref(known);
	return 0;
}

/* Main thread: the probe's result (NULL on failure) into the store. */
static void probed(struct tr_daemon *d, void *arg, json_t *result,
		   trellis_call_t *pcall)
{
	struct host_sync *j = arg;
	struct tr_store *s = d->store;
	int refresh = (j->flags & TR_HOST_SYNC_REFRESH) != 0;
	int background = (j->flags & TR_HOST_SYNC_BACKGROUND) != 0;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *obj = NULL;
	if (!j->queued) {
		/* Not queued (tr_action_submit() is still running): nothing
		 * was probed, so nothing is recorded. */
		j->done(d, j->arg, NULL, pcall);
		return; /* tr_inventory_host_sync() frees j */
	}
	if (!result) {
		if (refresh && !ha_held(s, j->name)) {
			/* Record that it is unreachable, then report. */
			json_t *upd = json_pack("{s:s, s:s}", "state",
						"unreachable", "error",
						pcall->message);
			tr_store_update(s, TR_KIND_HOST, j->name, upd, &obj,
					&call);
			json_decref(upd);
			if (obj)
				tr_daemon_publish(d, "host.state", obj);
			json_decref(obj);
		}
		tr_warn("host %s (%s): %s", j->name, j->uri, pcall->message);
		j->done(d, j->arg, NULL, pcall);
		sync_free(j);
		return;
	}
	/* Here on the main thread, the store's one writer, the check holds
	 * against a concurrent add of the same hypervisor too. */
	if (!refresh && tr_inventory_host_conflict(
			    s, j->name, j->uri,
			    tr_json_str_opt(result, "host_uuid"), j->agent,
			    &call) < 0) {
		tr_conn_forget(d, TR_CONN_HOST, j->name);
		j->done(d, j->arg, NULL, &call);
		sync_free(j);
		return;
	}
	json_t *vms = json_object_get(result, "vms");
	json_t *fields = info_fields(result);
	if (refresh)
		manual_over(s, j->name, fields);
	int rc = tr_store_begin(s, &call);
	if (rc == 0 && !refresh) {
		json_object_set_new(fields, "name", json_string(j->name));
		json_object_set_new(fields, "hypervisor", json_string(j->plugin));
		json_object_set_new(fields, "uri", json_string(j->uri));
		if (j->options)
			json_object_set_new(
			    fields, "spec",
			    json_pack("{s:O}", "options", j->options));
		rc = tr_store_create(s, TR_KIND_HOST, j->cluster, fields, NULL,
				     &call);
		char msg[256];
		if (rc == 0 && j->agent &&
		    (rc = tr_agent_host_bind(tr_store_sql(s), j->name, j->agent,
					     msg, sizeof msg)) < 0)
			tr_call_set(&call, rc, "%s", msg);
	} else if (rc == 0) {
		if (ha_held(s, j->name))
			json_object_del(fields, "state");
		rc = tr_store_update(s, TR_KIND_HOST, j->name, fields, NULL,
				     &call);
	}
	if (rc == 0)
		rc = sync_vms(s, j->name, vms, &call);
	if (rc == 0)
		rc = tr_store_commit(s, &call);
	if (rc == 0)
		rc = tr_store_get(s, TR_KIND_HOST, j->name, &obj, &call);
	json_decref(fields);
	if (rc < 0) {
		tr_store_rollback(s);
		if (!refresh)
			tr_conn_forget(d, TR_CONN_HOST, j->name);
		if (background)
			tr_warn("host %s: %s", j->name, call.message);
		j->done(d, j->arg, NULL, &call);
		sync_free(j);
		return;
	}
	json_object_set_new(obj, "vms", json_integer((json_int_t)json_array_size(vms)));
	tr_daemon_publish(d, refresh ? "host.refreshed" : "host.added", obj);
	tr_log(background ? TRELLIS_LOG_DEBUG : TRELLIS_LOG_INFO,
	       "host %s %s: %lld cpus, %lld KiB", j->name,
	       refresh ? "refreshed" : "added",
	       (long long)json_integer_value(json_object_get(result, "cpus")),
	       (long long)json_integer_value(
		       json_object_get(result, "memory_kib")));
	j->done(d, j->arg, obj, &call);
	sync_free(j);
}

int tr_inventory_host_sync(struct tr_daemon *d, unsigned flags,
			   const char *name, const char *cluster,
			   const char *plugin, const char *uri,
			   json_t *options, tr_host_synced_fn done, void *arg)
{
	return tr_inventory_host_sync_via(d, flags, name, cluster, plugin, uri,
					  NULL, options, done, arg);
}

int tr_inventory_host_sync_via(struct tr_daemon *d, unsigned flags,
			       const char *name, const char *cluster,
			       const char *plugin, const char *uri,
			       const char *agent, json_t *options,
			       tr_host_synced_fn done, void *arg)
{
	struct host_sync *j = tr_xcalloc(1, sizeof *j);
	if (j) {
		j->flags = flags;
		j->done = done;
		j->arg = arg;
		j->name = tr_xstrdup(name);
		j->cluster = cluster ? tr_xstrdup(cluster) : NULL;
		j->plugin = tr_xstrdup(plugin ? plugin : "");
		j->uri = tr_xstrdup(uri ? uri : "");
		if (json_object_size(options)) /* {} is no options */
			j->options = json_incref(options);
		j->agent = agent ? tr_xstrdup(agent) : NULL;
	}
	json_t *args = j ? json_pack("{s:s, s:s, s:s}", "host", name,
				     "hypervisor", plugin ? plugin : "", "uri",
				     uri ? uri : "")
			 : NULL;
	if (args && j && j->options)
		json_object_set(args, "options", j->options);
	if (!j || !j->name || (cluster && !j->cluster) || !j->plugin ||
	    !j->uri || !args) {
		trellis_call_t call;
		tr_call_init(&call, NULL);
		tr_call_set(&call, TRELLIS_E_NOMEM, "out of memory");
		if (j)
			sync_free(j);
		json_decref(args);
		done(d, arg, NULL, &call);
		return TRELLIS_E_NOMEM;
	}
	if (agent)
		json_object_set_new(args, "agent", json_string(agent));
	int rc = tr_action_submit(d, "hypervisor.host_probe", args, probed, j);
	if (rc < 0) {
		sync_free(j); /* probed() answered already */
		return rc;
	}
	j->queued = 1;
	return 0;
}

/* ---- the periodic refresh ---- */

static unsigned background; /* refresh jobs of the current round */

static void round_done(struct tr_daemon *d, void *arg, json_t *host,
		       trellis_call_t *call)
{
	(void)d;
	(void)arg;
	(void)call;
	background--;
	json_decref(host);
}

/* Every host_refresh: rediscover each host's free memory, state and VMs
 * on the workers, so placement sees current figures and an unreachable
 * host is marked.  A round still running skips the next tick. */
static void refresh_tick(struct tr_daemon *d, void *arg)
{
	(void)arg;
	if (background > 0 || d->stopping ||
	    !tr_daemon_leads(d, "inventory.refresh"))
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *hosts = NULL;
	if (tr_store_list(d->store, TR_KIND_HOST, NULL, &hosts, &call) < 0) {
		tr_warn("host refresh: %s", call.message);
		return;
	}
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(hosts, "items"), i, h)
	{
		background++;
		if (tr_inventory_host_sync(
			d, TR_HOST_SYNC_REFRESH | TR_HOST_SYNC_BACKGROUND,
			json_string_value(json_object_get(h, "name")), NULL,
			json_string_value(json_object_get(h, "hypervisor")),
			json_string_value(json_object_get(h, "uri")),
			json_object_get(json_object_get(h, "spec"), "options"),
			round_done, NULL) < 0)
			break;
	}
	json_decref(hosts);
}

void tr_hosts_refresh_start(struct tr_daemon *d, uint64_t interval_ms)
{
	if (interval_ms)
		tr_daemon_timer_add(d, interval_ms, interval_ms, refresh_tick,
				    NULL, NULL);
}

/* ---- agents' reports ---- */

static void reported(struct tr_daemon *d, void *arg, json_t *host,
		     trellis_call_t *call)
{
	(void)d;
	(void)arg;
	(void)call;
	json_decref(host);
}

void tr_inventory_agent_report(struct tr_daemon *d, const char *agent,
			       json_t *hosts)
{
	size_t i;
	json_t *r, *forget = json_array();
	json_array_foreach(hosts, i, r)
	{
		const char *name = tr_json_str_opt(r, "host");
		json_t *rec = NULL;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		if (!name)
			continue;
		if (tr_store_get(d->store, TR_KIND_HOST, name, &rec, &call) < 0) {
			/* removed, or its add refused after the probe */
			json_array_append_new(forget, json_string(name));
			continue;
		}
		const char *owner = tr_json_str_opt(rec, "agent");
		if (!owner || strcmp(owner, agent) != 0) {
			tr_warn("agent '%s' reported host '%s', which is not "
				"its own: ignored, and the agent told to forget it",
				agent, name);
			json_array_append_new(forget, json_string(name));
			json_decref(rec);
			continue;
		}
		struct host_sync *j = tr_xcalloc(1, sizeof *j);
		j->flags = TR_HOST_SYNC_REFRESH | TR_HOST_SYNC_BACKGROUND;
		j->queued = 1;
		j->done = reported;
		j->name = tr_xstrdup(name);
		j->plugin = tr_xstrdup(tr_json_str_opt(rec, "hypervisor")
					   ? tr_json_str_opt(rec, "hypervisor")
					   : "");
		j->uri = tr_xstrdup(tr_json_str_opt(rec, "uri")
					? tr_json_str_opt(rec, "uri")
					: "");
		json_decref(rec);
		trellis_call_t ok;
		tr_call_init(&ok, NULL);
		probed(d, j, r, &ok); /* frees j */
	}
	/* The agent stops reporting what is not its host (any more). */
	if (json_array_size(forget))
		tr_relay_tell(d, agent,
			      json_pack("{s:s, s:O}", "t", "forget", "hosts",
					forget));
	json_decref(forget);
}
