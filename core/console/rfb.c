/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rfb.c - the RFB handshakes of trellis-console (rfb.h).  Every message
 * has a known size before it is read (the reason strings are bounded to
 * our buffer; longer ones are cut), so a hostile peer can make neither
 * side buffer more than a few dozen bytes.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* DES: RFB's own, no other choice */
#include <openssl/des.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rfb.h"

enum {
	UP_VERSION,
	UP_NTYPES,
	UP_TYPES,
	UP_TYPE33,
	UP_CHALLENGE,
	UP_RESULT,
	UP_REASON_LEN,
	UP_REASON,
	UP_DONE,
	UP_FAILED,
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* "RFB 003.008\n" -> 8; -1 when it is not a 3.x version line. */
static int version_minor(const unsigned char *v)
{
	if (memcmp(v, "RFB 003.", 8) != 0 || v[11] != '\n')
		return -1;
	int m = 0;
	for (int i = 8; i < 11; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		m = m * 10 + (v[i] - '0');
	}
	return m;
}

static int put(unsigned char *out, size_t outcap, size_t *outlen,
	       const void *p, size_t n)
{
	if (*outlen + n > outcap)
		return -1;
	memcpy(out + *outlen, p, n);
	*outlen += n;
	return 0;
}

/* The reason text of a failure, printable characters only. */
static void set_reason(char *err, size_t errlen, const char *what,
		       const unsigned char *r, size_t n)
{
	char clean[96];
	size_t j = 0;
	for (size_t i = 0; i < n && j + 1 < sizeof clean; i++)
		clean[j++] = (r[i] >= 32 && r[i] < 127) ? (char)r[i] : '?';
	clean[j] = '\0';
	snprintf(err, errlen, "%s: %s", what, clean);
}

void rfb_vnc_auth(const char *password, const unsigned char challenge[16],
		  unsigned char response[16])
{
	DES_cblock key = {0};
	for (int i = 0; i < 8 && password[i]; i++) {
		unsigned char c = (unsigned char)password[i], r = 0;
		for (int b = 0; b < 8; b++)
			if (c & (1u << b))
				r |= (unsigned char)(0x80u >> b);
		key[i] = r;
	}
	DES_key_schedule ks;
	DES_set_key_unchecked(&key, &ks);
	DES_ecb_encrypt((const_DES_cblock *)challenge, (DES_cblock *)response,
			&ks, DES_ENCRYPT);
	DES_ecb_encrypt((const_DES_cblock *)(challenge + 8),
			(DES_cblock *)(response + 8), &ks, DES_ENCRYPT);
	memset(&ks, 0, sizeof ks);
	memset(key, 0, sizeof key);
}

void rfb_up_init(struct rfb_up *u, const char *password)
{
	memset(u, 0, sizeof *u);
	snprintf(u->password, sizeof u->password, "%s", password ? password : "");
	u->state = UP_VERSION;
	u->need = 12;
}

static enum rfb_rc up_fail(struct rfb_up *u, const char *msg)
{
	if (msg)
		snprintf(u->err, sizeof u->err, "%s", msg);
	u->state = UP_FAILED;
	return RFB_FAIL;
}

/* One whole message of u->need bytes in u->buf. */
static enum rfb_rc up_step(struct rfb_up *u, unsigned char *out, size_t outcap,
			   size_t *outlen)
{
	const unsigned char *m = u->buf;
	switch (u->state) {
	case UP_VERSION: {
		int minor = version_minor(m);
		if (minor < 0)
			return up_fail(u, "the VNC server does not speak RFB 3.x");
		u->minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
		char v[13];
		snprintf(v, sizeof v, "RFB 003.%03d\n", u->minor);
		if (put(out, outcap, outlen, v, 12) < 0)
			return up_fail(u, "internal: no room");
		u->state = u->minor >= 7 ? UP_NTYPES : UP_TYPE33;
		u->need = u->minor >= 7 ? 1 : 4;
		return RFB_MORE;
	}
	case UP_NTYPES:
		if (m[0] == 0) {
			u->state = UP_REASON_LEN;
			u->need = 4;
		} else {
			u->state = UP_TYPES;
			u->need = m[0];
		}
		return RFB_MORE;
	case UP_TYPES: {
		int has_none = 0, has_vnc = 0;
		for (size_t i = 0; i < u->need; i++) {
			has_none |= m[i] == 1;
			has_vnc |= m[i] == 2;
		}
		unsigned char pick;
		if (has_vnc && u->password[0])
			pick = 2;
		else if (has_none)
			pick = 1;
		else
			return up_fail(u, has_vnc ? "the VNC server wants a "
						    "password and none was given"
						  : "the VNC server offers no "
						    "security type we speak");
		if (put(out, outcap, outlen, &pick, 1) < 0)
			return up_fail(u, "internal: no room");
		if (pick == 2) {
			u->state = UP_CHALLENGE;
			u->need = 16;
			return RFB_MORE;
		}
		if (u->minor == 8) {
			u->state = UP_RESULT;
			u->need = 4;
			return RFB_MORE;
		}
		u->state = UP_DONE;
		return RFB_DONE;
	}
	case UP_TYPE33:
		switch (be32(m)) {
		case 0:
			u->state = UP_REASON_LEN;
			u->need = 4;
			return RFB_MORE;
		case 1:
			u->state = UP_DONE;
			return RFB_DONE;
		case 2:
			if (!u->password[0])
				return up_fail(u, "the VNC server wants a "
						  "password and none was given");
			u->state = UP_CHALLENGE;
			u->need = 16;
			return RFB_MORE;
		default:
			return up_fail(u, "the VNC server offers no security "
					  "type we speak");
		}
	case UP_CHALLENGE: {
		unsigned char resp[16];
		rfb_vnc_auth(u->password, m, resp);
		int rc = put(out, outcap, outlen, resp, 16);
		memset(resp, 0, sizeof resp);
		if (rc < 0)
			return up_fail(u, "internal: no room");
		u->state = UP_RESULT;
		u->need = 4;
		return RFB_MORE;
	}
	case UP_RESULT:
		if (be32(m) == 0) {
			u->state = UP_DONE;
			memset(u->password, 0, sizeof u->password);
			return RFB_DONE;
		}
		if (u->minor == 8) {
			u->state = UP_REASON_LEN;
			u->need = 4;
			snprintf(u->err, sizeof u->err,
				 "the VNC server refused the password");
			return RFB_MORE;
		}
		return up_fail(u, "the VNC server refused the password");
	case UP_REASON_LEN: {
		uint32_t n = be32(m);
		if (n == 0)
			return up_fail(u, u->err[0] ? NULL
						    : "the VNC server refused "
						      "the connection");
		u->state = UP_REASON;
		u->need = n < sizeof u->buf ? n : sizeof u->buf;
		return RFB_MORE;
	}
	case UP_REASON:
		set_reason(u->err, sizeof u->err, "the VNC server refused", m,
			   u->need);
		return up_fail(u, NULL);
	default:
		return up_fail(u, "internal: bad state");
	}
}

enum rfb_rc rfb_up_feed(struct rfb_up *u, const unsigned char *in, size_t n,
			size_t *used, unsigned char *out, size_t outcap,
			size_t *outlen)
{
	*used = 0;
	*outlen = 0;
	if (u->state == UP_DONE)
		return RFB_DONE;
	if (u->state == UP_FAILED)
		return RFB_FAIL;
	while (*used < n) {
		size_t take = u->need - u->len;
		if (take > n - *used)
			take = n - *used;
		memcpy(u->buf + u->len, in + *used, take);
		u->len += take;
		*used += take;
		if (u->len < u->need)
			return RFB_MORE;
		u->len = 0;
		enum rfb_rc rc = up_step(u, out, outcap, outlen);
		if (rc != RFB_MORE)
			return rc;
	}
	return RFB_MORE;
}

/* ---- the browser's side ---- */

enum { DN_VERSION, DN_CHOICE, DN_DONE, DN_FAILED };

size_t rfb_down_init(struct rfb_down *d, unsigned char *out, size_t outcap)
{
	memset(d, 0, sizeof *d);
	d->state = DN_VERSION;
	if (outcap < 12)
		return 0;
	memcpy(out, "RFB 003.008\n", 12);
	return 12;
}

enum rfb_rc rfb_down_feed(struct rfb_down *d, const unsigned char *in,
			  size_t n, size_t *used, unsigned char *out,
			  size_t outcap, size_t *outlen)
{
	*used = 0;
	*outlen = 0;
	while (*used < n) {
		if (d->state == DN_DONE)
			return RFB_DONE;
		if (d->state == DN_FAILED)
			return RFB_FAIL;
		size_t need = d->state == DN_VERSION ? 12 : 1;
		size_t take = need - d->len;
		if (take > n - *used)
			take = n - *used;
		memcpy(d->buf + d->len, in + *used, take);
		d->len += take;
		*used += take;
		if (d->len < need)
			return RFB_MORE;
		d->len = 0;
		if (d->state == DN_VERSION) {
			int minor = version_minor(d->buf);
			if (minor < 3) {
				snprintf(d->err, sizeof d->err,
					 "the browser does not speak RFB 3.x");
				d->state = DN_FAILED;
				return RFB_FAIL;
			}
			if (minor < 7) { /* 3.3: the server names the type */
				static const unsigned char none33[4] = {0, 0, 0,
									1};
				if (put(out, outcap, outlen, none33, 4) < 0)
					return RFB_FAIL;
				d->state = DN_DONE;
				return RFB_DONE;
			}
			static const unsigned char types[2] = {1, 1};
			if (put(out, outcap, outlen, types, 2) < 0)
				return RFB_FAIL;
			/* 3.7 sends no SecurityResult for None; 3.8 does. */
			d->send_result = minor >= 8;
			d->state = DN_CHOICE;
			continue;
		}
		if (d->buf[0] != 1) {
			snprintf(d->err, sizeof d->err,
				 "the browser chose security type %u, not None",
				 d->buf[0]);
			d->state = DN_FAILED;
			return RFB_FAIL;
		}
		if (d->send_result) {
			static const unsigned char ok[4] = {0, 0, 0, 0};
			if (put(out, outcap, outlen, ok, 4) < 0)
				return RFB_FAIL;
		}
		d->state = DN_DONE;
		return RFB_DONE;
	}
	return d->state == DN_DONE ? RFB_DONE : RFB_MORE;
}
