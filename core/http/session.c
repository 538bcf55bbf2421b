/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c - the dashboard's session table (session.h): random ids,
 * hashed; CSRF tokens; lifetimes; logout.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../auth/auth.h"
#include "../util/alloc.h"
#include "session.h"

#define FAIL_SLOTS 256

struct fail {
	char user[65];
	unsigned count;
	long long first; /* 0: a free slot */
};

struct tr_http_sessions {
	struct tr_http_session s[TR_SESSION_MAX];
	unsigned ttl, idle;
	size_t n;
	struct fail fails[FAIL_SLOTS];
};

struct tr_http_sessions *tr_http_sessions_new(unsigned ttl, unsigned idle)
{
	struct tr_http_sessions *t = tr_xcalloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ttl = ttl ? ttl : 8 * 3600;
	t->idle = idle ? idle : 30 * 60;
	return t;
}

static void wipe(struct tr_http_sessions *t, struct tr_http_session *s)
{
	if (!s->used)
		return;
	if (s->token) {
		sodium_memzero(s->token, strlen(s->token));
		free(s->token);
	}
	sodium_memzero(s, sizeof *s);
	t->n--;
}

void tr_http_sessions_free(struct tr_http_sessions *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < TR_SESSION_MAX; i++)
		wipe(t, &t->s[i]);
	free(t);
}

static void random_id(char *out)
{
	unsigned char b[32];
	randombytes_buf(b, sizeof b);
	sodium_bin2base64(out, TR_SESSION_ID_LEN + 1, b, sizeof b,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(b, sizeof b);
}

static void hash_id(const char *cookie, unsigned char out[32])
{
	crypto_generichash(out, 32, (const unsigned char *)cookie,
			   strlen(cookie), NULL, 0);
}

static int live(const struct tr_http_sessions *t,
		const struct tr_http_session *s, long long now)
{
	return s->used && now < s->expires && now - s->seen <= t->idle;
}

struct tr_http_session *tr_http_session_open(struct tr_http_sessions *t,
					     const struct tr_ident *id,
					     const char *token, long long now,
					     char *cookie)
{
	struct tr_http_session *slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < TR_SESSION_MAX; i++) {
		struct tr_http_session *s = &t->s[i];
		if (s->used && !live(t, s, now))
			wipe(t, s);
		if (!s->used && !slot)
			slot = s;
		if (s->used && (!oldest || s->seen < oldest->seen))
			oldest = s;
	}
	if (!slot) {
		wipe(t, oldest);
		slot = oldest;
	}
	memset(slot, 0, sizeof *slot);
	if (token && !(slot->token = tr_xstrdup(token)))
		return NULL;
	random_id(cookie);
	hash_id(cookie, slot->id_hash);
	random_id(slot->csrf);
	if (!token)
		snprintf(slot->user, sizeof slot->user, "%s", id->user);
	snprintf(slot->who, sizeof slot->who, "%s", id->user);
	snprintf(slot->role, sizeof slot->role, "%s", id->role_name);
	snprintf(slot->bu, sizeof slot->bu, "%s", id->bu);
	slot->scoped = tr_ident_scoped(id);
	slot->created = slot->seen = now;
	slot->expires = now + t->ttl;
	slot->used = 1;
	t->n++;
	return slot;
}

struct tr_http_session *tr_http_session_peek(struct tr_http_sessions *t,
					     const char *cookie,
					     long long now)
{
	if (!cookie || strlen(cookie) != TR_SESSION_ID_LEN)
		return NULL;
	unsigned char h[32];
	hash_id(cookie, h);
	struct tr_http_session *found = NULL;
	for (size_t i = 0; i < TR_SESSION_MAX; i++)
		if (t->s[i].used && sodium_memcmp(t->s[i].id_hash, h, 32) == 0)
			found = &t->s[i];
	if (found && !live(t, found, now)) {
		wipe(t, found);
		found = NULL;
	}
	return found;
}

struct tr_http_session *tr_http_session_find(struct tr_http_sessions *t,
					     const char *cookie,
					     long long now)
{
	struct tr_http_session *s = tr_http_session_peek(t, cookie, now);
	if (s)
		s->seen = now;
	return s;
}

void tr_http_session_close(struct tr_http_sessions *t,
			   struct tr_http_session *s)
{
	if (s)
		wipe(t, s);
}

int tr_http_session_csrf_ok(const struct tr_http_session *s,
			    const char *given)
{
	return given && strlen(given) == TR_SESSION_ID_LEN &&
	       sodium_memcmp(s->csrf, given, TR_SESSION_ID_LEN) == 0;
}

size_t tr_http_sessions_count(const struct tr_http_sessions *t)
{
	return t->n;
}

unsigned tr_http_sessions_ttl(const struct tr_http_sessions *t)
{
	return t->ttl;
}

static struct fail *fail_of(struct tr_http_sessions *t, const char *user,
			    long long now, int make)
{
	struct fail *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < FAIL_SLOTS; i++) {
		struct fail *f = &t->fails[i];
		if (f->first && now - f->first >= TR_LOGIN_WINDOW)
			memset(f, 0, sizeof *f);
		if (f->first && strcmp(f->user, user) == 0)
			return f;
		if (!f->first && !free_slot)
			free_slot = f;
		if (f->first && (!oldest || f->first < oldest->first))
			oldest = f;
	}
	if (!make)
		return NULL;
	struct fail *f = free_slot ? free_slot : oldest;
	memset(f, 0, sizeof *f);
	snprintf(f->user, sizeof f->user, "%s", user);
	f->first = now;
	return f;
}

unsigned tr_http_login_wait(struct tr_http_sessions *t, const char *user,
			    long long now)
{
	struct fail *f = fail_of(t, user, now, 0);
	if (!f || f->count < TR_LOGIN_FAILS)
		return 0;
	return (unsigned)(f->first + TR_LOGIN_WINDOW - now);
}

void tr_http_login_failed(struct tr_http_sessions *t, const char *user,
			  long long now)
{
	struct fail *f = fail_of(t, user, now, 1);
	f->count++;
}

void tr_http_login_ok(struct tr_http_sessions *t, const char *user)
{
	for (size_t i = 0; i < FAIL_SLOTS; i++)
		if (t->fails[i].first && strcmp(t->fails[i].user, user) == 0)
			memset(&t->fails[i], 0, sizeof t->fails[i]);
}
