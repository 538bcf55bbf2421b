/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rnetns.c - a router's namespace (made as `ip netns add` makes one), the
 * files of its run directory (written only when they change) and its
 * dnsmasq (found by its pid file and command line, stopped).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "router.h"

void rt_names(const char *name, struct rnames *n)
{
	uint32_t h = br_hash(name);
	snprintf(n->ns, sizeof n->ns, NS_PREFIX "%s", name);
	snprintf(n->nspath, sizeof n->nspath, NETNS_DIR "/%s", n->ns);
	snprintf(n->dir, sizeof n->dir, RUN_DIR "/%s", name);
	snprintf(n->ri, sizeof n->ri, BR_PREFIX "ri%08x", h);
	snprintf(n->rj, sizeof n->rj, BR_PREFIX "rj%08x", h);
	snprintf(n->ro, sizeof n->ro, BR_PREFIX "ro%08x", h);
	snprintf(n->rp, sizeof n->rp, BR_PREFIX "rp%08x", h);
	snprintf(n->rid, sizeof n->rid, "rt%08x", h);
}

/* ---- small file helpers ---- */

int rt_mkdirs(const char *path)
{
	char p[200];
	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) && errno != EEXIST)
				return -errno;
			*s = '/';
		}
	return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

/* Whether path holds exactly text. */
int rt_same_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = strlen(text);
	char *buf = malloc(n + 2);
	size_t got = buf ? fread(buf, 1, n + 1, f) : 0;
	fclose(f);
	int same = buf && got == n && !memcmp(buf, text, n);
	free(buf);
	return same;
}

/* Writes text to path (atomically, by rename): 1 changed, 0 the same,
 * <0 -errno. */
int rt_put_file(const char *path, const char *text)
{
	if (rt_same_file(path, text))
		return 0;
	char tmp[220];
	snprintf(tmp, sizeof tmp, "%s.new", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	int ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path)) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 1;
}

/* The dnsmasq of this router, if it runs: its pid, else 0. */
pid_t rt_server_pid(const struct rnames *n)
{
	char path[220], buf[4096];
	snprintf(path, sizeof path, "%s/pid", n->dir);
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 1 || kill((pid_t)pid, 0))
		return 0;
	/* A recycled pid is not ours: its command line names our conf. */
	snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	for (size_t i = 0; i < got; i++)
		if (!buf[i])
			buf[i] = ' ';
	buf[got] = '\0';
	snprintf(path, sizeof path, "%s/dnsmasq.conf", n->dir);
	return strstr(buf, path) ? (pid_t)pid : 0;
}

void rt_server_stop(const struct rnames *n)
{
	pid_t pid = rt_server_pid(n);
	if (!pid)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 50 && !kill(pid, 0); i++)
		usleep(20000);
	if (!kill(pid, 0))
		kill(pid, SIGKILL);
}

/* ---- the namespace ---- */

struct mk {
	const char *path;
	int rc;
};

static void *mk_main(void *p)
{
	struct mk *m = p;
	char self[64];
	if (unshare(CLONE_NEWNET)) {
		m->rc = -errno;
		return NULL;
	}
	snprintf(self, sizeof self, "/proc/thread-self/ns/net");
	if (mount(self, m->path, "none", MS_BIND, NULL))
		m->rc = -errno;
	return NULL;
}

/* A named network namespace, as `ip netns add` makes one: a thread
 * unshares and bind-mounts its namespace, then ends. */
int rt_netns_make(const char *path, char *err, size_t errlen)
{
	int rc = rt_mkdirs(NETNS_DIR);
	if (rc) {
		snprintf(err, errlen, "%s: %s", NETNS_DIR, strerror(-rc));
		return TRELLIS_E_IO;
	}
	int fd = open(path, O_RDONLY | O_CREAT | O_EXCL, 0444);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return TRELLIS_E_IO;
	}
	close(fd);
	struct mk m = {.path = path};
	pthread_t t;
	if (pthread_create(&t, NULL, mk_main, &m)) {
		unlink(path);
		snprintf(err, errlen, "cannot start a thread");
		return TRELLIS_E_NOMEM;
	}
	pthread_join(t, NULL);
	if (m.rc) {
		unlink(path);
		snprintf(err, errlen, "namespace %s: %s", path, strerror(-m.rc));
		return m.rc == -EPERM ? TRELLIS_E_PERMISSION : TRELLIS_E_BACKEND;
	}
	return 0;
}

/* Whether path is a mounted namespace (not a stale file). */
int rt_netns_exists(const char *path)
{
	struct stat st, parent;
	if (stat(path, &st) || stat(NETNS_DIR, &parent))
		return 0;
	return st.st_dev != parent.st_dev; /* a bind mount of nsfs */
}

void rt_netns_drop(const char *path)
{
	umount2(path, MNT_DETACH);
	unlink(path);
}
