/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.c - console tokens, sessions, proxy reports and the scan lease
 * in the store (console.h).  Only token hashes are stored; a refusal's
 * message says why (unknown, expired, used) and never echoes the token.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "console.h"

static void hash_token(const char *token, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)token,
			   strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof h);
}

static int db_fail(sqlite3 *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "console: %s: %s", what,
			   sqlite3_errmsg(db));
}

static void copy_col(sqlite3_stmt *st, int i, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	default:
		return json_string((const char *)sqlite3_column_text(st, i));
	}
}

/* A row as an object: the statement's column names are the keys. */
static json_t *row_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	for (int i = 0; i < sqlite3_column_count(st); i++)
		json_object_set_new(o, sqlite3_column_name(st, i),
				    col_json(st, i));
	return o;
}

int tr_console_token_new(sqlite3 *db, struct tr_console_grant *g, long ttl_s,
			 char token[TR_CONSOLE_TOKEN_LEN + 1],
			 trellis_call_t *call)
{
	if (ttl_s < 1 || ttl_s > TR_CONSOLE_TTL_MAX)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "console: a token lives 1 to %d s, not %ld s",
				   TR_CONSOLE_TTL_MAX, ttl_s);
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(token, TR_CONSOLE_TOKEN_LEN + 1, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
	char hash[65];
	hash_token(token, hash);
	int64_t now = (int64_t)time(NULL);
	g->expires_at = now + ttl_s;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO console_token (hash, kind, vm_uuid, "
			       "vm_name, user, bu_id, mode, session_id, "
			       "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, "
			       "?5, ?6, ?7, ?8, ?9, ?10)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "mint a token");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, g->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, g->vm_uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, g->vm_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, g->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, g->bu_id);
	sqlite3_bind_text(st, 7, g->mode[0] ? g->mode : "ws", -1,
			  SQLITE_STATIC);
	if (g->resumes)
		sqlite3_bind_int64(st, 8, g->resumes);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_int64(st, 9, now);
	sqlite3_bind_int64(st, 10, g->expires_at);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		sodium_memzero(token, TR_CONSOLE_TOKEN_LEN + 1);
		return db_fail(db, call, "mint a token");
	}
	return 0;
}

int tr_console_token_redeem(sqlite3 *db, const char *token,
			    const char *proxy, tr_console_check_fn check,
			    void *arg, struct tr_console_grant *g,
			    trellis_call_t *call)
{
	memset(g, 0, sizeof *g);
	char hash[65];
	hash_token(token, hash);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, kind, vm_uuid, vm_name, user, bu_id, "
			       "mode, COALESCE(session_id, 0), expires_at, "
			       "used_at, used_by FROM console_token WHERE hash "
			       "= ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "redeem");
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE
			   ? tr_call_set(call, TRELLIS_E_AUTH,
					 "console: unknown token")
			   : db_fail(db, call, "redeem");
	}
	g->token_id = sqlite3_column_int64(st, 0);
	copy_col(st, 1, g->kind, sizeof g->kind);
	copy_col(st, 2, g->vm_uuid, sizeof g->vm_uuid);
	copy_col(st, 3, g->vm_name, sizeof g->vm_name);
	copy_col(st, 4, g->user, sizeof g->user);
	g->bu_id = sqlite3_column_int64(st, 5);
	copy_col(st, 6, g->mode, sizeof g->mode);
	g->resumes = sqlite3_column_int64(st, 7);
	g->expires_at = sqlite3_column_int64(st, 8);
	int used = sqlite3_column_type(st, 9) != SQLITE_NULL;
	int64_t used_at = sqlite3_column_int64(st, 9);
	char used_by[128];
	copy_col(st, 10, used_by, sizeof used_by);
	sqlite3_finalize(st);
	int64_t now = (int64_t)time(NULL);
	if (used)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "console: token already used (at %lld, by "
				   "proxy '%s')",
				   (long long)used_at, used_by);
	if (now >= g->expires_at)
		return tr_call_set(call, TRELLIS_E_AUTH,
				   "console: token expired %lld s ago",
				   (long long)(now - g->expires_at));
	if (check && (rc = check(arg, g, call)) < 0)
		return rc;
	/* The one UPDATE that only one redeemer wins. */
	if (sqlite3_prepare_v2(db,
			       "UPDATE console_token SET used_at = ?1, used_by "
			       "= ?2 WHERE id = ?3 AND used_at IS NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "redeem");
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, proxy, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, g->token_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, call, "redeem");
	if (sqlite3_changes(db) != 1)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "console: token already used");
	if (sqlite3_prepare_v2(db,
			       "INSERT INTO console_session (token_id, vm_uuid, "
			       "vm_name, user, bu_id, proxy, mode, state, "
			       "started_at, resumed_from) VALUES (?1, ?2, ?3, "
			       "?4, ?5, ?6, ?7, 'open', ?8, ?9)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "open a session");
	sqlite3_bind_int64(st, 1, g->token_id);
	sqlite3_bind_text(st, 2, g->vm_uuid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, g->vm_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, g->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, g->bu_id);
	sqlite3_bind_text(st, 6, proxy, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, g->mode, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, now);
	if (g->resumes)
		sqlite3_bind_int64(st, 9, g->resumes);
	else
		sqlite3_bind_null(st, 9);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, call, "open a session");
	g->session_id = sqlite3_last_insert_rowid(db);
	return 0;
}

int tr_console_session_end(sqlite3 *db, int64_t id, const char *state,
			   const char *reason, const char *by, int *was_open,
			   trellis_call_t *call)
{
	sqlite3_stmt *st;
	*was_open = 0;
	if (sqlite3_prepare_v2(db,
			       "UPDATE console_session SET state = ?1, ended_at "
			       "= ?2, reason = ?3, closed_by = ?4 WHERE id = ?5 "
			       "AND state = 'open'",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "end a session");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time(NULL));
	sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, by ? by : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, call, "end a session");
	*was_open = sqlite3_changes(db) == 1;
	return 0;
}

#define SESSION_COLS                                                           \
	"SELECT id, vm_name AS vm, vm_uuid, user, proxy, mode, state, "        \
	"started_at, ended_at, reason, closed_by, resumed_from FROM "          \
	"console_session "

int tr_console_session_get(sqlite3 *db, int64_t id, json_t **out,
			   trellis_call_t *call)
{
	sqlite3_stmt *st;
	*out = NULL;
	if (sqlite3_prepare_v2(db, SESSION_COLS "WHERE id = ?1", -1, &st,
			       NULL) != SQLITE_OK)
		return db_fail(db, call, "read a session");
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = row_json(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "console session %lld not found",
				   (long long)id);
	return rc == SQLITE_ROW ? 0 : db_fail(db, call, "read a session");
}

int tr_console_session_list(sqlite3 *db, const char *proxy,
			    const char *state, int64_t bu_id, unsigned limit,
			    json_t **out, trellis_call_t *call)
{
	sqlite3_stmt *st;
	*out = NULL;
	if (sqlite3_prepare_v2(db,
			       SESSION_COLS
			       "WHERE (?1 IS NULL OR proxy = ?1) AND (?2 IS "
			       "NULL OR state = ?2) AND (?3 = 0 OR bu_id = ?3) "
			       "ORDER BY id DESC LIMIT ?4",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "list sessions");
	if (proxy)
		sqlite3_bind_text(st, 1, proxy, -1, SQLITE_STATIC);
	if (state)
		sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, bu_id);
	sqlite3_bind_int64(st, 4, limit ? limit : 100);
	json_t *items = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(items, row_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(items);
		return db_fail(db, call, "list sessions");
	}
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

/* ---- proxy instances ---- */

static int exec1(sqlite3 *db, sqlite3_stmt *st, trellis_call_t *call,
		 const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_fail(db, call, what);
}

int tr_console_proxy_report(sqlite3 *db, const struct tr_console_report *r,
			    char state[16], trellis_call_t *call)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	/* A report moves "starting" to "active"; draining and retired stay. */
	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO console_proxy (name, url, launcher, pid, state, "
		"sessions, capacity, rss_kib, started_at, reported_at) VALUES "
		"(?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?8, ?8) ON CONFLICT "
		"(name) DO UPDATE SET url = excluded.url, pid = excluded.pid, "
		"sessions = excluded.sessions, capacity = excluded.capacity, "
		"rss_kib = excluded.rss_kib, reported_at = excluded.reported_at, "
		"state = CASE state WHEN 'starting' THEN 'active' ELSE state "
		"END",
		-1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "record a load report");
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, r->url, -1, SQLITE_STATIC);
	if (r->launcher)
		sqlite3_bind_text(st, 3, r->launcher, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, r->pid);
	sqlite3_bind_int64(st, 5, r->sessions);
	sqlite3_bind_int64(st, 6, r->capacity);
	sqlite3_bind_int64(st, 7, (int64_t)r->rss_kib);
	sqlite3_bind_int64(st, 8, now);
	int rc = exec1(db, st, call, "record a load report");
	if (rc < 0)
		return rc;
	if (sqlite3_prepare_v2(db,
			       "SELECT state FROM console_proxy WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "record a load report");
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	snprintf(state, 16, "active");
	if (sqlite3_step(st) == SQLITE_ROW)
		copy_col(st, 0, state, 16);
	sqlite3_finalize(st);
	return 0;
}

int tr_console_proxy_add(sqlite3 *db, const char *name, const char *url,
			 const char *launcher, long pid, unsigned capacity,
			 trellis_call_t *call)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "INSERT OR REPLACE INTO console_proxy (name, url, "
			       "launcher, pid, state, capacity, started_at) "
			       "VALUES (?1, ?2, ?3, ?4, 'starting', ?5, ?6)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "add a proxy");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, launcher, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, pid);
	sqlite3_bind_int64(st, 5, capacity);
	sqlite3_bind_int64(st, 6, (int64_t)time(NULL));
	return exec1(db, st, call, "add a proxy");
}

int tr_console_proxy_set_state(sqlite3 *db, const char *name,
			       const char *state, trellis_call_t *call)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "UPDATE console_proxy SET state = ?1 WHERE name "
			       "= ?2",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "set a proxy's state");
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	int rc = exec1(db, st, call, "set a proxy's state");
	if (!rc && sqlite3_changes(db) == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "console proxy '%s' not found", name);
	return rc;
}

int tr_console_proxy_delete(sqlite3 *db, const char *name,
			    trellis_call_t *call)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "DELETE FROM console_proxy WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "remove a proxy");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return exec1(db, st, call, "remove a proxy");
}

int tr_console_proxy_list(sqlite3 *db, json_t **out, trellis_call_t *call)
{
	sqlite3_stmt *st;
	*out = NULL;
	if (sqlite3_prepare_v2(
		db,
		"SELECT name, url, launcher, pid, state, sessions, capacity, "
		"rss_kib, started_at, reported_at, (SELECT count(*) FROM "
		"console_session s WHERE s.proxy = p.name AND s.state = "
		"'open') AS open FROM console_proxy p ORDER BY name",
		-1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "list proxies");
	json_t *items = json_array();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(items, row_json(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(items);
		return db_fail(db, call, "list proxies");
	}
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

int tr_console_lease_take(sqlite3 *db, const char *name, const char *holder,
			  long ttl_s, char *other, size_t otherlen,
			  trellis_call_t *call)
{
	sqlite3_stmt *st;
	int64_t now = (int64_t)time(NULL);
	/* One statement: free, expired or ours already -> ours. */
	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO console_lease (name, holder, expires_at) VALUES "
		"(?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET holder = "
		"excluded.holder, expires_at = excluded.expires_at WHERE "
		"console_lease.holder = excluded.holder OR "
		"console_lease.expires_at <= ?4",
		-1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "take the lease");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, holder, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now + ttl_s);
	sqlite3_bind_int64(st, 4, now);
	int rc = exec1(db, st, call, "take the lease");
	if (rc < 0)
		return rc;
	if (sqlite3_changes(db) == 1)
		return 1;
	if (sqlite3_prepare_v2(db,
			       "SELECT holder FROM console_lease WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(db, call, "take the lease");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	snprintf(other, otherlen, "?");
	if (sqlite3_step(st) == SQLITE_ROW)
		copy_col(st, 0, other, otherlen);
	sqlite3_finalize(st);
	return 0;
}
