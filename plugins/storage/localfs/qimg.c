/* SPDX-License-Identifier: Apache-2.0 */
/* qimg.c - qemu-img through host->exec (qimg.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "qimg.h"

/* qemu-img's own words for a full disk, across its versions and formats. */
static int mentions_nospace(const char *s)
{
	return s && (strstr(s, "No space left") || strstr(s, "ENOSPC") ||
		     strstr(s, "Disk quota exceeded"));
}

/* Runs argv; on failure sets NOSPACE or BACKEND naming what and quoting the
 * last line of stderr.  *out (may be NULL) gets stdout on success. */
static int run(const struct qimg *q, trellis_call_t *call, const char *what,
	       const char *const *argv, char **out)
{
	const trellis_host_t *h = q->host;
	char *o = NULL, *e = NULL;
	int status = 0;
	int rc = h->exec(call, argv, q->timeout_ms, &o, &e, &status);
	if (rc != 0)
		goto out; /* exec set the error (not found, timeout) */
	if (status != 0) {
		/* qemu-img prefixes its messages with "qemu-img: "; the
		 * first line is the one that says what went wrong. */
		char *msg = e ? e : (char *)"";
		msg[strcspn(msg, "\n")] = '\0';
		const char *p = strncmp(msg, "qemu-img: ", 10) ? msg : msg + 10;
		int code = mentions_nospace(msg) ? TRELLIS_E_NOSPACE
						 : TRELLIS_E_BACKEND;
		rc = h->set_error(call, code,
				  "%s: qemu-img %s failed (exit %d): %s", what,
				  argv[1], status, *p ? p : "no message");
		h->set_error_backend(call, status, 0);
		goto out;
	}
	if (out) {
		*out = o;
		o = NULL;
	}
out:
	h->free(o);
	h->free(e);
	return rc;
}

static void copy_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int qimg_info(const struct qimg *q, trellis_call_t *call, const char *path,
	      const char *format, struct qimg_info *out)
{
	/* -U: a running VM holds a write lock on its disk; reading the
	 * header is still safe and is all info needs. */
	const char *argv[] = {"qemu-img", "info", "--output=json",
			      "-U",	  "-f",	  format,
			      path,	  NULL};
	if (!format) {
		argv[4] = path;
		argv[5] = NULL;
	}
	char *o = NULL;
	int rc = run(q, call, path, argv, &o);
	if (rc)
		return rc;
	json_error_t jerr;
	json_t *j = json_loads(o, 0, &jerr);
	q->host->free(o);
	if (!json_is_object(j)) {
		json_decref(j);
		return q->host->set_error(call, TRELLIS_E_BACKEND,
					  "%s: qemu-img info gave unreadable "
					  "output: %s",
					  path, jerr.text);
	}
	memset(out, 0, sizeof *out);
	copy_str(out->format, sizeof out->format,
		 json_string_value(json_object_get(j, "format")));
	out->virtual_size =
	    (uint64_t)json_integer_value(json_object_get(j, "virtual-size"));
	out->actual_size =
	    (uint64_t)json_integer_value(json_object_get(j, "actual-size"));
	const char *b =
	    json_string_value(json_object_get(j, "full-backing-filename"));
	if (!b)
		b = json_string_value(json_object_get(j, "backing-filename"));
	copy_str(out->backing, sizeof out->backing, b);
	json_t *snaps = json_object_get(j, "snapshots");
	size_t i;
	json_t *s;
	json_array_foreach(snaps, i, s)
	{
		if (out->n_snapshots < 16)
			copy_str(out->snapshots[out->n_snapshots],
				 sizeof out->snapshots[0],
				 json_string_value(json_object_get(s, "name")));
		out->n_snapshots++;
	}
	json_decref(j);
	return 0;
}

int qimg_measure(const struct qimg *q, trellis_call_t *call, const char *fmt,
		 uint64_t size, const char *src, const char *src_format,
		 int preallocate, uint64_t *required)
{
	char sz[32];
	snprintf(sz, sizeof sz, "%" PRIu64, size);
	const char *argv[16];
	int n = 0;
	argv[n++] = "qemu-img";
	argv[n++] = "measure";
	argv[n++] = "--output=json";
	argv[n++] = "-O";
	argv[n++] = fmt;
	if (preallocate) {
		argv[n++] = "-o";
		argv[n++] = "preallocation=falloc";
	}
	if (src) {
		argv[n++] = "-U";
		if (src_format) {
			argv[n++] = "-f";
			argv[n++] = src_format;
		}
		argv[n++] = src;
	} else {
		argv[n++] = "--size";
		argv[n++] = sz;
	}
	argv[n] = NULL;
	char *o = NULL;
	int rc = run(q, call, src ? src : "new volume", argv, &o);
	if (rc)
		return rc;
	json_t *j = json_loads(o, 0, NULL);
	q->host->free(o);
	json_t *r = json_object_get(j, "required");
	if (!json_is_integer(r)) {
		json_decref(j);
		return q->host->set_error(call, TRELLIS_E_BACKEND,
					  "qemu-img measure gave no 'required' "
					  "figure");
	}
	*required = (uint64_t)json_integer_value(r);
	json_decref(j);
	return 0;
}

int qimg_create(const struct qimg *q, trellis_call_t *call, const char *path,
		const char *fmt, uint64_t size, const char *backing,
		const char *backing_fmt, int preallocate)
{
	char sz[32];
	snprintf(sz, sizeof sz, "%" PRIu64, size);
	const char *argv[16];
	int n = 0;
	argv[n++] = "qemu-img";
	argv[n++] = "create";
	argv[n++] = "-q";
	argv[n++] = "-f";
	argv[n++] = fmt;
	if (preallocate) {
		argv[n++] = "-o";
		argv[n++] = "preallocation=falloc";
	}
	if (backing) {
		argv[n++] = "-b";
		argv[n++] = backing;
		argv[n++] = "-F";
		argv[n++] = backing_fmt;
	}
	argv[n++] = path;
	argv[n++] = sz;
	argv[n] = NULL;
	return run(q, call, path, argv, NULL);
}

int qimg_convert(const struct qimg *q, trellis_call_t *call, const char *src,
		 const char *src_fmt, const char *dst, const char *dst_fmt,
		 int preallocate)
{
	const char *argv[16];
	int n = 0;
	argv[n++] = "qemu-img";
	argv[n++] = "convert";
	argv[n++] = "-U";
	if (src_fmt) {
		argv[n++] = "-f";
		argv[n++] = src_fmt;
	}
	argv[n++] = "-O";
	argv[n++] = dst_fmt;
	if (preallocate) {
		argv[n++] = "-o";
		argv[n++] = "preallocation=falloc";
	}
	argv[n++] = src;
	argv[n++] = dst;
	argv[n] = NULL;
	return run(q, call, dst, argv, NULL);
}

int qimg_resize(const struct qimg *q, trellis_call_t *call, const char *path,
		const char *fmt, uint64_t size)
{
	char sz[32];
	snprintf(sz, sizeof sz, "%" PRIu64, size);
	const char *argv[] = {"qemu-img", "resize", "-q", "-f",
			      fmt,	  path,	    sz,	  NULL};
	return run(q, call, path, argv, NULL);
}

int qimg_snapshot(const struct qimg *q, trellis_call_t *call, const char *path,
		  const char *op, const char *snapshot)
{
	/* `snapshot` has no -f; --image-opts names the driver so the
	 * format is never probed.  A comma in an option value is doubled. */
	char opts[2 * 1024 + 64];
	size_t n =
	    (size_t)snprintf(opts, sizeof opts, "driver=qcow2,file.filename=");
	for (const char *c = path; *c && n + 3 < sizeof opts; c++) {
		if (*c == ',')
			opts[n++] = ',';
		opts[n++] = *c;
	}
	opts[n] = '\0';
	const char *argv[] = {"qemu-img", "snapshot", "-q", "--image-opts",
			      op,	  snapshot,   opts, NULL};
	return run(q, call, path, argv, NULL);
}
