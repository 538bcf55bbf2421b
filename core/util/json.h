/* SPDX-License-Identifier: Apache-2.0 */
/*
 * json.h - small readers of jansson objects that every floor shares.
 */
#ifndef TRELLIS_CORE_UTIL_JSON_H
#define TRELLIS_CORE_UTIL_JSON_H

#include <jansson.h>

/* The string at key in object o; NULL when o is not an object, or key is
 * missing or not a string.  Borrowed from o. */
const char *tr_json_str(const json_t *o, const char *key);
/* tr_json_str(), with "" counted as absent: a workflow passes an optional
 * input through as "${inputs.kernel}" with default "". */
const char *tr_json_str_opt(const json_t *o, const char *key);

#endif
