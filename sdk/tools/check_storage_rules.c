/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_storage_rules.c - the storage rules that docs/plugin-guide.md
 * states for every plugin (section 4.7 and 5), beyond the basic scenario:
 *
 *   idempotent:vol_create-other-args  a replay with the same key but other
 *                                     arguments returns the first volume,
 *                                     unchanged
 *   idempotent:vol_resize             a resize replayed is a success
 *   idempotent:vol_clone-no-key       a clone onto an existing name
 *                                     without a key is CONFLICT
 *   limits:name-127                   a 127-character name round-trips
 *   capacity:vol_create-too-big       a volume no pool can hold is NOSPACE
 *                                     (or QUOTA, INVALID_ARG) and leaves
 *                                     nothing behind
 *   capacity:pool_info                the figures add up
 *   symlink:*                         a symlink planted in the pool is not
 *                                     a volume and is never followed
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_storage.h"

static const char *const after_create[] = {
	"idempotent:vol_create",  "idempotent:vol_create-other-key",
	"idempotent:vol_create-no-key", "vol_info",
	"idempotent:vol_create-other-args", "limits:name-127",
	"capacity:vol_create-too-big", "capacity:pool_info",
	"vol_delete",             "idempotent:vol_delete",
	NULL};

void chk_storage_skip_after_create(struct chk *c, const char *why)
{
	for (const char *const *n = after_create; *n; n++)
		chk_skip(c, *n, "needs a volume: %s", why);
}

const char *chk_storage_format(const struct chk *c)
{
	uint64_t caps = c->p->desc->caps;
	if (c->p->desc->abi_minor >= 1 &&
	    (caps & TRELLIS_STORAGE_CAP_FORMAT_QCOW2) &&
	    !(caps & TRELLIS_STORAGE_CAP_FORMAT_RAW))
		return "qcow2";
	return "raw";
}

static int vol_exists(struct chk *c, struct st_fx *fx, const char *name,
		      trellis_vol_info_t *vi)
{
	trellis_call_t call;
	trellis_vol_info_t scratch;
	chk_call(c, &call);
	return tr_st_vol_info(fx->t, &call, name, 0,
			      vi ? vi : &scratch) == 0;
}

static void drop(struct chk *c, struct st_fx *fx, const char *name,
		 const char *key)
{
	trellis_call_t call;
	chk_call(c, &call);
	tr_st_vol_delete(fx->t, &call, name, key, 0);
}

static void other_args(struct chk *c, struct st_fx *fx)
{
	trellis_vol_info_t before, after;
	trellis_call_t call;
	if (!vol_exists(c, fx, fx->vol, &before)) {
		chk_skip(c, "idempotent:vol_create-other-args",
			 "the fixture volume is gone");
		return;
	}
	trellis_vol_spec_t spec = fx->spec;
	spec.size = before.capacity + 3 * MIB;
	chk_call(c, &call);
	chk_begin("idempotent:vol_create-other-args");
	int rc = tr_st_vol_create(fx->t, &call, &spec, fx->key, 0,
				  &after);
	chk_end();
	trellis_vol_info_t now;
	int there = vol_exists(c, fx, fx->vol, &now);
	if (!there || now.capacity != before.capacity)
		chk_fail(c, "idempotent:vol_create-other-args",
			 "a replay with the same key and a bigger size changed "
			 "the volume (%s, %llu bytes before)",
			 there ? "resized" : "gone",
			 (unsigned long long)before.capacity);
	else if (rc == 0 && after.capacity != before.capacity)
		chk_fail(c, "idempotent:vol_create-other-args",
			 "the replay returned %llu bytes, but the volume the "
			 "key made has %llu",
			 (unsigned long long)after.capacity,
			 (unsigned long long)before.capacity);
	else if (rc == 0 || chk_has_own_message(&call, rc))
		chk_pass(c, "idempotent:vol_create-other-args",
			 "a replay with other arguments %s; the volume is "
			 "unchanged",
			 rc == 0 ? "returned the first volume" : call.message);
	else
		chk_fail(c, "idempotent:vol_create-other-args",
			 "failed with %s but without a message",
			 trellis_error_name(rc));
}

static void resize_replay(struct chk *c, struct st_fx *fx)
{
	trellis_vol_info_t vi;
	trellis_call_t call;
	if (!tr_plugin_has_op(c->p, offsetof(struct trellis_storage_ops,
					     vol_resize)) ||
	    !vol_exists(c, fx, fx->vol, &vi))
		return;
	chk_call(c, &call);
	chk_begin("idempotent:vol_resize");
	int rc = tr_st_vol_resize(fx->t, &call, fx->vol, vi.capacity,
				  fx->key, 0);
	chk_end();
	chk_expect(c, "idempotent:vol_resize",
		   "vol_resize replayed (to the size the volume has)", &call,
		   rc, 0);
}

static void clone_no_key(struct chk *c, struct st_fx *fx)
{
	trellis_vol_info_t vi, out;
	trellis_call_t call;
	if (!tr_plugin_has_op(c->p,
			      offsetof(struct trellis_storage_ops, vol_clone)) ||
	    !vol_exists(c, fx, fx->vol, &vi))
		return;
	/* The fixture volume is the existing name: a clone onto it from
	 * itself, without a key, must not replace it. */
	chk_call(c, &call);
	chk_begin("idempotent:vol_clone-no-key");
	int rc = tr_st_vol_clone(fx->t, &call, fx->vol, fx->vol, NULL,
				 0, &out);
	chk_end();
	trellis_vol_info_t now;
	int intact = vol_exists(c, fx, fx->vol, &now) &&
		     strcmp(now.path, vi.path) == 0;
	chk_not_adopted(c, "idempotent:vol_clone-no-key",
			"vol_clone onto an existing name without a key", &call,
			rc, intact, "the volume is gone or moved");
}

static void name_127(struct chk *c, struct st_fx *fx)
{
	char name[128];
	size_t n = (size_t)snprintf(name, sizeof name, "%s-", c->prefix);
	memset(name + n, 'n', sizeof name - 1 - n);
	name[sizeof name - 1] = '\0';
	trellis_vol_spec_t spec = fx->spec;
	spec.name = name;
	trellis_vol_info_t out, vi;
	trellis_call_t call;
	char key[160];
	snprintf(key, sizeof key, "%s-127", fx->key);
	chk_call(c, &call);
	chk_begin("limits:name-127");
	int rc = tr_st_vol_create(fx->t, &call, &spec, key, 0, &out);
	chk_end();
	if (rc < 0) {
		chk_fail(c, "limits:name-127",
			 "vol_create of a 127-character name (the most "
			 "vol_info.name holds): %s: %s",
			 trellis_error_name(rc), call.message);
		return;
	}
	int back = vol_exists(c, fx, name, &vi);
	if (strcmp(out.name, name) != 0 || !back || strcmp(vi.name, name) != 0)
		chk_fail(c, "limits:name-127",
			 "a 127-character name did not come back whole "
			 "(vol_create gave %zu characters%s)",
			 strlen(out.name),
			 back ? "" : ", vol_info does not find it");
	else
		chk_pass(c, "limits:name-127",
			 "a 127-character name round-trips through vol_create "
			 "and vol_info (the core refuses 128)");
	drop(c, fx, name, key);
}

static void too_big(struct chk *c, struct st_fx *fx)
{
	char name[96], key[160];
	snprintf(name, sizeof name, "%s-huge", c->prefix);
	snprintf(key, sizeof key, "%s-huge", fx->key);
	trellis_vol_spec_t spec = fx->spec;
	spec.name = name;
	spec.size = 1ull << 62; /* 4 EiB: more than any pool holds */
	trellis_vol_info_t out;
	trellis_call_t call;
	chk_call(c, &call);
	chk_begin("capacity:vol_create-too-big");
	int rc = tr_st_vol_create(fx->t, &call, &spec, key, 0, &out);
	chk_end();
	int left = vol_exists(c, fx, name, NULL);
	if (rc >= 0 || left) {
		chk_fail(c, "capacity:vol_create-too-big",
			 "a 4 EiB volume %s", rc >= 0 ? "was made" :
			 "was refused but left behind");
		drop(c, fx, name, key);
	} else if ((rc == TRELLIS_E_NOSPACE || rc == TRELLIS_E_QUOTA ||
		    rc == TRELLIS_E_INVALID_ARG) &&
		   chk_has_own_message(&call, rc)) {
		chk_pass(c, "capacity:vol_create-too-big",
			 "a 4 EiB volume: %s: %s, nothing left behind",
			 trellis_error_name(rc), call.message);
	} else {
		chk_fail(c, "capacity:vol_create-too-big",
			 "a 4 EiB volume gave %s%s%s (want NOSPACE, QUOTA or "
			 "INVALID_ARG with a message)",
			 trellis_error_name(rc),
			 chk_has_own_message(&call, rc) ? ": " : "",
			 chk_has_own_message(&call, rc) ? call.message : "");
	}
}

static void pool_figures(struct chk *c, struct st_fx *fx)
{
	trellis_pool_info_t pi;
	trellis_vol_info_t vi;
	trellis_call_t call;
	chk_call(c, &call);
	chk_begin("capacity:pool_info");
	int rc = tr_st_pool_info(fx->t, &call, 0, &pi);
	chk_end();
	int have = vol_exists(c, fx, fx->vol, &vi);
	if (rc < 0) {
		chk_fail(c, "capacity:pool_info", "%s: %s",
			 trellis_error_name(rc), call.message);
	} else if (pi.available > pi.capacity || !have || pi.n_volumes < 1) {
		chk_fail(c, "capacity:pool_info",
			 "available %llu > capacity %llu, or the fixture "
			 "volume is not counted (%u volumes)",
			 (unsigned long long)pi.available,
			 (unsigned long long)pi.capacity, pi.n_volumes);
	} else if (c->p->desc->abi_minor >= 1 && pi.provisioned &&
		   pi.provisioned < vi.capacity) {
		chk_fail(c, "capacity:pool_info",
			 "provisioned (ABI 1.1) is %llu, below the fixture "
			 "volume's %llu bytes",
			 (unsigned long long)pi.provisioned,
			 (unsigned long long)vi.capacity);
	} else {
		chk_pass(c, "capacity:pool_info",
			 "capacity %llu, allocation %llu, available %llu, "
			 "provisioned %llu (0: not reported), %u volumes",
			 (unsigned long long)pi.capacity,
			 (unsigned long long)pi.allocation,
			 (unsigned long long)pi.available,
			 (unsigned long long)pi.provisioned, pi.n_volumes);
	}
}

/* A file outside the pool and a symlink to it inside: info, list, resize,
 * create and delete through the link must leave the file alone. */
static void symlinks(struct chk *c, struct st_fx *fx, const char *pooldir,
		     const char *tmpdir)
{
	char outside[512], link[512], name[96];
	struct stat pst;
	if (stat(pooldir, &pst) < 0 || !S_ISDIR(pst.st_mode)) {
		chk_skip(c, "symlink:planted",
			 "the pool's target %s is not a directory here", pooldir);
		return;
	}
	snprintf(outside, sizeof outside, "%s/outside", tmpdir);
	snprintf(name, sizeof name, "%s-link", c->prefix);
	snprintf(link, sizeof link, "%s/%s", pooldir, name);
	int fd = open(outside, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "keep", 4) != 4 || close(fd) < 0 ||
	    symlink(outside, link) < 0) {
		chk_skip(c, "symlink:planted", "cannot plant a symlink: %m");
		return;
	}
	trellis_call_t call;
	trellis_vol_info_t vi;
	chk_call(c, &call);
	chk_begin("symlink:vol_info");
	int rc = tr_st_vol_info(fx->t, &call, name, 0, &vi);
	chk_end();
	if (rc == 0)
		chk_fail(c, "symlink:vol_info",
			 "a symlink planted in the pool (%s -> %s) is reported "
			 "as a volume", name, outside);
	else
		chk_expect(c, "symlink:vol_info",
			   "vol_info of a symlink planted in the pool", &call,
			   rc, TRELLIS_E_NOTFOUND);
	if (tr_plugin_has_op(c->p, offsetof(struct trellis_storage_ops,
					    vol_resize))) {
		chk_call(c, &call);
		chk_begin("symlink:vol_resize");
		rc = tr_st_vol_resize(fx->t, &call, name, 64 * MIB,
				      fx->key, 0);
		chk_end();
		struct stat st;
		if (stat(outside, &st) == 0 && st.st_size == 4 && rc < 0)
			chk_pass(c, "symlink:vol_resize",
				 "refused (%s), the file it points to is "
				 "untouched",
				 trellis_error_name(rc));
		else
			chk_fail(c, "symlink:vol_resize",
				 "vol_resize through a planted symlink %s",
				 rc == 0 ? "succeeded" :
				 "changed the file it points to");
	}
	trellis_vol_spec_t spec = fx->spec;
	spec.name = name;
	chk_call(c, &call);
	chk_begin("symlink:vol_create");
	rc = tr_st_vol_create(fx->t, &call, &spec, fx->key, 0, &vi);
	chk_end();
	struct stat st;
	int untouched = stat(outside, &st) == 0 && st.st_size == 4;
	chk_not_adopted(c, "symlink:vol_create",
			"vol_create of the name of a planted symlink", &call, rc,
			untouched, "the file it points to changed");
	chk_call(c, &call);
	chk_begin("symlink:vol_delete");
	rc = tr_st_vol_delete(fx->t, &call, name, fx->key, 0);
	chk_end();
	if (stat(outside, &st) == 0 && st.st_size == 4)
		chk_pass(c, "symlink:vol_delete",
			 "%s; the file it points to stays",
			 rc == 0 ? "deleted" : trellis_error_name(rc));
	else
		chk_fail(c, "symlink:vol_delete",
			 "vol_delete of a planted symlink removed or changed "
			 "the file it points to");
	unlink(link);
	unlink(outside);
}

void chk_storage_rules(struct chk *c, struct st_fx *fx, const char *pooldir,
		       const char *tmpdir)
{
	other_args(c, fx);
	resize_replay(c, fx);
	clone_no_key(c, fx);
	name_127(c, fx);
	too_big(c, fx);
	pool_figures(c, fx);
	if (pooldir)
		symlinks(c, fx, pooldir, tmpdir);
	else
		chk_skip(c, "symlink:planted",
			 "only in a pool the checker made (without --target)");
}
