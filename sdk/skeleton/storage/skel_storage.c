/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skel_storage.c - a small but real Trellis storage plugin: a pool is a
 * directory, a volume is a sparse raw file in it.  Copy this file to start
 * your own plugin; docs/plugin-guide.md walks through it.
 *
 * Build (out of tree, against an installed SDK):
 *   cc $(pkg-config --cflags trellis-plugin) -shared -fPIC \
 *      -fvisibility=hidden -Wl,-z,defs -o skel_storage.so skel_storage.c
 * Check:   trellis-plugin-check ./skel_storage.so
 * Install: cp skel_storage.so $(pkg-config --variable=plugindir trellis-plugin)
 *
 * What it shows:
 *  - one descriptor (TRELLIS_PLUGIN_DEFINE) and one ops table, filled with
 *    designated initializers; ops it does not have (clone, snapshots) stay
 *    NULL and the core reports them as NOTSUP;
 *  - every op rejects flag bits it does not know;
 *  - every failure goes through host->set_error() with a message that
 *    names the pool and the volume;
 *  - idempotency: vol_create records its key beside the volume, so a
 *    replayed create returns the same volume and a create of the same
 *    name by another request is a CONFLICT; deleting what is gone works;
 *  - a failed create leaves nothing behind (write a temp file, rename);
 *  - TRELLIS_THREAD_PER_TARGET: all state lives in the pool handle.
 *
 * Files in a pool: NAME (the volume) and .NAME.idem (its idempotency key).
 * Volume names cannot start with a dot, so the two never clash.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <trellis/storage.h>
#include <trellis/name.h>

#define PLUGIN "skel-storage"

/* The host services table: valid from init() on, for the plugin's life. */
static const trellis_host_t *host;
static trellis_plugin_t *self;

struct pool {
	int dirfd;
	char name[64];
	/* The directory; short enough that path/NAME fits vol_info.path. */
	char path[sizeof(((trellis_vol_info_t *)0)->path) - 130];
};

static int init(trellis_plugin_t *me, const trellis_host_t *h,
		trellis_call_t *call, void **state)
{
	(void)call;
	host = h;
	self = me;
	*state = NULL; /* no plugin-wide state: everything is per pool */
	return 0;
}

/* ---- helpers ---- */

/* [A-Za-z0-9][A-Za-z0-9._-]{0,127}, and never "..": no way out of the
 * pool directory. */
static int valid_name(const char *s)
{
	return trellis_name_ok(s) && strstr(s, "..") == NULL;
}

static int check_name(struct pool *p, trellis_call_t *call, const char *name)
{
	if (valid_name(name))
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       "pool '%s': invalid volume name '%s' (use 1-128 "
			       "of [A-Za-z0-9._-], starting with a letter or "
			       "digit)",
			       p->name, name ? name : "(null)");
}

static int check_flags(trellis_call_t *call, const char *op, uint32_t flags,
		       uint32_t known)
{
	if (!(flags & ~known))
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       PLUGIN " %s: unknown flag bits 0x%x", op,
			       flags & ~known);
}

static int errno_code(int e)
{
	switch (e) {
	case ENOENT:
		return TRELLIS_E_NOTFOUND;
	case EEXIST:
		return TRELLIS_E_CONFLICT;
	case ENOSPC:
	case EDQUOT:
		return TRELLIS_E_NOSPACE;
	case EACCES:
	case EPERM:
		return TRELLIS_E_PERMISSION;
	default:
		return TRELLIS_E_IO;
	}
}

/* Sets an error from errno, with the errno as the backend code. */
static int io_error(trellis_call_t *call, struct pool *p, const char *what,
		    const char *name)
{
	int e = errno;
	int code =
	    host->set_error(call, errno_code(e), "pool '%s': %s '%s': %s",
			    p->name, what, name, strerror(e));
	host->set_error_backend(call, e, 0);
	return code;
}

static void key_file(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, ".%s.idem", name);
}

/* The idempotency key recorded for a volume, "" when none. */
static void read_key(struct pool *p, const char *name, char *key, size_t len)
{
	char kf[160];
	key[0] = '\0';
	key_file(kf, sizeof kf, name);
	int fd = openat(p->dirfd, kf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, key, len - 1);
	key[n > 0 ? n : 0] = '\0';
	close(fd);
}

static int write_key(struct pool *p, const char *name, const char *key)
{
	char kf[160];
	key_file(kf, sizeof kf, name);
	int fd = openat(p->dirfd, kf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0640);
	if (fd < 0)
		return -1;
	size_t len = strlen(key);
	int ok = write(fd, key, len) == (ssize_t)len;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* Describes a volume: 0, or an errno (ENOENT, or EISDIR for what is not
 * a regular file). */
static int describe(struct pool *p, const char *name, trellis_vol_info_t *out)
{
	struct stat st;
	if (fstatat(p->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno;
	if (!S_ISREG(st.st_mode))
		return EISDIR;
	snprintf(out->name, sizeof out->name, "%s", name);
	snprintf(out->path, sizeof out->path, "%s/%s", p->path, name);
	snprintf(out->format, sizeof out->format, "raw");
	out->capacity = (uint64_t)st.st_size;
	out->allocation = (uint64_t)st.st_blocks * 512;
	return 0;
}

static int fill_info(struct pool *p, trellis_call_t *call, const char *name,
		     trellis_vol_info_t *out)
{
	int e = describe(p, name, out);
	if (e == ENOENT || e == EISDIR)
		return host->set_error(call, TRELLIS_E_NOTFOUND,
				       "pool '%s': no volume '%s'", p->name,
				       name);
	if (e) {
		errno = e;
		return io_error(call, p, "stat", name);
	}
	return 0;
}

/* ---- pools ---- */

static int pool_open(void *state, trellis_call_t *call,
		     const trellis_pool_spec_t *spec, uint32_t flags,
		     void **out)
{
	(void)state;
	int rc =
	    check_flags(call, "pool_open", flags, TRELLIS_POOL_OPEN_CREATE);
	if (rc)
		return rc;
	if (!spec || !spec->target || spec->target[0] != '/')
		return host->set_error(
		    call, TRELLIS_E_INVALID_ARG,
		    PLUGIN ": a pool's target must be an "
			   "absolute directory path, not '%s'",
		    spec && spec->target ? spec->target : "(null)");
	const char *name = spec->name ? spec->name : spec->target;
	if (strlen(spec->target) >= sizeof(((struct pool *)0)->path))
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "pool '%s': target path too long", name);
	if ((flags & TRELLIS_POOL_OPEN_CREATE) &&
	    mkdir(spec->target, 0750) < 0 && errno != EEXIST)
		return host->set_error(call, errno_code(errno),
				       "pool '%s': cannot create %s: %s", name,
				       spec->target, strerror(errno));
	int fd = open(spec->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return host->set_error(call, errno_code(errno),
				       "pool '%s': directory %s: %s", name,
				       spec->target, strerror(errno));
	struct pool *p = host->alloc(sizeof *p);
	if (!p) {
		close(fd);
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	}
	p->dirfd = fd;
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->path, sizeof p->path, "%s", spec->target);
	*out = p;
	return 0;
}

static void pool_close(void *state, void *pool)
{
	struct pool *p = pool;
	(void)state;
	close(p->dirfd);
	host->free(p);
}

static int pool_info(void *pool, trellis_call_t *call, uint32_t flags,
		     trellis_pool_info_t *out)
{
	struct pool *p = pool;
	int rc = check_flags(call, "pool_info", flags, 0);
	if (rc)
		return rc;
	struct statvfs vfs;
	if (fstatvfs(p->dirfd, &vfs) < 0)
		return io_error(call, p, "statvfs", p->path);
	out->capacity = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	out->available = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	int fd = dup(p->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return io_error(call, p, "list", p->path);
	}
	rewinddir(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.' ||
		    fstatat(p->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			0 ||
		    !S_ISREG(st.st_mode))
			continue;
		out->n_volumes++;
		out->allocation += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return 0;
}

/* ---- volumes ---- */

static int vol_create(void *pool, trellis_call_t *call,
		      const trellis_vol_spec_t *spec, const char *idem_key,
		      uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	int rc =
	    check_flags(call, "vol_create", flags,
			TRELLIS_VOL_TEMPLATE_COPY | TRELLIS_VOL_PREALLOCATE);
	if (rc)
		return rc;
	if (!spec)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "pool '%s': no volume spec", p->name);
	if ((rc = check_name(p, call, spec->name)))
		return rc;
	if (!spec->format || strcmp(spec->format, "raw") != 0)
		return host->set_error(call, TRELLIS_E_NOTSUP,
				       "pool '%s': volume '%s': " PLUGIN
				       " makes raw volumes only, not %s",
				       p->name, spec->name,
				       spec->format ? spec->format
						    : "qcow2 (the default)");
	if (spec->template_path)
		return host->set_error(call, TRELLIS_E_NOTSUP,
				       "pool '%s': volume '%s': " PLUGIN
				       " cannot create from a template",
				       p->name, spec->name);
	if (!spec->size)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "pool '%s': volume '%s': size 0",
				       p->name, spec->name);

	/* A replay finds what the first attempt made. */
	if (faccessat(p->dirfd, spec->name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		char key[256];
		read_key(p, spec->name, key, sizeof key);
		if (idem_key && idem_key[0] && strcmp(key, idem_key) == 0)
			return fill_info(p, call, spec->name, out);
		return host->set_error(call, TRELLIS_E_CONFLICT,
				       "pool '%s': volume '%s' exists already "
				       "(made by another request)",
				       p->name, spec->name);
	}

	/* Make it under a temporary name, then rename: a create that fails
	 * (or a crash) leaves no half-made volume behind. */
	char tmp[160];
	snprintf(tmp, sizeof tmp, ".%s.tmp", spec->name);
	int fd = openat(p->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			0640);
	if (fd < 0)
		return io_error(call, p, "create", spec->name);
	int err = ftruncate(fd, (off_t)spec->size);
	if (!err && (flags & TRELLIS_VOL_PREALLOCATE))
		err = posix_fallocate(fd, 0, (off_t)spec->size) ? -1 : 0;
	if (close(fd) < 0)
		err = -1;
	if (!err && idem_key)
		err = write_key(p, spec->name, idem_key);
	if (!err)
		err = renameat(p->dirfd, tmp, p->dirfd, spec->name);
	if (err) {
		rc = io_error(call, p, "create", spec->name);
		unlinkat(p->dirfd, tmp, 0);
		return rc;
	}
	host->log(self, TRELLIS_LOG_INFO,
		  "pool '%s': made volume '%s' (%llu "
		  "bytes)",
		  p->name, spec->name, (unsigned long long)spec->size);
	return fill_info(p, call, spec->name, out);
}

/* With TRELLIS_VOL_DELETE_IF_KEY (ABI 1.1), idem_key names the request
 * that must have made the volume: an undo or a destroy deletes only what
 * it made, never a same-named volume of someone else. */
static int vol_delete(void *pool, trellis_call_t *call, const char *name,
		      const char *idem_key, uint32_t flags)
{
	struct pool *p = pool;
	int rc = check_flags(call, "vol_delete", flags,
			     TRELLIS_VOL_DELETE_IF_KEY);
	if (rc || (rc = check_name(p, call, name)))
		return rc;
	if (faccessat(p->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		return 0; /* gone already: deleting twice is harmless */
	if (flags & TRELLIS_VOL_DELETE_IF_KEY) {
		char key[256];
		read_key(p, name, key, sizeof key);
		if (!idem_key || !idem_key[0] || strcmp(key, idem_key) != 0)
			return host->set_error(call, TRELLIS_E_CONFLICT,
					       "pool '%s': volume '%s' was not "
					       "made by %s: not deleted",
					       p->name, name,
					       idem_key ? idem_key : "(none)");
	}
	if (unlinkat(p->dirfd, name, 0) < 0 && errno != ENOENT)
		return io_error(call, p, "delete", name);
	char kf[160];
	key_file(kf, sizeof kf, name);
	unlinkat(p->dirfd, kf, 0);
	return 0;
}

static int vol_info(void *pool, trellis_call_t *call, const char *name,
		    uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	int rc = check_flags(call, "vol_info", flags, 0);
	if (rc || (rc = check_name(p, call, name)))
		return rc;
	return fill_info(p, call, name, out);
}

static int vol_list(void *pool, trellis_call_t *call, uint32_t flags,
		    trellis_vol_list_fn fn, void *opaque)
{
	struct pool *p = pool;
	int rc = check_flags(call, "vol_list", flags, 0);
	if (rc)
		return rc;
	int fd = dup(p->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return io_error(call, p, "list", p->path);
	}
	rewinddir(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		trellis_vol_info_t info = {.struct_size = sizeof info};
		if (e->d_name[0] == '.' || !valid_name(e->d_name))
			continue;
		/* Skip what vanished meanwhile, or is not a volume. */
		if (describe(p, e->d_name, &info) == 0 && fn &&
		    fn(opaque, &info))
			break;
	}
	closedir(d);
	return 0;
}

static int vol_resize(void *pool, trellis_call_t *call, const char *name,
		      uint64_t new_size, const char *idem_key, uint32_t flags)
{
	struct pool *p = pool;
	trellis_vol_info_t info = {.struct_size = sizeof info};
	(void)idem_key; /* growing to a size is naturally idempotent */
	int rc = check_flags(call, "vol_resize", flags, 0);
	if (rc || (rc = check_name(p, call, name)) ||
	    (rc = fill_info(p, call, name, &info)))
		return rc;
	if (new_size < info.capacity)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "pool '%s': volume '%s': shrinking from "
				       "%llu to %llu bytes is refused",
				       p->name, name,
				       (unsigned long long)info.capacity,
				       (unsigned long long)new_size);
	int fd = openat(p->dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return io_error(call, p, "open", name);
	int err = ftruncate(fd, (off_t)new_size);
	if (close(fd) < 0 || err < 0)
		return io_error(call, p, "resize", name);
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
    .vol_list = vol_list,
    .vol_resize = vol_resize,
    /* vol_clone, snapshot_create, snapshot_delete: not supported (NULL),
     * which the core reports as NOTSUP. */
};

TRELLIS_PLUGIN_DEFINE(.name = PLUGIN, .version = "1.0.0", .license = "Apache-2.0",
		      .description = "raw sparse-file volumes in a directory "
				     "(the SDK's storage skeleton)",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_PER_TARGET,
		      .caps = TRELLIS_STORAGE_CAP_THIN |
			      TRELLIS_STORAGE_CAP_RESIZE,
		      .init = init, .ops = &ops)
