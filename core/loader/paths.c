/* SPDX-License-Identifier: Apache-2.0 */
/* paths.c - see paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/alloc.h"

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int push(struct tr_pathlist *l, const char *dir, int keep_missing)
{
	char real[4096];
	const char *key = realpath(dir, real) ? real : dir;
	if (!keep_missing && !is_dir(key))
		return 0;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->dirs[i], key) == 0)
			return 0;
	char **v = tr_xrealloc(l->dirs, (l->n + 1) * sizeof *v);
	if (!v)
		return -1;
	l->dirs = v;
	if (!(v[l->n] = tr_xstrdup(key)))
		return -1;
	l->n++;
	return 0;
}

int tr_self_dir(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

int tr_plugin_paths(struct tr_pathlist *l, const char *const *config_dirs,
		    size_t n_config)
{
	memset(l, 0, sizeof *l);
	for (size_t i = 0; i < n_config; i++)
		if (push(l, config_dirs[i], 1) < 0)
			return -1;
	const char *env = getenv("TRELLIS_PLUGIN_PATH");
	if (env && *env) {
		char *copy = tr_xstrdup(env), *save = NULL;
		if (!copy)
			return -1;
		for (char *d = strtok_r(copy, ":", &save); d;
		     d = strtok_r(NULL, ":", &save))
			if (*d && push(l, d, 0) < 0) {
				free(copy);
				return -1;
			}
		free(copy);
	}
	char self[4096], dir[4200];
	if (tr_self_dir(self, sizeof self) == 0) {
		snprintf(dir, sizeof dir, "%s/../plugins", self);
		if (push(l, dir, 0) < 0)
			return -1;
		snprintf(dir, sizeof dir, "%s/../lib/trellis/plugins", self);
		if (push(l, dir, 0) < 0)
			return -1;
	}
	return 0;
}

void tr_pathlist_free(struct tr_pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->dirs[i]);
	free(l->dirs);
	memset(l, 0, sizeof *l);
}
