/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bad_storage.c - an in-memory storage plugin that keeps every rule of
 * docs/plugin-guide.md but the one BAD_CASE breaks (issue 16), so that
 * tests/conformance/bad_plugins.t can show trellis-plugin-check failing
 * exactly that check:
 *   1 OTHER_ARGS    a replay with the same key and a bigger size resizes
 *                   (idempotent:vol_create-other-args)
 *   2 TRUNCATES     keeps 100 characters of a name (limits:name-127)
 *   3 TOO_BIG       makes a volume of any size (capacity:vol_create-too-big)
 *   4 POOL_INFO     says more is available than the pool holds
 *                   (capacity:pool_info)
 *   5 CREATE_FAILS  every create fails: what needs a volume is SKIP
 *   6 ADOPTS        (issue 14) a create of an existing name under another
 *                   key, or none, returns the existing volume (adopts it
 *                   by name), and vol_delete accepts
 *                   TRELLIS_VOL_DELETE_IF_KEY but deletes whatever the key
 */
#include <stdio.h>
#include <string.h>

#include <trellis/storage.h>

#ifndef BAD_CASE
#error "build with -DBAD_CASE=N"
#endif

#define MAX_VOLS 16
#define CAPACITY (1ull << 30)
#if BAD_CASE == 2
#define NAME_KEPT 100
#else
#define NAME_KEPT 128
#endif

struct pool {
	char names[MAX_VOLS][NAME_KEPT];
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
	(void)state;
	int rc = bad_flags(call, flags, TRELLIS_POOL_OPEN_CREATE);
	if (rc)
		return rc;
	if (!(flags & TRELLIS_POOL_OPEN_CREATE))
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "pool '%s' does not exist", spec->target);
	*pool = host->alloc(sizeof(struct pool));
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
	out->capacity = CAPACITY;
	for (int i = 0; i < MAX_VOLS; i++)
		if (p->names[i][0]) {
			out->n_volumes++;
			out->allocation += p->sizes[i];
			out->provisioned += p->sizes[i];
		}
	out->available = out->capacity - out->allocation;
#if BAD_CASE == 4
	out->available = out->capacity + 1; /* THE BUG */
#endif
	return 0;
}

/* The slot of a volume ("" for a free slot); names compare as kept. */
static int find(struct pool *p, const char *name)
{
	for (int i = 0; i < MAX_VOLS; i++)
		if (*name ? p->names[i][0] &&
				strncmp(p->names[i], name, NAME_KEPT - 1) == 0
			  : !p->names[i][0])
			return i;
	return -1;
}

static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n && n <= 127 && s[0] != '.' && !strstr(s, "..") &&
	       !strchr(s, '/');
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
#if BAD_CASE == 5
	return host->set_error(call, TRELLIS_E_BACKEND,
			       "the array is read-only today"); /* THE BUG */
#endif
#if BAD_CASE != 3
	if (spec->size > CAPACITY)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "volume '%s': the pool holds 1 GiB",
				       spec->name);
#endif
	int i = find(p, spec->name);
	if (i >= 0) {
		if (BAD_CASE != 6 && /* THE BUG of 6: whoever made it */
		    (!idem_key || !*idem_key || strcmp(p->keys[i], idem_key)))
			return host->set_error(call, TRELLIS_E_CONFLICT,
					       "volume '%s' exists already",
					       spec->name);
#if BAD_CASE == 1
		p->sizes[i] = spec->size; /* THE BUG: a replay changes it */
#endif
		fill(p, i, out);
		return 0;
	}
	if ((i = find(p, "")) < 0)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "all %d slots in use", MAX_VOLS);
	snprintf(p->names[i], sizeof p->names[i], "%.*s", NAME_KEPT - 1,
		 spec->name);
	snprintf(p->keys[i], sizeof p->keys[i], "%s", idem_key ? idem_key : "");
	p->sizes[i] = spec->size;
	fill(p, i, out);
	return 0;
}

static int vol_delete(void *pool, trellis_call_t *call, const char *name,
		      const char *idem_key, uint32_t flags)
{
	struct pool *p = pool;
	int rc = bad_flags(call, flags, TRELLIS_VOL_DELETE_IF_KEY);
	if (rc)
		return rc;
	int i = find(p, name);
	if (i < 0)
		return 0;
	if (BAD_CASE != 6 && /* THE BUG of 6: IF_KEY accepted, and ignored */
	    (flags & TRELLIS_VOL_DELETE_IF_KEY) &&
	    (!idem_key || strcmp(p->keys[i], idem_key)))
		return host->set_error(call, TRELLIS_E_CONFLICT,
				       "volume '%s' is not yours", name);
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

#if BAD_CASE == 6
#define NAME "adopts-by-name"
#else
#define NAME "bad-storage"
#endif
TRELLIS_PLUGIN_DEFINE(.name = NAME, .version = "1.0.0",
		      .license = "Apache-2.0", .kind = TRELLIS_KIND_STORAGE,
		      .description = "breaks one storage rule (BAD_CASE)",
		      .thread_model = TRELLIS_THREAD_PER_TARGET, .init = init,
		      .ops = &ops)
