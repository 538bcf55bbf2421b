/* SPDX-License-Identifier: Apache-2.0 */
/* storage.c - dispatch wrappers for storage plugins (dispatch.h). */
#include <string.h>

#include "../loader/loader.h"
#include "dispatch.h"

#define BEGIN(op)                                                              \
	TR_DISPATCH_BEGIN(TRELLIS_KIND_STORAGE, trellis_storage_ops, op)

int tr_st_pool_open(struct trellis_plugin *p, trellis_call_t *call,
		    const trellis_pool_spec_t *spec, uint32_t flags,
		    void **pool)
{
	*pool = NULL;
	BEGIN(pool_open);
	TR_DISPATCH_RUN(NULL, pool_open, p->state_ptr, call, spec, flags, pool);
}

void tr_st_pool_close(struct tr_target *t)
{
	TR_DISPATCH_TARGET(t, pool);
	const struct trellis_storage_ops *ops = tr_plugin_ops(p);
	if (!tr_plugin_has_op(
		p, offsetof(struct trellis_storage_ops, pool_close)) ||
	    p->desc->kind != TRELLIS_KIND_STORAGE)
		return;
	tr_plugin_enter(p, lock);
	ops->pool_close(p->state_ptr, pool);
	tr_plugin_leave(p, lock);
}

int tr_st_pool_info(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		    trellis_pool_info_t *out)
{
	TR_DISPATCH_TARGET(t, pool);
	trellis_pool_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(pool_info);
	TR_DISPATCH_RUN(lock, pool_info, pool, call, flags, out);
}

/*
 * The format a volume gets, when the plugin declares its formats
 * (TRELLIS_STORAGE_CAP_FORMAT_*, since 1.1): the one asked for if the
 * plugin makes it (else NOTSUP before the plugin is called), or, when
 * none is asked for, qcow2 unless the plugin makes raw only.  A plugin
 * that declares none gets what was asked (NULL: qcow2, as in 1.0).
 */
static int pick_format(const struct trellis_plugin *p, trellis_call_t *call,
		       const char *asked, const char **out)
{
	uint64_t caps = p->desc->caps;
	const uint64_t q = TRELLIS_STORAGE_CAP_FORMAT_QCOW2,
		       r = TRELLIS_STORAGE_CAP_FORMAT_RAW;
	*out = asked;
	if (p->desc->abi_minor < 1 || !(caps & (q | r)))
		return 0; /* declares none: the plugin judges (NULL: qcow2) */
	if (!asked) {
		*out = caps & q ? "qcow2" : "raw";
		return 0;
	}
	if ((!strcmp(asked, "qcow2") && (caps & q)) ||
	    (!strcmp(asked, "raw") && (caps & r)) ||
	    (strcmp(asked, "qcow2") && strcmp(asked, "raw")))
		return 0; /* made, or a format no bit names: the plugin's call */
	return tr_call_set(call, TRELLIS_E_NOTSUP,
			   "plugin '%s' (storage) makes %s volumes, not %s",
			   p->name,
			   (caps & q) && (caps & r) ? "qcow2 and raw"
			   : caps & q		    ? "qcow2"
						    : "raw",
			   asked);
}

int tr_st_vol_create(struct tr_target *t, trellis_call_t *call,
		     const trellis_vol_spec_t *spec, const char *idem_key,
		     uint32_t flags, trellis_vol_info_t *out)
{
	TR_DISPATCH_TARGET(t, pool);
	trellis_vol_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vol_create);
	trellis_vol_spec_t s;
	const trellis_vol_spec_t *sp = spec; /* NULL is the plugin's to refuse */
	if (spec) {
		s = *spec;
		sp = &s;
		if (tr_dispatch_name_fits(call, "volume", s.name,
					  sizeof out->name) ||
		    pick_format(p, call, spec->format, &s.format))
			return call->code;
	}
	TR_DISPATCH_RUN(lock, vol_create, pool, call, sp, idem_key, flags,
			out);
}

int tr_st_vol_delete(struct tr_target *t, trellis_call_t *call,
		     const char *name, const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(vol_delete);
	TR_DISPATCH_RUN(lock, vol_delete, pool, call, name, idem_key, flags);
}

int tr_st_vol_info(struct tr_target *t, trellis_call_t *call, const char *name,
		   uint32_t flags, trellis_vol_info_t *out)
{
	TR_DISPATCH_TARGET(t, pool);
	trellis_vol_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vol_info);
	TR_DISPATCH_RUN(lock, vol_info, pool, call, name, flags, out);
}

int tr_st_vol_list(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		   trellis_vol_list_fn fn, void *opaque)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(vol_list);
	TR_DISPATCH_RUN(lock, vol_list, pool, call, flags, fn, opaque);
}

int tr_st_vol_resize(struct tr_target *t, trellis_call_t *call,
		     const char *name, uint64_t new_size, const char *idem_key,
		     uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(vol_resize);
	TR_DISPATCH_RUN(lock, vol_resize, pool, call, name, new_size, idem_key,
			flags);
}

int tr_st_vol_clone(struct tr_target *t, trellis_call_t *call, const char *src,
		    const char *dst, const char *idem_key, uint32_t flags,
		    trellis_vol_info_t *out)
{
	TR_DISPATCH_TARGET(t, pool);
	trellis_vol_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vol_clone);
	if (tr_dispatch_name_fits(call, "volume", dst, sizeof out->name))
		return call->code;
	TR_DISPATCH_RUN(lock, vol_clone, pool, call, src, dst, idem_key, flags,
			out);
}

int tr_st_snapshot_create(struct tr_target *t, trellis_call_t *call,
			  const char *vol, const char *snapshot,
			  const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(snapshot_create);
	TR_DISPATCH_RUN(lock, snapshot_create, pool, call, vol, snapshot,
			idem_key, flags);
}

int tr_st_snapshot_delete(struct tr_target *t, trellis_call_t *call,
			  const char *vol, const char *snapshot,
			  const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(snapshot_delete);
	TR_DISPATCH_RUN(lock, snapshot_delete, pool, call, vol, snapshot,
			idem_key, flags);
}

/* ---- since 1.1: beyond a 1.0 table these are NOTSUP (dispatch.c) ---- */

int tr_st_discover(struct tr_target *t, trellis_call_t *call, uint32_t what,
		   uint32_t flags, trellis_st_object_fn fn, void *opaque)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(discover);
	TR_DISPATCH_RUN(lock, discover, pool, call, what, flags, fn, opaque);
}

int tr_st_assign(struct tr_target *t, trellis_call_t *call,
		 const trellis_assign_spec_t *spec, const char *idem_key,
		 uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(assign);
	TR_DISPATCH_RUN(lock, assign, pool, call, spec, idem_key, flags);
}

int tr_st_unassign(struct tr_target *t, trellis_call_t *call,
		   const trellis_assign_spec_t *spec, const char *idem_key,
		   uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(unassign);
	TR_DISPATCH_RUN(lock, unassign, pool, call, spec, idem_key, flags);
}

int tr_st_port_connect(struct tr_target *t, trellis_call_t *call,
		       const char *port, const char *idem_key, uint32_t flags,
		       trellis_st_object_t *out)
{
	TR_DISPATCH_TARGET(t, pool);
	trellis_st_object_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(port_connect);
	TR_DISPATCH_RUN(lock, port_connect, pool, call, port, idem_key, flags,
			out);
}

int tr_st_vol_open(struct tr_target *t, trellis_call_t *call, const char *name,
		   uint32_t flags, void **stream)
{
	TR_DISPATCH_TARGET(t, pool);
	*stream = NULL;
	BEGIN(vol_open);
	TR_DISPATCH_RUN(lock, vol_open, pool, call, name, flags, stream);
}

int tr_st_vol_read(struct tr_target *t, void *stream, trellis_call_t *call,
		   uint64_t off, void *buf, size_t len, size_t *got)
{
	TR_DISPATCH_TARGET(t, pool);
	*got = 0;
	BEGIN(vol_read);
	TR_DISPATCH_RUN(lock, vol_read, pool, stream, call, off, buf, len, got);
}

int tr_st_vol_write(struct tr_target *t, void *stream, trellis_call_t *call,
		    uint64_t off, const void *buf, size_t len)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(vol_write);
	TR_DISPATCH_RUN(lock, vol_write, pool, stream, call, off, buf, len);
}

int tr_st_vol_stream_close(struct tr_target *t, void *stream,
			   trellis_call_t *call, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, pool);
	BEGIN(vol_stream_close);
	TR_DISPATCH_RUN(lock, vol_stream_close, pool, stream, call, flags);
}

int tr_st_vol_stream_fd(struct tr_target *t, void *stream,
			trellis_call_t *call, int *fd)
{
	TR_DISPATCH_TARGET(t, pool);
	*fd = -1;
	BEGIN(vol_stream_fd);
	TR_DISPATCH_RUN(lock, vol_stream_fd, pool, stream, call, fd);
}
