/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_console.c - the console proxy benchmark's own parts (console.t
 * runs them): a VNC-like stream source, a plain C TCP relay (the
 * baseline) and the clients that measure.
 *
 *   bench-console source PORT            every connection: an endless
 *                                        server-to-client stream of 64 KiB
 *                                        writes (framebuffer-update-like
 *                                        bytes), or, when the client sends
 *                                        a byte, that byte back (latency)
 *   bench-console relay PORT TARGET      a plain TCP relay, a thread per
 *                                        direction, 128 KiB read/write
 *   bench-console tput ws|wss|raw PORT SECS  MiB/s received through PORT
 *                                        (wss: WebSocket over TLS)
 *   bench-console lat ws|raw PORT N      median and p99 round trip (us) of
 *                                        N one-byte pings
 *   bench-console latmix N K:PORT...     the same, through every K:PORT
 *                                        (K ws or raw) in turn, one ping
 *                                        each round: every path sees the
 *                                        same moment's load; a median a
 *                                        line, in the order given
 *   bench-console tputmix SECS SLICE K:PORT...  MiB/s through each, its
 *                                        stream read in turns of SLICE
 *                                        seconds until each had SECS
 *   bench-console check ws|raw PORT SECS  reads the stream for SECS, fast
 *                                        and slow in turns (the proxy's
 *                                        socket fills, its frames go out
 *                                        in parts), and checks every
 *                                        frame and byte: "ok MIB" or why
 *   bench-console hold PORT N RATE SECS  N WebSocket sessions, each fed
 *                                        RATE updates/s of 1 KiB by the
 *                                        source: how many stay up and get
 *                                        their bytes
 *
 * The WebSocket client here is the least a benchmark needs (the upgrade,
 * then unmasked server frames read back to back; client frames masked);
 * the product uses libwebsockets.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define CHUNK (64 * 1024)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int listen_on(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(fd, 4096) < 0) {
		perror("bench-console: listen");
		exit(1);
	}
	return fd;
}

static int dial(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- the source ---- */

static int rate; /* hold mode: updates per second per connection, 0: max */

static void *source_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	static unsigned char buf[CHUNK];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 7);
	struct pollfd p = {fd, POLLIN, 0};
	/* A first byte says what the client wants: 's' stream, 'e' echo,
	 * 'h' hold (rate-limited updates). */
	char mode;
	if (read(fd, &mode, 1) != 1)
		goto out;
	if (mode == 'e') {
		char c;
		while (read(fd, &c, 1) == 1)
			if (write(fd, &c, 1) != 1)
				break;
	} else if (mode == 'h') {
		while (1) {
			if (write_all(fd, buf, 1024) < 0)
				break;
			if (poll(&p, 1, 1000 / (rate ? rate : 10)) > 0)
				break; /* the client is gone (or spoke) */
		}
	} else {
		while (write_all(fd, buf, sizeof buf) == 0)
			;
	}
out:
	close(fd);
	return NULL;
}

static void serve(int lfd, void *(*fn)(void *))
{
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 128 * 1024);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_t t;
		if (pthread_create(&t, &at, fn, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}

/* ---- the plain relay ---- */

static int relay_target;

struct pipe2 {
	int from, to;
};

static void *pump(void *arg)
{
	struct pipe2 *p = arg;
	char *buf = malloc(128 * 1024);
	ssize_t n;
	while ((n = read(p->from, buf, 128 * 1024)) > 0)
		if (write_all(p->to, buf, (size_t)n) < 0)
			break;
	shutdown(p->to, SHUT_WR);
	shutdown(p->from, SHUT_RD);
	free(buf);
	return NULL;
}

static void *relay_conn(void *arg)
{
	int a = (int)(intptr_t)arg, one = 1;
	setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int b = dial(relay_target);
	if (b < 0) {
		close(a);
		return NULL;
	}
	struct pipe2 up = {a, b}, down = {b, a};
	pthread_t t;
	pthread_create(&t, NULL, pump, &up);
	pump(&down);
	pthread_join(t, NULL);
	close(a);
	close(b);
	return NULL;
}

/* ---- the clients ---- */

/* A client connection is plain or TLS ("wss": the proxies' TLS ports,
 * certificates not checked: the same handshake cost for every proxy). */
static SSL_CTX *tls_ctx;
static SSL *tls_of[4096];

static ssize_t io_read(int fd, void *buf, size_t n)
{
	if (fd >= 0 && fd < 4096 && tls_of[fd]) {
		int r = SSL_read(tls_of[fd], buf, (int)(n > INT32_MAX ? INT32_MAX : n));
		return r > 0 ? r : (SSL_get_error(tls_of[fd], r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
	}
	return read(fd, buf, n);
}

static int io_write_all(int fd, const void *p, size_t n)
{
	if (fd >= 0 && fd < 4096 && tls_of[fd])
		return SSL_write(tls_of[fd], p, (int)n) == (int)n ? 0 : -1;
	return write_all(fd, p, n);
}

static void io_close(int fd)
{
	if (fd >= 0 && fd < 4096 && tls_of[fd]) {
		SSL_free(tls_of[fd]);
		tls_of[fd] = NULL;
	}
	close(fd);
}

static int tls_start(int fd)
{
	if (!tls_ctx) {
		tls_ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
	}
	SSL *ssl = SSL_new(tls_ctx);
	SSL_set_fd(ssl, fd);
	if (fd >= 4096 || SSL_connect(ssl) != 1) {
		SSL_free(ssl);
		return -1;
	}
	tls_of[fd] = ssl;
	return 0;
}

/* Connects and, for ws, upgrades; then sends the mode byte. */
static int open_stream(const char *kind, int port, char mode)
{
	int fd = dial(port);
	if (fd < 0)
		return -1;
	if (!strcmp(kind, "wss") && tls_start(fd) < 0) {
		close(fd);
		return -1;
	}
	if (!strcmp(kind, "ws") || !strcmp(kind, "wss")) {
		char req[512];
		int n = snprintf(req, sizeof req,
				 "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\n"
				 "Sec-WebSocket-Protocol: binary\r\n\r\n",
				 port);
		if (io_write_all(fd, req, (size_t)n) < 0)
			goto fail;
		/* The answer's headers, byte by byte (they are short). */
		char h[4096];
		size_t len = 0;
		while (len < sizeof h - 1) {
			if (io_read(fd, h + len, 1) != 1)
				goto fail;
			len++;
			if (len >= 4 && !memcmp(h + len - 4, "\r\n\r\n", 4))
				break;
		}
		h[len] = '\0';
		if (!strstr(h, " 101 "))
			goto fail;
		/* The mode byte as one masked binary frame. */
		unsigned char f[7] = {0x82, 0x81, 1, 2, 3, 4, 0};
		f[6] = (unsigned char)(mode ^ 1);
		if (io_write_all(fd, f, sizeof f) < 0)
			goto fail;
	} else if (io_write_all(fd, &mode, 1) < 0) {
		goto fail;
	}
	return fd;
fail:
	io_close(fd);
	return -1;
}

/* Reads one WebSocket frame's payload length and skips its header
 * (server frames are never masked); -1 at the end. */
static long ws_frame_len(int fd, unsigned char *buf, size_t *have)
{
	(void)buf;
	(void)have;
	unsigned char h[2];
	if (io_read(fd, h, 2) != 2)
		return -1;
	uint64_t len = h[1] & 0x7f;
	if (len == 126) {
		unsigned char e[2];
		if (io_read(fd, e, 2) != 2)
			return -1;
		len = (uint64_t)e[0] << 8 | e[1];
	} else if (len == 127) {
		unsigned char e[8];
		size_t got = 0;
		while (got < 8) {
			ssize_t r = io_read(fd, e + got, 8 - got);
			if (r <= 0)
				return -1;
			got += (size_t)r;
		}
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | e[i];
	}
	if ((h[0] & 0x0f) == 8)
		return -1; /* close */
	return (long)len;
}

static int tput(const char *kind, int port, double secs)
{
	int fd = open_stream(kind, port, 's');
	if (fd < 0) {
		fprintf(stderr, "bench-console: cannot open a stream on %d\n",
			port);
		return 1;
	}
	static unsigned char buf[256 * 1024];
	int ws = strcmp(kind, "raw") != 0;
	uint64_t bytes = 0;
	double t0 = now_s(), end = t0 + secs;
	long left = 0;
	while (now_s() < end) {
		if (ws && left == 0) {
			left = ws_frame_len(fd, NULL, NULL);
			if (left < 0)
				break;
			continue;
		}
		size_t want = ws && (size_t)left < sizeof buf ? (size_t)left
							      : sizeof buf;
		ssize_t n = io_read(fd, buf, want);
		if (n <= 0)
			break;
		bytes += (uint64_t)n;
		if (ws)
			left -= n;
	}
	double dt = now_s() - t0;
	io_close(fd);
	printf("%.1f\n", (double)bytes / dt / (1024.0 * 1024.0));
	return bytes ? 0 : 1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* One round trip of a one-byte ping on fd; its time (us) or -1. */
static double ping(int fd, int ws, int i)
{
	unsigned char f[7] = {0x82, 0x81, 9, 9, 9, 9, 0};
	unsigned char c = (unsigned char)('a' + i % 26);
	f[6] = c ^ 9;
	double t = now_s();
	if (ws ? io_write_all(fd, f, 7) : io_write_all(fd, &c, 1))
		return -1;
	if (ws && ws_frame_len(fd, NULL, NULL) != 1)
		return -1;
	unsigned char r;
	if (io_read(fd, &r, 1) != 1 || r != c)
		return -1;
	return (now_s() - t) * 1e6;
}

static int latmix(int n, int k, char **paths)
{
	int fd[16], ws[16];
	double *rt[16];
	if (k > 16)
		k = 16;
	for (int j = 0; j < k; j++) {
		char kind[8];
		int port;
		if (sscanf(paths[j], "%7[a-z]:%d", kind, &port) != 2 ||
		    (fd[j] = open_stream(kind, port, 'e')) < 0) {
			fprintf(stderr, "bench-console: cannot open %s\n",
				paths[j]);
			return 1;
		}
		ws[j] = strcmp(kind, "raw") != 0;
		rt[j] = calloc((size_t)n, sizeof *rt[j]);
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < k; j++)
			if ((rt[j][i] = ping(fd[j], ws[j], i)) < 0)
				return 1;
	for (int j = 0; j < k; j++) {
		io_close(fd[j]);
		qsort(rt[j], (size_t)n, sizeof *rt[j], cmp_d);
		printf("%.1f %.1f\n", rt[j][n / 2], rt[j][n * 99 / 100]);
	}
	return 0;
}

/* Reads fd's stream (ws framing or raw) for secs; the bytes. */
static uint64_t drain_for(int fd, int ws, long *left, double secs)
{
	static unsigned char buf[256 * 1024];
	uint64_t bytes = 0;
	double end = now_s() + secs;
	while (now_s() < end) {
		if (ws && *left == 0) {
			*left = ws_frame_len(fd, NULL, NULL);
			if (*left < 0)
				break;
			continue;
		}
		size_t want = ws && (size_t)*left < sizeof buf ? (size_t)*left
							       : sizeof buf;
		ssize_t n = io_read(fd, buf, want);
		if (n <= 0)
			break;
		bytes += (uint64_t)n;
		if (ws)
			*left -= n;
	}
	return bytes;
}

static int tputmix(double secs, double slice, int k, char **paths)
{
	int fd[16], ws[16];
	long left[16] = {0};
	uint64_t bytes[16] = {0};
	double t[16] = {0};
	if (k > 16)
		k = 16;
	for (int j = 0; j < k; j++) {
		char kind[8];
		int port;
		if (sscanf(paths[j], "%7[a-z]:%d", kind, &port) != 2 ||
		    (fd[j] = open_stream(kind, port, 's')) < 0) {
			fprintf(stderr, "bench-console: cannot open %s\n",
				paths[j]);
			return 1;
		}
		ws[j] = strcmp(kind, "raw") != 0;
	}
	/* Each turn starts with what the idle stream's socket buffers
	 * hold: the same for every path, and small beside a slice. */
	for (double done = 0; done < secs; done += slice)
		for (int j = 0; j < k; j++) {
			double t0 = now_s();
			bytes[j] += drain_for(fd[j], ws[j], &left[j], slice);
			t[j] += now_s() - t0;
		}
	for (int j = 0; j < k; j++) {
		io_close(fd[j]);
		printf("%.1f\n", (double)bytes[j] / t[j] / (1024.0 * 1024.0));
	}
	return 0;
}

/* The source's byte at stream offset k (its 64 KiB buffer repeats). */
static unsigned char src_byte(uint64_t k)
{
	return (unsigned char)((k % CHUNK) * 7);
}

static int check(const char *kind, int port, double secs)
{
	int fd = open_stream(kind, port, 's');
	if (fd < 0) {
		fprintf(stderr, "bench-console: cannot open a stream on %d\n",
			port);
		return 1;
	}
	int ws = strcmp(kind, "raw") != 0;
	static unsigned char buf[256 * 1024];
	uint64_t off = 0, frames = 0;
	long left = 0;
	double end = now_s() + secs, turn = now_s();
	int slow = 0;
	while (now_s() < end) {
		if (now_s() - turn > 0.1) { /* fast and slow in turns */
			slow = !slow;
			turn = now_s();
		}
		if (ws && left == 0) {
			left = ws_frame_len(fd, NULL, NULL);
			if (left <= 0) {
				printf("bad frame after %llu bytes\n",
				       (unsigned long long)off);
				return 1;
			}
			frames++;
			continue;
		}
		size_t want = slow ? 1 + (size_t)(off % 3000) : sizeof buf;
		if (ws && (size_t)left < want)
			want = (size_t)left;
		ssize_t n = io_read(fd, buf, want);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != src_byte(off + (uint64_t)i)) {
				printf("byte %llu differs\n",
				       (unsigned long long)(off + (uint64_t)i));
				return 1;
			}
		off += (uint64_t)n;
		if (ws)
			left -= n;
		if (slow)
			usleep(200);
	}
	io_close(fd);
	printf("ok %.1f MiB in %llu frames\n", (double)off / (1024.0 * 1024.0),
	       (unsigned long long)frames);
	return off ? 0 : 1;
}

static int lat(const char *kind, int port, int n)
{
	int fd = open_stream(kind, port, 'e');
	if (fd < 0) {
		fprintf(stderr, "bench-console: cannot open a stream on %d\n",
			port);
		return 1;
	}
	int ws = strcmp(kind, "raw") != 0;
	double *rt = calloc((size_t)n, sizeof *rt);
	for (int i = 0; i < n; i++) {
		unsigned char f[7] = {0x82, 0x81, 9, 9, 9, 9, 0};
		unsigned char c = (unsigned char)('a' + i % 26);
		f[6] = c ^ 9;
		double t = now_s();
		if (ws ? io_write_all(fd, f, 7) : io_write_all(fd, &c, 1))
			return 1;
		if (ws) {
			long l = ws_frame_len(fd, NULL, NULL);
			if (l != 1)
				return 1;
		}
		unsigned char r;
		if (io_read(fd, &r, 1) != 1 || r != c)
			return 1;
		rt[i] = (now_s() - t) * 1e6;
	}
	io_close(fd);
	qsort(rt, (size_t)n, sizeof *rt, cmp_d);
	printf("%.1f %.1f\n", rt[n / 2], rt[n * 99 / 100]);
	free(rt);
	return 0;
}

static int hold(int port, int n, double secs)
{
	int *fds = calloc((size_t)n, sizeof *fds), up = 0;
	for (int i = 0; i < n; i++) {
		fds[i] = open_stream("ws", port, 'h');
		if (fds[i] >= 0)
			up++;
	}
	/* Drain every session for secs; count those that got bytes. */
	unsigned char buf[16384];
	uint64_t *got = calloc((size_t)n, sizeof *got);
	struct pollfd *p = calloc((size_t)n, sizeof *p);
	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){fds[i], POLLIN, 0};
	double end = now_s() + secs;
	while (now_s() < end) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++)
			if (p[i].revents & POLLIN) {
				ssize_t r = io_read(fds[i], buf, sizeof buf);
				if (r > 0)
					got[i] += (uint64_t)r;
				else
					p[i].fd = -1;
			}
	}
	int live = 0;
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		if (p[i].fd >= 0 && got[i] > 0)
			live++;
		total += got[i];
	}
	printf("%d %d %.1f\n", up, live, (double)total / secs / 1024.0);
	fflush(stdout);
	/* The caller reads the proxy's RSS now; then we let go. */
	sleep(1);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			io_close(fds[i]);
	return live == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && !strcmp(argv[1], "source")) {
		if (argc >= 4)
			rate = atoi(argv[3]);
		serve(listen_on(atoi(argv[2])), source_conn);
	}
	if (argc >= 4 && !strcmp(argv[1], "relay")) {
		relay_target = atoi(argv[3]);
		serve(listen_on(atoi(argv[2])), relay_conn);
	}
	if (argc >= 5 && !strcmp(argv[1], "tput"))
		return tput(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "lat"))
		return lat(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 5 && !strcmp(argv[1], "check"))
		return check(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc >= 4 && !strcmp(argv[1], "latmix"))
		return latmix(atoi(argv[2]), argc - 3, argv + 3);
	if (argc >= 5 && !strcmp(argv[1], "tputmix"))
		return tputmix(atof(argv[2]), atof(argv[3]), argc - 4, argv + 4);
	if (argc >= 5 && !strcmp(argv[1], "hold"))
		return hold(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
	fprintf(stderr, "usage: bench-console source PORT [RATE] | relay PORT "
			"TARGET | tput ws|raw PORT SECS | lat ws|raw PORT N | "
			"hold PORT N SECS\n");
	return 2;
}
