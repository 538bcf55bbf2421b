/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay.c - noVNC mode: one browser WebSocket ("binary" subprotocol,
 * path /ws?vm=VM&token=T or &resume=R) relayed to the VM's VNC server.
 *
 * A session goes: REDEEM (console.redeem on a job thread; the VNC port is
 * not touched before the core said yes) -> CONNECT (a non-blocking TCP
 * connect, adopted into the loop as a raw descriptor) -> UP_HS (the RFB
 * handshake with the VNC server, VNC authentication with the one-time
 * password) -> DOWN_HS (the browser's handshake, security None) -> RELAY.
 *
 * The relay path, VNC -> browser: read() straight into the session's
 * buffer behind LWS_PRE bytes of headroom, and that very buffer is the
 * WebSocket frame lws_write() sends at once: no copy, no allocation per
 * frame, no poll round between the read and the write.  When the
 * browser's socket does not take a frame whole, lws keeps the rest (one
 * frame at most) and is "choked": then the VNC socket is not read
 * (lws_rx_flow_control on it) until the browser's side is writable
 * again, so a slow browser slows the VNC server down instead of making
 * us buffer.  Browser -> VNC: the frame lws gives us is written
 * to the VNC socket at once; what the socket does not take waits in a
 * small buffer while the browser's side is paused.
 *
 * The browser learns how a session ended from the WebSocket close code
 * and reason: 4001 refused (why), 4002 ended by the VNC server, 4003
 * proxy error, 4000 "resume URL TICKET" (the instance drains: go there).
 * Every end is reported to the core (console.close).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "console.h"
#include "rfb.h"

#define DOWN_CAP (256 * 1024) /* one frame: the most one read() gives */
#define UP_CAP (64 * 1024)    /* browser -> VNC bytes the socket left */
#define FRAMES_PER_WAKEUP 4
#define PIPE_CAP (1024 * 1024) /* a spliced frame: the most it carries */
#define BULK_MIN (64 * 1024)  /* a read that brings this much: splice */
#define SPLICE_MIN 4096	       /* a splice that brings less: back to read */
#define SPIN_MISSES 4	       /* busy polls that saw no answer: stop */

enum st { S_REDEEM, S_CONNECT, S_UP_HS, S_DOWN_HS, S_RELAY, S_CLOSING };

struct sess {
	int slot;
	uint32_t gen;
	struct lws *ws, *up;
	int fd;
	enum st st;
	int raw; /* bench: a static target, bytes only */
	struct rfb_up rup;
	struct rfb_down rdn;
	int64_t session_id;
	char vm[128];
	unsigned char *dbuf; /* LWS_PRE + DOWN_CAP */
	size_t dlen;
	unsigned char *ubuf;
	size_t ulen;
	int up_paused, ws_paused;
	/* The splice path (plain browser sockets only): the browser's raw
	 * socket, a pipe the VNC bytes go through without a copy, the frame
	 * header and payload bytes not yet sent. */
	int wsfd, pfd[2], bulk;
	size_t pipe_cap, pend;
	unsigned char hdr[10];
	size_t hlen, hoff;
	unsigned spin_miss, spin_n;
	int close_code; /* to send, once dbuf is out */
	char close_msg[124];
	const char *end_state, *end_by;
	char end_reason[160];
	int resume_asked;
};

static const struct cp_opts *opts;
static struct lws_context *context;
static struct sess *tab[CP_MAX_SESSIONS];
static uint32_t next_gen = 1;
static unsigned n_open;

unsigned cp_sessions_open(void)
{
	return __atomic_load_n(&n_open, __ATOMIC_RELAXED);
}

void cp_relay_setup(const struct cp_opts *o, struct lws_context *ctx)
{
	opts = o;
	context = ctx;
}

static struct sess *sess_of(int slot, uint32_t gen)
{
	if (slot < 0 || slot >= CP_MAX_SESSIONS || !tab[slot] ||
	    tab[slot]->gen != gen)
		return NULL;
	return tab[slot];
}

static struct sess *sess_new(struct lws *ws)
{
	for (int i = 0; i < CP_MAX_SESSIONS; i++)
		if (!tab[i]) {
			struct sess *s = tr_xcalloc(1, sizeof *s);
			s->slot = i;
			s->gen = next_gen++;
			s->ws = ws;
			s->fd = -1;
			s->wsfd = -1;
			s->pfd[0] = s->pfd[1] = -1;
			s->dbuf = tr_xmalloc(LWS_PRE + DOWN_CAP);
			tab[i] = s;
			__atomic_add_fetch(&n_open, 1, __ATOMIC_RELAXED);
			return s;
		}
	return NULL;
}

static void report_end(struct sess *s);

static void sess_free(struct sess *s)
{
	report_end(s);
	tab[s->slot] = NULL;
	__atomic_sub_fetch(&n_open, 1, __ATOMIC_RELAXED);
	if (s->up) {
		lws_set_opaque_user_data(s->up, NULL);
		lws_set_timeout(s->up, PENDING_TIMEOUT_KILLED_BY_PARENT,
				LWS_TO_KILL_ASYNC);
	} else if (s->fd >= 0) {
		close(s->fd);
	}
	memset(&s->rup, 0, sizeof s->rup);
	if (s->pfd[0] >= 0) {
		close(s->pfd[0]);
		close(s->pfd[1]);
	}
	free(s->dbuf);
	free(s->ubuf);
	free(s);
}

/* Ends the session towards the browser: code and reason go out once
 * the bytes already read are. */
static void sess_close(struct sess *s, int code, const char *by,
		       const char *fmt, const char *arg)
{
	if (s->close_code)
		return;
	s->close_code = code;
	char m[512];
	snprintf(m, sizeof m, fmt, arg);
	/* A close reason is at most 123 bytes (RFC 6455). */
	size_t n = strlen(m);
	memcpy(s->close_msg, m, n < 123 ? n : 123);
	s->close_msg[n < 123 ? n : 123] = '\0';
	if (!s->end_by) {
		s->end_by = by;
		n = n < sizeof s->end_reason - 1 ? n : sizeof s->end_reason - 1;
		memcpy(s->end_reason, m, n);
		s->end_reason[n] = '\0';
	}
	memset(m, 0, sizeof m);
	s->st = S_CLOSING;
	lws_callback_on_writable(s->ws);
}

/* console.close for a session the core opened (once). */
static void report_end(struct sess *s)
{
	if (!s->session_id)
		return;
	struct cp_job *j = tr_xcalloc(1, sizeof *j);
	j->o = opts;
	j->slot = -1;
	snprintf(j->op, sizeof j->op, "console.close");
	j->args = json_pack("{s:I, s:s, s:s, s:s}", "session",
			    (json_int_t)s->session_id, "reason",
			    s->end_reason[0] ? s->end_reason
					     : "the browser closed the console",
			    "by", s->end_by ? s->end_by : "browser", "state",
			    s->end_state ? s->end_state : "closed");
	s->session_id = 0;
	cp_job_start(context, j);
}

/* ---- the VNC side ---- */

static int tcp_connect(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
	char ps[16];
	snprintf(ps, sizeof ps, "%d", port);
	int rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
		    errno != EINPROGRESS) {
			snprintf(err, errlen, "%s:%d: %s", host, port,
				 strerror(errno));
			close(fd);
			fd = -1;
		}
	} else {
		snprintf(err, errlen, "socket: %s", strerror(errno));
	}
	freeaddrinfo(ai);
	return fd;
}

static void up_pause(struct sess *s, int pause)
{
	if (s->up && s->up_paused != pause) {
		s->up_paused = pause;
		lws_rx_flow_control(s->up, !pause);
	}
}

/* The browser's side is not read while browser -> VNC bytes wait (ulen)
 * or while a spliced frame is half out (lws would answer a ping or a
 * close in the middle of it). */
static void ws_pause_update(struct sess *s)
{
	int pause = s->ulen || s->pend || s->hoff < s->hlen;
	if (s->ws_paused != pause) {
		s->ws_paused = pause;
		lws_rx_flow_control(s->ws, !pause);
	}
}

static void start_upstream(struct sess *s, const char *host, int port)
{
	char err[256];
	s->fd = tcp_connect(host, port, err, sizeof err);
	if (s->fd < 0) {
		sess_close(s, 4003, "proxy", "cannot reach the VNC server: %s",
			   err);
		return;
	}
	lws_sock_file_fd_type u;
	u.filefd = s->fd;
	s->up = lws_adopt_descriptor_vhost(lws_get_vhost(s->ws),
					   LWS_ADOPT_RAW_FILE_DESC, u,
					   "trellis-raw", NULL);
	if (!s->up) {
		close(s->fd);
		s->fd = -1;
		sess_close(s, 4003, "proxy", "%s", "cannot adopt the VNC socket");
		return;
	}
	lws_set_opaque_user_data(s->up, s);
	s->st = S_CONNECT;
	/* Writable = connected (or failed: SO_ERROR says). */
	up_pause(s, 1);
	lws_callback_on_writable(s->up);
}

static void redeem_done(struct cp_job *j)
{
	struct sess *s = sess_of(j->slot, j->gen);
	json_t *r = j->result;
	json_int_t sid = r ? json_integer_value(json_object_get(r, "session"))
			   : 0;
	if (!s) { /* the browser left meanwhile */
		if (sid) {
			struct sess tmp = {0};
			tmp.session_id = sid;
			tmp.end_by = "browser";
			snprintf(tmp.end_reason, sizeof tmp.end_reason,
				 "the browser left before the VNC connection");
			report_end(&tmp);
		}
		return;
	}
	if (!r) {
		sess_close(s, 4001, "core", "refused: %s", j->msg);
		return;
	}
	s->session_id = sid;
	const char *pw = json_string_value(json_object_get(r, "password"));
	rfb_up_init(&s->rup, pw);
	/* The password lives in the handshake state only. */
	json_t *p = json_object_get(r, "password");
	if (p && pw)
		memset((char *)pw, 0, strlen(pw));
	(void)p;
	start_upstream(s,
		       json_string_value(json_object_get(r, "address")) ?: "",
		       (int)json_integer_value(json_object_get(r, "port")));
}

/* Bytes for the browser into dbuf (handshake messages; small). */
static void down_queue(struct sess *s, const unsigned char *p, size_t n)
{
	if (!n)
		return;
	if (s->dlen + n > DOWN_CAP) {
		sess_close(s, 4003, "proxy", "%s", "handshake overflow");
		return;
	}
	memcpy(s->dbuf + LWS_PRE + s->dlen, p, n);
	s->dlen += n;
	lws_callback_on_writable(s->ws);
}

static int up_write(struct sess *s, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t w = write(s->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			break;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	if (n) { /* the socket is full: keep the rest, pause the browser */
		if (!s->ubuf)
			s->ubuf = tr_xmalloc(UP_CAP);
		if (s->ulen + n > UP_CAP)
			return -1;
		memcpy(s->ubuf + s->ulen, p, n);
		s->ulen += n;
		ws_pause_update(s);
		lws_callback_on_writable(s->up);
	}
	return 0;
}

/* ---- the splice path: VNC socket -> pipe -> plain browser socket ----
 *
 * A bulk stream (a read filled the whole buffer) on a plain connection
 * goes through a pipe by splice(): the VNC server's pages are handed to
 * the browser's socket by reference, never copied into this process.
 * (A read of BULK_MIN bytes or more.)
 * Each splice from the VNC socket becomes one WebSocket frame: its
 * header is sent with MSG_MORE, then the pipe's bytes behind it.  What
 * the browser's socket does not take stays in the pipe (one frame at
 * most) and the VNC socket is not read until it is out: the same
 * backpressure as the read path.  A splice that brings less than
 * SPLICE_MIN bytes returns the session to the read path, where small
 * updates and the latency path need one read and one send. */

static size_t ws_header(unsigned char *h, size_t n)
{
	h[0] = 0x82; /* FIN, binary; server frames are not masked */
	if (n < 126) {
		h[1] = (unsigned char)n;
		return 2;
	}
	if (n < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		return 4;
	}
	h[1] = 127;
	for (int i = 0; i < 8; i++)
		h[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	return 10;
}

/* Sends what is left of the current frame: 0 all out, 1 the socket is
 * full, -1 an error. */
static int down_flush(struct sess *s)
{
	while (s->hoff < s->hlen) {
		ssize_t w = send(s->wsfd, s->hdr + s->hoff, s->hlen - s->hoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 1;
		if (w <= 0)
			return -1;
		s->hoff += (size_t)w;
	}
	while (s->pend) {
		ssize_t w = splice(s->pfd[0], NULL, s->wsfd, NULL, s->pend,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return 1;
		if (w <= 0)
			return -1;
		s->pend -= (size_t)w;
	}
	s->hlen = s->hoff = 0;
	return 0;
}

/* One spliced frame: 1 it is out (go on), 0 wait (no bytes, or the
 * browser's socket is full), -1 the session ends. */
static int down_splice(struct sess *s)
{
	if (s->pfd[0] < 0) {
		if (pipe2(s->pfd, O_NONBLOCK | O_CLOEXEC) < 0) {
			s->pfd[0] = s->pfd[1] = -1;
			s->bulk = 0;
			s->wsfd = -1; /* the read path, for good */
			return 1;
		}
		/* Past the user's pipe quota the kernel refuses: the
		 * default size then. */
		int c = fcntl(s->pfd[1], F_SETPIPE_SZ, PIPE_CAP);
		if (c < 0)
			c = fcntl(s->pfd[1], F_GETPIPE_SZ);
		s->pipe_cap = c > 0 ? (size_t)c : 65536;
	}
	ssize_t n = splice(s->fd, NULL, s->pfd[1], NULL, s->pipe_cap,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		sess_close(s, 4002, "vnc", "%s",
			   "the VNC server ended the session");
		return -1;
	}
	if ((size_t)n < SPLICE_MIN)
		s->bulk = 0;
	s->hlen = ws_header(s->hdr, (size_t)n);
	s->hoff = 0;
	s->pend = (size_t)n;
	int r = down_flush(s);
	if (r < 0) {
		sess_close(s, 4003, "proxy", "%s", "cannot write to the browser");
		return -1;
	}
	if (r > 0) {
		up_pause(s, 1);
		ws_pause_update(s);
		lws_callback_on_writable(s->ws);
		return 0;
	}
	return 1;
}

static void up_readable(struct sess *s)
{
	if (s->st == S_UP_HS) {
		unsigned char in[512], out[64];
		ssize_t n = read(s->fd, in, sizeof in);
		if (n <= 0) {
			if (n < 0 && errno == EAGAIN)
				return;
			sess_close(s, 4002, "vnc", "%s",
				   "the VNC server closed the connection during "
				   "the handshake");
			return;
		}
		size_t used, olen;
		enum rfb_rc rc = rfb_up_feed(&s->rup, in, (size_t)n, &used,
					     out, sizeof out, &olen);
		if (olen && up_write(s, out, olen) < 0)
			rc = RFB_FAIL;
		memset(out, 0, sizeof out);
		if (rc == RFB_FAIL) {
			sess_close(s, 4002, "vnc", "%s", s->rup.err);
			return;
		}
		if (rc == RFB_DONE) {
			memset(&s->rup, 0, sizeof s->rup);
			s->st = S_DOWN_HS;
			up_pause(s, 1);
			unsigned char v[12];
			size_t vl = rfb_down_init(&s->rdn, v, sizeof v);
			down_queue(s, v, vl);
		}
		return;
	}
	if (s->st != S_RELAY || s->dlen || s->close_code) {
		up_pause(s, 1);
		return;
	}
	if (s->pend || s->hoff < s->hlen) { /* a spliced frame is half out */
		up_pause(s, 1);
		lws_callback_on_writable(s->ws);
		return;
	}
	/* The browser's socket still takes bytes: read and send the frame
	 * at once (no poll round in between); lws keeps what the socket did
	 * not take, at most this one frame, and is choked until it is out. */
	if (lws_partial_buffered(s->ws)) {
		up_pause(s, 1);
		lws_callback_on_writable(s->ws);
		return;
	}
	/* A few frames per wakeup while the VNC socket has more and the
	 * browser's takes them: fewer poll rounds, and no session holds
	 * the loop for long. */
	for (int i = 0; i < FRAMES_PER_WAKEUP; i++) {
		if (s->bulk) {
			if (down_splice(s) <= 0)
				return;
			continue;
		}
		ssize_t n = read(s->fd, s->dbuf + LWS_PRE, DOWN_CAP);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			sess_close(s, 4002, "vnc", "%s",
				   "the VNC server ended the session");
			return;
		}
		if (lws_write(s->ws, s->dbuf + LWS_PRE, (size_t)n,
			      LWS_WRITE_BINARY) < 0) {
			sess_close(s, 4003, "proxy", "%s",
				   "cannot write to the browser");
			return;
		}
		/* lws_partial_buffered() asks no syscall, unlike
		 * lws_send_pipe_choked(): what the socket did not take is
		 * in lws's hands, and we wait until it is out. */
		if (lws_partial_buffered(s->ws)) {
			up_pause(s, 1);
			lws_callback_on_writable(s->ws);
			return;
		}
		/* A bulk stream: on a plain browser socket the next frames
		 * are spliced. */
		if (n >= BULK_MIN && s->wsfd >= 0 && !opts->no_splice)
			s->bulk = 1;
		if (n < DOWN_CAP)
			return; /* drained for now */
	}
}

static int cb_raw(struct lws *wsi, enum lws_callback_reasons reason,
		  void *user, void *in, size_t len)
{
	struct sess *s = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (!s)
			return -1;
		up_readable(s);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (!s)
			return -1;
		if (s->st == S_CONNECT) {
			int e = 0;
			socklen_t el = sizeof e;
			getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &e, &el);
			if (e) {
				sess_close(s, 4003, "proxy",
					   "cannot reach the VNC server: %s",
					   strerror(e));
				return 0;
			}
			s->st = s->raw ? S_RELAY : S_UP_HS;
			up_pause(s, 0);
			/* What came early goes now: a writable request made
			 * inside this callback would be undone after it. */
		}
		if (s->ulen) {
			size_t n = s->ulen;
			s->ulen = 0;
			unsigned char *tmp = s->ubuf;
			s->ubuf = NULL; /* up_write re-buffers what is left */
			int rc = up_write(s, tmp, n);
			free(tmp);
			if (rc < 0) {
				sess_close(s, 4002, "vnc", "%s",
					   "the VNC server stopped reading");
				return 0;
			}
			if (!s->ulen)
				ws_pause_update(s);
		}
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (s) {
			s->up = NULL;
			s->fd = -1;
			sess_close(s, 4002, "vnc", "%s",
				   "the VNC server ended the session");
		}
		return 0;
	default:
		break;
	}
	(void)user;
	(void)in;
	(void)len;
	return 0;
}

/* ---- the browser side ---- */

/* The value of query argument name ("token="): lws copies the whole
 * "name=value" into buf and points past the name. */
void url_arg(struct lws *wsi, const char *name, char *buf, size_t len)
{
	char tmp[256];
	const char *v = lws_get_urlarg_by_name(wsi, name, tmp, sizeof tmp);
	snprintf(buf, len, "%s", v ? v : "");
	memset(tmp, 0, sizeof tmp);
}

static void ws_established(struct lws *wsi, struct sess **pss)
{
	struct sess *s = sess_new(wsi);
	*pss = s;
	if (!s) {
		lws_close_reason(wsi, 4003, (unsigned char *)"proxy full", 10);
		return;
	}
	s->wsfd = lws_is_ssl(wsi) ? -1 : (int)lws_get_socket_fd(wsi);
	if (opts->static_target) {
		char host[256];
		snprintf(host, sizeof host, "%s", opts->static_target);
		char *c = strrchr(host, ':');
		*c = '\0';
		s->raw = 1;
		start_upstream(s, host, atoi(c + 1));
		return;
	}
	char vm[128] = "", token[128] = "", resume[128] = "";
	url_arg(wsi, "vm=", vm, sizeof vm);
	url_arg(wsi, "token=", token, sizeof token);
	url_arg(wsi, "resume=", resume, sizeof resume);
	if (!token[0] && !resume[0]) {
		sess_close(s, 4001, "proxy", "%s", "refused: no token");
		return;
	}
	snprintf(s->vm, sizeof s->vm, "%s", vm);
	struct cp_job *j = tr_xcalloc(1, sizeof *j);
	j->o = opts;
	j->slot = s->slot;
	j->gen = s->gen;
	j->done = redeem_done;
	snprintf(j->op, sizeof j->op, "console.redeem");
	j->args = json_pack("{s:s, s:s}", "token", token[0] ? token : resume,
			    "proxy", opts->name);
	if (vm[0])
		json_object_set_new(j->args, "vm", json_string(vm));
	memset(token, 0, sizeof token);
	memset(resume, 0, sizeof resume);
	s->st = S_REDEEM;
	cp_job_start(context, j);
}

static double mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Busy poll in the latency path: input just went to the VNC server,
 * whose answer (the screen's update) usually comes within microseconds;
 * watching its socket for up to --busy-poll microseconds saves the
 * wakeup from poll() the answer would otherwise wait for.  A session
 * whose inputs draw no quick answer (SPIN_MISSES in a row) stops
 * spinning, and tries again one input in 64. */
static void spin_for_answer(struct sess *s)
{
	if (!opts->busy_poll_us || s->ulen || s->close_code || s->dlen ||
	    s->st != S_RELAY)
		return;
	if (s->spin_miss >= SPIN_MISSES && (++s->spin_n & 63))
		return;
	struct pollfd p = {s->fd, POLLIN, 0};
	double end = mono_us() + opts->busy_poll_us;
	do {
		if (poll(&p, 1, 0) > 0) {
			s->spin_miss = 0;
			up_readable(s);
			return;
		}
	} while (mono_us() < end);
	s->spin_miss++;
}

static void ws_receive(struct sess *s, const unsigned char *in, size_t len)
{
	if (s->st == S_RELAY) {
		if (s->ulen) { /* keep the order behind what waits */
			if (s->ulen + len > UP_CAP) {
				sess_close(s, 4003, "proxy", "%s",
					   "the VNC server does not read");
				return;
			}
			memcpy(s->ubuf + s->ulen, in, len);
			s->ulen += len;
			return;
		}
		if (up_write(s, in, len) < 0)
			sess_close(s, 4002, "vnc", "%s",
				   "the VNC server stopped reading");
		else
			spin_for_answer(s);
		return;
	}
	if (s->st == S_DOWN_HS) {
		unsigned char out[16];
		size_t used, olen;
		enum rfb_rc rc = rfb_down_feed(&s->rdn, in, len, &used, out,
					       sizeof out, &olen);
		down_queue(s, out, olen);
		if (rc == RFB_FAIL) {
			sess_close(s, 4003, "browser", "%s", s->rdn.err);
			return;
		}
		if (rc == RFB_DONE) {
			s->st = S_RELAY;
			up_pause(s, 0);
			if (used < len)
				ws_receive(s, in + used, len - used);
		}
		return;
	}
	if (s->raw && s->st == S_CONNECT) { /* bench: kept until connected */
		if (!s->ubuf)
			s->ubuf = tr_xmalloc(UP_CAP);
		if (s->ulen + len > UP_CAP) {
			sess_close(s, 4003, "proxy", "%s", "too early, too much");
			return;
		}
		memcpy(s->ubuf + s->ulen, in, len);
		s->ulen += len;
		return;
	}
	if (s->st != S_CLOSING)
		sess_close(s, 4003, "browser", "%s",
			   "the browser spoke before the server");
}

static int ws_writeable(struct sess *s)
{
	if (s->pend || s->hoff < s->hlen) {
		int r = down_flush(s);
		if (r < 0)
			return -1;
		if (r > 0) {
			lws_callback_on_writable(s->ws);
			return 0;
		}
		ws_pause_update(s);
		if (s->st == S_RELAY)
			up_pause(s, 0);
		if (s->close_code)
			lws_callback_on_writable(s->ws);
		return 0;
	}
	if (s->dlen) {
		int n = lws_write(s->ws, s->dbuf + LWS_PRE, s->dlen,
				  LWS_WRITE_BINARY);
		s->dlen = 0;
		if (n < 0)
			return -1;
		if (s->st == S_RELAY)
			up_pause(s, 0);
		if (s->close_code)
			lws_callback_on_writable(s->ws);
		return 0;
	}
	if (s->st == S_RELAY && s->up_paused) /* drained: read VNC again */
		up_pause(s, 0);
	if (s->close_code) {
		lws_close_reason(s->ws, (enum lws_close_status)s->close_code,
				 (unsigned char *)s->close_msg,
				 strlen(s->close_msg));
		return -1;
	}
	return 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason,
		 void *user, void *in, size_t len)
{
	struct sess **pss = user, *s = pss ? *pss : NULL;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		ws_established(wsi, pss);
		return *pss ? 0 : -1;
	case LWS_CALLBACK_RECEIVE:
		if (s)
			ws_receive(s, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return s ? ws_writeable(s) : -1;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (s && !s->end_by) {
			s->end_by = "browser";
			snprintf(s->end_reason, sizeof s->end_reason,
				 "the browser closed the console");
		}
		return 0;
	case LWS_CALLBACK_CLOSED:
		if (s) {
			*pss = NULL;
			sess_free(s);
		}
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		cp_jobs_drain();
		return 0;
	default:
		break;
	}
	return 0;
}

/* ---- drain and hand-over ---- */

static void resume_done(struct cp_job *j)
{
	struct sess *s = sess_of(j->slot, j->gen);
	if (!s)
		return;
	if (!j->result) {
		s->resume_asked = 0; /* the next report tries again */
		return;
	}
	const char *base = json_string_value(json_object_get(j->result, "base"));
	const char *ticket =
	    json_string_value(json_object_get(j->result, "ticket"));
	const char *to = json_string_value(json_object_get(j->result, "proxy"));
	if (!base || !ticket)
		return;
	s->end_state = "handed-over";
	s->end_by = "drain";
	snprintf(s->end_reason, sizeof s->end_reason, "moved to %s",
		 to ? to : "?");
	char msg[124];
	snprintf(msg, sizeof msg, "resume %s %s", base, ticket);
	sess_close(s, 4000, "drain", "%s", msg);
	memset(msg, 0, sizeof msg);
}

void cp_relay_drain(void)
{
	for (int i = 0; i < CP_MAX_SESSIONS; i++) {
		struct sess *s = tab[i];
		if (!s || s->resume_asked || !s->session_id || s->close_code)
			continue;
		s->resume_asked = 1;
		struct cp_job *j = tr_xcalloc(1, sizeof *j);
		j->o = opts;
		j->slot = s->slot;
		j->gen = s->gen;
		j->done = resume_done;
		snprintf(j->op, sizeof j->op, "console.resume");
		j->args = json_pack("{s:I, s:s}", "session",
				    (json_int_t)s->session_id, "proxy",
				    opts->name);
		cp_job_start(context, j);
	}
}

void cp_relay_close_all(const char *why)
{
	for (int i = 0; i < CP_MAX_SESSIONS; i++)
		if (tab[i])
			sess_close(tab[i], 1001, "proxy", "%s", why);
}

/* tx_packet_size: one send() may carry a whole frame (0 would cap it at
 * rx_buffer_size and make lws copy the rest aside, every frame). */
const struct lws_protocols cp_protocol_ws = {
	"binary", cb_ws, sizeof(struct sess *), 16384, 0, NULL,
	DOWN_CAP + 16};
const struct lws_protocols cp_protocol_raw = {
	"trellis-raw", cb_raw, 0, 0, 0, NULL, 0};
