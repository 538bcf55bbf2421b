/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secret.h - keeping workflow secrets out of everything that persists or
 * leaves the process.
 *
 * A struct tr_secrets is the set of secret values an instance has seen
 * (its secret-typed inputs, every ${secrets.NAME} it resolved).  Redaction
 * replaces each occurrence of any of them, in any string of a JSON value,
 * with "***"; the engine redacts before it journals, logs or publishes.
 *
 * Secret inputs must survive a restart, so the instance journals them
 * sealed: encrypted with libsodium's secretbox under a key kept in a file
 * of the state directory (mode 0600), never in the database.
 */
#ifndef TRELLIS_CORE_WF_SECRET_H
#define TRELLIS_CORE_WF_SECRET_H

#include <jansson.h>
#include <stddef.h>

#define TR_REDACTED "***"

struct tr_secrets {
	char **v;
	size_t n;
};

/* Remembers a secret value (copied; empty values are ignored). */
int tr_secrets_add(struct tr_secrets *s, const char *value);
/* Wipes and frees the values. */
void tr_secrets_clear(struct tr_secrets *s);
/* A redacted deep copy of v (a new reference). */
json_t *tr_secrets_redact(const struct tr_secrets *s, const json_t *v);
/* A redacted copy of a string (malloc'd). */
char *tr_secrets_redact_str(const struct tr_secrets *s, const char *str);

/* The sealing key: loaded from path, or created there (0600) when it does
 * not exist; path NULL gives a key for this process only.  0 or -1 with
 * err. */
struct tr_seal;
struct tr_seal *tr_seal_new(const char *path, char *err, size_t errlen);
void tr_seal_free(struct tr_seal *k);
/* Seals a JSON value into base64 text (malloc'd), or NULL. */
char *tr_seal_json(const struct tr_seal *k, const json_t *v);
/* Opens sealed text; a new value, or NULL when it was not sealed with
 * this key. */
json_t *tr_unseal_json(const struct tr_seal *k, const char *text);

#endif
