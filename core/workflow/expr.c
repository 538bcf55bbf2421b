/* SPDX-License-Identifier: Apache-2.0 */
/* expr.c - see expr.h. */
#include "expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= TR_REF_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* Parses the inside of ${...} (len bytes at s).  0 or -1 with err. */
static int parse_ref(const char *s, size_t len, struct tr_ref *ref, char *err,
		     size_t errlen)
{
	memset(ref, 0, sizeof *ref);
	snprintf(ref->text, sizeof ref->text, "${%.*s}",
		 (int)(len > 280 ? 280 : len), s);
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	const char *parts[4];
	size_t plen[4], np = 0;
	const char *p = s, *end = s + len;
	while (p <= end && np < 4) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		const char *stop = dot && np < 3 ? dot : end;
		parts[np] = p;
		plen[np++] = (size_t)(stop - p);
		if (stop == end)
			break;
		p = stop + 1;
	}
	if (np >= 1 && plen[0] == 6 && memcmp(parts[0], "inputs", 6) == 0)
		ref->ns = TR_REF_INPUTS;
	else if (np >= 1 && plen[0] == 5 && memcmp(parts[0], "steps", 5) == 0)
		ref->ns = TR_REF_STEPS;
	else if (np >= 1 && plen[0] == 7 &&
		 memcmp(parts[0], "secrets", 7) == 0)
		ref->ns = TR_REF_SECRETS;
	int need = ref->ns == TR_REF_STEPS ? 3 : 2;
	int ok = ref->ns && np >= (size_t)need &&
		 (ref->ns == TR_REF_STEPS || np == 2);
	for (int i = 1; ok && i < need; i++)
		ok = name_ok(parts[i], plen[i]);
	if (ok && ref->ns == TR_REF_STEPS && np == 4) {
		/* The rest is a dotted path inside the field's value. */
		ok = plen[3] > 0 && plen[3] + 1 < sizeof ref->path;
		for (size_t i = 0; ok && i < plen[3]; i++)
			ok = parts[3][i] == '.' ||
			     name_ok(parts[3] + i, 1);
		if (ok)
			snprintf(ref->path, sizeof ref->path, ".%.*s",
				 (int)plen[3], parts[3]);
	}
	if (!ok) {
		snprintf(err, errlen,
			 "bad expression '%s': expected ${inputs.NAME}, "
			 "${steps.ID.FIELD} or ${secrets.NAME}",
			 ref->text);
		return -1;
	}
	snprintf(ref->name, sizeof ref->name, "%.*s", (int)plen[1], parts[1]);
	if (ref->ns == TR_REF_STEPS)
		snprintf(ref->field, sizeof ref->field, "%.*s", (int)plen[2],
			 parts[2]);
	return 0;
}

/* Finds the next expression from p: *start at "${", *inner and *ilen its
 * inside, returns the position after "}" or NULL when there is none.
 * "$${" is skipped (a literal).  -1 in *bad for an unterminated one. */
static const char *next_expr(const char *p, const char **start,
			     const char **inner, size_t *ilen, int *bad)
{
	*bad = 0;
	for (;;) {
		const char *d = strstr(p, "${");
		if (!d)
			return NULL;
		if (d > p && d[-1] == '$') {
			p = d + 2;
			continue;
		}
		const char *close = strchr(d + 2, '}');
		if (!close) {
			*bad = 1;
			*start = d;
			return NULL;
		}
		*start = d;
		*inner = d + 2;
		*ilen = (size_t)(close - d - 2);
		return close + 1;
	}
}

int tr_expr_scan(const char *s, tr_expr_ref_fn fn, void *arg, char *err,
		 size_t errlen)
{
	const char *p = s, *start, *inner;
	size_t ilen;
	int bad;
	while ((p = next_expr(p, &start, &inner, &ilen, &bad))) {
		struct tr_ref ref;
		if (parse_ref(inner, ilen, &ref, err, errlen) < 0)
			return -1;
		int r = fn ? fn(arg, &ref) : 0;
		if (r)
			return r;
	}
	if (bad) {
		snprintf(err, errlen, "unterminated expression '%.40s' "
				      "(missing '}')",
			 start);
		return -1;
	}
	return 0;
}

int tr_expr_single(const char *s, struct tr_ref *ref)
{
	size_t n = strlen(s);
	if (n < 4 || s[0] != '$' || s[1] != '{' || s[n - 1] != '}' ||
	    memchr(s + 2, '}', n - 3))
		return 0;
	char err[8];
	return parse_ref(s + 2, n - 3, ref, err, sizeof err) == 0;
}

int tr_expr_any(const json_t *v)
{
	if (json_is_string(v))
		return strstr(json_string_value(v), "${") != NULL;
	size_t i;
	const char *k;
	json_t *x;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) if (tr_expr_any(x)) return 1;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) if (tr_expr_any(x))
			return 1;
	}
	return 0;
}

/* Follows ".a.b" inside v (borrowed result, or NULL). */
static json_t *follow(json_t *v, const char *path)
{
	while (v && *path == '.') {
		path++;
		size_t n = strcspn(path, ".");
		char key[TR_REF_NAME_MAX];
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		v = json_object_get(v, key);
		path += n;
	}
	return v;
}

static json_t *lookup(const struct tr_ref *ref, tr_expr_lookup_fn fn,
		      void *arg, char *err, size_t errlen)
{
	json_t *v = fn(arg, ref, err, errlen);
	if (v && ref->path[0]) {
		v = follow(v, ref->path);
		if (!v)
			snprintf(err, errlen, "%s: no such field in the "
					      "step's output",
				 ref->text);
	}
	return v;
}

/* Appends v's text form to a growing buffer. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *s,
		   size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap : 64;
		while (c < *len + n + 1)
			c *= 2;
		char *b = tr_xrealloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Appends literal text, turning "$${" into "${". */
static int add_lit(char **buf, size_t *len, size_t *cap, const char *s,
		   size_t n)
{
	const char *end = s + n;
	while (s < end) {
		const char *q = strstr(s, "$${");
		if (!q || q >= end)
			return buf_add(buf, len, cap, s, (size_t)(end - s));
		if (buf_add(buf, len, cap, s, (size_t)(q - s) + 1) < 0)
			return -1;
		s = q + 2;
	}
	return 0;
}

static int add_value(char **buf, size_t *len, size_t *cap, json_t *v)
{
	char tmp[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		return buf_add(buf, len, cap, json_string_value(v),
			       json_string_length(v));
	case JSON_INTEGER:
		snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		break;
	case JSON_REAL:
		snprintf(tmp, sizeof tmp, "%g", json_real_value(v));
		break;
	case JSON_TRUE:
		return buf_add(buf, len, cap, "true", 4);
	case JSON_FALSE:
		return buf_add(buf, len, cap, "false", 5);
	case JSON_NULL:
		return 0;
	default: {
		char *d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (!d)
			return -1;
		int r = buf_add(buf, len, cap, d, strlen(d));
		free(d);
		return r;
	}
	}
	return buf_add(buf, len, cap, tmp, strlen(tmp));
}

static json_t *eval_string(const char *s, tr_expr_lookup_fn fn, void *arg,
			   char *err, size_t errlen)
{
	struct tr_ref ref;
	if (tr_expr_single(s, &ref)) {
		json_t *v = lookup(&ref, fn, arg, err, errlen);
		return v ? json_incref(v) : NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	const char *p = s, *start, *inner, *next;
	size_t ilen;
	int bad;
	json_t *out = NULL;
	while ((next = next_expr(p, &start, &inner, &ilen, &bad))) {
		if (add_lit(&buf, &len, &cap, p, (size_t)(start - p)) < 0)
			goto oom;
		if (parse_ref(inner, ilen, &ref, err, errlen) < 0)
			goto out;
		json_t *v = lookup(&ref, fn, arg, err, errlen);
		if (!v)
			goto out;
		if (add_value(&buf, &len, &cap, v) < 0)
			goto oom;
		p = next;
	}
	if (bad) {
		snprintf(err, errlen, "unterminated expression '%.40s'", start);
		goto out;
	}
	if (add_lit(&buf, &len, &cap, p, strlen(p)) < 0)
		goto oom;
	out = json_string(buf ? buf : "");
	if (!out)
		snprintf(err, errlen, "expression result is not valid UTF-8");
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	free(buf);
	return out;
}

json_t *tr_expr_eval(const json_t *tmpl, tr_expr_lookup_fn fn, void *arg,
		     char *err, size_t errlen)
{
	if (json_is_string(tmpl)) {
		if (!strstr(json_string_value(tmpl), "${"))
			return json_incref((json_t *)tmpl);
		return eval_string(json_string_value(tmpl), fn, arg, err,
				   errlen);
	}
	if (json_is_array(tmpl)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(tmpl, i, x)
		{
			json_t *e = tr_expr_eval(x, fn, arg, err, errlen);
			if (!e || json_array_append_new(a, e) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	if (json_is_object(tmpl)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)tmpl, k, x)
		{
			json_t *e = tr_expr_eval(x, fn, arg, err, errlen);
			if (!e || json_object_set_new(o, k, e) < 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	}
	return json_incref((json_t *)tmpl);
}

int tr_expr_truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_TRUE: return 1;
	case JSON_FALSE:
	case JSON_NULL: return 0;
	case JSON_INTEGER: return json_integer_value(v) != 0;
	case JSON_REAL: return json_real_value(v) != 0.0;
	case JSON_STRING: {
		const char *s = json_string_value(v);
		return *s && strcmp(s, "false") && strcmp(s, "no") &&
		       strcmp(s, "0") && strcmp(s, "False");
	}
	default: return json_object_size(v) || json_array_size(v);
	}
}

/* One side of a comparison as text: a quoted literal, or a template. */
static char *side_text(const char *s, size_t n, tr_expr_lookup_fn fn,
		       void *arg, char *err, size_t errlen)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n - 1] == s[0])
		s++, n -= 2;
	char *lit = tr_xstrndup(s, n);
	if (!lit) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_t *t = json_string(lit);
	free(lit);
	json_t *v = t ? tr_expr_eval(t, fn, arg, err, errlen) : NULL;
	json_decref(t);
	if (!v)
		return NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (add_value(&buf, &len, &cap, v) < 0 || !buf)
		buf = buf ? buf : tr_xstrdup("");
	json_decref(v);
	return buf;
}

/* The position of a top-level " == " or " != " (outside ${...}). */
static const char *find_op(const char *s)
{
	int depth = 0;
	for (const char *p = s; *p; p++) {
		if (p[0] == '$' && p[1] == '{')
			depth++;
		else if (*p == '}' && depth)
			depth--;
		else if (!depth && (!strncmp(p, " == ", 4) ||
				    !strncmp(p, " != ", 4)))
			return p;
	}
	return NULL;
}

int tr_expr_when(const json_t *when, tr_expr_lookup_fn fn, void *arg,
		 int *truth, char *err, size_t errlen)
{
	if (!json_is_string(when)) {
		json_t *v = tr_expr_eval(when, fn, arg, err, errlen);
		if (!v)
			return -1;
		*truth = tr_expr_truthy(v);
		json_decref(v);
		return 0;
	}
	const char *s = json_string_value(when);
	int neg = 0;
	while (*s == ' ' || *s == '!') {
		if (*s == '!')
			neg ^= 1;
		s++;
	}
	const char *op = find_op(s);
	if (!op) {
		json_t *t = json_string(s);
		json_t *v = t ? tr_expr_eval(t, fn, arg, err, errlen) : NULL;
		json_decref(t);
		if (!v)
			return -1;
		*truth = tr_expr_truthy(v) ^ neg;
		json_decref(v);
		return 0;
	}
	char *l = side_text(s, (size_t)(op - s), fn, arg, err, errlen);
	char *r = l ? side_text(op + 4, strlen(op + 4), fn, arg, err, errlen)
		    : NULL;
	int rc = -1;
	if (l && r) {
		int eq = strcmp(l, r) == 0;
		*truth = (op[1] == '=' ? eq : !eq) ^ neg;
		rc = 0;
	}
	free(l);
	free(r);
	return rc;
}
