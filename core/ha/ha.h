/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ha.h - host HA: a failed host's HA-enabled VMs restarted on other hosts
 * of its pod, after the host was fenced (docs/ha.md).
 *
 * Every ha.interval, each host is probed (the ha.probe action on a
 * worker: its hypervisor connection and the operator's probe command).
 * A host whose connection and probe have both been failing for
 * ha.fail_after is declared failed (host state "failed") and fenced with
 * ha.fence_action (fence.script by default; fence.redfish and
 * fence.ipmitool power it off through its BMC, ha.bmc.*), given the
 * arguments that action declares.  Only a fence that
 * succeeded lets anything restart: the host becomes "fenced" and each of
 * its VMs recorded with ha: true goes through the vm.ha_restart workflow
 * (placement in the same pod, the same disks and NIC); a fence that
 * failed leaves the host "fence_failed" and its VMs where they were, as
 * no VM may run twice.  A VM that fits nowhere is recorded failed with
 * placement's reason and listed by `trellis ha status`.  A fenced host
 * is asked now and then whether its hypervisor answers again; once it
 * does, the domains it kept of VMs now recorded on other hosts are
 * undefined (never started) and HA's state of it is "returned".  Every
 * step is audited (user "ha": ha.host_failed, ha.fence, ha.restart,
 * ha.stale_undefined) and published (ha.*).
 *
 * State: tables ha_host and ha_restart (store migration ha-0001); the
 * module's own (static in ha.c: one daemon a process) only says which
 * probes and fences are in flight.  Main thread.
 */
#ifndef TRELLIS_CORE_HA_H
#define TRELLIS_CORE_HA_H

#include <jansson.h>

#include "../runtime/daemon.h"

/* Starts the monitor when config ha.interval is not 0. */
void tr_ha_start(struct tr_daemon *d);
void tr_ha_stop(struct tr_daemon *d);

/* {hosts: [{host, state, failing_since, changed_at, reason}],
 *  restarts: [{vm, name, from, instance, state, to, error, at}]} */
int tr_ha_status(struct tr_store *s, json_t **out, trellis_call_t *call);
/* Forgets host's HA state (the operator repaired it): it is probed
 * afresh, and its record's state is "up" again once a refresh reaches
 * it.  NOTFOUND when HA holds nothing of it. */
int tr_ha_clear(struct tr_daemon *d, const char *host, trellis_call_t *call);

#endif
