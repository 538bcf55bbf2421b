/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maint.c - the maint.* actions of maintenance mode (issue 22): the
 * escrow's side of maint.enable and maint.disable, and the support
 * engineer's retrieval.
 *
 * maint.deposit makes the one-time password and seals it to the vendor
 * escrow's public key (config escrow.*) under the access code it is
 * given, before anything touches the appliance: an escrow that does not
 * answer fails the workflow while the appliance is still locked.  The
 * access code is a secret input and the password a secret output: the
 * engine keeps both in memory for the steps that need them and redacts
 * them in the journal, logs, events and status.  The code reaches one
 * place only, the answer to the customer who asked (core/maint).  What
 * the deposit gives back besides is the withdraw token (escrow.h), which
 * can delete the entry but never fetch it.
 *
 * maint.withdraw deletes the entry by that token (the deposit's undo, and
 * disable).  The engineer's retrieval is no action (core/maint runs it
 * for support.fetch alone): an action could be called from any workflow,
 * and so by a caller who holds the code but not the support role.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "../config/config.h"
#include "../escrow/escrow.h"
#include "../runtime/daemon.h"
#include "../util/json.h"
#include "../util/log.h"
#include "action.h"

#define PASSWORD_LEN 24

static const struct tr_config *cfg(const struct tr_action_env *env)
{
	return env && env->daemon ? env->daemon->config : NULL;
}

static int no_escrow(trellis_call_t *call, const char *who)
{
	return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
			   "%s: no escrow configured (escrow.endpoint, "
			   "escrow.public_key): maintenance mode stays off",
			   who);
}

/* A code the engine redacted ("***", after a restart) cannot be used. */
static int code_ok(const char *code)
{
	return code && strlen(code) >= 16 && strcmp(code, "***") != 0;
}

static int run_deposit(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	const struct tr_config *c = cfg(env);
	json_t *ttl = json_object_get(args, "password_ttl");
	json_int_t ttl_ms = ttl ? json_integer_value(ttl) : 30 * 60 * 1000;
	char pw[PASSWORD_LEN + 1], wd[ESCROW_HASH_HEX];
	const char *vm = tr_json_str_opt(args, "uuid");
	const char *code = tr_json_str_opt(args, "code");
	if (!c || !c->escrow_endpoint || !c->escrow_public_key)
		return no_escrow(call, "maint.deposit");
	if (!code_ok(code))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "maint.deposit: no usable access code (a "
				   "replayed step cannot recover one: start "
				   "again)");
	if (ttl_ms < 10 * 1000 || ttl_ms > 24LL * 3600 * 1000)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "maint.deposit: password_ttl must be "
				   "within 10s..24h");
	if (tr_escrow_password_new(pw, sizeof pw) < 0)
		return tr_call_set(call, TRELLIS_E_IO,
				   "maint.deposit: no randomness");
	int64_t expires = (int64_t)time(NULL) + ttl_ms / 1000;
	int rc = tr_escrow_deposit(c->escrow_endpoint, c->escrow_public_key,
				   code, pw, expires, call);
	if (!rc) {
		tr_escrow_withdraw_token(code, wd);
		tr_info("maint: VM %s: password deposited in escrow, valid "
			"until %lld",
			vm ? vm : "?", (long long)expires);
		*result = json_pack("{s:s?, s:s, s:I, s:s}", "uuid", vm,
				    "password", pw, "expires_at",
				    (json_int_t)expires, "withdraw", wd);
	}
	sodium_memzero(pw, sizeof pw);
	return rc;
}

static int run_withdraw(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	const struct tr_config *c = cfg(env);
	const char *wd = tr_json_str_opt(args, "withdraw");
	if (!c || !c->escrow_endpoint)
		return no_escrow(call, "maint.withdraw");
	int rc = tr_escrow_withdraw(c->escrow_endpoint, wd, call);
	if (!rc)
		*result = json_pack("{s:b}", "withdrawn", 1);
	return rc;
}

static const struct tr_field deposit_in[] = {
    {"uuid", TR_T_STRING, 0, "the VM (for the log only; not sent)"},
    {"code", TR_T_SECRET, 1, "the access code the entry is kept under"},
    {"password_ttl", TR_T_DURATION, 0, "how long the password is valid "
				       "(default 30m)"},
    TR_FIELDS_END};
static const struct tr_field deposit_out[] = {
    {"uuid", TR_T_STRING, 0, "the VM"},
    {"password", TR_T_SECRET, 1, "the one-time password (never shown)"},
    {"expires_at", TR_T_INT, 1, "unix time the escrow entry expires"},
    {"withdraw", TR_T_STRING, 1, "the token that deletes the entry (it "
				 "cannot fetch it)"},
    TR_FIELDS_END};
static const struct tr_field withdraw_in[] = {
    {"withdraw", TR_T_STRING, 1, "the withdraw token of maint.deposit"},
    TR_FIELDS_END};
static const struct tr_field withdraw_out[] = {
    {"withdrawn", TR_T_BOOL, 1, "the entry is gone"}, TR_FIELDS_END};
static const struct tr_action actions[] = {
    {.name = "maint.deposit",
     .description =
	 "Make a one-time password; seal and deposit it in the vendor's "
	 "escrow under an access code",
     .input = deposit_in,
     .output = deposit_out,
     .run = run_deposit,
     .undo = "maint.withdraw",
     .flags = TR_ACTION_MUTATES},
    {.name = "maint.withdraw",
     .description = "Delete an escrow entry by its withdraw token (gone: fine)",
     .input = withdraw_in,
     .output = withdraw_out,
     .run = run_withdraw,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_maint(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
