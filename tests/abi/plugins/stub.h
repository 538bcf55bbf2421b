/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stub.h - a tiny, valid storage ops table for the ABI test plugins.  Each
 * deliberately wrong plugin is correct except for the one thing its file
 * name says, so the loader refuses it for exactly that reason.
 */
#ifndef TRELLIS_TEST_ABI_STUB_H
#define TRELLIS_TEST_ABI_STUB_H

#include <trellis/storage.h>

static inline int stub_pool_open(void *state, trellis_call_t *call,
				 const trellis_pool_spec_t *spec,
				 uint32_t flags, void **pool)
{
	(void)state, (void)call, (void)spec, (void)flags;
	static int handle;
	*pool = &handle;
	return 0;
}

static inline void stub_pool_close(void *state, void *pool)
{
	(void)state, (void)pool;
}

static inline int stub_pool_info(void *pool, trellis_call_t *call,
				 uint32_t flags, trellis_pool_info_t *out)
{
	(void)pool, (void)call, (void)flags, (void)out;
	return 0;
}

static inline int stub_vol_create(void *pool, trellis_call_t *call,
				  const trellis_vol_spec_t *spec,
				  const char *idem_key, uint32_t flags,
				  trellis_vol_info_t *out)
{
	(void)pool, (void)call, (void)spec, (void)idem_key, (void)flags;
	(void)out;
	return 0;
}

static inline int stub_vol_delete(void *pool, trellis_call_t *call,
				  const char *name, const char *idem_key,
				  uint32_t flags)
{
	(void)pool, (void)call, (void)name, (void)idem_key, (void)flags;
	return 0;
}

static inline int stub_vol_info(void *pool, trellis_call_t *call,
				const char *name, uint32_t flags,
				trellis_vol_info_t *out)
{
	(void)pool, (void)call, (void)name, (void)flags, (void)out;
	return 0;
}

#define STUB_STORAGE_OPS                                                       \
	.pool_open = stub_pool_open, .pool_close = stub_pool_close,            \
	.pool_info = stub_pool_info, .vol_create = stub_vol_create,            \
	.vol_delete = stub_vol_delete, .vol_info = stub_vol_info

#endif
