/* SPDX-License-Identifier: Apache-2.0 */
/* clock.c - the core's clocks (clock.h). */
#include "clock.h"

#include <time.h>

static uint64_t ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t tr_now_ms(void) { return ms(CLOCK_MONOTONIC); }

uint64_t tr_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tr_now_coarse_ms(void) { return ms(CLOCK_MONOTONIC_COARSE); }

int64_t tr_wall_ms(void) { return (int64_t)ms(CLOCK_REALTIME); }
