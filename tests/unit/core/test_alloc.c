/* SPDX-License-Identifier: Apache-2.0 */
/* test_alloc.c - the out-of-memory policy (core/util/alloc.h): an
 * allocation that fails aborts with a message naming size and caller,
 * whether it is the core's own (tr_x*, the growable arrays) or jansson's
 * once tr_alloc_init() ran; allocations before the failing one succeed.
 * Each failure runs in a child process, which must die of SIGABRT. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../../core/util/alloc.h"
#include "../../../core/util/array.h"

/* Runs fn in a child with its stderr in a pipe; the child's status, and
 * what it wrote in out. */
static int in_child(void (*fn)(void), char *out, size_t len)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		signal(SIGABRT, SIG_DFL);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < len && (r = read(fds[0], out + n, len - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void third_malloc(void)
{
	tr_alloc_fail_at(3);
	free(tr_xmalloc(10));
	free(tr_xstrdup("two"));
	free(tr_xcalloc(4, 8)); /* the third: aborts */
}

static void test_nth_call_aborts(void **state)
{
	(void)state;
	char out[512];
	int st = in_child(third_malloc, out, sizeof out);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(out, "trellis: out of memory (32 bytes at "));
	assert_non_null(strstr(out, "test_alloc.c:"));
}

static void nothing_fails(void)
{
	tr_alloc_fail_at(0);
	for (int i = 0; i < 100; i++)
		free(tr_xmalloc(64));
}

static void test_off_succeeds(void **state)
{
	(void)state;
	char out[512];
	int st = in_child(nothing_fails, out, sizeof out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_string_equal(out, "");
}

static void grow_fails(void)
{
	int *v = NULL;
	size_t n = 0, cap = 0;
	for (; n < 16; n++) { /* one allocation: 16 slots */
		TR_GROW(v, n, cap);
		v[n] = (int)n;
	}
	tr_alloc_fail_at(1);
	TR_GROW(v, n, cap); /* the 17th needs a second: aborts */
	v[n] = 0;
}

static void test_array_grow_aborts(void **state)
{
	(void)state;
	char out[512];
	int st = in_child(grow_fails, out, sizeof out);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(out, "out of memory (128 bytes at "));
}

static void json_fails(void)
{
	tr_alloc_init();
	tr_alloc_fail_at(1);
	json_t *o = json_object(); /* jansson allocates: aborts */
	json_decref(o);
}

static void test_jansson_aborts(void **state)
{
	(void)state;
	char out[512];
	int st = in_child(json_fails, out, sizeof out);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(out, "out of memory ("));
	assert_non_null(strstr(out, "at jansson:"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nth_call_aborts),
		cmocka_unit_test(test_off_succeeds),
		cmocka_unit_test(test_array_grow_aborts),
		cmocka_unit_test(test_jansson_aborts),
	};
	return cmocka_run_group_tests_name("out of memory", tests, NULL, NULL);
}
