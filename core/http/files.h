/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.h - the dashboard's files (issue 25): the built front-end that
 * scons installs in share/trellis/dashboard, read into memory once when
 * the listener starts and served at / by the HTTP listener itself.  A
 * file with a .gz twin (made by the build) goes compressed to a browser
 * that takes gzip.  Vite names assets by their content's hash, so
 * assets/ is cached for good and index.html never.
 */
#ifndef TRELLIS_CORE_HTTP_FILES_H
#define TRELLIS_CORE_HTTP_FILES_H

#include <stddef.h>

struct tr_http_file {
	char *path;          /* "/index.html" */
	const char *ctype;   /* static */
	unsigned char *data, *gz; /* gz: the .gz twin, or NULL */
	size_t len, gzlen;
	int immutable;       /* under /assets/ */
};

struct tr_http_files;

/* Reads dir (at most 512 files and 32 MiB).  NULL with err when it
 * cannot be read. */
struct tr_http_files *tr_http_files_load(const char *dir, char *err,
					 size_t errlen);
void tr_http_files_free(struct tr_http_files *f);
size_t tr_http_files_count(const struct tr_http_files *f);
/* The file of a URL path ("/" is "/index.html"), or NULL.  Paths with
 * "..", "//" or characters outside [A-Za-z0-9._/-] are never found. */
const struct tr_http_file *tr_http_files_find(const struct tr_http_files *f,
					      const char *path);

#endif
