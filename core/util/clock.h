/* SPDX-License-Identifier: Apache-2.0 */
/*
 * clock.h - the core's clocks, in milliseconds: one helper each, so that
 * timers, deadlines and timestamps agree on what "now" is.
 */
#ifndef TRELLIS_CORE_UTIL_CLOCK_H
#define TRELLIS_CORE_UTIL_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC: for timers, deadlines and intervals. */
uint64_t tr_now_ms(void);
/* CLOCK_MONOTONIC in microseconds: for latencies (the relay's). */
uint64_t tr_now_us(void);
/* CLOCK_MONOTONIC_COARSE: cheaper and a tick (a few ms) behind, for what
 * runs on every store commit. */
uint64_t tr_now_coarse_ms(void);
/* CLOCK_REALTIME, unix ms: for timestamps that leave the process
 * (journal, events). */
int64_t tr_wall_ms(void);

#endif
