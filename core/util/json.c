/* SPDX-License-Identifier: Apache-2.0 */
/* json.c - small readers of jansson objects (json.h). */
#include "json.h"

const char *tr_json_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *tr_json_str_opt(const json_t *o, const char *key)
{
	const char *s = tr_json_str(o, key);
	return s && *s ? s : NULL;
}
