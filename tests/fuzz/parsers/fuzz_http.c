/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the HTTP API's request path after libwebsockets
 * has parsed the request line: the bytes are "METHOD PATH?QUERY\nBODY".
 * It runs what the listener runs before tr_api_call: the route (path
 * parameters, query values typed by the op's schema, the JSON body) and
 * then the op's argument schema check, as admission does.  A refusal must
 * be a 4xx with a message.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../../core/actions/action.h"
#include "../../../core/api/api.h"
#include "../../../core/http/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct tr_field *fields_of(void *arg, const char *op)
{
	const struct tr_api_op *o = tr_api_find(arg, op);
	return o ? o->args : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tr_api *api;
	if (!api) {
		struct tr_api_limits lim = {0};
		tr_actions_init();
		api = tr_api_new(NULL, &lim);
		tr_api_register_all(api);
	}
	const char *nl = memchr(data, '\n', size);
	size_t ll = nl ? (size_t)(nl - (const char *)data) : size;
	if (ll > 1000)
		return 0;
	char line[1024];
	memcpy(line, data, ll);
	line[ll] = '\0';
	if (strlen(line) != ll)
		return 0;
	char *sp = strchr(line, ' ');
	if (!sp)
		return 0;
	*sp = '\0';
	char *path = sp + 1;
	/* The query: &-separated k=v pairs, as lws hands them over. */
	const char *keys[16], *vals[16];
	size_t nq = 0;
	char *qm = strchr(path, '?');
	if (qm) {
		*qm = '\0';
		for (char *p = strtok(qm + 1, "&"); p && nq < 16;
		     p = strtok(NULL, "&")) {
			char *eq = strchr(p, '=');
			if (eq)
				*eq = '\0';
			keys[nq] = p;
			vals[nq++] = eq ? eq + 1 : "";
		}
	}
	struct tr_http_query q = {keys, vals, nq};
	const char *body = nl ? nl + 1 : NULL;
	size_t blen = nl ? size - ll - 1 : 0;
	char op[128], err[1024] = "";
	json_t *args = NULL;
	int st = tr_http_route_resolve(line, path, &q, body, blen, fields_of,
				       api, op, sizeof op, &args, err,
				       sizeof err);
	if (st) {
		if (st < 400 || st > 499 || !err[0] || args)
			abort(); /* a refusal is a 4xx with its reason */
		return 0;
	}
	if (!args || !json_is_object(args) || !op[0])
		abort();
	const struct tr_api_op *o = tr_api_find(api, op);
	if (o) {
		char e2[512] = "";
		if (tr_fields_check(o->name, o->args, args, e2, sizeof e2) != 0 &&
		    !e2[0])
			abort();
	}
	json_decref(args);
	return 0;
}
