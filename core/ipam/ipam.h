/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam.h - address management: a zone's IP ranges, each network's
 * addressing, the allocation table (IP <-> MAC <-> VM) and port forwards.
 *
 * Ranges belong to a zone and have a kind:
 *   public      the zone's public side (routers' SNAT addresses come from
 *               here); never overlaps another public range, in any zone,
 *               nor another range of its own zone;
 *   management  a pod's private management subnet (--pod): pods of one
 *               zone never overlap, pods of different zones may;
 *   tenant      the zone's tenant address space, which networks get their
 *               default /24 from; never overlaps the zone's public ranges.
 * A refusal names both ranges ("... overlaps public range 198.51.100.0/24
 * of zone z1").
 *
 * A network (an inventory segment) may have addressing, kept in its spec:
 * cidr, gateway, dhcp_first/dhcp_last, zone, domain and, when it is
 * routed, router_host/router_uri.  Networks of one tenant in one zone never
 * overlap; networks of different tenants may use the same CIDR.
 *
 * ip_alloc holds every address handed out: a VM NIC's (network = the
 * network's name, vm = the VM's name) and a router's public address
 * (network "@public", owner = the network).  Allocation takes the lowest
 * free address of the DHCP range and is keyed by (network, vm): asking
 * again returns what the VM holds, so a replayed step allocates nothing
 * new; releasing twice is fine.
 *
 * The tables (migration "ipam-0001") belong to this module.  Functions take
 * the caller's store handle and run on its thread (writes: the main
 * thread); errors go into call.
 */
#ifndef TRELLIS_CORE_IPAM_H
#define TRELLIS_CORE_IPAM_H

#include <jansson.h>
#include <stdint.h>

#include "../host/host.h"
#include "../store/store.h"

/* args: zone, kind, cidr, gateway?, pod?, range? ("A-B"), bridge?. */
int tr_ipam_range_add(struct tr_store *s, json_t *args, json_t **out,
		      trellis_call_t *call);
/* {"items":[range...]} of a zone (NULL: every zone). */
int tr_ipam_range_list(struct tr_store *s, const char *zone, json_t **out,
		       trellis_call_t *call);
/* CONFLICT while addresses from it are allocated. */
int tr_ipam_range_remove(struct tr_store *s, const char *zone,
			 const char *cidr, json_t **out, trellis_call_t *call);

/*
 * Fills the addressing of a new network into spec (an object): from args
 * (cidr, gateway, dhcp, zone, domain, router_host, router_uri), with the
 * defaults (a free /24 of the zone's tenant space, the first address as
 * gateway, the rest as DHCP range).  tenant: the owner (NULL: the
 * operator).  Nothing is written; CONFLICT names an overlapping network of
 * the same tenant.  A network without cidr and zone gets no addressing.
 */
int tr_ipam_net_plan(struct tr_store *s, json_t *args, const char *tenant,
		     json_t *spec, trellis_call_t *call);
/* The public address of a routed network's router, from its zone's public
 * ranges, into spec ("public_ip", "public_prefix", "public_gateway",
 * "public_bridge"); nothing when the zone has no public range. */
int tr_ipam_public_alloc(struct tr_store *s, const char *network, json_t *spec,
			 trellis_call_t *call);
/* Before a network is deleted: CONFLICT while VMs hold addresses in it;
 * otherwise drops its public address and forwards. */
int tr_ipam_net_drop(struct tr_store *s, const char *network,
		     trellis_call_t *call);

/* A VM's address in network (allocated if it has none): out is
 * {network, vm, address, prefix, ip ("a.b.c.d/n"), gateway, mac,
 * routed}.  A network without addressing: out is {network, vm, ip: ""}. */
int tr_ipam_alloc(struct tr_store *s, const char *network, const char *vm,
		  const char *mac, const char *owner, json_t **out,
		  trellis_call_t *call);
/* Also drops the VM's port forwards in network. */
int tr_ipam_release(struct tr_store *s, const char *network, const char *vm,
		    trellis_call_t *call);

/* ip list: {"items":[...]} (network, zone may be NULL; scope_tenant:
 * only that tenant's networks).  ip show: one address; NOTFOUND, or
 * CONFLICT asking for --network when two networks hold it. */
int tr_ipam_ip_list(struct tr_store *s, const char *network, const char *zone,
		    const char *scope_tenant, json_t **out,
		    trellis_call_t *call);
int tr_ipam_ip_show(struct tr_store *s, const char *address,
		    const char *network, const char *scope_tenant,
		    json_t **out, trellis_call_t *call);

/* Port forwards of a routed network: public_port (protocol tcp/udp) to a
 * VM of the network, which must hold an address there. */
int tr_ipam_forward_add(struct tr_store *s, const char *network,
			const char *protocol, int64_t public_port,
			const char *vm, int64_t port, json_t **out,
			trellis_call_t *call);
int tr_ipam_forward_list(struct tr_store *s, const char *network,
			 json_t **out, trellis_call_t *call);
int tr_ipam_forward_remove(struct tr_store *s, const char *network,
			   const char *protocol, int64_t public_port,
			   json_t **out, trellis_call_t *call);

/*
 * What a network's router must be, for network.router_ensure: {network,
 * segment, tenant, cidr, prefix, gateway, dhcp_first, dhcp_last, domain,
 * host, uri, leases:[{mac, ip, hostname}], public: {ip, prefix, gateway,
 * bridge} or absent, forwards:[{protocol, public_port, ip, port}]}.  A
 * network that is not routed: {network, routed: false}.
 */
int tr_ipam_router_spec(struct tr_store *s, const char *network, json_t **out,
			trellis_call_t *call);
/* Marks a routed network as being deleted (spec.deleting): from then on
 * its router spec says routed false, so no sync makes the router again
 * while network.delete removes it, and the router check skips it. */
int tr_ipam_net_deleting(struct tr_store *s, const char *network,
			 trellis_call_t *call);
/* The names of every routed network not being deleted: {"items":[...]}. */
int tr_ipam_routed(struct tr_store *s, json_t **out, trellis_call_t *call);

#endif
