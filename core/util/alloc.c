/* SPDX-License-Identifier: Apache-2.0 */
/* alloc.c - the allocator that aborts on failure (alloc.h). */
#include "alloc.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong fail_at; /* tests: countdown to a failure, 0: off */

void tr_alloc_fail_at(unsigned long nth) { atomic_store(&fail_at, nth); }

/* 1 when this allocation is the one a test asked to fail. */
static int injected(void)
{
	unsigned long n = atomic_load(&fail_at);
	while (n) {
		if (atomic_compare_exchange_weak(&fail_at, &n, n - 1))
			return n == 1;
	}
	return 0;
}

_Noreturn void tr_oom(size_t n, const char *file, int line)
{
	char msg[256];
	int len = snprintf(msg, sizeof msg,
			   "trellis: out of memory (%zu bytes at %s:%d)\n", n,
			   file, line);
	/* write(), not stdio: stdio may want memory itself. */
	if (len > 0) {
		ssize_t w = write(2, msg, (size_t)len < sizeof msg
					      ? (size_t)len
					      : sizeof msg - 1);
		(void)w;
	}
	abort();
}

void *tr_xmalloc_at(size_t n, const char *file, int line)
{
	void *p = injected() ? NULL : malloc(n ? n : 1);
	if (!p)
		tr_oom(n, file, line);
	return p;
}

void *tr_xcalloc_at(size_t k, size_t n, const char *file, int line)
{
	void *p = injected() ? NULL : calloc(k ? k : 1, n ? n : 1);
	if (!p)
		tr_oom(k * n, file, line);
	return p;
}

void *tr_xrealloc_at(void *p, size_t n, const char *file, int line)
{
	void *q = injected() ? NULL : realloc(p, n ? n : 1);
	if (!q)
		tr_oom(n, file, line);
	return q;
}

char *tr_xstrdup_at(const char *s, const char *file, int line)
{
	size_t n = strlen(s) + 1;
	char *p = tr_xmalloc_at(n, file, line);
	memcpy(p, s, n);
	return p;
}

char *tr_xstrndup_at(const char *s, size_t n, const char *file, int line)
{
	size_t len = strnlen(s, n);
	char *p = tr_xmalloc_at(len + 1, file, line);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void *json_alloc(size_t n) { return tr_xmalloc_at(n, "jansson", 0); }

void tr_alloc_init(void)
{
	json_set_alloc_funcs(json_alloc, free);
}
