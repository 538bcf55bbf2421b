/* SPDX-License-Identifier: Apache-2.0 */
/* request.c - placement requests from JSON (request.h). */
#include "request.h"

#include <string.h>

#include "../util/json.h"

int tr_place_args_from_json(json_t *args, struct tr_place_args *out,
			    trellis_call_t *call)
{
	struct tr_place_req *q = &out->q;
	memset(out, 0, sizeof *out);
	q->vcpus = 1;
	q->zone = tr_json_str_opt(args, "zone");
	q->pod = tr_json_str_opt(args, "pod");
	q->cluster = tr_json_str_opt(args, "cluster");
	q->host = tr_json_str_opt(args, "host");
	q->tenant = tr_json_str_opt(args, "tenant");
	q->template_ = tr_json_str_opt(args, "template");
	q->affinity_group = tr_json_str_opt(args, "affinity_group");
	q->anti_affinity_group = tr_json_str_opt(args, "anti_affinity_group");
	json_t *v;
	if ((v = json_object_get(args, "vcpus")))
		q->vcpus = (uint32_t)json_integer_value(v);
	if ((v = json_object_get(args, "memory_mb")))
		q->memory_mib = (uint64_t)json_integer_value(v);
	else if ((v = json_object_get(args, "memory")))
		q->memory_mib =
		    ((uint64_t)json_integer_value(v) + (1u << 20) - 1) >> 20;
	if ((v = json_object_get(args, "disk_gb")))
		q->disk_gib = (uint64_t)json_integer_value(v);
	else if ((v = json_object_get(args, "disk")))
		q->disk_gib =
		    ((uint64_t)json_integer_value(v) + (1u << 30) - 1) >> 30;
	if (json_integer_value(json_object_get(args, "vcpus")) < 0 ||
	    json_integer_value(json_object_get(args, "memory_mb")) < 0 ||
	    json_integer_value(json_object_get(args, "disk_gb")) < 0)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "vcpus, memory and disk cannot be negative");
	size_t i;
	json_array_foreach(json_object_get(args, "tags"), i, v)
	{
		if (!json_is_string(v) || q->n_tags >= TR_PLACE_MAX_TAGS)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "field 'tags': a list of at most %d "
					   "strings",
					   TR_PLACE_MAX_TAGS);
		out->tags[q->n_tags++] = json_string_value(v);
	}
	q->tags = out->tags;
	return 0;
}
