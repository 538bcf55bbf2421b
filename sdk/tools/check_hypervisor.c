/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_hypervisor.c - conformance scenario for hypervisor plugins.
 *
 * Target: --target, default test:///default (libvirt's test driver, which
 * needs no daemon).  The scenario makes one VM named <prefix>-vm with an
 * idempotency key, checks that a replayed create returns it, runs every
 * present op with an unknown flag against it, asks each state and attach
 * op twice (the second finds its work done and succeeds), and destroys it
 * twice.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"

#define DEFAULT_TARGET "test:///default"
#define MISSING_UUID "00000000-0000-4000-8000-00000000c0de"

struct hv_fx {
	struct chk *c;
	struct tr_target *t;
	char name[64], flag_name[64];
	char uuid[40];	    /* the fixture VM */
	char flag_uuid[40]; /* made by a vm_create that ignored flags */
	char key[96], flag_key[96];
	trellis_vm_spec_t spec, flag_spec;
	trellis_disk_spec_t disk;
	trellis_nic_spec_t nic;
};

static int inv_host_info(struct chk *c, void *fx_, trellis_call_t *call,
			 uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_host_info(fx->t, call, flags, NULL);
}

static int list_noop(void *opaque, const trellis_vm_info_t *vm)
{
	(void)opaque;
	(void)vm;
	return 0;
}

static int inv_vm_list(struct chk *c, void *fx_, trellis_call_t *call,
		       uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_list(fx->t, call, flags, list_noop, NULL);
}

static int inv_vm_create(struct chk *c, void *fx_, trellis_call_t *call,
			 uint32_t flags)
{
	struct hv_fx *fx = fx_;
	trellis_vm_info_t out;
	(void)c;
	int rc = tr_hv_vm_create(fx->t, call, &fx->flag_spec, fx->flag_key,
				 flags, &out);
	if (rc >= 0)
		snprintf(fx->flag_uuid, sizeof fx->flag_uuid, "%s", out.uuid);
	return rc;
}

static void undo_vm_create(struct chk *c, void *fx_)
{
	struct hv_fx *fx = fx_;
	trellis_call_t call;
	chk_call(c, &call);
	tr_hv_vm_destroy(fx->t, &call, fx->flag_uuid, fx->flag_key, 0);
}

static int inv_vm_destroy(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_destroy(fx->t, call, fx->uuid, fx->key, flags);
}

static int inv_vm_info(struct chk *c, void *fx_, trellis_call_t *call,
		       uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_info(fx->t, call, fx->uuid, flags, NULL);
}

static int inv_vm_start(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_start(fx->t, call, fx->uuid, flags);
}

static int inv_vm_shutdown(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_shutdown(fx->t, call, fx->uuid, 1, flags);
}

static int inv_vm_pause(struct chk *c, void *fx_, trellis_call_t *call,
			uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_pause(fx->t, call, fx->uuid, flags);
}

static int inv_vm_resume(struct chk *c, void *fx_, trellis_call_t *call,
			 uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_resume(fx->t, call, fx->uuid, flags);
}

static int inv_vm_console(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct hv_fx *fx = fx_;
	trellis_console_info_t out;
	(void)c;
	int rc = tr_hv_vm_console(fx->t, call, fx->uuid, 60, flags, &out);
	explicit_bzero(out.password, sizeof out.password);
	return rc;
}

static int inv_disk_attach(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_disk_attach(fx->t, call, fx->uuid, &fx->disk,
				    fx->flag_key, flags);
}

static int inv_disk_detach(struct chk *c, void *fx_, trellis_call_t *call,
			   uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_disk_detach(fx->t, call, fx->uuid, fx->disk.target,
				    fx->flag_key, flags);
}

static void undo_disk_attach(struct chk *c, void *fx_)
{
	trellis_call_t call;
	chk_call(c, &call);
	inv_disk_detach(c, fx_, &call, 0);
}

static int inv_nic_attach(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_nic_attach(fx->t, call, fx->uuid, &fx->nic,
				   fx->flag_key, flags);
}

static int inv_nic_detach(struct chk *c, void *fx_, trellis_call_t *call,
			  uint32_t flags)
{
	struct hv_fx *fx = fx_;
	(void)c;
	return tr_hv_vm_nic_detach(fx->t, call, fx->uuid, fx->nic.mac,
				   fx->flag_key, flags);
}

static void undo_nic_attach(struct chk *c, void *fx_)
{
	trellis_call_t call;
	chk_call(c, &call);
	inv_nic_detach(c, fx_, &call, 0);
}

#define OP(op, inv, undo)                                                      \
	{                                                                      \
#op, offsetof(struct trellis_hypervisor_ops, op), inv, undo    \
	}
/* vm_destroy last: a plugin that ignores the flag destroys the fixture. */
static const struct chk_op hv_ops[] = {
    OP(host_info, inv_host_info, NULL),
    OP(vm_list, inv_vm_list, NULL),
    OP(vm_create, inv_vm_create, undo_vm_create),
    OP(vm_info, inv_vm_info, NULL),
    OP(vm_start, inv_vm_start, NULL),
    OP(vm_shutdown, inv_vm_shutdown, NULL),
    OP(vm_pause, inv_vm_pause, NULL),
    OP(vm_resume, inv_vm_resume, NULL),
    OP(vm_console, inv_vm_console, NULL),
    OP(vm_disk_attach, inv_disk_attach, undo_disk_attach),
    OP(vm_disk_detach, inv_disk_detach, NULL),
    OP(vm_nic_attach, inv_nic_attach, undo_nic_attach),
    OP(vm_nic_detach, inv_nic_detach, NULL),
    OP(vm_destroy, inv_vm_destroy, NULL),
};
#undef OP
#define N_OPS (sizeof hv_ops / sizeof *hv_ops)

/* Ops on a VM that does not exist must say NOTFOUND, with a message. */
static void missing_vm_errors(struct chk *c, struct hv_fx *fx)
{
	static const char *const names[] = {"vm_info",	   "vm_start",
					    "vm_shutdown", "vm_pause",
					    "vm_resume",   "vm_console"};
	char saved[40];
	memcpy(saved, fx->uuid, sizeof saved);
	snprintf(fx->uuid, sizeof fx->uuid, "%s", MISSING_UUID);
	for (size_t i = 0; i < N_OPS; i++) {
		for (size_t j = 0; j < sizeof names / sizeof *names; j++) {
			if (strcmp(hv_ops[i].name, names[j]) != 0 ||
			    !tr_plugin_has_op(c->p, hv_ops[i].offset))
				continue;
			char check[64], what[96];
			trellis_call_t call;
			snprintf(check, sizeof check, "errors:%s", names[j]);
			snprintf(what, sizeof what, "%s of a missing VM",
				 names[j]);
			chk_call(c, &call);
			chk_begin(check);
			int rc = hv_ops[i].invoke(c, fx, &call, 0);
			chk_end();
			chk_expect(c, check, what, &call, rc,
				   TRELLIS_E_NOTFOUND);
		}
	}
	memcpy(fx->uuid, saved, sizeof saved);
}

struct find_vm {
	const char *uuid;
	int found;
	unsigned n;
};

static int find_cb(void *opaque, const trellis_vm_info_t *vm)
{
	struct find_vm *f = opaque;
	f->n++;
	if (vm && strcmp(vm->uuid, f->uuid) == 0)
		f->found = 1;
	return 0;
}

static void create_and_replay(struct chk *c, struct hv_fx *fx)
{
	trellis_call_t call;
	trellis_vm_info_t a, b;
	int rc;

	chk_call(c, &call);
	chk_begin("create:vm_create");
	rc = tr_hv_vm_create(fx->t, &call, &fx->spec, fx->key, 0, &a);
	chk_end();
	if (rc < 0 || !a.uuid[0]) {
		if (rc < 0)
			chk_fail(c, "create:vm_create",
				 "vm_create of '%s': %s: %s", fx->name,
				 trellis_error_name(rc), call.message);
		else
			chk_fail(
			    c, "create:vm_create",
			    "vm_create of '%s' succeeded but returned no uuid",
			    fx->name);
		return;
	}
	snprintf(fx->uuid, sizeof fx->uuid, "%s", a.uuid);
	chk_pass(c, "create:vm_create", "made '%s' (%s), state %s", a.name,
		 a.uuid, trellis_vm_state_name(a.state));

	chk_call(c, &call);
	chk_begin("idempotent:vm_create");
	rc = tr_hv_vm_create(fx->t, &call, &fx->spec, fx->key, 0, &b);
	chk_end();
	if (rc < 0)
		chk_fail(c, "idempotent:vm_create",
			 "replayed vm_create with the same key failed: %s: %s",
			 trellis_error_name(rc), call.message);
	else if (strcmp(a.uuid, b.uuid) != 0)
		chk_fail(c, "idempotent:vm_create",
			 "replayed vm_create with the same key made another "
			 "VM (%s, first %s)",
			 b.uuid, a.uuid);
	else
		chk_pass(c, "idempotent:vm_create",
			 "replay with key '%s' returned the same VM %s",
			 fx->key, b.uuid);

	/* Another request for the same name must not get this VM, nor one
	 * without a key. */
	char other[128];
	snprintf(other, sizeof other, "%s-other", fx->key);
	for (int i = 0; i < 2; i++) {
		const char *check = i ? "idempotent:vm_create-no-key"
				      : "idempotent:vm_create-other-key";
		chk_call(c, &call);
		chk_begin(check);
		rc = tr_hv_vm_create(fx->t, &call, &fx->spec, i ? NULL : other,
				     0, &b);
		chk_end();
		if (rc >= 0 && strcmp(b.uuid, fx->uuid) != 0) {
			/* It made a second VM of the same name: remove it. */
			trellis_call_t c2;
			chk_call(c, &c2);
			tr_hv_vm_destroy(fx->t, &c2, b.uuid, other, 0);
		}
		trellis_vm_info_t still;
		trellis_call_t c3;
		chk_call(c, &c3);
		int intact =
		    tr_hv_vm_info(fx->t, &c3, fx->uuid, 0, &still) == 0 &&
		    strcmp(still.name, fx->name) == 0;
		chk_not_adopted(c, check,
				i ? "vm_create of an existing name without a "
				    "key"
				  : "vm_create of an existing name under "
				    "another key",
				&call, rc, intact,
				"the first VM is gone or renamed");
	}

	chk_call(c, &call);
	chk_begin("vm_info");
	rc = tr_hv_vm_info(fx->t, &call, fx->uuid, 0, &b);
	chk_end();
	if (rc < 0)
		chk_fail(c, "vm_info", "vm_info of the new VM: %s: %s",
			 trellis_error_name(rc), call.message);
	else if (strcmp(b.uuid, fx->uuid) != 0 || strcmp(b.name, fx->name) != 0)
		chk_fail(c, "vm_info",
			 "vm_info gave name '%s' uuid '%s', want "
			 "'%s' '%s'",
			 b.name, b.uuid, fx->name, fx->uuid);
	else
		chk_pass(c, "vm_info", "'%s' is %s, %u vCPU, %llu MiB", b.name,
			 trellis_vm_state_name(b.state), b.vcpus,
			 (unsigned long long)b.memory_mib);

	struct find_vm f = {.uuid = fx->uuid};
	chk_call(c, &call);
	chk_begin("vm_list");
	rc = tr_hv_vm_list(fx->t, &call, 0, find_cb, &f);
	chk_end();
	if (rc < 0)
		chk_fail(c, "vm_list", "%s: %s", trellis_error_name(rc),
			 call.message);
	else if (!f.found)
		chk_fail(c, "vm_list",
			 "the new VM %s is not in the list (%u VMs)", fx->uuid,
			 f.n);
	else
		chk_pass(c, "vm_list", "%u VMs, the new one among them", f.n);
}

/* ABI 1.1's trellis_vm_spec_t.cpu_shares: a plugin built for 1.1 applies
 * it, or refuses the create with NOTSUP and a message; it never ignores
 * it silently, nor fails it some other way.  A VM of its own, destroyed
 * after. */
static void cpu_shares(struct chk *c, struct hv_fx *fx)
{
	const char *check = "caps:cpu_shares";
	if (!c->p->desc || c->p->desc->abi_minor < 1) {
		chk_skip(c, check, "a plugin of ABI 1.0 never sees cpu_shares");
		return;
	}
	trellis_vm_spec_t spec = fx->spec;
	char name[96], key[128];
	snprintf(name, sizeof name, "%.60s-shares", fx->name);
	snprintf(key, sizeof key, "%.100s-shares", fx->key);
	spec.name = name;
	spec.uuid = NULL;
	spec.cpu_shares = 512;
	trellis_call_t call;
	trellis_vm_info_t out;
	chk_call(c, &call);
	chk_begin(check);
	int rc = tr_hv_vm_create(fx->t, &call, &spec, key, 0, &out);
	chk_end();
	if (rc == 0) {
		chk_pass(c, check, "vm_create with cpu_shares 512 made %s",
			 out.uuid);
		trellis_call_t c2;
		chk_call(c, &c2);
		tr_hv_vm_destroy(fx->t, &c2, out.uuid, key, 0);
	} else if (rc == TRELLIS_E_NOTSUP && chk_has_own_message(&call, rc)) {
		chk_pass(c, check, "refused plainly: %s", call.message);
	} else {
		chk_fail(c, check,
			 "vm_create with cpu_shares 512: %s: %s (want success, "
			 "or NOTSUP saying it cannot apply it)",
			 trellis_error_name(rc), call.message);
	}
}

/* A state op (start, pause, resume, shutdown) or an attach/detach asked
 * again finds its work done: that is success, not an error (the guide's
 * table, 4.7).  The first call sets the state up; when it fails, the check
 * is a SKIP naming why. */
static void twice(struct chk *c, struct hv_fx *fx, const char *op)
{
	const struct chk_op *o = NULL;
	for (size_t i = 0; i < N_OPS; i++)
		if (strcmp(hv_ops[i].name, op) == 0)
			o = &hv_ops[i];
	if (!o || !tr_plugin_has_op(c->p, o->offset))
		return;
	char check[64];
	trellis_call_t call;
	snprintf(check, sizeof check, "idempotent:%s", op);
	chk_call(c, &call);
	chk_begin(check);
	int rc = o->invoke(c, fx, &call, 0);
	chk_end();
	if (rc < 0) {
		chk_skip(c, check, "the first %s failed: %s: %s", op,
			 trellis_error_name(rc), call.message);
		return;
	}
	chk_call(c, &call);
	chk_begin(check);
	rc = o->invoke(c, fx, &call, 0);
	chk_end();
	char what[96];
	snprintf(what, sizeof what, "%s asked again, its work done", op);
	chk_expect(c, check, what, &call, rc, 0);
}

static void states_twice(struct chk *c, struct hv_fx *fx)
{
	static const char *const order[] = {
	    "vm_start",	      "vm_pause",	"vm_resume",
	    "vm_disk_attach", "vm_disk_detach", "vm_nic_attach",
	    "vm_nic_detach",  "vm_shutdown"};
	for (size_t i = 0; i < sizeof order / sizeof *order; i++)
		twice(c, fx, order[i]);
}

static void destroy_twice(struct chk *c, struct hv_fx *fx)
{
	trellis_call_t call;
	trellis_vm_info_t info;
	char key[128];
	snprintf(key, sizeof key, "%s-destroy", fx->key);

	chk_call(c, &call);
	chk_begin("vm_destroy");
	int rc = tr_hv_vm_destroy(fx->t, &call, fx->uuid, key, 0);
	chk_end();
	chk_expect(c, "vm_destroy", "vm_destroy of the new VM", &call, rc, 0);

	chk_call(c, &call);
	chk_begin("idempotent:vm_destroy");
	rc = tr_hv_vm_destroy(fx->t, &call, fx->uuid, key, 0);
	chk_end();
	chk_expect(c, "idempotent:vm_destroy",
		   "replayed vm_destroy of a VM already gone", &call, rc, 0);

	chk_call(c, &call);
	chk_begin("errors:vm_info-destroyed");
	rc = tr_hv_vm_info(fx->t, &call, fx->uuid, 0, &info);
	chk_end();
	chk_expect(c, "errors:vm_info-destroyed", "vm_info of a destroyed VM",
		   &call, rc, TRELLIS_E_NOTFOUND);
}

void chk_hypervisor(struct chk *c)
{
	struct hv_fx fx = {.c = c};
	/* Absent ops are checked even without a connection: dispatch answers
	 * NOTSUP before it would touch the handle. */
	struct tr_target none = {.plugin = c->p,
				 .lock = PTHREAD_MUTEX_INITIALIZER};
	const char *uri = c->target ? c->target : DEFAULT_TARGET;
	trellis_call_t call;
	void *conn = NULL;
	int rc;

	snprintf(fx.name, sizeof fx.name, "%s-vm", c->prefix);
	snprintf(fx.flag_name, sizeof fx.flag_name, "%s-flag", c->prefix);
	snprintf(fx.key, sizeof fx.key, "trellis-check/%s/vm", c->prefix);
	snprintf(fx.flag_key, sizeof fx.flag_key, "trellis-check/%s/flag",
		 c->prefix);
	fx.spec = (trellis_vm_spec_t){.struct_size = sizeof fx.spec,
				      .name = fx.name,
				      .vcpus = 1,
				      .memory_mib = 64};
	fx.flag_spec = fx.spec;
	fx.flag_spec.name = fx.flag_name;
	fx.disk = (trellis_disk_spec_t){.struct_size = sizeof fx.disk,
					.path = "/dev/null",
					.format = "raw",
					.target = "vdz",
					.disk_flags = TRELLIS_DISK_READONLY};
	fx.nic = (trellis_nic_spec_t){.struct_size = sizeof fx.nic,
				      .bridge = "trchk0",
				      .mac = "52:54:00:c0:de:01"};

	/* An unknown flag must be refused before anything is opened. */
	chk_call(c, &call);
	chk_begin("flags:connect");
	rc = tr_hv_connect(c->p, &call, uri, NULL, CHK_BAD_FLAG, &conn);
	chk_end();
	if (rc >= 0)
		tr_hv_disconnect(CHK_BARE(c->p, conn));
	chk_expect(c, "flags:connect", "connect with unknown flag bit 31",
		   &call, rc, TRELLIS_E_INVALID_ARG);

	rc = chk_open(c, "connect", &call, NULL, uri, 0, &fx.t);
	const char *skip = NULL;
	if (rc == 1) {
		skip = "the target is unavailable";
	} else if (rc < 0 && !c->target &&
		   (rc == TRELLIS_E_INVALID_ARG || rc == TRELLIS_E_NOTSUP ||
		    rc == TRELLIS_E_UNAVAILABLE)) {
		/* The default is libvirt's test driver; a plugin for another
		 * hypervisor (Xen) says the URI is not its own.  That is not
		 * a defect of the plugin: the checker needs a target. */
		chk_skip(c, "connect",
			 "give --target URI: the default %s is not this "
			 "plugin's (%s: %s)",
			 uri, trellis_error_name(rc), call.message);
		skip = "no --target given";
	} else if (rc < 0) {
		chk_expect(c, "connect", uri, &call, rc, 0);
		skip = "connect failed";
	} else {
		chk_pass(c, "connect", "connected to %s", uri);
	}
	if (skip) {
		chk_skip(c, "scenario",
			 "%s: no host_info, create, replay or "
			 "destroy checks",
			 skip);
		fx.t = &none;
		chk_sweep(c, hv_ops, N_OPS, &fx, skip);
		return;
	}

	trellis_hv_host_info_t hi;
	chk_call(c, &call);
	chk_begin("host_info");
	rc = tr_hv_host_info(fx.t, &call, 0, &hi);
	chk_end();
	if (rc < 0)
		chk_fail(c, "host_info", "%s: %s", trellis_error_name(rc),
			 call.message);
	else if (!hi.hv_type[0] || !hi.cpus || !hi.memory_kib)
		chk_fail(c, "host_info",
			 "incomplete: hv_type '%s', %u CPUs, "
			 "%llu KiB (all must be set)",
			 hi.hv_type, hi.cpus,
			 (unsigned long long)hi.memory_kib);
	else
		chk_pass(c, "host_info",
			 "%s on %s: %u CPUs, %llu MiB, domain "
			 "type '%s'",
			 hi.hv_type, hi.hostname, hi.cpus,
			 (unsigned long long)(hi.memory_kib / 1024),
			 hi.domain_type);

	/* A replayed destroy of something never made succeeds. */
	chk_call(c, &call);
	chk_begin("idempotent:vm_destroy-missing");
	rc = tr_hv_vm_destroy(fx.t, &call, MISSING_UUID, fx.key, 0);
	chk_end();
	chk_expect(c, "idempotent:vm_destroy-missing",
		   "vm_destroy of a VM that does not exist", &call, rc, 0);

	missing_vm_errors(c, &fx);
	create_and_replay(c, &fx);
	if (fx.uuid[0]) {
		chk_sweep(c, hv_ops, N_OPS, &fx, NULL);
		states_twice(c, &fx);
		cpu_shares(c, &fx);
		destroy_twice(c, &fx);
	} else {
		chk_sweep(c, hv_ops, N_OPS, &fx, "no VM to run it against");
	}
	tr_target_close(fx.t);
}
