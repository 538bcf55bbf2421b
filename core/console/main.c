/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - trellis-console: options, one TLS port (pages, noVNC's files,
 * the WebSocket and the stripe long-polls all on it), the certificate,
 * the load reports to the core and a clean stop (docs/man/
 * trellis-console.8.md).
 *
 * Plain HTTP is for --plain on a loopback address only; on the TLS port a
 * plain-HTTP request fails the TLS handshake and is dropped.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netdb.h>
#include <sys/socket.h>

#include "../http/http.h"
#include "../util/alloc.h"
#include "console.h"
#include "rfb.h"

static volatile sig_atomic_t stopping;
static volatile int drain_wanted, draining;
static struct lws_context *context;
static struct cp_opts opts = {
    .name = NULL,
    .listen = "127.0.0.1:6080",
    .core = "ipc:///run/trellis/api.sock",
    .novnc = "/usr/share/novnc",
    .capacity = 50,
    .report_ms = 5000,
    .busy_poll_us = 50,
};

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	if (context)
		lws_cancel_service(context);
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason,
		   void *user, void *in, size_t len)
{
	if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
		if (drain_wanted && !draining) {
			draining = 1;
			fprintf(stderr, "trellis-console: draining: handing "
					"sessions over\n");
		}
		if (draining)
			cp_relay_drain();
		return 0;
	}
	if (reason != LWS_CALLBACK_HTTP)
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	const char *type;
	const char *page = cp_page((const char *)in, &type);
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
		      *end = buf + sizeof buf;
	if (!page) {
		lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	size_t n = strlen(page);
	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, type, n, &p,
					end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p,
					 end) ||
	    lws_add_http_header_by_name(wsi,
					(unsigned char *)"referrer-policy:",
					(unsigned char *)"no-referrer", 11, &p,
					end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	unsigned char *body = tr_xmalloc(LWS_PRE + n);
	memcpy(body + LWS_PRE, page, n);
	int w = lws_write(wsi, body + LWS_PRE, n, LWS_WRITE_HTTP_FINAL);
	free(body);
	if (w < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static const struct lws_protocols http_protocol = {"http", http_cb, 0, 0,
						   0, NULL, 0};

/* ---- load reports ---- */

static unsigned long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	unsigned long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (unsigned long)(sysconf(_SC_PAGESIZE) / 1024);
}

static void *report_thread(void *arg)
{
	(void)arg;
	int told = 0;
	while (!stopping) {
		unsigned n = cp_sessions_open() + cp_stripe_sessions();
		json_t *a = json_pack("{s:s, s:s, s:i, s:i, s:i, s:I}", "name",
				      opts.name, "url", opts.url, "pid",
				      (int)getpid(), "sessions", (int)n,
				      "capacity", (int)opts.capacity, "rss_kib",
				      (json_int_t)rss_kib());
		if (opts.launcher)
			json_object_set_new(a, "launcher",
					    json_string(opts.launcher));
		json_t *r = NULL;
		char code[32], msg[256];
		if (cp_core_call(&opts, "consoleproxy.report", a, &r, code,
				 sizeof code, msg, sizeof msg) == 0) {
			const char *st =
			    json_string_value(json_object_get(r, "state"));
			if (st && strcmp(st, "retired") == 0) {
				fprintf(stderr, "trellis-console: retired by "
						"the core, exiting\n");
				stopping = 1;
				lws_cancel_service(context);
			} else if (st && strcmp(st, "draining") == 0) {
				drain_wanted = 1;
				lws_cancel_service(context);
				/* Drained: nothing left to hand over. */
				if (n == 0 && draining) {
					fprintf(stderr,
						"trellis-console: drained, "
						"exiting\n");
					stopping = 1;
					lws_cancel_service(context);
				}
			}
			told = 0;
		} else if (!told) {
			fprintf(stderr,
				"trellis-console: load report refused: %s: "
				"%s\n",
				code, msg);
			told = 1;
		}
		json_decref(r);
		for (unsigned waited = 0; waited < opts.report_ms && !stopping;
		     waited += 100)
			usleep(100 * 1000);
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: trellis-console [OPTIONS]\n"
		"\n"
		"The Trellis console proxy: browsers reach VM consoles through "
		"it.\n"
		"\n"
		"Options:\n"
		"      --name NAME       this instance's name (default "
		"HOST-PORT)\n"
		"      --listen HOST:PORT  the one port (default "
		"127.0.0.1:6080)\n"
		"      --core URL        trellisd's API (default\n"
		"                        ipc:///run/trellis/api.sock)\n"
		"      --api-key-file FILE  the API key, for a tcp:// core\n"
		"      --state-dir DIR   where the self-signed certificate is "
		"kept\n"
		"                        (default /var/lib/trellis/console)\n"
		"      --cert FILE       a certificate of your own (PEM), with "
		"--key\n"
		"      --key FILE        its private key (PEM)\n"
		"      --url URL         the base URL browsers reach this "
		"instance by\n"
		"      --capacity N      sessions it takes (default 50)\n"
		"      --report-interval MS  load reports to the core (default "
		"5000)\n"
		"      --novnc DIR       noVNC's files (default "
		"/usr/share/novnc)\n"
		"      --busy-poll US    after a browser's input, watch the VNC "
		"socket\n"
		"                        for its answer this long before "
		"sleeping\n"
		"                        (default 50; 0: never)\n"
		"      --no-splice       plain connections too take the read "
		"path\n"
		"                        (benchmarks: what splice() gains)\n"
		"      --plain           plain HTTP, on a loopback address "
		"only\n"
		"      --launcher NAME   who started it (set by the scan)\n"
		"      --bench-target HOST:PORT  benchmarks only: relay every\n"
		"                        WebSocket to it, no token (loopback "
		"only)\n"
		"      --vnc-check HOST:PORT  authenticate to a VNC server with "
		"the password\n"
		"                        on stdin (RFB VNC authentication), "
		"say ok or why not\n"
		"  -h, --help            this help\n");
}

/* --vnc-check: the RFB handshake of a session, alone (the password on
 * stdin, never in argv).  0 ok, 1 refused or unreachable. */
static int vnc_check(const char *target)
{
	char host[256], pw[64] = "";
	snprintf(host, sizeof host, "%s", target);
	char *c = strrchr(host, ':');
	if (!c) {
		fprintf(stderr, "trellis-console: --vnc-check HOST:PORT\n");
		return 2;
	}
	*c = '\0';
	if (!fgets(pw, sizeof pw, stdin))
		pw[0] = '\0';
	pw[strcspn(pw, "\r\n")] = '\0';
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	int fd = -1;
	if (getaddrinfo(host, c + 1, &hints, &ai) == 0) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
		freeaddrinfo(ai);
	}
	if (fd < 0) {
		printf("unreachable: %s\n", target);
		return 1;
	}
	struct rfb_up u;
	rfb_up_init(&u, pw);
	memset(pw, 0, sizeof pw);
	enum rfb_rc rc = RFB_MORE;
	while (rc == RFB_MORE) {
		unsigned char in[512], out[64];
		ssize_t n = read(fd, in, sizeof in);
		if (n <= 0) {
			snprintf(u.err, sizeof u.err, "the VNC server closed "
						       "the connection");
			rc = RFB_FAIL;
			break;
		}
		size_t used, olen;
		rc = rfb_up_feed(&u, in, (size_t)n, &used, out, sizeof out,
				 &olen);
		if (olen && write(fd, out, olen) != (ssize_t)olen)
			rc = RFB_FAIL;
	}
	close(fd);
	if (rc == RFB_DONE) {
		printf("ok\n");
		return 0;
	}
	printf("refused: %s\n", u.err);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"name", 1, NULL, 'n'},	 {"listen", 1, NULL, 'l'},
	    {"core", 1, NULL, 'c'},	 {"api-key-file", 1, NULL, 'k'},
	    {"state-dir", 1, NULL, 's'}, {"cert", 1, NULL, 'C'},
	    {"key", 1, NULL, 'K'},	 {"url", 1, NULL, 'u'},
	    {"capacity", 1, NULL, 'N'},	 {"report-interval", 1, NULL, 'r'},
	    {"novnc", 1, NULL, 'v'},	 {"plain", 0, NULL, 'p'},
	    {"launcher", 1, NULL, 'L'},	 {"bench-target", 1, NULL, 'b'},
	    {"vnc-check", 1, NULL, 'V'},	 {"busy-poll", 1, NULL, 'B'},
	    {"no-splice", 0, NULL, 'S'},
	    {"help", 0, NULL, 'h'},	 {NULL, 0, NULL, 0}};
	setvbuf(stderr, NULL, _IOLBF, 0);
	const char *state_dir = "/var/lib/trellis/console";
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': opts.name = optarg; break;
		case 'l': opts.listen = optarg; break;
		case 'c': opts.core = optarg; break;
		case 'k': opts.key_file = optarg; break;
		case 's': state_dir = optarg; break;
		case 'C': opts.cert = optarg; break;
		case 'K': opts.key = optarg; break;
		case 'u': opts.url = optarg; break;
		case 'N': opts.capacity = (unsigned)atoi(optarg); break;
		case 'r': opts.report_ms = (unsigned)atoi(optarg); break;
		case 'v': opts.novnc = optarg; break;
		case 'p': opts.plain = 1; break;
		case 'L': opts.launcher = optarg; break;
		case 'b': opts.static_target = optarg; break;
		case 'S': opts.no_splice = 1; break;
		case 'B': opts.busy_poll_us = (unsigned)atoi(optarg); break;
		case 'V': return vnc_check(optarg);
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *colon = strrchr(opts.listen, ':');
	if (!colon || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535) {
		fprintf(stderr, "trellis-console: --listen %s: not HOST:PORT\n",
			opts.listen);
		return 2;
	}
	char host[256];
	snprintf(host, sizeof host, "%.*s", (int)(colon - opts.listen),
		 opts.listen);
	int port = atoi(colon + 1);
	if (opts.plain && !tr_http_is_loopback(opts.listen)) {
		fprintf(stderr, "trellis-console: --plain is for loopback "
				"addresses only; %s is not one\n",
			opts.listen);
		return 2;
	}
	if (opts.static_target && (!tr_http_is_loopback(opts.listen) ||
				   !strrchr(opts.static_target, ':'))) {
		fprintf(stderr, "trellis-console: --bench-target HOST:PORT "
				"listens on loopback only (benchmarks only)\n");
		return 2;
	}
	char namebuf[300], urlbuf[400];
	if (!opts.name) {
		char hn[200] = "console";
		gethostname(hn, sizeof hn - 1);
		snprintf(namebuf, sizeof namebuf, "%s-%d", hn, port);
		opts.name = namebuf;
	}
	if (!opts.url) {
		snprintf(urlbuf, sizeof urlbuf, "%s://%s", opts.plain ? "http" : "https",
			 opts.listen);
		opts.url = urlbuf;
	}
	char cert[600], key[600], fp[128], err[300];
	if (!opts.plain) {
		if (opts.cert && opts.key) {
			snprintf(cert, sizeof cert, "%s", opts.cert);
			snprintf(key, sizeof key, "%s", opts.key);
			if (cp_tls_fingerprint(cert, fp, sizeof fp) < 0) {
				fprintf(stderr, "trellis-console: %s: not a PEM "
						"certificate\n", cert);
				return 1;
			}
		} else if (cp_tls_ensure(state_dir, host, cert, sizeof cert, key,
					 sizeof key, fp, sizeof fp, err,
					 sizeof err) < 0) {
			fprintf(stderr, "trellis-console: %s\n", err);
			return 1;
		}
		printf("trellis-console: TLS certificate %s, SHA-256 "
		       "fingerprint %s\n",
		       cert, fp);
		fflush(stdout);
	}

	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	static struct lws_protocols protocols[5];
	protocols[0] = http_protocol;
	protocols[1] = cp_protocol_ws;
	protocols[2] = cp_protocol_raw;
	protocols[3] = cp_protocol_stripe;
	static struct lws_http_mount m_stripe, m_novnc;
	/* lws matches a mount point followed by '/' or the end: "/stripe"
	 * takes the page and its requests. */
	m_stripe.mountpoint = "/stripe";
	m_stripe.mountpoint_len = 7;
	m_stripe.origin = "trellis-stripe";
	m_stripe.origin_protocol = LWSMPRO_CALLBACK;
	m_novnc.mount_next = &m_stripe;
	m_novnc.mountpoint = "/novnc";
	m_novnc.mountpoint_len = 6;
	m_novnc.origin = opts.novnc;
	m_novnc.origin_protocol = LWSMPRO_FILE;
	m_novnc.def = "vnc_lite.html";
	m_novnc.cache_max_age = 3600;
	m_novnc.cache_reusable = 1;

	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = (strcmp(host, "0.0.0.0") == 0 || !host[0]) ? NULL : host;
	if (!strchr(host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.protocols = protocols;
	info.mounts = &m_novnc;
	info.vhost_name = "trellis-console";
	info.timeout_secs = 20;
	info.max_http_header_data = 4096;
	info.count_threads = 1;
	info.fd_limit_per_thread = 3 * CP_MAX_SESSIONS + 64;
	info.alpn = "http/1.1";
	if (!opts.plain) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cert;
		info.ssl_private_key_filepath = key;
	}
	context = lws_create_context(&info);
	if (!context) {
		fprintf(stderr, "trellis-console: cannot listen on %s\n",
			opts.listen);
		return 1;
	}
	cp_relay_setup(&opts, context);
	cp_stripe_setup(&opts, context);
	printf("trellis-console: %s listening on %s (%s), core %s\n", opts.name,
	       opts.url, opts.plain ? "plain HTTP, loopback" : "TLS",
	       opts.core);
	fflush(stdout);
	pthread_t rep;
	int reporting = !opts.static_target &&
			pthread_create(&rep, NULL, report_thread, NULL) == 0;
	int closing = 0;
	while (lws_service(context, 0) >= 0) {
		cp_stripe_tick();
		if (stopping && !closing) {
			closing = 1;
			cp_relay_close_all("the console proxy stops");
		}
		if (stopping && cp_sessions_open() == 0)
			break;
	}
	stopping = 1;
	if (reporting)
		pthread_join(rep, NULL);
	/* Sessions' ends reach the core before we go, then our own. */
	cp_jobs_drain();
	usleep(200 * 1000);
	cp_jobs_drain();
	if (!opts.static_target) {
		json_t *r = NULL;
		char code[32], msg[256];
		cp_core_call(&opts, "consoleproxy.report",
			     json_pack("{s:s, s:s, s:i, s:b}", "name", opts.name,
				       "url", opts.url, "sessions", 0, "gone", 1),
			     &r, code, sizeof code, msg, sizeof msg);
		json_decref(r);
	}
	fprintf(stderr, "trellis-console: stopped\n");
	lws_context_destroy(context);
	return 0;
}
