/* SPDX-License-Identifier: Apache-2.0 */
/* events.c - see events.h. */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../host/host.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "events.h"

struct tr_events {
	int sock;
	pthread_mutex_t lock;
	tr_event_hook_fn hook;
	void *hook_arg;
	tr_event_tap_fn tap; /* under lock */
	void *tap_arg;
};

void tr_events_set_tap(struct tr_events *ev, tr_event_tap_fn fn, void *arg)
{
	pthread_mutex_lock(&ev->lock);
	ev->tap = fn;
	ev->tap_arg = arg;
	pthread_mutex_unlock(&ev->lock);
}

void tr_events_set_hook(struct tr_events *ev, tr_event_hook_fn fn, void *arg)
{
	ev->hook_arg = arg;
	ev->hook = fn;
}

/* Binds a nanomsg socket; an ipc:// path gets its directory and mode.
 * Shared by the API's listeners. */
int tr_nn_bind(int sock, const char *url, unsigned mode, char *err,
	       size_t errlen);
int tr_nn_bind(int sock, const char *url, unsigned mode, char *err,
	       size_t errlen)
{
	const char *path = strncmp(url, "ipc://", 6) == 0 ? url + 6 : NULL;
	if (path) {
		/* The directory (/run/trellis) may not exist yet. */
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create %s: %s",
					 url, dir, strerror(errno));
				return -1;
			}
		}
	}
	if (nn_bind(sock, url) < 0) {
		snprintf(err, errlen, "%s: %s", url, nn_strerror(nn_errno()));
		return -1;
	}
	if (path && mode && chmod(path, mode) < 0) {
		snprintf(err, errlen, "%s: chmod: %s", url, strerror(errno));
		return -1;
	}
	return 0;
}

struct tr_events *tr_events_new(const char *url, unsigned mode, char *err,
				size_t errlen)
{
	struct tr_events *ev = tr_xcalloc(1, sizeof *ev);
	if (!ev) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&ev->lock, NULL);
	ev->sock = nn_socket(AF_SP, NN_PUB);
	if (ev->sock < 0) {
		snprintf(err, errlen, "events socket: %s",
			 nn_strerror(nn_errno()));
		goto fail;
	}
	if (tr_nn_bind(ev->sock, url, mode, err, errlen) < 0)
		goto fail;
	return ev;
fail:
	tr_events_free(ev);
	return NULL;
}

static struct tr_events *plugin_target;

void tr_events_free(struct tr_events *ev)
{
	if (!ev)
		return;
	if (plugin_target == ev)
		tr_events_attach_plugins(NULL);
	if (ev->sock >= 0)
		nn_close(ev->sock);
	pthread_mutex_destroy(&ev->lock);
	free(ev);
}

int tr_events_publish(struct tr_events *ev, const char *topic, json_t *body)
{
	if (!ev)
		return TRELLIS_E_UNAVAILABLE;
	json_t *msg = body ? json_deep_copy(body) : json_object();
	if (!json_is_object(msg)) {
		json_decref(msg);
		return TRELLIS_E_INVALID_ARG;
	}
	json_object_set_new(msg, "topic", json_string(topic));
	json_object_set_new(msg, "ts", json_integer((json_int_t)tr_wall_ms()));
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return TRELLIS_E_NOMEM;
	size_t tl = strlen(topic), bl = strlen(text);
	char *buf = tr_xmalloc(tl + 1 + bl);
	if (!buf) {
		free(text);
		return TRELLIS_E_NOMEM;
	}
	memcpy(buf, topic, tl);
	buf[tl] = ' ';
	memcpy(buf + tl + 1, text, bl);
	free(text);
	pthread_mutex_lock(&ev->lock);
	int rc = nn_send(ev->sock, buf, tl + 1 + bl, NN_DONTWAIT);
	if (ev->tap)
		ev->tap(ev->tap_arg, buf, tl + 1 + bl, tl);
	pthread_mutex_unlock(&ev->lock);
	free(buf);
	if (rc < 0) {
		tr_debug("event %s dropped: %s", topic,
			 nn_strerror(nn_errno()));
		return TRELLIS_E_BUSY;
	}
	return 0;
}

int tr_daemon_publish(struct tr_daemon *d, const char *topic, json_t *body)
{
	return tr_events_publish(d->events, topic, body);
}

static void plugin_sink(void *arg, const char *plugin, const char *topic,
			const char *const *kv)
{
	struct tr_events *ev = arg;
	json_t *body = json_object();
	json_object_set_new(body, "plugin", json_string(plugin));
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		if (strcmp(kv[i], "topic") != 0 && strcmp(kv[i], "ts") != 0 &&
		    strcmp(kv[i], "plugin") != 0)
			json_object_set_new(body, kv[i], json_string(kv[i + 1]));
	if (ev->hook)
		ev->hook(ev->hook_arg, topic, body);
	tr_events_publish(ev, topic, body);
	json_decref(body);
}

void tr_events_attach_plugins(struct tr_events *ev)
{
	plugin_target = ev;
	tr_host_set_event_sink(ev ? plugin_sink : NULL, ev);
}
