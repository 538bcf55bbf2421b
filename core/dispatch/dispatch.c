/* SPDX-License-Identifier: Apache-2.0 */
/* dispatch.c - the checks every wrapper shares, and targets (dispatch.h). */
#include "dispatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/loader.h"
#include "../util/alloc.h"

const void *tr_dispatch_begin(struct trellis_plugin *p, uint32_t kind,
			      size_t offset, const char *op,
			      trellis_call_t *call)
{
	/* Reset the error but keep what the caller set up (progress,
	 * cancellation). */
	call->code = 0;
	call->has_error = 0;
	call->generic = 0;
	call->backend_code = 0;
	call->retryable = 0;
	call->message[0] = '\0';
	if (!p) {
		tr_call_set(call, TRELLIS_E_INVALID_ARG,
			    "no %s plugin to call %s", trellis_kind_name(kind),
			    op);
		return NULL;
	}
	/* A plain bounded copy, not snprintf: this runs on every plugin
	 * call, and placement makes a dozen per request. */
	size_t nl = strnlen(p->name, sizeof call->plugin - 1);
	memcpy(call->plugin, p->name, nl);
	call->plugin[nl] = '\0';
	if (p->state != TR_PLUGIN_LOADED || !p->desc) {
		tr_call_set(call, TRELLIS_E_INVALID_ARG,
			    "plugin '%s' is not loaded (%s)", p->name,
			    p->reason[0] ? p->reason : "refused");
		return NULL;
	}
	if (p->desc->kind != kind) {
		tr_call_set(call, TRELLIS_E_INVALID_ARG,
			    "plugin '%s' is a %s plugin, not %s: cannot call "
			    "%s",
			    p->name, trellis_kind_name(p->desc->kind),
			    trellis_kind_name(kind), op);
		return NULL;
	}
	if (!tr_plugin_has_op(p, offset)) {
		tr_call_set(call, TRELLIS_E_NOTSUP,
			    "plugin '%s' (%s) does not support %s", p->name,
			    trellis_kind_name(kind), op);
		return NULL;
	}
	return tr_plugin_ops(p);
}

int tr_dispatch_name_fits(trellis_call_t *call, const char *what,
			  const char *name, size_t cap)
{
	size_t n = name ? strlen(name) : 0;
	if (n < cap)
		return 0;
	return tr_call_set(call, TRELLIS_E_INVALID_ARG,
			   "%s name '%.24s...' is %zu characters long; at most "
			   "%zu fit (the plugin could not hand it back whole)",
			   what, name, n, cap - 1);
}

static const struct tr_metric m_calls = {
    "trellis_plugin_calls_total",
    "Plugin op calls, by plugin, op and result",
    TR_METRIC_COUNTER,
    {"plugin", "op", "result", NULL}};
static const struct tr_metric m_seconds = {
    "trellis_plugin_call_seconds",
    "Latency of plugin op calls, by plugin and op",
    TR_METRIC_HISTOGRAM,
    {"plugin", "op", NULL}};

int tr_dispatch_end(struct trellis_plugin *p, trellis_call_t *call,
		    const char *op, int rc, long long t0_ns)
{
	rc = tr_call_finish(call, op, rc);
	const char *v[] = {p->name, op, rc ? trellis_error_name(rc) : "ok"};
	tr_metric_add(&m_calls, v, 1);
	tr_metric_observe(&m_seconds, v,
			  (double)(tr_metric_now_ns() - t0_ns) / 1e9);
	return rc;
}

int tr_target_open(struct trellis_plugin *p, trellis_call_t *call,
		   const char *name, const char *uri,
		   const trellis_node_t *options, uint32_t flags,
		   struct tr_target **out)
{
	*out = NULL;
	struct tr_target *t = tr_xcalloc(1, sizeof *t);
	if (!t)
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	t->plugin = p;
	pthread_mutex_init(&t->lock, NULL);
	t->uri = tr_xstrdup(uri ? uri : "");
	t->name = tr_xstrdup(name ? name : (uri ? uri : ""));
	int rc;
	if (!t->uri || !t->name) {
		rc = tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
		goto fail;
	}
	uint32_t kind = p && p->desc ? p->desc->kind : 0;
	switch (kind) {
	case TRELLIS_KIND_HYPERVISOR:
		rc = tr_hv_connect(p, call, uri, options, flags, &t->handle);
		break;
	case TRELLIS_KIND_STORAGE: {
		trellis_pool_spec_t spec = {
		    .struct_size = sizeof spec,
		    .name = t->name,
		    .target = uri,
		    .options = options,
		};
		rc = tr_st_pool_open(p, call, &spec, flags, &t->handle);
		break;
	}
	case TRELLIS_KIND_NETWORK:
		rc = tr_net_connect(p, call, uri, options, flags, &t->handle);
		break;
	default:
		rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				 "plugin '%s' has no targets (kind %s)",
				 p ? p->name : "(none)",
				 trellis_kind_name(kind));
		break;
	}
	if (rc < 0)
		goto fail;
	*out = t;
	return 0;
fail:
	pthread_mutex_destroy(&t->lock);
	free(t->uri);
	free(t->name);
	free(t);
	return rc;
}

void tr_target_close(struct tr_target *t)
{
	if (!t)
		return;
	switch (t->plugin->desc ? t->plugin->desc->kind : 0) {
	case TRELLIS_KIND_HYPERVISOR:
		tr_hv_disconnect(t);
		break;
	case TRELLIS_KIND_STORAGE:
		tr_st_pool_close(t);
		break;
	case TRELLIS_KIND_NETWORK:
		tr_net_disconnect(t);
		break;
	default:
		break;
	}
	pthread_mutex_destroy(&t->lock);
	free(t->uri);
	free(t->name);
	free(t);
}
