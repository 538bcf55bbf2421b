/* SPDX-License-Identifier: Apache-2.0 */
/*
 * marker - a storage plugin for crash tests.  A pool is a directory; a
 * volume is a marker file NAME.marker holding the idempotency key that
 * made it.  Every real creation and deletion is appended to journal.log
 * ("create KEY NAME", "delete KEY NAME"), so a test can prove that nothing
 * was made twice and nothing was left behind.
 *
 * A replayed create (same key) finds its marker and succeeds without
 * making anything; a create of an existing name with another key is
 * CONFLICT; a delete of a missing volume succeeds.  The file appears by
 * rename, then the journal line is written: a crash in between leaves a
 * marker without a line (never a line twice).
 *
 * TRELLIS_MARKER_DELAY_MS (default 0) sleeps that long in the middle of
 * each create and delete, so a kill -9 can land inside a step.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <trellis/plugin.h>
#include <trellis/storage.h>

struct state {
	const trellis_host_t *host;
	unsigned delay_ms;
};

struct pool {
	struct state *st;
	char dir[768];
};

static int init(trellis_plugin_t *self, const trellis_host_t *host,
		trellis_call_t *call, void **state)
{
	(void)self;
	(void)call;
	struct state *s = host->alloc(sizeof *s);
	if (!s)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	s->host = host;
	const char *d = getenv("TRELLIS_MARKER_DELAY_MS");
	s->delay_ms = d ? (unsigned)atoi(d) : 0;
	*state = s;
	return 0;
}

static void fini(void *state)
{
	struct state *s = state;
	s->host->free(s);
}

static void nap(const struct state *s)
{
	if (!s->delay_ms)
		return;
	struct timespec ts = {s->delay_ms / 1000,
			      (long)(s->delay_ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static int name_ok(const char *n)
{
	if (!n || !*n || strlen(n) > 127 || n[0] == '.')
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			return 0;
	return 1;
}

static int pool_open(void *state, trellis_call_t *call,
		     const trellis_pool_spec_t *spec, uint32_t flags,
		     void **out)
{
	struct state *s = state;
	if (flags & ~TRELLIS_POOL_OPEN_CREATE)
		return s->host->set_error(call, TRELLIS_E_INVALID_ARG,
					  "marker: unknown flags 0x%x", flags);
	const char *dir = spec->target;
	if (!dir || dir[0] != '/' || strlen(dir) >= 700)
		return s->host->set_error(call, TRELLIS_E_INVALID_ARG,
					  "marker: target must be an absolute "
					  "directory");
	if ((flags & TRELLIS_POOL_OPEN_CREATE) && mkdir(dir, 0755) < 0 &&
	    errno != EEXIST)
		return s->host->set_error(call, TRELLIS_E_IO, "marker: %s: %s",
					  dir, strerror(errno));
	struct stat sb;
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return s->host->set_error(call, TRELLIS_E_NOTFOUND,
					  "marker: %s is not a directory", dir);
	struct pool *p = s->host->alloc(sizeof *p);
	if (!p)
		return s->host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	p->st = s;
	snprintf(p->dir, sizeof p->dir, "%s", dir);
	*out = p;
	return 0;
}

static void pool_close(void *state, void *pool)
{
	struct state *s = state;
	s->host->free(pool);
}

static int pool_info(void *pool, trellis_call_t *call, uint32_t flags,
		     trellis_pool_info_t *out)
{
	struct pool *p = pool;
	if (flags)
		return p->st->host->set_error(call, TRELLIS_E_INVALID_ARG,
					      "marker: unknown flags");
	out->capacity = 1ull << 40;
	out->available = 1ull << 40;
	return 0;
}

/* Names are short (name_ok) and dir is under 1000 bytes, so this never
 * truncates; the check keeps the compiler's truncation analysis happy. */
static int marker_path(const struct pool *p, const char *name, char *buf,
		       size_t len)
{
	int n = snprintf(buf, len, "%s/%s.marker", p->dir, name);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* The key a marker holds, or "" when it does not exist. */
static int read_key(const char *path, char *key, size_t len)
{
	key[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : -1;
	if (!fgets(key, (int)len, f))
		key[0] = '\0';
	fclose(f);
	key[strcspn(key, "\n")] = '\0';
	return 0;
}

static int journal(const struct pool *p, const char *what, const char *key,
		   const char *name)
{
	char path[1100], line[512];
	snprintf(path, sizeof path, "%s/journal.log", p->dir);
	int n = snprintf(line, sizeof line, "%s %s %s\n", what, key ? key : "-",
			 name);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rc = write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : -1;
	close(fd);
	return rc;
}

static void fill(const struct pool *p, const char *name, trellis_vol_info_t *o)
{
	snprintf(o->name, sizeof o->name, "%s", name);
	marker_path(p, name, o->path, sizeof o->path);
	snprintf(o->format, sizeof o->format, "raw");
	o->capacity = 1;
	o->allocation = 1;
}

static int vol_create(void *pool, trellis_call_t *call,
		      const trellis_vol_spec_t *spec, const char *idem_key,
		      uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	const trellis_host_t *h = p->st->host;
	if (flags & ~(TRELLIS_VOL_TEMPLATE_COPY | TRELLIS_VOL_PREALLOCATE))
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "marker: unknown flags 0x%x", flags);
	if (!name_ok(spec->name))
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "marker: bad volume name '%s'",
				    spec->name ? spec->name : "");
	char path[1200], tmp[1300], key[300];
	marker_path(p, spec->name, path, sizeof path);
	if (read_key(path, key, sizeof key) < 0)
		return h->set_error(call, TRELLIS_E_IO, "marker: %s: %s", path,
				    strerror(errno));
	if (key[0]) {
		if (idem_key && strcmp(key, idem_key) == 0) {
			fill(p, spec->name, out); /* a replay: found it */
			return 0;
		}
		return h->set_error(call, TRELLIS_E_CONFLICT,
				    "marker: volume '%s' exists (made by %s)",
				    spec->name, key);
	}
	nap(p->st);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return h->set_error(call, TRELLIS_E_IO, "marker: %s: %s", tmp,
				    strerror(errno));
	const char *k = idem_key ? idem_key : "-";
	int ok = write(fd, k, strlen(k)) == (ssize_t)strlen(k) &&
		 write(fd, "\n", 1) == 1 && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return h->set_error(call, TRELLIS_E_IO, "marker: %s: %s", path,
				    strerror(errno));
	}
	if (journal(p, "create", idem_key, spec->name) < 0)
		return h->set_error(call, TRELLIS_E_IO,
				    "marker: journal: %s", strerror(errno));
	nap(p->st);
	fill(p, spec->name, out);
	return 0;
}

static int vol_delete(void *pool, trellis_call_t *call, const char *name,
		      const char *idem_key, uint32_t flags)
{
	struct pool *p = pool;
	const trellis_host_t *h = p->st->host;
	if (flags & ~TRELLIS_VOL_DELETE_IF_KEY)
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "marker: unknown flags 0x%x", flags);
	if (!name_ok(name))
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "marker: bad volume name");
	char path[1200], key[300];
	marker_path(p, name, path, sizeof path);
	if (read_key(path, key, sizeof key) < 0)
		return h->set_error(call, TRELLIS_E_IO, "marker: %s: %s", path,
				    strerror(errno));
	if (!key[0])
		return 0; /* already gone */
	/* Only what idem_key made (an undo, ABI 1.1). */
	if ((flags & TRELLIS_VOL_DELETE_IF_KEY) &&
	    (!idem_key || strcmp(key, idem_key) != 0))
		return h->set_error(call, TRELLIS_E_CONFLICT,
				    "marker: volume '%s' was made by %s, not "
				    "%s: not deleted",
				    name, key, idem_key ? idem_key : "(none)");
	nap(p->st);
	if (unlink(path) < 0 && errno != ENOENT)
		return h->set_error(call, TRELLIS_E_IO, "marker: %s: %s", path,
				    strerror(errno));
	journal(p, "delete", key, name);
	return 0;
}

static int vol_info(void *pool, trellis_call_t *call, const char *name,
		    uint32_t flags, trellis_vol_info_t *out)
{
	struct pool *p = pool;
	const trellis_host_t *h = p->st->host;
	if (flags || !name_ok(name))
		return h->set_error(call, TRELLIS_E_INVALID_ARG,
				    "marker: bad flags or name");
	char path[1200], key[300];
	marker_path(p, name, path, sizeof path);
	if (read_key(path, key, sizeof key) < 0 || !key[0])
		return h->set_error(call, TRELLIS_E_NOTFOUND,
				    "marker: no volume '%s'", name);
	fill(p, name, out);
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

TRELLIS_PLUGIN_DEFINE(.name = "marker", .version = "1.0.0",
		      .license = "Apache-2.0",
		      .description = "crash-test storage: marker files keyed "
				     "by idempotency key",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_REENTRANT, .init = init,
		      .fini = fini, .ops = &ops);
