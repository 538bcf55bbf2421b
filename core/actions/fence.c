/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fence.c - the actions of host HA (core/ha): ha.probe, the health check
 * of one host, and fence.script, the fencing action that ships.
 *
 * ha.probe asks two things and reports both, never failing itself: does
 * the host's hypervisor answer (hypervisor.host_probe on a fresh
 * connection when the cached one broke), and does the operator's probe
 * command (ha.probe in the config: a ping, an IPMI sensor read, a look at
 * a storage heartbeat...) exit 0.  core/ha declares a host failed only
 * when both have failed for ha.fail_after.
 *
 * Fencing is an action, so that another fence (ipmitool, Redfish) is
 * another action named by ha.fence_action; each takes {host, uri,
 * hostname, command, timeout} and succeeds only once the host can no
 * longer run its VMs.  fence.script runs command (ha.fence: an argv, with
 * {host}, {uri} and {hostname} replaced) and succeeds when it exits 0.
 * fence_ipmilan or a Redfish curl fit there as they are.
 *
 * Both run on a worker (they block).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host/exec.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "action.h"
#include "bmc.h"

#define S(o, k) json_string_value(json_object_get((o), (k)))

/* args[list] as an argv with {host}, {uri} and {hostname} replaced; NULL
 * when the list is empty or holds a non-string. */
static char **argv_of(json_t *args, const char *list)
{
	json_t *l = json_object_get(args, list), *e;
	size_t n = json_array_size(l), i;
	if (!n)
		return NULL;
	char **v = tr_xcalloc(n + 1, sizeof *v);
	json_array_foreach(l, i, e)
	{
		const char *a = json_string_value(e);
		if (!a) {
			for (size_t j = 0; j < i; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
		char buf[4096];
		tr_fence_expand(args, a, buf, sizeof buf);
		v[i] = tr_xstrdup(buf);
	}
	return v;
}

static void argv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* Runs args[list]: 0 when it exits 0, else the error (why in call). */
static int run_cmd(json_t *args, const char *list, unsigned timeout_ms,
		   const char *what, trellis_call_t *call)
{
	char **argv = argv_of(args, list);
	if (!argv)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "%s: command must be a non-empty list of "
				   "strings",
				   what);
	char *out = NULL, *err = NULL;
	int status = -1;
	int rc = tr_exec(call, (const char *const *)argv, timeout_ms, &out, &err,
			 &status);
	if (!rc && status != 0) {
		size_t n = err ? strlen(err) : 0;
		while (n && (err[n - 1] == '\n' || err[n - 1] == '\r'))
			err[--n] = '\0';
		rc = tr_call_set(call, TRELLIS_E_BACKEND,
				 "%s %s: exit status %d%s%.300s", what, argv[0],
				 status, n ? ": " : "", n ? err : "");
	}
	free(out);
	free(err);
	argv_free(argv);
	return rc;
}

static unsigned timeout_of(json_t *args, unsigned dflt)
{
	json_t *t = json_object_get(args, "timeout");
	return t ? (unsigned)json_integer_value(t) : dflt;
}

static int run_probe(const struct tr_action_env *env, json_t *args,
		     json_t **result, trellis_call_t *call)
{
	const struct tr_action *hp = tr_action_find("hypervisor.host_probe");
	char conn_err[512] = "", probe_err[512] = "";
	int conn_ok = 0, probe_ok = 0, has_probe = json_array_size(
						   json_object_get(args, "command")) > 0;
	json_t *pa = json_pack("{s:s?, s:s?, s:s?}", "host", S(args, "host"),
			       "hypervisor", S(args, "hypervisor"), "uri",
			       S(args, "uri")), *r = NULL;
	trellis_call_t c1;
	tr_call_init(&c1, NULL);
	if (hp && pa && tr_action_call(env, hp, pa, &r, &c1) == 0)
		conn_ok = 1;
	else
		snprintf(conn_err, sizeof conn_err, "%.500s",
			 c1.message[0] ? c1.message : "no answer");
	json_decref(r);
	json_decref(pa);
	if (has_probe) {
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		if (run_cmd(args, "command", timeout_of(args, 10000), "probe",
			    &c2) == 0)
			probe_ok = 1;
		else
			snprintf(probe_err, sizeof probe_err, "%.500s", c2.message);
	}
	(void)call;
	*result = json_pack("{s:s, s:b, s:b, s:b, s:s, s:s}", "host",
			    S(args, "host") ? S(args, "host") : "", "connection",
			    conn_ok, "probe", has_probe ? probe_ok : conn_ok,
			    "has_probe", has_probe, "connection_error",
			    conn_err, "probe_error", probe_err);
	return 0;
}

static int run_fence_script(const struct tr_action_env *env, json_t *args,
			    json_t **result, trellis_call_t *call)
{
	(void)env;
	int rc = run_cmd(args, "command", timeout_of(args, 60000),
			 "fence.script", call);
	if (!rc)
		*result = json_pack("{s:s, s:b, s:s}", "host", S(args, "host"),
				    "fenced", 1, "how", "script");
	return rc;
}

static const struct tr_field probe_in[] = {
    {"host", TR_T_STRING, 1, "the host"},
    {"hypervisor", TR_T_STRING, 1, "its hypervisor plugin"},
    {"uri", TR_T_STRING, 1, "its connect URI"},
    {"hostname", TR_T_STRING, 0, "its hostname, for {hostname}"},
    {"command", TR_T_ARRAY, 0, "the probe's argv ({host} {uri} {hostname})"},
    {"timeout", TR_T_DURATION, 0, "for the probe command (10s)"},
    TR_FIELDS_END};
static const struct tr_field probe_out[] = {
    {"host", TR_T_STRING, 1, "the host"},
    {"connection", TR_T_BOOL, 1, "its hypervisor answered"},
    {"probe", TR_T_BOOL, 1, "the probe command exited 0 (none: as connection)"},
    {"has_probe", TR_T_BOOL, 1, "a probe command was given"},
    {"connection_error", TR_T_STRING, 1, "why not"},
    {"probe_error", TR_T_STRING, 1, "why not"},
    TR_FIELDS_END};
static const struct tr_field fence_in[] = {
    {"host", TR_T_STRING, 1, "the host to fence"},
    {"uri", TR_T_STRING, 0, "its connect URI, for {uri}"},
    {"hostname", TR_T_STRING, 0, "its hostname, for {hostname}"},
    {"command", TR_T_ARRAY, 1, "the fence's argv ({host} {uri} {hostname})"},
    {"timeout", TR_T_DURATION, 0, "at most this long (60s)"},
    TR_FIELDS_END};
static const struct tr_field fence_out[] = {
    {"host", TR_T_STRING, 1, "the host"},
    {"fenced", TR_T_BOOL, 1, "true"},
    {"how", TR_T_STRING, 1, "the fence that did it"},
    TR_FIELDS_END};

static const struct tr_action fence_actions[] = {
    {.name = "ha.probe",
     .description = "Health of a host: its hypervisor connection and the "
		    "operator's probe (never fails: reports both)",
     .input = probe_in,
     .output = probe_out,
     .run = run_probe},
    {.name = "fence.script",
     .description = "Fence a host with a script: succeeds when it exits 0 "
		    "(the host can no longer run its VMs)",
     .input = fence_in,
     .output = fence_out,
     .run = run_fence_script,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_fence(void)
{
	tr_actions_add(fence_actions,
		       sizeof fence_actions / sizeof *fence_actions);
}
