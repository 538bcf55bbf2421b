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
 * A fetch is the support engineer's, not the code holder's: it must
 * carry a proof signed with the Ed25519 key of an engineer enrolled here
 * (engineer.h; table engineers: name, key, added_at, revoked_at), fresh,
 * and with a nonce not seen before (table nonces, kept until the proof
 * could no longer be fresh).  The proof is checked before the code is
 * looked at, so a customer holding the code learns nothing; every refusal
 * is audited (FETCH_UNSIGNED, FETCH_BAD_PROOF, FETCH_UNKNOWN_ENGINEER,
 * FETCH_REVOKED, FETCH_REPLAY) and a fetch with the engineer's name.
 *
 * Audit lines (JSON, one per line) go to escrow-audit.log in the state
 * directory and to stderr; they never hold a password or a code, only a
 * prefix of the code's hash.
 *
 *   trellis-escrowd --state DIR --listen URL     serve
 *   trellis-escrowd --state DIR --public-key     print (making) the key
 *   trellis-escrowd --state DIR engineer add NAME (--key PUB | --key-file F)
 *   trellis-escrowd --state DIR engineer revoke NAME
 *   trellis-escrowd --state DIR engineer list
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

#include "../escrow/engineer.h"
#include "../escrow/escrow.h"
#include "../store/sql.h"

#define MAX_MISSES 5
#define MISS_WINDOW_S 60

#ifndef TRELLIS_VERSION
#define TRELLIS_VERSION "dev"
#endif

static const char USAGE[] =
    "Usage: trellis-escrowd --state DIR (--listen URL | --public-key)\n"
    "       trellis-escrowd --state DIR engineer add NAME (--key PUB | "
    "--key-file FILE)\n"
    "       trellis-escrowd --state DIR engineer revoke NAME\n"
    "       trellis-escrowd --state DIR engineer list\n"
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
    "      --key PUB         engineer add: the engineer's Ed25519 public key\n"
    "                        (base64, what trellis support keygen prints)\n"
    "      --key-file FILE   engineer add: the same, read from FILE (the\n"
    "                        key's .pub file)\n"
    "\n"
    "Engineers: a fetch must be signed by the key of an engineer enrolled\n"
    "here (engineer add) and not revoked (engineer revoke); list prints\n"
    "one line an engineer: NAME KEY added-at revoked-at|-.\n"
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
	sqlite3_busy_timeout(h, 5000);
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

static void audit_eng(const char *event, const char *hash, const char *who,
		      const char *engineer, const char *detail)
{
	json_t *j = json_pack("{s:I, s:s, s:s?, s:s?, s:s?, s:s?}", "time",
			      (json_int_t)time(NULL), "event", event, "entry",
			      hash, "who", who, "engineer", engineer, "detail",
			      detail);
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

static void audit(const char *event, const char *hash, const char *who,
		  const char *detail)
{
	audit_eng(event, hash, who, NULL, detail);
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
	char *b = tr_escrow_b64(pk, sizeof pk);
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
	tr_escrow_withdraw_hash(wd, wh);
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

/* ---- the engineers (table engineers) and the nonces seen ---- */

static int engineers_init(void)
{
	return tr_sql_exec(
		   db,
		   "CREATE TABLE IF NOT EXISTS engineers("
		   "name TEXT PRIMARY KEY, key TEXT UNIQUE NOT NULL, "
		   "added_at INTEGER NOT NULL, revoked_at INTEGER);"
		   "CREATE TABLE IF NOT EXISTS nonces("
		   "nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)") == 0
		   ? 0
		   : -1;
}

/* The engineer enrolled with key (base64): 0, the name and whether the
 * key is revoked; -1 when none is. */
static int engineer_find(const char *key, char *name, size_t cap, int *revoked)
{
	struct tr_sql_stmt *st = NULL;
	int rc = -1;
	if (tr_sql_prepare(
		db, "SELECT name, revoked_at FROM engineers WHERE key = ?",
		&st) != 0)
		return -1;
	tr_sql_bind_text(st, 1, key);
	if (tr_sql_step(st) == TR_SQL_ROW) {
		snprintf(name, cap, "%s", tr_sql_column_text(st, 0));
		*revoked = tr_sql_column_type(st, 1) != TR_SQL_NULL;
		rc = 0;
	}
	tr_sql_finalize(st);
	return rc;
}

/* Takes nonce for good (until expires_at, when a proof bearing it is
 * stale anyway): -1 when it was taken before, a replay. */
static int nonce_take(const char *nonce, time_t now, time_t expires_at)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, "DELETE FROM nonces WHERE expires_at <= ?",
			   &st) != 0)
		return -1;
	tr_sql_bind_int64(st, 1, now);
	tr_sql_step(st);
	tr_sql_finalize(st);
	if (tr_sql_prepare(
		db, "INSERT INTO nonces(nonce, expires_at) VALUES (?, ?)",
		&st) != 0)
		return -1;
	tr_sql_bind_text(st, 1, nonce);
	tr_sql_bind_int64(st, 2, expires_at);
	int rc = tr_sql_step(st);
	tr_sql_finalize(st);
	return rc == TR_SQL_DONE ? 0 : -1;
}

/* The engineer's proof of a fetch (engineer.h), checked before the code
 * is looked at: NULL when it holds (eng: the engineer's name), or the
 * refusal, audited. */
static json_t *check_engineer(json_t *proof, const char *h, const char *rk,
			      const char *hp, const char *who, time_t now,
			      char *eng, size_t cap)
{
	char msg[256];
	enum escrow_proof_verdict v = tr_escrow_proof_check(proof, h, rk, now);
	if (v == ESCROW_PROOF_MISSING) {
		audit("FETCH_UNSIGNED", hp, who, NULL);
		return fail("PERMISSION",
			    "the fetch is not signed by a support "
			    "engineer (trellis support fetch --key FILE, with a "
			    "key the vendor enrolled: trellis-escrowd engineer "
			    "add)");
	}
	if (v != ESCROW_PROOF_OK) {
		audit("FETCH_BAD_PROOF", hp, who,
		      tr_escrow_proof_verdict_name(v));
		snprintf(msg, sizeof msg,
			 "the engineer's signature does not hold (%s)",
			 tr_escrow_proof_verdict_name(v));
		return fail("PERMISSION", msg);
	}
	const char *key =
	    json_string_value(json_object_get(proof, "engineer_key"));
	int revoked = 0;
	if (engineer_find(key, eng, cap, &revoked) < 0) {
		audit("FETCH_UNKNOWN_ENGINEER", hp, who, NULL);
		return fail("PERMISSION", "that engineer key is not "
					  "enrolled at this escrow");
	}
	if (revoked) {
		audit_eng("FETCH_REVOKED", hp, who, eng, NULL);
		snprintf(msg, sizeof msg, "engineer '%.64s' is revoked",
			 eng);
		return fail("PERMISSION", msg);
	}
	const char *nonce = json_string_value(json_object_get(proof, "nonce"));
	time_t at = (time_t)json_integer_value(json_object_get(proof,
							       "signed_at"));
	if (nonce_take(nonce, now, at + ESCROW_PROOF_SKEW_S + 1) < 0) {
		audit_eng("FETCH_REPLAY", hp, who, eng, NULL);
		return fail("PERMISSION", "that signed request was "
					  "seen before (a replay)");
	}
	return NULL;
}

/* The end of an enrolment command: audited and said, or refused (1). */
static int said(int ok, const char *event, const char *name, const char *done,
		const char *refused)
{
	if (!ok) {
		fprintf(stderr, "escrowd: engineer %s: %s\n", name, refused);
		return 1;
	}
	audit_eng(event, NULL, NULL, name, NULL);
	printf("engineer %s %s\n", name, done);
	return 0;
}

/* trellis-escrowd engineer add|revoke|list: the vendor's enrolment. */
static int engineer_cmd(int argc, char **argv, const char *key,
			const char *key_file)
{
	const char *verb = argc > 0 ? argv[0] : "",
		   *name = argc > 1 ? argv[1] : NULL;
	struct tr_sql_stmt *st = NULL;
	int rc = 1;
	if (!strcmp(verb, "list") && argc == 1) {
		if (tr_sql_prepare(
			db,
			"SELECT name, key, added_at, revoked_at FROM "
			"engineers ORDER BY name",
			&st) != 0) {
			fprintf(stderr, "escrowd: %s\n", tr_sql_errmsg(db));
			return 1;
		}
		while (tr_sql_step(st) == TR_SQL_ROW) {
			const char *r = tr_sql_column_text(st, 3);
			printf("%s %s %lld %s\n", tr_sql_column_text(st, 0),
			       tr_sql_column_text(st, 1),
			       (long long)tr_sql_column_int64(st, 2),
			       r ? r : "-");
		}
		rc = 0;
	} else if (!strcmp(verb, "add") && argc == 2 && (!key != !key_file)) {
		char line[256] = "";
		if (key_file) {
			FILE *f = fopen(key_file, "r");
			if (!f || !fgets(line, sizeof line, f)) {
				fprintf(stderr, "escrowd: %s: %s\n", key_file,
					f ? "empty" : strerror(errno));
				if (f)
					fclose(f);
				return 1;
			}
			fclose(f);
			key = line;
		}
		unsigned char epk[ESCROW_ENGINEER_PK_BYTES];
		if (tr_escrow_engineer_pub_parse(key, epk) < 0) {
			fprintf(stderr, "escrowd: not an engineer's public key "
					"(base64 of 32 bytes)\n");
			return 1;
		}
		char *b = tr_escrow_b64(epk, sizeof epk);
		if (tr_sql_prepare(db,
				   "INSERT INTO engineers(name, key, added_at) "
				   "VALUES (?, ?, ?)",
				   &st) != 0) {
			fprintf(stderr, "escrowd: %s\n", tr_sql_errmsg(db));
			return 1;
		}
		tr_sql_bind_text(st, 1, name);
		tr_sql_bind_text(st, 2, b);
		tr_sql_bind_int64(st, 3, (int64_t)time(NULL));
		rc = said(tr_sql_step(st) == TR_SQL_DONE, "ENGINEER_ADD", name,
			  "enrolled", "it or that key is enrolled already");
		free(b);
	} else if (!strcmp(verb, "revoke") && argc == 2) {
		if (tr_sql_prepare(db,
				   "UPDATE engineers SET revoked_at = ? WHERE "
				   "name = ? AND revoked_at IS NULL",
				   &st) != 0) {
			fprintf(stderr, "escrowd: %s\n", tr_sql_errmsg(db));
			return 1;
		}
		tr_sql_bind_int64(st, 1, (int64_t)time(NULL));
		tr_sql_bind_text(st, 2, name);
		rc = said(tr_sql_step(st) == TR_SQL_DONE &&
			      (int)tr_sql_changes(db) == 1,
			  "ENGINEER_REVOKE", name, "revoked",
			  "not enrolled, or revoked already");
	} else {
		fputs(USAGE, stderr);
		return 2;
	}
	tr_sql_finalize(st);
	return rc;
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
	unsigned char *key = tr_escrow_unb64(rk, &kn);
	if (!hash_ok(h) || !key || kn != crypto_box_PUBLICKEYBYTES) {
		free(key);
		return fail("INVALID_ARG", "fetch needs code_hash and reply_key");
	}
	char eng[128] = "";
	json_t *refused = check_engineer(json_object_get(req, "proof"), h, rk,
					 hp, who, now, eng, sizeof eng);
	if (refused) {
		free(key);
		return refused;
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
		audit_eng("FETCH_WRONG_CODE", hp, who, eng, NULL);
		out = fail("NOTFOUND", "no entry for that code (wrong, used or "
				       "expired)");
		goto done;
	}
	size_t n = 0;
	unsigned char *box = tr_escrow_unb64(tr_sql_column_text(st, 0), &n);
	unsigned char *pw =
	    box && n > crypto_box_SEALBYTES ? malloc(n - crypto_box_SEALBYTES)
					    : NULL;
	if (!pw || crypto_box_seal_open(pw, box, n, pk, sk) != 0) {
		audit_eng("FETCH_UNREADABLE", hp, who, eng, NULL);
		out = fail("BACKEND", "the entry cannot be opened");
	} else {
		size_t pn = n - crypto_box_SEALBYTES;
		unsigned char *re = malloc(pn + crypto_box_SEALBYTES);
		crypto_box_seal(re, pw, pn, key);
		char *b = tr_escrow_b64(re, pn + crypto_box_SEALBYTES);
		out = json_pack("{s:b, s:s, s:s}", "ok", 1, "sealed", b,
				"engineer", eng);
		free(b);
		free(re);
		sodium_memzero(pw, pn);
		audit_eng("FETCH", hp, who, eng, NULL);
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
	tr_escrow_withdraw_hash(wd, wh);
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
	const char *dir = NULL, *url = NULL, *eng_key = NULL, *eng_file = NULL;
	int print_key = 0, c;
	static const struct option opts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"listen", required_argument, NULL, 'l'},
	    {"public-key", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"key", required_argument, NULL, 'K'},
	    {"key-file", required_argument, NULL, 'F'},
	    {NULL, 0, NULL, 0}};
	while ((c = getopt_long(argc, argv, "s:l:khV", opts, NULL)) != -1) {
		switch (c) {
		case 's': dir = optarg; break;
		case 'l': url = optarg; break;
		case 'k': print_key = 1; break;
		case 'K': eng_key = optarg; break;
		case 'F': eng_file = optarg; break;
		case 'h': fputs(USAGE, stdout); return 0;
		case 'V': printf("trellis-escrowd %s\n", TRELLIS_VERSION); return 0;
		default: fputs(USAGE, stderr); return 2;
		}
	}
	int eng_cmd = optind < argc && !strcmp(argv[optind], "engineer");
	if (!dir || (!url && !print_key && !eng_cmd) ||
	    (optind < argc && !eng_cmd)) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (sodium_init() < 0 || (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    load_keys(dir) < 0)
		return 1;
	if (print_key) {
		char *b = tr_escrow_b64(pk, sizeof pk);
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
	if (engineers_init() < 0) {
		fprintf(stderr, "escrowd: %s\n", tr_sql_errmsg(db));
		return 1;
	}
	snprintf(path, sizeof path, "%s/escrow-audit.log", dir);
	audit_f = fopen(path, "a");
	if (eng_cmd) {
		int erc = engineer_cmd(argc - optind - 1, argv + optind + 1,
				       eng_key, eng_file);
		escrow_db_close();
		if (audit_f)
			fclose(audit_f);
		return erc;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int rc = serve(url);
	sodium_memzero(sk, sizeof sk);
	escrow_db_close();
	if (audit_f)
		fclose(audit_f);
	return rc;
}
