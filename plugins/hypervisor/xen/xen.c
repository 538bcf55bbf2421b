/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xen.c - the Xen hypervisor plugin: its descriptor, the connection, and
 * the ops that read or pause domains (host info from xc_physinfo, domain
 * list and state from xc_domain_getinfolist, pause/resume/start through
 * libxenctrl).  Creating and ending VMs (libxl) is in xen_lifecycle.c.
 *
 * One connection (struct xen_conn) holds an xc_interface, a xenstore handle
 * and a libxl context, all opened once in connect() and reused for every op
 * on that host.  Outside a Xen dom0 connect() fails with UNAVAILABLE and
 * says why; the plugin itself always loads.
 *
 * VMs are named by the Xen domain handle (the UUID).  Domain 0 is the
 * control domain, not a VM Trellis manages: it is left out of vm_list and
 * ops on it are refused.  Xen keeps no definition of a domain that is not
 * running, so a VM exists from vm_create to its destroy or shutdown;
 * without TRELLIS_VM_CREATE_START a created VM stays paused before its
 * first instruction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <libxl.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenstore.h>
#include <xentoollog.h>

#include <trellis/hypervisor.h>

#include "xen_conn.h"
#include "xen_map.h"

#define DOMINFO_BATCH 64

/* Must outlive every libxl context (libxl keeps the pointer). */
static const libxl_childproc_hooks xen_childproc_hooks = {
    .chldowner = libxl_sigchld_owner_libxl_always_selective_reap,
};

static void logger_vmessage(xentoollog_logger *logger, xentoollog_level level,
			    int errnoval, const char *context,
			    const char *format, va_list al)
{
	struct xen_logger *lg = (struct xen_logger *)logger;
	struct xen_conn *c = lg->conn;
	char msg[400];

	vsnprintf(msg, sizeof msg, format, al);
	if (level >= XTL_ERROR) {
		/* Keep every error since the op began: libxl's first one
		 * says why, its last one only how it cleaned up. */
		size_t used = strlen(c->last);
		if (used + 3 < sizeof c->last)
			snprintf(c->last + used, sizeof c->last - used,
				 "%s%s%s%s%s%s", used ? "; " : "",
				 context ? context : "", context ? ": " : "",
				 msg, errnoval > 0 ? ": " : "",
				 errnoval > 0 ? strerror(errnoval) : "");
	}
	if (level >= XTL_WARN)
		c->st->host->log(c->st->self, TRELLIS_LOG_DEBUG, "%s%s%s",
				 context ? context : "", context ? ": " : "",
				 msg);
}

static void logger_destroy(xentoollog_logger *logger)
{
	(void)logger; /* embedded in the connection, freed with it */
}

/*
 * Records a failure: the message from fmt, followed by what libxc/libxl
 * last said (when anything), and the backend code (an errno or libxl
 * ERROR_*).  Returns code.
 */
int xen_fail(struct xen_conn *c, trellis_call_t *call, int code, long backend,
	     const char *fmt, ...)
{
	const trellis_host_t *host = c->st->host;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->last[0])
		host->set_error(call, code, "%s (%s)", msg, c->last);
	else
		host->set_error(call, code, "%s", msg);
	if (backend)
		host->set_error_backend(call, backend,
					trellis_error_retryable(code));
	return code;
}

int xen_bad_flags(const trellis_host_t *host, trellis_call_t *call,
		  const char *op, uint32_t flags, uint32_t known)
{
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       "%s: unknown flags 0x%x", op, flags & ~known);
}

/* ---- plugin life ---- */

static const char *config_str(const trellis_host_t *host,
			      trellis_plugin_t *self, const char *key)
{
	const trellis_node_t *cfg = host->config(self);

	return cfg ? host->node_str(host->node_get(cfg, key)) : NULL;
}

static int xen_init(trellis_plugin_t *self, const trellis_host_t *host,
		    trellis_call_t *call, void **state)
{
	struct xen_state *st = host->alloc(sizeof *st);

	if (!st)
		return host->set_error(call, TRELLIS_E_NOMEM,
				       "xen: out of memory");
	st->self = self;
	st->host = host;
	st->default_kernel = config_str(host, self, "default_kernel");
	st->default_initrd = config_str(host, self, "default_initrd");
	st->default_cmdline = config_str(host, self, "default_cmdline");
	*state = st;
	return 0;
}

static void xen_fini(void *state)
{
	struct xen_state *st = state;

	if (st)
		st->host->free(st);
}

/* ---- connection ---- */

static void conn_free(struct xen_conn *c)
{
	if (!c)
		return;
	libxl_ctx_free(c->ctx);
	if (c->xsh)
		xs_close(c->xsh);
	if (c->xch)
		xc_interface_close(c->xch);
	c->st->host->free(c);
}

/* The one failure of connect: the layer that failed, its reason (libxc's
 * own words when it logged any, else the errno's), and a hint. */
static int unavailable(struct xen_conn *c, trellis_call_t *call, int err,
		       const char *what, const char *hint)
{
	const trellis_host_t *host = c->st->host;

	host->set_error(call, TRELLIS_E_UNAVAILABLE,
			"Xen hypervisor interface not available (%s: %s%s%s; "
			"%s)",
			what, err ? strerror(err) : "failed",
			c->last[0] ? ": " : "", c->last, hint);
	if (err)
		host->set_error_backend(call, err, 0);
	return TRELLIS_E_UNAVAILABLE;
}

static int xen_connect(void *state, trellis_call_t *call, const char *uri,
		       const trellis_node_t *options, uint32_t flags,
		       void **out)
{
	struct xen_state *st = state;
	const trellis_host_t *host = st->host;
	struct xen_conn *c = NULL;
	char err[256];
	int rc, e;

	(void)options; /* nothing to configure yet */
	if (flags)
		return xen_bad_flags(host, call, "connect", flags, 0);
	rc = xen_uri_check(uri, err, sizeof err);
	if (rc)
		return host->set_error(call, rc, "%s", err);

	c = host->alloc(sizeof *c);
	if (!c)
		return host->set_error(call, TRELLIS_E_NOMEM,
				       "xen: out of memory");
	c->st = st;
	c->lg.vtable.vmessage = logger_vmessage;
	c->lg.vtable.progress = NULL;
	c->lg.vtable.destroy = logger_destroy;
	c->lg.conn = c;

	/* The privcmd device exists only in a Xen domain with the xen
	 * drivers loaded; elsewhere this fails at once with ENOENT. */
	c->xch = xc_interface_open(&c->lg.vtable, &c->lg.vtable, 0);
	if (!c->xch) {
		rc = unavailable(c, call, errno, "xc_interface_open",
				 "is this a Xen dom0 with xen-privcmd loaded?");
		goto out;
	}
	c->xsh = xs_open(0);
	if (!c->xsh) {
		rc = unavailable(c, call, errno, "xenstore",
				 "is xenstored running?");
		goto out;
	}
	e = libxl_ctx_alloc(&c->ctx, LIBXL_VERSION, 0, &c->lg.vtable);
	if (e) {
		c->ctx = NULL;
		rc = unavailable(c, call, 0, "libxl context",
				 libxl_error_to_string(e));
		goto out;
	}
	/* The host reaps its own children synchronously (host->exec, and
	 * other plugins' helpers run in the same process); libxl's default
	 * would reap every child of the process while it has one of its own
	 * (hotplug scripts).  Selective reaping keeps libxl to its own. */
	libxl_childproc_setmode(c->ctx, &xen_childproc_hooks, NULL);
	c->last[0] = '\0';
	*out = c;
	c = NULL;
	rc = 0;
out:
	conn_free(c);
	return rc;
}

static void xen_disconnect(void *state, void *conn)
{
	(void)state;
	conn_free(conn);
}

/* ---- domains ---- */

int xen_each_domain(struct xen_conn *c, trellis_call_t *call, xen_dom_fn fn,
		    void *arg)
{
	xc_domaininfo_t batch[DOMINFO_BATCH];
	uint32_t next = 0;

	for (;;) {
		int n;

		c->last[0] = '\0';
		n = xc_domain_getinfolist(c->xch, next, DOMINFO_BATCH, batch);
		if (n < 0) {
			int e = errno;
			return xen_fail(c, call, xen_code_from_errno(e), e,
					"listing Xen domains failed: %s",
					strerror(e));
		}
		for (int i = 0; i < n; i++) {
			int r = fn(c, &batch[i], arg);
			if (r)
				return r;
		}
		if (n < DOMINFO_BATCH)
			return 0;
		next = (uint32_t)batch[n - 1].domain + 1;
	}
}

struct find_uuid {
	const uint8_t *uuid;
	xc_domaininfo_t found;
};

static int match_uuid(struct xen_conn *c, const xc_domaininfo_t *di, void *arg)
{
	struct find_uuid *f = arg;

	(void)c;
	/* A dying domain has been destroyed already; Xen only has yet to
	 * free its memory.  To Trellis it is gone (xl shows it with "d"). */
	if ((di->flags & XEN_DOMINF_dying) ||
	    memcmp(di->handle, f->uuid, 16) != 0)
		return 0;
	f->found = *di;
	return 1;
}

/* 1 and *out when a domain has uuid, 0 when none, or a code (error set). */
int xen_find_by_uuid(struct xen_conn *c, trellis_call_t *call,
		     const uint8_t uuid[16], xc_domaininfo_t *out)
{
	struct find_uuid f = {.uuid = uuid};
	int r = xen_each_domain(c, call, match_uuid, &f);

	if (r == 1)
		*out = f.found;
	return r;
}

/* Parses uuid and finds its domain.  Returns 1 with *di, 0 when there is
 * none, or a code (error set: malformed uuid, domain 0, hypervisor). */
int xen_lookup(struct xen_conn *c, trellis_call_t *call, const char *op,
	       const char *uuid, xc_domaininfo_t *di)
{
	const trellis_host_t *host = c->st->host;
	uint8_t h[16];
	int r;

	if (xen_uuid_parse(uuid, h) != 0)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "%s: '%s' is not a VM UUID", op,
				       uuid ? uuid : "(null)");
	r = xen_find_by_uuid(c, call, h, di);
	if (r == 1 && di->domain == 0)
		return host->set_error(call, TRELLIS_E_PERMISSION,
				       "%s: %s is domain 0, Xen's control "
				       "domain, which Trellis does not manage",
				       op, uuid);
	return r;
}

int xen_fill_info(struct xen_conn *c, const xc_domaininfo_t *di,
		  trellis_vm_info_t *out)
{
	char *name;

	if (!out || out->struct_size < sizeof *out)
		return 0; /* dispatch always gives a full one */
	name = libxl_domid_to_name(c->ctx, di->domain);
	snprintf(out->name, sizeof out->name, "%s", name ? name : "");
	free(name);
	xen_uuid_format(di->handle, out->uuid, sizeof out->uuid);
	out->state = xen_state_from_flags(di->flags);
	out->backend_id = (int32_t)di->domain;
	out->vcpus = di->nr_online_vcpus;
	out->memory_mib = ((uint64_t)di->tot_pages * XC_PAGE_SIZE) >> 20;
	out->cpu_time_ns = di->cpu_time;
	return 0;
}

int xen_check_out(const trellis_host_t *host, trellis_call_t *call,
		  const char *op, uint32_t have, size_t want)
{
	if (have >= want)
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       "%s: output struct_size %u < %zu", op, have,
			       want);
}

/* ---- host ---- */

int xen_physinfo(struct xen_conn *c, trellis_call_t *call, xc_physinfo_t *pi)
{
	int e;

	memset(pi, 0, sizeof *pi);
	c->last[0] = '\0';
	if (xc_physinfo(c->xch, pi) == 0)
		return 0;
	e = errno;
	return xen_fail(c, call, xen_code_from_errno(e), e,
			"xc_physinfo failed: %s", strerror(e));
}

static void read_cpu_model(char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) != 0 || !colon)
			continue;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		colon[strcspn(colon, "\n")] = '\0';
		snprintf(out, len, "%s", colon);
		break;
	}
	fclose(f);
}

/* The machine's SMBIOS UUID (dom0 sees the real DMI table), lower case;
 * "" when it cannot be read (not root, no DMI). */
static void read_host_uuid(char *out, size_t len)
{
	FILE *f = fopen("/sys/class/dmi/id/product_uuid", "r");
	char line[64] = "";

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(line, sizeof line, f) && strlen(line) >= 36) {
		for (size_t i = 0; i < 36 && i + 1 < len; i++) {
			char ch = line[i];
			out[i] = ch >= 'A' && ch <= 'F' ? (char)(ch | 0x20) : ch;
			out[i + 1] = '\0';
		}
	}
	fclose(f);
}

static int xen_host_info(void *conn, trellis_call_t *call, uint32_t flags,
			 trellis_hv_host_info_t *out)
{
	struct xen_conn *c = conn;
	const trellis_host_t *host = c->st->host;
	xc_physinfo_t pi;
	xen_extraversion_t extra;
	struct utsname un;
	uint32_t per_socket;
	int v, e;

	if (flags)
		return xen_bad_flags(host, call, "host_info", flags, 0);
	/* A 1.0 caller's struct ends before host_uuid. */
	if (!out ||
	    xen_check_out(host, call, "host_info", out->struct_size,
			  offsetof(trellis_hv_host_info_t, host_uuid)))
		return TRELLIS_E_INVALID_ARG;
	e = xen_physinfo(c, call, &pi);
	if (e)
		return e;
	v = xc_version(c->xch, XENVER_version, NULL);
	if (v < 0) {
		e = errno;
		return xen_fail(c, call, xen_code_from_errno(e), e,
				"xc_version failed: %s", strerror(e));
	}
	memset(extra, 0, sizeof extra);
	if (xc_version(c->xch, XENVER_extraversion, &extra) < 0)
		extra[0] = '\0';
	extra[sizeof extra - 1] = '\0';

	if (gethostname(out->hostname, sizeof out->hostname) != 0)
		out->hostname[0] = '\0';
	out->hostname[sizeof out->hostname - 1] = '\0';
	snprintf(out->hv_type, sizeof out->hv_type, "Xen");
	out->hv_version = xen_version_encode(v, extra);
	if (uname(&un) == 0)
		snprintf(out->arch, sizeof out->arch, "%.31s", un.machine);
	read_cpu_model(out->cpu_model, sizeof out->cpu_model);
	out->cpus = pi.nr_cpus;
	out->threads = pi.threads_per_core ? pi.threads_per_core : 1;
	out->cores = pi.cores_per_socket ? pi.cores_per_socket : 1;
	per_socket = out->cores * out->threads;
	out->sockets = pi.nr_cpus / per_socket ? pi.nr_cpus / per_socket : 1;
	out->mhz = pi.cpu_khz / 1000;
	out->memory_kib = (uint64_t)pi.total_pages * (XC_PAGE_SIZE / 1024);
	out->free_memory_kib = (uint64_t)pi.free_pages * (XC_PAGE_SIZE / 1024);
	snprintf(out->domain_type, sizeof out->domain_type, "pv");
	if (out->struct_size >= offsetof(trellis_hv_host_info_t, host_uuid) +
				    sizeof out->host_uuid)
		read_host_uuid(out->host_uuid, sizeof out->host_uuid);
	return 0;
}

/* ---- list and info ---- */

struct list_ctx {
	trellis_vm_list_fn fn;
	void *opaque;
};

static int list_one(struct xen_conn *c, const xc_domaininfo_t *di, void *arg)
{
	struct list_ctx *l = arg;
	trellis_vm_info_t info;

	if (di->domain == 0 || (di->flags & XEN_DOMINF_dying))
		return 0;
	memset(&info, 0, sizeof info);
	info.struct_size = sizeof info;
	xen_fill_info(c, di, &info);
	/* Stop early on the caller's wish; 2 cannot be confused with an
	 * error code (those are negative). */
	return l->fn(l->opaque, &info) ? 2 : 0;
}

static int xen_vm_list(void *conn, trellis_call_t *call, uint32_t flags,
		       trellis_vm_list_fn fn, void *opaque)
{
	struct xen_conn *c = conn;
	struct list_ctx l = {.fn = fn, .opaque = opaque};
	int r;

	if (flags)
		return xen_bad_flags(c->st->host, call, "vm_list", flags, 0);
	if (!fn)
		return c->st->host->set_error(call, TRELLIS_E_INVALID_ARG,
					      "vm_list: no callback");
	r = xen_each_domain(c, call, list_one, &l);
	return r < 0 ? r : 0;
}

static int xen_vm_info(void *conn, trellis_call_t *call, const char *uuid,
		       uint32_t flags, trellis_vm_info_t *out)
{
	struct xen_conn *c = conn;
	const trellis_host_t *host = c->st->host;
	xc_domaininfo_t di;
	int r;

	if (flags)
		return xen_bad_flags(host, call, "vm_info", flags, 0);
	if (!out ||
	    xen_check_out(host, call, "vm_info", out->struct_size, sizeof *out))
		return TRELLIS_E_INVALID_ARG;
	r = xen_lookup(c, call, "vm_info", uuid, &di);
	if (r < 0)
		return r;
	if (r == 0)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "no Xen domain has UUID %s", uuid);
	return xen_fill_info(c, &di, out);
}

/* ---- pause, resume, start ---- */

/* Pauses (pause != 0) or unpauses domain di.  Xen counts toolstack
 * pauses, so the paused bit decides whether to call at all: pausing a
 * paused VM or resuming a running one changes nothing and succeeds. */
int xen_set_paused(struct xen_conn *c, trellis_call_t *call, const char *op,
		   const char *uuid, const xc_domaininfo_t *di, int pause)
{
	int is_paused = !!(di->flags & XEN_DOMINF_paused);
	int rc, e;

	if (is_paused == pause)
		return 0;
	if (di->flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown))
		return xen_fail(
		    c, call, TRELLIS_E_CONFLICT, 0,
		    "%s: VM %s (domain %u) is shutting down or shut "
		    "off",
		    op, uuid, di->domain);
	c->last[0] = '\0';
	rc = pause ? xc_domain_pause(c->xch, di->domain)
		   : xc_domain_unpause(c->xch, di->domain);
	if (rc != 0) {
		e = errno;
		return xen_fail(c, call, xen_code_from_errno(e), e,
				"%s: VM %s (domain %u): %s", op, uuid,
				di->domain, strerror(e));
	}
	return 0;
}

static int pause_op(void *conn, trellis_call_t *call, const char *op,
		    const char *uuid, uint32_t flags, int pause)
{
	struct xen_conn *c = conn;
	const trellis_host_t *host = c->st->host;
	xc_domaininfo_t di;
	int r;

	if (flags)
		return xen_bad_flags(host, call, op, flags, 0);
	r = xen_lookup(c, call, op, uuid, &di);
	if (r < 0)
		return r;
	if (r == 0)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "%s: no Xen domain has UUID %s", op,
				       uuid);
	return xen_set_paused(c, call, op, uuid, &di, pause);
}

static int xen_vm_pause(void *conn, trellis_call_t *call, const char *uuid,
			uint32_t flags)
{
	return pause_op(conn, call, "vm_pause", uuid, flags, 1);
}

static int xen_vm_resume(void *conn, trellis_call_t *call, const char *uuid,
			 uint32_t flags)
{
	return pause_op(conn, call, "vm_resume", uuid, flags, 0);
}

/* A VM created without TRELLIS_VM_CREATE_START waits paused; starting it
 * lets it run. */
static int xen_vm_start(void *conn, trellis_call_t *call, const char *uuid,
			uint32_t flags)
{
	return pause_op(conn, call, "vm_start", uuid, flags, 0);
}

static const struct trellis_hypervisor_ops xen_ops = {
    .struct_size = sizeof(struct trellis_hypervisor_ops),
    .connect = xen_connect,
    .disconnect = xen_disconnect,
    .host_info = xen_host_info,
    .vm_list = xen_vm_list,
    .vm_create = xen_vm_create,
    .vm_destroy = xen_vm_destroy,
    .vm_info = xen_vm_info,
    .vm_start = xen_vm_start,
    .vm_shutdown = xen_vm_shutdown,
    .vm_pause = xen_vm_pause,
    .vm_resume = xen_vm_resume,
    /* No VNC console, no hotplug: NULL means "not supported". */
};

TRELLIS_PLUGIN_DEFINE(.name = "xen", .version = "0.1.0", .license = "Apache-2.0",
		      .description = "Xen hypervisor (libxenctrl + libxl), PV "
				     "guests",
		      .kind = TRELLIS_KIND_HYPERVISOR,
		      .thread_model = TRELLIS_THREAD_PER_TARGET,
		      .caps = TRELLIS_HV_CAP_KERNEL_BOOT, .init = xen_init,
		      .fini = xen_fini, .ops = &xen_ops);
