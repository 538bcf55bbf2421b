/* SPDX-License-Identifier: Apache-2.0 */
/* creds.c - storage credentials and bridges as sealed files (creds.h). */
#include "creds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/alloc.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *cred_dir, *bridge_dir;
static unsigned char *key; /* sodium_malloc'd */

static int name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 127 || s[0] == '.')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		      *s == '.'))
			return 0;
	return 1;
}

static int mkdir_0700(const char *d, char *err, size_t errlen)
{
	if (mkdir(d, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", d, strerror(errno));
		return -1;
	}
	return 0;
}

static int load_key(const char *path, char *err, size_t errlen)
{
	key = sodium_malloc(crypto_secretbox_KEYBYTES);
	if (!key) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		struct stat sb;
		ssize_t r = -1;
		if (fstat(fd, &sb) == 0 && (sb.st_mode & 077)) {
			close(fd);
			snprintf(err, errlen,
				 "%s: mode %03o lets others read it (it must "
				 "be 0600)",
				 path, (unsigned)(sb.st_mode & 0777));
			return -1;
		}
		r = read(fd, key, crypto_secretbox_KEYBYTES);
		close(fd);
		if (r == crypto_secretbox_KEYBYTES)
			return 0;
		snprintf(err, errlen, "%s: not a credentials key (%zd bytes)",
			 path, r);
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	crypto_secretbox_keygen(key);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 ||
	    write(fd, key, crypto_secretbox_KEYBYTES) !=
		crypto_secretbox_KEYBYTES ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int tr_creds_init(const char *state_dir, char *err, size_t errlen)
{
	char p[4096];
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: initialisation failed");
		return -1;
	}
	tr_creds_fini();
	pthread_mutex_lock(&lock);
	snprintf(p, sizeof p, "%s/credentials", state_dir);
	cred_dir = tr_xstrdup(p);
	snprintf(p, sizeof p, "%s/bridges", state_dir);
	bridge_dir = tr_xstrdup(p);
	snprintf(p, sizeof p, "%s/credentials.key", state_dir);
	int rc = mkdir_0700(cred_dir, err, errlen) ||
			 mkdir_0700(bridge_dir, err, errlen) ||
			 load_key(p, err, errlen)
		     ? -1
		     : 0;
	pthread_mutex_unlock(&lock);
	if (rc)
		tr_creds_fini();
	return rc;
}

void tr_creds_fini(void)
{
	pthread_mutex_lock(&lock);
	free(cred_dir);
	free(bridge_dir);
	cred_dir = bridge_dir = NULL;
	if (key)
		sodium_free(key);
	key = NULL;
	pthread_mutex_unlock(&lock);
}

/* ---- files (the lock held) ---- */

static int rec_path(trellis_call_t *call, const char *dir, const char *what,
		    const char *name, char *buf, size_t len)
{
	if (!dir || !key)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "%ss are not open (no state dir)", what);
	if (!name_ok(name))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s name '%s': use [A-Za-z0-9._-], not "
				   "starting with a dot, at most 127",
				   what, name ? name : "");
	snprintf(buf, len, "%s/%s.json", dir, name);
	return 0;
}

static int write_rec(trellis_call_t *call, const char *path, json_t *rec)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	char *text = json_dumps(rec, JSON_INDENT(1) | JSON_SORT_KEYS);
	int fd = text ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0600)
		      : -1;
	size_t n = text ? strlen(text) : 0;
	int ok = fd >= 0 && write(fd, text, n) == (ssize_t)n &&
		 fsync(fd) == 0;
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (text)
		sodium_memzero(text, n);
	free(text);
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return tr_call_set(call, TRELLIS_E_IO, "%s: %s", path,
				   strerror(e));
	}
	return 0;
}

static int read_rec(trellis_call_t *call, const char *path, const char *what,
		    const char *name, json_t **out)
{
	json_error_t je;
	*out = json_load_file(path, 0, &je);
	if (*out)
		return 0;
	if (access(path, F_OK) != 0)
		return tr_call_set(call, TRELLIS_E_NOTFOUND,
				   "%s '%s' not found", what, name);
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", path, je.text);
}

static int list_dir(const char *dir, const char *owner, json_t **out,
		    trellis_call_t *call, const char *what,
		    json_t *(*view)(json_t *))
{
	if (!dir)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "%ss are not open", what);
	DIR *d = opendir(dir);
	if (!d)
		return tr_call_set(call, TRELLIS_E_IO, "%s: %s", dir,
				   strerror(errno));
	json_t *items = json_array();
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n < 6 ||
		    strcmp(de->d_name + n - 5, ".json"))
			continue;
		char p[4400];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		json_t *r = json_load_file(p, 0, NULL);
		if (!r)
			continue;
		const char *o = json_string_value(json_object_get(r, "owner"));
		if (!owner || (o && !strcmp(o, owner)))
			json_array_append_new(items, view(r));
		json_decref(r);
	}
	closedir(d);
	/* by name: readdir's order is the file system's */
	size_t n = json_array_size(items);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			json_t *a = json_array_get(items, j - 1),
			       *b = json_array_get(items, j);
			if (strcmp(json_string_value(json_object_get(a, "name")),
				   json_string_value(
				       json_object_get(b, "name"))) <= 0)
				break;
			json_incref(a);
			json_array_set(items, j - 1, b);
			json_array_set_new(items, j, a);
		}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

/* ---- credentials ---- */

/* A record as callers see it: no sealed secret, "secret": "set". */
static json_t *cred_view(json_t *rec)
{
	json_t *v = json_deep_copy(rec);
	json_object_del(v, "sealed");
	json_object_set_new(v, "secret", json_string("set"));
	return v;
}

int tr_creds_add(const char *name, json_t *meta, const char *secret,
		 json_t **out, trellis_call_t *call)
{
	char path[4200];
	if (out)
		*out = NULL;
	if (!secret || !*secret)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "credential '%s': an empty secret",
				   name ? name : "");
	pthread_mutex_lock(&lock);
	int rc = rec_path(call, cred_dir, "credential", name, path,
			  sizeof path);
	if (rc)
		goto out;
	if (access(path, F_OK) == 0) {
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "credential '%s' already exists", name);
		goto out;
	}
	size_t sl = strlen(secret);
	size_t bl = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + sl;
	unsigned char *box = tr_xmalloc(bl);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
			      (const unsigned char *)secret, sl, box, key);
	size_t b64l = sodium_base64_ENCODED_LEN(bl,
						sodium_base64_VARIANT_ORIGINAL);
	char *b64 = tr_xmalloc(b64l);
	sodium_bin2base64(b64, b64l, box, bl, sodium_base64_VARIANT_ORIGINAL);
	free(box);
	json_t *rec = json_deep_copy(meta);
	json_object_set_new(rec, "name", json_string(name));
	json_object_set_new(rec, "created_at", json_integer(time(NULL)));
	json_object_set_new(rec, "sealed", json_string(b64));
	free(b64);
	rc = write_rec(call, path, rec);
	if (!rc && out)
		*out = cred_view(rec);
	json_decref(rec);
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_creds_get(const char *name, json_t **out, trellis_call_t *call)
{
	char path[4200];
	json_t *rec = NULL;
	*out = NULL;
	pthread_mutex_lock(&lock);
	int rc = rec_path(call, cred_dir, "credential", name, path,
			  sizeof path);
	if (!rc)
		rc = read_rec(call, path, "credential", name, &rec);
	pthread_mutex_unlock(&lock);
	if (!rc) {
		*out = cred_view(rec);
		json_decref(rec);
	}
	return rc;
}

int tr_creds_list(const char *owner, json_t **out, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = list_dir(cred_dir, owner, out, call, "credential", cred_view);
	pthread_mutex_unlock(&lock);
	return rc;
}

static int delete_rec(const char *dir, const char *what, const char *name,
		      trellis_call_t *call)
{
	char path[4200];
	pthread_mutex_lock(&lock);
	int rc = rec_path(call, dir, what, name, path, sizeof path);
	if (!rc && unlink(path) != 0)
		rc = errno == ENOENT
			 ? tr_call_set(call, TRELLIS_E_NOTFOUND,
				       "%s '%s' not found", what, name)
			 : tr_call_set(call, TRELLIS_E_IO, "%s: %s", path,
				       strerror(errno));
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_creds_delete(const char *name, trellis_call_t *call)
{
	return delete_rec(cred_dir, "credential", name, call);
}

int tr_creds_secret(const char *name, char **value)
{
	char path[4200];
	json_t *rec = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	*value = NULL;
	pthread_mutex_lock(&lock);
	int rc = rec_path(&call, cred_dir, "credential", name, path,
			  sizeof path);
	if (!rc)
		rc = read_rec(&call, path, "credential", name, &rec);
	if (rc)
		goto out;
	const char *b64 = json_string_value(json_object_get(rec, "sealed"));
	size_t cap = b64 ? strlen(b64) : 0, bl = 0;
	unsigned char *box = tr_xmalloc(cap + 1);
	if (!b64 ||
	    sodium_base642bin(box, cap, b64, cap, NULL, &bl, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bl < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
		free(box);
		rc = TRELLIS_E_IO;
		goto out;
	}
	size_t pl = bl - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
	char *plain = tr_xmalloc(pl + 1);
	if (crypto_secretbox_open_easy((unsigned char *)plain,
				       box + crypto_secretbox_NONCEBYTES,
				       bl - crypto_secretbox_NONCEBYTES, box,
				       key) != 0) {
		free(box);
		free(plain);
		rc = TRELLIS_E_IO; /* sealed under another key */
		goto out;
	}
	free(box);
	plain[pl] = '\0';
	*value = plain;
out:
	json_decref(rec);
	pthread_mutex_unlock(&lock);
	return rc;
}

/* ---- bridges ---- */

static json_t *same(json_t *r)
{
	return json_incref(r);
}

int tr_bridge_put(const char *name, json_t *rec, trellis_call_t *call)
{
	char path[4200];
	pthread_mutex_lock(&lock);
	int rc = rec_path(call, bridge_dir, "bridge", name, path, sizeof path);
	if (!rc)
		rc = write_rec(call, path, rec);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_bridge_get(const char *name, json_t **out, trellis_call_t *call)
{
	char path[4200];
	*out = NULL;
	pthread_mutex_lock(&lock);
	int rc = rec_path(call, bridge_dir, "bridge", name, path, sizeof path);
	if (!rc)
		rc = read_rec(call, path, "bridge", name, out);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_bridge_list(const char *owner, json_t **out, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = list_dir(bridge_dir, owner, out, call, "bridge", same);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_bridge_delete(const char *name, trellis_call_t *call)
{
	return delete_rec(bridge_dir, "bridge", name, call);
}

int tr_bridge_between(const char *a, const char *b, json_t **out,
		      trellis_call_t *call)
{
	json_t *all = NULL;
	*out = NULL;
	int rc = tr_bridge_list(NULL, &all, call);
	if (rc)
		return rc;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(all, "items"), i, r)
	{
		const char *x = json_string_value(json_object_get(r, "a")),
			   *y = json_string_value(json_object_get(r, "b"));
		if (x && y && a && b &&
		    ((!strcmp(x, a) && !strcmp(y, b)) ||
		     (!strcmp(x, b) && !strcmp(y, a)))) {
			*out = json_incref(r);
			json_decref(all);
			return 0;
		}
	}
	json_decref(all);
	return tr_call_set(call, TRELLIS_E_NOTFOUND,
			   "no bridge between pools '%s' and '%s' (trellis "
			   "storage bridge create %s %s)",
			   a ? a : "", b ? b : "", a ? a : "", b ? b : "");
}
