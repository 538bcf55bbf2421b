/* SPDX-License-Identifier: Apache-2.0 */
/* schema.c - typed fields, their checker and the size and duration
 * parsers (schema.h). */
#include "schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <trellis/host.h>

static const char *const type_names[] = {
	[TR_T_ANY] = "any",	      [TR_T_STRING] = "string",
	[TR_T_INT] = "int",	      [TR_T_BOOL] = "bool",
	[TR_T_SIZE] = "size",	      [TR_T_DURATION] = "duration",
	[TR_T_SECRET] = "secret",     [TR_T_OBJECT] = "object",
	[TR_T_ARRAY] = "array",	      [TR_T_NUMBER] = "number",
};

const char *tr_type_str(enum tr_type t)
{
	if ((unsigned)t < sizeof type_names / sizeof *type_names &&
	    type_names[t])
		return type_names[t];
	return "?";
}

int tr_type_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof type_names / sizeof *type_names;
	     i++)
		if (type_names[i] && strcmp(type_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *tr_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "int";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	case JSON_NULL: return "null";
	}
	return "?";
}

const struct tr_field *tr_field_find(const struct tr_field *fields,
				     const char *name)
{
	for (const struct tr_field *f = fields; f && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* ---- size and duration ---- */

/* Multiplies with overflow detection; -1 on overflow. */
static int mul_ll(long long a, long long b, long long *out)
{
	if (__builtin_mul_overflow(a, b, out))
		return -1;
	return 0;
}

int tr_parse_size(const char *s, long long *bytes)
{
	if (!s || !*s)
		return -1;
	errno = 0;
	char *end;
	if (*s == '-' || *s == '+' || *s == ' ')
		return -1;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s)
		return -1;
	long long mult = 1;
	if (*end) {
		static const char units[] = "KMGTPE";
		const char *u = strchr(units, *end & ~0x20);
		if (!u || !(*end & ~0x20))
			return -1;
		for (const char *p = units; p <= u; p++)
			mult *= 1024;
		end++;
		/* "10G", "10GB", "10GiB", "10Gi" all mean binary units: a
		 * disk of "10G" is what qemu-img calls 10G. */
		if (*end == 'i')
			end++;
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end)
			return -1;
	}
	return mul_ll(v, mult, bytes);
}

int tr_parse_duration(const char *s, long long *ms)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	long long total = 0;
	const char *p = s;
	while (*p) {
		errno = 0;
		char *end;
		if (*p < '0' || *p > '9')
			return -1;
		long long v = strtoll(p, &end, 10);
		if (errno)
			return -1;
		long long mult;
		if (*end == '\0') {
			/* A bare number is milliseconds, like an int. */
			if (p != s)
				return -1;
			mult = 1;
		} else if (strncmp(end, "ms", 2) == 0) {
			mult = 1, end += 2;
		} else if (*end == 's') {
			mult = 1000, end++;
		} else if (*end == 'm') {
			mult = 60 * 1000, end++;
		} else if (*end == 'h') {
			mult = 3600 * 1000, end++;
		} else if (*end == 'd') {
			mult = 86400 * 1000, end++;
		} else {
			return -1;
		}
		long long part;
		if (mul_ll(v, mult, &part) < 0 ||
		    __builtin_add_overflow(total, part, &total))
			return -1;
		p = end;
	}
	*ms = total;
	return 0;
}

/* ---- checks ---- */

int tr_field_check(const struct tr_field *f, json_t *v, json_t **norm,
		   char *err, size_t errlen)
{
	*norm = NULL;
	const char *want = tr_type_str(f->type);
	int ok = 0;
	switch (f->type) {
	case TR_T_ANY:
		ok = 1;
		break;
	case TR_T_STRING:
	case TR_T_SECRET:
		ok = json_is_string(v);
		break;
	case TR_T_INT:
		ok = json_is_integer(v);
		break;
	case TR_T_NUMBER:
		ok = json_is_number(v);
		break;
	case TR_T_BOOL:
		ok = json_is_boolean(v);
		break;
	case TR_T_OBJECT:
		ok = json_is_object(v);
		break;
	case TR_T_ARRAY:
		ok = json_is_array(v);
		break;
	case TR_T_SIZE:
	case TR_T_DURATION:
		if (json_is_integer(v)) {
			if (json_integer_value(v) < 0) {
				snprintf(err, errlen,
					 "expected %s, got a negative number",
					 want);
				return -1;
			}
			return 0;
		}
		if (json_is_string(v)) {
			long long x;
			const char *s = json_string_value(v);
			/* A duration typed as text carries its unit: "5" (a
			 * --ttl 5) would be 5 ms, which nobody means.  "0"
			 * is 0 in every unit. */
			if (f->type == TR_T_DURATION && *s &&
			    strspn(s, "0123456789") == strlen(s) &&
			    strspn(s, "0") != strlen(s)) {
				snprintf(err, errlen,
					 "expected %s, got '%.32s': a bare number "
					 "is refused, say %.32ss, %.32sm or %.32sms",
					 want, s, s, s, s);
				return -1;
			}
			int r = f->type == TR_T_SIZE ? tr_parse_size(s, &x)
						     : tr_parse_duration(s, &x);
			if (r < 0) {
				snprintf(err, errlen,
					 "expected %s, got '%.64s' (%s)", want,
					 s,
					 f->type == TR_T_SIZE
						 ? "like 10G, 512M or 4096"
						 : "like 30s, 2m, 1h or 250ms");
				return -1;
			}
			*norm = json_integer(x);
			return *norm ? 0 : -1;
		}
		break;
	}
	if (ok)
		return 0;
	snprintf(err, errlen, "expected %s, got %s", want, tr_json_type_name(v));
	return -1;
}

static void append(char *err, size_t errlen, const char *fmt, ...)
	TRELLIS_PRINTF(3, 4);
static void append(char *err, size_t errlen, const char *fmt, ...)
{
	size_t len = strlen(err);
	if (len + 3 >= errlen)
		return;
	if (len) {
		strcpy(err + len, "; ");
		len += 2;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + len, errlen - len, fmt, ap);
	va_end(ap);
}

int tr_fields_check(const char *what, const struct tr_field *fields,
		    json_t *args, char *err, size_t errlen)
{
	if (errlen)
		err[0] = '\0';
	if (!json_is_object(args)) {
		snprintf(err, errlen, "%s: arguments must be an object, got %s",
			 what, tr_json_type_name(args));
		return TRELLIS_E_INVALID_ARG;
	}
	int bad = 0;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(args, tmp, key, v)
	{
		const struct tr_field *f = tr_field_find(fields, key);
		if (!f) {
			append(err, errlen, "unknown field '%s'", key);
			bad = 1;
			continue;
		}
		if (json_is_null(v) && !f->required) {
			/* An explicit null means "use the default". */
			json_object_del(args, key);
			continue;
		}
		char why[160];
		json_t *norm;
		if (tr_field_check(f, v, &norm, why, sizeof why) < 0) {
			append(err, errlen, "field '%s': %s", key, why);
			bad = 1;
			continue;
		}
		if (norm)
			json_object_set_new(args, key, norm);
	}
	for (const struct tr_field *f = fields; f && f->name; f++) {
		if (f->required && !json_object_get(args, f->name)) {
			append(err, errlen, "missing required field '%s'",
			       f->name);
			bad = 1;
		}
	}
	if (bad)
		return TRELLIS_E_INVALID_ARG;
	return 0;
}

