/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/network.h - ops table of network isolation plugins (kind NETWORK).
 *
 * A network plugin makes isolated L2 segments on hosts, ports for VM NICs on
 * those segments, and filtering rules for ports.  The core allocates segment
 * ids (VNI or VLAN) from its pools and passes them in; the plugin only makes
 * what it is told.  connect() opens one host's network context ("local", or
 * "netns:NAME" for a network namespace standing in for a host); that handle
 * is the "target" for TRELLIS_THREAD_PER_TARGET.
 *
 * Everything a plugin creates on a host carries a name prefix of its own so
 * that gc() can find what the core no longer knows.  Ops that change
 * infrastructure take an idempotency key and are safe to replay; deleting
 * what is already gone succeeds.  A create (port_create, rule_add) of an
 * object that exists under another key, or under none, or with a NULL or
 * empty key, is TRELLIS_E_CONFLICT naming the object: an existing object is
 * never adopted.  segment_ensure is the exception, since segments are
 * shared: it reports in segment_info.made whether this key made it.
 */
#ifndef TRELLIS_NETWORK_H
#define TRELLIS_NETWORK_H

#include <trellis/host.h>
#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRELLIS_NET_CAP_VXLAN (1ull << 0)    /* segments over VXLAN */
#define TRELLIS_NET_CAP_VLAN (1ull << 1)     /* segments over 802.1Q */
#define TRELLIS_NET_CAP_FIREWALL (1ull << 2) /* rule_add/rule_delete */
#define TRELLIS_NET_CAP_GC (1ull << 3)       /* gc */
#define TRELLIS_NET_CAP_ROUTER (1ull << 4)   /* router_ensure/_remove: since 1.1 */

enum trellis_segment_mode {
	TRELLIS_SEGMENT_VXLAN = 1,
	TRELLIS_SEGMENT_VLAN = 2,
	TRELLIS_SEGMENT_LOCAL = 3, /* a bridge on this host only */
};

typedef struct trellis_segment_spec {
	uint32_t struct_size;
	const char *name;         /* since 1.0: unique segment name */
	const char *tenant;       /* since 1.0: owner, may be NULL */
	uint32_t mode;            /* since 1.0: enum trellis_segment_mode */
	uint32_t segment_id;      /* since 1.0: VNI or VLAN id */
	const char *underlay_dev; /* since 1.0: NIC carrying VXLAN/VLAN traffic */
	const char *local_ip;     /* since 1.0: VXLAN source address */
	const char *const *remote_ips; /* since 1.0: VXLAN peers (flood list) */
	uint32_t n_remote_ips;    /* since 1.0 */
	uint32_t mtu;             /* since 1.0: 0: default */
	/* since 1.1: the network's own options (network create --option),
	 * a map, or NULL; valid for the call only */
	const trellis_node_t *options;
} trellis_segment_spec_t;

typedef struct trellis_segment_info {
	uint32_t struct_size;
	char bridge[16];          /* since 1.0: the bridge VM ports join */
	char link[16];            /* since 1.0: the VXLAN/VLAN device, "" for LOCAL */
	uint32_t segment_id;      /* since 1.0 */
	uint32_t n_ports;         /* since 1.0: ports on this host */
	uint32_t made;            /* since 1.1: 1: made under this idem_key */
} trellis_segment_info_t;

typedef struct trellis_port_spec {
	uint32_t struct_size;
	const char *name;         /* since 1.0: unique port name */
	const char *segment;      /* since 1.0: segment name */
	const char *mac;          /* since 1.0: NULL: the plugin picks */
	const char *ip;           /* since 1.0: address/prefix, may be NULL */
} trellis_port_spec_t;

/* port_create flags: a veth pair instead of a tap; the peer end (named in
 * port_info.peer) is for a container or a test namespace to take. */
#define TRELLIS_NET_PORT_VETH (1u << 0)
/* port_delete flags: when this was the last port of its segment on this
 * host, remove the segment from the host too (a tenant's bridge goes
 * with its last port). */
#define TRELLIS_NET_PORT_RELEASE_SEGMENT (1u << 0)
/* port_delete flags: only the port made under idem_key (an undo). */
#define TRELLIS_NET_PORT_DELETE_IF_KEY (1u << 1) /* since 1.1 */

typedef struct trellis_port_info {
	uint32_t struct_size;
	char ifname[16];          /* since 1.0: the tap the VM attaches to */
	char bridge[16];          /* since 1.0 */
	char mac[18];             /* since 1.0 */
	char peer[16];            /* since 1.0: veth peer, "" for a tap */
} trellis_port_info_t;

typedef struct trellis_fw_rule {
	uint32_t struct_size;
	const char *port;         /* since 1.0: port name the rule opens */
	const char *protocol;     /* since 1.0: "tcp", "udp", "icmp" */
	uint16_t port_min;        /* since 1.0: 0 for icmp */
	uint16_t port_max;        /* since 1.0 */
	const char *source_cidr;  /* since 1.0: NULL: any */
	int64_t expires_at;       /* since 1.0: unix seconds, 0: never */
} trellis_fw_rule_t;

/* ---- routers (since 1.1) ----
 *
 * A router is a network's "virtual router without a VM": on one host, a
 * namespace of its own joined to the segment's bridge with the network's
 * gateway address, serving DHCP (static leases only: the core's allocation
 * table) and DNS for the network's VM names, with source NAT to the zone's
 * public side and destination NAT for port forwards.  The core passes the
 * whole wanted state each time: router_ensure makes the router, or changes
 * an existing one to match (leases, names, forwards, addresses), and
 * restarts its DHCP/DNS service when that has died.  It is idempotent: a
 * second call with the same spec changes nothing.  router_remove takes it
 * all away; a missing router is success. */

typedef struct trellis_router_lease {
	uint32_t struct_size;
	const char *mac;      /* since 1.1: xx:xx:xx:xx:xx:xx */
	const char *ip;       /* since 1.1: a.b.c.d, inside the network */
	const char *hostname; /* since 1.1: a DNS label, or NULL: no name */
} trellis_router_lease_t;

typedef struct trellis_router_forward {
	uint32_t struct_size;
	const char *protocol;  /* since 1.1: "tcp" or "udp" */
	uint16_t public_port;  /* since 1.1: on the router's public address */
	uint16_t port;         /* since 1.1: on ip */
	const char *ip;        /* since 1.1: a lease's address */
} trellis_router_forward_t;

typedef struct trellis_router_spec {
	uint32_t struct_size;
	const char *name;       /* since 1.1: the network's name */
	const char *segment;    /* since 1.1: the segment whose bridge it
				 * joins (segment_ensure it first) */
	const char *cidr;       /* since 1.1: the network, a.b.c.d/n */
	const char *gateway;    /* since 1.1: the router's address in it */
	const char *dhcp_first; /* since 1.1: the DHCP range */
	const char *dhcp_last;  /* since 1.1 */
	const char *domain;     /* since 1.1: DNS domain of VM names, or NULL */
	const trellis_router_lease_t *leases; /* since 1.1 */
	uint32_t n_leases;                    /* since 1.1 */
	/* since 1.1: the public side, all NULL for a router without one (no
	 * NAT): the host bridge of the zone's public network, the router's
	 * address/prefix on it and the default gateway there. */
	const char *public_bridge;
	const char *public_ip;
	const char *public_gateway;
	const trellis_router_forward_t *forwards; /* since 1.1 */
	uint32_t n_forwards;                      /* since 1.1 */
} trellis_router_spec_t;

typedef struct trellis_router_info {
	uint32_t struct_size;
	char netns[32];    /* since 1.1: the router's namespace */
	char inside[16];   /* since 1.1: its device on the segment's bridge */
	char outside[16];  /* since 1.1: its device on the public bridge, "" */
	uint32_t pid;      /* since 1.1: its DHCP/DNS server */
	uint32_t made;     /* since 1.1: 1: this call made the router */
	uint32_t changed;  /* since 1.1: 1: this call changed something */
	uint32_t restarted; /* since 1.1: 1: its DHCP/DNS server was (re)started */
} trellis_router_info_t;
/* What a rule made by rule_add has accepted (since 1.1, rule_stats). */
typedef struct trellis_fw_rule_stats {
	uint32_t struct_size;
	uint64_t packets;         /* since 1.1: packets the rule accepted */
	uint64_t bytes;           /* since 1.1 */
} trellis_fw_rule_stats_t;

/* gc flags: a port is also kept when its segment is in keep (for a core
 * that records segments but not the ports on them). */
#define TRELLIS_NET_GC_KEEP_SEGMENT_PORTS (1u << 0)
/* gc flags: remove nothing, report through the callback what would go
 * (a 1.0 plugin rejects the unknown bit, as every op must). */
#define TRELLIS_NET_GC_DRY_RUN (1u << 1) /* since 1.1 */

/* gc() reports each object it removed through this. */
typedef void (*trellis_gc_fn)(void *opaque, const char *what, const char *name);

struct trellis_network_ops {
	uint32_t struct_size;

	/* Required. */
	int (*connect)(void *state, trellis_call_t *call, const char *uri,
		       const trellis_node_t *options, uint32_t flags,
		       void **conn); /* since 1.0 */
	/* Required. */
	void (*disconnect)(void *state, void *conn); /* since 1.0 */

	/* Make the segment present on this host (bridge + link).  A second
	 * call with the same spec is a no-op.  out->made (since 1.1) is 1
	 * when the segment was made under this idem_key (by this call or an
	 * earlier attempt with the same key), 0 when it was already there
	 * from someone else: an undo releases only a segment it made.
	 * Required. */
	int (*segment_ensure)(void *conn, trellis_call_t *call,
			      const trellis_segment_spec_t *spec,
			      const char *idem_key, uint32_t flags,
			      trellis_segment_info_t *out); /* since 1.0 */
	/* Remove the segment from this host; CONFLICT while ports remain
	 * on it.  Missing: success.  Required. */
	int (*segment_release)(void *conn, trellis_call_t *call,
			       const char *segment, const char *idem_key,
			       uint32_t flags); /* since 1.0 */
	/* A port (tap) on a segment; all inbound traffic denied until
	 * rules open it.  Required. */
	int (*port_create)(void *conn, trellis_call_t *call,
			   const trellis_port_spec_t *spec,
			   const char *idem_key, uint32_t flags,
			   trellis_port_info_t *out); /* since 1.0 */
	/* Missing: success.  With TRELLIS_NET_PORT_DELETE_IF_KEY (since
	 * 1.1), delete only a port made under idem_key: one made under
	 * another key, or none, is TRELLIS_E_CONFLICT naming the port, and
	 * is left untouched; a missing port still succeeds.  Required. */
	int (*port_delete)(void *conn, trellis_call_t *call, const char *port,
			   const char *idem_key, uint32_t flags); /* since 1.0 */

	/* Allow inbound traffic matching rule; rule_id names it (max 63). */
	int (*rule_add)(void *conn, trellis_call_t *call,
			const trellis_fw_rule_t *rule, const char *idem_key,
			uint32_t flags, char rule_id[64]); /* since 1.0 */
	int (*rule_delete)(void *conn, trellis_call_t *call,
			   const char *rule_id, const char *idem_key,
			   uint32_t flags); /* since 1.0 */

	/* Remove every object of this plugin whose name is not in keep. */
	int (*gc)(void *conn, trellis_call_t *call, const char *const *keep,
		  uint32_t n_keep, uint32_t flags, trellis_gc_fn fn,
		  void *opaque); /* since 1.0 */

	/* Make the network's router, or change it to match spec (see
	 * trellis_router_spec); restarts its DHCP/DNS server when it is not
	 * running.  A router of the same name over another segment is
	 * CONFLICT.  NULL: NOTSUP (TRELLIS_NET_CAP_ROUTER says it is there). */
	int (*router_ensure)(void *conn, trellis_call_t *call,
			     const trellis_router_spec_t *spec,
			     const char *idem_key, uint32_t flags,
			     trellis_router_info_t *out); /* since 1.1 */
	/* Remove the router (namespace, devices, server).  Missing: success. */
	int (*router_remove)(void *conn, trellis_call_t *call,
			     const char *name, const char *idem_key,
			     uint32_t flags); /* since 1.1 */
	/* What the rule rule_id (made by rule_add) has accepted so far: its
	 * counter.  Maintenance mode's close-on connect reads it to see the
	 * first connection into an opened port.  A rule that is not there:
	 * NOTFOUND.  NULL (a 1.0 plugin): the core reports NOTSUP. */
	int (*rule_stats)(void *conn, trellis_call_t *call,
			  const char *rule_id, uint32_t flags,
			  trellis_fw_rule_stats_t *out); /* since 1.1 */
};

#define TRELLIS_NETWORK_OPS_SIZE_1_0                                           \
	(offsetof(struct trellis_network_ops, gc) + sizeof(void (*)(void)))

#define TRELLIS_NETWORK_REQUIRED_OPS(X)                                        \
	X(connect) X(disconnect) X(segment_ensure) X(segment_release)          \
	X(port_create) X(port_delete)

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_NETWORK_H */
