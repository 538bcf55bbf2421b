/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha.c - the host HA monitor (ha.h): probe, declare failed, fence, then
 * restart the HA-enabled VMs elsewhere in the pod, and follow the
 * restarts to their end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../actions/lookup.h"
#include "../actions/vm.h"
#include "../auth/auth.h"
#include "../config/config.h"
#include "../placement/reserve.h"
#include "../placement/service.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../workflow/engine.h"
#include "ha.h"

#define S(o, k) json_string_value(json_object_get((o), (k)))
#define MAX_INFLIGHT 256

struct tr_ha_state {
	uint64_t timer;
	size_t n;
	char *inflight[MAX_INFLIGHT]; /* hosts being probed or fenced */
};

static struct tr_ha_state ha_state;

static int busy(const char *host)
{
	for (size_t i = 0; i < ha_state.n; i++)
		if (!strcmp(ha_state.inflight[i], host))
			return 1;
	return 0;
}

static void busy_set(const char *host)
{
	if (ha_state.n < MAX_INFLIGHT)
		ha_state.inflight[ha_state.n++] = tr_xstrdup(host);
}

static void busy_clear(const char *host)
{
	for (size_t i = 0; i < ha_state.n; i++)
		if (!strcmp(ha_state.inflight[i], host)) {
			free(ha_state.inflight[i]);
			ha_state.inflight[i] = ha_state.inflight[--ha_state.n];
			return;
		}
}

static void audit(struct tr_daemon *d, const char *op, const char *object,
		  int ok, const char *code)
{
	struct tr_audit_rec a = {.user = "ha",
				 .op = op,
				 .object = object,
				 .result = ok ? "ok" : "failed",
				 .code = code,
				 .via = "local"};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_audit_append(d->store, &a, &call) < 0)
		tr_warn("ha: audit of %s %s: %s", op, object, call.message);
}

static void publish(struct tr_daemon *d, const char *topic, const char *host,
		    const char *reason)
{
	json_t *b = json_pack("{s:s, s:s?}", "host", host, "reason", reason);
	tr_daemon_publish(d, topic, b);
	json_decref(b);
}

/* ---- ha_host rows ---- */

struct hrow {
	char state[32];
	long long since; /* 0: not failing */
};

static int row_get(struct tr_sql *db, const char *host, struct hrow *r)
{
	struct tr_sql_stmt *st = NULL;
	memset(r, 0, sizeof *r);
	snprintf(r->state, sizeof r->state, "ok");
	if (tr_sql_prepare(db,
			   "SELECT state, failing_since FROM ha_host WHERE "
			   "host = ?1",
			   &st) != 0)
		return -1;
	tr_sql_bind_text_copy(st, 1, host);
	int found = tr_sql_step(st) == TR_SQL_ROW;
	if (found) {
		snprintf(r->state, sizeof r->state, "%s",
			 tr_sql_column_text(st, 0));
		r->since = tr_sql_column_int64(st, 1);
	}
	tr_sql_finalize(st);
	return found;
}

static void row_set(struct tr_sql *db, const char *host, const char *state,
		    long long since, const char *reason)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO ha_host (host, state, failing_since, "
			   "changed_at, reason) VALUES (?1, ?2, ?3, ?4, ?5) "
			   "ON CONFLICT (host) DO UPDATE SET state = "
			   "excluded.state, failing_since = "
			   "excluded.failing_since, changed_at = "
			   "excluded.changed_at, reason = excluded.reason",
			   &st) != 0)
		return;
	tr_sql_bind_text_copy(st, 1, host);
	tr_sql_bind_text_copy(st, 2, state);
	if (since)
		tr_sql_bind_int64(st, 3, since);
	tr_sql_bind_int64(st, 4, (int64_t)time(NULL));
	if (reason)
		tr_sql_bind_text_copy(st, 5, reason);
	if (tr_sql_step(st) != TR_SQL_DONE)
		tr_warn("ha: host %s: %s", host, tr_sql_errmsg(db));
	tr_sql_finalize(st);
}

static void host_state(struct tr_daemon *d, const char *host, const char *state,
		       const char *error)
{
	json_t *f = json_pack("{s:s, s:s?}", "state", state, "error", error);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_update(d->store, TR_KIND_HOST, host, f, NULL, &call) < 0)
		tr_warn("ha: host %s: %s", host, call.message);
	json_decref(f);
}

/* ---- restarts ---- */

static void restart_row(struct tr_sql *db, const char *vm, const char *name,
			const char *from, const char *instance,
			const char *state, const char *error)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO ha_restart (vm, name, from_host, "
			   "instance, state, error, at) VALUES (?1, ?2, ?3, "
			   "?4, ?5, ?6, ?7)",
			   &st) != 0)
		return;
	tr_sql_bind_text_copy(st, 1, vm);
	tr_sql_bind_text_copy(st, 2, name);
	tr_sql_bind_text_copy(st, 3, from);
	if (instance)
		tr_sql_bind_text_copy(st, 4, instance);
	tr_sql_bind_text_copy(st, 5, state);
	if (error)
		tr_sql_bind_text_copy(st, 6, error);
	tr_sql_bind_int64(st, 7, (int64_t)time(NULL));
	tr_sql_step(st);
	tr_sql_finalize(st);
}

static void vm_mark(struct tr_daemon *d, json_t *vm, const char *state,
		    const char *error)
{
	json_t *spec = json_deep_copy(json_object_get(vm, "spec"));
	if (!json_is_object(spec)) {
		json_decref(spec);
		spec = json_object();
	}
	if (error)
		json_object_set_new(spec, "error", json_string(error));
	json_t *f = json_pack("{s:s, s:o}", "state", state, "spec", spec);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_update(d->store, TR_KIND_VM, S(vm, "uuid"), f, NULL,
			    &call) < 0)
		tr_warn("ha: vm %s: %s", S(vm, "name"), call.message);
	json_decref(f);
}

/* The fenced host's VMs: HA-enabled ones restart in its pod, the others
 * are recorded as lost with their host. */
static void restart_vms(struct tr_daemon *d, const char *host, json_t *hrec)
{
	char pod[512];
	snprintf(pod, sizeof pod, "%s", S(hrec, "cluster") ? S(hrec, "cluster") : "");
	char *slash = strrchr(pod, '/');
	if (slash)
		*slash = '\0';
	struct tr_store_query q = {.parent_ref = host};
	json_t *vms = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_list(d->store, TR_KIND_VM, &q, &vms, &call) < 0) {
		tr_warn("ha: VMs of %s: %s", host, call.message);
		return;
	}
	struct tr_sql *db = tr_store_sql(d->store);
	size_t i;
	json_t *vm;
	json_array_foreach(json_object_get(vms, "items"), i, vm)
	{
		const char *uuid = S(vm, "uuid"), *name = S(vm, "name");
		char obj[512];
		snprintf(obj, sizeof obj, "vm %s on %s", name, host);
		if (!json_is_true(json_object_get(json_object_get(vm, "spec"), "ha"))) {
			vm_mark(d, vm, "host_failed",
				"its host failed and was fenced; not HA-enabled");
			continue;
		}
		/* The claim on the dead host goes back first, so that the
		 * VM's BU is not counted twice while it moves. */
		char claim[256];
		tr_call_init(&call, NULL);
		tr_vm_claim_of(db, uuid, claim, sizeof claim, &call);
		tr_call_init(&call, NULL);
		struct tr_placer *p = claim[0] ? tr_placement_engine(d, &call) : NULL;
		if (p && tr_place_release(p, db, claim, "ha", "host fenced", NULL,
					  &call) < 0)
			tr_warn("ha: claim %s of %s: %s", claim, name, call.message);
		/* Its host is shown again once a start is confirmed. */
		tr_call_init(&call, NULL);
		tr_vm_set_host(d->store, uuid, NULL, &call);
		vm_mark(d, vm, "restarting", NULL);
		json_t *in = json_pack("{s:s, s:s, s:s}", "vm", uuid, "from", host,
				       "pod", pod);
		char *id = NULL;
		json_t *details = NULL;
		tr_call_init(&call, "ha");
		int rc = d->engine ? tr_engine_start(d->engine, "vm.ha_restart",
						     NULL, NULL, in, &id, &details,
						     &call)
				   : tr_call_set(&call, TRELLIS_E_UNAVAILABLE,
						 "no workflow engine");
		json_decref(in);
		json_decref(details);
		restart_row(db, uuid, name, host, id, rc ? "failed" : "running",
			    rc ? call.message : NULL);
		audit(d, "ha.restart_started", obj, rc == 0,
		      rc ? trellis_error_name(rc) : NULL);
		if (rc) {
			vm_mark(d, vm, "failed", call.message);
			tr_warn("ha: %s: restart not started: %s", name, call.message);
		} else {
			tr_info("ha: %s of failed host %s restarts (%s)", name, host, id);
		}
		free(id);
	}
	json_decref(vms);
}

/* Restarts still running: their end is recorded, reported and audited. */
static void follow_restarts(struct tr_daemon *d)
{
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	if (!d->engine ||
	    tr_sql_prepare(db,
			   "SELECT id, vm, name, from_host, instance FROM "
			   "ha_restart WHERE state = 'running'",
			   &st) != 0)
		return;
	json_t *done = json_array();
	while (tr_sql_step(st) == TR_SQL_ROW) {
		json_t *s = NULL;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		const char *inst = tr_sql_column_text(st, 4);
		if (!inst || tr_engine_status(d->engine, inst, &s, &call) < 0)
			continue;
		const char *state = S(s, "state");
		if (state && (!strcmp(state, "succeeded") || !strcmp(state, "failed") ||
			      !strcmp(state, "cancelled")))
			json_array_append_new(
			    done,
			    json_pack(
				"{s:I, s:s, s:s, s:s, s:s, s:s?, s:s?}", "id",
				(json_int_t)tr_sql_column_int64(st, 0), "vm",
				tr_sql_column_text(st, 1), "name",
				tr_sql_column_text(st, 2), "from",
				tr_sql_column_text(st, 3), "state", state, "to",
				S(json_object_get(s, "outputs"), "host"),
				"error", S(s, "error")));
		json_decref(s);
	}
	tr_sql_finalize(st);
	size_t i;
	json_t *r;
	json_array_foreach(done, i, r)
	{
		int ok = !strcmp(S(r, "state"), "succeeded");
		if (tr_sql_prepare(
			db,
			"UPDATE ha_restart SET state = ?2, to_host = "
			"?3, error = ?4 WHERE id = ?1",
			&st) == 0) {
			tr_sql_bind_int64(
			    st, 1,
			    json_integer_value(json_object_get(r, "id")));
			tr_sql_bind_text(st, 2, ok ? "restarted" : "failed");
			if (ok && S(r, "to"))
				tr_sql_bind_text_copy(st, 3, S(r, "to"));
			if (!ok && S(r, "error"))
				tr_sql_bind_text_copy(st, 4, S(r, "error"));
			tr_sql_step(st);
			tr_sql_finalize(st);
		}
		char obj[512];
		snprintf(obj, sizeof obj, "vm %s from %s", S(r, "name"), S(r, "from"));
		json_t *b = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "vm", S(r, "vm"),
				      "name", S(r, "name"), "from", S(r, "from"),
				      "to", ok ? S(r, "to") : NULL, "error",
				      ok ? NULL : S(r, "error"));
		tr_daemon_publish(d, ok ? "ha.vm_restarted" : "ha.vm_unplaced", b);
		json_decref(b);
		if (ok) {
			tr_info("ha: %s restarted on %s", S(r, "name"), S(r, "to"));
			continue;
		}
		/* Reported, not dropped: the VM stays, failed with the reason. */
		audit(d, "ha.restart", obj, 0, "FAILED");
		json_t *vm = NULL;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		if (tr_store_get(d->store, TR_KIND_VM, S(r, "vm"), &vm, &call) == 0) {
			char why[1200];
			snprintf(why, sizeof why, "HA restart from %s failed: %s",
				 S(r, "from"), S(r, "error") ? S(r, "error") : "?");
			vm_mark(d, vm, "failed", why);
			json_decref(vm);
		}
		tr_warn("ha: %s could not be restarted: %s", S(r, "name"),
			S(r, "error") ? S(r, "error") : "?");
	}
	json_decref(done);
}

/* ---- fencing ---- */

struct job {
	char host[256];
};

static void fenced(struct tr_daemon *d, void *arg, json_t *result,
		   trellis_call_t *call)
{
	struct job *j = arg;
	char obj[300];
	snprintf(obj, sizeof obj, "host %s", j->host);
	busy_clear(j->host);
	struct tr_sql *db = tr_store_sql(d->store);
	if (!result) {
		/* No restart: its VMs may still run. */
		row_set(db, j->host, "fence_failed", 0, call->message);
		host_state(d, j->host, "fence_failed", call->message);
		audit(d, "ha.fence", obj, 0, trellis_error_name(call->code));
		publish(d, "ha.fence_failed", j->host, call->message);
		tr_warn("ha: fencing %s failed: %s; its VMs are not restarted",
			j->host, call->message);
		free(j);
		return;
	}
	row_set(db, j->host, "fenced", 0, NULL);
	host_state(d, j->host, "fenced", NULL);
	audit(d, "ha.fence", obj, 1, NULL);
	publish(d, "ha.fenced", j->host, NULL);
	tr_info("ha: host %s fenced", j->host);
	json_t *h = NULL;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (tr_store_get(d->store, TR_KIND_HOST, j->host, &h, &c2) == 0)
		restart_vms(d, j->host, h);
	json_decref(h);
	free(j);
}

static void declare_failed(struct tr_daemon *d, json_t *h, const char *why)
{
	const struct tr_config *c = d->config;
	const char *host = S(h, "name");
	char obj[300];
	snprintf(obj, sizeof obj, "host %s", host);
	struct tr_sql *db = tr_store_sql(d->store);
	row_set(db, host, "fencing", 0, why);
	host_state(d, host, "failed", why);
	audit(d, "ha.host_failed", obj, 1, NULL);
	publish(d, "ha.host_failed", host, why);
	tr_warn("ha: host %s failed (%s): fencing it with %s", host, why,
		c->ha_fence_action);
	json_t *cmd = json_array();
	for (size_t i = 0; i < c->n_ha_fence; i++)
		json_array_append_new(cmd, json_string(c->ha_fence[i]));
	json_t *args = json_pack("{s:s, s:s?, s:s?, s:o, s:I}", "host", host,
				 "uri", S(h, "uri"), "hostname", S(h, "hostname"),
				 "command", cmd, "timeout",
				 (json_int_t)c->ha_fence_timeout_ms);
	struct job *j = tr_xcalloc(1, sizeof *j);
	snprintf(j->host, sizeof j->host, "%s", host);
	busy_set(host);
	tr_action_submit(d, c->ha_fence_action, args, fenced, j);
}

/* ---- probing ---- */

static void probed(struct tr_daemon *d, void *arg, json_t *result,
		   trellis_call_t *call)
{
	struct job *j = arg;
	busy_clear(j->host);
	struct tr_sql *db = tr_store_sql(d->store);
	struct hrow r;
	row_get(db, j->host, &r);
	if (strcmp(r.state, "ok") && strcmp(r.state, "suspect")) {
		free(j);
		return; /* cleared or fenced meanwhile */
	}
	int alive = result && (json_is_true(json_object_get(result, "connection")) ||
			       json_is_true(json_object_get(result, "probe")));
	long long now = (long long)time(NULL);
	if (alive) {
		if (!strcmp(r.state, "suspect")) {
			row_set(db, j->host, "ok", 0, NULL);
			tr_info("ha: host %s answers again", j->host);
		}
		free(j);
		return;
	}
	char why[1200];
	snprintf(why, sizeof why, "connection: %s; probe: %s",
		 result ? S(result, "connection_error") : call->message,
		 result && json_is_true(json_object_get(result, "has_probe"))
		     ? S(result, "probe_error")
		     : "(none configured)");
	if (!r.since) {
		row_set(db, j->host, "suspect", now, why);
		tr_warn("ha: host %s does not answer (%s)", j->host, why);
		free(j);
		return;
	}
	if ((now - r.since) * 1000 < (long long)d->config->ha_fail_after_ms) {
		free(j);
		return;
	}
	json_t *h = NULL;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (tr_store_get(d->store, TR_KIND_HOST, j->host, &h, &c2) == 0)
		declare_failed(d, h, why);
	json_decref(h);
	free(j);
}

static void tick(struct tr_daemon *d, void *arg)
{
	(void)arg;
	if (d->stopping || !d->store)
		return;
	follow_restarts(d);
	json_t *hosts = NULL;
	struct tr_store_query q = {0};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_list(d->store, TR_KIND_HOST, &q, &hosts, &call) < 0)
		return;
	struct tr_sql *db = tr_store_sql(d->store);
	const struct tr_config *c = d->config;
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(hosts, "items"), i, h)
	{
		const char *name = S(h, "name");
		struct hrow r;
		if (!name || busy(name) || !S(h, "hypervisor") || !S(h, "uri"))
			continue;
		row_get(db, name, &r);
		if (strcmp(r.state, "ok") && strcmp(r.state, "suspect"))
			continue; /* failed hosts wait for the operator */
		json_t *cmd = json_array();
		for (size_t k = 0; k < c->n_ha_probe; k++)
			json_array_append_new(cmd, json_string(c->ha_probe[k]));
		json_t *args = json_pack("{s:s, s:s, s:s, s:s?, s:o}", "host", name,
					 "hypervisor", S(h, "hypervisor"), "uri",
					 S(h, "uri"), "hostname", S(h, "hostname"),
					 "command", cmd);
		struct job *j = tr_xcalloc(1, sizeof *j);
		snprintf(j->host, sizeof j->host, "%s", name);
		busy_set(name);
		tr_action_submit(d, "ha.probe", args, probed, j);
	}
	json_decref(hosts);
}

void tr_ha_start(struct tr_daemon *d)
{
	if (!d->config || !d->config->ha_interval_ms)
		return;
	tr_info("ha: probing hosts every %u ms, failed after %u ms, fence %s",
		d->config->ha_interval_ms, d->config->ha_fail_after_ms,
		d->config->ha_fence_action);
	tr_daemon_timer_add(d, d->config->ha_interval_ms,
			    d->config->ha_interval_ms, tick, NULL,
			    &ha_state.timer);
}

void tr_ha_stop(struct tr_daemon *d)
{
	if (ha_state.timer)
		tr_daemon_timer_cancel(d, ha_state.timer);
	ha_state.timer = 0;
	for (size_t i = 0; i < ha_state.n; i++)
		free(ha_state.inflight[i]);
	ha_state.n = 0;
}

int tr_ha_status(struct tr_store *s, json_t **out, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	json_t *hosts = json_array(), *restarts = json_array();
	if (tr_sql_prepare(db,
			   "SELECT host, state, failing_since, changed_at, "
			   "reason FROM ha_host ORDER BY host",
			   &st) != 0)
		goto fail;
	while (tr_sql_step(st) == TR_SQL_ROW) {
		json_t *o = json_pack(
		    "{s:s, s:s, s:I, s:I}", "host", tr_sql_column_text(st, 0),
		    "state", tr_sql_column_text(st, 1), "failing_since",
		    (json_int_t)tr_sql_column_int64(st, 2), "changed_at",
		    (json_int_t)tr_sql_column_int64(st, 3));
		const char *why = tr_sql_column_text(st, 4);
		json_object_set_new(o, "reason",
				    why ? json_string((const char *)why) : json_null());
		json_array_append_new(hosts, o);
	}
	tr_sql_finalize(st);
	if (tr_sql_prepare(db,
			   "SELECT vm, name, from_host, instance, state, "
			   "to_host, error, at FROM ha_restart ORDER BY id",
			   &st) != 0)
		goto fail;
	static const char *const k[] = {"vm",	 "name", "from", "instance",
					"state", "to",	 "error"};
	while (tr_sql_step(st) == TR_SQL_ROW) {
		json_t *o = json_object();
		for (int c = 0; c < 7; c++) {
			const char *t = tr_sql_column_text(st, c);
			json_object_set_new(o, k[c],
					    t ? json_string((const char *)t)
					      : json_null());
		}
		json_object_set_new(o, "at",
				    json_integer(tr_sql_column_int64(st, 7)));
		json_array_append_new(restarts, o);
	}
	tr_sql_finalize(st);
	*out = json_pack("{s:o, s:o}", "hosts", hosts, "restarts", restarts);
	return 0;
fail:
	json_decref(hosts);
	json_decref(restarts);
	return tr_call_set(call, TRELLIS_E_IO, "ha: %s", tr_sql_errmsg(db));
}

int tr_ha_clear(struct tr_daemon *d, const char *host, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(d->store);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "DELETE FROM ha_host WHERE host = ?1", &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "ha: %s",
				   tr_sql_errmsg(db));
	tr_sql_bind_text_copy(st, 1, host);
	tr_sql_step(st);
	tr_sql_finalize(st);
	if ((int)tr_sql_changes(db) == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "ha: holds nothing of host '%s'", host);
	char obj[300];
	snprintf(obj, sizeof obj, "host %s", host);
	host_state(d, host, "unreachable", "cleared by the operator: refresh it");
	audit(d, "ha.clear", obj, 1, NULL);
	return 0;
}
