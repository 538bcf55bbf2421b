/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmspec.c - a VM's JSON arguments as the hypervisor ABI's typed specs
 * (vmspec.h): the disk and NIC objects checked against their fields, the
 * shape, boot and caps of trellis_vm_spec_t.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/alloc.h"
#include "../util/json.h"
#include "action.h"
#include "vmspec.h"

static const struct tr_field disk_fields[] = {
    {"path", TR_T_STRING, 1, "file or block device (absolute)"},
    {"format", TR_T_STRING, 0, "qcow2 or raw (default raw)"},
    {"target", TR_T_STRING, 0, "vda, sdb...; default: the next free"},
    {"bus", TR_T_STRING, 0, "virtio (default), sata, ide or scsi"},
    {"readonly", TR_T_BOOL, 0, "attach read-only"},
    {"read_iops_sec", TR_T_INT, 0, "IOPS cap on reads"},
    {"write_iops_sec", TR_T_INT, 0, "IOPS cap on writes"},
    {"read_bytes_sec", TR_T_SIZE, 0, "throughput cap on reads"},
    {"write_bytes_sec", TR_T_SIZE, 0, "throughput cap on writes"},
    TR_FIELDS_END};

static const struct tr_field nic_fields[] = {
    {"bridge", TR_T_STRING, 0, "host bridge (a segment's), or ifname"},
    {"ifname", TR_T_STRING, 0, "existing tap (a network port's)"},
    {"mac", TR_T_STRING, 0, "52:54:00:..; default: the backend's"},
    {"model", TR_T_STRING, 0, "default virtio"},
    {"inbound_kbps", TR_T_INT, 0, "bandwidth cap into the VM (KB/s)"},
    {"outbound_kbps", TR_T_INT, 0, "bandwidth cap out of it (KB/s)"},
    TR_FIELDS_END};

/* Checks an object against fields like the top-level schema check does
 * (unknown keys, missing ones, types), naming where it is. */
static int check_obj(json_t *o, const struct tr_field *fields,
		     const char *where, trellis_call_t *call)
{
	const char *key;
	json_t *v;
	char why[256];
	if (!json_is_object(o))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: expected object, got %s", where,
				   tr_json_type_name(o));
	json_object_foreach(o, key, v)
	{
		const struct tr_field *f = tr_field_find(fields, key);
		json_t *norm = NULL;
		if (!f)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: unknown field '%s'", where,
					   key);
		if (tr_field_check(f, v, &norm, why, sizeof why) < 0)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: field '%s': %s", where, key,
					   why);
		if (norm)
			json_object_set_new(o, key, norm);
	}
	for (const struct tr_field *f = fields; f->name; f++)
		if (f->required && !json_object_get(o, f->name))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: missing field '%s'", where,
					   f->name);
	return 0;
}

uint64_t tr_json_u64(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));
	return v > 0 ? (uint64_t)v : 0;
}

/* A disk from a path string or a disk object (normalised in place). */
int tr_disk_from_json(json_t *v, const char *where, trellis_disk_spec_t *d,
			  trellis_call_t *call)
{
	*d = (trellis_disk_spec_t){.struct_size = sizeof *d};
	if (json_is_string(v)) {
		d->path = json_string_value(v);
		return 0;
	}
	int rc = check_obj(v, disk_fields, where, call);
	if (rc < 0)
		return rc;
	d->path = tr_json_str_opt(v, "path");
	d->format = tr_json_str_opt(v, "format");
	d->target = tr_json_str_opt(v, "target");
	const char *bus = tr_json_str_opt(v, "bus");
	if (!bus || !strcmp(bus, "virtio"))
		d->bus = TRELLIS_DISK_BUS_VIRTIO;
	else if (!strcmp(bus, "sata"))
		d->bus = TRELLIS_DISK_BUS_SATA;
	else if (!strcmp(bus, "ide"))
		d->bus = TRELLIS_DISK_BUS_IDE;
	else if (!strcmp(bus, "scsi"))
		d->bus = TRELLIS_DISK_BUS_SCSI;
	else
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: bus '%s' is not virtio, sata, ide or "
				   "scsi",
				   where, bus);
	if (json_is_true(json_object_get(v, "readonly")))
		d->disk_flags |= TRELLIS_DISK_READONLY;
	d->read_iops_sec = tr_json_u64(v, "read_iops_sec");
	d->write_iops_sec = tr_json_u64(v, "write_iops_sec");
	d->read_bytes_sec = tr_json_u64(v, "read_bytes_sec");
	d->write_bytes_sec = tr_json_u64(v, "write_bytes_sec");
	return 0;
}

/* A NIC from a tap's name (a network port's ifname) or a NIC object. */
int tr_nic_from_json(json_t *v, const char *where, trellis_nic_spec_t *n,
			 trellis_call_t *call)
{
	*n = (trellis_nic_spec_t){.struct_size = sizeof *n};
	if (json_is_string(v)) {
		n->ifname = json_string_value(v);
		return 0;
	}
	int rc = check_obj(v, nic_fields, where, call);
	if (rc < 0)
		return rc;
	n->bridge = tr_json_str_opt(v, "bridge");
	n->ifname = tr_json_str_opt(v, "ifname");
	n->mac = tr_json_str_opt(v, "mac");
	n->model = tr_json_str_opt(v, "model");
	n->inbound_kbps = tr_json_u64(v, "inbound_kbps");
	n->outbound_kbps = tr_json_u64(v, "outbound_kbps");
	return 0;
}

/* The spec and the arrays it points into; tr_vm_spec_free() releases them. */
void tr_vm_spec_free(struct tr_vm_spec *v)
{
	free(v->disks);
	free(v->dp);
	free(v->nics);
	free(v->np);
}

/* The singular shorthand ("disk", "nic") goes first, then the arrays. */
static json_t *gather(json_t *args, const char *one, const char *many)
{
	json_t *all = json_array();
	if (json_object_get(args, one))
		json_array_append(all, json_object_get(args, one));
	json_array_extend(all, json_object_get(args, many));
	return all;
}

int tr_vm_spec_from_json(json_t *args, struct tr_vm_spec *v,
			     trellis_call_t *call)
{
	int rc = 0;
	char where[64];
	memset(v, 0, sizeof *v);
	trellis_vm_spec_t *s = &v->s;
	s->struct_size = sizeof *s;
	s->name = tr_json_str_opt(args, "name");
	s->uuid = tr_json_str_opt(args, "uuid");
	json_t *vcpus = json_object_get(args, "vcpus");
	s->vcpus = vcpus ? (uint32_t)json_integer_value(vcpus) : 1;
	json_t *mem = json_object_get(args, "memory");
	json_t *mib = json_object_get(args, "memory_mb");
	if (!!mem == !!mib)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "VM '%s': give memory (a size) or "
				   "memory_mb, one of them",
				   s->name);
	s->memory_mib =
	    mem ? tr_json_u64(args, "memory") >> 20 : tr_json_u64(args, "memory_mb");
	s->kernel = tr_json_str_opt(args, "kernel");
	s->initrd = tr_json_str_opt(args, "initrd");
	s->cmdline = tr_json_str_opt(args, "cmdline");
	s->serial_log = tr_json_str_opt(args, "serial_log");
	s->console_listen = tr_json_str_opt(args, "console_listen");
	s->domain_type = tr_json_str_opt(args, "domain_type");
	s->cpu_shares = (uint32_t)tr_json_u64(args, "cpu_shares");
	const char *console = tr_json_str_opt(args, "console");
	if (!console || !strcmp(console, "none"))
		s->console = TRELLIS_CONSOLE_NONE;
	else if (!strcmp(console, "vnc"))
		s->console = TRELLIS_CONSOLE_VNC;
	else
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "VM '%s': console '%s' is not vnc or none",
				   s->name, console);

	json_t *disks = gather(args, "disk", "disks");
	json_t *nics = gather(args, "nic", "nics");
	size_t nd = json_array_size(disks), nn = json_array_size(nics);
	v->disks = tr_xcalloc(nd + 1, sizeof *v->disks);
	v->dp = tr_xcalloc(nd + 1, sizeof *v->dp);
	v->nics = tr_xcalloc(nn + 1, sizeof *v->nics);
	v->np = tr_xcalloc(nn + 1, sizeof *v->np);
	if (!v->disks || !v->dp || !v->nics || !v->np) {
		rc = tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nd && !rc; i++) {
		snprintf(where, sizeof where, "disk %zu", i);
		rc = tr_disk_from_json(json_array_get(disks, i), where,
				    &v->disks[i], call);
		v->dp[i] = &v->disks[i];
	}
	for (size_t i = 0; i < nn && !rc; i++) {
		snprintf(where, sizeof where, "nic %zu", i);
		rc = tr_nic_from_json(json_array_get(nics, i), where, &v->nics[i],
				   call);
		v->np[i] = &v->nics[i];
	}
	s->disks = v->dp;
	s->n_disks = (uint32_t)nd;
	s->nics = v->np;
	s->n_nics = (uint32_t)nn;
out:
	/* The specs point into args, which outlive the call; the arrays
	 * built by gather() only hold references. */
	json_decref(disks);
	json_decref(nics);
	return rc;
}

/* Whether a disk or NIC of s has a cap. */
int tr_vm_has_io_caps(const trellis_vm_spec_t *s)
{
	for (uint32_t i = 0; i < s->n_disks; i++) {
		const trellis_disk_spec_t *d = s->disks[i];
		if (d->read_iops_sec || d->write_iops_sec || d->read_bytes_sec ||
		    d->write_bytes_sec)
			return 1;
	}
	for (uint32_t i = 0; i < s->n_nics; i++)
		if (s->nics[i]->inbound_kbps || s->nics[i]->outbound_kbps)
			return 1;
	return 0;
}

