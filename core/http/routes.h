/* SPDX-License-Identifier: Apache-2.0 */
/*
 * routes.h - the HTTP API's paths: REST paths for the nouns and the
 * generic POST /api/v1/ops/{op}, each naming an op of the API's op table.
 *
 * Nothing here runs an op: a route turns a method, a path, query
 * parameters and a JSON body into an op name and its arguments, which then
 * go through tr_api_call() like any nanomsg request.  Pure functions, so
 * the fuzz target and the OpenAPI generator use them as the server does.
 */
#ifndef TRELLIS_CORE_HTTP_ROUTES_H
#define TRELLIS_CORE_HTTP_ROUTES_H

#include <jansson.h>
#include <stddef.h>

#define TR_HTTP_PREFIX "/api/v1"

enum tr_route_body {
	TR_BODY_NONE,   /* no body; GET takes query parameters as arguments */
	TR_BODY_ARGS,   /* the body (an object) holds the op's arguments */
	TR_BODY_INPUTS, /* the body is args.inputs (workflow.run) */
};

struct tr_http_route {
	const char *method; /* GET POST DELETE */
	/* Below TR_HTTP_PREFIX; {ARG} is a path parameter that becomes
	 * args.ARG ({inputs.vm}: args.inputs.vm). */
	const char *path;
	const char *op;
	enum tr_route_body body;
	const char *fixed; /* JSON object of fixed arguments, or NULL */
	const char *summary;
};

/* The routes, ended by one with a NULL method. */
extern const struct tr_http_route tr_http_routes[];

/* Query parameters: n key/value pairs, URL-decoded. */
struct tr_http_query {
	const char *const *keys, *const *values;
	size_t n;
};

/*
 * Resolves a request.  path is the URL's path (decoded, without the
 * query); body is the request's body (len bytes, may be NULL).  fields,
 * when given, returns the op's argument schema for typing query values:
 * a function of the op's name (NULL when unknown).
 * Returns 0 with *op (static, or pointing into path for /ops/{op}) and
 * *args (a new object), or an HTTP status (400, 404, 405) with the reason
 * in err.
 */
struct tr_field;
typedef const struct tr_field *(*tr_http_fields_fn)(void *arg,
						     const char *op);
int tr_http_route_resolve(const char *method, const char *path,
			  const struct tr_http_query *q, const char *body,
			  size_t len, tr_http_fields_fn fields, void *farg,
			  char *opbuf, size_t oplen, json_t **args, char *err,
			  size_t errlen);

/* The HTTP status of an error code (TRELLIS_E_*; 0: 200). */
int tr_http_status(int code);

#endif
