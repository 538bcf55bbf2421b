/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.h - the event publisher: one nanomsg PUB socket.
 *
 * A message is "TOPIC JSON": subscribers filter by topic prefix with
 * NN_SUB_SUBSCRIBE ("vm.", "host.", "workflow.").  The JSON body gets
 * "topic" and "ts" (unix milliseconds).  Publishing never blocks (a slow
 * subscriber loses messages, nanomsg drops them) and is thread-safe.
 * Plugin events (host->event_publish) arrive through the host's event sink
 * and are published under their own topic with "plugin" set.
 */
#ifndef TRELLIS_CORE_EVENTS_H
#define TRELLIS_CORE_EVENTS_H

#include <jansson.h>
#include <stddef.h>

struct tr_events;

/* Binds url (ipc:// socket files get mode, 0: leave it). */
struct tr_events *tr_events_new(const char *url, unsigned mode, char *err,
				size_t errlen);
void tr_events_free(struct tr_events *ev);
/* body is borrowed (an object, or NULL for {}). */
int tr_events_publish(struct tr_events *ev, const char *topic, json_t *body);
/* A hook that sees every plugin event before it is published, on the
 * plugin's thread (body borrowed): the daemon keeps VM states current
 * with it.  NULL to remove. */
typedef void (*tr_event_hook_fn)(void *arg, const char *topic, json_t *body);
void tr_events_set_hook(struct tr_events *ev, tr_event_hook_fn fn, void *arg);
/* A tap that sees every message as published ("TOPIC JSON", len bytes,
 * borrowed for the call), on the publishing thread, in publishing order:
 * the HTTP listener's event stream.  It must not block.  NULL to
 * remove. */
typedef void (*tr_event_tap_fn)(void *arg, const char *msg, size_t len,
				size_t topic_len);
void tr_events_set_tap(struct tr_events *ev, tr_event_tap_fn fn, void *arg);
/* Routes plugin events (tr_host_set_event_sink) to ev; NULL to stop. */
void tr_events_attach_plugins(struct tr_events *ev);

#endif
