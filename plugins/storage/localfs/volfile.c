/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volfile.c - a volume as a file in the pool directory: which names are
 * allowed and where they live, the extended attributes that carry a
 * volume's idempotency key and format, reading a volume's info, and
 * building a new volume under a hidden temp name and publishing it under
 * its real name only when complete.  The ops that use these are in
 * volops.c; the pool itself is in localfs.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <trellis/name.h>

#include "localfs_int.h"

/* ---- names and paths ---- */

/* [A-Za-z0-9][A-Za-z0-9._-]{0,126} with no "..": nothing can name a path
 * outside the pool, a hidden file or a temp file. */
int lfs_name_ok(const char *s)
{
	return trellis_name_ok(s) && strstr(s, "..") == NULL;
}

int lfs_check_name(struct lfs_pool *p, trellis_call_t *call, const char *what,
	       const char *name)
{
	if (lfs_name_ok(name))
		return 0;
	return H->set_error(call, TRELLIS_E_INVALID_ARG,
			    "pool '%s': invalid %s name '%s': use 1-128 of "
			    "[A-Za-z0-9._-], starting with a letter or digit, "
			    "without '..' or '/'",
			    p->name, what, name ? name : "(null)");
}

int lfs_check_flags(struct lfs_pool *p, trellis_call_t *call, const char *op,
		    uint32_t flags, uint32_t known)
{
	if (!(flags & ~known))
		return 0;
	return H->set_error(call, TRELLIS_E_INVALID_ARG,
			    "localfs %s: unknown flag bits 0x%x", op,
			    flags & ~known);
}

void lfs_vol_path(const struct lfs_pool *p, const char *name, char *buf,
		  size_t len)
{
	snprintf(buf, len, "%s/%s", p->dir, name);
}

/* ---- extended attributes ---- */

int xa_get(const char *path, const char *attr, char *buf, size_t len)
{
	ssize_t n = getxattr(path, attr, buf, len - 1);
	if (n < 0) {
		buf[0] = '\0';
		return -errno;
	}
	buf[n] = '\0';
	return 0;
}

int xa_set(struct lfs_pool *p, trellis_call_t *call, const char *path,
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

int lfs_fill_info(struct lfs_pool *p, trellis_call_t *call, const char *name,
		  trellis_vol_info_t *out)
{
	char path[PATH_LEN], fmt[16];
	lfs_vol_path(p, name, path, sizeof path);
	struct stat sb;
	/* lstat: a symlink planted in the pool is not a volume, and no op
	 * that starts here (resize, clone, snapshots) may follow it out of
	 * the pool (trellis-plugin-check symlink:*). */
	if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
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

int lfs_made_by(const char *path, const char *idem_key, char *key, size_t len)
{
	xa_get(path, XA_IDEM, key, len);
	return idem_key && *idem_key && strcmp(key, idem_key) == 0;
}

int lfs_not_ours(struct lfs_pool *p, trellis_call_t *call, const char *name,
		 const char *key, const char *what)
{
	return H->set_error(call, TRELLIS_E_CONFLICT,
			    "pool '%s': volume '%s' %s (made by %s%s%s)",
			    p->name, name, what, key[0] ? "request '" : "",
			    key[0] ? key : "another request",
			    key[0] ? "'" : "");
}

/*
 * What to do about an existing name before a create: 0 when it is free,
 * 1 when it exists and was made by the same request (out filled: a
 * replay), or CONFLICT: a volume of another request, or of none, is never
 * adopted.
 */
int lfs_existing(struct lfs_pool *p, trellis_call_t *call, const char *name,
		 const char *idem_key, trellis_vol_info_t *out)
{
	char path[PATH_LEN], key[KEY_LEN];
	lfs_vol_path(p, name, path, sizeof path);
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return 0;
	if (!lfs_made_by(path, idem_key, key, sizeof key))
		return lfs_not_ours(p, call, name, key, "already exists");
	int rc = lfs_fill_info(p, call, name, out);
	return rc ? rc : 1;
}

int lfs_space_check(struct lfs_pool *p, trellis_call_t *call, const char *name,
		    uint64_t required)
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
int lfs_tmp_new(struct lfs_pool *p, trellis_call_t *call, const char *name,
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

void lfs_fsync_dir(const char *dir)
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
int lfs_publish(struct lfs_pool *p, trellis_call_t *call, const char *tmp,
	    const char *name, const char *idem_key, const char *fmt,
	    trellis_vol_info_t *out)
{
	char path[PATH_LEN];
	int rc = xa_set(p, call, tmp, XA_FORMAT, fmt);
	if (!rc && idem_key && *idem_key)
		rc = xa_set(p, call, tmp, XA_IDEM, idem_key);
	if (rc)
		return rc;
	lfs_vol_path(p, name, path, sizeof path);
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
	lfs_fsync_dir(p->dir);
	return lfs_fill_info(p, call, name, out);
}
