/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console_int.h - shared by ops_console.c and console_scan.c (the console
 * proxies' ops); not for other callers.
 */
#ifndef TRELLIS_CORE_API_CONSOLE_INT_H
#define TRELLIS_CORE_API_CONSOLE_INT_H

#include <stddef.h>

#include "../runtime/daemon.h"
#include "api.h"

/* console.token_ttl in seconds, within 1..TR_CONSOLE_TTL_MAX. */
long tr_console_ttl_max(const struct tr_daemon *d);
/* The least loaded active instance that reported lately (not except):
 * 1 with its name and URL, or 0 when there is none. */
int tr_console_pick_proxy(struct tr_daemon *d, const char *except,
			  char *name, size_t nlen, char *url, size_t ulen);
/* consoleproxy.scan (console_scan.c). */
void tr_api_register_console_scan(struct tr_api *api);

#endif
