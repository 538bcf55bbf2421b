/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core_api.c - trellis-console's requests to trellisd: one nanomsg REQ
 * socket per call (calls come from short-lived job threads), the local
 * token of ipc:// or the API key of tcp://, and the jobs' queue back to
 * the loop (console.h).
 */
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../api/api.h"
#include "../util/alloc.h"
#include "console.h"

#define CALL_TIMEOUT_MS 15000

/* ipc://: the file named by our uid in the socket's token directory;
 * tcp://: the key file or TRELLIS_API_KEY. */
static void auth_token(const struct cp_opts *o, char *buf, size_t len)
{
	buf[0] = '\0';
	char path[700];
	FILE *f = NULL;
	if (strncmp(o->core, "ipc://", 6) == 0) {
		char dir[512];
		tr_api_token_dir(o->core, dir, sizeof dir);
		snprintf(path, sizeof path, "%s/%ld", dir, (long)getuid());
		f = fopen(path, "re");
	} else if (o->key_file) {
		f = fopen(o->key_file, "re");
	} else if (getenv("TRELLIS_API_KEY")) {
		snprintf(buf, len, "%s", getenv("TRELLIS_API_KEY"));
		return;
	}
	if (!f)
		return;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
}

int cp_core_call(const struct cp_opts *o, const char *op, json_t *args,
		 json_t **result, char *code, size_t codelen, char *msg,
		 size_t msglen)
{
	*result = NULL;
	snprintf(code, codelen, "UNAVAILABLE");
	char token[256];
	auth_token(o, token, sizeof token);
	json_t *env = json_pack("{s:i, s:s, s:o}", "v", 1, "op", op, "args",
				args ? args : json_object());
	if (token[0])
		json_object_set_new(env, "auth", json_string(token));
	memset(token, 0, sizeof token);
	char *text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	int rc = -1, sock = nn_socket(AF_SP, NN_REQ);
	char *buf = NULL;
	json_t *resp = NULL;
	if (sock < 0) {
		snprintf(msg, msglen, "socket: %s", nn_strerror(nn_errno()));
		goto out;
	}
	int tmo = CALL_TIMEOUT_MS, resend = 600000, maxsz = -1;
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(sock, NN_REQ, NN_REQ_RESEND_IVL, &resend, sizeof resend);
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
	if (nn_connect(sock, o->core) < 0 ||
	    nn_send(sock, text, strlen(text), 0) < 0) {
		snprintf(msg, msglen, "trellisd at %s: %s", o->core,
			 nn_strerror(nn_errno()));
		goto out;
	}
	int n = nn_recv(sock, &buf, NN_MSG, 0);
	if (n < 0) {
		snprintf(msg, msglen, "trellisd at %s: %s", o->core,
			 nn_strerror(nn_errno()));
		buf = NULL;
		goto out;
	}
	resp = json_loadb(buf, (size_t)n, 0, NULL);
	if (!json_is_object(resp)) {
		snprintf(msg, msglen, "trellisd: a malformed answer");
		goto out;
	}
	if (json_is_true(json_object_get(resp, "ok"))) {
		*result = json_incref(json_object_get(resp, "result"));
		if (!*result)
			*result = json_null();
		code[0] = '\0';
		msg[0] = '\0';
		rc = 0;
		goto out;
	}
	json_t *err = json_object_get(resp, "error");
	snprintf(code, codelen, "%s",
		 json_string_value(json_object_get(err, "code")) ?: "INTERNAL");
	snprintf(msg, msglen, "%s",
		 json_string_value(json_object_get(err, "message")) ?: "");
out:
	if (buf)
		nn_freemsg(buf);
	if (sock >= 0)
		nn_close(sock);
	json_decref(resp);
	if (text) {
		memset(text, 0, strlen(text)); /* it may hold a token */
		free(text);
	}
	return rc;
}

/* ---- jobs ---- */

static pthread_mutex_t jobs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cp_job *jobs_done;

struct job_start {
	struct cp_job *j;
	struct lws_context *ctx;
};

static void *job_thread(void *arg)
{
	struct job_start *s = arg;
	struct cp_job *j = s->j;
	struct lws_context *ctx = s->ctx;
	free(s);
	if (j->fn) {
		j->fn(j);
	} else {
		json_t *a = j->args;
		j->args = NULL;
		cp_core_call(j->o, j->op, a, &j->result, j->code,
			     sizeof j->code, j->msg, sizeof j->msg);
	}
	pthread_mutex_lock(&jobs_lock);
	j->next = jobs_done;
	jobs_done = j;
	pthread_mutex_unlock(&jobs_lock);
	lws_cancel_service(ctx);
	return NULL;
}

void cp_job_start(struct lws_context *ctx, struct cp_job *j)
{
	struct job_start *s = tr_xmalloc(sizeof *s);
	s->j = j;
	s->ctx = ctx;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	pthread_t t;
	if (pthread_create(&t, &at, job_thread, s) != 0) {
		/* No thread: run it here; the loop stalls, nothing is lost. */
		job_thread(s);
	}
	pthread_attr_destroy(&at);
}

void cp_jobs_drain(void)
{
	pthread_mutex_lock(&jobs_lock);
	struct cp_job *q = jobs_done, *rev = NULL;
	jobs_done = NULL;
	pthread_mutex_unlock(&jobs_lock);
	while (q) { /* oldest first */
		struct cp_job *n = q->next;
		q->next = rev;
		rev = q;
		q = n;
	}
	while (rev) {
		struct cp_job *n = rev->next;
		if (rev->done)
			rev->done(rev);
		json_decref(rev->args);
		json_decref(rev->result);
		free(rev);
		rev = n;
	}
}
