/* SPDX-License-Identifier: Apache-2.0 */
/* test_keys.c - the API keys file of tcp:// listeners (core/api/keys.c):
 * a made key's token checks as that key and is not in the file; a key
 * with an expiry checks as expired from then on; removing a key keeps
 * every other line; a wrong token, a readable file, a bad line and a
 * duplicate name are refused, naming the file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/api/keys.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/trellis-keys-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/api-keys", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_file(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_add_and_check(void **state)
{
	(void)state;
	char err[512], t1[TR_KEY_TOKEN_LEN + 1], t2[TR_KEY_TOKEN_LEN + 1];
	assert_int_equal(tr_keys_add(path, "ops", 0, t1, err, sizeof err), 0);
	assert_int_equal(tr_keys_add(path, "ci-bot", 0, t2, err, sizeof err),
			 0);
	assert_int_equal(strlen(t1), TR_KEY_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* The file holds hashes only. */
	char text[1024] = "";
	FILE *f = fopen(path, "r");
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_null(strstr(text, t1 + 4));
	assert_null(strstr(text, t2 + 4));

	struct tr_keys *k = tr_keys_load(path, err, sizeof err);
	assert_non_null(k);
	assert_int_equal(tr_keys_count(k), 2);
	char name[80];
	assert_int_equal(tr_keys_check(k, t1, 1, name, sizeof name), 1);
	assert_string_equal(name, "ops");
	assert_int_equal(tr_keys_check(k, t2, 1, name, sizeof name), 1);
	assert_string_equal(name, "ci-bot");
	assert_int_equal(tr_keys_expires(k, 0), 0);
	t1[10] = t1[10] == 'a' ? 'b' : 'a';
	assert_int_equal(tr_keys_check(k, t1, 1, name, sizeof name), 0);
	assert_string_equal(name, "");
	assert_int_equal(tr_keys_check(k, "", 1, name, sizeof name), 0);
	assert_int_equal(tr_keys_check(k, NULL, 1, name, sizeof name), 0);
	tr_keys_free(k);

	assert_int_equal(tr_keys_add(path, "ops", 0, t1, err, sizeof err), -1);
	assert_non_null(strstr(err, "a key named 'ops' exists already"));
	assert_int_equal(
		tr_keys_add(path, "no spaces", 0, t1, err, sizeof err), -1);
	assert_non_null(strstr(err, "key name 'no spaces'"));
}

static void test_refused(void **state)
{
	(void)state;
	char err[512];
	assert_null(tr_keys_load(path, err, sizeof err));
	assert_non_null(strstr(err, "No such file"));

	char line[200];
	write_file("# keys\nops 00\n", 0600);
	assert_null(tr_keys_load(path, err, sizeof err));
	assert_non_null(strstr(err, "api-keys:2: expected NAME, a 64-digit"));
	snprintf(line, sizeof line, "a %064d expires=soon\n", 0);
	write_file(line, 0600);
	assert_null(tr_keys_load(path, err, sizeof err));
	assert_non_null(strstr(err, "api-keys:1: expected NAME, a 64-digit "
				    "hex hash and optionally "
				    "expires=UNIX_SECONDS"));

	snprintf(line, sizeof line, "a %064d\na %064d\n", 0, 0);
	write_file(line, 0600);
	assert_null(tr_keys_load(path, err, sizeof err));
	assert_non_null(strstr(err, "api-keys:2: key 'a' twice"));

	write_file("", 0644);
	assert_null(tr_keys_load(path, err, sizeof err));
	assert_non_null(strstr(err, "mode 0644 lets others read"));
	char tok[TR_KEY_TOKEN_LEN + 1];
	assert_int_equal(tr_keys_add(path, "x", 0, tok, err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0644"));

	write_file("\n# none yet\n", 0600);
	struct tr_keys *k = tr_keys_load(path, err, sizeof err);
	assert_non_null(k);
	assert_int_equal(tr_keys_count(k), 0);
	char name[80];
	assert_int_equal(tr_keys_check(k, "trk_anything", 1, name, sizeof name),
			 0);
	tr_keys_free(k);
}

static void test_expiry_and_remove(void **state)
{
	(void)state;
	char err[512], t1[TR_KEY_TOKEN_LEN + 1], t2[TR_KEY_TOKEN_LEN + 1];
	char name[80];
	write_file("# made by hand\n", 0600);
	assert_int_equal(tr_keys_add(path, "ci", 2000, t1, err, sizeof err), 0);
	assert_int_equal(tr_keys_add(path, "ops", 0, t2, err, sizeof err), 0);
	struct tr_keys *k = tr_keys_load(path, err, sizeof err);
	assert_non_null(k);
	assert_string_equal(tr_keys_name(k, 0), "ci");
	assert_int_equal(tr_keys_expires(k, 0), 2000);
	assert_null(tr_keys_name(k, 2));
	/* Valid up to its expiry, expired from then on, and named. */
	assert_int_equal(tr_keys_check(k, t1, 1999, name, sizeof name), 1);
	assert_int_equal(tr_keys_check(k, t1, 2000, name, sizeof name), -1);
	assert_string_equal(name, "ci");
	assert_int_equal(tr_keys_check(k, t2, 1L << 40, name, sizeof name), 1);
	tr_keys_free(k);

	assert_int_equal(tr_keys_remove(path, "nobody", err, sizeof err), -1);
	assert_non_null(strstr(err, "no key named 'nobody'"));
	assert_int_equal(tr_keys_remove(path, "ci", err, sizeof err), 0);
	k = tr_keys_load(path, err, sizeof err);
	assert_non_null(k);
	assert_int_equal(tr_keys_count(k), 1);
	assert_int_equal(tr_keys_check(k, t1, 1, name, sizeof name), 0);
	assert_int_equal(tr_keys_check(k, t2, 1, name, sizeof name), 1);
	tr_keys_free(k);
	/* The rest of the file is as it was, and still private. */
	char text[1024] = "";
	FILE *f = fopen(path, "r");
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_true(strncmp(text, "# made by hand\nops ", 19) == 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A readable file is not rewritten either. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(tr_keys_remove(path, "ops", err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0644"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_and_check, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_and_remove, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
