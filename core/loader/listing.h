/* SPDX-License-Identifier: Apache-2.0 */
/* listing.h - plugin registry as a table or JSON (caller owns the json_t). */
#ifndef TRELLIS_CORE_LISTING_H
#define TRELLIS_CORE_LISTING_H

#include <jansson.h>
#include <stdio.h>

#include "loader.h"

json_t *tr_plugin_json(const struct trellis_plugin *p);
json_t *tr_registry_json(const tr_registry_t *reg);
/* A plugin in full, for `trellis plugin show`: tr_plugin_json() plus its
 * config_schema and options_schema (null: the plugin checks its own, as
 * every 1.0 plugin does) and the config it was given, secrets hidden. */
json_t *tr_plugin_show_json(const struct trellis_plugin *p);
/* The record of the plugin called name, loaded or refused; NULL if none. */
const struct trellis_plugin *tr_registry_named(const tr_registry_t *reg,
					       const char *name);
void tr_registry_print(const tr_registry_t *reg, FILE *out, int as_json);

#endif
