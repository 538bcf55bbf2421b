/* SPDX-License-Identifier: Apache-2.0 */
/* test_session.c - the dashboard's sessions and the outside input they
 * read (core/http/session.c, cookie.c): a session is found by its cookie
 * and no other, ends after its idle timeout and its lifetime and at
 * logout, checks its CSRF token exactly; the Cookie header and the login
 * body are parsed strictly (only base64url values, only the known
 * fields) and a refused login keeps no secret; five failed logins of a
 * user hold it off for the rest of the minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/auth/auth.h"
#include "../../../core/http/session.h"

static void ident(struct tr_ident *id, const char *user, const char *bu)
{
	memset(id, 0, sizeof *id);
	snprintf(id->user, sizeof id->user, "%s", user);
	snprintf(id->bu, sizeof id->bu, "%s", bu);
	snprintf(id->role_name, sizeof id->role_name, "%s",
		 bu[0] ? "bu-user" : "dc-admin");
	id->role = tr_roles_find(tr_roles_builtin(), id->role_name);
}

static void test_lifetimes(void **state)
{
	(void)state;
	struct tr_http_sessions *t = tr_http_sessions_new(100, 10);
	struct tr_ident id;
	char a[TR_SESSION_ID_LEN + 1], b[TR_SESSION_ID_LEN + 1];
	ident(&id, "alice", "acme");
	struct tr_http_session *s = tr_http_session_open(t, &id, NULL, 1000, a);
	assert_non_null(s);
	assert_int_equal(strlen(a), TR_SESSION_ID_LEN);
	assert_int_equal(s->scoped, 1);
	assert_string_equal(s->user, "alice");
	assert_string_equal(s->bu, "acme");
	ident(&id, "root", "");
	struct tr_http_session *r =
	    tr_http_session_open(t, &id, "trk_secret", 1000, b);
	assert_non_null(r);
	assert_int_equal(r->scoped, 0);
	assert_string_equal(r->user, ""); /* a key login runs with its key */
	assert_string_equal(r->token, "trk_secret");
	assert_string_not_equal(a, b);
	assert_int_equal(tr_http_sessions_count(t), 2);
	/* Found by its own cookie only. */
	assert_ptr_equal(tr_http_session_find(t, a, 1005), s);
	char wrong[TR_SESSION_ID_LEN + 1];
	memcpy(wrong, a, sizeof wrong);
	wrong[5] = wrong[5] == 'A' ? 'B' : 'A';
	assert_null(tr_http_session_find(t, wrong, 1005));
	assert_null(tr_http_session_find(t, "short", 1005));
	/* The idle clock restarts with each request... */
	assert_ptr_equal(tr_http_session_find(t, a, 1014), s);
	/* ...peek does not restart it... */
	assert_ptr_equal(tr_http_session_peek(t, a, 1023), s);
	/* ...and 11 s without a request end it. */
	assert_null(tr_http_session_find(t, a, 1025));
	assert_int_equal(tr_http_sessions_count(t), 1);
	/* CSRF: exactly its own token. */
	assert_true(tr_http_session_csrf_ok(r, r->csrf));
	assert_false(tr_http_session_csrf_ok(r, ""));
	assert_false(tr_http_session_csrf_ok(r, NULL));
	assert_false(tr_http_session_csrf_ok(r, a));
	/* The lifetime holds whatever the activity. */
	for (long long now = 1009; now < 1100; now += 9)
		assert_non_null(tr_http_session_find(t, b, now));
	assert_null(tr_http_session_find(t, b, 1100));
	/* Logout. */
	struct tr_http_session *c = tr_http_session_open(t, &id, NULL, 2000, a);
	assert_non_null(c);
	tr_http_session_close(t, c);
	assert_null(tr_http_session_find(t, a, 2001));
	assert_int_equal(tr_http_sessions_count(t), 0);
	tr_http_sessions_free(t);
}

static void test_full_table(void **state)
{
	(void)state;
	struct tr_http_sessions *t = tr_http_sessions_new(1000, 1000);
	struct tr_ident id;
	char first[TR_SESSION_ID_LEN + 1], c[TR_SESSION_ID_LEN + 1];
	ident(&id, "u", "");
	assert_non_null(tr_http_session_open(t, &id, NULL, 1, first));
	for (int i = 1; i < TR_SESSION_MAX; i++)
		assert_non_null(tr_http_session_open(t, &id, NULL, 2, c));
	assert_int_equal(tr_http_sessions_count(t), TR_SESSION_MAX);
	/* One more: the least recently used goes. */
	assert_non_null(tr_http_session_open(t, &id, NULL, 3, c));
	assert_int_equal(tr_http_sessions_count(t), TR_SESSION_MAX);
	assert_null(tr_http_session_find(t, first, 4));
	assert_non_null(tr_http_session_find(t, c, 4));
	tr_http_sessions_free(t);
}

static void test_cookie_header(void **state)
{
	(void)state;
	char v[64];
	const char *h = "a=1; trellis_sessionx=no; trellis_session=abc-_9; b=2";
	assert_int_equal(tr_http_cookie_get(h, strlen(h), "trellis_session", v,
					    sizeof v),
			 6);
	assert_string_equal(v, "abc-_9");
	h = "trellis_session=\"q1\"";
	assert_int_equal(tr_http_cookie_get(h, strlen(h), "trellis_session", v,
					    sizeof v),
			 2);
	assert_string_equal(v, "q1");
	/* Not our alphabet, empty, too long, absent. */
	static const char *const bad[] = {
	    "trellis_session=a b", "trellis_session=a%20", "trellis_session=",
	    "trellis_session", "x=1", "", ";;;=", "trellis_session=\"",
	    "trellis_session=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(tr_http_cookie_get(bad[i], strlen(bad[i]),
						    "trellis_session", v, sizeof v),
				 -1);
	/* The first of two wins (the most specific path comes first). */
	h = "trellis_session=one; trellis_session=two";
	tr_http_cookie_get(h, strlen(h), "trellis_session", v, sizeof v);
	assert_string_equal(v, "one");
	/* Length-bounded: no NUL needed. */
	assert_int_equal(tr_http_cookie_get("trellis_session=abcdef", 18,
					    "trellis_session", v, sizeof v),
			 2);
}

static void test_login_body(void **state)
{
	(void)state;
	struct tr_http_login l;
	char err[256];
	const char *b = "{\"user\":\"alice\",\"password\":\"pw pw pw\"}";
	assert_int_equal(tr_http_login_parse(b, strlen(b), &l, err, sizeof err), 0);
	assert_string_equal(l.user, "alice");
	assert_string_equal(l.password, "pw pw pw");
	assert_string_equal(l.key, "");
	tr_http_login_wipe(&l);
	assert_string_equal(l.password, "");
	b = "{\"key\":\"trk_x\"}";
	assert_int_equal(tr_http_login_parse(b, strlen(b), &l, err, sizeof err), 0);
	assert_string_equal(l.key, "trk_x");
	static const char *const bad[] = {
	    "", "[]", "{", "{\"user\":\"a\"}", "{\"password\":\"p\"}",
	    "{\"user\":1,\"password\":\"p\"}", "{\"user\":\"\",\"password\":\"p\"}",
	    "{\"key\":\"\"}", "{\"key\":\"k\",\"user\":\"a\"}",
	    "{\"user\":\"a\",\"password\":\"secret!\",\"x\":1}",
	    "{\"user\":\"a\",\"password\":\"p\\u0000q\"}",
	    "{\"user\":\"a\",\"user\":\"b\",\"password\":\"p\"}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		memset(&l, 'x', sizeof l);
		assert_int_equal(tr_http_login_parse(bad[i], strlen(bad[i]), &l,
						     err, sizeof err),
				 -1);
		assert_non_null(strstr(err, "login"));
		/* Never the value, and nothing kept. */
		assert_null(strstr(err, "secret!"));
		assert_string_equal(l.password, "");
	}
}

static void test_failed_logins(void **state)
{
	(void)state;
	struct tr_http_sessions *t = tr_http_sessions_new(0, 0);
	for (int i = 0; i < TR_LOGIN_FAILS; i++) {
		assert_int_equal(tr_http_login_wait(t, "alice", 100 + i), 0);
		tr_http_login_failed(t, "alice", 100 + i);
	}
	/* Refused for the rest of the window, counted from the first. */
	assert_int_equal(tr_http_login_wait(t, "alice", 110), TR_LOGIN_WINDOW - 10);
	assert_int_equal(tr_http_login_wait(t, "bob", 110), 0);
	assert_int_equal(tr_http_login_wait(t, "alice", 100 + TR_LOGIN_WINDOW), 0);
	/* A success clears the count. */
	for (int i = 0; i < TR_LOGIN_FAILS - 1; i++)
		tr_http_login_failed(t, "bob", 200);
	tr_http_login_ok(t, "bob");
	tr_http_login_failed(t, "bob", 201);
	assert_int_equal(tr_http_login_wait(t, "bob", 202), 0);
	/* Many names: the table keeps going. */
	char u[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(u, sizeof u, "u%d", i);
		tr_http_login_failed(t, u, 300);
	}
	tr_http_sessions_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifetimes),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_cookie_header),
		cmocka_unit_test(test_login_body),
		cmocka_unit_test(test_failed_logins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
