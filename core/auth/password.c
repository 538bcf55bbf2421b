/* SPDX-License-Identifier: Apache-2.0 */
/*
 * password.c - users' passwords, for the dashboard's login (issue 25;
 * auth.h): argon2id strings of libsodium's crypto_pwhash_str in column
 * tr_user.password, set by user.passwd and checked by the HTTP door.
 * The password itself is never stored, logged or echoed.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "auth.h"

/* Interactive limits: a login costs about 64 MiB and a tenth of a second,
 * on the thread that checks it. */
#define OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

int tr_user_passwd_set(struct tr_store *s, const char *user,
		       const char *password, trellis_call_t *call)
{
	char hash[crypto_pwhash_STRBYTES];
	size_t n = password ? strlen(password) : 0;
	if (password && (n < TR_PASSWORD_MIN || n > TR_PASSWORD_MAX))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "user '%s': a password is %d to %d bytes",
				   user, TR_PASSWORD_MIN, TR_PASSWORD_MAX);
	if (password && crypto_pwhash_str_alg(hash, password, n, OPS, MEM,
					      crypto_pwhash_ALG_ARGON2ID13) != 0)
		return tr_call_set(call, TRELLIS_E_NOMEM,
				   "user '%s': cannot hash the password "
				   "(out of memory)",
				   user);
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	int ret;
	if (tr_sql_prepare(db,
			   "UPDATE tr_user SET password = ?2 WHERE name = ?1",
			   &st) != 0) {
		ret = tr_call_set(call, TRELLIS_E_IO, "users: %s",
				  tr_sql_errmsg(db));
		goto out;
	}
	tr_sql_bind_text(st, 1, user);
	if (password)
		tr_sql_bind_text(st, 2, hash);
	if (tr_sql_step(st) != TR_SQL_DONE)
		ret = tr_call_set(call, TRELLIS_E_IO, "users: %s",
				  tr_sql_errmsg(db));
	else if ((int)tr_sql_changes(db) == 0)
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "user '%s' not found", user);
	else
		ret = 0;
out:
	tr_sql_finalize(st);
	sodium_memzero(hash, sizeof hash);
	return ret;
}

/* A hash of a password nobody has: checked when the user is unknown or
 * has no password, so that a refusal takes as long either way. */
static const char *decoy(void)
{
	static char h[crypto_pwhash_STRBYTES];
	if (!h[0]) {
		char pw[16];
		randombytes_buf(pw, sizeof pw);
		if (crypto_pwhash_str_alg(h, pw, sizeof pw, OPS, MEM,
					  crypto_pwhash_ALG_ARGON2ID13) != 0)
			h[0] = '\0';
	}
	return h;
}

int tr_auth_by_password(struct tr_store *s, const struct tr_roles *roles,
			const char *user, const char *password,
			struct tr_ident *id, trellis_call_t *call)
{
	char hash[crypto_pwhash_STRBYTES] = "";
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "SELECT password FROM tr_user WHERE name = ?1",
			   &st) != 0)
		return tr_call_set(call, TRELLIS_E_IO, "users: %s",
				   tr_sql_errmsg(db));
	tr_sql_bind_text(st, 1, user);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW && tr_sql_column_text(st, 0))
		snprintf(hash, sizeof hash, "%s", tr_sql_column_text(st, 0));
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW && rc != TR_SQL_DONE)
		return tr_call_set(call, TRELLIS_E_IO, "users: %s",
				   tr_sql_errmsg(db));
	size_t n = strlen(password);
	int ok = hash[0] && n <= TR_PASSWORD_MAX &&
		 crypto_pwhash_str_verify(hash, password, n) == 0;
	if (!hash[0]) {
		const char *d = decoy();
		if (d[0] && crypto_pwhash_str_verify(d, password, n) == 0)
			ok = 0; /* nobody knows it: cannot happen */
	}
	sodium_memzero(hash, sizeof hash);
	if (!ok)
		return tr_call_set(call, TRELLIS_E_PERMISSION,
				   "wrong user name or password");
	rc = tr_auth_by_name(s, roles, user, id, call);
	if (rc == 0)
		id->via = "http";
	return rc;
}
