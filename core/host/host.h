/* SPDX-License-Identifier: Apache-2.0 */
/*
 * host.h - the core side of the plugin boundary: the host services table,
 * call contexts and the loaded-plugin record.
 *
 * This module implements every slot of struct trellis_host.  The daemon
 * plugs its event bus and secret store in with tr_host_set_event_sink() and
 * tr_host_set_secret_source(); until it does, events are dropped (debug log)
 * and secrets are NOTFOUND, which is what trellis-plugin-check wants.
 *
 * A trellis_call_t lives on the caller's stack: tr_call_init() before an op,
 * tr_call_finish() after it, which makes sure every failure carries a code
 * and message even when the plugin forgot to set one.
 */
#ifndef TRELLIS_CORE_HOST_H
#define TRELLIS_CORE_HOST_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <trellis/host.h>
#include <trellis/plugin.h>

enum tr_plugin_state {
	TR_PLUGIN_LOADED = 1,
	TR_PLUGIN_REFUSED = 2,
};

struct trellis_plugin {
	char *path;                      /* the .so */
	char *name;                      /* copy of desc->name, or file stem */
	const trellis_plugin_desc_t *desc; /* NULL when refused early */
	uint32_t desc_size;              /* desc->struct_size as seen */
	enum tr_plugin_state state;
	char reason[2048];               /* why refused */
	void *state_ptr;                 /* from init() */
	const trellis_node_t *config;    /* plugin's config section */
	trellis_node_t *config_owned;    /* empty map when none was given */
	pthread_mutex_t serial;          /* for TRELLIS_THREAD_SERIALIZED */
	void *dl;
};

typedef void (*tr_progress_fn)(void *arg, unsigned percent, const char *what);

struct trellis_call {
	int code;                 /* 0, or the error code */
	int has_error;
	int generic;              /* message filled in by tr_call_finish */
	long backend_code;
	int retryable;
	char plugin[64];
	char message[1024];
	tr_progress_fn progress_fn;
	void *progress_arg;
	atomic_int cancelled;
};

void tr_call_init(trellis_call_t *call, const char *plugin);
/* Normalises a plugin's return: a failure without an error gets a generic
 * one naming op; a success clears stale errors.  Returns rc. */
int tr_call_finish(trellis_call_t *call, const char *op, int rc);
/* Sets an error from core code (same as host->set_error). */
int tr_call_set(trellis_call_t *call, int code, const char *fmt, ...)
	TRELLIS_PRINTF(3, 4);

const trellis_host_t *tr_host(void);

typedef void (*tr_event_sink_fn)(void *arg, const char *plugin,
				 const char *topic, const char *const *kv);
typedef int (*tr_secret_source_fn)(void *arg, const char *name,
				   char **value);
void tr_host_set_event_sink(tr_event_sink_fn fn, void *arg);
void tr_host_set_secret_source(tr_secret_source_fn fn, void *arg);
/* Where host->state_dir makes the plugins' own dirs (DIR/plugins/NAME);
 * NULL: none (state_dir answers NOTSUP). */
void tr_host_set_state_dir(const char *dir);

/* Honour the plugin's thread model around one op.  target_lock is the
 * caller's lock for the op's target (used for PER_TARGET), may be NULL. */
void tr_plugin_enter(struct trellis_plugin *p, pthread_mutex_t *target_lock);
void tr_plugin_leave(struct trellis_plugin *p, pthread_mutex_t *target_lock);

/* Stop the timer thread (daemon shutdown, tests). */
void tr_host_shutdown(void);

#endif
