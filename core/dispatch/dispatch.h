/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dispatch.h - typed, safe calls into plugins.  The daemon, the actions and
 * trellis-plugin-check call plugin ops only through these wrappers.
 *
 * Every wrapper does the same five things, so no caller has to remember:
 *   1. refuses a plugin that is not loaded or is of another kind
 *      (TRELLIS_E_INVALID_ARG);
 *   2. reports an op whose slot is NULL or lies beyond the plugin's ops
 *      struct_size as TRELLIS_E_NOTSUP, "plugin 'X' (kind) does not support
 *      OP";
 *   3. zero-fills the output struct and sets its struct_size (a NULL out
 *      is allowed: the wrapper passes a scratch struct);
 *   4. honours the plugin's thread model (tr_plugin_enter/leave with the
 *      target's lock);
 *   5. finishes the call (tr_call_finish), so a failure without a message
 *      gets a generic one naming the plugin and the op.
 *
 * The caller owns call (never NULL).  The wrappers reset its error fields
 * and set call->plugin, but keep the progress callback and cancellation
 * flag the caller may have put there.  The return value is the op's: 0 (or
 * a count for policy filters), or a negative TRELLIS_E_* code with
 * call->message set.
 *
 * Targets.  Ops of hypervisor, storage and network plugins run against a
 * handle the plugin returned from connect()/pool_open() (a "target").  A
 * struct tr_target bundles that handle with its plugin and the lock that
 * serialises calls for TRELLIS_THREAD_PER_TARGET.  The core owns targets:
 * tr_target_open() makes one, tr_target_close() releases the handle and
 * frees it.  A target's wrapper takes it first:
 * tr_hv_vm_info(t, &call, uuid, 0, &info).
 */
#ifndef TRELLIS_CORE_DISPATCH_H
#define TRELLIS_CORE_DISPATCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/hypervisor.h>
#include <trellis/network.h>
#include <trellis/policy.h>
#include <trellis/storage.h>

#include "../host/host.h"
#include "../util/metrics.h"

struct tr_target {
	struct trellis_plugin *plugin; /* borrowed from the registry */
	void *handle;		       /* the plugin's connection or pool */
	pthread_mutex_t lock;	       /* for TRELLIS_THREAD_PER_TARGET */
	char *name;		       /* pool name, or the uri */
	char *uri;		       /* connect uri, or the pool target */
};

/* The first statement of a target's wrapper: names the target's plugin
 * p, its handle and its lock (NULL t: no plugin, which the wrapper
 * refuses). */
#define TR_DISPATCH_TARGET(t, h_)                                              \
	struct trellis_plugin *p = (t) ? (t)->plugin : NULL;                   \
	void *h_ = (t) ? (t)->handle : NULL;                                   \
	pthread_mutex_t *lock = (t) ? &(t)->lock : NULL;                       \
	(void)h_;                                                              \
	(void)lock

/*
 * Opens a target on a hypervisor (connect), storage (pool_open) or network
 * (connect) plugin.  name is the pool's name (storage; NULL: uri) and is
 * ignored by the others; uri is the connect URI or the pool's target;
 * options may be NULL; flags go to the op (TRELLIS_POOL_OPEN_CREATE...).
 * On success *out is a new target for tr_target_close().
 */
int tr_target_open(struct trellis_plugin *p, trellis_call_t *call,
		   const char *name, const char *uri,
		   const trellis_node_t *options, uint32_t flags,
		   struct tr_target **out);
/* Disconnects / closes the pool and frees t.  NULL is a no-op. */
void tr_target_close(struct tr_target *t);
/* The ABI minor t's plugin was built against (a flag of 1.1 goes only to
 * a plugin of 1.1 or later: an older one rejects unknown bits). */
static inline unsigned tr_target_abi_minor(const struct tr_target *t)
{
	return t && t->plugin && t->plugin->desc ? t->plugin->desc->abi_minor
						 : 0;
}

/* The capability flags t's plugin declares (TRELLIS_HV_CAP_*...). */
static inline uint64_t tr_target_caps(const struct tr_target *t)
{
	return t && t->plugin && t->plugin->desc ? t->plugin->desc->caps : 0;
}

/* ---- hypervisor (hypervisor.c) ---- */

int tr_hv_connect(struct trellis_plugin *p, trellis_call_t *call,
		  const char *uri, const trellis_node_t *options,
		  uint32_t flags, void **conn);
void tr_hv_disconnect(struct tr_target *t);
int tr_hv_host_info(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		    trellis_hv_host_info_t *out);
int tr_hv_vm_list(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		  trellis_vm_list_fn fn, void *opaque);
int tr_hv_vm_create(struct tr_target *t, trellis_call_t *call,
		    const trellis_vm_spec_t *spec, const char *idem_key,
		    uint32_t flags, trellis_vm_info_t *out);
int tr_hv_vm_destroy(struct tr_target *t, trellis_call_t *call,
		     const char *uuid, const char *idem_key, uint32_t flags);
int tr_hv_vm_info(struct tr_target *t, trellis_call_t *call, const char *uuid,
		  uint32_t flags, trellis_vm_info_t *out);
int tr_hv_vm_start(struct tr_target *t, trellis_call_t *call, const char *uuid,
		   uint32_t flags);
int tr_hv_vm_shutdown(struct tr_target *t, trellis_call_t *call,
		      const char *uuid, uint32_t timeout_s, uint32_t flags);
int tr_hv_vm_pause(struct tr_target *t, trellis_call_t *call, const char *uuid,
		   uint32_t flags);
int tr_hv_vm_resume(struct tr_target *t, trellis_call_t *call, const char *uuid,
		    uint32_t flags);
int tr_hv_vm_console(struct tr_target *t, trellis_call_t *call,
		     const char *uuid, uint32_t ttl_s, uint32_t flags,
		     trellis_console_info_t *out);
int tr_hv_vm_disk_attach(struct tr_target *t, trellis_call_t *call,
			 const char *uuid, const trellis_disk_spec_t *disk,
			 const char *idem_key, uint32_t flags);
int tr_hv_vm_disk_detach(struct tr_target *t, trellis_call_t *call,
			 const char *uuid, const char *target,
			 const char *idem_key, uint32_t flags);
int tr_hv_vm_nic_attach(struct tr_target *t, trellis_call_t *call,
			const char *uuid, const trellis_nic_spec_t *nic,
			const char *idem_key, uint32_t flags);
int tr_hv_vm_nic_detach(struct tr_target *t, trellis_call_t *call,
			const char *uuid, const char *mac, const char *idem_key,
			uint32_t flags);
/* since 1.1: guest accounts (NOTSUP from a 1.0 plugin). */
int tr_hv_guest_set_password(struct tr_target *t, trellis_call_t *call,
			     const char *uuid, const char *user,
			     const char *password, uint32_t flags);
int tr_hv_guest_lock_user(struct tr_target *t, trellis_call_t *call,
			  const char *uuid, const char *user, uint32_t flags);
int tr_hv_guest_end_sessions(struct tr_target *t, trellis_call_t *call,
			     const char *uuid, const char *user, uint32_t flags,
			     uint32_t *ended);
/* since 1.1: a guest file's bytes from offset (maintenance mode's log). */
int tr_hv_guest_file_read(struct tr_target *t, trellis_call_t *call,
			  const char *uuid, const char *path, uint64_t offset,
			  uint32_t flags, char *buf, size_t len, size_t *n,
			  uint64_t *size);

/* ---- storage (storage.c) ---- */

int tr_st_pool_open(struct trellis_plugin *p, trellis_call_t *call,
		    const trellis_pool_spec_t *spec, uint32_t flags,
		    void **pool);
void tr_st_pool_close(struct tr_target *t);
int tr_st_pool_info(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		    trellis_pool_info_t *out);
int tr_st_vol_create(struct tr_target *t, trellis_call_t *call,
		     const trellis_vol_spec_t *spec, const char *idem_key,
		     uint32_t flags, trellis_vol_info_t *out);
int tr_st_vol_delete(struct tr_target *t, trellis_call_t *call,
		     const char *name, const char *idem_key, uint32_t flags);
int tr_st_vol_info(struct tr_target *t, trellis_call_t *call, const char *name,
		   uint32_t flags, trellis_vol_info_t *out);
int tr_st_vol_list(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		   trellis_vol_list_fn fn, void *opaque);
int tr_st_vol_resize(struct tr_target *t, trellis_call_t *call,
		     const char *name, uint64_t new_size, const char *idem_key,
		     uint32_t flags);
int tr_st_vol_clone(struct tr_target *t, trellis_call_t *call, const char *src,
		    const char *dst, const char *idem_key, uint32_t flags,
		    trellis_vol_info_t *out);
int tr_st_snapshot_create(struct tr_target *t, trellis_call_t *call,
			  const char *vol, const char *snapshot,
			  const char *idem_key, uint32_t flags);
int tr_st_snapshot_delete(struct tr_target *t, trellis_call_t *call,
			  const char *vol, const char *snapshot,
			  const char *idem_key, uint32_t flags);
/* since 1.1 (a 1.0 plugin: NOTSUP) */
int tr_st_discover(struct tr_target *t, trellis_call_t *call, uint32_t what,
		   uint32_t flags, trellis_st_object_fn fn, void *opaque);
int tr_st_assign(struct tr_target *t, trellis_call_t *call,
		 const trellis_assign_spec_t *spec, const char *idem_key,
		 uint32_t flags);
int tr_st_unassign(struct tr_target *t, trellis_call_t *call,
		   const trellis_assign_spec_t *spec, const char *idem_key,
		   uint32_t flags);
int tr_st_port_connect(struct tr_target *t, trellis_call_t *call,
		       const char *port, const char *idem_key, uint32_t flags,
		       trellis_st_object_t *out);
int tr_st_vol_open(struct tr_target *t, trellis_call_t *call, const char *name,
		   uint32_t flags, void **stream);
int tr_st_vol_read(struct tr_target *t, void *stream, trellis_call_t *call,
		   uint64_t off, void *buf, size_t len, size_t *got);
int tr_st_vol_write(struct tr_target *t, void *stream, trellis_call_t *call,
		    uint64_t off, const void *buf, size_t len);
int tr_st_vol_stream_close(struct tr_target *t, void *stream,
			   trellis_call_t *call, uint32_t flags);
/* The stream's local file descriptor (*fd -1 and NOTSUP without one). */
int tr_st_vol_stream_fd(struct tr_target *t, void *stream,
			trellis_call_t *call, int *fd);

/* ---- network (network.c) ---- */

int tr_net_connect(struct trellis_plugin *p, trellis_call_t *call,
		   const char *uri, const trellis_node_t *options,
		   uint32_t flags, void **conn);
void tr_net_disconnect(struct tr_target *t);
int tr_net_segment_ensure(struct tr_target *t, trellis_call_t *call,
			  const trellis_segment_spec_t *spec,
			  const char *idem_key, uint32_t flags,
			  trellis_segment_info_t *out);
int tr_net_segment_release(struct tr_target *t, trellis_call_t *call,
			   const char *segment, const char *idem_key,
			   uint32_t flags);
int tr_net_port_create(struct tr_target *t, trellis_call_t *call,
		       const trellis_port_spec_t *spec, const char *idem_key,
		       uint32_t flags, trellis_port_info_t *out);
int tr_net_port_delete(struct tr_target *t, trellis_call_t *call,
		       const char *port, const char *idem_key, uint32_t flags);
/* rule_id may be NULL; otherwise it is zeroed first. */
int tr_net_rule_add(struct tr_target *t, trellis_call_t *call,
		    const trellis_fw_rule_t *rule, const char *idem_key,
		    uint32_t flags, char rule_id[64]);
int tr_net_rule_delete(struct tr_target *t, trellis_call_t *call,
		       const char *rule_id, const char *idem_key,
		       uint32_t flags);
int tr_net_gc(struct tr_target *t, trellis_call_t *call,
	      const char *const *keep, uint32_t n_keep, uint32_t flags,
	      trellis_gc_fn fn, void *opaque);
/* Routers (ABI 1.1): NOTSUP from a 1.0 plugin or a NULL slot. */
int tr_net_router_ensure(struct tr_target *t, trellis_call_t *call,
			 const trellis_router_spec_t *spec,
			 const char *idem_key, uint32_t flags,
			 trellis_router_info_t *out);
int tr_net_router_remove(struct tr_target *t, trellis_call_t *call,
			 const char *name, const char *idem_key,
			 uint32_t flags);
/* since 1.1: a rule's counter (NOTSUP from a 1.0 plugin). */
int tr_net_rule_stats(struct tr_target *t, trellis_call_t *call,
		      const char *rule_id, uint32_t flags,
		      trellis_fw_rule_stats_t *out);

/* ---- policy (policy.c) ----
 * Policy plugins have no target: the wrappers pass the plugin's state and
 * serialise on the plugin for SERIALIZED and PER_TARGET. */

/* Number of filters / weighers the plugin offers (0 when none or not a
 * loaded policy plugin), and the i-th one (NULL past the end). */
size_t tr_policy_n_filters(const struct trellis_plugin *p);
size_t tr_policy_n_weighers(const struct trellis_plugin *p);
const trellis_policy_item_t *tr_policy_filter_at(const struct trellis_plugin *p,
						 size_t i);
const trellis_policy_item_t *
tr_policy_weigher_at(const struct trellis_plugin *p, size_t i);

/* Runs filter idx; returns the number of hosts removed (>= 0) or an error.
 * reason may be NULL; otherwise it is zeroed first. */
int tr_policy_filter(struct trellis_plugin *p, trellis_call_t *call,
		     uint32_t idx, const trellis_place_request_t *req,
		     const trellis_host_view_t *const *hosts, size_t n,
		     uint8_t *keep, uint32_t flags, char reason[64]);
int tr_policy_weigh(struct trellis_plugin *p, trellis_call_t *call,
		    uint32_t idx, const trellis_place_request_t *req,
		    const trellis_host_view_t *const *hosts, size_t n,
		    const uint8_t *keep, double *scores, uint32_t flags);

/* ---- shared by the kind files (dispatch.c) ---- */

/*
 * Starts a call: resets call's error, checks that p is a loaded plugin of
 * kind and has the op at offset.  Returns p's ops table, or NULL with the
 * error (INVALID_ARG or NOTSUP) set in call.
 */
const void *tr_dispatch_begin(struct trellis_plugin *p, uint32_t kind,
			      size_t offset, const char *op,
			      trellis_call_t *call);
/* tr_call_finish(call, op, rc), and the op's call, result and latency
 * since t0_ns (tr_metric_now_ns()) in the metrics. */
int tr_dispatch_end(struct trellis_plugin *p, trellis_call_t *call,
		    const char *op, int rc, long long t0_ns);

/* The body of a wrapper, for the kind files: a function with parameters
 * p, call and (for targets) lock.  TR_DISPATCH_BEGIN declares `ops` or
 * returns the error; TR_DISPATCH_RUN calls the op under the thread model
 * and returns its finished result. */
/* clang-format off */
#define TR_DISPATCH_BEGIN(kind, type, op)                                      \
	const struct type *ops =                                               \
		tr_dispatch_begin(p, kind, offsetof(struct type, op), #op,     \
				  call);                                       \
	if (!ops)                                                              \
		return call->code
/* clang-format on */

/* INVALID_ARG (set in call) when name does not fit an info struct's
 * char[cap] with its NUL: what the plugin would hand back could not
 * round-trip.  0 otherwise (NULL names are the plugin's to refuse). */
int tr_dispatch_name_fits(trellis_call_t *call, const char *what,
			  const char *name, size_t cap);

#define TR_DISPATCH_RUN(lock, op, ...)                                         \
	do {                                                                   \
		long long t0_ = tr_metric_now_ns();                            \
		tr_plugin_enter(p, (lock));                                    \
		int rc_ = ops->op(__VA_ARGS__);                                \
		tr_plugin_leave(p, (lock));                                    \
		return tr_dispatch_end(p, call, #op, rc_, t0_);                \
	} while (0)
/* The same without the metrics, for the policy ops that placement calls a
 * dozen times a request (placement is timed as a whole). */
#define TR_DISPATCH_RUN_UNTIMED(lock, op, ...)                                 \
	do {                                                                   \
		tr_plugin_enter(p, (lock));                                    \
		int rc_ = ops->op(__VA_ARGS__);                                \
		tr_plugin_leave(p, (lock));                                    \
		return tr_call_finish(call, #op, rc_);                         \
	} while (0)

/* Zero an output struct and set its struct_size; a NULL out is pointed at
 * scratch first. */
#define TR_DISPATCH_OUT(out, scratch)                                          \
	do {                                                                   \
		if (!(out))                                                    \
			(out) = &(scratch);                                    \
		memset((out), 0, sizeof *(out));                               \
		(out)->struct_size = sizeof *(out);                            \
	} while (0)

#endif
