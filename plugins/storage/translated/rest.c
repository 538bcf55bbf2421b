/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rest.c - the translated plugin's REST client: one libcurl easy handle
 * per pool (the plugin is PER_TARGET, so a handle is never shared between
 * threads), templates expanded from the translation file, the vendor's
 * authentication (HTTP Basic, or a session token), and HTTP failures
 * turned into TRELLIS_E_* codes with the vendor's message.
 *
 * The secret goes only into libcurl's password or the session request's
 * body; no error message, log line or event ever includes a request body
 * (which may hold it) or the Authorization header.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translated_int.h"
#include "xmljson.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

json_t *tx_path(json_t *v, const char *path)
{
	char seg[256];
	if (!path || !*path)
		return v;
	if (path[0] == '=')
		return NULL; /* a constant: tx_path_str/tx_path_u64 read it */
	while (v && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof seg)
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n + (path[n] == '.');
		if (json_is_array(v)) {
			char *end;
			long i = strtol(seg, &end, 10);
			v = *end ? NULL : json_array_get(v, (size_t)i);
		} else {
			v = json_object_get(v, seg);
		}
	}
	return v;
}

const char *tx_path_str(json_t *v, const char *path, char *buf, size_t len)
{
	json_t *x = path ? tx_path(v, path) : NULL;
	buf[0] = '\0';
	if (path && path[0] == '=') { /* "=text": the text itself */
		snprintf(buf, len, "%s", path + 1);
		return buf;
	}
	if (json_is_string(x))
		snprintf(buf, len, "%s", json_string_value(x));
	else if (json_is_integer(x))
		snprintf(buf, len, "%lld", (long long)json_integer_value(x));
	else if (json_is_real(x))
		snprintf(buf, len, "%.0f", json_real_value(x));
	else if (json_is_boolean(x))
		snprintf(buf, len, "%s", json_is_true(x) ? "true" : "false");
	else if (json_is_array(x)) {
		size_t o = 0, i;
		json_t *e;
		json_array_foreach(x, i, e) if (json_is_string(e) && o < len)
		    o += (size_t)snprintf(buf + o, len - o, "%s%s",
					  o ? " " : "",
					  json_string_value(e));
	}
	return buf;
}

uint64_t tx_path_u64(json_t *v, const char *path)
{
	if (path && path[0] == '=')
		return strtoull(path + 1, NULL, 10);
	json_t *x = path ? tx_path(v, path) : NULL;
	if (json_is_integer(x))
		return json_integer_value(x) < 0
			   ? 0
			   : (uint64_t)json_integer_value(x);
	if (json_is_real(x))
		return (uint64_t)json_real_value(x);
	if (json_is_string(x))
		return strtoull(json_string_value(x), NULL, 10);
	return 0;
}

struct buf {
	char *d;
	size_t n, cap;
	/* reads into the caller's buffer */
	char *dst;
	size_t dcap, dgot;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	if (b->dst) {
		size_t take = n < b->dcap - b->dgot ? n : b->dcap - b->dgot;
		memcpy(b->dst + b->dgot, ptr, take);
		b->dgot += take;
		return n;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *d = realloc(b->d, cap);
		if (!d)
			return 0;
		b->d = d;
		b->cap = cap;
	}
	memcpy(b->d + b->n, ptr, n);
	b->n += n;
	b->d[b->n] = '\0';
	return n;
}

struct upload {
	const char *d; /* NULL: zeros */
	size_t n, off;
};

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb;
	if (n > u->n - u->off)
		n = u->n - u->off;
	if (u->d)
		memcpy(ptr, u->d + u->off, n);
	else
		memset(ptr, 0, n);
	u->off += n;
	return n;
}

char *tx_expand(struct tx_pool *p, trellis_call_t *call, const char *tpl,
		json_t *vars, int body)
{
	size_t cap = strlen(tpl) * 2 + 64, o = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *c = tpl; *c;) {
		char piece_buf[64], *piece = NULL;
		const char *add;
		size_t alen;
		if (*c == '{' && (isalpha((unsigned char)c[1]) || c[1] == '_')) {
			const char *e = strchr(c, '}');
			char name[64];
			size_t n = e ? (size_t)(e - c - 1) : 0;
			if (!e || n >= sizeof name) {
				free(out);
				H->set_error(call, TRELLIS_E_INVALID_ARG,
					     "%s: template '%s': an unclosed "
					     "'{'",
					     p->file, tpl);
				return NULL;
			}
			memcpy(name, c + 1, n);
			name[n] = '\0';
			json_t *v = json_object_get(vars, name);
			if (!v) {
				free(out);
				H->set_error(call, TRELLIS_E_INVALID_ARG,
					     "%s: template '%s' uses {%s}, "
					     "which this operation does not "
					     "have",
					     p->file, tpl, name);
				return NULL;
			}
			if (body) {
				piece = json_dumps(v, JSON_ENCODE_ANY |
							  JSON_COMPACT);
			} else if (json_is_string(v)) {
				piece = curl_easy_escape(
				    p->curl, json_string_value(v), 0);
				char *cp = piece ? strdup(piece) : NULL;
				curl_free(piece);
				piece = cp;
			} else if (json_is_integer(v)) {
				snprintf(piece_buf, sizeof piece_buf, "%lld",
					 (long long)json_integer_value(v));
				piece = strdup(piece_buf);
			} else {
				piece = json_dumps(v, JSON_ENCODE_ANY |
							  JSON_COMPACT);
			}
			if (!piece) {
				free(out);
				return NULL;
			}
			add = piece;
			alen = strlen(piece);
			c = e + 1;
		} else {
			add = c++;
			alen = 1;
		}
		if (o + alen + 1 > cap) {
			cap = (o + alen + 1) * 2;
			char *n = realloc(out, cap);
			if (!n) {
				free(piece);
				free(out);
				return NULL;
			}
			out = n;
		}
		memcpy(out + o, add, alen);
		o += alen;
		free(piece);
	}
	out[o] = '\0';
	return out;
}

/* The vendor's own words from an error answer, if it gave any. */
static void vendor_message(const char *text, char *buf, size_t len)
{
	static const char *const paths[] = {"Description", "error.message",
					    "message",	   "error",
					    "detail",	   "Error.Message",
					    NULL};
	json_t *j = !text	   ? NULL
		    : tx_is_xml(text) ? tx_xml_json(text, strlen(text))
				   : json_loads(text, 0, NULL);
	buf[0] = '\0';
	for (int i = 0; j && paths[i] && !buf[0]; i++)
		if (json_is_string(tx_path(j, paths[i])))
			tx_path_str(j, paths[i], buf, len);
	json_decref(j);
	for (char *c = buf; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
}

static int http_code(long status)
{
	switch (status) {
	case 400:
	case 413:
	case 416:
	case 422:
		return TRELLIS_E_INVALID_ARG;
	case 401:
	case 403:
		return TRELLIS_E_AUTH;
	case 404:
		return TRELLIS_E_NOTFOUND;
	case 409:
		return TRELLIS_E_CONFLICT;
	case 429:
	case 503:
		return TRELLIS_E_BUSY;
	case 507:
		return TRELLIS_E_NOSPACE;
	default:
		return TRELLIS_E_BACKEND;
	}
}

/* One HTTP exchange; *status gets the HTTP status. */
static int exchange(struct tx_pool *p, trellis_call_t *call,
		    const char *method, const char *path, const char *body,
		    const void *data, size_t dlen, const char *range,
		    struct buf *b, long *status)
{
	char url[4096], hdr[512];
	struct curl_slist *hs = NULL;
	struct upload up = {data, dlen, 0};
	CURL *c = p->curl;
	curl_easy_reset(c);
	snprintf(url, sizeof url, "%s%s", p->endpoint, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)p->tx->timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (p->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(p->sec.auth_scheme, "basic")) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, p->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p->secret ? p->secret : "");
	} else if (!strcmp(p->sec.auth_scheme, "sigv4")) {
		/* the access key and the secret key; the payload is not
		 * hashed into the signature (S3's UNSIGNED-PAYLOAD) */
		char prov[160];
		snprintf(prov, sizeof prov, "aws:amz:%s:s3",
			 p->sec.auth_region ? p->sec.auth_region
					    : "us-east-1");
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, prov);
		curl_easy_setopt(c, CURLOPT_USERNAME, p->username);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p->secret ? p->secret : "");
		hs = curl_slist_append(hs,
				       "x-amz-content-sha256: UNSIGNED-PAYLOAD");
	} else if (p->token && p->sec.auth_header) {
		snprintf(hdr, sizeof hdr, "%s: %s", p->sec.auth_header,
			 p->token);
		hs = curl_slist_append(hs, hdr);
	}
	if (range)
		hs = curl_slist_append(hs, range);
	if (body) {
		hs = curl_slist_append(hs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (data || dlen) {
		hs = curl_slist_append(hs,
				       "Content-Type: application/octet-stream");
		hs = curl_slist_append(hs, "Expect:");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &up);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)dlen);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	p->calls++;
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(hs);
	if (cc != CURLE_OK)
		return H->set_error(call,
				    cc == CURLE_OPERATION_TIMEDOUT
					? TRELLIS_E_TIMEOUT
					: TRELLIS_E_UNAVAILABLE,
				    "pool '%s': %s %s: %s", p->name, method,
				    p->endpoint, curl_easy_strerror(cc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	return 0;
}

static int login(struct tx_pool *p, trellis_call_t *call)
{
	const struct itf_section *s = &p->sec;
	if (!s->auth_path || !s->auth_token)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "%s: section '%s': auth scheme session "
				    "needs auth.path and auth.token",
				    p->file, p->sec_name);
	json_t *vars = json_pack("{s:s, s:s}", "username", p->username,
				 "secret", p->secret ? p->secret : "");
	char *body = tx_expand(p, call,
			       s->auth_body ? s->auth_body
					    : "{\"username\": {username}, "
					      "\"password\": {secret}}",
			       vars, 1);
	json_decref(vars);
	if (!body)
		return TRELLIS_E_INVALID_ARG;
	struct buf b = {0};
	long st = 0;
	char *saved = p->token;
	p->token = NULL;
	int rc = exchange(p, call, "POST", s->auth_path, body, NULL, 0, NULL,
			  &b, &st);
	/* the body held the secret */
	memset(body, 0, strlen(body));
	free(body);
	free(saved);
	if (rc) {
		free(b.d);
		return rc;
	}
	if (st >= 300) {
		char msg[256];
		vendor_message(b.d, msg, sizeof msg);
		free(b.d);
		return H->set_error(call, http_code(st),
				    "pool '%s': %s refused the login of '%s' "
				    "(HTTP %ld%s%s)",
				    p->name, p->endpoint, p->username, st,
				    msg[0] ? ": " : "", msg);
	}
	json_t *j = b.d ? json_loads(b.d, 0, NULL) : NULL;
	free(b.d);
	char tok[512];
	tx_path_str(j, s->auth_token, tok, sizeof tok);
	json_decref(j);
	if (!tok[0])
		return H->set_error(call, TRELLIS_E_BACKEND,
				    "pool '%s': the login answer has no token "
				    "at '%s' (%s, section '%s')",
				    p->name, s->auth_token, p->file,
				    p->sec_name);
	p->token = strdup(tok);
	return 0;
}

int tx_rest(struct tx_pool *p, trellis_call_t *call, enum itf_op op,
	    json_t *vars, const void *data, size_t dlen, json_t **answer,
	    void *dst, size_t cap, size_t *got)
{
	const struct itf_call *c = &p->sec.ops[op];
	if (answer)
		*answer = NULL;
	if (!c->method || !c->path)
		return H->set_error(call, TRELLIS_E_NOTSUP,
				    "pool '%s': %s (section '%s') maps no %s",
				    p->name, p->file, p->sec_name,
				    itf_op_names[op]);
	char *path = tx_expand(p, call, c->path, vars, 0);
	/* "{zeros}": the body is {size} zero bytes (an object store's
	 * volume is an object of the volume's size) */
	int zeros = c->body && !strcmp(c->body, "{zeros}");
	char *body = c->body && !zeros ? tx_expand(p, call, c->body, vars, 1)
				       : NULL;
	if (zeros && !data)
		dlen = (size_t)json_integer_value(json_object_get(vars, "size"));
	int rc = 0;
	if (!path || (c->body && !zeros && !body)) {
		rc = TRELLIS_E_INVALID_ARG;
		goto out;
	}
	char range[128], *rh = NULL;
	if (dst && (!c->range || !strcmp(c->range, "header"))) {
		json_t *o = json_object_get(vars, "offset"),
		       *l = json_object_get(vars, "length");
		snprintf(range, sizeof range, "Range: bytes=%lld-%lld",
			 (long long)json_integer_value(o),
			 (long long)(json_integer_value(o) +
				     json_integer_value(l) - 1));
		rh = range;
	}
	for (int attempt = 0;; attempt++) {
		if (!strcmp(p->sec.auth_scheme, "session") && !p->token &&
		    (rc = login(p, call)))
			goto out;
		struct buf b = {.dst = dst, .dcap = cap};
		long st = 0;
		rc = exchange(p, call, c->method, path, body, data, dlen, rh,
			      &b, &st);
		if (rc) {
			free(b.d);
			goto out;
		}
		if (st == 401 && !strcmp(p->sec.auth_scheme, "session") &&
		    attempt == 0) {
			free(b.d);
			free(p->token);
			p->token = NULL; /* expired: log in again once */
			continue;
		}
		if (st >= 300) {
			char msg[256];
			vendor_message(b.d, msg, sizeof msg);
			free(b.d);
			rc = H->set_error(call, http_code(st),
					  "pool '%s': %s %s: HTTP %ld%s%s", p->name,
					  c->method, c->path, st,
					  msg[0] ? ": " : "", msg);
			if (st == 401 || st == 403)
				H->set_error(call, TRELLIS_E_AUTH,
					     "pool '%s': %s refused the "
					     "credential '%s' (user '%s'): "
					     "HTTP %ld%s%s",
					     p->name, p->endpoint,
					     p->credential, p->username, st,
					     msg[0] ? ": " : "", msg);
			goto out;
		}
		if (got)
			*got = b.dgot;
		if (answer && b.d && b.n && tx_is_xml(b.d)) {
			if (!(*answer = tx_xml_json(b.d, b.n)))
				rc = H->set_error(call, TRELLIS_E_BACKEND,
						  "pool '%s': %s %s: the answer "
						  "is not XML",
						  p->name, c->method, c->path);
		} else if (answer && b.d && b.n) {
			json_error_t je;
			*answer = json_loads(b.d, 0, &je);
			if (!*answer)
				rc = H->set_error(
				    call, TRELLIS_E_BACKEND,
				    "pool '%s': %s %s: the answer is not "
				    "JSON (%s)",
				    p->name, c->method, c->path, je.text);
		}
		free(b.d);
		break;
	}
out:
	free(path);
	free(body);
	return rc;
}
