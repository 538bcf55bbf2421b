/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for trellis-console's parsers (core/console): the
 * first byte picks one, the second how the rest is cut into chunks (the
 * network's arbitrary splits):
 *   0  rfb_up: bytes from a VNC server
 *   1  rfb_down: bytes from a browser (WebSocket payloads)
 *   2  cp_parse_events: the image-stripe page's input lines
 * Checks: no crash; the bytes a handshake consumed never exceed what it
 * was given; what it wants to send fits its buffer; a failure says why;
 * nothing is fed after an end; events are in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/console/console.h"
#include "../../../core/console/rfb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void feed_up(const uint8_t *d, size_t n, size_t chunk)
{
	struct rfb_up u;
	rfb_up_init(&u, (n & 1) ? "s3cret!" : "");
	size_t off = 0;
	while (off < n) {
		size_t c = n - off < chunk ? n - off : chunk;
		unsigned char out[64];
		size_t used, olen;
		enum rfb_rc rc = rfb_up_feed(&u, d + off, c, &used, out,
					     sizeof out, &olen);
		if (used > c || olen > sizeof out)
			abort();
		if (rc == RFB_FAIL && !u.err[0])
			abort();
		if (rc != RFB_MORE)
			return;
		if (used != c) /* MORE consumes all it was given */
			abort();
		off += c;
	}
}

static void feed_down(const uint8_t *d, size_t n, size_t chunk)
{
	struct rfb_down s;
	unsigned char out[16];
	if (rfb_down_init(&s, out, sizeof out) != 12)
		abort();
	size_t off = 0;
	while (off < n) {
		size_t c = n - off < chunk ? n - off : chunk;
		size_t used, olen;
		enum rfb_rc rc = rfb_down_feed(&s, d + off, c, &used, out,
					       sizeof out, &olen);
		if (used > c || olen > sizeof out)
			abort();
		if (rc == RFB_FAIL && !s.err[0])
			abort();
		if (rc != RFB_MORE)
			return;
		off += used;
		if (!used)
			abort();
	}
}

static void events(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	memcpy(s, d, n);
	s[n] = '\0';
	struct cp_event ev[64];
	int k = cp_parse_events(s, 720, 400, ev, 64);
	if (k < 0 || k > 64)
		abort();
	for (int i = 0; i < k; i++) {
		if (ev[i].kind == 'p' &&
		    (ev[i].a < 0 || ev[i].a >= 720 || ev[i].b < 0 ||
		     ev[i].b >= 400))
			abort();
		if (ev[i].kind != 'p' && ev[i].kind != 'k')
			abort();
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = (size_t)(data[1] % 32) + 1;
	switch (data[0] % 3) {
	case 0:
		feed_up(data + 2, size - 2, chunk);
		break;
	case 1:
		feed_down(data + 2, size - 2, chunk);
		break;
	default:
		events(data + 2, size - 2);
	}
	return 0;
}
