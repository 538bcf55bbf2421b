/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_storage.c - conformance scenario for storage plugins.
 *
 * Target: --target (a pool target the plugin understands), default a pool
 * in a fresh temporary directory (removed afterwards).  The scenario makes
 * a 1 MiB raw volume with an idempotency key, replays the create, tries the
 * optional ops (resize, clone, snapshots) on it, runs every present op with
 * an unknown flag, and deletes the volume twice.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_storage.h"

static int inv_pool_info(struct chk *c, void *fx_, trellis_call_t *call,
			 uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_pool_info(fx->t, call, flags, NULL);
}

static int inv_vol_create(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_create(fx->t, call, &fx->flag_spec, fx->flag_key,
				flags, NULL);
}

static void undo_vol_create(struct chk *c, void *fx_)
{
	struct st_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	tr_st_vol_delete(fx->t, &call, fx->flag_vol, fx->flag_key, 0);
}

static int inv_vol_delete(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_delete(fx->t, call, fx->vol, fx->flag_key, flags);
}

static int inv_vol_info(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_info(fx->t, call, fx->vol, flags, NULL);
}

static int list_noop(void *opaque, const trellis_vol_info_t *v)
{
	(void)opaque;
	(void)v;
	return 0;
}

static int inv_vol_list(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_list(fx->t, call, flags, list_noop, NULL);
}

static int inv_vol_resize(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_resize(fx->t, call, fx->vol, 8 * MIB, fx->flag_key,
				flags);
}

static int inv_vol_clone(struct chk *c, void *fx_, trellis_call_t *call,
			 uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_clone(fx->t, call, fx->vol, fx->flag_clone,
			       fx->flag_key, flags, NULL);
}

static void undo_vol_clone(struct chk *c, void *fx_)
{
	struct st_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	tr_st_vol_delete(fx->t, &call, fx->flag_clone, fx->flag_key, 0);
}

static int inv_snap_create(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_snapshot_create(fx->t, call, fx->vol, fx->flag_snap,
				     fx->flag_key, flags);
}

static int inv_snap_delete(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_snapshot_delete(fx->t, call, fx->vol, fx->flag_snap,
				     fx->flag_key, flags);
}

static void undo_snap_create(struct chk *c, void *fx_)
{
	trellis_call_t call;
	chk_call(c, &call);
	inv_snap_delete(c, fx_, &call, 0);
}

#define OP(op, inv, undo)                                                      \
	{                                                                      \
#op, offsetof(struct trellis_storage_ops, op), inv, undo       \
	}
/* vol_delete last: a plugin that ignores the flag deletes the fixture. */
static const struct chk_op st_ops[] = {
    OP(pool_info, inv_pool_info, NULL),
    OP(vol_create, inv_vol_create, undo_vol_create),
    OP(vol_info, inv_vol_info, NULL),
    OP(vol_list, inv_vol_list, NULL),
    OP(vol_resize, inv_vol_resize, NULL),
    OP(vol_clone, inv_vol_clone, undo_vol_clone),
    OP(snapshot_create, inv_snap_create, undo_snap_create),
    OP(snapshot_delete, inv_snap_delete, NULL),
    OP(vol_delete, inv_vol_delete, NULL),
};
#undef OP
#define N_OPS (sizeof st_ops / sizeof *st_ops)

static int has(struct chk *c, size_t offset)
{
	return tr_plugin_has_op(c->p, offset);
}
#define HAS(op) has(c, offsetof(struct trellis_storage_ops, op))

static void errors_before_create(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	trellis_vol_info_t info;
	int rc;

	chk_call(c, &call);
	chk_begin("errors:vol_info");
	rc = tr_st_vol_info(fx->t, &call, fx->vol, 0, &info);
	chk_end();
	chk_expect(c, "errors:vol_info", "vol_info of a missing volume", &call,
		   rc, TRELLIS_E_NOTFOUND);

	static const char *const bad_names[] = {"../escape", "a/b", ".hidden",
						""};
	for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++) {
		trellis_vol_spec_t spec = fx->spec;
		char what[96];
		spec.name = bad_names[i];
		snprintf(what, sizeof what, "vol_create of volume name '%s'",
			 bad_names[i]);
		chk_call(c, &call);
		chk_begin("errors:vol_create-name");
		rc = tr_st_vol_create(fx->t, &call, &spec, fx->key, 0, &info);
		chk_end();
		if (rc >= 0) {
			/* Do not leave it behind. */
			trellis_call_t c2;
			chk_call(c, &c2);
			tr_st_vol_delete(fx->t, &c2, bad_names[i], fx->key, 0);
		}
		chk_expect(c, "errors:vol_create-name", what, &call, rc,
			   TRELLIS_E_INVALID_ARG);
	}

	chk_call(c, &call);
	chk_begin("idempotent:vol_delete-missing");
	rc = tr_st_vol_delete(fx->t, &call, fx->vol, fx->key, 0);
	chk_end();
	chk_expect(c, "idempotent:vol_delete-missing",
		   "vol_delete of a volume that does not exist", &call, rc, 0);

	if (HAS(vol_resize)) {
		chk_call(c, &call);
		chk_begin("errors:vol_resize");
		rc = tr_st_vol_resize(fx->t, &call, fx->vol, 2 * MIB, fx->key,
				      0);
		chk_end();
		chk_expect(c, "errors:vol_resize",
			   "vol_resize of a missing volume", &call, rc,
			   TRELLIS_E_NOTFOUND);
	}
	if (HAS(vol_clone)) {
		chk_call(c, &call);
		chk_begin("errors:vol_clone");
		rc = tr_st_vol_clone(fx->t, &call, fx->vol, fx->clone, fx->key,
				     0, &info);
		chk_end();
		chk_expect(c, "errors:vol_clone",
			   "vol_clone of a missing volume", &call, rc,
			   TRELLIS_E_NOTFOUND);
	}
	if (HAS(snapshot_create)) {
		chk_call(c, &call);
		chk_begin("errors:snapshot_create");
		rc = tr_st_snapshot_create(fx->t, &call, fx->vol, fx->snap,
					   fx->key, 0);
		chk_end();
		chk_expect(c, "errors:snapshot_create",
			   "snapshot_create on a missing volume", &call, rc,
			   TRELLIS_E_NOTFOUND);
	}
}

struct find_vol {
	const char *name;
	int found;
	unsigned n;
};

static int find_cb(void *opaque, const trellis_vol_info_t *v)
{
	struct find_vol *f = opaque;
	f->n++;
	if (v && strcmp(v->name, f->name) == 0)
		f->found = 1;
	return 0;
}

/* Whether volume name exists at path. */
static int same_volume(struct chk *c, struct st_fx *fx, const char *name,
		       const char *path)
{
	trellis_call_t call;
	trellis_vol_info_t vi;
	chk_call(c, &call);
	return tr_st_vol_info(fx->t, &call, name, 0, &vi) == 0 &&
	       strcmp(vi.path, path) == 0;
}

/* Creates the fixture volume twice with one key.  0 when it exists. */
static int create_and_replay(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	trellis_vol_info_t a, b;
	int rc;

	chk_call(c, &call);
	chk_begin("create:vol_create");
	rc = tr_st_vol_create(fx->t, &call, &fx->spec, fx->key, 0, &a);
	chk_end();
	if (rc < 0) {
		chk_fail(c, "create:vol_create", "vol_create of '%s': %s: %s",
			 fx->vol, trellis_error_name(rc), call.message);
		return -1;
	}
	if (strcmp(a.name, fx->vol) != 0 || !a.path[0] ||
	    a.capacity < fx->spec.size)
		chk_fail(c, "create:vol_create",
			 "vol_create returned name '%s', path '%s', capacity "
			 "%llu (want '%s', a path, at least %llu)",
			 a.name, a.path, (unsigned long long)a.capacity,
			 fx->vol, (unsigned long long)fx->spec.size);
	else
		chk_pass(c, "create:vol_create", "made '%s' at %s, %llu bytes",
			 a.name, a.path, (unsigned long long)a.capacity);

	chk_call(c, &call);
	chk_begin("idempotent:vol_create");
	rc = tr_st_vol_create(fx->t, &call, &fx->spec, fx->key, 0, &b);
	chk_end();
	if (rc < 0)
		chk_fail(c, "idempotent:vol_create",
			 "replayed vol_create with the same key failed: %s: %s",
			 trellis_error_name(rc), call.message);
	else if (strcmp(a.name, b.name) != 0 || strcmp(a.path, b.path) != 0)
		chk_fail(c, "idempotent:vol_create",
			 "replay returned '%s' at %s, first '%s' at %s", b.name,
			 b.path, a.name, a.path);
	else
		chk_pass(c, "idempotent:vol_create",
			 "replay with key '%s' returned the same volume",
			 fx->key);

	/* Another request for the same name must not get this volume, nor
	 * one without a key. */
	char other[128];
	snprintf(other, sizeof other, "%s-other", fx->key);
	chk_call(c, &call);
	chk_begin("idempotent:vol_create-other-key");
	rc = tr_st_vol_create(fx->t, &call, &fx->spec, other, 0, &b);
	chk_end();
	chk_not_adopted(c, "idempotent:vol_create-other-key",
			"vol_create of an existing name under another key",
			&call, rc, same_volume(c, fx, fx->vol, a.path),
			"the volume is gone or moved");
	chk_call(c, &call);
	chk_begin("idempotent:vol_create-no-key");
	rc = tr_st_vol_create(fx->t, &call, &fx->spec, NULL, 0, &b);
	chk_end();
	chk_not_adopted(c, "idempotent:vol_create-no-key",
			"vol_create of an existing name without a key", &call,
			rc, same_volume(c, fx, fx->vol, a.path),
			"the volume is gone or moved");

	chk_call(c, &call);
	chk_begin("vol_info");
	rc = tr_st_vol_info(fx->t, &call, fx->vol, 0, &b);
	chk_end();
	if (rc < 0)
		chk_fail(c, "vol_info", "vol_info of the new volume: %s: %s",
			 trellis_error_name(rc), call.message);
	else if (strcmp(b.path, a.path) != 0 || b.capacity < fx->spec.size)
		chk_fail(c, "vol_info",
			 "vol_info gave path '%s' capacity %llu, want '%s' and "
			 "at least %llu",
			 b.path, (unsigned long long)b.capacity, a.path,
			 (unsigned long long)fx->spec.size);
	else
		chk_pass(c, "vol_info", "'%s': %s, %llu bytes", b.name,
			 b.format[0] ? b.format : "(no format)",
			 (unsigned long long)b.capacity);

	if (HAS(vol_list)) {
		struct find_vol f = {.name = fx->vol};
		chk_call(c, &call);
		chk_begin("vol_list");
		rc = tr_st_vol_list(fx->t, &call, 0, find_cb, &f);
		chk_end();
		if (rc < 0)
			chk_fail(c, "vol_list", "%s: %s",
				 trellis_error_name(rc), call.message);
		else if (!f.found)
			chk_fail(c, "vol_list",
				 "the new volume is not listed (%u volumes)",
				 f.n);
		else
			chk_pass(c, "vol_list",
				 "%u volumes, the new one "
				 "among them",
				 f.n);
	}
	return 0;
}

/* Snapshot create, replay, delete twice on vol.  1 when the plugin says
 * NOTSUP for this volume (nothing recorded), 0 otherwise. */
static int snapshots(struct chk *c, struct st_fx *fx, const char *vol)
{
	trellis_call_t call;
	chk_call(c, &call);
	chk_begin("snapshot_create");
	int rc = tr_st_snapshot_create(fx->t, &call, vol, fx->snap, fx->key, 0);
	chk_end();
	if (rc == TRELLIS_E_NOTSUP && chk_has_own_message(&call, rc))
		return 1;
	if (rc < 0) {
		chk_fail(c, "snapshot_create", "'%s' of '%s': %s: %s", fx->snap,
			 vol, trellis_error_name(rc), call.message);
		return 0;
	}
	chk_pass(c, "snapshot_create", "made '%s' of '%s'", fx->snap, vol);
	chk_call(c, &call);
	chk_begin("idempotent:snapshot_create");
	rc = tr_st_snapshot_create(fx->t, &call, vol, fx->snap, fx->key, 0);
	chk_end();
	chk_expect(c, "idempotent:snapshot_create", "replayed snapshot_create",
		   &call, rc, 0);
	char other[128];
	snprintf(other, sizeof other, "%s-other", fx->key);
	chk_call(c, &call);
	chk_begin("idempotent:snapshot_create-other-key");
	rc = tr_st_snapshot_create(fx->t, &call, vol, fx->snap, other, 0);
	chk_end();
	/* Intact: its own request's replay still finds it. */
	trellis_call_t c2;
	chk_call(c, &c2);
	chk_not_adopted(
	    c, "idempotent:snapshot_create-other-key",
	    "snapshot_create of an existing snapshot under another "
	    "key",
	    &call, rc,
	    tr_st_snapshot_create(fx->t, &c2, vol, fx->snap, fx->key, 0) == 0,
	    "its own request's replay no longer finds it");
	if (!HAS(snapshot_delete)) {
		chk_fail(c, "snapshot_delete",
			 "snapshot_create without "
			 "snapshot_delete");
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		const char *check =
		    i ? "idempotent:snapshot_delete" : "snapshot_delete";
		chk_call(c, &call);
		chk_begin(check);
		rc = tr_st_snapshot_delete(fx->t, &call, vol, fx->snap, fx->key,
					   0);
		chk_end();
		chk_expect(c, check,
			   i ? "replayed snapshot_delete of a snapshot "
			       "already gone"
			     : "snapshot_delete",
			   &call, rc, 0);
	}
	return 0;
}

static void optional_ops(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	trellis_vol_info_t info;
	int rc;

	if (HAS(vol_resize)) {
		chk_call(c, &call);
		chk_begin("vol_resize");
		rc = tr_st_vol_resize(fx->t, &call, fx->vol, 2 * MIB, fx->key,
				      0);
		if (rc >= 0) {
			chk_call(c, &call);
			rc = tr_st_vol_info(fx->t, &call, fx->vol, 0, &info);
		}
		chk_end();
		if (rc < 0)
			chk_fail(c, "vol_resize", "grow to 2 MiB: %s: %s",
				 trellis_error_name(rc), call.message);
		else if (info.capacity < 2 * MIB)
			chk_fail(c, "vol_resize",
				 "grew to 2 MiB but vol_info says %llu bytes",
				 (unsigned long long)info.capacity);
		else
			chk_pass(c, "vol_resize", "grew to %llu bytes",
				 (unsigned long long)info.capacity);
		chk_call(c, &call);
		chk_begin("errors:vol_resize-shrink");
		rc = tr_st_vol_resize(fx->t, &call, fx->vol, MIB / 2, fx->key,
				      0);
		chk_end();
		if (chk_has_own_message(&call, rc))
			chk_pass(c, "errors:vol_resize-shrink",
				 "shrinking is refused: %s: %s",
				 trellis_error_name(rc), call.message);
		else if (rc >= 0)
			chk_fail(c, "errors:vol_resize-shrink",
				 "shrinking to 512 KiB succeeded; it must be "
				 "refused");
		else
			chk_fail(c, "errors:vol_resize-shrink",
				 "shrinking refused with %s but without a "
				 "message",
				 trellis_error_name(rc));
	}
	if (HAS(vol_clone)) {
		trellis_vol_info_t a, b;
		chk_call(c, &call);
		chk_begin("vol_clone");
		rc = tr_st_vol_clone(fx->t, &call, fx->vol, fx->clone, fx->key,
				     0, &a);
		chk_end();
		if (rc < 0) {
			chk_fail(c, "vol_clone", "clone to '%s': %s: %s",
				 fx->clone, trellis_error_name(rc),
				 call.message);
		} else {
			chk_pass(c, "vol_clone", "cloned to '%s' at %s", a.name,
				 a.path);
			chk_call(c, &call);
			chk_begin("idempotent:vol_clone");
			rc = tr_st_vol_clone(fx->t, &call, fx->vol, fx->clone,
					     fx->key, 0, &b);
			chk_end();
			if (rc < 0)
				chk_fail(c, "idempotent:vol_clone",
					 "replay failed: %s: %s",
					 trellis_error_name(rc), call.message);
			else if (strcmp(a.path, b.path) != 0)
				chk_fail(c, "idempotent:vol_clone",
					 "replay returned %s, first %s", b.path,
					 a.path);
			else
				chk_pass(c, "idempotent:vol_clone",
					 "replay returned the same clone");
			char other[128];
			snprintf(other, sizeof other, "%s-other", fx->key);
			chk_call(c, &call);
			chk_begin("idempotent:vol_clone-other-key");
			rc = tr_st_vol_clone(fx->t, &call, fx->vol, fx->clone,
					     other, 0, &b);
			chk_end();
			chk_not_adopted(
			    c, "idempotent:vol_clone-other-key",
			    "vol_clone onto an existing name under another key",
			    &call, rc, same_volume(c, fx, fx->clone, a.path),
			    "the clone is gone or moved");
			chk_call(c, &call);
			rc = tr_st_vol_delete(fx->t, &call, fx->clone, fx->key,
					      0);
			chk_expect(c, "vol_clone-delete",
				   "vol_delete of the clone", &call, rc, 0);
		}
	}
	if (HAS(snapshot_create) && snapshots(c, fx, fx->vol) > 0) {
		/* Not for raw volumes (internal qcow2 snapshots, say): try a
		 * volume in the plugin's default format. */
		trellis_vol_spec_t q = fx->spec;
		char name[80], key[128];
		snprintf(name, sizeof name, "%s-q", fx->vol);
		snprintf(key, sizeof key, "%s-q", fx->key);
		q.name = name;
		q.format = NULL;
		chk_call(c, &call);
		chk_begin("snapshot_create");
		rc = tr_st_vol_create(fx->t, &call, &q, key, 0, NULL);
		chk_end();
		if (rc < 0) {
			chk_skip(c, "snapshot_create",
				 "not for raw volumes, and a volume in the "
				 "default format failed: %s: %s",
				 trellis_error_name(rc), call.message);
			return;
		}
		if (snapshots(c, fx, name) > 0)
			chk_skip(c, "snapshot_create",
				 "NOTSUP for raw and default-format volumes");
		chk_call(c, &call);
		rc = tr_st_vol_delete(fx->t, &call, name, key, 0);
		chk_expect(c, "snapshot-volume-delete",
			   "vol_delete of a volume that had snapshots", &call,
			   rc, 0);
	}
}

static int ik_make(struct chk *c, void *fx_, trellis_call_t *call,
		   const char *key)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_create(fx->t, call, &fx->flag_spec, key, 0, NULL);
}

static int ik_del(struct chk *c, void *fx_, trellis_call_t *call,
		  const char *key, uint32_t flags)
{
	struct st_fx *fx = fx_;
	(void)c;
	return tr_st_vol_delete(fx->t, call, fx->flag_vol, key, flags);
}

static int ik_exists(struct chk *c, void *fx_)
{
	struct st_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	return tr_st_vol_info(fx->t, &call, fx->flag_vol, 0, NULL) == 0;
}

static const struct chk_if_key st_if_key = {
    "vol_delete", TRELLIS_VOL_DELETE_IF_KEY, ik_make, ik_del, ik_exists};

static void delete_twice(struct chk *c, struct st_fx *fx)
{
	trellis_call_t call;
	trellis_vol_info_t info;
	char key[128];
	snprintf(key, sizeof key, "%s-delete", fx->key);

	chk_call(c, &call);
	chk_begin("vol_delete");
	int rc = tr_st_vol_delete(fx->t, &call, fx->vol, key, 0);
	chk_end();
	chk_expect(c, "vol_delete", "vol_delete of the new volume", &call, rc,
		   0);
	chk_call(c, &call);
	chk_begin("idempotent:vol_delete");
	rc = tr_st_vol_delete(fx->t, &call, fx->vol, key, 0);
	chk_end();
	chk_expect(c, "idempotent:vol_delete",
		   "replayed vol_delete of a volume already gone", &call, rc,
		   0);
	chk_call(c, &call);
	chk_begin("errors:vol_info-deleted");
	rc = tr_st_vol_info(fx->t, &call, fx->vol, 0, &info);
	chk_end();
	chk_expect(c, "errors:vol_info-deleted", "vol_info of a deleted volume",
		   &call, rc, TRELLIS_E_NOTFOUND);
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void chk_storage(struct chk *c)
{
	struct st_fx fx = {0};
	/* Absent ops are checked even without a pool: dispatch answers NOTSUP
	 * before it would touch the handle. */
	struct tr_target none = {.plugin = c->p,
				 .lock = PTHREAD_MUTEX_INITIALIZER};
	trellis_call_t call;
	char tmp[] = "/tmp/trellis-check-XXXXXX";
	char target[sizeof tmp + 16], missing[sizeof tmp + 16];
	const char *uri = c->target;
	int rc;

	if (!uri) {
		if (!mkdtemp(tmp)) {
			chk_fail(c, "pool",
				 "cannot make a temporary directory: %m");
			return;
		}
		snprintf(target, sizeof target, "%s/pool", tmp);
		snprintf(missing, sizeof missing, "%s/missing", tmp);
		uri = target;
	}
	snprintf(fx.vol, sizeof fx.vol, "%s-vol", c->prefix);
	snprintf(fx.flag_vol, sizeof fx.flag_vol, "%s-flag", c->prefix);
	snprintf(fx.clone, sizeof fx.clone, "%s-clone", c->prefix);
	snprintf(fx.flag_clone, sizeof fx.flag_clone, "%s-flagclone",
		 c->prefix);
	snprintf(fx.snap, sizeof fx.snap, "%s-snap", c->prefix);
	snprintf(fx.flag_snap, sizeof fx.flag_snap, "%s-flagsnap", c->prefix);
	snprintf(fx.key, sizeof fx.key, "trellis-check/%s/vol", c->prefix);
	snprintf(fx.flag_key, sizeof fx.flag_key, "trellis-check/%s/flag",
		 c->prefix);
	fx.spec = (trellis_vol_spec_t){.struct_size = sizeof fx.spec,
				       .name = fx.vol,
				       .size = MIB,
				       .format = chk_storage_format(c)};
	fx.flag_spec = fx.spec;
	fx.flag_spec.name = fx.flag_vol;

	trellis_pool_spec_t ps = {.struct_size = sizeof ps,
				  .name = "trellis-check",
				  .target = uri,
				  .options = c->target_options};
	void *pool = NULL;
	chk_call(c, &call);
	chk_begin("flags:pool_open");
	rc = tr_st_pool_open(c->p, &call, &ps,
			     CHK_BAD_FLAG | TRELLIS_POOL_OPEN_CREATE, &pool);
	chk_end();
	if (rc >= 0)
		tr_st_pool_close(CHK_BARE(c->p, pool));
	chk_expect(c, "flags:pool_open", "pool_open with unknown flag bit 31",
		   &call, rc, TRELLIS_E_INVALID_ARG);

	if (!c->target) {
		ps.target = missing;
		chk_call(c, &call);
		chk_begin("errors:pool_open");
		rc = tr_st_pool_open(c->p, &call, &ps, 0, &pool);
		chk_end();
		if (rc >= 0) {
			tr_st_pool_close(CHK_BARE(c->p, pool));
			chk_fail(c, "errors:pool_open",
				 "opening missing directory %s without "
				 "TRELLIS_POOL_OPEN_CREATE succeeded",
				 missing);
		} else if (!chk_has_own_message(&call, rc)) {
			chk_fail(c, "errors:pool_open",
				 "opening a missing pool failed with %s but "
				 "without a message",
				 trellis_error_name(rc));
		} else {
			chk_pass(c, "errors:pool_open",
				 "a missing pool without CREATE: %s: %s",
				 trellis_error_name(rc), call.message);
		}
	}

	rc = chk_open(c, "pool_open", &call, "trellis-check", uri,
		      TRELLIS_POOL_OPEN_CREATE, &fx.t);
	if (rc == 1) {
		fx.t = &none;
		chk_sweep(c, st_ops, N_OPS, &fx, "the pool is unavailable");
		goto out;
	}
	if (rc < 0) {
		chk_expect(c, "pool_open", uri, &call, rc, 0);
		fx.t = &none;
		chk_skip(c, "pool_info", "needs pool_open, which failed");
		chk_skip(c, "create:vol_create", "needs pool_open, which failed");
		chk_storage_skip_after_create(c, "pool_open failed");
		chk_sweep(c, st_ops, N_OPS, &fx, "pool_open failed");
		goto out;
	}
	chk_pass(c, "pool_open", "opened %s%s", uri,
		 c->target ? "" : " (a fresh temporary directory)");

	trellis_pool_info_t pi;
	chk_call(c, &call);
	chk_begin("pool_info");
	rc = tr_st_pool_info(fx.t, &call, 0, &pi);
	chk_end();
	if (rc < 0)
		chk_fail(c, "pool_info", "%s: %s", trellis_error_name(rc),
			 call.message);
	else
		chk_pass(c, "pool_info",
			 "%llu MiB of %llu MiB free, %u volumes",
			 (unsigned long long)(pi.available / MIB),
			 (unsigned long long)(pi.capacity / MIB), pi.n_volumes);

	errors_before_create(c, &fx);
	if (create_and_replay(c, &fx) == 0) {
		optional_ops(c, &fx);
		chk_storage_rules(c, &fx, c->target ? NULL : target, tmp);
		chk_sweep(c, st_ops, N_OPS, &fx, NULL);
		chk_storage_adapt(c, &fx);
		chk_delete_if_key(c, &st_if_key, &fx, fx.flag_key);
		delete_twice(c, &fx);
	} else {
		chk_storage_skip_after_create(c, "create:vol_create failed");
		chk_sweep(c, st_ops, N_OPS, &fx, "no volume to run it against");
	}
	tr_target_close(fx.t);
out:
	if (!c->target)
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
