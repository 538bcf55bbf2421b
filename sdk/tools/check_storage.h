/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_storage.h - what the storage scenario (check_storage.c) shares
 * with its rules of issue 16 (check_storage_rules.c): the fixture.
 */
#ifndef TRELLIS_CHECK_STORAGE_H
#define TRELLIS_CHECK_STORAGE_H

#include "check.h"

#define MIB (1024ull * 1024)

struct st_fx {
	struct tr_target *t;
	char vol[64], flag_vol[64], clone[64], flag_clone[64];
	char snap[64], flag_snap[64];
	char key[96], flag_key[96];
	trellis_vol_spec_t spec, flag_spec;
};

/* The format the fixture asks for: raw, unless the plugin declares
 * qcow2 only (ABI 1.1). */
const char *chk_storage_format(const struct chk *c);

/*
 * The rules the guide states for every storage plugin, on a pool with the
 * fixture volume made: a replay with other arguments returns the first
 * volume unchanged; names of 127 characters round-trip; a volume no pool
 * can hold is refused and leaves nothing; pool_info adds up; a clone
 * under another key is CONFLICT; and, when the checker made the pool
 * directory (pooldir, else NULL; tmpdir holds it), a symlink planted in
 * the pool is never followed.
 */
void chk_storage_rules(struct chk *c, struct st_fx *fx, const char *pooldir,
		       const char *tmpdir);
/* The rules of the storage ops of ABI 1.1 (check_storage_adapt.c):
 * discovery, assignment, streams; NOTSUP for a plugin without them. */
void chk_storage_adapt(struct chk *c, struct st_fx *fx);
/* The same checks as SKIP, with why, when what they need failed. */
void chk_storage_skip_after_create(struct chk *c, const char *why);

#endif
