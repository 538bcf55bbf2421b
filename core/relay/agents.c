/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agents.c - the store's side of agents (relay.h): enrolment tokens
 * (kept as BLAKE2b-256 only), agents and their keys, revocation.  Main
 * thread only: the daemon's writer connection.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <trellis/error.h>

#include "../link/link.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "relay.h"

static int msgf(char *msg, size_t len, int code, const char *fmt,
		const char *a, const char *b)
{
	snprintf(msg, len, fmt, a ? a : "", b ? b : "");
	return code;
}

/* The one row of a one-column query on text a (and b), as a long long, or
 * def when there is none. */
static long long one(struct tr_sql *db, const char *sql, const char *a,
		     const char *b, long long def)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return def;
	tr_sql_bind_text(st, 1, a);
	if (b)
		tr_sql_bind_text(st, 2, b);
	long long v = def;
	if (tr_sql_step(st) == TR_SQL_ROW &&
	    tr_sql_column_type(st, 0) != TR_SQL_NULL)
		v = tr_sql_column_int64(st, 0);
	tr_sql_finalize(st);
	return v;
}

int tr_agent_token_new(struct tr_sql *db, const char *zone, long ttl_s,
		       char **token, long long *expires, char *msg,
		       size_t msglen)
{
	long long zid = one(db, "SELECT id FROM zone WHERE name = ?", zone,
			    NULL, -1);
	if (zid < 0)
		return msgf(msg, msglen, TRELLIS_E_NOTFOUND,
			    "zone '%s' not found%s", zone, NULL);
	if (!one(db, "SELECT private FROM zone WHERE name = ?", zone, NULL, 0))
		return msgf(msg, msglen, TRELLIS_E_INVALID_ARG,
			    "zone '%s' is not private: agents serve private "
			    "zones only%s", zone, NULL);
	if (ttl_s <= 0)
		ttl_s = 3600;
	unsigned char raw[32];
	char hex[65], hash[65];
	randombytes_buf(raw, sizeof raw);
	tr_link_hex(raw, sizeof raw, hex);
	sodium_memzero(raw, sizeof raw);
	char *t = tr_xmalloc(69);
	if (!t)
		return TRELLIS_E_NOMEM;
	snprintf(t, 69, "tre_%s", hex);
	sodium_memzero(hex, sizeof hex);
	tr_link_token_hash(t, hash);
	long long now = (long long)time(NULL);
	struct tr_sql_stmt *st;
	int rc = tr_sql_prepare(
	    db,
	    "INSERT INTO agent_token (zone_id, hash, created_at, expires_at)"
	    " VALUES (?, ?, ?, ?)",
	    &st);
	if (rc == 0) {
		tr_sql_bind_int64(st, 1, zid);
		tr_sql_bind_text(st, 2, hash);
		tr_sql_bind_int64(st, 3, now);
		tr_sql_bind_int64(st, 4, now + ttl_s);
		rc = tr_sql_step(st) == TR_SQL_DONE ? 0 : TRELLIS_E_IO;
		tr_sql_finalize(st);
	}
	if (rc != 0) {
		free(t);
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    tr_sql_errmsg(db), NULL);
	}
	*token = t;
	*expires = now + ttl_s;
	return 0;
}

static int exec1(struct tr_sql *db, const char *sql, const char *a,
		 const char *b, const char *c, long long n)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db, sql, &st) != 0)
		return -1;
	tr_sql_bind_text(st, 1, a);
	tr_sql_bind_text(st, 2, b);
	tr_sql_bind_text(st, 3, c);
	tr_sql_bind_int64(st, 4, n);
	int rc = tr_sql_step(st) == TR_SQL_DONE ? 0 : -1;
	tr_sql_finalize(st);
	return rc;
}

int tr_agent_enrol(struct tr_store *store, const char *token, const char *zone,
		   const char *name, const char *pk, char *msg, size_t msglen)
{
	struct tr_sql *db = tr_store_sql(store);
	char hash[65];
	tr_link_token_hash(token, hash);
	long long now = (long long)time(NULL);
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db,
			   "SELECT t.id, z.name, t.expires_at, t.used_at,"
			   " t.used_by, t.revoked_at FROM agent_token t"
			   " JOIN zone z ON z.id = t.zone_id"
			   " WHERE t.hash = ?",
			   &st) != 0)
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    tr_sql_errmsg(db), NULL);
	tr_sql_bind_text(st, 1, hash);
	int rc = 0;
	long long tid = -1;
	if (tr_sql_step(st) != TR_SQL_ROW) {
		rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
			  "unknown enrolment token%s%s", NULL, NULL);
	} else {
		tid = tr_sql_column_int64(st, 0);
		const char *tz = tr_sql_column_text(st, 1);
		char when[32];
		if (tr_sql_column_type(st, 5) != TR_SQL_NULL) {
			rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
				  "enrolment token revoked%s%s", NULL, NULL);
		} else if (tr_sql_column_type(st, 3) != TR_SQL_NULL &&
			   strcmp(tr_sql_column_text(st, 4), name) == 0 &&
			   one(db,
			       "SELECT id FROM agent WHERE name = ?1 AND "
			       "pubkey = ?2 AND revoked_at IS NULL",
			       name, pk, -1) >= 0) {
			/* Burnt by this very agent (its key signed this
			 * connection), which never saw the welcome (its
			 * link went first, a busy core): enrolled. */
			tr_sql_finalize(st);
			return 0;
		} else if (tr_sql_column_type(st, 3) != TR_SQL_NULL) {
			rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
				  "enrolment token already used (by agent "
				  "'%s')%s",
				  tr_sql_column_text(st, 4), NULL);
		} else if (tr_sql_column_int64(st, 2) <= now) {
			snprintf(when, sizeof when, "%lld",
				 now - tr_sql_column_int64(st, 2));
			rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
				  "enrolment token expired %s s ago%s", when,
				  NULL);
		} else if (strcmp(tz, zone) != 0) {
			rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
				  "enrolment token is for zone '%s', not '%s'",
				  tz, zone);
		}
	}
	tr_sql_finalize(st);
	if (rc)
		return rc;
	if (one(db, "SELECT id FROM agent WHERE name = ?", name, NULL, -1) >= 0)
		return msgf(msg, msglen, TRELLIS_E_CONFLICT,
			    "an agent named '%s' is already enrolled%s", name,
			    NULL);
	if (one(db, "SELECT id FROM agent WHERE pubkey = ?", pk, NULL, -1) >= 0)
		return msgf(msg, msglen, TRELLIS_E_CONFLICT,
			    "this agent key is already enrolled%s%s", NULL,
			    NULL);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_begin(store, &call))
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    tr_sql_errmsg(db), NULL);
	char tids[24];
	snprintf(tids, sizeof tids, "%lld", tid);
	if (exec1(db,
		  "INSERT INTO agent (name, zone_id, pubkey, enrolled_at)"
		  " SELECT ?1, zone_id, ?2, ?4 FROM agent_token WHERE id = ?3",
		  name, pk, tids, now) < 0 ||
	    exec1(db,
		  "UPDATE agent_token SET used_at = ?4, used_by = ?1"
		  " WHERE id = ?3 AND used_at IS NULL",
		  name, pk, tids, now) < 0 ||
	    (int)tr_sql_changes(db) != 1) {
		snprintf(msg, msglen, "store: %s", tr_sql_errmsg(db));
		tr_store_rollback(store);
		return TRELLIS_E_IO;
	}
	if (tr_store_commit(store, &call))
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    call.message, NULL);
	return 0;
}

int tr_agent_check(struct tr_sql *db, const char *name, const char *pk,
		   char *zone, size_t zonelen, char *msg, size_t msglen)
{
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(db,
			   "SELECT a.pubkey, a.revoked_at, z.name FROM agent a"
			   " JOIN zone z ON z.id = a.zone_id WHERE a.name = ?",
			   &st) != 0)
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    tr_sql_errmsg(db), NULL);
	tr_sql_bind_text(st, 1, name);
	int rc = 0;
	if (tr_sql_step(st) != TR_SQL_ROW)
		rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
			  "no agent named '%s' is enrolled%s", name, NULL);
	else if (strcmp(tr_sql_column_text(st, 0), pk) != 0)
		rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
			  "agent '%s' signed with a key that is not its "
			  "own%s", name, NULL);
	else if (tr_sql_column_type(st, 1) != TR_SQL_NULL)
		rc = msgf(msg, msglen, TRELLIS_E_PERMISSION,
			  "agent '%s' is revoked%s", name, NULL);
	else
		snprintf(zone, zonelen, "%s", tr_sql_column_text(st, 2));
	tr_sql_finalize(st);
	return rc;
}

json_t *tr_agent_list(struct tr_sql *db, const char *name)
{
	json_t *items = json_array();
	struct tr_sql_stmt *st;
	if (tr_sql_prepare(
		db,
		"SELECT a.name, z.name, a.pubkey, a.enrolled_at, a.revoked_at,"
		" (SELECT count(*) FROM host h WHERE h.agent_id = a.id)"
		" FROM agent a JOIN zone z ON z.id = a.zone_id"
		" WHERE CAST(?1 AS TEXT) IS NULL OR a.name = ?1 ORDER BY a.id",
		&st) != 0)
		return items;
	if (name)
		tr_sql_bind_text(st, 1, name);
	while (tr_sql_step(st) == TR_SQL_ROW) {
		json_t *o =
		    json_pack("{s:s, s:s, s:s, s:I, s:I}", "name",
			      tr_sql_column_text(st, 0), "zone",
			      tr_sql_column_text(st, 1), "pubkey",
			      tr_sql_column_text(st, 2), "enrolled_at",
			      (json_int_t)tr_sql_column_int64(st, 3), "hosts",
			      (json_int_t)tr_sql_column_int64(st, 5));
		json_object_set_new(
		    o, "revoked_at",
		    tr_sql_column_type(st, 4) == TR_SQL_NULL
			? json_null()
			: json_integer(tr_sql_column_int64(st, 4)));
		json_array_append_new(items, o);
	}
	tr_sql_finalize(st);
	return items;
}

int tr_agent_revoke(struct tr_sql *db, const char *name, char *msg,
		    size_t msglen)
{
	long long r = one(db, "SELECT coalesce(revoked_at, 0) FROM agent"
			      " WHERE name = ?", name, NULL, -1);
	if (r < 0)
		return msgf(msg, msglen, TRELLIS_E_NOTFOUND,
			    "agent '%s' not found%s", name, NULL);
	if (r > 0)
		return msgf(msg, msglen, TRELLIS_E_CONFLICT,
			    "agent '%s' is already revoked%s", name, NULL);
	if (exec1(db, "UPDATE agent SET revoked_at = ?4 WHERE name = ?1",
		  name, NULL, NULL, (long long)time(NULL)) < 0)
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    tr_sql_errmsg(db), NULL);
	return 0;
}

void tr_agent_hosts_state(struct tr_sql *db, const char *agent,
			  const char *state, const char *error)
{
	exec1(db,
	      "UPDATE host SET state = ?2, error = ?3 WHERE agent_id ="
	      " (SELECT id FROM agent WHERE name = ?1)",
	      agent, state, error, 0);
}

int tr_agent_host_bind(struct tr_sql *db, const char *host, const char *agent,
		       char *msg, size_t msglen)
{
	long long r = one(db, "SELECT coalesce(revoked_at, 0) FROM agent"
			      " WHERE name = ?", agent, NULL, -1);
	if (r < 0)
		return msgf(msg, msglen, TRELLIS_E_NOTFOUND,
			    "agent '%s' not found (trellis agent list)%s",
			    agent, NULL);
	if (r > 0)
		return msgf(msg, msglen, TRELLIS_E_PERMISSION,
			    "agent '%s' is revoked%s", agent, NULL);
	/* A host behind an agent is in the agent's zone, nowhere else. */
	long long same = one(db,
			     "SELECT count(*) FROM host h JOIN cluster c ON"
			     " c.id = h.cluster_id JOIN pod p ON p.id ="
			     " c.pod_id, agent a WHERE h.name = ?1 AND"
			     " a.name = ?2 AND a.zone_id = p.zone_id",
			     host, agent, -1);
	if (same <= 0)
		return msgf(msg, msglen, TRELLIS_E_INVALID_ARG,
			    "host '%s' is not in the zone of agent '%s'",
			    host, agent);
	if (exec1(db, "UPDATE host SET agent_id = (SELECT id FROM agent"
		      " WHERE name = ?2) WHERE name = ?1",
		  host, agent, NULL, 0) < 0)
		return msgf(msg, msglen, TRELLIS_E_IO, "store: %s%s",
			    tr_sql_errmsg(db), NULL);
	return 0;
}
