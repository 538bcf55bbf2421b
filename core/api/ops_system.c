/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_system.c - plugin.list, api.ops and daemon.status: what the daemon
 * itself knows.
 */
#include <time.h>
#include <unistd.h>

#include "../config/config.h"
#include "../loader/listing.h"
#include "../relay/relay.h"
#include "api_int.h"

static time_t started;

static void plugin_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	tr_req_ok(req, json_pack("{s:o}", "items",
				 tr_registry_json(d->registry)));
}

static void plugin_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const struct trellis_plugin *p = tr_registry_named(d->registry, name);
	if (!p) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "no plugin named '%s' (trellis plugin list)", name);
		return;
	}
	tr_req_ok(req, tr_plugin_show_json(p));
}

static json_t *fields_json(const struct tr_field *f)
{
	json_t *a = json_array();
	for (; f && f->name; f++)
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:b, s:s}", "name", f->name,
				     "type", tr_type_str(f->type),
				     "required", f->required, "description",
				     f->description ? f->description : ""));
	return a;
}

static void api_ops(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	(void)args;
	json_t *items = json_array();
	for (size_t i = 0; i < tr_api_count(d->api); i++) {
		const struct tr_api_op *op = tr_api_at(d->api, i);
		/* Who may call it (api.h, enum tr_perm): the role must also
		 * grant the op's name. */
		const char *perm = op->perm == TR_PERM_ANYONE ? "anyone"
				   : op->perm == TR_PERM_DC   ? "dc"
							      : "bu";
		json_array_append_new(
			items, json_pack("{s:s, s:s, s:o, s:b, s:s}", "name",
					 op->name, "description",
					 op->description ? op->description : "",
					 "args", fields_json(op->args),
					 "mutates", !!(op->flags & TR_OP_MUTATES),
					 "perm", perm));
	}
	tr_req_ok(req, json_pack("{s:o}", "items", items));
}

static json_t *with_link_key(struct tr_daemon *d, json_t *o);

/* daemon.status's cluster: the managers sharing the store and who runs
 * each leader-only job (core/store/lead.c). */
static json_t *with_cluster(struct tr_daemon *d, json_t *o)
{
	json_t *c = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (o && d->store &&
	    tr_store_managers(d->store, tr_daemon_jobs, &c, &call) == 0)
		json_object_set_new(o, "cluster", c);
	else if (o)
		json_object_set_new(o, "cluster",
				    json_pack("{s:s}", "error", call.message));
	return o;
}

static void daemon_status(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	(void)args;
	struct tr_api_stats st;
	tr_api_stats(d->api, &st);
	tr_req_ok(req, with_cluster(d, with_link_key(d,
		  json_pack("{s:s, s:i, s:s, s:i, s:I, s:i, s:I, "
			    "s:{s:i, s:I, s:I, s:I, s:I}}", "version",
			    TRELLIS_VERSION, "pid", (int)getpid(), "state_dir",
			    d->state_dir ? d->state_dir : "", "schema",
			    tr_store_schema_version(d->store), "uptime_s",
			    (json_int_t)(started ? time(NULL) - started : 0),
			    "inflight", (int)tr_api_inflight(d->api),
			    "plugins",
			    (json_int_t)tr_registry_count(d->registry),
			    "api", "threads", (int)st.threads, "requests",
			    (json_int_t)st.requests, "reads",
			    (json_int_t)st.reads, "helper_wakeups",
			    (json_int_t)st.wakeups, "refused",
			    (json_int_t)st.refused))));
}

/* daemon.status's link_key: the core's public key, which a tcp:// client
 * (TRELLIS_CORE_KEY) and an agent pin; there once tcp:// or agents are
 * configured (their listeners made it). */
static json_t *with_link_key(struct tr_daemon *d, json_t *o)
{
	char hex[65], err[256];
	if (o && d->config && (d->config->api_tcp || d->config->n_agents_listen) &&
	    tr_relay_core_key(d->state_dir, hex, err, sizeof err) == 0)
		json_object_set_new(o, "link_key", json_string(hex));
	return o;
}

/* Where the event bus is: `trellis events` and `workflow watch` subscribe
 * there (the PUB socket has no request side to ask).  The bus carries
 * every business unit's events unfiltered, so only global roles are told
 * where it is; a BU's `workflow watch` polls the journal instead. */
static void events_info(struct tr_daemon *d, struct tr_req *req,
			json_t *args)
{
	(void)args;
	const char *url = d->config ? d->config->events_listen : NULL;
	tr_req_ok(req, json_pack("{s:s?}", "listen", url));
}

static const struct tr_field no_args[] = {TR_FIELDS_END};
static const struct tr_field name_args[] = {
	{"name", TR_T_STRING, 1, "plugin name"}, TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "plugin.list",
     .description = "the plugins the daemon loaded or refused",
     .args = no_args,
     .handler = plugin_list,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "plugin.show",
     .description =
	 "a plugin: its descriptor, config schema, options schema and config",
     .args = name_args,
     .handler = plugin_show,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "api.ops",
     .description = "every API op with its argument schema",
     .args = no_args,
     .handler = api_ops,
     .flags = 0,
     .perm = TR_PERM_ANYONE},
    {.name = "daemon.status",
     .description = "version, pid, schema, uptime, API counters",
     .args = no_args,
     .handler = daemon_status,
     .flags = 0,
     .perm = TR_PERM_DC},
    {.name = "events.info",
     .description = "the event bus's address (a nanomsg SUB connects there)",
     .args = no_args,
     .handler = events_info,
     .flags = TR_OP_READ,
     .perm = TR_PERM_DC},
};

void tr_api_register_system(struct tr_api *api)
{
	if (!started)
		started = time(NULL);
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
