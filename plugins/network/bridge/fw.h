/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fw.h - the bridge plugin's packet filter: one nftables table of its own,
 * `bridge trellis`, driven through libnftables (the library, not the nft
 * program).
 *
 * Layout: the base chains `pfwd` (forward hook) and `pout` (output hook)
 * send every frame leaving through a port to that port's chain via the
 * verdict map `ports` (ifname : jump p-IF); `pfwd` and `pin` (input)
 * first send every frame coming from a port through s-IF (map
 * `srcports`), which drops what the guest may not send: another source
 * MAC, and another IPv4 address when the port has one (anti-spoofing).
 * p-IF accepts what any guest needs (ARP, neighbour discovery, ICMP errors and
 * echo replies, TCP segments of connections the guest opened, DNS and DHCP
 * replies), jumps to a-IF - the rules rule_add made - and drops the rest.  So
 * traffic into a port is denied by default and a rule opens it.
 *
 * The kernel here has no bridge conntrack (nf_conntrack_bridge), so the
 * "connections the guest opened" test is stateless (a TCP segment that is
 * not a bare SYN); see docs/network-bridge.md.
 *
 * A rule's identity lives in its nftables comment, "tr:RULE_ID:EXPIRES",
 * so a fresh daemon finds rules and their expiry again without any state
 * of its own.  Every function returns 0 or a TRELLIS_E_* code with a
 * sentence in err; deleting what is not there succeeds.
 */
#ifndef BRIDGE_FW_H
#define BRIDGE_FW_H

#include <stddef.h>
#include <stdint.h>

struct nft_ctx;

int fw_open(struct nft_ctx **ctx, char *err, size_t errlen);
void fw_close(struct nft_ctx *ctx);

/* The table, map and base chains (idempotent). */
int fw_ensure_table(struct nft_ctx *ctx, char *err, size_t errlen);
/* Drops the whole table (the host has no segment left). */
int fw_drop_table(struct nft_ctx *ctx, char *err, size_t errlen);
/* A port's chains and map entries; existing rules of the port are kept.
 * With mac (may be NULL: the hypervisor picks the guest's), frames from
 * the port with another source MAC are dropped; with ip4 (may be NULL)
 * so are IPv4 packets and ARP from another address (DHCP from 0.0.0.0
 * excepted). */
int fw_port_add(struct nft_ctx *ctx, const char *ifname, const char *mac,
		const char *ip4, char *err, size_t errlen);
int fw_port_del(struct nft_ctx *ctx, const char *ifname, char *err,
		size_t errlen);

struct fw_rule {
	const char *protocol; /* tcp, udp, icmp */
	uint16_t port_min, port_max;
	const char *source_cidr; /* NULL: any */
	int64_t expires_at;
};
/* Checks a rule's fields; 0 or INVALID_ARG with the reason in err. */
int fw_rule_check(const struct fw_rule *r, char *err, size_t errlen);
int fw_rule_add(struct nft_ctx *ctx, const char *ifname, const char *rid,
		const struct fw_rule *r, char *err, size_t errlen);
int fw_rule_del(struct nft_ctx *ctx, const char *rid, char *err, size_t errlen);
/* The counters of rule rid (every nftables rule it is: icmp makes two)
 * added up; NOTFOUND when it is not there. */
int fw_rule_stats(struct nft_ctx *ctx, const char *rid, uint64_t *packets,
		  uint64_t *bytes, char *err, size_t errlen);

struct fw_item {
	const char *chain;  /* every chain of the table */
	const char *rid;    /* rules made by rule_add: id, else NULL */
	int64_t expires_at; /* of that rule, 0: never */
};
/* Visits every chain, then every rule_add rule, of the table or (chain
 * non-NULL) of that one chain; a missing table or chain visits nothing. */
int fw_scan(struct nft_ctx *ctx, const char *chain,
	    void (*fn)(void *opaque, const struct fw_item *it), void *opaque,
	    char *err, size_t errlen);
/* Deletes one chain of the table (and its map entry for p- chains). */
int fw_chain_del(struct nft_ctx *ctx, const char *chain, char *err,
		 size_t errlen);

#endif
