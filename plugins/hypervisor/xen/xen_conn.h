/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xen_conn.h - what the files of the Xen plugin share: the plugin state,
 * the connection (one per host: an xc_interface, a xenstore handle and a
 * libxl context, opened by connect() and freed by disconnect()), and the
 * helpers that find domains and report errors.
 *
 * xen.c owns the connection and the ops that read or pause domains;
 * xen_lifecycle.c the ops that create and end them.  None of this crosses
 * the plugin boundary (the plugin is built with -fvisibility=hidden).
 */
#ifndef TRELLIS_XEN_CONN_H
#define TRELLIS_XEN_CONN_H

#include <stdint.h>

#include <libxl.h>
#include <xenctrl.h>
#include <xentoollog.h>

#include <trellis/hypervisor.h>

struct xen_state {
	trellis_plugin_t *self;
	const trellis_host_t *host;
	/* From the plugin's config: what boots a spec that names no kernel
	 * (PV-GRUB, grub-xen-bin's grub-x86_64-xen.bin, boots the guest's
	 * own disk).  Owned by the host; NULL when not configured. */
	const char *default_kernel;
	const char *default_initrd;
	const char *default_cmdline;
};

struct xen_conn;

/* A xentoollog logger that keeps the last error of libxc/libxl, so that a
 * failed call reports libxl's own reason instead of "it failed". */
struct xen_logger {
	xentoollog_logger vtable; /* first: libxc casts back to this */
	struct xen_conn *conn;
};

struct xen_conn {
	struct xen_state *st;
	struct xen_logger lg;
	xc_interface *xch;
	struct xs_handle *xsh;
	libxl_ctx *ctx;
	char last[1024]; /* libxc/libxl errors of the current op, "" if none */
};

/*
 * Records a failure: the message from fmt, followed by what libxc/libxl
 * said during the op (when anything), and the backend code (an errno or a
 * libxl ERROR_*, 0 for none).  Returns code.
 */
int xen_fail(struct xen_conn *c, trellis_call_t *call, int code, long backend,
	     const char *fmt, ...) TRELLIS_PRINTF(5, 6);
/* INVALID_ARG naming op and the flag bits outside known. */
int xen_bad_flags(const trellis_host_t *host, trellis_call_t *call,
		  const char *op, uint32_t flags, uint32_t known);
/* INVALID_ARG when an output struct is older than this plugin's. */
int xen_check_out(const trellis_host_t *host, trellis_call_t *call,
		  const char *op, uint32_t have, size_t want);

/* Calls fn for every domain (domain 0 included) until it returns
 * non-zero.  Returns fn's non-zero value, 0 at the end, or a Trellis code
 * (error set) when the hypervisor cannot be asked. */
typedef int (*xen_dom_fn)(struct xen_conn *c, const xc_domaininfo_t *di,
			  void *arg);
int xen_each_domain(struct xen_conn *c, trellis_call_t *call, xen_dom_fn fn,
		    void *arg);
/* 1 and *out when a domain has uuid, 0 when none, or a code (error set). */
int xen_find_by_uuid(struct xen_conn *c, trellis_call_t *call,
		     const uint8_t uuid[16], xc_domaininfo_t *out);
/* Parses uuid and finds its domain: 1 with *di, 0 when there is none, or
 * a code (error set: malformed uuid, domain 0, hypervisor). */
int xen_lookup(struct xen_conn *c, trellis_call_t *call, const char *op,
	       const char *uuid, xc_domaininfo_t *di);
/* The host's physical info; 0, or a code (error set). */
int xen_physinfo(struct xen_conn *c, trellis_call_t *call, xc_physinfo_t *pi);
/* Fills out (when non-NULL and big enough) from di.  Returns 0. */
int xen_fill_info(struct xen_conn *c, const xc_domaininfo_t *di,
		  trellis_vm_info_t *out);
/* Pauses (pause != 0) or unpauses di; a no-op when it is already so. */
int xen_set_paused(struct xen_conn *c, trellis_call_t *call, const char *op,
		   const char *uuid, const xc_domaininfo_t *di, int pause);

/* xen_lifecycle.c: the ops of struct trellis_hypervisor_ops. */
int xen_vm_create(void *conn, trellis_call_t *call,
		  const trellis_vm_spec_t *spec, const char *idem_key,
		  uint32_t flags, trellis_vm_info_t *out);
int xen_vm_destroy(void *conn, trellis_call_t *call, const char *uuid,
		   const char *idem_key, uint32_t flags);
int xen_vm_shutdown(void *conn, trellis_call_t *call, const char *uuid,
		    uint32_t timeout_s, uint32_t flags);

#endif
