/* SPDX-License-Identifier: Apache-2.0 */
/*
 * users.c - users, their API keys and who they are, in the store
 * (tables tr_user and user_key; auth.h).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "auth.h"

static int db_error(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	if (tr_sql_errcode(db) == TRELLIS_E_CONFLICT)
		return tr_call_set(call, TRELLIS_E_CONFLICT, "%s: %s", what,
				   tr_sql_errmsg(db));
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

static const char *col(struct tr_sql_stmt *st, int i)
{
	const char *t = tr_sql_column_text(st, i);
	return t ? (const char *)t : "";
}

void tr_auth_hash_token(const char *token, char out[65])
{
	unsigned char h[crypto_generichash_BYTES];
	crypto_generichash(h, sizeof h, (const unsigned char *)token,
			   strlen(token), NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof h);
}

#define USER_COLS                                                              \
	"u.name, u.uid, (SELECT name FROM tenant t WHERE t.id = u.tenant_id), " \
	"u.tenant_id, u.role, u.created_at"

static void fill_ident(struct tr_sql_stmt *st, const struct tr_roles *roles,
		       struct tr_ident *id, const char *via)
{
	memset(id, 0, sizeof *id);
	snprintf(id->user, sizeof id->user, "%s", col(st, 0));
	snprintf(id->bu, sizeof id->bu, "%s", col(st, 2));
	id->bu_id = tr_sql_column_int64(st, 3);
	snprintf(id->role_name, sizeof id->role_name, "%s", col(st, 4));
	id->role = tr_roles_find(roles, id->role_name);
	id->via = via;
}

/* Runs a one-row user query with one bound value (text, or int when
 * text is NULL). */
static int ident_query(struct tr_store *s, const struct tr_roles *roles,
		       const char *sql, const char *text, long long num,
		       struct tr_ident *id, const char *via,
		       trellis_call_t *call, const char *what)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return db_error(db, call, what);
	if (text)
		tr_sql_bind_text(st, 1, text);
	else
		tr_sql_bind_int64(st, 1, num);
	int rc = tr_sql_step(st), ret;
	if (rc == TR_SQL_ROW) {
		fill_ident(st, roles, id, via);
		ret = 0;
	} else if (rc == TR_SQL_DONE) {
		ret = TRELLIS_E_NOTFOUND;
	} else {
		ret = db_error(db, call, what);
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_auth_by_uid(struct tr_store *s, const struct tr_roles *roles,
		   long uid, struct tr_ident *id, trellis_call_t *call)
{
	int rc = ident_query(s, roles,
			     "SELECT " USER_COLS " FROM tr_user u WHERE uid = ?1",
			     NULL, uid, id, "ipc", call, "users");
	if (rc == TRELLIS_E_NOTFOUND && uid == 0) {
		tr_ident_root(id, "ipc");
		return 0;
	}
	if (rc == TRELLIS_E_NOTFOUND)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "no Trellis user has Unix uid %ld (trellis "
				   "user create NAME --uid %ld)",
				   uid, uid);
	return rc;
}

int tr_auth_by_name(struct tr_store *s, const struct tr_roles *roles,
		    const char *user, struct tr_ident *id,
		    trellis_call_t *call)
{
	int rc = ident_query(s, roles,
			     "SELECT " USER_COLS " FROM tr_user u WHERE name = ?1",
			     user, 0, id, "local", call, "users");
	if (rc == TRELLIS_E_NOTFOUND && strcmp(user, "root") == 0) {
		tr_ident_root(id, "local");
		return 0;
	}
	if (rc == TRELLIS_E_NOTFOUND)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "user '%s' not found", user);
	return rc;
}

int tr_auth_by_key(struct tr_store *s, const struct tr_roles *roles,
		   const char *token, struct tr_ident *id, char *name,
		   size_t namelen, trellis_call_t *call)
{
	char hash[65];
	tr_auth_hash_token(token, hash);
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT " USER_COLS ", k.name, k.expires FROM "
			   "user_key k JOIN tr_user u ON u.id = k.user_id "
			   "WHERE k.hash = ?1",
			   &st) != 0)
		return db_error(db, call, "API keys");
	tr_sql_bind_text(st, 1, hash);
	int rc = tr_sql_step(st), ret;
	if (rc == TR_SQL_ROW) {
		fill_ident(st, roles, id, "tcp");
		snprintf(name, namelen, "%s/%s", id->user, col(st, 6));
		long long exp = tr_sql_column_int64(st, 7);
		ret = exp && exp <= (long long)time(NULL)
			  ? tr_call_set(call, TRELLIS_E_PERMISSION,
					"API key '%s' has expired", name)
			  : 0;
	} else if (rc == TR_SQL_DONE) {
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND, "unknown API key");
	} else {
		ret = db_error(db, call, "API keys");
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_users_each_uid(struct tr_store *s,
		      int (*fn)(void *arg, const char *name, long uid),
		      void *arg, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT name, uid FROM tr_user WHERE uid IS NOT "
			   "NULL ORDER BY id",
			   &st) != 0)
		return db_error(db, call, "users");
	int rc, ret = 0;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		if ((ret = fn(arg, col(st, 0),
			      (long)tr_sql_column_int64(st, 1))) != 0)
			break;
	if (rc != TR_SQL_ROW && rc != TR_SQL_DONE)
		ret = db_error(db, call, "users");
	tr_sql_finalize(st);
	return ret;
}

/* ---- records ---- */

static int64_t user_id(struct tr_sql *db, const char *name,
		       trellis_call_t *call)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "SELECT id FROM tr_user WHERE name = ?1", &st) !=
	    0)
		return db_error(db, call, "users");
	tr_sql_bind_text(st, 1, name);
	int rc = tr_sql_step(st);
	int64_t id = rc == TR_SQL_ROW ? tr_sql_column_int64(st, 0)
		     : rc == TR_SQL_DONE
			 ? tr_call_set(call, TRELLIS_E_NOTFOUND,
				       "user '%s' not found", name)
			 : db_error(db, call, "users");
	tr_sql_finalize(st);
	return id;
}

int tr_user_create(struct tr_store *s, const struct tr_roles *roles,
		   const char *name, const char *role, const char *bu,
		   long uid, json_t **out, trellis_call_t *call)
{
	if (!tr_auth_name_ok(name, 1))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "user '%.80s': a name is 1 to 64 characters "
				   "A-Z a-z 0-9 . _ -",
				   name);
	if (strcmp(name, "root") == 0)
		return tr_call_set(call, TRELLIS_E_CONFLICT,
				   "user 'root' is built in (uid 0, dc-admin)");
	const struct tr_role *r = tr_roles_find(roles, role);
	if (!r)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "user '%s': no role '%.64s' (trellis role "
				   "list)",
				   name, role);
	if (r->scope == TR_SCOPE_BU && !bu)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "user '%s': role %s acts inside a business "
				   "unit: give --bu",
				   name, role);
	if (r->scope == TR_SCOPE_GLOBAL && bu)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "user '%s': role %s is global: a member of "
				   "BU '%s' cannot have it",
				   name, role, bu);
	int64_t bu_id = 0;
	if (bu) {
		bu_id = tr_store_id(s, TR_KIND_TENANT, bu, call);
		if (bu_id < 0)
			return (int)bu_id;
	}
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO tr_user (name, uid, tenant_id, role, "
			   "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
			   &st) != 0)
		return db_error(db, call, "creating a user");
	tr_sql_bind_text(st, 1, name);
	if (uid >= 0)
		tr_sql_bind_int64(st, 2, uid);
	if (bu_id)
		tr_sql_bind_int64(st, 3, bu_id);
	tr_sql_bind_text(st, 4, role);
	tr_sql_bind_int64(st, 5, (int64_t)time(NULL));
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		if (tr_sql_errcode(db) == TRELLIS_E_CONFLICT)
			return tr_call_set(call, TRELLIS_E_CONFLICT,
					   "user '%s': %s", name,
					   strstr(tr_sql_errmsg(db), "uid")
					       ? "another user has that uid"
					       : "exists already");
		return db_error(db, call, "creating a user");
	}
	return out ? tr_user_get(s, name, out, call) : 0;
}

static json_t *user_json(struct tr_sql_stmt *st)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:I}", "name", col(st, 0), "role", col(st, 4),
		      "created_at", (json_int_t)tr_sql_column_int64(st, 5));
	json_object_set_new(o, "uid",
			    tr_sql_column_type(st, 1) == TR_SQL_NULL
				? json_null()
				: json_integer(tr_sql_column_int64(st, 1)));
	json_object_set_new(o, "bu",
			    tr_sql_column_type(st, 2) == TR_SQL_NULL
				? json_null()
				: json_string(col(st, 2)));
	return o;
}

int tr_user_get(struct tr_store *s, const char *name, json_t **out,
		trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "SELECT " USER_COLS " FROM tr_user u WHERE "
			   "name = ?1",
			   &st) != 0)
		return db_error(db, call, "users");
	tr_sql_bind_text(st, 1, name);
	int rc = tr_sql_step(st), ret = 0;
	if (rc == TR_SQL_ROW)
		*out = user_json(st);
	else if (rc == TR_SQL_DONE)
		ret = tr_call_set(call, TRELLIS_E_NOTFOUND,
				  "user '%s' not found", name);
	else
		ret = db_error(db, call, "users");
	tr_sql_finalize(st);
	if (ret == 0) {
		json_t *keys = NULL;
		if (tr_user_key_list(s, name, &keys, call) == 0)
			json_object_set_new(*out, "keys",
					    json_incref(json_object_get(
						keys, "items")));
		json_decref(keys);
	}
	return ret;
}

int tr_user_list(struct tr_store *s, const char *bu, json_t **out,
		 trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(
		db,
		"SELECT " USER_COLS " FROM tr_user u WHERE CAST(?1 AS "
		"TEXT) IS NULL OR u.tenant_id = (SELECT id FROM tenant "
		"WHERE name = ?1) ORDER BY u.id",
		&st) != 0)
		return db_error(db, call, "users");
	if (bu)
		tr_sql_bind_text(st, 1, bu);
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW)
		json_array_append_new(items, user_json(st));
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_error(db, call, "users");
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

static int exec1(struct tr_sql *db, const char *sql, const char *a,
		 const char *b, trellis_call_t *call, const char *what)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return db_error(db, call, what);
	tr_sql_bind_text(st, 1, a);
	if (b)
		tr_sql_bind_text(st, 2, b);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return db_error(db, call, what);
	return (int)tr_sql_changes(db);
}

int tr_user_delete(struct tr_store *s, const char *name,
		   trellis_call_t *call)
{
	int n = exec1(tr_store_sql(s), "DELETE FROM tr_user WHERE name = ?1",
		      name, NULL, call, "deleting a user");
	if (n == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "user '%s' not found", name);
	return n < 0 ? n : 0;
}

int tr_user_key_add(struct tr_store *s, const char *user, const char *kname,
		    long long expires, char *token, trellis_call_t *call)
{
	if (!tr_auth_name_ok(kname, 1))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "API key '%.80s': a name is 1 to 64 "
				   "characters A-Z a-z 0-9 . _ -",
				   kname);
	struct tr_sql *db = tr_store_sql(s);
	int64_t uid = user_id(db, user, call);
	if (uid < 0)
		return (int)uid;
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	memcpy(token, "tru_", 4);
	sodium_bin2hex(token + 4, 65, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	char hash[65];
	tr_auth_hash_token(token, hash);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO user_key (user_id, name, hash, "
			   "expires, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
			   &st) != 0)
		return db_error(db, call, "adding an API key");
	tr_sql_bind_int64(st, 1, uid);
	tr_sql_bind_text(st, 2, kname);
	tr_sql_bind_text(st, 3, hash);
	tr_sql_bind_int64(st, 4, expires);
	tr_sql_bind_int64(st, 5, (int64_t)time(NULL));
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		sodium_memzero(token, TR_USER_TOKEN_LEN + 1);
		if (tr_sql_errcode(db) == TRELLIS_E_CONFLICT)
			return tr_call_set(call, TRELLIS_E_CONFLICT,
					   "user '%s' has an API key '%s' "
					   "already",
					   user, kname);
		return db_error(db, call, "adding an API key");
	}
	return 0;
}

int tr_user_key_list(struct tr_store *s, const char *user, json_t **out,
		     trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	int64_t uid = user_id(db, user, call);
	if (uid < 0)
		return (int)uid;
	struct tr_sql_stmt *st = NULL;
	/* Names and dates only: never the hash. */
	if (tr_sql_prepare(db,
			   "SELECT name, expires, created_at FROM user_key "
			   "WHERE user_id = ?1 ORDER BY id",
			   &st) != 0)
		return db_error(db, call, "API keys");
	tr_sql_bind_int64(st, 1, uid);
	json_t *items = json_array();
	int rc;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		long long exp = tr_sql_column_int64(st, 1);
		json_array_append_new(
		    items,
		    json_pack("{s:s, s:o, s:I}", "name", col(st, 0), "expires",
			      exp ? json_integer(exp) : json_null(),
			      "created_at",
			      (json_int_t)tr_sql_column_int64(st, 2)));
	}
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE) {
		json_decref(items);
		return db_error(db, call, "API keys");
	}
	*out = json_pack("{s:s, s:o}", "user", user, "items", items);
	return 0;
}

int tr_user_key_remove(struct tr_store *s, const char *user,
		       const char *kname, trellis_call_t *call)
{
	int n = exec1(tr_store_sql(s),
		      "DELETE FROM user_key WHERE name = ?2 AND user_id = "
		      "(SELECT id FROM tr_user WHERE name = ?1)",
		      user, kname, call, "removing an API key");
	if (n == 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "user '%s' has no API key '%s'", user, kname);
	return n < 0 ? n : 0;
}

int tr_wf_owner_set(struct tr_store *s, const char *instance,
		    const char *user, int64_t bu_id, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO wf_owner (instance, \"user\", "
			   "tenant_id) VALUES (?1, ?2, ?3) ON CONFLICT "
			   "(instance) DO UPDATE SET \"user\" = "
			   "excluded.\"user\", tenant_id = excluded.tenant_id",
			   &st) != 0)
		return db_error(db, call, "workflow owner");
	tr_sql_bind_text(st, 1, instance);
	tr_sql_bind_text(st, 2, user);
	if (bu_id)
		tr_sql_bind_int64(st, 3, bu_id);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : db_error(db, call, "workflow owner");
}

int tr_wf_owner_bu(struct tr_store *s, const char *instance, char *bu,
		   size_t len, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	bu[0] = '\0';
	if (tr_sql_prepare(db,
			   "SELECT (SELECT name FROM tenant t WHERE t.id = "
			   "o.tenant_id) FROM wf_owner o WHERE instance = ?1",
			   &st) != 0)
		return db_error(db, call, "workflow owner");
	tr_sql_bind_text(st, 1, instance);
	int rc = tr_sql_step(st), ret = 0;
	if (rc == TR_SQL_ROW) {
		snprintf(bu, len, "%s", col(st, 0));
		ret = 1;
	} else if (rc != TR_SQL_DONE) {
		ret = db_error(db, call, "workflow owner");
	}
	tr_sql_finalize(st);
	return ret;
}

int tr_wf_owner_inherit(struct tr_store *s, const char *parent,
			const char *child, trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db,
			   "INSERT INTO wf_owner (instance, \"user\", "
			   "tenant_id) SELECT ?2, \"user\", tenant_id FROM "
			   "wf_owner WHERE instance = ?1 ON CONFLICT "
			   "(instance) DO NOTHING",
			   &st) != 0)
		return db_error(db, call, "workflow owner");
	tr_sql_bind_text(st, 1, parent);
	tr_sql_bind_text(st, 2, child);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : db_error(db, call, "workflow owner");
}
