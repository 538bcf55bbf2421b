/* SPDX-License-Identifier: Apache-2.0 */
/* client.c - the request/response client of the CLI (cli.h: cli_call). */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sodium.h>
#include <unistd.h>

#include "../api/api.h"
#include "../link/link.h"
#include "../util/alloc.h"
#include "cli.h"

/* For ipc:// a REQ socket would wait for a peer until the timeout; probe
 * the socket file first so a stopped daemon gives its one line at once. */
static int ipc_alive(const char *url, char *why, size_t len, int *err)
{
	const char *path = url + 6;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		snprintf(why, len, "socket path too long");
		return 0;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return 0;
	}
	int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	if (!ok) {
		*err = errno;
		snprintf(why, len, "%s", strerror(errno));
	}
	close(fd);
	return ok;
}

/* The same for tcp://HOST:PORT: a plain connect, bounded to 3 s. */
static int tcp_alive(const char *url, char *why, size_t len)
{
	char host[256], *port;
	snprintf(host, sizeof host, "%s", url + 6);
	port = strrchr(host, ':');
	if (!port) {
		snprintf(why, len, "no port in the address");
		return 0;
	}
	*port++ = '\0';
	/* nanomsg's "tcp://eth0;host:port" names a local interface first. */
	char *semi = strchr(host, ';');
	char *name = semi ? semi + 1 : host;
	if (name[0] == '[') {
		name++;
		char *rb = strchr(name, ']');
		if (rb)
			*rb = '\0';
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int rc = getaddrinfo(name, port, &hints, &ai);
	if (rc != 0) {
		snprintf(why, len, "%s", gai_strerror(rc));
		return 0;
	}
	int ok = 0;
	for (struct addrinfo *a = ai; a && !ok; a = a->ai_next) {
		int fd = socket(a->ai_family,
				a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ok = 1;
		} else if (errno == EINPROGRESS) {
			struct pollfd p = {fd, POLLOUT, 0};
			int err = 0;
			socklen_t el = sizeof err;
			if (poll(&p, 1, 3000) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0)
				errno = err;
			else
				errno = ETIMEDOUT;
			ok = err == 0 && errno == 0;
		}
		if (!ok)
			snprintf(why, len, "%s", strerror(errno));
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

static void not_running(const struct cli *cli, const char *why, int err)
{
	/* A socket that is there but closed to us is not a stopped daemon:
	 * say what to do about the permission instead. */
	if (err == EACCES || err == EPERM)
		fprintf(stderr,
			"trellis: permission denied on %s: trellisd runs, but "
			"this user may not use its socket (it is open to the "
			"daemon's group: add yourself with 'adduser $USER "
			"trellis' and log in again, or run as root)\n",
			cli->socket);
	else
		fprintf(stderr,
			"trellis: trellisd is not answering on %s (%s); is it "
			"running? (--socket or TRELLIS_SOCKET pick another)\n",
			cli->socket, why);
}

/* The caller's local token for an ipc:// socket (core/api/local.c): the
 * file named by our uid beside the socket, which only we can read.  0, or
 * -1 when there is none (then the request goes without, which only a
 * socket closed to others accepts). */
static int local_token(const char *url, char *buf, size_t len)
{
	char dir[512], path[600];
	tr_api_token_dir(url, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/%ld", dir, (long)getuid());
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	return n ? 0 : -1;
}

/*
 * tcp:// goes over the secure link (core/link, role api; docs/agent.md,
 * "The tcp:// API"): the core's public key is pinned from
 * TRELLIS_CORE_KEY (64 hex: `trellis api status` on the server says it,
 * link_key), the handshake proves the server holds its secret half, and
 * the request and its answer are AEAD frames, so the API key and what
 * the answer holds never cross the network in clear.
 */
static int link_key(const struct cli *cli, unsigned char key[TR_LINK_KEY])
{
	const char *hex = getenv("TRELLIS_CORE_KEY");
	if (tr_link_init() < 0) {
		fprintf(stderr, "trellis: libsodium does not initialise\n");
		return -1;
	}
	if (!hex || !*hex) {
		fprintf(stderr,
			"trellis: %s: the tcp:// API is encrypted and needs the "
			"core's public key: set TRELLIS_CORE_KEY to its "
			"link_key (trellis api status, on the server)\n",
			cli->socket);
		return -1;
	}
	if (strlen(hex) != 2 * TR_LINK_KEY ||
	    tr_link_unhex(hex, key, TR_LINK_KEY) < 0) {
		fprintf(stderr,
			"trellis: TRELLIS_CORE_KEY: not a key (64 hex digits)\n");
		return -1;
	}
	return 0;
}

/* The handshake on sock: 0, or -1 with why set. */
static int link_open(int sock, const struct cli *cli, struct tr_link *l,
		     const unsigned char key[TR_LINK_KEY], char *why,
		     size_t len)
{
	unsigned char hello[TR_LINK_HELLO_MAX];
	char params[TR_LINK_PARAMS_MAX];
	snprintf(params, sizeof params, "endpoint=%.400s", cli->socket);
	int n = tr_link_client_hello(l, TR_LINK_ROLE_API, key, params, hello);
	if (n < 0 || nn_send(sock, hello, (size_t)n, 0) < 0) {
		snprintf(why, len, "%s", n < 0 ? l->why : nn_strerror(nn_errno()));
		return -1;
	}
	void *buf = NULL;
	n = nn_recv(sock, &buf, NN_MSG, 0);
	if (n < 0) {
		snprintf(why, len, "no answer to the link's handshake: %s",
			 nn_strerror(nn_errno()));
		return -1;
	}
	int rc = tr_link_client_finish(l, buf, (size_t)n);
	nn_freemsg(buf);
	if (rc < 0) {
		snprintf(why, len, "the link's handshake failed: %s", l->why);
		return -1;
	}
	return 0;
}

/*
 * Several managers: --socket / TRELLIS_SOCKET may list endpoints separated
 * by commas ("ipc:///run/a.sock,tcp://10.0.0.2:7700").  Each call goes to
 * the first that accepts a connection, starting from the one the last
 * call used; -v says which.  A request is only ever sent once: if the
 * endpoint accepted it and then gave no answer, the call fails naming
 * that endpoint rather than running a state change twice elsewhere.
 */
#define CLI_MAX_ENDPOINTS 16

static size_t split_endpoints(const char *list, char ep[][512], size_t max)
{
	size_t n = 0;
	const char *p = list;
	while (*p && n < max) {
		size_t l = strcspn(p, ",");
		if (l > 0 && l < 512) {
			memcpy(ep[n], p, l);
			ep[n][l] = '\0';
			n++;
		}
		p += l;
		if (*p == ',')
			p++;
	}
	return n;
}

static int alive(const char *url, char *why, size_t len, int *err)
{
	*err = 0;
	if (strncmp(url, "ipc://", 6) == 0)
		return ipc_alive(url, why, len, err);
	if (strncmp(url, "tcp://", 6) == 0)
		return tcp_alive(url, why, len);
	return 1; /* another transport: nanomsg says */
}

static size_t last_used; /* the endpoint the last call reached */

static int call_one(const struct cli *cli, const char *op, json_t *args,
		    json_t **result, int quiet);

static int call(const struct cli *cli, const char *op, json_t *args,
		json_t **result, int quiet)
{
	static char ep[CLI_MAX_ENDPOINTS][512];
	size_t n = split_endpoints(cli->socket, ep, CLI_MAX_ENDPOINTS);
	if (n <= 1)
		return call_one(cli, op, args, result, quiet);
	char whys[CLI_MAX_ENDPOINTS][128];
	int err = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = (last_used + k) % n;
		if (!alive(ep[i], whys[i], sizeof whys[i], &err)) {
			if (cli->verbose)
				fprintf(stderr, "trellis: %s: %s, trying the "
					"next endpoint\n", ep[i], whys[i]);
			continue;
		}
		if (cli->verbose && i != last_used)
			fprintf(stderr, "trellis: using %s\n", ep[i]);
		else if (cli->verbose > 1)
			fprintf(stderr, "trellis: using %s\n", ep[i]);
		last_used = i;
		struct cli one = *cli;
		one.socket = ep[i];
		return call_one(&one, op, args, result, quiet);
	}
	if (!quiet) {
		fprintf(stderr, "trellis: no trellisd answers on any of the %zu "
			"endpoints:", n);
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s %s (%s)", i ? "," : "", ep[i],
				whys[i]);
		fputc('\n', stderr);
	}
	return CLI_FAILED;
}

static int call_one(const struct cli *cli, const char *op, json_t *args,
		    json_t **result, int quiet)
{
	int rc = CLI_FAILED, sock = -1, err = 0;
	char *text = NULL, *buf = NULL, *plain = NULL;
	int secure = strncmp(cli->socket, "tcp://", 6) == 0;
	unsigned char key[TR_LINK_KEY];
	struct tr_link link;
	memset(&link, 0, sizeof link);
	json_t *resp = NULL;
	*result = NULL;
	json_t *env = json_pack("{s:i, s:s, s:o}", "v", 1, "op", op, "args",
				args ? args : json_object());
	if (env && cli->api_key && strncmp(cli->socket, "tcp://", 6) == 0)
		json_object_set_new(env, "auth", json_string(cli->api_key));
	char token[128];
	if (env && strncmp(cli->socket, "ipc://", 6) == 0 &&
	    local_token(cli->socket, token, sizeof token) == 0) {
		json_object_set_new(env, "auth", json_string(token));
		memset(token, 0, sizeof token);
	}
	text = env ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	if (!text) {
		fprintf(stderr, "trellis: out of memory\n");
		return CLI_FAILED;
	}
	char why[256];
	if ((strncmp(cli->socket, "ipc://", 6) == 0 &&
	     !ipc_alive(cli->socket, why, sizeof why, &err)) ||
	    (strncmp(cli->socket, "tcp://", 6) == 0 &&
	     !tcp_alive(cli->socket, why, sizeof why))) {
		if (!quiet)
			not_running(cli, why, err);
		goto out;
	}
	if (secure && link_key(cli, key) < 0)
		goto out;
	sock = nn_socket(AF_SP, NN_REQ);
	if (sock < 0) {
		fprintf(stderr, "trellis: socket: %s\n", nn_strerror(nn_errno()));
		goto out;
	}
	int tmo = cli->timeout_ms;
	/* Never resend: a request that changes state must not run twice. */
	int resend = tmo * 2 + 60000;
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(sock, NN_REQ, NN_REQ_RESEND_IVL, &resend, sizeof resend);
	int maxsz = -1;
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
	if (nn_connect(sock, cli->socket) < 0) {
		fprintf(stderr, "trellis: %s: %s\n", cli->socket,
			nn_strerror(nn_errno()));
		goto out;
	}
	if (secure) {
		if (link_open(sock, cli, &link, key, why, sizeof why) < 0) {
			fprintf(stderr, "trellis: %s: %s\n", cli->socket, why);
			goto out;
		}
		size_t tl = strlen(text);
		unsigned char *f = tr_xmalloc(tl + TR_LINK_OVERHEAD);
		long fl = tr_link_seal(&link, TR_LINK_DATA, text, tl, f);
		sodium_memzero(text, tl);
		int sent = fl > 0 ? nn_send(sock, f, (size_t)fl, 0) : -1;
		free(f);
		if (sent < 0) {
			if (!quiet)
				not_running(cli, nn_strerror(nn_errno()), 0);
			goto out;
		}
	} else if (nn_send(sock, text, strlen(text), 0) < 0) {
		if (!quiet)
			not_running(cli, nn_strerror(nn_errno()), 0);
		goto out;
	}
	int n = nn_recv(sock, &buf, NN_MSG, 0);
	if (n < 0) {
		if (nn_errno() == ETIMEDOUT)
			snprintf(why, sizeof why, "no answer within %d ms",
				 cli->timeout_ms);
		else
			snprintf(why, sizeof why, "%s", nn_strerror(nn_errno()));
		if (!quiet)
			not_running(cli, why, 0);
		goto out;
	}
	const char *body = buf;
	if (secure) {
		enum tr_link_kind kind;
		plain = tr_xmalloc((size_t)n + 1);
		long pl = tr_link_open(&link, (unsigned char *)buf, (size_t)n,
				       &kind, (unsigned char *)plain);
		if (pl < 0 || kind != TR_LINK_DATA) {
			fprintf(stderr, "trellis: %s: the answer's frame was "
				"refused: %s\n", cli->socket,
				pl < 0 ? link.why : "the link was closed");
			goto out;
		}
		body = plain;
		n = (int)pl;
	}
	json_error_t jerr;
	resp = json_loadb(body, (size_t)n, 0, &jerr);
	if (!json_is_object(resp)) {
		fprintf(stderr, "trellis: malformed answer from trellisd: %s\n",
			jerr.text);
		goto out;
	}
	if (json_is_true(json_object_get(resp, "ok"))) {
		*result = json_incref(json_object_get(resp, "result"));
		if (!*result)
			*result = json_null();
		rc = CLI_OK;
		goto out;
	}
	json_t *e = json_object_get(resp, "error");
	if (quiet) {
	} else if (cli->format == CLI_FMT_JSON) {
		json_dumpf(resp, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		fprintf(stderr, "trellis: %s: %s\n",
			json_string_value(json_object_get(e, "code")),
			json_string_value(json_object_get(e, "message")));
	}
out:
	tr_link_wipe(&link);
	sodium_memzero(key, sizeof key);
	if (plain) {
		sodium_memzero(plain, (size_t)(n > 0 ? n : 0));
		free(plain);
	}
	if (buf)
		nn_freemsg(buf);
	if (sock >= 0)
		nn_close(sock);
	json_decref(resp);
	free(text);
	return rc;
}

int cli_call(const struct cli *cli, const char *op, json_t *args,
	     json_t **result)
{
	return call(cli, op, args, result, 0);
}

int cli_call_quiet(const struct cli *cli, const char *op, json_t *args,
		   json_t **result)
{
	return call(cli, op, args, result, 1);
}

json_t *cli_event_recv(int sock, char *topic, size_t len, int *err)
{
	char *msg = NULL;
	*err = 0;
	int n = nn_recv(sock, &msg, NN_MSG, 0);
	if (n < 0) {
		*err = nn_errno();
		return NULL;
	}
	const char *sp = memchr(msg, ' ', (size_t)n);
	json_t *ev = sp ? json_loadb(sp + 1, (size_t)(n - (sp + 1 - msg)), 0,
				     NULL)
			: NULL;
	if (ev && topic && len)
		snprintf(topic, len, "%.*s", (int)(sp - msg), msg);
	nn_freemsg(msg);
	return ev;
}

int cli_final_state(const char *s)
{
	return s && (!strcmp(s, "succeeded") || !strcmp(s, "failed") ||
		     !strcmp(s, "cancelled"));
}
