/* SPDX-License-Identifier: Apache-2.0 */
/*
 * creds.h - storage credentials, cloud bridges and the progress of volume
 * transfers, kept by trellisd.
 *
 * A credential names a storage adapter (a loaded storage plugin, its
 * "module"), the endpoint it reaches, a username, options for the plugin
 * (the translation file, a CA file) and the tenant (BU) that owns it, if
 * any; and it holds a secret.  The secret is sealed at rest with
 * libsodium's secretbox under a key of its own, STATE_DIR/credentials.key
 * (mode 0600, made on first use), and is never handed out but to a plugin
 * by name, through host->secret_get("credential.NAME") (tr_creds_secret):
 * not in a record, a listing, an answer, a log line or an event.
 *
 * Records are rows of store tables (migration adapters-0001-records):
 * tr_storage_credential, tr_storage_bridge, tr_volume_transfer, each
 * (name, owner, body: the record's JSON, updated_at), written through a
 * store connection of this module's own (SQL through sql.h).  Any thread:
 * a process-wide lock guards it (actions on workers read credentials to
 * open pools; the secret source runs on whatever thread a plugin calls
 * it).  The files of before (STATE_DIR/credentials, bridges, transfers:
 * NAME.json) are moved into the tables at init.
 */
#ifndef TRELLIS_CORE_CREDS_H
#define TRELLIS_CORE_CREDS_H

#include <jansson.h>
#include <stddef.h>

#include "../host/host.h"

/* Opens the key under state_dir (made on first use) and a connection to
 * the store at store_path, and moves the files of before into the
 * tables.  0 or -1 with err.  Until then every call is UNAVAILABLE. */
int tr_creds_init(const char *state_dir, const char *store_path, char *err,
		  size_t errlen);
void tr_creds_fini(void);

/*
 * Adds credential name with meta (module, endpoint, username, options,
 * owner: the writable fields) and secret (sealed; the caller wipes its
 * copy).  CONFLICT when it exists.  *out (may be NULL) gets the record as
 * tr_creds_get() gives it.
 */
int tr_creds_add(const char *name, json_t *meta, const char *secret,
		 json_t **out, trellis_call_t *call);
/* The record (never the secret; "secret": "set"), or NOTFOUND. */
int tr_creds_get(const char *name, json_t **out, trellis_call_t *call);
/* {"items": [...]} by name; owner non-NULL: only that tenant's. */
int tr_creds_list(const char *owner, json_t **out, trellis_call_t *call);
/* NOTFOUND when missing. */
int tr_creds_delete(const char *name, trellis_call_t *call);
/* The secret (malloc()ed, the caller wipes and frees it): for the host's
 * secret source only.  0, NOTFOUND, IO or UNAVAILABLE. */
int tr_creds_secret(const char *name, char **value);

/* Bridges: {name, a, b, port, address, owner, created_at, state}. */
int tr_bridge_put(const char *name, json_t *rec, trellis_call_t *call);
int tr_bridge_get(const char *name, json_t **out, trellis_call_t *call);
int tr_bridge_list(const char *owner, json_t **out, trellis_call_t *call);
int tr_bridge_delete(const char *name, trellis_call_t *call);
/* The bridge between pools a and b (either way round), or NOTFOUND. */
int tr_bridge_between(const char *a, const char *b, json_t **out,
		      trellis_call_t *call);

/* The progress of a volume copy, by the id of its step's key (a hex
 * hash): the record, NOTFOUND, or another error. */
int tr_xfer_progress_get(const char *id, json_t **out, trellis_call_t *call);
int tr_xfer_progress_put(const char *id, json_t *rec, trellis_call_t *call);
/* Forgets it (done); a missing one is fine. */
void tr_xfer_progress_delete(const char *id);

#endif
