/* SPDX-License-Identifier: Apache-2.0 */
/*
 * adapt.c - localfs's storage ops of ABI 1.1: discovery, assignment, the
 * bridge's port and volume streams.
 *
 * A localfs pool is one system (LOCALFS-<hostname>), one pool and its
 * volumes; its only access port is the local host ("local:<hostname>").
 * An assignment is recorded on the volume file itself, as the extended
 * attribute user.trellis.view.HOST (the host's initiators, space
 * separated), so it travels with the file like the other attributes.
 * Streams read and write a raw volume's file in place: a qcow2 volume's
 * bytes are not what a guest sees, so it is refused (convert it first).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "localfs_int.h"

#define XA_VIEW "user.trellis.view."

/* The system id: vendor + model + serial, non-alphanumerics hex-encoded
 * (the translated plugin builds its ids the same way). */
static void system_id(char *buf, size_t len)
{
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	size_t o = (size_t)snprintf(buf, len, "LOCALFS-DIR-");
	for (const char *c = host; *c && o + 3 < len; c++) {
		unsigned char u = (unsigned char)*c;
		if ((u >= '0' && u <= '9') || (u >= 'A' && u <= 'Z') ||
		    (u >= 'a' && u <= 'z'))
			buf[o++] = (char)u;
		else
			o += (size_t)snprintf(buf + o, len - o, "%02X", u);
	}
	buf[o < len ? o : len - 1] = '\0';
}

struct disc {
	struct lfs_pool *p;
	const char *sys;
	uint32_t what;
	trellis_st_object_fn fn;
	void *opaque;
	int stop;
};

static int emit(struct disc *d, trellis_st_object_t *o)
{
	if (d->stop)
		return 1;
	o->struct_size = sizeof *o;
	snprintf(o->system, sizeof o->system, "%s",
		 o->type == TRELLIS_ST_SYSTEM ? "" : d->sys);
	if (!o->state[0])
		snprintf(o->state, sizeof o->state, "online");
	return d->stop = d->fn(d->opaque, o);
}

static int disc_vol(void *opaque, const trellis_vol_info_t *v)
{
	struct disc *d = opaque;
	if (d->what & TRELLIS_ST_BIT(TRELLIS_ST_VOLUME)) {
		trellis_st_object_t o = {.type = TRELLIS_ST_VOLUME,
					 .capacity = v->capacity};
		snprintf(o.id, sizeof o.id, "%s", v->name);
		snprintf(o.name, sizeof o.name, "%s", v->name);
		snprintf(o.parent, sizeof o.parent, "%s", d->p->name);
		if (emit(d, &o))
			return 1;
	}
	if (!(d->what & TRELLIS_ST_BIT(TRELLIS_ST_ASSIGNMENT)))
		return 0;
	char list[4096];
	ssize_t n = llistxattr(v->path, list, sizeof list);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
		if (strncmp(list + i, XA_VIEW, strlen(XA_VIEW)))
			continue;
		trellis_st_object_t o = {.type = TRELLIS_ST_ASSIGNMENT};
		const char *host = list + i + strlen(XA_VIEW);
		xa_get(v->path, list + i, o.address, sizeof o.address);
		snprintf(o.id, sizeof o.id, "%s@%s", v->name, host);
		snprintf(o.name, sizeof o.name, "%s", host);
		snprintf(o.parent, sizeof o.parent, "%s", v->name);
		snprintf(o.host, sizeof o.host, "%s", host);
		if (emit(d, &o))
			return 1;
	}
	return 0;
}

int lfs_discover(void *pool, trellis_call_t *call, uint32_t what,
		 uint32_t flags, trellis_st_object_fn fn, void *opaque)
{
	struct lfs_pool *p = pool;
	int rc =
	    lfs_check_flags(p, call, "discover", flags, TRELLIS_DISCOVER_FRESH);
	if (rc)
		return rc;
	if (!fn)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "discover: no callback");
	char sys[256];
	system_id(sys, sizeof sys);
	struct disc d = {p, sys, what ? what : ~0u, fn, opaque, 0};
	trellis_pool_info_t pi = {.struct_size = sizeof pi};
	if ((rc = lfs_pool_info_op(p, call, 0, &pi)))
		return rc;
	if (d.what & TRELLIS_ST_BIT(TRELLIS_ST_SYSTEM)) {
		trellis_st_object_t o = {.type = TRELLIS_ST_SYSTEM,
					 .capacity = pi.capacity,
					 .available = pi.available};
		snprintf(o.id, sizeof o.id, "%s", sys);
		snprintf(o.name, sizeof o.name, "localfs %s", p->name);
		if (emit(&d, &o))
			return 0;
	}
	if (d.what & TRELLIS_ST_BIT(TRELLIS_ST_POOL)) {
		trellis_st_object_t o = {.type = TRELLIS_ST_POOL,
					 .capacity = pi.capacity,
					 .available = pi.available};
		snprintf(o.id, sizeof o.id, "%s", p->name);
		snprintf(o.name, sizeof o.name, "%s", p->name);
		snprintf(o.role, sizeof o.role, "directory");
		snprintf(o.address, sizeof o.address, "%s", p->dir);
		if (emit(&d, &o))
			return 0;
	}
	if (d.what & TRELLIS_ST_BIT(TRELLIS_ST_PORT)) {
		char host[128] = "localhost";
		gethostname(host, sizeof host - 1);
		trellis_st_object_t o = {.type = TRELLIS_ST_PORT};
		snprintf(o.id, sizeof o.id, "local:%s", host);
		snprintf(o.name, sizeof o.name, "%s", host);
		snprintf(o.role, sizeof o.role, "target");
		snprintf(o.address, sizeof o.address, "file://%s", p->dir);
		if (emit(&d, &o))
			return 0;
	}
	if (d.what & (TRELLIS_ST_BIT(TRELLIS_ST_VOLUME) |
		      TRELLIS_ST_BIT(TRELLIS_ST_ASSIGNMENT)))
		return lfs_vol_list(p, call, 0, disc_vol, &d);
	return 0;
}

static int view_check(struct lfs_pool *p, trellis_call_t *call,
		      const trellis_assign_spec_t *s, char *path, size_t len)
{
	if (!s || !s->volume || !s->host || !lfs_name_ok(s->host))
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assignment: a volume and a host name "
				    "([A-Za-z0-9._-]) are required");
	int rc = lfs_check_name(p, call, "volume", s->volume);
	if (rc)
		return rc;
	lfs_vol_path(p, s->volume, path, len);
	struct stat sb;
	if (lstat(path, &sb) || !S_ISREG(sb.st_mode))
		return H->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': no volume '%s'", p->name,
				    s->volume);
	return 0;
}

/* The host's initiators on the volume after adding (add) or removing
 * spec's, space separated, into out. */
static void merge(const char *have, const trellis_assign_spec_t *s, int add,
		  char *out, size_t len)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s", have);
	out[0] = '\0';
	size_t o = 0;
	for (char *sv, *t = strtok_r(buf, " ", &sv); t;
	     t = strtok_r(NULL, " ", &sv)) {
		int given = 0;
		for (size_t i = 0; i < s->n_initiators; i++)
			given |= !strcmp(t, s->initiators[i]);
		if (add || (!given && s->n_initiators))
			o += (size_t)snprintf(out + o, len - o, "%s%s",
					      o ? " " : "", t);
	}
	for (size_t i = 0; add && i < s->n_initiators && o < len; i++) {
		if (strstr(have, s->initiators[i]))
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s", o ? " " : "",
				      s->initiators[i]);
	}
}

int lfs_assign(void *pool, trellis_call_t *call,
	       const trellis_assign_spec_t *spec, const char *idem_key,
	       uint32_t flags)
{
	struct lfs_pool *p = pool;
	char path[PATH_LEN], attr[256], have[1024] = "", now[1024];
	(void)idem_key;
	int rc = lfs_check_flags(p, call, "assign", flags, 0);
	if (rc || (rc = view_check(p, call, spec, path, sizeof path)))
		return rc;
	if (!spec->n_initiators)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "assign: no initiators given");
	snprintf(attr, sizeof attr, XA_VIEW "%s", spec->host);
	xa_get(path, attr, have, sizeof have);
	merge(have, spec, 1, now, sizeof now);
	return xa_set(p, call, path, attr, now);
}

int lfs_unassign(void *pool, trellis_call_t *call,
		 const trellis_assign_spec_t *spec, const char *idem_key,
		 uint32_t flags)
{
	struct lfs_pool *p = pool;
	char path[PATH_LEN], attr[256], have[1024] = "", now[1024];
	(void)idem_key;
	int rc = lfs_check_flags(p, call, "unassign", flags, 0);
	if (rc || (rc = view_check(p, call, spec, path, sizeof path)))
		return rc;
	snprintf(attr, sizeof attr, XA_VIEW "%s", spec->host);
	xa_get(path, attr, have, sizeof have);
	merge(have, spec, 0, now, sizeof now);
	if (!now[0]) {
		if (lremovexattr(path, attr) && errno != ENODATA)
			return H->set_error(call, TRELLIS_E_IO,
					    "%s: %s: %s", path, attr,
					    strerror(errno));
		return 0;
	}
	return xa_set(p, call, path, attr, now);
}

int lfs_port_connect(void *pool, trellis_call_t *call, const char *port,
		     const char *idem_key, uint32_t flags,
		     trellis_st_object_t *out)
{
	struct lfs_pool *p = pool;
	char host[128] = "localhost", want[256];
	(void)idem_key;
	int rc = lfs_check_flags(p, call, "port_connect", flags, 0);
	if (rc)
		return rc;
	gethostname(host, sizeof host - 1);
	snprintf(want, sizeof want, "local:%s", host);
	if (!port || strcmp(port, want))
		return H->set_error(call, TRELLIS_E_NOTFOUND,
				    "pool '%s': no access port '%s' (its one "
				    "port is '%s')",
				    p->name, port ? port : "", want);
	out->type = TRELLIS_ST_PORT;
	snprintf(out->id, sizeof out->id, "%s", want);
	snprintf(out->name, sizeof out->name, "%s", host);
	snprintf(out->role, sizeof out->role, "target");
	snprintf(out->address, sizeof out->address, "file://%s", p->dir);
	snprintf(out->state, sizeof out->state, "connected");
	return 0;
}

struct lfs_stream {
	int fd;
	uint64_t size;
	int wrote;
};

int lfs_vol_open(void *pool, trellis_call_t *call, const char *name,
		 uint32_t flags, void **stream)
{
	struct lfs_pool *p = pool;
	const uint32_t rw = TRELLIS_STREAM_READ | TRELLIS_STREAM_WRITE;
	int rc = lfs_check_flags(p, call, "vol_open", flags, rw);
	if (rc)
		return rc;
	if (!(flags & rw))
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_open: READ, WRITE or both");
	trellis_vol_info_t v = {.struct_size = sizeof v};
	if ((rc = lfs_check_name(p, call, "volume", name)) ||
	    (rc = lfs_fill_info(p, call, name, &v)))
		return rc;
	if (strcmp(v.format, "raw"))
		return H->set_error(call, TRELLIS_E_NOTSUP,
				    "pool '%s': volume '%s' is %s; only a raw "
				    "volume streams (its bytes are the "
				    "guest's)",
				    p->name, name, v.format);
	int fd = open(v.path,
		      ((flags & TRELLIS_STREAM_WRITE) ? O_RDWR : O_RDONLY) |
			  O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return H->set_error(call, TRELLIS_E_IO, "%s: %s", v.path,
				    strerror(errno));
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	struct lfs_stream *s = H->alloc(sizeof *s);
	if (!s) {
		close(fd);
		return H->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	}
	s->fd = fd;
	s->size = v.capacity;
	s->wrote = 0;
	*stream = s;
	return 0;
}

int lfs_vol_read(void *pool, void *stream, trellis_call_t *call,
		 uint64_t off, void *buf, size_t len, size_t *got)
{
	struct lfs_pool *p = pool;
	struct lfs_stream *s = stream;
	*got = 0;
	while (*got < len) {
		ssize_t n = pread(s->fd, (char *)buf + *got, len - *got,
				  (off_t)(off + *got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return H->set_error(call, TRELLIS_E_IO,
					    "pool '%s': read: %s", p->name,
					    strerror(errno));
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

int lfs_vol_write(void *pool, void *stream, trellis_call_t *call,
		  uint64_t off, const void *buf, size_t len)
{
	struct lfs_pool *p = pool;
	struct lfs_stream *s = stream;
	if (off + len > s->size)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': write past the volume's end "
				    "(%llu > %llu)",
				    p->name, (unsigned long long)(off + len),
				    (unsigned long long)s->size);
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(s->fd, (const char *)buf + done, len - done,
				   (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return H->set_error(call,
					    errno == ENOSPC ? TRELLIS_E_NOSPACE
							    : TRELLIS_E_IO,
					    "pool '%s': write: %s", p->name,
					    strerror(errno));
		done += (size_t)n;
	}
	s->wrote = 1;
	return 0;
}

/* The stream's own descriptor: a raw volume is a file of this host, so a
 * local copy may move its bytes in the kernel (copy_file_range) and
 * digest them in place (mmap).  Writes through it are the caller's, so a
 * COMMIT flushes whatever it wrote. */
int lfs_vol_stream_fd(void *pool, void *stream, trellis_call_t *call,
		      int *fd)
{
	struct lfs_pool *p = pool;
	struct lfs_stream *s = stream;
	if (!s)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': vol_stream_fd: no stream",
				    p->name);
	int acc = fcntl(s->fd, F_GETFL);
	if (acc >= 0 && (acc & O_ACCMODE) != O_RDONLY)
		s->wrote = 1;
	*fd = s->fd;
	return 0;
}

int lfs_vol_stream_close(void *pool, void *stream, trellis_call_t *call,
			 uint32_t flags)
{
	struct lfs_pool *p = pool;
	struct lfs_stream *s = stream;
	int rc = 0;
	if (!s)
		return 0;
	if ((flags & TRELLIS_STREAM_COMMIT) && s->wrote && fdatasync(s->fd))
		rc = H->set_error(call, TRELLIS_E_IO, "pool '%s': sync: %s",
				  p->name, strerror(errno));
	close(s->fd);
	H->free(s);
	return rc;
}
