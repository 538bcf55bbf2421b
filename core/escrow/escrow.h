/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escrow.h - the client side of the vendor's escrow service
 * (trellis-escrowd), and what both sides share: the wire format and the
 * hash an entry is stored under.
 *
 * An entry is a password sealed (libsodium sealed box) to the escrow's
 * public key, stored under tr_escrow_code_hash(access code) with its expiry
 * and nothing else: no VM, no host, no customer.  Fetch names the entry by
 * the same hash and sends a one-time public key of the requester's; the
 * escrow opens the entry, seals the password again to that key, answers
 * and deletes the entry.  The password crosses the wire sealed both ways.
 *
 * Wire: one JSON object per nanomsg REQ/REP message.
 *   {"op":"deposit","code_hash":HEX,"sealed":B64,"expires_at":UNIX,
 *    "withdraw":HEX}
 *     -> {"ok":true}
 *   {"op":"fetch","code_hash":HEX,"reply_key":B64,"who":NAME,
 *    "proof":{...}}
 *     -> {"ok":true,"sealed":B64,"engineer":NAME}
 *      | {"ok":false,"error":CODE,"message":..}
 *   (proof: the support engineer's signature, engineer.h; without a valid
 *   one of an enrolled engineer the fetch is refused: PERMISSION)
 *   {"op":"delete","withdraw":HEX} -> {"ok":true}
 *
 * The withdraw token is a second keyed hash of the code: the customer's
 * trellisd keeps it (to delete an entry that was never fetched when the
 * appliance locks again) but it cannot fetch with it, so the store of
 * trellisd holds nothing that opens the escrow.  The escrow keeps only a
 * hash of the token.
 * Error codes are TRELLIS_E_* names: NOTFOUND (wrong or expired code),
 * BUSY (rate-limited after wrong codes).
 */
#ifndef TRELLIS_CORE_ESCROW_H
#define TRELLIS_CORE_ESCROW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/host.h>

/* An access code: 20 characters of Crockford base32 (100 bits) in groups
 * of 4 ("ABCD-EFGH-..."), so a hash of it cannot be searched offline. */
#define ESCROW_CODE_LEN 24
#define ESCROW_HASH_HEX 65

/* Makes a random access code (buf >= ESCROW_CODE_LEN + 1). */
int tr_escrow_code_new(char *buf, size_t len);
/* Makes a random password of len-1 characters. */
int tr_escrow_password_new(char *buf, size_t len);
/* The hex hash of a code, spaces, dashes and case ignored. */
void tr_escrow_code_hash(const char *code, char out[ESCROW_HASH_HEX]);

/* The withdraw token of a code (hex; see above). */
void tr_escrow_withdraw_token(const char *code, char out[ESCROW_HASH_HEX]);
/* The hash the escrow stores a withdraw token under (hex). */
void tr_escrow_withdraw_hash(const char *token, char out[ESCROW_HASH_HEX]);

/* Base64 (libsodium's original variant) of bytes; malloc'd. */
char *tr_escrow_b64(const unsigned char *p, size_t n);
/* Decodes into a malloc'd buffer; NULL when not base64. */
unsigned char *tr_escrow_unb64(const char *s, size_t *n);

/* One request to the escrow at url, with a timeout; 0 and *reply, or a
 * TRELLIS_E_* code set on call (UNAVAILABLE when it does not answer). */
int tr_escrow_call(const char *url, json_t *req, int timeout_ms, json_t **reply,
		   trellis_call_t *call);

/* Seals password to the escrow's public key (base64) and deposits it
 * under code's hash until expires_at. */
int tr_escrow_deposit(const char *url, const char *pubkey_b64, const char *code,
		      const char *password, int64_t expires_at,
		      trellis_call_t *call);
/* Fetches (and so removes) the entry of code for who, signed with the
 * engineer's secret key engineer_sk (engineer.h); the password (malloc'd,
 * the caller wipes and frees it) is opened with a one-time key pair made
 * here. */
int tr_escrow_fetch(const char *url, const char *code, const char *who,
		    const unsigned char *engineer_sk, char **password,
		    trellis_call_t *call);
/* The same, the password sealed to the caller's reply_key (base64 X25519)
 * instead of opened here, with the proof the engineer's client made for
 * that code and reply_key (engineer.h; NULL: none, the escrow refuses):
 * *sealed (malloc'd base64) is what the escrow answered, for the
 * requester to open, and *engineer (malloc'd, may be NULL) the name the
 * escrow knows the engineer by.  The password is never in clear on this
 * side. */
int tr_escrow_fetch_sealed(const char *url, const char *code, const char *who,
			   const char *reply_key, json_t *proof, char **sealed,
			   char **engineer, trellis_call_t *call);
/* Opens a sealed answer (base64) with a key pair; the password is
 * malloc'd (the caller wipes and frees it), NULL when it does not open. */
char *tr_escrow_open_sealed(const char *sealed, const unsigned char *pk,
			    const unsigned char *sk);
/* Deletes the entry of code (gone: success). */
int tr_escrow_delete(const char *url, const char *code, trellis_call_t *call);
/* Deletes the entry whose withdraw token is token (gone: success). */
int tr_escrow_withdraw(const char *url, const char *token,
		       trellis_call_t *call);

#endif
