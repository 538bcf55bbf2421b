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

static int db_fail(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "console: %s: %s", what,
			   tr_sql_errmsg(db));
}

static void copy_col(struct tr_sql_stmt *st, int i, char *dst, size_t len)
{
	const char *t = tr_sql_column_text(st, i);
	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static json_t *col_json(struct tr_sql_stmt *st, int i)
{
	switch (tr_sql_column_type(st, i)) {
	case TR_SQL_NULL:
		return json_null();
	case TR_SQL_INTEGER:
		return json_integer(tr_sql_column_int64(st, i));
	default:
		return json_string(tr_sql_column_text(st, i));
	}
}

/* A row as an object: the statement's column names are the keys. */
static json_t *row_json(struct tr_sql_stmt *st)
{
	json_t *o = json_object();
	for (int i = 0; i < tr_sql_column_count(st); i++)
		json_object_set_new(o, tr_sql_column_name(st, i),
				    col_json(st, i));
	return o;
}

int tr_console_token_new(struct tr_sql *db, struct tr_console_grant *g,
			 long ttl_s, char token[TR_CONSOLE_TOKEN_LEN + 1],
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
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db,
			   "INSERT INTO console_token (hash, kind, vm_uuid, "
			   "vm_name, \"user\", bu_id, mode, session_id, "
			   "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, "
			   "?5, ?6, ?7, ?8, ?9, ?10)",
			   &st) != 0)
		return db_fail(db, call, "mint a token");
	tr_sql_bind_text_copy(st, 1, hash);
	tr_sql_bind_text(st, 2, g->kind);
	tr_sql_bind_text(st, 3, g->vm_uuid);
	tr_sql_bind_text(st, 4, g->vm_name);
	tr_sql_bind_text(st, 5, g->user);
	tr_sql_bind_int64(st, 6, g->bu_id);
	tr_sql_bind_text(st, 7, g->mode[0] ? g->mode : "ws");
	if (g->resumes)
		tr_sql_bind_int64(st, 8, g->resumes);
	else
		tr_sql_bind_null(st, 8);
	tr_sql_bind_int64(st, 9, now);
	tr_sql_bind_int64(st, 10, g->expires_at);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		sodium_memzero(token, TR_CONSOLE_TOKEN_LEN + 1);
		return db_fail(db, call, "mint a token");
	}
	return 0;
}

int tr_console_token_redeem(struct tr_sql *db, const char *token,
			    const char *proxy, tr_console_check_fn check,
			    void *arg, struct tr_console_grant *g,
			    trellis_call_t *call)
{
	memset(g, 0, sizeof *g);
	char hash[65];
	hash_token(token, hash);
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(
		db,
		"SELECT id, kind, vm_uuid, vm_name, \"user\", bu_id, "
		"mode, COALESCE(session_id, 0), expires_at, "
		"used_at, used_by FROM console_token WHERE hash "
		"= ?1",
		&st) != 0)
		return db_fail(db, call, "redeem");
	tr_sql_bind_text_copy(st, 1, hash);
	int rc = tr_sql_step(st);
	if (rc != TR_SQL_ROW) {
		tr_sql_finalize(st);
		return rc == TR_SQL_DONE ? tr_call_set(call, TRELLIS_E_AUTH,
						       "console: unknown token")
					 : db_fail(db, call, "redeem");
	}
	g->token_id = tr_sql_column_int64(st, 0);
	copy_col(st, 1, g->kind, sizeof g->kind);
	copy_col(st, 2, g->vm_uuid, sizeof g->vm_uuid);
	copy_col(st, 3, g->vm_name, sizeof g->vm_name);
	copy_col(st, 4, g->user, sizeof g->user);
	g->bu_id = tr_sql_column_int64(st, 5);
	copy_col(st, 6, g->mode, sizeof g->mode);
	g->resumes = tr_sql_column_int64(st, 7);
	g->expires_at = tr_sql_column_int64(st, 8);
	int used = tr_sql_column_type(st, 9) != TR_SQL_NULL;
	int64_t used_at = tr_sql_column_int64(st, 9);
	char used_by[128];
	copy_col(st, 10, used_by, sizeof used_by);
	tr_sql_finalize(st);
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
	if (tr_sql_prepare(db,
			   "UPDATE console_token SET used_at = ?1, used_by "
			   "= ?2 WHERE id = ?3 AND used_at IS NULL",
			   &st) != 0)
		return db_fail(db, call, "redeem");
	tr_sql_bind_int64(st, 1, now);
	tr_sql_bind_text(st, 2, proxy);
	tr_sql_bind_int64(st, 3, g->token_id);
	rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_fail(db, call, "redeem");
	if ((int)tr_sql_changes(db) != 1)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "console: token already used");
	if (tr_sql_prepare(db,
			   "INSERT INTO console_session (token_id, vm_uuid, "
			   "vm_name, \"user\", bu_id, proxy, mode, state, "
			   "started_at, resumed_from) VALUES (?1, ?2, ?3, "
			   "?4, ?5, ?6, ?7, 'open', ?8, ?9) RETURNING id",
			   &st) != 0)
		return db_fail(db, call, "open a session");
	tr_sql_bind_int64(st, 1, g->token_id);
	tr_sql_bind_text(st, 2, g->vm_uuid);
	tr_sql_bind_text(st, 3, g->vm_name);
	tr_sql_bind_text(st, 4, g->user);
	tr_sql_bind_int64(st, 5, g->bu_id);
	tr_sql_bind_text(st, 6, proxy);
	tr_sql_bind_text(st, 7, g->mode);
	tr_sql_bind_int64(st, 8, now);
	if (g->resumes)
		tr_sql_bind_int64(st, 9, g->resumes);
	else
		tr_sql_bind_null(st, 9);
	rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW)
		g->session_id = tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	if (rc != TR_SQL_ROW)
		return db_fail(db, call, "open a session");
	return 0;
}

int tr_console_session_end(struct tr_sql *db, int64_t id, const char *state,
			   const char *reason, const char *by, int *was_open,
			   trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	*was_open = 0;
	if (tr_sql_prepare(db,
			   "UPDATE console_session SET state = ?1, ended_at "
			   "= ?2, reason = ?3, closed_by = ?4 WHERE id = ?5 "
			   "AND state = 'open'",
			   &st) != 0)
		return db_fail(db, call, "end a session");
	tr_sql_bind_text(st, 1, state);
	tr_sql_bind_int64(st, 2, (int64_t)time(NULL));
	tr_sql_bind_text(st, 3, reason ? reason : "");
	tr_sql_bind_text(st, 4, by ? by : "");
	tr_sql_bind_int64(st, 5, id);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_fail(db, call, "end a session");
	*was_open = (int)tr_sql_changes(db) == 1;
	return 0;
}

#define SESSION_COLS                                                           \
	"SELECT id, vm_name AS vm, vm_uuid, \"user\", proxy, mode, state, "    \
	"started_at, ended_at, reason, closed_by, resumed_from FROM "          \
	"console_session "

int tr_console_session_get(struct tr_sql *db, int64_t id, json_t **out,
			   trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	*out = NULL;
	if (tr_sql_prepare(db, SESSION_COLS "WHERE id = ?1", &st) != 0)
		return db_fail(db, call, "read a session");
	tr_sql_bind_int64(st, 1, id);
	int rc = tr_sql_step(st);
	if (rc == TR_SQL_ROW)
		*out = row_json(st);
	tr_sql_finalize(st);
	if (rc == TR_SQL_DONE)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "console session %lld not found",
				   (long long)id);
	return rc == TR_SQL_ROW ? 0 : db_fail(db, call, "read a session");
}

int tr_console_session_list(struct tr_sql *db, const char *proxy,
			    const char *state, int64_t bu_id, unsigned limit,
			    json_t **out, trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	*out = NULL;
	if (tr_sql_prepare(db,
			   SESSION_COLS
			   "WHERE (CAST(?1 AS TEXT) IS NULL OR proxy = ?1) AND "
			   "(CAST(?2 AS TEXT) IS NULL OR state = ?2) AND (?3 = "
			   "0 OR bu_id = ?3) "
			   "ORDER BY id DESC LIMIT ?4",
			   &st) != 0)
		return db_fail(db, call, "list sessions");
	if (proxy)
		tr_sql_bind_text(st, 1, proxy);
	if (state)
		tr_sql_bind_text(st, 2, state);
	tr_sql_bind_int64(st, 3, bu_id);
	tr_sql_bind_int64(st, 4, limit ? limit : 100);
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, row_json(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_fail(db, call, "list sessions");
	}
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

/* ---- proxy instances ---- */

static int exec1(struct tr_sql *db, struct tr_sql_stmt *st,
		 trellis_call_t *call, const char *what)
{
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : db_fail(db, call, what);
}

int tr_console_proxy_report(struct tr_sql *db,
			    const struct tr_console_report *r, char state[16],
			    trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	int64_t now = (int64_t)time(NULL);
	/* A report moves "starting" to "active"; draining and retired stay. */
	if (tr_sql_prepare(
		db,
		"INSERT INTO console_proxy (name, url, launcher, pid, state, "
		"sessions, capacity, rss_kib, started_at, reported_at) VALUES "
		"(?1, ?2, ?3, ?4, 'active', ?5, ?6, ?7, ?8, ?8) ON CONFLICT "
		"(name) DO UPDATE SET url = excluded.url, pid = excluded.pid, "
		"sessions = excluded.sessions, capacity = excluded.capacity, "
		"rss_kib = excluded.rss_kib, reported_at = "
		"excluded.reported_at, "
		"state = CASE console_proxy.state WHEN 'starting' THEN "
		"'active' ELSE console_proxy.state END",
		&st) != 0)
		return db_fail(db, call, "record a load report");
	tr_sql_bind_text(st, 1, r->name);
	tr_sql_bind_text(st, 2, r->url);
	if (r->launcher)
		tr_sql_bind_text(st, 3, r->launcher);
	else
		tr_sql_bind_null(st, 3);
	tr_sql_bind_int64(st, 4, r->pid);
	tr_sql_bind_int64(st, 5, r->sessions);
	tr_sql_bind_int64(st, 6, r->capacity);
	tr_sql_bind_int64(st, 7, (int64_t)r->rss_kib);
	tr_sql_bind_int64(st, 8, now);
	int rc = exec1(db, st, call, "record a load report");
	if (rc < 0)
		return rc;
	if (tr_sql_prepare(db,
			   "SELECT state FROM console_proxy WHERE name = ?1",
			   &st) != 0)
		return db_fail(db, call, "record a load report");
	tr_sql_bind_text(st, 1, r->name);
	snprintf(state, 16, "active");
	if (tr_sql_step(st) == TR_SQL_ROW)
		copy_col(st, 0, state, 16);
	tr_sql_finalize(st);
	return 0;
}

int tr_console_proxy_add(struct tr_sql *db, const char *name, const char *url,
			 const char *launcher, long pid, unsigned capacity,
			 trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db,
			   "INSERT INTO console_proxy (name, url, launcher, "
			   "pid, state, capacity, started_at) VALUES (?1, ?2, "
			   "?3, ?4, 'starting', ?5, ?6) ON CONFLICT (name) DO "
			   "UPDATE SET url = excluded.url, launcher = "
			   "excluded.launcher, pid = excluded.pid, state = "
			   "excluded.state, capacity = excluded.capacity, "
			   "started_at = excluded.started_at, sessions = 0, "
			   "rss_kib = 0, reported_at = NULL",
			   &st) != 0)
		return db_fail(db, call, "add a proxy");
	tr_sql_bind_text(st, 1, name);
	tr_sql_bind_text(st, 2, url);
	tr_sql_bind_text(st, 3, launcher);
	tr_sql_bind_int64(st, 4, pid);
	tr_sql_bind_int64(st, 5, capacity);
	tr_sql_bind_int64(st, 6, (int64_t)time(NULL));
	return exec1(db, st, call, "add a proxy");
}

int tr_console_proxy_set_state(struct tr_sql *db, const char *name,
			       const char *state, trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db,
			   "UPDATE console_proxy SET state = ?1 WHERE name "
			   "= ?2",
			   &st) != 0)
		return db_fail(db, call, "set a proxy's state");
	tr_sql_bind_text(st, 1, state);
	tr_sql_bind_text(st, 2, name);
	int rc = exec1(db, st, call, "set a proxy's state");
	if (!rc && (int)tr_sql_changes(db) == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "console proxy '%s' not found", name);
	return rc;
}

int tr_console_proxy_delete(struct tr_sql *db, const char *name,
			    trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db, "DELETE FROM console_proxy WHERE name = ?1",
			   &st) != 0)
		return db_fail(db, call, "remove a proxy");
	tr_sql_bind_text(st, 1, name);
	return exec1(db, st, call, "remove a proxy");
}

int tr_console_proxy_list(struct tr_sql *db, json_t **out, trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	*out = NULL;
	if (tr_sql_prepare(
		db,
		"SELECT name, url, launcher, pid, state, sessions, capacity, "
		"rss_kib, started_at, reported_at, (SELECT count(*) FROM "
		"console_session s WHERE s.proxy = p.name AND s.state = "
		"'open') AS open FROM console_proxy p ORDER BY name",
		&st) != 0)
		return db_fail(db, call, "list proxies");
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, row_json(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_fail(db, call, "list proxies");
	}
	*out = json_pack("{s:o, s:n}", "items", items, "next");
	return 0;
}

int tr_console_lease_take(struct tr_sql *db, const char *name,
			  const char *holder, long ttl_s, char *other,
			  size_t otherlen, trellis_call_t *call)
{
	struct tr_sql_stmt *st;
	int64_t now = (int64_t)time(NULL);
	/* One statement: free, expired or ours already -> ours. */
	if (tr_sql_prepare(
		db,
		"INSERT INTO console_lease (name, holder, expires_at) VALUES "
		"(?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET holder = "
		"excluded.holder, expires_at = excluded.expires_at WHERE "
		"console_lease.holder = excluded.holder OR "
		"console_lease.expires_at <= ?4",
		&st) != 0)
		return db_fail(db, call, "take the lease");
	tr_sql_bind_text(st, 1, name);
	tr_sql_bind_text(st, 2, holder);
	tr_sql_bind_int64(st, 3, now + ttl_s);
	tr_sql_bind_int64(st, 4, now);
	int rc = exec1(db, st, call, "take the lease");
	if (rc < 0)
		return rc;
	if ((int)tr_sql_changes(db) == 1)
		return 1;
	if (tr_sql_prepare(db,
			   "SELECT holder FROM console_lease WHERE name = ?1",
			   &st) != 0)
		return db_fail(db, call, "take the lease");
	tr_sql_bind_text(st, 1, name);
	snprintf(other, otherlen, "?");
	if (tr_sql_step(st) == TR_SQL_ROW)
		copy_col(st, 0, other, otherlen);
	tr_sql_finalize(st);
	return 0;
}
