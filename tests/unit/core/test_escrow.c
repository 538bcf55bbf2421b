/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_escrow.c - trellis-escrowd with the core's escrow client: a
 * deposit is fetched once with the right code, a wrong code fails and
 * five of them rate-limit fetches, the stored entry holds no plaintext
 * password nor VM, and an escrow that does not run fails the deposit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/escrow/escrow.h"
#include "../../../core/host/host.h"

static char dir[] = "/tmp/trellis-escrow-XXXXXX";
static char url[128], key[128];
static pid_t pid;

static int setup(void **st)
{
	(void)st;
	char cmd[5000];
	const char *b = getenv("TRELLIS_BUILD");
	static char bin[4096];
	snprintf(bin, sizeof bin, "%s/bin/trellis-escrowd", b ? b : "build");
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof cmd, "%s --state %s --public-key", bin, dir);
	FILE *f = popen(cmd, "r");
	if (!f || !fgets(key, sizeof key, f))
		return -1;
	pclose(f);
	key[strcspn(key, "\n")] = 0;
	snprintf(url, sizeof url, "ipc://%s/escrow.sock", dir);
	if ((pid = fork()) == 0) {
		execl(bin, bin, "--state", dir, "--listen", url, (char *)NULL);
		_exit(127);
	}
	usleep(300 * 1000);
	return pid > 0 ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[512];
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_code_shape(void **st)
{
	(void)st;
	char a[ESCROW_CODE_LEN + 1], b[ESCROW_CODE_LEN + 1];
	char ha[ESCROW_HASH_HEX], hb[ESCROW_HASH_HEX];
	assert_int_equal(escrow_code_new(a, sizeof a), 0);
	assert_int_equal(escrow_code_new(b, sizeof b), 0);
	assert_int_equal(strlen(a), ESCROW_CODE_LEN);
	assert_string_not_equal(a, b);
	escrow_code_hash(a, ha);
	for (char *p = a; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	escrow_code_hash(a, hb);
	assert_string_equal(ha, hb); /* case does not matter */
}

static void test_deposit_fetch_once(void **st)
{
	(void)st;
	trellis_call_t call;
	char code[ESCROW_CODE_LEN + 1], *pw = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(escrow_code_new(code, sizeof code), 0);
	assert_int_equal(escrow_deposit(url, key, code, "s3cret-pw-xyz",
					time(NULL) + 60, &call),
			 0);
	/* At rest: no plaintext password. */
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "grep -rqa s3cret-pw-xyz %s/escrow.db %s/escrow-audit.log",
		 dir, dir);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(escrow_fetch(url, code, "alice", &pw, &call), 0);
	assert_string_equal(pw, "s3cret-pw-xyz");
	free(pw);
	pw = NULL;
	assert_int_equal(escrow_fetch(url, code, "alice", &pw, &call),
			 TRELLIS_E_NOTFOUND);
	assert_null(pw);
}

static void test_escrow_down(void **st)
{
	(void)st;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(escrow_deposit("ipc:///nonexistent/escrow.sock", key,
					"AAAA-BBBB", "pw-pw-pw-pw",
					time(NULL) + 60, &call),
			 TRELLIS_E_UNAVAILABLE);
}

static void test_wrong_code_rate_limited(void **st)
{
	(void)st;
	trellis_call_t call;
	char code[ESCROW_CODE_LEN + 1], bad[ESCROW_CODE_LEN + 1], *pw = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(escrow_code_new(code, sizeof code), 0);
	assert_int_equal(escrow_deposit(url, key, code, "another-pw-123",
					time(NULL) + 60, &call),
			 0);
	/* test_deposit_fetch_once's second fetch was one miss already. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(escrow_code_new(bad, sizeof bad), 0);
		assert_int_equal(escrow_fetch(url, bad, "mallory", &pw, &call),
				 TRELLIS_E_NOTFOUND);
	}
	/* Now even the right code waits. */
	assert_int_equal(escrow_fetch(url, code, "alice", &pw, &call),
			 TRELLIS_E_BUSY);
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "grep -q FETCH_WRONG_CODE %s/escrow-audit.log && "
		 "grep -q FETCH_RATE_LIMITED %s/escrow-audit.log",
		 dir, dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_code_shape),
	    cmocka_unit_test(test_deposit_fetch_once),
	    cmocka_unit_test(test_escrow_down),
	    cmocka_unit_test(test_wrong_code_rate_limited),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
