/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_authlog.c - the sshd log reader of maintenance mode
 * (core/maint/authlog.c): dropbear's and OpenSSH's lines give connect,
 * failed, login, logoff and dropped with their pid, user and peer; other
 * lines give nothing; a scan stops at an unfinished last line and never
 * stalls on an endless one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/maint/authlog.h"

static enum tr_authlog_kind line(const char *l, struct tr_authlog_event *ev)
{
	return tr_authlog_line(l, strlen(l), ev);
}

static void test_dropbear(void **st)
{
	(void)st;
	struct tr_authlog_event ev;
	assert_int_equal(line("[512] Dec 04 18:56:22 Child connection from "
			      "10.1.2.1:35218",
			      &ev),
			 TR_AUTHLOG_CONNECT);
	assert_int_equal(ev.pid, 512);
	assert_string_equal(ev.from, "10.1.2.1:35218");
	assert_int_equal(line("[513] Dec 04 18:56:23 Bad password attempt for "
			      "'root' from 10.1.2.1:35220",
			      &ev),
			 TR_AUTHLOG_FAILED);
	assert_string_equal(ev.user, "root");
	assert_string_equal(ev.from, "10.1.2.1:35220");
	assert_int_equal(line("[514] Dec 04 18:56:24 Password auth succeeded "
			      "for 'root' from 10.1.2.1:35222",
			      &ev),
			 TR_AUTHLOG_LOGIN);
	assert_int_equal(ev.pid, 514);
	assert_string_equal(ev.user, "root");
	assert_int_equal(line("[514] Dec 04 18:57:00 Exit (root) from "
			      "<10.1.2.1:35222>: Disconnect received",
			      &ev),
			 TR_AUTHLOG_LOGOFF);
	assert_string_equal(ev.from, "10.1.2.1:35222");
	assert_int_equal(line("[515] Dec 04 18:57:01 Exit before auth from "
			      "<10.1.2.1:1>: (user 'root', 1 fails): Exited "
			      "normally",
			      &ev),
			 TR_AUTHLOG_DROPPED);
	assert_int_equal(line("[516] Dec 04 18:57:02 User account 'root' is "
			      "locked",
			      &ev),
			 TR_AUTHLOG_FAILED);
	assert_int_equal(line("[517] Dec 04 18:57:03 Login attempt for "
			      "nonexistent user",
			      &ev),
			 TR_AUTHLOG_FAILED);
	assert_int_equal(line("[518] Dec 04 18:57:04 Not backgrounding", &ev),
			 TR_AUTHLOG_NONE);
}

static void test_openssh(void **st)
{
	(void)st;
	struct tr_authlog_event ev;
	assert_int_equal(line("Dec  4 18:00:00 app sshd[901]: Connection from "
			      "10.0.0.9 port 40000 on 10.0.0.2 port 22 rdomain "
			      "\"\"",
			      &ev),
			 TR_AUTHLOG_CONNECT);
	assert_int_equal(ev.pid, 901);
	assert_string_equal(ev.from, "10.0.0.9:40000");
	assert_int_equal(line("Dec  4 18:00:01 app sshd[901]: Failed password "
			      "for invalid user bob from 10.0.0.9 port 40000 "
			      "ssh2",
			      &ev),
			 TR_AUTHLOG_FAILED);
	assert_string_equal(ev.user, "bob");
	assert_int_equal(line("Dec  4 18:00:02 app sshd[902]: Accepted password "
			      "for root from 10.0.0.9 port 40002 ssh2",
			      &ev),
			 TR_AUTHLOG_LOGIN);
	assert_string_equal(ev.user, "root");
	assert_string_equal(ev.from, "10.0.0.9");
	assert_int_equal(line("Dec  4 18:01:00 app sshd[902]: pam_unix(sshd:"
			      "session): session closed for user root",
			      &ev),
			 TR_AUTHLOG_LOGOFF);
	assert_int_equal(ev.pid, 902);
}

struct seen {
	int n;
	enum tr_authlog_kind k[8];
};

static void collect(void *arg, const struct tr_authlog_event *ev)
{
	struct seen *s = arg;
	if (s->n < 8)
		s->k[s->n++] = ev->kind;
}

static void test_scan(void **st)
{
	(void)st;
	const char *buf = "[1] x Child connection from 1.2.3.4:5\n"
			  "garbage\n"
			  "[1] x Password auth succeeded for 'root' from 1.2.3.4:5\n"
			  "[1] x Exit (root) from <1.2";
	struct seen s = {0};
	size_t used = tr_authlog_scan(buf, strlen(buf), collect, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.k[0], TR_AUTHLOG_CONNECT);
	assert_int_equal(s.k[1], TR_AUTHLOG_LOGIN);
	/* The unfinished line stays for the next read. */
	assert_string_equal(buf + used, "[1] x Exit (root) from <1.2");

	/* An endless line is consumed whole, without an event. */
	size_t big = 10000;
	char *junk = malloc(big);
	memset(junk, 'A', big);
	memset(&s, 0, sizeof s);
	assert_int_equal(tr_authlog_scan(junk, big, collect, &s), big);
	assert_int_equal(s.n, 0);
	free(junk);
	/* Long fields are cut short, not overrun. */
	char l[400];
	snprintf(l, sizeof l, "[7] Bad password attempt for '%0300d' from x", 1);
	struct tr_authlog_event ev;
	assert_int_equal(line(l, &ev), TR_AUTHLOG_FAILED);
	assert_int_equal(strlen(ev.user), sizeof ev.user - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dropbear),
	    cmocka_unit_test(test_openssh),
	    cmocka_unit_test(test_scan),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
