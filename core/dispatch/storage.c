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

void tr_st_pool_close(struct trellis_plugin *p, void *pool,
		      pthread_mutex_t *lock)
{
	const struct trellis_storage_ops *ops = tr_plugin_ops(p);
	if (!tr_plugin_has_op(
		p, offsetof(struct trellis_storage_ops, pool_close)) ||
	    p->desc->kind != TRELLIS_KIND_STORAGE)
		return;
	tr_plugin_enter(p, lock);
	ops->pool_close(p->state_ptr, pool);
	tr_plugin_leave(p, lock);
}

int tr_st_pool_info(struct trellis_plugin *p, void *pool, pthread_mutex_t *lock,
		    trellis_call_t *call, uint32_t flags,
		    trellis_pool_info_t *out)
{
	trellis_pool_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(pool_info);
	TR_DISPATCH_RUN(lock, pool_info, pool, call, flags, out);
}

int tr_st_vol_create(struct trellis_plugin *p, void *pool,
		     pthread_mutex_t *lock, trellis_call_t *call,
		     const trellis_vol_spec_t *spec, const char *idem_key,
		     uint32_t flags, trellis_vol_info_t *out)
{
	trellis_vol_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vol_create);
	TR_DISPATCH_RUN(lock, vol_create, pool, call, spec, idem_key, flags,
			out);
}

int tr_st_vol_delete(struct trellis_plugin *p, void *pool,
		     pthread_mutex_t *lock, trellis_call_t *call,
		     const char *name, const char *idem_key, uint32_t flags)
{
	BEGIN(vol_delete);
	TR_DISPATCH_RUN(lock, vol_delete, pool, call, name, idem_key, flags);
}

int tr_st_vol_info(struct trellis_plugin *p, void *pool, pthread_mutex_t *lock,
		   trellis_call_t *call, const char *name, uint32_t flags,
		   trellis_vol_info_t *out)
{
	trellis_vol_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vol_info);
	TR_DISPATCH_RUN(lock, vol_info, pool, call, name, flags, out);
}

int tr_st_vol_list(struct trellis_plugin *p, void *pool, pthread_mutex_t *lock,
		   trellis_call_t *call, uint32_t flags, trellis_vol_list_fn fn,
		   void *opaque)
{
	BEGIN(vol_list);
	TR_DISPATCH_RUN(lock, vol_list, pool, call, flags, fn, opaque);
}

int tr_st_vol_resize(struct trellis_plugin *p, void *pool,
		     pthread_mutex_t *lock, trellis_call_t *call,
		     const char *name, uint64_t new_size, const char *idem_key,
		     uint32_t flags)
{
	BEGIN(vol_resize);
	TR_DISPATCH_RUN(lock, vol_resize, pool, call, name, new_size, idem_key,
			flags);
}

int tr_st_vol_clone(struct trellis_plugin *p, void *pool, pthread_mutex_t *lock,
		    trellis_call_t *call, const char *src, const char *dst,
		    const char *idem_key, uint32_t flags,
		    trellis_vol_info_t *out)
{
	trellis_vol_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vol_clone);
	TR_DISPATCH_RUN(lock, vol_clone, pool, call, src, dst, idem_key, flags,
			out);
}

int tr_st_snapshot_create(struct trellis_plugin *p, void *pool,
			  pthread_mutex_t *lock, trellis_call_t *call,
			  const char *vol, const char *snapshot,
			  const char *idem_key, uint32_t flags)
{
	BEGIN(snapshot_create);
	TR_DISPATCH_RUN(lock, snapshot_create, pool, call, vol, snapshot,
			idem_key, flags);
}

int tr_st_snapshot_delete(struct trellis_plugin *p, void *pool,
			  pthread_mutex_t *lock, trellis_call_t *call,
			  const char *vol, const char *snapshot,
			  const char *idem_key, uint32_t flags)
{
	BEGIN(snapshot_delete);
	TR_DISPATCH_RUN(lock, snapshot_delete, pool, call, vol, snapshot,
			idem_key, flags);
}
