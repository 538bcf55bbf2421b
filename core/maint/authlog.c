/* SPDX-License-Identifier: Apache-2.0 */
/* authlog.c - the sshd log reader of maintenance mode (authlog.h). */
#include <string.h>

#include "authlog.h"

#define LINE_MAX_BYTES 4096

/* The first occurrence of needle in the len bytes at hay, or NULL. */
static const char *find(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	if (n > len)
		return NULL;
	for (size_t i = 0; i + n <= len; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* Copies bytes from p up to (not including) any of stop, or the end, into
 * out (cut short to cap - 1). */
static void copy_until(const char *p, const char *end, const char *stop,
		       char *out, size_t cap)
{
	size_t n = 0;
	while (p < end && !strchr(stop, *p) && *p) {
		if (n + 1 < cap)
			out[n++] = *p;
		p++;
	}
	out[n] = 0;
}

/* The number after "[" at the start (dropbear) or after "sshd[" (OpenSSH). */
static long pid_of(const char *l, const char *end)
{
	const char *p = NULL;
	if (l < end && *l == '[')
		p = l + 1;
	else if ((p = find(l, (size_t)(end - l), "sshd[")))
		p += 5;
	if (!p)
		return -1;
	long v = 0;
	int digits = 0;
	while (p < end && *p >= '0' && *p <= '9' && digits < 9) {
		v = v * 10 + (*p - '0');
		p++;
		digits++;
	}
	return digits && p < end && *p == ']' ? v : -1;
}

/* After marker (found in the line), the text up to stop into out. */
static int field_after(const char *l, const char *end, const char *marker,
		       const char *stop, char *out, size_t cap)
{
	const char *p = find(l, (size_t)(end - l), marker);
	if (!p)
		return 0;
	copy_until(p + strlen(marker), end, stop, out, cap);
	return 1;
}

enum tr_authlog_kind tr_authlog_line(const char *l, size_t len,
				     struct tr_authlog_event *ev)
{
	const char *e = l + len;
	memset(ev, 0, sizeof *ev);
	ev->pid = pid_of(l, e);
	char port[16] = "";
	/* dropbear */
	if (field_after(l, e, "Child connection from ", " \r", ev->from,
			sizeof ev->from))
		ev->kind = TR_AUTHLOG_CONNECT;
	else if (field_after(l, e, "Bad password attempt for '", "'", ev->user,
			     sizeof ev->user)) {
		field_after(l, e, "' from ", " \r", ev->from, sizeof ev->from);
		ev->kind = TR_AUTHLOG_FAILED;
	} else if (field_after(l, e, "Password auth succeeded for '", "'",
			       ev->user, sizeof ev->user) ||
		   field_after(l, e, "Pubkey auth succeeded for '", "'",
			       ev->user, sizeof ev->user)) {
		field_after(l, e, "' from ", " \r", ev->from, sizeof ev->from);
		ev->kind = TR_AUTHLOG_LOGIN;
	} else if (field_after(l, e, "User account '", "'", ev->user,
			       sizeof ev->user) ||
		   find(l, len, "Login attempt for nonexistent user") ||
		   field_after(l, e, "Max auth tries reached - user '", "'",
			       ev->user, sizeof ev->user))
		ev->kind = TR_AUTHLOG_FAILED;
	else if (find(l, len, "Exit before auth")) {
		field_after(l, e, "from <", ">", ev->from, sizeof ev->from);
		ev->kind = TR_AUTHLOG_DROPPED;
	} else if (field_after(l, e, "Exit (", ")", ev->user,
			       sizeof ev->user)) {
		field_after(l, e, "from <", ">", ev->from, sizeof ev->from);
		ev->kind = TR_AUTHLOG_LOGOFF;
	}
	/* OpenSSH */
	else if (field_after(l, e, "Connection from ", " \r", ev->from,
			     sizeof ev->from)) {
		if (field_after(l, e, " port ", " \r", port, sizeof port) &&
		    strlen(ev->from) + strlen(port) + 2 <= sizeof ev->from) {
			strcat(ev->from, ":");
			strcat(ev->from, port);
		}
		ev->kind = TR_AUTHLOG_CONNECT;
	} else if (field_after(l, e, "Failed password for invalid user ", " ",
			       ev->user, sizeof ev->user) ||
		   field_after(l, e, "Failed password for ", " ", ev->user,
			       sizeof ev->user) ||
		   field_after(l, e, "Invalid user ", " ", ev->user,
			       sizeof ev->user)) {
		field_after(l, e, " from ", " \r", ev->from, sizeof ev->from);
		ev->kind = TR_AUTHLOG_FAILED;
	} else if (find(l, len, "Accepted ") &&
		   field_after(l, e, " for ", " ", ev->user, sizeof ev->user)) {
		field_after(l, e, " from ", " \r", ev->from, sizeof ev->from);
		ev->kind = TR_AUTHLOG_LOGIN;
	} else if (field_after(l, e, "Disconnected from user ", " ", ev->user,
			       sizeof ev->user) ||
		   field_after(l, e, "session closed for user ", " \r",
			       ev->user, sizeof ev->user))
		ev->kind = TR_AUTHLOG_LOGOFF;
	return ev->kind;
}

size_t tr_authlog_scan(const char *buf, size_t len,
		       void (*fn)(void *arg, const struct tr_authlog_event *ev),
		       void *arg)
{
	size_t done = 0;
	while (done < len) {
		const char *l = buf + done;
		const char *nl = memchr(l, '\n', len - done);
		if (!nl) {
			if (len - done > LINE_MAX_BYTES)
				done = len; /* no event, never stalls */
			break;
		}
		size_t n = (size_t)(nl - l);
		struct tr_authlog_event ev;
		if (n <= LINE_MAX_BYTES && tr_authlog_line(l, n, &ev) != TR_AUTHLOG_NONE)
			fn(arg, &ev);
		done += n + 1;
	}
	return done;
}

const char *tr_authlog_kind_str(enum tr_authlog_kind k)
{
	switch (k) {
	case TR_AUTHLOG_CONNECT: return "connect";
	case TR_AUTHLOG_FAILED: return "failed";
	case TR_AUTHLOG_LOGIN: return "login";
	case TR_AUTHLOG_LOGOFF: return "logoff";
	case TR_AUTHLOG_DROPPED: return "dropped";
	default: return "none";
	}
}
