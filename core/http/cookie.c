/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cookie.c - the parts of a dashboard request that come from outside
 * before any op runs (session.h): the Cookie header and the login body.
 * Pure functions, so tests/fuzz (fuzz_session) runs them as the server
 * does.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

static int token_char(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
	       (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
}

int tr_http_cookie_get(const char *hdr, size_t len, const char *name,
		       char *out, size_t outlen)
{
	size_t nl = strlen(name);
	size_t i = 0;
	if (!hdr || !outlen)
		return -1;
	while (i < len) {
		while (i < len && (hdr[i] == ' ' || hdr[i] == '\t' ||
				   hdr[i] == ';'))
			i++;
		size_t k = i;
		while (k < len && hdr[k] != '=' && hdr[k] != ';')
			k++;
		size_t klen = k - i;
		while (klen && (hdr[i + klen - 1] == ' ' ||
				hdr[i + klen - 1] == '\t'))
			klen--;
		if (k >= len || hdr[k] != '=') {
			i = k;
			continue;
		}
		size_t v = k + 1, e = v;
		while (e < len && hdr[e] != ';')
			e++;
		size_t vl = e - v;
		while (vl && (hdr[v + vl - 1] == ' ' || hdr[v + vl - 1] == '\t'))
			vl--;
		if (vl >= 2 && hdr[v] == '"' && hdr[v + vl - 1] == '"') {
			v++;
			vl -= 2;
		}
		if (klen == nl && memcmp(hdr + i, name, nl) == 0) {
			/* The first one named so: a browser sends the most
			 * specific path first.  Only our own alphabet. */
			if (vl == 0 || vl >= outlen)
				return -1;
			for (size_t j = 0; j < vl; j++)
				if (!token_char(hdr[v + j]))
					return -1;
			memcpy(out, hdr + v, vl);
			out[vl] = '\0';
			return (int)vl;
		}
		i = e;
	}
	return -1;
}

static int copy_str(json_t *o, const char *key, char *out, size_t outlen,
		    int required, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (!v)
		return required ? (snprintf(err, errlen, "login: '%s' is missing",
					    key),
				   -1)
				: 0;
	if (!json_is_string(v)) {
		snprintf(err, errlen, "login: '%s' must be a string", key);
		return -1;
	}
	size_t n = json_string_length(v);
	if (n >= outlen || memchr(json_string_value(v), '\0', n)) {
		snprintf(err, errlen, "login: '%s' is too long (at most %zu "
				      "bytes)", key, outlen - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), n + 1);
	return 0;
}

int tr_http_login_parse(const char *body, size_t len,
			struct tr_http_login *out, char *err, size_t errlen)
{
	json_error_t je;
	memset(out, 0, sizeof *out);
	json_t *o = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
	int rc = -1;
	if (!o || !json_is_object(o)) {
		if (o)
			snprintf(err, errlen, "login: the body must be a JSON "
					      "object");
		else
			snprintf(err, errlen, "login: %d:%d: %s", je.line,
				 je.column, je.text);
		goto out;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "user") && strcmp(k, "password") &&
		    strcmp(k, "key")) {
			snprintf(err, errlen,
				 "login: unknown field '%.64s' (user and "
				 "password, or key)",
				 k);
			goto out;
		}
	}
	int has_key = json_object_get(o, "key") != NULL;
	if (has_key && (json_object_get(o, "user") ||
			json_object_get(o, "password"))) {
		snprintf(err, errlen, "login: give user and password, or key, "
				      "not both");
		goto out;
	}
	if (has_key) {
		if (copy_str(o, "key", out->key, sizeof out->key, 1, err,
			     errlen) < 0)
			goto out;
		if (!out->key[0]) {
			snprintf(err, errlen, "login: 'key' is empty");
			goto out;
		}
	} else if (copy_str(o, "user", out->user, sizeof out->user, 1, err,
			    errlen) < 0 ||
		   copy_str(o, "password", out->password, sizeof out->password,
			    1, err, errlen) < 0) {
		goto out;
	} else if (!out->user[0]) {
		snprintf(err, errlen, "login: 'user' is empty");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	if (rc < 0)
		tr_http_login_wipe(out);
	return rc;
}

void tr_http_login_wipe(struct tr_http_login *l)
{
	volatile unsigned char *p = (volatile unsigned char *)l;
	for (size_t i = 0; i < sizeof *l; i++)
		p[i] = 0;
}
