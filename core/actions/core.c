/* SPDX-License-Identifier: Apache-2.0 */
/*
 * core.c - the built-in actions that need no plugin: core.sleep, core.fail,
 * core.log and exec.  They make workflows testable without any backend
 * (retry, timeout and undo semantics are tested with them) and give
 * operators a way to run a command as a step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../host/exec.h"
#include "../host/host.h"
#include "../util/alloc.h"
#include "action.h"

/* Sleeps ms in short slices so that a cancelled call (step timeout, workflow
 * cancel) returns promptly.  0, or TRELLIS_E_CANCELLED set in call. */
static int sleep_cancellable(long long ms, trellis_call_t *call,
			     const char *what)
{
	struct timespec now, end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (;;) {
		if (call && atomic_load(&call->cancelled))
			return tr_call_set(call, TRELLIS_E_CANCELLED,
					   "%s: cancelled", what);
		clock_gettime(CLOCK_MONOTONIC, &now);
		long long left = (end.tv_sec - now.tv_sec) * 1000 +
				 (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return 0;
		long long slice = left < 20 ? left : 20;
		struct timespec ts = {slice / 1000, (slice % 1000) * 1000000};
		nanosleep(&ts, NULL);
	}
}

static int run_sleep(const struct tr_action_env *env, json_t *args,
		     json_t **result, trellis_call_t *call)
{
	(void)env;
	long long ms = json_integer_value(json_object_get(args, "duration"));
	int rc = sleep_cancellable(ms, call, "core.sleep");
	if (rc)
		return rc;
	*result = json_pack("{s:I}", "slept_ms", (json_int_t)ms);
	return 0;
}

static int error_code(const char *name)
{
	for (int c = -1; c >= TRELLIS_E__LAST; c--)
		if (strcmp(trellis_error_name(c), name) == 0)
			return c;
	return 0;
}

static int run_fail(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call)
{
	json_t *d = json_object_get(args, "delay");
	if (d) {
		int rc = sleep_cancellable(json_integer_value(d), call,
					   "core.fail");
		if (rc)
			return rc;
	}
	json_t *fa = json_object_get(args, "fail_attempts");
	int attempt = env && env->attempt > 0 ? env->attempt : 1;
	if (fa && attempt > json_integer_value(fa)) {
		*result = json_pack("{s:i}", "attempts", attempt);
		return 0;
	}
	const char *msg = json_string_value(json_object_get(args, "message"));
	const char *cname = json_string_value(json_object_get(args, "code"));
	int code = TRELLIS_E_BACKEND;
	if (cname && !(code = error_code(cname)))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "core.fail: unknown error code '%s'", cname);
	return tr_call_set(call, code, "%s",
			   msg ? msg : "failed on purpose (core.fail)");
}

static int run_log(const struct tr_action_env *env, json_t *args,
		   json_t **result, trellis_call_t *call)
{
	(void)env;
	(void)call;
	/* The message goes to the step's journal as its output (redacted
	 * there); it is not sent to the daemon log, which cannot know which
	 * parts came from a secret. */
	*result = json_pack("{s:O}", "message", json_object_get(args, "message"));
	return *result ? 0 : TRELLIS_E_NOMEM;
}

static int run_exec(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call)
{
	(void)env;
	json_t *cmd = json_object_get(args, "command");
	size_t n = json_array_size(cmd);
	if (n == 0)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "exec: command must be a non-empty list");
	const char **argv = tr_xcalloc(n + 1, sizeof *argv);
	if (!argv)
		return tr_call_set(call, TRELLIS_E_NOMEM, "exec: out of memory");
	int rc = 0;
	char *out = NULL, *err = NULL;
	for (size_t i = 0; i < n; i++) {
		argv[i] = json_string_value(json_array_get(cmd, i));
		if (!argv[i]) {
			rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
					 "exec: command item %zu is not a "
					 "string",
					 i);
			goto out;
		}
	}
	json_t *codes = json_object_get(args, "success_codes");
	for (size_t i = 0; i < json_array_size(codes); i++) {
		if (!json_is_integer(json_array_get(codes, i))) {
			rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
					 "exec: success_codes item %zu is not "
					 "an int",
					 i);
			goto out;
		}
	}
	json_t *t = json_object_get(args, "timeout");
	unsigned tmo = t ? (unsigned)json_integer_value(t) : 0;
	int status = -1;
	rc = tr_exec(call, argv, tmo, &out, &err, &status);
	if (rc)
		goto out;
	int success = codes ? 0 : status == 0;
	for (size_t i = 0; i < json_array_size(codes); i++)
		if (json_integer_value(json_array_get(codes, i)) == status)
			success = 1;
	if (!success) {
		/* The last line of stderr usually says why. */
		size_t el = strlen(err);
		while (el && (err[el - 1] == '\n' || err[el - 1] == ' '))
			err[--el] = '\0';
		const char *last = strrchr(err, '\n');
		last = last ? last + 1 : err;
		rc = tr_call_set(call, TRELLIS_E_BACKEND,
				 "exec %s: exit status %d%s%.300s", argv[0],
				 status, *last ? ": " : "", last);
		goto out;
	}
	*result = json_pack("{s:i, s:s, s:s}", "status", status, "stdout", out,
			    "stderr", err);
	if (!*result)
		rc = tr_call_set(call, TRELLIS_E_INVALID_ARG,
				 "exec %s: output is not valid UTF-8", argv[0]);
out:
	free(out);
	free(err);
	free(argv);
	return rc;
}

static const struct tr_field sleep_in[] = {
	{"duration", TR_T_DURATION, 1, "how long, like 2s or 250ms"},
	TR_FIELDS_END,
};
static const struct tr_field sleep_out[] = {
	{"slept_ms", TR_T_INT, 1, "milliseconds slept"},
	TR_FIELDS_END,
};
static const struct tr_field fail_in[] = {
	{"message", TR_T_STRING, 0, "the error message"},
	{"code", TR_T_STRING, 0, "error name (default BACKEND), e.g. BUSY"},
	{"fail_attempts", TR_T_INT, 0,
	 "fail only the first N attempts, then succeed (default: always)"},
	{"delay", TR_T_DURATION, 0, "wait this long first"},
	TR_FIELDS_END,
};
static const struct tr_field fail_out[] = {
	{"attempts", TR_T_INT, 1, "the attempt that succeeded"},
	TR_FIELDS_END,
};
static const struct tr_field log_in[] = {
	{"message", TR_T_ANY, 1, "what to record in the step journal"},
	TR_FIELDS_END,
};
static const struct tr_field log_out[] = {
	{"message", TR_T_ANY, 1, "the message"},
	TR_FIELDS_END,
};
static const struct tr_field exec_in[] = {
	{"command", TR_T_ARRAY, 1, "argv, run without a shell (PATH lookup)"},
	{"success_codes", TR_T_ARRAY, 0, "exit statuses that mean success "
					 "(default [0])"},
	{"timeout", TR_T_DURATION, 0, "kill the command after this long"},
	TR_FIELDS_END,
};
static const struct tr_field exec_out[] = {
	{"status", TR_T_INT, 1, "exit status"},
	{"stdout", TR_T_STRING, 1, "standard output (at most 64 KiB)"},
	{"stderr", TR_T_STRING, 1, "standard error (at most 64 KiB)"},
	TR_FIELDS_END,
};

static const struct tr_action core_actions[] = {
	{.name = "core.sleep",
	 .description = "Wait for a duration (honours cancellation).",
	 .input = sleep_in,
	 .output = sleep_out,
	 .run = run_sleep},
	{.name = "core.fail",
	 .description = "Fail with a given error (for tests and guards).",
	 .input = fail_in,
	 .output = fail_out,
	 .run = run_fail},
	{.name = "core.log",
	 .description = "Record a message in the step journal.",
	 .input = log_in,
	 .output = log_out,
	 .run = run_log,
	 /* Instant: a trip through the worker pool would cost more. */
	 .flags = TR_ACTION_MAIN_THREAD},
	{.name = "exec",
	 .description = "Run a command without a shell; fails unless its "
			"exit status is in success_codes.",
	 .input = exec_in,
	 .output = exec_out,
	 .run = run_exec,
	 .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_core(void); /* all.c */
void tr_actions_register_core(void)
{
	tr_actions_add(core_actions, sizeof core_actions / sizeof *core_actions);
}
