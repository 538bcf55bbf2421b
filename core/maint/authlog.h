/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authlog.h - reading an appliance's sshd log (outside input: the guest
 * writes it) into the events maintenance mode acts on: a connection, a
 * failed authentication attempt, a login, a logoff.
 *
 * Two formats are understood, one line at a time:
 *   dropbear -E   "[PID] Mon DD HH:MM:SS MESSAGE"
 *                 Child connection from A:P / Bad password attempt for
 *                 'U' from A:P / Password auth succeeded for 'U' from A:P /
 *                 Exit (U) from <A:P>: ... / Exit before auth ... /
 *                 User account 'U' is locked / Login attempt for
 *                 nonexistent user
 *   OpenSSH       "... sshd[PID]: MESSAGE"
 *                 Connection from A port P / Failed password for [invalid
 *                 user] U from / Invalid user U from / Accepted METHOD for
 *                 U from / Disconnected from user U / session closed for
 *                 user U
 * Anything else is no event.  Nothing here allocates; a field that does
 * not fit is cut short.
 */
#ifndef TRELLIS_CORE_MAINT_AUTHLOG_H
#define TRELLIS_CORE_MAINT_AUTHLOG_H

#include <stddef.h>

enum tr_authlog_kind {
	TR_AUTHLOG_NONE = 0,
	TR_AUTHLOG_CONNECT, /* a TCP connection reached the sshd */
	TR_AUTHLOG_FAILED,  /* an authentication attempt failed */
	TR_AUTHLOG_LOGIN,   /* an authentication succeeded */
	TR_AUTHLOG_LOGOFF,  /* a logged-in session ended */
	TR_AUTHLOG_DROPPED, /* a connection ended before any login */
};

struct tr_authlog_event {
	enum tr_authlog_kind kind;
	long pid;      /* the sshd process of the connection, -1 unknown */
	char user[33]; /* "" when the line names none */
	char from[64]; /* the peer ("10.0.0.1:40000"), "" unknown */
};

/* The event of one line (len bytes, no newline needed); NONE when it is
 * none. */
enum tr_authlog_kind tr_authlog_line(const char *line, size_t len,
				     struct tr_authlog_event *ev);

/* Calls fn for each event of the complete lines of buf (up to its last
 * newline); returns the bytes of those lines, so the caller keeps an
 * unfinished last line for the next read.  A line longer than 4096
 * bytes without a newline is consumed whole (no event), so a hostile
 * guest cannot stall the reader. */
size_t tr_authlog_scan(const char *buf, size_t len,
		       void (*fn)(void *arg, const struct tr_authlog_event *ev),
		       void *arg);

/* The name of a kind ("connect", "failed", "login", "logoff", "dropped",
 * "none"). */
const char *tr_authlog_kind_str(enum tr_authlog_kind k);

#endif
