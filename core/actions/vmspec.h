/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmspec.h - a VM's JSON arguments as the hypervisor ABI's typed specs
 * (trellis_vm_spec_t with its disk and NIC specs), for the hypervisor.*
 * actions (hypervisor.c).  Internal to core/actions.
 */
#ifndef TRELLIS_CORE_ACTIONS_VMSPEC_H
#define TRELLIS_CORE_ACTIONS_VMSPEC_H

#include <jansson.h>
#include <stdint.h>

#include <trellis/hypervisor.h>

/* The fields every hypervisor.* action on a VM takes. */
#define HOST_FIELD                                                             \
	{                                                                      \
		"host", TR_T_STRING, 1, "the host (its hypervisor)"            \
	}
#define UUID_FIELD                                                             \
	{                                                                      \
		"uuid", TR_T_STRING, 1, "the VM's uuid"                        \
	}

/* A spec and the arrays it points into (tr_vm_spec_free frees them). */
struct tr_vm_spec {
	trellis_vm_spec_t s;
	trellis_disk_spec_t *disks;
	const trellis_disk_spec_t **dp;
	trellis_nic_spec_t *nics;
	const trellis_nic_spec_t **np;
};

/* Fills v from args (disks/disk, nics/nic, boot, shape, caps); 0, or
 * INVALID_ARG naming the field, in call. */
int tr_vm_spec_from_json(json_t *args, struct tr_vm_spec *v,
			 trellis_call_t *call);
void tr_vm_spec_free(struct tr_vm_spec *v);
/* One disk or NIC object (where: its place in the arguments, for errors). */
int tr_disk_from_json(json_t *v, const char *where, trellis_disk_spec_t *d,
		      trellis_call_t *call);
int tr_nic_from_json(json_t *v, const char *where, trellis_nic_spec_t *n,
		     trellis_call_t *call);
/* Whether a disk or NIC of s has a cap. */
int tr_vm_has_io_caps(const trellis_vm_spec_t *s);
/* An unsigned integer member of o (0 when absent or not one). */
uint64_t tr_json_u64(json_t *o, const char *key);

#endif
