/* SPDX-License-Identifier: Apache-2.0 */
/*
 * links.h - the bridge plugin's netlink side: bridges, VXLAN and VLAN
 * devices, taps and veth pairs, through libnl-route-3 (never `ip`).
 *
 * Every function runs on the calling thread's network namespace (the
 * socket was opened there, see nsexec.h), returns 0 or a TRELLIS_E_* code,
 * and on failure writes a sentence naming the device and the kernel's
 * reason into err.  Functions that make something make only that one
 * thing; undoing a half-made segment or port is the caller's business.
 *
 * The plugin keeps what it must remember about a device in the device
 * itself: its alias (IFLA_IFALIAS), e.g. "trellis seg=blue tenant=acme".
 */
#ifndef BRIDGE_LINKS_H
#define BRIDGE_LINKS_H

#include <stddef.h>
#include <stdint.h>

struct nl_sock;

int lk_open(struct nl_sock **sk, char *err, size_t errlen);
void lk_close(struct nl_sock *sk);

struct lk_info {
	char name[16];
	char kind[16]; /* "bridge", "vxlan", "tun", "veth", "vlan", "" */
	char alias[256];
	int ifindex;
	int master; /* ifindex of the bridge it is enslaved to, 0 */
	unsigned mtu;
	int up;
};

/* TRELLIS_E_NOTFOUND (without touching err) when there is no such device. */
int lk_get(struct nl_sock *sk, const char *name, struct lk_info *out, char *err,
	   size_t errlen);
/* Calls fn for every device whose name starts with prefix; fn returning
 * non-zero stops the walk. */
int lk_each(struct nl_sock *sk, const char *prefix,
	    int (*fn)(void *opaque, const struct lk_info *li), void *opaque,
	    char *err, size_t errlen);

int lk_add_bridge(struct nl_sock *sk, const char *name, uint32_t mtu, char *err,
		  size_t errlen);
/* local_ip may be NULL; underlay 0: none. */
int lk_add_vxlan(struct nl_sock *sk, const char *name, uint32_t vni,
		 const char *local_ip, int underlay, uint32_t mtu, char *err,
		 size_t errlen);
int lk_add_vlan(struct nl_sock *sk, const char *name, uint16_t id, int underlay,
		char *err, size_t errlen);
/* A persistent tap (TUNSETIFF + TUNSETPERSIST) for a hypervisor to open. */
int lk_add_tap(const char *name, char *err, size_t errlen);
int lk_add_veth(struct nl_sock *sk, const char *name, const char *peer,
		char *err, size_t errlen);

/* A veth pair whose peer is made directly in the namespace of ns_fd (a
 * router's). */
int lk_add_veth_ns(struct nl_sock *sk, const char *name, const char *peer,
		   int ns_fd, char *err, size_t errlen);
/* Gives device name the address cidr ("a.b.c.d/n"); there already: ok. */
int lk_addr_set(struct nl_sock *sk, const char *name, const char *cidr,
		char *err, size_t errlen);
/* The main table's default route, via gw (replaced if another). */
int lk_route_default(struct nl_sock *sk, const char *gw, char *err,
		     size_t errlen);

/* Sets what is given (alias/mac NULL, master -1, mtu 0: leave alone) and
 * brings the device up. */
int lk_setup(struct nl_sock *sk, const char *name, const char *alias,
	     const char *mac, int master, unsigned mtu, char *err,
	     size_t errlen);
/* Missing: success. */
int lk_delete(struct nl_sock *sk, const char *name, char *err, size_t errlen);
/* Makes the VXLAN device's flood list (all-zero FDB entries: where
 * unknown and broadcast frames go) exactly remotes: new ones are added,
 * ones no longer listed are removed. */
int lk_fdb_flood_sync(struct nl_sock *sk, int vxlan_ifindex,
		      const char *const *remotes, unsigned n, char *err,
		      size_t errlen);

#endif
