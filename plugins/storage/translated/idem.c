/* SPDX-License-Identifier: Apache-2.0 */
/*
 * idem.c - the translated storage plugin: the idempotency keys of the
 * volumes the plugin made (a replayed create finds its volume, also
 * after a restart: they are kept in the plugin's state dir).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "translated_int.h"

/* Vendor strings are cut to the standard objects' fields on purpose. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* ---- idempotency keys of the volumes the plugin made ----
 * A vendor array keeps no idempotency key with a volume, so the plugin
 * remembers them, per endpoint, pool target and name: a replayed create
 * finds its volume; one made under another key is CONFLICT.  They live in
 * made.json of the plugin's state dir (host->state_dir, since 1.1), one
 * object {"ENDPOINT|TARGET|NAME": KEY}, rewritten whole (a temporary
 * file, fsync, rename) at each change, so a replay after trellisd
 * restarted still finds what the first attempt made.  On a host without
 * state_dir they are kept for the life of the process only. */
static json_t *made;    /* the keys: {where: key} */
static char made_file[4200]; /* "" : memory only */
static pthread_mutex_t made_lock = PTHREAD_MUTEX_INITIALIZER;

int tx_made_open(struct tx *tx, trellis_call_t *call)
{
	const trellis_host_t *h = tx->host;
	char dir[4096];
	pthread_mutex_lock(&made_lock);
	json_decref(made);
	made = NULL;
	made_file[0] = '\0';
	if (TRELLIS_HOST_HAS(h, state_dir) &&
	    h->state_dir(tx->self, call, dir, sizeof dir) == 0)
		snprintf(made_file, sizeof made_file, "%s/made.json", dir);
	else
		h->log(tx->self, TRELLIS_LOG_WARNING,
		       "no state dir: the idempotency keys of the volumes "
		       "made are kept in memory only");
	if (made_file[0]) {
		json_error_t je;
		made = json_load_file(made_file, 0, &je);
		if (!made && access(made_file, F_OK) == 0) {
			pthread_mutex_unlock(&made_lock);
			return h->set_error(call, TRELLIS_E_IO,
					    "%s:%d:%d: %s", made_file, je.line,
					    je.column, je.text);
		}
	}
	if (!json_is_object(made)) {
		json_decref(made);
		made = json_object();
	}
	pthread_mutex_unlock(&made_lock);
	return 0;
}

void tx_made_close(void)
{
	pthread_mutex_lock(&made_lock);
	json_decref(made);
	made = NULL;
	pthread_mutex_unlock(&made_lock);
}

/* Writes the keys out (made_lock held): 0, or -1 with errno. */
static int made_save(void)
{
	if (!made_file[0])
		return 0;
	char tmp[4300];
	snprintf(tmp, sizeof tmp, "%s.tmp", made_file);
	char *text = json_dumps(made, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return errno = ENOMEM, -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = strlen(text), done = 0;
	while (fd >= 0 && done < n) {
		ssize_t w = write(fd, text + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	free(text);
	int ok = fd >= 0 && done == n && fsync(fd) == 0;
	int err = errno;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, made_file)) {
		if (ok)
			err = errno;
		unlink(tmp);
		return errno = err, -1;
	}
	return 0;
}

static void made_where(struct tx_pool *p, const char *name, char *buf,
		       size_t len)
{
	snprintf(buf, len, "%s|%s|%s", p->endpoint, p->target, name);
}

int tx_made_is(struct tx_pool *p, const char *name, const char *key)
{
	char w[2048];
	made_where(p, name, w, sizeof w);
	pthread_mutex_lock(&made_lock);
	const char *k = json_string_value(json_object_get(made, w));
	int r = !k ? 0 : key && !strcmp(k, key) ? 1 : -1;
	pthread_mutex_unlock(&made_lock);
	return r;
}

int tx_made_set(struct tx_pool *p, trellis_call_t *call, const char *name,
		const char *key)
{
	char w[2048];
	made_where(p, name, w, sizeof w);
	pthread_mutex_lock(&made_lock);
	if (!made)
		made = json_object();
	const char *k = json_string_value(json_object_get(made, w));
	int change = key ? !k || strcmp(k, key) : k != NULL;
	int rc = 0;
	if (change) {
		if (key)
			json_object_set_new(made, w, json_string(key));
		else
			json_object_del(made, w);
		int bad = made_save();
		if (bad && call)
			rc = H->set_error(call, TRELLIS_E_IO,
					  "pool '%s': %s: %s", p->name,
					  made_file, strerror(errno));
		else if (bad)
			H->log(p->tx->self, TRELLIS_LOG_WARNING,
			       "pool '%s': %s: %s", p->name, made_file,
			       strerror(errno));
	}
	pthread_mutex_unlock(&made_lock);
	return rc;
}
