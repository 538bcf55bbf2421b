/* SPDX-License-Identifier: Apache-2.0 */
/* secret.c - see secret.h. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/alloc.h"

int tr_secrets_add(struct tr_secrets *s, const char *value)
{
	if (!value || !*value)
		return 0;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], value) == 0)
			return 0;
	char **v = tr_xrealloc(s->v, (s->n + 1) * sizeof *v);
	if (!v)
		return -1;
	s->v = v;
	if (!(s->v[s->n] = tr_xstrdup(value)))
		return -1;
	s->n++;
	return 0;
}

void tr_secrets_clear(struct tr_secrets *s)
{
	for (size_t i = 0; i < s->n; i++) {
		sodium_memzero(s->v[i], strlen(s->v[i]));
		free(s->v[i]);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

char *tr_secrets_redact_str(const struct tr_secrets *s, const char *str)
{
	char *out = tr_xstrdup(str ? str : "");
	for (size_t i = 0; out && i < s->n; i++) {
		const char *sec = s->v[i];
		size_t sl = strlen(sec), rl = strlen(TR_REDACTED);
		char *hit;
		size_t from = 0;
		while ((hit = strstr(out + from, sec))) {
			size_t pre = (size_t)(hit - out), ol = strlen(out);
			char *n = tr_xmalloc(ol - sl + rl + 1);
			if (!n) {
				free(out);
				return NULL;
			}
			memcpy(n, out, pre);
			memcpy(n + pre, TR_REDACTED, rl);
			strcpy(n + pre + rl, hit + sl);
			free(out);
			out = n;
			from = pre + rl;
		}
	}
	return out;
}

json_t *tr_secrets_redact(const struct tr_secrets *s, const json_t *v)
{
	if (!v)
		return NULL;
	if (s->n == 0)
		return json_deep_copy(v);
	if (json_is_string(v)) {
		char *r = tr_secrets_redact_str(s, json_string_value(v));
		json_t *o = r ? json_string(r) : json_string(TR_REDACTED);
		free(r);
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < json_array_size(v); i++)
			json_array_append_new(
				a, tr_secrets_redact(s, json_array_get(v, i)));
		return a;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
			json_object_set_new(o, k, tr_secrets_redact(s, x));
		return o;
	}
	return json_deep_copy(v);
}

struct tr_seal {
	unsigned char key[crypto_secretbox_KEYBYTES];
};

struct tr_seal *tr_seal_new(const char *path, char *err, size_t errlen)
{
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: initialisation failed");
		return NULL;
	}
	struct tr_seal *k = sodium_malloc(sizeof *k);
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (!path) {
		crypto_secretbox_keygen(k->key);
		return k;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, k->key, sizeof k->key);
		close(fd);
		if (r == (ssize_t)sizeof k->key)
			return k;
		snprintf(err, errlen, "%s: not a workflow sealing key (%zd "
				      "bytes)",
			 path, r);
		goto fail;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* Written to a temporary file and renamed, so a crash never
	 * leaves a short key behind. */
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	crypto_secretbox_keygen(k->key);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, k->key, sizeof k->key) != sizeof k->key ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto fail;
	}
	return k;
fail:
	sodium_free(k);
	return NULL;
}

void tr_seal_free(struct tr_seal *k)
{
	if (k)
		sodium_free(k);
}

char *tr_seal_json(const struct tr_seal *k, const json_t *v)
{
	char *plain = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!plain)
		return NULL;
	size_t pl = strlen(plain);
	size_t bl = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + pl;
	unsigned char *box = tr_xmalloc(bl);
	size_t b64l = sodium_base64_ENCODED_LEN(
		bl, sodium_base64_VARIANT_ORIGINAL);
	char *out = tr_xmalloc(b64l);
	if (box && out) {
		randombytes_buf(box, crypto_secretbox_NONCEBYTES);
		crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
				      (unsigned char *)plain, pl, box, k->key);
		sodium_bin2base64(out, b64l, box, bl,
				  sodium_base64_VARIANT_ORIGINAL);
	} else {
		free(out);
		out = NULL;
	}
	sodium_memzero(plain, pl);
	free(plain);
	free(box);
	return out;
}

json_t *tr_unseal_json(const struct tr_seal *k, const char *text)
{
	size_t tl = strlen(text), bl;
	unsigned char *box = tr_xmalloc(tl + 1);
	json_t *v = NULL;
	if (!box || sodium_base642bin(box, tl, text, tl, NULL, &bl, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bl < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto out;
	size_t pl = bl - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	char *plain = tr_xmalloc(pl + 1);
	if (!plain)
		goto out;
	if (crypto_secretbox_open_easy((unsigned char *)plain,
				       box + crypto_secretbox_NONCEBYTES,
				       bl - crypto_secretbox_NONCEBYTES, box,
				       k->key) == 0) {
		plain[pl] = '\0';
		v = json_loads(plain, JSON_DECODE_ANY, NULL);
	}
	sodium_memzero(plain, pl);
	free(plain);
out:
	free(box);
	return v;
}
