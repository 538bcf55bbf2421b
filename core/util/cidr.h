/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cidr.h - IPv4 addresses, CIDR blocks and address ranges, parsed from
 * outside input (API arguments, the CLI) and printed back in one canonical
 * form.
 *
 * Addresses are host-order uint32_t.  A CIDR is strict: four decimal
 * octets (no leading zeros, no shorthand such as "10.1"), "/" and a prefix
 * length 0-32, with every host bit zero ("10.1.1.5/24" is refused and the
 * message names 10.1.1.0/24).  A range is "A-B" (A <= B) or a single
 * address.  Nothing here allocates; messages go into err.  IPv6 is not
 * handled yet: the message says so.
 */
#ifndef TRELLIS_CORE_UTIL_CIDR_H
#define TRELLIS_CORE_UTIL_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct tr_cidr {
	uint32_t net;    /* first address */
	unsigned prefix; /* 0-32 */
};

#define TR_IP4_STRLEN 16   /* "255.255.255.255" */
#define TR_CIDR_STRLEN 19  /* "255.255.255.255/32" */

/* 0 and *ip, or -1 with a message. */
int tr_ip4_parse(const char *s, uint32_t *ip, char *err, size_t errlen);
int tr_cidr_parse(const char *s, struct tr_cidr *c, char *err, size_t errlen);
/* "A-B" or "A"; -1 with a message. */
int tr_ip4_range_parse(const char *s, uint32_t *first, uint32_t *last,
		       char *err, size_t errlen);

void tr_ip4_format(uint32_t ip, char out[TR_IP4_STRLEN]);
void tr_cidr_format(const struct tr_cidr *c, char out[TR_CIDR_STRLEN]);

uint32_t tr_cidr_mask(unsigned prefix);
uint32_t tr_cidr_last(const struct tr_cidr *c);
int tr_cidr_contains(const struct tr_cidr *c, uint32_t ip);
/* Whether [a1,a2] and [b1,b2] share an address. */
static inline int tr_ip4_ranges_overlap(uint32_t a1, uint32_t a2, uint32_t b1,
					uint32_t b2)
{
	return a1 <= b2 && b1 <= a2;
}

#endif
