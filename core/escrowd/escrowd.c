/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escrowd.c - trellis-escrowd, the vendor's escrow of maintenance
 * passwords (issue 22).  It runs on the vendor's side, apart from any
 * trellisd, with its own X25519 key pair in its state directory
 * (escrow.key, 0600; escrow.pub, base64, for the customers' trellisd).
 *
 * It keeps entries (escrow.h) in escrow.db: code hash, sealed password,
 * expiry and the hash of the withdraw token; never a VM or a customer.
 * An entry is fetched once: the fetch deletes it.  Expired entries are
 * purged before every request.  A wrong code is audited and counts against the requester; after MAX_MISSES
 * misses within MISS_WINDOW_S, every fetch is refused (BUSY) until that
 * window has passed, so the code space cannot be walked.
 *
 * Audit lines (JSON, one per line) go to escrow-audit.log in the state
 * directory and to stderr; they never hold a password or a code, only a
 * prefix of the code's hash.
 *
 *   trellis-escrowd --state DIR --listen URL     serve
 *   trellis-escrowd --state DIR --public-key     print (making) the key
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <sodium.h>
#include <sqlite3.h>

#include "../escrow/escrow.h"
#include "../store/sql.h"

#define MAX_MISSES 5
#define MISS_WINDOW_S 60

#ifndef TRELLIS_VERSION
#define TRELLIS_VERSION "dev"
#endif

static const char USAGE[] =
    "Usage: trellis-escrowd --state DIR (--listen URL | --public-key)\n"
    "\n"
    "The vendor's escrow of maintenance passwords (Trellis maintenance "
    "mode).\n"
    "\n"
    "Options:\n"
    "  -s, --state DIR       the escrow's directory: its key pair "
    "(escrow.key,\n"
    "                        made on first use), its entries (escrow.db) "
    "and\n"
    "                        its audit log (escrow-audit.log)\n"
    "  -l, --listen URL      serve on this nanomsg address (tcp://HOST:PORT "
    "or\n"
    "                        ipc://PATH) until SIGTERM\n"
    "  -k, --public-key      print the public key (base64) that customers'\n"
    "                        trellisd take as escrow.public_key, and exit\n"
    "  -V, --version         print the version and exit\n"
    "  -h, --help            print this help and exit\n";

static volatile sig_atomic_t stop;
static unsigned char pk[crypto_box_PUBLICKEYBYTES];
static unsigned char sk[crypto_box_SECRETKEYBYTES];
static struct tr_sql *db;
static void *db_handle; /* what db wraps */

/* The only two places escrowd names its engine (the house test
 * tests/unit/house/sqlite_calls.t allows them): opens the file and wraps
 * it in the SQL layer (db); -1 on failure, said on stderr. */
static int escrow_db_open(const char *path)
{
	sqlite3 *h = NULL;
	if (sqlite3_open(path, &h) != SQLITE_OK) {
		fprintf(stderr, "escrowd: %s: %s\n", path,
			h ? sqlite3_errmsg(h) : "out of memory");
		sqlite3_close(h);
		return -1;
	}
	db_handle = h;
	db = tr_sql_wrap_sqlite(h);
	return 0;
}

static void escrow_db_close(void)
{
	tr_sql_unwrap(db);
	sqlite3_close(db_handle);
	db = NULL;
	db_handle = NULL;
}
static FILE *audit_f;
static time_t misses[MAX_MISSES]; /* ring of the latest wrong-code times */
static int miss_next;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void audit(const char *event, const char *hash, const char *who,
		  const char *detail)
{
	json_t *j = json_pack("{s:I, s:s, s:s?, s:s?, s:s?}", "time",
			      (json_int_t)time(NULL), "event", event, "entry",
			      hash, "who", who, "detail", detail);
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		fprintf(stderr, "escrowd: audit %s\n", s);
		if (audit_f) {
			fprintf(audit_f, "%s\n", s);
			fflush(audit_f);
		}
	}
	free(s);
	json_decref(j);
}

static int load_keys(const char *dir)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/escrow.key", dir);
	for (int attempt = 0;; attempt++) {
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			unsigned char both[sizeof pk + sizeof sk];
			ssize_t n = read(fd, both, sizeof both);
			close(fd);
			if (n != (ssize_t)sizeof both) {
				fprintf(stderr, "escrowd: %s: not a key file\n",
					path);
				return -1;
			}
			memcpy(pk, both, sizeof pk);
			memcpy(sk, both + sizeof pk, sizeof sk);
			sodium_memzero(both, sizeof both);
			return 0;
		}
		/* Made whole in a file of our own, then linked in: a second
		 * escrowd starting at the same moment finds either no key or
		 * a complete one, and takes the one that won. */
		crypto_box_keypair(pk, sk);
		snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0 || write(fd, pk, sizeof pk) != (ssize_t)sizeof pk ||
		    write(fd, sk, sizeof sk) != (ssize_t)sizeof sk ||
		    fsync(fd) < 0) {
			fprintf(stderr, "escrowd: %s: %s\n", tmp,
				strerror(errno));
			if (fd >= 0)
				close(fd);
			unlink(tmp);
			return -1;
		}
		close(fd);
		int linked = link(tmp, path);
		int err = errno;
		unlink(tmp);
		if (linked == 0)
			break;
		if (err != EEXIST || attempt > 0) {
			fprintf(stderr, "escrowd: %s: %s\n", path,
				strerror(err));
			return -1;
		}
	}
	char *b = escrow_b64(pk, sizeof pk);
	snprintf(path, sizeof path, "%s/escrow.pub", dir);
	FILE *f = fopen(path, "w");
	if (f) {
		fprintf(f, "%s\n", b);
		fclose(f);
	}
	free(b);
	return 0;
}

static json_t *fail(const char *code, const char *msg)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message",
			 msg);
}

static int rate_limited(time_t now)
{
	int n = 0;
	for (int i = 0; i < MAX_MISSES; i++)
		if (misses[i] && now - misses[i] < MISS_WINDOW_S)
			n++;
	return n >= MAX_MISSES;
}

static int hash_ok(const char *h)
{
	if (!h || strlen(h) != ESCROW_HASH_HEX - 1)
		return 0;
	for (; *h; h++)
		if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
			return 0;
	return 1;
}

static json_t *op_deposit(json_t *req)
{
	const char *h = json_string_value(json_object_get(req, "code_hash"));
	const char *sealed = json_string_value(json_object_get(req, "sealed"));
	const char *wd = json_string_value(json_object_get(req, "withdraw"));
	json_int_t exp = json_integer_value(json_object_get(req, "expires_at"));
	struct tr_sql_stmt *st = NULL;
	char wh[ESCROW_HASH_HEX];
	if (!hash_ok(h) || !sealed || exp <= time(NULL) || !hash_ok(wd))
		return fail("INVALID_ARG", "deposit needs code_hash, sealed, "
					   "withdraw and a future expires_at");
	escrow_withdraw_hash(wd, wh);
	if (tr_sql_prepare(db,
			   "INSERT INTO entries(code_hash, sealed, "
			   "expires_at, withdraw_hash) VALUES (?, ?, ?, ?)",
			   &st) != 0)
		return fail("BACKEND", tr_sql_errmsg(db));
	tr_sql_bind_text(st, 1, h);
	tr_sql_bind_text(st, 2, sealed);
	tr_sql_bind_int64(st, 3, exp);
	tr_sql_bind_text(st, 4, wh);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	if (rc != TR_SQL_DONE)
		return fail("CONFLICT", "that code is already deposited");
	char hp[13];
	snprintf(hp, sizeof hp, "%.12s", h);
	audit("DEPOSIT", hp, NULL, NULL);
	return json_pack("{s:b}", "ok", 1);
}

static json_t *op_fetch(json_t *req)
{
	const char *h = json_string_value(json_object_get(req, "code_hash"));
	const char *rk = json_string_value(json_object_get(req, "reply_key"));
	const char *who = json_string_value(json_object_get(req, "who"));
	time_t now = time(NULL);
	struct tr_sql_stmt *st = NULL;
	char hp[13] = "";
	json_t *out = NULL;
	if (h)
		snprintf(hp, sizeof hp, "%.12s", h);
	if (rate_limited(now)) {
		audit("FETCH_RATE_LIMITED", hp, who, NULL);
		return fail("BUSY", "too many wrong codes: try again later");
	}
	size_t kn = 0;
	unsigned char *key = escrow_unb64(rk, &kn);
	if (!hash_ok(h) || !key || kn != crypto_box_PUBLICKEYBYTES) {
		free(key);
		return fail("INVALID_ARG", "fetch needs code_hash and reply_key");
	}
	if (tr_sql_prepare(db,
			   "DELETE FROM entries WHERE code_hash = ? AND "
			   "expires_at > ? RETURNING sealed",
			   &st) != 0) {
		free(key);
		return fail("BACKEND", tr_sql_errmsg(db));
	}
	tr_sql_bind_text(st, 1, h);
	tr_sql_bind_int64(st, 2, now);
	if (tr_sql_step(st) != TR_SQL_ROW) {
		misses[miss_next++ % MAX_MISSES] = now;
		audit("FETCH_WRONG_CODE", hp, who, NULL);
		out = fail("NOTFOUND", "no entry for that code (wrong, used or "
				       "expired)");
		goto done;
	}
	size_t n = 0;
	unsigned char *box = escrow_unb64(tr_sql_column_text(st, 0), &n);
	unsigned char *pw =
	    box && n > crypto_box_SEALBYTES ? malloc(n - crypto_box_SEALBYTES)
					    : NULL;
	if (!pw || crypto_box_seal_open(pw, box, n, pk, sk) != 0) {
		audit("FETCH_UNREADABLE", hp, who, NULL);
		out = fail("BACKEND", "the entry cannot be opened");
	} else {
		size_t pn = n - crypto_box_SEALBYTES;
		unsigned char *re = malloc(pn + crypto_box_SEALBYTES);
		crypto_box_seal(re, pw, pn, key);
		char *b = escrow_b64(re, pn + crypto_box_SEALBYTES);
		out = json_pack("{s:b, s:s}", "ok", 1, "sealed", b);
		free(b);
		free(re);
		sodium_memzero(pw, pn);
		audit("FETCH", hp, who, NULL);
	}
	free(pw);
	free(box);
done:
	tr_sql_finalize(st);
	free(key);
	return out;
}

/* Deletes by withdraw token: the customer's trellisd holds that, and not
 * the code (it cannot fetch). */
static json_t *op_delete(json_t *req)
{
	const char *wd = json_string_value(json_object_get(req, "withdraw"));
	struct tr_sql_stmt *st = NULL;
	char wh[ESCROW_HASH_HEX];
	if (!hash_ok(wd))
		return fail("INVALID_ARG", "delete needs withdraw");
	escrow_withdraw_hash(wd, wh);
	if (tr_sql_prepare(db,
			   "DELETE FROM entries WHERE withdraw_hash = ? "
			   "RETURNING code_hash",
			   &st) != 0)
		return fail("BACKEND", tr_sql_errmsg(db));
	tr_sql_bind_text(st, 1, wh);
	char hp[13] = "";
	if (tr_sql_step(st) == TR_SQL_ROW)
		snprintf(hp, sizeof hp, "%.12s", tr_sql_column_text(st, 0));
	tr_sql_finalize(st);
	if (hp[0])
		audit("DELETE", hp, NULL, NULL);
	return json_pack("{s:b}", "ok", 1);
}

static void purge(void)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "DELETE FROM entries WHERE expires_at <= ?1",
			   &st) != 0)
		return;
	tr_sql_bind_int64(st, 1, tr_sql_now());
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	int n = rc == TR_SQL_DONE ? (int)tr_sql_changes(db) : 0;
	if (n > 0) {
		char d[32];
		snprintf(d, sizeof d, "%d", n);
		audit("EXPIRED", NULL, NULL, d);
	}
}

static int serve(const char *url)
{
	int sock = nn_socket(AF_SP, NN_REP), tmo = 500;
	if (sock < 0 || nn_bind(sock, url) < 0) {
		fprintf(stderr, "escrowd: bind %s: %s\n", url,
			nn_strerror(nn_errno()));
		return 1;
	}
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	fprintf(stderr, "escrowd: listening on %s\n", url);
	while (!stop) {
		char *buf = NULL;
		int n = nn_recv(sock, &buf, NN_MSG, 0);
		if (n < 0) {
			if (nn_errno() != ETIMEDOUT && nn_errno() != EAGAIN &&
			    nn_errno() != EINTR)
				fprintf(stderr, "escrowd: recv: %s\n",
					nn_strerror(nn_errno()));
			continue;
		}
		json_t *req = json_loadb(buf, (size_t)n, 0, NULL), *rep;
		sodium_memzero(buf, (size_t)n);
		nn_freemsg(buf);
		const char *op = json_string_value(json_object_get(req, "op"));
		purge();
		if (!op)
			rep = fail("INVALID_ARG", "not a request");
		else if (!strcmp(op, "deposit"))
			rep = op_deposit(req);
		else if (!strcmp(op, "fetch"))
			rep = op_fetch(req);
		else if (!strcmp(op, "delete"))
			rep = op_delete(req);
		else
			rep = fail("INVALID_ARG", "unknown op");
		char *txt = json_dumps(rep, JSON_COMPACT);
		if (txt && nn_send(sock, txt, strlen(txt), 0) < 0)
			fprintf(stderr, "escrowd: send: %s\n",
				nn_strerror(nn_errno()));
		free(txt);
		json_decref(rep);
		json_decref(req);
	}
	nn_close(sock);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *url = NULL;
	int print_key = 0, c;
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"public-key", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0}};
	while ((c = getopt_long(argc, argv, "s:l:khV", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'l': url = optarg; break;
		case 'k': print_key = 1; break;
		case 'h': fputs(USAGE, stdout); return 0;
		case 'V': printf("trellis-escrowd %s\n", TRELLIS_VERSION); return 0;
		default: fputs(USAGE, stderr); return 2;
		}
	}
	if (!dir || (!url && !print_key)) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (sodium_init() < 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    load_keys(dir) < 0)
		return 1;
	if (print_key) {
		char *b = escrow_b64(pk, sizeof pk);
		printf("%s\n", b);
		free(b);
		return 0;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/escrow.db", dir);
	if (escrow_db_open(path) < 0)
		return 1;
	if (tr_sql_exec(
		db, "CREATE TABLE IF NOT EXISTS entries("
		    "code_hash TEXT PRIMARY KEY, sealed TEXT NOT NULL, "
		    "expires_at INTEGER NOT NULL, withdraw_hash TEXT)") != 0) {
		fprintf(stderr, "escrowd: %s: %s\n", path, tr_sql_errmsg(db));
		return 1;
	}
	/* A database of the first release has no withdraw_hash yet. */
	tr_sql_exec(db, "ALTER TABLE entries ADD COLUMN withdraw_hash TEXT");
	snprintf(path, sizeof path, "%s/escrow-audit.log", dir);
	audit_f = fopen(path, "a");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int rc = serve(url);
	sodium_memzero(sk, sizeof sk);
	escrow_db_close();
	if (audit_f)
		fclose(audit_f);
	return rc;
}
