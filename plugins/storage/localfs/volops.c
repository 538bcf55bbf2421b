/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volops.c - the localfs volume and snapshot ops (vol_create, vol_delete,
 * vol_info, vol_list, vol_resize, vol_clone, snapshot_create,
 * snapshot_delete) and the checks only they need: format, size and
 * template.  They build on the volume-file helpers of volfile.c and run
 * qemu-img through qimg.c; localfs.c lists them in the ops table.
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
#include <sys/xattr.h>
#include <unistd.h>

#include "localfs_int.h"

/* Far beyond any real disk, far below qemu-img's own limits. */
#define MAX_SIZE (UINT64_C(64) << 40)

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
		rc = lfs_space_check(p, call, spec->name, need);
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

int lfs_vol_create(void *pool, trellis_call_t *call,
		   const trellis_vol_spec_t *spec, const char *idem_key,
		   uint32_t flags, trellis_vol_info_t *out)
{
	struct lfs_pool *p = pool;
	char tmp[PATH_LEN] = "";
	int rc = lfs_check_flags(p, call, "vol_create", flags,
				 TRELLIS_VOL_TEMPLATE_COPY |
				     TRELLIS_VOL_PREALLOCATE);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", spec->name);
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
	rc = lfs_existing(p, call, spec->name, idem_key, out);
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
	rc = lfs_tmp_new(p, call, spec->name, tmp, sizeof tmp);
	if (!rc)
		rc = build_volume(p, call, spec, fmt, size, &ti, flags, tmp);
	if (!rc)
		rc = lfs_publish(p, call, tmp, spec->name, idem_key, fmt, out);
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
		if (!lfs_name_ok(de->d_name))
			continue;
		lfs_vol_path(p, de->d_name, vp, sizeof vp);
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

int lfs_vol_delete(void *pool, trellis_call_t *call, const char *name,
		   const char *idem_key, uint32_t flags)
{
	struct lfs_pool *p = pool;
	int if_key = !!(flags & TRELLIS_VOL_DELETE_IF_KEY);
	int rc = lfs_check_flags(p, call, "vol_delete", flags,
				 TRELLIS_VOL_DELETE_IF_KEY);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", name);
	if (!rc && if_key && !(idem_key && *idem_key))
		rc = H->set_error(call, TRELLIS_E_INVALID_ARG,
				  "pool '%s': volume '%s': DELETE_IF_KEY "
				  "without an idempotency key",
				  p->name, name);
	if (rc)
		return rc;
	char path[PATH_LEN], user[256], key[KEY_LEN];
	lfs_vol_path(p, name, path, sizeof path);
	struct stat sb;
	if (lstat(path, &sb) != 0 && errno == ENOENT)
		return 0;
	/* Without the flag deleting twice is the same as deleting once, and
	 * the key does not matter; with it, only our own volume goes. */
	if (if_key && !lfs_made_by(path, idem_key, key, sizeof key))
		return lfs_not_ours(
		    p, call, name, key,
		    "was not made by this request; left untouched");
	if (backing_user(p, call, path, user, sizeof user))
		return H->set_error(call, TRELLIS_E_CONFLICT,
				    "pool '%s': volume '%s' is the backing "
				    "file of volume '%s'; delete that first",
				    p->name, name, user);
	if (unlink(path) != 0 && errno != ENOENT)
		return H->set_error(call, TRELLIS_E_IO,
				    "pool '%s': cannot delete volume '%s': %s",
				    p->name, name, strerror(errno));
	lfs_fsync_dir(p->dir);
	return 0;
}

int lfs_vol_info(void *pool, trellis_call_t *call, const char *name,
		 uint32_t flags, trellis_vol_info_t *out)
{
	struct lfs_pool *p = pool;
	int rc = lfs_check_flags(p, call, "vol_info", flags, 0);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", name);
	return rc ? rc : lfs_fill_info(p, call, name, out);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int lfs_vol_list(void *pool, trellis_call_t *call, uint32_t flags,
		 trellis_vol_list_fn fn, void *opaque)
{
	struct lfs_pool *p = pool;
	int rc = lfs_check_flags(p, call, "vol_list", flags, 0);
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
		if (!lfs_name_ok(de->d_name) ||
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
		rc = lfs_fill_info(p, call, names[i], &vi);
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

int lfs_vol_resize(void *pool, trellis_call_t *call, const char *name,
		   uint64_t new_size, const char *idem_key, uint32_t flags)
{
	struct lfs_pool *p = pool;
	(void)idem_key; /* growing to the same size twice is a no-op */
	trellis_vol_info_t vi = {.struct_size = sizeof vi};
	int rc = lfs_check_flags(p, call, "vol_resize", flags, 0);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", name);
	if (!rc)
		rc = check_size(p, call, name, new_size);
	if (!rc)
		rc = lfs_fill_info(p, call, name, &vi);
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

int lfs_vol_clone(void *pool, trellis_call_t *call, const char *src,
		  const char *dst, const char *idem_key, uint32_t flags,
		  trellis_vol_info_t *out)
{
	struct lfs_pool *p = pool;
	trellis_vol_info_t si = {.struct_size = sizeof si};
	char tmp[PATH_LEN] = "";
	uint64_t need = 0;
	int rc = lfs_check_flags(p, call, "vol_clone", flags, 0);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", src);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", dst);
	if (rc)
		return rc;
	rc = lfs_existing(p, call, dst, idem_key, out);
	if (rc)
		return rc > 0 ? 0 : rc;
	rc = lfs_fill_info(p, call, src, &si);
	if (!rc)
		rc = qimg_measure(&p->q, call, si.format, 0, si.path, si.format,
				  0, &need);
	if (!rc)
		rc = lfs_space_check(p, call, dst, need);
	if (!rc)
		rc = lfs_tmp_new(p, call, dst, tmp, sizeof tmp);
	if (!rc)
		rc = qimg_convert(&p->q, call, si.path, si.format, tmp,
				  si.format, 0);
	if (!rc)
		rc = lfs_publish(p, call, tmp, dst, idem_key, si.format, out);
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
	int rc = lfs_check_flags(p, call, op, flags, 0);
	if (!rc)
		rc = lfs_check_name(p, call, "volume", vol);
	if (!rc)
		rc = lfs_check_name(p, call, "snapshot", snap);
	if (rc)
		return rc;
	trellis_vol_info_t vi = {.struct_size = sizeof vi};
	rc = lfs_fill_info(p, call, vol, &vi);
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

int lfs_snapshot_create(void *pool, trellis_call_t *call, const char *vol,
			const char *snapshot, const char *idem_key,
			uint32_t flags)
{
	struct lfs_pool *p = pool;
	char path[PATH_LEN], attr[256], key[KEY_LEN];
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

int lfs_snapshot_delete(void *pool, trellis_call_t *call, const char *vol,
			const char *snapshot, const char *idem_key,
			uint32_t flags)
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
