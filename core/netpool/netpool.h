/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netpool.h - segment-id pools: the VXLAN VNIs and 802.1Q VLAN ids that
 * tenant networks are numbered from, and which segment holds which id.
 *
 * A pool is a named range of one mode ("vxlan" 1-16777215, "vlan"
 * 1-4094); ranges of the same mode never overlap, so an id is never given
 * to two segments.  Allocation takes the lowest free id and is keyed by
 * the segment's name: asking again for the same segment returns the id it
 * already holds (a replayed step allocates nothing new), and releasing
 * twice is fine.  An exhausted pool is TRELLIS_E_NOSPACE with
 * "no free segment id in pool NAME (range A-B, all N in use)" and changes
 * nothing.
 *
 * The tables (migration "netpool-0001" in core/store/schema.c) belong to
 * this module.  Every function takes the caller's store handle and runs on
 * the thread that owns it (the daemon's main thread for writes); errors go
 * into call.  JSON shapes: a pool is {"name","mode","first","last",
 * "size","used"}.
 */
#ifndef TRELLIS_CORE_NETPOOL_H
#define TRELLIS_CORE_NETPOOL_H

#include <jansson.h>
#include <stdint.h>

#include "../host/host.h"
#include "../store/store.h"

int tr_netpool_create(struct tr_store *s, const char *name, const char *mode,
		      int64_t first, int64_t last, json_t **out,
		      trellis_call_t *call);
/* NOTFOUND when there is no such pool. */
int tr_netpool_get(struct tr_store *s, const char *name, json_t **out,
		   trellis_call_t *call);
/* {"items":[pool...]} in name order. */
int tr_netpool_list(struct tr_store *s, json_t **out, trellis_call_t *call);
/* CONFLICT while ids are allocated from it (naming some holders). */
int tr_netpool_delete(struct tr_store *s, const char *name,
		      trellis_call_t *call);

/* The id segment holds in pool, allocating the lowest free one if it has
 * none; *mode (may be NULL) gets the pool's mode ("vxlan"/"vlan"). */
int tr_netpool_alloc(struct tr_store *s, const char *pool, const char *segment,
		     uint32_t *id, const char **mode, trellis_call_t *call);
/* Gives segment's id back (nothing held: success). */
int tr_netpool_release(struct tr_store *s, const char *pool,
		       const char *segment, trellis_call_t *call);

#endif
