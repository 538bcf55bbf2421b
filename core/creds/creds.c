/* SPDX-License-Identifier: Apache-2.0 */
/* creds.c - storage credentials, bridges and transfer progress as rows of
 * store tables, the secrets sealed (creds.h). */
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

#include "../store/sql.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tr_store *st; /* a connection of our own, under lock */
static struct tr_sql *db;
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

/* ---- rows (the lock held) ----
 * Each table is (name PRIMARY KEY, owner, body, updated_at): body is the
 * record's JSON as the files held it (migration adapters-0001-records). */

static int db_fail(trellis_call_t *call, int rc, const char *what)
{
	return tr_call_set(call, rc < 0 ? rc : TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

static int row_check(trellis_call_t *call, const char *what,
		     const char *name)
{
	if (!db || !key)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "%ss are not open (no state dir)", what);
	if (!name_ok(name))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s name '%s': use [A-Za-z0-9._-], not "
				   "starting with a dot, at most 127",
				   what, name ? name : "");
	return 0;
}

/* Writes rec under name: a new row only (upsert 0: CONFLICT when there),
 * or the row replaced. */
static int row_put(trellis_call_t *call, const char *table, const char *what,
		   const char *name, json_t *rec, int upsert)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "INSERT INTO %s (name, owner, body, updated_at) VALUES "
		 "(?1, ?2, ?3, ?4)%s",
		 table,
		 upsert ? " ON CONFLICT (name) DO UPDATE SET owner = "
			  "excluded.owner, body = excluded.body, updated_at = "
			  "excluded.updated_at"
			: "");
	struct tr_sql_stmt *q = NULL;
	char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = tr_sql_prepare(db, sql, &q);
	if (!rc) {
		tr_sql_bind_text(q, 1, name);
		tr_sql_bind_text(q, 2,
				 json_string_value(json_object_get(rec, "owner")));
		tr_sql_bind_text(q, 3, text);
		tr_sql_bind_int64(q, 4, tr_sql_now());
		rc = tr_sql_step(q);
	}
	if (rc == TRELLIS_E_CONFLICT)
		rc = tr_call_set(call, TRELLIS_E_CONFLICT,
				 "%s '%s' already exists", what, name);
	else if (rc < 0)
		rc = db_fail(call, rc, table);
	else
		rc = 0;
	tr_sql_finalize(q);
	if (text)
		sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

static int row_get(trellis_call_t *call, const char *table, const char *what,
		   const char *name, json_t **out)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT body FROM %s WHERE name = ?1", table);
	struct tr_sql_stmt *q = NULL;
	*out = NULL;
	int rc = tr_sql_prepare(db, sql, &q);
	if (!rc) {
		tr_sql_bind_text(q, 1, name);
		rc = tr_sql_step(q);
	}
	if (rc == TR_SQL_ROW) {
		json_error_t je;
		*out = json_loads(tr_sql_column_text(q, 0), 0, &je);
		rc = *out ? 0
			  : tr_call_set(call, TRELLIS_E_IO, "%s '%s': %s",
					what, name, je.text);
	} else if (rc == TR_SQL_DONE)
		rc = tr_call_set(call, TRELLIS_E_NOTFOUND, "%s '%s' not found",
				 what, name);
	else
		rc = db_fail(call, rc, table);
	tr_sql_finalize(q);
	return rc;
}

static int row_list(trellis_call_t *call, const char *table,
		    const char *what, const char *owner, json_t **out,
		    json_t *(*view)(json_t *))
{
	char sql[256];
	if (!db)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "%ss are not open", what);
	snprintf(sql, sizeof sql, "SELECT body FROM %s%s ORDER BY name",
		 table, owner ? " WHERE owner = ?1" : "");
	struct tr_sql_stmt *q = NULL;
	int rc = tr_sql_prepare(db, sql, &q);
	if (rc)
		return db_fail(call, rc, table);
	if (owner)
		tr_sql_bind_text(q, 1, owner);
	json_t *items = json_array();
	while ((rc = tr_sql_step(q)) == TR_SQL_ROW) {
		json_t *r = json_loads(tr_sql_column_text(q, 0), 0, NULL);
		if (r)
			json_array_append_new(items, view(r));
		json_decref(r);
	}
	tr_sql_finalize(q);
	if (rc < 0) {
		json_decref(items);
		return db_fail(call, rc, table);
	}
	*out = json_pack("{s:o}", "items", items);
	return 0;
}

static int row_delete(trellis_call_t *call, const char *table,
		      const char *what, const char *name)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DELETE FROM %s WHERE name = ?1", table);
	struct tr_sql_stmt *q = NULL;
	int rc = tr_sql_prepare(db, sql, &q);
	if (!rc) {
		tr_sql_bind_text(q, 1, name);
		rc = tr_sql_step(q);
	}
	if (rc < 0)
		rc = db_fail(call, rc, table);
	else if (tr_sql_changes(db) == 0)
		rc = tr_call_set(call, TRELLIS_E_NOTFOUND, "%s '%s' not found",
				 what, name);
	else
		rc = 0;
	tr_sql_finalize(q);
	return rc;
}

/* The upgrade from the files of before (STATE_DIR/credentials,
 * bridges, transfers: one NAME.json each): each becomes a row (one made
 * since stays as it is) and its file goes; the folder goes when empty. */
static void import_dir(const char *state_dir, const char *sub,
		       const char *table)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/%s", state_dir, sub);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	size_t n_in = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n < 6 ||
		    strcmp(de->d_name + n - 5, ".json"))
			continue;
		char p[4600], name[256];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		snprintf(name, sizeof name, "%.*s", (int)(n - 5), de->d_name);
		json_t *r = json_load_file(p, 0, NULL);
		trellis_call_t call;
		tr_call_init(&call, NULL);
		if (!r) {
			tr_warn("%s: not JSON, left where it is", p);
			continue;
		}
		int rc = row_put(&call, table, sub, name, r, 0);
		json_decref(r);
		if (rc == 0 || rc == TRELLIS_E_CONFLICT) {
			unlink(p);
			n_in += rc == 0;
		} else
			tr_warn("%s: not imported: %s", p, call.message);
	}
	closedir(d);
	rmdir(dir);
	if (n_in)
		tr_info("%s: %zu records moved into the store (%s)", dir, n_in,
			table);
}

int tr_creds_init(const char *state_dir, const char *store_path, char *err,
		  size_t errlen)
{
	char p[4096];
	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium: initialisation failed");
		return -1;
	}
	tr_creds_fini();
	pthread_mutex_lock(&lock);
	snprintf(p, sizeof p, "%s/credentials.key", state_dir);
	int rc = load_key(p, err, errlen);
	if (!rc && !(st = tr_store_open(store_path, 0, err, errlen)))
		rc = -1;
	if (!rc) {
		db = tr_store_sql(st);
		import_dir(state_dir, "credentials", "tr_storage_credential");
		import_dir(state_dir, "bridges", "tr_storage_bridge");
		import_dir(state_dir, "transfers", "tr_volume_transfer");
	}
	pthread_mutex_unlock(&lock);
	if (rc)
		tr_creds_fini();
	return rc;
}

void tr_creds_fini(void)
{
	pthread_mutex_lock(&lock);
	db = NULL;
	tr_store_close(st);
	st = NULL;
	if (key)
		sodium_free(key);
	key = NULL;
	pthread_mutex_unlock(&lock);
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
	if (out)
		*out = NULL;
	if (!secret || !*secret)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "credential '%s': an empty secret",
				   name ? name : "");
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "credential", name);
	if (rc)
		goto out;
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
	rc = row_put(call, "tr_storage_credential", "credential", name, rec, 0);
	if (!rc && out)
		*out = cred_view(rec);
	json_decref(rec);
out:
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_creds_get(const char *name, json_t **out, trellis_call_t *call)
{
	json_t *rec = NULL;
	*out = NULL;
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "credential", name);
	if (!rc)
		rc = row_get(call, "tr_storage_credential", "credential", name,
			     &rec);
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
	int rc = row_list(call, "tr_storage_credential", "credential", owner,
			  out, cred_view);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_creds_delete(const char *name, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "credential", name);
	if (!rc)
		rc = row_delete(call, "tr_storage_credential", "credential",
				name);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_creds_secret(const char *name, char **value)
{
	json_t *rec = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	*value = NULL;
	pthread_mutex_lock(&lock);
	int rc = row_check(&call, "credential", name);
	if (!rc)
		rc = row_get(&call, "tr_storage_credential", "credential", name,
			     &rec);
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
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "bridge", name);
	if (!rc)
		rc = row_put(call, "tr_storage_bridge", "bridge", name, rec, 1);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_bridge_get(const char *name, json_t **out, trellis_call_t *call)
{
	*out = NULL;
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "bridge", name);
	if (!rc)
		rc = row_get(call, "tr_storage_bridge", "bridge", name, out);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_bridge_list(const char *owner, json_t **out, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = row_list(call, "tr_storage_bridge", "bridge", owner, out,
			  same);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_bridge_delete(const char *name, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "bridge", name);
	if (!rc)
		rc = row_delete(call, "tr_storage_bridge", "bridge", name);
	pthread_mutex_unlock(&lock);
	return rc;
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

/* ---- transfer progress ---- */

int tr_xfer_progress_get(const char *id, json_t **out, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "transfer", id);
	if (!rc)
		rc = row_get(call, "tr_volume_transfer", "transfer", id, out);
	pthread_mutex_unlock(&lock);
	return rc;
}

int tr_xfer_progress_put(const char *id, json_t *rec, trellis_call_t *call)
{
	pthread_mutex_lock(&lock);
	int rc = row_check(call, "transfer", id);
	if (!rc)
		rc = row_put(call, "tr_volume_transfer", "transfer", id, rec,
			     1);
	pthread_mutex_unlock(&lock);
	return rc;
}

void tr_xfer_progress_delete(const char *id)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	pthread_mutex_lock(&lock);
	if (row_check(&call, "transfer", id) == 0)
		row_delete(&call, "tr_volume_transfer", "transfer", id);
	pthread_mutex_unlock(&lock);
}
