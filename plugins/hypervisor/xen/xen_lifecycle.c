/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xen_lifecycle.c - the ops that make and end Xen VMs: vm_create (PV,
 * through libxl, idempotent by a key kept in xenstore), vm_destroy and
 * vm_shutdown.  Everything that reads domains lives in xen.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenstore.h>

#include "xen_conn.h"
#include "xen_map.h"

/* The idempotency key recorded with domain domid, or NULL (free()). */
static char *idem_key_of(struct xen_conn *c, uint32_t domid)
{
	char path[64];
	unsigned int len;

	snprintf(path, sizeof path, "/local/domain/%u/%s", domid,
		 XEN_IDEM_XS_KEY);
	return xs_read(c->xsh, XBT_NULL, path, &len);
}

struct find_key {
	const char *key;
	xc_domaininfo_t found;
};

static int match_key(struct xen_conn *c, const xc_domaininfo_t *di, void *arg)
{
	struct find_key *f = arg;
	char *k;
	int hit;

	if (di->domain == 0 || (di->flags & XEN_DOMINF_dying))
		return 0;
	k = idem_key_of(c, di->domain);
	hit = k && strcmp(k, f->key) == 0;
	free(k);
	if (!hit)
		return 0;
	f->found = *di;
	return 1;
}

/* ---- destroy and shutdown ---- */

static int destroy_domid(struct xen_conn *c, trellis_call_t *call,
			 const char *op, const char *uuid, uint32_t domid)
{
	xc_domaininfo_t di;
	int rc, n;

	c->last[0] = '\0';
	/* libxl rather than xc_domain_destroy: it also tears down the
	 * backends and xenstore entries, so nothing lingers as a zombie. */
	rc = libxl_domain_destroy(c->ctx, domid, NULL);
	if (rc == 0 || rc == ERROR_DOMAIN_NOTFOUND)
		return 0;
	/* Someone else (another destroy, the guest's own poweroff reaped by
	 * a toolstack) may have got there first: gone or dying is what was
	 * asked for. */
	n = xc_domain_getinfolist(c->xch, domid, 1, &di);
	if (n == 0 ||
	    (n == 1 && (di.domain != domid || (di.flags & XEN_DOMINF_dying))))
		return 0;
	return xen_fail(c, call, xen_code_from_libxl(rc), rc,
			"%s: destroying VM %s (domain %u) failed: %s", op, uuid,
			domid, libxl_error_to_string(rc));
}

int xen_vm_destroy(void *conn, trellis_call_t *call, const char *uuid,
		   const char *idem_key, uint32_t flags)
{
	struct xen_conn *c = conn;
	xc_domaininfo_t di;
	int r;

	(void)idem_key; /* destroying is idempotent by itself */
	if (flags)
		return xen_bad_flags(c->st->host, call, "vm_destroy", flags, 0);
	r = xen_lookup(c, call, "vm_destroy", uuid, &di);
	if (r <= 0)
		return r; /* 0: already gone, which is success */
	return destroy_domid(c, call, "vm_destroy", uuid, di.domain);
}

int xen_vm_shutdown(void *conn, trellis_call_t *call, const char *uuid,
		    uint32_t timeout_s, uint32_t flags)
{
	struct xen_conn *c = conn;
	const trellis_host_t *host = c->st->host;
	struct timespec start, now, tick = {0, 100 * 1000 * 1000};
	xc_domaininfo_t di;
	int r;

	if (flags & ~(uint32_t)TRELLIS_VM_SHUTDOWN_FORCE)
		return xen_bad_flags(host, call, "vm_shutdown", flags,
				     TRELLIS_VM_SHUTDOWN_FORCE);
	r = xen_lookup(c, call, "vm_shutdown", uuid, &di);
	if (r < 0)
		return r;
	if (r == 0)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "vm_shutdown: no Xen domain has UUID %s",
				       uuid);
	if (!(di.flags & (XEN_DOMINF_shutdown | XEN_DOMINF_dying))) {
		/* The PV shutdown protocol is this one xenstore write (the
		 * guest's kernel watches the node).  libxl_domain_shutdown
		 * does the same but then blocks for up to a minute waiting
		 * for the guest to acknowledge, whatever timeout_s says. */
		char path[64];
		snprintf(path, sizeof path, "/local/domain/%u/control/shutdown",
			 di.domain);
		c->last[0] = '\0';
		if (!xs_write(c->xsh, XBT_NULL, path, "poweroff", 8) &&
		    !(flags & TRELLIS_VM_SHUTDOWN_FORCE)) {
			int e = errno;
			return xen_fail(c, call, xen_code_from_errno(e), e,
					"vm_shutdown: asking VM %s (domain %u) "
					"to shut down failed: %s",
					uuid, di.domain, strerror(e));
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		r = xen_find_by_uuid(c, call, di.handle, &di);
		if (r < 0)
			return r;
		/* Xen keeps a shut-down domain until its toolstack reaps it;
		 * with no definition kept elsewhere, reaping ends the VM. */
		if (r == 0)
			return 0;
		if (di.flags & XEN_DOMINF_shutdown)
			return destroy_domid(c, call, "vm_shutdown", uuid,
					     di.domain);
		if (host->cancelled(call))
			return host->set_error(call, TRELLIS_E_CANCELLED,
					       "vm_shutdown of %s cancelled",
					       uuid);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= (time_t)timeout_s)
			break;
		nanosleep(&tick, NULL);
	}
	if (flags & TRELLIS_VM_SHUTDOWN_FORCE)
		return destroy_domid(c, call, "vm_shutdown", uuid, di.domain);
	return host->set_error(call, TRELLIS_E_TIMEOUT,
			       "vm_shutdown: VM %s (domain %u) did not shut "
			       "down within %u s",
			       uuid, di.domain, timeout_s);
}

/* ---- create ---- */

/* libxl would find a missing kernel only after making the domain, and
 * say so in a log line; checking first gives the caller the file's name
 * and reason with INVALID_ARG. */
static int check_file(const trellis_host_t *host, trellis_call_t *call,
		      const char *name, const char *what, const char *path)
{
	int e;

	if (!path || access(path, R_OK) == 0)
		return 0;
	e = errno;
	host->set_error(call, TRELLIS_E_INVALID_ARG,
			"vm_create: VM '%s': %s %s: %s (paths are dom0's)",
			name, what, path, strerror(e));
	host->set_error_backend(call, e, 0);
	return TRELLIS_E_INVALID_ARG;
}

static int check_memory(struct xen_conn *c, trellis_call_t *call,
			const char *name, uint64_t mib)
{
	const trellis_host_t *host = c->st->host;
	xc_physinfo_t pi;
	uint64_t total, avail;
	int e;

	e = xen_physinfo(c, call, &pi);
	if (e)
		return e;
	total = ((uint64_t)pi.total_pages * XC_PAGE_SIZE) >> 20;
	avail = ((uint64_t)(pi.free_pages > pi.outstanding_pages
				? pi.free_pages - pi.outstanding_pages
				: 0) *
		 XC_PAGE_SIZE) >>
		20;
	if (mib > total)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "VM '%s' asks for %" PRIu64
				       " MiB but this Xen host has %" PRIu64
				       " MiB in all",
				       name, mib, total);
	if (mib > avail)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "VM '%s' asks for %" PRIu64
				       " MiB but this Xen host has %" PRIu64
				       " MiB free",
				       name, mib, avail);
	return 0;
}

/*
 * A replay after a crash: the first attempt's domain carries the key.
 * Returns 1 with *out filled when there is one (after finishing what the
 * first attempt may not have: starting it), 0 when there is none, or a
 * code.
 */
static int create_replay(struct xen_conn *c, trellis_call_t *call,
			 const char *idem_key, uint32_t flags,
			 trellis_vm_info_t *out)
{
	struct find_key f = {.key = idem_key};
	char uuid_s[40];
	int r;

	r = xen_each_domain(c, call, match_key, &f);
	if (r != 1)
		return r;
	if (flags & TRELLIS_VM_CREATE_START) {
		xen_uuid_format(f.found.handle, uuid_s, sizeof uuid_s);
		r = xen_set_paused(c, call, "vm_create", uuid_s, &f.found, 0);
		if (r)
			return r;
		r = xen_find_by_uuid(c, call, f.found.handle, &f.found);
		if (r < 0)
			return r;
	}
	xen_fill_info(c, &f.found, out);
	return 1;
}

/* The new VM's UUID (the spec's, or a fresh one) into h and its name
 * (the spec's, or one made from the UUID) into name; CONFLICT when a
 * domain has either already. */
static int create_identity(struct xen_conn *c, trellis_call_t *call,
			   const trellis_vm_spec_t *spec, uint8_t h[16],
			   char *name, size_t namelen)
{
	const trellis_host_t *host = c->st->host;
	xc_domaininfo_t di;
	uint32_t existing;
	char uuid_s[40];
	libxl_uuid u;
	int r;

	if (spec->uuid) {
		if (xen_uuid_parse(spec->uuid, h) != 0)
			return host->set_error(call, TRELLIS_E_INVALID_ARG,
					       "vm_create: '%s' is not a UUID",
					       spec->uuid);
		r = xen_find_by_uuid(c, call, h, &di);
		if (r < 0)
			return r;
		if (r == 1)
			return host->set_error(call, TRELLIS_E_CONFLICT,
					       "vm_create: a Xen domain with "
					       "UUID %s exists already "
					       "(domain %u)",
					       spec->uuid, di.domain);
	} else {
		libxl_uuid_generate(&u);
		memcpy(h, libxl_uuid_bytearray(&u), 16);
	}
	xen_uuid_format(h, uuid_s, sizeof uuid_s);
	if (spec->name && spec->name[0])
		snprintf(name, namelen, "%s", spec->name);
	else
		snprintf(name, namelen, "trellis-%.8s", uuid_s);
	if (libxl_name_to_domid(c->ctx, name, &existing) == 0)
		return host->set_error(call, TRELLIS_E_CONFLICT,
				       "vm_create: a Xen domain named '%s' "
				       "exists already (domain %u)",
				       name, existing);
	return 0;
}

int xen_vm_create(void *conn, trellis_call_t *call,
		  const trellis_vm_spec_t *spec, const char *idem_key,
		  uint32_t flags, trellis_vm_info_t *out)
{
	struct xen_conn *c = conn;
	const trellis_host_t *host = c->st->host;
	libxl_domain_config cfg;
	trellis_vm_spec_t boot;
	xc_domaininfo_t di;
	uint8_t h[16];
	char name[128], err[512];
	uint32_t domid = INVALID_DOMID;
	int r, rc;

	libxl_domain_config_init(&cfg);
	if (flags & ~(uint32_t)TRELLIS_VM_CREATE_START) {
		rc = xen_bad_flags(host, call, "vm_create", flags,
				   TRELLIS_VM_CREATE_START);
		goto out;
	}
	if (!spec) {
		rc = host->set_error(call, TRELLIS_E_INVALID_ARG,
				     "vm_create: no spec");
		goto out;
	}
	if (out && xen_check_out(host, call, "vm_create", out->struct_size,
				 sizeof *out)) {
		rc = TRELLIS_E_INVALID_ARG;
		goto out;
	}
	if (idem_key && idem_key[0]) {
		r = create_replay(c, call, idem_key, flags, out);
		if (r != 0) {
			rc = r < 0 ? r : 0;
			goto out;
		}
	}
	rc = create_identity(c, call, spec, h, name, sizeof name);
	if (rc)
		goto out;
	if (!spec->kernel && c->st->default_kernel) {
		/* Boot what the host's config says boots a disk. */
		boot = *spec;
		boot.kernel = c->st->default_kernel;
		boot.initrd = c->st->default_initrd;
		boot.cmdline =
		    spec->cmdline ? spec->cmdline : c->st->default_cmdline;
		spec = &boot;
	}
	rc = xen_spec_to_config(spec, name, h, idem_key, &cfg, err, sizeof err);
	if (rc) {
		host->set_error(call, rc, "vm_create: %s", err);
		goto out;
	}
	rc = check_file(host, call, name, "kernel", spec->kernel);
	if (rc == 0)
		rc = check_file(host, call, name, "initrd", spec->initrd);
	if (rc == 0)
		rc = check_memory(c, call, name, spec->memory_mib);
	if (rc)
		goto out;

	host->progress(call, 10, "creating Xen domain");
	c->last[0] = '\0';
	r = libxl_domain_create_new(c->ctx, &cfg, &domid, NULL, NULL);
	if (r != 0) {
		rc = xen_fail(c, call, xen_code_from_libxl(r), r,
			      "vm_create: libxl could not create VM '%s': %s",
			      name, libxl_error_to_string(r));
		goto out;
	}
	/* libxl leaves a new domain paused before its first instruction. */
	if ((flags & TRELLIS_VM_CREATE_START) &&
	    xc_domain_unpause(c->xch, domid) != 0) {
		int e = errno;
		rc = xen_fail(c, call, xen_code_from_errno(e), e,
			      "vm_create: VM '%s' (domain %u) was created but "
			      "could not be started: %s",
			      name, domid, strerror(e));
		goto out;
	}
	r = xen_find_by_uuid(c, call, h, &di);
	if (r < 0) {
		rc = r;
		goto out;
	}
	if (r == 0) {
		rc = host->set_error(call, TRELLIS_E_BACKEND,
				     "vm_create: VM '%s' (domain %u) vanished "
				     "right after creation",
				     name, domid);
		goto out;
	}
	rc = xen_fill_info(c, &di, out);
out:
	libxl_domain_config_dispose(&cfg);
	return rc;
}
