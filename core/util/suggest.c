/* SPDX-License-Identifier: Apache-2.0 */
/* suggest.c - the nearest known name to a mistyped one (suggest.h). */
#include <stdio.h>
#include <string.h>

#include "suggest.h"

/* Levenshtein distance with adjacent transpositions (optimal string
 * alignment). */
size_t tr_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return 99;
	size_t d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < c)
				c = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < c)
				c = d[i][j - 1] + 1;
			/* Two letters swapped is one typo ("qouta"). */
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
				c = d[i - 2][j - 2] + 1;
			d[i][j] = c;
		}
	return d[la][lb];
}

void tr_suggest_init(struct tr_suggest *s, const char *name)
{
	size_t len = name ? strlen(name) : 0;
	s->name = name ? name : "";
	s->best = NULL;
	s->max = len < 6 ? 1 : 2;
	s->distance = s->max + 1;
}

void tr_suggest_add(struct tr_suggest *s, const char *candidate)
{
	if (!candidate || !*s->name || strcmp(candidate, s->name) == 0)
		return;
	size_t d = tr_edit_distance(s->name, candidate);
	if (d < s->distance) {
		s->distance = d;
		s->best = candidate;
	}
}

int tr_suggest_choice(const char *name, const char *const *words,
		      const char **best, char *list, size_t len)
{
	struct tr_suggest sg;
	size_t off = 0;
	tr_suggest_init(&sg, name);
	if (len)
		list[0] = '\0';
	for (const char *const *w = words; *w; w++) {
		if (name && strcmp(*w, name) == 0)
			return 1;
		tr_suggest_add(&sg, *w);
		int n = off < len ? snprintf(list + off, len - off, "%s%s",
					     off ? ", " : "", *w)
				  : 0;
		if (n > 0 && (size_t)n < len - off)
			off += (size_t)n;
	}
	*best = sg.best;
	return 0;
}
