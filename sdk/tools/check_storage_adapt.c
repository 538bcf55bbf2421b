/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_storage_adapt.c - the rules of the storage ops of ABI 1.1
 * (issue 21: discovery, assignment, streams), on a pool with the fixture
 * volume made.  An absent op is NOTSUP through dispatch (a 1.0 plugin's
 * table ends before them); a present one must:
 *
 *   flags:OP                     reject an unknown flag bit (INVALID_ARG)
 *   discover:volume              list the fixture volume, objects typed
 *                                and sized (struct_size)
 *   discover:stop                stop when the callback says so
 *   errors:assign-no-initiators  refuse an assignment without initiators
 *   assign:round-trip            assign shows in discovery; unassign
 *                                removes it; unassign again succeeds
 *   stream:round-trip            bytes written read back equal; a read
 *                                at the end gives 0 bytes
 *   errors:vol_write-past-end    a write past the volume's end is refused
 *   errors:vol_open-no-mode      vol_open with neither READ nor WRITE is
 *                                INVALID_ARG
 */
#include <stdio.h>
#include <string.h>

#include "check_storage.h"

static int inv_discover(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags);
static int inv_assign(struct chk *c, void *fx_, trellis_call_t *call,
		      uint32_t flags);
static int inv_unassign(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags);
static int inv_port_connect(struct chk *c, void *fx_, trellis_call_t *call,
			    uint32_t flags);
static int inv_vol_open(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags);
static void undo_vol_open(struct chk *c, void *fx_);

#define OP(op, inv, undo)                                                      \
	{                                                                      \
#op, offsetof(struct trellis_storage_ops, op), inv, undo       \
	}
static const struct chk_op adapt_ops[] = {
    OP(discover, inv_discover, NULL),
    OP(assign, inv_assign, NULL),
    OP(unassign, inv_unassign, NULL),
    OP(port_connect, inv_port_connect, NULL),
    OP(vol_open, inv_vol_open, undo_vol_open),
    OP(vol_read, NULL, NULL),
    OP(vol_write, NULL, NULL),
    OP(vol_stream_close, NULL, NULL),
    OP(vol_stream_fd, NULL, NULL),
};
#undef OP
#define N_ADAPT (sizeof adapt_ops / sizeof *adapt_ops)

static int count_cb(void *opaque, const trellis_st_object_t *o)
{
	(void)o;
	(*(int *)opaque)++;
	return 0;
}

static int inv_discover(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct st_fx *fx = fx_;
	int n = 0;
	(void)c;
	return tr_st_discover(fx->t, call, 0, flags, count_cb, &n);
}

static const char *const chk_ini[] = {"iqn.2026-01.org.trellis:check-a"};

static trellis_assign_spec_t spec_of(struct st_fx *fx, size_t n)
{
	trellis_assign_spec_t s = {.struct_size = sizeof s,
				   .volume = fx->vol,
				   .host = "trellis-check-host",
				   .initiators = chk_ini,
				   .n_initiators = n};
	return s;
}

static int inv_assign(struct chk *c, void *fx_, trellis_call_t *call,
		      uint32_t flags)
{
	struct st_fx *fx = fx_;
	trellis_assign_spec_t s = spec_of(fx, 1);
	(void)c;
	return tr_st_assign(fx->t, call, &s, fx->key, flags);
}

static int inv_unassign(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct st_fx *fx = fx_;
	trellis_assign_spec_t s = spec_of(fx, 1);
	(void)c;
	return tr_st_unassign(fx->t, call, &s, fx->key, flags);
}

static int inv_port_connect(struct chk *c, void *fx_, trellis_call_t *call,
			    uint32_t flags)
{
	struct st_fx *fx = fx_;
	trellis_st_object_t o;
	(void)c;
	return tr_st_port_connect(fx->t, call, "trellis-check-port",
				  fx->key, flags, &o);
}

static void *opened;

static int inv_vol_open(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_open(fx->t, call, fx->vol,
			      flags | TRELLIS_STREAM_READ, &opened);
}

static void undo_vol_open(struct chk *c, void *fx_)
{
	struct st_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	if (opened)
		tr_st_vol_stream_close(fx->t, opened, &call, 0);
	opened = NULL;
}

struct find {
	const char *name, *host;
	int type, seen, bad, calls;
};

static int find_cb(void *opaque, const trellis_st_object_t *o)
{
	struct find *f = opaque;
	f->calls++;
	if (o->struct_size != sizeof *o || o->type < TRELLIS_ST_SYSTEM ||
	    o->type > TRELLIS_ST_ASSIGNMENT || !o->id[0])
		f->bad++;
	if ((int)o->type == f->type &&
	    ((f->name && !strcmp(o->name, f->name)) ||
	     (f->host && !strcmp(o->host, f->host))))
		f->seen++;
	return 0;
}

static int stop_cb(void *opaque, const trellis_st_object_t *o)
{
	(void)o;
	(*(int *)opaque)++;
	return 1;
}

static int discover_find(struct chk *c, struct st_fx *fx, int type,
			 const char *name, const char *host, struct find *f,
			 trellis_call_t *call)
{
	memset(f, 0, sizeof *f);
	f->type = type;
	f->name = name;
	f->host = host;
	chk_call(c, call);
	return tr_st_discover(fx->t, call, TRELLIS_ST_BIT(type),
			      TRELLIS_DISCOVER_FRESH, find_cb, f);
}

#define HAS(op) tr_plugin_has_op(c->p, offsetof(struct trellis_storage_ops, op))

static void discovery(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	struct find f;
	chk_begin("discover:volume");
	int rc = discover_find(c, fx, TRELLIS_ST_VOLUME, fx->vol, NULL, &f,
			       &call);
	chk_end();
	if (rc < 0)
		chk_fail(c, "discover:volume", "%s: %s", trellis_error_name(rc),
			 call.message);
	else if (f.bad)
		chk_fail(c, "discover:volume",
			 "%d objects without struct_size, a type or an id",
			 f.bad);
	else if (!f.seen)
		chk_fail(c, "discover:volume",
			 "the fixture volume '%s' is not among the %d volumes",
			 fx->vol, f.calls);
	else
		chk_pass(c, "discover:volume", "'%s' listed among %d volumes",
			 fx->vol, f.calls);
	int n = 0;
	chk_call(c, &call);
	chk_begin("discover:stop");
	rc = tr_st_discover(fx->t, &call, 0, 0, stop_cb, &n);
	chk_end();
	if (rc < 0 || n != 1)
		chk_fail(c, "discover:stop",
			 "a callback that returns 1 was called %d times (%s)",
			 n, rc < 0 ? trellis_error_name(rc) : "ok");
	else
		chk_pass(c, "discover:stop", "stopped after one object");
}

static void assignment(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	trellis_assign_spec_t none = spec_of(fx, 0), one = spec_of(fx, 1);
	struct find f;
	chk_call(c, &call);
	chk_begin("errors:assign-no-initiators");
	int rc = tr_st_assign(fx->t, &call, &none, fx->key, 0);
	chk_end();
	chk_expect(c, "errors:assign-no-initiators",
		   "assign without initiators", &call, rc,
		   TRELLIS_E_INVALID_ARG);
	chk_call(c, &call);
	chk_begin("assign:round-trip");
	rc = tr_st_assign(fx->t, &call, &one, fx->key, 0);
	if (rc == 0 && HAS(discover))
		rc = discover_find(c, fx, TRELLIS_ST_ASSIGNMENT, NULL, one.host,
				   &f, &call);
	int shown = rc == 0 && (!HAS(discover) || f.seen);
	if (rc == 0 && HAS(unassign)) {
		chk_call(c, &call);
		rc = tr_st_unassign(fx->t, &call, &one, fx->key, 0);
	}
	int gone = 1;
	if (rc == 0 && HAS(discover)) {
		rc = discover_find(c, fx, TRELLIS_ST_ASSIGNMENT, NULL, one.host,
				   &f, &call);
		gone = !f.seen;
	}
	if (rc == 0 && HAS(unassign)) {
		chk_call(c, &call);
		rc = tr_st_unassign(fx->t, &call, &one, fx->key, 0);
	}
	chk_end();
	if (rc < 0)
		chk_fail(c, "assign:round-trip", "%s: %s",
			 trellis_error_name(rc), call.message);
	else if (!shown || !gone)
		chk_fail(c, "assign:round-trip",
			 "the assignment to '%s' %s in discovery", one.host,
			 !shown ? "does not show" : "stays after unassign");
	else
		chk_pass(c, "assign:round-trip",
			 "assigned, listed, unassigned twice");
}

static void streams(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	void *s = NULL;
	chk_call(c, &call);
	chk_begin("errors:vol_open-no-mode");
	int rc = tr_st_vol_open(fx->t, &call, fx->vol, 0, &s);
	chk_end();
	if (rc == 0)
		tr_st_vol_stream_close(fx->t, s, &call, 0);
	chk_expect(c, "errors:vol_open-no-mode", "vol_open without a mode",
		   &call, rc, TRELLIS_E_INVALID_ARG);
	if (!HAS(vol_read) || !HAS(vol_write) || !HAS(vol_stream_close)) {
		chk_skip(c, "stream:round-trip",
			 "vol_open without vol_read, vol_write and "
			 "vol_stream_close");
		return;
	}
	chk_call(c, &call);
	chk_begin("stream:round-trip");
	rc = tr_st_vol_open(fx->t, &call, fx->vol,
			    TRELLIS_STREAM_READ | TRELLIS_STREAM_WRITE, &s);
	chk_end();
	if (rc < 0) {
		chk_fail(c, "stream:round-trip", "vol_open: %s: %s",
			 trellis_error_name(rc), call.message);
		return;
	}
	unsigned char out[4096], in[4096];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (unsigned char)(i * 7 + 3);
	size_t got = 0;
	chk_begin("stream:round-trip");
	chk_call(c, &call);
	rc = tr_st_vol_write(fx->t, s, &call, 4096, out, sizeof out);
	if (rc == 0) {
		chk_call(c, &call);
		rc = tr_st_vol_read(fx->t, s, &call, 4096, in,
				    sizeof in, &got);
	}
	size_t end_got = 1;
	trellis_vol_info_t vi;
	if (rc == 0) {
		chk_call(c, &call);
		rc = tr_st_vol_info(fx->t, &call, fx->vol, 0, &vi);
	}
	if (rc == 0) {
		chk_call(c, &call);
		rc = tr_st_vol_read(fx->t, s, &call, vi.capacity, in,
				    sizeof in, &end_got);
	}
	chk_end();
	if (rc < 0)
		chk_fail(c, "stream:round-trip", "%s: %s",
			 trellis_error_name(rc), call.message);
	else if (got != sizeof in || memcmp(in, out, sizeof in) ||
		 end_got != 0)
		chk_fail(c, "stream:round-trip",
			 "4096 bytes written read back as %zu bytes%s; a read "
			 "at the end gave %zu",
			 got,
			 got == sizeof in && memcmp(in, out, sizeof in)
			     ? ", different"
			     : "",
			 end_got);
	else
		chk_pass(c, "stream:round-trip",
			 "4096 bytes at 4096 read back equal");
	if (rc == 0) {
		chk_call(c, &call);
		chk_begin("errors:vol_write-past-end");
		rc = tr_st_vol_write(fx->t, s, &call,
				     vi.capacity - 100, out, sizeof out);
		chk_end();
		chk_expect(c, "errors:vol_write-past-end",
			   "a write past the volume's end", &call, rc,
			   TRELLIS_E_INVALID_ARG);
	}
	chk_call(c, &call);
	tr_st_vol_stream_close(fx->t, s, &call, TRELLIS_STREAM_COMMIT);
}

void chk_storage_adapt(struct chk *c, struct st_fx *fx)
{
	chk_sweep(c, adapt_ops, N_ADAPT, fx, NULL);
	if (HAS(discover))
		discovery(c, fx);
	if (HAS(assign))
		assignment(c, fx);
	if (HAS(vol_open))
		streams(c, fx);
}
