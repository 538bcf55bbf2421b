/* SPDX-License-Identifier: Apache-2.0 */
/*
 * service.h - the placement engine of a running trellisd: built from the
 * store's inventory, the policy files and the claims, and kept in step with
 * the store.
 *
 * tr_placement_engine() returns the daemon's engine, building it on first
 * use and rebuilding it when the inventory changed (new zones, hosts,
 * discovered VMs, zone policies): the store connection's change counter
 * says whether anything was written, and a cheap fingerprint of the
 * inventory tables says whether it was the inventory.  Main thread only
 * (it reads the store); the engine itself is thread-safe.
 *
 * Policies come from the first directory that exists of:
 * $TRELLIS_POLICY_DIR, PLUGIN_DIR/../../share/trellis/policies (installed),
 * PLUGIN_DIR/../../policies (a build tree), for each plugin directory the
 * loader uses.  The default policy is the one named "default", or the one
 * placement_setting says (trellis policy set NAME).
 *
 * The service's state is the daemon's (d->placement): it owns its engine,
 * and tr_placement_shutdown() frees both.
 */
#ifndef TRELLIS_CORE_PLACEMENT_SERVICE_H
#define TRELLIS_CORE_PLACEMENT_SERVICE_H

#include <jansson.h>

#include "place.h"

struct tr_daemon;

/* The engine, current with the store; NULL with the error in call. */
struct tr_placer *tr_placement_engine(struct tr_daemon *d,
				      trellis_call_t *call);
/* Where the policies were loaded from ("" before the first build). */
const char *tr_placement_policy_dir(const struct tr_daemon *d);
/* Why policy files failed to load ("FILE:LINE:COL: ..." lines), "" when
 * all loaded.  Policy files are re-read within two seconds of an edit;
 * while one is broken the engine keeps the policies it had. */
const char *tr_placement_policy_errors(const struct tr_daemon *d);
/* Selects policy for zone (NULL: sets the default policy) and records it
 * in the store.  NOTFOUND for an unknown zone or policy. */
int tr_placement_set_policy(struct tr_daemon *d, const char *zone,
			    const char *policy, trellis_call_t *call);
/* A host's placement attributes (placement_host): tags (comma-separated;
 * NULL: keep), VM limit and disk in GiB (negative: keep).  *out (may be
 * NULL) gets {host, tags:[...], vm_limit, disk_gb} after the change.
 * NOTFOUND for an unknown host, INVALID_ARG for a bad tag. */
int tr_placement_host_set(struct tr_daemon *d, const char *host,
			  const char *tags, int64_t vm_limit, int64_t disk_gib,
			  json_t **out, trellis_call_t *call);

/* Frees the engine and the service's state (daemon shutdown, tests). */
void tr_placement_shutdown(struct tr_daemon *d);

#endif
