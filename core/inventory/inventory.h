/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inventory.h - the inventory follows the infrastructure: hosts are
 * probed through their hypervisor plugin and their records (capacity,
 * state, the VMs they run) are written from what the plugin said, by the
 * API's host.add and host.refresh and by a periodic refresh; VM records
 * follow the plugins' vm.state events.
 *
 * Every plugin call goes through an action (hypervisor.host_probe, on a
 * worker); the records are written on the main thread, the store's only
 * writer.  Main thread only, except tr_vm_event_hook() (any thread).
 */
#ifndef TRELLIS_CORE_INVENTORY_H
#define TRELLIS_CORE_INVENTORY_H

#include <jansson.h>
#include <stdint.h>

#include "../runtime/daemon.h"

struct tr_store; /* core/store/store.h */

/* tr_inventory_host_sync() flags */
#define TR_HOST_SYNC_REFRESH (1u << 0)    /* update a recorded host (else
					     record a new one) */
#define TR_HOST_SYNC_BACKGROUND (1u << 1) /* nobody waits: log the outcome */

/* host is the host's record as stored (a new reference) after the sync,
 * with "vms" (how many VMs the hypervisor runs) added; NULL on failure,
 * with the plugin's or the store's error in call. */
typedef void (*tr_host_synced_fn)(struct tr_daemon *d, void *arg,
				  json_t *host, trellis_call_t *call);

/*
 * CONFLICT (set in call) when hypervisor uri is a host already known
 * under another name, or when the machine it runs on (host_uuid, from
 * host_info since ABI 1.1; NULL or "": not known yet) is; 0 otherwise.
 * Two URIs can reach one machine (qemu:///system and
 * qemu+ssh://it/system): its capacity must not count twice.  A URI is
 * compared only with the hosts reached the same road (agent, or NULL:
 * directly): qemu:///system at two private sites is two hypervisors.
 */
int tr_inventory_host_conflict(struct tr_store *s, const char *name,
			       const char *uri, const char *host_uuid,
			       const char *agent, trellis_call_t *call);

/*
 * Probes host name through plugin at uri and records it: a new host under
 * cluster, or (TR_HOST_SYNC_REFRESH) the recorded one's capacity, with its
 * state "up", or "unreachable" and the error when the probe failed.  The
 * VMs the hypervisor runs are recorded as discovered, known ones get their
 * state, and discovered ones that vanished are dropped, in the same
 * transaction.  Publishes host.added, host.refreshed or host.state.  done
 * runs exactly once, on the main thread (at once when the job cannot be
 * queued); 0, or the error that done was given.  options (borrowed, may
 * be NULL) are the host's own, for its plugin's connect; a new host
 * records them in its spec.
 */
int tr_inventory_host_sync(struct tr_daemon *d, unsigned flags,
			   const char *name, const char *cluster,
			   const char *plugin, const char *uri,
			   json_t *options, tr_host_synced_fn done, void *arg);
/* The same for a host behind a private zone's agent (agent NULL:
 * direct): the probe is relayed to the agent, and an added host is bound
 * to it in the transaction that records it. */
int tr_inventory_host_sync_via(struct tr_daemon *d, unsigned flags,
			       const char *name, const char *cluster,
			       const char *plugin, const char *uri,
			       const char *agent, json_t *options,
			       tr_host_synced_fn done, void *arg);

/* Records an agent's inventory report (core/relay's report hook): each
 * entry a hypervisor.host_probe result for one of the agent's hosts, as
 * a refresh; a host that is not that agent's is ignored (an agent only
 * reports, it never adds). */
void tr_inventory_agent_report(struct tr_daemon *d, const char *agent,
			       json_t *hosts);

/* Records an agent's delta (core/relay's delta hook): vm is one VM's
 * vm.state event on host, applied as a local plugin's event would be
 * (vm_events.c); a host that is not agent's is ignored. */
void tr_inventory_agent_delta(struct tr_daemon *d, const char *agent,
			      const char *host, json_t *vm);

/* CONFLICT (set in call) when hypervisor uri is a host already known
 * under another name, or when the machine it runs on (host_uuid, from
 * host_info since ABI 1.1; NULL or "": not known yet) is; 0 otherwise.
 * Two URIs can reach one machine (qemu:///system and
 * qemu+ssh://it/system): its capacity must not count twice.  A new host
 * is checked before its probe (host.add) and again with its host_uuid
 * when the probe returns. */
int tr_inventory_host_conflict(struct tr_store *s, const char *name,
			       const char *uri, const char *host_uuid,
			       const char *agent, trellis_call_t *call);

/* Refreshes every host every interval_ms (0: never) on the workers. */
void tr_hosts_refresh_start(struct tr_daemon *d, uint64_t interval_ms);
/* Routers (routers.c): soon after start, then every interval_ms, every
 * routed network's router is synced with the store by
 * network.router_ensure, which also restarts a DHCP/DNS server that died
 * (a crash of the router's dnsmasq, or of the host).  A round still
 * running skips the next.  0: never. */
void tr_routers_check_start(struct tr_daemon *d, uint64_t interval_ms);

/* The events hook (core/events) that keeps VM records current from the
 * plugins' vm.state events; arg is the struct tr_daemon. */
void tr_vm_event_hook(void *arg, const char *topic, json_t *body);

#endif
