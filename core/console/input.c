/* SPDX-License-Identifier: Apache-2.0 */
/*
 * input.c - the image-stripe page's key and pointer events (console.h,
 * cp_parse_events): text from the browser, read strictly.
 */
#include <stdlib.h>
#include <string.h>

#include "console.h"

/* A decimal integer of at most 9 digits at *p (a leading '-' allowed),
 * then spaces; -1 when there is none. */
static int num(const char **p, long *v)
{
	const char *s = *p;
	int neg = *s == '-';
	s += neg;
	long x = 0;
	int n = 0;
	while (*s >= '0' && *s <= '9' && n < 9) {
		x = x * 10 + (*s++ - '0');
		n++;
	}
	if (!n || (*s >= '0' && *s <= '9'))
		return -1;
	while (*s == ' ')
		s++;
	*v = neg ? -x : x;
	*p = s;
	return 0;
}

int cp_parse_events(const char *body, int w, int h, struct cp_event *out,
		    int max)
{
	int n = 0;
	const char *p = body;
	while (p && *p && n < max) {
		const char *eol = strchr(p, '\n');
		char k = *p;
		const char *q = p + 1;
		long a, b, c = 0;
		int ok = (k == 'k' || k == 'p') && *q == ' ';
		while (ok && *q == ' ')
			q++;
		ok = ok && num(&q, &a) == 0 && num(&q, &b) == 0;
		if (ok && k == 'p')
			ok = num(&q, &c) == 0 && a >= 0 && b >= 0 && a < w &&
			     b < h && c >= 0 && c < 256;
		if (ok && k == 'k')
			ok = (a == 0 || a == 1) && b > 0 && b <= 0x10ffffff;
		ok = ok && (*q == '\0' || *q == '\n' || *q == '\r');
		if (ok) {
			out[n].kind = k;
			out[n].a = (int)a;
			out[n].b = (int)b;
			out[n].c = (int)c;
			n++;
		}
		p = eol ? eol + 1 : NULL;
	}
	return n;
}
