/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hypervisor.c - the hypervisor.* actions: JSON arguments to the
 * hypervisor ABI's typed specs (trellis_vm_spec_t, disk and NIC specs) and
 * results back to JSON.
 *
 * A host is named in the arguments ("host"); its plugin and connect URI
 * come from the inventory (lookup.h), and its connection is the daemon's
 * cached one (tr_conn_get, keyed by the host's name as `host add` does),
 * so every step on a host shares one connection.  Outputs repeat the host
 * and the VM's uuid, so the undo of hypervisor.vm_create
 * (hypervisor.vm_destroy) finds what the step made.  The console password
 * is a secret output: it goes to the caller and nowhere else.
 * The JSON-to-spec conversion is vmspec.c; hypervisor.vm_record and
 * vm_forget, which keep the inventory's VM records, are vmrecord.c.
 */
#include <stdlib.h>
#include <string.h>

#include "../auth/auth.h"
#include "../placement/claims.h"
#include "../runtime/daemon.h"
#include "../util/alloc.h"
#include "../util/json.h"
#include "action.h"
#include "lookup.h"
#include "vm.h"
#include "vmspec.h"

struct host_ref {
	struct tr_daemon *d;
	struct tr_conn *c;
	struct tr_target *t;
	const char *name;
};

static int host_get(const struct tr_action_env *env, json_t *args,
		    struct host_ref *h, trellis_call_t *call)
{
	json_t *rec = NULL;
	memset(h, 0, sizeof *h);
	h->d = env ? env->daemon : NULL;
	h->name = tr_json_str_opt(args, "host");
	int rc = 0;
	if (env && env->host_record)
		rec = json_incref(env->host_record);
	else
		rc = tr_lookup(h->d, TR_KIND_HOST, h->name, &rec, call);
	if (rc < 0)
		return rc;
	struct tr_conn_spec spec = {
	    .kind = TR_CONN_HOST,
	    .key = h->name,
	    .plugin = tr_json_str_opt(rec, "hypervisor"),
	    .uri = tr_json_str_opt(rec, "uri"),
	    .options = json_object_get(json_object_get(rec, "spec"), "options"),
	};
	rc = tr_conn_get(h->d, &spec, call, &h->c);
	json_decref(rec);
	if (rc < 0)
		return rc;
	h->t = tr_conn_target(h->c);
	return 0;
}

/* Done with the host's connection; rc is what the action returns.  A
 * connection the host dropped (UNAVAILABLE: its daemon restarted, say)
 * leaves the cache, so the next step, a retry or the compensation of
 * this one, connects anew instead of failing on it too. */
static void host_put(struct host_ref *h, int rc)
{
	if (!h->c)
		return;
	tr_conn_put(h->d, h->c);
	if (rc == TRELLIS_E_UNAVAILABLE)
		tr_conn_forget(h->d, TR_CONN_HOST, h->name);
}

static json_t *vm_json(const char *host, const trellis_vm_info_t *vm)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "host", host,
			 "uuid", vm->uuid, "name", vm->name, "state",
			 trellis_vm_state_name(vm->state), "id",
			 (int)vm->backend_id, "vcpus", (json_int_t)vm->vcpus,
			 "memory_mib", (json_int_t)vm->memory_mib);
}

/* ---- actions ---- */

#define KEY (env ? env->idem_key : NULL)

static int run_vm_create(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	struct host_ref h;
	struct tr_vm_spec v;
	trellis_vm_info_t out;
	json_t *start = json_object_get(args, "start");
	uint32_t flags =
	    !start || json_is_true(start) ? TRELLIS_VM_CREATE_START : 0;
	int rc = tr_vm_spec_from_json(args, &v, call);
	if (!rc)
		rc = host_get(env, args, &h, call);
	else
		memset(&h, 0, sizeof h);
	/* A cap the plugin cannot apply is said plainly, never dropped:
	 * cpu_shares is ABI 1.1, NIC and disk caps need TRELLIS_HV_CAP_QOS. */
	if (!rc && v.s.cpu_shares && tr_target_abi_minor(h.t) < 1)
		rc = tr_call_set(call, TRELLIS_E_NOTSUP,
				 "VM '%s': host %s's hypervisor plugin is ABI "
				 "1.0 and cannot apply cpu_shares (%u); ask "
				 "without it",
				 v.s.name, h.name, v.s.cpu_shares);
	if (!rc && tr_vm_has_io_caps(&v.s) &&
	    !(tr_target_caps(h.t) & TRELLIS_HV_CAP_QOS))
		rc = tr_call_set(call, TRELLIS_E_NOTSUP,
				 "VM '%s': host %s's hypervisor plugin does not "
				 "enforce bandwidth or IOPS caps (no qos "
				 "capability); ask without them",
				 v.s.name, h.name);
	if (!rc)
		rc = tr_hv_vm_create(h.t, call, &v.s, KEY, flags, &out);
	if (!rc)
		*result = vm_json(h.name, &out);
	host_put(&h, rc);
	tr_vm_spec_free(&v);
	return rc;
}

/* Actions on one VM: vm_destroy, vm_start, vm_pause, vm_resume,
 * vm_shutdown and vm_info share the lookup and the result. */
enum vm_op { OP_DESTROY, OP_START, OP_SHUTDOWN, OP_PAUSE, OP_RESUME, OP_INFO };

static int vm_action(const struct tr_action_env *env, json_t *args,
		     json_t **result, trellis_call_t *call, enum vm_op op)
{
	struct host_ref h;
	const char *uuid = tr_json_str_opt(args, "uuid");
	trellis_vm_info_t info;
	int found = 0;
	int rc = host_get(env, args, &h, call);
	if (rc < 0)
		goto out;
	/* A VM that is running (paused) already was not started (paused)
	 * by this step: its undo must not stop (resume) it. */
	if (op == OP_START || op == OP_PAUSE) {
		rc = tr_hv_vm_info(h.t, call, uuid, 0, &info);
		if (rc)
			goto out;
		found = info.state == (op == OP_START ? TRELLIS_VM_RUNNING
						      : TRELLIS_VM_PAUSED);
	}
	switch (op) {
	case OP_DESTROY:
		rc = tr_hv_vm_destroy(h.t, call, uuid, KEY, 0);
		if (!rc)
			*result = json_pack("{s:s, s:s}", "host", h.name,
					    "uuid", uuid);
		goto out;
	case OP_START:
		if (!found)
			rc = tr_hv_vm_start(h.t, call, uuid, 0);
		/* report_failure: a start the hypervisor refused is an
		 * answer, not an error, so the workflow can record the VM
		 * failed with the reason (vm.started) and then fail. */
		if (rc && rc != TRELLIS_E_CANCELLED &&
		    json_is_true(json_object_get(args, "report_failure"))) {
			*result = json_pack("{s:s, s:s, s:b, s:s, s:s}", "host",
					    h.name, "uuid", uuid, "started", 0,
					    "error", call->message, "code",
					    trellis_error_name(rc));
			tr_call_init(call, NULL);
			rc = 0;
			goto out;
		}
		break;
	case OP_PAUSE:
		if (!found)
			rc = tr_hv_vm_pause(h.t, call, uuid, 0);
		break;
	case OP_RESUME:
		rc = tr_hv_vm_resume(h.t, call, uuid, 0);
		break;
	case OP_SHUTDOWN: {
		json_t *t = json_object_get(args, "timeout_s");
		json_t *force = json_object_get(args, "force");
		uint32_t secs = t ? (uint32_t)tr_json_u64(args, "timeout_s") : 60;
		rc = tr_hv_vm_shutdown(h.t, call, uuid, secs,
				       !force || json_is_true(force)
					   ? TRELLIS_VM_SHUTDOWN_FORCE
					   : 0);
		break;
	}
	case OP_INFO:
		break;
	}
	if (!rc)
		rc = tr_hv_vm_info(h.t, call, uuid, 0, &info);
	if (!rc)
		*result = vm_json(h.name, &info);
	if (!rc && found)
		json_object_set_new(*result, "found", json_true());
	if (!rc && op == OP_START) {
		/* Both always there, so a workflow may name them. */
		json_object_set_new(*result, "started", json_true());
		json_object_set_new(*result, "error", json_string(""));
	}
out:
	host_put(&h, rc);
	return rc;
}

#define VM_RUN(fn, op)                                                         \
	static int fn(const struct tr_action_env *env, json_t *args,           \
		      json_t **result, trellis_call_t *call)                   \
	{                                                                      \
		return vm_action(env, args, result, call, op);                 \
	}
VM_RUN(run_vm_destroy, OP_DESTROY)
VM_RUN(run_vm_start, OP_START)
VM_RUN(run_vm_shutdown, OP_SHUTDOWN)
VM_RUN(run_vm_pause, OP_PAUSE)
VM_RUN(run_vm_resume, OP_RESUME)
VM_RUN(run_vm_info, OP_INFO)

static int run_console(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	struct host_ref h;
	trellis_console_info_t ci;
	json_t *ttl = json_object_get(args, "ttl");
	uint32_t secs = ttl ? (uint32_t)((tr_json_u64(args, "ttl") + 999) / 1000) : 300;
	int rc = host_get(env, args, &h, call);
	if (!rc)
		rc = tr_hv_vm_console(h.t, call, tr_json_str_opt(args, "uuid"),
				      secs, 0, &ci);
	if (!rc)
		*result = json_pack(
		    "{s:s, s:s, s:s, s:s, s:i, s:s, s:I}", "host", h.name,
		    "uuid", tr_json_str_opt(args, "uuid"), "protocol", ci.protocol,
		    "address", ci.host, "port", (int)ci.port, "password",
		    ci.password, "expires_at", (json_int_t)ci.expires_at);
	explicit_bzero(ci.password, sizeof ci.password);
	host_put(&h, rc);
	return rc;
}

static int run_host_info(const struct tr_action_env *env, json_t *args,
			 json_t **result, trellis_call_t *call)
{
	struct host_ref h;
	trellis_hv_host_info_t i;
	int rc = host_get(env, args, &h, call);
	if (!rc)
		rc = tr_hv_host_info(h.t, call, 0, &i);
	if (!rc)
		*result = json_pack(
		    "{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s}",
		    "host", h.name, "hostname", i.hostname, "hv_type",
		    i.hv_type, "hv_version", (json_int_t)i.hv_version, "arch",
		    i.arch, "cpu_model", i.cpu_model, "cpus",
		    (json_int_t)i.cpus, "memory_kib", (json_int_t)i.memory_kib,
		    "free_memory_kib", (json_int_t)i.free_memory_kib,
		    "domain_type", i.domain_type);
	host_put(&h, rc);
	return rc;
}

struct collect {
	const char *host;
	json_t *items;
};

static int collect_vm(void *opaque, const trellis_vm_info_t *vm)
{
	struct collect *c = opaque;
	json_array_append_new(c->items, vm_json(c->host, vm));
	return 0;
}

static int run_vm_list(const struct tr_action_env *env, json_t *args,
		       json_t **result, trellis_call_t *call)
{
	struct host_ref h;
	struct collect c = {.items = json_array()};
	int rc = host_get(env, args, &h, call);
	c.host = h.name;
	if (!rc)
		rc = tr_hv_vm_list(h.t, call, 0, collect_vm, &c);
	if (!rc)
		*result =
		    json_pack("{s:s, s:O}", "host", h.name, "items", c.items);
	json_decref(c.items);
	host_put(&h, rc);
	return rc;
}

/* Hotplug: disk_attach/detach by target, nic_attach/detach by MAC; both
 * required so the undo (the detach) can name what the attach made. */
static int hotplug(const struct tr_action_env *env, json_t *args,
		   json_t **result, trellis_call_t *call, int disk, int attach)
{
	struct host_ref h;
	const char *uuid = tr_json_str_opt(args, "uuid");
	const char *id = disk ? tr_json_str_opt(args, "target") : tr_json_str_opt(args, "mac");
	trellis_disk_spec_t d;
	trellis_nic_spec_t n;
	int rc = 0;
	if (attach && disk) {
		rc = tr_disk_from_json(json_object_get(args, "disk"), "disk", &d,
				    call);
		d.target = id;
	} else if (attach) {
		rc = tr_nic_from_json(json_object_get(args, "nic"), "nic", &n,
				   call);
		n.mac = id;
	}
	memset(&h, 0, sizeof h);
	if (!rc)
		rc = host_get(env, args, &h, call);
	if (!rc)
		rc = disk     ? attach ? tr_hv_vm_disk_attach(h.t, call,
							      uuid, &d, KEY, 0)
				       : tr_hv_vm_disk_detach(h.t, call,
							      uuid, id, KEY, 0)
			 : attach ? tr_hv_vm_nic_attach(h.t, call, uuid, &n,
							KEY, 0)
			      : tr_hv_vm_nic_detach(h.t, call, uuid, id,
						    KEY, 0);
	if (!rc)
		*result = json_pack("{s:s, s:s, s:s}", "host", h.name, "uuid",
				    uuid, disk ? "target" : "mac", id);
	host_put(&h, rc);
	return rc;
}

#define HOTPLUG_RUN(fn, disk, attach)                                          \
	static int fn(const struct tr_action_env *env, json_t *args,           \
		      json_t **result, trellis_call_t *call)                   \
	{                                                                      \
		return hotplug(env, args, result, call, disk, attach);         \
	}
HOTPLUG_RUN(run_disk_attach, 1, 1)
HOTPLUG_RUN(run_disk_detach, 1, 0)
HOTPLUG_RUN(run_nic_attach, 0, 1)
HOTPLUG_RUN(run_nic_detach, 0, 0)

/* Guest accounts (ABI 1.1; a 1.0 plugin answers NOTSUP through dispatch).
 * The password is a secret input: the engine redacts it everywhere, so a
 * step replayed after a restart sees "***" instead of it, and must fail
 * rather than set that. */
enum guest_op { G_PASSWORD, G_LOCK, G_END };

static int guest_action(const struct tr_action_env *env, json_t *args,
			json_t **result, trellis_call_t *call, enum guest_op op)
{
	struct host_ref h;
	const char *uuid = tr_json_str_opt(args, "uuid");
	const char *user = tr_json_str_opt(args, "user");
	const char *pw = tr_json_str_opt(args, "password");
	uint32_t ended = 0;
	if (!user)
		user = "root";
	if (op == G_PASSWORD && (!pw || !strcmp(pw, "***")))
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "hypervisor.guest_set_password: no password "
				   "(a replayed step cannot recover one: "
				   "start again)");
	int rc = host_get(env, args, &h, call);
	if (!rc && op == G_PASSWORD)
		rc = tr_hv_guest_set_password(h.t, call, uuid, user, pw,
					      0);
	else if (!rc && op == G_LOCK)
		rc = tr_hv_guest_lock_user(h.t, call, uuid, user, 0);
	else if (!rc)
		rc = tr_hv_guest_end_sessions(h.t, call, uuid, user, 0,
					      &ended);
	if (!rc) {
		*result = json_pack("{s:s, s:s, s:s}", "host", h.name, "uuid",
				    uuid, "user", user);
		if (op == G_END)
			json_object_set_new(*result, "ended",
					    json_integer(ended));
	}
	host_put(&h, rc);
	return rc;
}

#define GUEST_RUN(fn, op)                                                      \
	static int fn(const struct tr_action_env *env, json_t *args,           \
		      json_t **result, trellis_call_t *call)                   \
	{                                                                      \
		return guest_action(env, args, result, call, op);              \
	}
GUEST_RUN(run_guest_password, G_PASSWORD)
GUEST_RUN(run_guest_lock, G_LOCK)
GUEST_RUN(run_guest_end, G_END)

/* A guest file's bytes from an offset (ABI 1.1), as text: bytes that are
 * not printable ASCII (or a newline) become '?', so the result is JSON
 * whatever the file holds.  The log maintenance mode follows is its
 * reader (core/maint). */
static int run_guest_file_read(const struct tr_action_env *env, json_t *args,
			       json_t **result, trellis_call_t *call)
{
	struct host_ref h;
	json_t *o = json_object_get(args, "offset");
	json_t *m = json_object_get(args, "max");
	json_int_t off = o ? json_integer_value(o) : 0;
	json_int_t max = m ? json_integer_value(m) : 16384;
	if (off < 0 || max < 1 || max > 65536)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "hypervisor.guest_file_read: offset >= 0, "
				   "max 1..65536");
	char *buf = tr_xmalloc((size_t)max + 1);
	size_t n = 0;
	uint64_t size = 0;
	int rc = host_get(env, args, &h, call);
	if (!rc)
		rc = tr_hv_guest_file_read(h.t, call,
					   tr_json_str(args, "uuid"),
					   tr_json_str(args, "path"),
					   (uint64_t)off, 0, buf, (size_t)max,
					   &n, &size);
	if (!rc) {
		for (size_t i = 0; i < n; i++)
			if (buf[i] != '\n' && (buf[i] < 32 || buf[i] > 126))
				buf[i] = '?';
		buf[n] = 0;
		*result = json_pack("{s:s, s:s, s:s%, s:I, s:I}", "host", h.name,
				    "uuid", tr_json_str(args, "uuid"), "data",
				    buf, n, "next", (json_int_t)(off + (json_int_t)n),
				    "size", (json_int_t)size);
	}
	free(buf);
	host_put(&h, rc);
	return rc;
}

/* ---- schemas ---- */


static const struct tr_field host_in[] = {HOST_FIELD, TR_FIELDS_END};
static const struct tr_field vm_in[] = {HOST_FIELD, UUID_FIELD, TR_FIELDS_END};
static const struct tr_field vm_ref_out[] = {HOST_FIELD, UUID_FIELD,
					     TR_FIELDS_END};
static const struct tr_field vm_out[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"name", TR_T_STRING, 1, "the VM's name"},
    {"state", TR_T_STRING, 1, "running, shutoff, paused..."},
    {"id", TR_T_INT, 1, "the hypervisor's domain id, -1 when off"},
    {"vcpus", TR_T_INT, 1, "virtual CPUs"},
    {"memory_mib", TR_T_INT, 1, "memory"},
    {"found", TR_T_BOOL, 0,
     "vm_start, vm_pause: it was so already (the undo leaves it)"},
    {"started", TR_T_BOOL, 0, "vm_start: the hypervisor confirmed it"},
    {"error", TR_T_STRING, 0,
     "vm_start with report_failure: why it did not start"},
    {"code", TR_T_STRING, 0, "vm_start with report_failure: the error code"},
    TR_FIELDS_END};
static const struct tr_field start_in[] = {
    HOST_FIELD, UUID_FIELD,
    {"report_failure", TR_T_BOOL, 0,
     "a refused start is a result {started: false, error}, not an error"},
    TR_FIELDS_END};

static const struct tr_field create_in[] = {
    HOST_FIELD,
    {"name", TR_T_STRING, 1, "VM name ([A-Za-z0-9._-], up to 64)"},
    {"uuid", TR_T_STRING, 0, "default: the hypervisor makes one"},
    {"vcpus", TR_T_INT, 0, "virtual CPUs (default 1)"},
    {"memory", TR_T_SIZE, 0, "memory, e.g. \"256M\" (or memory_mb)"},
    {"memory_mb", TR_T_INT, 0, "memory in MiB (or memory)"},
    {"kernel", TR_T_STRING, 0, "direct boot kernel (else disk 0 boots)"},
    {"initrd", TR_T_STRING, 0, "initramfs for the kernel"},
    {"cmdline", TR_T_STRING, 0, "kernel command line"},
    {"disk", TR_T_ANY, 0,
     "one disk: a path, or {path, format, target, "
     "bus, readonly, read_iops_sec, ...}"},
    {"disks", TR_T_ARRAY, 0, "more disks, each like disk"},
    {"nic", TR_T_ANY, 0,
     "one NIC: a tap's name, or {bridge | ifname, "
     "mac, model, inbound_kbps, outbound_kbps}"},
    {"nics", TR_T_ARRAY, 0, "more NICs, each like nic"},
    {"serial_log", TR_T_STRING, 0, "file that gets the serial console"},
    {"console", TR_T_STRING, 0, "vnc or none (default)"},
    {"console_listen", TR_T_STRING, 0, "VNC listen address (127.0.0.1)"},
    {"domain_type", TR_T_STRING, 0, "kvm or qemu; default: the host's"},
    {"start", TR_T_BOOL, 0, "start it too (default true)"},
    {"cpu_shares", TR_T_INT, 0,
     "relative CPU weight, 0: the default (ABI 1.1)"},
    TR_FIELDS_END};

static const struct tr_field shutdown_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"timeout_s", TR_T_INT, 0, "seconds to wait for the guest (60)"},
    {"force", TR_T_BOOL, 0, "power off after the timeout (default true)"},
    TR_FIELDS_END};

static const struct tr_field console_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"ttl", TR_T_DURATION, 0, "password lifetime (default 5m)"},
    TR_FIELDS_END};
static const struct tr_field console_out[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"protocol", TR_T_STRING, 1, "vnc"},
    {"address", TR_T_STRING, 1, "where the VNC server listens"},
    {"port", TR_T_INT, 1, "its port"},
    {"password", TR_T_SECRET, 1, "one-time password"},
    {"expires_at", TR_T_INT, 1, "unix time the password expires"},
    TR_FIELDS_END};

static const struct tr_field host_info_out[] = {
    HOST_FIELD,
    {"hostname", TR_T_STRING, 1, "as the hypervisor says"},
    {"hv_type", TR_T_STRING, 1, "QEMU, Xen, TEST"},
    {"hv_version", TR_T_INT, 1, "major*1000000+minor*1000+micro"},
    {"arch", TR_T_STRING, 1, "x86_64"},
    {"cpu_model", TR_T_STRING, 1, "host CPU model"},
    {"cpus", TR_T_INT, 1, "logical CPUs"},
    {"memory_kib", TR_T_INT, 1, "total memory"},
    {"free_memory_kib", TR_T_INT, 1, "free memory"},
    {"domain_type", TR_T_STRING, 1, "what vm_create uses: kvm, qemu..."},
    TR_FIELDS_END};
static const struct tr_field list_out[] = {
    HOST_FIELD, {"items", TR_T_ARRAY, 1, "VMs like vm_info's"}, TR_FIELDS_END};

static const struct tr_field disk_attach_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"target", TR_T_STRING, 1, "vdb, sdc... (names it for the detach)"},
    {"disk", TR_T_ANY, 1, "a path, or a disk object (see vm_create)"},
    TR_FIELDS_END};
static const struct tr_field disk_ref[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"target", TR_T_STRING, 1, "the disk"},
    TR_FIELDS_END};
static const struct tr_field nic_attach_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"mac", TR_T_STRING, 1, "the NIC's MAC (names it for the detach)"},
    {"nic", TR_T_OBJECT, 1, "{bridge | ifname, model, caps...}"},
    TR_FIELDS_END};
static const struct tr_field nic_ref[] = {
    HOST_FIELD, UUID_FIELD, {"mac", TR_T_STRING, 1, "the NIC"}, TR_FIELDS_END};

#define USER_FIELD                                                             \
	{                                                                      \
		"user", TR_T_STRING, 0, "the guest account (default root)"     \
	}
static const struct tr_field guest_in[] = {HOST_FIELD, UUID_FIELD, USER_FIELD,
					   TR_FIELDS_END};
static const struct tr_field guest_pw_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    USER_FIELD,
    {"password", TR_T_SECRET, 1, "the new password (never logged)"},
    TR_FIELDS_END};
static const struct tr_field guest_out[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"user", TR_T_STRING, 1, "the guest account"},
    {"ended", TR_T_INT, 0, "guest_end_sessions: sessions ended"},
    TR_FIELDS_END};

static const struct tr_field file_read_in[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"path", TR_T_STRING, 1, "an absolute path in the guest"},
    {"offset", TR_T_INT, 0, "where to start (default 0)"},
    {"max", TR_T_INT, 0, "bytes at most (default 16384, up to 65536)"},
    TR_FIELDS_END};
static const struct tr_field file_read_out[] = {
    HOST_FIELD,
    UUID_FIELD,
    {"data", TR_T_STRING, 1, "the bytes read, as text"},
    {"next", TR_T_INT, 1, "the offset after them"},
    {"size", TR_T_INT, 1, "the file's size now"},
    TR_FIELDS_END};

#define M TR_ACTION_MUTATES
static const struct tr_action actions[] = {
    {.name = "hypervisor.host_info",
     .description = "Capacity and identity of a host",
     .input = host_in,
     .output = host_info_out,
     .run = run_host_info,
     .flags = 0},
    {.name = "hypervisor.vm_list",
     .description = "Every VM a host's hypervisor knows",
     .input = host_in,
     .output = list_out,
     .run = run_vm_list,
     .flags = 0},
    {.name = "hypervisor.vm_info",
     .description = "State and resources of a VM",
     .input = vm_in,
     .output = vm_out,
     .run = run_vm_info,
     .flags = 0},
    {.name = "hypervisor.vm_create",
     .description =
	 "Define a VM (disks, NICs, serial log, VNC, caps) and start it",
     .input = create_in,
     .output = vm_out,
     .run = run_vm_create,
     .undo = "hypervisor.vm_destroy",
     .flags = M},
    {.name = "hypervisor.vm_destroy",
     .description = "Power off and undefine (gone: success)",
     .input = vm_in,
     .output = vm_ref_out,
     .run = run_vm_destroy,
     .flags = M},
    {.name = "hypervisor.vm_start",
     .description = "Start a VM",
     .input = start_in,
     .output = vm_out,
     .run = run_vm_start,
     .undo = "hypervisor.vm_shutdown",
     .flags = M},
    {.name = "hypervisor.vm_shutdown",
     .description = "Graceful shutdown, then power off after the timeout",
     .input = shutdown_in,
     .output = vm_out,
     .run = run_vm_shutdown,
     .flags = M},
    {.name = "hypervisor.vm_pause",
     .description = "Pause a VM",
     .input = vm_in,
     .output = vm_out,
     .run = run_vm_pause,
     .undo = "hypervisor.vm_resume",
     .flags = M},
    {.name = "hypervisor.vm_resume",
     .description = "Resume a paused VM",
     .input = vm_in,
     .output = vm_out,
     .run = run_vm_resume,
     .flags = M},
    {.name = "hypervisor.console",
     .description = "VNC endpoint and a one-time password (a secret)",
     .input = console_in,
     .output = console_out,
     .run = run_console,
     .flags = M},
    {.name = "hypervisor.disk_attach",
     .description = "Attach a disk (hotplug when running)",
     .input = disk_attach_in,
     .output = disk_ref,
     .run = run_disk_attach,
     .undo = "hypervisor.disk_detach",
     .flags = M},
    {.name = "hypervisor.disk_detach",
     .description = "Detach a disk (missing: success)",
     .input = disk_ref,
     .output = disk_ref,
     .run = run_disk_detach,
     .flags = M},
    {.name = "hypervisor.nic_attach",
     .description = "Attach a NIC (hotplug when running)",
     .input = nic_attach_in,
     .output = nic_ref,
     .run = run_nic_attach,
     .undo = "hypervisor.nic_detach",
     .flags = M},
    {.name = "hypervisor.nic_detach",
     .description = "Detach a NIC (missing: success)",
     .input = nic_ref,
     .output = nic_ref,
     .run = run_nic_detach,
     .flags = M},
    {.name = "hypervisor.guest_set_password",
     .description =
	 "Set a guest account's password through the guest agent (since 1.1)",
     .input = guest_pw_in,
     .output = guest_out,
     .run = run_guest_password,
     .undo = "hypervisor.guest_lock_user",
     .flags = M},
    {.name = "hypervisor.guest_lock_user",
     .description = "Lock a guest account: no password works (since 1.1)",
     .input = guest_in,
     .output = guest_out,
     .run = run_guest_lock,
     .flags = M},
    {.name = "hypervisor.guest_end_sessions",
     .description = "End a guest account's login sessions (since 1.1)",
     .input = guest_in,
     .output = guest_out,
     .run = run_guest_end,
     .flags = M},
    {.name = "hypervisor.guest_file_read",
     .description =
	 "Read a guest file from an offset through the guest agent (since 1.1)",
     .input = file_read_in,
     .output = file_read_out,
     .run = run_guest_file_read,
     .flags = 0},
};
#undef M

void tr_actions_register_hypervisor(void)
{
	tr_actions_add(actions, sizeof actions / sizeof *actions);
}
