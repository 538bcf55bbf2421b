/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c - see routes.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/error.h>

#include "../util/schema.h"
#include "routes.h"

#define WF(name) "{\"workflow\":\"" name "\"}"

const struct tr_http_route tr_http_routes[] = {
	{"GET", "/vms", "vm.list", TR_BODY_NONE, NULL, "list VMs"},
	{"GET", "/vms/{name}", "vm.show", TR_BODY_NONE, NULL, "show a VM"},
	{"POST", "/vms", "workflow.run", TR_BODY_INPUTS, WF("vm.provision"),
	 "create a VM: runs vm.provision with the body as its inputs"},
	{"DELETE", "/vms/{inputs.vm}", "workflow.run", TR_BODY_NONE,
	 WF("vm.destroy"), "destroy a VM: runs vm.destroy"},
	{"POST", "/vms/{name}/console", "vm.console", TR_BODY_ARGS, NULL,
	 "a VM's VNC endpoint and a one-time password"},
	{"POST", "/vms/{name}/maint", "maint.enable", TR_BODY_ARGS, NULL,
	 "open a locked appliance for support: its access code (never the "
	 "password) for a window"},
	{"GET", "/vms/{name}/maint", "maint.status", TR_BODY_NONE, NULL,
	 "the maintenance window of a VM"},
	{"DELETE", "/vms/{name}/maint", "maint.disable", TR_BODY_NONE, NULL,
	 "lock an appliance again now"},
	{"POST", "/support/fetch", "support.fetch", TR_BODY_ARGS, NULL,
	 "the support engineer's retrieval of a maintenance password, signed "
	 "with their escrow key and sealed to their one-time key"},
	{"GET", "/hosts", "host.list", TR_BODY_NONE, NULL, "list hosts"},
	{"GET", "/hosts/{name}", "host.show", TR_BODY_NONE, NULL, "show a host"},
	{"POST", "/hosts", "host.add", TR_BODY_ARGS, NULL, "add a host"},
	{"DELETE", "/hosts/{name}", "host.remove", TR_BODY_NONE, NULL,
	 "forget a host"},
	{"POST", "/hosts/{name}/refresh", "host.refresh", TR_BODY_NONE, NULL,
	 "rediscover a host"},
	{"GET", "/zones", "zone.list", TR_BODY_NONE, NULL, "list zones"},
	{"GET", "/zones/{name}", "zone.show", TR_BODY_NONE, NULL, "show a zone"},
	{"POST", "/zones", "zone.create", TR_BODY_ARGS, NULL, "create a zone"},
	{"DELETE", "/zones/{name}", "zone.delete", TR_BODY_NONE, NULL,
	 "delete an empty zone"},
	{"GET", "/pods", "pod.list", TR_BODY_NONE, NULL, "list pods"},
	{"GET", "/pods/{name}", "pod.show", TR_BODY_NONE, NULL, "show a pod"},
	{"POST", "/pods", "pod.create", TR_BODY_ARGS, NULL, "create a pod"},
	{"DELETE", "/pods/{name}", "pod.delete", TR_BODY_NONE, NULL,
	 "delete an empty pod"},
	{"GET", "/clusters", "cluster.list", TR_BODY_NONE, NULL,
	 "list clusters"},
	{"GET", "/clusters/{name}", "cluster.show", TR_BODY_NONE, NULL,
	 "show a cluster"},
	{"POST", "/clusters", "cluster.create", TR_BODY_ARGS, NULL,
	 "create a cluster"},
	{"DELETE", "/clusters/{name}", "cluster.delete", TR_BODY_NONE, NULL,
	 "delete an empty cluster"},
	{"GET", "/tenants", "tenant.list", TR_BODY_NONE, NULL, "list tenants"},
	{"GET", "/tenants/{name}", "tenant.show", TR_BODY_NONE, NULL,
	 "show a tenant"},
	{"POST", "/tenants", "tenant.create", TR_BODY_ARGS, NULL,
	 "create a tenant"},
	{"DELETE", "/tenants/{name}", "tenant.delete", TR_BODY_NONE, NULL,
	 "delete a tenant that owns nothing"},
	{"GET", "/pools", "pool.list", TR_BODY_NONE, NULL, "list pools"},
	{"GET", "/pools/{name}", "pool.show", TR_BODY_NONE, NULL,
	 "show a pool"},
	{"POST", "/pools", "pool.create", TR_BODY_ARGS, NULL, "create a pool"},
	{"GET", "/pools/{pool}/volumes", "volume.list", TR_BODY_NONE, NULL,
	 "the volumes of a pool"},
	{"GET", "/pools/{pool}/volumes/{name}", "volume.show", TR_BODY_NONE,
	 NULL, "show a volume"},
	{"DELETE", "/pools/{pool}/volumes/{name}", "volume.delete",
	 TR_BODY_NONE, NULL, "delete a volume"},
	{"GET", "/netpools", "netpool.list", TR_BODY_NONE, NULL,
	 "list segment-id pools"},
	{"GET", "/netpools/{name}", "netpool.show", TR_BODY_NONE, NULL,
	 "show a segment-id pool"},
	{"POST", "/netpools", "netpool.create", TR_BODY_ARGS, NULL,
	 "create a segment-id pool"},
	{"DELETE", "/netpools/{name}", "netpool.delete", TR_BODY_NONE, NULL,
	 "delete an unused segment-id pool"},
	{"GET", "/networks", "network.list", TR_BODY_NONE, NULL,
	 "list networks"},
	{"GET", "/networks/{name}", "network.show", TR_BODY_NONE, NULL,
	 "show a network"},
	{"POST", "/networks", "network.create", TR_BODY_ARGS, NULL,
	 "create a network"},
	{"DELETE", "/networks/{name}", "network.delete", TR_BODY_NONE, NULL,
	 "delete a network"},
	{"GET", "/policies", "policy.list", TR_BODY_NONE, NULL,
	 "list placement policies"},
	{"GET", "/policies/{name}", "policy.show", TR_BODY_NONE, NULL,
	 "show a placement policy"},
	{"GET", "/workflows", "workflow.defs", TR_BODY_NONE, NULL,
	 "the loaded workflow definitions"},
	{"GET", "/workflows/{name}", "workflow.def", TR_BODY_NONE, NULL,
	 "one workflow definition"},
	{"POST", "/workflows/{workflow}/runs", "workflow.run", TR_BODY_INPUTS,
	 NULL, "start a workflow instance with the body as its inputs"},
	{"GET", "/runs", "workflow.list", TR_BODY_NONE, NULL,
	 "workflow instances, newest first"},
	{"GET", "/runs/{id}", "workflow.status", TR_BODY_NONE, NULL,
	 "the state of a workflow instance"},
	{"GET", "/runs/{id}/logs", "workflow.logs", TR_BODY_NONE, NULL,
	 "the step journal of an instance"},
	{"DELETE", "/runs/{id}", "workflow.cancel", TR_BODY_NONE, NULL,
	 "cancel an instance and compensate"},
	{"GET", "/actions", "action.list", TR_BODY_NONE, NULL,
	 "every action with its schemas"},
	{"GET", "/actions/{name}", "action.show", TR_BODY_NONE, NULL,
	 "one action's schemas"},
	{"GET", "/plugins", "plugin.list", TR_BODY_NONE, NULL,
	 "the plugins loaded or refused"},
	{"GET", "/status", "daemon.status", TR_BODY_NONE, NULL,
	 "version, pid, uptime, API counters"},
	{NULL, NULL, NULL, TR_BODY_NONE, NULL, NULL},
};

int tr_http_status(int code)
{
	switch (code) {
	case 0:
		return 200;
	case TRELLIS_E_NOTSUP:
		return 501;
	case TRELLIS_E_INVALID_ARG:
		return 400;
	case TRELLIS_E_NOTFOUND:
		return 404;
	case TRELLIS_E_CONFLICT:
	case TRELLIS_E_CANCELLED:
		return 409;
	case TRELLIS_E_BUSY:
		return 429;
	case TRELLIS_E_TIMEOUT:
		return 504;
	case TRELLIS_E_BACKEND:
		return 502;
	case TRELLIS_E_UNAVAILABLE:
	case TRELLIS_E_NOMEM:
		return 503;
	case TRELLIS_E_PERMISSION:
	case TRELLIS_E_QUOTA:
		return 403;
	case TRELLIS_E_NOSPACE:
		return 507;
	case TRELLIS_E_AUTH:
		return 401;
	default:
		return 500;
	}
}

/* Sets args[path] (a.b: args.a.b, made as needed) to v (stolen).  -1 when
 * a part of the path is already something else. */
static int set_path(json_t *args, const char *path, json_t *v)
{
	const char *dot = strchr(path, '.');
	if (!dot) {
		if (json_object_get(args, path)) {
			json_decref(v);
			return -1;
		}
		json_object_set_new(args, path, v);
		return 0;
	}
	char head[64];
	snprintf(head, sizeof head, "%.*s", (int)(dot - path), path);
	json_t *sub = json_object_get(args, head);
	if (!sub) {
		sub = json_object();
		json_object_set_new(args, head, sub);
	}
	if (!json_is_object(sub)) {
		json_decref(v);
		return -1;
	}
	return set_path(sub, dot + 1, v);
}

/* Matches path against a template; the parameters go into args.  1 on a
 * match, 0 not, -1 (err set) when a parameter collides with the body. */
static int match(const char *tmpl, const char *path, json_t *args, char *err,
		 size_t errlen)
{
	const char *t = tmpl, *p = path;
	/* First a dry run, so a partial match leaves args alone. */
	for (int pass = 0; pass < 2; pass++) {
		t = tmpl;
		p = path;
		while (*t && *p) {
			if (*t != '/' || *p != '/')
				return 0;
			t++;
			p++;
			size_t tl = strcspn(t, "/"), pl = strcspn(p, "/");
			if (*t == '{') {
				if (pl == 0)
					return 0;
				json_t *pv = json_stringn(p, pl);
				json_decref(pv);
				if (!pv) {
					snprintf(err, errlen,
						 "the path is not valid UTF-8");
					return -1;
				}
				if (pass == 1) {
					char name[64];
					snprintf(name, sizeof name, "%.*s",
						 (int)(tl - 2), t + 1);
					if (set_path(args, name,
						     json_stringn(p, pl)) < 0) {
						snprintf(err, errlen,
							 "field '%s' is given by the "
							 "path; leave it out of the "
							 "body",
							 name);
						return -1;
					}
				}
			} else if (tl != pl || strncmp(t, p, tl) != 0) {
				return 0;
			}
			t += tl;
			p += pl;
		}
		if (*t || *p)
			return 0;
	}
	return 1;
}

/* A query value as the op's schema types it. */
static json_t *query_value(const struct tr_field *f, const char *s,
			   char *err, size_t errlen, const char *key)
{
	if (f && f->type == TR_T_INT) {
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (!*s || *end || errno) {
			snprintf(err, errlen,
				 "query parameter '%.64s': expected an integer, "
				 "got '%.64s'",
				 key, s);
			return NULL;
		}
		return json_integer(x);
	}
	if (f && f->type == TR_T_BOOL) {
		if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
			return json_true();
		if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0)
			return json_false();
		snprintf(err, errlen,
			 "query parameter '%.64s': expected true or false, got "
			 "'%.64s'",
			 key, s);
		return NULL;
	}
	json_t *v = json_string(s);
	if (!v)
		snprintf(err, errlen, "a query parameter is not valid UTF-8");
	return v;
}

/* The body as a JSON object ({} when empty).  NULL with err. */
static json_t *body_object(const char *body, size_t len, char *err,
			   size_t errlen)
{
	size_t i = 0;
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
			   body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len)
		return json_object();
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		snprintf(err, errlen, "malformed JSON body: %s (line %d, column %d)",
			 jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		snprintf(err, errlen, "the body must be a JSON object");
		return NULL;
	}
	return v;
}

int tr_http_route_resolve(const char *method, const char *path,
			  const struct tr_http_query *q, const char *body,
			  size_t len, tr_http_fields_fn fields, void *farg,
			  char *opbuf, size_t oplen, json_t **args, char *err,
			  size_t errlen)
{
	*args = NULL;
	opbuf[0] = '\0';
	size_t pl = strlen(TR_HTTP_PREFIX);
	if (strncmp(path, TR_HTTP_PREFIX, pl) != 0 ||
	    (path[pl] != '/' && path[pl] != '\0')) {
		snprintf(err, errlen, "no such path (the API is under %s/)",
			 TR_HTTP_PREFIX);
		return 404;
	}
	const char *rest = path + pl;
	const struct tr_http_route *r = NULL;
	json_t *a = json_object();
	int path_known = 0;
	int st = 0;
	if (strncmp(rest, "/ops/", 5) == 0) {
		const char *name = rest + 5;
		size_t n = strlen(name);
		path_known = 1;
		json_t *valid = json_string(name);
		json_decref(valid);
		if (n == 0 || n >= oplen || strchr(name, '/') || !valid) {
			snprintf(err, errlen, "POST %s/ops/OP: no op named",
				 TR_HTTP_PREFIX);
			st = 404;
			goto fail;
		}
		if (strcmp(method, "POST") != 0) {
			snprintf(err, errlen,
				 "%s/ops/%s takes POST (the arguments in a JSON "
				 "body), not %s",
				 TR_HTTP_PREFIX, name, method);
			st = 405;
			goto fail;
		}
		memcpy(opbuf, name, n + 1);
		json_decref(a);
		a = body_object(body, len, err, errlen);
		if (!a)
			return 400;
	} else {
		for (const struct tr_http_route *x = tr_http_routes; x->method;
		     x++) {
			json_t *probe = json_object();
			int m = match(x->path, rest, probe, err, errlen);
			json_decref(probe);
			if (m < 0) {
				st = 400;
				goto fail;
			}
			if (m == 0)
				continue;
			path_known = 1;
			if (strcmp(x->method, method) == 0) {
				r = x;
				break;
			}
		}
		if (!r) {
			if (path_known)
				snprintf(err, errlen, "%s %s: method not allowed",
					 method, path);
			else
				snprintf(err, errlen, "no such path: %s", path);
			st = path_known ? 405 : 404;
			goto fail;
		}
		snprintf(opbuf, oplen, "%s", r->op);
		json_t *b = NULL;
		if (r->body == TR_BODY_NONE && len) {
			/* A stray body on a DELETE or GET is refused rather
			 * than ignored: it may hold what the caller meant. */
			size_t i = 0;
			while (i < len && strchr(" \t\r\n", body[i]))
				i++;
			if (i < len) {
				snprintf(err, errlen,
					 "%s %s takes no body", method,
					 r->path);
				st = 400;
				goto fail;
			}
		}
		if (r->body != TR_BODY_NONE) {
			b = body_object(body, len, err, errlen);
			if (!b) {
				st = 400;
				goto fail;
			}
		}
		if (r->body == TR_BODY_ARGS) {
			json_decref(a);
			a = b;
		} else if (r->body == TR_BODY_INPUTS) {
			json_object_set_new(a, "inputs", b);
		}
		if (r->fixed) {
			json_t *fx = json_loads(r->fixed, 0, NULL);
			const char *k;
			json_t *v;
			json_object_foreach(fx, k, v)
				json_object_set(a, k, v);
			json_decref(fx);
		}
		if (match(r->path, rest, a, err, errlen) < 0) {
			st = 400;
			goto fail;
		}
	}
	/* Query parameters are arguments too, typed by the op's schema. */
	const struct tr_field *fs = fields ? fields(farg, opbuf) : NULL;
	for (size_t i = 0; q && i < q->n; i++) {
		const char *k = q->keys[i];
		if (r && r->body == TR_BODY_INPUTS)
			continue;
		const struct tr_field *f = fs ? tr_field_find(fs, k) : NULL;
		json_t *v = query_value(f, q->values[i], err, errlen, k);
		if (!v) {
			st = 400;
			goto fail;
		}
		if (json_object_get(a, k)) {
			json_decref(v);
			snprintf(err, errlen,
				 "query parameter '%.64s' is given twice (or "
				 "also by the path or body)",
				 k);
			st = 400;
			goto fail;
		}
		json_object_set_new(a, k, v);
	}
	*args = a;
	return 0;
fail:
	json_decref(a);
	opbuf[0] = '\0';
	return st;
}
