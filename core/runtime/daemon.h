/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h - struct tr_daemon, what trellisd's subsystems share, and the
 * services they use from it.
 *
 * trellisd has one main thread that runs one poll() loop (core/runtime/
 * loop.c) over the nanomsg sockets (through NN_RCVFD/NN_SNDFD), a timerfd,
 * a signalfd and an eventfd on which worker threads post completions.  The
 * main thread is the only writer to the store.  Plugin ops block, so they
 * run on a bounded worker pool: a job runs on a worker, and its completion
 * callback runs later on the main thread, where it may write the store,
 * publish events and answer API requests.  A worker never touches the
 * store.
 *
 * Threads: every function here is for the main thread, except
 * tr_daemon_submit(), tr_daemon_publish() and the tr_conn_* functions,
 * which any thread may call.
 *
 * The loop, the pool and the target cache live here, in core/runtime, the
 * lowest floor that knows the daemon (tr_daemon_publish() is core/events),
 * so that unit tests and other programs can build a daemon; core/daemon/
 * main.c is only the program: options, config, lock, wiring.
 */
#ifndef TRELLIS_CORE_RUNTIME_DAEMON_H
#define TRELLIS_CORE_RUNTIME_DAEMON_H

#include <jansson.h>
#include <stdint.h>

#include "../host/host.h"
#include "../loader/loader.h"

struct tr_config;  /* core/config/config.h */
struct tr_store;   /* core/store/store.h */
struct tr_events;  /* core/events/events.h */
struct tr_workers; /* core/runtime/worker.h */
struct tr_loop;    /* core/runtime/worker.h */
struct tr_api;     /* core/api/api.h */
struct tr_conns;   /* core/runtime/conns.c */
struct tr_engine;  /* core/workflow/engine.h */
struct tr_placement; /* core/placement/service.h */
struct tr_orphans;   /* core/placement/orphans.h */
struct tr_target;  /* core/dispatch/dispatch.h */
struct tr_relay;   /* core/relay/relay.h */
struct tr_maint;   /* core/maint/maint.h */

struct tr_daemon {
	const struct tr_config *config; /* effective config, read-only */
	struct tr_store *store;         /* main thread only */
	tr_registry_t *registry;        /* loaded plugins (never unloaded) */
	struct tr_events *events;       /* PUB socket */
	struct tr_workers *workers;     /* the bounded pool */
	struct tr_loop *loop;           /* the main loop */
	struct tr_api *api;             /* ops and the REP sockets */
	struct tr_conns *conns;         /* cached plugin targets */
	const char *state_dir;
	volatile int stopping;          /* SIGTERM/SIGINT seen */
	/* Appended fields: */
	const char *store_path;         /* the store's location (a SQLite file or
					   pg:CONNINFO), for readers */
	struct tr_workers *readers;     /* read-only API ops under load;
					   each reader has its own read-only
					   store connection */
	struct tr_engine *engine;       /* the workflow engine: set by
					   tr_engine_new(), cleared by
					   tr_engine_free() */
	struct tr_placement *placement; /* the placement service's state,
					   made on first use; freed by
					   tr_placement_shutdown() */
	struct tr_orphans *orphans;     /* the orphan-claim check: set by
					   tr_orphans_start(), freed by
					   tr_orphans_stop() */
	struct tr_relay *relay;         /* private zones' agents: set by
					   tr_relay_start() (core/relay),
					   freed by tr_relay_stop() */
	struct tr_maint *maint;         /* maintenance windows: set by
					   tr_maint_start() (core/maint),
					   freed by tr_maint_stop() */
};

/* ---- worker pool ---- */

/* work runs on a worker thread; done then runs on the main thread with the
 * same arg (free arg there).  done may be NULL. */
typedef void (*tr_work_fn)(void *arg);
typedef void (*tr_done_fn)(struct tr_daemon *d, void *arg);
/* Queues a job.  0, or TRELLIS_E_BUSY when the queue is full (the caller
 * answers BUSY: nothing ran) or TRELLIS_E_CANCELLED when stopping. */
int tr_daemon_submit(struct tr_daemon *d, tr_work_fn work, tr_done_fn done,
		     void *arg);

/* Runs fn(d, arg) on the main thread soon.  Any thread (plugin event
 * threads hand their news to the store this way).  0 or NOMEM. */
int tr_daemon_call_main(struct tr_daemon *d, tr_done_fn fn, void *arg);

/* ---- timers on the main loop ---- */

typedef void (*tr_tick_fn)(struct tr_daemon *d, void *arg);
/* fn runs on the main thread after delay_ms, then every interval_ms
 * (0: once; a one-shot timer is forgotten after it ran).  *id (may be
 * NULL) identifies it for tr_daemon_timer_cancel(). */
int tr_daemon_timer_add(struct tr_daemon *d, uint64_t delay_ms,
			uint64_t interval_ms, tr_tick_fn fn, void *arg,
			uint64_t *id);
/* 0, or TRELLIS_E_NOTFOUND when id is unknown or already ran. */
int tr_daemon_timer_cancel(struct tr_daemon *d, uint64_t id);

/* ---- other file descriptors on the main loop ---- */

/* fn runs on the main thread when fd is ready for events (POLLIN...). */
typedef void (*tr_fd_fn)(struct tr_daemon *d, int fd, short revents,
			 void *arg);
int tr_daemon_fd_add(struct tr_daemon *d, int fd, short events, tr_fd_fn fn,
		     void *arg);
void tr_daemon_fd_remove(struct tr_daemon *d, int fd);

/* ---- events ---- */

/* Publishes body (borrowed; an object) under topic ("host.added",
 * "vm.state", "workflow.step.finished"...): the message on the PUB socket
 * is "TOPIC JSON", so subscribers filter by topic prefix.  The body gets
 * "topic" and "ts" (unix ms) added in a copy.  Never put a secret in a
 * body.  Any thread.  0 or a negative code (dropped events are logged). */
int tr_daemon_publish(struct tr_daemon *d, const char *topic, json_t *body);

/* ---- plugin targets (connections), cached one per key ---- */

/*
 * A connection to a hypervisor host, a storage pool or a network target,
 * opened through core/dispatch and kept open for reuse: one per key
 * (the host's name, the pool's name...).  tr_conn_get() returns the cached
 * one when plugin and uri still match, else it opens (blocking: call it
 * on a worker).  Each get is matched by one tr_conn_put().  Any thread.
 */
struct tr_conn;
enum tr_conn_kind {
	TR_CONN_HOST = 1,    /* hypervisor connect() */
	TR_CONN_POOL = 2,    /* storage pool_open() */
	TR_CONN_NETWORK = 3, /* network connect() */
};
struct tr_conn_spec {
	enum tr_conn_kind kind;
	const char *key;    /* host name, pool name, network target name */
	const char *plugin; /* plugin name */
	const char *uri;    /* connect uri or pool target */
	const char *name;   /* pool name for pool_open (NULL: key) */
	/* The object's options (a JSON object, or NULL): the cache turns
	 * them into the node tree the plugin's open op gets, keeps it as
	 * long as the connection, and reopens when they change. */
	const json_t *options;
	uint32_t flags;     /* passed to the open op */
};
int tr_conn_get(struct tr_daemon *d, const struct tr_conn_spec *spec,
		trellis_call_t *call, struct tr_conn **out);
/* The dispatch target: tr_hv_host_info(tr_conn_target(c), ...). */
struct tr_target *tr_conn_target(struct tr_conn *c);
void tr_conn_put(struct tr_daemon *d, struct tr_conn *c);
/* Forgets the cached connection for key (host removed, uri changed): it
 * closes when its last user puts it. */
void tr_conn_forget(struct tr_daemon *d, enum tr_conn_kind kind,
		    const char *key);

/* Leader-only periodic jobs (lead.c): whether this manager runs job now.
 * With several managers on one PostgreSQL store exactly one of them
 * does, and the job moves when that one dies; with SQLite, always. */
int tr_daemon_leads(struct tr_daemon *d, const char *job);
/* Their names, NULL-terminated. */
extern const char *const tr_daemon_jobs[];

#endif
