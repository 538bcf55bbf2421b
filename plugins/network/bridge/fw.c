/* SPDX-License-Identifier: Apache-2.0 */
/* fw.c - the `bridge trellis` nftables table via libnftables (fw.h). */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <nftables/libnftables.h>

#include <trellis/error.h>

#include "fw.h"

#define T "bridge trellis"
#define CMD_MAX 2048

/* Runs one batch; on failure copies nft's first error line into err. */
static int run(struct nft_ctx *ctx, const char *cmd, char *err, size_t errlen)
{
	if (nft_run_cmd_from_buffer(ctx, cmd) == 0)
		return 0;
	const char *e = nft_ctx_get_error_buffer(ctx);
	size_t n = e ? strcspn(e, "\n") : 0;
	snprintf(err, errlen, "nftables: %.*s", (int)n, e ? e : "failed");
	if (e && (strstr(e, "Operation not permitted") ||
		  strstr(e, "Permission denied")))
		return TRELLIS_E_PERMISSION;
	return TRELLIS_E_BACKEND;
}

/* For deletes: a missing object is what we wanted anyway. */
static int run_gone_ok(struct nft_ctx *ctx, const char *cmd, char *err,
		       size_t errlen)
{
	int rc = run(ctx, cmd, err, errlen);
	if (rc && strstr(err, "No such file or directory")) {
		err[0] = '\0';
		return 0;
	}
	return rc;
}

int fw_open(struct nft_ctx **ctx, char *err, size_t errlen)
{
	*ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!*ctx) {
		snprintf(err, errlen, "nftables: cannot create a context");
		return TRELLIS_E_NOMEM;
	}
	nft_ctx_buffer_output(*ctx);
	nft_ctx_buffer_error(*ctx);
	return 0;
}

void fw_close(struct nft_ctx *ctx)
{
	if (ctx)
		nft_ctx_free(ctx);
}

int fw_ensure_table(struct nft_ctx *ctx, char *err, size_t errlen)
{
	/* flush + add in one transaction: idempotent, never two dispatch
	 * rules, and never a moment without one. */
	static const char cmd[] =
	    "add table " T "\n"
	    "add map " T " ports { type ifname : verdict ; }\n"
	    "add map " T " srcports { type ifname : verdict ; }\n"
	    "add chain " T " pfwd { type filter hook forward priority 0 ; "
	    "policy accept ; }\n"
	    "add chain " T " pout { type filter hook output priority 0 ; "
	    "policy accept ; }\n"
	    "add chain " T " pin { type filter hook input priority 0 ; "
	    "policy accept ; }\n"
	    "flush chain " T " pfwd\n"
	    "flush chain " T " pout\n"
	    "flush chain " T " pin\n"
	    "add rule " T " pfwd iifname vmap @srcports\n"
	    "add rule " T " pfwd oifname vmap @ports\n"
	    "add rule " T " pout oifname vmap @ports\n"
	    "add rule " T " pin iifname vmap @srcports\n";
	return run(ctx, cmd, err, errlen);
}

int fw_drop_table(struct nft_ctx *ctx, char *err, size_t errlen)
{
	return run_gone_ok(ctx, "delete table " T, err, errlen);
}

int fw_port_add(struct nft_ctx *ctx, const char *ifname, const char *mac,
		const char *ip4, char *err, size_t errlen)
{
	char cmd[CMD_MAX], addr[INET_ADDRSTRLEN] = "";
	unsigned char b[6];
	struct in_addr in;
	const char *i = ifname;
	/* Both are printed back from their parsed form. */
	if (mac && sscanf(mac, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx", &b[0],
			  &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
		snprintf(err, errlen, "invalid MAC address '%s'", mac);
		return TRELLIS_E_INVALID_ARG;
	}
	if (ip4 && (inet_pton(AF_INET, ip4, &in) != 1 ||
		    !inet_ntop(AF_INET, &in, addr, sizeof addr))) {
		snprintf(err, errlen, "invalid IPv4 address '%s'", ip4);
		return TRELLIS_E_INVALID_ARG;
	}
	int n = snprintf(
	    cmd, sizeof cmd,
	    "add chain " T " p-%s\n"
	    "flush chain " T " p-%s\n"
	    "add chain " T " a-%s\n"
	    "add rule " T " p-%s ether type arp accept\n"
	    "add rule " T " p-%s icmp type { echo-reply, "
	    "destination-unreachable, time-exceeded } accept\n"
	    "add rule " T " p-%s icmpv6 type { echo-reply, "
	    "destination-unreachable, packet-too-big, time-exceeded, "
	    "nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } "
	    "accept\n"
	    /* stateless "established": anything but a bare SYN */
	    "add rule " T " p-%s meta l4proto tcp tcp flags & (syn | ack) "
	    "!= syn accept\n"
	    "add rule " T " p-%s meta l4proto udp udp sport 53 accept\n"
	    "add rule " T " p-%s meta l4proto udp udp sport 67 udp dport "
	    "68 accept\n"
	    "add rule " T " p-%s jump a-%s\n"
	    "add rule " T " p-%s drop\n"
	    "add element " T " ports { \"%s\" : jump p-%s }\n"
	    /* what the guest sends: its own MAC only (and IPv4 address) */
	    "add chain " T " s-%s\n"
	    "flush chain " T " s-%s\n",
	    i, i, i, i, i, i, i, i, i, i, i, i, i, i, i, i);
	if (mac)
		n += snprintf(cmd + n, sizeof cmd - (size_t)n,
			      "add rule " T " s-%s ether saddr != "
			      "%02x:%02x:%02x:%02x:%02x:%02x drop\n",
			      i, b[0], b[1], b[2], b[3], b[4], b[5]);
	if (addr[0])
		n += snprintf(cmd + n, sizeof cmd - (size_t)n,
			      "add rule " T " s-%s arp saddr ip != { 0.0.0.0, "
			      "%s } drop\n"
			      /* DHCP before the guest has its address */
			      "add rule " T " s-%s ip saddr 0.0.0.0 udp sport "
			      "68 udp dport 67 accept\n"
			      "add rule " T " s-%s ip saddr != %s drop\n",
			      i, addr, i, i, addr);
	snprintf(cmd + n, sizeof cmd - (size_t)n,
		 "add element " T " srcports { \"%s\" : jump s-%s }\n", i, i);
	return run(ctx, cmd, err, errlen);
}

int fw_chain_del(struct nft_ctx *ctx, const char *chain, char *err,
		 size_t errlen)
{
	char cmd[CMD_MAX];
	int rc = 0;
	if (!strncmp(chain, "p-", 2) || !strncmp(chain, "s-", 2)) {
		snprintf(cmd, sizeof cmd, "delete element " T " %s { \"%s\" }",
			 chain[0] == 'p' ? "ports" : "srcports", chain + 2);
		rc = run_gone_ok(ctx, cmd, err, errlen);
	}
	if (!rc) {
		snprintf(cmd, sizeof cmd, "flush chain " T " %s", chain);
		rc = run_gone_ok(ctx, cmd, err, errlen);
	}
	if (!rc) {
		snprintf(cmd, sizeof cmd, "delete chain " T " %s", chain);
		rc = run_gone_ok(ctx, cmd, err, errlen);
	}
	return rc;
}

int fw_port_del(struct nft_ctx *ctx, const char *ifname, char *err,
		size_t errlen)
{
	char chain[64];
	snprintf(chain, sizeof chain, "p-%s", ifname);
	int rc = fw_chain_del(ctx, chain, err, errlen);
	if (!rc) {
		snprintf(chain, sizeof chain, "a-%s", ifname);
		rc = fw_chain_del(ctx, chain, err, errlen);
	}
	if (!rc) {
		snprintf(chain, sizeof chain, "s-%s", ifname);
		rc = fw_chain_del(ctx, chain, err, errlen);
	}
	return rc;
}

/* "a.b.c.d/n" or "x::/n" (or a bare address) re-printed from its parsed
 * form, so nothing from the caller reaches the nft command verbatim. */
static int parse_cidr(const char *s, char *out, size_t len, int *v6)
{
	char addr[INET6_ADDRSTRLEN + 8];
	unsigned char bin[16];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n == 0 || n >= sizeof addr)
		return -1;
	memcpy(addr, s, n);
	addr[n] = '\0';
	int fam = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, addr, bin) != 1)
		return -1;
	long max = fam == AF_INET6 ? 128 : 32, plen = max;
	if (slash) {
		char *end;
		plen = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || plen < 0 || plen > max)
			return -1;
	}
	char norm[INET6_ADDRSTRLEN];
	inet_ntop(fam, bin, norm, sizeof norm);
	snprintf(out, len, "%s/%ld", norm, plen);
	*v6 = fam == AF_INET6;
	return 0;
}

int fw_rule_check(const struct fw_rule *r, char *err, size_t errlen)
{
	const char *p = r->protocol ? r->protocol : "";
	char cidr[64];
	int v6;
	if (strcmp(p, "tcp") && strcmp(p, "udp") && strcmp(p, "icmp")) {
		snprintf(err, errlen,
			 "protocol must be tcp, udp or icmp, got '%s'", p);
		return TRELLIS_E_INVALID_ARG;
	}
	if (strcmp(p, "icmp") &&
	    (r->port_min == 0 || r->port_max < r->port_min)) {
		snprintf(err, errlen,
			 "invalid port range %u-%u: need 1 <= min <= max "
			 "<= 65535",
			 r->port_min, r->port_max);
		return TRELLIS_E_INVALID_ARG;
	}
	if (r->source_cidr &&
	    parse_cidr(r->source_cidr, cidr, sizeof cidr, &v6) != 0) {
		snprintf(err, errlen, "invalid source CIDR '%s'",
			 r->source_cidr);
		return TRELLIS_E_INVALID_ARG;
	}
	if (r->expires_at < 0) {
		snprintf(err, errlen, "invalid expiry %" PRId64, r->expires_at);
		return TRELLIS_E_INVALID_ARG;
	}
	return 0;
}

int fw_rule_add(struct nft_ctx *ctx, const char *ifname, const char *rid,
		const struct fw_rule *r, char *err, size_t errlen)
{
	int rc = fw_rule_check(r, err, errlen);
	if (rc)
		return rc;
	char src[96] = "", cidr[64], cmd[CMD_MAX], comment[96];
	int v6 = 0;
	if (r->source_cidr) {
		parse_cidr(r->source_cidr, cidr, sizeof cidr, &v6);
		snprintf(src, sizeof src, "%s saddr %s ", v6 ? "ip6" : "ip",
			 cidr);
	}
	snprintf(comment, sizeof comment, "comment \"tr:%s:%" PRId64 "\"", rid,
		 r->expires_at);
	if (!strcmp(r->protocol, "icmp")) {
		/* echo requests of both IP versions unless a source says
		 * which one */
		int n = 0;
		if (!r->source_cidr || !v6)
			n += snprintf(cmd + n, sizeof cmd - (size_t)n,
				      "add rule " T " a-%s %smeta l4proto icmp "
				      "icmp type echo-request counter accept %s\n",
				      ifname, src, comment);
		/* IPv6 ICMP by number (58): nft would resolve the name
		 * "ipv6-icmp" through /etc/protocols, which a minimal
		 * system (no netbase) lacks. */
		if (!r->source_cidr || v6)
			snprintf(cmd + n, sizeof cmd - (size_t)n,
				 "add rule " T " a-%s %smeta l4proto 58 "
				 "icmpv6 type echo-request counter accept %s\n",
				 ifname, src, comment);
	} else {
		snprintf(cmd, sizeof cmd,
			 "add rule " T " a-%s %smeta l4proto %s th dport %u-%u "
			 "counter accept %s\n",
			 ifname, src, r->protocol, r->port_min, r->port_max,
			 comment);
	}
	return run(ctx, cmd, err, errlen);
}

/* ---- listing ---- */

/* The table (or one chain of it) as libnftables JSON, NULL (rc 0) when it
 * does not exist. */
static int list_json(struct nft_ctx *ctx, const char *chain, json_t **out,
		     char *err, size_t errlen)
{
	char cmd[128];
	*out = NULL;
	if (chain)
		snprintf(cmd, sizeof cmd, "list chain " T " %s", chain);
	else
		snprintf(cmd, sizeof cmd, "list table " T);
	unsigned flags = nft_ctx_output_get_flags(ctx);
	nft_ctx_output_set_flags(ctx, flags | NFT_CTX_OUTPUT_JSON |
					  NFT_CTX_OUTPUT_HANDLE);
	int rc = run(ctx, cmd, err, errlen);
	nft_ctx_output_set_flags(ctx, flags);
	if (rc) {
		if (strstr(err, "No such file or directory")) {
			err[0] = '\0';
			return 0;
		}
		return rc;
	}
	json_error_t je;
	*out = json_loads(nft_ctx_get_output_buffer(ctx), 0, &je);
	if (!*out) {
		snprintf(err, errlen, "nftables: unreadable JSON listing: %s",
			 je.text);
		return TRELLIS_E_BACKEND;
	}
	return 0;
}

/* "tr:RID:EXP" -> rid, exp; 0 when it is one of ours. */
static int parse_comment(const char *c, char *rid, size_t len, int64_t *exp)
{
	if (!c || strncmp(c, "tr:", 3))
		return -1;
	const char *colon = strrchr(c + 3, ':');
	if (!colon || (size_t)(colon - (c + 3)) >= len)
		return -1;
	memcpy(rid, c + 3, (size_t)(colon - (c + 3)));
	rid[colon - (c + 3)] = '\0';
	*exp = strtoll(colon + 1, NULL, 10);
	return 0;
}

int fw_scan(struct nft_ctx *ctx, const char *chain,
	    void (*fn)(void *opaque, const struct fw_item *it), void *opaque,
	    char *err, size_t errlen)
{
	json_t *j;
	int rc = list_json(ctx, chain, &j, err, errlen);
	if (rc || !j)
		return rc;
	json_t *arr = json_object_get(j, "nftables"), *x;
	size_t i;
	json_array_foreach(arr, i, x)
	{
		json_t *c = json_object_get(x, "chain");
		if (c) {
			struct fw_item it = {.chain = json_string_value(
						 json_object_get(c, "name"))};
			if (it.chain)
				fn(opaque, &it);
		}
	}
	json_array_foreach(arr, i, x)
	{
		json_t *r = json_object_get(x, "rule");
		char rid[64];
		int64_t exp;
		if (!r || parse_comment(
			      json_string_value(json_object_get(r, "comment")),
			      rid, sizeof rid, &exp))
			continue;
		struct fw_item it = {
		    .chain = json_string_value(json_object_get(r, "chain")),
		    .rid = rid,
		    .expires_at = exp};
		if (it.chain)
			fn(opaque, &it);
	}
	json_decref(j);
	return 0;
}

/* Calls fn for each nftables rule that is rule rid (icmp makes two), on
 * the table's listing; stops at fn's first error.  *found counts them. */
static int each_rule_of(struct nft_ctx *ctx, const char *rid,
			int (*fn)(struct nft_ctx *ctx, json_t *rule, void *arg,
				  char *err, size_t errlen),
			void *arg, int *found, char *err, size_t errlen)
{
	json_t *j;
	*found = 0;
	int rc = list_json(ctx, NULL, &j, err, errlen);
	if (rc || !j)
		return rc;
	json_t *arr = json_object_get(j, "nftables"), *x;
	size_t i;
	json_array_foreach(arr, i, x)
	{
		json_t *r = json_object_get(x, "rule");
		char got[64];
		int64_t exp;
		if (!r ||
		    parse_comment(
			json_string_value(json_object_get(r, "comment")), got,
			sizeof got, &exp) ||
		    strcmp(got, rid))
			continue;
		(*found)++;
		if ((rc = fn(ctx, r, arg, err, errlen)))
			break;
	}
	json_decref(j);
	return rc;
}

static int del_one(struct nft_ctx *ctx, json_t *r, void *arg, char *err,
		   size_t errlen)
{
	(void)arg;
	char cmd[256];
	snprintf(cmd, sizeof cmd,
		 "delete rule " T " %s handle %" JSON_INTEGER_FORMAT,
		 json_string_value(json_object_get(r, "chain")),
		 json_integer_value(json_object_get(r, "handle")));
	return run_gone_ok(ctx, cmd, err, errlen);
}

int fw_rule_del(struct nft_ctx *ctx, const char *rid, char *err, size_t errlen)
{
	int found;
	return each_rule_of(ctx, rid, del_one, NULL, &found, err, errlen);
}

/* Adds a rule's counter expressions to arg (uint64_t[2]). */
static int count_one(struct nft_ctx *ctx, json_t *r, void *arg, char *err,
		     size_t errlen)
{
	(void)ctx;
	(void)err;
	(void)errlen;
	uint64_t *pb = arg;
	json_t *e;
	size_t k;
	json_array_foreach(json_object_get(r, "expr"), k, e)
	{
		json_t *c = json_object_get(e, "counter");
		pb[0] += (uint64_t)json_integer_value(json_object_get(c, "packets"));
		pb[1] += (uint64_t)json_integer_value(json_object_get(c, "bytes"));
	}
	return 0;
}

int fw_rule_stats(struct nft_ctx *ctx, const char *rid, uint64_t *packets,
		  uint64_t *bytes, char *err, size_t errlen)
{
	uint64_t pb[2] = {0, 0};
	int found;
	int rc = each_rule_of(ctx, rid, count_one, pb, &found, err, errlen);
	*packets = pb[0];
	*bytes = pb[1];
	if (!rc && !found) {
		snprintf(err, errlen, "no such rule");
		return TRELLIS_E_NOTFOUND;
	}
	return rc;
}
