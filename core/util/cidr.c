/* SPDX-License-Identifier: Apache-2.0 */
/* cidr.c - IPv4 addresses, CIDR blocks and ranges (cidr.h). */
#include <stdio.h>
#include <string.h>

#include "cidr.h"

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Four decimal octets, exactly: what inet_pton also takes, but written
 * out so that the rule (no leading zeros, nothing trailing) is ours. */
static int octets(const char *s, size_t n, uint32_t *ip)
{
	uint32_t v = 0;
	unsigned parts = 0;
	size_t i = 0;
	while (parts < 4) {
		unsigned o = 0, digits = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (digits == 1 && o == 0)
				return -1; /* leading zero */
			o = o * 10 + (unsigned)(s[i] - '0');
			if (++digits > 3 || o > 255)
				return -1;
			i++;
		}
		if (!digits)
			return -1;
		v = (v << 8) | o;
		parts++;
		if (parts < 4) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	if (i != n)
		return -1;
	*ip = v;
	return 0;
}

int tr_ip4_parse(const char *s, uint32_t *ip, char *err, size_t errlen)
{
	if (!s || !*s)
		return FAIL("an IPv4 address is missing");
	if (strchr(s, ':'))
		return FAIL("'%.64s': IPv6 is not supported yet (IPv4 only)",
			    s);
	if (octets(s, strlen(s), ip))
		return FAIL("'%.64s' is not an IPv4 address (a.b.c.d)", s);
	return 0;
}

uint32_t tr_cidr_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu
					     : ~((1u << (32 - prefix)) - 1);
}

uint32_t tr_cidr_last(const struct tr_cidr *c)
{
	return c->net | ~tr_cidr_mask(c->prefix);
}

int tr_cidr_contains(const struct tr_cidr *c, uint32_t ip)
{
	return (ip & tr_cidr_mask(c->prefix)) == c->net;
}

int tr_cidr_parse(const char *s, struct tr_cidr *c, char *err, size_t errlen)
{
	if (!s || !*s)
		return FAIL("a CIDR is missing (a.b.c.d/n)");
	if (strchr(s, ':'))
		return FAIL("'%.64s': IPv6 is not supported yet (IPv4 only)",
			    s);
	const char *slash = strchr(s, '/');
	uint32_t ip;
	if (!slash || octets(s, (size_t)(slash - s), &ip))
		return FAIL("'%.64s' is not a CIDR (a.b.c.d/n)", s);
	const char *p = slash + 1;
	unsigned plen = 0, digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 3) {
		if (digits == 1 && plen == 0)
			return FAIL("'%.64s': the prefix length has a leading "
				    "zero",
				    s);
		plen = plen * 10 + (unsigned)(*p++ - '0');
		digits++;
	}
	if (!digits || *p || plen > 32)
		return FAIL("'%.64s': the prefix length must be 0-32", s);
	uint32_t net = ip & tr_cidr_mask(plen);
	if (net != ip) {
		char a[TR_IP4_STRLEN];
		tr_ip4_format(net, a);
		return FAIL("'%.64s' has host bits set: the block is %s/%u", s,
			    a, plen);
	}
	c->net = net;
	c->prefix = plen;
	return 0;
}

int tr_ip4_range_parse(const char *s, uint32_t *first, uint32_t *last,
		       char *err, size_t errlen)
{
	if (!s || !*s)
		return FAIL("an address range is missing (A-B)");
	const char *dash = strchr(s, '-');
	if (!dash)
		return tr_ip4_parse(s, first, err, errlen) ? -1
							   : (*last = *first, 0);
	if (octets(s, (size_t)(dash - s), first) ||
	    octets(dash + 1, strlen(dash + 1), last))
		return FAIL("'%.64s' is not an address range (A-B)", s);
	if (*first > *last)
		return FAIL("'%.64s': the range ends before it starts", s);
	return 0;
}

void tr_ip4_format(uint32_t ip, char out[TR_IP4_STRLEN])
{
	snprintf(out, TR_IP4_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255);
}

void tr_cidr_format(const struct tr_cidr *c, char out[TR_CIDR_STRLEN])
{
	char a[TR_IP4_STRLEN];
	tr_ip4_format(c->net, a);
	snprintf(out, TR_CIDR_STRLEN, "%s/%u", a, c->prefix);
}
