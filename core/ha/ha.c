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

#include "../actions/action.h"
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
	/* Fenced hosts: when each may be asked again whether it is back
	 * (a dead host's connect may hold a worker for long). */
	size_t n_back;
	struct {
		char *host;
		long long at;
		int after_clear; /* cleared while fenced: sweep once it answers */
	} back[MAX_INFLIGHT];
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

/* The fence's arguments: what the fence action takes of the host, the
 * script's argv (ha.fence) and the BMC's (ha.bmc.*). */
static json_t *fence_args(const struct tr_config *c, json_t *h)
{
	json_t *cmd = json_array();
	for (size_t i = 0; i < c->n_ha_fence; i++)
		json_array_append_new(cmd, json_string(c->ha_fence[i]));
	json_t *all = json_pack(
	    "{s:s, s:s?, s:s?, s:o, s:I, s:s?, s:s?, s:s?, s:s?, s:b}", "host",
	    S(h, "name"), "uri", S(h, "uri"), "hostname", S(h, "hostname"),
	    "command", cmd, "timeout", (json_int_t)c->ha_fence_timeout_ms, "url",
	    c->ha_bmc_url, "system", c->ha_bmc_system, "credentials",
	    c->ha_bmc_credentials, "ca", c->ha_bmc_ca, "insecure",
	    c->ha_bmc_insecure == 1);
	const struct tr_action *a = tr_action_find(c->ha_fence_action);
	if (!a || !a->input)
		return all; /* the submit says what is wrong */
	json_t *args = json_object();
	for (const struct tr_field *f = a->input; f->name; f++) {
		json_t *v = json_object_get(all, f->name);
		if (v)
			json_object_set(args, f->name, v);
	}
	json_decref(all);
	return args;
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
	json_t *args = fence_args(c, h);
	struct job *j = tr_xcalloc(1, sizeof *j);
	snprintf(j->host, sizeof j->host, "%s", host);
	busy_set(host);
	tr_action_submit(d, c->ha_fence_action, args, fenced, j);
}

/* ---- a fenced host that comes back ---- */

/* host's entry in ha_state.back (made), or -1 when it is full. */
static long back_slot(const char *host)
{
	size_t i;
	for (i = 0; i < ha_state.n_back; i++)
		if (!strcmp(ha_state.back[i].host, host))
			return (long)i;
	if (i == MAX_INFLIGHT)
		return -1;
	ha_state.back[i].host = tr_xstrdup(host);
	ha_state.back[i].at = 0;
	ha_state.back[i].after_clear = 0;
	ha_state.n_back++;
	return (long)i;
}

static void back_flag(const char *host)
{
	long i = back_slot(host);
	if (i >= 0)
		ha_state.back[i].after_clear = 1;
}

/* Whether host was cleared while fenced and not swept since (then it is
 * not any more). */
static int back_take(const char *host)
{
	for (size_t i = 0; i < ha_state.n_back; i++)
		if (!strcmp(ha_state.back[i].host, host) &&
		    ha_state.back[i].after_clear) {
			ha_state.back[i].after_clear = 0;
			return 1;
		}
	return 0;
}

/* A fenced host keeps the definitions of the VMs restarted elsewhere;
 * when it answers again (its power back on, its hypervisor up), each
 * domain of it that Trellis records on another host is powered off if it
 * runs and undefined (hypervisor.vm_destroy: never started), audited as
 * ha.stale_undefined.  Domains of VMs recorded on it, or on no host (a
 * restart not confirmed yet, a VM that fits nowhere), and domains Trellis
 * does not know are left.  Then HA's state of the host is "returned",
 * and it waits for the operator's `ha clear` like a fenced one. */
struct sweep {
	char host[256];
	int mark;     /* a fenced host: "returned" at the end */
	size_t left;  /* destroys in flight */
	size_t done, failed;
	char names[900];
};

static void sweep_end(struct tr_daemon *d, struct sweep *w)
{
	char why[1200];
	if (w->failed)
		snprintf(why, sizeof why,
			 "back; %zu stale domain(s) undefined, %zu could not "
			 "be: fenced still",
			 w->done, w->failed);
	else
		snprintf(why, sizeof why,
			 "back; %zu stale domain(s) undefined%s%s", w->done,
			 w->done ? ": " : "", w->names);
	struct tr_sql *db = tr_store_sql(d->store);
	if (w->mark && !w->failed)
		row_set(db, w->host, "returned", 0, why);
	if (!w->mark && w->failed)
		back_flag(w->host); /* again at its next answer */
	publish(d, "ha.host_returned", w->host, why);
	tr_info("ha: fenced host %s answers again: %s", w->host, why);
	busy_clear(w->host);
	free(w);
}

struct stale {
	struct sweep *w;
	char name[256], to[256];
};

static void stale_gone(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	struct stale *s = arg;
	struct sweep *w = s->w;
	char obj[800];
	snprintf(obj, sizeof obj, "vm %s on %s (runs on %s)", s->name, w->host,
		 s->to);
	audit(d, "ha.stale_undefined", obj, result != NULL,
	      result ? NULL : trellis_error_name(call->code));
	if (result) {
		w->done++;
		size_t n = strlen(w->names);
		snprintf(w->names + n, sizeof w->names - n, "%s%s",
			 n ? ", " : "", s->name);
		tr_info("ha: stale domain of %s undefined on %s (it runs on %s)",
			s->name, w->host, s->to);
	} else {
		w->failed++;
		tr_warn("ha: stale domain of %s on %s: %s", s->name, w->host,
			call->message);
	}
	free(s);
	if (--w->left == 0)
		sweep_end(d, w);
}

static void swept_list(struct tr_daemon *d, void *arg, json_t *result,
		       trellis_call_t *call)
{
	struct sweep *w = arg;
	(void)call;
	if (!result) { /* still away */
		if (!w->mark)
			back_flag(w->host);
		busy_clear(w->host);
		free(w);
		return;
	}
	size_t i;
	json_t *dom;
	w->left = 1; /* this loop's: a destroy that fails at once ends no sweep */
	json_array_foreach(json_object_get(result, "items"), i, dom)
	{
		const char *uuid = S(dom, "uuid");
		json_t *vm = NULL;
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		if (!uuid || tr_store_get(d->store, TR_KIND_VM, uuid, &vm, &c2) < 0)
			continue; /* not ours */
		const char *at = S(vm, "host");
		if (at && *at && strcmp(at, w->host)) {
			struct stale *s = tr_xcalloc(1, sizeof *s);
			s->w = w;
			snprintf(s->name, sizeof s->name, "%s",
				 S(vm, "name") ? S(vm, "name") : uuid);
			snprintf(s->to, sizeof s->to, "%s", at);
			w->left++;
			tr_action_submit(d, "hypervisor.vm_destroy",
					 json_pack("{s:s, s:s}", "host", w->host,
						   "uuid", uuid),
					 stale_gone, s);
		}
		json_decref(vm);
	}
	if (--w->left == 0)
		sweep_end(d, w);
}

/* Whether a fenced host is due to be asked again (every 5 intervals,
 * at least 5 s), and if so the next time is set. */
static int back_due(const struct tr_daemon *d, const char *host)
{
	long long now = (long long)time(NULL);
	long long every = (long long)d->config->ha_interval_ms * 5 / 1000;
	if (every < 5)
		every = 5;
	long i = back_slot(host);
	if (i < 0)
		return 1;
	if (ha_state.back[i].at > now)
		return 0;
	ha_state.back[i].at = now + every;
	return 1;
}

/* A fenced host (mark: HA's state of it becomes "returned"), or one the
 * operator cleared while it was fenced, answering again (mark 0). */
static void sweep_start(struct tr_daemon *d, const char *host, int mark)
{
	if (mark && !back_due(d, host))
		return;
	struct sweep *w = tr_xcalloc(1, sizeof *w);
	w->mark = mark;
	snprintf(w->host, sizeof w->host, "%s", host);
	busy_set(host);
	tr_action_submit(d, "hypervisor.vm_list",
			 json_pack("{s:s}", "host", host), swept_list, w);
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
		if (back_take(j->host))
			sweep_start(d, j->host, 0);
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
	if (d->stopping || !d->store || !tr_daemon_leads(d, "ha.check"))
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
		if (!strcmp(r.state, "fenced")) {
			sweep_start(d, name, 1); /* is it back? */
			continue;
		}
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
	for (size_t i = 0; i < ha_state.n_back; i++)
		free(ha_state.back[i].host);
	ha_state.n_back = 0;
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
	struct hrow was;
	if (row_get(db, host, &was) > 0 && !strcmp(was.state, "fenced"))
		back_flag(host); /* its stale domains, once it answers */
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
