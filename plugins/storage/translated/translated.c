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
 * This file holds the plugin, its pool handles and their binding to one
 * system and pool; the volumes are volumes.c, discovery and assignments
 * assign.c, streams stream.c, idempotency keys idem.c; the REST client is
 * rest.c, the translation of answers xlate.c, the file itself itf.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define DEFAULT_TTL_S 300
#define DEFAULT_TIMEOUT_S 60

/* ---- options ---- */

static const char *opt(const trellis_host_t *h, const trellis_node_t *o,
		       const char *key)
{
	const trellis_node_t *n = o ? h->node_get(o, key) : NULL;
	return n ? h->node_str(n) : NULL;
}

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

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
	const char *cred = opt(h, o, "credential"), *ep = opt(h, o, "endpoint"),
		   *user = opt(h, o, "username"),
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
		snprintf(
		    want_sys, sizeof want_sys, "%.*s",
		    (int)(sl ? (size_t)(sl - p->target) : strlen(p->target)),
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
			n += (size_t)snprintf(have + n, sizeof have - n, "%s%s",
					      n ? ", " : "", o.id);
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
		struct itf *t =
		    itf_load(tx->default_translation, NULL, 0, err, sizeof err);
		if (!t) {
			free(tx->default_translation);
			free(tx);
			return host->set_error(call, TRELLIS_E_INVALID_ARG,
					       "%s", err);
		}
		itf_free(t);
	}
	int rc = tx_made_open(tx, call);
	if (rc) {
		free(tx->default_translation);
		free(tx);
		return rc;
	}
	*state = tx;
	return 0;
}

static void tx_fini(void *state)
{
	struct tx *tx = state;
	if (!tx)
		return;
	tx_made_close();
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
    .discover = tx_discover,		     /* since 1.1 */
    .assign = tx_assign,		     /* since 1.1 */
    .unassign = tx_unassign,		     /* since 1.1 */
    .port_connect = tx_port_connect,	     /* since 1.1 */
    .vol_open = tx_vol_open,		     /* since 1.1 */
    .vol_read = tx_vol_read,		     /* since 1.1 */
    .vol_write = tx_vol_write,		     /* since 1.1 */
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
		      .caps = TRELLIS_STORAGE_CAP_FORMAT_RAW, .init = tx_init,
		      .fini = tx_fini, .ops = &tx_ops,
		      .config_schema = &tx_config_schema,
		      .options_schema = &tx_options_schema)
