/* SPDX-License-Identifier: Apache-2.0 */
/*
 * localfs.c - the localfs storage plugin: a pool is a directory, a volume
 * is a qcow2 or raw file in it.
 *
 * All image work goes through qemu-img (qimg.c).  What Trellis needs to
 * remember about a volume travels with the file as extended attributes, so
 * a pool needs no database and survives being copied with `cp -a`:
 *   user.trellis.idem         idempotency key of the request that made it
 *   user.trellis.format       the format we made it with (never re-probed:
 *                             a raw disk whose guest wrote a qcow2 header
 *                             must not turn into a qcow2 with a backing file)
 *   user.trellis.snap.NAME    key of the request that made snapshot NAME
 * A volume is built under a hidden temporary name and renamed into place
 * only when it is complete, so a failure (a full disk, a killed daemon)
 * never leaves a half-made volume under the real name; hidden names are
 * invisible to vol_list and stale ones are swept when the pool is opened.
 *
 * This file holds the pools (a pool is opened, described and closed
 * here) and the plugin itself: config, ops table, definition.  The
 * volume files are in volfile.c, the volume and snapshot ops in
 * volops.c, shared declarations in localfs_int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <trellis/storage.h>

#include "localfs_int.h"

#define STALE_TMP_S 3600
#define DEFAULT_TIMEOUT_S 600

/* ---- pools ---- */

static void sweep_stale_tmp(struct lfs_pool *p)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)))
			continue;
		struct stat sb;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
		    now - sb.st_mtime < STALE_TMP_S)
			continue;
		H->log(p->lfs->self, TRELLIS_LOG_NOTICE,
		       "pool '%s': removing stale temp file %s", p->name,
		       de->d_name);
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

static int lfs_pool_open(void *state, trellis_call_t *call,
			 const trellis_pool_spec_t *spec, uint32_t flags,
			 void **pool)
{
	struct lfs *lfs = state;
	const trellis_host_t *h = lfs->host;
	if (flags & ~TRELLIS_POOL_OPEN_CREATE)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "localfs pool_open: unknown flag bits 0x%x",
				    flags & ~TRELLIS_POOL_OPEN_CREATE);
	const char *name = spec && spec->name ? spec->name : "(unnamed)";
	const char *dir = spec ? spec->target : NULL;
	if (!dir || dir[0] != '/')
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': target must be an absolute "
				    "directory path, got '%s'",
				    name, dir ? dir : "(none)");
	if (strlen(dir) > MAX_DIR_LEN)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': target path is longer than %d "
				    "bytes",
				    name, MAX_DIR_LEN);
	struct stat sb;
	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || !(flags & TRELLIS_POOL_OPEN_CREATE))
			return h->set_error(call, TRELLIS_E_NOTFOUND,
					    "pool '%s': directory %s: %s", name,
					    dir, strerror(errno));
		/* 0711: the hypervisor's own user (libvirt-qemu) must be
		 * able to reach the volumes libvirt hands it, but has no
		 * business listing the pool. */
		if (mkdir(dir, 0711) != 0 && errno != EEXIST)
			return h->set_error(call, TRELLIS_E_IO,
					    "pool '%s': cannot create %s: %s",
					    name, dir, strerror(errno));
	} else if (!S_ISDIR(sb.st_mode)) {
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': %s is not a directory", name,
				    dir);
	}
	if (access(dir, R_OK | W_OK | X_OK) != 0)
		return h->set_error(call, TRELLIS_E_PERMISSION,
				    "pool '%s': directory %s: %s", name, dir,
				    strerror(errno));
	struct lfs_pool *p = h->alloc(sizeof *p);
	if (!p)
		return h->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	p->lfs = lfs;
	p->name = h->strdup(name);
	p->dir = h->strdup(dir);
	/* Trailing slashes would double up in every path we print. */
	for (size_t n = strlen(p->dir); n > 1 && p->dir[n - 1] == '/'; n--)
		p->dir[n - 1] = '\0';
	p->q.host = h;
	p->q.timeout_ms = lfs->timeout_ms;
	sweep_stale_tmp(p);
	*pool = p;
	return 0;
}

static void lfs_pool_close(void *state, void *pool)
{
	struct lfs *lfs = state;
	struct lfs_pool *p = pool;
	if (!p)
		return;
	lfs->host->free(p->name);
	lfs->host->free(p->dir);
	lfs->host->free(p);
}

/* A volume's virtual size from its own header, without a qemu-img run per
 * volume: a qcow2 image (magic "QFI\xfb") holds it big-endian at byte 24,
 * a raw one is its file's size.  0 when the file cannot be read. */
static uint64_t virtual_size(int dirfd, const char *name, const struct stat *sb)
{
	unsigned char h[32];
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t got = pread(fd, h, sizeof h, 0);
	close(fd);
	if (got == (ssize_t)sizeof h && memcmp(h, "QFI\xfb", 4) == 0) {
		uint64_t v = 0;
		for (int i = 24; i < 32; i++)
			v = v << 8 | h[i];
		return v;
	}
	return (uint64_t)sb->st_size;
}

/* The pool's volumes: how many, and the sum of their virtual sizes. */
static int count_volumes(struct lfs_pool *p, uint32_t *n, uint64_t *provisioned)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return -errno;
	struct dirent *de;
	*n = 0;
	*provisioned = 0;
	while ((de = readdir(d))) {
		struct stat sb;
		if (lfs_name_ok(de->d_name) &&
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    S_ISREG(sb.st_mode)) {
			(*n)++;
			*provisioned += virtual_size(dirfd(d), de->d_name, &sb);
		}
	}
	closedir(d);
	return 0;
}

int lfs_pool_info_op(void *pool, trellis_call_t *call, uint32_t flags,
			 trellis_pool_info_t *out)
{
	struct lfs_pool *p = pool;
	int rc = lfs_check_flags(p, call, "pool_info", flags, 0);
	if (rc)
		return rc;
	struct statvfs vfs;
	if (statvfs(p->dir, &vfs) != 0)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': statvfs %s: %s", p->name,
				    p->dir, strerror(errno));
	out->capacity = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	out->available = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	out->allocation = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
	uint64_t provisioned = 0;
	if (count_volumes(p, &out->n_volumes, &provisioned) < 0)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': cannot read %s: %s", p->name,
				    p->dir, strerror(errno));
	if (out->struct_size >= offsetof(trellis_pool_info_t, provisioned) +
				   sizeof out->provisioned) /* since 1.1 */
		out->provisioned = provisioned;
	return 0;
}

/* ---- plugin ---- */

static int lfs_init(trellis_plugin_t *self, const trellis_host_t *host,
		    trellis_call_t *call, void **state)
{
	struct lfs *lfs = host->alloc(sizeof *lfs);
	if (!lfs)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	lfs->self = self;
	lfs->host = host;
	int64_t t = DEFAULT_TIMEOUT_S;
	const trellis_node_t *n =
	    host->node_get(host->config(self), "qemu_img_timeout_s");
	if (n && (host->node_int(n, &t) != 0 || t <= 0 || t > 86400)) {
		host->free(lfs);
		return host->set_error(
		    call, TRELLIS_E_INVALID_ARG,
		    "%s: qemu_img_timeout_s must be 1..86400",
		    host->node_where(n));
	}
	lfs->timeout_ms = (unsigned)t * 1000;
	n = host->node_get(host->config(self), "template_dirs");
	if (n) {
		int ok = host->node_type(n) == TRELLIS_NODE_SEQ;
		for (size_t i = 0; ok && i < host->node_len(n); i++) {
			const char *d = host->node_str(host->node_at(n, i));
			ok = d && d[0] == '/';
		}
		if (!ok) {
			host->free(lfs);
			return host->set_error(
			    call, TRELLIS_E_INVALID_ARG,
			    "%s: template_dirs must be a list "
			    "of absolute directories",
			    host->node_where(n));
		}
		lfs->tpl_dirs = n;
	}
	*state = lfs;
	return 0;
}

static void lfs_fini(void *state)
{
	struct lfs *lfs = state;
	if (lfs)
		lfs->host->free(lfs);
}

static const struct trellis_storage_ops lfs_ops = {
    .struct_size = sizeof(struct trellis_storage_ops),
    .pool_open = lfs_pool_open,
    .pool_close = lfs_pool_close,
    .pool_info = lfs_pool_info_op,
    .vol_create = lfs_vol_create,
    .vol_delete = lfs_vol_delete,
    .vol_info = lfs_vol_info,
    .vol_list = lfs_vol_list,
    .vol_resize = lfs_vol_resize,
    .vol_clone = lfs_vol_clone,
    .snapshot_create = lfs_snapshot_create,
    .snapshot_delete = lfs_snapshot_delete,
    .discover = lfs_discover,             /* since 1.1 */
    .assign = lfs_assign,                 /* since 1.1 */
    .unassign = lfs_unassign,             /* since 1.1 */
    .port_connect = lfs_port_connect,     /* since 1.1 */
    .vol_open = lfs_vol_open,             /* since 1.1 */
    .vol_read = lfs_vol_read,             /* since 1.1 */
    .vol_write = lfs_vol_write,           /* since 1.1 */
    .vol_stream_close = lfs_vol_stream_close, /* since 1.1 */
    .vol_stream_fd = lfs_vol_stream_fd,   /* since 1.1 */
};

/* The config section (docs/storage-localfs.md), checked by the core before
 * lfs_init (ABI 1.1); lfs_init still checks the ranges.  A pool takes no
 * options: the empty options schema refuses any. */
TRELLIS_CONFIG_SCHEMA(lfs_config_schema,
		      {"qemu_img_timeout_s", TRELLIS_CONFIG_INT, 0, "600",
		       "the longest one qemu-img run may take, 1 to 86400 s"},
		      {"template_dirs", TRELLIS_CONFIG_LIST, 0, NULL,
		       "absolute directories templates must lie in (default: "
		       "any)"});
static const trellis_config_key_t lfs_no_keys[] = {{NULL, 0, 0, NULL, NULL}};
static const trellis_config_schema_t lfs_options_schema = {
	sizeof lfs_options_schema, sizeof(trellis_config_key_t), lfs_no_keys,
	0};

TRELLIS_PLUGIN_DEFINE(.name = "localfs", .version = "1.0.0", .license = "Apache-2.0",
		      .description = "directory pools of qcow2/raw volumes "
				     "(qemu-img)",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_PER_TARGET,
		      .caps = TRELLIS_STORAGE_CAP_THIN |
			      TRELLIS_STORAGE_CAP_SNAPSHOT |
			      TRELLIS_STORAGE_CAP_CLONE |
			      TRELLIS_STORAGE_CAP_TEMPLATE |
			      TRELLIS_STORAGE_CAP_RESIZE |
			      TRELLIS_STORAGE_CAP_FORMAT_QCOW2 |
			      TRELLIS_STORAGE_CAP_FORMAT_RAW,
		      .init = lfs_init, .fini = lfs_fini, .ops = &lfs_ops,
		      .config_schema = &lfs_config_schema,
		      .options_schema = &lfs_options_schema)
