/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.h - the dashboard's sessions (issue 25; docs/dashboard.md).
 *
 * A login (a user's password, or an API key) opens a session: a random
 * 256-bit id in an HttpOnly, Secure, SameSite=Strict cookie, a CSRF token
 * the page sends back in X-CSRF-Token with every state-changing request,
 * an absolute lifetime and an idle timeout.  Logout ends it at once.
 * A session holds no rights of its own: each request it makes goes
 * through tr_api_call() as its user (password logins) or with its API
 * key (key logins), which the API identifies again every time, so roles,
 * BU scoping, revoked keys and deleted users apply as for any caller.
 *
 * The table lives on the HTTP service thread alone (no lock) and keeps
 * only the ids' BLAKE2b hashes; the key of a key login is kept in memory
 * for the session's life, never written anywhere.
 */
#ifndef TRELLIS_CORE_HTTP_SESSION_H
#define TRELLIS_CORE_HTTP_SESSION_H

#include <stddef.h>

#define TR_SESSION_COOKIE "trellis_session"
#define TR_SESSION_ID_LEN 43 /* base64url of 32 random bytes */
#define TR_SESSION_MAX 1024  /* the oldest idle one goes first */

struct tr_http_session {
	unsigned char id_hash[32];
	char csrf[TR_SESSION_ID_LEN + 1];
	char user[65];  /* the user (password logins); "" for key logins */
	char who[65];   /* who the API took the caller for (display) */
	char role[65];
	char bu[65];    /* "" when none */
	int scoped;     /* a BU role: the event stream carries topics only */
	char *token;    /* the API key of a key login, or NULL */
	long long created, seen, expires; /* unix seconds */
	int used;
};

struct tr_http_sessions;
struct tr_ident;

/* ttl: absolute lifetime; idle: the longest pause between requests
 * (seconds; 0: the defaults, 8 h and 30 min). */
struct tr_http_sessions *tr_http_sessions_new(unsigned ttl, unsigned idle);
void tr_http_sessions_free(struct tr_http_sessions *t);

/* Opens a session for id (token: the API key of a key login, copied; or
 * NULL for a password login of id->user) at unix time now.  The cookie's
 * value goes to cookie (TR_SESSION_ID_LEN + 1 bytes).  NULL when out of
 * memory. */
struct tr_http_session *tr_http_session_open(struct tr_http_sessions *t,
					     const struct tr_ident *id,
					     const char *token, long long now,
					     char *cookie);
/* The live session of a cookie's value, its idle clock restarted; NULL
 * when none (unknown, expired or idle too long: then ended). */
struct tr_http_session *tr_http_session_find(struct tr_http_sessions *t,
					     const char *cookie,
					     long long now);
/* The same without touching the idle clock (an event stream's check). */
struct tr_http_session *tr_http_session_peek(struct tr_http_sessions *t,
					     const char *cookie,
					     long long now);
/* Ends s (logout): its key is wiped. */
void tr_http_session_close(struct tr_http_sessions *t,
			   struct tr_http_session *s);
/* Whether given equals s's CSRF token (constant time). */
int tr_http_session_csrf_ok(const struct tr_http_session *s,
			    const char *given);
/* Sessions open now. */
size_t tr_http_sessions_count(const struct tr_http_sessions *t);
unsigned tr_http_sessions_ttl(const struct tr_http_sessions *t);

/* ---- failed logins ---- */

/* A user name (or "" for API keys) with TR_LOGIN_FAILS failed logins
 * within TR_LOGIN_WINDOW seconds is refused for the rest of the window,
 * right or wrong: what an argon2id check costs bounds the guesses per
 * second, this bounds them per user and minute.  0 when a login may be
 * tried, else the seconds to wait. */
#define TR_LOGIN_FAILS 5
#define TR_LOGIN_WINDOW 60
unsigned tr_http_login_wait(struct tr_http_sessions *t, const char *user,
			    long long now);
void tr_http_login_failed(struct tr_http_sessions *t, const char *user,
			  long long now);
/* A success clears the user's count. */
void tr_http_login_ok(struct tr_http_sessions *t, const char *user);

/* ---- outside input (cookie.c; fuzzed by tests/fuzz fuzz_session) ---- */

/* The value of cookie name in a Cookie header (len bytes) into out: its
 * length, or -1 when absent, empty, too long or not of base64url. */
int tr_http_cookie_get(const char *hdr, size_t len, const char *name,
		       char *out, size_t outlen);

struct tr_http_login {
	char user[65];
	char password[1025];
	char key[129];
};
/* A login body: {"user":..., "password":...} or {"key":...}.  0, or -1
 * with the reason in err (never quoting a value). */
int tr_http_login_parse(const char *body, size_t len,
			struct tr_http_login *out, char *err, size_t errlen);
/* Wipes a login's secrets. */
void tr_http_login_wipe(struct tr_http_login *l);

#endif
