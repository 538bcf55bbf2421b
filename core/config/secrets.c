/* SPDX-License-Identifier: Apache-2.0 */
/* secrets.c - the file-per-secret source for plugins (config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "config.h"

#define SECRET_MAX (64 * 1024)

int tr_secrets_get(void *dir, const char *name, char **value)
{
	*value = NULL;
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 128 || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_.-") != n)
		return TRELLIS_E_INVALID_ARG;
	char path[4400];
	snprintf(path, sizeof path, "%s/%s", (const char *)dir, name);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? TRELLIS_E_NOTFOUND
		       : errno == EACCES || errno == ELOOP
			       ? TRELLIS_E_PERMISSION
			       : TRELLIS_E_IO;
	struct stat st;
	int rc = 0;
	char *buf = NULL;
	if (fstat(fd, &st) < 0) {
		rc = TRELLIS_E_IO;
		goto out;
	}
	/* A secret others can read is not a secret any more: refuse it and
	 * say why in the log (the name, never the value). */
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077) ||
	    st.st_uid != geteuid()) {
		tr_warn("secret %s refused: it must be a regular file owned by "
			"uid %d with mode 0600 or 0400",
			path, (int)geteuid());
		rc = TRELLIS_E_PERMISSION;
		goto out;
	}
	if (st.st_size > SECRET_MAX) {
		rc = TRELLIS_E_INVALID_ARG;
		goto out;
	}
	buf = tr_xmalloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = TRELLIS_E_NOMEM;
		goto out;
	}
	ssize_t got = read(fd, buf, (size_t)st.st_size);
	if (got < 0) {
		rc = TRELLIS_E_IO;
		goto out;
	}
	buf[got] = '\0';
	if (got > 0 && buf[got - 1] == '\n')
		buf[got - 1] = '\0';
	*value = buf;
	buf = NULL;
out:
	if (buf) {
		explicit_bzero(buf, (size_t)st.st_size + 1);
		free(buf);
	}
	close(fd);
	return rc;
}
