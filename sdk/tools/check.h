/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check.h - the inside of trellis-plugin-check: the result log every check
 * writes to, and the contract between the driver (trellis-plugin-check.c)
 * and the per-kind scenarios (check_<kind>.c).
 *
 * A scenario calls the plugin only through core/dispatch, exactly as the
 * daemon does, and records one result per check with chk_pass/chk_fail/
 * chk_skip.  chk_expect() does the common case: it compares a finished
 * call with the code it should have given and insists that a failure
 * carries the plugin's own message (not the generic one dispatch fills in).
 *
 * A plugin that crashes or hangs in a check is reported as a FAIL of that
 * check (a signal handler and an alarm know which check is running).
 */
#ifndef TRELLIS_CHECK_H
#define TRELLIS_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/dispatch/dispatch.h"
#include "../../core/loader/loader.h"

/* The bit every op must reject. */
#define CHK_BAD_FLAG (1u << 31)

struct chk {
	struct trellis_plugin *p;
	const char *target; /* --target, NULL for the kind's default */
	/* --config's "options:": the checked target's own options (a pool's,
	 * a host's, a network context's), as trellisd would give them */
	const trellis_node_t *target_options;
	int allow_unavailable;		      /* --allow-unavailable */
	int json; /* -o json: results go into a JSON doc */
	unsigned passed, failed, skipped;
	void *results;	 /* json_t array for -o json */
	char prefix[16]; /* unique name prefix for what we create */
};

void chk_pass(struct chk *c, const char *check, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);
void chk_fail(struct chk *c, const char *check, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);
void chk_skip(struct chk *c, const char *check, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);

/* Names the check that is about to call the plugin (for crash and hang
 * reports) and arms a watchdog; chk_end() disarms it. */
void chk_begin(const char *check);
void chk_end(void);
/* Catches crashes and the watchdog's alarm; seconds per check. */
void chk_watchdog_install(void);
extern unsigned chk_timeout_s;

/* A fresh call context for the plugin under test. */
void chk_call(struct chk *c, trellis_call_t *call);

/*
 * Records check as passed when rc == want and, for a failure, the plugin
 * set its own non-empty message; as failed otherwise.  what describes the
 * call ("vol_info of a missing volume").  Returns 1 on pass, 0 on fail.
 */
int chk_expect(struct chk *c, const char *check, const char *what,
	       const trellis_call_t *call, int rc, int want);

/* Whether a finished call failed with a message the plugin set. */
int chk_has_own_message(const trellis_call_t *call, int rc);

/*
 * The op sweep every kind runs: for each op in its table, a present op
 * must reject CHK_BAD_FLAG with INVALID_ARG and a message ("flags:OP"),
 * and an absent op must come back from dispatch as NOTSUP ("notsup:OP").
 * invoke calls the op through dispatch on fixture fx with the given
 * flags; undo (may be NULL) cleans up after an invoke that unexpectedly
 * succeeded.  Ops without a flags parameter have invoke == NULL and are
 * only checked for presence.  When skip_present is not NULL, present ops
 * are not called and their flags check is skipped with that reason.
 */
struct chk_op {
	const char *name;
	size_t offset;
	int (*invoke)(struct chk *c, void *fx, trellis_call_t *call,
		      uint32_t flags);
	void (*undo)(struct chk *c, void *fx);
};
void chk_sweep(struct chk *c, const struct chk_op *ops, size_t n, void *fx,
	       const char *skip_present);

/*
 * The rule "an existing object under another key is CONFLICT, never
 * adopted": records check as passed when the create gave CONFLICT with the
 * plugin's own message and intact says the original is still there as it
 * was; as failed otherwise (gone_detail says what changed).
 */
void chk_not_adopted(struct chk *c, const char *check, const char *what,
		     const trellis_call_t *call, int rc, int intact,
		     const char *gone_detail);

/*
 * The 1.1 IF_KEY delete flags (TRELLIS_VOL_DELETE_IF_KEY,
 * TRELLIS_NET_PORT_DELETE_IF_KEY), for plugins built for ABI >= 1.1 that
 * accept the flag: make an object under key, delete it with flag under
 * another key (CONFLICT, and it is still there), then under key (gone),
 * then again (a missing one: success).  A plugin that refuses the flag as
 * unknown is skipped: the flag is optional.
 */
struct chk_if_key {
	const char *op; /* "vol_delete" */
	uint32_t flag;
	/* 0 when the object was made under key. */
	int (*make)(struct chk *c, void *fx, trellis_call_t *call,
		    const char *key);
	int (*del)(struct chk *c, void *fx, trellis_call_t *call,
		   const char *key, uint32_t flags);
	/* 1 when the object exists. */
	int (*exists)(struct chk *c, void *fx);
};
void chk_delete_if_key(struct chk *c, const struct chk_if_key *k, void *fx,
		       const char *key);

/* Opens the checked target as trellisd would: the options of --config
 * checked against the plugin's options schema, with its defaults. */
int chk_target_open(struct chk *c, trellis_call_t *call, const char *name,
		    const char *uri, uint32_t flags, struct tr_target **out);

/* The check that opens the target (connect, pool_open): chk_target_open
 * under check's watchdog.  1 when the target is UNAVAILABLE with a message
 * of its own and --allow-unavailable says that is fine (reported as a
 * PASS); otherwise its return, not reported (the caller says what a
 * failure means for its kind). */
int chk_open(struct chk *c, const char *check, trellis_call_t *call,
	     const char *name, const char *uri, uint32_t flags,
	     struct tr_target **out);

/* A target around a handle a check opened itself (a connect with a bad
 * flag that should have failed), to close it through the wrappers. */
#define CHK_BARE(p_, h_)                                                       \
	(&(struct tr_target){.plugin = (p_),                                   \
			     .handle = (h_),                                   \
			     .lock = PTHREAD_MUTEX_INITIALIZER})

/* The scenarios. */
void chk_hypervisor(struct chk *c);
void chk_storage(struct chk *c);
void chk_network(struct chk *c);
void chk_policy(struct chk *c);

#endif
