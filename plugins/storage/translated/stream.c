/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stream.c - the translated storage plugin: volume streams, ranged GETs
 * and offset PUTs of the volume's bytes (for transfers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- streams: ranged GETs and offset PUTs of the volume's bytes ---- */

struct tx_stream {
	char id[256];
	uint64_t size;
};

int tx_vol_open(void *pool, trellis_call_t *call, const char *name,
		uint32_t flags, void **stream)
{
	struct tx_pool *p = pool;
	trellis_st_object_t o;
	struct tx_bound b;
	const uint32_t rw = TRELLIS_STREAM_READ | TRELLIS_STREAM_WRITE;
	if ((flags & ~rw) || !(flags & rw))
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "vol_open: flags must be READ and/or "
				    "WRITE (0x%x)",
				    flags);
	tx_reload_check(p);
	int rc = tx_find_vol(p, call, name, 0, &o, &b);
	if (rc)
		return rc;
	struct tx_stream *s = calloc(1, sizeof *s);
	if (!s)
		return H->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	snprintf(s->id, sizeof s->id, "%s", o.id);
	s->size = o.capacity;
	*stream = s;
	return 0;
}

int tx_vol_read(void *pool, void *stream, trellis_call_t *call, uint64_t off,
		void *buf, size_t len, size_t *got)
{
	struct tx_pool *p = pool;
	struct tx_stream *s = stream;
	*got = 0;
	if (off >= s->size || !len)
		return 0;
	if (len > s->size - off)
		len = (size_t)(s->size - off);
	json_t *vars = json_pack("{s:s, s:I, s:I, s:s}", "volume", s->id,
				 "offset", (json_int_t)off, "length",
				 (json_int_t)len, "pool", p->bound_pool);
	int rc =
	    tx_rest(p, call, ITF_OP_READ, vars, NULL, 0, NULL, buf, len, got);
	json_decref(vars);
	return rc;
}

int tx_vol_write(void *pool, void *stream, trellis_call_t *call, uint64_t off,
		 const void *buf, size_t len)
{
	struct tx_pool *p = pool;
	struct tx_stream *s = stream;
	if (off + len > s->size)
		return H->set_error(call, TRELLIS_E_INVALID_ARG,
				    "pool '%s': write past the end of the "
				    "volume (%llu > %llu)",
				    p->name, (unsigned long long)(off + len),
				    (unsigned long long)s->size);
	const char *mode = p->sec.ops[ITF_OP_WRITE].mode;
	if (mode && !strcmp(mode, "rewrite")) {
		/* an object store writes objects whole: read it, patch the
		 * range, put it back */
		size_t got = 0;
		char *all = malloc(s->size ? s->size : 1);
		if (!all)
			return H->set_error(call, TRELLIS_E_NOMEM,
					    "out of memory");
		int rc = tx_vol_read(pool, stream, call, 0, all, s->size, &got);
		if (!rc && got != s->size)
			rc = H->set_error(call, TRELLIS_E_BACKEND,
					  "pool '%s': volume '%s' gave %zu of "
					  "%llu bytes",
					  p->name, s->id, got,
					  (unsigned long long)s->size);
		if (!rc) {
			memcpy(all + off, buf, len);
			json_t *vars = json_pack(
			    "{s:s, s:I, s:I, s:s}", "volume", s->id, "offset",
			    (json_int_t)0, "length", (json_int_t)s->size,
			    "pool", p->bound_pool);
			rc = tx_rest(p, call, ITF_OP_WRITE, vars, all, s->size,
				     NULL, NULL, 0, NULL);
			json_decref(vars);
		}
		free(all);
		return rc;
	}
	json_t *vars = json_pack("{s:s, s:I, s:I, s:s}", "volume", s->id,
				 "offset", (json_int_t)off, "length",
				 (json_int_t)len, "pool", p->bound_pool);
	int rc =
	    tx_rest(p, call, ITF_OP_WRITE, vars, buf, len, NULL, NULL, 0, NULL);
	json_decref(vars);
	return rc;
}

int tx_vol_stream_close(void *pool, void *stream, trellis_call_t *call,
			uint32_t flags)
{
	(void)pool;
	(void)call;
	(void)flags;
	free(stream);
	return 0;
}
