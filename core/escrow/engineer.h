/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engineer.h - the support engineer's credential at the vendor's escrow
 * (issue 22): what the engineer's `trellis support fetch` signs and what
 * trellis-escrowd checks, so that the access code alone fetches nothing.
 *
 * Each engineer has an Ed25519 key pair of their own (trellis support
 * keygen); the vendor enrols the public key at the escrow under the
 * engineer's name (trellis-escrowd engineer add NAME --key PUB) and can
 * revoke it.  A fetch carries a proof, made by the engineer's client:
 *   {"engineer_key":B64, "nonce":B64 (16 random bytes),
 *    "signed_at":UNIX, "signature":B64}
 * the signature being over tr_escrow_fetch_message(): the code's hash, the
 * one-time reply key (so that no one on the way, trellisd included, can
 * have the password sealed to a key of their own), the engineer's key,
 * the nonce and the time.  The escrow takes a proof only from an enrolled,
 * unrevoked key, within ESCROW_PROOF_SKEW_S of its clock, and each nonce
 * once: a captured request cannot be replayed.
 *
 * Key file (0600): the line "trellis-engineer-key 1" and the base64 of the
 * 64-byte libsodium secret key; FILE.pub holds the public key's base64.
 */
#ifndef TRELLIS_CORE_ESCROW_ENGINEER_H
#define TRELLIS_CORE_ESCROW_ENGINEER_H

#include <jansson.h>
#include <stdint.h>

#include <trellis/host.h>

#define ESCROW_ENGINEER_SK_BYTES 64
#define ESCROW_ENGINEER_PK_BYTES 32
#define ESCROW_PROOF_SKEW_S 300

/* Makes a key pair: path (the secret, 0600, never overwritten) and
 * path.pub; *pub (malloc'd base64) is the public key to enrol. */
int tr_escrow_engineer_keygen(const char *path, char **pub,
			      trellis_call_t *call);
/* Reads a key file into sk (the caller wipes it). */
int tr_escrow_engineer_key_load(const char *path,
				unsigned char sk[ESCROW_ENGINEER_SK_BYTES],
				trellis_call_t *call);
/* The public key (malloc'd base64) of a secret key. */
char *tr_escrow_engineer_pub(const unsigned char sk[ESCROW_ENGINEER_SK_BYTES]);
/* A public key given as base64 (or a .pub file's line): 0 and pk, or -1. */
int tr_escrow_engineer_pub_parse(const char *b64,
				 unsigned char pk[ESCROW_ENGINEER_PK_BYTES]);

/* The bytes signed for a fetch (malloc'd, NUL-terminated). */
char *tr_escrow_fetch_message(const char *code_hash, const char *reply_key,
			      const char *engineer_key, const char *nonce,
			      int64_t signed_at);
/* The proof of a fetch of code with reply_key, signed with sk now (new
 * reference; NULL when libsodium fails). */
json_t *tr_escrow_proof_new(const unsigned char sk[ESCROW_ENGINEER_SK_BYTES],
			    const char *code, const char *reply_key);

/* What the check of a proof found. */
enum escrow_proof_verdict {
	ESCROW_PROOF_OK = 0,
	ESCROW_PROOF_MISSING,   /* no proof at all */
	ESCROW_PROOF_MALFORMED, /* a field missing or not of its shape */
	ESCROW_PROOF_STALE,     /* signed_at beyond the skew */
	ESCROW_PROOF_BAD_SIGNATURE,
};
/* Checks the shape, the time (against now) and the signature of proof for
 * code_hash and reply_key; whether the key is enrolled and the nonce new
 * is the escrow's to say.  A name for each verdict: */
enum escrow_proof_verdict tr_escrow_proof_check(json_t *proof,
						const char *code_hash,
						const char *reply_key,
						int64_t now);
const char *tr_escrow_proof_verdict_name(enum escrow_proof_verdict v);

#endif
