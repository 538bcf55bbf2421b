/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe.c - the actions that open a target the inventory does not hold
 * yet: hypervisor.host_probe (host add and refresh: capacity and the VMs
 * the hypervisor runs) and storage.pool_open (pool create).
 *
 * The other hypervisor.* and storage.* actions find their host or pool by
 * its record (lookup.h); these take the plugin and the URI in their
 * arguments, because the record is written only after the plugin opened
 * the target, so a bad URI records nothing.  The connection is the
 * daemon's cached one, keyed by the name, so the actions that follow reuse
 * it.  core/inventory records what they return; no API op reaches a
 * plugin but through an action.
 */
#include <string.h>

#include "../runtime/daemon.h"
#include "../util/json.h"
#include "action.h"
#include "lookup.h"

static int collect_vm(void *opaque, const trellis_vm_info_t *vm)
{
	json_array_append_new(
	    opaque, json_pack("{s:s, s:s, s:s, s:I, s:I}", "uuid", vm->uuid,
			      "name", vm->name, "state",
			      trellis_vm_state_name(vm->state), "vcpus",
			      (json_int_t)vm->vcpus, "memory_mib",
			      (json_int_t)vm->memory_mib));
	return 0;
}

static json_t *host_json(const char *name, const trellis_hv_host_info_t *i,
			 json_t *vms)
{
	return json_pack(
	    "{s:s, s:I, s:I, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:I, s:I,"
	    " s:I, s:I, s:o, s:s}",
	    "host", name, "cpus", (json_int_t)i->cpus, "memory_kib",
	    (json_int_t)i->memory_kib, "free_memory_kib",
	    (json_int_t)i->free_memory_kib, "hv_type", i->hv_type, "hv_version",
	    (json_int_t)i->hv_version, "domain_type", i->domain_type, "arch",
	    i->arch, "cpu_model", i->cpu_model, "hostname", i->hostname,
	    "sockets", (json_int_t)i->sockets, "cores", (json_int_t)i->cores,
	    "threads", (json_int_t)i->threads, "mhz", (json_int_t)i->mhz, "vms",
	    vms, "host_uuid", i->host_uuid);
}

static int run_host_probe(const struct tr_action_env *env, json_t *args,
			  json_t **result, trellis_call_t *call)
{
	struct tr_daemon *d = env ? env->daemon : NULL;
	struct tr_conn_spec spec = {.kind = TR_CONN_HOST,
				    .key = tr_json_str(args, "host"),
				    .plugin = tr_json_str(args, "hypervisor"),
				    .uri = tr_json_str(args, "uri"),
				    .options = json_object_get(args, "options")};
	if (!d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "hypervisor.host_probe needs the daemon");
	for (int attempt = 0;; attempt++) {
		struct tr_conn *c = NULL;
		trellis_hv_host_info_t info;
		json_t *vms = NULL;
		tr_call_init(call, spec.plugin);
		int rc = tr_conn_get(d, &spec, call, &c);
		if (rc < 0)
			return rc;
		rc = tr_hv_host_info(tr_conn_target(c), call, 0, &info);
		if (rc == 0) {
			vms = json_array();
			rc = tr_hv_vm_list(tr_conn_target(c), call, 0,
					   collect_vm, vms);
		}
		tr_conn_put(d, c);
		if (rc == 0) {
			*result = host_json(spec.key, &info, vms);
			return 0;
		}
		/* A connection that failed is not worth keeping. */
		tr_conn_forget(d, TR_CONN_HOST, spec.key);
		json_decref(vms);
		/* One the host dropped (UNAVAILABLE: its daemon restarted
		 * since the connection was cached) gets one more try on a
		 * new connection: reads only, so trying again is safe. */
		if (rc != TRELLIS_E_UNAVAILABLE || attempt > 0)
			return rc;
	}
}

static int run_pool_open(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	struct tr_daemon *d = env ? env->daemon : NULL;
	struct tr_conn_spec spec = {
	    .kind = TR_CONN_POOL,
	    .key = tr_json_str(args, "pool"),
	    .plugin = tr_json_str(args, "plugin"),
	    .uri = tr_json_str(args, "target"),
	    .flags = TRELLIS_POOL_OPEN_CREATE,
	};
	struct tr_conn *c = NULL;
	trellis_pool_info_t info;
	if (!d)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "storage.pool_open needs the daemon");
	tr_call_init(call, spec.plugin);
	int rc;
	/* a credential's endpoint, username and options (lookup.h) */
	json_t *opts = tr_pool_options(spec.plugin,
				       json_object_get(args, "options"), call,
				       &rc);
	spec.options = opts;
	if (!rc)
		rc = tr_conn_get(d, &spec, call, &c);
	json_decref(opts);
	if (rc < 0)
		return rc;
	rc = tr_st_pool_info(tr_conn_target(c), call, 0, &info);
	if (rc == 0)
		*result = tr_pool_info_json(spec.key, tr_conn_target(c), &info);
	tr_conn_put(d, c);
	return rc;
}

static const struct tr_field host_probe_in[] = {
    {"host", TR_T_STRING, 1, "the host's name (keys its connection)"},
    {"hypervisor", TR_T_STRING, 1, "hypervisor plugin"},
    {"uri", TR_T_STRING, 1, "connection URI"},
    {"options", TR_T_OBJECT, 0, "the host's own options, for connect"},
    {"agent", TR_T_STRING, 0,
     "the private zone's agent that reaches the host (relayed there)"},
    TR_FIELDS_END};
static const struct tr_field host_probe_out[] = {
    {"host", TR_T_STRING, 1, "the host's name"},
    {"hostname", TR_T_STRING, 1, "as the hypervisor says"},
    {"hv_type", TR_T_STRING, 1, "QEMU, Xen, TEST"},
    {"hv_version", TR_T_INT, 1, "major*1000000+minor*1000+micro"},
    {"arch", TR_T_STRING, 1, "x86_64"},
    {"cpu_model", TR_T_STRING, 1, "host CPU model"},
    {"cpus", TR_T_INT, 1, "logical CPUs"},
    {"sockets", TR_T_INT, 1, "CPU sockets"},
    {"cores", TR_T_INT, 1, "cores per socket"},
    {"threads", TR_T_INT, 1, "threads per core"},
    {"mhz", TR_T_INT, 1, "CPU frequency"},
    {"memory_kib", TR_T_INT, 1, "total memory"},
    {"free_memory_kib", TR_T_INT, 1, "free memory"},
    {"domain_type", TR_T_STRING, 1, "what vm_create uses: kvm, qemu..."},
    {"host_uuid", TR_T_STRING, 1,
     "the machine's identity (ABI 1.1), \"\" when unknown"},
    {"vms", TR_T_ARRAY, 1, "[{uuid, name, state, vcpus, memory_mib}]"},
    TR_FIELDS_END};
static const struct tr_field pool_open_in[] = {
    {"pool", TR_T_STRING, 1, "the pool's name (keys its connection)"},
    {"plugin", TR_T_STRING, 1, "storage plugin"},
    {"target", TR_T_STRING, 1, "directory (localfs) or URI"},
    {"options", TR_T_OBJECT, 0,
     "the pool's own options, for pool_open (spec->options)"},
    {"agent", TR_T_STRING, 0,
     "the private zone's agent whose site has the pool (relayed there)"},
    TR_FIELDS_END};
static const struct tr_field pool_open_out[] = {
    {"pool", TR_T_STRING, 1, "the pool's name"},
    {"capacity", TR_T_INT, 1, "bytes"},
    {"allocation", TR_T_INT, 1, "bytes"},
    {"available", TR_T_INT, 1, "bytes"},
    {"volumes", TR_T_INT, 1, "how many"},
    {"provisioned", TR_T_INT, 0, "the volumes' sizes (ABI 1.1 plugins)"},
    TR_FIELDS_END};

static const struct tr_action actions[] = {
    {.name = "hypervisor.host_probe",
     .description = "Open a host not recorded yet: capacity and its VMs",
     .input = host_probe_in,
     .output = host_probe_out,
     .run = run_host_probe},
    {.name = "storage.pool_open",
     .description = "Open (creating) a pool not recorded yet: capacity",
     .input = pool_open_in,
     .output = pool_open_out,
     .run = run_pool_open,
     .flags = TR_ACTION_MUTATES},
};

void tr_actions_register_probe(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
