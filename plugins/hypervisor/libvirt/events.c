/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.c - libvirt's event loop, and domain lifecycle events turned into
 * Trellis `vm.state` events.
 *
 * libvirt allows one default event implementation per process, so the loop
 * thread is shared: the first init() starts it and the last fini() stops
 * it.  Connections register a lifecycle callback; the callback holds a
 * reference on its lv_conn, which libvirt drops (lv_conn_unref) once the
 * callback is gone, so a late event never sees a freed connection.
 */
#include <stdio.h>
#include <string.h>

#include "lv.h"

static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t impl_once = PTHREAD_ONCE_INIT;
static int impl_rc;
static int loop_users;
static pthread_t loop_thread;
static atomic_int loop_run;
static struct lv_state *loop_owner; /* for logging from the loop */

static void impl_register(void) { impl_rc = virEventRegisterDefaultImpl(); }

static void *loop_main(void *arg)
{
	(void)arg;
	while (atomic_load(&loop_run)) {
		if (virEventRunDefaultImpl() < 0) {
			virErrorPtr e = virGetLastError();
			struct lv_state *st = loop_owner;
			if (st)
				st->host->log(
				    st->self, TRELLIS_LOG_ERR, "event loop: %s",
				    e && e->message ? e->message : "failed");
			virResetLastError();
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void wake(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

int lv_events_start(struct lv_state *st, trellis_call_t *call)
{
	int rc = 0;
	pthread_once(&impl_once, impl_register);
	if (impl_rc < 0)
		return st->host->set_error(call, TRELLIS_E_BACKEND,
					   "libvirt: cannot register the "
					   "default event loop");
	pthread_mutex_lock(&loop_lock);
	if (loop_users == 0) {
		atomic_store(&loop_run, 1);
		loop_owner = st;
		if (pthread_create(&loop_thread, NULL, loop_main, NULL) != 0) {
			rc = st->host->set_error(call, TRELLIS_E_NOMEM,
						 "libvirt: cannot start the "
						 "event loop thread");
			goto out;
		}
	}
	loop_users++;
	st->loop_started = 1;
out:
	pthread_mutex_unlock(&loop_lock);
	return rc;
}

void lv_events_stop(struct lv_state *st)
{
	if (!st->loop_started)
		return;
	pthread_mutex_lock(&loop_lock);
	st->loop_started = 0;
	if (--loop_users == 0) {
		atomic_store(&loop_run, 0);
		/* A due timer interrupts the loop's poll(), so it sees
		 * loop_run and returns. */
		int t = virEventAddTimeout(0, wake, NULL, NULL);
		pthread_join(loop_thread, NULL);
		if (t >= 0)
			virEventRemoveTimeout(t);
		loop_owner = NULL;
	} else if (loop_owner == st) {
		loop_owner = NULL;
	}
	pthread_mutex_unlock(&loop_lock);
}

static const char *event_name(int event)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED:
		return "defined";
	case VIR_DOMAIN_EVENT_UNDEFINED:
		return "undefined";
	case VIR_DOMAIN_EVENT_STARTED:
		return "started";
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return "suspended";
	case VIR_DOMAIN_EVENT_RESUMED:
		return "resumed";
	case VIR_DOMAIN_EVENT_STOPPED:
		return "stopped";
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		return "shutdown";
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		return "pmsuspended";
	case VIR_DOMAIN_EVENT_CRASHED:
		return "crashed";
	default:
		return "unknown";
	}
}

/* The state a lifecycle event leaves the domain in, without asking
 * libvirt again from the loop thread. */
static const char *event_state(int event, int detail)
{
	switch (event) {
	case VIR_DOMAIN_EVENT_DEFINED:
		return "defined";
	case VIR_DOMAIN_EVENT_UNDEFINED:
		return "undefined";
	case VIR_DOMAIN_EVENT_STARTED:
	case VIR_DOMAIN_EVENT_RESUMED:
		return trellis_vm_state_name(TRELLIS_VM_RUNNING);
	case VIR_DOMAIN_EVENT_SUSPENDED:
		return trellis_vm_state_name(TRELLIS_VM_PAUSED);
	case VIR_DOMAIN_EVENT_STOPPED:
		return trellis_vm_state_name(
		    detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED
			? TRELLIS_VM_CRASHED
			: TRELLIS_VM_SHUTOFF);
	case VIR_DOMAIN_EVENT_SHUTDOWN:
		return trellis_vm_state_name(TRELLIS_VM_SHUTTING_DOWN);
	case VIR_DOMAIN_EVENT_PMSUSPENDED:
		return trellis_vm_state_name(TRELLIS_VM_SUSPENDED);
	case VIR_DOMAIN_EVENT_CRASHED:
		return trellis_vm_state_name(TRELLIS_VM_CRASHED);
	default:
		return trellis_vm_state_name(TRELLIS_VM_UNKNOWN);
	}
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event,
			int detail, void *opaque)
{
	struct lv_conn *c = opaque;
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	char det[16];
	(void)conn;
	virDomainGetUUIDString(dom, uuid);
	snprintf(det, sizeof det, "%d", detail);
	const char *name = virDomainGetName(dom);
	const char *kv[] = {"uuid",   uuid,
			    "name",   name ? name : "",
			    "state",  event_state(event, detail),
			    "event",  event_name(event),
			    "detail", det,
			    "uri",    c->uri,
			    NULL};
	c->st->host->event_publish(c->st->self, "vm.state", kv);
	return 0;
}

void lv_events_register(struct lv_conn *c)
{
	atomic_fetch_add(&c->refs, 1);
	c->lifecycle_cb = virConnectDomainEventRegisterAny(
	    c->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
	    VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), c, lv_conn_unref);
	if (c->lifecycle_cb < 0) {
		virErrorPtr e = virGetLastError();
		c->st->host->log(c->st->self, TRELLIS_LOG_WARNING,
				 "%s: no lifecycle events: %s", c->uri,
				 e && e->message ? e->message : "unknown");
		virResetLastError();
		atomic_fetch_sub(&c->refs, 1);
	}
}

void lv_events_deregister(struct lv_conn *c)
{
	if (c->lifecycle_cb < 0)
		return;
	if (virConnectDomainEventDeregisterAny(c->conn, c->lifecycle_cb) < 0)
		virResetLastError();
	c->lifecycle_cb = -1;
}
