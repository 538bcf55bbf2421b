/* SPDX-License-Identifier: Apache-2.0 */
/*
 * link.h - the secure link (libsodium): the handshake that opens it and
 * the frames that carry everything after, for trellis-agent <-> trellisd
 * and for the CLI's tcp:// API.  docs/agent.md is the protocol's
 * reference; this header is its C surface.
 *
 * A link is a struct tr_link the caller owns (plain memory, no heap:
 * tr_link_wipe() clears the keys).  The messages themselves travel in
 * whatever carries them (nanomsg here); this module only builds and
 * checks bytes, so it is the one place a peer's bytes are decoded, and
 * what the fuzz target (tests/fuzz/link) drives.
 *
 * Roles: the client (agent, CLI) pins the server's long-term X25519 key
 * (crypto_kx).  Handshake:
 *   client -> HELLO     (ephemeral key, role, connection parameters)
 *   server -> CHALLENGE (ephemeral key, 32 random bytes, a key
 *                        confirmation tag: only the holder of the pinned
 *                        long-term secret key can make it)
 * after which both hold one key per direction, derived from both
 * ephemeral keys and the server's long-term key and bound to the
 * transcript (HELLO and CHALLENGE).  The client then proves who it is
 * in its first frame: an agent signs the transcript with its Ed25519
 * key (tr_link_sign / tr_link_verify), so a signature captured on one
 * connection is worthless on any other.
 *
 * Frames: AEAD (ChaCha20-Poly1305 IETF) with the frame's sequence
 * number as nonce and in the associated data.  Each direction counts
 * from 0; a frame whose number is not the next one (replayed,
 * reordered, dropped), whose tag fails (tampered, truncated), or that
 * arrives after a close is refused, and the link is closed for good.
 */
#ifndef TRELLIS_CORE_LINK_LINK_H
#define TRELLIS_CORE_LINK_LINK_H

#include <stddef.h>
#include <stdint.h>

#define TR_LINK_KEY 32     /* an X25519 or Ed25519 public key */
#define TR_LINK_SIGN_SK 64 /* an Ed25519 secret key */
#define TR_LINK_SIG 64     /* an Ed25519 signature */
#define TR_LINK_TAG 16
#define TR_LINK_HDR 9      /* frame: kind (1) + sequence number (8) */
#define TR_LINK_OVERHEAD (TR_LINK_HDR + 1 + TR_LINK_TAG)
#define TR_LINK_PARAMS_MAX 512
#define TR_LINK_HELLO_MAX (4 + 4 + TR_LINK_KEY + 2 + TR_LINK_PARAMS_MAX)
#define TR_LINK_CHALLENGE_LEN (4 + 4 + 3 * TR_LINK_KEY + TR_LINK_TAG)
#define TR_LINK_FRAME_MAX (16u << 20) /* plaintext bytes in one frame */

enum tr_link_role {
	TR_LINK_ROLE_AGENT = 1,
	TR_LINK_ROLE_API = 2,
};

/* What a frame's plaintext opens with. */
enum tr_link_kind {
	TR_LINK_DATA = 1,  /* a message for the layer above */
	TR_LINK_CLOSE = 2, /* the last frame: a clean end, not a cut */
};

enum tr_link_state {
	TR_LINK_NEW = 0,
	TR_LINK_HELLO_SENT,  /* client: waiting for the challenge */
	TR_LINK_OPEN,        /* frames flow */
	TR_LINK_CLOSED,      /* closed cleanly or refused: nothing more */
};

/* A long-term key pair: the core's X25519 (crypto_kx) key, or an agent's
 * Ed25519 identity (sk is then TR_LINK_SIGN_SK bytes). */
struct tr_link_keypair {
	unsigned char pk[TR_LINK_KEY];
	unsigned char sk[TR_LINK_SIGN_SK];
};

struct tr_link {
	enum tr_link_state state;
	int server;
	enum tr_link_role role;
	unsigned char eph_pk[TR_LINK_KEY], eph_sk[TR_LINK_KEY];
	unsigned char peer_static[TR_LINK_KEY]; /* client: the pinned key */
	unsigned char hello[TR_LINK_HELLO_MAX];
	size_t hello_len;
	unsigned char transcript[32]; /* BLAKE2b of HELLO + CHALLENGE */
	unsigned char challenge[32];
	unsigned char tx_key[32], rx_key[32];
	uint64_t tx_seq, rx_seq;
	char params[TR_LINK_PARAMS_MAX + 1]; /* the client's, as sent */
	char why[160]; /* the last refusal, for the log */
};

/* libsodium's sodium_init(); 0 or -1. */
int tr_link_init(void);

/* New long-term key pairs: X25519 for a server, Ed25519 for an agent. */
void tr_link_kx_keypair(struct tr_link_keypair *kp);
void tr_link_sign_keypair(struct tr_link_keypair *kp);

/* Client: HELLO into out (at least TR_LINK_HELLO_MAX bytes); params are
 * the connection's parameters (e.g. "endpoint=tcp://...;name=a1"), which
 * the transcript and so every signature cover.  Returns its length, or
 * -1 (why set: params too long). */
int tr_link_client_hello(struct tr_link *l, enum tr_link_role role,
			 const unsigned char server_pk[TR_LINK_KEY],
			 const char *params, unsigned char *out);

/* Server: reads a HELLO, writes the CHALLENGE (TR_LINK_CHALLENGE_LEN
 * bytes) into out and opens l.  0, or -1 with l->why set (malformed
 * HELLO, unknown version or role). */
int tr_link_server_accept(struct tr_link *l, const struct tr_link_keypair *kx,
			  const unsigned char *hello, size_t len,
			  unsigned char *out);

/* Client: reads the CHALLENGE; 0 opens l, -1 (why set) when it is
 * malformed, names another server key than the pinned one, or its
 * confirmation tag fails (not the pinned server). */
int tr_link_client_finish(struct tr_link *l, const unsigned char *chal,
			  size_t len);

/* An agent's proof: its Ed25519 signature over this link's transcript. */
void tr_link_sign(const struct tr_link *l, const struct tr_link_keypair *id,
		  unsigned char sig[TR_LINK_SIG]);
/* 0 when sig is pk's signature over this link's transcript, else -1. */
int tr_link_verify(const struct tr_link *l, const unsigned char pk[TR_LINK_KEY],
		   const unsigned char sig[TR_LINK_SIG]);

/* Seals len bytes of kind into out (len + TR_LINK_OVERHEAD bytes).
 * Returns the frame's length, or -1 when the link is not open (or len is
 * above TR_LINK_FRAME_MAX).  A CLOSE frame closes l. */
long tr_link_seal(struct tr_link *l, enum tr_link_kind kind,
		  const void *msg, size_t len, unsigned char *out);

/* Opens a frame into out (at least len bytes): the plaintext's length
 * (kind in *kind), or -1 with l->why set, and the link closed, when the
 * frame is refused.  A CLOSE frame answers its length and closes l. */
long tr_link_open(struct tr_link *l, const unsigned char *frame, size_t len,
		  enum tr_link_kind *kind, unsigned char *out);

/* Clears every key in l; the state becomes CLOSED. */
void tr_link_wipe(struct tr_link *l);

/* Hex (2*n + 1 bytes) of n bytes, and back: 0 or -1. */
void tr_link_hex(const unsigned char *b, size_t n, char *out);
int tr_link_unhex(const char *s, unsigned char *b, size_t n);

/* BLAKE2b-256 hex of a secret (an enrolment token): what the store keeps. */
void tr_link_token_hash(const char *token, char out[65]);

#endif
