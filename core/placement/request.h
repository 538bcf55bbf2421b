/* SPDX-License-Identifier: Apache-2.0 */
/*
 * request.h - a placement request from JSON: the arguments policy.place
 * (core/actions/policy.c) and the policy.try API op share, their schema and
 * their conversion into a struct tr_place_req.
 */
#ifndef TRELLIS_CORE_PLACE_REQUEST_H
#define TRELLIS_CORE_PLACE_REQUEST_H

#include <jansson.h>

#include "../util/schema.h"
#include "place.h"

/* The fields of a request, for an input schema (tr_field array). */
#define TR_PLACE_FIELDS                                                        \
	{"vcpus", TR_T_INT, 0, "virtual CPUs (default 1)"},                    \
	    {"memory_mb", TR_T_INT, 0, "memory in MiB"},                       \
	    {"memory", TR_T_SIZE, 0, "memory (\"2G\"), instead of memory_mb"}, \
	    {"disk_gb", TR_T_INT, 0, "disk in GiB"},                           \
	    {"disk", TR_T_SIZE, 0, "disk (\"20G\"), instead of disk_gb"},      \
	    {"zone", TR_T_STRING, 0, "only this zone"},                        \
	    {"pod", TR_T_STRING, 0, "only this pod (POD or ZONE/POD)"},        \
	    {"cluster", TR_T_STRING, 0,                                        \
	     "only this cluster (CLUSTER, POD/CLUSTER or "                     \
	     "ZONE/POD/CLUSTER)"},                                             \
	    {"host", TR_T_STRING, 0, "only this host"},                        \
	    {"tenant", TR_T_STRING, 0,                                         \
	     "the owner: private zones and exclusivity apply"},                \
	    {"template", TR_T_STRING, 0,                                       \
	     "the VM template (its BU's per-template quota applies)"},         \
	    {"affinity_group", TR_T_STRING, 0,                                 \
	     "place with the other VMs of this group"},                        \
	    {"anti_affinity_group", TR_T_STRING, 0,                            \
	     "place away from the other VMs of this group"},                   \
	{                                                                      \
		"tags", TR_T_ARRAY, 0, "host tags required (strings)"          \
	}

/* A request and the storage its tags point into; do not copy it. */
struct tr_place_args {
	struct tr_place_req q;
	const char *tags[TR_PLACE_MAX_TAGS];
};

/* Fills out from args checked against TR_PLACE_FIELDS (SIZE fields are
 * integers by then).  The strings are borrowed from args.  0, or
 * INVALID_ARG in call. */
int tr_place_args_from_json(json_t *args, struct tr_place_args *out,
			    trellis_call_t *call);

#endif
