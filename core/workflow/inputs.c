/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inputs.c - workflow inputs: their declarations in a file (load_int.h)
 * and the values a run binds to them (wf.h: tr_wf_inputs_bind).  Both go
 * through one conversion, so a default and a command-line value of the
 * same input are read the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/suggest.h"
#include "load_int.h"

/* ---- inputs ---- */

/* The unit an int input counts in, by its name's suffix (memory_mb,
 * disk_gb, memory_kib): bytes per unit, or 0 when it names none. */
static long long name_unit(const char *name)
{
	static const struct {
		const char *suffix;
		long long bytes;
	} units[] = {{"_kib", 1LL << 10}, {"_kb", 1LL << 10},
		     {"_mib", 1LL << 20}, {"_mb", 1LL << 20},
		     {"_gib", 1LL << 30}, {"_gb", 1LL << 30}};
	size_t n = name ? strlen(name) : 0;
	for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
		size_t l = strlen(units[i].suffix);
		if (n > l && strcmp(name + n - l, units[i].suffix) == 0)
			return units[i].bytes;
	}
	return 0;
}

/* Converts a value given for an input (a node's JSON or a command-line
 * string) to the input's type.  An int input whose name says its unit
 * (memory_mb, disk_gb) takes a size too: memory_mb=2G is 2048.  NULL
 * with err set (which echoes the value). */
static json_t *input_value(const char *name, enum tr_type t, json_t *v,
			   char *err, size_t errlen)
{
	const char *s = json_string_value(v);
	long long x;
	switch (t) {
	case TR_T_STRING:
	case TR_T_SECRET:
		if (s)
			return json_incref(v);
		if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
			char *d = json_dumps(v, JSON_ENCODE_ANY);
			json_t *r = json_string(d);
			free(d);
			return r;
		}
		break;
	case TR_T_INT:
		if (json_is_integer(v))
			return json_incref(v);
		if (s && *s) {
			char *end;
			errno = 0;
			x = strtoll(s, &end, 0);
			if (!errno && !*end)
				return json_integer(x);
			long long unit = name_unit(name), bytes;
			if (unit && tr_parse_size(s, &bytes) == 0) {
				if (bytes % unit == 0)
					return json_integer(bytes / unit);
				snprintf(err, errlen,
					 "'%s' is not a whole number of %s", s,
					 unit == 1LL << 10   ? "KiB"
					 : unit == 1LL << 20 ? "MiB"
							     : "GiB");
				return NULL;
			}
		}
		break;
	case TR_T_BOOL:
		if (json_is_boolean(v))
			return json_incref(v);
		if (s && (!strcmp(s, "true") || !strcmp(s, "yes") ||
			  !strcmp(s, "on")))
			return json_true();
		if (s && (!strcmp(s, "false") || !strcmp(s, "no") ||
			  !strcmp(s, "off")))
			return json_false();
		break;
	case TR_T_SIZE:
	case TR_T_DURATION: {
		struct tr_field f = {"", t, 0, NULL};
		json_t *norm;
		if (tr_field_check(&f, v, &norm, err, errlen) < 0)
			return NULL;
		return norm ? norm : json_incref(v);
	}
	default:
		return json_incref(v);
	}
	if (s)
		snprintf(err, errlen, "expected %s%s, got '%.80s'",
			 tr_type_str(t),
			 t == TR_T_INT && name_unit(name) ? " or a size (512M, 2G)"
			 : t == TR_T_BOOL		   ? " (true or false)"
							   : "",
			 s);
	else
		snprintf(err, errlen, "expected %s, got %s", tr_type_str(t),
			 tr_json_type_name(v));
	return NULL;
}

static const char *const INPUT_KEYS[] = {"type", "default", "required",
					 "description", NULL};
static const enum tr_type INPUT_TYPES[] = {TR_T_STRING, TR_T_INT,
					   TR_T_BOOL,	TR_T_SIZE,
					   TR_T_DURATION, TR_T_SECRET};

static int input_type(struct ld *l, const trellis_node_t *n, enum tr_type *t)
{
	const char *s = tr_node_str(n);
	int v = tr_type_parse(s);
	for (size_t i = 0; v >= 0 && i < sizeof INPUT_TYPES / sizeof *INPUT_TYPES;
	     i++)
		if ((int)INPUT_TYPES[i] == v) {
			*t = (enum tr_type)v;
			return 0;
		}
	tr_ld_err(l, n, "unknown input type '%s' (expected string, int, bool, "
		     "size, duration or secret)",
	       s ? s : tr_ld_kind(n));
	return -1;
}

void tr_ld_inputs(struct ld *l, const trellis_node_t *map)
{
	if (!map)
		return;
	if (tr_node_type(map) != TRELLIS_NODE_MAP) {
		if (!tr_node_is_null(map))
			tr_ld_err(l, map, "inputs: expected a map of NAME: {type: "
				       "...}, got %s",
			       tr_ld_kind(map));
		return;
	}
	struct tr_wf *wf = l->wf;
	wf->inputs = tr_xcalloc(tr_node_len(map) + 1, sizeof *wf->inputs);
	if (!wf->inputs)
		return;
	for (size_t i = 0; i < tr_node_len(map); i++) {
		const trellis_node_t *key = tr_node_key_node_at(map, i);
		const trellis_node_t *n = tr_node_at(map, i);
		struct tr_wf_input *in = &wf->inputs[wf->n_inputs++];
		in->name = tr_xstrdup(key->str);
		in->type = TR_T_STRING;
		in->required = 1;
		if (!tr_ld_name_ok(key->str, NULL))
			tr_ld_err(l, key, "input name '%s' may only hold letters, "
				       "digits, '_' and '-'",
			       key->str);
		if (tr_node_type(n) == TRELLIS_NODE_SCALAR &&
		    !tr_node_is_null(n)) {
			input_type(l, n, &in->type); /* "name: string" */
			continue;
		}
		if (tr_node_is_null(n))
			continue;
		if (tr_node_type(n) != TRELLIS_NODE_MAP) {
			tr_ld_err(l, n, "input '%s': expected a map or a type name, "
				     "got %s",
			       in->name, tr_ld_kind(n));
			continue;
		}
		char what[160];
		snprintf(what, sizeof what, "input '%.100s'", in->name);
		tr_ld_keys_check(l, n, what, INPUT_KEYS);
		const trellis_node_t *t = tr_node_get(n, "type");
		if (t)
			input_type(l, t, &in->type);
		const trellis_node_t *d = tr_node_get(n, "default");
		if (d) {
			in->required = 0;
			if (in->type == TR_T_SECRET) {
				tr_ld_err(l, d, "input '%s': a secret cannot have "
					     "a default (it would sit in the "
					     "file)",
				       in->name);
			} else {
				json_t *raw = tr_ld_json(d);
				char why[200];
				in->def = input_value(in->name, in->type, raw, why,
						      sizeof why);
				json_decref(raw);
				if (!in->def)
					tr_ld_err(l, d, "input '%s': default: %s",
					       in->name, why);
			}
		}
		const trellis_node_t *r = tr_node_get(n, "required");
		if (r)
			tr_ld_get_bool(l, r, "required", &in->required);
		const trellis_node_t *desc = tr_node_get(n, "description");
		if (desc)
			in->description = tr_ld_get_str(l, desc, "description");
	}
}

int tr_wf_inputs_bind(const struct tr_wf *wf, json_t *given, json_t **out,
		      char *err, size_t errlen)
{
	*out = NULL;
	if (given && !json_is_object(given)) {
		snprintf(err, errlen, "inputs must be an object");
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach(given, k, v)
	{
		if (!tr_wf_input_find(wf, k)) {
			struct tr_suggest sg;
			tr_suggest_init(&sg, k);
			for (size_t i = 0; i < wf->n_inputs; i++)
				tr_suggest_add(&sg, wf->inputs[i].name);
			if (sg.best)
				snprintf(err, errlen,
					 "workflow %s has no input '%s' (did "
					 "you mean '%s'?)",
					 wf->name, k, sg.best);
			else
				snprintf(err, errlen,
					 "workflow %s has no input '%s' (see "
					 "trellis workflow show %s)",
					 wf->name, k, wf->name);
			return -1;
		}
	}
	json_t *o = json_object();
	for (size_t i = 0; o && i < wf->n_inputs; i++) {
		const struct tr_wf_input *in = &wf->inputs[i];
		json_t *g = json_object_get(given, in->name);
		if (!g || json_is_null(g)) {
			if (in->def) {
				json_object_set(o, in->name, in->def);
				continue;
			}
			if (in->required) {
				snprintf(err, errlen,
					 "missing required input '%s' (%s)",
					 in->name, tr_type_str(in->type));
				json_decref(o);
				return -1;
			}
			continue;
		}
		char why[200];
		json_t *nv = input_value(in->name, in->type, g, why, sizeof why);
		if (!nv) {
			snprintf(err, errlen, "input '%s': %s", in->name, why);
			json_decref(o);
			return -1;
		}
		json_object_set_new(o, in->name, nv);
	}
	*out = o;
	return o ? 0 : -1;
}


const struct tr_wf_input *tr_wf_input_find(const struct tr_wf *wf,
					   const char *name)
{
	for (size_t i = 0; i < wf->n_inputs; i++)
		if (strcmp(wf->inputs[i].name, name) == 0)
			return &wf->inputs[i];
	return NULL;
}
