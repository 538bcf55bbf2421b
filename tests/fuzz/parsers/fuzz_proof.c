/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what trellis-escrowd reads of an engineer's fetch
 * (core/escrow/engineer.c): the proof object {engineer_key, nonce,
 * signed_at, signature} with the request's code_hash and reply_key, and
 * an enrolled public key as `engineer add --key` takes it.  The bytes
 * are: a line for code_hash, a line for reply_key, then the proof's JSON.
 * A verdict is one of the five, and a random input never verifies.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "../../../core/escrow/engineer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *line(const uint8_t **p, size_t *n)
{
	const uint8_t *nl = memchr(*p, '\n', *n);
	size_t l = nl ? (size_t)(nl - *p) : *n;
	char *s = malloc(l + 1);
	memcpy(s, *p, l);
	s[l] = 0;
	*p += nl ? l + 1 : l;
	*n -= nl ? l + 1 : l;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init && sodium_init() < 0)
		abort();
	init = 1;
	const uint8_t *p = data;
	size_t n = size;
	char *ch = line(&p, &n), *rk = line(&p, &n);
	unsigned char pk[ESCROW_ENGINEER_PK_BYTES];
	tr_escrow_engineer_pub_parse(ch, pk);
	json_t *proof = json_loadb((const char *)p, n, 0, NULL);
	enum escrow_proof_verdict v =
	    tr_escrow_proof_check(proof, ch, rk, 1796000000);
	if (v < ESCROW_PROOF_OK || v > ESCROW_PROOF_BAD_SIGNATURE ||
	    !tr_escrow_proof_verdict_name(v))
		abort();
	json_decref(proof);
	free(ch);
	free(rk);
	return 0;
}
