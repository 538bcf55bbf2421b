/* SPDX-License-Identifier: Apache-2.0 */
/*
 * desc.c - descriptors that break the loader's other sanity rules, one per
 * DESC_CASE (see tests/unit/loader/SConscript):
 *   1 entry returns NULL          2 struct_size too small for a version
 *   3 invalid name                4 no version
 *   5 unknown thread model        6 no ops table
 *   7 a valid one (loads)
 */
#include <trellis/storage.h>

#ifndef DESC_CASE
#define DESC_CASE 7
#endif

static int pool_open(void *state, trellis_call_t *call,
		     const trellis_pool_spec_t *spec, uint32_t flags,
		     void **pool)
{
	(void)state, (void)call, (void)spec, (void)flags;
	*pool = NULL;
	return 0;
}

static void pool_close(void *state, void *pool) { (void)state, (void)pool; }

static int pool_info(void *pool, trellis_call_t *call, uint32_t flags,
		     trellis_pool_info_t *out)
{
	(void)pool, (void)call, (void)flags, (void)out;
	return 0;
}

static int vol_create(void *pool, trellis_call_t *call,
		      const trellis_vol_spec_t *spec, const char *idem_key,
		      uint32_t flags, trellis_vol_info_t *out)
{
	(void)pool, (void)call, (void)spec, (void)idem_key, (void)flags;
	(void)out;
	return 0;
}

static int vol_delete(void *pool, trellis_call_t *call, const char *name,
		      const char *idem_key, uint32_t flags)
{
	(void)pool, (void)call, (void)name, (void)idem_key, (void)flags;
	return 0;
}

static int vol_info(void *pool, trellis_call_t *call, const char *name,
		    uint32_t flags, trellis_vol_info_t *out)
{
	(void)pool, (void)call, (void)name, (void)flags, (void)out;
	return 0;
}

static const struct trellis_storage_ops ops = {
    .struct_size = sizeof ops,
    .pool_open = pool_open,
    .pool_close = pool_close,
    .pool_info = pool_info,
    .vol_create = vol_create,
    .vol_delete = vol_delete,
    .vol_info = vol_info,
};

static const trellis_plugin_desc_t desc = {
#if DESC_CASE == 2
    .struct_size = 4,
#else
    .struct_size = sizeof desc,
#endif
    .abi_major = TRELLIS_ABI_MAJOR,
    .abi_minor = TRELLIS_ABI_MINOR,
    .build_tag = TRELLIS_BUILD_TAG,
#if DESC_CASE == 3
    .name = "Bad Name",
#else
    .name = "desc-case",
#endif
#if DESC_CASE != 4
    .version = "1.0.0",
#endif
    .license = "Apache-2.0",
    .kind = TRELLIS_KIND_STORAGE,
#if DESC_CASE == 5
    .thread_model = 7,
#else
    .thread_model = TRELLIS_THREAD_SERIALIZED,
#endif
#if DESC_CASE != 6
    .ops = &ops,
#endif
};

const trellis_plugin_desc_t *trellis_plugin_entry(void)
{
#if DESC_CASE == 1
	(void)desc;
	return NULL;
#else
	return &desc;
#endif
}
