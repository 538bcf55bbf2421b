/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c - a storage plugin for the loader and dispatch unit tests, built
 * once per thread model (PROBE_MODEL, PROBE_NAME).  vol_info's volume name
 * selects a behaviour:
 *   "silent-fail"  fails with BACKEND without set_error (generic message)
 *   "own-fail"     fails with NOTFOUND and its own message
 *   "mismatch"     sets NOTFOUND but returns BACKEND
 *   "config:KEY"   puts the plugin's config value of KEY in out->path
 *   "progress"     reports progress 50 "halfway"
 *   "sleep"        sleeps 20 ms, counting how many calls are inside at once
 *   anything else  fills out; out->format says whether out arrived zeroed
 * pool_info reports the most calls seen inside at once: n_volumes for this
 * pool, allocation for the whole plugin.  vol_delete("reset") resets them.
 * vol_list and the snapshot ops are absent.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <trellis/storage.h>

#ifndef PROBE_MODEL
#define PROBE_MODEL TRELLIS_THREAD_SERIALIZED
#endif
#ifndef PROBE_NAME
#define PROBE_NAME "probe"
#endif

struct pool {
	atomic_int inside, max;
};

static const trellis_host_t *host;
static trellis_plugin_t *self_;
static atomic_int inside_all, max_all;

static int init(trellis_plugin_t *self, const trellis_host_t *h,
		trellis_call_t *call, void **state)
{
	(void)call, (void)state;
	host = h;
	self_ = self;
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
	(void)call, (void)flags;
	out->n_volumes = (uint32_t)atomic_load(&p->max);
	out->allocation = (uint64_t)atomic_load(&max_all);
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
	struct pool *p = pool;
	(void)call, (void)idem_key, (void)flags;
	if (strcmp(name, "reset") == 0) {
		atomic_store(&p->max, 0);
		atomic_store(&max_all, 0);
	}
	return 0;
}

static void raise_max(atomic_int *max, int now)
{
	int m = atomic_load(max);
	while (now > m && !atomic_compare_exchange_weak(max, &m, now))
		;
}

static void sleep_counted(struct pool *p)
{
	raise_max(&p->max, atomic_fetch_add(&p->inside, 1) + 1);
	raise_max(&max_all, atomic_fetch_add(&inside_all, 1) + 1);
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	atomic_fetch_sub(&inside_all, 1);
	atomic_fetch_sub(&p->inside, 1);
}

static int vol_info(void *pool, trellis_call_t *call, const char *name,
		    uint32_t flags, trellis_vol_info_t *out)
{
	if (flags)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "unknown flags 0x%x", flags);
	if (strcmp(name, "silent-fail") == 0)
		return TRELLIS_E_BACKEND;
	if (strcmp(name, "own-fail") == 0)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "no volume '%s'", name);
	if (strcmp(name, "mismatch") == 0) {
		host->set_error(call, TRELLIS_E_NOTFOUND, "said NOTFOUND");
		return TRELLIS_E_BACKEND;
	}
	if (strncmp(name, "config:", 7) == 0) {
		const char *v = host->node_str(
		    host->node_get(host->config(self_), name + 7));
		snprintf(out->path, sizeof out->path, "%s", v ? v : "(none)");
		return 0;
	}
	if (strcmp(name, "progress") == 0) {
		host->progress(call, 50, "halfway");
		return 0;
	}
	if (strcmp(name, "sleep") == 0) {
		sleep_counted(pool);
		return 0;
	}
	int zeroed = out->struct_size == sizeof *out;
	for (size_t i = 0; i < sizeof out->name; i++)
		zeroed &= out->name[i] == 0;
	zeroed &= out->capacity == 0 && out->allocation == 0;
	snprintf(out->format, sizeof out->format, "%s",
		 zeroed ? "zeroed" : "dirty");
	snprintf(out->name, sizeof out->name, "%s", name);
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

TRELLIS_PLUGIN_DEFINE(.name = PROBE_NAME, .version = "1.0.0", .license = "Apache-2.0",
		      .kind = TRELLIS_KIND_STORAGE,
		      .caps = TRELLIS_STORAGE_CAP_THIN |
			      TRELLIS_STORAGE_CAP_RESIZE,
		      .thread_model = PROBE_MODEL, .init = init, .ops = &ops)
