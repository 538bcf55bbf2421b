/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.c - the dashboard's files in memory (files.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/alloc.h"
#include "files.h"

#define MAX_FILES 512
#define MAX_BYTES (32u << 20)

struct tr_http_files {
	struct tr_http_file f[MAX_FILES];
	size_t n, bytes;
};

static const char *ctype_of(const char *path)
{
	static const struct {
		const char *ext, *type;
	} t[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".json", "application/json"},
		{".woff2", "font/woff2"},
		{".txt", "text/plain; charset=utf-8"},
		{".map", "application/json"},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof t / sizeof *t; i++)
		if (strcmp(dot, t[i].ext) == 0)
			return t[i].type;
	return "application/octet-stream";
}

static int read_all(const char *path, unsigned char **out, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	struct stat st;
	if (fstat(fileno(fp), &st) < 0 || st.st_size > (off_t)MAX_BYTES) {
		fclose(fp);
		return -1;
	}
	unsigned char *b = tr_xmalloc((size_t)st.st_size + 1);
	size_t n = b ? fread(b, 1, (size_t)st.st_size, fp) : 0;
	fclose(fp);
	if (!b || n != (size_t)st.st_size) {
		free(b);
		return -1;
	}
	*out = b;
	*len = n;
	return 0;
}

static struct tr_http_file *find_mut(struct tr_http_files *f, const char *p)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->f[i].path, p) == 0)
			return &f->f[i];
	return NULL;
}

/* Reads dir/rel recursively; .gz files are attached to their twin after
 * the walk.  0, or -1 with err. */
static int walk(struct tr_http_files *f, const char *root, const char *rel,
		int gz_pass, char *err, size_t errlen)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s%s", root, rel);
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot read the directory", dir);
		return -1;
	}
	struct dirent *e;
	int rc = 0;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char r[1024], full[4096 + 1024];
		snprintf(r, sizeof r, "%s/%s", rel, e->d_name);
		snprintf(full, sizeof full, "%s%s", root, r);
		struct stat st;
		if (stat(full, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = walk(f, root, r, gz_pass, err, errlen);
			continue;
		}
		if (!S_ISREG(st.st_mode))
			continue;
		size_t rl = strlen(r);
		int is_gz = rl > 3 && strcmp(r + rl - 3, ".gz") == 0;
		if (is_gz != gz_pass)
			continue;
		unsigned char *data;
		size_t len;
		if (f->bytes + (size_t)st.st_size > MAX_BYTES ||
		    (!is_gz && f->n >= MAX_FILES)) {
			snprintf(err, errlen, "%s: more than %d files or %u "
					      "bytes", root, MAX_FILES, MAX_BYTES);
			rc = -1;
			break;
		}
		if (read_all(full, &data, &len) < 0) {
			snprintf(err, errlen, "%s: cannot read", full);
			rc = -1;
			break;
		}
		f->bytes += len;
		if (is_gz) {
			r[rl - 3] = '\0';
			struct tr_http_file *t = find_mut(f, r);
			if (t && !t->gz) {
				t->gz = data;
				t->gzlen = len;
			} else {
				free(data);
			}
			continue;
		}
		struct tr_http_file *t = &f->f[f->n];
		t->path = tr_xstrdup(r);
		if (!t->path) {
			free(data);
			rc = -1;
			break;
		}
		t->data = data;
		t->len = len;
		t->ctype = ctype_of(r);
		t->immutable = strncmp(r, "/assets/", 8) == 0;
		f->n++;
	}
	closedir(d);
	return rc;
}

struct tr_http_files *tr_http_files_load(const char *dir, char *err,
					 size_t errlen)
{
	struct tr_http_files *f = tr_xcalloc(1, sizeof *f);
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (walk(f, dir, "", 0, err, errlen) < 0 ||
	    walk(f, dir, "", 1, err, errlen) < 0) {
		tr_http_files_free(f);
		return NULL;
	}
	return f;
}

void tr_http_files_free(struct tr_http_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->f[i].path);
		free(f->f[i].data);
		free(f->f[i].gz);
	}
	free(f);
}

size_t tr_http_files_count(const struct tr_http_files *f)
{
	return f ? f->n : 0;
}

const struct tr_http_file *tr_http_files_find(const struct tr_http_files *f,
					      const char *path)
{
	if (!f || path[0] != '/')
		return NULL;
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if (strstr(path, "..") || strstr(path, "//"))
		return NULL;
	for (const char *p = path; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-' || *p == '/'))
			return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->f[i].path, path) == 0)
			return &f->f[i];
	return NULL;
}
