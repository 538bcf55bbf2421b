/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console.h - trellis-console, the console proxy (issue 20,
 * docs/console.md): what its files share.
 *
 *   main.c       options, the libwebsockets context, the report thread
 *   relay.c      the WebSocket <-> VNC relay (noVNC mode) and sessions
 *   stripe.c     image-stripe mode: libvncclient upstream, PNG stripes
 *                over HTTPS long-polling
 *   pages.c      the pages it serves besides noVNC's files
 *   core_api.c   requests to trellisd (nanomsg REQ), off the loop
 *   tls.c        the self-signed certificate made on first start
 *   rfb.c        the RFB handshakes (rfb.h)
 *
 * One thread runs the libwebsockets loop and owns every session.  Calls
 * to the core block, so they run on short-lived threads (jobs); a job's
 * result comes back to the loop through a queue and lws_cancel_service(),
 * and names its session by slot and generation, so a session that closed
 * meanwhile is never touched.
 */
#ifndef TRELLIS_CONSOLE_CONSOLE_H
#define TRELLIS_CONSOLE_CONSOLE_H

#include <jansson.h>
#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>

/* ---- options ---- */

struct cp_opts {
	const char *name;      /* instance name (reports, sessions) */
	const char *listen;    /* HOST:PORT */
	const char *core;      /* trellisd API URL */
	const char *key_file;  /* API key for tcp:// */
	const char *state_dir; /* certificate, key */
	const char *cert, *key;
	const char *url;       /* base URL browsers reach us by */
	const char *novnc;     /* noVNC's directory */
	const char *launcher;
	const char *static_target; /* bench only: HOST:PORT, no tokens */
	unsigned capacity;
	unsigned report_ms;
	unsigned busy_poll_us; /* after input, watch for the answer (0 off) */
	int no_splice;         /* the read path only (benchmarks) */
	int plain;             /* plain HTTP (loopback only) */
};

/* ---- the core (core_api.c) ---- */

/* Calls op with args (stolen) on the core; *result (on 0) is the
 * answer's result; on an error, code and msg get the core's error (or
 * UNAVAILABLE when it does not answer).  Any thread. */
int cp_core_call(const struct cp_opts *o, const char *op, json_t *args,
		 json_t **result, char *code, size_t codelen, char *msg,
		 size_t msglen);

/* A job: fn runs on its own thread (it may call the core), then done
 * runs on the loop thread with the same job.  The job names a session
 * (slot, gen) or none (slot -1). */
struct cp_job;
typedef void (*cp_job_fn)(struct cp_job *j);
struct cp_job {
	cp_job_fn fn, done;
	int slot;
	uint32_t gen;
	const struct cp_opts *o;
	char op[48];
	json_t *args;   /* stolen by fn */
	json_t *result; /* set by fn */
	char code[32], msg[256];
	struct cp_job *next;
};
/* Runs j->fn (default: the core call j->op with j->args) on a thread. */
void cp_job_start(struct lws_context *ctx, struct cp_job *j);
/* On the loop thread: runs done for every finished job (then frees it). */
void cp_jobs_drain(void);

/* ---- sessions (relay.c) ---- */

/* The value of query argument name ("token=") of wsi's URL into buf. */
void url_arg(struct lws *wsi, const char *name, char *buf, size_t len);

#define CP_MAX_SESSIONS 4096
extern const struct lws_protocols cp_protocol_ws, cp_protocol_raw;
/* Sessions open now (any thread reads it). */
unsigned cp_sessions_open(void);
/* The instance drains: every session asks the core for a resume ticket
 * and tells its browser where to go.  Loop thread. */
void cp_relay_drain(void);
void cp_relay_setup(const struct cp_opts *o, struct lws_context *ctx);
/* Ends every session (shutdown); loop thread. */
void cp_relay_close_all(const char *why);

/* ---- image stripes (stripe.c) ---- */

extern const struct lws_protocols cp_protocol_stripe;
void cp_stripe_setup(const struct cp_opts *o, struct lws_context *ctx);
unsigned cp_stripe_sessions(void);
void cp_stripe_tick(void);

/* The image-stripe page's input events (input.c): one a line,
 * "k DOWN KEYSYM" or "p X Y BUTTONS"; pointer events outside w x h and
 * malformed lines are dropped.  At most max into out; the count. */
struct cp_event {
	int kind; /* 'k' or 'p' */
	int a, b, c;
};
int cp_parse_events(const char *body, int w, int h, struct cp_event *out,
		    int max);

/* ---- pages (pages.c) ---- */

/* The page for path ("/vnc", "/stripe") or NULL. */
const char *cp_page(const char *path, const char **type);

/* ---- TLS (tls.c) ---- */

/* Makes DIR/cert.pem and DIR/key.pem (a self-signed ECDSA P-256
 * certificate for host, ten years) unless they exist; the SHA-256
 * fingerprint of the certificate into fp ("AB:CD:..."). */
int cp_tls_ensure(const char *dir, const char *host, char *cert,
		  size_t certlen, char *key, size_t keylen, char *fp,
		  size_t fplen, char *err, size_t errlen);
int cp_tls_fingerprint(const char *cert, char *fp, size_t fplen);

#endif
