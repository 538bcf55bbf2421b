/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maint.h - maintenance mode of locked-down appliances (issue 22;
 * docs/maintenance.md): the windows, their timers and their close modes.
 *
 * A window is one row of table maint (migration maint-0001-windows): the
 * VM, its host and NIC port, who asked, the close mode, the deadlines
 * (window and password lifetime, unix seconds: the persisted timers),
 * the port rule, the escrow's withdraw token, what was seen (connected,
 * logged in, sessions) and the state:
 *   opening  the maint.enable workflow runs (deposit, password, port)
 *   open     the port is open for the window; the sshd log is followed
 *   session  an engineer logged in (the port is closed to new
 *            connections unless the mode is time)
 *   locking  the maint.disable workflow runs (close, end sessions, lock,
 *            withdraw)
 *   locked   the appliance is locked again; failed: enable failed (its
 *            undo locked it)
 * The access code is never stored: it is made here, handed to the
 * workflow as a secret input and given once to the requester's answer.
 *
 * Close modes (when the port closes before the window's end): time (only
 * the window's end), first-attempt (the first authentication attempt),
 * connect (the first connection), auth (the first login).  In every mode
 * but time a login closes the port, so further connections are refused
 * while the session goes on, past the window's end if need be; its
 * logoff locks the appliance.  The password's own lifetime locks the
 * account when it ends, whatever the port does.
 *
 * Every step is audited (table audit, op "maint:EVENT"): REQUEST,
 * GENERATED, DEPOSIT, PASSWORD_SET, PORT_OPENED, RETRIEVED (with the
 * engineer), FETCH_REFUSED, CONNECT, AUTH_FAILED, LOGIN, PORT_CLOSED,
 * PASSWORD_EXPIRED, WINDOW_EXPIRED, LOGOFF, DISABLE, LOCKED, LOCK_FAILED,
 * ENABLE_FAILED.  None holds a secret.  Each also goes out as event
 * "maint.EVENT".
 *
 * Main thread only.  tr_maint_start() loads the windows that are not
 * over and locks at once those whose window ended while trellisd was
 * down.
 */
#ifndef TRELLIS_CORE_MAINT_H
#define TRELLIS_CORE_MAINT_H

#include <jansson.h>
#include <stdint.h>

#include "../host/host.h"

struct tr_daemon;
struct tr_ident;

/* Starts the manager (d->maint): loads windows, arms the 1 s watch. */
int tr_maint_start(struct tr_daemon *d, char *err, size_t errlen);
void tr_maint_stop(struct tr_daemon *d);

/* An answer: result (stolen; NULL on failure) or the error in call. */
typedef void (*tr_maint_done_fn)(struct tr_daemon *d, void *arg,
				 json_t *result, trellis_call_t *call);

struct tr_maint_spec {
	const char *uuid, *name, *host, *bu; /* the VM (a record of the store) */
	const char *port_name;               /* its NIC's network port */
	const char *user;                    /* the guest account (root) */
	const char *mode;                    /* time first-attempt connect auth */
	const char *source;                  /* who may connect (CIDR) */
	const char *auth_log;                /* the guest's sshd log */
	int port;                            /* the remote-access port */
	int64_t window_ms, password_ttl_ms;
};

/* Opens a window: done gets {vm, name, code, state, mode, port,
 * window_expires_at, password_expires_at, instance} once the appliance is
 * open, or the error (escrow down: UNAVAILABLE, nothing opened; a window
 * already open: CONFLICT). */
void tr_maint_enable(struct tr_daemon *d, const struct tr_maint_spec *s,
		     const struct tr_ident *who, tr_maint_done_fn done,
		     void *arg);
/* Locks the VM's appliance again now; done gets the window's status
 * once it is locked. */
void tr_maint_disable(struct tr_daemon *d, const char *uuid,
		      const struct tr_ident *who, tr_maint_done_fn done,
		      void *arg);
/* The window of uuid (the last one), or NOTFOUND: {vm, name, state,
 * mode, port, user, requester, port_open, password_valid, sessions,
 * requested_at, opened_at, window_expires_at, password_expires_at,
 * connected_at, login_at, logoff_at, locked_at, reason, instance}. */
int tr_maint_status(struct tr_daemon *d, const char *uuid, json_t **out,
		    trellis_call_t *call);
/* The support engineer's retrieval of the password of code from the
 * escrow (once), audited with who and the engineer the escrow names.
 * reply_key (base64 X25519) is a one-time key of the engineer's client
 * and proof (borrowed; NULL: none, the escrow refuses) its signature of
 * code and reply_key with the engineer's key enrolled at the escrow
 * (core/escrow/engineer.h): done gets {sealed, engineer, vm?, name?}, the
 * password sealed to that key, never in clear in trellisd. */
void tr_maint_fetch(struct tr_daemon *d, const char *code,
		    const char *reply_key, json_t *proof,
		    const struct tr_ident *who, tr_maint_done_fn done,
		    void *arg);

#endif
