/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.h - finds, checks and initialises plugins; keeps the registry.
 *
 * tr_registry_load_dir() loads every *.so in a directory with
 * dlopen(RTLD_NOW | RTLD_LOCAL), applies the acceptance rules of the ABI
 * (plugin.h) and runs init().  A plugin that fails any rule is kept in the
 * registry as REFUSED with a one-line reason naming the file, and the others
 * go on loading.  Plugins are never unloaded: tr_registry_free() runs fini()
 * and frees the records but leaves the objects mapped.
 *
 * The registry owns its plugin records; lookups return borrowed pointers
 * valid until tr_registry_free().
 */
#ifndef TRELLIS_CORE_LOADER_H
#define TRELLIS_CORE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/plugin.h>

#include "../host/host.h"

typedef struct tr_registry tr_registry_t;

tr_registry_t *tr_registry_new(void);
void tr_registry_free(tr_registry_t *reg);

/* The host ABI the registry checks against; the compiled-in one by default.
 * Tests use this to act as a newer host. */
void tr_registry_set_abi(tr_registry_t *reg, uint16_t major, uint16_t minor,
			 const char *build_tag);

/* Plugin config sections: a map of plugin name -> node (borrowed, must
 * outlive the registry).  May be NULL. */
void tr_registry_set_config(tr_registry_t *reg, const trellis_node_t *plugins);

/* Loads every *.so in dir, in name order.  Returns the number loaded, or a
 * negative error when dir cannot be read (reason in err). */
int tr_registry_load_dir(tr_registry_t *reg, const char *dir, char *err,
			 size_t errlen);
/* Loads one file.  Returns the record (loaded or refused), NULL on OOM. */
struct trellis_plugin *tr_registry_load_file(tr_registry_t *reg,
					     const char *path);

size_t tr_registry_count(const tr_registry_t *reg);
struct trellis_plugin *tr_registry_at(const tr_registry_t *reg, size_t i);
/* A loaded plugin by name (and kind, 0 for any); NULL if none. */
struct trellis_plugin *tr_registry_find(const tr_registry_t *reg,
					const char *name, uint32_t kind);

/* The ops table of a loaded plugin, and whether it has a given op:
 * offset is offsetof(struct trellis_<kind>_ops, op). */
const void *tr_plugin_ops(const struct trellis_plugin *p);
int tr_plugin_has_op(const struct trellis_plugin *p, size_t offset);
#define TR_PLUGIN_HAS_OP(p, type, op)                                          \
	tr_plugin_has_op((p), offsetof(type, op))

/* Capability names for display ("vnc,hotplug-disk"); writes into buf. */
const char *tr_plugin_caps_str(const struct trellis_plugin *p, char *buf,
			       size_t len);

/* Kind table. */
struct tr_kind_op {
	const char *name;
	size_t offset;
};
struct tr_kind_info {
	uint32_t kind;
	const char *name;
	size_t ops_size_1_0;
	const struct tr_kind_op *required;
	size_t n_required;
	const struct tr_kind_op *all; /* every op, in table order */
	size_t n_all;
};
const struct tr_kind_info *tr_kind_info(uint32_t kind);

#endif
