/* SPDX-License-Identifier: Apache-2.0 */
/*
 * localfs_int.h - what the files of the localfs plugin share: the plugin
 * and pool state, the on-disk names (extended attributes, temp prefix,
 * path limits), the volume-file helpers of volfile.c and the volume and
 * snapshot ops of volops.c that localfs.c puts in its ops table.
 *
 * Internal only: the plugin is built with -fvisibility=hidden, so these
 * are visible across the plugin's files but never exported from the .so
 * (only trellis_plugin_entry is).
 */
#ifndef LOCALFS_INT_H
#define LOCALFS_INT_H

#include <stddef.h>
#include <stdint.h>

#include <trellis/storage.h>

#include "qimg.h"

#define XA_IDEM "user.trellis.idem"
#define XA_FORMAT "user.trellis.format"
#define XA_SNAP "user.trellis.snap."
#define TMP_PREFIX ".tmp."
/* trellis_vol_info_t.path is 1024 bytes; a pool directory leaves room for
 * the longest name and the temp suffix. */
#define PATH_LEN 1024
#define MAX_DIR_LEN (PATH_LEN - 128 - 32)
/* Room for an idempotency key read back from XA_IDEM. */
#define KEY_LEN 1024

struct lfs {
	trellis_plugin_t *self;
	const trellis_host_t *host;
	unsigned timeout_ms;
	/* config template_dirs: where templates may come from (NULL: any
	 * absolute path), as a sequence of directory names */
	const trellis_node_t *tpl_dirs;
};

struct lfs_pool {
	struct lfs *lfs;
	char *name;
	char *dir;
	struct qimg q;
};

#define H (p->lfs->host)

/* ---- volfile.c: names, extended attributes, volume files ---- */

int lfs_name_ok(const char *s);
int lfs_check_name(struct lfs_pool *p, trellis_call_t *call, const char *what,
	       const char *name);
int lfs_check_flags(struct lfs_pool *p, trellis_call_t *call, const char *op,
		    uint32_t flags, uint32_t known);
void lfs_vol_path(const struct lfs_pool *p, const char *name, char *buf,
		  size_t len);
int xa_get(const char *path, const char *attr, char *buf, size_t len);
int xa_set(struct lfs_pool *p, trellis_call_t *call, const char *path,
	   const char *attr, const char *value);
int lfs_fill_info(struct lfs_pool *p, trellis_call_t *call, const char *name,
		  trellis_vol_info_t *out);
/* Whether the volume file at path was made under idem_key (a NULL or empty
 * key made nothing); the key it was made under goes into key ("" none). */
int lfs_made_by(const char *path, const char *idem_key, char *key, size_t len);
/* CONFLICT: volume name, made under key ("" none), "already exists" or
 * whatever what says about it. */
int lfs_not_ours(struct lfs_pool *p, trellis_call_t *call, const char *name,
		 const char *key, const char *what);
int lfs_existing(struct lfs_pool *p, trellis_call_t *call, const char *name,
		 const char *idem_key, trellis_vol_info_t *out);
int lfs_space_check(struct lfs_pool *p, trellis_call_t *call, const char *name,
		    uint64_t required);
int lfs_tmp_new(struct lfs_pool *p, trellis_call_t *call, const char *name,
		char *tmp, size_t len);
void lfs_fsync_dir(const char *dir);
int lfs_publish(struct lfs_pool *p, trellis_call_t *call, const char *tmp,
	    const char *name, const char *idem_key, const char *fmt,
	    trellis_vol_info_t *out);

/* ---- volops.c: the volume and snapshot ops ---- */

int lfs_vol_create(void *pool, trellis_call_t *call,
		   const trellis_vol_spec_t *spec, const char *idem_key,
		   uint32_t flags, trellis_vol_info_t *out);
int lfs_vol_delete(void *pool, trellis_call_t *call, const char *name,
		   const char *idem_key, uint32_t flags);
int lfs_vol_info(void *pool, trellis_call_t *call, const char *name,
		 uint32_t flags, trellis_vol_info_t *out);
int lfs_vol_list(void *pool, trellis_call_t *call, uint32_t flags,
		 trellis_vol_list_fn fn, void *opaque);
int lfs_vol_resize(void *pool, trellis_call_t *call, const char *name,
		   uint64_t new_size, const char *idem_key, uint32_t flags);
int lfs_vol_clone(void *pool, trellis_call_t *call, const char *src,
		  const char *dst, const char *idem_key, uint32_t flags,
		  trellis_vol_info_t *out);
int lfs_snapshot_create(void *pool, trellis_call_t *call, const char *vol,
			const char *snapshot, const char *idem_key,
			uint32_t flags);
int lfs_snapshot_delete(void *pool, trellis_call_t *call, const char *vol,
			const char *snapshot, const char *idem_key,
			uint32_t flags);

/* ---- adapt.c: the ops of ABI 1.1 ---- */

int lfs_discover(void *pool, trellis_call_t *call, uint32_t what,
		 uint32_t flags, trellis_st_object_fn fn, void *opaque);
int lfs_assign(void *pool, trellis_call_t *call,
	       const trellis_assign_spec_t *spec, const char *idem_key,
	       uint32_t flags);
int lfs_unassign(void *pool, trellis_call_t *call,
		 const trellis_assign_spec_t *spec, const char *idem_key,
		 uint32_t flags);
int lfs_port_connect(void *pool, trellis_call_t *call, const char *port,
		     const char *idem_key, uint32_t flags,
		     trellis_st_object_t *out);
int lfs_vol_open(void *pool, trellis_call_t *call, const char *name,
		 uint32_t flags, void **stream);
int lfs_vol_read(void *pool, void *stream, trellis_call_t *call,
		 uint64_t off, void *buf, size_t len, size_t *got);
int lfs_vol_write(void *pool, void *stream, trellis_call_t *call,
		  uint64_t off, const void *buf, size_t len);
int lfs_vol_stream_fd(void *pool, void *stream, trellis_call_t *call,
		      int *fd);
int lfs_vol_stream_close(void *pool, void *stream, trellis_call_t *call,
			 uint32_t flags);
/* localfs.c: pool_info, for discovery */
int lfs_pool_info_op(void *pool, trellis_call_t *call, uint32_t flags,
		     trellis_pool_info_t *out);

#endif
