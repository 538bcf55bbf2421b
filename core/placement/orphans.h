/* SPDX-License-Identifier: Apache-2.0 */
/*
 * orphans.h - the periodic release of placement claims whose owner is
 * gone (orphans.c), so that capacity never stays booked for a VM or a
 * workflow that no longer exists.
 */
#ifndef TRELLIS_CORE_PLACEMENT_ORPHANS_H
#define TRELLIS_CORE_PLACEMENT_ORPHANS_H

#include <stdint.h>

struct tr_daemon;

/* Checks every period_ms (placement.orphan_check; 0: never) on d's main
 * loop; a claim orphaned at two checks in a row is released and logged. */
void tr_orphans_start(struct tr_daemon *d, uint64_t period_ms);
/* Cancels the timer and frees what the check remembers. */
void tr_orphans_stop(struct tr_daemon *d);

#endif
