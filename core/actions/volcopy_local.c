/* SPDX-License-Identifier: Apache-2.0 */
/*
 * volcopy_local.c - storage.volume_copy between two files of this host
 * (both plugins give vol_stream_fd): copy_file_range, the digests in
 * place, the writeback started as it goes (volcopy.c has the action).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../host/host.h"
#include "volcopy.h"

/* ---- the local path: both ends are files of this host ----
 * When both plugins hand their streams over as descriptors
 * (vol_stream_fd: localfs's raw volumes), no byte passes through user
 * space to be copied.  A copier thread digests each chunk of the source
 * where it lies in the page cache (a read-only mapping, no copy), which
 * also brings it into the CPU's cache, and moves it with copy_file_range
 * (the kernel copies page to page, as cp does); this thread digests the
 * same range of the destination file, again in place, and compares; a
 * third starts the writeback of each verified chunk (sync_file_range), so
 * COMMIT's fdatasync finds little left.  That is the end-to-end check: a
 * digest of what the source holds, verified against a digest of what the
 * destination holds after the copy, both read from the files and not
 * from a buffer the two sides would share, so a copy that lost, shifted
 * or corrupted a byte fails.  A digest of "what the destination received"
 * taken from our own buffer would check nothing here (it is the source's
 * buffer); the re-read is of the page cache, at memory speed, and the
 * device beneath it is the filesystem's (fdatasync reports its write
 * errors).  The copier runs at most DEPTH chunks ahead, so the
 * destination's pages are digested while still in the CPU's cache. */

#define DEPTH 3

struct fdcopy {
	int sfd, dfd;
	uint64_t size;
	size_t chunk, next, end;
	enum digest_alg alg;
	unsigned char h[DEPTH][DIGEST_LEN]; /* the source's, by the copier */
	size_t copied, verified;	    /* chunks done by each side */
	int rc, stop;
	char msg[1024];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th, fl;
};

/* The flusher: starts the disk on each verified chunk (sync_file_range,
 * which may block while the device is busy: here, not in the copy), so
 * COMMIT's fdatasync has little left to wait for. */
static void *flusher_main(void *arg)
{
	struct fdcopy *f = arg;
	size_t done = f->next;
	for (;;) {
		pthread_mutex_lock(&f->mu);
		while (f->verified <= done && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		size_t upto = f->verified;
		int stop = f->stop;
		pthread_mutex_unlock(&f->mu);
		if (upto > done) {
			uint64_t off = (uint64_t)done * f->chunk,
				 end = (uint64_t)upto * f->chunk;
			if (end > f->size)
				end = f->size;
			sync_file_range(f->dfd, (off_t)off, (off_t)(end - off),
					SYNC_FILE_RANGE_WRITE);
			done = upto;
		}
		if (stop)
			return NULL;
	}
}

/* A read-only view of len bytes at off of fd: *base to munmap. */
static const unsigned char *map_range(int fd, uint64_t off, size_t len,
				      void **base, size_t *mlen)
{
	static long pg;
	if (!pg)
		pg = sysconf(_SC_PAGESIZE);
	uint64_t aoff = off & ~(uint64_t)(pg - 1);
	*mlen = len + (size_t)(off - aoff);
	*base = mmap(NULL, *mlen, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
		     (off_t)aoff);
	if (*base == MAP_FAILED)
		return NULL;
	madvise(*base, *mlen, MADV_SEQUENTIAL);
	return (const unsigned char *)*base + (off - aoff);
}

/* Digests len bytes at off of fd in place: 0 or an errno. */
static int digest_range(enum digest_alg alg, int fd, uint64_t off, size_t len,
			unsigned char *out)
{
	void *base;
	size_t mlen;
	const unsigned char *p = map_range(fd, off, len, &base, &mlen);
	if (!p)
		return errno;
	tr_vc_digest(alg, p, len, out);
	munmap(base, mlen);
	return 0;
}

/* copy_file_range's whole range, or a write from a mapping of the source
 * where the kernel cannot (another filesystem type): 0 or an errno. */
static int copy_range(int sfd, int dfd, uint64_t off, size_t len)
{
	loff_t si = (loff_t)off, di = (loff_t)off;
	size_t left = len;
	while (left) {
		ssize_t n = copy_file_range(sfd, &si, dfd, &di, left, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == EINVAL ||
			      errno == ENOSYS || errno == EOPNOTSUPP))
			break;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO; /* the source ended early */
		left -= (size_t)n;
	}
	if (!left)
		return 0;
	void *base;
	size_t mlen;
	const unsigned char *p =
	    map_range(sfd, (uint64_t)si, left, &base, &mlen);
	if (!p)
		return errno;
	int err = 0;
	for (size_t done = 0; done < left && !err;) {
		ssize_t n = pwrite(dfd, p + done, left - done,
				   (off_t)((uint64_t)di + done));
		if (n < 0 && errno != EINTR)
			err = errno;
		else if (n > 0)
			done += (size_t)n;
	}
	munmap(base, mlen);
	return err;
}

static void *copier_main(void *arg)
{
	struct fdcopy *f = arg;
	for (size_t i = f->next; i < f->end; i++) {
		pthread_mutex_lock(&f->mu);
		while (i - f->verified >= DEPTH && !f->stop)
			pthread_cond_wait(&f->cv, &f->mu);
		int stop = f->stop;
		pthread_mutex_unlock(&f->mu);
		if (stop)
			break;
		uint64_t off = (uint64_t)i * f->chunk;
		size_t want = tr_vc_chunk_len(f->size, f->chunk, i);
		const char *what = "digest the source";
		int err =
		    digest_range(f->alg, f->sfd, off, want, f->h[i % DEPTH]);
		if (!err) {
			what = "copy";
			err = copy_range(f->sfd, f->dfd, off, want);
		}
		pthread_mutex_lock(&f->mu);
		if (err) {
			f->rc =
			    err == ENOSPC ? TRELLIS_E_NOSPACE : TRELLIS_E_IO;
			snprintf(f->msg, sizeof f->msg,
				 "chunk %zu (at %llu): %s: %s", i,
				 (unsigned long long)off, what, strerror(err));
		} else
			f->copied = i + 1;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		if (err)
			break;
	}
	return NULL;
}

/* The local path (above): chunks from..n_chunks of sfd into dfd. */
int tr_vc_copy_local(struct tally *ty, int sfd, int dfd, size_t chunk,
		     size_t from, enum digest_alg alg, int verify,
		     const char *where, trellis_call_t *call)
{
	struct fdcopy f = {.sfd = sfd,
			   .dfd = dfd,
			   .size = ty->size,
			   .chunk = chunk,
			   .next = from,
			   .end = ty->n_chunks,
			   .alg = alg,
			   .copied = from,
			   .verified = from};
	int rc = 0;
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.cv, NULL);
	if (pthread_create(&f.th, NULL, copier_main, &f)) {
		pthread_cond_destroy(&f.cv);
		pthread_mutex_destroy(&f.mu);
		return tr_call_set(call, TRELLIS_E_INTERNAL,
				   "volume copy %s: no copier thread", where);
	}
	int flushing = pthread_create(&f.fl, NULL, flusher_main, &f) == 0;
	for (size_t i = from; i < ty->n_chunks; i++) {
		uint64_t off = (uint64_t)i * chunk;
		size_t want = tr_vc_chunk_len(ty->size, chunk, i);
		unsigned char hs[DIGEST_LEN], hd[DIGEST_LEN];
		pthread_mutex_lock(&f.mu);
		while (f.copied <= i && !f.rc && !tr_host()->cancelled(call))
			pthread_cond_wait(&f.cv, &f.mu);
		int frc = f.copied > i ? 0 : f.rc;
		memcpy(hs, f.h[i % DEPTH], sizeof hs);
		pthread_mutex_unlock(&f.mu);
		if (tr_host()->cancelled(call)) {
			rc = tr_call_set(call, TRELLIS_E_CANCELLED,
					 "volume copy %s: cancelled at chunk "
					 "%zu",
					 where, i);
			break;
		}
		if (frc) {
			rc = tr_call_set(call, frc, "volume copy %s: %s", where,
					 f.msg);
			break;
		}
		/* the destination's bytes of the chunk, where they lie (still
		 * in the cache: the copier is at most DEPTH chunks ahead) */
		int err = verify ? digest_range(alg, dfd, off, want, hd) : 0;
		if (err) {
			rc = tr_call_set(call, TRELLIS_E_IO,
					 "volume copy %s: chunk %zu at the "
					 "destination: %s",
					 where, i, strerror(err));
			break;
		}
		if (verify && memcmp(hs, hd, ty->dl)) {
			rc =
			    tr_call_set(call, TRELLIS_E_BACKEND,
					"volume copy %s: chunk %zu (at %llu) "
					"has another digest at the destination",
					where, i, (unsigned long long)off);
			break;
		}
		pthread_mutex_lock(&f.mu);
		f.verified = i + 1; /* the copier may go on */
		pthread_cond_broadcast(&f.cv);
		pthread_mutex_unlock(&f.mu);
		if ((rc = tr_vc_tally(ty, i, off, want, hs, call)))
			break;
	}
	pthread_mutex_lock(&f.mu);
	f.stop = 1;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	pthread_join(f.th, NULL);
	if (flushing)
		pthread_join(f.fl, NULL);
	pthread_cond_destroy(&f.cv);
	pthread_mutex_destroy(&f.mu);
	return rc;
}
