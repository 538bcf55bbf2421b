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

#include "keys.h"

#define NAME_MAX_LEN 64
#define HASH_LEN crypto_generichash_BYTES /* 32 */

struct key {
	char name[NAME_MAX_LEN + 1];
	unsigned char hash[HASH_LEN];
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
	struct tr_keys *k = calloc(1, sizeof *k);
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
		struct key key;
		size_t hl = 0;
		if (!name_ok(p, nl) ||
		    sodium_hex2bin(key.hash, sizeof key.hash, h, strlen(h),
				   NULL, &hl, NULL) != 0 ||
		    hl != HASH_LEN) {
			snprintf(err, errlen,
				 "%s:%d: expected NAME and a %d-digit hex hash",
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
				    : realloc(k->v, (k->n + 1) * sizeof *v);
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

const char *tr_keys_check(const struct tr_keys *k, const char *token)
{
	if (!k || !token)
		return NULL;
	unsigned char h[HASH_LEN];
	hash_token(token, h);
	const char *found = NULL;
	/* Every entry is compared, so the time says nothing of which. */
	for (size_t i = 0; i < k->n; i++)
		if (sodium_memcmp(h, k->v[i].hash, HASH_LEN) == 0)
			found = k->v[i].name;
	sodium_memzero(h, sizeof h);
	return found;
}

int tr_keys_add(const char *path, const char *name, char *token, char *err,
		size_t errlen)
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
		char line[NAME_MAX_LEN + HASH_LEN * 2 + 4];
		randombytes_buf(raw, sizeof raw);
		memcpy(token, "trk_", 4);
		sodium_bin2hex(token + 4, TR_KEY_TOKEN_LEN - 3, raw, sizeof raw);
		hash_token(token, h);
		int n = snprintf(line, sizeof line, "%s ", name);
		sodium_bin2hex(line + n, sizeof line - (size_t)n, h, sizeof h);
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
