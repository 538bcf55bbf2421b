/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h - trellisd's request/reply API: the envelope, the op tables and
 * the REP sockets.
 *
 * A request is one nanomsg message holding a JSON envelope
 *     {"v":1, "op":"host.add", "args":{...}}
 * answered by
 *     {"ok":true, "result":...}
 *  or {"ok":false, "error":{"code":"NOTFOUND", "message":"...",
 *                           "details":{...}}}
 * The codes are the stable names of trellis/error.h.
 *
 * Ops are declared in tables: {name, description, argument schema,
 * handler}.  Each subsystem owns one table and one registration function,
 * and core/api/all.c calls them all (append a line there).  Before a
 * handler runs, the API checks the envelope and the arguments against the
 * op's schema (struct tr_field, core/util/schema.h): unknown ops,
 * unknown fields, missing required fields, wrong types and oversized
 * messages get INVALID_ARG with the field named, and no handler runs.
 *
 * Handlers run on the main thread, except TR_OP_READ ones, which run on
 * the listener's receive thread.  A handler answers through its request
 * handle, at once or later (after a worker job: keep req and answer from
 * the job's done callback).  Every request is answered exactly once; at
 * shutdown the daemon waits for requests in flight.
 *
 * The sockets are NN_REP in raw mode (AF_SP_RAW): each request carries its
 * own routing header, so many requests are in flight at once and a slow or
 * vanished client never blocks the others.
 */
#ifndef TRELLIS_CORE_API_H
#define TRELLIS_CORE_API_H

#include <jansson.h>
#include <stddef.h>

#include "../host/host.h"
#include "../util/schema.h"

struct tr_daemon;
struct tr_api;
struct tr_req; /* one request in flight */

#define TR_API_VERSION 1

typedef void (*tr_api_handler)(struct tr_daemon *d, struct tr_req *req,
			       json_t *args);

/* Op flags */
#define TR_OP_MUTATES (1u << 0) /* changes state (for audit and RBAC) */
/* Reads the store and nothing else (tr_api_show, tr_api_list): may run on
 * the API's receive thread, with that thread's read-only connection,
 * instead of the main thread. */
#define TR_OP_READ (1u << 1)
/* Logged with the caller's API key although it changes nothing (a
 * console's password). */
#define TR_OP_AUDIT (1u << 2)

/*
 * Who may call an op: every op declares it (an op without it fails
 * tr_api_register and the unit test that walks the tables).  On top of
 * it, the caller's role must grant the op's name (core/auth/auth.h),
 * except for TR_PERM_ANYONE.  The check is made once, in the API, before
 * the op runs; a refusal is PERMISSION and is audited.
 */
enum tr_perm {
	TR_PERM_UNDECLARED = 0, /* a programming error */
	TR_PERM_ANYONE,         /* any identified caller (api.ops, whoami) */
	TR_PERM_DC,             /* the data center's own objects: global
				   roles only, whatever a BU role's patterns
				   say */
	TR_PERM_BU,             /* business-unit objects: BU roles too; the
				   op shows and touches only the caller's
				   BU's objects (another BU's is NOTFOUND) */
};

struct tr_api_op {
	const char *name;        /* "noun.verb" */
	const char *description; /* one line */
	const struct tr_field *args; /* terminated by TR_FIELDS_END */
	tr_api_handler handler;  /* args: validated, borrowed for the call */
	unsigned flags;
	enum tr_perm perm;       /* who may call it */
};

/* Adds ops (static storage, not copied).  A duplicate name is a
 * programming error and aborts. */
void tr_api_register(struct tr_api *api, const struct tr_api_op *ops,
		     size_t n);
/* Calls every subsystem's registration function (core/api/all.c). */
void tr_api_register_all(struct tr_api *api);

/* Registration functions (one per subsystem; all.c calls them). */
void tr_api_register_inventory(struct tr_api *api); /* zone pod cluster tenant */
void tr_api_register_agent(struct tr_api *api); /* ops_agent.c: zone.token, agent.* */
void tr_api_register_ha(struct tr_api *api); /* ops_ha.c: ha.status, ha.clear */
void tr_api_register_host(struct tr_api *api);      /* host.* */
void tr_api_register_vm(struct tr_api *api);        /* vm.* */
void tr_api_register_system(struct tr_api *api);    /* plugin.* api.* daemon.* */
void tr_api_register_storage(struct tr_api *api);   /* pool.* volume.* */
void tr_api_register_network(struct tr_api *api);   /* netpool.* network.* */
void tr_api_register_policy(struct tr_api *api);    /* policy.* */
void tr_api_register_workflow(struct tr_api *api);  /* workflow.* action.* */
void tr_api_register_auth(struct tr_api *api);      /* user.* role.* audit.* */
void tr_api_register_tenancy(struct tr_api *api);   /* template.* quota.* */
void tr_api_register_alloc(struct tr_api *api);     /* allocation.* */
void tr_api_register_console(struct tr_api *api);   /* console.* consoleproxy.* */
/* consoleproxy.scan every console.scan on the main loop, when set
 * (console_scan.c); trellisd calls it once at start. */
void tr_console_scan_start(struct tr_daemon *d);
/* trellisd stops: the console proxies it launched close their sessions
 * and stop first, while the API still records what they report; then
 * then(d) runs on the main loop.  0 (then not called) when there is none
 * to wait for, or they already stop (a second signal: go on at once). */
int tr_console_stop_children(struct tr_daemon *d,
			     void (*then)(struct tr_daemon *d));
void tr_api_register_ipam(struct tr_api *api);      /* zone.ip_range_* ip.* network.forward_* */
void tr_api_register_maint(struct tr_api *api);     /* maint.* support.* */
void tr_api_register_adapters(struct tr_api *api);  /* storage.* (ops_adapters.c) */
/* Discovery at start: every credential's systems, pools, volumes, ports
 * and assignments, asked fresh, logged and published as
 * storage.discovered (ops_adapters.c); trellisd calls it once. */
void tr_adapters_discover_start(struct tr_daemon *d);

/* ---- answering a request (each req answered once, from any thread) ---- */

/* Success; result (any JSON, may be NULL for null) is stolen. */
void tr_req_ok(struct tr_req *req, json_t *result);
/* Success with a result that is already JSON text (stolen, free()d):
 * the store's text forms go out without a json_t in between. */
void tr_req_ok_text(struct tr_req *req, char *result_json);
/* Failure with a code (TRELLIS_E_*), details (an object or NULL, stolen)
 * and a message. */
void tr_req_fail(struct tr_req *req, int code, json_t *details,
		 const char *fmt, ...) TRELLIS_PRINTF(4, 5);
/* The done callback of tr_action_submit() (core/actions/lookup.h) for an
 * op that answers with the action's result (borrowed) or its error; req
 * is the struct tr_req. */
struct tr_daemon;
void tr_req_answer_action(struct tr_daemon *d, void *req, json_t *result,
			  trellis_call_t *call);
/* Failure from a call context (a plugin's or the store's error). */
void tr_req_fail_call(struct tr_req *req, const trellis_call_t *call);
/* The op being served ("host.add"). */
const char *tr_req_op(const struct tr_req *req);

/* The caller (core/auth/auth.h): valid for the request's life. */
struct tr_ident;
const struct tr_ident *tr_req_who(const struct tr_req *req);
/* The caller's BU when the caller acts inside one BU only (a BU role),
 * else NULL: what scoped ops filter on. */
const char *tr_req_scope(const struct tr_req *req);
/* Answers NOTFOUND for an object of another BU, and audits the refusal.
 * Give the very message a missing object gets ("vm 'x' not found"), so
 * that existence does not leak. */
void tr_req_not_yours(struct tr_req *req, const char *fmt, ...)
	TRELLIS_PRINTF(2, 3);

/* ---- the API object (used by the daemon and by tests) ---- */

struct tr_api_limits {
	size_t max_message;  /* bytes; larger requests get INVALID_ARG */
	unsigned max_inflight; /* requests past it get BUSY */
	unsigned threads;      /* receive threads per listener; 0: one per
				  online CPU */
};

struct tr_api *tr_api_new(struct tr_daemon *d,
			  const struct tr_api_limits *limits);
void tr_api_free(struct tr_api *api);
const struct tr_api_op *tr_api_find(const struct tr_api *api,
				    const char *name);
size_t tr_api_count(const struct tr_api *api);
const struct tr_api_op *tr_api_at(const struct tr_api *api, size_t i);

/* The API keys tcp:// listeners require (keys.h); api takes keys and
 * frees the ones it replaces.  Until set, tcp:// requests are refused.
 * The keys of that file are the operator's (root, dc-admin); users' keys
 * are in the store (trellis user key add). */
struct tr_keys;
void tr_api_set_keys(struct tr_api *api, struct tr_keys *keys);

/* The roles (auth.h) callers' role names resolve to; api takes roles
 * (NULL: the built-in ones).  Main thread. */
struct tr_roles;
void tr_api_set_roles(struct tr_api *api, struct tr_roles *roles);
const struct tr_roles *tr_api_roles(const struct tr_api *api);

/* The local tokens that name ipc:// callers (core/api/local.c): writes
 * DIR/UID (mode 0400, owned by UID) for the daemon's own uid and every
 * user with a uid, and keeps their hashes.  DIR is "tokens" beside the
 * ipc:// socket.  Main thread; called at start and when users change.
 * 0, or -1 with err. */
int tr_api_local_tokens(struct tr_api *api, char *err, size_t errlen);
/* Where the token files of the ipc:// socket url are ("/run/trellis/
 * tokens" for ipc:///run/trellis/api.sock), in buf. */
void tr_api_token_dir(const char *url, char *buf, size_t len);

/* Binds a listener (ipc:// or tcp://) and starts its receive threads.
 * For ipc:// the socket file gets mode (0: leave it). */
int tr_api_listen(struct tr_api *api, const char *url, unsigned mode,
		  char *err, size_t errlen);
/* Requests not answered yet. */
unsigned tr_api_inflight(const struct tr_api *api);

/* What the receive threads did since the start (daemon.status). */
struct tr_api_stats {
	unsigned threads;        /* receive threads per listener */
	unsigned long requests;  /* received from the sockets */
	unsigned long reads;     /* of those, answered on receive threads */
	unsigned long wakeups;   /* helper threads woken by a backlog */
	unsigned long refused;   /* tcp:// requests without a valid API key */
};
void tr_api_stats(const struct tr_api *api, struct tr_api_stats *out);

/* ---- callers beside the nanomsg sockets (the HTTP listener) ---- */

/* One answer, handed to the caller's reply function exactly once, on
 * whichever thread answers: its JSON text is the concatenation of parts
 * (NULL-terminated, borrowed for the call; len bytes in all), the same
 * envelope the sockets send. */
struct tr_api_answer {
	int code;        /* 0 (ok) or TRELLIS_E_* */
	int key_refused; /* PERMISSION for want of a valid API key */
	const char *const *parts;
	size_t len;
};
typedef void (*tr_api_reply_fn)(void *ctx, const struct tr_api_answer *a);

struct tr_api_call {
	const char *op;     /* "vm.show" */
	json_t *args;       /* an object, or NULL for {}; stolen */
	const char *token;  /* the caller's API key, or NULL */
	int need_key;       /* refuse without a valid API key */
	const char *origin; /* the listener, for logs ("http 0.0.0.0:8443") */
	tr_api_reply_fn reply;
	void *ctx;
	/* A user the door has authenticated itself (a dashboard session
	 * opened with a password, core/http), in place of token: the
	 * request is that user's, with their role and BU, looked up again
	 * for every request.  With need_key; NULL: none. */
	const char *user;
};
/* Runs one request through the same checks as the sockets' (API key,
 * op lookup, argument schema, in-flight limit, audit log) and the same
 * dispatch: TR_OP_READ ops inline when the calling thread is attached
 * (below), every other op on the main thread.  The reply function is
 * called exactly once, maybe before this returns. */
void tr_api_call(struct tr_api *api, const struct tr_api_call *c);
/* Whether token is a valid API key now (1; -1 expired; 0 not), for a
 * door's requests that run no op (an event stream, /metrics).  name gets
 * the key's name; a refusal is counted in tr_api_stats().refused. */
int tr_api_key_valid(struct tr_api *api, const char *token, char *name,
		     size_t namelen);
/* A door's login (the dashboard's, core/http): who password is user's
 * (user and password given), or who the API key token is (token given,
 * user NULL), on the calling thread's store.  0 with id filled, or a
 * TRELLIS_E_* code with the reason in err: PERMISSION "wrong user name
 * or password" whatever was wrong, or the API key's refusal.  Refusals
 * count in tr_api_stats().refused; nothing secret is logged. */
struct tr_ident;
int tr_api_login(struct tr_api *api, const char *user, const char *password,
		 const char *token, struct tr_ident *id, char *err,
		 size_t errlen);
/* Gives the calling thread its own read-only store connection, so its
 * TR_OP_READ calls are answered inline, as on a receive thread.  0, or
 * -1 (reads then go to the main thread). */
int tr_api_thread_attach(struct tr_api *api);
/* The thread is idle: it keeps no read snapshot (store.h). */
void tr_api_thread_idle(void);
void tr_api_thread_detach(void);

/* Handles one raw request (bytes) as the sockets do; reply (a new string
 * the caller frees) is set when the request was answered synchronously.
 * For tests and tools; the sockets use the same path. */
int tr_api_handle_bytes(struct tr_api *api, const void *buf, size_t len,
			char **reply);
/* The same, as user (a user of the store; "root": the built-in
 * dc-admin). */
int tr_api_handle_bytes_as(struct tr_api *api, const char *user,
			   const void *buf, size_t len, char **reply);

#endif
