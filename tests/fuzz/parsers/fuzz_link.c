/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the secure link (core/link/link.c), the first code
 * to read a peer's bytes.  The input is cut into pieces, each a 2-byte
 * big-endian length then its bytes.  Piece 0 goes to the server as a
 * HELLO and to a client (that sent a real HELLO) as its CHALLENGE; the
 * rest go as frames to a server link opened by a real handshake, and to
 * the client.  Refusals must say why and close the link; a frame the
 * fuzzer forged must never open (it cannot know the keys), except the
 * real frames it may splice in: piece bytes "\xffR" + n stand for the
 * n-th frame really sealed by the client, so replays and reorders of
 * true frames are driven too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/link/link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tr_link_keypair kx;
static int ready;

static void must_refuse(const struct tr_link *l)
{
	if (!l->why[0] || l->state != TR_LINK_CLOSED)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		if (tr_link_init() < 0)
			abort();
		tr_link_kx_keypair(&kx);
		ready = 1;
	}
	static unsigned char buf[70000], out[70000];
	size_t off = 0;
	int piece = 0;
	struct tr_link sv, cl, fsv;
	unsigned char h[TR_LINK_HELLO_MAX], c[TR_LINK_CHALLENGE_LEN];
	/* A real pair, with 4 real frames sealed ahead. */
	int hlen = tr_link_client_hello(&cl, TR_LINK_ROLE_AGENT, kx.pk,
					"endpoint=tcp://127.0.0.1:1", h);
	if (tr_link_server_accept(&sv, &kx, h, (size_t)hlen, c) ||
	    tr_link_client_finish(&cl, c, sizeof c))
		abort();
	unsigned char real[4][64];
	long reallen[4];
	for (int i = 0; i < 4; i++)
		reallen[i] = tr_link_seal(&cl, TR_LINK_DATA, "frame", 5, real[i]);
	uint64_t expect = 0;

	while (off + 2 <= size) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];
		off += 2;
		if (n > size - off)
			n = size - off;
		const unsigned char *p = data + off;
		off += n;
		if (piece++ == 0) {
			if (tr_link_server_accept(&fsv, &kx, p, n, out) < 0)
				must_refuse(&fsv);
			struct tr_link fcl;
			tr_link_client_hello(&fcl, TR_LINK_ROLE_API, kx.pk, "", h);
			if (tr_link_client_finish(&fcl, p, n) == 0)
				abort(); /* a forged challenge cannot confirm */
			must_refuse(&fcl);
			continue;
		}
		enum tr_link_kind k;
		int was_open = sv.state == TR_LINK_OPEN;
		if (n >= 3 && p[0] == 0xff && p[1] == 'R') {
			int i = p[2] & 3;
			long r = tr_link_open(&sv, real[i], (size_t)reallen[i], &k,
					      out);
			if (r >= 0 && ((uint64_t)i != expect || r != 5))
				abort(); /* only the next true frame opens */
			if (r >= 0)
				expect++;
			else if (was_open)
				must_refuse(&sv);
			continue;
		}
		memcpy(buf, p, n);
		if (tr_link_open(&sv, buf, n, &k, out) >= 0)
			abort(); /* forged */
		if (tr_link_open(&cl, buf, n, &k, out) >= 0)
			abort();
	}
	return 0;
}
