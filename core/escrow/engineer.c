/* SPDX-License-Identifier: Apache-2.0 */
/*
 * engineer.c - the support engineer's key and the signed proof of a fetch
 * (engineer.h): made by the engineer's CLI, checked by trellis-escrowd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../host/host.h"
#include "../util/alloc.h"
#include "engineer.h"
#include "escrow.h"

#define KEY_HEADER "trellis-engineer-key 1\n"
#define NONCE_BYTES 16

char *tr_escrow_engineer_pub(const unsigned char sk[ESCROW_ENGINEER_SK_BYTES])
{
	unsigned char pk[ESCROW_ENGINEER_PK_BYTES];
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	return tr_escrow_b64(pk, sizeof pk);
}

int tr_escrow_engineer_pub_parse(const char *b64,
				 unsigned char pk[ESCROW_ENGINEER_PK_BYTES])
{
	char line[128];
	snprintf(line, sizeof line, "%s", b64 ? b64 : "");
	line[strcspn(line, " \t\r\n")] = 0;
	size_t n = 0;
	unsigned char *p = tr_escrow_unb64(line, &n);
	int ok = p && n == ESCROW_ENGINEER_PK_BYTES;
	if (ok)
		memcpy(pk, p, ESCROW_ENGINEER_PK_BYTES);
	free(p);
	return ok ? 0 : -1;
}

int tr_escrow_engineer_keygen(const char *path, char **pub,
			      trellis_call_t *call)
{
	unsigned char pk[ESCROW_ENGINEER_PK_BYTES];
	unsigned char sk[ESCROW_ENGINEER_SK_BYTES];
	*pub = NULL;
	if (sodium_init() < 0)
		return tr_call_set(call, TRELLIS_E_IO, "libsodium init failed");
	crypto_sign_keypair(pk, sk);
	char *skb = tr_escrow_b64(sk, sizeof sk);
	sodium_memzero(sk, sizeof sk);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), rc = 0;
	if (fd < 0) {
		rc = tr_call_set(call, errno == EEXIST ? TRELLIS_E_CONFLICT
						       : TRELLIS_E_IO,
				 "%s: %s (an engineer key is never overwritten)",
				 path, strerror(errno));
		goto out;
	}
	size_t hl = strlen(KEY_HEADER), kl = strlen(skb);
	if (write(fd, KEY_HEADER, hl) != (ssize_t)hl ||
	    write(fd, skb, kl) != (ssize_t)kl || write(fd, "\n", 1) != 1 ||
	    fsync(fd) < 0) {
		rc = tr_call_set(call, TRELLIS_E_IO, "%s: %s", path,
				 strerror(errno));
		close(fd);
		unlink(path);
		goto out;
	}
	close(fd);
	*pub = tr_escrow_b64(pk, sizeof pk);
	char pp[4096];
	snprintf(pp, sizeof pp, "%s.pub", path);
	FILE *f = fopen(pp, "w");
	if (f) {
		fprintf(f, "%s\n", *pub);
		fclose(f);
	}
out:
	sodium_memzero(skb, strlen(skb));
	free(skb);
	return rc;
}

int tr_escrow_engineer_key_load(const char *path,
				unsigned char sk[ESCROW_ENGINEER_SK_BYTES],
				trellis_call_t *call)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return tr_call_set(call,
				   errno == ENOENT ? TRELLIS_E_NOTFOUND
						   : TRELLIS_E_IO,
				   "engineer key %s: %s", path,
				   strerror(errno));
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	int rc = 0;
	size_t hl = strlen(KEY_HEADER), kn = 0;
	unsigned char *k = NULL;
	if (n > (ssize_t)hl && !memcmp(buf, KEY_HEADER, hl)) {
		buf[n] = 0;
		buf[hl + strcspn(buf + hl, "\r\n")] = 0;
		k = tr_escrow_unb64(buf + hl, &kn);
	}
	if (!k || kn != ESCROW_ENGINEER_SK_BYTES)
		rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				 "%s is not an engineer key (trellis support "
				 "keygen makes one)",
				 path);
	else
		memcpy(sk, k, ESCROW_ENGINEER_SK_BYTES);
	if (k)
		sodium_memzero(k, kn);
	free(k);
	sodium_memzero(buf, sizeof buf);
	return rc;
}

char *tr_escrow_fetch_message(const char *code_hash, const char *reply_key,
			      const char *engineer_key, const char *nonce,
			      int64_t signed_at)
{
	size_t n = 160 + strlen(code_hash) + strlen(reply_key) +
		   strlen(engineer_key) + strlen(nonce);
	char *m = tr_xmalloc(n);
	snprintf(m, n,
		 "trellis-escrow-fetch 1\ncode_hash=%s\nreply_key=%s\n"
		 "engineer_key=%s\nnonce=%s\nsigned_at=%lld\n",
		 code_hash, reply_key, engineer_key, nonce,
		 (long long)signed_at);
	return m;
}

json_t *tr_escrow_proof_new(const unsigned char sk[ESCROW_ENGINEER_SK_BYTES],
			    const char *code, const char *reply_key)
{
	if (sodium_init() < 0)
		return NULL;
	char hash[ESCROW_HASH_HEX];
	unsigned char nonce[NONCE_BYTES], sig[crypto_sign_BYTES];
	tr_escrow_code_hash(code, hash);
	randombytes_buf(nonce, sizeof nonce);
	char *nb = tr_escrow_b64(nonce, sizeof nonce);
	char *pub = tr_escrow_engineer_pub(sk);
	int64_t now = (int64_t)time(NULL);
	char *m = tr_escrow_fetch_message(hash, reply_key, pub, nb, now);
	crypto_sign_detached(sig, NULL, (const unsigned char *)m, strlen(m),
			     sk);
	char *sb = tr_escrow_b64(sig, sizeof sig);
	json_t *p = json_pack("{s:s, s:s, s:I, s:s}", "engineer_key", pub,
			      "nonce", nb, "signed_at", (json_int_t)now,
			      "signature", sb);
	free(m);
	free(nb);
	free(pub);
	free(sb);
	return p;
}

static int b64_len_ok(const char *s, size_t want)
{
	size_t n = 0;
	unsigned char *p = s && strlen(s) < 200 ? tr_escrow_unb64(s, &n) : NULL;
	int ok = p && n == want;
	free(p);
	return ok;
}

enum escrow_proof_verdict tr_escrow_proof_check(json_t *proof,
						const char *code_hash,
						const char *reply_key,
						int64_t now)
{
	if (!proof || json_is_null(proof))
		return ESCROW_PROOF_MISSING;
	const char *key = json_string_value(json_object_get(proof,
							    "engineer_key"));
	const char *nonce = json_string_value(json_object_get(proof, "nonce"));
	const char *sig = json_string_value(json_object_get(proof,
							    "signature"));
	json_t *at = json_object_get(proof, "signed_at");
	if (!json_is_object(proof) || !code_hash || !reply_key ||
	    !json_is_integer(at) ||
	    !b64_len_ok(key, ESCROW_ENGINEER_PK_BYTES) ||
	    !b64_len_ok(nonce, NONCE_BYTES) ||
	    !b64_len_ok(sig, crypto_sign_BYTES) || strchr(reply_key, '\n') ||
	    strchr(code_hash, '\n'))
		return ESCROW_PROOF_MALFORMED;
	int64_t t = json_integer_value(at);
	if (t < now - ESCROW_PROOF_SKEW_S || t > now + ESCROW_PROOF_SKEW_S)
		return ESCROW_PROOF_STALE;
	unsigned char pk[ESCROW_ENGINEER_PK_BYTES];
	size_t n = 0;
	unsigned char *s = tr_escrow_unb64(sig, &n);
	tr_escrow_engineer_pub_parse(key, pk);
	char *m = tr_escrow_fetch_message(code_hash, reply_key, key, nonce, t);
	int ok = crypto_sign_verify_detached(s, (const unsigned char *)m,
					     strlen(m), pk) == 0;
	free(m);
	free(s);
	return ok ? ESCROW_PROOF_OK : ESCROW_PROOF_BAD_SIGNATURE;
}

const char *tr_escrow_proof_verdict_name(enum escrow_proof_verdict v)
{
	switch (v) {
	case ESCROW_PROOF_OK: return "ok";
	case ESCROW_PROOF_MISSING: return "unsigned";
	case ESCROW_PROOF_MALFORMED: return "malformed";
	case ESCROW_PROOF_STALE: return "stale";
	case ESCROW_PROOF_BAD_SIGNATURE: return "bad signature";
	}
	return "?";
}
