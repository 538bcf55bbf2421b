/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qimg.h - the localfs plugin's only way to touch image contents: qemu-img,
 * run through host->exec (no shell, bounded time).
 *
 * Every function sets an error in call before it fails, naming the image
 * and quoting qemu-img's own message.  An ENOSPC reported by qemu-img
 * becomes TRELLIS_E_NOSPACE, anything else TRELLIS_E_BACKEND.  Nothing here
 * cleans up: the caller owns the temp file it asked qemu-img to write.
 */
#ifndef LOCALFS_QIMG_H
#define LOCALFS_QIMG_H

#include <stdint.h>

#include <trellis/host.h>

struct qimg_info {
	char format[16];
	uint64_t virtual_size;
	uint64_t actual_size;
	char backing[1024]; /* full backing file name, "" when none */
	unsigned n_snapshots;
	char snapshots[16][128]; /* the first 16 internal snapshot names */
};

struct qimg {
	const trellis_host_t *host;
	unsigned timeout_ms;
};

/* format may be NULL: qemu-img probes (only for files we did not make). */
int qimg_info(const struct qimg *q, trellis_call_t *call, const char *path,
	      const char *format, struct qimg_info *out);

/* Bytes a new image would need on disk: a blank one of size bytes
 * (src NULL), or a conversion of src (src_format may be NULL). */
int qimg_measure(const struct qimg *q, trellis_call_t *call, const char *fmt,
		 uint64_t size, const char *src, const char *src_format,
		 int preallocate, uint64_t *required);

/* A blank image, or (backing non-NULL) an overlay on backing. */
int qimg_create(const struct qimg *q, trellis_call_t *call, const char *path,
		const char *fmt, uint64_t size, const char *backing,
		const char *backing_fmt, int preallocate);

/* A full, independent copy of src (flattening any backing chain). */
int qimg_convert(const struct qimg *q, trellis_call_t *call, const char *src,
		 const char *src_fmt, const char *dst, const char *dst_fmt,
		 int preallocate);

int qimg_resize(const struct qimg *q, trellis_call_t *call, const char *path,
		const char *fmt, uint64_t size);

/* op: "-c" create, "-d" delete. */
int qimg_snapshot(const struct qimg *q, trellis_call_t *call, const char *path,
		  const char *op, const char *snapshot);

#endif
