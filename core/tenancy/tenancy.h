/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenancy.h - what business units get: VM templates (the catalogue of VM
 * shapes, CloudStack's service offerings) and quotas (a BU's limits on
 * vcpus, memory, storage, VM count and VMs per template).  The quota is
 * enforced by the placement claim itself (core/placement/claims.h); this
 * module keeps the records (tables vm_template, bu_quota,
 * bu_template_quota; migration "bu-0002-quotas") and reports the use.
 *
 * Threads: the caller's store handle; writes on the main thread.
 */
#ifndef TRELLIS_CORE_TENANCY_H
#define TRELLIS_CORE_TENANCY_H

#include <jansson.h>

#include "../host/host.h"

struct tr_store;

/* fields: name, vcpus, memory_mib, disk_gib (required), image, kernel,
 * initrd, cmdline, max_nics, max_disks.  *out (may be NULL) gets the
 * record.  0, INVALID_ARG, CONFLICT, IO. */
int tr_template_create(struct tr_store *s, json_t *fields, json_t **out,
		       trellis_call_t *call);
int tr_template_get(struct tr_store *s, const char *name, json_t **out,
		    trellis_call_t *call);
int tr_template_list(struct tr_store *s, json_t **out, trellis_call_t *call);
int tr_template_delete(struct tr_store *s, const char *name,
		       trellis_call_t *call);
/* vm.provision's inputs from template NAME (inputs.template): every input
 * the template has and the caller did not give (vcpus, memory_mb, disk_gb,
 * kernel, initrd, cmdline) is filled in; explicit inputs win.  0,
 * NOTFOUND (no such template), INVALID_ARG (a cap exceeded). */
int tr_template_apply(struct tr_store *s, json_t *inputs,
		      trellis_call_t *call);

/* Sets bu's quotas: limits may hold vcpus, memory_mib, disk_gib, vms (a
 * number, or -1/null: no limit) and templates {NAME: vms, ...}; the ones
 * not given keep their values.  0, NOTFOUND (no such BU), IO. */
int tr_quota_set(struct tr_store *s, const char *bu, json_t *limits,
		 trellis_call_t *call);
/* {bu, limits: {vcpus, memory_mib, disk_gib, vms, templates: {...}},
 *  use: {vcpus, memory_mib, disk_gib, vms, templates: {...}}} */
int tr_quota_get(struct tr_store *s, const char *bu, json_t **out,
		 trellis_call_t *call);

#endif
