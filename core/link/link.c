/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.c - the secure link's handshake and frames (link.h; the protocol
 * is docs/agent.md's "The link").  Everything here is libsodium: crypto_kx
 * for the key exchange, BLAKE2b (crypto_generichash) for the transcript
 * and the key split, ChaCha20-Poly1305 IETF for frames, Ed25519 for the
 * agent's proof.  Nothing here allocates.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "link.h"

#define MAGIC "TRL1"
#define VERSION 1
#define MSG_HELLO 'H'
#define MSG_CHALLENGE 'C'
#define MSG_FRAME 'F'
#define PROOF_CONTEXT "trellis-link-auth-v1"

int tr_link_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void tr_link_kx_keypair(struct tr_link_keypair *kp)
{
	memset(kp, 0, sizeof *kp);
	crypto_kx_keypair(kp->pk, kp->sk);
}

void tr_link_sign_keypair(struct tr_link_keypair *kp)
{
	crypto_sign_keypair(kp->pk, kp->sk);
}

static int refuse(struct tr_link *l, const char *why)
{
	snprintf(l->why, sizeof l->why, "%s", why);
	tr_link_wipe(l);
	return -1;
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The transcript: BLAKE2b-256 over a context, HELLO and CHALLENGE up to
 * its tag, so the keys and every signature belong to this connection. */
static void transcript(struct tr_link *l, const unsigned char *chal)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof l->transcript);
	crypto_generichash_update(&st, (const unsigned char *)"trellis-link-v1",
				  15);
	crypto_generichash_update(&st, l->hello, l->hello_len);
	crypto_generichash_update(&st, chal,
				  TR_LINK_CHALLENGE_LEN - TR_LINK_TAG);
	crypto_generichash_final(&st, l->transcript, sizeof l->transcript);
}

/* From the two crypto_kx results (ephemeral-ephemeral: forward secrecy;
 * client ephemeral-server static: only the pinned server can follow), the
 * two directions' keys and the server's confirmation tag. */
static void split(struct tr_link *l, const unsigned char c2s_a[32],
		  const unsigned char c2s_b[32], const unsigned char s2c_a[32],
		  const unsigned char s2c_b[32], unsigned char tag[TR_LINK_TAG])
{
	unsigned char c2s[32], s2c[32], conf[32];
	crypto_generichash_state st;
	const struct {
		const char *label;
		unsigned char *out;
	} keys[] = {{"c2s", c2s}, {"s2c", s2c}, {"confirm", conf}};
	for (size_t i = 0; i < 3; i++) {
		crypto_generichash_init(&st, l->transcript, 32, 32);
		crypto_generichash_update(&st, (const unsigned char *)keys[i].label,
					  strlen(keys[i].label) + 1);
		crypto_generichash_update(&st, c2s_a, 32);
		crypto_generichash_update(&st, c2s_b, 32);
		crypto_generichash_update(&st, s2c_a, 32);
		crypto_generichash_update(&st, s2c_b, 32);
		crypto_generichash_final(&st, keys[i].out, 32);
	}
	memcpy(l->tx_key, l->server ? s2c : c2s, 32);
	memcpy(l->rx_key, l->server ? c2s : s2c, 32);
	crypto_generichash(tag, TR_LINK_TAG, l->transcript, 32, conf, 32);
	sodium_memzero(c2s, sizeof c2s);
	sodium_memzero(s2c, sizeof s2c);
	sodium_memzero(conf, sizeof conf);
}

int tr_link_client_hello(struct tr_link *l, enum tr_link_role role,
			 const unsigned char server_pk[TR_LINK_KEY],
			 const char *params, unsigned char *out)
{
	memset(l, 0, sizeof *l);
	size_t plen = params ? strlen(params) : 0;
	if (plen > TR_LINK_PARAMS_MAX)
		return refuse(l, "connection parameters too long");
	l->role = role;
	memcpy(l->peer_static, server_pk, TR_LINK_KEY);
	snprintf(l->params, sizeof l->params, "%s", params ? params : "");
	crypto_kx_keypair(l->eph_pk, l->eph_sk);
	unsigned char *p = out;
	memcpy(p, MAGIC, 4);
	p[4] = MSG_HELLO;
	p[5] = VERSION;
	p[6] = (unsigned char)role;
	p[7] = 0;
	memcpy(p + 8, l->eph_pk, TR_LINK_KEY);
	p[40] = (unsigned char)(plen >> 8);
	p[41] = (unsigned char)plen;
	memcpy(p + 42, l->params, plen);
	l->hello_len = 42 + plen;
	memcpy(l->hello, out, l->hello_len);
	l->state = TR_LINK_HELLO_SENT;
	return (int)l->hello_len;
}

int tr_link_server_accept(struct tr_link *l, const struct tr_link_keypair *kx,
			  const unsigned char *h, size_t len,
			  unsigned char *out)
{
	memset(l, 0, sizeof *l);
	l->server = 1;
	if (len < 42 || memcmp(h, MAGIC, 4) || h[4] != MSG_HELLO)
		return refuse(l, "not a link HELLO");
	if (h[5] != VERSION)
		return refuse(l, "unknown link version");
	if (h[6] != TR_LINK_ROLE_AGENT && h[6] != TR_LINK_ROLE_API)
		return refuse(l, "unknown role in HELLO");
	size_t plen = (size_t)h[40] << 8 | h[41];
	if (plen > TR_LINK_PARAMS_MAX || len != 42 + plen)
		return refuse(l, "HELLO has a bad length");
	if (memchr(h + 42, 0, plen))
		return refuse(l, "HELLO parameters hold a NUL byte");
	l->role = h[6];
	memcpy(l->params, h + 42, plen);
	l->params[plen] = '\0';
	memcpy(l->hello, h, len);
	l->hello_len = len;
	const unsigned char *cpk = h + 8;

	crypto_kx_keypair(l->eph_pk, l->eph_sk);
	randombytes_buf(l->challenge, sizeof l->challenge);
	unsigned char *p = out;
	memcpy(p, MAGIC, 4);
	p[4] = MSG_CHALLENGE;
	p[5] = VERSION;
	p[6] = p[7] = 0;
	memcpy(p + 8, l->eph_pk, 32);
	memcpy(p + 40, l->challenge, 32);
	memcpy(p + 72, kx->pk, 32);
	transcript(l, out);

	unsigned char rxa[32], txa[32], rxb[32], txb[32];
	if (crypto_kx_server_session_keys(rxa, txa, l->eph_pk, l->eph_sk, cpk) ||
	    crypto_kx_server_session_keys(rxb, txb, kx->pk, kx->sk, cpk))
		return refuse(l, "HELLO has an unusable key");
	split(l, rxa, rxb, txa, txb, p + 104);
	sodium_memzero(rxa, 32);
	sodium_memzero(txa, 32);
	sodium_memzero(rxb, 32);
	sodium_memzero(txb, 32);
	sodium_memzero(l->eph_sk, sizeof l->eph_sk);
	l->state = TR_LINK_OPEN;
	return 0;
}

int tr_link_client_finish(struct tr_link *l, const unsigned char *c, size_t len)
{
	if (l->state != TR_LINK_HELLO_SENT)
		return refuse(l, "no HELLO was sent on this link");
	if (len != TR_LINK_CHALLENGE_LEN || memcmp(c, MAGIC, 4) ||
	    c[4] != MSG_CHALLENGE)
		return refuse(l, "not a link CHALLENGE");
	if (c[5] != VERSION)
		return refuse(l, "unknown link version");
	if (sodium_memcmp(c + 72, l->peer_static, 32))
		return refuse(l, "the server's key is not the pinned key");
	memcpy(l->challenge, c + 40, 32);
	transcript(l, c);
	unsigned char rxa[32], txa[32], rxb[32], txb[32], tag[TR_LINK_TAG];
	int bad = crypto_kx_client_session_keys(rxa, txa, l->eph_pk, l->eph_sk,
						c + 8) ||
		  crypto_kx_client_session_keys(rxb, txb, l->eph_pk, l->eph_sk,
						l->peer_static);
	if (!bad)
		split(l, txa, txb, rxa, rxb, tag);
	sodium_memzero(rxa, 32);
	sodium_memzero(txa, 32);
	sodium_memzero(rxb, 32);
	sodium_memzero(txb, 32);
	sodium_memzero(l->eph_sk, sizeof l->eph_sk);
	if (bad)
		return refuse(l, "CHALLENGE has an unusable key");
	if (sodium_memcmp(tag, c + 104, TR_LINK_TAG))
		return refuse(l, "the CHALLENGE's confirmation fails: not the "
				 "pinned server");
	l->state = TR_LINK_OPEN;
	return 0;
}

static void proof_msg(const struct tr_link *l, unsigned char m[64])
{
	memcpy(m, PROOF_CONTEXT, 20);
	m[20] = (unsigned char)l->role;
	memset(m + 21, 0, 11);
	memcpy(m + 32, l->transcript, 32);
}

void tr_link_sign(const struct tr_link *l, const struct tr_link_keypair *id,
		  unsigned char sig[TR_LINK_SIG])
{
	unsigned char m[64];
	proof_msg(l, m);
	crypto_sign_detached(sig, NULL, m, sizeof m, id->sk);
}

int tr_link_verify(const struct tr_link *l, const unsigned char pk[TR_LINK_KEY],
		   const unsigned char sig[TR_LINK_SIG])
{
	if (l->state != TR_LINK_OPEN)
		return -1;
	unsigned char m[64];
	proof_msg(l, m);
	return crypto_sign_verify_detached(sig, m, sizeof m, pk) ? -1 : 0;
}

static void nonce(uint64_t seq, unsigned char n[12])
{
	memset(n, 0, 4);
	put64(n + 4, seq);
}

long tr_link_seal(struct tr_link *l, enum tr_link_kind kind, const void *msg,
		  size_t len, unsigned char *out)
{
	if (l->state != TR_LINK_OPEN || len > TR_LINK_FRAME_MAX)
		return -1;
	if (l->tx_seq == UINT64_MAX)
		return refuse(l, "sequence numbers exhausted");
	out[0] = MSG_FRAME;
	put64(out + 1, l->tx_seq);
	unsigned char n[12];
	nonce(l->tx_seq, n);
	/* The kind goes first in the plaintext: out[TR_LINK_HDR] then the
	 * message, encrypted in place. */
	unsigned char *pt = out + TR_LINK_HDR;
	memmove(pt + 1, msg, len);
	pt[0] = (unsigned char)kind;
	unsigned long long clen;
	crypto_aead_chacha20poly1305_ietf_encrypt(pt, &clen, pt, len + 1, out,
						  TR_LINK_HDR, NULL, n,
						  l->tx_key);
	l->tx_seq++;
	if (kind == TR_LINK_CLOSE)
		tr_link_wipe(l);
	return (long)(TR_LINK_HDR + clen);
}

long tr_link_open(struct tr_link *l, const unsigned char *f, size_t len,
		  enum tr_link_kind *kind, unsigned char *out)
{
	if (l->state != TR_LINK_OPEN) {
		snprintf(l->why, sizeof l->why, "the link is closed");
		return -1;
	}
	if (len < TR_LINK_OVERHEAD || f[0] != MSG_FRAME)
		return refuse(l, "not a link frame (short or bad kind)");
	if (len - TR_LINK_OVERHEAD > TR_LINK_FRAME_MAX)
		return refuse(l, "frame too large");
	uint64_t seq = get64(f + 1);
	if (seq != l->rx_seq) {
		char why[160];
		snprintf(why, sizeof why,
			 "frame %llu %s (expected %llu): the link is closed",
			 (unsigned long long)seq,
			 seq < l->rx_seq ? "replayed" : "out of order or one missing",
			 (unsigned long long)l->rx_seq);
		return refuse(l, why);
	}
	unsigned char n[12];
	nonce(seq, n);
	unsigned long long plen;
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
		    out, &plen, NULL, f + TR_LINK_HDR, len - TR_LINK_HDR, f,
		    TR_LINK_HDR, n, l->rx_key) || plen < 1)
		return refuse(l, "frame fails authentication (tampered, "
				 "truncated or another link's)");
	l->rx_seq++;
	unsigned char k = out[0];
	if (k != TR_LINK_DATA && k != TR_LINK_CLOSE)
		return refuse(l, "frame of an unknown kind");
	memmove(out, out + 1, plen - 1);
	*kind = (enum tr_link_kind)k;
	if (k == TR_LINK_CLOSE) {
		tr_link_wipe(l);
		snprintf(l->why, sizeof l->why, "closed by the peer");
	}
	return (long)(plen - 1);
}

void tr_link_wipe(struct tr_link *l)
{
	sodium_memzero(l->eph_sk, sizeof l->eph_sk);
	sodium_memzero(l->tx_key, sizeof l->tx_key);
	sodium_memzero(l->rx_key, sizeof l->rx_key);
	l->state = TR_LINK_CLOSED;
}

void tr_link_hex(const unsigned char *b, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

int tr_link_unhex(const char *s, unsigned char *b, size_t n)
{
	size_t got = 0;
	const char *end;
	if (strlen(s) != 2 * n ||
	    sodium_hex2bin(b, n, s, strlen(s), NULL, &got, &end) || got != n)
		return -1;
	return 0;
}

void tr_link_token_hash(const char *token, char out[65])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)token,
			   strlen(token), NULL, 0);
	tr_link_hex(h, sizeof h, out);
}
