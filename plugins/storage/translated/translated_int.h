/* SPDX-License-Identifier: Apache-2.0 */
/*
 * translated_int.h - what the files of the translated storage plugin
 * share: the plugin and pool state, the REST client (rest.c), the
 * translation of vendor answers into standard objects (xlate.c), and the
 * storage ops each file implements (volumes.c, assign.c, stream.c,
 * idem.c).
 *
 * Internal only (the plugin is built with -fvisibility=hidden).
 */
#ifndef TRANSLATED_INT_H
#define TRANSLATED_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <trellis/storage.h>

#include "itf.h"

struct tx {
	trellis_plugin_t *self;
	const trellis_host_t *host;
	char *default_translation; /* config translation_file, or NULL */
	unsigned cache_ttl_s;
	unsigned timeout_s;
};

/* A listing the pool remembers: the vendor's items as it answered. */
struct tx_cache {
	json_t *items; /* NULL: not cached */
	time_t at;
};

struct tx_pool {
	struct tx *tx;
	char *name;
	char *target;	  /* "*", "SYSTEM" or "SYSTEM/POOL" (standard ids) */
	char *credential; /* the credential's name (the secret's is
			     "credential.NAME", host->secret_get) */
	char *endpoint, *username, *ca_file;
	char *secret; /* from host->secret_get; wiped at close */
	/* the translation file, and the identity of what was loaded */
	char *file;
	struct itf *itf;
	dev_t dev;
	ino_t ino;
	struct timespec mtime;
	off_t size;
	struct itf_section sec; /* the section picked for the endpoint */
	const char *sec_name;
	char vendor[128], model[128];
	/* REST */
	CURL *curl;
	char *token;	     /* a session's, for auth scheme session */
	unsigned long calls; /* vendor calls made (for the log) */
	struct tx_cache cache[ITF_OP__COUNT];
	/* the vendor keys of the bound system and pool ("" until bound, or
	 * for "*"): listings may use them as {system} and {pool} */
	char bound_sys[256], bound_pool[256];
};

#define H (p->tx->host)

/* ---- rest.c ---- */

/* Calls the vendor's op c with vars (template variables, a JSON object)
 * and, for writes, data; *answer gets the decoded JSON answer (NULL when
 * empty).  Reads (dst != NULL): the raw answer goes into dst (up to cap
 * bytes, *got).  Maps HTTP and transport failures onto TRELLIS_E_* with
 * the vendor's own message. */
int tx_rest(struct tx_pool *p, trellis_call_t *call, enum itf_op op,
	    json_t *vars, const void *data, size_t dlen, json_t **answer,
	    void *dst, size_t cap, size_t *got);
/* A template with {var} replaced: in a path URL-escaped, in a body as
 * JSON.  NULL with a message in call when a variable is missing. */
char *tx_expand(struct tx_pool *p, trellis_call_t *call, const char *tpl,
		json_t *vars, int body);
/* The value at a dotted path ("attrs.space.total") of v, or NULL. */
json_t *tx_path(json_t *v, const char *path);
const char *tx_path_str(json_t *v, const char *path, char *buf, size_t len);
uint64_t tx_path_u64(json_t *v, const char *path);

/* ---- xlate.c ---- */

/* The vendor's items of a listing, from the cache unless fresh or stale
 * (a borrowed reference, valid until the next call on p). */
int tx_list(struct tx_pool *p, trellis_call_t *call, enum itf_op op, int fresh,
	    json_t **items);
void tx_cache_drop(struct tx_pool *p);
/* Reloads the translation file when it changed (a broken new file is
 * logged and the old one kept). */
void tx_reload_check(struct tx_pool *p);
int tx_load(struct tx_pool *p, trellis_call_t *call);
/* Asks the endpoint what it is and picks the section. */
int tx_identify(struct tx_pool *p, trellis_call_t *call);

/* Standard objects from vendor items (0, or skipped by a filter: 1). */
int tx_system(struct tx_pool *p, json_t *it, trellis_st_object_t *o);
int tx_pool_obj(struct tx_pool *p, json_t *it, json_t *systems,
		trellis_st_object_t *o);
int tx_volume(struct tx_pool *p, json_t *it, json_t *systems,
	      trellis_st_object_t *o);
int tx_port(struct tx_pool *p, json_t *it, json_t *systems,
	    trellis_st_object_t *o);
int tx_view(struct tx_pool *p, json_t *it, json_t *systems,
	    trellis_st_object_t *o);
/* The standard id of the vendor system whose key is key ("" unknown). */
void tx_system_id_of(struct tx_pool *p, json_t *systems, const char *key,
		     char *buf, size_t len);
/* A volume id from the vendor's property value (the token rule). */
void tx_volume_token(struct tx_pool *p, const char *value, char *buf,
		     size_t len);

/* ---- translated.c: the pool the handle is bound to ---- */

struct tx_bound {
	char sys_key[256], sys_id[256];
	char pool_key[256], pool_name[128];
	uint64_t capacity, available;
};
int tx_bind(struct tx_pool *p, trellis_call_t *call, struct tx_bound *b);

/* ---- volumes.c: the bound pool and its volumes ---- */

/* The bound pool, the systems and the volumes listed (both referenced:
 * release_lists drops them). */
int tx_lists(struct tx_pool *p, trellis_call_t *call, int fresh,
	     struct tx_bound *b, json_t **systems, json_t **vols);
void tx_release_lists(json_t *systems, json_t *vols);
/* The volume named name in the bound pool: 0 and *o, or NOTFOUND. */
int tx_find_vol(struct tx_pool *p, trellis_call_t *call, const char *name,
		int fresh, trellis_st_object_t *o, struct tx_bound *b);
int tx_pool_info(void *pool, trellis_call_t *call, uint32_t flags,
		 trellis_pool_info_t *out);
int tx_vol_info(void *pool, trellis_call_t *call, const char *name,
		uint32_t flags, trellis_vol_info_t *out);
int tx_vol_list(void *pool, trellis_call_t *call, uint32_t flags,
		trellis_vol_list_fn fn, void *opaque);
int tx_vol_create(void *pool, trellis_call_t *call,
		  const trellis_vol_spec_t *spec, const char *idem_key,
		  uint32_t flags, trellis_vol_info_t *out);
int tx_vol_delete(void *pool, trellis_call_t *call, const char *name,
		  const char *idem_key, uint32_t flags);

/* ---- assign.c: discovery, assignments, bridge ports ---- */

int tx_discover(void *pool, trellis_call_t *call, uint32_t what, uint32_t flags,
		trellis_st_object_fn fn, void *opaque);
int tx_assign(void *pool, trellis_call_t *call,
	      const trellis_assign_spec_t *spec, const char *idem_key,
	      uint32_t flags);
int tx_unassign(void *pool, trellis_call_t *call,
		const trellis_assign_spec_t *spec, const char *idem_key,
		uint32_t flags);
int tx_port_connect(void *pool, trellis_call_t *call, const char *port,
		    const char *idem_key, uint32_t flags,
		    trellis_st_object_t *out);

/* ---- stream.c: volume streams ---- */

int tx_vol_open(void *pool, trellis_call_t *call, const char *name,
		uint32_t flags, void **stream);
int tx_vol_read(void *pool, void *stream, trellis_call_t *call, uint64_t off,
		void *buf, size_t len, size_t *got);
int tx_vol_write(void *pool, void *stream, trellis_call_t *call, uint64_t off,
		 const void *buf, size_t len);
int tx_vol_stream_close(void *pool, void *stream, trellis_call_t *call,
			uint32_t flags);

/* ---- idem.c: idempotency keys of the volumes the plugin made ---- */

/* Loads the keys kept in the plugin's state dir (host->state_dir);
 * without one they are kept in memory only.  0 or the error. */
int tx_made_open(struct tx *tx, trellis_call_t *call);
void tx_made_close(void);
/* Whether the volume name of p's target was made under key: 1 yes, 0 no
 * key known for it, -1 made under another key. */
int tx_made_is(struct tx_pool *p, const char *name, const char *key);
/* Remembers (key) or forgets (NULL) the key name was made under, on disk
 * before it returns: 0 or the error in call (call NULL: logged). */
int tx_made_set(struct tx_pool *p, trellis_call_t *call, const char *name,
		const char *key);

#endif
