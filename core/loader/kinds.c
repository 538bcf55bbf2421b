/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kinds.c - what the loader knows about each plugin kind: the v1.0 size of
 * its ops table, which ops are required, and the names of all ops (for the
 * conformance checker and `trellis plugin show`).
 */
#include <stddef.h>

#include <trellis/hypervisor.h>
#include <trellis/network.h>
#include <trellis/policy.h>
#include <trellis/storage.h>

#include "loader.h"

#define OP(type, op) {#op, offsetof(struct type, op)},
#define N(a) (sizeof(a) / sizeof((a)[0]))

#define HV(op) OP(trellis_hypervisor_ops, op)
static const struct tr_kind_op hv_required[] = {
	TRELLIS_HYPERVISOR_REQUIRED_OPS(HV)};
static const struct tr_kind_op hv_all[] = {
	HV(connect) HV(disconnect) HV(host_info) HV(vm_list) HV(vm_create)
	HV(vm_destroy) HV(vm_info) HV(vm_start) HV(vm_shutdown) HV(vm_pause)
	HV(vm_resume) HV(vm_console) HV(vm_disk_attach) HV(vm_disk_detach)
	HV(vm_nic_attach) HV(vm_nic_detach)};

#define ST(op) OP(trellis_storage_ops, op)
static const struct tr_kind_op st_required[] = {
	TRELLIS_STORAGE_REQUIRED_OPS(ST)};
static const struct tr_kind_op st_all[] = {
	ST(pool_open) ST(pool_close) ST(pool_info) ST(vol_create)
	ST(vol_delete) ST(vol_info) ST(vol_list) ST(vol_resize) ST(vol_clone)
	ST(snapshot_create) ST(snapshot_delete)};

#define NW(op) OP(trellis_network_ops, op)
static const struct tr_kind_op nw_required[] = {
	TRELLIS_NETWORK_REQUIRED_OPS(NW)};
static const struct tr_kind_op nw_all[] = {
	NW(connect) NW(disconnect) NW(segment_ensure) NW(segment_release)
	NW(port_create) NW(port_delete) NW(rule_add) NW(rule_delete) NW(gc)};

#define PO(op) OP(trellis_policy_ops, op)
static const struct tr_kind_op po_required[] = {
	TRELLIS_POLICY_REQUIRED_OPS(PO)};
static const struct tr_kind_op po_all[] = {
	PO(filters) PO(weighers) PO(filter) PO(weigh)};

static const struct tr_kind_info kinds[] = {
	{TRELLIS_KIND_HYPERVISOR, "hypervisor", TRELLIS_HYPERVISOR_OPS_SIZE_1_0,
	 hv_required, N(hv_required), hv_all, N(hv_all)},
	{TRELLIS_KIND_STORAGE, "storage", TRELLIS_STORAGE_OPS_SIZE_1_0,
	 st_required, N(st_required), st_all, N(st_all)},
	{TRELLIS_KIND_NETWORK, "network", TRELLIS_NETWORK_OPS_SIZE_1_0,
	 nw_required, N(nw_required), nw_all, N(nw_all)},
	{TRELLIS_KIND_POLICY, "policy", TRELLIS_POLICY_OPS_SIZE_1_0,
	 po_required, N(po_required), po_all, N(po_all)},
};

const struct tr_kind_info *tr_kind_info(uint32_t kind)
{
	for (size_t i = 0; i < N(kinds); i++)
		if (kinds[i].kind == kind)
			return &kinds[i];
	return NULL;
}
