/* SPDX-License-Identifier: Apache-2.0 */
/* exec.c - see exec.h. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/clock.h"
#include "host.h"

extern char **environ;

struct buf {
	char *data;
	size_t len;
	int fd;
};

static int buf_read(struct buf *b)
{
	char tmp[4096];
	ssize_t r = read(b->fd, tmp, sizeof tmp);
	if (r <= 0) {
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			return 0;
		close(b->fd);
		b->fd = -1;
		return 0;
	}
	size_t keep = (size_t)r;
	if (b->len + keep > TR_EXEC_OUTPUT_MAX)
		keep = TR_EXEC_OUTPUT_MAX - b->len;
	if (keep) {
		char *d = tr_xrealloc(b->data, b->len + keep + 1);
		if (!d)
			return TRELLIS_E_NOMEM;
		b->data = d;
		memcpy(d + b->len, tmp, keep);
		b->len += keep;
		d[b->len] = '\0';
	}
	return 0;
}

static char *take(struct buf *b)
{
	if (!b->data)
		return tr_xstrdup("");
	char *d = b->data;
	b->data = NULL;
	return d;
}

int tr_exec(trellis_call_t *call, const char *const *argv, unsigned timeout_ms,
	    char **out, char **err, int *status)
{
	if (out)
		*out = NULL;
	if (err)
		*err = NULL;
	if (!argv || !argv[0])
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "exec: empty command");
	int po[2] = {-1, -1}, pe[2] = {-1, -1};
	int rc = 0;
	pid_t pid = -1;
	struct buf bo = {.fd = -1}, be = {.fd = -1};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		rc = tr_call_set(call, TRELLIS_E_IO, "exec %s: pipe: %s",
				 argv[0], strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	sigset_t dfl;
	sigfillset(&dfl);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	int e = posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv,
			     environ);
	posix_spawnattr_destroy(&attr);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (e) {
		pid = -1;
		rc = tr_call_set(call, e == ENOENT ? TRELLIS_E_NOTFOUND
						   : TRELLIS_E_BACKEND,
				 "exec %s: %s", argv[0], strerror(e));
		goto out;
	}
	bo.fd = po[0];
	be.fd = pe[0];
	po[0] = pe[0] = -1;
	long long deadline = timeout_ms ? (long long)tr_now_ms() + timeout_ms : 0;
	while (bo.fd >= 0 || be.fd >= 0) {
		struct pollfd pf[2];
		int n = 0;
		if (bo.fd >= 0)
			pf[n++] = (struct pollfd){.fd = bo.fd, .events = POLLIN};
		if (be.fd >= 0)
			pf[n++] = (struct pollfd){.fd = be.fd, .events = POLLIN};
		int wait = 100;
		if (deadline) {
			long long left = deadline - (long long)tr_now_ms();
			if (left <= 0) {
				kill(-pid, SIGKILL);
				waitpid(pid, NULL, 0);
				pid = -1;
				rc = tr_call_set(call, TRELLIS_E_TIMEOUT,
						 "exec %s: timed out after %u ms",
						 argv[0], timeout_ms);
				goto out;
			}
			if (left < wait)
				wait = (int)left;
		}
		if (call && atomic_load(&call->cancelled)) {
			kill(-pid, SIGKILL);
			waitpid(pid, NULL, 0);
			pid = -1;
			rc = tr_call_set(call, TRELLIS_E_CANCELLED,
					 "exec %s: cancelled", argv[0]);
			goto out;
		}
		int r = poll(pf, (nfds_t)n, wait);
		if (r < 0 && errno != EINTR) {
			rc = tr_call_set(call, TRELLIS_E_IO, "exec: poll: %s",
					 strerror(errno));
			goto out;
		}
		for (int i = 0; r > 0 && i < n; i++) {
			if (!pf[i].revents)
				continue;
			struct buf *b = pf[i].fd == bo.fd ? &bo : &be;
			if (buf_read(b) < 0) {
				rc = tr_call_set(call, TRELLIS_E_NOMEM,
						 "exec: out of memory");
				goto out;
			}
		}
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (status)
		*status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (out)
		*out = take(&bo);
	if (err)
		*err = take(&be);
out:
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	if (bo.fd >= 0)
		close(bo.fd);
	if (be.fd >= 0)
		close(be.fd);
	free(bo.data);
	free(be.data);
	return rc;
}
