/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the sshd log reader of maintenance mode
 * (core/maint/authlog.c): the bytes are what an appliance's guest wrote
 * to its auth log.  A scan consumes only whole lines (or an endless one),
 * and every event's fields are terminated strings within their arrays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/maint/authlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *arg, const struct tr_authlog_event *ev)
{
	(void)arg;
	if (ev->kind <= TR_AUTHLOG_NONE || ev->kind > TR_AUTHLOG_DROPPED)
		abort();
	if (strnlen(ev->user, sizeof ev->user) == sizeof ev->user ||
	    strnlen(ev->from, sizeof ev->from) == sizeof ev->from)
		abort();
	if (!tr_authlog_kind_str(ev->kind))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t used = tr_authlog_scan((const char *)data, size, check, NULL);
	if (used > size)
		abort();
	/* What is left is one unfinished line of at most 4096 bytes. */
	if (used < size && (memchr(data + used, '\n', size - used) ||
			    size - used > 4096))
		abort();
	return 0;
}
