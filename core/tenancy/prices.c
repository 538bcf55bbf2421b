/* SPDX-License-Identifier: Apache-2.0 */
/* prices.c - the chargeback price table in YAML (tenancy.h). */
#include <stdio.h>
#include <string.h>

#include "../util/node.h"
#include "tenancy.h"

/* "0.02" -> 20000 micro-units; -1 when it is not a price. */
static long long micro(const char *s)
{
	long long whole = 0, frac = 0;
	int digits = 0, any = 0;
	if (!s || !*s)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++, any = 1) {
		whole = whole * 10 + (*s - '0');
		if (whole > 1000000000LL)
			return -1;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, any = 1) {
			if (++digits > 6)
				return -1;
			frac = frac * 10 + (*s - '0');
		}
	}
	if (*s || !any)
		return -1;
	while (digits++ < 6)
		frac *= 10;
	return whole * 1000000 + frac;
}

static int bad(char *err, size_t errlen, const trellis_node_t *n,
	       const char *what)
{
	snprintf(err, errlen, "%s: %s", tr_node_where(n), what);
	return -1;
}

static int price(const trellis_node_t *v, long long *out, char *err,
		 size_t errlen)
{
	long long m = tr_node_type(v) == TRELLIS_NODE_SCALAR
			  ? micro(tr_node_str(v))
			  : -1;
	if (m < 0)
		return bad(err, errlen, v,
			   "a price is a decimal >= 0 with at most 6 digits "
			   "after the point (0.02)");
	*out = m;
	return 0;
}

int tr_prices_load(const char *path, struct tr_prices *p, char *err,
		   size_t errlen)
{
	memset(p, 0, sizeof *p);
	snprintf(p->currency, sizeof p->currency, "EUR");
	trellis_node_t *root = tr_node_parse_file(path, err, errlen);
	if (!root)
		return -1;
	int rc = 0;
	const trellis_node_t *prices = NULL;
	if (tr_node_type(root) != TRELLIS_NODE_MAP) {
		rc = bad(err, errlen, root, "expected a map (currency, prices)");
		goto out;
	}
	for (size_t i = 0; i < tr_node_len(root) && !rc; i++) {
		const char *k = tr_node_key_at(root, i);
		const trellis_node_t *v = tr_node_at(root, i);
		if (strcmp(k, "currency") == 0) {
			const char *c = tr_node_str(v);
			if (!c || !*c || strlen(c) >= sizeof p->currency)
				rc = bad(err, errlen, v,
					 "currency: a short code (EUR, USD)");
			else
				snprintf(p->currency, sizeof p->currency, "%s", c);
		} else if (strcmp(k, "prices") == 0) {
			prices = v;
		} else {
			char m[128];
			snprintf(m, sizeof m,
				 "unknown key '%.64s' (currency, prices)", k);
			rc = bad(err, errlen, tr_node_key_node_at(root, i), m);
		}
	}
	if (rc)
		goto out;
	if (!prices || tr_node_type(prices) != TRELLIS_NODE_MAP) {
		rc = bad(err, errlen, prices ? prices : root,
			 "expected 'prices:', a map");
		goto out;
	}
	for (size_t i = 0; i < tr_node_len(prices) && !rc; i++) {
		const char *k = tr_node_key_at(prices, i);
		const trellis_node_t *v = tr_node_at(prices, i);
		if (strcmp(k, "vcpu_hour") == 0)
			rc = price(v, &p->vcpu_hour, err, errlen);
		else if (strcmp(k, "memory_gib_hour") == 0)
			rc = price(v, &p->memory_gib_hour, err, errlen);
		else if (strcmp(k, "storage_gib_hour") == 0)
			rc = price(v, &p->storage_gib_hour, err, errlen);
		else if (strcmp(k, "segment_hour") == 0)
			rc = price(v, &p->segment_hour, err, errlen);
		else if (strcmp(k, "templates") == 0) {
			if (tr_node_type(v) != TRELLIS_NODE_MAP) {
				rc = bad(err, errlen, v,
					 "templates: a map of template name to "
					 "price per hour");
				break;
			}
			for (size_t t = 0; t < tr_node_len(v) && !rc; t++) {
				if (p->ntemplates == TR_PRICE_TEMPLATES) {
					rc = bad(err, errlen, v,
						 "too many templates (64)");
					break;
				}
				snprintf(p->templates[p->ntemplates].name,
					 sizeof p->templates[0].name, "%s",
					 tr_node_key_at(v, t));
				rc = price(tr_node_at(v, t),
					   &p->templates[p->ntemplates].hour,
					   err, errlen);
				p->ntemplates++;
			}
		} else {
			char m[160];
			snprintf(m, sizeof m,
				 "unknown price '%.64s' (vcpu_hour, "
				 "memory_gib_hour, storage_gib_hour, "
				 "segment_hour, templates)",
				 k);
			rc = bad(err, errlen, tr_node_key_node_at(prices, i), m);
		}
	}
out:
	tr_node_free(root);
	return rc;
}
