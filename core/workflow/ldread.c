/* SPDX-License-Identifier: Apache-2.0 */
/* ldread.c - the workflow loader's bottom layer (load_int.h): its error
 * list and the typed readers of YAML nodes (kinds, JSON values, allowed
 * keys, strings, booleans, integers, durations, names) that inputs.c,
 * check.c and load.c share.  Calls nothing else in core/workflow. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "load_int.h"

void tr_ld_err(struct ld *l, const trellis_node_t *n, const char *fmt, ...)
{
	struct tr_wf_errors *e = l->errs;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	char **m = tr_xrealloc(e->msg, (e->n + 1) * sizeof *m);
	if (m)
		e->msg = m;
	int *li = tr_xrealloc(e->line, (e->n + 1) * sizeof *li);
	if (li)
		e->line = li;
	int *co = tr_xrealloc(e->col, (e->n + 1) * sizeof *co);
	if (co)
		e->col = co;
	if (!m || !li || !co)
		return;
	const char *file = n && n->file ? n->file : l->wf->file;
	int line = n ? n->line : 0, col = n ? n->col : 0;
	char full[1200];
	snprintf(full, sizeof full, "%s:%d:%d: %s", file, line, col, msg);
	if (!(e->msg[e->n] = tr_xstrdup(full)))
		return;
	e->line[e->n] = line;
	e->col[e->n] = col;
	e->n++;
}

const char *tr_ld_kind(const trellis_node_t *n)
{
	switch (tr_node_type(n)) {
	case TRELLIS_NODE_MAP: return "a map";
	case TRELLIS_NODE_SEQ: return "a list";
	case TRELLIS_NODE_SCALAR: return tr_node_is_null(n) ? "nothing" : "a scalar";
	default: return "nothing";
	}
}

json_t *tr_ld_json(const trellis_node_t *n)
{
	switch (tr_node_type(n)) {
	case TRELLIS_NODE_SCALAR: {
		if (n->quoted)
			return json_string(n->str);
		if (tr_node_is_null(n))
			return json_null();
		int64_t i;
		int b;
		if (tr_node_int(n, &i) == 0)
			return json_integer(i);
		if (tr_node_bool(n, &b) == 0)
			return json_boolean(b);
		char *end;
		errno = 0;
		double d = strtod(n->str, &end);
		if (!errno && *end == '\0' && end != n->str &&
		    strspn(n->str, "0123456789.eE+-") == strlen(n->str))
			return json_real(d);
		return json_string(n->str);
	}
	case TRELLIS_NODE_SEQ: {
		json_t *a = json_array();
		for (size_t i = 0; a && i < tr_node_len(n); i++)
			json_array_append_new(a, tr_ld_json(tr_node_at(n, i)));
		return a;
	}
	case TRELLIS_NODE_MAP: {
		json_t *o = json_object();
		for (size_t i = 0; o && i < tr_node_len(n); i++)
			json_object_set_new(o, tr_node_key_at(n, i),
					    tr_ld_json(tr_node_at(n, i)));
		return o;
	}
	}
	return json_null();
}

/* ---- small typed readers that report their own errors ---- */

int tr_ld_keys_check(struct ld *l, const trellis_node_t *map, const char *what,
		     const char *const *allowed)
{
	int bad = 0;
	for (size_t i = 0; i < tr_node_len(map); i++) {
		const char *k = tr_node_key_at(map, i);
		size_t j;
		for (j = 0; allowed[j]; j++)
			if (strcmp(allowed[j], k) == 0)
				break;
		if (allowed[j])
			continue;
		char list[256] = "";
		for (j = 0; allowed[j]; j++) {
			size_t len = strlen(list);
			snprintf(list + len, sizeof list - len, "%s%s",
				 j ? ", " : "", allowed[j]);
		}
		tr_ld_err(l, tr_node_key_node_at(map, i),
			  "unknown key '%s' in %s (expected one of: %s)", k,
			  what, list);
		bad = 1;
	}
	return bad ? -1 : 0;
}

char *tr_ld_get_str(struct ld *l, const trellis_node_t *n, const char *what)
{
	if (tr_node_type(n) != TRELLIS_NODE_SCALAR || tr_node_is_null(n) ||
	    !*n->str) {
		tr_ld_err(l, n, "%s: expected a string, got %s", what,
			  tr_ld_kind(n));
		return NULL;
	}
	return tr_xstrdup(n->str);
}

int tr_ld_get_bool(struct ld *l, const trellis_node_t *n, const char *what,
		   int *out)
{
	if (tr_node_bool(n, out) == 0)
		return 0;
	tr_ld_err(l, n, "%s: expected true or false, got '%s'", what,
		  tr_node_str(n) ? tr_node_str(n) : tr_ld_kind(n));
	return -1;
}

int tr_ld_get_int(struct ld *l, const trellis_node_t *n, const char *what,
		  long long min, long long *out)
{
	int64_t v;
	if (tr_node_int(n, &v) == 0 && v >= min) {
		*out = v;
		return 0;
	}
	tr_ld_err(l, n, "%s: expected an integer >= %lld, got '%s'", what, min,
		  tr_node_str(n) ? tr_node_str(n) : tr_ld_kind(n));
	return -1;
}

/* YAML durations need a unit: "timeout: 30" would be 30 ms, which is
 * never what anybody meant. */
int tr_ld_get_duration(struct ld *l, const trellis_node_t *n, const char *what,
		       long long *ms)
{
	const char *s = tr_node_str(n);
	if (s && *s && strspn(s, "0123456789") != strlen(s) &&
	    tr_parse_duration(s, ms) == 0)
		return 0;
	tr_ld_err(l, n,
		  "%s: expected a duration with a unit (like 30s, 2m, 1h "
		  "or 250ms), got '%s'",
		  what, s ? s : tr_ld_kind(n));
	return -1;
}

int tr_ld_name_ok(const char *s, const char *extra)
{
	if (!s || !*s || strlen(s) > 120)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		      (extra && strchr(extra, *p))))
			return 0;
	return 1;
}
