/* SPDX-License-Identifier: Apache-2.0 */
/*
 * relay.h - the core's side of private zones: the agents' listener (the
 * secure link of core/link over nanomsg), their sessions, enrolment and
 * the relay of actions to them.  docs/agent.md is the protocol.
 *
 * The state (struct tr_relay, d->relay) is made by tr_relay_start() and
 * freed by tr_relay_stop().  One thread of its own receives from the
 * listeners and runs the handshakes and the frames' crypto; every
 * decision that reads or writes the store (an agent's enrolment, its
 * key's check, its hosts' state) runs on the main thread.
 *
 * Threads: tr_relay_start/stop, tr_relay_kick and the store functions
 * are for the main thread; tr_relay_status and tr_relay_call for any.
 */
#ifndef TRELLIS_CORE_RELAY_RELAY_H
#define TRELLIS_CORE_RELAY_RELAY_H

#include <jansson.h>
#include <stddef.h>

#include "../runtime/daemon.h"
#include "../store/sql.h"

/* Loads (or makes, 0600) STATE_DIR/link.key, binds every agents.listen
 * URL and starts the thread.  With no URL it does nothing and returns 0.
 * -1 with err set otherwise. */
int tr_relay_start(struct tr_daemon *d, char *err, size_t errlen);
void tr_relay_stop(struct tr_daemon *d);

/* The core's long-term key pair (STATE_DIR/link.key), made if need be:
 * the agents' listener and the API's tcp:// listeners share it. */
struct tr_link_keypair;
int tr_relay_core_keypair(const char *state_dir, struct tr_link_keypair *kp,
			  char *err, size_t errlen);

/* The core's long-term public key, in hex (65 bytes), made if need be. */
int tr_relay_core_key(const char *state_dir, char hex[65], char *err,
		      size_t errlen);

/* Closes agent's link at once, if it has one (revoked, removed): 1 when
 * a link was closed, 0 when none was up. */
int tr_relay_kick(struct tr_daemon *d, const char *agent, const char *why);

/* Sends msg (stolen) to agent's link, if it is up (any thread but the
 * relay's): 1 when queued, 0 when the agent is not connected. */
int tr_relay_tell(struct tr_daemon *d, const char *agent, json_t *msg);

/* What the relay knows of agent now: {connected, since, endpoint,
 * last_beat_ms_ago} (a new reference), never NULL. */
json_t *tr_relay_status(struct tr_daemon *d, const char *agent);

/* The listen URLs, for agent bundles (borrowed, NULL-terminated). */
char *const *tr_relay_urls(struct tr_daemon *d);

/*
 * Runs action on agent's site: sends {"t":"cmd", id, action, args, idem,
 * host, records} (host: the host's record, so the agent need not look it
 * up; records: the pool's or segment's, {"pool": {...}}; both may be
 * NULL) and
 * waits for the answer.  Blocks (a worker).  The command stays pending
 * across the agent's reconnects, sent again under the same id each time
 * it authenticates, and the agent runs an id once (docs/agent.md): so
 * a command runs once however often the link drops.  Gives up (TIMEOUT)
 * after timeout_ms, or when call is cancelled (the step's timeout).
 * 0 with *result (a new reference), or the agent's error in call.
 */
int tr_relay_call(struct tr_daemon *d, const char *agent, const char *action,
		  json_t *args, const char *idem_key, json_t *host,
		  json_t *records, unsigned timeout_ms, json_t **result,
		  trellis_call_t *call);

/* Who records an agent's inventory report (main thread): hosts is the
 * array of hypervisor.host_probe results the agent sent.  core/inventory
 * (a floor above) sets it; the relay only carries the report. */
typedef void (*tr_relay_report_fn)(struct tr_daemon *d, const char *agent,
				   json_t *hosts);
void tr_relay_set_report_fn(struct tr_daemon *d, tr_relay_report_fn fn);

/* Who records an agent's delta (main thread): one VM's change on host,
 * as its plugin's vm.state event says it (uuid, name, state, event,
 * uri, plugin).  core/inventory sets it too. */
typedef void (*tr_relay_delta_fn)(struct tr_daemon *d, const char *agent,
				  const char *host, json_t *vm);
void tr_relay_set_delta_fn(struct tr_daemon *d, tr_relay_delta_fn fn);

/* The agent a host is reached through, or "" (direct). */
int tr_agent_host_bind(struct tr_sql *db, const char *host, const char *agent,
		       char *msg, size_t msglen);

/* ---- the store's side (agents.c), main thread ---- */

/* A new one-time enrolment token for zone (a private zone), valid ttl_s
 * seconds: *token ("tre_" + 64 hex, malloc()ed) is shown once; only its
 * BLAKE2b-256 is kept.  0, or NOTFOUND / INVALID_ARG with msg set. */
int tr_agent_token_new(struct tr_sql *db, const char *zone, long ttl_s,
		       char **token, long long *expires, char *msg,
		       size_t msglen);

/* Enrolment: binds pk (hex) to a new agent name in zone, burning token,
 * in one transaction.  0, or PERMISSION / CONFLICT with msg the reason;
 * nothing is changed then.  A token burnt by this very name and key (an
 * agent whose link went before its welcome came) is 0 again, changing
 * nothing. */
struct tr_store;
int tr_agent_enrol(struct tr_store *store, const char *token, const char *zone,
		   const char *name, const char *pk, char *msg, size_t msglen);

/* A returning agent: 0 when pk is name's key and name is not revoked
 * (*zone gets its zone), else PERMISSION with msg the reason. */
int tr_agent_check(struct tr_sql *db, const char *name, const char *pk,
		   char *zone, size_t zonelen, char *msg, size_t msglen);

/* The agents (name, zone, pubkey, enrolled_at, revoked_at), or one. */
json_t *tr_agent_list(struct tr_sql *db, const char *name);

/* Marks name revoked: 0, NOTFOUND, or CONFLICT when already revoked. */
int tr_agent_revoke(struct tr_sql *db, const char *name, char *msg,
		    size_t msglen);

/* Sets the state of every host behind agent (up, disconnected). */
void tr_agent_hosts_state(struct tr_sql *db, const char *agent,
			  const char *state, const char *error);

#endif
