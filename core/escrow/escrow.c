/* SPDX-License-Identifier: Apache-2.0 */
/* escrow.c - the escrow client and shared helpers (escrow.h). */
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <sodium.h>

#include "../host/host.h"
#include "engineer.h"
#include "escrow.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int random_chars(char *buf, size_t n, const char *alphabet)
{
	size_t na = strlen(alphabet);
	if (sodium_init() < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		buf[i] = alphabet[randombytes_uniform((uint32_t)na)];
	return 0;
}

int tr_escrow_code_new(char *buf, size_t len)
{
	char raw[20];
	if (len < ESCROW_CODE_LEN + 1 || random_chars(raw, sizeof raw, crockford))
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < sizeof raw; i++) {
		if (i && i % 4 == 0)
			buf[o++] = '-';
		buf[o++] = raw[i];
	}
	buf[o] = 0;
	sodium_memzero(raw, sizeof raw);
	return 0;
}

int tr_escrow_password_new(char *buf, size_t len)
{
	if (len < 2 || random_chars(buf, len - 1,
				    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqr"
				    "stuvwxyz23456789"))
		return -1;
	buf[len - 1] = 0;
	return 0;
}

/* The code as typed, without dashes, spaces or lower case. */
static size_t code_norm(const char *code, char *norm, size_t cap)
{
	size_t n = 0;
	for (const char *p = code ? code : ""; *p && n + 1 < cap; p++) {
		char ch = *p;
		if (ch == '-' || ch == ' ')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		norm[n++] = ch;
	}
	return n;
}

static void keyed_hex(const char *data, size_t n, const char *key,
		      char out[ESCROW_HASH_HEX])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)data, n,
			   (const unsigned char *)key, strlen(key));
	sodium_bin2hex(out, ESCROW_HASH_HEX, h, sizeof h);
}

void tr_escrow_code_hash(const char *code, char out[ESCROW_HASH_HEX])
{
	char norm[128];
	size_t n = code_norm(code, norm, sizeof norm);
	keyed_hex(norm, n, "trellis-escrow-v1", out);
	sodium_memzero(norm, sizeof norm);
}

void tr_escrow_withdraw_token(const char *code, char out[ESCROW_HASH_HEX])
{
	char norm[128];
	size_t n = code_norm(code, norm, sizeof norm);
	keyed_hex(norm, n, "trellis-escrow-withdraw-v1", out);
	sodium_memzero(norm, sizeof norm);
}

void tr_escrow_withdraw_hash(const char *token, char out[ESCROW_HASH_HEX])
{
	keyed_hex(token ? token : "", token ? strlen(token) : 0,
		  "trellis-escrow-withdraw-hash-v1", out);
}

char *tr_escrow_b64(const unsigned char *p, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);
	if (s)
		sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

unsigned char *tr_escrow_unb64(const char *s, size_t *n)
{
	size_t cap = s ? strlen(s) : 0;
	unsigned char *b = s ? malloc(cap + 1) : NULL;
	if (b && sodium_base642bin(b, cap + 1, s, cap, NULL, n, NULL,
				   sodium_base64_VARIANT_ORIGINAL) == 0)
		return b;
	free(b);
	return NULL;
}

int tr_escrow_call(const char *url, json_t *req, int timeout_ms, json_t **reply,
		   trellis_call_t *call)
{
	int sock = -1, rc = 0;
	char *txt = json_dumps(req, JSON_COMPACT), *buf = NULL;
	*reply = NULL;
	if (!url || !*url) {
		rc = tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				 "escrow: no endpoint configured");
		goto out;
	}
	if (!txt || (sock = nn_socket(AF_SP, NN_REQ)) < 0) {
		rc = tr_call_set(call, TRELLIS_E_NOMEM, "escrow: no socket");
		goto out;
	}
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms,
		      sizeof timeout_ms);
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms,
		      sizeof timeout_ms);
	if (nn_connect(sock, url) < 0 ||
	    nn_send(sock, txt, strlen(txt), 0) < 0) {
		rc = tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				 "escrow %s: %s", url, nn_strerror(nn_errno()));
		goto out;
	}
	int n = nn_recv(sock, &buf, NN_MSG, 0);
	if (n < 0) {
		rc = tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				 "escrow %s does not answer: %s", url,
				 nn_strerror(nn_errno()));
		goto out;
	}
	*reply = json_loadb(buf, (size_t)n, 0, NULL);
	if (!json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		rc = tr_call_set(call, TRELLIS_E_BACKEND,
				 "escrow %s: unreadable answer", url);
		goto out;
	}
	if (!json_is_true(json_object_get(*reply, "ok"))) {
		const char *e = json_string_value(json_object_get(*reply, "error"));
		const char *m = json_string_value(json_object_get(*reply, "message"));
		int code = TRELLIS_E_BACKEND;
		for (int c = -1; e && c >= TRELLIS_E__LAST; c--)
			if (!strcmp(e, trellis_error_name(c)))
				code = c;
		rc = tr_call_set(call, code, "escrow: %s", m ? m : "refused");
		json_decref(*reply);
		*reply = NULL;
	}
out:
	if (buf)
		nn_freemsg(buf);
	if (sock >= 0)
		nn_close(sock);
	free(txt);
	return rc;
}

int tr_escrow_deposit(const char *url, const char *pubkey_b64, const char *code,
		      const char *password, int64_t expires_at,
		      trellis_call_t *call)
{
	size_t kn = 0, pn = strlen(password);
	unsigned char *pk = tr_escrow_unb64(pubkey_b64, &kn);
	if (sodium_init() < 0 || !pk || kn != crypto_box_PUBLICKEYBYTES) {
		free(pk);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "escrow: the configured public key is not "
				   "a base64 X25519 key");
	}
	unsigned char *box = malloc(pn + crypto_box_SEALBYTES);
	char hash[ESCROW_HASH_HEX], wd[ESCROW_HASH_HEX];
	int rc;
	if (!box) {
		free(pk);
		return tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	}
	crypto_box_seal(box, (const unsigned char *)password, pn, pk);
	char *sealed = tr_escrow_b64(box, pn + crypto_box_SEALBYTES);
	tr_escrow_code_hash(code, hash);
	tr_escrow_withdraw_token(code, wd);
	json_t *req = json_pack("{s:s, s:s, s:s, s:I, s:s}", "op", "deposit",
				"code_hash", hash, "sealed", sealed,
				"expires_at", (json_int_t)expires_at,
				"withdraw", wd);
	json_t *reply = NULL;
	rc = tr_escrow_call(url, req, 5000, &reply, call);
	json_decref(reply);
	json_decref(req);
	free(sealed);
	free(box);
	free(pk);
	return rc;
}

int tr_escrow_fetch_sealed(const char *url, const char *code, const char *who,
			   const char *reply_key, json_t *proof, char **sealed,
			   char **engineer, trellis_call_t *call)
{
	char hash[ESCROW_HASH_HEX];
	json_t *reply = NULL;
	*sealed = NULL;
	if (engineer)
		*engineer = NULL;
	tr_escrow_code_hash(code, hash);
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:O?}", "op", "fetch",
				"code_hash", hash, "reply_key",
				reply_key ? reply_key : "", "who", who ? who : "",
				"proof", proof);
	int rc = tr_escrow_call(url, req, 5000, &reply, call);
	const char *b = json_string_value(json_object_get(reply, "sealed"));
	if (!rc && !b)
		rc = tr_call_set(call, TRELLIS_E_BACKEND,
				 "escrow: the answer holds no sealed password");
	if (!rc && !(*sealed = strdup(b)))
		rc = tr_call_set(call, TRELLIS_E_NOMEM, "out of memory");
	const char *eng =
	    json_string_value(json_object_get(reply, "engineer"));
	if (!rc && engineer && eng)
		*engineer = strdup(eng);
	json_decref(req);
	json_decref(reply);
	return rc;
}

char *tr_escrow_open_sealed(const char *sealed, const unsigned char *pk,
			    const unsigned char *sk)
{
	size_t n = 0;
	unsigned char *box = tr_escrow_unb64(sealed, &n);
	char *pw = NULL;
	if (box && n > crypto_box_SEALBYTES &&
	    (pw = calloc(1, n - crypto_box_SEALBYTES + 1)) &&
	    crypto_box_seal_open((unsigned char *)pw, box, n, pk, sk) != 0) {
		free(pw);
		pw = NULL;
	}
	free(box);
	return pw;
}

int tr_escrow_fetch(const char *url, const char *code, const char *who,
		    const unsigned char *engineer_sk, char **password,
		    trellis_call_t *call)
{
	unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char *sealed = NULL;
	*password = NULL;
	if (sodium_init() < 0)
		return tr_call_set(call, TRELLIS_E_IO, "libsodium init failed");
	crypto_box_keypair(pk, sk);
	char *pkb = tr_escrow_b64(pk, sizeof pk);
	json_t *proof =
	    engineer_sk ? tr_escrow_proof_new(engineer_sk, code, pkb) : NULL;
	int rc = tr_escrow_fetch_sealed(url, code, who, pkb, proof, &sealed,
					NULL, call);
	json_decref(proof);
	if (!rc && !(*password = tr_escrow_open_sealed(sealed, pk, sk)))
		rc = tr_call_set(call, TRELLIS_E_BACKEND,
				 "escrow: cannot open its answer");
	sodium_memzero(sk, sizeof sk);
	free(sealed);
	free(pkb);
	return rc;
}

int tr_escrow_withdraw(const char *url, const char *token, trellis_call_t *call)
{
	json_t *reply = NULL;
	json_t *req = json_pack("{s:s, s:s}", "op", "delete", "withdraw",
				token ? token : "");
	int rc = tr_escrow_call(url, req, 5000, &reply, call);
	json_decref(reply);
	json_decref(req);
	return rc == TRELLIS_E_NOTFOUND ? 0 : rc;
}

int tr_escrow_delete(const char *url, const char *code, trellis_call_t *call)
{
	char wd[ESCROW_HASH_HEX];
	tr_escrow_withdraw_token(code, wd);
	return tr_escrow_withdraw(url, wd, call);
}
