/* SPDX-License-Identifier: Apache-2.0 */
/*
 * local.c - the local tokens that name ipc:// callers (api.h,
 * tr_api_local_tokens).
 *
 * Why tokens and not SO_PEERCRED: nanomsg owns the accepted AF_UNIX
 * descriptor of an ipc:// pipe and offers no way to reach it (its socket
 * options are per nanomsg socket, not per pipe, and NN_RCVFD is an
 * eventfd), and one REP socket serves many peers.  So the daemon writes,
 * for each uid it knows (its own and every user's with a uid), a random
 * 256-bit token into DIR/UID, mode 0400 and owned by that uid, in DIR
 * (mode 0711: others may reach a file they know the name of, not list
 * them).  Only that uid (and root) can read the file; the CLI sends its
 * content as the envelope's "auth"; the daemon keeps only hashes.  New
 * tokens are written at every start, so a copied token dies with the
 * daemon that issued it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/array.h"
#include "../util/log.h"
#include "api_core.h"

void tr_api_token_dir(const char *url, char *buf, size_t len)
{
	const char *path = strncmp(url, "ipc://", 6) == 0 ? url + 6 : url;
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(buf, len, "tokens");
	else
		snprintf(buf, len, "%.*s/tokens", (int)(slash - path), path);
}

struct collect {
	struct tr_local_token *v;
	size_t n, cap;
	const char *dir;
	char *err;
	size_t errlen;
};

static int write_token(struct collect *c, long uid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].uid == uid)
			return 0;
	TR_GROW(c->v, c->n, c->cap);
	unsigned char raw[32];
	char token[4 + 65];
	randombytes_buf(raw, sizeof raw);
	memcpy(token, "trl_", 4);
	sodium_bin2hex(token + 4, 65, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	char path[600], tmp[620];
	snprintf(path, sizeof path, "%s/%ld", c->dir, uid);
	snprintf(tmp, sizeof tmp, "%s/.%ld.tmp", c->dir, uid);
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
	int ok = fd >= 0;
	if (ok) {
		size_t len = strlen(token);
		ok = write(fd, token, len) == (ssize_t)len &&
		     (getuid() != 0 || fchown(fd, (uid_t)uid, (gid_t)-1) == 0) &&
		     fchmod(fd, 0400) == 0 && fsync(fd) == 0;
		ok = close(fd) == 0 && ok;
		ok = ok && rename(tmp, path) == 0;
	}
	if (!ok) {
		snprintf(c->err, c->errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		sodium_memzero(token, sizeof token);
		return -1;
	}
	tr_auth_hash_token(token, c->v[c->n].hash);
	sodium_memzero(token, sizeof token);
	c->v[c->n].uid = uid;
	c->n++;
	return 0;
}

static int each_user(void *arg, const char *name, long uid)
{
	(void)name;
	return write_token(arg, uid);
}

int tr_api_local_tokens(struct tr_api *api, char *err, size_t errlen)
{
	const char *url = NULL;
	for (size_t i = 0; i < api->nls; i++)
		if (strncmp(api->ls[i].url, "ipc://", 6) == 0)
			url = api->ls[i].url;
	if (!url || !api->d->store)
		return 0;
	char dir[512];
	tr_api_token_dir(url, dir, sizeof dir);
	if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (chmod(dir, 0711) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	err[0] = '\0';
	struct collect c = {NULL, 0, 0, dir, err, errlen};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (write_token(&c, (long)geteuid()) < 0)
		goto fail;
	int rc = tr_users_each_uid(api->d->store, each_user, &c, &call);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "%s", call.message);
	if (rc != 0)
		goto fail;
	pthread_rwlock_wrlock(&api->keys_lock);
	struct tr_local_token *old = api->tokens;
	api->tokens = c.v;
	api->ntokens = c.n;
	pthread_rwlock_unlock(&api->keys_lock);
	free(old);
	return 0;
fail:
	free(c.v);
	return -1;
}
