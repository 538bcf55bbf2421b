/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the address parsers of core/util/cidr.c, which read
 * API arguments (zone ip-range add --cidr/--range/--gateway, network
 * create --cidr/--gateway/--dhcp): the bytes, cut at the first NUL, are
 * parsed as an address, a CIDR and a range.  A refusal must say why; what
 * parses must print back to a string that parses to the same value, and a
 * CIDR's block must contain its own first and last address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/util/cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256], err[256], out[TR_CIDR_STRLEN];
	size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	uint32_t ip, ip2, a, b;
	struct tr_cidr c, c2;
	err[0] = '\0';
	if (tr_ip4_parse(s, &ip, err, sizeof err) == 0) {
		tr_ip4_format(ip, out);
		if (tr_ip4_parse(out, &ip2, err, sizeof err) || ip2 != ip)
			abort();
	} else if (!err[0]) {
		abort();
	}
	err[0] = '\0';
	if (tr_cidr_parse(s, &c, err, sizeof err) == 0) {
		tr_cidr_format(&c, out);
		if (tr_cidr_parse(out, &c2, err, sizeof err) ||
		    c2.net != c.net || c2.prefix != c.prefix ||
		    !tr_cidr_contains(&c, c.net) ||
		    !tr_cidr_contains(&c, tr_cidr_last(&c)))
			abort();
	} else if (!err[0]) {
		abort();
	}
	err[0] = '\0';
	if (tr_ip4_range_parse(s, &a, &b, err, sizeof err) == 0) {
		if (a > b || !tr_ip4_ranges_overlap(a, b, a, a))
			abort();
	} else if (!err[0]) {
		abort();
	}
	return 0;
}
