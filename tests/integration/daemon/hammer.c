/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hammer.c - many clients at once against a running trellisd, checking
 * every answer: each client adds hosts (a write, run on the main thread)
 * and at once shows each one (a read, run on a receive thread with its
 * own store connection), so a read that missed an acknowledged write is
 * caught; between adds it lists hosts as fast as it can, so requests
 * queue and the helper receive threads wake.
 *
 *   hammer URL CLUSTER CLIENTS ADDS LISTS
 *
 * CLIENTS threads each add ADDS hosts hCLIENT-N on test:///default in
 * CLUSTER, showing each right after, with LISTS host.list requests after
 * each add.  Prints one line of counts; exits 1 at the first wrong answer,
 * naming it.
 */
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *url, *cluster;
static int adds, lists;
static atomic_long requests;
static atomic_int failed;

/* Sends req (stolen) and returns the answer's result, or NULL
 * after reporting a failure. */
static json_t *call(int s, const char *who, json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	char *buf = NULL;
	json_t *ans = NULL;
	if (text && nn_send(s, text, strlen(text), 0) >= 0) {
		int n = nn_recv(s, &buf, NN_MSG, 0);
		if (n >= 0)
			ans = json_loadb(buf, (size_t)n, 0, NULL);
	}
	atomic_fetch_add(&requests, 1);
	json_t *result = NULL;
	if (!ans || !json_is_true(json_object_get(ans, "ok"))) {
		if (!atomic_exchange(&failed, 1))
			fprintf(stderr, "hammer: %s: %s -> %.300s\n", who,
				text ? text : "?",
				buf ? buf : nn_strerror(nn_errno()));
	} else {
		result = json_incref(json_object_get(ans, "result"));
	}
	json_decref(ans);
	if (buf)
		nn_freemsg(buf);
	free(text);
	return result;
}

static void *client(void *arg)
{
	int id = (int)(long)arg;
	int s = nn_socket(AF_SP, NN_REQ);
	int tmo = 30000;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	int maxsz = -1;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
	if (s < 0 || nn_connect(s, url) < 0) {
		atomic_store(&failed, 1);
		fprintf(stderr, "hammer: %s: %s\n", url,
			nn_strerror(nn_errno()));
		return NULL;
	}
	for (int i = 0; i < adds && !atomic_load(&failed); i++) {
		char name[64], uri[96];
		snprintf(name, sizeof name, "h%d-%d", id, i);
		/* One URI is one host (host.add refuses a second). */
		snprintf(uri, sizeof uri, "test:///default?host=%s", name);
		json_decref(call(s, "host.add",
				 json_pack("{s:i, s:s, s:{s:s, s:s, s:s}}",
					   "v", 1, "op", "host.add", "args",
					   "name", name, "cluster", cluster,
					   "uri", uri)));
		/* Acknowledged, so every reader must see it now. */
		json_t *h = call(s, "host.show",
				 json_pack("{s:i, s:s, s:{s:s}}", "v", 1, "op",
					   "host.show", "args", "name", name));
		const char *got =
			json_string_value(json_object_get(h, "name"));
		if (h && (!got || strcmp(got, name) != 0) &&
		    !atomic_exchange(&failed, 1))
			fprintf(stderr, "hammer: host.show %s answered %s\n",
				name, got ? got : "no name");
		json_decref(h);
		for (int k = 0; k < lists && !atomic_load(&failed); k++) {
			json_t *l = call(
				s, "host.list",
				json_pack("{s:i, s:s, s:{s:i}}", "v", 1, "op",
					  "host.list", "args", "limit", 1000));
			if (l && !json_is_array(json_object_get(l, "items")) &&
			    !atomic_exchange(&failed, 1))
				fprintf(stderr, "hammer: host.list: no items\n");
			json_decref(l);
		}
	}
	nn_close(s);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr,
			"usage: hammer URL CLUSTER CLIENTS ADDS LISTS\n");
		return 2;
	}
	url = argv[1];
	cluster = argv[2];
	int clients = atoi(argv[3]);
	adds = atoi(argv[4]);
	lists = atoi(argv[5]);
	if (clients < 1 || clients > 256 || adds < 0 || lists < 0) {
		fprintf(stderr, "hammer: bad CLIENTS, ADDS or LISTS\n");
		return 2;
	}
	pthread_t *th = calloc((size_t)clients, sizeof *th);
	if (!th)
		return 1;
	int started = 0;
	for (; started < clients; started++)
		if (pthread_create(&th[started], NULL, client,
				   (void *)(long)started))
			break;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	printf("%d clients, %ld requests, %s\n", started,
	       atomic_load(&requests),
	       atomic_load(&failed) || started < clients ? "FAILED"
							  : "all answers right");
	return atomic_load(&failed) || started < clients;
}
