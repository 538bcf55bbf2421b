/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volumes.c - the translated storage plugin: the bound pool and its
 * volumes (info, list, create, delete) as vendor calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/name.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- pool and volumes ---- */

/* The bound pool, the systems and the volumes listed (both referenced,
 * for tx_release_lists). */
int tx_lists(struct tx_pool *p, trellis_call_t *call, int fresh,
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

void tx_release_lists(json_t *systems, json_t *vols)
{
	json_decref(systems);
	json_decref(vols);
}

int tx_pool_info(void *pool, trellis_call_t *call, uint32_t flags,
		 trellis_pool_info_t *out)
{
	struct tx_pool *p = pool;
	struct tx_bound b;
	json_t *vols, *systems;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool_info: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = tx_lists(p, call, 0, &b, &systems, &vols);
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
	tx_release_lists(systems, vols);
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

int tx_find_vol(struct tx_pool *p, trellis_call_t *call, const char *name,
		int fresh, trellis_st_object_t *o, struct tx_bound *b)
{
	json_t *vols, *systems;
	int rc = tx_lists(p, call, fresh, b, &systems, &vols);
	if (rc)
		return rc;
	size_t i;
	json_t *it;
	json_array_foreach(vols, i, it)
	{
		memset(o, 0, sizeof *o);
		tx_volume(p, it, systems, o);
		if (!strcmp(o->parent, b->pool_key) && !strcmp(o->name, name)) {
			tx_release_lists(systems, vols);
			return 0;
		}
	}
	tx_release_lists(systems, vols);
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
				    p->name, name ? name : "",
				    TRELLIS_NAME_MAX);
	if (p->sec.name_max && strlen(name) > (size_t)p->sec.name_max)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': '%s' is longer than the %d "
				    "characters %s takes (name_max, section "
				    "'%s')",
				    p->name, name, p->sec.name_max, p->vendor,
				    p->sec_name);
	return 0;
}

int tx_vol_info(void *pool, trellis_call_t *call, const char *name,
		uint32_t flags, trellis_vol_info_t *out)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_info: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = tx_find_vol(p, call, name, 0, &o, &b);
	if (!rc)
		vol_info_of(p, &o, out);
	return rc;
}

int tx_vol_list(void *pool, trellis_call_t *call, uint32_t flags,
		trellis_vol_list_fn fn, void *opaque)
{
	struct tx_pool *p = pool;
	struct tx_bound b;
	json_t *vols, *systems;
	if (flags)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_list: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = tx_lists(p, call, 0, &b, &systems, &vols);
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
	tx_release_lists(systems, vols);
	return 0;
}

int tx_vol_create(void *pool, trellis_call_t *call,
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
	rc = tx_find_vol(p, call, spec->name, 1, &o, &b);
	if (rc == 0) {
		int k = tx_made_is(p, spec->name, idem_key);
		if (k == 1) {
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
				    (unsigned long long)b.available, spec->name,
				    (unsigned long long)spec->size);
	json_t *vars = json_pack("{s:s, s:s, s:I, s:s}", "name", spec->name,
				 "pool", b.pool_key, "size",
				 (json_int_t)spec->size, "system", b.sys_key);
	/* the key is on disk before the vendor makes the volume: a replay
	 * after a crash in between finds both, or the key alone (and makes
	 * the volume) */
	int keyed = idem_key && *idem_key;
	if (keyed && (rc = tx_made_set(p, call, spec->name, idem_key))) {
		json_decref(vars);
		return rc;
	}
	json_t *ans = NULL;
	rc = tx_rest(p, call, ITF_OP_VOLUME_CREATE, vars, NULL, 0, &ans, NULL,
		     0, NULL);
	json_decref(vars);
	json_decref(ans);
	tx_cache_drop(p);
	if (rc) {
		if (keyed)
			tx_made_set(p, NULL, spec->name, NULL);
		return rc;
	}
	if ((rc = tx_find_vol(p, call, spec->name, 1, &o, &b)))
		return H->set_error(call, TRELLIS_E_BACKEND,
				    "pool '%s': %s answered the create of "
				    "'%s', but does not list it",
				    p->name, p->endpoint, spec->name);
	vol_info_of(p, &o, out);
	return 0;
}

int tx_vol_delete(void *pool, trellis_call_t *call, const char *name,
		  const char *idem_key, uint32_t flags)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	if (flags & ~TRELLIS_VOL_DELETE_IF_KEY)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_delete: unknown flags 0x%x", flags);
	tx_reload_check(p);
	int rc = tx_find_vol(p, call, name, 1, &o, &b);
	/* a key left behind harms no one: it is not the delete's error */
	if (rc == TRELLIS_E_NOTFOUND) {
		tx_made_set(p, NULL, name, NULL);
		return 0;
	}
	if (rc)
		return rc;
	if (flags & TRELLIS_VOL_DELETE_IF_KEY) {
		if (tx_made_is(p, name, idem_key) != 1)
			return H->set_error(call, TRELLIS_E_CONFLICT,
					    "pool '%s': volume '%s' was not "
					    "made by request '%s'; it stays",
					    p->name, name,
					    idem_key ? idem_key : "");
	}
	json_t *vars = json_pack("{s:s, s:s, s:s, s:s}", "volume", o.id, "name",
				 name, "system", b.sys_key, "pool", b.pool_key);
	rc = tx_rest(p, call, ITF_OP_VOLUME_DELETE, vars, NULL, 0, NULL, NULL,
		     0, NULL);
	json_decref(vars);
	tx_cache_drop(p);
	if (rc == TRELLIS_E_NOTFOUND)
		rc = 0;
	if (!rc)
		tx_made_set(p, NULL, name, NULL);
	return rc;
}
