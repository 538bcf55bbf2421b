/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rfb.h - the two RFB (VNC, RFC 6143) handshakes trellis-console speaks
 * before it relays bytes: as a client to the VM's VNC server (version,
 * security type 2 "VNC authentication" with the one-time password from
 * the core, SecurityResult) and as a server to the browser (version,
 * security type 1 "None": the browser never sees the VNC password).
 * After both end, ClientInit and everything after pass through as is.
 *
 * Pure parsers over byte chunks, no I/O, no allocation: they take bytes
 * as they arrive (any split), put what to send in out, and say whether
 * more is needed, the handshake is done, or it failed (err says why).
 * The fuzz target (tests/fuzz/fuzz_console.c) feeds them arbitrary input.
 */
#ifndef TRELLIS_CONSOLE_RFB_H
#define TRELLIS_CONSOLE_RFB_H

#include <stddef.h>

enum rfb_rc { RFB_MORE = 0, RFB_DONE = 1, RFB_FAIL = -1 };

/* The proxy as a VNC client. */
struct rfb_up {
	int state;
	int minor;              /* the server's 3.x minor version */
	unsigned char buf[256]; /* a partial message: at most 255 types */
	size_t len;
	size_t need;            /* bytes of the current message */
	char password[9];       /* VNC passwords are at most 8 bytes */
	char err[160];
};
void rfb_up_init(struct rfb_up *u, const char *password);
/* Feeds n bytes from the server; appends what to send to out (at most
 * outcap; 64 is always enough) and sets *outlen.  *used gets how many of
 * the n bytes the handshake consumed (the rest, after RFB_DONE, are the
 * server's: it sends nothing before ClientInit, but a chunk may hold
 * more). */
enum rfb_rc rfb_up_feed(struct rfb_up *u, const unsigned char *in, size_t n,
			size_t *used, unsigned char *out, size_t outcap,
			size_t *outlen);

/* The proxy as a VNC server for the browser. */
struct rfb_down {
	int state;
	int send_result;        /* 3.8: a SecurityResult follows None */
	unsigned char buf[16];
	size_t len;
	char err[160];
};
/* Starts it: the server's version line (12 bytes) into out. */
size_t rfb_down_init(struct rfb_down *d, unsigned char *out, size_t outcap);
/* Feeds n bytes from the browser, like rfb_up_feed. */
enum rfb_rc rfb_down_feed(struct rfb_down *d, const unsigned char *in,
			  size_t n, size_t *used, unsigned char *out,
			  size_t outcap, size_t *outlen);

/* The VNC authentication response: challenge (16 bytes) DES-encrypted
 * with the password as key (bits of each byte reversed, RFB's quirk). */
void rfb_vnc_auth(const char *password, const unsigned char challenge[16],
		  unsigned char response[16]);

#endif
