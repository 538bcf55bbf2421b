/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scenario.c - trellis-xen-scenario, the program that proves the Xen
 * plugin inside a live dom0 (the image tests/xen/build.sh makes).
 *
 *   trellis-xen-scenario PLUGIN.so KERNEL INITRD
 *
 * It loads the plugin through the core loader and calls every op through
 * core/dispatch, the same path the daemon takes, and checks each result
 * against Xen's own toolstack (`xl info`, `xl list`).  Every check prints
 * one line on stdout, which the init script sends to the serial console:
 *
 *   XENT ok <id> - <what>
 *   XENT not ok <id> - <what>: <why>
 *
 * tests/xen/live.t turns these into TAP lines on the host.  The check ids
 * are the contract between the two files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/dispatch/dispatch.h"
#include "../../core/loader/loader.h"
#include "../../core/util/log.h"

static unsigned failures;

static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(int pass, const char *id, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);
static void report(int pass, const char *id, const char *fmt, ...)
{
	va_list ap;

	printf("XENT %s %s - ", pass ? "ok" : "not ok", id);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	/* dom0 uptime: where the run's time goes, under emulation */
	printf(" [%.1f s]\n", uptime());
	fflush(stdout);
	if (!pass)
		failures++;
}

/* Runs cmd and returns its first line matching prefix (static buffer), or
 * NULL. */
static const char *cmd_line(const char *cmd, const char *prefix)
{
	static char hit[512];
	char line[512];
	FILE *f = popen(cmd, "r");
	int found = 0;

	if (!f)
		return NULL;
	/* Read to the end so that the child never gets SIGPIPE. */
	while (fgets(line, sizeof line, f)) {
		if (!found && strncmp(line, prefix, strlen(prefix)) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(hit, sizeof hit, "%s", line);
			found = 1;
		}
	}
	pclose(f);
	return found ? hit : NULL;
}

/* `xl info` value of key as an integer, or -1. */
static long long xl_info(const char *key)
{
	char prefix[64];
	const char *l;

	snprintf(prefix, sizeof prefix, "%s ", key);
	l = cmd_line("xl info 2>/dev/null", prefix);
	if (!l || !(l = strchr(l, ':')))
		return -1;
	return strtoll(l + 1, NULL, 10);
}

/* `xl list` row of domain name: 1 with its id and state column ("r-----",
 * "--p---"...), 0 when xl does not list it. */
static int xl_list(const char *name, long *id, char state[16])
{
	char prefix[160];
	const char *l;
	char n[128];
	long mem, vcpus;

	snprintf(prefix, sizeof prefix, "%s ", name);
	l = cmd_line("xl list 2>/dev/null", prefix);
	if (!l)
		return 0;
	if (sscanf(l, "%127s %ld %ld %ld %15s", n, id, &mem, &vcpus, state) !=
	    5)
		return 0;
	return 1;
}

struct seen {
	const char *uuid;
	int found;
	int state;
	unsigned count;
};

static int list_cb(void *opaque, const trellis_vm_info_t *vm)
{
	struct seen *s = opaque;

	s->count++;
	if (strcmp(vm->uuid, s->uuid) == 0) {
		s->found++;
		s->state = vm->state;
	}
	return 0;
}

static int running_or_blocked(int st)
{
	return st == TRELLIS_VM_RUNNING || st == TRELLIS_VM_BLOCKED;
}

/* Waits up to secs for the guest's console log to hold its boot marker. */
static int wait_marker(const char *log, const char *marker, int secs)
{
	char buf[4096];

	for (int i = 0; i < secs * 2; i++) {
		FILE *f = fopen(log, "r");
		if (f) {
			while (fgets(buf, sizeof buf, f))
				if (strstr(buf, marker)) {
					fclose(f);
					return 1;
				}
			fclose(f);
		}
		usleep(500 * 1000);
	}
	return 0;
}

static void expect(struct tr_target *t, trellis_call_t *call, int rc, int want,
		   const char *id, const char *what)
{
	(void)t;
	if (rc == want && (rc == 0 || (call->message[0] && !call->generic)))
		report(1, id, "%s: %s%s%s", what, trellis_error_name(rc),
		       rc ? ": " : "", rc ? call->message : "");
	else
		report(0, id, "%s: got %s (%s), want %s", what,
		       trellis_error_name(rc), call->message,
		       trellis_error_name(want));
}

int main(int argc, char **argv)
{
	const char *kernel, *initrd;
	struct trellis_plugin *p;
	struct tr_registry *reg;
	struct tr_target *t = NULL;
	trellis_call_t call;
	trellis_hv_host_info_t hi;
	trellis_vm_info_t vm, vm2, info;
	char uuid[40] = "", state[16] = "", log[256];
	struct seen s = {.uuid = uuid};
	long id = -1;
	int rc, listed;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PLUGIN.so KERNEL INITRD\n", argv[0]);
		return 2;
	}
	kernel = argv[2];
	initrd = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* The plugin's debug log carries libxl's own messages: on the serial
	 * console they explain a failed check. */
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_DEBUG, "xen-scenario");
	memset(&hi, 0, sizeof hi);
	memset(&vm, 0, sizeof vm);

	reg = tr_registry_new();
	p = reg ? tr_registry_load_file(reg, argv[1]) : NULL;
	if (!p || p->state != TR_PLUGIN_LOADED) {
		report(0, "load", "plugin %s not loaded: %s", argv[1],
		       p ? p->reason : "out of memory");
		goto out;
	}
	report(1, "load", "plugin '%s' %s loaded through the core loader",
	       p->name, p->desc->version);

	tr_call_init(&call, p->name);
	rc = tr_target_open(p, &call, NULL, "xen:///", NULL, 0, &t);
	if (rc) {
		report(0, "connect", "connect xen:///: %s: %s",
		       trellis_error_name(rc), call.message);
		goto out;
	}
	report(1, "connect", "connect xen:///");

	/* ---- host info against `xl info` ---- */
	rc = tr_hv_host_info(t, &call, 0, &hi);
	if (rc) {
		report(0, "host-info", "host_info: %s: %s",
		       trellis_error_name(rc), call.message);
	} else {
		long long cpus = xl_info("nr_cpus");
		long long mem = xl_info("total_memory");
		report(cpus == hi.cpus, "host-cpus",
		       "host_info cpus %u, xl info nr_cpus %lld", hi.cpus,
		       cpus);
		report(mem == (long long)(hi.memory_kib / 1024), "host-memory",
		       "host_info memory %" PRIu64
		       " MiB, xl info total_memory %lld MiB",
		       hi.memory_kib / 1024, mem);
		report(strcmp(hi.hv_type, "Xen") == 0 &&
			   hi.hv_version / 1000 == 4017,
		       "host-version",
		       "hv %s version %" PRIu64 ", free %" PRIu64 " MiB, %s",
		       hi.hv_type, hi.hv_version, hi.free_memory_kib / 1024,
		       hi.domain_type);
	}

	/* ---- create a PV guest from a Trellis VM spec ---- */
	trellis_vm_spec_t spec = {
	    .struct_size = sizeof spec,
	    .name = "trellis-xen-t1",
	    .vcpus = 1,
	    .memory_mib = 96,
	    .kernel = kernel,
	    .initrd = initrd,
	    .cmdline = "console=hvc0 quiet",
	};
	rc = tr_hv_vm_create(t, &call, &spec, "wf-xen/step-vm",
			     TRELLIS_VM_CREATE_START, &vm);
	if (rc) {
		report(0, "create", "vm_create %s: %s: %s", spec.name,
		       trellis_error_name(rc), call.message);
		goto errors;
	}
	snprintf(uuid, sizeof uuid, "%s", vm.uuid);
	listed = xl_list(spec.name, &id, state);
	report(listed && id == vm.backend_id && running_or_blocked(vm.state),
	       "create",
	       "vm_create %s -> uuid %s domain %d state %s; xl list: id %ld "
	       "state %s",
	       spec.name, vm.uuid, vm.backend_id,
	       trellis_vm_state_name(vm.state), id, state);

	rc = tr_hv_vm_list(t, &call, 0, list_cb, &s);
	report(rc == 0 && s.found == 1 && running_or_blocked(s.state), "list",
	       "vm_list: %u VMs, ours %s in state %s", s.count,
	       s.found ? "listed" : "missing", trellis_vm_state_name(s.state));

	/* The replay comes through a new connection, as after a daemon
	 * restart: the key must be found in Xen, not in the plugin. */
	struct tr_target *t2 = NULL;
	rc = tr_target_open(p, &call, NULL, "xen:///", NULL, 0, &t2);
	if (rc == 0)
		rc = tr_hv_vm_create(t2, &call, &spec, "wf-xen/step-vm",
				     TRELLIS_VM_CREATE_START, &vm2);
	tr_target_close(t2);
	s = (struct seen){.uuid = uuid};
	tr_hv_vm_list(t, &call, 0, list_cb, &s);
	report(rc == 0 && strcmp(vm2.uuid, uuid) == 0 && s.found == 1,
	       "create-replay",
	       "replayed vm_create with the same key on a new connection: "
	       "%s, uuid %s, %d domain(s) with that uuid",
	       trellis_error_name(rc), vm2.uuid, s.found);

	spec.uuid = NULL;
	rc = tr_hv_vm_create(t, &call, &spec, "wf-xen/other-step",
			     TRELLIS_VM_CREATE_START, &vm2);
	expect(t, &call, rc, TRELLIS_E_CONFLICT, "create-dup-name",
	       "vm_create of an existing name under another key");

	/* ---- pause / resume ---- */
	rc = tr_hv_vm_pause(t, &call, uuid, 0);
	tr_hv_vm_info(t, &call, uuid, 0, &info);
	xl_list(spec.name, &id, state);
	report(rc == 0 && info.state == TRELLIS_VM_PAUSED &&
		   strchr(state, 'p') != NULL,
	       "pause", "vm_pause: %s, vm_info state %s, xl list state %s",
	       trellis_error_name(rc), trellis_vm_state_name(info.state),
	       state);

	rc = tr_hv_vm_resume(t, &call, uuid, 0);
	tr_hv_vm_info(t, &call, uuid, 0, &info);
	xl_list(spec.name, &id, state);
	report(rc == 0 && running_or_blocked(info.state) &&
		   strchr(state, 'p') == NULL,
	       "resume", "vm_resume: %s, vm_info state %s, xl list state %s",
	       trellis_error_name(rc), trellis_vm_state_name(info.state),
	       state);

	snprintf(log, sizeof log, "/var/log/xen/console/guest-%s.log",
		 spec.name);
	report(wait_marker(log, "TRELLIS-GUEST-UP", 120), "guest-boot",
	       "the guest printed its boot marker on its PV console (%s)", log);

	/* ---- graceful shutdown ---- */
	rc = tr_hv_vm_shutdown(t, &call, uuid, 60, 0);
	listed = xl_list(spec.name, &id, state);
	report(rc == 0 && !listed, "shutdown",
	       "vm_shutdown: %s%s%s; xl list %s", trellis_error_name(rc),
	       rc ? ": " : "", rc ? call.message : "",
	       listed ? "still lists it" : "no longer lists it");
	if (rc)
		tr_hv_vm_destroy(t, &call, uuid, NULL, 0);

	/* ---- create paused, start, destroy ---- */
	spec.name = "trellis-xen-t2";
	rc =
	    tr_hv_vm_create(t, &call, &spec, "wf-xen/step-vm2", 0, &vm);
	snprintf(uuid, sizeof uuid, "%s", vm.uuid);
	listed = xl_list(spec.name, &id, state);
	report(rc == 0 && vm.state == TRELLIS_VM_PAUSED && listed &&
		   strchr(state, 'p'),
	       "create-paused",
	       "vm_create without START: %s%s%s, state %s, xl list state %s",
	       trellis_error_name(rc), rc ? ": " : "", rc ? call.message : "",
	       trellis_vm_state_name(vm.state), state);

	/* A paused guest cannot answer a shutdown request: the wait times
	 * out, and with FORCE the VM is then powered off. */
	rc = tr_hv_vm_shutdown(t, &call, uuid, 2, 0);
	listed = xl_list(spec.name, &id, state);
	report(rc == TRELLIS_E_TIMEOUT && listed, "shutdown-timeout",
	       "vm_shutdown of a paused VM, 2 s: %s (%s); xl list %s",
	       trellis_error_name(rc), call.message,
	       listed ? "still lists it" : "no longer lists it");
	rc = tr_hv_vm_shutdown(t, &call, uuid, 2,
			       TRELLIS_VM_SHUTDOWN_FORCE);
	listed = xl_list(spec.name, &id, state);
	report(rc == 0 && !listed, "shutdown-force",
	       "vm_shutdown FORCE of a paused VM, 2 s: %s%s%s; xl list %s",
	       trellis_error_name(rc), rc ? ": " : "", rc ? call.message : "",
	       listed ? "still lists it" : "no longer lists it");

	spec.name = "trellis-xen-t3";
	rc =
	    tr_hv_vm_create(t, &call, &spec, "wf-xen/step-vm3", 0, &vm);
	snprintf(uuid, sizeof uuid, "%s", vm.uuid);
	if (rc)
		report(0, "start", "vm_create of %s: %s: %s", spec.name,
		       trellis_error_name(rc), call.message);
	rc = tr_hv_vm_start(t, &call, uuid, 0);
	tr_hv_vm_info(t, &call, uuid, 0, &info);
	report(rc == 0 && running_or_blocked(info.state), "start",
	       "vm_start of a VM created paused: %s, state %s",
	       trellis_error_name(rc), trellis_vm_state_name(info.state));

	rc = tr_hv_vm_destroy(t, &call, uuid, "wf-xen/undo-vm3", 0);
	listed = xl_list(spec.name, &id, state);
	report(rc == 0 && !listed, "destroy", "vm_destroy: %s%s%s; xl list %s",
	       trellis_error_name(rc), rc ? ": " : "", rc ? call.message : "",
	       listed ? "still lists it" : "no longer lists it");

	rc = tr_hv_vm_info(t, &call, uuid, 0, &info);
	expect(t, &call, rc, TRELLIS_E_NOTFOUND, "info-destroyed",
	       "vm_info of the destroyed VM");
	rc = tr_hv_vm_destroy(t, &call, uuid, "wf-xen/undo-vm3", 0);
	expect(t, &call, rc, 0, "destroy-again",
	       "vm_destroy of a VM already gone");

errors:
	/* ---- errors ---- */
	rc = tr_hv_vm_info(t, &call,
			   "0badc0de-0000-4000-8000-000000000001", 0, &info);
	expect(t, &call, rc, TRELLIS_E_NOTFOUND, "err-unknown",
	       "vm_info of an unknown domain");
	rc = tr_hv_vm_pause(t, &call,
			    "0badc0de-0000-4000-8000-000000000001", 0);
	expect(t, &call, rc, TRELLIS_E_NOTFOUND, "err-unknown-pause",
	       "vm_pause of an unknown domain");

	trellis_vm_spec_t big = {
	    .struct_size = sizeof big,
	    .name = "trellis-xen-big",
	    .vcpus = 1,
	    .memory_mib = 1024 * 1024,
	    .kernel = kernel,
	    .initrd = initrd,
	};
	rc = tr_hv_vm_create(t, &call, &big, "wf-xen/big", 0, &vm);
	expect(t, &call, rc, TRELLIS_E_INVALID_ARG, "err-memory-impossible",
	       "vm_create asking for more memory than the host has");
	/* More than is free (dom0 holds its share) but less than the host's
	 * total: could fit some day, not now. */
	big.memory_mib = hi.memory_kib / 1024 - 16;
	rc = tr_hv_vm_create(t, &call, &big, "wf-xen/big", 0, &vm);
	expect(t, &call, rc, TRELLIS_E_NOSPACE, "err-memory-nospace",
	       "vm_create asking for more memory than is free");
	big.memory_mib = 96;
	big.kernel = "/guest/no-such-vmlinux";
	rc = tr_hv_vm_create(t, &call, &big, "wf-xen/big", 0, &vm);
	expect(t, &call, rc, TRELLIS_E_INVALID_ARG, "err-no-kernel",
	       "vm_create with a kernel that does not exist");
	report(!xl_list(big.name, &id, state), "err-no-leftover",
	       "no domain left behind by the failed creates");

	/* Domain 0 is Xen's control domain: never a VM to destroy. */
	const char *d0 = cmd_line("xl list -v 2>/dev/null", "Domain-0 ");
	char d0uuid[40] = "";
	if (d0)
		sscanf(d0, "%*s %*s %*s %*s %*s %*s %39s", d0uuid);
	rc = tr_hv_vm_destroy(t, &call, d0uuid, NULL, 0);
	listed = xl_list("Domain-0", &id, state);
	if (rc == TRELLIS_E_PERMISSION && listed)
		report(1, "err-dom0", "vm_destroy of domain 0 (%s): %s: %s",
		       d0uuid, trellis_error_name(rc), call.message);
	else
		report(0, "err-dom0",
		       "vm_destroy of domain 0 (%s): got %s (%s), want "
		       "PERMISSION",
		       d0uuid, trellis_error_name(rc), call.message);

	rc = tr_hv_vm_info(t, &call, "not-a-uuid", 0, &info);
	expect(t, &call, rc, TRELLIS_E_INVALID_ARG, "err-bad-uuid",
	       "vm_info of a malformed UUID");
	rc = tr_hv_vm_list(t, &call, 1u << 31, list_cb, &s);
	expect(t, &call, rc, TRELLIS_E_INVALID_ARG, "err-flags",
	       "vm_list with an unknown flag bit");

out:
	tr_target_close(t);
	tr_registry_free(reg);
	printf("XENT-END failures=%u\n", failures);
	fflush(stdout);
	return failures ? 1 : 0;
}
