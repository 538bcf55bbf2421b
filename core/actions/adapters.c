/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adapters.c - the storage.* actions of ABI 1.1: discovery, host
 * assignment (LUN masking) and cloud bridges between storage resources
 * (the volume copy a transfer runs over a bridge is volcopy.c).
 *
 * A pool whose options name a credential (core/creds) opens with the
 * credential's endpoint, username and options added to its own
 * (tr_pool_options); the secret stays in core/creds and the plugin reads
 * it by name.  Discovery can also run on a credential alone, before any
 * pool exists: its connection is keyed "credential/NAME" (a pool name
 * cannot hold a '/').
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "../creds/creds.h"
#include "../dispatch/dispatch.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "action.h"
#include "lookup.h"
#include "stref.h"

json_t *tr_pool_options(const char *plugin, json_t *options,
			trellis_call_t *call, int *rc)
{
	const char *cred = json_string_value(json_object_get(options, "credential"));
	*rc = 0;
	if (!cred)
		return json_incref(options);
	json_t *rec = NULL;
	if ((*rc = tr_creds_get(cred, &rec, call)) < 0)
		return NULL;
	const char *module = json_string_value(json_object_get(rec, "module"));
	if (plugin && module && strcmp(plugin, module)) {
		*rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				  "credential '%s' is for the storage adapter "
				  "'%s', not '%s'",
				  cred, module, plugin);
		json_decref(rec);
		return NULL;
	}
	json_t *o = json_deep_copy(json_object_get(rec, "options"));
	if (!json_is_object(o)) {
		json_decref(o);
		o = json_object();
	}
	json_object_update(o, options); /* the pool's own options win */
	json_object_set(o, "endpoint", json_object_get(rec, "endpoint"));
	json_object_set(o, "username", json_object_get(rec, "username"));
	json_decref(rec);
	return o;
}


/* Opens (or finds cached) the connection key of plugin on uri with the
 * options opts (the credential's added, lookup.h). */
static int open_conn(struct tr_daemon *d, const char *key, const char *plugin,
		     const char *uri, json_t *options, uint32_t flags,
		     struct tr_stref *r, trellis_call_t *call)
{
	int rc;
	json_t *opts = tr_pool_options(plugin, options, call, &rc);
	snprintf(r->name, sizeof r->name, "%s", key);
	struct tr_conn_spec spec = {
	    .kind = TR_CONN_POOL,
	    .key = key,
	    .plugin = plugin,
	    .uri = uri,
	    .name = key,
	    .options = opts,
	    .flags = flags,
	};
	if (!rc)
		rc = tr_conn_get(d, &spec, call, &r->c);
	json_decref(opts);
	if (rc < 0)
		return rc;
	r->t = tr_conn_target(r->c);
	return 0;
}

static int open_cred(struct tr_daemon *d, const char *cred,
		     const char *target, struct tr_stref *r, trellis_call_t *call)
{
	json_t *rec = NULL;
	int rc = tr_creds_get(cred, &rec, call);
	if (rc < 0)
		return rc;
	char key[200];
	snprintf(key, sizeof key, "credential/%s", cred);
	json_t *o = json_pack("{s:s}", "credential", cred);
	rc = open_conn(d, key, json_string_value(json_object_get(rec, "module")),
		       target && *target ? target : "*", o, 0, r, call);
	json_decref(o);
	json_decref(rec);
	return rc;
}

int tr_stref_pool(struct tr_daemon *d, const char *pool, struct tr_stref *r,
		     trellis_call_t *call)
{
	json_t *rec = NULL;
	int rc = tr_lookup(d, TR_KIND_POOL, pool, &rec, call);
	if (rc < 0)
		return rc;
	rc = open_conn(d, pool, json_string_value(json_object_get(rec, "plugin")),
		       json_string_value(json_object_get(rec, "target")),
		       json_object_get(json_object_get(rec, "spec"), "options"),
		       TRELLIS_POOL_OPEN_CREATE, r, call);
	json_decref(rec);
	return rc;
}

int tr_stref_open(const struct tr_action_env *env, json_t *args,
		    struct tr_stref *r, trellis_call_t *call)
{
	memset(r, 0, sizeof *r);
	r->d = env ? env->daemon : NULL;
	if (!r->d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "storage actions need the daemon");
	const char *pool = tr_json_str(args, "pool"),
		   *cred = tr_json_str(args, "credential");
	if (pool && *pool)
		return tr_stref_pool(r->d, pool, r, call);
	if (cred && *cred)
		return open_cred(r->d, cred, tr_json_str(args, "target"), r,
				 call);
	return tr_call_set(call, TRELLIS_E_INVALID_ARG,
			   "give a pool or a credential");
}

void tr_stref_close(struct tr_stref *r)
{
	if (r->c)
		tr_conn_put(r->d, r->c);
	r->c = NULL;
}

/* ---- discovery ---- */

static const char *const type_names[] = {NULL,	    "systems", "pools",
					 "volumes", "ports",   "assignments"};

static json_t *obj_json(const trellis_st_object_t *o)
{
	json_t *j = json_pack("{s:s, s:s, s:s}", "id", o->id, "name", o->name,
			      "state", o->state);
	if (o->system[0])
		json_object_set_new(j, "system", json_string(o->system));
	if (o->parent[0])
		json_object_set_new(
		    j, o->type == TRELLIS_ST_VOLUME ? "pool" : "volume",
		    json_string(o->parent));
	if (o->role[0])
		json_object_set_new(
		    j, o->type == TRELLIS_ST_PORT ? "role" : "class",
		    json_string(o->role));
	if (o->host[0])
		json_object_set_new(j, "host", json_string(o->host));
	if (o->type == TRELLIS_ST_ASSIGNMENT) {
		json_t *ini = json_array();
		char buf[sizeof o->address];
		snprintf(buf, sizeof buf, "%s", o->address);
		for (char *sv, *t = strtok_r(buf, " ", &sv); t;
		     t = strtok_r(NULL, " ", &sv))
			json_array_append_new(ini, json_string(t));
		json_object_set_new(j, "initiators", ini);
	} else if (o->address[0]) {
		json_object_set_new(j, "address", json_string(o->address));
	}
	if (o->type != TRELLIS_ST_PORT && o->type != TRELLIS_ST_ASSIGNMENT)
		json_object_set_new(j, "capacity",
				    json_integer((json_int_t)o->capacity));
	if (o->type == TRELLIS_ST_SYSTEM || o->type == TRELLIS_ST_POOL)
		json_object_set_new(j, "available",
				    json_integer((json_int_t)o->available));
	return j;
}

static int collect(void *opaque, const trellis_st_object_t *o)
{
	json_t *out = opaque;
	if (o->type >= TRELLIS_ST_SYSTEM && o->type <= TRELLIS_ST_ASSIGNMENT)
		json_array_append_new(
		    json_object_get(out, type_names[o->type]), obj_json(o));
	return 0;
}

static int what_bits(json_t *types, uint32_t *what, trellis_call_t *call)
{
	size_t i;
	json_t *t;
	*what = 0;
	json_array_foreach(types, i, t)
	{
		const char *s = json_string_value(t);
		int hit = 0;
		for (int k = 1; k <= TRELLIS_ST_ASSIGNMENT; k++)
			if (s && (!strcmp(s, type_names[k]) ||
				  !strncmp(s, type_names[k], strlen(s)))) {
				*what |= TRELLIS_ST_BIT(k);
				hit = 1;
				break;
			}
		if (!hit)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "discover: unknown type '%s' "
					   "(systems, pools, volumes, ports, "
					   "assignments)",
					   s ? s : "?");
	}
	return 0;
}

static int run_discover(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	struct tr_stref r;
	uint32_t what;
	int rc = what_bits(json_object_get(args, "types"), &what, call);
	if (rc || (rc = tr_stref_open(env, args, &r, call)))
		return rc;
	json_t *out = json_object();
	for (int k = 1; k <= TRELLIS_ST_ASSIGNMENT; k++)
		json_object_set_new(out, type_names[k], json_array());
	rc = tr_st_discover(r.t, call, what,
			    json_is_true(json_object_get(args, "fresh"))
				? TRELLIS_DISCOVER_FRESH
				: 0,
			    collect, out);
	json_object_set_new(out, "source", json_string(r.name));
	tr_stref_close(&r);
	if (rc) {
		json_decref(out);
		return rc;
	}
	*result = out;
	return 0;
}

/* ---- assignments ---- */

/* The seed's rule, before any plugin is asked: one volume, initiators
 * given as the host's (strings), at least one for an assign. */
/* A list given as one string ("a b", "a,b": a workflow input) as an
 * array, in place in args. */
static void as_list(json_t *args, const char *key)
{
	json_t *v = json_object_get(args, key);
	if (!json_is_string(v))
		return;
	json_t *a = json_array();
	char *dup = tr_xstrdup(json_string_value(v));
	for (char *sv, *t = strtok_r(dup, " ,", &sv); t;
	     t = strtok_r(NULL, " ,", &sv))
		json_array_append_new(a, json_string(t));
	free(dup);
	json_object_set_new(args, key, a);
}

static int assign_spec(json_t *args, trellis_assign_spec_t *s,
		       const char **ini, size_t cap, const char *host_key,
		       int need, trellis_call_t *call)
{
	as_list(args, "initiators");
	json_t *vol = json_object_get(args, "volume");
	json_t *list = json_object_get(args, "initiators");
	memset(s, 0, sizeof *s);
	s->struct_size = sizeof *s;
	if (json_is_array(vol))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "an assignment takes one volume, not %zu "
				   "(assign each on its own)",
				   json_array_size(vol));
	s->volume = json_string_value(vol);
	s->host = tr_json_str(args, host_key);
	if (!s->volume || !*s->volume || !s->host || !*s->host)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "an assignment needs a volume and a host");
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x)
	{
		const char *v = json_string_value(x);
		const char *colon = v ? strchr(v, '@') : NULL;
		if (!v || !*v)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "initiators: strings (a host's "
					   "ports)");
		/* "port@host" names its host: it must be this one */
		if (colon && strcmp(colon + 1, s->host))
			return tr_call_set(
			    call, TRELLIS_E_INVALID_ARG,
			    "initiator '%s' is host '%s''s, not '%s''s: an "
			    "assignment takes initiators of one host only",
			    v, colon + 1, s->host);
		if (s->n_initiators == cap)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "at most %zu initiators", cap);
		ini[s->n_initiators++] = v;
	}
	if (need && !s->n_initiators)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "assign '%s' to '%s': no initiators given",
				   s->volume, s->host);
	s->initiators = ini;
	return 0;
}

static int run_assign(const struct tr_action_env *env, json_t *args,
		      json_t **result, trellis_call_t *call)
{
	struct tr_stref r;
	trellis_assign_spec_t s;
	const char *ini[64];
	int rc = assign_spec(args, &s, ini, 64, "host", 1, call);
	if (rc || (rc = tr_stref_open(env, args, &r, call)))
		return rc;
	rc = tr_st_assign(r.t, call, &s, env ? env->idem_key : NULL,
			  0);
	tr_stref_close(&r);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s, s:O}", "pool",
				    tr_json_str(args, "pool"), "volume",
				    s.volume, "host", s.host, "initiators",
				    json_object_get(args, "initiators"));
	return rc;
}

static int run_unassign(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	struct tr_stref r;
	trellis_assign_spec_t s;
	const char *ini[64];
	int rc = assign_spec(args, &s, ini, 64, "host", 0, call);
	if (rc || (rc = tr_stref_open(env, args, &r, call)))
		return rc;
	rc = tr_st_unassign(r.t, call, &s,
			    env ? env->idem_key : NULL, 0);
	tr_stref_close(&r);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s}", "pool",
				    tr_json_str(args, "pool"), "volume",
				    s.volume, "host", s.host);
	return rc;
}

/* Migration: the new host's initiators are added first (the volume is
 * never unreachable), then the old host's view is removed from the
 * storage and from its access list. */
static int run_reassign(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	struct tr_stref r;
	trellis_assign_spec_t to, from;
	const char *ini[64];
	int rc = assign_spec(args, &to, ini, 64, "to", 1, call);
	if (rc)
		return rc;
	from = to;
	from.host = tr_json_str(args, "from");
	from.n_initiators = 0; /* the old host's whole view */
	from.initiators = NULL;
	if (!from.host || !*from.host || !strcmp(from.host, to.host))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "reassign '%s': from and to must be two "
				   "hosts",
				   to.volume);
	if ((rc = tr_stref_open(env, args, &r, call)))
		return rc;
	rc = tr_st_assign(r.t, call, &to, env ? env->idem_key : NULL,
			  0);
	if (!rc)
		rc = tr_st_unassign(r.t, call, &from,
				    env ? env->idem_key : NULL, 0);
	tr_stref_close(&r);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s, s:s}", "pool",
				    tr_json_str(args, "pool"), "volume",
				    to.volume, "from", from.host, "to",
				    to.host);
	return rc;
}

/* ---- bridges ---- */

struct ports {
	trellis_st_object_t first;
	int n;
	const char *want;
};

static int pick_port(void *opaque, const trellis_st_object_t *o)
{
	struct ports *p = opaque;
	if (o->type != TRELLIS_ST_PORT || strcmp(o->role, "target"))
		return 0;
	if (p->want && *p->want && strcmp(o->id, p->want))
		return 0;
	if (!p->n++)
		p->first = *o;
	return 0;
}

/*
 * Lists B's access ports, selects one (the port asked for, or the first
 * target port), issues the connection request through B's adapter and
 * records the bridge.  B is reopened first, so the bridge uses B's
 * credential as it is now; on any failure nothing is recorded and B's
 * connection is not left in the cache.
 */
static int run_bridge_establish(const struct tr_action_env *env,
				json_t *args, json_t **result,
				trellis_call_t *call)
{
	struct tr_stref ra, rb;
	const char *a = tr_json_str(args, "a"), *b = tr_json_str(args, "b");
	char name[300];
	const char *given = tr_json_str(args, "name");
	snprintf(name, sizeof name, "%s", given && *given ? given : "");
	if (!name[0])
		snprintf(name, sizeof name, "%s--%s", a ? a : "", b ? b : "");
	struct tr_daemon *d = env ? env->daemon : NULL;
	if (!d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "bridges need the daemon");
	if (!a || !b || !strcmp(a, b))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "a bridge joins two storage resources");
	json_t *have = NULL;
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	if (tr_bridge_get(name, &have, &c2) == 0) {
		/* a replay of this step, or the same bridge asked twice */
		const char *ha = tr_json_str(have, "a"),
			   *hb = tr_json_str(have, "b");
		int same = ha && hb && !strcmp(ha, a) && !strcmp(hb, b);
		if (same) {
			*result = have;
			return 0;
		}
		json_decref(have);
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "bridge '%s' already exists", name);
	}
	memset(&ra, 0, sizeof ra);
	memset(&rb, 0, sizeof rb);
	ra.d = rb.d = d;
	tr_conn_forget(d, TR_CONN_POOL, b);
	int rc = tr_stref_pool(d, a, &ra, call);
	if (!rc)
		rc = tr_stref_pool(d, b, &rb, call);
	struct ports ps = {.want = tr_json_str(args, "port")};
	if (!rc)
		rc = tr_st_discover(rb.t, call,
				    TRELLIS_ST_BIT(TRELLIS_ST_PORT),
				    TRELLIS_DISCOVER_FRESH, pick_port, &ps);
	if (!rc && !ps.n)
		rc = tr_call_set(call, TRELLIS_E_NOTFOUND,
				 "pool '%s' has no target port%s%s%s to bridge "
				 "to",
				 b, ps.want ? " '" : "", ps.want ? ps.want : "",
				 ps.want ? "'" : "");
	trellis_st_object_t port;
	if (!rc)
		rc = tr_st_port_connect(rb.t, call, ps.first.id,
					env->idem_key, 0, &port);
	tr_stref_close(&ra);
	tr_stref_close(&rb);
	if (rc) {
		tr_conn_forget(d, TR_CONN_POOL, b);
		return rc;
	}
	json_t *rec = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:i}", "name", name, "a", a,
	    "b", b, "port", port.id, "address", port.address, "state",
	    "connected", "created_at", (json_int_t)time(NULL), "ports",
	    ps.n);
	const char *owner = tr_json_str(args, "owner");
	if (owner && *owner)
		json_object_set_new(rec, "owner", json_string(owner));
	if ((rc = tr_bridge_put(name, rec, call))) {
		json_decref(rec);
		return rc;
	}
	tr_daemon_publish(d, "storage.bridge.established", rec);
	*result = rec;
	return 0;
}

static int run_bridge_check(const struct tr_action_env *env, json_t *args,
			    json_t **result, trellis_call_t *call)
{
	(void)env;
	return tr_bridge_between(tr_json_str(args, "a"), tr_json_str(args, "b"),
				 result, call);
}

/* ---- vdisk.provision: a pool with room ---- */

struct room {
	uint64_t best;
	char best_pool[200], best_sys[256];
};

static int run_pick_pool(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	struct tr_daemon *d = env ? env->daemon : NULL;
	json_int_t size = json_integer_value(json_object_get(args, "size"));
	if (!d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "storage.pick_pool needs the daemon");
	if (size <= 0)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "storage.pick_pool: size must be positive");
	as_list(args, "pools");
	json_t *pools = json_object_get(args, "pools");
	json_t *names = json_array();
	if (json_array_size(pools)) {
		json_array_extend(names, pools);
	} else {
		char err[256];
		struct tr_store *st = tr_store_open(d->store_path,
						    TR_STORE_READONLY, err,
						    sizeof err);
		json_t *all = NULL;
		struct tr_store_query q = {0};
		if (!st || tr_store_list(st, TR_KIND_POOL, &q, &all, call) < 0) {
			if (st)
				tr_store_close(st);
			json_decref(names);
			return st ? call->code
				  : tr_call_set(call, TRELLIS_E_IO, "%s", err);
		}
		tr_store_close(st);
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(all, "items"), i, p)
		    json_array_append(names, json_object_get(p, "name"));
		json_decref(all);
	}
	struct room r = {0};
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
	{
		struct tr_stref pr;
		trellis_pool_info_t info;
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		memset(&pr, 0, sizeof pr);
		pr.d = d;
		if (tr_stref_pool(d, json_string_value(n), &pr, &c2) < 0)
			continue; /* a pool that cannot open has no room */
		if (tr_st_pool_info(pr.t, &c2, 0, &info) == 0 &&
		    info.available > r.best) {
			r.best = info.available;
			snprintf(r.best_pool, sizeof r.best_pool, "%s",
				 json_string_value(n));
		}
		tr_stref_close(&pr);
		if (r.best >= (uint64_t)size)
			break; /* the first with room, in the list's order */
	}
	json_decref(names);
	if (r.best < (uint64_t)size)
		return tr_call_set(call, TRELLIS_E_NOSPACE,
				   "no pool has %lld bytes free (the most is "
				   "%llu, in %s)",
				   (long long)size, (unsigned long long)r.best,
				   r.best_pool[0] ? r.best_pool : "none");
	*result = json_pack("{s:s, s:I}", "pool", r.best_pool, "available",
			    (json_int_t)r.best);
	return 0;
}

static const struct tr_field pick_in[] = {
    {"size", TR_T_SIZE, 1, "bytes the volume needs"},
    {"pools", TR_T_ANY, 0,
     "the pools to consider, a list or one string (default: all)"},
    TR_FIELDS_END};
static const struct tr_field pick_out[] = {
    {"pool", TR_T_STRING, 1, "the first pool with room"},
    {"available", TR_T_INT, 1, "its free bytes"},
    TR_FIELDS_END};

/* ---- the actions ---- */

static const struct tr_field discover_in[] = {
    {"pool", TR_T_STRING, 0, "a pool (or give credential)"},
    {"credential", TR_T_STRING, 0, "a credential, without a pool"},
    {"target", TR_T_STRING, 0, "with credential: the plugin's target"},
    {"types", TR_T_ARRAY, 0,
     "systems, pools, volumes, ports, assignments (default: all)"},
    {"fresh", TR_T_BOOL, 0, "ask the backend again, not the cache"},
    TR_FIELDS_END};
static const struct tr_field discover_out[] = {
    {"systems", TR_T_ARRAY, 1, "storage systems (VENDOR-MODEL-SERIAL)"},
    {"pools", TR_T_ARRAY, 1, "their pools (after the pool filter)"},
    {"volumes", TR_T_ARRAY, 1, "their volumes (nodes)"},
    {"ports", TR_T_ARRAY, 1, "target and initiator ports"},
    {"assignments", TR_T_ARRAY, 1, "views: a volume to a host's initiators"},
    {"source", TR_T_STRING, 1, "the pool, or credential/NAME"},
    TR_FIELDS_END};
static const struct tr_field assign_in[] = {
    {"pool", TR_T_STRING, 1, "the volume's pool"},
    {"volume", TR_T_ANY, 1, "one volume's name"},
    {"host", TR_T_STRING, 1, "the host"},
    {"initiators", TR_T_ANY, 0,
     "that host's initiator ports (a list, or one string)"},
    TR_FIELDS_END};
static const struct tr_field assign_out[] = {
    {"pool", TR_T_STRING, 1, "pool"},
    {"volume", TR_T_STRING, 1, "volume"},
    {"host", TR_T_STRING, 1, "host"},
    {"initiators", TR_T_ANY, 0, "initiators"},
    TR_FIELDS_END};
static const struct tr_field reassign_in[] = {
    {"pool", TR_T_STRING, 1, "the volume's pool"},
    {"volume", TR_T_ANY, 1, "one volume's name"},
    {"from", TR_T_STRING, 1, "the host it leaves"},
    {"to", TR_T_STRING, 1, "the host it goes to"},
    {"initiators", TR_T_ANY, 1,
     "the new host's initiator ports (a list, or one string)"},
    TR_FIELDS_END};
static const struct tr_field reassign_out[] = {
    {"pool", TR_T_STRING, 1, "pool"},	  {"volume", TR_T_STRING, 1, "volume"},
    {"from", TR_T_STRING, 1, "old host"}, {"to", TR_T_STRING, 1, "new host"},
    TR_FIELDS_END};
static const struct tr_field bridge_in[] = {
    {"a", TR_T_STRING, 1, "the first storage resource (a pool)"},
    {"b", TR_T_STRING, 1, "the second, whose access port is connected"},
    {"name", TR_T_STRING, 0, "the bridge's name (default A--B)"},
    {"port", TR_T_STRING, 0, "B's access port (default: its first)"},
    {"owner", TR_T_STRING, 0, "the BU that owns it"},
    TR_FIELDS_END};
static const struct tr_field bridge_out[] = {
    {"name", TR_T_STRING, 1, "bridge"},
    {"a", TR_T_STRING, 1, "first pool"},
    {"b", TR_T_STRING, 1, "second pool"},
    {"port", TR_T_STRING, 1, "B's connected access port"},
    {"address", TR_T_STRING, 1, "its address"},
    {"state", TR_T_STRING, 1, "connected"},
    {"created_at", TR_T_INT, 1, "unix seconds"},
    {"ports", TR_T_INT, 1, "how many target ports B listed"},
    {"owner", TR_T_STRING, 0, "its BU"},
    TR_FIELDS_END};
static const struct tr_field check_in[] = {
    {"a", TR_T_STRING, 1, "a pool"}, {"b", TR_T_STRING, 1, "another"},
    TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "storage.discover",
     .description = "Storage systems, pools, volumes, access ports and assignments a "
                    "pool's or a credential's adapter sees",
     .input = discover_in,
     .output = discover_out,
     .run = run_discover,
     .flags = 0},
    {.name = "storage.assign",
     .description = "Expose one volume to initiators of one host (LUN masking)",
     .input = assign_in,
     .output = assign_out,
     .run = run_assign,
     .undo = "storage.unassign",
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.unassign",
     .description = "Remove a host's initiators (default: all) from a volume",
     .input = assign_in,
     .output = assign_out,
     .run = run_unassign,
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.reassign",
     .description = "Migrate a volume's assignment: add the new host's initiators, then "
                    "remove the old host's",
     .input = reassign_in,
     .output = reassign_out,
     .run = run_reassign,
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.bridge_establish",
     .description = "Connect to B's access port through B's adapter and record a cloud "
                    "bridge between A and B",
     .input = bridge_in,
     .output = bridge_out,
     .run = run_bridge_establish,
     .flags = TR_ACTION_MUTATES},
    {.name = "storage.bridge_check",
     .description = "The bridge between two pools (NOTFOUND if none)",
     .input = check_in,
     .output = bridge_out,
     .run = run_bridge_check,
     .flags = 0},
    {.name = "storage.pick_pool",
     .description = "The first pool with room for a volume of size (NOSPACE naming the "
                    "most there is)",
     .input = pick_in,
     .output = pick_out,
     .run = run_pick_pool,
     .flags = 0},
};

void tr_actions_register_adapters(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
