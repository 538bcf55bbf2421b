/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_agent.c - private zones' agents (core/relay, docs/agent.md):
 * zone.token and zone.agent_bundle (a one-time enrolment token, shown
 * once), agent.list/show/revoke.  Revoking closes the agent's link at
 * once.  Enrolment itself happens on the link, never here.
 */
#include <sodium.h>
#include <string.h>

#include <trellis/error.h>

#include "../relay/relay.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "api_int.h"

static int new_token(struct tr_daemon *d, struct tr_req *req, json_t *args,
		     char **token, long long *expires, int say)
{
	const char *zone = json_string_value(json_object_get(args, "name"));
	json_t *ttl = json_object_get(args, "ttl");
	long ttl_s = ttl ? (long)(json_integer_value(ttl) / 1000) : 3600;
	if (ttl && ttl_s <= 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "zone.token: ttl must be at least 1s");
		return -1;
	}
	char msg[256];
	int rc = tr_agent_token_new(tr_store_sql(d->store), zone, ttl_s, token,
				    expires, msg, sizeof msg);
	if (rc) {
		tr_req_fail(req, rc, NULL, "%s", msg);
		return -1;
	}
	if (say)
		tr_info("zone '%s': an enrolment token was issued (expires "
			"%lld)", zone, *expires);
	return 0;
}

#define MAX_TOKENS 10000

/* zone.token: one token, or with count N (at most MAX_TOKENS) N tokens
 * in one transaction, for a fleet's enrolment (and the benchmark): all
 * or none are stored. */
static void zone_token(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	json_t *cv = json_object_get(args, "count");
	json_int_t count = cv ? json_integer_value(cv) : 1;
	if (count < 1 || count > MAX_TOKENS) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "zone.token: count must be 1 to %d", MAX_TOKENS);
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_store_begin(d->store, &call) < 0) {
		tr_req_fail(req, call.code, NULL, "%s", call.message);
		return;
	}
	json_t *list = json_array();
	long long exp = 0;
	for (json_int_t i = 0; i < count; i++) {
		char *token;
		if (new_token(d, req, args, &token, &exp, i == 0) < 0) {
			tr_store_rollback(d->store);
			json_decref(list);
			return;
		}
		json_array_append_new(list, json_string(token));
		sodium_memzero(token, strlen(token));
		free(token);
	}
	if (tr_store_commit(d->store, &call) < 0) {
		json_decref(list);
		tr_req_fail(req, call.code, NULL, "%s", call.message);
		return;
	}
	const char *zone = json_string_value(json_object_get(args, "name"));
	if (count > 1)
		tr_info("zone '%s': %lld enrolment tokens were issued "
			"(expire %lld)", zone, (long long)count, exp);
	json_t *res = json_pack("{s:s, s:O, s:I}", "zone", zone, "token",
				json_array_get(list, 0), "expires_at",
				(json_int_t)exp);
	if (cv)
		json_object_set(res, "tokens", list);
	json_decref(list);
	tr_req_ok(req, res);
}

static void zone_agent_bundle(struct tr_daemon *d, struct tr_req *req,
			      json_t *args)
{
	char hex[65], err[512];
	if (tr_relay_core_key(d->state_dir, hex, err, sizeof err) < 0) {
		tr_req_fail(req, TRELLIS_E_IO, NULL, "%s", err);
		return;
	}
	json_t *eps = json_array();
	const char *given = json_string_value(json_object_get(args, "endpoints"));
	if (given) {
		char *dup = tr_xstrdup(given), *save = NULL;
		for (char *t = strtok_r(dup, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			json_array_append_new(eps, json_string(t));
		free(dup);
	} else {
		for (char *const *u = tr_relay_urls(d); *u; u++)
			json_array_append_new(eps, json_string(*u));
	}
	if (json_array_size(eps) == 0) {
		json_decref(eps);
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "zone.agent_bundle: the core listens for no agent "
			    "(agents.listen) and no endpoints were given");
		return;
	}
	char *token;
	long long exp;
	if (new_token(d, req, args, &token, &exp, 1) < 0) {
		json_decref(eps);
		return;
	}
	tr_req_ok(req, json_pack("{s:i, s:s, s:s, s:s, s:o, s:I}", "bundle", 1,
				 "zone",
				 json_string_value(json_object_get(args, "name")),
				 "token", token, "core_key", hex, "endpoints",
				 eps, "expires_at", (json_int_t)exp));
	sodium_memzero(token, strlen(token));
	free(token);
}

static void agent_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	json_t *items = tr_agent_list(tr_store_sql(d->store), NULL);
	size_t i;
	json_t *a;
	json_array_foreach(items, i, a)
		json_object_set_new(a, "link",
				    tr_relay_status(d, json_string_value(
							       json_object_get(a, "name"))));
	tr_req_ok(req, json_pack("{s:o, s:n}", "items", items, "next"));
}

static void agent_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *items = tr_agent_list(tr_store_sql(d->store), name);
	json_t *a = json_array_get(items, 0);
	if (!a) {
		json_decref(items);
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "agent '%s' not found", name);
		return;
	}
	json_incref(a);
	json_decref(items);
	json_object_set_new(a, "link", tr_relay_status(d, name));
	tr_req_ok(req, a);
}

static void agent_revoke(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	char msg[256];
	int rc = tr_agent_revoke(tr_store_sql(d->store), name, msg, sizeof msg);
	if (rc) {
		tr_req_fail(req, rc, NULL, "%s", msg);
		return;
	}
	int closed = tr_relay_kick(d, name, "revoked");
	tr_agent_hosts_state(tr_store_sql(d->store), name, "disconnected",
			     "agent revoked");
	tr_info("agent '%s' revoked%s", name,
		closed ? "; its link is closed" : "");
	tr_req_ok(req, json_pack("{s:s, s:b}", "name", name, "link_closed",
				 closed));
}

static const struct tr_field token_args[] = {
	{"name", TR_T_STRING, 1, "the private zone"},
	{"ttl", TR_T_DURATION, 0, "how long the token may be used (default 1h)"},
	{"count", TR_T_INT, 0,
	 "issue this many tokens at once, 1 to 10000 (answer: tokens)"},
	TR_FIELDS_END};
static const struct tr_field bundle_args[] = {
	{"name", TR_T_STRING, 1, "the private zone"},
	{"ttl", TR_T_DURATION, 0, "how long the token may be used (default 1h)"},
	{"endpoints", TR_T_STRING, 0,
	 "comma-separated URLs the agent dials (default: agents.listen)"},
	TR_FIELDS_END};
static const struct tr_field name_arg[] = {
	{"name", TR_T_STRING, 1, "the agent"}, TR_FIELDS_END};
static const struct tr_field no_args[] = {TR_FIELDS_END};

#define M TR_OP_MUTATES
static const struct tr_api_op ops[] = {
    {.name = "zone.token",
     .description = "issue a one-time agent enrolment token (shown once)",
     .args = token_args,
     .handler = zone_token,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "zone.agent_bundle",
     .description =
	 "a ready agent config: a new token, the core's key and endpoints",
     .args = bundle_args,
     .handler = zone_agent_bundle,
     .flags = M,
     .perm = TR_PERM_DC},
    {.name = "agent.list",
     .description = "list enrolled agents and their links",
     .args = no_args,
     .handler = agent_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "agent.show",
     .description = "show an agent and its link",
     .args = name_arg,
     .handler = agent_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "agent.revoke",
     .description = "revoke an agent; its link closes at once",
     .args = name_arg,
     .handler = agent_revoke,
     .flags = M,
     .perm = TR_PERM_DC},
};

void tr_api_register_agent(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
