/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volcopy.c - storage.volume_copy, the resumable, verified volume copy a
 * transfer runs over a bridge (ABI 1.1 streams; the other storage
 * actions of 1.1 are in adapters.c).
 *
 * It moves the volume in chunks; each chunk gets a digest at the source
 * (XXH3-128, or BLAKE2b-256 when asked) that is verified at the
 * destination, and only then is it counted done, in a progress row of the
 * store (tr_volume_transfer) named by the step's idempotency key.  Two
 * paths: between two local files (both plugins give vol_stream_fd) the
 * kernel copies and both ends are digested in place (volcopy_local.c);
 * otherwise the plugins' streams, the destination's chunk read back.  A replay of the step (trellisd killed and restarted, or a retry
 * after the endpoint was cut) resumes after the last verified chunk.  The
 * transfer's digest is the digest of the chunk digests in order.
 */
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
#include <xxhash.h>

#include "../creds/creds.h"
#include "../dispatch/dispatch.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "../util/log.h"
#include "action.h"
#include "lookup.h"
#include "stref.h"
#include "volcopy.h"

#define CHUNK_DEFAULT (4u << 20)

/* ---- the copy ---- */

static void progress_id(const char *key, char *buf, size_t len)
{
	unsigned char h[16];
	crypto_generichash(h, sizeof h, (const unsigned char *)(key ? key : ""),
			   key ? strlen(key) : 0, NULL, 0);
	sodium_bin2hex(buf, len, h, sizeof h);
}

/* The progress is a row of the store (tr_volume_transfer, core/creds). */
static int progress_save(struct progress *p, trellis_call_t *call)
{
	return tr_xfer_progress_put(p->id, p->rec, call);
}

static void publish_progress(struct tr_daemon *d, json_t *args, uint64_t done,
			     uint64_t total, const char *key)
{
	json_t *ev = json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:s}", "pool",
	    tr_json_str(args, "pool"), "volume", tr_json_str(args, "name"),
	    "to", tr_json_str(args, "to"), "dest", tr_json_str(args, "dest"),
	    "bytes", (json_int_t)done, "total", (json_int_t)total, "percent",
	    total ? (int)(done * 100 / total) : 100, "key", key ? key : "");
	tr_daemon_publish(d, "volume.transfer.progress", ev);
	json_decref(ev);
}

double tr_vc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The bytes of chunk i of a volume of size bytes: chunk, or what is left. */
size_t tr_vc_chunk_len(uint64_t size, size_t chunk, size_t i)
{
	uint64_t off = (uint64_t)i * chunk;
	return size - off < chunk ? (size_t)(size - off) : chunk;
}

/* A chunk's digest: XXH3-128 (the default, as rsync's transfer checksum:
 * it finds corruption at memory speed; the bytes travel over TLS from an
 * authenticated endpoint, so no adversary picks them) or BLAKE2b-256
 * (cryptographic, at a few hundred MiB/s). */

static size_t digest_len(enum digest_alg a)
{
	return a == DIGEST_BLAKE2B ? 32 : 16;
}

void tr_vc_digest(enum digest_alg a, const void *data, size_t len,
		  unsigned char *out)
{
	if (a == DIGEST_BLAKE2B) {
		crypto_generichash(out, 32, data, len, NULL, 0);
		return;
	}
	XXH128_canonical_t c;
	XXH128_canonicalFromHash(&c, XXH3_128bits(data, len));
	memcpy(out, c.digest, 16);
}

/* The source side of a copy: reads chunk after chunk into two buffers
 * and digests each, one ahead of the destination.  Its own
 * call context (a call belongs to one thread); an error is handed over
 * with its message. */
struct reader {
	struct tr_target *t;
	void *stream;
	size_t chunk, next, end;
	uint64_t size;
	unsigned char *buf[2];
	unsigned char h[2][DIGEST_LEN];
	int full[2], rc[2], stop;
	enum digest_alg alg;
	char msg[2][1024];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	for (size_t i = r->next; i < r->end; i++) {
		int slot = (int)(i % 2);
		pthread_mutex_lock(&r->mu);
		while (r->full[slot] && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		int stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		uint64_t off = (uint64_t)i * r->chunk;
		size_t want = tr_vc_chunk_len(r->size, r->chunk, i), got = 0;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		int rc = tr_st_vol_read(r->t, r->stream, &call, off,
					r->buf[slot], want, &got);
		if (!rc && got != want)
			rc = tr_call_set(&call, TRELLIS_E_BACKEND,
					 "the source gave %zu of %zu bytes at "
					 "%llu",
					 got, want, (unsigned long long)off);
		if (!rc)
			tr_vc_digest(r->alg, r->buf[slot], want, r->h[slot]);
		pthread_mutex_lock(&r->mu);
		r->rc[slot] = rc;
		if (rc)
			snprintf(r->msg[slot], sizeof r->msg[slot], "%s",
				 call.message);
		r->full[slot] = 1;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		if (rc)
			break;
	}
	return NULL;
}

/* ---- what both paths do with a verified chunk ---- */

/* Chunk i (want bytes at off, digest h) is verified: it joins the
 * digests, the progress row (at most every quarter second, and at the
 * end: a resume starts after the last chunk it names, all of them
 * verified, and redoes at most that much) and the progress events. */
int tr_vc_tally(struct tally *ty, size_t i, uint64_t off, size_t want,
		const unsigned char *h, trellis_call_t *call)
{
	char hex[2 * DIGEST_LEN + 1];
	sodium_bin2hex(hex, sizeof hex, h, ty->dl);
	json_array_append_new(ty->digests, json_string(hex));
	ty->moved += want;
	double t = tr_vc_now();
	int rc = 0;
	if (t - ty->last_save >= 0.25 || i + 1 == ty->n_chunks) {
		if ((rc = progress_save(ty->pr, call)))
			return rc;
		ty->last_save = t;
	}
	if (t - ty->last_ev >= 0.5 || i + 1 == ty->n_chunks) {
		ty->last_ev = t;
		publish_progress(ty->d, ty->args, off + want, ty->size,
				 ty->env->idem_key);
		tr_host()->progress(
		    call,
		    (unsigned)((off + want) * 100 / (ty->size ? ty->size : 1)),
		    "volume copy");
	}
	return 0;
}

/* The stream path, for any plugin: the source is read and digested one
 * chunk ahead on a thread of its own (struct reader) while this thread
 * writes the previous chunk to the destination and reads it back. */
static int copy_streams(struct tally *ty, struct tr_stref *rs, void *ss,
			struct tr_stref *rd, void *ds, size_t chunk,
			size_t from, enum digest_alg alg, int verify,
			const char *where, unsigned char *bufs[2],
			unsigned char *back, trellis_call_t *call)
{
	int rc = 0;
	struct reader rd_ = {.t = rs->t,
			     .stream = ss,
			     .chunk = chunk,
			     .size = ty->size,
			     .next = from,
			     .end = ty->n_chunks,
			     .buf = {bufs[0], bufs[1]},
			     .alg = alg};
	pthread_mutex_init(&rd_.mu, NULL);
	pthread_cond_init(&rd_.cv, NULL);
	int started = pthread_create(&rd_.th, NULL, reader_main, &rd_) == 0;
	if (!started)
		rc = tr_call_set(call, TRELLIS_E_INTERNAL,
				 "volume copy %s: no reader thread", where);
	for (size_t i = from; started && i < ty->n_chunks; i++) {
		uint64_t off = (uint64_t)i * chunk;
		int slot = (int)(i % 2);
		size_t want = tr_vc_chunk_len(ty->size, chunk, i), got = 0;
		unsigned char h[DIGEST_LEN];
		pthread_mutex_lock(&rd_.mu);
		while (!rd_.full[slot] && !tr_host()->cancelled(call))
			pthread_cond_wait(&rd_.cv, &rd_.mu);
		int rrc = rd_.rc[slot];
		pthread_mutex_unlock(&rd_.mu);
		if (tr_host()->cancelled(call)) {
			rc = tr_call_set(call, TRELLIS_E_CANCELLED,
					 "volume copy %s: cancelled at chunk "
					 "%zu",
					 where, i);
			break;
		}
		if (rrc) {
			rc = tr_call_set(call, rrc, "%s", rd_.msg[slot]);
			break;
		}
		const unsigned char *data = rd_.buf[slot];
		if ((rc = tr_st_vol_write(rd->t, ds, call, off, data,
					  want)))
			break;
		if (verify) {
			/* verified at the destination: what it holds now is,
			 * byte for byte, what the source gave and hashed */
			if ((rc = tr_st_vol_read(rd->t, ds, call, off,
						 back, want, &got)))
				break;
			if (got != want || memcmp(back, data, want)) {
				rc = tr_call_set(
				    call, TRELLIS_E_BACKEND,
				    "volume copy %s: chunk %zu (at %llu) "
				    "reads back from the destination with "
				    "another digest",
				    where, i, (unsigned long long)off);
				break;
			}
		}
		memcpy(h, rd_.h[slot], sizeof h);
		pthread_mutex_lock(&rd_.mu);
		rd_.full[slot] = 0; /* the reader may fill it again */
		pthread_cond_broadcast(&rd_.cv);
		pthread_mutex_unlock(&rd_.mu);
		if ((rc = tr_vc_tally(ty, i, off, want, h, call)))
			break;
	}
	if (started) {
		pthread_mutex_lock(&rd_.mu);
		rd_.stop = 1;
		pthread_cond_broadcast(&rd_.cv);
		pthread_mutex_unlock(&rd_.mu);
		pthread_join(rd_.th, NULL);
	}
	pthread_cond_destroy(&rd_.cv);
	pthread_mutex_destroy(&rd_.mu);
	return rc;
}

static int run_volume_copy(const struct tr_action_env *env, json_t *args,
			   json_t **result, trellis_call_t *call)
{
	struct tr_stref rs = {0}, rd = {0};
	void *ss = NULL, *ds = NULL;
	unsigned char *buf = NULL, *spare = NULL, *back = NULL;
	struct progress pr = {0};
	struct tr_daemon *d = env ? env->daemon : NULL;
	const char *src = tr_json_str(args, "name"),
		   *dst = tr_json_str(args, "dest");
	if (!dst || !*dst)
		dst = src;
	json_int_t cm = json_integer_value(json_object_get(args, "chunk"));
	size_t chunk = cm > 0 ? (size_t)cm : CHUNK_DEFAULT;
	if (chunk < 4096 || chunk > (64u << 20))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "chunk: 4096 bytes to 64 MiB");
	if (!d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "storage.volume_copy needs the daemon");
	int verify = !json_is_false(json_object_get(args, "verify"));
	const char *an = tr_json_str(args, "digest");
	enum digest_alg alg = !an || !*an || !strcmp(an, "xxh128")
				  ? DIGEST_XXH128
				  : DIGEST_BLAKE2B;
	if (an && *an && strcmp(an, "xxh128") && strcmp(an, "blake2b"))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "digest: xxh128 or blake2b, not '%s'", an);
	size_t dl = digest_len(alg);
	rs.d = rd.d = d;
	trellis_vol_info_t si, di;
	int rc = tr_stref_pool(d, tr_json_str(args, "pool"), &rs, call);
	if (!rc)
		rc = tr_stref_pool(d, tr_json_str(args, "to"), &rd, call);
	/* --snapshot: copy from a clone made first, so the source may stay
	 * in use; the clone is made under this step's key (a replay finds
	 * it) and deleted when the copy is done */
	char clone[128] = "";
	if (!rc && json_is_true(json_object_get(args, "snapshot"))) {
		unsigned char h[4];
		char hx[9];
		crypto_generichash(h, sizeof h,
				   (const unsigned char *)env->idem_key,
				   strlen(env->idem_key), NULL, 0);
		sodium_bin2hex(hx, sizeof hx, h, sizeof h);
		snprintf(clone, sizeof clone, "xfer-%s-%.100s", hx, src);
		trellis_vol_info_t ci;
		rc = tr_st_vol_clone(rs.t, call, src, clone,
				     env->idem_key, 0, &ci);
		src = clone;
	}
	if (!rc)
		rc = tr_st_vol_info(rs.t, call, src, 0, &si);
	if (!rc)
		rc = tr_st_vol_info(rd.t, call, dst, 0, &di);
	if (!rc && di.capacity < si.capacity)
		rc = tr_call_set(call, TRELLIS_E_NOSPACE,
				 "volume '%s/%s' holds %llu bytes, '%s/%s' "
				 "has %llu",
				 rd.name, dst, (unsigned long long)di.capacity,
				 rs.name, src, (unsigned long long)si.capacity);
	if (!rc)
		rc = tr_st_vol_open(rs.t, call, src,
				    TRELLIS_STREAM_READ, &ss);
	if (!rc)
		rc = tr_st_vol_open(rd.t, call, dst,
				    TRELLIS_STREAM_READ | TRELLIS_STREAM_WRITE,
				    &ds);
	if (rc)
		goto out;

	/* where a previous attempt got to */
	char where[600];
	snprintf(where, sizeof where, "%s/%s -> %s/%s", rs.name, src, rd.name,
		 dst);
	progress_id(env->idem_key, pr.id, sizeof pr.id);
	trellis_call_t pc;
	tr_call_init(&pc, NULL);
	if (tr_xfer_progress_get(pr.id, &pr.rec, &pc) &&
	    pc.code != TRELLIS_E_NOTFOUND) {
		rc = tr_call_set(call, pc.code, "%s", pc.message);
		goto out;
	}
	if (!pr.rec ||
	    strcmp(tr_json_str(pr.rec, "copy") ? tr_json_str(pr.rec, "copy")
					       : "",
		   where) ||
	    (uint64_t)json_integer_value(json_object_get(pr.rec, "size")) !=
		si.capacity ||
	    (size_t)json_integer_value(json_object_get(pr.rec, "chunk")) !=
		chunk ||
	    strcmp(tr_json_str(pr.rec, "digest") ? tr_json_str(pr.rec, "digest")
						 : "",
		   alg == DIGEST_XXH128 ? "xxh128" : "blake2b")) {
		json_decref(pr.rec);
		pr.rec = json_pack("{s:s, s:I, s:I, s:s, s:[]}", "copy", where,
				   "size", (json_int_t)si.capacity, "chunk",
				   (json_int_t)chunk, "digest",
				   alg == DIGEST_XXH128 ? "xxh128" : "blake2b",
				   "digests");
	}
	json_t *digests = json_object_get(pr.rec, "digests");
	size_t n_chunks = (size_t)((si.capacity + chunk - 1) / chunk);
	size_t from = json_array_size(digests);
	if (from > n_chunks)
		from = 0, json_array_clear(digests);
	struct tally ty = {.d = d,
			   .env = env,
			   .args = args,
			   .pr = &pr,
			   .digests = digests,
			   .size = si.capacity,
			   .n_chunks = n_chunks,
			   .dl = dl};
	double t0 = tr_vc_now();
	if (from)
		tr_info("volume copy %s: resuming at chunk %zu of %zu", where,
			from, n_chunks);
	int sfd = -1, dfd = -1;
	struct stat sst, dst_st;
	trellis_call_t fc;
	tr_call_init(&fc, NULL);
	int local = tr_st_vol_stream_fd(rs.t, ss, &fc, &sfd) == 0 &&
		    tr_st_vol_stream_fd(rd.t, ds, &fc, &dfd) == 0 &&
		    fstat(sfd, &sst) == 0 && fstat(dfd, &dst_st) == 0 &&
		    S_ISREG(sst.st_mode) && S_ISREG(dst_st.st_mode) &&
		    (uint64_t)sst.st_size >= si.capacity &&
		    (uint64_t)dst_st.st_size >= si.capacity;
	if (local)
		rc = tr_vc_copy_local(&ty, sfd, dfd, chunk, from, alg, verify,
				      where, call);
	else {
		buf = tr_xmalloc(chunk);
		spare = tr_xmalloc(chunk);
		back = tr_xmalloc(chunk);
		rc = copy_streams(&ty, &rs, ss, &rd, ds, chunk, from, alg,
				  verify, where,
				  (unsigned char *[]){buf, spare}, back, call);
	}
	if (rc)
		goto out;
	/* the transfer's digest: the hash of the chunk digests in order */
	size_t n_d = json_array_size(digests), i;
	unsigned char *all = tr_xmalloc(n_d * dl + 1), total[DIGEST_LEN];
	char thex[2 * DIGEST_LEN + 1];
	json_t *x;
	json_array_foreach(digests, i, x) sodium_hex2bin(
	    all + i * dl, dl, json_string_value(x), 2 * dl, NULL, NULL, NULL);
	tr_vc_digest(alg, all, n_d * dl, total);
	free(all);
	sodium_bin2hex(thex, sizeof thex, total, dl);
	double t_copied = tr_vc_now();
	rc = tr_st_vol_stream_close(rd.t, ds, call,
				    TRELLIS_STREAM_COMMIT);
	ds = NULL;
	if (rc)
		goto out;
	double secs = tr_vc_now() - t0;
	uint64_t moved = ty.moved;
	*result = json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:f, s:f, s:b}",
	    "pool", rs.name, "name", src, "to", rd.name, "dest", dst, "bytes",
	    (json_int_t)si.capacity, "chunks", (json_int_t)n_chunks,
	    "chunk_size", (json_int_t)chunk, "digest", thex, "algorithm",
	    alg == DIGEST_XXH128 ? "xxh128" : "blake2b", "resumed_from",
	    (json_int_t)from, "seconds", secs, "mib_s",
	    secs > 0 ? (double)moved / (1 << 20) / secs : 0.0, "verified",
	    verify);
	json_object_set_new(*result, "path",
			    json_string(local ? "local" : "streams"));
	tr_xfer_progress_delete(pr.id);
	if (clone[0]) {
		tr_st_vol_stream_close(rs.t, ss, call, 0);
		ss = NULL;
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		if (tr_st_vol_delete(rs.t, &c2, clone, env->idem_key,
				     0) < 0)
			tr_warn("volume copy %s: the clone stays: %s", where,
				c2.message);
		json_object_set_new(*result, "name",
				    json_string(tr_json_str(args, "name")));
		json_object_set_new(*result, "snapshot", json_string(clone));
	}
	tr_info("volume copy %s: %llu bytes in %.2f s (%s path; copied and "
		"verified in %.2f s, flushed in %.2f s), digest %s%s",
		where, (unsigned long long)si.capacity, secs,
		local ? "local" : "stream", t_copied - t0, t0 + secs - t_copied,
		thex, from ? " (resumed)" : "");
out:
	if (ss)
		tr_st_vol_stream_close(rs.t, ss, call, 0);
	if (ds) {
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		tr_st_vol_stream_close(rd.t, ds, &c2, 0);
	}
	free(buf);
	free(spare);
	free(back);
	json_decref(pr.rec);
	tr_stref_close(&rs);
	tr_stref_close(&rd);
	return rc;
}

static const struct tr_field copy_in[] = {
    {"pool", TR_T_STRING, 1, "the source pool"},
    {"name", TR_T_STRING, 1, "the source volume"},
    {"to", TR_T_STRING, 1, "the destination pool"},
    {"dest", TR_T_STRING, 0, "the destination volume (default: name)"},
    {"chunk", TR_T_SIZE, 0, "bytes per chunk (default 4M)"},
    {"verify", TR_T_BOOL, 0,
     "read each chunk back at the destination (default true)"},
    {"snapshot", TR_T_BOOL, 0, "copy from a clone made first"},
    {"digest", TR_T_STRING, 0, "xxh128 (default) or blake2b"},
    TR_FIELDS_END};
static const struct tr_field copy_out[] = {
    {"pool", TR_T_STRING, 1, "source pool"},
    {"name", TR_T_STRING, 1, "source volume"},
    {"to", TR_T_STRING, 1, "destination pool"},
    {"dest", TR_T_STRING, 1, "destination volume"},
    {"bytes", TR_T_INT, 1, "the volume's size"},
    {"chunks", TR_T_INT, 1, "chunks in all"},
    {"chunk_size", TR_T_INT, 1, "bytes per chunk"},
    {"digest", TR_T_STRING, 1, "the digest of the chunks' digests, in order"},
    {"algorithm", TR_T_STRING, 1, "xxh128 (XXH3-128) or blake2b (-256)"},
    {"resumed_from", TR_T_INT, 1, "the chunk this attempt began at"},
    {"seconds", TR_T_NUMBER, 1, "this attempt's time"},
    {"mib_s", TR_T_NUMBER, 1, "this attempt's throughput"},
    {"verified", TR_T_BOOL, 1, "chunks read back at the destination"},
    {"snapshot", TR_T_STRING, 0, "the clone copied from (then deleted)"},
    {"path", TR_T_STRING, 0,
     "local (two files of this host: copy_file_range) or streams"},
    TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "storage.volume_copy",
     .description =
	 "Stream a volume over a bridge in verified chunks (resumable)",
     .input = copy_in,
     .output = copy_out,
     .run = run_volume_copy,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_volcopy(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
