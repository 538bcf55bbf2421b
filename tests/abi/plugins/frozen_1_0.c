/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A storage plugin built against the frozen ABI 1.0 headers
 * (sdk/abi/1.0/include), never against the current SDK.  It must keep
 * loading and working on every later 1.x host.
 *
 * It keeps volumes in a small in-memory table.  Its ops table is followed
 * in memory by a non-NULL function pointer, where a 1.1 host's next slot
 * would be: the host must go by struct_size and never call it.
 */
#include <stdio.h>
#include <string.h>

#include <trellis/storage.h>

#if TRELLIS_ABI_MAJOR != 1 || TRELLIS_ABI_MINOR != 0
#error "frozen_1_0.c must be built against sdk/abi/1.0/include"
#endif

#define MAX_VOLS 8

struct pool {
	char names[MAX_VOLS][128];
	uint64_t sizes[MAX_VOLS];
};

static const trellis_host_t *host;

static int init(trellis_plugin_t *self, const trellis_host_t *h,
		trellis_call_t *call, void **state)
{
	(void)self, (void)call, (void)state;
	host = h;
	return 0;
}

static int pool_open(void *state, trellis_call_t *call,
		     const trellis_pool_spec_t *spec, uint32_t flags,
		     void **pool)
{
	(void)state, (void)spec;
	if (flags & ~TRELLIS_POOL_OPEN_CREATE)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	*pool = host->alloc(sizeof(struct pool));
	return *pool ? 0 : TRELLIS_E_NOMEM;
}

static void pool_close(void *state, void *pool)
{
	(void)state;
	host->free(pool);
}

static int pool_info(void *pool, trellis_call_t *call, uint32_t flags,
		     trellis_pool_info_t *out)
{
	struct pool *p = pool;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	out->capacity = 1ull << 30;
	for (int i = 0; i < MAX_VOLS; i++)
		if (p->names[i][0]) {
			out->n_volumes++;
			out->allocation += p->sizes[i];
		}
	out->available = out->capacity - out->allocation;
	return 0;
}

static int find(struct pool *p, const char *name)
{
	for (int i = 0; i < MAX_VOLS; i++)
		if (strcmp(p->names[i], name) == 0)
			return i;
	return -1;
}

static void fill(struct pool *p, int i, trellis_vol_info_t *out)
{
	snprintf(out->name, sizeof out->name, "%s", p->names[i]);
	snprintf(out->path, sizeof out->path, "mem:%s", p->names[i]);
	snprintf(out->format, sizeof out->format, "raw");
	out->capacity = p->sizes[i];
}

static int vol_create(void *pool, trellis_call_t *call,
		      const trellis_vol_spec_t *spec, const char *idem_key,
		      uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	(void)idem_key;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	if (!spec->name || !spec->name[0] || strlen(spec->name) > 127)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "bad volume name");
	int i = find(p, spec->name);
	if (i < 0 && (i = find(p, "")) < 0)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "all %d slots in use", MAX_VOLS);
	snprintf(p->names[i], sizeof p->names[i], "%s", spec->name);
	p->sizes[i] = spec->size;
	fill(p, i, out);
	return 0;
}

static int vol_delete(void *pool, trellis_call_t *call, const char *name,
		      const char *idem_key, uint32_t flags)
{
	struct pool *p = pool;
	(void)idem_key;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	int i = find(p, name);
	if (i >= 0)
		p->names[i][0] = '\0';
	return 0;
}

static int vol_info(void *pool, trellis_call_t *call, const char *name,
		    uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	int i = find(p, name);
	if (i < 0)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "no volume '%s'", name);
	fill(p, i, out);
	return 0;
}

static int never_called(void) { return TRELLIS_E_INTERNAL; }

/* The 1.0 table, then what a 1.1 host would read as its next slot. */
static const struct {
	struct trellis_storage_ops ops;
	int (*beyond)(void);
} table = {
    .ops = {.struct_size = sizeof(struct trellis_storage_ops),
	    .pool_open = pool_open,
	    .pool_close = pool_close,
	    .pool_info = pool_info,
	    .vol_create = vol_create,
	    .vol_delete = vol_delete,
	    .vol_info = vol_info},
    .beyond = never_called,
};

TRELLIS_PLUGIN_DEFINE(.name = "frozen-1-0", .version = "1.0.0",
		      .license = "Apache-2.0", .kind = TRELLIS_KIND_STORAGE,
		      .description = "built against the frozen ABI 1.0 headers",
		      .thread_model = TRELLIS_THREAD_PER_TARGET, .init = init,
		      .ops = &table.ops)
