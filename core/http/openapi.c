/* SPDX-License-Identifier: Apache-2.0 */
/*
 * openapi.c - the OpenAPI 3.0 document of the HTTP API (http.h), made from
 * the op table and the routes: every op at POST /api/v1/ops/{op} with its
 * argument schema as the request body, and every REST route with its path
 * and query parameters.  The build runs it (core/http/gen) so the document
 * ships with trellisd and cannot drift from the ops.
 */
#include <stdlib.h>
#include <string.h>

#include <trellis/error.h>

#include "../api/api.h"
#include "../util/schema.h"
#include "http.h"
#include "routes.h"

static json_t *type_schema(const struct tr_field *f)
{
	json_t *s;
	switch (f->type) {
	case TR_T_STRING:
		s = json_pack("{s:s}", "type", "string");
		break;
	case TR_T_SECRET:
		s = json_pack("{s:s, s:s}", "type", "string", "format",
			      "password");
		break;
	case TR_T_INT:
		s = json_pack("{s:s}", "type", "integer");
		break;
	case TR_T_NUMBER:
		s = json_pack("{s:s}", "type", "number");
		break;
	case TR_T_BOOL:
		s = json_pack("{s:s}", "type", "boolean");
		break;
	case TR_T_SIZE:
		s = json_pack("{s:[{s:s},{s:s}]}", "oneOf", "type", "integer",
			      "type", "string");
		json_object_set_new(s, "x-trellis-unit",
				    json_string("bytes, or a size like 10G"));
		break;
	case TR_T_DURATION:
		s = json_pack("{s:[{s:s},{s:s}]}", "oneOf", "type", "integer",
			      "type", "string");
		json_object_set_new(
			s, "x-trellis-unit",
			json_string("milliseconds, or a duration like 30s"));
		break;
	case TR_T_OBJECT:
		s = json_pack("{s:s}", "type", "object");
		break;
	case TR_T_ARRAY:
		s = json_pack("{s:s, s:{}}", "type", "array", "items");
		break;
	default:
		s = json_object();
		break;
	}
	if (f->description && f->description[0])
		json_object_set_new(s, "description",
				    json_string(f->description));
	return s;
}

static json_t *args_schema(const struct tr_field *fields)
{
	json_t *props = json_object(), *req = json_array();
	for (const struct tr_field *f = fields; f && f->name; f++) {
		json_object_set_new(props, f->name, type_schema(f));
		if (f->required)
			json_array_append_new(req, json_string(f->name));
	}
	json_t *s = json_pack("{s:s, s:o, s:b}", "type", "object",
			      "properties", props, "additionalProperties", 0);
	if (json_array_size(req))
		json_object_set_new(s, "required", req);
	else
		json_decref(req);
	return s;
}

static json_t *responses(void)
{
	json_t *r = json_object();
	json_object_set_new(
		r, "200",
		json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
			  "{\"ok\": true, \"result\": ...}", "content",
			  "application/json", "schema", "$ref",
			  "#/components/schemas/Answer"));
	static const struct {
		const char *st, *what;
	} errs[] = {
		{"400", "INVALID_ARG: a malformed request or argument"},
		{"401", "no valid API key"},
		{"403", "PERMISSION, QUOTA"},
		{"404", "NOTFOUND"},
		{"409", "CONFLICT"},
		{"429", "BUSY: too many requests in flight; retry"},
		{"503", "UNAVAILABLE"},
		{"default", "another error code (see the body's code)"},
	};
	for (size_t i = 0; i < sizeof errs / sizeof *errs; i++)
		json_object_set_new(
			r, errs[i].st,
			json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
				  errs[i].what, "content", "application/json",
				  "schema", "$ref",
				  "#/components/schemas/Failure"));
	return r;
}

static const char *tag_of(const char *op, char *buf, size_t len)
{
	size_t n = strcspn(op, ".");
	snprintf(buf, len, "%.*s", (int)n, op);
	return buf;
}

/* "/vms/{inputs.vm}" -> "/vms/{vm}": OpenAPI parameter names. */
static void oas_path(const char *tmpl, char *out, size_t len)
{
	size_t o = snprintf(out, len, "%s", TR_HTTP_PREFIX);
	for (const char *p = tmpl; *p && o + 2 < len; p++) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			const char *dot = memchr(p, '.', (size_t)(close - p));
			const char *name = dot ? dot + 1 : p + 1;
			o += snprintf(out + o, len - o, "{%.*s}",
				      (int)(close - name), name);
			p = close;
			continue;
		}
		out[o++] = *p;
		out[o] = '\0';
	}
}

static void add_route(json_t *paths, const struct tr_api *api,
		      const struct tr_http_route *r)
{
	const struct tr_api_op *op = tr_api_find(api, r->op);
	if (!op)
		return;
	char path[512], tag[64], lower[8], opid[600];
	oas_path(r->path, path, sizeof path);
	json_t *item = json_object_get(paths, path);
	if (!item) {
		item = json_object();
		json_object_set_new(paths, path, item);
	}
	size_t i = 0;
	for (; r->method[i] && i < sizeof lower - 1; i++)
		lower[i] = (char)(r->method[i] - 'A' + 'a');
	lower[i] = '\0';
	/* operationId: method and path, e.g. get_vms_name. */
	size_t o = snprintf(opid, sizeof opid, "%s", lower);
	for (const char *p = r->path; *p && o + 2 < sizeof opid; p++) {
		if (*p == '/' || *p == '.')
			opid[o++] = '_';
		else if (*p != '{' && *p != '}')
			opid[o++] = *p;
		opid[o] = '\0';
	}
	json_t *params = json_array();
	json_t *in_path = json_object();
	for (const char *p = strchr(r->path, '{'); p; p = strchr(p + 1, '{')) {
		const char *close = strchr(p, '}');
		const char *dot = memchr(p, '.', (size_t)(close - p));
		const char *name = dot ? dot + 1 : p + 1;
		char pn[64];
		snprintf(pn, sizeof pn, "%.*s", (int)(close - name), name);
		json_object_set_new(in_path, pn, json_true());
		json_array_append_new(
			params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name",
					  pn, "in", "path", "required", 1,
					  "schema", "type", "string"));
	}
	if (strcmp(r->method, "GET") == 0) {
		for (const struct tr_field *f = op->args; f && f->name; f++) {
			if (json_object_get(in_path, f->name))
				continue;
			json_t *prm = json_pack("{s:s, s:s, s:b, s:o}", "name",
						f->name, "in", "query",
						"required", f->required,
						"schema", type_schema(f));
			json_array_append_new(params, prm);
		}
	}
	json_decref(in_path);
	char summary[512];
	snprintf(summary, sizeof summary, "%s (op %s)", r->summary, r->op);
	json_t *o2 = json_pack("{s:s, s:s, s:[s], s:o, s:o}", "operationId",
			       opid, "summary", summary, "tags",
			       tag_of(r->op, tag, sizeof tag), "parameters",
			       params, "responses", responses());
	json_object_set_new(o2, "x-trellis-op", json_string(r->op));
	if (r->body == TR_BODY_ARGS)
		json_object_set_new(
			o2, "requestBody",
			json_pack("{s:b, s:{s:{s:o}}}", "required", 0,
				  "content", "application/json", "schema",
				  args_schema(op->args)));
	else if (r->body == TR_BODY_INPUTS)
		json_object_set_new(
			o2, "requestBody",
			json_pack("{s:b, s:s, s:{s:{s:{s:s}}}}", "required", 0,
				  "description", "the workflow's inputs",
				  "content", "application/json", "schema",
				  "type", "object"));
	json_object_set_new(item, lower, o2);
}

char *tr_http_openapi(const struct tr_api *api)
{
	json_t *paths = json_object();
	for (size_t i = 0; i < tr_api_count(api); i++) {
		const struct tr_api_op *op = tr_api_at(api, i);
		char path[256], tag[64];
		snprintf(path, sizeof path, "%s/ops/%s", TR_HTTP_PREFIX,
			 op->name);
		json_t *post = json_pack(
			"{s:s, s:s, s:[s], s:{s:b, s:{s:{s:o}}}, s:o}",
			"operationId", op->name, "summary", op->description,
			"tags", tag_of(op->name, tag, sizeof tag),
			"requestBody", "required", 0, "content",
			"application/json", "schema", args_schema(op->args),
			"responses", responses());
		json_object_set_new(post, "x-trellis-op", json_string(op->name));
		json_object_set_new(post, "x-trellis-mutates",
				    json_boolean(op->flags & TR_OP_MUTATES));
		json_object_set_new(paths, path, json_pack("{s:o}", "post", post));
	}
	for (const struct tr_http_route *r = tr_http_routes; r->method; r++)
		add_route(paths, api, r);
	json_t *events = json_pack(
		"{s:{s:s, s:s, s:[s], s:[{s:s, s:s, s:b, s:s, s:{s:s}}], "
		"s:{s:{s:s, s:{s:{s:{s:s}}}}, s:{s:s}}}}",
		"get", "operationId", "events", "summary",
		"Server-Sent Events of the event bus (id, event: the topic, "
		"data: the JSON body); Last-Event-ID resumes",
		"tags", "events", "parameters", "name", "topic", "in", "query",
		"required", 0, "description",
		"topic prefixes, comma-separated or repeated (vm., host.)",
		"schema", "type", "string", "responses", "200", "description",
		"the stream", "content", "text/event-stream", "schema", "type",
		"string", "401", "description", "no valid API key");
	json_object_set_new(paths, TR_HTTP_PREFIX "/events", events);
	json_t *codes = json_array();
	for (int c = -1; c >= TRELLIS_E__LAST; c--)
		json_array_append_new(codes, json_string(trellis_error_name(c)));
	json_t *schemas = json_pack(
		"{s:{s:s, s:[s], s:{s:{s:s}, s:{}}}, "
		"s:{s:s, s:[s,s], s:{s:{s:s}, s:{s:s, s:[s], s:{s:{s:s, s:o}, "
		"s:{s:s}, s:{s:s}}}}}}",
		"Answer", "type", "object", "required", "ok", "properties",
		"ok", "type", "boolean", "result",
		"Failure", "type", "object", "required", "ok", "error",
		"properties", "ok", "type", "boolean", "error", "type",
		"object", "required", "code", "properties", "code", "type",
		"string", "enum", codes, "message", "type", "string",
		"details", "type", "object");
	json_t *doc = json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:{s:o, s:{s:{s:s, "
		"s:s}}}, s:[{s:[]}]}",
		"openapi", "3.0.3", "info", "title", "Trellis API", "version",
		TRELLIS_VERSION, "description",
		"trellisd's HTTP API: every op of the nanomsg API, with the same "
		"schemas, API keys and answers. Generated from the op table.",
		"servers", "url", "/", "paths", paths, "components", "schemas",
		schemas, "securitySchemes", "bearer", "type", "http", "scheme",
		"bearer", "security", "bearer");
	if (!doc)
		return NULL;
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(doc);
	return text;
}
