/* SPDX-License-Identifier: Apache-2.0 */
/*
 * maint.c - the maint.* actions of maintenance mode (issue 22): the
 * escrow side of maint.enable.
 *
 * maint.deposit makes the one-time password and the access code, seals
 * the password to the vendor escrow's public key (config escrow.*) and
 * deposits it, before anything touches the appliance: an escrow that does
 * not answer fails the workflow while the appliance is still locked.  The
 * password is a secret output (the engine keeps it in memory for the next
 * step and redacts it everywhere else); the access code is what the
 * customer passes on, so it is a plain output.  No log line names either.
 * maint.withdraw deletes the entry (the deposit's undo, and disable).
 */
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

static int run_deposit(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	const struct tr_config *c = cfg(env);
	json_t *ttl = json_object_get(args, "password_ttl");
	json_int_t ttl_ms = ttl ? json_integer_value(ttl) : 30 * 60 * 1000;
	char code[ESCROW_CODE_LEN + 1], pw[PASSWORD_LEN + 1];
	const char *vm = tr_json_str_opt(args, "uuid");
	if (!c || !c->escrow_endpoint || !c->escrow_public_key)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "maint.deposit: no escrow configured "
				   "(escrow.endpoint, escrow.public_key): "
				   "maintenance mode stays off");
	if (ttl_ms < 60 * 1000 || ttl_ms > 24LL * 3600 * 1000)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "maint.deposit: password_ttl must be "
				   "within 1m..24h");
	if (escrow_code_new(code, sizeof code) < 0 ||
	    escrow_password_new(pw, sizeof pw) < 0)
		return tr_call_set(call, TRELLIS_E_IO,
				   "maint.deposit: no randomness");
	int64_t expires = (int64_t)time(NULL) + ttl_ms / 1000;
	int rc = escrow_deposit(c->escrow_endpoint, c->escrow_public_key, code,
				pw, expires, call);
	if (!rc) {
		tr_info("maint: VM %s: password deposited in escrow, valid "
			"until %lld (audit MAINT_DEPOSIT)",
			vm ? vm : "?", (long long)expires);
		*result = json_pack("{s:s?, s:s, s:s, s:I}", "uuid", vm, "code",
				    code, "password", pw, "expires_at",
				    (json_int_t)expires);
	}
	sodium_memzero(pw, sizeof pw);
	sodium_memzero(code, sizeof code);
	return rc;
}

static int run_withdraw(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call)
{
	const struct tr_config *c = cfg(env);
	const char *code = tr_json_str_opt(args, "code");
	if (!c || !c->escrow_endpoint)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "maint.withdraw: no escrow configured");
	int rc = escrow_delete(c->escrow_endpoint, code, call);
	if (!rc)
		*result = json_pack("{s:b}", "withdrawn", 1);
	return rc;
}

static const struct tr_field deposit_in[] = {
    {"uuid", TR_T_STRING, 0, "the VM (for the log only; not sent)"},
    {"password_ttl", TR_T_DURATION, 0, "how long the password is valid "
				       "(default 30m)"},
    TR_FIELDS_END};
static const struct tr_field deposit_out[] = {
    {"uuid", TR_T_STRING, 0, "the VM"},
    {"code", TR_T_STRING, 1, "the access code for the support engineer"},
    {"password", TR_T_SECRET, 1, "the one-time password (never shown)"},
    {"expires_at", TR_T_INT, 1, "unix time the escrow entry expires"},
    TR_FIELDS_END};
static const struct tr_field withdraw_in[] = {
    {"code", TR_T_STRING, 1, "the access code"},
    TR_FIELDS_END};
static const struct tr_field withdraw_out[] = {
    {"withdrawn", TR_T_BOOL, 1, "the entry is gone"}, TR_FIELDS_END};

static const struct tr_action actions[] = {
    {"maint.deposit",
     "Make a one-time password and access code; seal and deposit the "
     "password in the vendor's escrow",
     deposit_in, deposit_out, run_deposit, "maint.withdraw", TR_ACTION_MUTATES},
    {"maint.withdraw", "Delete an escrow entry by its access code (gone: fine)",
     withdraw_in, withdraw_out, run_withdraw, NULL, TR_ACTION_MUTATES},
};

void tr_actions_register_maint(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
