/*
 * ops_host.c - host.*: hosts are opened through their hypervisor plugin
 * (on a worker: connect and host_info block), their capacity is
 * discovered and recorded, and the VMs the hypervisor already runs are
 * recorded as "discovered".  An unreachable host is refused with the
 * plugin's error and nothing is recorded.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/log.h"
#include "api_int.h"

struct host_job {
	struct tr_daemon *d;
	struct tr_req *req;
	int refresh;
	char *name, *cluster, *plugin, *uri;
	trellis_call_t call;
	int rc;
	trellis_hv_host_info_t info;
	json_t *vms; /* [{uuid, name, state, vcpus, memory_mib}] */
};

static void job_free(struct host_job *j)
{
	free(j->name);
	free(j->cluster);
	free(j->plugin);
	free(j->uri);
	json_decref(j->vms);
	free(j);
}

static int collect_vm(void *opaque, const trellis_vm_info_t *vm)
{
	json_t *vms = opaque;
	json_array_append_new(
		vms, json_pack("{s:s, s:s, s:s, s:I, s:I}", "uuid", vm->uuid,
			       "name", vm->name, "state",
			       trellis_vm_state_name(vm->state), "vcpus",
			       (json_int_t)vm->vcpus, "memory_mib",
			       (json_int_t)vm->memory_mib));
	return 0;
}

/* Worker: open (or reuse) the connection, read capacity and VMs. */
static void host_probe(void *arg, struct tr_daemon *d)
{
	struct host_job *j = arg;
	struct tr_conn_spec spec = {.kind = TR_CONN_HOST,
				    .key = j->name,
				    .plugin = j->plugin,
				    .uri = j->uri};
	for (int attempt = 0;; attempt++) {
		struct tr_conn *c = NULL;
		tr_call_init(&j->call, j->plugin);
		j->rc = tr_conn_get(d, &spec, &j->call, &c);
		if (j->rc < 0)
			return;
		j->rc = tr_hv_host_info(TR_TGT(tr_conn_target(c)), &j->call,
					0, &j->info);
		if (j->rc == 0) {
			j->vms = json_array();
			j->rc = tr_hv_vm_list(TR_TGT(tr_conn_target(c)),
					      &j->call, 0, collect_vm, j->vms);
		}
		tr_conn_put(d, c);
		if (j->rc == 0)
			return;
		/* A connection that failed is not worth keeping. */
		tr_conn_forget(d, TR_CONN_HOST, j->name);
		json_decref(j->vms);
		j->vms = NULL;
		/* One the host dropped (UNAVAILABLE: its daemon restarted
		 * since the connection was cached) gets one more try on a
		 * new connection: reads only, so trying again is safe. */
		if (j->rc != TRELLIS_E_UNAVAILABLE || attempt > 0)
			return;
	}
}

static void host_work(void *arg)
{
	struct host_job *j = arg;
	host_probe(j, j->d);
}

static json_t *info_fields(const trellis_hv_host_info_t *i)
{
	return json_pack(
		"{s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I,"
		" s:I, s:I, s:I, s:n}",
		"state", "up", "cpus", (json_int_t)i->cpus, "memory_kib",
		(json_int_t)i->memory_kib, "free_memory_kib",
		(json_int_t)i->free_memory_kib, "hv_type", i->hv_type,
		"hv_version", (json_int_t)i->hv_version, "domain_type",
		i->domain_type, "arch", i->arch, "cpu_model", i->cpu_model,
		"hostname", i->hostname, "sockets", (json_int_t)i->sockets,
		"cores", (json_int_t)i->cores, "threads",
		(json_int_t)i->threads, "mhz", (json_int_t)i->mhz,
		"refreshed_at", (json_int_t)time(NULL), "error");
}

/* Brings the VM records of a host in line with what its hypervisor
 * reported: new ones are recorded as discovered, known ones get their
 * state, discovered ones that vanished are dropped. */
static int sync_vms(struct tr_store *s, const char *host, json_t *vms,
		    trellis_call_t *call)
{
	size_t i;
	json_t *vm;
	json_array_foreach(vms, i, vm)
	{
		const char *uuid = json_string_value(json_object_get(vm, "uuid"));
		json_t *cur = NULL;
		trellis_call_t c2;
		tr_call_init(&c2, NULL);
		json_t *upd = json_pack("{s:O, s:O, s:O}", "state",
					json_object_get(vm, "state"), "vcpus",
					json_object_get(vm, "vcpus"),
					"memory_mib",
					json_object_get(vm, "memory_mib"));
		int rc;
		if (tr_store_get(s, TR_KIND_VM, uuid, &cur, &c2) == 0) {
			rc = tr_store_update(s, TR_KIND_VM, uuid, upd, NULL,
					     call);
		} else {
			json_object_set(upd, "uuid", json_object_get(vm, "uuid"));
			json_object_set(upd, "name", json_object_get(vm, "name"));
			json_object_set_new(upd, "origin",
					    json_string("discovered"));
			rc = tr_store_create(s, TR_KIND_VM, host, upd, NULL,
					     call);
		}
		json_decref(cur);
		json_decref(upd);
		if (rc < 0)
			return rc;
	}
	struct tr_store_query q = {.parent_ref = host};
	json_t *known = NULL;
	if (tr_store_list(s, TR_KIND_VM, &q, &known, call) < 0)
		return call->code;
	json_array_foreach(json_object_get(known, "items"), i, vm)
	{
		const char *uuid = json_string_value(json_object_get(vm, "uuid"));
		int present = 0;
		size_t k;
		json_t *h;
		json_array_foreach(vms, k, h)
			present |= strcmp(json_string_value(
						  json_object_get(h, "uuid")),
					  uuid) == 0;
		if (present)
			continue;
		int rc;
		if (strcmp(json_string_value(json_object_get(vm, "origin")),
			   "discovered") == 0)
			rc = tr_store_delete(s, TR_KIND_VM, uuid, NULL, call);
		else
			rc = tr_store_update(s, TR_KIND_VM, uuid,
					     json_pack("{s:s}", "state",
						       "missing"),
					     NULL, call);
		if (rc < 0) {
			json_decref(known);
			return rc;
		}
	}
	json_decref(known);
	return 0;
}

static void host_done(struct tr_daemon *d, void *arg)
{
	struct host_job *j = arg;
	struct tr_store *s = d->store;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *obj = NULL;
	if (j->rc < 0) {
		if (j->refresh) {
			/* Record that it is unreachable, then report. */
			json_t *upd = json_pack("{s:s, s:s}", "state",
						"unreachable", "error",
						j->call.message);
			tr_store_update(s, TR_KIND_HOST, j->name, upd, &obj,
					&call);
			json_decref(upd);
			if (obj)
				tr_daemon_publish(d, "host.state", obj);
			json_decref(obj);
		}
		tr_warn("host %s (%s): %s", j->name, j->uri, j->call.message);
		if (j->req)
			tr_req_fail_call(j->req, &j->call);
		job_free(j);
		return;
	}
	json_t *fields = info_fields(&j->info);
	int rc = tr_store_begin(s, &call);
	if (rc == 0 && !j->refresh) {
		json_object_set_new(fields, "name", json_string(j->name));
		json_object_set_new(fields, "hypervisor", json_string(j->plugin));
		json_object_set_new(fields, "uri", json_string(j->uri));
		rc = tr_store_create(s, TR_KIND_HOST, j->cluster, fields, NULL,
				     &call);
	} else if (rc == 0) {
		rc = tr_store_update(s, TR_KIND_HOST, j->name, fields, NULL,
				     &call);
	}
	if (rc == 0)
		rc = sync_vms(s, j->name, j->vms, &call);
	if (rc == 0)
		rc = tr_store_commit(s, &call);
	if (rc == 0)
		rc = tr_store_get(s, TR_KIND_HOST, j->name, &obj, &call);
	json_decref(fields);
	if (rc < 0) {
		tr_store_rollback(s);
		if (!j->refresh)
			tr_conn_forget(d, TR_CONN_HOST, j->name);
		if (j->req)
			tr_req_fail_store(j->req, &call, NULL);
		else
			tr_warn("host %s: %s", j->name, call.message);
		job_free(j);
		return;
	}
	json_object_set_new(obj, "vms", json_integer((json_int_t)json_array_size(j->vms)));
	tr_daemon_publish(d, j->refresh ? "host.refreshed" : "host.added", obj);
	tr_log(j->req ? TRELLIS_LOG_INFO : TRELLIS_LOG_DEBUG,
	       "host %s %s: %u cpus, %llu KiB", j->name,
	       j->refresh ? "refreshed" : "added", j->info.cpus,
	       (unsigned long long)j->info.memory_kib);
	if (j->req)
		tr_req_ok(j->req, obj);
	else
		json_decref(obj);
	job_free(j);
}

/* A job for host name (copies the strings); NULL on OOM, answered. */
static struct host_job *job_new(struct tr_req *req, int refresh,
				const char *name, const char *cluster,
				const char *plugin, const char *uri)
{
	struct host_job *j = calloc(1, sizeof *j);
	if (j) {
		j->req = req;
		j->refresh = refresh;
		j->name = strdup(name);
		j->cluster = cluster ? strdup(cluster) : NULL;
		j->plugin = strdup(plugin ? plugin : "");
		j->uri = strdup(uri ? uri : "");
	}
	if (!j || !j->name || (cluster && !j->cluster) || !j->plugin ||
	    !j->uri) {
		if (j)
			job_free(j);
		if (req)
			tr_req_fail(req, TRELLIS_E_NOMEM, NULL,
				    "out of memory");
		return NULL;
	}
	return j;
}

static void submit(struct tr_daemon *d, struct host_job *j)
{
	j->d = d;
	int rc = tr_daemon_submit(d, host_work, host_done, j);
	if (rc < 0) {
		if (j->req)
			tr_req_fail(j->req, rc, NULL,
				    "%s: cannot queue the job",
				    tr_req_op(j->req));
		job_free(j);
	}
}

static void host_add(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *cluster =
		json_string_value(json_object_get(args, "cluster"));
	const char *plugin =
		json_string_value(json_object_get(args, "hypervisor"));
	const char *uri = json_string_value(json_object_get(args, "uri"));
	if (!plugin)
		plugin = "libvirt";
	trellis_call_t call;
	tr_call_init(&call, NULL);
	/* Cheap checks first, so a bad request costs no connection. */
	if (tr_store_id(d->store, TR_KIND_CLUSTER, cluster, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	if (tr_store_id(d->store, TR_KIND_HOST, name, &call) >= 0) {
		tr_req_fail(req, TRELLIS_E_CONFLICT, NULL,
			    "host '%s' already exists", name);
		return;
	}
	if (!tr_registry_find(d->registry, plugin, TRELLIS_KIND_HYPERVISOR)) {
		tr_req_fail(req, TRELLIS_E_NOTFOUND, NULL,
			    "no hypervisor plugin '%s' is loaded (trellis "
			    "plugin list)",
			    plugin);
		return;
	}
	struct host_job *j = job_new(req, 0, name, cluster, plugin, uri);
	if (j)
		submit(d, j);
}

static void host_refresh(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *h = NULL;
	if (tr_store_get(d->store, TR_KIND_HOST, name, &h, &call) < 0) {
		tr_req_fail_store(req, &call, NULL);
		return;
	}
	struct host_job *j =
		job_new(req, 1, name, NULL,
			json_string_value(json_object_get(h, "hypervisor")),
			json_string_value(json_object_get(h, "uri")));
	json_decref(h);
	if (j)
		submit(d, j);
}

static void host_remove(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	struct tr_store *s = d->store;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *h = NULL, *vms = NULL, *details = NULL;
	struct tr_store_query q = {.parent_ref = name,
				   .filter_key = "origin",
				   .filter_value = "trellis",
				   .limit = 20};
	if (tr_store_get(s, TR_KIND_HOST, name, &h, &call) < 0 ||
	    tr_store_list(s, TR_KIND_VM, &q, &vms, &call) < 0)
		goto fail;
	json_t *items = json_object_get(vms, "items");
	if (json_array_size(items) > 0) {
		char names[512] = "";
		size_t i;
		json_t *vm;
		json_t *children = json_array();
		json_array_foreach(items, i, vm)
		{
			const char *n = json_string_value(json_object_get(vm, "name"));
			size_t len = strlen(names);
			snprintf(names + len, sizeof names - len, "%s%s",
				 len ? ", " : "", n);
			json_array_append_new(children,
					      json_pack("{s:s, s:s}", "kind",
							"vm", "name", n));
		}
		tr_call_set(&call, TRELLIS_E_CONFLICT,
			    "host '%s' still runs VMs made by Trellis: %s; "
			    "destroy or move them first",
			    name, names);
		details = json_pack("{s:o}", "children", children);
		goto fail;
	}
	json_decref(vms);
	vms = NULL;
	/* Discovered VMs are the hypervisor's, not ours: forget them with
	 * the host, in one transaction. */
	q.filter_value = "discovered";
	q.limit = 0;
	if (tr_store_begin(s, &call) < 0)
		goto fail;
	if (tr_store_list(s, TR_KIND_VM, &q, &vms, &call) < 0)
		goto rollback;
	size_t i;
	json_t *vm;
	json_array_foreach(json_object_get(vms, "items"), i, vm)
	{
		if (tr_store_delete(s, TR_KIND_VM,
				    json_string_value(json_object_get(vm, "uuid")),
				    NULL, &call) < 0)
			goto rollback;
	}
	if (tr_store_delete(s, TR_KIND_HOST, name, &details, &call) < 0 ||
	    tr_store_commit(s, &call) < 0)
		goto rollback;
	json_decref(vms);
	tr_conn_forget(d, TR_CONN_HOST, name);
	tr_daemon_publish(d, "host.removed", h);
	tr_info("host %s removed", name);
	tr_req_ok(req, h);
	return;
rollback:
	tr_store_rollback(s);
fail:
	json_decref(h);
	json_decref(vms);
	tr_req_fail_store(req, &call, details);
}

static void host_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	tr_api_show(d, req, TR_KIND_HOST, args);
}

static void host_list(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	struct tr_store_query q = {0};
	q.parent_ref = json_string_value(json_object_get(args, "cluster"));
	if (json_object_get(args, "state")) {
		q.filter_key = "state";
		q.filter_value = json_string_value(json_object_get(args, "state"));
	}
	tr_api_list(d, req, TR_KIND_HOST, &q, args);
}

/* ---- the periodic refresh ---- */

static unsigned background; /* refresh jobs of the current round */

static void round_done(struct tr_daemon *d, void *arg)
{
	background--;
	host_done(d, arg);
}

/* Every host_refresh: rediscover each host's free memory, state and VMs
 * on the workers, so placement sees current figures and an unreachable
 * host is marked.  A round still running skips the next tick. */
static void refresh_tick(struct tr_daemon *d, void *arg)
{
	(void)arg;
	if (background > 0 || d->stopping)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *hosts = NULL;
	if (tr_store_list(d->store, TR_KIND_HOST, NULL, &hosts, &call) < 0) {
		tr_warn("host refresh: %s", call.message);
		return;
	}
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(hosts, "items"), i, h)
	{
		struct host_job *j = job_new(
			NULL, 1, json_string_value(json_object_get(h, "name")),
			NULL, json_string_value(json_object_get(h, "hypervisor")),
			json_string_value(json_object_get(h, "uri")));
		if (!j)
			break;
		j->d = d;
		if (tr_daemon_submit(d, host_work, round_done, j) < 0) {
			job_free(j);
			break;
		}
		background++;
	}
	json_decref(hosts);
}

void tr_hosts_refresh_start(struct tr_daemon *d, uint64_t interval_ms)
{
	if (interval_ms)
		tr_daemon_timer_add(d, interval_ms, interval_ms, refresh_tick,
				    NULL, NULL);
}

static const struct tr_field add_args[] = {
	{"name", TR_T_STRING, 1, "host name (unique)"},
	{"cluster", TR_T_STRING, 1, "the cluster (CLUSTER or ZONE/POD/CLUSTER)"},
	{"hypervisor", TR_T_STRING, 0, "hypervisor plugin (default libvirt)"},
	{"uri", TR_T_STRING, 1, "connection URI (qemu:///system, test:///default)"},
	TR_FIELDS_END};
static const struct tr_field name_args[] = {
	{"name", TR_T_STRING, 1, "host name"}, TR_FIELDS_END};
static const struct tr_field list_args[] = {
	{"cluster", TR_T_STRING, 0, "only hosts of this cluster"},
	{"state", TR_T_STRING, 0, "only hosts in this state (up, unreachable)"},
	TR_LIST_FIELDS, TR_FIELDS_END};

static const struct tr_api_op ops[] = {
	{"host.add", "open a host through its hypervisor plugin and record it",
	 add_args, host_add, TR_OP_MUTATES, TR_PERM_DC},
	{"host.list", "list hosts", list_args, host_list, TR_OP_READ, TR_PERM_DC},
	{"host.show", "show a host", name_args, host_show, TR_OP_READ, TR_PERM_DC},
	{"host.remove", "forget a host (refused while Trellis VMs run on it)",
	 name_args, host_remove, TR_OP_MUTATES, TR_PERM_DC},
	{"host.refresh", "rediscover a host's capacity and VMs", name_args,
	 host_refresh, TR_OP_MUTATES, TR_PERM_DC},
};

void tr_api_register_host(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
