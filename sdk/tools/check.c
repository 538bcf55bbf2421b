/* SPDX-License-Identifier: Apache-2.0 */
/* check.c - results, expectations, watchdog and the op sweep (check.h). */
#include "../../core/loader/confschema.h"
#include "../../core/util/node.h"
#include "check.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void record(struct chk *c, const char *result, const char *check,
		   const char *fmt, va_list ap) TRELLIS_PRINTF(4, 0);
static void record(struct chk *c, const char *result, const char *check,
		   const char *fmt, va_list ap)
{
	char detail[2048];
	vsnprintf(detail, sizeof detail, fmt, ap);
	if (c->json) {
		char lower[8];
		size_t i;
		for (i = 0; result[i] && i + 1 < sizeof lower; i++)
			lower[i] = (char)(result[i] | 0x20);
		lower[i] = '\0';
		json_array_append_new(
		    c->results, json_pack("{s:s, s:s, s:s}", "check", check,
					  "result", lower, "detail", detail));
	} else {
		printf("%s %s: %s\n", result, check, detail);
		fflush(stdout);
	}
}

void chk_pass(struct chk *c, const char *check, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(c, "PASS", check, fmt, ap);
	va_end(ap);
	c->passed++;
}

void chk_fail(struct chk *c, const char *check, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(c, "FAIL", check, fmt, ap);
	va_end(ap);
	c->failed++;
}

void chk_skip(struct chk *c, const char *check, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	record(c, "SKIP", check, fmt, ap);
	va_end(ap);
	c->skipped++;
}

/* ---- watchdog: which check is running, for crash and hang reports ---- */

static const char *volatile current = "load";
unsigned chk_timeout_s = 120;

static void say(const char *s)
{
	ssize_t w = write(STDOUT_FILENO, s, strlen(s));
	(void)w;
}

static void on_fatal(int sig)
{
	/* Only async-signal-safe calls here. */
	say("FAIL ");
	say(current);
	if (sig == SIGALRM) {
		say(": the plugin did not answer in time (hung?)\n");
	} else {
		say(": the plugin crashed (signal ");
		say(sig == SIGSEGV  ? "SIGSEGV"
		    : sig == SIGBUS ? "SIGBUS"
		    : sig == SIGFPE ? "SIGFPE"
		    : sig == SIGILL ? "SIGILL"
				    : "SIGABRT");
		say(")\n");
	}
	_exit(1);
}

void chk_watchdog_install(void)
{
	static const int sigs[] = {SIGSEGV, SIGBUS,  SIGFPE,
				   SIGILL,  SIGABRT, SIGALRM};
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		sigaction(sigs[i], &sa, NULL);
}

void chk_begin(const char *check)
{
	current = check;
	alarm(chk_timeout_s);
}

void chk_end(void)
{
	alarm(0);
	current = "(between checks)";
}

void chk_call(struct chk *c, trellis_call_t *call)
{
	tr_call_init(call, c->p->name);
}

int chk_has_own_message(const trellis_call_t *call, int rc)
{
	return rc < 0 && call->has_error && !call->generic &&
	       call->message[0] != '\0';
}

int chk_expect(struct chk *c, const char *check, const char *what,
	       const trellis_call_t *call, int rc, int want)
{
	if (want == 0 && rc >= 0) {
		chk_pass(c, check, "%s: OK", what);
		return 1;
	}
	if (rc == want) {
		if (chk_has_own_message(call, rc)) {
			chk_pass(c, check, "%s: %s: %s", what,
				 trellis_error_name(rc), call->message);
			return 1;
		}
		chk_fail(c, check,
			 "%s: %s as it should, but without a message (call "
			 "host->set_error() before returning an error)",
			 what, trellis_error_name(rc));
		return 0;
	}
	if (rc >= 0)
		chk_fail(c, check, "%s: succeeded, want %s", what,
			 trellis_error_name(want));
	else
		chk_fail(c, check, "%s: got %s (%s), want %s", what,
			 trellis_error_name(rc), call->message,
			 want ? trellis_error_name(want) : "success");
	return 0;
}

void chk_sweep(struct chk *c, const struct chk_op *ops, size_t n, void *fx,
	       const char *skip_present)
{
	for (size_t i = 0; i < n; i++) {
		const struct chk_op *op = &ops[i];
		char check[64], what[128];
		trellis_call_t call;
		if (!op->invoke)
			continue;
		int present = tr_plugin_has_op(c->p, op->offset);
		if (present && skip_present) {
			snprintf(check, sizeof check, "flags:%s", op->name);
			chk_skip(c, check, "%s", skip_present);
			continue;
		}
		chk_call(c, &call);
		if (present) {
			snprintf(check, sizeof check, "flags:%s", op->name);
			snprintf(what, sizeof what,
				 "%s with unknown flag bit 31", op->name);
			chk_begin(check);
			int rc = op->invoke(c, fx, &call, CHK_BAD_FLAG);
			chk_end();
			if (rc >= 0 && op->undo)
				op->undo(c, fx);
			chk_expect(c, check, what, &call, rc,
				   TRELLIS_E_INVALID_ARG);
			continue;
		}
		snprintf(check, sizeof check, "notsup:%s", op->name);
		chk_begin(check);
		int rc = op->invoke(c, fx, &call, 0);
		chk_end();
		if (rc == TRELLIS_E_NOTSUP &&
		    strstr(call.message, "does not support"))
			chk_pass(c, check, "%s is absent; dispatch says: %s",
				 op->name, call.message);
		else
			chk_fail(c, check,
				 "%s is absent but dispatch gave %s (%s), "
				 "want NOTSUP",
				 op->name, trellis_error_name(rc),
				 call.message);
	}
}

void chk_not_adopted(struct chk *c, const char *check, const char *what,
		     const trellis_call_t *call, int rc, int intact,
		     const char *gone_detail)
{
	if (rc == TRELLIS_E_CONFLICT && chk_has_own_message(call, rc) &&
	    !intact) {
		chk_fail(c, check,
			 "%s: CONFLICT as it should, but the original object "
			 "changed: %s",
			 what, gone_detail);
		return;
	}
	if (rc >= 0) {
		chk_fail(c, check, "%s: succeeded, want CONFLICT: %s", what,
			 intact ? "the existing object was adopted (another "
				  "request's undo would delete it)"
				: gone_detail);
		return;
	}
	chk_expect(c, check, what, call, rc, TRELLIS_E_CONFLICT);
}

void chk_delete_if_key(struct chk *c, const struct chk_if_key *k, void *fx,
		       const char *key)
{
	char check[96], other[160], what[160];
	trellis_call_t call;
	int rc;

	snprintf(check, sizeof check, "idempotent:%s-if-key", k->op);
	if (c->p->desc->abi_minor < 1) {
		chk_skip(c, check, "an ABI 1.%u plugin: the IF_KEY flag is 1.1",
			 c->p->desc->abi_minor);
		return;
	}
	chk_call(c, &call);
	chk_begin(check);
	rc = k->make(c, fx, &call, key);
	chk_end();
	if (rc < 0) {
		chk_fail(c, check, "making the object for %s failed: %s: %s",
			 k->op, trellis_error_name(rc), call.message);
		return;
	}
	snprintf(other, sizeof other, "%s-other", key);
	chk_call(c, &call);
	chk_begin(check);
	rc = k->del(c, fx, &call, other, k->flag);
	chk_end();
	/* The core passes the flag to every 1.1 plugin (an undo, a
	 * destroy): refusing it would leave every compensation behind. */
	if (rc == TRELLIS_E_INVALID_ARG && k->exists(c, fx)) {
		chk_fail(c, check,
			 "%s refuses the IF_KEY flag 0x%x (%s): an ABI 1.1 "
			 "plugin must implement it (the core's undo and "
			 "vm.destroy pass it)",
			 k->op, k->flag, call.message);
		chk_call(c, &call);
		k->del(c, fx, &call, key, 0);
		return;
	}
	snprintf(what, sizeof what, "%s with IF_KEY under another key", k->op);
	chk_not_adopted(c, check, what, &call, rc, k->exists(c, fx),
			"it was deleted");

	snprintf(check, sizeof check, "idempotent:%s-if-key-own", k->op);
	chk_call(c, &call);
	chk_begin(check);
	rc = k->del(c, fx, &call, key, k->flag);
	chk_end();
	if (rc >= 0 && k->exists(c, fx))
		chk_fail(c, check,
			 "%s with IF_KEY under the making key succeeded but "
			 "the object is still there",
			 k->op);
	else
		chk_expect(c, check,
			   "IF_KEY delete under the key that made it", &call,
			   rc, 0);
	chk_call(c, &call);
	chk_begin(check);
	rc = k->del(c, fx, &call, key, k->flag);
	chk_end();
	snprintf(check, sizeof check, "idempotent:%s-if-key-missing", k->op);
	chk_expect(c, check, "IF_KEY delete of an object already gone", &call,
		   rc, 0);
}

int chk_open(struct chk *c, const char *check, trellis_call_t *call,
	     const char *name, const char *uri, uint32_t flags,
	     struct tr_target **out)
{
	chk_call(c, call);
	chk_begin(check);
	int rc = chk_target_open(c, call, name, uri, flags, out);
	chk_end();
	if (rc == TRELLIS_E_UNAVAILABLE && c->allow_unavailable &&
	    chk_has_own_message(call, rc)) {
		chk_pass(c, check, "%s is UNAVAILABLE, as allowed: %s", uri,
			 call->message);
		return 1;
	}
	return rc;
}

/* The options live as long as the target: kept here, freed at exit. */
static trellis_node_t *opened_options[8];

int chk_target_open(struct chk *c, trellis_call_t *call, const char *name,
		    const char *uri, uint32_t flags, struct tr_target **out)
{
	trellis_node_t *opt = NULL;
	*out = NULL;
	int rc = tr_plugin_open_options(c->p, c->target_options,
					"--config options", call, &opt);
	if (rc < 0)
		return rc;
	rc = tr_target_open(c->p, call, name, uri, opt, flags, out);
	for (size_t i = 0; opt && i < 8; i++)
		if (!opened_options[i]) {
			opened_options[i] = opt;
			opt = NULL;
		}
	tr_node_free(opt); /* more than 8 opens: never in one run */
	return rc;
}
