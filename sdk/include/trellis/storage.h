/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/storage.h - ops table of storage plugins (kind STORAGE).
 *
 * A storage plugin serves pools of volumes (a directory of qcow2 files, a
 * vendor array...).  The core opens each pool once with pool_open() and
 * reuses the handle; the handle is the "target" for
 * TRELLIS_THREAD_PER_TARGET.  Volumes are named within their pool; a name
 * is [A-Za-z0-9][A-Za-z0-9._-]{0,127} (trellis_name_ok(), trellis/name.h)
 * and the plugin refuses anything else (no path separators, no "..") with
 * TRELLIS_E_INVALID_ARG.
 *
 * Ops that change infrastructure take an idempotency key; a replayed create
 * returns what the first attempt made, a delete of a missing volume
 * succeeds.  A create that fails leaves nothing behind.  A create (vol_create,
 * vol_clone, snapshot_create) of a name that exists under another key, or
 * under none, or with a NULL or empty key, is TRELLIS_E_CONFLICT naming the
 * object: an existing object is never adopted.
 *
 * Sizes are in bytes.  Output structs are zeroed by the caller with
 * struct_size set.
 */
#ifndef TRELLIS_STORAGE_H
#define TRELLIS_STORAGE_H

#include <trellis/host.h>
#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Capability bits for trellis_plugin_desc_t.caps. */
#define TRELLIS_STORAGE_CAP_THIN (1ull << 0)      /* thin provisioning */
#define TRELLIS_STORAGE_CAP_SNAPSHOT (1ull << 1)  /* snapshot_create/delete */
#define TRELLIS_STORAGE_CAP_CLONE (1ull << 2)     /* vol_clone */
#define TRELLIS_STORAGE_CAP_TEMPLATE (1ull << 3)  /* create from a template */
#define TRELLIS_STORAGE_CAP_RESIZE (1ull << 4)    /* vol_resize */

typedef struct trellis_pool_spec {
	uint32_t struct_size;
	const char *name;               /* since 1.0 */
	const char *target;             /* since 1.0: a directory, a URI... */
	const trellis_node_t *options;  /* since 1.0: pool config, may be NULL */
} trellis_pool_spec_t;

#define TRELLIS_POOL_OPEN_CREATE (1u << 0) /* pool_open: create if missing */

typedef struct trellis_pool_info {
	uint32_t struct_size;
	uint64_t capacity;   /* since 1.0: bytes in all */
	uint64_t allocation; /* since 1.0: bytes in use */
	uint64_t available;  /* since 1.0: bytes free */
	uint32_t n_volumes;  /* since 1.0 */
} trellis_pool_info_t;

typedef struct trellis_vol_spec {
	uint32_t struct_size;
	const char *name;          /* since 1.0 */
	uint64_t size;             /* since 1.0: bytes; 0 with a template: its size */
	const char *format;        /* since 1.0: "qcow2" (NULL) or "raw" */
	const char *template_path; /* since 1.0: base image, or NULL for blank */
} trellis_vol_spec_t;

/* vol_create flags: how a template is used (default: backing file). */
#define TRELLIS_VOL_TEMPLATE_COPY (1u << 0) /* full, independent copy */
/* vol_create flags: allocate all space now (default: thin). */
#define TRELLIS_VOL_PREALLOCATE (1u << 1)
/* vol_delete flags: only the volume made under idem_key (an undo). */
#define TRELLIS_VOL_DELETE_IF_KEY (1u << 0) /* since 1.1 */

typedef struct trellis_vol_info {
	uint32_t struct_size;
	char name[128];      /* since 1.0 */
	char path[1024];     /* since 1.0: what a hypervisor opens */
	char format[16];     /* since 1.0 */
	uint64_t capacity;   /* since 1.0: virtual size */
	uint64_t allocation; /* since 1.0: bytes used on the pool */
	char backing[1024];  /* since 1.0: backing file, "" when none */
} trellis_vol_info_t;

/* Called once per volume by vol_list; return non-zero to stop early. */
typedef int (*trellis_vol_list_fn)(void *opaque, const trellis_vol_info_t *v);

struct trellis_storage_ops {
	uint32_t struct_size;

	/* Open (with TRELLIS_POOL_OPEN_CREATE: create) a pool.  Required. */
	int (*pool_open)(void *state, trellis_call_t *call,
			 const trellis_pool_spec_t *spec, uint32_t flags,
			 void **pool); /* since 1.0 */
	/* Release the handle; the pool's data stays.  Required. */
	void (*pool_close)(void *state, void *pool); /* since 1.0 */
	/* Capacity of the pool.  Required. */
	int (*pool_info)(void *pool, trellis_call_t *call, uint32_t flags,
			 trellis_pool_info_t *out); /* since 1.0 */

	/* Required. */
	int (*vol_create)(void *pool, trellis_call_t *call,
			  const trellis_vol_spec_t *spec, const char *idem_key,
			  uint32_t flags, trellis_vol_info_t *out); /* since 1.0 */
	/* Missing volume: success.  With TRELLIS_VOL_DELETE_IF_KEY (since
	 * 1.1), delete only a volume made under idem_key: one made under
	 * another key, or none, is TRELLIS_E_CONFLICT naming the volume, and
	 * is left untouched; a missing volume still succeeds.  Required. */
	int (*vol_delete)(void *pool, trellis_call_t *call, const char *name,
			  const char *idem_key, uint32_t flags); /* since 1.0 */
	/* NOTFOUND when missing.  Required. */
	int (*vol_info)(void *pool, trellis_call_t *call, const char *name,
			uint32_t flags, trellis_vol_info_t *out); /* since 1.0 */
	int (*vol_list)(void *pool, trellis_call_t *call, uint32_t flags,
			trellis_vol_list_fn fn, void *opaque); /* since 1.0 */
	/* Grow to new_size bytes (shrinking is refused). */
	int (*vol_resize)(void *pool, trellis_call_t *call, const char *name,
			  uint64_t new_size, const char *idem_key,
			  uint32_t flags); /* since 1.0 */
	/* A full, independent copy of src named dst. */
	int (*vol_clone)(void *pool, trellis_call_t *call, const char *src,
			 const char *dst, const char *idem_key, uint32_t flags,
			 trellis_vol_info_t *out); /* since 1.0 */
	int (*snapshot_create)(void *pool, trellis_call_t *call,
			       const char *vol, const char *snapshot,
			       const char *idem_key, uint32_t flags); /* since 1.0 */
	int (*snapshot_delete)(void *pool, trellis_call_t *call,
			       const char *vol, const char *snapshot,
			       const char *idem_key, uint32_t flags); /* since 1.0 */
};

#define TRELLIS_STORAGE_OPS_SIZE_1_0                                           \
	(offsetof(struct trellis_storage_ops, snapshot_delete) +               \
	 sizeof(void (*)(void)))

#define TRELLIS_STORAGE_REQUIRED_OPS(X)                                        \
	X(pool_open) X(pool_close) X(pool_info) X(vol_create) X(vol_delete)    \
	X(vol_info)

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_STORAGE_H */
