/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lookup.h - read-only inventory lookups for action files, and running an
 * action on a worker for an API op.
 *
 * Actions run on worker threads, and a worker never touches the daemon's
 * store handle (the main thread is its only writer).  An action that must
 * turn a name from its arguments into a record - a pool into its plugin
 * and directory, a segment into its VNI - opens its own read-only WAL
 * reader here, reads, and closes it.
 */
#ifndef TRELLIS_CORE_ACTIONS_LOOKUP_H
#define TRELLIS_CORE_ACTIONS_LOOKUP_H

#include <jansson.h>

#include "../runtime/daemon.h"
#include "../store/store.h"

/* tr_store_get() on a reader of d's store; UNAVAILABLE without a daemon
 * (offline tools).  *out is a new reference on success. */
int tr_lookup(struct tr_daemon *d, enum tr_kind kind, const char *ref,
	      json_t **out, trellis_call_t *call);

/* tr_lookup(), but first in the records a relayed command brought
 * (env->records, on an agent): the record under kind's name ("pool",
 * "segment") when its "name" is ref. */
struct tr_action_env;
int tr_lookup_env(const struct tr_action_env *env, enum tr_kind kind,
		  const char *ref, json_t **out, trellis_call_t *call);

/* Runs fn(reader, arg, call) on a read-only reader of d's store (for
 * reads that are more than one record); fn's result, or the reader's
 * error.  what names the read in messages. */
int tr_lookup_with(struct tr_daemon *d, const char *what,
		   int (*fn)(struct tr_store *s, void *arg,
			     trellis_call_t *call),
		   void *arg, trellis_call_t *call);

/*
 * Refuses to delete an object that a VM other than vm (a uuid; NULL or
 * "": any VM) owns: one whose record's spec lists, in list ("disks",
 * "ports"), an entry with field ("pool", "host") equal to where and
 * "name" equal to name.  0 when no other VM owns it; CONFLICT naming what
 * (the object, "volume 'P/N'") and its VM; or an error.
 */
int tr_lookup_not_others(struct tr_daemon *d, const char *list,
			 const char *field, const char *where,
			 const char *name, const char *vm, const char *what,
			 trellis_call_t *call);

/*
 * Runs action name with args (stolen) on a worker, as a workflow step
 * would (same schema check, same code), then on the main thread calls
 * done with the result (NULL on failure) and the finished call; done
 * answers the request.  Returns 0, or an error after calling done.
 */
typedef void (*tr_action_done_fn)(struct tr_daemon *d, void *arg,
				  json_t *result, trellis_call_t *call);
int tr_action_submit(struct tr_daemon *d, const char *name, json_t *args,
		     tr_action_done_fn done, void *arg);

/*
 * A pool's options as its plugin's open op gets them: when they name a
 * credential (core/creds), with the credential's options under them and
 * its endpoint and username added (never its secret: the plugin reads it
 * by name).  A credential for another storage adapter than plugin is
 * INVALID_ARG.  A new reference (or options itself, referenced), or NULL
 * with *rc and call set.  adapters.c.
 */
json_t *tr_pool_options(const char *plugin, json_t *options,
			trellis_call_t *call, int *rc);

#endif
