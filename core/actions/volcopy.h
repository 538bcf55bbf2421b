/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volcopy.h - what the two files of storage.volume_copy share: volcopy.c
 * (the action, its progress and the stream path) and volcopy_local.c (the
 * local path, between two files of this host).  Internal to core/actions.
 */
#ifndef TRELLIS_CORE_ACTIONS_VOLCOPY_H
#define TRELLIS_CORE_ACTIONS_VOLCOPY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../host/host.h"
#include "action.h"

#define DIGEST_LEN 32

/* A chunk's digest: XXH3-128 (the default) or BLAKE2b-256. */
enum digest_alg { DIGEST_XXH128 = 0, DIGEST_BLAKE2B };
void tr_vc_digest(enum digest_alg a, const void *data, size_t len,
		  unsigned char *out);
/* The bytes of chunk i of a volume of size bytes: chunk, or what is left. */
size_t tr_vc_chunk_len(uint64_t size, size_t chunk, size_t i);
double tr_vc_now(void);

struct progress {
	char id[33]; /* the hex hash of the step's key */
	json_t *rec; /* {copy, size, chunk, digest, digests: [hex...]} */
};

/* What both paths do with a verified chunk (volcopy.c). */
struct tally {
	struct tr_daemon *d;
	const struct tr_action_env *env;
	json_t *args;
	struct progress *pr;
	json_t *digests;
	uint64_t size, moved;
	size_t n_chunks, dl;
	double last_ev, last_save;
};
int tr_vc_tally(struct tally *ty, size_t i, uint64_t off, size_t want,
		const unsigned char *h, trellis_call_t *call);

/* The local path (volcopy_local.c): chunks from..ty->n_chunks of sfd
 * into dfd, each verified; 0 or the error in call. */
int tr_vc_copy_local(struct tally *ty, int sfd, int dfd, size_t chunk,
		     size_t from, enum digest_alg alg, int verify,
		     const char *where, trellis_call_t *call);

#endif
