/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.c - the API keys file (keys.h).
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
#include "keys.h"

#define NAME_MAX_LEN 64
#define HASH_LEN crypto_generichash_BYTES /* 32 */

struct key {
	char name[NAME_MAX_LEN + 1];
	unsigned char hash[HASH_LEN];
	long long expires; /* unix seconds; 0: never */
};

struct tr_keys {
	struct key *v;
	size_t n;
};

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

static void hash_token(const char *token, unsigned char out[HASH_LEN])
{
	crypto_generichash(out, HASH_LEN, (const unsigned char *)token,
			   strlen(token), NULL, 0);
}

/* Group and others must not read it: it grants the whole API. */
static int check_file(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen,
			 "%s: mode %04o lets others read the API keys; "
			 "chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

struct tr_keys *tr_keys_load(const char *path, char *err, size_t errlen)
{
	err[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: initialisation failed");
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	FILE *f = check_file(fd, path, err, errlen) == 0 ? fdopen(fd, "r")
							 : NULL;
	if (!f) {
		if (!*err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	struct tr_keys *k = tr_xcalloc(1, sizeof *k);
	char line[512];
	int lineno = 0, bad = !k;
	if (!k)
		snprintf(err, errlen, "out of memory");
	while (!bad && fgets(line, sizeof line, f)) {
		lineno++;
		char *p = line + strspn(line, " \t");
		p[strcspn(p, "\r\n")] = '\0';
		if (*p == '\0' || *p == '#')
			continue;
		size_t nl = strcspn(p, " \t");
		char *h = p + nl + strspn(p + nl, " \t");
		size_t hn = strcspn(h, " \t");
		char *x = h + hn + strspn(h + hn, " \t");
		struct key key = {.expires = 0};
		size_t hl = 0;
		char *end = NULL;
		if (strncmp(x, "expires=", 8) == 0) {
			errno = 0;
			key.expires = strtoll(x + 8, &end, 10);
			if (errno || end == x + 8 || *end || key.expires <= 0)
				end = NULL;
		} else if (!*x) {
			end = x;
		}
		if (!name_ok(p, nl) || !end ||
		    sodium_hex2bin(key.hash, sizeof key.hash, h, hn, NULL, &hl,
				   NULL) != 0 ||
		    hl != HASH_LEN) {
			snprintf(err, errlen,
				 "%s:%d: expected NAME, a %d-digit hex hash and "
				 "optionally expires=UNIX_SECONDS",
				 path, lineno, HASH_LEN * 2);
			bad = 1;
			break;
		}
		memcpy(key.name, p, nl);
		key.name[nl] = '\0';
		for (size_t i = 0; i < k->n; i++)
			if (strcmp(k->v[i].name, key.name) == 0) {
				snprintf(err, errlen, "%s:%d: key '%s' twice",
					 path, lineno, key.name);
				bad = 1;
			}
		struct key *v = bad ? NULL
				    : tr_xrealloc(k->v, (k->n + 1) * sizeof *v);
		if (!v) {
			if (!bad)
				snprintf(err, errlen, "out of memory");
			bad = 1;
			break;
		}
		k->v = v;
		k->v[k->n++] = key;
	}
	fclose(f);
	if (bad) {
		tr_keys_free(k);
		return NULL;
	}
	return k;
}

void tr_keys_free(struct tr_keys *k)
{
	if (!k)
		return;
	if (k->v)
		sodium_memzero(k->v, k->n * sizeof *k->v);
	free(k->v);
	free(k);
}

size_t tr_keys_count(const struct tr_keys *k)
{
	return k ? k->n : 0;
}

const char *tr_keys_name(const struct tr_keys *k, size_t i)
{
	return k && i < k->n ? k->v[i].name : NULL;
}

long long tr_keys_expires(const struct tr_keys *k, size_t i)
{
	return k && i < k->n ? k->v[i].expires : 0;
}

int tr_keys_check(const struct tr_keys *k, const char *token, long long now,
		  char *name, size_t namelen)
{
	if (namelen)
		name[0] = '\0';
	if (!k || !token)
		return 0;
	unsigned char h[HASH_LEN];
	hash_token(token, h);
	const struct key *found = NULL;
	/* Every entry is compared, so the time says nothing of which. */
	for (size_t i = 0; i < k->n; i++)
		if (sodium_memcmp(h, k->v[i].hash, HASH_LEN) == 0)
			found = &k->v[i];
	sodium_memzero(h, sizeof h);
	if (!found)
		return 0;
	snprintf(name, namelen, "%s", found->name);
	return found->expires && now >= found->expires ? -1 : 1;
}

int tr_keys_add(const char *path, const char *name, long long expires,
		char *token, char *err, size_t errlen)
{
	err[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: initialisation failed");
		return -1;
	}
	if (!name_ok(name, strlen(name))) {
		snprintf(err, errlen,
			 "key name '%.80s': 1 to %d letters, digits, '-', '_' "
			 "or '.'",
			 name, NAME_MAX_LEN);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* An existing file must already be private and well formed
	 * (tr_keys_load checks both). */
	struct tr_keys *k = tr_keys_load(path, err, errlen);
	int rc = -1;
	if (k) {
		for (size_t i = 0; i < k->n; i++)
			if (strcmp(k->v[i].name, name) == 0)
				snprintf(err, errlen,
					 "%s: a key named '%s' exists already",
					 path, name);
	}
	if (k && !*err) {
		unsigned char raw[32], h[HASH_LEN];
		char line[NAME_MAX_LEN + HASH_LEN * 2 + 48];
		randombytes_buf(raw, sizeof raw);
		memcpy(token, "trk_", 4);
		sodium_bin2hex(token + 4, TR_KEY_TOKEN_LEN - 3, raw, sizeof raw);
		hash_token(token, h);
		int n = snprintf(line, sizeof line, "%s ", name);
		sodium_bin2hex(line + n, sizeof line - (size_t)n, h, sizeof h);
		n = (int)strlen(line);
		if (expires > 0)
			snprintf(line + n, sizeof line - (size_t)n,
				 " expires=%lld", expires);
		strcat(line, "\n");
		ssize_t w = write(fd, line, strlen(line));
		if (w == (ssize_t)strlen(line) && fsync(fd) == 0)
			rc = 0;
		else
			snprintf(err, errlen, "%s: %s", path,
				 w < 0 ? strerror(errno) : "short write");
		sodium_memzero(raw, sizeof raw);
		if (rc < 0)
			sodium_memzero(token, TR_KEY_TOKEN_LEN + 1);
	}
	tr_keys_free(k);
	close(fd);
	return rc;
}

int tr_keys_remove(const char *path, const char *name, char *err,
		   size_t errlen)
{
	err[0] = '\0';
	/* The file must be private and well formed to be rewritten. */
	struct tr_keys *k = tr_keys_load(path, err, errlen);
	if (!k)
		return -1;
	int known = 0;
	for (size_t i = 0; i < k->n; i++)
		known |= strcmp(k->v[i].name, name) == 0;
	tr_keys_free(k);
	if (!known) {
		snprintf(err, errlen, "%s: no key named '%.80s'", path, name);
		return -1;
	}
	FILE *in = fopen(path, "re");
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	int fd = in ? mkostemp(tmp, O_CLOEXEC) : -1;
	FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!out) {
		snprintf(err, errlen, "%s: %s", in ? tmp : path,
			 strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		if (in)
			fclose(in);
		return -1;
	}
	/* Every other line stays as it was, comments included. */
	char line[512];
	size_t len = strlen(name);
	while (fgets(line, sizeof line, in)) {
		const char *p = line + strspn(line, " \t");
		if (strncmp(p, name, len) == 0 &&
		    (p[len] == ' ' || p[len] == '\t'))
			continue;
		fputs(line, out);
	}
	fclose(in);
	int rc = fflush(out) == 0 && fsync(fd) == 0 ? 0 : -1;
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	fclose(out);
	if (rc == 0 && rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc < 0)
		unlink(tmp);
	return rc;
}
