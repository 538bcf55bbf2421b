/* SPDX-License-Identifier: Apache-2.0 */
/*
 * intern.h - a string interner: each distinct string gets a small dense id
 * (1, 2, 3 ...; 0 means "none").  The placement engine resolves every name
 * in the inventory and in each request once, so that filters compare
 * integers and the index can use arrays indexed by id.
 *
 * The interner owns copies of its strings; they live until tr_intern_free.
 * Not thread-safe: the engine calls it under its own lock.
 */
#ifndef TRELLIS_CORE_INTERN_H
#define TRELLIS_CORE_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct tr_intern;

struct tr_intern *tr_intern_new(void);
void tr_intern_free(struct tr_intern *in);

/* The id of s, adding it when new; 0 when s is NULL or on OOM. */
uint32_t tr_intern_add(struct tr_intern *in, const char *s);
/* The id of s, or 0 when s is NULL or was never added. */
uint32_t tr_intern_find(const struct tr_intern *in, const char *s);
/* The string of an id, NULL for 0 or an unknown id. */
const char *tr_intern_str(const struct tr_intern *in, uint32_t id);
/* Ids in use are 1 .. tr_intern_count(in). */
uint32_t tr_intern_count(const struct tr_intern *in);

#endif
