/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.c - create (idempotent), destroy, start, graceful shutdown, pause and
 * resume of libvirt domains.
 *
 * VMs are persistent domains (defined, then started), so a host reboot or a
 * libvirtd restart does not lose them.  The idempotency key of the create
 * is kept in the domain's own <metadata>, so a replay finds the domain
 * without any state in the plugin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domxml.h"
#include "lv.h"

static int key_ok(const char *k)
{
	if (!k)
		return 1;
	size_t n = strlen(k);
	if (n == 0 || n > 512)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x20)
			return 0;
	return 1;
}

/* The key stored with dom, "" when none. */
static void dom_key(virDomainPtr dom, char *out, size_t len)
{
	out[0] = 0;
	char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT,
					  LV_META_NS, 0);
	if (!meta) {
		virResetLastError(); /* no metadata of ours */
		return;
	}
	lv_xml_meta_key(meta, out, len);
	free(meta);
}

/* The domain made under key, if any: 1 (in *out), 0, or an error. */
static int find_by_key(struct lv_conn *c, trellis_call_t *call,
		       const char *name, const char *key, virDomainPtr *out)
{
	char k[600];
	*out = NULL;
	/* A replay carries the same spec, so the name finds it at once. */
	virDomainPtr dom = virDomainLookupByName(c->conn, name);
	if (dom) {
		dom_key(dom, k, sizeof k);
		if (strcmp(k, key) == 0) {
			*out = dom;
			return 1;
		}
		virDomainFree(dom);
	} else {
		virResetLastError();
	}
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(c->conn, &doms, 0);
	if (n < 0)
		return lv_fail(c, call, "list domains on %s", c->uri);
	for (int i = 0; i < n; i++) {
		if (!*out) {
			dom_key(doms[i], k, sizeof k);
			if (strcmp(k, key) == 0) {
				*out = doms[i];
				continue;
			}
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	return *out ? 1 : 0;
}

static int start_dom(struct lv_conn *c, trellis_call_t *call, virDomainPtr dom)
{
	/* Every libvirt call resets the thread's last error, so the name
	 * for the message is fetched before the call that may fail. */
	const char *name = virDomainGetName(dom);
	int active = virDomainIsActive(dom);
	if (active < 0)
		return lv_fail(c, call, "VM '%s': state", name);
	if (active)
		return 0;
	if (virDomainCreate(dom) < 0)
		return lv_fail(c, call, "VM '%s': start on %s", name, c->uri);
	return 0;
}

/* Refuses memory the host does not have at all, with a clear error,
 * before QEMU fails to allocate it half-way through a start. */
static int memory_fits(struct lv_conn *c, trellis_call_t *call,
		       const trellis_vm_spec_t *s)
{
	virNodeInfo ni;
	if (virNodeGetInfo(c->conn, &ni) < 0)
		return lv_fail(c, call, "host info of %s", c->uri);
	if (s->memory_mib * 1024 > ni.memory)
		return lv_err(c, call, TRELLIS_E_NOSPACE,
			      "VM '%s': memory %llu MiB exceeds the host's "
			      "total %llu MiB on %s",
			      s->name, (unsigned long long)s->memory_mib,
			      (unsigned long long)ni.memory / 1024, c->uri);
	return 0;
}

/* Targets for every disk: the spec's, or the next free one per bus. */
static int assign_targets(const trellis_vm_spec_t *s, char (*names)[16],
			  const char **targets)
{
	for (uint32_t i = 0; i < s->n_disks; i++)
		targets[i] = s->disks[i]->target;
	for (uint32_t i = 0; i < s->n_disks; i++) {
		if (targets[i])
			continue;
		if (lv_next_target(lv_bus_prefix(s->disks[i]->bus), targets,
				   s->n_disks, names[i]) < 0)
			return -1;
		targets[i] = names[i];
	}
	return 0;
}

int lv_vm_create(void *conn, trellis_call_t *call,
		 const trellis_vm_spec_t *spec, const char *idem_key,
		 uint32_t flags, trellis_vm_info_t *out)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	char *xml = NULL;
	char err[768], lock[VNC_PASSWD_LEN + 1] = "";
	char(*names)[16] = NULL;
	const char **targets = NULL;
	int rc;

	if ((rc = lv_check_flags(c, call, "vm_create", flags,
				 TRELLIS_VM_CREATE_START)) < 0)
		return rc;
	if (!LV_SIZE_OK(out, trellis_vm_info_t, cpu_time_ns))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "vm_create: output struct too small");
	if (lv_spec_check(spec, err, sizeof err) < 0)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG, "%s", err);
	if (!key_ok(idem_key))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "VM '%s': idempotency key empty, longer than 512 "
			      "or with control characters",
			      spec->name);

	if (idem_key) {
		rc = find_by_key(c, call, spec->name, idem_key, &dom);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			/* A replay: finish what the first attempt began. */
			rc = flags & TRELLIS_VM_CREATE_START
				 ? start_dom(c, call, dom)
				 : 0;
			if (rc == 0)
				rc = lv_fill_info(c, call, dom, out);
			goto out;
		}
	}
	/* Never adopted, and never redefined: a domain of that name or UUID
	 * that the lookup by key did not find is another request's, or was
	 * made outside Trellis. */
	dom = virDomainLookupByName(c->conn, spec->name);
	if (dom) {
		char uuid[VIR_UUID_STRING_BUFLEN] = "";
		virDomainGetUUIDString(dom, uuid);
		rc = lv_err(c, call, TRELLIS_E_CONFLICT,
			    "VM '%s': a domain of that name exists on %s (%s)",
			    spec->name, c->uri, uuid);
		goto out;
	}
	virResetLastError();
	if (spec->uuid &&
	    (dom = virDomainLookupByUUIDString(c->conn, spec->uuid))) {
		rc = lv_err(c, call, TRELLIS_E_CONFLICT,
			    "VM '%s': UUID %s is already domain '%s' on %s",
			    spec->name, spec->uuid, virDomainGetName(dom),
			    c->uri);
		goto out;
	}
	virResetLastError();
	if ((rc = memory_fits(c, call, spec)) < 0)
		goto out;

	names = calloc(spec->n_disks + 1, sizeof *names);
	targets = calloc(spec->n_disks + 1, sizeof *targets);
	if (!names || !targets) {
		rc = lv_err(c, call, TRELLIS_E_NOMEM, "out of memory");
		goto out;
	}
	if (assign_targets(spec, names, targets) < 0) {
		rc = lv_err(c, call, TRELLIS_E_INVALID_ARG,
			    "VM '%s': no free disk target", spec->name);
		goto out;
	}
	const char *type =
	    spec->domain_type ? spec->domain_type : c->domain_type;
	if (spec->console == TRELLIS_CONSOLE_VNC &&
	    lv_random_password(lock, sizeof lock) < 0) {
		rc =
		    lv_err(c, call, TRELLIS_E_IO,
			   "VM '%s': no randomness for a password", spec->name);
		goto out;
	}
	if (lv_xml_domain(spec, type, targets, idem_key, lock[0] ? lock : NULL,
			  &xml, err, sizeof err) < 0) {
		rc = lv_err(c, call, TRELLIS_E_INTERNAL, "%s", err);
		goto out;
	}
	dom = virDomainDefineXML(c->conn, xml);
	if (!dom) {
		rc = lv_fail(c, call, "VM '%s': define on %s", spec->name,
			     c->uri);
		goto out;
	}
	if (flags & TRELLIS_VM_CREATE_START) {
		rc = start_dom(c, call, dom);
		if (rc < 0) {
			/* Leave nothing half-made: the caller sees a failed
			 * create, so no domain may remain. */
			if (virDomainUndefine(dom) < 0)
				virResetLastError();
			goto out;
		}
	}
	rc = lv_fill_info(c, call, dom, out);
out:
	if (dom)
		virDomainFree(dom);
	explicit_bzero(lock, sizeof lock);
	if (xml) {
		explicit_bzero(xml, strlen(xml));
		free(xml);
	}
	free(names);
	free(targets);
	return rc;
}

/* Undefines with whatever libvirt kept beside the domain (a managed save
 * image, snapshot metadata); drivers that know neither (the test driver)
 * get a plain undefine. */
static int undefine(virDomainPtr dom)
{
	if (virDomainUndefineFlags(
		dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
			 VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) == 0)
		return 0;
	virErrorPtr e = virGetLastError();
	if (!e ||
	    (e->code != VIR_ERR_INVALID_ARG && e->code != VIR_ERR_NO_SUPPORT))
		return -1;
	virResetLastError();
	return virDomainUndefine(dom);
}

int lv_vm_destroy(void *conn, trellis_call_t *call, const char *uuid,
		  const char *idem_key, uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	int rc;
	(void)idem_key; /* destroying what is gone already succeeds */

	if ((rc = lv_check_flags(c, call, "vm_destroy", flags, 0)) < 0)
		return rc;
	rc = lv_lookup(c, call, uuid, &dom);
	if (rc == TRELLIS_E_NOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	int active = virDomainIsActive(dom);
	if (active > 0 && virDomainDestroy(dom) < 0) {
		virErrorPtr e = virGetLastError();
		/* It may have stopped by itself in between. */
		if (!e || (e->code != VIR_ERR_OPERATION_INVALID &&
			   e->code != VIR_ERR_NO_DOMAIN)) {
			rc = lv_fail(c, call, "VM '%s' (%s): power off", name,
				     uuid);
			goto out;
		}
		virResetLastError();
	}
	int persistent = virDomainIsPersistent(dom);
	if (persistent > 0 && undefine(dom) < 0) {
		virErrorPtr e = virGetLastError();
		if (!e || e->code != VIR_ERR_NO_DOMAIN) {
			rc = lv_fail(c, call, "VM '%s' (%s): undefine", name,
				     uuid);
			goto out;
		}
	}
	virResetLastError();
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

int lv_vm_start(void *conn, trellis_call_t *call, const char *uuid,
		uint32_t flags)
{
	struct lv_conn *c = conn;
	virDomainPtr dom;
	int rc;
	if ((rc = lv_check_flags(c, call, "vm_start", flags, 0)) < 0)
		return rc;
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	rc = start_dom(c, call, dom);
	virDomainFree(dom);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int lv_vm_shutdown(void *conn, trellis_call_t *call, const char *uuid,
		   uint32_t timeout_s, uint32_t flags)
{
	struct lv_conn *c = conn;
	const trellis_host_t *h = c->st->host;
	virDomainPtr dom;
	int rc;
	if ((rc = lv_check_flags(c, call, "vm_shutdown", flags,
				 TRELLIS_VM_SHUTDOWN_FORCE)) < 0)
		return rc;
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	int active = virDomainIsActive(dom);
	if (active <= 0) {
		rc = active < 0 ? lv_fail(c, call, "VM '%s': state", name) : 0;
		goto out;
	}
	/* A guest that ignores ACPI is what the force path is for, so a
	 * refused request is not yet a failure. */
	int asked = timeout_s > 0 && virDomainShutdown(dom) == 0;
	if (!asked)
		virResetLastError();
	long long deadline = now_ms() + (long long)timeout_s * 1000;
	while (asked && now_ms() < deadline) {
		if (h->cancelled(call)) {
			rc = lv_err(c, call, TRELLIS_E_CANCELLED,
				    "VM '%s': shutdown cancelled", name);
			goto out;
		}
		active = virDomainIsActive(dom);
		if (active == 0) {
			rc = 0;
			goto out;
		}
		if (active < 0) {
			virErrorPtr e = virGetLastError();
			/* a transient domain vanishes when it stops */
			rc = e && e->code == VIR_ERR_NO_DOMAIN
				 ? (virResetLastError(), 0)
				 : lv_fail(c, call, "VM '%s': state", name);
			goto out;
		}
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (!(flags & TRELLIS_VM_SHUTDOWN_FORCE)) {
		rc = lv_err(c, call, TRELLIS_E_TIMEOUT,
			    "VM '%s': still running %u s after the shutdown "
			    "request%s",
			    name, timeout_s,
			    asked ? "" : " (the request was refused)");
		goto out;
	}
	if (virDomainDestroy(dom) < 0) {
		virErrorPtr e = virGetLastError();
		/* It may have finished its shutdown just now. */
		if (!e || e->code != VIR_ERR_OPERATION_INVALID) {
			rc = lv_fail(c, call, "VM '%s': power off after %u s",
				     name, timeout_s);
			goto out;
		}
	}
	virResetLastError();
	rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

static int pause_resume(struct lv_conn *c, trellis_call_t *call,
			const char *uuid, uint32_t flags, int pause)
{
	const char *op = pause ? "vm_pause" : "vm_resume";
	virDomainPtr dom;
	int rc, state, reason;
	if ((rc = lv_check_flags(c, call, op, flags, 0)) < 0)
		return rc;
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	const char *name = virDomainGetName(dom);
	if (virDomainGetState(dom, &state, &reason, 0) < 0) {
		rc = lv_fail(c, call, "VM '%s': state", name);
		goto out;
	}
	if (state == VIR_DOMAIN_SHUTOFF || state == VIR_DOMAIN_CRASHED ||
	    state == VIR_DOMAIN_SHUTDOWN)
		rc = lv_err(c, call, TRELLIS_E_CONFLICT,
			    "VM '%s' is %s: cannot %s it", name,
			    trellis_vm_state_name(lv_state_map(state)),
			    pause ? "pause" : "resume");
	else if (pause && state == VIR_DOMAIN_PAUSED)
		rc = 0;
	else if (!pause && state != VIR_DOMAIN_PAUSED &&
		 state != VIR_DOMAIN_PMSUSPENDED &&
		 (state == VIR_DOMAIN_RUNNING || state == VIR_DOMAIN_BLOCKED))
		rc = 0;
	else if ((pause ? virDomainSuspend(dom) : virDomainResume(dom)) < 0)
		rc = lv_fail(c, call, "VM '%s': %s", name,
			     pause ? "pause" : "resume");
	else
		rc = 0;
out:
	virDomainFree(dom);
	return rc;
}

int lv_vm_pause(void *conn, trellis_call_t *call, const char *uuid,
		uint32_t flags)
{
	return pause_resume(conn, call, uuid, flags, 1);
}

int lv_vm_resume(void *conn, trellis_call_t *call, const char *uuid,
		 uint32_t flags)
{
	return pause_resume(conn, call, uuid, flags, 0);
}
