/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/storage.h - ops table of storage plugins (kind STORAGE).
 *
 * A storage plugin serves pools of volumes (a directory of qcow2 files, a
 * vendor array...).  The core opens each pool once with pool_open() and
 * reuses the handle; the handle is the "target" for
 * TRELLIS_THREAD_PER_TARGET.  Volumes are named within their pool; a name
 * is [A-Za-z0-9][A-Za-z0-9._-]{0,126} (trellis_name_ok(), trellis/name.h:
 * at most TRELLIS_NAME_MAX, 127, characters, so that a name fits
 * trellis_vol_info_t.name with its NUL; the core refuses longer ones
 * before they reach a plugin) and the plugin refuses anything else (no
 * path separators, no "..") with TRELLIS_E_INVALID_ARG.
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
/*
 * The formats vol_create makes (since 1.1).  When a plugin sets either,
 * the core asks it only for those: a create without a format gets qcow2
 * when the plugin makes it, else raw, and a format it does not declare is
 * NOTSUP before the plugin is called.  A plugin that sets neither (every
 * 1.0 plugin) gets what the caller asked for, and NULL means qcow2.  A
 * raw-only plugin sets TRELLIS_STORAGE_CAP_FORMAT_RAW alone, and every
 * workflow that does not name a format works on it.
 */
#define TRELLIS_STORAGE_CAP_FORMAT_QCOW2 (1ull << 5) /* since 1.1 */
#define TRELLIS_STORAGE_CAP_FORMAT_RAW (1ull << 6)   /* since 1.1 */

typedef struct trellis_pool_spec {
	uint32_t struct_size;
	const char *name;               /* since 1.0 */
	const char *target;             /* since 1.0: a directory, a URI... */
	/* since 1.0: the pool's own options (pool create --option), a map, or
	 * NULL; checked against the descriptor's options_schema when the
	 * plugin declares one (since 1.1).  Valid until pool_close. */
	const trellis_node_t *options;
} trellis_pool_spec_t;

#define TRELLIS_POOL_OPEN_CREATE (1u << 0) /* pool_open: create if missing */

/*
 * capacity is what the pool can hold; allocation is what its volumes use
 * on the backend now (blocks written, for a thin pool less than their
 * sizes); available is what a new volume could still be given (capacity
 * minus allocation, or less under a quota).  provisioned (since 1.1) is the
 * sum of the volumes' virtual sizes, which on a thin pool may exceed
 * capacity (overcommit = provisioned / capacity).
 */
typedef struct trellis_pool_info {
	uint32_t struct_size;
	uint64_t capacity;   /* since 1.0: bytes in all */
	uint64_t allocation; /* since 1.0: bytes used on the backend */
	uint64_t available;  /* since 1.0: bytes free */
	uint32_t n_volumes;  /* since 1.0 */
	uint64_t provisioned; /* since 1.1: sum of the volumes' sizes */
} trellis_pool_info_t;

typedef struct trellis_vol_spec {
	uint32_t struct_size;
	const char *name;          /* since 1.0 */
	uint64_t size;             /* since 1.0: bytes; 0 with a template: its size */
	/* since 1.0: "qcow2" or "raw"; NULL means qcow2 (never NULL for a
	 * plugin that declares TRELLIS_STORAGE_CAP_FORMAT_*, since 1.1) */
	const char *format;
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
	char name[128];      /* since 1.0: at most 127 characters */
	char path[1024];     /* since 1.0: what a hypervisor opens */
	char format[16];     /* since 1.0 */
	uint64_t capacity;   /* since 1.0: virtual size */
	uint64_t allocation; /* since 1.0: bytes used on the pool */
	char backing[1024];  /* since 1.0: backing file, "" when none */
} trellis_vol_info_t;

/* Called once per volume by vol_list; return non-zero to stop early. */
typedef int (*trellis_vol_list_fn)(void *opaque, const trellis_vol_info_t *v);


/*
 * Discovery, host assignment and streaming (all since 1.1).
 *
 * discover() enumerates what the pool's backend holds, as the seed's
 * storage delivery service sees it: storage systems (an appliance may
 * manage several), their pools, their volumes ("nodes"), access ports
 * (target ports a bridge connects to, and host initiator ports the
 * backend knows) and assignments ("views": a volume exposed to a host's
 * initiators).  Ids are the standard ones (a system id is
 * VENDOR-MODEL-SERIAL with non-alphanumerics hex-encoded), already
 * translated by the plugin.  fn is called once per object; return
 * non-zero from it to stop early.
 */
enum trellis_st_type {
	TRELLIS_ST_SYSTEM = 1,     /* since 1.1 */
	TRELLIS_ST_POOL = 2,       /* since 1.1 */
	TRELLIS_ST_VOLUME = 3,     /* since 1.1 */
	TRELLIS_ST_PORT = 4,       /* since 1.1 */
	TRELLIS_ST_ASSIGNMENT = 5, /* since 1.1 */
};
/* discover(): which types, as bits (1u << TRELLIS_ST_*); 0 means all. */
#define TRELLIS_ST_BIT(type) (1u << (type)) /* since 1.1 */
/* discover() flags: ask the backend again, not the plugin's cache. */
#define TRELLIS_DISCOVER_FRESH (1u << 0) /* since 1.1 */

typedef struct trellis_st_object {
	uint32_t struct_size;
	uint32_t type;       /* since 1.1: enum trellis_st_type */
	char id[256];        /* since 1.1: the standard id */
	char name[128];      /* since 1.1: display name */
	char system[256];    /* since 1.1: the system's id ("" for a system) */
	/* since 1.1: a volume's pool, an assignment's volume, "" otherwise */
	char parent[256];
	/* since 1.1: a port: "target" or "initiator"; a pool: its class */
	char role[64];
	/* since 1.1: an initiator port's or an assignment's host, else "" */
	char host[128];
	/* since 1.1: a target port's address (what a bridge connects to);
	 * an assignment's initiators, space-separated */
	char address[1024];
	char state[32];      /* since 1.1: "online", "degraded" ... */
	uint64_t capacity;   /* since 1.1: systems, pools, volumes: bytes */
	uint64_t available;  /* since 1.1: systems, pools: bytes free */
} trellis_st_object_t;

typedef int (*trellis_st_object_fn)(void *opaque,
				    const trellis_st_object_t *o);

/* An assignment: one volume to initiators of one host. */
typedef struct trellis_assign_spec {
	uint32_t struct_size;
	const char *volume;                /* since 1.1: the volume's name */
	const char *host;                  /* since 1.1: the host's name */
	const char *const *initiators;     /* since 1.1: that host's ports */
	size_t n_initiators;               /* since 1.1 */
} trellis_assign_spec_t;

/* vol_open flags */
#define TRELLIS_STREAM_READ (1u << 0)  /* since 1.1 */
#define TRELLIS_STREAM_WRITE (1u << 1) /* since 1.1 */
/* vol_stream_close flags: the writes are complete (else: abandoned,
 * what was written stays for a resume). */
#define TRELLIS_STREAM_COMMIT (1u << 0) /* since 1.1 */

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

	/* ---- since 1.1: discovery, assignment, bridges, streams; NULL or a
	 * 1.0 table: NOTSUP ---- */
	/* Enumerate objects of the types in `what` (TRELLIS_ST_BIT bits, 0:
	 * all).  Results may come from the plugin's cache unless
	 * TRELLIS_DISCOVER_FRESH. */
	int (*discover)(void *pool, trellis_call_t *call, uint32_t what,
			uint32_t flags, trellis_st_object_fn fn,
			void *opaque); /* since 1.1 */
	/* Expose one volume to initiators of one host (LUN masking);
	 * initiators already assigned are fine (idempotent). */
	int (*assign)(void *pool, trellis_call_t *call,
		      const trellis_assign_spec_t *spec, const char *idem_key,
		      uint32_t flags); /* since 1.1 */
	/* Remove those initiators from the volume's assignment (a missing
	 * one is fine); with no initiators, the host's whole view. */
	int (*unassign)(void *pool, trellis_call_t *call,
			const trellis_assign_spec_t *spec, const char *idem_key,
			uint32_t flags); /* since 1.1 */
	/* Issue the connection request to one of the backend's target ports
	 * (a cloud bridge's end); out describes the connected port. */
	int (*port_connect)(void *pool, trellis_call_t *call, const char *port,
			    const char *idem_key, uint32_t flags,
			    trellis_st_object_t *out); /* since 1.1 */
	/* Open a volume's bytes (raw, as a guest sees them) for streaming. */
	int (*vol_open)(void *pool, trellis_call_t *call, const char *name,
			uint32_t flags, void **stream); /* since 1.1 */
	/* Read up to len bytes at off; *got 0 at the end. */
	int (*vol_read)(void *pool, void *stream, trellis_call_t *call,
			uint64_t off, void *buf, size_t len,
			size_t *got); /* since 1.1 */
	/* Write len bytes at off (the volume keeps its size). */
	int (*vol_write)(void *pool, void *stream, trellis_call_t *call,
			 uint64_t off, const void *buf,
			 size_t len); /* since 1.1 */
	/* Release the stream (TRELLIS_STREAM_COMMIT: flush what was
	 * written).  Always frees it, even on error. */
	int (*vol_stream_close)(void *pool, void *stream, trellis_call_t *call,
				uint32_t flags); /* since 1.1 */
	/* The open stream's bytes as a file descriptor on this host (offset
	 * 0 is the volume's byte 0; read-only for a READ stream), for a copy
	 * that needs no pass through user space (copy_file_range, mmap).
	 * The caller may read, write, map and sync it while the stream is
	 * open, and never closes it; after it wrote through *fd, COMMIT
	 * still flushes.  NOTSUP when the bytes are not a local file (use
	 * vol_read and vol_write); NULL or a 1.0 table: NOTSUP. */
	int (*vol_stream_fd)(void *pool, void *stream, trellis_call_t *call,
			     int *fd); /* since 1.1 */
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
