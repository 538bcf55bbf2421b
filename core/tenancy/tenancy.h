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

/* ---- caps (caps.c; table bu_caps, vm_template.caps) ----
 * A VM's caps, per field: its offering's (the template's caps), then its
 * BU's default, then the global default (config caps:, 0: none). */
#define TR_CAP_N 7
/* cpu_shares, nic_inbound_kbps, nic_outbound_kbps, disk_read_iops_sec,
 * disk_write_iops_sec, disk_read_bytes_sec, disk_write_bytes_sec: the
 * order of struct tr_config's caps[]. */
extern const char *const tr_cap_fields[TR_CAP_N];
/* INVALID_ARG unless caps holds only cap fields, each >= 0 or null. */
int tr_caps_check(json_t *caps, const char *what, trellis_call_t *call);
/* A new object with the cap fields args has. */
json_t *tr_caps_pick(json_t *args);
/* Sets (null: unsets) bu's default caps; NOTFOUND, INVALID_ARG, IO. */
int tr_caps_bu_set(struct tr_store *s, const char *bu, json_t *caps,
		   trellis_call_t *call);
/* bu's default caps ({} when none). */
int tr_caps_bu_get(struct tr_store *s, const char *bu, json_t **out,
		   trellis_call_t *call);
/* {FIELD: {value, source}} for a VM of template_ (NULL/"": none) and bu
 * (NULL/"": none), global the config's caps[] (may be NULL); source is
 * "offering:NAME", "bu:NAME", "global" or "none". */
int tr_caps_effective(struct tr_store *s, const unsigned *global,
		      const char *template_, const char *bu, json_t **out,
		      trellis_call_t *call);
/* Sets vm.provision's cap inputs (each field's value) and inputs.caps
 * (the whole, sources included, as JSON text) from tr_caps_effective()'s result. */
void tr_caps_to_inputs(json_t *caps, json_t *inputs);

/* Sets bu's quotas: limits may hold vcpus, memory_mib, disk_gib, vms (a
 * number, or -1/null: no limit) and templates {NAME: vms, ...}; the ones
 * not given keep their values.  0, NOTFOUND (no such BU), IO. */
int tr_quota_set(struct tr_store *s, const char *bu, json_t *limits,
		 trellis_call_t *call);
/* {bu, limits: {vcpus, memory_mib, disk_gib, vms, templates: {...}},
 *  use: {vcpus, memory_mib, disk_gib, vms, templates: {...}}} */
int tr_quota_get(struct tr_store *s, const char *bu, json_t **out,
		 trellis_call_t *call);

/* ---- allocations (table allocation; migration bu-0003-allocations) ----
 * A BU admin requests compute (vcpus, memory_mib; optionally a zone
 * dedicated to it), storage (storage_gib in pool) and network (segments
 * from netpool); a change request gives
 * the new totals of the BU's active allocation.  States: requested ->
 * provisioning (approved: the allocation.provision workflow runs) ->
 * active, or rejected, or failed (its workflow compensated);
 * superseded (a change took its place). */

/* Records a request (change: of the BU's active allocation, refused when
 * it would shrink below what the BU uses, naming the use).  An
 * unregistered BU is NOTFOUND and nothing is stored. */
int tr_alloc_request(struct tr_store *s, const char *bu, json_t *fields,
		     const char *by, int change, json_t **out,
		     trellis_call_t *call);
int tr_alloc_get(struct tr_store *s, const char *name, json_t **out,
		 trellis_call_t *call);
/* {"items":[...]}, of BU bu only when not NULL. */
int tr_alloc_list(struct tr_store *s, const char *bu, json_t **out,
		  trellis_call_t *call);
/* Whether allocation a (its JSON) fits the capacity no other BU's
 * allocation holds: 0, or NOSPACE naming what is short and by how much
 * (*details: {"short": [{what, requested, free, short}]}). */
int tr_alloc_check(struct tr_store *s, json_t *a, json_t **details,
		   trellis_call_t *call);
/* Sets state, who decided, why and the workflow instance (each NULL:
 * kept). */
int tr_alloc_decide(struct tr_store *s, const char *name, const char *state,
		    const char *by, const char *reason, const char *instance,
		    trellis_call_t *call);
/* The allocation.provision steps: the BU's quota becomes the allocation
 * (undo: the one it changes, or none); its segments are made (undo: the
 * ones this allocation made are deleted); *made: their names. */
int tr_alloc_reserve(struct tr_store *s, const char *name, int undo,
		     trellis_call_t *call);
int tr_alloc_segments(struct tr_store *s, const char *name, int undo,
		      json_t **made, trellis_call_t *call);
/* ---- dedicated hosts and clusters (dedicate.c; table dedication) ---- */
/* Makes fields' "hosts" and "clusters" (a list of names, or the CLI's
 * comma-separated string) lists, each name checked to exist (NOTFOUND). */
int tr_dedicate_normalize(struct tr_store *s, const char *bu, json_t *fields,
			  trellis_call_t *call);
/* For approval: appends to msg (at *len, of cap) and to problems what
 * stands in the way of allocation a's dedications (another BU's, or VMs
 * of others on them). */
void tr_dedicate_check(struct tr_store *s, json_t *a, char *msg, size_t cap,
		       size_t *len, json_t *problems);
/* The allocation.provision step: records its dedications (a host or
 * cluster of the BU already is found and kept; another BU's: CONFLICT);
 * undo: deletes the rows this allocation made.  *made: [{kind, name}]. */
int tr_alloc_dedicate(struct tr_store *s, const char *name, int undo,
		      json_t **made, trellis_call_t *call);
/* When allocation name goes active: the BU's dedications it does not list
 * are given back, and those it lists become its own. */
int tr_dedicate_supersede(struct tr_store *s, const char *name,
			  trellis_call_t *call);

/* A dedicated zone (the allocation's zone): private, exclusive and owned
 * by the BU, so no other BU is placed there (undo: the zone as it was). */
int tr_alloc_zone(struct tr_store *s, const char *name, int undo,
		  trellis_call_t *call);

/* ---- chargeback (prices.c, report.c) ---- */

/* Prices in micro-units of the currency (1e-6), so that the arithmetic
 * is exact: per vcpu-hour, per GiB-hour of memory and of storage, per
 * network segment-hour, and per hour of a VM of each template (on top
 * of its resources). */
#define TR_PRICE_TEMPLATES 64
struct tr_prices {
	char currency[16];
	long long vcpu_hour, memory_gib_hour, storage_gib_hour, segment_hour;
	size_t ntemplates;
	struct {
		char name[65];
		long long hour;
	} templates[TR_PRICE_TEMPLATES];
};

/* Loads a price table:
 *   currency: EUR
 *   prices:
 *     vcpu_hour: 0.02
 *     memory_gib_hour: 0.005
 *     storage_gib_hour: 0.0001
 *     segment_hour: 0.01
 *     templates: {small: 0.01}
 * A price is a decimal with at most 6 digits after the point.  0, or -1
 * with "FILE:LINE:COL: reason" in err. */
int tr_prices_load(const char *path, struct tr_prices *p, char *err,
		   size_t errlen);

/* Chargeback of bu (NULL: every BU) over [from, to) (unix seconds):
 * {currency, from, to, items: [{bu, basis ("reservation": what its
 * allocations reserved; "allocation": what its VMs used), resource,
 * quantity (unit-hours, 6 decimals), unit_price, amount}...],
 * totals: [{bu, reservation, allocation}]}; amounts are strings with two
 * decimals, the exact sum of quantity x price over the recorded
 * intervals, rounded half up to the cent once per line. */
int tr_report_chargeback(struct tr_store *s, const struct tr_prices *p,
			 const char *bu, long long from, long long to,
			 json_t **out, trellis_call_t *call);
/* What each BU (bu, or all) holds against what it was given now:
 * {items: [{bu, resource, allocated, used, percent}]} */
int tr_report_utilization(struct tr_store *s, const char *bu, json_t **out,
			  trellis_call_t *call);

#endif
