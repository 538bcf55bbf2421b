/* SPDX-License-Identifier: Apache-2.0 */
/* statedir.c - the state directory and its lock (statedir.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/log.h"
#include "statedir.h"

int tr_mkdirs(const char *dir, mode_t mode)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", dir);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

static void lock_path(const char *dir, char *path, size_t len)
{
	snprintf(path, len, "%s/trellisd.lock", dir);
}

/* The pid holding a write lock that conflicts with ours on fd, or 0. */
static pid_t holder(int fd)
{
	struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK)
		return q.l_pid;
	return 0;
}

int tr_state_lock(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	lock_path(dir, path, sizeof path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		int e = errno;
		pid_t pid = e == EACCES || e == EAGAIN ? holder(fd) : 0;
		if (pid)
			snprintf(err, errlen,
				 "state dir %s is in use by another trellisd "
				 "(pid %d holds %s)",
				 dir, (int)pid, path);
		else
			snprintf(err, errlen, "%s: lock: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		tr_warn("%s: cannot record the pid: %s", path, strerror(errno));
	return fd;
}

pid_t tr_state_holder(const char *dir)
{
	char path[4096];
	lock_path(dir, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	pid_t pid = holder(fd);
	close(fd);
	return pid;
}
