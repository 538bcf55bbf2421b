/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skel_hypervisor.c - the shape of a Trellis hypervisor plugin, over a
 * pretend hypervisor that keeps its VMs in memory (one per connection).
 * Copy it and replace the table with calls into your hypervisor's library.
 *
 * Build (out of tree, against an installed SDK):
 *   cc $(pkg-config --cflags trellis-plugin) -shared -fPIC \
 *      -fvisibility=hidden -Wl,-z,defs -o skel_hypervisor.so skel_hypervisor.c
 * Check:   trellis-plugin-check ./skel_hypervisor.so --target skel:///default
 *
 * What it shows: connect() refuses URIs it does not own; the connection is
 * the target of TRELLIS_THREAD_PER_TARGET, so all state hangs off it;
 * vm_create is idempotent under its key (a replay returns the same UUID;
 * another request for the same name is a CONFLICT); vm_destroy of a VM that
 * is gone succeeds; ops on a missing VM say NOTFOUND; pause, resume,
 * console and hotplug are left NULL, and the core reports NOTSUP.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <trellis/hypervisor.h>

#define PLUGIN "skel-hypervisor"
#define MAX_VMS 64

static const trellis_host_t *host;

struct vm {
	int used;
	char name[128], uuid[40], key[256];
	int state; /* enum trellis_vm_state */
	uint32_t vcpus;
	uint64_t memory_mib;
};

struct conn {
	char uri[256];
	unsigned serial; /* for making UUIDs */
	struct vm vms[MAX_VMS];
};

static int init(trellis_plugin_t *self, const trellis_host_t *h,
		trellis_call_t *call, void **state)
{
	(void)self, (void)call, (void)state;
	host = h;
	return 0;
}

static int check_flags(trellis_call_t *call, const char *op, uint32_t flags,
		       uint32_t known)
{
	if (!(flags & ~known))
		return 0;
	return host->set_error(call, TRELLIS_E_INVALID_ARG,
			       PLUGIN " %s: unknown flag bits 0x%x", op,
			       flags & ~known);
}

static struct vm *find(struct conn *c, const char *uuid)
{
	for (int i = 0; uuid && i < MAX_VMS; i++)
		if (c->vms[i].used && strcmp(c->vms[i].uuid, uuid) == 0)
			return &c->vms[i];
	return NULL;
}

static int notfound(trellis_call_t *call, struct conn *c, const char *uuid)
{
	return host->set_error(call, TRELLIS_E_NOTFOUND, "%s: no VM %s", c->uri,
			       uuid ? uuid : "(null)");
}

static void fill(const struct vm *vm, trellis_vm_info_t *out)
{
	snprintf(out->name, sizeof out->name, "%s", vm->name);
	snprintf(out->uuid, sizeof out->uuid, "%s", vm->uuid);
	out->state = vm->state;
	out->backend_id = vm->state == TRELLIS_VM_RUNNING ? 1 : -1;
	out->vcpus = vm->vcpus;
	out->memory_mib = vm->memory_mib;
}

static int connect_(void *state, trellis_call_t *call, const char *uri,
		    const trellis_node_t *options, uint32_t flags, void **out)
{
	(void)state, (void)options;
	int rc = check_flags(call, "connect", flags, 0);
	if (rc)
		return rc;
	if (!uri || strncmp(uri, "skel:", 5) != 0)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       PLUGIN
				       " handles skel:/// URIs, not '%s'",
				       uri ? uri : "(null)");
	struct conn *c = host->alloc(sizeof *c);
	if (!c)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	snprintf(c->uri, sizeof c->uri, "%s", uri);
	*out = c;
	return 0;
}

static void disconnect(void *state, void *conn)
{
	(void)state;
	host->free(conn);
}

static int host_info(void *conn, trellis_call_t *call, uint32_t flags,
		     trellis_hv_host_info_t *out)
{
	(void)conn;
	int rc = check_flags(call, "host_info", flags, 0);
	if (rc)
		return rc;
	if (gethostname(out->hostname, sizeof out->hostname - 1) < 0)
		snprintf(out->hostname, sizeof out->hostname, "localhost");
	snprintf(out->hv_type, sizeof out->hv_type, "Skeleton");
	out->hv_version = 1000000;
	snprintf(out->arch, sizeof out->arch, "x86_64");
	snprintf(out->cpu_model, sizeof out->cpu_model, "pretend");
	out->cpus = 4;
	out->sockets = 1;
	out->cores = 4;
	out->threads = 1;
	out->memory_kib = 8ull << 20;
	out->free_memory_kib = 6ull << 20;
	snprintf(out->domain_type, sizeof out->domain_type, "skel");
	return 0;
}

static int vm_list(void *conn, trellis_call_t *call, uint32_t flags,
		   trellis_vm_list_fn fn, void *opaque)
{
	struct conn *c = conn;
	int rc = check_flags(call, "vm_list", flags, 0);
	if (rc)
		return rc;
	for (int i = 0; i < MAX_VMS; i++) {
		trellis_vm_info_t info = {.struct_size = sizeof info};
		if (!c->vms[i].used)
			continue;
		fill(&c->vms[i], &info);
		if (fn && fn(opaque, &info))
			break;
	}
	return 0;
}

static int vm_create(void *conn, trellis_call_t *call,
		     const trellis_vm_spec_t *spec, const char *idem_key,
		     uint32_t flags, trellis_vm_info_t *out)
{
	struct conn *c = conn;
	int rc = check_flags(call, "vm_create", flags, TRELLIS_VM_CREATE_START);
	if (rc)
		return rc;
	if (!spec || !spec->name || !spec->name[0] ||
	    strlen(spec->name) >= sizeof c->vms[0].name)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "%s: a VM needs a name of 1-127 "
				       "characters",
				       c->uri);
	if (!spec->vcpus || !spec->memory_mib)
		return host->set_error(call, TRELLIS_E_INVALID_ARG,
				       "%s: VM '%s' needs vcpus and memory",
				       c->uri, spec->name);
	struct vm *free_slot = NULL;
	for (int i = 0; i < MAX_VMS; i++) {
		struct vm *vm = &c->vms[i];
		if (!vm->used) {
			if (!free_slot)
				free_slot = vm;
			continue;
		}
		if (strcmp(vm->name, spec->name) != 0)
			continue;
		/* A replay returns what the first attempt made. */
		if (idem_key && idem_key[0] && strcmp(vm->key, idem_key) == 0) {
			fill(vm, out);
			return 0;
		}
		return host->set_error(call, TRELLIS_E_CONFLICT,
				       "%s: a VM named '%s' exists already "
				       "(%s)",
				       c->uri, spec->name, vm->uuid);
	}
	if (!free_slot)
		return host->set_error(call, TRELLIS_E_NOSPACE,
				       "%s: all %d VM slots are in use", c->uri,
				       MAX_VMS);
	struct vm *vm = free_slot;
	memset(vm, 0, sizeof *vm);
	vm->used = 1;
	snprintf(vm->name, sizeof vm->name, "%s", spec->name);
	if (spec->uuid)
		snprintf(vm->uuid, sizeof vm->uuid, "%s", spec->uuid);
	else
		snprintf(vm->uuid, sizeof vm->uuid,
			 "5ce1e700-0000-4000-8000-%012x", ++c->serial);
	snprintf(vm->key, sizeof vm->key, "%s", idem_key ? idem_key : "");
	vm->vcpus = spec->vcpus;
	vm->memory_mib = spec->memory_mib;
	vm->state = (flags & TRELLIS_VM_CREATE_START) ? TRELLIS_VM_RUNNING
						      : TRELLIS_VM_SHUTOFF;
	fill(vm, out);
	return 0;
}

static int vm_destroy(void *conn, trellis_call_t *call, const char *uuid,
		      const char *idem_key, uint32_t flags)
{
	(void)idem_key;
	int rc = check_flags(call, "vm_destroy", flags, 0);
	if (rc)
		return rc;
	struct vm *vm = find(conn, uuid);
	if (vm)
		memset(vm, 0, sizeof *vm);
	return 0; /* gone, whether it was there or not */
}

static int vm_info(void *conn, trellis_call_t *call, const char *uuid,
		   uint32_t flags, trellis_vm_info_t *out)
{
	int rc = check_flags(call, "vm_info", flags, 0);
	if (rc)
		return rc;
	struct vm *vm = find(conn, uuid);
	if (!vm)
		return notfound(call, conn, uuid);
	fill(vm, out);
	return 0;
}

static int vm_start(void *conn, trellis_call_t *call, const char *uuid,
		    uint32_t flags)
{
	int rc = check_flags(call, "vm_start", flags, 0);
	if (rc)
		return rc;
	struct vm *vm = find(conn, uuid);
	if (!vm)
		return notfound(call, conn, uuid);
	vm->state = TRELLIS_VM_RUNNING;
	return 0;
}

static int vm_shutdown(void *conn, trellis_call_t *call, const char *uuid,
		       uint32_t timeout_s, uint32_t flags)
{
	(void)timeout_s;
	int rc =
	    check_flags(call, "vm_shutdown", flags, TRELLIS_VM_SHUTDOWN_FORCE);
	if (rc)
		return rc;
	struct vm *vm = find(conn, uuid);
	if (!vm)
		return notfound(call, conn, uuid);
	vm->state = TRELLIS_VM_SHUTOFF;
	return 0;
}

static const struct trellis_hypervisor_ops ops = {
    .struct_size = sizeof ops,
    .connect = connect_,
    .disconnect = disconnect,
    .host_info = host_info,
    .vm_list = vm_list,
    .vm_create = vm_create,
    .vm_destroy = vm_destroy,
    .vm_info = vm_info,
    .vm_start = vm_start,
    .vm_shutdown = vm_shutdown,
    /* vm_pause, vm_resume, vm_console and the hotplug ops: NULL, which
     * the core reports as NOTSUP. */
};

TRELLIS_PLUGIN_DEFINE(.name = PLUGIN, .version = "1.0.0", .license = "Apache-2.0",
		      .description = "an in-memory pretend hypervisor (the "
				     "SDK's hypervisor skeleton)",
		      .kind = TRELLIS_KIND_HYPERVISOR,
		      .thread_model = TRELLIS_THREAD_PER_TARGET, .init = init,
		      .ops = &ops)
