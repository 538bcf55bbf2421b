/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.h - console access in the store (issue 20, docs/console.md):
 * the single-use tokens a browser redeems at a console proxy, the viewing
 * sessions they open, the proxy instances' load reports and the lease
 * that lets one management server at a time run consoleproxy.scan.
 *
 * A token is 32 random bytes, base64url (43 characters), shown once; the
 * store keeps only its BLAKE2b hash (table console_token, migration
 * "console-0001").  It is bound to one VM and one user, lives at most
 * TR_CONSOLE_TTL_MAX seconds and is consumed by its first redemption, in
 * one UPDATE that only one redeemer can win: two proxies (or two
 * management servers) redeeming the same token at once get one session
 * and one refusal.  A resume ticket is a token of kind "resume", issued to
 * the proxy that hands a session over, for the same user and VM.
 *
 * Every function takes the caller's SQLite handle (the daemon's main
 * thread writes) and reports errors in call.
 */
#ifndef TRELLIS_CORE_AUTH_CONSOLE_H
#define TRELLIS_CORE_AUTH_CONSOLE_H

#include <jansson.h>
#include <stdint.h>

#include "../host/host.h"
#include "../store/sql.h"
#include "auth.h"

#define TR_CONSOLE_TOKEN_LEN 43 /* base64url of 32 bytes, no padding */
#define TR_CONSOLE_TTL_MAX 600  /* seconds: nova's default, our ceiling */

/* What a token grants (filled by redeem; given to token_new). */
struct tr_console_grant {
	char kind[16];       /* "open" or "resume" */
	char vm_uuid[40];
	char vm_name[128];
	char user[TR_NAME_LEN + 1];
	int64_t bu_id;       /* the user's BU when minted, 0: none */
	char mode[16];       /* "ws" (noVNC) or "stripe" (image stripes) */
	int64_t resumes;     /* resume: the session handed over, else 0 */
	int64_t token_id;    /* set by redeem */
	int64_t session_id;  /* set by redeem: the session it opened */
	int64_t expires_at;  /* unix seconds */
};

/* Mints a token for g (kind, vm, user, bu_id, mode, resumes) valid ttl_s
 * (1..TR_CONSOLE_TTL_MAX) seconds: the token (shown once) into token,
 * its expiry into g->expires_at.  0, INVALID_ARG or IO. */
int tr_console_token_new(struct tr_sql *db, struct tr_console_grant *g,
			 long ttl_s, char token[TR_CONSOLE_TOKEN_LEN + 1],
			 trellis_call_t *call);

/* Redeems token at proxy: consumes it and opens a session (state
 * "open") for it, filling g.  Refusals, each with a message that names
 * the reason but never the token: AUTH (unknown token, or expired),
 * CONFLICT (already used), IO, or what check (may be NULL) returns: it
 * runs on a valid, unused token before it is consumed (the caller's
 * checks: the VM asked for, the user's access).  On a refusal g->vm_*
 * and g->user are filled when the token was known (for the audit). */
typedef int (*tr_console_check_fn)(void *arg, const struct tr_console_grant *g,
				   trellis_call_t *call);
int tr_console_token_redeem(struct tr_sql *db, const char *token,
			    const char *proxy, tr_console_check_fn check,
			    void *arg, struct tr_console_grant *g,
			    trellis_call_t *call);

/* Ends session id: state "closed" or "handed-over", with a reason and
 * who ended it ("browser", "vnc", "proxy", "drain", "core").  A session
 * that ended already keeps its first end (returns 0, *was_open 0). */
int tr_console_session_end(struct tr_sql *db, int64_t id, const char *state,
			   const char *reason, const char *by, int *was_open,
			   trellis_call_t *call);
/* The session's JSON {id, vm, vm_uuid, user, proxy, mode, state,
 * started_at, ended_at, reason, closed_by, resumed_from}; NOTFOUND. */
int tr_console_session_get(struct tr_sql *db, int64_t id, json_t **out,
			   trellis_call_t *call);
/* Sessions ({"items":[...]}), newest first, at most limit; proxy, state
 * and bu_id (> 0) filter when given. */
int tr_console_session_list(struct tr_sql *db, const char *proxy,
			    const char *state, int64_t bu_id, unsigned limit,
			    json_t **out, trellis_call_t *call);

/* ---- proxy instances ---- */

struct tr_console_report {
	const char *name, *url, *launcher; /* launcher may be NULL */
	long pid;
	unsigned sessions, capacity;
	unsigned long rss_kib;
};
/* Records a load report (a new instance is "active"); its current state
 * ("active", "draining", "retired") into state. */
int tr_console_proxy_report(struct tr_sql *db,
			    const struct tr_console_report *r, char state[16],
			    trellis_call_t *call);
/* Registers an instance a launcher started (state "starting"). */
int tr_console_proxy_add(struct tr_sql *db, const char *name, const char *url,
			 const char *launcher, long pid, unsigned capacity,
			 trellis_call_t *call);
int tr_console_proxy_set_state(struct tr_sql *db, const char *name,
			       const char *state, trellis_call_t *call);
int tr_console_proxy_delete(struct tr_sql *db, const char *name,
			    trellis_call_t *call);
/* {"items":[{name, url, launcher, pid, state, sessions, capacity,
 * rss_kib, started_at, reported_at, open}]}: open counts the store's open
 * sessions on it. */
int tr_console_proxy_list(struct tr_sql *db, json_t **out,
			  trellis_call_t *call);

/* Takes or renews lease name for holder for ttl_s: 1 when holder has it
 * now, 0 when another holds it (its name into other), or an error. */
int tr_console_lease_take(struct tr_sql *db, const char *name,
			  const char *holder, long ttl_s, char *other,
			  size_t otherlen, trellis_call_t *call);

#endif
