/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc.h - the core's allocator and its out-of-memory policy: an
 * allocation that fails aborts the process with a message naming the
 * size and the caller (as GLib-era libvirt does), so no caller checks for
 * NULL and no path carries on half-done.  A step that cannot be queued
 * for want of memory would otherwise hang its instance until a restart;
 * after an abort the journal resumes it at once (docs/internals.md).
 *
 * tr_alloc_init() sends jansson's allocations through the same policy.
 * Plugins allocate through the host services' alloc, which follows it
 * too.  Thread-safe.
 */
#ifndef TRELLIS_CORE_UTIL_ALLOC_H
#define TRELLIS_CORE_UTIL_ALLOC_H

#include <stddef.h>

/* Never NULL: they abort on failure (size 0 gets a unique pointer). */
#define tr_xmalloc(n) tr_xmalloc_at((n), __FILE__, __LINE__)
#define tr_xcalloc(k, n) tr_xcalloc_at((k), (n), __FILE__, __LINE__)
#define tr_xrealloc(p, n) tr_xrealloc_at((p), (n), __FILE__, __LINE__)
#define tr_xstrdup(s) tr_xstrdup_at((s), __FILE__, __LINE__)
#define tr_xstrndup(s, n) tr_xstrndup_at((s), (n), __FILE__, __LINE__)

void *tr_xmalloc_at(size_t n, const char *file, int line);
void *tr_xcalloc_at(size_t k, size_t n, const char *file, int line);
void *tr_xrealloc_at(void *p, size_t n, const char *file, int line);
char *tr_xstrdup_at(const char *s, const char *file, int line);
char *tr_xstrndup_at(const char *s, size_t n, const char *file, int line);

/* Prints "trellis: out of memory (N bytes at FILE:LINE)" on stderr and
 * aborts. */
_Noreturn void tr_oom(size_t n, const char *file, int line);

/* Makes jansson allocate through tr_xmalloc (once; any thread). */
void tr_alloc_init(void);

/* Tests: the nth allocation from now (1: the next) fails as if the
 * system had no memory; 0 turns it off. */
void tr_alloc_fail_at(unsigned long nth);

#endif
