/* SPDX-License-Identifier: Apache-2.0 */
/*
 * schema.h - typed fields and the parsers behind them, for every floor of
 * the core: action schemas (core/actions), API op arguments (core/api),
 * workflow inputs (core/workflow), placement requests and config values.
 *
 * A schema is an array of struct tr_field ended by TR_FIELDS_END.  The
 * checkers take JSON and normalise SIZE and DURATION strings ("10G",
 * "30s") to integers in place.  Nothing here allocates but the normalised
 * values it hands back.
 */
#ifndef TRELLIS_CORE_UTIL_SCHEMA_H
#define TRELLIS_CORE_UTIL_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

enum tr_type {
	TR_T_ANY = 0,
	TR_T_STRING,
	TR_T_INT,
	TR_T_BOOL,
	TR_T_SIZE,     /* bytes; accepts an int or "10G", "512M" */
	TR_T_DURATION, /* milliseconds; accepts an int (ms) or "30s", "2m" */
	TR_T_SECRET,   /* a string that is redacted everywhere */
	TR_T_OBJECT,
	TR_T_ARRAY,
	TR_T_NUMBER,   /* int or real */
};

struct tr_field {
	const char *name;
	enum tr_type type;
	int required;
	const char *description;
};

#define TR_FIELDS_END {NULL, TR_T_ANY, 0, NULL}

/* Checks args against a schema: unknown fields, missing required ones and
 * wrong types are errors ("field 'x': expected int, got string"); an
 * explicit null for an optional field is dropped (the default applies).
 * Normalises SIZE and DURATION strings to integers in place.  what names
 * the action or op in messages.  0, or TRELLIS_E_INVALID_ARG with the
 * message in err. */
int tr_fields_check(const char *what, const struct tr_field *fields,
		    json_t *args, char *err, size_t errlen);

/* Checks one value against a field's type; normalises SIZE/DURATION
 * strings (a new value in *norm, or NULL when v is fine as it is).
 * 0, or -1 with "expected int, got string" in err. */
int tr_field_check(const struct tr_field *f, json_t *v, json_t **norm,
		   char *err, size_t errlen);
/* The field called name in a TR_FIELDS_END-terminated list, or NULL. */
const struct tr_field *tr_field_find(const struct tr_field *fields,
				     const char *name);
/* "string", "int", "size"... and back (-1 when unknown). */
const char *tr_type_str(enum tr_type t);
int tr_type_parse(const char *name);
/* The JSON type of a value in the same words ("string", "int", "object"). */
const char *tr_json_type_name(const json_t *v);

/* Parsers shared by actions, workflows and the CLI.  0 or -1. */
int tr_parse_size(const char *s, long long *bytes);  /* "10G", "512M", "4096" */
int tr_parse_duration(const char *s, long long *ms); /* "30s", "2m", "1h", "250ms" */

#endif
