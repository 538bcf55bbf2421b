/* SPDX-License-Identifier: Apache-2.0 */
/* output.c - tables, key/value views, JSON and YAML (cli.h: cli_print). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>

#include "../util/alloc.h"
#include "cli.h"

/* ---- units: one per kind in JSON, human in tables ----
 *
 * JSON keeps the API's numbers, each in the unit its name says
 * (memory_kib, memory_mib, disk_gib; capacity and allocation in bytes;
 * *_at in unix seconds, or milliseconds where the value is that large).
 * A table or a key/value view shows sizes as "512 MiB" or "1.5 GiB" and
 * times as ISO 8601 UTC.  A column says its unit by its field's name
 * (memory_mib, created_at) or by a suffix (":bytes", ":time") that
 * lookup() strips. */
enum unit { U_NONE, U_BYTES, U_KIB, U_MIB, U_GIB, U_TIME };

static enum unit unit_of(const char *field)
{
	static const struct {
		const char *suffix;
		enum unit u;
	} rules[] = {{":bytes", U_BYTES}, {":kib", U_KIB}, {":mib", U_MIB},
		     {":gib", U_GIB},	  {":time", U_TIME}, {"_bytes", U_BYTES},
		     {"_kib", U_KIB},	  {"_mib", U_MIB},   {"_gib", U_GIB},
		     {"_at", U_TIME}};
	size_t n = strlen(field);
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		size_t l = strlen(rules[i].suffix);
		if (n > l && strcmp(field + n - l, rules[i].suffix) == 0)
			return rules[i].u;
	}
	return U_NONE;
}

/* "512 MiB", "1.5 GiB", "100 B" (a new string). */
static char *human_bytes(double b)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB",
					    "PiB"};
	size_t u = 0;
	while (b >= 1024 && u + 1 < sizeof units / sizeof *units) {
		b /= 1024;
		u++;
	}
	char buf[32];
	if (b == (double)(long long)b)
		snprintf(buf, sizeof buf, "%lld %s", (long long)b, units[u]);
	else
		snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
	return tr_xstrdup(buf);
}

/* unix seconds (or milliseconds, when that large) as ISO 8601 UTC. */
static char *human_time(long long t)
{
	if (t <= 0)
		return tr_xstrdup("-");
	if (t > 100000000000LL)
		t /= 1000;
	time_t tt = (time_t)t;
	struct tm tm;
	char buf[32];
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return tr_xstrdup(buf);
}

/* The human text of v for field, or NULL when it has no unit. */
static char *human(const char *field, json_t *v)
{
	if (!json_is_integer(v) && !json_is_real(v))
		return NULL;
	double x = json_number_value(v);
	switch (unit_of(field)) {
	case U_BYTES:
		return human_bytes(x);
	case U_KIB:
		return human_bytes(x * 1024);
	case U_MIB:
		return human_bytes(x * 1024 * 1024);
	case U_GIB:
		return human_bytes(x * 1024 * 1024 * 1024);
	case U_TIME:
		return human_time((long long)x);
	case U_NONE:
		break;
	}
	return NULL;
}

/* A field by dotted path (a ":unit" suffix is not part of it). */
static json_t *lookup(json_t *o, const char *path)
{
	char buf[128];
	snprintf(buf, sizeof buf, "%.*s", (int)strcspn(path, ":"), path);
	char *save = NULL;
	for (char *k = strtok_r(buf, ".", &save); k && o;
	     k = strtok_r(NULL, ".", &save))
		o = json_object_get(o, k);
	return o;
}

/* A cell's text (caller frees). */
static char *cell(json_t *v)
{
	char *s = NULL;
	if (!v || json_is_null(v))
		s = tr_xstrdup("-");
	else if (json_is_string(v))
		s = tr_xstrdup(json_string_value(v));
	else if (json_is_true(v))
		s = tr_xstrdup("yes");
	else if (json_is_false(v))
		s = tr_xstrdup("no");
	else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s ? s : tr_xstrdup("?");
}

static void print_table(json_t *rows, const struct cli_col *cols)
{
	size_t ncols = 0;
	while (cols[ncols].label)
		ncols++;
	size_t nrows = json_array_size(rows);
	char **cells = tr_xcalloc((nrows + 1) * ncols, sizeof *cells);
	size_t *w = tr_xcalloc(ncols, sizeof *w);
	if (!cells || !w)
		goto out;
	for (size_t c = 0; c < ncols; c++) {
		cells[c] = tr_xstrdup(cols[c].label);
		w[c] = strlen(cols[c].label);
	}
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			json_t *v = lookup(json_array_get(rows, r), cols[c].field);
			char *s = human(cols[c].field, v);
			if (!s)
				s = cell(v);
			cells[(r + 1) * ncols + c] = s;
			if (s && strlen(s) > w[c])
				w[c] = strlen(s);
		}
	}
	for (size_t r = 0; r <= nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			if (c + 1 == ncols)
				printf("%s\n", s ? s : "");
			else
				printf("%-*s  ", (int)w[c], s ? s : "");
		}
	}
out:
	if (cells)
		for (size_t i = 0; i < (nrows + 1) * ncols; i++)
			free(cells[i]);
	free(cells);
	free(w);
}

static void print_kv(json_t *obj)
{
	const char *key;
	json_t *v;
	size_t w = 0;
	json_object_foreach(obj, key, v)
	{
		if (strlen(key) > w)
			w = strlen(key);
	}
	json_object_foreach(obj, key, v)
	{
		char *s = human(key, v);
		if (!s)
			s = cell(v);
		printf("%-*s  %s\n", (int)w + 1, key, s);
		free(s);
	}
}

/* One CSV field (RFC 4180: quoted when it holds a comma, quote or line
 * break; quotes doubled). */
static void csv_field(const char *s, int last)
{
	s = s ? s : "";
	if (strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	putchar(last ? '\n' : ',');
}

/* rows as CSV with the columns' labels as the header. */
static void print_csv(json_t *rows, const struct cli_col *cols)
{
	for (size_t c = 0; cols[c].label; c++)
		csv_field(cols[c].label, !cols[c + 1].label);
	size_t r;
	json_t *row;
	json_array_foreach(rows, r, row)
	{
		for (size_t c = 0; cols[c].label; c++) {
			char *s = cell(lookup(row, cols[c].field));
			csv_field(s, !cols[c + 1].label);
			free(s);
		}
	}
}

void cli_print(const struct cli *cli, json_t *result,
	       const struct cli_col *cols, const char *list_key)
{
	if (cli->format == CLI_FMT_CSV) {
		json_t *rows = list_key ? json_object_get(result, list_key) : NULL;
		if (cols && json_is_array(rows)) {
			print_csv(rows, cols);
			return;
		}
		/* Not a list: JSON, which a CSV reader would not take for
		 * a table. */
	}
	if (cli->format == CLI_FMT_JSON || cli->format == CLI_FMT_CSV) {
		json_dumpf(result, stdout,
			   JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		fputc('\n', stdout);
		return;
	}
	if (cli->format == CLI_FMT_YAML) {
		cli_print_yaml(stdout, result);
		return;
	}
	json_t *rows = list_key ? json_object_get(result, list_key) : NULL;
	if (cols && json_is_array(rows)) {
		print_table(rows, cols);
		json_t *next = json_object_get(result, "next");
		if (json_is_integer(next))
			fprintf(stderr, "(more: --after %lld)\n",
				(long long)json_integer_value(next));
	} else if (json_is_object(result)) {
		print_kv(result);
	} else if (!json_is_null(result)) {
		char *s = cell(result);
		printf("%s\n", s);
		free(s);
	}
}

/* ---- YAML through libyaml's emitter ---- */

/* Whether a string would read back as something else when left plain
 * (a number, a boolean, null). */
static int looks_typed(const char *s)
{
	static const char *const words[] = {"true", "false", "yes", "no",
					    "on",   "off",   "null", "~",
					    "y",    "n",     NULL};
	if (!*s || strchr("0123456789+-.", *s))
		return 1;
	for (const char *const *w = words; *w; w++)
		if (strcasecmp(s, *w) == 0)
			return 1;
	return 0;
}

static int emit_scalar(yaml_emitter_t *e, const char *s, int plain)
{
	yaml_event_t ev;
	int quote = !plain && looks_typed(s);
	yaml_scalar_event_initialize(
		&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), !quote, 1,
		plain ? YAML_PLAIN_SCALAR_STYLE
		: quote ? YAML_SINGLE_QUOTED_SCALAR_STYLE
			: YAML_ANY_SCALAR_STYLE);
	return yaml_emitter_emit(e, &ev);
}

static int emit(yaml_emitter_t *e, json_t *v)
{
	yaml_event_t ev;
	const char *key;
	json_t *x;
	size_t i;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						    YAML_BLOCK_MAPPING_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_object_foreach(v, key, x)
		{
			if (!emit_scalar(e, key, 0) || !emit(e, x))
				return 0;
		}
		yaml_mapping_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						     YAML_BLOCK_SEQUENCE_STYLE);
		if (!yaml_emitter_emit(e, &ev))
			return 0;
		json_array_foreach(v, i, x)
		{
			if (!emit(e, x))
				return 0;
		}
		yaml_sequence_end_event_initialize(&ev);
		return yaml_emitter_emit(e, &ev);
	case JSON_STRING:
		/* Quoted when needed so "yes" or "1" stay strings. */
		return emit_scalar(e, json_string_value(v), 0);
	case JSON_NULL:
		return emit_scalar(e, "null", 1);
	default: {
		char *s = json_dumps(v, JSON_ENCODE_ANY);
		int ok = s && emit_scalar(e, s, 1);
		free(s);
		return ok;
	}
	}
}

int cli_print_yaml(FILE *out, json_t *v)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int ok = yaml_emitter_initialize(&e);
	if (!ok)
		return -1;
	yaml_emitter_set_output_file(&e, out);
	yaml_emitter_set_unicode(&e, 1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	ok = yaml_emitter_emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	ok = ok && emit(&e, v);
	yaml_document_end_event_initialize(&ev, 1);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	ok = ok && yaml_emitter_emit(&e, &ev);
	yaml_emitter_delete(&e);
	return ok ? 0 : -1;
}
