/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escrow_client.c - what an HTTP client of POST /api/v1/support/fetch
 * does on the engineer's side (maint.t), with the core's escrow code as
 * `trellis support fetch` uses it:
 *   escrow-client request KEYFILE CODE SKFILE
 *     prints the request body {code, reply_key, proof}: a one-time X25519
 *     key pair (its secret, base64, into SKFILE, 0600) and the proof
 *     signed with the engineer's key in KEYFILE;
 *   escrow-client open SKFILE < ANSWER
 *     opens the answer's "sealed" (the HTTP answer's result.sealed) with
 *     SKFILE's key and prints the password.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../../../core/escrow/engineer.h"
#include "../../../core/escrow/escrow.h"
#include "../../../core/host/host.h"

static int request(const char *keyfile, const char *code, const char *skfile)
{
	unsigned char esk[ESCROW_ENGINEER_SK_BYTES];
	unsigned char pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_escrow_engineer_key_load(keyfile, esk, &call) < 0) {
		fprintf(stderr, "escrow-client: %s\n", call.message);
		return 1;
	}
	crypto_box_keypair(pk, sk);
	char *pkb = tr_escrow_b64(pk, sizeof pk),
	     *skb = tr_escrow_b64(sk, sizeof sk);
	int fd = open(skfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, skb, strlen(skb)) < 0) {
		perror(skfile);
		return 1;
	}
	close(fd);
	json_t *body =
	    json_pack("{s:s, s:s, s:o}", "code", code, "reply_key", pkb,
		      "proof", tr_escrow_proof_new(esk, code, pkb));
	char *txt = json_dumps(body, JSON_COMPACT);
	puts(txt);
	free(txt);
	json_decref(body);
	sodium_memzero(esk, sizeof esk);
	sodium_memzero(sk, sizeof sk);
	free(pkb);
	free(skb);
	return 0;
}

static int open_answer(const char *skfile)
{
	char skb[128] = "";
	FILE *f = fopen(skfile, "r");
	if (!f || !fgets(skb, sizeof skb, f)) {
		perror(skfile);
		return 1;
	}
	fclose(f);
	size_t n = 0;
	unsigned char *sk = tr_escrow_unb64(skb, &n),
		      pk[crypto_box_PUBLICKEYBYTES];
	json_t *ans = json_loadf(stdin, 0, NULL);
	json_t *res = json_object_get(ans, "result");
	const char *sealed = json_string_value(
	    json_object_get(res ? res : ans, "sealed"));
	if (!sk || n != crypto_box_SECRETKEYBYTES || !sealed) {
		fprintf(stderr, "escrow-client: no sealed answer\n");
		return 1;
	}
	crypto_scalarmult_base(pk, sk);
	char *pw = tr_escrow_open_sealed(sealed, pk, sk);
	if (!pw) {
		fprintf(stderr, "escrow-client: the answer does not open\n");
		return 1;
	}
	puts(pw);
	sodium_memzero(pw, strlen(pw));
	free(pw);
	sodium_memzero(sk, n);
	free(sk);
	json_decref(ans);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc == 5 && !strcmp(argv[1], "request"))
		return request(argv[2], argv[3], argv[4]);
	if (argc == 3 && !strcmp(argv[1], "open"))
		return open_answer(argv[2]);
	fputs("usage: escrow-client request KEYFILE CODE SKFILE | open SKFILE "
	      "< ANSWER\n",
	      stderr);
	return 2;
}
