/* SPDX-License-Identifier: Apache-2.0 */
/*
 * translated.c - the translated storage plugin: one plugin, many vendors.
 * A vendor supplies an interface translation file (itf.h,
 * docs/storage-adapters.md) that maps Trellis's storage ops onto its REST
 * interface, instead of writing a plugin.
 *
 * A pool's options name its credential (`trellis storage credential
 * add`): the core adds the credential's endpoint, username and options
 * (translation file, CA file) to the pool's options, and the plugin reads
 * the secret itself, by name, through host->secret_get
 * ("credential.NAME"), so it never travels in options, logs or events.
 * The pool's target picks what it serves: "*" (discovery only, or the
 * first system's first kept pool), "SYSTEM" (that system's first kept
 * pool) or "SYSTEM/POOL" (standard system id, vendor pool name or key).
 *
 * This file holds the plugin, its pools and the ops; the REST client is
 * rest.c, the translation of answers xlate.c, the file itself itf.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/name.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define DEFAULT_TTL_S 300
#define DEFAULT_TIMEOUT_S 60

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

static const char *made_key(struct tx_pool *p, const char *name)
{
	char w[2048];
	made_where(p, name, w, sizeof w);
	const char *k = NULL;
	pthread_mutex_lock(&made_lock);
	for (struct made *m = made_list; m && !k; m = m->next)
		if (!strcmp(m->where, w))
			k = m->key;
	pthread_mutex_unlock(&made_lock);
	return k;
}

static void made_set(struct tx_pool *p, const char *name, const char *key)
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

/* ---- options ---- */

static const char *opt(const trellis_host_t *h, const trellis_node_t *o,
		       const char *key)
{
	const trellis_node_t *n = o ? h->node_get(o, key) : NULL;
	return n ? h->node_str(n) : NULL;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

static void pool_free(struct tx_pool *p)
{
	if (!p)
		return;
	if (p->secret) {
		H->secret_free(p->secret);
		p->secret = NULL;
	}
	tx_cache_drop(p);
	itf_free(p->itf);
	if (p->curl)
		curl_easy_cleanup(p->curl);
	free(p->token);
	free(p->name);
	free(p->target);
	free(p->credential);
	free(p->endpoint);
	free(p->username);
	free(p->ca_file);
	free(p->file);
	free(p);
}

static int tx_pool_open(void *state, trellis_call_t *call,
			const trellis_pool_spec_t *spec, uint32_t flags,
			void **pool)
{
	struct tx *tx = state;
	const trellis_host_t *h = tx->host;
	if (flags & ~TRELLIS_POOL_OPEN_CREATE)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "translated pool_open: unknown flag bits "
				    "0x%x",
				    flags & ~TRELLIS_POOL_OPEN_CREATE);
	const trellis_node_t *o = spec->options;
	const char *name = spec->name ? spec->name : "(unnamed)";
	const char *cred = opt(h, o, "credential"),
		   *ep = opt(h, o, "endpoint"), *user = opt(h, o, "username"),
		   *file = opt(h, o, "translation");
	if (!file)
		file = tx->default_translation;
	if (!cred || !ep || !user)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': needs the option credential "
				    "(a credential made with `trellis storage "
				    "credential add`)",
				    name);
	if (!file)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': no translation file (the "
				    "option translation, or the plugin's "
				    "translation_file)",
				    name);
	if (strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7))
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': endpoint '%s' is not an "
				    "http(s):// URL",
				    name, ep);
	struct tx_pool *p = calloc(1, sizeof *p);
	if (!p)
		return h->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	p->tx = tx;
	p->name = strdup(name);
	p->target = strdup(spec->target && *spec->target ? spec->target : "*");
	p->credential = strdup(cred);
	p->endpoint = strdup(ep);
	p->username = strdup(user);
	p->ca_file = dup_or_null(opt(h, o, "ca_file"));
	p->file = strdup(file);
	for (size_t n = strlen(p->endpoint); n && p->endpoint[n - 1] == '/';
	     n--)
		p->endpoint[n - 1] = '\0';
	char sname[256];
	snprintf(sname, sizeof sname, "credential.%s", cred);
	int rc = h->secret_get(tx->self, call, sname, &p->secret);
	if (rc) {
		h->set_error(call, rc,
			     "pool '%s': the secret of credential '%s' cannot "
			     "be read (%s)",
			     name, cred, trellis_error_name(rc));
		goto fail;
	}
	if (!(p->curl = curl_easy_init())) {
		rc = h->set_error(call, TRELLIS_E_NOMEM, "libcurl: no handle");
		goto fail;
	}
	if ((rc = tx_load(p, call)) || (rc = tx_identify(p, call)))
		goto fail;
	if (strcmp(p->target, "*")) {
		struct tx_bound b;
		if ((rc = tx_bind(p, call, &b)))
			goto fail;
	}
	*pool = p;
	return 0;
fail:
	pool_free(p);
	return rc;
}

static void tx_pool_close(void *state, void *pool)
{
	(void)state;
	pool_free(pool);
}

/* ---- binding a pool handle to one system and pool ---- */

int tx_bind(struct tx_pool *p, trellis_call_t *call, struct tx_bound *b)
{
	json_t *systems, *pools;
	int rc;
	memset(b, 0, sizeof *b);
	if ((rc = tx_list(p, call, ITF_OP_SYSTEMS, 0, &systems)))
		return rc;
	json_incref(systems);
	if ((rc = tx_list(p, call, ITF_OP_POOLS, 0, &pools))) {
		json_decref(systems);
		return rc;
	}
	char want_sys[256] = "", want_pool[256] = "";
	if (strcmp(p->target, "*")) {
		const char *sl = strchr(p->target, '/');
		snprintf(want_sys, sizeof want_sys, "%.*s",
			 (int)(sl ? (size_t)(sl - p->target)
				  : strlen(p->target)),
			 p->target);
		if (sl)
			snprintf(want_pool, sizeof want_pool, "%s", sl + 1);
	}
	size_t i;
	json_t *it;
	int found_sys = !want_sys[0];
	json_array_foreach(pools, i, it)
	{
		trellis_st_object_t o = {0};
		if (tx_pool_obj(p, it, systems, &o))
			continue; /* filtered out */
		if (want_sys[0] && strcmp(o.system, want_sys))
			continue;
		found_sys = 1;
		if (want_pool[0] && strcmp(o.name, want_pool) &&
		    strcmp(o.id, want_pool))
			continue;
		snprintf(b->sys_id, sizeof b->sys_id, "%s", o.system);
		snprintf(b->sys_key, sizeof b->sys_key, "%s", o.parent);
		snprintf(b->pool_key, sizeof b->pool_key, "%s", o.id);
		if (strcmp(p->target, "*")) {
			snprintf(p->bound_sys, sizeof p->bound_sys, "%s",
				 o.parent);
			snprintf(p->bound_pool, sizeof p->bound_pool, "%s",
				 o.id);
		}
		snprintf(b->pool_name, sizeof b->pool_name, "%s", o.name);
		b->capacity = o.capacity;
		b->available = o.available;
		json_decref(systems);
		return 0;
	}
	if (!found_sys && want_sys[0]) {
		/* name the systems there are */
		char have[1024] = "";
		size_t n = 0;
		json_array_foreach(systems, i, it)
		{
			trellis_st_object_t o = {0};
			tx_system(p, it, &o);
			n += (size_t)snprintf(have + n, sizeof have - n,
					      "%s%s", n ? ", " : "", o.id);
			if (n >= sizeof have)
				break;
		}
		json_decref(systems);
		return H->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': %s has no system '%s' (it "
				    "has: %s)",
				    p->name, p->endpoint, want_sys,
				    have[0] ? have : "none");
	}
	json_decref(systems);
	return H->set_error(call, TRELLIS_E_NOTFOUND,
			    "pool '%s': no pool '%s' on system '%s' (or "
			    "the translation file's pool_filter drops it)",
			    p->name, want_pool[0] ? want_pool : "(any)",
			    want_sys[0] ? want_sys : "(any)");
}

/* ---- pool and volumes ---- */

/* The bound pool, the systems and the volumes listed (both borrowed:
 * valid until the next call that lists again; systems referenced, for
 * release_lists). */
static int lists(struct tx_pool *p, trellis_call_t *call, int fresh,
		 struct tx_bound *b, json_t **systems, json_t **vols)
{
	int rc = tx_bind(p, call, b);
	if (rc || (rc = tx_list(p, call, ITF_OP_SYSTEMS, 0, systems)))
		return rc;
	json_incref(*systems);
	if ((rc = tx_list(p, call, ITF_OP_VOLUMES, fresh, vols))) {
		json_decref(*systems);
		return rc;
	}
	json_incref(*vols);
	return 0;
}

static void release_lists(json_t *systems, json_t *vols)
{
	json_decref(systems);
	json_decref(vols);
}

static int tx_pool_info(void *pool, trellis_call_t *call, uint32_t flags,
			trellis_pool_info_t *out)
{
	struct tx_pool *p = pool;
	struct tx_bound b;
	json_t *vols, *systems;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool_info: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = lists(p, call, 0, &b, &systems, &vols);
	if (rc)
		return rc;
	out->capacity = b.capacity;
	out->available = b.available;
	out->allocation = b.capacity - b.available;
	size_t i;
	json_t *it;
	json_array_foreach(vols, i, it)
	{
		trellis_st_object_t o = {0};
		tx_volume(p, it, systems, &o);
		if (!strcmp(o.parent, b.pool_key)) {
			out->n_volumes++;
			out->provisioned += o.capacity;
		}
	}
	release_lists(systems, vols);
	return 0;
}

static void vol_info_of(struct tx_pool *p, const trellis_st_object_t *o,
			trellis_vol_info_t *out)
{
	snprintf(out->name, sizeof out->name, "%s", o->name);
	snprintf(out->path, sizeof out->path, "translated://%s/%s", o->system,
		 o->id);
	snprintf(out->format, sizeof out->format, "raw");
	out->capacity = o->capacity;
	out->allocation = o->capacity;
	(void)p;
}

/* The volume named name in the bound pool: 0 and *o, or NOTFOUND. */
static int find_vol(struct tx_pool *p, trellis_call_t *call,
		    const char *name, int fresh, trellis_st_object_t *o,
		    struct tx_bound *b)
{
	json_t *vols, *systems;
	int rc = lists(p, call, fresh, b, &systems, &vols);
	if (rc)
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(vols, i, it)
	{
		memset(o, 0, sizeof *o);
		tx_volume(p, it, systems, o);
		if (!strcmp(o->parent, b->pool_key) && !strcmp(o->name, name)) {
			release_lists(systems, vols);
			return 0;
		}
	}
	release_lists(systems, vols);
	return H->set_error(call, TRELLIS_E_NOTFOUND,
			    "pool '%s': no volume '%s'", p->name, name);
}

static int name_ok(struct tx_pool *p, trellis_call_t *call, const char *name)
{
	if (!trellis_name_ok(name))
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': bad volume name '%s' (want "
				    "[A-Za-z0-9][A-Za-z0-9._-]*, no '..', at "
				    "most %d)",
				    p->name, name ? name : "", TRELLIS_NAME_MAX);
	if (p->sec.name_max && strlen(name) > (size_t)p->sec.name_max)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': '%s' is longer than the %d "
				    "characters %s takes (name_max, section "
				    "'%s')",
				    p->name, name, p->sec.name_max, p->vendor,
				    p->sec_name);
	return 0;
}

static int tx_vol_info(void *pool, trellis_call_t *call, const char *name,
		       uint32_t flags, trellis_vol_info_t *out)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_info: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = find_vol(p, call, name, 0, &o, &b);
	if (!rc)
		vol_info_of(p, &o, out);
	return rc;
}

static int tx_vol_list(void *pool, trellis_call_t *call, uint32_t flags,
		       trellis_vol_list_fn fn, void *opaque)
{
	struct tx_pool *p = pool;
	struct tx_bound b;
	json_t *vols, *systems;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_list: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = lists(p, call, 0, &b, &systems, &vols);
	if (rc)
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(vols, i, it)
	{
		trellis_st_object_t o = {0};
		trellis_vol_info_t v = {.struct_size = sizeof v};
		tx_volume(p, it, systems, &o);
		if (strcmp(o.parent, b.pool_key))
			continue;
		vol_info_of(p, &o, &v);
		if (fn(opaque, &v))
			break;
	}
	release_lists(systems, vols);
	return 0;
}

static int tx_vol_create(void *pool, trellis_call_t *call,
			 const trellis_vol_spec_t *spec, const char *idem_key,
			 uint32_t flags, trellis_vol_info_t *out)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	if (flags & ~TRELLIS_VOL_PREALLOCATE)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_create: unknown flags 0x%x", flags);
	if (!spec)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_create: no spec");
	if (spec->template_path)
		return H->set_error(call, TRELLIS_E_NOTSUP,
				    "pool '%s': a vendor array makes blank "
				    "volumes only (no template)",
				    p->name);
	if (spec->format && strcmp(spec->format, "raw"))
		return H->set_error(call, TRELLIS_E_NOTSUP,
				    "pool '%s': volumes are raw, not %s",
				    p->name, spec->format);
	tx_reload_check(p);
	int rc = name_ok(p, call, spec->name);
	if (rc)
		return rc;
	if (!spec->size)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': volume '%s' needs a size",
				    p->name, spec->name);
	rc = find_vol(p, call, spec->name, 1, &o, &b);
	if (rc == 0) {
		const char *k = made_key(p, spec->name);
		if (k && idem_key && !strcmp(k, idem_key)) {
			vol_info_of(p, &o, out);
			return 0; /* a replay: what the first attempt made */
		}
		return H->set_error(call, TRELLIS_E_CONFLICT,
				    "pool '%s': volume '%s' already exists "
				    "(made by %s)",
				    p->name, spec->name,
				    k ? "another request" : "someone else");
	}
	if (rc != TRELLIS_E_NOTFOUND)
		return rc;
	if (b.available < spec->size)
		return H->set_error(call, TRELLIS_E_NOSPACE,
				    "pool '%s': %s/%s has %llu bytes free, "
				    "volume '%s' needs %llu",
				    p->name, b.sys_id, b.pool_name,
				    (unsigned long long)b.available,
				    spec->name,
				    (unsigned long long)spec->size);
	json_t *vars = json_pack("{s:s, s:s, s:I, s:s}", "name", spec->name,
				 "pool", b.pool_key, "size",
				 (json_int_t)spec->size, "system", b.sys_key);
	json_t *ans = NULL;
	rc = tx_rest(p, call, ITF_OP_VOLUME_CREATE, vars, NULL, 0, &ans, NULL,
		     0, NULL);
	json_decref(vars);
	json_decref(ans);
	tx_cache_drop(p);
	if (rc)
		return rc;
	if (idem_key && *idem_key)
		made_set(p, spec->name, idem_key);
	if ((rc = find_vol(p, call, spec->name, 1, &o, &b)))
		return H->set_error(call, TRELLIS_E_BACKEND,
				    "pool '%s': %s answered the create of "
				    "'%s', but does not list it",
				    p->name, p->endpoint, spec->name);
	vol_info_of(p, &o, out);
	return 0;
}

static int tx_vol_delete(void *pool, trellis_call_t *call, const char *name,
			 const char *idem_key, uint32_t flags)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	if (flags & ~TRELLIS_VOL_DELETE_IF_KEY)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_delete: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = find_vol(p, call, name, 1, &o, &b);
	if (rc == TRELLIS_E_NOTFOUND) {
		made_set(p, name, NULL);
		return 0;
	}
	if (rc)
		return rc;
	if (flags & TRELLIS_VOL_DELETE_IF_KEY) {
		const char *k = made_key(p, name);
		if (!k || !idem_key || strcmp(k, idem_key))
			return H->set_error(call, TRELLIS_E_CONFLICT,
					    "pool '%s': volume '%s' was not "
					    "made by request '%s'; it stays",
					    p->name, name,
					    idem_key ? idem_key : "");
	}
	json_t *vars = json_pack("{s:s, s:s, s:s, s:s}", "volume", o.id,
				 "name", name, "system", b.sys_key, "pool",
				 b.pool_key);
	rc = tx_rest(p, call, ITF_OP_VOLUME_DELETE, vars, NULL, 0, NULL, NULL,
		     0, NULL);
	json_decref(vars);
	tx_cache_drop(p);
	if (rc == TRELLIS_E_NOTFOUND)
		rc = 0;
	if (!rc)
		made_set(p, name, NULL);
	return rc;
}

/* ---- discovery ---- */

static int tx_discover(void *pool, trellis_call_t *call, uint32_t what,
		       uint32_t flags, trellis_st_object_fn fn, void *opaque)
{
	struct tx_pool *p = pool;
	static const enum itf_op ops[] = {ITF_OP_SYSTEMS, ITF_OP_POOLS,
					  ITF_OP_VOLUMES, ITF_OP_PORTS,
					  ITF_OP_VIEWS};
	static const int types[] = {TRELLIS_ST_SYSTEM, TRELLIS_ST_POOL,
				    TRELLIS_ST_VOLUME, TRELLIS_ST_PORT,
				    TRELLIS_ST_ASSIGNMENT};
	if (flags & ~TRELLIS_DISCOVER_FRESH)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "discover: unknown flags 0x%x", flags);
	if (!fn)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "discover: no callback");
	tx_reload_check(p);
	int fresh = !!(flags & TRELLIS_DISCOVER_FRESH);
	json_t *systems;
	int rc = tx_list(p, call, ITF_OP_SYSTEMS, fresh, &systems);
	if (rc)
		return rc;
	json_incref(systems);
	what = what ? what : ~0u;
	/* a pool bound to a system sees that system only; "*" (a
	 * credential's discovery) sees all the endpoint manages */
	struct tx_bound b = {0};
	if (strcmp(p->target, "*") && (rc = tx_bind(p, call, &b))) {
		json_decref(systems);
		return rc;
	}
	for (size_t k = 0; k < sizeof ops / sizeof *ops && !rc; k++) {
		if (!(what & TRELLIS_ST_BIT(types[k])))
			continue;
		json_t *items;
		if (ops[k] == ITF_OP_SYSTEMS)
			items = systems;
		else if ((rc = tx_list(p, call, ops[k], fresh, &items)))
			break;
		json_incref(items);
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it)
		{
			trellis_st_object_t o = {.struct_size = sizeof o};
			int skip = types[k] == TRELLIS_ST_SYSTEM
				       ? tx_system(p, it, &o)
				   : types[k] == TRELLIS_ST_POOL
				       ? tx_pool_obj(p, it, systems, &o)
				   : types[k] == TRELLIS_ST_VOLUME
				       ? tx_volume(p, it, systems, &o)
				   : types[k] == TRELLIS_ST_PORT
				       ? tx_port(p, it, systems, &o)
				       : tx_view(p, it, systems, &o);
			if (types[k] == TRELLIS_ST_SYSTEM ||
			    types[k] == TRELLIS_ST_POOL)
				o.parent[0] = '\0'; /* vendor keys stay inside */
			if (b.sys_id[0] &&
			    strcmp(types[k] == TRELLIS_ST_SYSTEM ? o.id
								 : o.system,
				   b.sys_id))
				skip = 1;
			if (!skip && fn(opaque, &o)) {
				json_decref(items);
				json_decref(systems);
				return 0;
			}
		}
		json_decref(items);
	}
	json_decref(systems);
	return rc;
}

/* ---- assignments ---- */

/* The seed's rules: one volume, and initiators of one host only.  An
 * initiator the array already knows under another host is refused. */
static int assign_check(struct tx_pool *p, trellis_call_t *call,
			const trellis_assign_spec_t *s)
{
	if (!s || !s->volume || !*s->volume || !s->host || !*s->host)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assignment: one volume and one host are "
				    "required");
	json_t *ports, *systems;
	int rc = tx_list(p, call, ITF_OP_SYSTEMS, 0, &systems);
	if (rc || (rc = tx_list(p, call, ITF_OP_PORTS, 1, &ports)))
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(ports, i, it)
	{
		trellis_st_object_t o = {0};
		tx_port(p, it, systems, &o);
		if (strcmp(o.role, "initiator") || !o.host[0] ||
		    !strcmp(o.host, s->host))
			continue;
		for (size_t j = 0; j < s->n_initiators; j++)
			if (!strcmp(s->initiators[j], o.id))
				return H->set_error(
				    call, TRELLIS_E_INVALID_ARG,
				    "assignment of '%s': initiator '%s' "
				    "belongs to host '%s', not '%s' (an "
				    "assignment takes initiators of one host "
				    "only)",
				    s->volume, o.id, o.host, s->host);
	}
	return 0;
}

static int assign_op(struct tx_pool *p, trellis_call_t *call,
		     const trellis_assign_spec_t *s, enum itf_op op)
{
	trellis_st_object_t o;
	struct tx_bound b;
	tx_reload_check(p);
	int rc = assign_check(p, call, s);
	if (rc || (rc = find_vol(p, call, s->volume, 0, &o, &b)))
		return rc;
	if (op == ITF_OP_ASSIGN && !s->n_initiators)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assign '%s': no initiators given",
				    s->volume);
	json_t *ini = json_array();
	char csv[1024] = "";
	size_t n = 0;
	for (size_t i = 0; i < s->n_initiators; i++) {
		json_array_append_new(ini, json_string(s->initiators[i]));
		n += (size_t)snprintf(csv + n, sizeof csv - n, "%s%s",
				      n ? "," : "", s->initiators[i]);
		if (n >= sizeof csv)
			n = sizeof csv - 1;
	}
	json_t *vars = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s}",
				 "volume", o.id, "name", s->volume, "host",
				 s->host, "initiators", ini, "initiators_csv",
				 csv, "system", b.sys_key, "pool", b.pool_key);
	rc = tx_rest(p, call, op, vars, NULL, 0, NULL, NULL, 0, NULL);
	json_decref(vars);
	json_decref(p->cache[ITF_OP_VIEWS].items);
	p->cache[ITF_OP_VIEWS].items = NULL;
	json_decref(p->cache[ITF_OP_PORTS].items);
	p->cache[ITF_OP_PORTS].items = NULL;
	return rc;
}

static int tx_assign(void *pool, trellis_call_t *call,
		     const trellis_assign_spec_t *spec, const char *idem_key,
		     uint32_t flags)
{
	struct tx_pool *p = pool;
	(void)idem_key;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assign: unknown flags 0x%x", flags);
	return assign_op(p, call, spec, ITF_OP_ASSIGN);
}

static int tx_unassign(void *pool, trellis_call_t *call,
		       const trellis_assign_spec_t *spec,
		       const char *idem_key, uint32_t flags)
{
	struct tx_pool *p = pool;
	(void)idem_key;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "unassign: unknown flags 0x%x", flags);
	int rc = assign_op(p, call, spec, ITF_OP_UNASSIGN);
	return rc == TRELLIS_E_NOTFOUND ? 0 : rc;
}

static int tx_port_connect(void *pool, trellis_call_t *call,
			   const char *port, const char *idem_key,
			   uint32_t flags, trellis_st_object_t *out)
{
	struct tx_pool *p = pool;
	json_t *ports, *systems;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "port_connect: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = tx_list(p, call, ITF_OP_SYSTEMS, 0, &systems);
	if (rc || (rc = tx_list(p, call, ITF_OP_PORTS, 0, &ports)))
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(ports, i, it)
	{
		trellis_st_object_t o = {.struct_size = sizeof o};
		tx_port(p, it, systems, &o);
		if (strcmp(o.id, port ? port : "") || strcmp(o.role, "target"))
			continue;
		json_t *vars = json_pack("{s:s, s:s, s:s, s:s, s:s}", "port",
					 o.id, "peer", p->name, "key",
					 idem_key ? idem_key : "", "pool",
					 p->bound_pool, "system", p->bound_sys);
		rc = tx_rest(p, call, ITF_OP_PORT_CONNECT, vars, NULL, 0, NULL,
			     NULL, 0, NULL);
		json_decref(vars);
		if (rc)
			return rc;
		*out = o;
		snprintf(out->state, sizeof out->state, "connected");
		return 0;
	}
	return H->set_error(call, TRELLIS_E_NOTFOUND,
			    "pool '%s': %s has no target port '%s'", p->name,
			    p->endpoint, port ? port : "");
}

/* ---- streams: ranged GETs and offset PUTs of the volume's bytes ---- */

struct tx_stream {
	char id[256];
	uint64_t size;
};

static int tx_vol_open(void *pool, trellis_call_t *call, const char *name,
		       uint32_t flags, void **stream)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	const uint32_t rw = TRELLIS_STREAM_READ | TRELLIS_STREAM_WRITE;
	if ((flags & ~rw) || !(flags & rw))
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_open: flags must be READ and/or "
				    "WRITE (0x%x)",
				    flags);
	tx_reload_check(p);
	int rc = find_vol(p, call, name, 0, &o, &b);
	if (rc)
		return rc;
	struct tx_stream *s = calloc(1, sizeof *s);
	if (!s)
		return H->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	snprintf(s->id, sizeof s->id, "%s", o.id);
	s->size = o.capacity;
	*stream = s;
	return 0;
}

static int tx_vol_read(void *pool, void *stream, trellis_call_t *call,
		       uint64_t off, void *buf, size_t len, size_t *got)
{
	struct tx_pool *p = pool;
	struct tx_stream *s = stream;
	*got = 0;
	if (off >= s->size || !len)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	json_t *vars = json_pack("{s:s, s:I, s:I, s:s}", "volume", s->id,
				 "offset", (json_int_t)off, "length",
				 (json_int_t)len, "pool", p->bound_pool);
	int rc = tx_rest(p, call, ITF_OP_READ, vars, NULL, 0, NULL, buf, len,
			 got);
	json_decref(vars);
	return rc;
}

static int tx_vol_write(void *pool, void *stream, trellis_call_t *call,
			uint64_t off, const void *buf, size_t len)
{
	struct tx_pool *p = pool;
	struct tx_stream *s = stream;
	if (off + len > s->size)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': write past the end of the "
				    "volume (%llu > %llu)",
				    p->name, (unsigned long long)(off + len),
				    (unsigned long long)s->size);
	const char *mode = p->sec.ops[ITF_OP_WRITE].mode;
	if (mode && !strcmp(mode, "rewrite")) {
		/* an object store writes objects whole: read it, patch the
		 * range, put it back */
		size_t got = 0;
		char *all = malloc(s->size ? s->size : 1);
		if (!all)
			return H->set_error(call, TRELLIS_E_NOMEM,
					    "out of memory");
		int rc = tx_vol_read(pool, stream, call, 0, all, s->size, &got);
		if (!rc && got != s->size)
			rc = H->set_error(call, TRELLIS_E_BACKEND,
					  "pool '%s': volume '%s' gave %zu of "
					  "%llu bytes",
					  p->name, s->id, got,
					  (unsigned long long)s->size);
		if (!rc) {
			memcpy(all + off, buf, len);
			json_t *vars = json_pack(
			    "{s:s, s:I, s:I, s:s}", "volume", s->id, "offset",
			    (json_int_t)0, "length", (json_int_t)s->size,
			    "pool", p->bound_pool);
			rc = tx_rest(p, call, ITF_OP_WRITE, vars, all, s->size,
				     NULL, NULL, 0, NULL);
			json_decref(vars);
		}
		free(all);
		return rc;
	}
	json_t *vars = json_pack("{s:s, s:I, s:I, s:s}", "volume", s->id,
				 "offset", (json_int_t)off, "length",
				 (json_int_t)len, "pool", p->bound_pool);
	int rc = tx_rest(p, call, ITF_OP_WRITE, vars, buf, len, NULL, NULL, 0,
			 NULL);
	json_decref(vars);
	return rc;
}

static int tx_vol_stream_close(void *pool, void *stream, trellis_call_t *call,
			       uint32_t flags)
{
	(void)pool;
	(void)call;
	(void)flags;
	free(stream);
	return 0;
}

/* ---- plugin ---- */

static int tx_init(trellis_plugin_t *self, const trellis_host_t *host,
		   trellis_call_t *call, void **state)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return host->set_error(call, TRELLIS_E_INTERNAL,
				       "libcurl: global init failed");
	struct tx *tx = calloc(1, sizeof *tx);
	if (!tx)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	tx->self = self;
	tx->host = host;
	tx->cache_ttl_s = DEFAULT_TTL_S;
	tx->timeout_s = DEFAULT_TIMEOUT_S;
	const trellis_node_t *cfg = host->config(self), *n;
	int64_t v;
	if ((n = host->node_get(cfg, "cache_ttl_s")) &&
	    host->node_int(n, &v) == 0 && v >= 0 && v <= 86400)
		tx->cache_ttl_s = (unsigned)v;
	if ((n = host->node_get(cfg, "timeout_s")) &&
	    host->node_int(n, &v) == 0 && v > 0 && v <= 3600)
		tx->timeout_s = (unsigned)v;
	if ((n = host->node_get(cfg, "translation_file")))
		tx->default_translation = dup_or_null(host->node_str(n));
	/* A file the config names is checked now, so a broken one stops
	 * the daemon at start with FILE:LINE:COL, not at the first pool. */
	if (tx->default_translation) {
		char err[1024];
		struct itf *t = itf_load(tx->default_translation, NULL, 0, err,
					 sizeof err);
		if (!t) {
			free(tx->default_translation);
			free(tx);
			return host->set_error(call, TRELLIS_E_INVALID_ARG,
					       "%s", err);
		}
		itf_free(t);
	}
	*state = tx;
	return 0;
}

static void tx_fini(void *state)
{
	struct tx *tx = state;
	if (!tx)
		return;
	free(tx->default_translation);
	free(tx);
}

static const struct trellis_storage_ops tx_ops = {
    .struct_size = sizeof(struct trellis_storage_ops),
    .pool_open = tx_pool_open,
    .pool_close = tx_pool_close,
    .pool_info = tx_pool_info,
    .vol_create = tx_vol_create,
    .vol_delete = tx_vol_delete,
    .vol_info = tx_vol_info,
    .vol_list = tx_vol_list,
    .discover = tx_discover,                 /* since 1.1 */
    .assign = tx_assign,                     /* since 1.1 */
    .unassign = tx_unassign,                 /* since 1.1 */
    .port_connect = tx_port_connect,         /* since 1.1 */
    .vol_open = tx_vol_open,                 /* since 1.1 */
    .vol_read = tx_vol_read,                 /* since 1.1 */
    .vol_write = tx_vol_write,               /* since 1.1 */
    .vol_stream_close = tx_vol_stream_close, /* since 1.1 */
};

TRELLIS_CONFIG_SCHEMA(tx_config_schema,
		      {"translation_file", TRELLIS_CONFIG_STRING, 0, NULL,
		       "the interface translation file of pools that name "
		       "none"},
		      {"cache_ttl_s", TRELLIS_CONFIG_INT, 0, "300",
		       "how long discovered objects are cached, 0 to 86400 s"},
		      {"timeout_s", TRELLIS_CONFIG_INT, 0, "60",
		       "the longest one vendor call may take, 1 to 3600 s"});
TRELLIS_CONFIG_SCHEMA(
    tx_options_schema,
    {"credential", TRELLIS_CONFIG_STRING, TRELLIS_CONFIG_REQUIRED, NULL,
     "the credential (trellis storage credential add) that reaches the "
     "array"},
    {"endpoint", TRELLIS_CONFIG_STRING, 0, NULL,
     "set by the core from the credential"},
    {"username", TRELLIS_CONFIG_STRING, 0, NULL,
     "set by the core from the credential"},
    {"translation", TRELLIS_CONFIG_STRING, 0, NULL,
     "the interface translation file (default: the plugin's "
     "translation_file)"},
    {"ca_file", TRELLIS_CONFIG_STRING, 0, NULL,
     "the CA certificates that sign the endpoint's (default: the "
     "system's)"});

TRELLIS_PLUGIN_DEFINE(.name = "translated", .version = "1.0.0",
		      .license = "Apache-2.0",
		      .description = "vendor arrays through interface "
				     "translation files (REST, libcurl)",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_PER_TARGET,
		      .caps = TRELLIS_STORAGE_CAP_FORMAT_RAW,
		      .init = tx_init, .fini = tx_fini, .ops = &tx_ops,
		      .config_schema = &tx_config_schema,
		      .options_schema = &tx_options_schema)
