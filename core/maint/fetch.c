/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fetch.c - the support engineer's retrieval of a password from the
 * vendor's escrow (maint.h tr_maint_fetch): on a worker thread, audited
 * with the engineer on the window it belongs to.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../config/config.h"
#include "../util/alloc.h"

#include "maint_int.h"

/* The retrieval runs on a worker (the escrow may take seconds) and is no
 * action: only support.fetch reaches it. */
struct fetch_ctx {
	char withdraw[ESCROW_HASH_HEX];
	char who[TR_NAME_LEN + 1];
	char *code, *reply_key, *endpoint;
	json_t *proof;     /* the engineer's signature (a copy of our own) */
	char *sealed;      /* the result */
	char *engineer;    /* the escrow's name of the engineer */
	trellis_call_t call;
	int rc;
	tr_maint_done_fn done;
	void *arg;
};

static struct win *by_withdraw(struct tr_maint *m, const char *wd)
{
	for (struct win *w = m ? m->wins : NULL; w; w = w->next)
		if (w->withdraw[0] && sodium_memcmp(w->withdraw, wd,
						    ESCROW_HASH_HEX - 1) == 0)
			return w;
	return NULL;
}

static void fetch_work(void *arg)
{
	struct fetch_ctx *f = arg;
	if (!f->endpoint)
		f->rc = tr_call_set(&f->call, TRELLIS_E_UNAVAILABLE,
				    "no escrow configured (escrow.endpoint)");
	else
		f->rc = tr_escrow_fetch_sealed(
		    f->endpoint, f->code, f->who, f->reply_key, f->proof,
		    &f->sealed, &f->engineer, &f->call);
	sodium_memzero(f->code, strlen(f->code));
}

static void fetch_free(struct fetch_ctx *f)
{
	json_decref(f->proof);
	free(f->engineer);
	free(f->sealed);
	free(f->code);
	free(f->reply_key);
	free(f->endpoint);
	sodium_memzero(f, sizeof *f);
	free(f);
}

static void fetch_done(struct tr_daemon *d, void *arg)
{
	struct fetch_ctx *f = arg;
	struct win *w = by_withdraw(M(d), f->withdraw);
	struct win none;
	memset(&none, 0, sizeof none);
	CPY(none.name, "(no window of this trellisd)");
	struct win *aw = w ? w : &none;
	if (f->rc == 0) {
		char det[200];
		snprintf(det, sizeof det,
			 "by engineer %.64s (the escrow's name), sealed to the "
			 "engineer's key",
			 f->engineer ? f->engineer : "?");
		tr_maint_audit(d, aw, "RETRIEVED", f->who, 0, det);
		json_t *r = json_pack("{s:s, s:s?, s:s?, s:s?}", "sealed",
				      f->sealed, "engineer", f->engineer, "vm",
				      w ? w->vm : NULL, "name",
				      w ? w->name : NULL);
		f->done(d, f->arg, r, NULL);
	} else {
		tr_maint_audit(d, aw, "FETCH_REFUSED", f->who, f->rc, NULL);
		f->done(d, f->arg, NULL, &f->call);
	}
	fetch_free(f);
}

void tr_maint_fetch(struct tr_daemon *d, const char *code,
		    const char *reply_key, json_t *proof,
		    const struct tr_ident *who, tr_maint_done_fn done,
		    void *arg)
{
	struct fetch_ctx *f = tr_xcalloc(1, sizeof *f);
	tr_call_init(&f->call, "maint");
	if (!reply_key || !*reply_key) {
		tr_call_set(&f->call, TRELLIS_E_INVALID_ARG,
			    "support.fetch needs reply_key: the password comes "
			    "back sealed to the engineer's one-time key, which "
			    "the engineer signs (trellis support fetch does "
			    "both)");
		done(d, arg, NULL, &f->call);
		free(f);
		return;
	}
	f->proof = proof ? json_deep_copy(proof) : NULL;
	tr_escrow_withdraw_token(code, f->withdraw);
	CPY(f->who, who->user);
	f->code = tr_xstrdup(code);
	f->reply_key = tr_xstrdup(reply_key);
	f->endpoint = d->config && d->config->escrow_endpoint
			  ? tr_xstrdup(d->config->escrow_endpoint)
			  : NULL;
	f->done = done;
	f->arg = arg;
	int rc = tr_daemon_submit(d, fetch_work, fetch_done, f);
	if (rc < 0) {
		f->rc = tr_call_set(&f->call, rc, "no worker for the escrow "
						  "(retry)");
		fetch_done(d, f);
	}
}
