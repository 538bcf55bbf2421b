/* SPDX-License-Identifier: Apache-2.0 */
/*
 * confschema.h - the config schemas plugins declare (plugin.h, since ABI
 * 1.1): a plugin's config section and each object's options are checked
 * against them before the plugin sees them, with FILE:LINE:COL messages,
 * and get the declared defaults; `trellis plugin show` describes them.
 *
 * Nothing here keeps state; trees it returns belong to the caller
 * (tr_node_free).
 */
#ifndef TRELLIS_CORE_LOADER_CONFSCHEMA_H
#define TRELLIS_CORE_LOADER_CONFSCHEMA_H

#include <jansson.h>
#include <stddef.h>

#include <trellis/plugin.h>

#include "../host/host.h"

/* The plugin's schemas: NULL when it declares none (a 1.0 descriptor, or
 * a NULL slot). */
const trellis_config_schema_t *
tr_plugin_config_schema(const struct trellis_plugin *p);
const trellis_config_schema_t *
tr_plugin_options_schema(const struct trellis_plugin *p);

/* Whether a schema itself is sound (sizes, types, unique names, defaults
 * that pass their own type): 0, or -1 with the reason in err. */
int tr_schema_valid(const trellis_config_schema_t *s, char *err,
		    size_t errlen);

/*
 * Checks node (a map, or NULL: absent) against s.  what names the section
 * in messages ("plugins.mystore", "pool 'p1' options"); parent is where an
 * absent section would be (for "missing required key").  Each problem is
 * one "WHERE: what.key: message" in err, separated by "; ".  Returns how
 * many problems there were (0: fine).
 */
int tr_schema_check(const trellis_config_schema_t *s,
		    const trellis_node_t *node, const char *what,
		    const trellis_node_t *parent, char *err, size_t errlen);

/* A copy of node (NULL: an empty map named name) without the top-level
 * keys in skip (NULL-terminated, may be NULL), with s's defaults for the
 * keys it lacks (s may be NULL: just the copy).  NULL on OOM. */
trellis_node_t *tr_schema_apply(const trellis_config_schema_t *s,
				const trellis_node_t *node,
				const char *const *skip, const char *name);

/*
 * The options an object's open op gets (pool_open's spec->options,
 * connect's options): given (may be NULL) checked against the plugin's
 * options schema when it declares one, as a new tree with the defaults
 * filled in; without a schema, a copy of given (NULL stays NULL).  what
 * names them in messages ("pool 'p1' options").  0, or INVALID_ARG with
 * every problem in call (or NOMEM); *out is the caller's to free.
 */
int tr_plugin_open_options(const struct trellis_plugin *p,
			   const trellis_node_t *given, const char *what,
			   trellis_call_t *call, trellis_node_t **out);

/* [{name, type, required, default, doc}] for plugin.show; NULL for none. */
json_t *tr_schema_json(const trellis_config_schema_t *s);
/* "string", "size" ... */
const char *tr_schema_type_name(uint32_t type);

#endif
