/* SPDX-License-Identifier: Apache-2.0 */
/* test_secrets.c - the daemon's secret source for plugins: found,
 * missing, refused when others could read it, refused names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/config/config.h"
#include "../../../core/util/log.h"

static void put(const char *dir, const char *name, const char *text,
		mode_t mode)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	chmod(path, mode);
}

static void test_secrets(void **state)
{
	(void)state;
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_ERR, "test_secrets");
	char dir[] = "/tmp/trellis-secrets-XXXXXX";
	assert_non_null(mkdtemp(dir));
	put(dir, "db-password", "s3cret\n", 0600);
	put(dir, "loose", "visible", 0644);
	char *v = NULL;
	assert_int_equal(tr_secrets_get(dir, "db-password", &v), 0);
	assert_string_equal(v, "s3cret");
	free(v);
	assert_int_equal(tr_secrets_get(dir, "nope", &v), TRELLIS_E_NOTFOUND);
	assert_null(v);
	assert_int_equal(tr_secrets_get(dir, "loose", &v), TRELLIS_E_PERMISSION);
	assert_null(v);
	assert_int_equal(tr_secrets_get(dir, "../etc/passwd", &v),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(tr_secrets_get(dir, ".hidden", &v),
			 TRELLIS_E_INVALID_ARG);
	assert_int_equal(tr_secrets_get(dir, "", &v), TRELLIS_E_INVALID_ARG);
	char link[300];
	snprintf(link, sizeof link, "%s/link", dir);
	assert_int_equal(symlink("/etc/hostname", link), 0);
	assert_int_equal(tr_secrets_get(dir, "link", &v), TRELLIS_E_PERMISSION);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_secrets)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
