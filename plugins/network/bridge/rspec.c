/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rspec.c - a router spec: its checks (names, IPv4 cidr and addresses,
 * leases, public side, forwards) and the texts made from it (dnsmasq.conf,
 * the static leases and hosts, the nftables ruleset).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

/* ---- the spec ---- */

static int ip4_ok(const char *s)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1;
}

static int label_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && n <= 63 && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-") == n;
}

static int domain_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && n <= 200 && s[0] != '.' && s[0] != '-' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-.") == n;
}

/* "a.b.c.d/n" into net (dotted), prefix and mask (dotted). */
int rt_cidr_split(const char *c, char net[16], unsigned *prefix,
		      char mask[16])
{
	char a[20];
	const char *slash = c ? strchr(c, '/') : NULL;
	if (!slash || (size_t)(slash - c) >= sizeof a)
		return -1;
	memcpy(a, c, (size_t)(slash - c));
	a[slash - c] = '\0';
	char *end;
	long p = strtol(slash + 1, &end, 10);
	struct in_addr in;
	if (*end || p < 1 || p > 30 || inet_pton(AF_INET, a, &in) != 1)
		return -1;
	uint32_t m = ~((1u << (32 - p)) - 1), v = ntohl(in.s_addr) & m;
	snprintf(net, 16, "%u.%u.%u.%u", v >> 24, (v >> 16) & 255,
		 (v >> 8) & 255, v & 255);
	snprintf(mask, 16, "%u.%u.%u.%u", m >> 24, (m >> 16) & 255,
		 (m >> 8) & 255, m & 255);
	*prefix = (unsigned)p;
	return 0;
}

int rt_check_spec(struct br_job *j, const trellis_router_spec_t *s)
{
	char net[16], mask[16];
	unsigned p;
	if (!br_name_ok(s->name))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "invalid router name '%s'",
			       s->name ? s->name : "(null)");
	if (!br_name_ok(s->segment))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "router '%s': invalid segment name", s->name);
	if (rt_cidr_split(s->cidr, net, &p, mask) || !ip4_ok(s->gateway) ||
	    (s->dhcp_first && !ip4_ok(s->dhcp_first)) ||
	    (s->dhcp_last && !ip4_ok(s->dhcp_last)))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "router '%s': need an IPv4 cidr (/1-/30) and "
			       "gateway, and addresses for the DHCP range",
			       s->name);
	if (s->domain && !domain_ok(s->domain))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "router '%s': invalid DNS domain '%s'", s->name,
			       s->domain);
	for (uint32_t i = 0; i < s->n_leases; i++) {
		const trellis_router_lease_t *l = &s->leases[i];
		if (!l->mac || !br_mac_ok(l->mac) || !ip4_ok(l->ip) ||
		    (l->hostname && !label_ok(l->hostname)))
			return br_fail(j, TRELLIS_E_INVALID_ARG,
				       "router '%s': lease %u needs a MAC, an "
				       "IPv4 address and a DNS label",
				       s->name, i);
	}
	int pub = s->public_bridge || s->public_ip || s->public_gateway;
	if (pub) {
		char pn[16], pm[16];
		unsigned pp;
		if (!s->public_bridge || strlen(s->public_bridge) > 15 ||
		    !br_name_ok(s->public_bridge) ||
		    rt_cidr_split(s->public_ip, pn, &pp, pm) ||
		    (s->public_gateway && !ip4_ok(s->public_gateway)))
			return br_fail(j, TRELLIS_E_INVALID_ARG,
				       "router '%s': a public side needs a "
				       "bridge and an address/prefix",
				       s->name);
	}
	for (uint32_t i = 0; i < s->n_forwards; i++) {
		const trellis_router_forward_t *f = &s->forwards[i];
		if (!pub || !f->protocol ||
		    (strcmp(f->protocol, "tcp") && strcmp(f->protocol, "udp")) ||
		    !f->public_port || !f->port || !ip4_ok(f->ip))
			return br_fail(j, TRELLIS_E_INVALID_ARG,
				       "router '%s': forward %u needs a public "
				       "side, tcp/udp, ports and an address",
				       s->name, i);
	}
	return 0;
}

/* ---- texts ---- */

void rt_sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= b->cap - b->n) {
		b->over = 1;
		b->p[b->n] = '\0';
		return;
	}
	b->n += (size_t)w;
}

void rt_conf_text(struct sb *b, const trellis_router_spec_t *s,
		      const struct rnames *n)
{
	char net[16], mask[16];
	unsigned p;
	rt_cidr_split(s->cidr, net, &p, mask);
	rt_sb_add(b,
	       "# dnsmasq of router %s (trellis bridge plugin); rewritten by "
	       "router_ensure\n"
	       "interface=%s\nbind-interfaces\nexcept-interface=lo\n"
	       "listen-address=%s\nno-resolv\nno-hosts\nno-poll\n"
	       "user=root\n"
	       "pid-file=%s/pid\ndhcp-leasefile=%s/leases\n"
	       "dhcp-hostsfile=%s/dhcp-hosts\naddn-hosts=%s/hosts\n"
	       "log-facility=%s/log\n"
	       "dhcp-range=%s,static,%s,12h\ndhcp-authoritative\n"
	       "dhcp-option=option:router,%s\n"
	       "dhcp-option=option:dns-server,%s\n",
	       s->name, n->rj, s->gateway, n->dir, n->dir, n->dir, n->dir,
	       n->dir, net, mask, s->gateway, s->gateway);
	if (s->domain)
		rt_sb_add(b, "domain=%s\nlocal=/%s/\nexpand-hosts\n", s->domain,
		       s->domain);
}

void rt_leases_text(struct sb *dh, struct sb *hosts,
			const trellis_router_spec_t *s)
{
	for (uint32_t i = 0; i < s->n_leases; i++) {
		const trellis_router_lease_t *l = &s->leases[i];
		if (l->hostname) {
			rt_sb_add(dh, "%s,%s,%s\n", l->mac, l->ip, l->hostname);
			rt_sb_add(hosts, "%s %s\n", l->ip, l->hostname);
		} else {
			rt_sb_add(dh, "%s,%s\n", l->mac, l->ip);
		}
	}
}

void rt_nft_text(struct sb *b, const trellis_router_spec_t *s,
		     const struct rnames *n)
{
	char pub[16] = "";
	rt_sb_add(b, "add table ip trellis\nflush table ip trellis\n"
		  "add chain ip trellis t_pre { type nat hook prerouting "
		  "priority -100 ; }\n"
		  "add chain ip trellis t_post { type nat hook postrouting "
		  "priority 100 ; }\n"
		  "add chain ip trellis t_fwd { type filter hook forward "
		  "priority 0 ; policy drop ; }\n"
		  "add rule ip trellis t_fwd ct state established,related "
		  "accept\n");
	rt_sb_add(b, "add rule ip trellis t_fwd iifname \"%s\" oifname \"%s\" "
		  "accept\n",
	       n->rj, n->rj);
	if (!s->public_ip)
		return;
	snprintf(pub, sizeof pub, "%.*s", (int)strcspn(s->public_ip, "/"),
		 s->public_ip);
	rt_sb_add(b,
	       "add rule ip trellis t_fwd iifname \"%s\" oifname \"%s\" accept\n"
	       "add rule ip trellis t_fwd ct status dnat accept\n"
	       "add rule ip trellis t_post ip saddr %s oifname \"%s\" snat to "
	       "%s\n",
	       n->rj, n->rp, s->cidr, n->rp, pub);
	for (uint32_t i = 0; i < s->n_forwards; i++) {
		const trellis_router_forward_t *f = &s->forwards[i];
		rt_sb_add(b,
		       "add rule ip trellis t_pre ip daddr %s %s dport %u dnat "
		       "to %s:%u\n",
		       pub, f->protocol, f->public_port, f->ip, f->port);
	}
}
