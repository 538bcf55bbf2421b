/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adopts_by_name.c - a storage plugin that is correct except for the rule
 * of issue 14: it records each volume's idempotency key, yet a create of
 * an existing name under another key, or none, returns the existing volume
 * (adopts it by name), and vol_delete accepts TRELLIS_VOL_DELETE_IF_KEY
 * but deletes by name whatever the key.  trellis-plugin-check must fail
 * it on exactly those checks (tests/conformance/bad_plugins.t).
 */
#include <stdio.h>
#include <string.h>

#include <trellis/storage.h>

#define MAX_VOLS 16

struct pool {
	char names[MAX_VOLS][128];
	char keys[MAX_VOLS][256];
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

static int bad_flags(trellis_call_t *call, uint32_t flags, uint32_t known)
{
	if (!(flags & ~known))
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       "unknown flag bits 0x%x", flags & ~known);
}

static int pool_open(void *state, trellis_call_t *call,
		     const trellis_pool_spec_t *spec, uint32_t flags,
		     void **pool)
{
	(void)state, (void)spec;
	int rc = bad_flags(call, flags, TRELLIS_POOL_OPEN_CREATE);
	if (rc)
		return rc;
	if (!(flags & TRELLIS_POOL_OPEN_CREATE))
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "pool '%s' does not exist", spec->target);
	*pool = host->alloc(sizeof(struct pool));
	if (*pool)
		memset(*pool, 0, sizeof(struct pool));
	return *pool ? 0
		     : host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
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
	int rc = bad_flags(call, flags, 0);
	if (rc)
		return rc;
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

static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 127 || s[0] == '.' || strstr(s, "..") ||
	    strchr(s, '/'))
		return 0;
	return 1;
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
	int rc = bad_flags(call, flags, 0);
	if (rc)
		return rc;
	if (!name_ok(spec->name))
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "bad volume name '%s'", spec->name);
	int i = find(p, spec->name);
	if (i >= 0) { /* THE BUG: whoever made it, it is returned */
		fill(p, i, out);
		return 0;
	}
	if ((i = find(p, "")) < 0)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "all %d slots in use", MAX_VOLS);
	snprintf(p->names[i], sizeof p->names[i], "%s", spec->name);
	snprintf(p->keys[i], sizeof p->keys[i], "%s", idem_key ? idem_key : "");
	p->sizes[i] = spec->size;
	fill(p, i, out);
	return 0;
}

static int vol_delete(void *pool, trellis_call_t *call, const char *name,
		      const char *idem_key, uint32_t flags)
{
	struct pool *p = pool;
	(void)idem_key; /* THE BUG: IF_KEY is accepted, and ignored */
	int rc = bad_flags(call, flags, TRELLIS_VOL_DELETE_IF_KEY);
	if (rc)
		return rc;
	int i = find(p, name);
	if (i >= 0)
		p->names[i][0] = '\0';
	return 0;
}

static int vol_info(void *pool, trellis_call_t *call, const char *name,
		    uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	int rc = bad_flags(call, flags, 0);
	if (rc)
		return rc;
	int i = find(p, name);
	if (i < 0)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "no volume '%s'", name);
	fill(p, i, out);
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

TRELLIS_PLUGIN_DEFINE(.name = "adopts-by-name", .version = "1.0.0",
		      .license = "Apache-2.0", .kind = TRELLIS_KIND_STORAGE,
		      .description = "adopts an existing volume by name",
		      .thread_model = TRELLIS_THREAD_PER_TARGET, .init = init,
		      .ops = &ops)
