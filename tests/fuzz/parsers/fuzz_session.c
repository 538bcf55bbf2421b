/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the dashboard's outside input before any op runs
 * (core/http/cookie.c, session.c): the bytes are "COOKIE-HEADER\nBODY";
 * the Cookie header's session value, looked up in a session table that
 * holds one session, and the login body.  A value found must be of the
 * cookie alphabet and shorter than the buffer; a refused body leaves no
 * secret behind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/auth/auth.h"
#include "../../../core/http/session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tr_http_sessions *t;
	static char cookie[TR_SESSION_ID_LEN + 1];
	if (!t) {
		struct tr_ident id;
		memset(&id, 0, sizeof id);
		strcpy(id.user, "fuzz");
		strcpy(id.role_name, "dc-admin");
		t = tr_http_sessions_new(3600, 3600);
		tr_http_session_open(t, &id, NULL, 1, cookie);
	}
	const char *nl = memchr(data, '\n', size);
	size_t hl = nl ? (size_t)(nl - (const char *)data) : size;
	char v[TR_SESSION_ID_LEN + 1];
	int n = tr_http_cookie_get((const char *)data, hl, TR_SESSION_COOKIE, v,
				   sizeof v);
	if (n >= 0) {
		if ((size_t)n != strlen(v) || (size_t)n >= sizeof v)
			abort();
		struct tr_http_session *s = tr_http_session_find(t, v, 2);
		if (s && strcmp(v, cookie) != 0)
			abort();
	}
	if (nl) {
		const char *body = nl + 1;
		size_t bl = size - hl - 1;
		struct tr_http_login l;
		char err[256];
		if (tr_http_login_parse(body, bl, &l, err, sizeof err) < 0) {
			if (!err[0] || l.password[0] || l.key[0])
				abort();
		} else if (!l.key[0] && !l.user[0]) {
			abort();
		}
		tr_http_login_wipe(&l);
	}
	return 0;
}
