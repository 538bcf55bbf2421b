/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conn.c - connections, host info, listing and libvirt error mapping.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domxml.h"
#include "lv.h"

int lv_map_error(int vir_code)
{
	switch (vir_code) {
	case VIR_ERR_NO_DOMAIN:
	case VIR_ERR_NO_NETWORK:
	case VIR_ERR_NO_STORAGE_POOL:
	case VIR_ERR_NO_STORAGE_VOL:
	case VIR_ERR_NO_INTERFACE:
	case VIR_ERR_NO_SECRET:
	case VIR_ERR_NO_NODE_DEVICE:
	case VIR_ERR_NO_DOMAIN_SNAPSHOT:
	case VIR_ERR_NO_DOMAIN_METADATA:
		return TRELLIS_E_NOTFOUND;
	case VIR_ERR_INVALID_ARG:
	case VIR_ERR_XML_ERROR:
	case VIR_ERR_XML_DETAIL:
	case VIR_ERR_CONFIG_UNSUPPORTED:
	case VIR_ERR_INVALID_MAC:
		return TRELLIS_E_INVALID_ARG;
	case VIR_ERR_NO_SUPPORT:
	case VIR_ERR_ARGUMENT_UNSUPPORTED:
		return TRELLIS_E_NOTSUP;
	case VIR_ERR_DOM_EXIST:
	case VIR_ERR_OPERATION_INVALID:
		return TRELLIS_E_CONFLICT;
	case VIR_ERR_OPERATION_TIMEOUT:
	case VIR_ERR_AGENT_UNRESPONSIVE:
		return TRELLIS_E_TIMEOUT;
	case VIR_ERR_RESOURCE_BUSY:
		return TRELLIS_E_BUSY;
	case VIR_ERR_OPERATION_DENIED:
	case VIR_ERR_ACCESS_DENIED:
		return TRELLIS_E_PERMISSION;
	case VIR_ERR_AUTH_FAILED:
	case VIR_ERR_AUTH_CANCELLED:
	case VIR_ERR_AUTH_UNAVAILABLE:
		return TRELLIS_E_AUTH;
	case VIR_ERR_NO_CONNECT:
	case VIR_ERR_RPC:
		return TRELLIS_E_UNAVAILABLE;
	case VIR_ERR_NO_MEMORY:
		return TRELLIS_E_NOMEM;
	default:
		return TRELLIS_E_BACKEND;
	}
}

static int vset(struct lv_conn *c, trellis_call_t *call, int code, long backend,
		const char *detail, const char *fmt, va_list ap)
{
	const trellis_host_t *h = c->st->host;
	char what[768];
	vsnprintf(what, sizeof what, fmt, ap);
	if (detail)
		h->set_error(call, code, "%s: %s", what, detail);
	else
		h->set_error(call, code, "%s", what);
	if (backend)
		h->set_error_backend(call, backend,
				     trellis_error_retryable(code));
	return code;
}

/*
 * Host limitations that libvirt reports as internal errors, recognised by
 * the message of the tool libvirt ran, so the caller hears what the host
 * lacks instead of a tc error.
 */
static const struct {
	const char *needle;
	int code;
	const char *hint;
} known[] = {
    {"qdisc kind is unknown", TRELLIS_E_NOTSUP,
     "the host kernel lacks a queueing discipline that libvirt's NIC "
     "bandwidth caps need (sch_htb and sch_sfq); ask without "
     "inbound/outbound caps or load the modules"},
    {"Failed to load TC action module", TRELLIS_E_NOTSUP,
     "the host kernel lacks the traffic-control action (act_police) that "
     "libvirt's outbound NIC bandwidth cap needs; ask without an outbound "
     "cap or load the module"},
};

static int fail_v(struct lv_conn *c, trellis_call_t *call, int code,
		  const char *fmt, va_list ap)
{
	virErrorPtr e = virGetLastError();
	int vcode = e ? e->code : VIR_ERR_INTERNAL_ERROR;
	/* A copy: every libvirt call below (virConnectIsAlive) resets the
	 * thread's last error and frees e->message. */
	char orig[512];
	snprintf(orig, sizeof orig, "%s",
		 e && e->message ? e->message : "unknown libvirt error");
	const char *msg = orig;
	char buf[2048];
	if (!code)
		code = lv_map_error(vcode);
	snprintf(buf, sizeof buf, "%s", msg);
	for (size_t i = 0; i < sizeof known / sizeof *known; i++)
		if (strstr(msg, known[i].needle)) {
			code = known[i].code;
			snprintf(buf, sizeof buf, "%s (%s)", known[i].hint,
				 msg);
			break;
		}
	/* A call that failed because the connection is gone (libvirtd
	 * restarted, or the link to a remote host broke) says so, as
	 * UNAVAILABLE: the daemon drops the connection and the next call
	 * makes a new one.  virConnectIsAlive() only reads the client's
	 * own state; it sends nothing. */
	if (c->conn && virConnectIsAlive(c->conn) == 0) {
		code = TRELLIS_E_UNAVAILABLE;
		snprintf(buf, sizeof buf,
			 "the connection to %s is lost; the next call "
			 "reconnects (%s)",
			 c->uri, msg);
	}
	/* Messages of tools libvirt ran end with their newline. */
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	msg = buf;
	vset(c, call, code, vcode, msg, fmt, ap);
	virResetLastError();
	return code;
}

int lv_fail(struct lv_conn *c, trellis_call_t *call, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int code = fail_v(c, call, 0, fmt, ap);
	va_end(ap);
	return code;
}

int lv_fail_as(struct lv_conn *c, trellis_call_t *call, int code,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	code = fail_v(c, call, code, fmt, ap);
	va_end(ap);
	return code;
}

int lv_err(struct lv_conn *c, trellis_call_t *call, int code, const char *fmt,
	   ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(c, call, code, 0, NULL, fmt, ap);
	va_end(ap);
	return code;
}

int lv_check_flags(struct lv_conn *c, trellis_call_t *call, const char *op,
		   uint32_t flags, uint32_t allowed)
{
	if (!(flags & ~allowed))
		return 0;
	return lv_err(c, call, TRELLIS_E_INVALID_ARG,
		      "%s: unknown flag bits 0x%x", op, flags & ~allowed);
}

static int uuid_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

int lv_lookup(struct lv_conn *c, trellis_call_t *call, const char *uuid,
	      virDomainPtr *dom)
{
	*dom = NULL;
	if (!uuid_valid(uuid))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "VM uuid '%s': not a UUID "
			      "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			      uuid ? uuid : "(null)");
	*dom = virDomainLookupByUUIDString(c->conn, uuid);
	if (!*dom) {
		virErrorPtr e = virGetLastError();
		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			virResetLastError();
			int rc =
			    lv_err(c, call, TRELLIS_E_NOTFOUND,
				   "VM %s: no such domain on %s", uuid, c->uri);
			c->st->host->set_error_backend(call, VIR_ERR_NO_DOMAIN,
						       0);
			return rc;
		}
		return lv_fail(c, call, "VM %s: lookup on %s", uuid, c->uri);
	}
	return 0;
}

int lv_state_map(int vir_state)
{
	switch (vir_state) {
	case VIR_DOMAIN_RUNNING:
		return TRELLIS_VM_RUNNING;
	case VIR_DOMAIN_BLOCKED:
		return TRELLIS_VM_BLOCKED;
	case VIR_DOMAIN_PAUSED:
		return TRELLIS_VM_PAUSED;
	case VIR_DOMAIN_SHUTDOWN:
		return TRELLIS_VM_SHUTTING_DOWN;
	case VIR_DOMAIN_SHUTOFF:
		return TRELLIS_VM_SHUTOFF;
	case VIR_DOMAIN_CRASHED:
		return TRELLIS_VM_CRASHED;
	case VIR_DOMAIN_PMSUSPENDED:
		return TRELLIS_VM_SUSPENDED;
	default:
		return TRELLIS_VM_UNKNOWN;
	}
}

int lv_fill_info(struct lv_conn *c, trellis_call_t *call, virDomainPtr dom,
		 trellis_vm_info_t *out)
{
	virDomainInfo di;
	const char *name = virDomainGetName(dom);
	char uuid[VIR_UUID_STRING_BUFLEN];
	if (!name || virDomainGetUUIDString(dom, uuid) < 0)
		return lv_fail(c, call, "domain identity on %s", c->uri);
	if (virDomainGetInfo(dom, &di) < 0)
		return lv_fail(c, call, "VM '%s' (%s): state on %s", name, uuid,
			       c->uri);
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->uuid, sizeof out->uuid, "%s", uuid);
	out->state = lv_state_map(di.state);
	unsigned int id = virDomainGetID(dom);
	out->backend_id = id == (unsigned int)-1 ? -1 : (int32_t)id;
	out->vcpus = di.nrVirtCpu;
	out->memory_mib = di.maxMem / 1024;
	out->cpu_time_ns = di.cpuTime;
	return 0;
}

void lv_conn_unref(void *p)
{
	struct lv_conn *c = p;
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	const trellis_host_t *h = c->st->host;
	h->free(c->uri);
	h->free(c);
}

int lv_connect(void *state, trellis_call_t *call, const char *uri,
	       const trellis_node_t *options, uint32_t flags, void **out)
{
	struct lv_state *st = state;
	const trellis_host_t *h = st->host;
	struct lv_conn *c = NULL;
	int rc;

	*out = NULL;
	if (flags)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "connect: unknown flag bits 0x%x", flags);
	if (!uri || !*uri)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "connect: empty URI (want e.g. "
				    "qemu:///system or test:///default)");
	c = h->alloc(sizeof *c);
	if (!c || !(c->uri = h->strdup(uri))) {
		h->free(c);
		return h->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	}
	c->st = st;
	c->lifecycle_cb = -1;
	atomic_init(&c->refs, 1);

	c->conn = virConnectOpen(uri);
	if (!c->conn) {
		/* Whatever stops a connection from opening (no daemon, no
		 * socket, no driver) means the host is out of reach. */
		rc = lv_fail_as(c, call, TRELLIS_E_UNAVAILABLE, "connect to %s",
				uri);
		goto fail;
	}
	/* A dead daemon is noticed within seconds instead of at the next
	 * call's TCP timeout; harmless where keepalive is not supported. */
	virConnectSetKeepAlive(c->conn, 5, 3);
	const char *type = virConnectGetType(c->conn);
	snprintf(c->hv_type, sizeof c->hv_type, "%s", type ? type : "");
	rc = lv_probe_domain_type(c, call, options, c->domain_type,
				  sizeof c->domain_type);
	if (rc < 0)
		goto fail;
	lv_events_register(c);
	*out = c;
	return 0;
fail:
	if (c->conn)
		virConnectClose(c->conn);
	lv_conn_unref(c);
	return rc;
}

void lv_disconnect(void *state, void *conn)
{
	(void)state;
	struct lv_conn *c = conn;
	if (!c)
		return;
	lv_events_deregister(c);
	virConnectClose(c->conn);
	c->conn = NULL;
	lv_conn_unref(c);
}

int lv_host_info(void *conn, trellis_call_t *call, uint32_t flags,
		 trellis_hv_host_info_t *out)
{
	struct lv_conn *c = conn;
	virNodeInfo ni;
	unsigned long ver = 0;
	int rc;
	char *hostname = NULL, *caps = NULL;

	if ((rc = lv_check_flags(c, call, "host_info", flags, 0)) < 0)
		return rc;
	if (!LV_SIZE_OK(out, trellis_hv_host_info_t, domain_type))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "host_info: output struct too small");
	if (virNodeGetInfo(c->conn, &ni) < 0) {
		rc = lv_fail(c, call, "host info of %s", c->uri);
		goto out;
	}
	hostname = virConnectGetHostname(c->conn);
	if (!hostname) {
		rc = lv_fail(c, call, "hostname of %s", c->uri);
		goto out;
	}
	if (virConnectGetVersion(c->conn, &ver) < 0) {
		rc = lv_fail(c, call, "hypervisor version of %s", c->uri);
		goto out;
	}
	snprintf(out->hostname, sizeof out->hostname, "%s", hostname);
	snprintf(out->hv_type, sizeof out->hv_type, "%s", c->hv_type);
	out->hv_version = ver;
	out->cpus = ni.cpus;
	out->sockets = ni.sockets * ni.nodes;
	out->cores = ni.cores;
	out->threads = ni.threads;
	out->mhz = ni.mhz;
	out->memory_kib = ni.memory;
	unsigned long long freemem = virNodeGetFreeMemory(c->conn);
	if (freemem == 0)
		virResetLastError(); /* not every driver knows; not fatal */
	out->free_memory_kib = freemem / 1024;
	snprintf(out->domain_type, sizeof out->domain_type, "%s",
		 c->domain_type);
	snprintf(out->arch, sizeof out->arch, "%s", ni.model);
	caps = virConnectGetCapabilities(c->conn);
	if (caps) {
		lv_xml_xpath_str(caps, "string(/capabilities/host/cpu/arch)",
				 out->arch, sizeof out->arch);
		lv_xml_xpath_str(caps, "string(/capabilities/host/cpu/model)",
				 out->cpu_model, sizeof out->cpu_model);
		/* SMBIOS, or libvirtd.conf's host_uuid; the test driver has
		 * none ("" then). */
		if (LV_SIZE_OK(out, trellis_hv_host_info_t, host_uuid))
			lv_xml_xpath_str(caps,
					 "string(/capabilities/host/uuid)",
					 out->host_uuid, sizeof out->host_uuid);
	} else {
		virResetLastError();
	}
	rc = 0;
out:
	free(hostname);
	free(caps);
	return rc;
}

int lv_vm_list(void *conn, trellis_call_t *call, uint32_t flags,
	       trellis_vm_list_fn fn, void *opaque)
{
	struct lv_conn *c = conn;
	virDomainPtr *doms = NULL;
	int rc, n;

	if ((rc = lv_check_flags(c, call, "vm_list", flags, 0)) < 0)
		return rc;
	if (!fn)
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "vm_list: no callback");
	n = virConnectListAllDomains(c->conn, &doms, 0);
	if (n < 0)
		return lv_fail(c, call, "list domains on %s", c->uri);
	rc = 0;
	int stop = 0;
	for (int i = 0; i < n; i++) {
		trellis_vm_info_t vm = {.struct_size = sizeof vm};
		if (rc == 0 && !stop) {
			int r = lv_fill_info(c, call, doms[i], &vm);
			if (r == 0)
				stop = fn(opaque, &vm) != 0;
			else if (r != TRELLIS_E_NOTFOUND)
				rc = r; /* a domain that vanished is no error */
		}
		virDomainFree(doms[i]);
	}
	free(doms);
	return rc;
}

int lv_vm_info(void *conn, trellis_call_t *call, const char *uuid,
	       uint32_t flags, trellis_vm_info_t *out)
{
	struct lv_conn *c = conn;
	virDomainPtr dom = NULL;
	int rc;

	if ((rc = lv_check_flags(c, call, "vm_info", flags, 0)) < 0)
		return rc;
	if (!LV_SIZE_OK(out, trellis_vm_info_t, cpu_time_ns))
		return lv_err(c, call, TRELLIS_E_INVALID_ARG,
			      "vm_info: output struct too small");
	if ((rc = lv_lookup(c, call, uuid, &dom)) < 0)
		return rc;
	rc = lv_fill_info(c, call, dom, out);
	virDomainFree(dom);
	return rc;
}
