/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xen_map.c - pure translations between Xen's and Trellis's vocabularies
 * (see xen_map.h).  No handle to Xen is needed here, so all of it is
 * unit-tested without a hypervisor.
 */
#include "xen_map.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl_utils.h>
#include <xen/sched.h>

int xen_state_from_flags(uint32_t flags)
{
	/* Order matters: a dying or shut-down domain may still carry the
	 * paused or blocked bits of its last moments. */
	if (flags & XEN_DOMINF_dying)
		return TRELLIS_VM_SHUTTING_DOWN;
	if (flags & XEN_DOMINF_shutdown) {
		unsigned reason = (flags >> XEN_DOMINF_shutdownshift) &
				  XEN_DOMINF_shutdownmask;
		switch (reason) {
		case SHUTDOWN_crash:
			return TRELLIS_VM_CRASHED;
		case SHUTDOWN_suspend:
			return TRELLIS_VM_SUSPENDED;
		default: /* poweroff, reboot, watchdog, soft_reset */
			return TRELLIS_VM_SHUTOFF;
		}
	}
	if (flags & XEN_DOMINF_paused)
		return TRELLIS_VM_PAUSED;
	if (flags & XEN_DOMINF_blocked)
		return TRELLIS_VM_BLOCKED;
	/* Running on a CPU, or runnable and waiting for one ("------" in
	 * `xl list`): both are running to an operator. */
	return TRELLIS_VM_RUNNING;
}

int xen_code_from_errno(int err)
{
	switch (err) {
	case ESRCH:
		return TRELLIS_E_NOTFOUND;
	case ENOMEM:
	case ENOSPC:
		return TRELLIS_E_NOSPACE;
	case EINVAL:
	case E2BIG:
	case ERANGE:
		return TRELLIS_E_INVALID_ARG;
	case EPERM:
	case EACCES:
		return TRELLIS_E_PERMISSION;
	case EBUSY:
	case EAGAIN:
	case EUSERS:
		return TRELLIS_E_BUSY;
	case ETIMEDOUT:
		return TRELLIS_E_TIMEOUT;
	case ENOENT:
	case ENXIO:
	case ENODEV:
	case ECONNREFUSED:
	case ENOSYS:
		return TRELLIS_E_UNAVAILABLE;
	case EEXIST:
		return TRELLIS_E_CONFLICT;
	case EOPNOTSUPP:
		return TRELLIS_E_NOTSUP;
	default:
		return TRELLIS_E_BACKEND;
	}
}

int xen_code_from_libxl(int rc)
{
	switch (rc) {
	case 0:
		return TRELLIS_OK;
	case ERROR_NOMEM:
		/* libxl says NOMEM when the host cannot give the guest its
		 * memory, which to Trellis is an exhausted pool. */
		return TRELLIS_E_NOSPACE;
	case ERROR_INVAL:
	case ERROR_VNUMA_CONFIG_INVALID:
		return TRELLIS_E_INVALID_ARG;
	case ERROR_NI:
	case ERROR_NOPARAVIRT:
	case ERROR_FEATURE_REMOVED:
		return TRELLIS_E_NOTSUP;
	case ERROR_DOMAIN_NOTFOUND:
	case ERROR_NOTFOUND:
	case ERROR_DOMAIN_DESTROYED:
		return TRELLIS_E_NOTFOUND;
	case ERROR_GUEST_TIMEDOUT:
	case ERROR_TIMEDOUT:
		return TRELLIS_E_TIMEOUT;
	case ERROR_LOCK_FAIL:
	case ERROR_NOT_READY:
		return TRELLIS_E_BUSY;
	case ERROR_DEVICE_EXISTS:
		return TRELLIS_E_CONFLICT;
	case ERROR_ABORTED:
		return TRELLIS_E_CANCELLED;
	case ERROR_VERSION:
		return TRELLIS_E_ABI;
	default:
		return TRELLIS_E_BACKEND;
	}
}

int xen_uri_check(const char *uri, char *err, size_t errlen)
{
	static const char *const local[] = {"xen:", "xen://", "xen:///",
					    "xen:///system", NULL};

	if (!uri)
		return 0;
	for (size_t i = 0; local[i]; i++)
		if (strcmp(uri, local[i]) == 0)
			return 0;
	if (strncmp(uri, "xen://", 6) == 0) {
		snprintf(err, errlen,
			 "connect URI '%s' names a remote host; the Xen plugin "
			 "drives the local hypervisor only (use \"xen:///\" on "
			 "that host's dom0)",
			 uri);
		return TRELLIS_E_NOTSUP;
	}
	snprintf(err, errlen,
		 "connect URI '%s' is not a Xen URI (expected \"xen:///\")",
		 uri);
	return TRELLIS_E_INVALID_ARG;
}

int xen_uuid_parse(const char *s, uint8_t out[16])
{
	libxl_uuid u;

	/* libxl_uuid_from_string accepts only the canonical 36-character
	 * form; check the length too, so "uuid with trailing junk" fails. */
	if (!s || strlen(s) != 36 || libxl_uuid_from_string(&u, s) != 0)
		return TRELLIS_E_INVALID_ARG;
	memcpy(out, libxl_uuid_bytearray(&u), 16);
	return 0;
}

void xen_uuid_format(const uint8_t h[16], char *out, size_t len)
{
	snprintf(out, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9],
		 h[10], h[11], h[12], h[13], h[14], h[15]);
}

uint64_t xen_version_encode(int xc_version, const char *extra)
{
	uint64_t major = ((unsigned)xc_version >> 16) & 0xffff;
	uint64_t minor = (unsigned)xc_version & 0xffff;
	uint64_t micro = 0;

	/* extra is ".7" for a release, "-rc" or "-unstable" otherwise. */
	if (extra && extra[0] == '.')
		micro = strtoull(extra + 1, NULL, 10);
	if (micro > 999)
		micro = 999;
	return major * 1000000 + minor * 1000 + micro;
}

static int parse_mac(const char *s, libxl_mac mac)
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

#define SPEC_HAS(s, field)                                                     \
	((s)->struct_size >=                                                   \
	 offsetof(trellis_vm_spec_t, field) + sizeof((s)->field))

static int translate_disks(const trellis_vm_spec_t *spec,
			   libxl_domain_config *cfg, char *err, size_t errlen)
{
	unsigned next = 0; /* next free xvd letter for disks without target */

	if (spec->n_disks == 0)
		return 0;
	if (!spec->disks || spec->n_disks > 26) {
		snprintf(err, errlen, "%u disks: at most 26 (xvda..xvdz)",
			 spec->n_disks);
		return TRELLIS_E_INVALID_ARG;
	}
	cfg->disks = calloc(spec->n_disks, sizeof *cfg->disks);
	if (!cfg->disks) {
		snprintf(err, errlen, "out of memory");
		return TRELLIS_E_NOMEM;
	}
	for (uint32_t i = 0; i < spec->n_disks; i++) {
		const trellis_disk_spec_t *d = spec->disks[i];
		libxl_device_disk *x = &cfg->disks[i];

		libxl_device_disk_init(x);
		cfg->num_disks = (int)i + 1; /* so dispose frees what we made */
		if (!d || !d->path || !d->path[0]) {
			snprintf(err, errlen, "disk %u has no path", i);
			return TRELLIS_E_INVALID_ARG;
		}
		if (d->bus != TRELLIS_DISK_BUS_DEFAULT) {
			snprintf(
			    err, errlen,
			    "disk %u (%s): bus %u: a PV guest has only "
			    "Xen's own block frontend (use the default bus)",
			    i, d->path, d->bus);
			return TRELLIS_E_NOTSUP;
		}
		if (d->read_iops_sec || d->write_iops_sec ||
		    d->read_bytes_sec || d->write_bytes_sec) {
			snprintf(err, errlen,
				 "disk %u (%s): I/O caps are not supported by "
				 "the Xen plugin",
				 i, d->path);
			return TRELLIS_E_NOTSUP;
		}
		if (d->disk_flags & ~(uint32_t)TRELLIS_DISK_READONLY) {
			snprintf(err, errlen,
				 "disk %u (%s): unknown flags 0x%x", i, d->path,
				 d->disk_flags);
			return TRELLIS_E_INVALID_ARG;
		}
		if (!d->format || strcmp(d->format, "raw") == 0) {
			x->format = LIBXL_DISK_FORMAT_RAW;
		} else if (strcmp(d->format, "qcow2") == 0) {
			x->format = LIBXL_DISK_FORMAT_QCOW2;
		} else {
			snprintf(err, errlen,
				 "disk %u (%s): format '%s' (expected raw or "
				 "qcow2)",
				 i, d->path, d->format);
			return TRELLIS_E_INVALID_ARG;
		}
		x->pdev_path = strdup(d->path);
		if (d->target) {
			x->vdev = strdup(d->target);
		} else {
			char vdev[8];
			snprintf(vdev, sizeof vdev, "xvd%c", 'a' + next++);
			x->vdev = strdup(vdev);
		}
		x->readwrite = !(d->disk_flags & TRELLIS_DISK_READONLY);
		if (!x->pdev_path || !x->vdev) {
			snprintf(err, errlen, "out of memory");
			return TRELLIS_E_NOMEM;
		}
	}
	return 0;
}

static int translate_nics(const trellis_vm_spec_t *spec,
			  libxl_domain_config *cfg, char *err, size_t errlen)
{
	if (spec->n_nics == 0)
		return 0;
	if (!spec->nics) {
		snprintf(err, errlen, "%u nics but no array", spec->n_nics);
		return TRELLIS_E_INVALID_ARG;
	}
	cfg->nics = calloc(spec->n_nics, sizeof *cfg->nics);
	if (!cfg->nics) {
		snprintf(err, errlen, "out of memory");
		return TRELLIS_E_NOMEM;
	}
	for (uint32_t i = 0; i < spec->n_nics; i++) {
		const trellis_nic_spec_t *n = spec->nics[i];
		libxl_device_nic *x = &cfg->nics[i];

		libxl_device_nic_init(x);
		cfg->num_nics = (int)i + 1;
		if (!n) {
			snprintf(err, errlen, "nic %u is NULL", i);
			return TRELLIS_E_INVALID_ARG;
		}
		/* Xen's backend makes its own vif device; it cannot adopt a
		 * tap that someone else made. */
		if (!n->bridge || !n->bridge[0]) {
			snprintf(
			    err, errlen,
			    "nic %u: Xen needs a bridge for the guest's vif "
			    "(an existing tap%s%s cannot be used)",
			    i, n->ifname ? " " : "",
			    n->ifname ? n->ifname : "");
			return TRELLIS_E_NOTSUP;
		}
		if (n->model && strcmp(n->model, "virtio") != 0 &&
		    strcmp(n->model, "netfront") != 0) {
			snprintf(
			    err, errlen,
			    "nic %u: model '%s': a PV guest has only Xen's "
			    "netfront",
			    i, n->model);
			return TRELLIS_E_NOTSUP;
		}
		if (n->inbound_kbps || n->outbound_kbps) {
			snprintf(err, errlen,
				 "nic %u: bandwidth caps are not supported by "
				 "the Xen plugin",
				 i);
			return TRELLIS_E_NOTSUP;
		}
		x->devid = (libxl_devid)i;
		x->bridge = strdup(n->bridge);
		if (!x->bridge) {
			snprintf(err, errlen, "out of memory");
			return TRELLIS_E_NOMEM;
		}
		if (n->ifname && !(x->ifname = strdup(n->ifname))) {
			snprintf(err, errlen, "out of memory");
			return TRELLIS_E_NOMEM;
		}
		if (n->mac && parse_mac(n->mac, x->mac) != 0) {
			snprintf(err, errlen,
				 "nic %u: MAC '%s' is not six hex pairs", i,
				 n->mac);
			return TRELLIS_E_INVALID_ARG;
		}
	}
	return 0;
}

int xen_spec_to_config(const trellis_vm_spec_t *spec, const char *name,
		       const uint8_t uuid[16], const char *idem_key,
		       libxl_domain_config *cfg, char *err, size_t errlen)
{
	libxl_domain_create_info *c = &cfg->c_info;
	libxl_domain_build_info *b = &cfg->b_info;
	int rc;

	if (!spec || !SPEC_HAS(spec, domain_type)) {
		snprintf(err, errlen,
			 "VM spec missing or older than ABI 1.0 "
			 "(struct_size too small)");
		return TRELLIS_E_INVALID_ARG;
	}
	if (!name || !name[0] || strlen(name) > 127) {
		snprintf(err, errlen, "VM name must have 1..127 characters");
		return TRELLIS_E_INVALID_ARG;
	}
	if (spec->vcpus == 0 || spec->vcpus > XEN_MAX_VCPUS) {
		snprintf(err, errlen, "VM '%s': %u vcpus (expected 1..%d)",
			 name, spec->vcpus, XEN_MAX_VCPUS);
		return TRELLIS_E_INVALID_ARG;
	}
	/* 1 TiB per guest is far beyond any host this runs on; above it the
	 * KiB count would also overflow libxl's arithmetic. */
	if (spec->memory_mib == 0 || spec->memory_mib > (UINT64_C(1) << 20)) {
		snprintf(err, errlen,
			 "VM '%s': memory %" PRIu64 " MiB (expected 1..%" PRIu64
			 ")",
			 name, spec->memory_mib, UINT64_C(1) << 20);
		return TRELLIS_E_INVALID_ARG;
	}
	if (spec->domain_type && strcmp(spec->domain_type, "pv") != 0) {
		snprintf(err, errlen,
			 "VM '%s': domain type '%s': the Xen plugin creates PV "
			 "guests only",
			 name, spec->domain_type);
		return TRELLIS_E_NOTSUP;
	}
	if (!spec->kernel || !spec->kernel[0]) {
		snprintf(err, errlen,
			 "VM '%s': no kernel: the Xen plugin boots PV guests "
			 "from kernel + initrd (booting from a disk needs a "
			 "bootloader such as pygrub, which it does not drive)",
			 name);
		return TRELLIS_E_NOTSUP;
	}
	if (spec->console != TRELLIS_CONSOLE_NONE) {
		snprintf(err, errlen,
			 "VM '%s': console type %u: the Xen plugin offers no "
			 "VNC console (the PV console is xenconsoled's)",
			 name, spec->console);
		return TRELLIS_E_NOTSUP;
	}
	if (spec->serial_log) {
		snprintf(err, errlen,
			 "VM '%s': serial_log: the PV console is logged by "
			 "xenconsoled (--log=guest), not per VM by the plugin",
			 name);
		return TRELLIS_E_NOTSUP;
	}

	c->type = LIBXL_DOMAIN_TYPE_PV;
	c->name = strdup(name);
	memcpy(libxl_uuid_bytearray(&c->uuid), uuid, 16);
	if (!c->name)
		goto nomem;
	if (idem_key && idem_key[0]) {
		c->xsdata = calloc(3, sizeof(char *));
		if (!c->xsdata)
			goto nomem;
		c->xsdata[0] = strdup(XEN_IDEM_XS_KEY);
		c->xsdata[1] = strdup(idem_key);
		if (!c->xsdata[0] || !c->xsdata[1])
			goto nomem;
	}

	libxl_domain_build_info_init_type(b, LIBXL_DOMAIN_TYPE_PV);
	b->max_vcpus = (int)spec->vcpus;
	/* libxl brings up only vcpu 0 unless avail_vcpus says otherwise.
	 * libxl_bitmap_alloc wants a live ctx only to report a failed
	 * allocation, so the map is allocated here (dispose frees it). */
	b->avail_vcpus.size = (spec->vcpus + 7) / 8;
	b->avail_vcpus.map = calloc(b->avail_vcpus.size, 1);
	if (!b->avail_vcpus.map) {
		b->avail_vcpus.size = 0;
		goto nomem;
	}
	for (uint32_t i = 0; i < spec->vcpus; i++)
		libxl_bitmap_set(&b->avail_vcpus, (int)i);
	b->max_memkb = b->target_memkb = spec->memory_mib * 1024;
	b->kernel = strdup(spec->kernel);
	if (!b->kernel)
		goto nomem;
	if (spec->initrd && !(b->ramdisk = strdup(spec->initrd)))
		goto nomem;
	if (spec->cmdline && !(b->cmdline = strdup(spec->cmdline)))
		goto nomem;

	rc = translate_disks(spec, cfg, err, errlen);
	if (rc == 0)
		rc = translate_nics(spec, cfg, err, errlen);
	if (rc != 0) {
		/* Prefix the VM's name: the helpers do not know it. */
		char tmp[512];
		snprintf(tmp, sizeof tmp, "VM '%s': %s", name, err);
		snprintf(err, errlen, "%s", tmp);
	}
	return rc;

nomem:
	snprintf(err, errlen, "VM '%s': out of memory building its config",
		 name);
	return TRELLIS_E_NOMEM;
}
