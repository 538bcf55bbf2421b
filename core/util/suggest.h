/* SPDX-License-Identifier: Apache-2.0 */
/*
 * suggest.h - "did you mean": the known name nearest to a mistyped one,
 * by edit distance.  One helper for the workflow validator (unknown
 * actions), the config checker (unknown keys), workflow inputs and the
 * CLI (nouns, verbs, options, workflow names), so they all guess alike.
 *
 *	struct tr_suggest s;
 *	tr_suggest_init(&s, typed);
 *	for (each known name k) tr_suggest_add(&s, k);
 *	if (s.best) ... "did you mean '%s'?", s.best
 *
 * best points into the caller's candidates (nothing is copied).
 */
#ifndef TRELLIS_CORE_UTIL_SUGGEST_H
#define TRELLIS_CORE_UTIL_SUGGEST_H

#include <stddef.h>

struct tr_suggest {
	const char *name; /* what was typed */
	const char *best; /* the nearest candidate so far, or NULL */
	size_t distance;  /* its distance */
	size_t max;	  /* a candidate farther than this is no guess */
};

/* Levenshtein distance, a swap of two adjacent letters counting as one
 * edit; names longer than 63 bytes are far (99). */
size_t tr_edit_distance(const char *a, const char *b);
/* Starts a search for name: guesses within 2 edits (1 for a name shorter
 * than 6, so that "ab" does not suggest "cd"). */
void tr_suggest_init(struct tr_suggest *s, const char *name);
/* Considers one candidate (NULL and the name itself are ignored). */
void tr_suggest_add(struct tr_suggest *s, const char *candidate);
/* For a closed set of words (an enum: NULL-terminated): 1 when name is
 * one of them; else 0 with *best the nearest (or NULL) and list "a, b,
 * c" for the message. */
int tr_suggest_choice(const char *name, const char *const *words,
		      const char **best, char *list, size_t len);

#endif
