/* SPDX-License-Identifier: Apache-2.0 */
/* test_link.c - the secure link (core/link/link.c): a handshake opens
 * both ends with matching keys and frames flow both ways; a replayed,
 * reordered, dropped, tampered or truncated frame is refused and closes
 * the link; a server other than the pinned one is refused; an agent's
 * signature verifies on its own connection and on no other (a captured
 * handshake replayed to the server opens nothing); CLOSE ends cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/link/link.h"

static struct tr_link_keypair core_kx, agent_id;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(tr_link_init(), 0);
	tr_link_kx_keypair(&core_kx);
	tr_link_sign_keypair(&agent_id);
	return 0;
}

/* A whole handshake; the HELLO and CHALLENGE bytes are kept in h and c. */
static void open_pair(struct tr_link *cl, struct tr_link *sv,
		      unsigned char *h, int *hlen, unsigned char *c)
{
	*hlen = tr_link_client_hello(cl, TR_LINK_ROLE_AGENT, core_kx.pk,
				     "endpoint=tcp://10.0.0.1:7450;name=a1", h);
	assert_true(*hlen > 0);
	assert_int_equal(tr_link_server_accept(sv, &core_kx, h, (size_t)*hlen, c),
			 0);
	assert_int_equal(tr_link_client_finish(cl, c, TR_LINK_CHALLENGE_LEN), 0);
	assert_int_equal(cl->state, TR_LINK_OPEN);
	assert_int_equal(sv->state, TR_LINK_OPEN);
	assert_string_equal(sv->params, "endpoint=tcp://10.0.0.1:7450;name=a1");
}

static long seal(struct tr_link *l, const char *s, unsigned char *out)
{
	return tr_link_seal(l, TR_LINK_DATA, s, strlen(s), out);
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct tr_link cl, sv;
	unsigned char h[TR_LINK_HELLO_MAX], c[TR_LINK_CHALLENGE_LEN];
	int hlen;
	open_pair(&cl, &sv, h, &hlen, c);
	unsigned char f[256], p[256];
	enum tr_link_kind k;
	for (int i = 0; i < 3; i++) {
		long n = seal(&cl, "hello core", f);
		assert_int_equal(n, 10 + TR_LINK_OVERHEAD);
		assert_null(memmem(f, (size_t)n, "hello", 5));
		assert_int_equal(tr_link_open(&sv, f, (size_t)n, &k, p), 10);
		assert_int_equal(k, TR_LINK_DATA);
		assert_memory_equal(p, "hello core", 10);
		n = seal(&sv, "hi agent", f);
		assert_int_equal(tr_link_open(&cl, f, (size_t)n, &k, p), 8);
		assert_memory_equal(p, "hi agent", 8);
	}
	/* Empty message, and the clean end. */
	long n = tr_link_seal(&cl, TR_LINK_DATA, "", 0, f);
	assert_int_equal(tr_link_open(&sv, f, (size_t)n, &k, p), 0);
	n = tr_link_seal(&cl, TR_LINK_CLOSE, "bye", 3, f);
	assert_int_equal(cl.state, TR_LINK_CLOSED);
	assert_int_equal(tr_link_open(&sv, f, (size_t)n, &k, p), 3);
	assert_int_equal(k, TR_LINK_CLOSE);
	assert_int_equal(sv.state, TR_LINK_CLOSED);
	assert_true(seal(&sv, "x", f) < 0);
}

static void test_replay_reorder_truncate(void **state)
{
	(void)state;
	struct tr_link cl, sv;
	unsigned char h[TR_LINK_HELLO_MAX], c[TR_LINK_CHALLENGE_LEN];
	unsigned char f0[64], f1[64], f2[64], p[64];
	enum tr_link_kind k;
	int hlen;

	/* Replayed. */
	open_pair(&cl, &sv, h, &hlen, c);
	long n0 = seal(&cl, "zero", f0);
	assert_int_equal(tr_link_open(&sv, f0, (size_t)n0, &k, p), 4);
	assert_true(tr_link_open(&sv, f0, (size_t)n0, &k, p) < 0);
	assert_non_null(strstr(sv.why, "replayed"));
	assert_int_equal(sv.state, TR_LINK_CLOSED);

	/* Reordered: frame 1 before frame 0. */
	open_pair(&cl, &sv, h, &hlen, c);
	n0 = seal(&cl, "zero", f0);
	long n1 = seal(&cl, "one", f1);
	assert_true(tr_link_open(&sv, f1, (size_t)n1, &k, p) < 0);
	assert_non_null(strstr(sv.why, "out of order"));
	/* ... and closed: even the right one is refused now. */
	assert_true(tr_link_open(&sv, f0, (size_t)n0, &k, p) < 0);

	/* Truncated, tampered, and a sequence number rewritten. */
	open_pair(&cl, &sv, h, &hlen, c);
	n0 = seal(&cl, "zero", f0);
	assert_true(tr_link_open(&sv, f0, (size_t)n0 - 1, &k, p) < 0);
	assert_non_null(strstr(sv.why, "authentication"));
	open_pair(&cl, &sv, h, &hlen, c);
	n0 = seal(&cl, "zero", f0);
	f0[TR_LINK_HDR + 2] ^= 1;
	assert_true(tr_link_open(&sv, f0, (size_t)n0, &k, p) < 0);
	open_pair(&cl, &sv, h, &hlen, c);
	n0 = seal(&cl, "zero", f0);
	n1 = seal(&cl, "one", f1);
	memcpy(f2, f1, (size_t)n1);
	f2[8] = 0; /* frame 1 claiming to be frame 0 */
	assert_true(tr_link_open(&sv, f2, (size_t)n1, &k, p) < 0);
	assert_non_null(strstr(sv.why, "authentication"));

	/* A frame from another link (same keys pinned, other session). */
	struct tr_link cl2, sv2;
	open_pair(&cl2, &sv2, h, &hlen, c);
	open_pair(&cl, &sv, h, &hlen, c);
	n0 = seal(&cl2, "zero", f0);
	assert_true(tr_link_open(&sv, f0, (size_t)n0, &k, p) < 0);
}

static void test_wrong_server(void **state)
{
	(void)state;
	struct tr_link cl, sv;
	struct tr_link_keypair other;
	tr_link_kx_keypair(&other);
	unsigned char h[TR_LINK_HELLO_MAX], c[TR_LINK_CHALLENGE_LEN];
	/* An impostor that sends its own key: not the pinned one. */
	int hlen = tr_link_client_hello(&cl, TR_LINK_ROLE_AGENT, core_kx.pk,
					"", h);
	assert_int_equal(tr_link_server_accept(&sv, &other, h, (size_t)hlen, c),
			 0);
	assert_true(tr_link_client_finish(&cl, c, sizeof c) < 0);
	assert_non_null(strstr(cl.why, "pinned"));
	/* An impostor that claims the pinned key but lacks its secret. */
	hlen = tr_link_client_hello(&cl, TR_LINK_ROLE_AGENT, core_kx.pk, "", h);
	assert_int_equal(tr_link_server_accept(&sv, &other, h, (size_t)hlen, c),
			 0);
	memcpy(c + 72, core_kx.pk, 32);
	assert_true(tr_link_client_finish(&cl, c, sizeof c) < 0);
	assert_non_null(strstr(cl.why, "confirmation"));
	/* Malformed HELLOs. */
	hlen = tr_link_client_hello(&cl, TR_LINK_ROLE_AGENT, core_kx.pk, "ab", h);
	assert_true(tr_link_server_accept(&sv, &core_kx, h, (size_t)hlen - 1, c) < 0);
	h[6] = 9;
	assert_true(tr_link_server_accept(&sv, &core_kx, h, (size_t)hlen, c) < 0);
	assert_non_null(strstr(sv.why, "role"));
}

static void test_signature_bound(void **state)
{
	(void)state;
	struct tr_link cl, sv, cl2, sv2;
	unsigned char h[TR_LINK_HELLO_MAX], c[TR_LINK_CHALLENGE_LEN];
	unsigned char sig[TR_LINK_SIG], sig2[TR_LINK_SIG];
	int hlen;
	open_pair(&cl, &sv, h, &hlen, c);
	tr_link_sign(&cl, &agent_id, sig);
	assert_int_equal(tr_link_verify(&sv, agent_id.pk, sig), 0);
	struct tr_link_keypair other;
	tr_link_sign_keypair(&other);
	assert_true(tr_link_verify(&sv, other.pk, sig) < 0);

	/* The captured HELLO replayed to the server: a new challenge, new
	 * keys; the old signature does not verify, the old first frame does
	 * not open. */
	unsigned char f[128], p[128];
	enum tr_link_kind k;
	long n = tr_link_seal(&cl, TR_LINK_DATA, sig, sizeof sig, f);
	unsigned char c2[TR_LINK_CHALLENGE_LEN];
	assert_int_equal(tr_link_server_accept(&sv2, &core_kx, h, (size_t)hlen,
					       c2), 0);
	assert_memory_not_equal(c, c2, 72);
	assert_true(tr_link_verify(&sv2, agent_id.pk, sig) < 0);
	assert_true(tr_link_open(&sv2, f, (size_t)n, &k, p) < 0);

	open_pair(&cl2, &sv2, h, &hlen, c);
	tr_link_sign(&cl2, &agent_id, sig2);
	assert_memory_not_equal(sig, sig2, sizeof sig);
	assert_true(tr_link_verify(&sv2, agent_id.pk, sig) < 0);
	assert_int_equal(tr_link_verify(&sv2, agent_id.pk, sig2), 0);
}

static void test_hex_hash(void **state)
{
	(void)state;
	unsigned char b[4] = {0xde, 0xad, 0x00, 0x01}, b2[4];
	char hex[9], hash[65], hash2[65];
	tr_link_hex(b, 4, hex);
	assert_string_equal(hex, "dead0001");
	assert_int_equal(tr_link_unhex(hex, b2, 4), 0);
	assert_memory_equal(b, b2, 4);
	assert_true(tr_link_unhex("dead00", b2, 4) < 0);
	assert_true(tr_link_unhex("zzad0001", b2, 4) < 0);
	tr_link_token_hash("tre_abc", hash);
	tr_link_token_hash("tre_abd", hash2);
	assert_int_equal(strlen(hash), 64);
	assert_string_not_equal(hash, hash2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_replay_reorder_truncate),
		cmocka_unit_test(test_wrong_server),
		cmocka_unit_test(test_signature_bound),
		cmocka_unit_test(test_hex_hash),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
