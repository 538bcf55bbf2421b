/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.h - API keys for tcp:// listeners.
 *
 * A tcp:// listener answers only requests whose envelope carries
 * "auth": TOKEN for a key in the keys file (api.keys_file, default
 * STATE_DIR/api-keys).  The file holds one key per line, "NAME HASH
 * [expires=UNIX_SECONDS]", where HASH is the hex BLAKE2b-256 (libsodium
 * crypto_generichash) of the token: the token itself is shown once, when
 * `trellisd --api-key-add NAME` makes it, and is never stored, logged or
 * echoed.  The file must not be readable by group or others.  ipc://
 * listeners are guarded by the socket file's mode and need no key.
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

/* The i-th key's name (NULL past the end) and expiry (unix seconds, 0:
 * never). */
const char *tr_keys_name(const struct tr_keys *k, size_t i);
long long tr_keys_expires(const struct tr_keys *k, size_t i);

/* Whether token is a key's at unix time now: 1 valid, -1 expired (name
 * gets the key's name for both), 0 no key's.  Constant time in the
 * token's content. */
int tr_keys_check(const struct tr_keys *k, const char *token, long long now,
		  char *name, size_t namelen);

/* Makes a key NAME that expires at unix time expires (0: never): appends
 * its hash to path (created 0600 if missing) and writes the token (a
 * NUL-terminated string) to token, which holds TR_KEY_TOKEN_LEN + 1
 * bytes.  0, or -1 with err. */
#define TR_KEY_TOKEN_LEN 68 /* "trk_" and 64 hex digits */
int tr_keys_add(const char *path, const char *name, long long expires,
		char *token, char *err, size_t errlen);
/* Removes key NAME from path, keeping every other line as it was (the
 * file is replaced atomically).  0, or -1 with err (no such key, or a
 * file that does not load). */
int tr_keys_remove(const char *path, const char *name, char *err,
		   size_t errlen);

#endif
