/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/name.h - the one rule for the names of objects that plugins and
 * the core make (volumes, pools, segments, ports, VMs...):
 * [A-Za-z0-9][A-Za-z0-9._-]{0,127}.  A static inline, so a plugin needs
 * nothing from the host to use it; a caller that needs a shorter name (a
 * Linux interface, a path component) checks that on top.
 */
#ifndef TRELLIS_NAME_H
#define TRELLIS_NAME_H

#include <string.h>

/* The longest name, without its NUL (since 1.1). */
#define TRELLIS_NAME_MAX 128

/* 1 when s is a name by the rule above, else 0 (NULL is not a name).
 * Since 1.1. */
static inline int trellis_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > TRELLIS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

#endif
