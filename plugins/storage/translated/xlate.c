/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xlate.c - from the vendor's answers to standard objects, by the
 * translation file: the listings and their cache, the file's hot reload,
 * the section picked for the endpoint, and the seed's vendor options (the
 * system id from vendor + model + serial with the trim string, the volume
 * id from a property and a token, the class-name and property filters of
 * pools and views).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

void tx_cache_drop(struct tx_pool *p)
{
	for (int i = 0; i < ITF_OP__COUNT; i++) {
		json_decref(p->cache[i].items);
		p->cache[i].items = NULL;
	}
}

int tx_list(struct tx_pool *p, trellis_call_t *call, enum itf_op op,
	    int fresh, json_t **items)
{
	struct tx_cache *c = &p->cache[op];
	time_t now = time(NULL);
	*items = NULL;
	if (!fresh && c->items && now - c->at < (time_t)p->tx->cache_ttl_s) {
		*items = c->items;
		return 0;
	}
	const char *path = p->sec.ops[op].path;
	if (path && strstr(path, "{pool}") && !p->bound_pool[0]) {
		/* a per-pool listing (an object store's objects) on a handle
		 * that serves no one pool: nothing to list */
		json_decref(c->items);
		c->items = json_array();
		c->at = now;
		*items = c->items;
		return 0;
	}
	json_t *ans = NULL, *vars = json_pack("{s:s, s:s}", "pool",
					      p->bound_pool, "system",
					      p->bound_sys);
	int rc = tx_rest(p, call, op, vars, NULL, 0, &ans, NULL, 0, NULL);
	json_decref(vars);
	if (rc)
		return rc;
	const char *ip = p->sec.ops[op].items;
	json_t *arr = tx_path(ans, ip);
	if (json_is_object(arr)) { /* one item (XML has no lists) */
		json_t *one = json_array();
		json_array_append(one, arr);
		json_decref(ans);
		ans = json_pack("{s:o}", "items", one);
		ip = "items";
		arr = one;
	} else if (!arr && ip && strchr(ip, '.')) {
		/* the list's parent is there, the list is not: empty */
		char parent[256];
		snprintf(parent, sizeof parent, "%.*s",
			 (int)(strrchr(ip, '.') - ip), ip);
		if (json_is_object(tx_path(ans, parent))) {
			json_decref(ans);
			ans = json_pack("{s:[]}", "items");
			ip = "items";
			arr = json_object_get(ans, "items");
		}
	}
	if (!json_is_array(arr)) {
		json_decref(ans);
		return H->set_error(call, TRELLIS_E_BACKEND,
				    "pool '%s': %s: the answer has no list "
				    "at '%s' (%s, section '%s')",
				    p->name, itf_op_names[op],
				    p->sec.ops[op].items ? p->sec.ops[op].items
							 : "",
				    p->file, p->sec_name);
	}
	json_incref(arr);
	json_decref(ans);
	json_decref(c->items);
	c->items = arr;
	c->at = now;
	*items = arr;
	return 0;
}

int tx_load(struct tx_pool *p, trellis_call_t *call)
{
	char err[1024];
	struct stat sb;
	if (stat(p->file, &sb) != 0)
		return H->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': translation file %s: %m",
				    p->name, p->file);
	struct itf *t = itf_load(p->file, NULL, 0, err, sizeof err);
	if (!t)
		return H->set_error(call, TRELLIS_E_INVALID_ARG, "%s", err);
	itf_free(p->itf);
	p->itf = t;
	p->dev = sb.st_dev;
	p->ino = sb.st_ino;
	p->mtime = sb.st_mtim;
	p->size = sb.st_size;
	p->sec_name = itf_pick(t, p->vendor, p->model, &p->sec);
	return 0;
}

void tx_reload_check(struct tx_pool *p)
{
	struct stat sb;
	if (!p->itf || stat(p->file, &sb) != 0)
		return;
	if (sb.st_dev == p->dev && sb.st_ino == p->ino &&
	    sb.st_size == p->size && sb.st_mtim.tv_sec == p->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == p->mtime.tv_nsec)
		return;
	char err[1024];
	struct itf *t = itf_load(p->file, NULL, 0, err, sizeof err);
	if (!t) {
		H->log(p->tx->self, TRELLIS_LOG_WARNING,
		       "pool '%s': the changed translation file is not "
		       "loaded, the previous one stays: %s",
		       p->name, err);
		/* do not try again until it changes again */
		p->dev = sb.st_dev;
		p->ino = sb.st_ino;
		p->mtime = sb.st_mtim;
		p->size = sb.st_size;
		return;
	}
	itf_free(p->itf);
	p->itf = t;
	p->dev = sb.st_dev;
	p->ino = sb.st_ino;
	p->mtime = sb.st_mtim;
	p->size = sb.st_size;
	p->sec_name = itf_pick(t, p->vendor, p->model, &p->sec);
	free(p->token);
	p->token = NULL;
	tx_cache_drop(p);
	H->log(p->tx->self, TRELLIS_LOG_NOTICE,
	       "pool '%s': reloaded %s (section '%s')", p->name, p->file,
	       p->sec_name);
}

/* Asks the product op of section cand (already filled) what the endpoint
 * is. */
static int ask_product(struct tx_pool *p, trellis_call_t *call,
		       const struct itf_section *cand, const char *name)
{
	p->sec = *cand;
	p->sec_name = name;
	free(p->token);
	p->token = NULL;
	json_t *ans = NULL, *vars = json_object();
	int rc = tx_rest(p, call, ITF_OP_PRODUCT, vars, NULL, 0, &ans, NULL,
			 0, NULL);
	json_decref(vars);
	if (rc)
		return rc;
	tx_path_str(ans, cand->ops[ITF_OP_PRODUCT].fields[0], p->vendor,
		    sizeof p->vendor);
	tx_path_str(ans, cand->ops[ITF_OP_PRODUCT].fields[1], p->model,
		    sizeof p->model);
	json_decref(ans);
	return 0;
}

int tx_identify(struct tx_pool *p, trellis_call_t *call)
{
	/* How to ask the endpoint what it is (its product op, and how to
	 * log in) comes from the defaults first, then from each section
	 * in turn: the first that answers names the vendor and model, and
	 * those pick the section. */
	struct itf_section cand;
	char vendor[128] = "", model[128] = "";
	itf_filled(p->itf, NULL, &cand);
	int rc = ask_product(p, call, &cand, "defaults");
	for (size_t i = 0; rc && p->itf && i < p->itf->n_sections; i++) {
		if (rc == TRELLIS_E_UNAVAILABLE || rc == TRELLIS_E_TIMEOUT)
			break; /* the endpoint is not there at all */
		itf_filled(p->itf, &p->itf->sections[i], &cand);
		rc = ask_product(p, call, &cand, p->itf->sections[i].name);
	}
	if (rc)
		return rc;
	snprintf(vendor, sizeof vendor, "%s", p->vendor);
	snprintf(model, sizeof model, "%s", p->model);
	const char *auth = p->sec.auth_scheme, *apath = p->sec.auth_path;
	p->sec_name = itf_pick(p->itf, vendor, model, &p->sec);
	if (strcmp(p->sec.auth_scheme, auth) ||
	    (p->sec.auth_path && apath && strcmp(p->sec.auth_path, apath))) {
		free(p->token);
		p->token = NULL;
	}
	H->log(p->tx->self, TRELLIS_LOG_INFO,
	       "pool '%s': %s is '%s' '%s': section '%s' of %s", p->name,
	       p->endpoint, p->vendor, p->model, p->sec_name, p->file);
	return 0;
}

/* Uppercase alphanumerics of s: the default vendor token. */
static void token_of(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	for (; *s && o + 1 < len; s++)
		if (isalnum((unsigned char)*s))
			buf[o++] = (char)toupper((unsigned char)*s);
	buf[o] = '\0';
}

/* Non-alphanumerics hex-encoded (the seed's system ids). */
static void hexenc(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	for (; *s && o + 3 < len; s++) {
		unsigned char u = (unsigned char)*s;
		if (isalnum(u))
			buf[o++] = (char)u;
		else
			o += (size_t)snprintf(buf + o, len - o, "%02X", u);
	}
	buf[o] = '\0';
}

int tx_system(struct tx_pool *p, json_t *it, trellis_st_object_t *o)
{
	char **f = p->sec.ops[ITF_OP_SYSTEMS].fields;
	char serial[256], vt[128], enc[256];
	const char *from = !strcmp(p->sec.serial_from, "name") ? f[1] : f[2];
	tx_path_str(it, from, serial, sizeof serial);
	const char *s = serial;
	const char *trim = p->sec.sys_name_trim;
	if (trim && *trim && strstr(s, trim))
		s = strstr(s, trim) + strlen(trim);
	if (p->sec.vendor_token)
		snprintf(vt, sizeof vt, "%s", p->sec.vendor_token);
	else
		token_of(p->vendor, vt, sizeof vt);
	hexenc(s, enc, sizeof enc);
	o->type = TRELLIS_ST_SYSTEM;
	snprintf(o->id, sizeof o->id, "%s-%s-%s", vt, p->sec.model_token, enc);
	tx_path_str(it, f[1], o->name, sizeof o->name);
	tx_path_str(it, f[3], o->state, sizeof o->state);
	o->capacity = tx_path_u64(it, f[4]);
	o->available = tx_path_u64(it, f[5]);
	/* the vendor's key, for templates: kept in parent */
	tx_path_str(it, f[0], o->parent, sizeof o->parent);
	return 0;
}

void tx_system_id_of(struct tx_pool *p, json_t *systems, const char *key,
		     char *buf, size_t len)
{
	size_t i;
	json_t *it;
	char k[256];
	buf[0] = '\0';
	json_array_foreach(systems, i, it)
	{
		tx_path_str(it, p->sec.ops[ITF_OP_SYSTEMS].fields[0], k,
			    sizeof k);
		/* one system and no key given: it is that one */
		if ((key && !strcmp(k, key)) ||
		    ((!key || !*key) && json_array_size(systems) == 1)) {
			trellis_st_object_t o = {0};
			tx_system(p, it, &o);
			snprintf(buf, len, "%s", o.id);
			return;
		}
	}
}

void tx_volume_token(struct tx_pool *p, const char *value, char *buf,
		     size_t len)
{
	int want = p->sec.volume_id_token;
	buf[0] = '\0';
	if (want < 0) {
		snprintf(buf, len, "%s", value);
		return;
	}
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s", value);
	int i = 0;
	for (char *sv, *t = strtok_r(tmp, " ", &sv); t;
	     t = strtok_r(NULL, " ", &sv), i++)
		if (i == want) {
			snprintf(buf, len, "%s", t);
			return;
		}
}

/* Whether an object passes a filter: its class (a field) contains the
 * class token, and its property (a dotted path) equals the value. */
static int keep(const struct itf_filter *f, json_t *it, const char *cls)
{
	char v[256];
	if (f->class_token && !strstr(cls, f->class_token))
		return 0;
	if (f->property &&
	    strcmp(tx_path_str(it, f->property, v, sizeof v), f->value))
		return 0;
	return 1;
}

int tx_pool_obj(struct tx_pool *p, json_t *it, json_t *systems,
		trellis_st_object_t *o)
{
	char **f = p->sec.ops[ITF_OP_POOLS].fields, sys[256];
	o->type = TRELLIS_ST_POOL;
	tx_path_str(it, f[2], o->role, sizeof o->role);
	if (!keep(&p->sec.pool_filter, it, o->role))
		return 1;
	tx_path_str(it, f[0], o->id, sizeof o->id);
	tx_path_str(it, f[1], o->name, sizeof o->name);
	tx_path_str(it, f[3], sys, sizeof sys);
	tx_system_id_of(p, systems, sys, o->system, sizeof o->system);
	o->capacity = tx_path_u64(it, f[4]);
	o->available = tx_path_u64(it, f[5]);
	snprintf(o->state, sizeof o->state, "online");
	snprintf(o->parent, sizeof o->parent, "%s", sys);
	return 0;
}

int tx_volume(struct tx_pool *p, json_t *it, json_t *systems,
	      trellis_st_object_t *o)
{
	char **f = p->sec.ops[ITF_OP_VOLUMES].fields, sys[256], raw[512];
	o->type = TRELLIS_ST_VOLUME;
	tx_path_str(it, p->sec.volume_id_property, raw, sizeof raw);
	tx_volume_token(p, raw, o->id, sizeof o->id);
	tx_path_str(it, f[1], o->name, sizeof o->name);
	if (f[2] && *f[2])
		tx_path_str(it, f[2], o->parent, sizeof o->parent);
	else /* listed per pool: the bound one's */
		snprintf(o->parent, sizeof o->parent, "%s", p->bound_pool);
	tx_path_str(it, f[3], sys, sizeof sys);
	tx_system_id_of(p, systems, sys, o->system, sizeof o->system);
	o->capacity = tx_path_u64(it, f[4]);
	tx_path_str(it, f[5], o->state, sizeof o->state);
	return 0;
}

int tx_port(struct tx_pool *p, json_t *it, json_t *systems,
	    trellis_st_object_t *o)
{
	char **f = p->sec.ops[ITF_OP_PORTS].fields, sys[256];
	o->type = TRELLIS_ST_PORT;
	tx_path_str(it, f[0], o->id, sizeof o->id);
	snprintf(o->name, sizeof o->name, "%s", o->id);
	tx_path_str(it, f[1], o->role, sizeof o->role);
	tx_path_str(it, f[2], sys, sizeof sys);
	tx_system_id_of(p, systems, sys, o->system, sizeof o->system);
	tx_path_str(it, f[3], o->address, sizeof o->address);
	tx_path_str(it, f[4], o->host, sizeof o->host);
	snprintf(o->state, sizeof o->state, "online");
	return 0;
}

int tx_view(struct tx_pool *p, json_t *it, json_t *systems,
	    trellis_st_object_t *o)
{
	char **f = p->sec.ops[ITF_OP_VIEWS].fields, sys[256], cls[256],
	     raw[512];
	o->type = TRELLIS_ST_ASSIGNMENT;
	tx_path_str(it, f[1], cls, sizeof cls);
	if (!keep(&p->sec.view_filter, it, cls))
		return 1;
	tx_path_str(it, f[0], o->id, sizeof o->id);
	snprintf(o->name, sizeof o->name, "%s", o->id);
	snprintf(o->role, sizeof o->role, "%s", cls);
	tx_path_str(it, f[2], sys, sizeof sys);
	tx_system_id_of(p, systems, sys, o->system, sizeof o->system);
	tx_path_str(it, f[3], raw, sizeof raw);
	tx_volume_token(p, raw, o->parent, sizeof o->parent);
	tx_path_str(it, f[4], o->host, sizeof o->host);
	tx_path_str(it, f[5], o->address, sizeof o->address);
	for (char *c = o->address; *c; c++) /* "a,b" lists too */
		if (*c == ',')
			*c = ' ';
	snprintf(o->state, sizeof o->state, "online");
	return 0;
}
