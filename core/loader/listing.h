/* SPDX-License-Identifier: Apache-2.0 */
/* listing.h - plugin registry as a table or JSON (caller owns the json_t). */
#ifndef TRELLIS_CORE_LISTING_H
#define TRELLIS_CORE_LISTING_H

#include <jansson.h>
#include <stdio.h>

#include "loader.h"

json_t *tr_plugin_json(const struct trellis_plugin *p);
json_t *tr_registry_json(const tr_registry_t *reg);
void tr_registry_print(const tr_registry_t *reg, FILE *out, int as_json);

#endif
