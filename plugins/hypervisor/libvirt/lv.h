/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lv.h - internals of the libvirt hypervisor plugin.
 *
 * The plugin drives QEMU/KVM (qemu:///system) and libvirt's test driver
 * (test:///default) through libvirt.  It owns:
 *   - the plugin state (struct lv_state): the host table, the plugin's
 *     config and the libvirt event loop thread (events.c), which delivers
 *     domain lifecycle events that become Trellis `vm.state` events;
 *   - one connection per host (struct lv_conn), opened once in connect()
 *     and shared by every op on that host, since virConnectPtr is
 *     thread-safe (the plugin is REENTRANT);
 *   - the domain type decision, probed once per host and cached (probe.c).
 *
 * Files: plugin.c (descriptor, init/fini, ops table), conn.c (connect, host
 * info, listing, errors), probe.c (kvm or qemu), domxml.c (domain XML from
 * a spec, and reading it back), vm.c (create/destroy/lifecycle), devices.c
 * (console, disk and NIC hotplug), events.c (event loop).
 */
#ifndef TRELLIS_LV_H
#define TRELLIS_LV_H

#include <pthread.h>
#include <stdatomic.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <trellis/hypervisor.h>

#define LV_NAME "libvirt"

struct lv_state {
	trellis_plugin_t *self;
	const trellis_host_t *host;
	const trellis_node_t *config; /* plugins: {libvirt: {...}} */
	int loop_started;	      /* holds a use of the event loop */
};

struct lv_conn {
	struct lv_state *st;
	virConnectPtr conn;
	char *uri;
	char hv_type[32];     /* virConnectGetType: "QEMU", "TEST" */
	char domain_type[16]; /* what vm_create uses unless overridden */
	int lifecycle_cb;     /* -1 when not registered */
	atomic_int refs;      /* connect + the lifecycle callback */
};

/* plugin.c: config accessors (the plugin's section, then per-host options
 * from connect(); NULL when unset). */
const char *lv_config_str(struct lv_state *st, const trellis_node_t *options,
			  const char *key);
long long lv_config_int(struct lv_state *st, const trellis_node_t *options,
			const char *key, long long dflt);

/* conn.c */
int lv_connect(void *state, trellis_call_t *call, const char *uri,
	       const trellis_node_t *options, uint32_t flags, void **conn);
void lv_disconnect(void *state, void *conn);
int lv_host_info(void *conn, trellis_call_t *call, uint32_t flags,
		 trellis_hv_host_info_t *out);
int lv_vm_list(void *conn, trellis_call_t *call, uint32_t flags,
	       trellis_vm_list_fn fn, void *opaque);
int lv_vm_info(void *conn, trellis_call_t *call, const char *uuid,
	       uint32_t flags, trellis_vm_info_t *out);
void lv_conn_unref(void *c);

/*
 * Error helpers.  lv_fail() reports the last libvirt error of this thread:
 * "<what>: <libvirt's message>", with the Trellis code mapped from the
 * virErrorNumber (and that number as the backend code).  lv_err() reports
 * a plain error.  Both return the code.
 */
int lv_fail(struct lv_conn *c, trellis_call_t *call, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);
/* lv_fail with a chosen code instead of the mapped one. */
int lv_fail_as(struct lv_conn *c, trellis_call_t *call, int code,
	       const char *fmt, ...) TRELLIS_PRINTF(4, 5);
int lv_err(struct lv_conn *c, trellis_call_t *call, int code, const char *fmt,
	   ...) TRELLIS_PRINTF(4, 5);
int lv_map_error(int vir_code);
/* Rejects flag bits outside allowed with INVALID_ARG naming op. */
int lv_check_flags(struct lv_conn *c, trellis_call_t *call, const char *op,
		   uint32_t flags, uint32_t allowed);
/* Looks up a domain by UUID string; NOTFOUND (or INVALID_ARG for a
 * malformed UUID) with an error set. */
int lv_lookup(struct lv_conn *c, trellis_call_t *call, const char *uuid,
	      virDomainPtr *dom);
/* Fills a vm_info from a domain. */
int lv_fill_info(struct lv_conn *c, trellis_call_t *call, virDomainPtr dom,
		 trellis_vm_info_t *out);
int lv_state_map(int vir_state);
/* Whether a struct from the caller is at least as big as its v1.0 form. */
#define LV_SIZE_OK(p, type, last)                                              \
	((p) && (p)->struct_size >= offsetof(type, last) + sizeof((p)->last))

/* probe.c: the domain type for this connection ("kvm", "qemu", "test"). */
int lv_probe_domain_type(struct lv_conn *c, trellis_call_t *call,
			 const trellis_node_t *options, char *out, size_t len);

/* guest.c: guest accounts through the guest agent (since 1.1) */
int lv_guest_set_password(void *conn, trellis_call_t *call, const char *uuid,
			  const char *user, const char *password,
			  uint32_t flags);
int lv_guest_lock_user(void *conn, trellis_call_t *call, const char *uuid,
		       const char *user, uint32_t flags);
int lv_guest_end_sessions(void *conn, trellis_call_t *call, const char *uuid,
			  const char *user, uint32_t flags, uint32_t *ended);
int lv_guest_file_read(void *conn, trellis_call_t *call, const char *uuid,
		       const char *path, uint64_t offset, uint32_t flags,
		       char *buf, size_t len, size_t *n, uint64_t *size);

/* events.c */
int lv_events_start(struct lv_state *st, trellis_call_t *call);
void lv_events_stop(struct lv_state *st);
void lv_events_register(struct lv_conn *c);
void lv_events_deregister(struct lv_conn *c);

/* vm.c */
int lv_vm_create(void *conn, trellis_call_t *call,
		 const trellis_vm_spec_t *spec, const char *idem_key,
		 uint32_t flags, trellis_vm_info_t *out);
int lv_vm_destroy(void *conn, trellis_call_t *call, const char *uuid,
		  const char *idem_key, uint32_t flags);
int lv_vm_start(void *conn, trellis_call_t *call, const char *uuid,
		uint32_t flags);
int lv_vm_shutdown(void *conn, trellis_call_t *call, const char *uuid,
		   uint32_t timeout_s, uint32_t flags);
int lv_vm_pause(void *conn, trellis_call_t *call, const char *uuid,
		uint32_t flags);
int lv_vm_resume(void *conn, trellis_call_t *call, const char *uuid,
		 uint32_t flags);

/* devices.c */
/* VNC authentication uses 8 characters of the password, no more. */
#define VNC_PASSWD_LEN 8
/* A random password of VNC_PASSWD_LEN (or len-1) characters. 0 or -1. */
int lv_random_password(char *out, size_t len);
int lv_vm_console(void *conn, trellis_call_t *call, const char *uuid,
		  uint32_t ttl_s, uint32_t flags, trellis_console_info_t *out);
int lv_vm_disk_attach(void *conn, trellis_call_t *call, const char *uuid,
		      const trellis_disk_spec_t *disk, const char *idem_key,
		      uint32_t flags);
int lv_vm_disk_detach(void *conn, trellis_call_t *call, const char *uuid,
		      const char *target, const char *idem_key, uint32_t flags);
int lv_vm_nic_attach(void *conn, trellis_call_t *call, const char *uuid,
		     const trellis_nic_spec_t *nic, const char *idem_key,
		     uint32_t flags);
int lv_vm_nic_detach(void *conn, trellis_call_t *call, const char *uuid,
		     const char *mac, const char *idem_key, uint32_t flags);

#endif
