/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_escrow.c - trellis-escrowd with the core's escrow client: a
 * deposit is fetched once with the right code, a wrong code fails and
 * five of them rate-limit fetches, the stored entry holds no plaintext
 * password nor VM, and an escrow that does not run fails the deposit.
 * Every fetch is the engineer's: enrolled with `trellis-escrowd engineer
 * add` (the real binary), signed (engineer.h); unsigned, unknown, revoked,
 * tampered, stale and replayed requests are refused and audited, and
 * leave the entry in place.
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
#include <sodium.h>

#include "../../../core/escrow/engineer.h"
#include "../../../core/escrow/escrow.h"
#include "../../../core/host/host.h"

static char dir[] = "/tmp/trellis-escrow-XXXXXX";
static char url[128], key[128];
static pid_t pid;
static char bin[4096];
static unsigned char alice[ESCROW_ENGINEER_SK_BYTES];
static unsigned char bob[ESCROW_ENGINEER_SK_BYTES];

/* trellis-escrowd --state dir ARGS (the vendor's enrolment), its status. */
static int escrowd(const char *args)
{
	char cmd[5000];
	snprintf(cmd, sizeof cmd, "%s --state %s %s >%s/cmd.out 2>&1", bin,
		 dir, args, dir);
	return system(cmd);
}

/* An engineer's key made as `trellis support keygen` does, enrolled. */
static int enrol(const char *name, unsigned char *sk)
{
	char path[256], args[512];
	char *pub = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	snprintf(path, sizeof path, "%s/%s.key", dir, name);
	if (tr_escrow_engineer_keygen(path, &pub, &call) < 0 ||
	    tr_escrow_engineer_key_load(path, sk, &call) < 0)
		return -1;
	free(pub);
	snprintf(args, sizeof args, "engineer add %s --key-file %s.pub", name,
		 path);
	return escrowd(args);
}

static int setup(void **st)
{
	(void)st;
	char cmd[5000];
	const char *b = getenv("TRELLIS_BUILD");
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
	/* alice is enrolled; bob was, and is revoked (while escrowd runs). */
	if (enrol("alice", alice) != 0 || enrol("bob", bob) != 0 ||
	    escrowd("engineer revoke bob") != 0)
		return -1;
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
	assert_int_equal(tr_escrow_code_new(a, sizeof a), 0);
	assert_int_equal(tr_escrow_code_new(b, sizeof b), 0);
	assert_int_equal(strlen(a), ESCROW_CODE_LEN);
	assert_string_not_equal(a, b);
	tr_escrow_code_hash(a, ha);
	for (char *p = a; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	tr_escrow_code_hash(a, hb);
	assert_string_equal(ha, hb); /* case does not matter */
}

static void test_deposit_fetch_once(void **st)
{
	(void)st;
	trellis_call_t call;
	char code[ESCROW_CODE_LEN + 1], *pw = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_escrow_code_new(code, sizeof code), 0);
	assert_int_equal(tr_escrow_deposit(url, key, code, "s3cret-pw-xyz",
					   time(NULL) + 60, &call),
			 0);
	/* At rest: no plaintext password. */
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "grep -rqa s3cret-pw-xyz %s/escrow.db %s/escrow-audit.log",
		 dir, dir);
	assert_int_not_equal(system(cmd), 0);
	assert_int_equal(tr_escrow_fetch(url, code, "alice", alice, &pw, &call),
			 0);
	assert_string_equal(pw, "s3cret-pw-xyz");
	free(pw);
	pw = NULL;
	assert_int_equal(tr_escrow_fetch(url, code, "alice", alice, &pw, &call),
			 TRELLIS_E_NOTFOUND);
	assert_null(pw);
}

static int in_audit(const char *what)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "grep -q '%s' %s/escrow-audit.log", what,
		 dir);
	return system(cmd) == 0;
}

static void test_enrolment(void **st)
{
	(void)st;
	char cmd[512];
	assert_int_equal(escrowd("engineer list"), 0);
	snprintf(cmd, sizeof cmd,
		 "grep -q '^alice [A-Za-z0-9+/=]* [0-9]* -$' %s/cmd.out && "
		 "grep -q '^bob [A-Za-z0-9+/=]* [0-9]* [0-9]*$' %s/cmd.out",
		 dir, dir);
	assert_int_equal(system(cmd), 0);
	assert_int_not_equal(escrowd("engineer add alice --key "
				     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
			     0); /* the name is taken */
	assert_int_not_equal(escrowd("engineer add carol --key notakey"), 0);
	assert_int_not_equal(escrowd("engineer revoke nobody"), 0);
	assert_true(in_audit("\"event\":\"ENGINEER_ADD\".*\"engineer\":\"alice\""));
	assert_true(in_audit("\"event\":\"ENGINEER_REVOKE\".*\"engineer\":\"bob\""));
}

/* A one-time reply key pair, as the CLI makes. */
static char *reply_key(unsigned char *rsk)
{
	unsigned char rpk[crypto_box_PUBLICKEYBYTES];
	crypto_box_keypair(rpk, rsk);
	return tr_escrow_b64(rpk, sizeof rpk);
}

static void test_engineer_refusals(void **st)
{
	(void)st;
	trellis_call_t call;
	char code[ESCROW_CODE_LEN + 1], *pw = NULL, *sealed = NULL;
	unsigned char rsk[crypto_box_SECRETKEYBYTES];
	unsigned char eve[ESCROW_ENGINEER_SK_BYTES];
	unsigned char epk[ESCROW_ENGINEER_PK_BYTES];
	tr_call_init(&call, NULL);
	assert_int_equal(tr_escrow_code_new(code, sizeof code), 0);
	assert_int_equal(tr_escrow_deposit(url, key, code, "guarded-pw-77",
					   time(NULL) + 60, &call),
			 0);
	/* The code holder alone (the customer): unsigned. */
	assert_int_equal(
	    tr_escrow_fetch(url, code, "customer", NULL, &pw, &call),
	    TRELLIS_E_PERMISSION);
	assert_non_null(strstr(call.message, "not signed"));
	assert_true(in_audit("\"event\":\"FETCH_UNSIGNED\".*\"who\":\"customer\""));
	/* A key the vendor never enrolled. */
	crypto_sign_keypair(epk, eve);
	assert_int_equal(tr_escrow_fetch(url, code, "eve", eve, &pw, &call),
			 TRELLIS_E_PERMISSION);
	assert_true(in_audit("FETCH_UNKNOWN_ENGINEER"));
	/* A revoked engineer. */
	assert_int_equal(tr_escrow_fetch(url, code, "bob", bob, &pw, &call),
			 TRELLIS_E_PERMISSION);
	assert_non_null(strstr(call.message, "revoked"));
	assert_true(in_audit("\"event\":\"FETCH_REVOKED\".*\"engineer\":\"bob\""));
	/* alice's proof for another reply key (a relay swapping the key). */
	char *rk = reply_key(rsk), *rk2 = reply_key(rsk);
	json_t *p = tr_escrow_proof_new(alice, code, rk);
	assert_int_equal(tr_escrow_fetch_sealed(url, code, "relay", rk2, p,
						&sealed, NULL, &call),
			 TRELLIS_E_PERMISSION);
	assert_non_null(strstr(call.message, "bad signature"));
	json_decref(p);
	/* A stale one: signed (truly) ten minutes ago. */
	char hash[ESCROW_HASH_HEX];
	unsigned char nonce[16], sig[crypto_sign_BYTES];
	tr_escrow_code_hash(code, hash);
	randombytes_buf(nonce, sizeof nonce);
	char *nb = tr_escrow_b64(nonce, sizeof nonce),
	     *pub = tr_escrow_engineer_pub(alice);
	int64_t old = (int64_t)time(NULL) - 600;
	char *m = tr_escrow_fetch_message(hash, rk, pub, nb, old);
	crypto_sign_detached(sig, NULL, (unsigned char *)m, strlen(m), alice);
	char *sb = tr_escrow_b64(sig, sizeof sig);
	p = json_pack("{s:s, s:s, s:I, s:s}", "engineer_key", pub, "nonce", nb,
		      "signed_at", (json_int_t)old, "signature", sb);
	assert_int_equal(tr_escrow_fetch_sealed(url, code, "alice", rk, p,
						&sealed, NULL, &call),
			 TRELLIS_E_PERMISSION);
	assert_non_null(strstr(call.message, "stale"));
	json_decref(p);
	free(m);
	free(nb);
	free(pub);
	free(sb);
	/* None of that took the entry: alice's own request does, once. */
	char *eng = NULL;
	p = tr_escrow_proof_new(alice, code, rk);
	assert_int_equal(tr_escrow_fetch_sealed(url, code, "alice", rk, p,
						&sealed, &eng, &call),
			 0);
	assert_string_equal(eng, "alice");
	free(eng);
	free(sealed);
	sealed = NULL;
	assert_true(in_audit("\"event\":\"FETCH\".*\"engineer\":\"alice\""));
	/* The same signed request again: a replay, refused as such. */
	assert_int_equal(tr_escrow_fetch_sealed(url, code, "alice", rk, p,
						&sealed, NULL, &call),
			 TRELLIS_E_PERMISSION);
	assert_non_null(strstr(call.message, "replay"));
	assert_true(in_audit("FETCH_REPLAY"));
	json_decref(p);
	free(rk);
	free(rk2);
	sodium_memzero(rsk, sizeof rsk);
}

static void test_escrow_down(void **st)
{
	(void)st;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_escrow_deposit("ipc:///nonexistent/escrow.sock",
					   key, "AAAA-BBBB", "pw-pw-pw-pw",
					   time(NULL) + 60, &call),
			 TRELLIS_E_UNAVAILABLE);
}

static void test_wrong_code_rate_limited(void **st)
{
	(void)st;
	trellis_call_t call;
	char code[ESCROW_CODE_LEN + 1], bad[ESCROW_CODE_LEN + 1], *pw = NULL;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_escrow_code_new(code, sizeof code), 0);
	assert_int_equal(tr_escrow_deposit(url, key, code, "another-pw-123",
					   time(NULL) + 60, &call),
			 0);
	/* test_deposit_fetch_once's second fetch was one miss already. */
	for (int i = 0; i < 4; i++) {
		assert_int_equal(tr_escrow_code_new(bad, sizeof bad), 0);
		assert_int_equal(
		    tr_escrow_fetch(url, bad, "mallory", alice, &pw, &call),
		    TRELLIS_E_NOTFOUND);
	}
	/* Now even the right code waits. */
	assert_int_equal(tr_escrow_fetch(url, code, "alice", alice, &pw, &call),
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
	    cmocka_unit_test(test_enrolment),
	    cmocka_unit_test(test_engineer_refusals),
	    cmocka_unit_test(test_deposit_fetch_once),
	    cmocka_unit_test(test_escrow_down),
	    cmocka_unit_test(test_wrong_code_rate_limited),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
