/* SPDX-License-Identifier: Apache-2.0 */
/* registry.c - the action registry (action.h); the schema checks are
 * util/schema.c. */
#include "action.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/log.h"

/* Registration happens once at start-up, before any worker thread looks
 * things up, but the lock keeps a late registration (tests) safe too. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct tr_action **reg;
static size_t reg_n, reg_cap;

static int by_name(const void *a, const void *b)
{
	const struct tr_action *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

void tr_actions_add(const struct tr_action *actions, size_t n)
{
	pthread_mutex_lock(&reg_lock);
	if (reg_n + n > reg_cap) {
		size_t cap = reg_cap ? reg_cap : 32;
		while (cap < reg_n + n)
			cap *= 2;
		const struct tr_action **r = tr_xrealloc(reg, cap * sizeof *r);
		if (!r) {
			tr_err("actions: out of memory registering %zu actions",
			       n);
			abort();
		}
		reg = r;
		reg_cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < reg_n; j++) {
			if (strcmp(reg[j]->name, actions[i].name) == 0) {
				tr_err("actions: '%s' registered twice",
				       actions[i].name);
				abort();
			}
		}
		reg[reg_n++] = &actions[i];
	}
	qsort(reg, reg_n, sizeof *reg, by_name);
	pthread_mutex_unlock(&reg_lock);
}

const struct tr_action *tr_action_find(const char *name)
{
	if (!name)
		return NULL;
	const struct tr_action key = {.name = name}, *kp = &key;
	pthread_mutex_lock(&reg_lock);
	const struct tr_action **hit =
		reg_n ? bsearch(&kp, reg, reg_n, sizeof *reg, by_name) : NULL;
	pthread_mutex_unlock(&reg_lock);
	return hit ? *hit : NULL;
}

size_t tr_action_count(void)
{
	pthread_mutex_lock(&reg_lock);
	size_t n = reg_n;
	pthread_mutex_unlock(&reg_lock);
	return n;
}

const struct tr_action *tr_action_at(size_t i)
{
	pthread_mutex_lock(&reg_lock);
	const struct tr_action *a = i < reg_n ? reg[i] : NULL;
	pthread_mutex_unlock(&reg_lock);
	return a;
}

/* ---- types ---- */


int tr_action_check_args(const struct tr_action *a, json_t *args, char *err,
			 size_t errlen)
{
	return tr_fields_check(a->name, a->input, args, err, errlen);
}

static json_t *fields_json(const struct tr_field *fields)
{
	json_t *arr = json_array();
	for (const struct tr_field *f = fields; arr && f && f->name; f++) {
		json_t *o = json_pack("{s:s, s:s, s:b}", "name", f->name,
				      "type", tr_type_str(f->type),
				      "required", f->required);
		if (o && f->description)
			json_object_set_new(o, "description",
					    json_string(f->description));
		json_array_append_new(arr, o);
	}
	return arr;
}

json_t *tr_action_json(const struct tr_action *a)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:b, s:b}", "name",
			      a->name, "description",
			      a->description ? a->description : "", "input",
			      fields_json(a->input), "output",
			      fields_json(a->output), "mutates",
			      (a->flags & TR_ACTION_MUTATES) != 0,
			      "main_thread",
			      (a->flags & TR_ACTION_MAIN_THREAD) != 0);
	if (o && a->undo)
		json_object_set_new(o, "undo", json_string(a->undo));
	return o;
}
