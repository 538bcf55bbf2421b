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
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <trellis/storage.h>

#include "qimg.h"

#define XA_IDEM "user.trellis.idem"
#define XA_FORMAT "user.trellis.format"
#define XA_SNAP "user.trellis.snap."
#define TMP_PREFIX ".tmp."
#define STALE_TMP_S 3600
/* Far beyond any real disk, far below qemu-img's own limits. */
#define MAX_SIZE (UINT64_C(64) << 40)
#define DEFAULT_TIMEOUT_S 600
/* trellis_vol_info_t.path is 1024 bytes; a pool directory leaves room for
 * the longest name and the temp suffix. */
#define PATH_LEN 1024
#define MAX_DIR_LEN (PATH_LEN - 128 - 32)

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

/* ---- names and paths ---- */

/* [A-Za-z0-9][A-Za-z0-9._-]{0,127} with no "..": nothing can name a path
 * outside the pool, a hidden file or a temp file. */
static int name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 128)
		return 0;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return strstr(s, "..") == NULL;
}

static int check_name(struct lfs_pool *p, trellis_call_t *call,
		      const char *what, const char *name)
{
	if (name_ok(name))
		return 0;
	return H->set_error(call, TRELLIS_E_INVALID_ARG,
			    "pool '%s': invalid %s name '%s': use 1-128 of "
			    "[A-Za-z0-9._-], starting with a letter or digit, "
			    "without '..' or '/'",
			    p->name, what, name ? name : "(null)");
}

static int check_flags(struct lfs_pool *p, trellis_call_t *call, const char *op,
		       uint32_t flags, uint32_t known)
{
	if (!(flags & ~known))
		return 0;
	return H->set_error(call, TRELLIS_E_INVALID_ARG,
			    "localfs %s: unknown flag bits 0x%x", op,
			    flags & ~known);
}

static void vol_path(const struct lfs_pool *p, const char *name, char *buf,
		     size_t len)
{
	snprintf(buf, len, "%s/%s", p->dir, name);
}

/* ---- extended attributes ---- */

static int xa_get(const char *path, const char *attr, char *buf, size_t len)
{
	ssize_t n = getxattr(path, attr, buf, len - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -errno;
	}
	buf[n] = '\0';
	return 0;
}

static int xa_set(struct lfs_pool *p, trellis_call_t *call, const char *path,
		  const char *attr, const char *value)
{
	if (setxattr(path, attr, value, strlen(value), 0) == 0)
		return 0;
	int e = errno;
	H->set_error(call, e == ENOSPC ? TRELLIS_E_NOSPACE : TRELLIS_E_IO,
		     "pool '%s': cannot record %s on %s: %s (the pool's "
		     "filesystem must support user extended attributes)",
		     p->name, attr, path, strerror(e));
	H->set_error_backend(call, e, 0);
	return e == ENOSPC ? TRELLIS_E_NOSPACE : TRELLIS_E_IO;
}

/* ---- volume info ---- */

static int fill_info(struct lfs_pool *p, trellis_call_t *call, const char *name,
		     trellis_vol_info_t *out)
{
	char path[PATH_LEN], fmt[16];
	vol_path(p, name, path, sizeof path);
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return H->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': no volume '%s'", p->name, name);
	xa_get(path, XA_FORMAT, fmt, sizeof fmt);
	struct qimg_info qi;
	int rc = qimg_info(&p->q, call, path, fmt[0] ? fmt : NULL, &qi);
	if (rc)
		return rc;
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->path, sizeof out->path, "%s", path);
	snprintf(out->format, sizeof out->format, "%s", qi.format);
	out->capacity = qi.virtual_size;
	out->allocation = (uint64_t)sb.st_blocks * 512;
	snprintf(out->backing, sizeof out->backing, "%s", qi.backing);
	return 0;
}

/*
 * What to do about an existing name before a create: 0 when it is free,
 * 1 when it exists and was made by the same request (out filled: a
 * replay), or CONFLICT.
 */
static int existing(struct lfs_pool *p, trellis_call_t *call, const char *name,
		    const char *idem_key, trellis_vol_info_t *out)
{
	char path[PATH_LEN], key[256];
	vol_path(p, name, path, sizeof path);
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return 0;
	xa_get(path, XA_IDEM, key, sizeof key);
	if (idem_key && *idem_key && strcmp(key, idem_key) == 0) {
		int rc = fill_info(p, call, name, out);
		return rc ? rc : 1;
	}
	return H->set_error(call, TRELLIS_E_CONFLICT,
			    "pool '%s': volume '%s' already exists (made by "
			    "%s%s%s)",
			    p->name, name, key[0] ? "request '" : "",
			    key[0] ? key : "another request",
			    key[0] ? "'" : "");
}

static int space_check(struct lfs_pool *p, trellis_call_t *call,
		       const char *name, uint64_t required)
{
	struct statvfs vfs;
	if (statvfs(p->dir, &vfs) != 0)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': statvfs %s: %s", p->name,
				    p->dir, strerror(errno));
	uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	if (required <= avail)
		return 0;
	return H->set_error(call, TRELLIS_E_NOSPACE,
			    "pool '%s': not enough space for volume '%s': it "
			    "needs %" PRIu64 " bytes, %" PRIu64
			    " are available in %s",
			    p->name, name, required, avail, p->dir);
}

/* Reserves a hidden temp name for building name; the caller unlinks it. */
static int tmp_new(struct lfs_pool *p, trellis_call_t *call, const char *name,
		   char *tmp, size_t len)
{
	snprintf(tmp, len, "%s/" TMP_PREFIX "%s.XXXXXX", p->dir, name);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		int e = errno;
		tmp[0] = '\0';
		return H->set_error(
		    call, e == ENOSPC ? TRELLIS_E_NOSPACE : TRELLIS_E_IO,
		    "pool '%s': cannot create a file in %s: %s", p->name,
		    p->dir, strerror(e));
	}
	close(fd);
	return 0;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Makes the finished temp file the volume: records key and format, then
 * renames without replacing (a concurrent create of the same name by
 * another daemon loses cleanly instead of overwriting).
 */
static int publish(struct lfs_pool *p, trellis_call_t *call, const char *tmp,
		   const char *name, const char *idem_key, const char *fmt,
		   trellis_vol_info_t *out)
{
	char path[PATH_LEN];
	int rc = xa_set(p, call, tmp, XA_FORMAT, fmt);
	if (!rc && idem_key && *idem_key)
		rc = xa_set(p, call, tmp, XA_IDEM, idem_key);
	if (rc)
		return rc;
	vol_path(p, name, path, sizeof path);
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
		int e = errno;
		if (e == EEXIST)
			return H->set_error(call, TRELLIS_E_CONFLICT,
					    "pool '%s': volume '%s' was "
					    "created concurrently",
					    p->name, name);
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': rename to %s: %s", p->name,
				    path, strerror(e));
	}
	fsync_dir(p->dir);
	return fill_info(p, call, name, out);
}

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

static int count_volumes(struct lfs_pool *p, uint32_t *n)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return -errno;
	struct dirent *de;
	*n = 0;
	while ((de = readdir(d))) {
		struct stat sb;
		if (name_ok(de->d_name) &&
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    S_ISREG(sb.st_mode))
			(*n)++;
	}
	closedir(d);
	return 0;
}

static int lfs_pool_info(void *pool, trellis_call_t *call, uint32_t flags,
			 trellis_pool_info_t *out)
{
	struct lfs_pool *p = pool;
	int rc = check_flags(p, call, "pool_info", flags, 0);
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
	if (count_volumes(p, &out->n_volumes) < 0)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': cannot read %s: %s", p->name,
				    p->dir, strerror(errno));
	return 0;
}

/* ---- volumes ---- */

static int check_format(struct lfs_pool *p, trellis_call_t *call,
			const char *name, const char *fmt)
{
	if (!strcmp(fmt, "qcow2") || !strcmp(fmt, "raw"))
		return 0;
	return H->set_error(call, TRELLIS_E_INVALID_ARG,
			    "pool '%s': volume '%s': format must be qcow2 or "
			    "raw, got '%s'",
			    p->name, name, fmt);
}

static int check_size(struct lfs_pool *p, trellis_call_t *call,
		      const char *name, uint64_t size)
{
	if (size > 0 && size <= MAX_SIZE && size % 512 == 0)
		return 0;
	return H->set_error(call, TRELLIS_E_INVALID_ARG,
			    "pool '%s': volume '%s': invalid size %" PRIu64
			    ": it must be a positive multiple of 512 bytes "
			    "up to %" PRIu64,
			    p->name, name, size, MAX_SIZE);
}

/*
 * With template_dirs configured, a template must resolve (symlinks and
 * "..", by realpath) to a file inside one of them: the path comes from a
 * request, and a copy of any readable host file into a tenant's volume
 * would be a leak.
 */
static int template_allowed(struct lfs_pool *p, trellis_call_t *call,
			    const char *name, const char *tpl)
{
	const trellis_host_t *h = H;
	const trellis_node_t *dirs = p->lfs->tpl_dirs;
	char real[PATH_MAX], dir[PATH_MAX];
	if (!dirs)
		return 0;
	if (!realpath(tpl, real))
		return h->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': volume '%s': template %s: %s",
				    p->name, name, tpl, strerror(errno));
	for (size_t i = 0; i < h->node_len(dirs); i++) {
		const char *d = h->node_str(h->node_at(dirs, i));
		size_t n;
		if (d && realpath(d, dir) && (n = strlen(dir)) &&
		    !strncmp(real, dir, n) &&
		    (real[n] == '/' || dir[n - 1] == '/'))
			return 0;
	}
	return h->set_error(call, TRELLIS_E_PERMISSION,
			    "pool '%s': volume '%s': template %s is outside "
			    "the configured template_dirs",
			    p->name, name, tpl);
}

/* The template as qemu-img sees it; it must be an absolute path to a
 * regular file (a device or directory here is always a mistake). */
static int template_info(struct lfs_pool *p, trellis_call_t *call,
			 const char *name, const char *tpl,
			 struct qimg_info *ti)
{
	struct stat sb;
	if (tpl[0] != '/')
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': volume '%s': template path "
				    "must be absolute, got '%s'",
				    p->name, name, tpl);
	if (stat(tpl, &sb) != 0)
		return H->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': volume '%s': template %s: %s",
				    p->name, name, tpl, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': volume '%s': template %s is "
				    "not a regular file",
				    p->name, name, tpl);
	int rc = template_allowed(p, call, name, tpl);
	if (rc)
		return rc;
	char fmt[16];
	xa_get(tpl, XA_FORMAT, fmt, sizeof fmt);
	return qimg_info(&p->q, call, tpl, fmt[0] ? fmt : NULL, ti);
}

/* Builds the new volume into tmp (a template overlay, a template copy or a
 * blank image). */
static int build_volume(struct lfs_pool *p, trellis_call_t *call,
			const trellis_vol_spec_t *spec, const char *fmt,
			uint64_t size, const struct qimg_info *ti,
			uint32_t flags, const char *tmp)
{
	int prealloc = !!(flags & TRELLIS_VOL_PREALLOCATE);
	const char *tpl = spec->template_path;
	uint64_t need = 0;
	int rc;
	if (tpl && (flags & TRELLIS_VOL_TEMPLATE_COPY))
		rc = qimg_measure(&p->q, call, fmt, 0, tpl, ti->format,
				  prealloc, &need);
	else
		rc = qimg_measure(&p->q, call, fmt, size, NULL, NULL, prealloc,
				  &need);
	if (!rc && tpl && (flags & TRELLIS_VOL_TEMPLATE_COPY) &&
	    size > ti->virtual_size && prealloc)
		need += size - ti->virtual_size;
	if (!rc)
		rc = space_check(p, call, spec->name, need);
	if (rc)
		return rc;
	if (!tpl)
		return qimg_create(&p->q, call, tmp, fmt, size, NULL, NULL,
				   prealloc);
	if (!(flags & TRELLIS_VOL_TEMPLATE_COPY))
		return qimg_create(&p->q, call, tmp, fmt, size, tpl, ti->format,
				   prealloc);
	rc = qimg_convert(&p->q, call, tpl, ti->format, tmp, fmt, prealloc);
	if (!rc && size > ti->virtual_size)
		rc = qimg_resize(&p->q, call, tmp, fmt, size);
	return rc;
}

static int lfs_vol_create(void *pool, trellis_call_t *call,
			  const trellis_vol_spec_t *spec, const char *idem_key,
			  uint32_t flags, trellis_vol_info_t *out)
{
	struct lfs_pool *p = pool;
	char tmp[PATH_LEN] = "";
	int rc =
	    check_flags(p, call, "vol_create", flags,
			TRELLIS_VOL_TEMPLATE_COPY | TRELLIS_VOL_PREALLOCATE);
	if (!rc)
		rc = check_name(p, call, "volume", spec->name);
	if (rc)
		return rc;
	const char *fmt = spec->format ? spec->format : "qcow2";
	const char *tpl = spec->template_path;
	rc = check_format(p, call, spec->name, fmt);
	if (!rc && !tpl)
		rc = check_size(p, call, spec->name, spec->size);
	if (!rc && tpl && spec->size)
		rc = check_size(p, call, spec->name, spec->size);
	if (!rc && tpl && !strcmp(fmt, "raw") &&
	    !(flags & TRELLIS_VOL_TEMPLATE_COPY))
		rc = H->set_error(call, TRELLIS_E_INVALID_ARG,
				  "pool '%s': volume '%s': a raw volume cannot "
				  "have a backing file; copy the template "
				  "instead (TEMPLATE_COPY)",
				  p->name, spec->name);
	if (rc)
		return rc;
	rc = existing(p, call, spec->name, idem_key, out);
	if (rc)
		return rc > 0 ? 0 : rc;

	struct qimg_info ti = {0};
	uint64_t size = spec->size;
	if (tpl) {
		rc = template_info(p, call, spec->name, tpl, &ti);
		if (rc)
			return rc;
		if (!size)
			size = ti.virtual_size;
		if (size < ti.virtual_size)
			return H->set_error(
			    call, TRELLIS_E_INVALID_ARG,
			    "pool '%s': volume '%s': size %" PRIu64
			    " is smaller than its template "
			    "(%" PRIu64 " bytes)",
			    p->name, spec->name, size, ti.virtual_size);
	}
	rc = tmp_new(p, call, spec->name, tmp, sizeof tmp);
	if (!rc)
		rc = build_volume(p, call, spec, fmt, size, &ti, flags, tmp);
	if (!rc)
		rc = publish(p, call, tmp, spec->name, idem_key, fmt, out);
	if (rc && tmp[0])
		unlink(tmp);
	return rc;
}

/* Whether another volume of the pool is an overlay on path; its name goes
 * into user (so delete can say who still needs it). */
static int backing_user(struct lfs_pool *p, trellis_call_t *call,
			const char *path, char *user, size_t len)
{
	DIR *d = opendir(p->dir);
	if (!d)
		return 0;
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(d))) {
		char vp[PATH_LEN], fmt[16];
		struct qimg_info qi;
		if (!name_ok(de->d_name))
			continue;
		vol_path(p, de->d_name, vp, sizeof vp);
		if (!strcmp(vp, path) ||
		    xa_get(vp, XA_FORMAT, fmt, sizeof fmt) ||
		    strcmp(fmt, "qcow2"))
			continue;
		/* An unreadable neighbour is not our business here; a
		 * later success clears the error it leaves in call. */
		if (qimg_info(&p->q, call, vp, fmt, &qi) == 0 &&
		    !strcmp(qi.backing, path)) {
			snprintf(user, len, "%s", de->d_name);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static int lfs_vol_delete(void *pool, trellis_call_t *call, const char *name,
			  const char *idem_key, uint32_t flags)
{
	struct lfs_pool *p = pool;
	(void)idem_key; /* deleting twice is the same as deleting once */
	int rc = check_flags(p, call, "vol_delete", flags, 0);
	if (!rc)
		rc = check_name(p, call, "volume", name);
	if (rc)
		return rc;
	char path[PATH_LEN], user[256];
	vol_path(p, name, path, sizeof path);
	struct stat sb;
	if (lstat(path, &sb) != 0 && errno == ENOENT)
		return 0;
	if (backing_user(p, call, path, user, sizeof user))
		return H->set_error(call, TRELLIS_E_CONFLICT,
				    "pool '%s': volume '%s' is the backing "
				    "file of volume '%s'; delete that first",
				    p->name, name, user);
	if (unlink(path) != 0 && errno != ENOENT)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': cannot delete volume '%s': %s",
				    p->name, name, strerror(errno));
	fsync_dir(p->dir);
	return 0;
}

static int lfs_vol_info(void *pool, trellis_call_t *call, const char *name,
			uint32_t flags, trellis_vol_info_t *out)
{
	struct lfs_pool *p = pool;
	int rc = check_flags(p, call, "vol_info", flags, 0);
	if (!rc)
		rc = check_name(p, call, "volume", name);
	return rc ? rc : fill_info(p, call, name, out);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int lfs_vol_list(void *pool, trellis_call_t *call, uint32_t flags,
			trellis_vol_list_fn fn, void *opaque)
{
	struct lfs_pool *p = pool;
	int rc = check_flags(p, call, "vol_list", flags, 0);
	if (rc)
		return rc;
	DIR *d = opendir(p->dir);
	if (!d)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': cannot read %s: %s", p->name,
				    p->dir, strerror(errno));
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat sb;
		if (!name_ok(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **nn = H->realloc(names, cap * sizeof *names);
			if (!nn) {
				rc = H->set_error(call, TRELLIS_E_NOMEM,
						  "out of memory");
				goto out;
			}
			names = nn;
		}
		names[n++] = H->strdup(de->d_name);
	}
	if (n) /* qsort(NULL, 0) is undefined */
		qsort(names, n, sizeof *names, name_cmp);
	for (size_t i = 0; i < n; i++) {
		trellis_vol_info_t vi = {.struct_size = sizeof vi};
		rc = fill_info(p, call, names[i], &vi);
		if (rc == TRELLIS_E_NOTFOUND) { /* deleted meanwhile */
			rc = 0;
			continue;
		}
		if (rc || fn(opaque, &vi))
			break;
	}
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		H->free(names[i]);
	H->free(names);
	return rc;
}

static int lfs_vol_resize(void *pool, trellis_call_t *call, const char *name,
			  uint64_t new_size, const char *idem_key,
			  uint32_t flags)
{
	struct lfs_pool *p = pool;
	(void)idem_key; /* growing to the same size twice is a no-op */
	trellis_vol_info_t vi = {.struct_size = sizeof vi};
	int rc = check_flags(p, call, "vol_resize", flags, 0);
	if (!rc)
		rc = check_name(p, call, "volume", name);
	if (!rc)
		rc = check_size(p, call, name, new_size);
	if (!rc)
		rc = fill_info(p, call, name, &vi);
	if (rc)
		return rc;
	if (new_size == vi.capacity)
		return 0;
	if (new_size < vi.capacity)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': volume '%s': shrinking from "
				    "%" PRIu64 " to %" PRIu64
				    " bytes is refused (it would cut the "
				    "guest's filesystem)",
				    p->name, name, vi.capacity, new_size);
	return qimg_resize(&p->q, call, vi.path, vi.format, new_size);
}

static int lfs_vol_clone(void *pool, trellis_call_t *call, const char *src,
			 const char *dst, const char *idem_key, uint32_t flags,
			 trellis_vol_info_t *out)
{
	struct lfs_pool *p = pool;
	trellis_vol_info_t si = {.struct_size = sizeof si};
	char tmp[PATH_LEN] = "";
	uint64_t need = 0;
	int rc = check_flags(p, call, "vol_clone", flags, 0);
	if (!rc)
		rc = check_name(p, call, "volume", src);
	if (!rc)
		rc = check_name(p, call, "volume", dst);
	if (rc)
		return rc;
	rc = existing(p, call, dst, idem_key, out);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = fill_info(p, call, src, &si);
	if (!rc)
		rc = qimg_measure(&p->q, call, si.format, 0, si.path, si.format,
				  0, &need);
	if (!rc)
		rc = space_check(p, call, dst, need);
	if (!rc)
		rc = tmp_new(p, call, dst, tmp, sizeof tmp);
	if (!rc)
		rc = qimg_convert(&p->q, call, si.path, si.format, tmp,
				  si.format, 0);
	if (!rc)
		rc = publish(p, call, tmp, dst, idem_key, si.format, out);
	if (rc && tmp[0])
		unlink(tmp);
	return rc;
}

static int has_snapshot(const struct qimg_info *qi, const char *snap)
{
	for (unsigned i = 0; i < qi->n_snapshots && i < 16; i++)
		if (!strcmp(qi->snapshots[i], snap))
			return 1;
	return 0;
}

static int snap_prepare(struct lfs_pool *p, trellis_call_t *call,
			const char *op, uint32_t flags, const char *vol,
			const char *snap, char *path, struct qimg_info *qi)
{
	int rc = check_flags(p, call, op, flags, 0);
	if (!rc)
		rc = check_name(p, call, "volume", vol);
	if (!rc)
		rc = check_name(p, call, "snapshot", snap);
	if (rc)
		return rc;
	trellis_vol_info_t vi = {.struct_size = sizeof vi};
	rc = fill_info(p, call, vol, &vi);
	if (rc)
		return rc;
	if (strcmp(vi.format, "qcow2"))
		return H->set_error(call, TRELLIS_E_NOTSUP,
				    "pool '%s': volume '%s' is %s; snapshots "
				    "need qcow2",
				    p->name, vol, vi.format);
	snprintf(path, PATH_LEN, "%s", vi.path);
	return qimg_info(&p->q, call, path, "qcow2", qi);
}

static int lfs_snapshot_create(void *pool, trellis_call_t *call,
			       const char *vol, const char *snapshot,
			       const char *idem_key, uint32_t flags)
{
	struct lfs_pool *p = pool;
	char path[PATH_LEN], attr[256], key[256];
	struct qimg_info qi;
	int rc = snap_prepare(p, call, "snapshot_create", flags, vol, snapshot,
			      path, &qi);
	if (rc)
		return rc;
	snprintf(attr, sizeof attr, XA_SNAP "%s", snapshot);
	if (has_snapshot(&qi, snapshot)) {
		xa_get(path, attr, key, sizeof key);
		if (idem_key && *idem_key && !strcmp(key, idem_key))
			return 0;
		return H->set_error(call, TRELLIS_E_CONFLICT,
				    "pool '%s': volume '%s' already has a "
				    "snapshot '%s'",
				    p->name, vol, snapshot);
	}
	/* The key first: a crash after the snapshot but before the key
	 * would turn the replay into a CONFLICT. */
	if (idem_key && *idem_key) {
		rc = xa_set(p, call, path, attr, idem_key);
		if (rc)
			return rc;
	}
	rc = qimg_snapshot(&p->q, call, path, "-c", snapshot);
	if (rc)
		removexattr(path, attr);
	return rc;
}

static int lfs_snapshot_delete(void *pool, trellis_call_t *call,
			       const char *vol, const char *snapshot,
			       const char *idem_key, uint32_t flags)
{
	struct lfs_pool *p = pool;
	char path[PATH_LEN], attr[256];
	struct qimg_info qi;
	(void)idem_key;
	int rc = snap_prepare(p, call, "snapshot_delete", flags, vol, snapshot,
			      path, &qi);
	if (rc == TRELLIS_E_NOTFOUND)
		return 0; /* the volume is gone, and its snapshots with it */
	if (rc || !has_snapshot(&qi, snapshot))
		return rc;
	rc = qimg_snapshot(&p->q, call, path, "-d", snapshot);
	if (!rc) {
		snprintf(attr, sizeof attr, XA_SNAP "%s", snapshot);
		removexattr(path, attr);
	}
	return rc;
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
    .pool_info = lfs_pool_info,
    .vol_create = lfs_vol_create,
    .vol_delete = lfs_vol_delete,
    .vol_info = lfs_vol_info,
    .vol_list = lfs_vol_list,
    .vol_resize = lfs_vol_resize,
    .vol_clone = lfs_vol_clone,
    .snapshot_create = lfs_snapshot_create,
    .snapshot_delete = lfs_snapshot_delete,
};

TRELLIS_PLUGIN_DEFINE(.name = "localfs", .version = "1.0.0", .license = "MIT",
		      .description = "directory pools of qcow2/raw volumes "
				     "(qemu-img)",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_PER_TARGET,
		      .caps = TRELLIS_STORAGE_CAP_THIN |
			      TRELLIS_STORAGE_CAP_SNAPSHOT |
			      TRELLIS_STORAGE_CAP_CLONE |
			      TRELLIS_STORAGE_CAP_TEMPLATE |
			      TRELLIS_STORAGE_CAP_RESIZE,
		      .init = lfs_init, .fini = lfs_fini, .ops = &lfs_ops)
