/*
 * keys.h - API keys for tcp:// listeners.
 *
 * A tcp:// listener answers only requests whose envelope carries
 * "auth": TOKEN for a key in the keys file (api.keys_file, default
 * STATE_DIR/api-keys).  The file holds one key per line, "NAME HASH",
 * where HASH is the hex BLAKE2b-256 (libsodium crypto_generichash) of the
 * token: the token itself is shown once, when `trellisd --api-key-add
 * NAME` makes it, and is never stored, logged or echoed.  The file must
 * not be readable by group or others.  ipc:// listeners are guarded by
 * the socket file's mode and need no key.
 */
#ifndef TRELLIS_CORE_API_KEYS_H
#define TRELLIS_CORE_API_KEYS_H

#include <stddef.h>

struct tr_keys;

/* Loads path.  NULL with err ("FILE:LINE: reason", or why the file cannot
 * be used) on failure; a missing file is an error too. */
struct tr_keys *tr_keys_load(const char *path, char *err, size_t errlen);
void tr_keys_free(struct tr_keys *k);
size_t tr_keys_count(const struct tr_keys *k);

/* The name of the key whose token this is, or NULL.  Constant time in
 * the token's content. */
const char *tr_keys_check(const struct tr_keys *k, const char *token);

/* Makes a key NAME: appends its hash to path (created 0600 if missing)
 * and writes the token (a NUL-terminated string) to token, which holds
 * TR_KEY_TOKEN_LEN + 1 bytes.  0, or -1 with err. */
#define TR_KEY_TOKEN_LEN 68 /* "trk_" and 64 hex digits */
int tr_keys_add(const char *path, const char *name, char *token,
		char *err, size_t errlen);

#endif
