/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query.c - lists of objects (keyset paging, parent and field filters)
 * and the text forms of get and list, whose JSON SQLite builds (on
 * PostgreSQL, we do, from the plain rows).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/array.h"
#include "store_int.h"

/* ---- lists ---- */

/* The SELECT of a kind as one JSON text column, derived from its plain
 * SELECT: "a.id, h.name AS host, ..." becomes
 * "a.id, json_object('id', a.id, 'host', h.name, ...)", with the
 * booleans and the spec converted the way row_json() does.  A new string,
 * or NULL when out of memory. */
static char *build_select_text(const struct kdesc *k)
{
	const char *cols = k->select + strlen("SELECT ");
	const char *from = strstr(cols, " FROM ");
	char *out = tr_xmalloc(strlen(k->select) * 3 + 256);
	if (!out)
		return NULL;
	if (k->doc) {
		/* The rows keep their own JSON (schema.c, vm.doc). */
		sprintf(out, "SELECT a.id, %s%s", k->doc, from);
		return out;
	}
	int len = sprintf(out, "SELECT a.id, json_object(");
	const char *p = cols;
	int first = 1;
	while (p < from) {
		const char *comma = memchr(p, ',', (size_t)(from - p));
		const char *end = comma ? comma : from;
		char expr[256], key[256];
		snprintf(expr, sizeof expr, "%.*s", (int)(end - p), p);
		char *as = strstr(expr, " AS ");
		if (as) {
			snprintf(key, sizeof key, "%s", as + 4);
			*as = '\0';
		} else {
			const char *dot = strchr(expr, '.');
			snprintf(key, sizeof key, "%s", dot ? dot + 1 : expr);
		}
		const char *fmt = "'%s', %s";
		if (strcmp(key, "private") == 0 || strcmp(key, "exclusive") == 0)
			fmt = "'%s', json(CASE WHEN %s THEN 'true' ELSE 'false' "
			      "END)";
		else if (strcmp(key, "spec") == 0)
			fmt = "'%s', json(%s)";
		len += sprintf(out + len, "%s", first ? "" : ", ");
		len += sprintf(out + len, fmt, key, expr);
		first = 0;
		p = end + (comma ? 1 : 0);
		while (*p == ' ')
			p++;
	}
	sprintf(out + len, ")%s", from);
	return out;
}

/* Each kind's text SELECT, and its lookup by key ("... WHERE a.KEY =
 * ?1"), built once for every thread (the API's receive threads read side
 * by side); NULL where memory ran out. */
static struct {
	char *select, *by_key;
} texts[TR_KIND__COUNT];

static void build_texts(void)
{
	for (size_t i = 0; i < TR_KIND__COUNT; i++) {
		const struct kdesc *k = &tr_store_kinds[i];
		char *sel = build_select_text(k);
		if (!sel)
			continue;
		size_t n = strlen(sel) + strlen(k->key) + 32;
		char *by_key = tr_xmalloc(n);
		if (by_key)
			snprintf(by_key, n, "%s WHERE a.%s = ?1", sel, k->key);
		texts[i].select = sel;
		texts[i].by_key = by_key;
	}
}

static const char *select_text(const struct kdesc *k, int by_key)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, build_texts);
	size_t i = (size_t)(k - tr_store_kinds);
	return by_key ? texts[i].by_key : texts[i].select;
}

/* The condition that keeps a kind's rows to tenant ?5 (business-unit
 * scoping, issue 17). */
#define SCOPE_ID "(SELECT id FROM tenant WHERE name = ?5)"
static const char *scope_expr(enum tr_kind kind)
{
	switch (kind) {
	case TR_KIND_TENANT:
		return "a.name = ?5";
	case TR_KIND_VM:
	case TR_KIND_SEGMENT:
		return "a.tenant_id = " SCOPE_ID;
	case TR_KIND_VOLUME:
		return "a.vm_uuid IN (SELECT uuid FROM vm WHERE tenant_id = "
		       SCOPE_ID ")";
	default:
		return "CAST(?5 AS TEXT) IS NULL"; /* nothing: no tenant owns these */
	}
}

char *tr_store_owner(struct tr_store *s, enum tr_kind kind, json_t *obj)
{
	const char *t = NULL;
	switch (kind) {
	case TR_KIND_TENANT:
		t = json_string_value(json_object_get(obj, "name"));
		break;
	case TR_KIND_VM:
	case TR_KIND_SEGMENT:
		t = json_string_value(json_object_get(obj, "tenant"));
		break;
	case TR_KIND_VOLUME: {
		const char *vm = json_string_value(json_object_get(obj, "vm"));
		json_t *v = NULL;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		if (vm && tr_store_get(s, TR_KIND_VM, vm, &v, &call) == 0) {
			const char *o =
			    json_string_value(json_object_get(v, "tenant"));
			char *r = o ? strdup(o) : NULL;
			json_decref(v);
			return r;
		}
		return NULL;
	}
	default:
		break;
	}
	return t ? strdup(t) : NULL;
}

/* Builds the list query of kind k (text: the JSON text form) and binds
 * it; NULL with the error in call. */
static struct tr_sql_stmt *list_stmt(struct tr_store *s, const struct kdesc *k,
			       const struct tr_store_query *q, int text,
			       trellis_call_t *call)
{
	int64_t parent_id = -1;
	if (q->parent_ref) {
		if (k->parent < 0) {
			tr_call_set(call, TRELLIS_E_INVALID_ARG,
				    "%s objects have no parent", k->name);
			return NULL;
		}
		parent_id = tr_store_resolve(s, (enum tr_kind)k->parent, q->parent_ref,
				    call);
		if (parent_id < 0)
			return NULL;
	}
	const char *fexpr = NULL;
	if (q->filter_key) {
		for (const struct filter *f = k->filters; f->field; f++)
			if (strcmp(f->field, q->filter_key) == 0)
				fexpr = f->expr;
		if (!fexpr) {
			tr_call_set(call, TRELLIS_E_INVALID_ARG,
				    "%s: cannot filter on '%s'", k->name,
				    q->filter_key);
			return NULL;
		}
	}
	/* PostgreSQL: the text forms are built from the plain rows */
	const char *select = text && !s->pg ? select_text(k, 0) : k->select;
	if (!select) {
		tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
		return NULL;
	}
	char sql[4096];
	int len = snprintf(sql, sizeof sql, "%s WHERE a.id > ?1", select);
	if (parent_id >= 0)
		len += snprintf(sql + len, sizeof sql - (size_t)len,
				" AND a.%s = ?2", k->parent_col);
	if (fexpr)
		len += snprintf(sql + len, sizeof sql - (size_t)len,
				" AND %s = ?3", fexpr);
	if (q->scope_tenant)
		len += snprintf(sql + len, sizeof sql - (size_t)len, " AND %s",
				scope_expr((enum tr_kind)(k - tr_store_kinds)));
	if (q->match)
		len += snprintf(sql + len, sizeof sql - (size_t)len,
				" AND a.name %s ?6 ESCAPE '\\'",
				/* SQLite's LIKE ignores ASCII case */
				tr_sql_pick(s->sql, "LIKE", "ILIKE"));
	snprintf(sql + len, sizeof sql - (size_t)len,
		 " ORDER BY a.id LIMIT ?4");
	struct tr_sql_stmt *st = tr_store_stmt(s, sql, call);
	if (!st)
		return NULL;
	tr_sql_bind_int64(st, 1, q->after_id);
	if (parent_id >= 0)
		tr_sql_bind_int64(st, 2, parent_id);
	if (fexpr)
		tr_sql_bind_text_copy(st, 3,
				      q->filter_value ? q->filter_value : "");
	if (q->scope_tenant)
		tr_sql_bind_text_copy(st, 5, q->scope_tenant);
	if (q->match) {
		char pat[300];
		size_t n = 0;
		pat[n++] = '%';
		for (const char *m = q->match; *m && n < sizeof pat - 4; m++) {
			if (*m == '%' || *m == '_' || *m == '\\')
				pat[n++] = '\\';
			pat[n++] = *m;
		}
		pat[n++] = '%';
		pat[n] = '\0';
		tr_sql_bind_text_copy(st, 6, pat);
	}
	/* One more row than asked tells whether there is a next page; no
	 * limit is -1 to SQLite, NULL to PostgreSQL. */
	if (q->limit)
		tr_sql_bind_int64(st, 4, (int64_t)q->limit + 1);
	else if (s->pg)
		tr_sql_bind_null(st, 4);
	else
		tr_sql_bind_int64(st, 4, -1);
	return st;
}

/* Steps st through one page: row(arg, st, n) for each of at most limit
 * rows (0: all), *next the last id when more rows follow (else -1).
 * Resets st.  0, or non-zero on an SQL error. */
static int each_row(struct tr_sql_stmt *st, unsigned limit,
		    void (*row)(void *arg, struct tr_sql_stmt *st, unsigned n),
		    void *arg, int64_t *next)
{
	int rc;
	unsigned n = 0;
	int64_t last = 0;
	*next = -1;
	while ((rc = tr_sql_step(st)) == TR_SQL_ROW) {
		if (limit && n == limit) {
			*next = last;
			break;
		}
		last = tr_sql_column_int64(st, 0);
		row(arg, st, n++);
	}
	tr_sql_reset(st);
	return rc < 0;
}

static void add_json_row(void *arg, struct tr_sql_stmt *st, unsigned n)
{
	(void)n;
	json_array_append_new(arg, tr_store_row_json(st));
}

int tr_store_list(struct tr_store *s, enum tr_kind kind,
		  const struct tr_store_query *q, json_t **out,
		  trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	struct tr_store_query none = {0};
	if (!q)
		q = &none;
	struct tr_sql_stmt *st = list_stmt(s, k, q, 0, call);
	if (!st)
		return call->code;
	json_t *items = json_array();
	int64_t next;
	if (each_row(st, q->limit, add_json_row, items, &next)) {
		json_decref(items);
		return tr_store_sql_error(s, call, k->name);
	}
	*out = json_pack("{s:o, s:o}", "items", items, "next",
			 next >= 0 ? json_integer(next) : json_null());
	return 0;
}

/* A growing string for the text forms. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	TR_GROW_TO(b->p, b->len + n + 1, b->cap);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* A row's JSON text: the database's (column 1 of the text SELECT), or
 * on PostgreSQL the plain row's as tr_store_list() gives it, dumped -
 * PostgreSQL's own JSON text is spaced otherwise.  A new string. */
static char *row_text(struct tr_store *s, struct tr_sql_stmt *st)
{
	if (!s->pg)
		return tr_xstrdup(tr_sql_column_text(st, 1));
	json_t *o = tr_store_row_json(st);
	char *t = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return t;
}

struct text_rows {
	struct tr_store *s;
	struct buf b;
};

static void add_text_row(void *arg, struct tr_sql_stmt *st, unsigned n)
{
	struct text_rows *r = arg;
	struct buf *b = &r->b;
	if (n)
		b->oom |= buf_add(b, ",", 1);
	if (!r->s->pg) {
		b->oom |= buf_add(b, tr_sql_column_text(st, 1),
				  tr_sql_column_bytes(st, 1));
		return;
	}
	char *t = row_text(r->s, st);
	b->oom |= !t || buf_add(b, t, strlen(t));
	free(t);
}

int tr_store_list_text(struct tr_store *s, enum tr_kind kind,
		       const struct tr_store_query *q, char **out,
		       trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	struct tr_store_query none = {0};
	if (!q)
		q = &none;
	struct tr_sql_stmt *st = list_stmt(s, k, q, 1, call);
	if (!st)
		return call->code;
	struct text_rows r = {.s = s};
	r.b.oom = buf_add(&r.b, "{\"items\":[", 10);
	int64_t next;
	if (each_row(st, q->limit, add_text_row, &r, &next)) {
		free(r.b.p);
		return tr_store_sql_error(s, call, k->name);
	}
	char tail[64];
	if (next >= 0)
		snprintf(tail, sizeof tail, "],\"next\":%lld}", (long long)next);
	else
		snprintf(tail, sizeof tail, "],\"next\":null}");
	r.b.oom |= buf_add(&r.b, tail, strlen(tail));
	if (r.b.oom) {
		free(r.b.p);
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	*out = r.b.p;
	return 0;
}

int tr_store_get_text(struct tr_store *s, enum tr_kind kind, const char *ref,
		      char **out, trellis_call_t *call)
{
	const struct kdesc *k = tr_store_desc(kind, call);
	if (!k)
		return call->code;
	const char *select = select_text(k, 0), *by_key = select_text(k, 1);
	if (!select || !by_key)
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	char pg_key[4096];
	if (s->pg) {
		select = k->select;
		snprintf(pg_key, sizeof pg_key, "%s WHERE a.%s = ?1", k->select,
			 k->key);
		by_key = pg_key;
	}
	/* The common case - a VM by uuid, a zone or host by its unique
	 * name - is one statement (one read transaction) instead of a
	 * resolve and a fetch. */
	if (k->depth == 1) {
		struct tr_sql_stmt *st = tr_store_stmt(s, by_key, call);
		if (!st)
			return call->code;
		tr_sql_bind_text(st, 1, ref);
		if (tr_sql_step(st) == TR_SQL_ROW) {
			*out = row_text(s, st);
			tr_sql_reset(st);
			return *out ? 0
				    : tr_call_set(call, TRELLIS_E_NOMEM,
						  "out of memory");
		}
		tr_sql_reset(st);
	}
	int64_t id = tr_store_resolve(s, kind, ref, call);
	if (id < 0)
		return (int)id;
	struct tr_sql_stmt *st = tr_store_row_by_id(s, k, select, id, call);
	if (!st)
		return call->code;
	*out = row_text(s, st);
	tr_sql_reset(st);
	return *out ? 0 : tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
}
