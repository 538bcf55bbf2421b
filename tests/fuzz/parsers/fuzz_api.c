/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the API's request parsing: the bytes are one
 * request message.  It runs what the daemon runs before any handler: the
 * JSON parse, the envelope checks and the op's argument schema check
 * (tr_fields_check).  Handlers need a live daemon and are exercised by the
 * hostile-input integration test instead.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/actions/action.h"
#include "../../../core/api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tr_api *api;
	if (!api) {
		struct tr_api_limits lim = {0};
		tr_actions_init();
		api = tr_api_new(NULL, &lim);
		tr_api_register_all(api);
	}
	json_error_t jerr;
	json_t *msg = json_loadb((const char *)data, size,
				 JSON_REJECT_DUPLICATES, &jerr);
	if (!msg)
		return 0;
	json_t *op = json_object_get(msg, "op");
	json_t *args = json_object_get(msg, "args");
	if (json_is_string(op)) {
		const struct tr_api_op *o = tr_api_find(api, json_string_value(op));
		if (!o && tr_api_count(api))
			o = tr_api_at(api, size % tr_api_count(api));
		if (o && json_is_object(args)) {
			char err[512] = "";
			if (tr_fields_check(o->name, o->args, args, err,
					    sizeof err) != 0 &&
			    !err[0])
				abort(); /* a refusal must name the field */
		}
	}
	json_decref(msg);
	return 0;
}
