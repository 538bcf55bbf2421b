/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis/host.h - the services the host (trellisd, trellis-plugin-check)
 * offers to a plugin.
 *
 * The host passes one table to init(); the plugin keeps the pointer for its
 * whole life.  The table is owned by the host and never changes after init.
 * Every service is thread-safe.  The table grows at the end only: before
 * using a slot marked "since 1.x" with x above the plugin's own minor, check
 * TRELLIS_HOST_HAS(host, slot).
 *
 * Ownership: memory from host->alloc/strdup is freed with host->free.
 * Strings returned by config accessors belong to the host and live as long
 * as the plugin.  A secret from secret_get is freed with secret_free, which
 * wipes it first.
 */
#ifndef TRELLIS_HOST_H
#define TRELLIS_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <trellis/error.h>
#include <trellis/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels: the syslog numbers. */
enum trellis_log_level {
	TRELLIS_LOG_ERR = 3,
	TRELLIS_LOG_WARNING = 4,
	TRELLIS_LOG_NOTICE = 5,
	TRELLIS_LOG_INFO = 6,
	TRELLIS_LOG_DEBUG = 7,
};

/* Types of config nodes. */
enum trellis_node_type {
	TRELLIS_NODE_NONE = 0, /* absent (a NULL node) */
	TRELLIS_NODE_SCALAR = 1,
	TRELLIS_NODE_SEQ = 2,
	TRELLIS_NODE_MAP = 3,
};

typedef void (*trellis_timer_fn)(void *arg);

struct trellis_host {
	uint32_t struct_size; /* since 1.0 */
	uint16_t abi_major;   /* since 1.0: the host's ABI */
	uint16_t abi_minor;   /* since 1.0 */
	const char *version;  /* since 1.0: the host's own version string */

	/* Logging, tagged with the plugin's name.  Never log a secret. */
	void (*log)(trellis_plugin_t *self, int level, const char *fmt, ...)
		TRELLIS_PRINTF(3, 4); /* since 1.0 */

	/* Memory.  alloc() returns zeroed memory or NULL. */
	void *(*alloc)(size_t size);               /* since 1.0 */
	void *(*realloc)(void *ptr, size_t size);  /* since 1.0 */
	void (*free)(void *ptr);                   /* since 1.0 */
	char *(*strdup)(const char *s);            /* since 1.0 */

	/*
	 * Errors.  Call set_error() before returning a failure; it records
	 * the code and message in the call context and returns the code, so
	 * `return host->set_error(call, TRELLIS_E_NOTFOUND, "...")` works.
	 * set_error_backend() adds the backend's own error number (a libvirt
	 * virErrorNumber, an errno) and whether a retry may succeed.
	 */
	int (*set_error)(trellis_call_t *call, int code, const char *fmt, ...)
		TRELLIS_PRINTF(3, 4); /* since 1.0 */
	void (*set_error_backend)(trellis_call_t *call, long backend_code,
				  int retryable); /* since 1.0 */

	/*
	 * Read-only configuration: the plugin's own section of the daemon
	 * config (plugins: {NAME: {...}}), or an empty map.
	 */
	const trellis_node_t *(*config)(trellis_plugin_t *self); /* since 1.0 */
	int (*node_type)(const trellis_node_t *node);            /* since 1.0 */
	/* The value under key in a map, NULL when absent or not a map. */
	const trellis_node_t *(*node_get)(const trellis_node_t *map,
					  const char *key); /* since 1.0 */
	/* Number of items in a sequence or pairs in a map, 0 otherwise. */
	size_t (*node_len)(const trellis_node_t *node); /* since 1.0 */
	/* The i-th item of a sequence, or the i-th value of a map. */
	const trellis_node_t *(*node_at)(const trellis_node_t *node,
					 size_t i); /* since 1.0 */
	/* The i-th key of a map. */
	const char *(*node_key_at)(const trellis_node_t *map,
				   size_t i); /* since 1.0 */
	/* A scalar's text, NULL when the node is not a scalar. */
	const char *(*node_str)(const trellis_node_t *node); /* since 1.0 */
	/* Typed scalar access: 0, or TRELLIS_E_INVALID_ARG (out untouched). */
	int (*node_int)(const trellis_node_t *node, int64_t *out); /* since 1.0 */
	int (*node_bool)(const trellis_node_t *node, int *out);    /* since 1.0 */
	/* "file:line:col" of a node for error messages, "" when unknown. */
	const char *(*node_where)(const trellis_node_t *node); /* since 1.0 */

	/*
	 * Events.  topic is dotted ("vm.state"); kv is a NULL-terminated
	 * array of key, value, key, value ... strings.  The host adds the
	 * plugin's name and a timestamp and publishes it as JSON.
	 */
	int (*event_publish)(trellis_plugin_t *self, const char *topic,
			     const char *const *kv); /* since 1.0 */

	/*
	 * Timers run on a host thread.  delay_ms before the first run, then
	 * every interval_ms (0: once).  The callback must not block long.
	 */
	int (*timer_add)(trellis_plugin_t *self, uint64_t delay_ms,
			 uint64_t interval_ms, trellis_timer_fn fn, void *arg,
			 uint64_t *id); /* since 1.0 */
	int (*timer_cancel)(trellis_plugin_t *self, uint64_t id); /* since 1.0 */

	/* Progress of a long op (0..100), and whether the caller gave up. */
	void (*progress)(trellis_call_t *call, unsigned percent,
			 const char *what); /* since 1.0 */
	int (*cancelled)(trellis_call_t *call); /* since 1.0 */

	/*
	 * Secrets by name (from the daemon's secret store).  *value is
	 * allocated by the host; release it with secret_free(), which wipes.
	 */
	int (*secret_get)(trellis_plugin_t *self, trellis_call_t *call,
			  const char *name, char **value); /* since 1.0 */
	void (*secret_free)(char *value);                  /* since 1.0 */

	/*
	 * Run a command without a shell (argv[0] is looked up in PATH),
	 * with a timeout (0: none) that honours cancellation.  *out gets
	 * stdout and *err stderr, NUL-terminated, each capped at 64 KiB
	 * (either may be NULL to discard); free them with host->free.
	 * Returns 0 when the command ran (its exit status in *status, or
	 * 128+signal), or sets an error and returns it when it could not
	 * be started or timed out.
	 */
	int (*exec)(trellis_call_t *call, const char *const *argv,
		    unsigned timeout_ms, char **out, char **err,
		    int *status); /* since 1.0 */

	/*
	 * Typed scalars with units (since 1.1), for config and options:
	 * 0, or TRELLIS_E_INVALID_ARG with out untouched.  node_size reads
	 * bytes: a whole number, or one with K, M, G, T (powers of 1024;
	 * "64M", "2G"); node_duration reads milliseconds: a whole number
	 * (ms), or one with ms, s, m, h, d ("250ms", "30s", "2m").
	 */
	int (*node_size)(const trellis_node_t *node,
			 uint64_t *bytes); /* since 1.1 */
	int (*node_duration)(const trellis_node_t *node,
			     uint64_t *ms); /* since 1.1 */
	/*
	 * The i-th key of a map as a node (since 1.1), so that
	 * node_where(node_key(map, i)) points at the key itself: an
	 * "unknown key" message names where the key was written.
	 */
	const trellis_node_t *(*node_key)(const trellis_node_t *map,
					  size_t i); /* since 1.1 */
	/*
	 * A directory of the plugin's own that outlives the daemon's
	 * restarts (since 1.1): STATE_DIR/plugins/NAME, made 0700 on the
	 * first call.  0 and its path in buf, or an error (NOTSUP when the
	 * host keeps no state dir, INVALID_ARG when buf is too short).
	 */
	int (*state_dir)(trellis_plugin_t *self, trellis_call_t *call,
			 char *buf, size_t len); /* since 1.1 */
};

/* Size of the host table in ABI 1.0. */
#define TRELLIS_HOST_SIZE_1_0                                                  \
	(offsetof(struct trellis_host, exec) + sizeof(void (*)(void)))

/* Whether the host table has the given slot (for slots newer than 1.0). */
#define TRELLIS_HOST_HAS(host, slot)                                           \
	((host)->struct_size >= offsetof(struct trellis_host, slot) +          \
				       sizeof((host)->slot) &&                 \
	 (host)->slot != NULL)

#ifdef __cplusplus
}
#endif
#endif /* TRELLIS_HOST_H */
