/* SPDX-License-Identifier: Apache-2.0 */
/* host.c - the host services table (see host.h). */
#include "host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/node.h"
#include "exec.h"

static tr_event_sink_fn event_sink;
static void *event_sink_arg;
static tr_secret_source_fn secret_source;
static void *secret_source_arg;

void tr_host_set_event_sink(tr_event_sink_fn fn, void *arg)
{
	event_sink_arg = arg;
	event_sink = fn;
}

void tr_host_set_secret_source(tr_secret_source_fn fn, void *arg)
{
	secret_source_arg = arg;
	secret_source = fn;
}

void tr_call_init(trellis_call_t *call, const char *plugin)
{
	memset(call, 0, sizeof *call);
	atomic_init(&call->cancelled, 0);
	if (plugin)
		snprintf(call->plugin, sizeof call->plugin, "%s", plugin);
}

static int call_vset(trellis_call_t *call, int code, const char *fmt,
		     va_list ap)
{
	if (!call)
		return code;
	if (code >= 0)
		code = TRELLIS_E_INTERNAL;
	call->code = code;
	call->has_error = 1;
	call->generic = 0;
	call->retryable = trellis_error_retryable(code);
	vsnprintf(call->message, sizeof call->message, fmt, ap);
	return code;
}

int tr_call_set(trellis_call_t *call, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	code = call_vset(call, code, fmt, ap);
	va_end(ap);
	return code;
}

int tr_call_finish(trellis_call_t *call, const char *op, int rc)
{
	if (rc >= 0) {
		call->code = 0;
		call->has_error = 0;
		call->generic = 0;
		call->message[0] = '\0';
		return rc;
	}
	if (!call->has_error) {
		tr_call_set(call, rc,
			    "plugin '%s' failed in %s with %s without "
			    "giving a reason",
			    call->plugin, op ? op : "an op",
			    trellis_error_name(rc));
		call->generic = 1;
	} else if (call->code != rc) {
		/* The return code is authoritative. */
		call->code = rc;
	}
	return rc;
}

static int host_set_error(trellis_call_t *call, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	code = call_vset(call, code, fmt, ap);
	va_end(ap);
	return code;
}

static void host_set_error_backend(trellis_call_t *call, long backend_code,
				   int retryable)
{
	if (!call)
		return;
	call->backend_code = backend_code;
	call->retryable = retryable;
}

static void host_log(trellis_plugin_t *self, int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tr_logv(level, self ? self->name : "plugin", fmt, ap);
	va_end(ap);
}

static void *host_alloc(size_t size)
{
	return tr_xcalloc(1, size ? size : 1);
}

static void *host_realloc(void *p, size_t size)
{
	return tr_xrealloc(p, size);
}

static void host_free(void *p)
{
	free(p);
}

static char *host_strdup(const char *s)
{
	return s ? tr_xstrdup(s) : NULL;
}

static const trellis_node_t *host_config(trellis_plugin_t *self)
{
	return self ? self->config : NULL;
}

static int host_event_publish(trellis_plugin_t *self, const char *topic,
			      const char *const *kv)
{
	if (!topic || !*topic)
		return TRELLIS_E_INVALID_ARG;
	if (event_sink)
		event_sink(event_sink_arg, self ? self->name : NULL, topic,
			   kv);
	else
		tr_debug("event %s from %s (no event bus)", topic,
			 self ? self->name : "?");
	return 0;
}

static void host_progress(trellis_call_t *call, unsigned percent,
			  const char *what)
{
	if (call && call->progress_fn)
		call->progress_fn(call->progress_arg,
				  percent > 100 ? 100 : percent, what);
}

static int host_cancelled(trellis_call_t *call)
{
	return call ? atomic_load(&call->cancelled) : 0;
}

static int host_secret_get(trellis_plugin_t *self, trellis_call_t *call,
			   const char *name, char **value)
{
	(void)self;
	if (!name || !value)
		return host_set_error(call, TRELLIS_E_INVALID_ARG,
				      "secret_get: name and value required");
	*value = NULL;
	if (!secret_source)
		return host_set_error(call, TRELLIS_E_NOTFOUND,
				      "secret '%s' not found (no secret store)",
				      name);
	int rc = secret_source(secret_source_arg, name, value);
	if (rc < 0)
		return host_set_error(call, rc, "secret '%s': %s", name,
				      trellis_error_name(rc));
	return 0;
}

/* ---- a state dir per plugin ---- */

static char state_root[4096];

void tr_host_set_state_dir(const char *dir)
{
	snprintf(state_root, sizeof state_root, "%s", dir ? dir : "");
}

static int host_state_dir(trellis_plugin_t *self, trellis_call_t *call,
			  char *buf, size_t len)
{
	if (!self || !buf || !len)
		return host_set_error(call, TRELLIS_E_INVALID_ARG,
				      "state_dir: plugin and buffer required");
	if (!state_root[0])
		return host_set_error(call, TRELLIS_E_NOTSUP,
				      "state_dir: this host keeps no state "
				      "dir");
	char top[4200];
	snprintf(top, sizeof top, "%s/plugins", state_root);
	if ((size_t)snprintf(buf, len, "%s/%s", top, self->name) >= len)
		return host_set_error(call, TRELLIS_E_INVALID_ARG,
				      "state_dir: %zu bytes do not hold %s/%s",
				      len, top, self->name);
	if ((mkdir(top, 0700) && errno != EEXIST) ||
	    (mkdir(buf, 0700) && errno != EEXIST))
		return host_set_error(call, TRELLIS_E_IO, "%s: %s", buf,
				      strerror(errno));
	return 0;
}

static void host_secret_free(char *value)
{
	if (!value)
		return;
	explicit_bzero(value, strlen(value));
	free(value);
}

/* ---- timers: one thread, a sorted list ---- */

struct timer {
	uint64_t id;
	uint64_t due_ms;
	uint64_t interval_ms;
	trellis_timer_fn fn;
	void *arg;
	trellis_plugin_t *owner;
	struct timer *next;
};

static pthread_mutex_t timer_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t timer_cond;
static struct timer *timers;
static uint64_t timer_next_id = 1;
static int timer_thread_started, timer_stop;
static pthread_t timer_thread;

static void timer_insert(struct timer *t)
{
	struct timer **pp = &timers;
	while (*pp && (*pp)->due_ms <= t->due_ms)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
}

static void *timer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&timer_lock);
	while (!timer_stop) {
		if (!timers) {
			pthread_cond_wait(&timer_cond, &timer_lock);
			continue;
		}
		uint64_t now = tr_now_ms();
		if (timers->due_ms > now) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			uint64_t wait = timers->due_ms - now;
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&timer_cond, &timer_lock, &ts);
			continue;
		}
		struct timer *t = timers;
		timers = t->next;
		trellis_timer_fn fn = t->fn;
		void *targ = t->arg;
		if (t->interval_ms) {
			t->due_ms = now + t->interval_ms;
			timer_insert(t);
		} else {
			free(t);
		}
		pthread_mutex_unlock(&timer_lock);
		fn(targ);
		pthread_mutex_lock(&timer_lock);
	}
	pthread_mutex_unlock(&timer_lock);
	return NULL;
}

static int host_timer_add(trellis_plugin_t *self, uint64_t delay_ms,
			  uint64_t interval_ms, trellis_timer_fn fn, void *arg,
			  uint64_t *id)
{
	if (!fn)
		return TRELLIS_E_INVALID_ARG;
	struct timer *t = tr_xcalloc(1, sizeof *t);
	if (!t)
		return TRELLIS_E_NOMEM;
	t->fn = fn;
	t->arg = arg;
	t->owner = self;
	t->interval_ms = interval_ms;
	pthread_mutex_lock(&timer_lock);
	if (!timer_thread_started) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&timer_cond, &ca);
		pthread_condattr_destroy(&ca);
		timer_stop = 0;
		if (pthread_create(&timer_thread, NULL, timer_main, NULL)) {
			pthread_mutex_unlock(&timer_lock);
			free(t);
			return TRELLIS_E_INTERNAL;
		}
		timer_thread_started = 1;
	}
	t->id = timer_next_id++;
	t->due_ms = tr_now_ms() + delay_ms;
	timer_insert(t);
	if (id)
		*id = t->id;
	pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
	return 0;
}

static int host_timer_cancel(trellis_plugin_t *self, uint64_t id)
{
	int rc = TRELLIS_E_NOTFOUND;
	pthread_mutex_lock(&timer_lock);
	for (struct timer **pp = &timers; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == id && (*pp)->owner == self) {
			struct timer *t = *pp;
			*pp = t->next;
			free(t);
			rc = 0;
			break;
		}
	}
	pthread_mutex_unlock(&timer_lock);
	return rc;
}

void tr_host_shutdown(void)
{
	pthread_mutex_lock(&timer_lock);
	if (!timer_thread_started) {
		pthread_mutex_unlock(&timer_lock);
		return;
	}
	timer_stop = 1;
	pthread_cond_signal(&timer_cond);
	pthread_mutex_unlock(&timer_lock);
	pthread_join(timer_thread, NULL);
	pthread_mutex_lock(&timer_lock);
	while (timers) {
		struct timer *t = timers;
		timers = t->next;
		free(t);
	}
	timer_thread_started = 0;
	pthread_mutex_unlock(&timer_lock);
}

static int host_exec(trellis_call_t *call, const char *const *argv,
		     unsigned timeout_ms, char **out, char **err, int *status)
{
	return tr_exec(call, argv, timeout_ms, out, err, status);
}

static const struct trellis_host host_table = {
	.struct_size = sizeof(struct trellis_host),
	.abi_major = TRELLIS_ABI_MAJOR,
	.abi_minor = TRELLIS_ABI_MINOR,
	.version = TRELLIS_VERSION,
	.log = host_log,
	.alloc = host_alloc,
	.realloc = host_realloc,
	.free = host_free,
	.strdup = host_strdup,
	.set_error = host_set_error,
	.set_error_backend = host_set_error_backend,
	.config = host_config,
	.node_type = tr_node_type,
	.node_get = tr_node_get,
	.node_len = tr_node_len,
	.node_at = tr_node_at,
	.node_key_at = tr_node_key_at,
	.node_str = tr_node_str,
	.node_int = tr_node_int,
	.node_bool = tr_node_bool,
	.node_where = tr_node_where,
	.event_publish = host_event_publish,
	.timer_add = host_timer_add,
	.timer_cancel = host_timer_cancel,
	.progress = host_progress,
	.cancelled = host_cancelled,
	.secret_get = host_secret_get,
	.secret_free = host_secret_free,
	.exec = host_exec,
	.node_size = tr_node_size,
	.node_duration = tr_node_duration,
	.node_key = tr_node_key_node_at,
	.state_dir = host_state_dir,
};

const trellis_host_t *tr_host(void)
{
	return &host_table;
}

void tr_plugin_enter(struct trellis_plugin *p, pthread_mutex_t *target_lock)
{
	switch (p->desc->thread_model) {
	case TRELLIS_THREAD_SERIALIZED:
		pthread_mutex_lock(&p->serial);
		break;
	case TRELLIS_THREAD_PER_TARGET:
		if (target_lock)
			pthread_mutex_lock(target_lock);
		else
			pthread_mutex_lock(&p->serial);
		break;
	default:
		break;
	}
}

void tr_plugin_leave(struct trellis_plugin *p, pthread_mutex_t *target_lock)
{
	switch (p->desc->thread_model) {
	case TRELLIS_THREAD_SERIALIZED:
		pthread_mutex_unlock(&p->serial);
		break;
	case TRELLIS_THREAD_PER_TARGET:
		if (target_lock)
			pthread_mutex_unlock(target_lock);
		else
			pthread_mutex_unlock(&p->serial);
		break;
	default:
		break;
	}
}
