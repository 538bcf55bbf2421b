/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvdrv - drives a hypervisor plugin from the shell, for integration tests
 * and the provision benchmark.  It loads the plugin with core/loader and
 * calls its ops only through core/dispatch, as trellisd does.
 *
 *   hvdrv [-p PLUGIN.so] [-u URI] [-c KEY=VALUE]... CMD ARGS [; CMD ARGS]...
 *
 * Commands run in order on one connection; "@" stands for the uuid of the
 * last VM created.  Output is one "key=value ..." line per result, events
 * (vm.state) are printed as "event TOPIC k=v ..." lines as they arrive.
 * A failing command prints "error CODE: message" on stderr and ends the
 * run with status 1 (2 for usage errors).
 *
 *   host-info | list | info UUID | start UUID | pause UUID | resume UUID
 *   create NAME [--key K] [--uuid U] [--vcpus N] [--memory MIB]
 *          [--kernel F] [--initrd F] [--cmdline S] [--serial-log F]
 *          [--disk PATH[,format=F][,target=T][,bus=sata][,ro][,riops=N]
 *                 [,wiops=N][,rbps=N][,wbps=N]]...
 *          [--nic bridge=BR|ifname=TAP[,mac=M][,model=M][,in=KBPS]
 *                [,out=KBPS]]...
 *          [--vnc] [--listen IP] [--domain-type T] [--start]
 *   destroy UUID [KEY] | shutdown UUID TIMEOUT_S [force]
 *   console UUID TTL_S                  (prints the password: tests only)
 *   disk-attach UUID DISKSPEC [KEY] | disk-detach UUID TARGET
 *   nic-attach UUID NICSPEC [KEY] | nic-detach UUID MAC
 *   wait-state UUID STATE TIMEOUT_S | sleep MS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/host/host.h"
#include "../../../core/loader/loader.h"
#include "../../../core/util/node.h"

#define MAX_DEV 16

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_uuid[40];

static void on_event(void *arg, const char *plugin, const char *topic,
		     const char *const *kv)
{
	(void)arg;
	pthread_mutex_lock(&out_lock);
	printf("event %s plugin=%s", topic, plugin);
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		printf(" %s=%s", kv[i], kv[i + 1]);
	printf("\n");
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static void emit(const char *fmt, ...) TRELLIS_PRINTF(1, 2);
static void emit(const char *fmt, ...)
{
	va_list ap;
	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static const char *uuid_arg(const char *s)
{
	return s && strcmp(s, "@") == 0 ? last_uuid : s;
}

static void print_vm(const trellis_vm_info_t *vm)
{
	emit("uuid=%s name=%s state=%s id=%d vcpus=%u memory_mib=%llu\n",
	     vm->uuid, vm->name, trellis_vm_state_name(vm->state),
	     vm->backend_id, vm->vcpus, (unsigned long long)vm->memory_mib);
}

static int list_cb(void *opaque, const trellis_vm_info_t *vm)
{
	(void)opaque;
	print_vm(vm);
	return 0;
}

/* "a=1,b,c=x" option lists of --disk and --nic. */
static char *opt(char *spec, const char *key, int *present)
{
	size_t kl = strlen(key);
	for (char *p = spec; p && *p;) {
		char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= kl && strncmp(p, key, kl) == 0 &&
		    (p[kl] == '=' || p[kl] == ',' || p[kl] == 0 || len == kl)) {
			if (present)
				*present = 1;
			if (p[kl] != '=')
				return NULL;
			char *v = strndup(p + kl + 1, len - kl - 1);
			return v;
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

static unsigned long long num(char *s)
{
	unsigned long long v = s ? strtoull(s, NULL, 10) : 0;
	free(s);
	return v;
}

/* Strings from opt() live until exit: this is a short-lived test tool. */
static int parse_disk(char *s, trellis_disk_spec_t *d)
{
	char *comma = strchr(s, ',');
	*d = (trellis_disk_spec_t){.struct_size = sizeof *d};
	d->path = comma ? strndup(s, (size_t)(comma - s)) : s;
	char *rest = comma ? comma + 1 : NULL;
	int ro = 0;
	if (rest) {
		d->format = opt(rest, "format", NULL);
		d->target = opt(rest, "target", NULL);
		char *bus = opt(rest, "bus", NULL);
		if (bus)
			d->bus = !strcmp(bus, "sata")  ? TRELLIS_DISK_BUS_SATA
				 : !strcmp(bus, "ide") ? TRELLIS_DISK_BUS_IDE
				 : !strcmp(bus, "scsi")
				     ? TRELLIS_DISK_BUS_SCSI
				     : TRELLIS_DISK_BUS_VIRTIO;
		free(bus);
		opt(rest, "ro", &ro);
		d->read_iops_sec = num(opt(rest, "riops", NULL));
		d->write_iops_sec = num(opt(rest, "wiops", NULL));
		d->read_bytes_sec = num(opt(rest, "rbps", NULL));
		d->write_bytes_sec = num(opt(rest, "wbps", NULL));
	}
	if (ro)
		d->disk_flags |= TRELLIS_DISK_READONLY;
	return 0;
}

static int parse_nic(char *s, trellis_nic_spec_t *n)
{
	*n = (trellis_nic_spec_t){.struct_size = sizeof *n};
	n->bridge = opt(s, "bridge", NULL);
	n->ifname = opt(s, "ifname", NULL);
	n->mac = opt(s, "mac", NULL);
	n->model = opt(s, "model", NULL);
	n->inbound_kbps = num(opt(s, "in", NULL));
	n->outbound_kbps = num(opt(s, "out", NULL));
	return 0;
}

static int fail(trellis_call_t *call, int rc)
{
	fprintf(stderr, "error %s: %s\n", trellis_error_name(rc),
		call->message);
	return 1;
}

static int usage(const char *why)
{
	fprintf(stderr, "hvdrv: %s (see the comment at the top of hvdrv.c)\n",
		why);
	return 2;
}

static int cmd_create(struct tr_target *t, int argc, char **argv)
{
	static trellis_disk_spec_t disks[MAX_DEV];
	static trellis_nic_spec_t nics[MAX_DEV];
	static const trellis_disk_spec_t *dp[MAX_DEV];
	static const trellis_nic_spec_t *np[MAX_DEV];
	trellis_vm_spec_t s = {
	    .struct_size = sizeof s, .vcpus = 1, .memory_mib = 128};
	const char *key = NULL;
	uint32_t flags = 0;
	if (argc < 2)
		return usage("create: NAME missing");
	s.name = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
		if (ARG("--key"))
			key = v;
		else if (ARG("--uuid"))
			s.uuid = v;
		else if (ARG("--vcpus"))
			s.vcpus = (uint32_t)atoi(v);
		else if (ARG("--memory"))
			s.memory_mib = strtoull(v, NULL, 10);
		else if (ARG("--kernel"))
			s.kernel = v;
		else if (ARG("--initrd"))
			s.initrd = v;
		else if (ARG("--cmdline"))
			s.cmdline = v;
		else if (ARG("--serial-log"))
			s.serial_log = v;
		else if (ARG("--listen"))
			s.console_listen = v;
		else if (ARG("--domain-type"))
			s.domain_type = v;
		else if (ARG("--disk") && s.n_disks < MAX_DEV) {
			parse_disk(strdup(v), &disks[s.n_disks]);
			dp[s.n_disks] = &disks[s.n_disks];
			s.n_disks++;
		} else if (ARG("--nic") && s.n_nics < MAX_DEV) {
			parse_nic(strdup(v), &nics[s.n_nics]);
			np[s.n_nics] = &nics[s.n_nics];
			s.n_nics++;
		} else if (strcmp(a, "--vnc") == 0)
			s.console = TRELLIS_CONSOLE_VNC;
		else if (strcmp(a, "--start") == 0)
			flags |= TRELLIS_VM_CREATE_START;
		else
			return usage("create: unknown option");
#undef ARG
	}
	s.disks = dp;
	s.nics = np;
	trellis_call_t call;
	trellis_vm_info_t vm;
	tr_call_init(&call, NULL);
	int rc = tr_hv_vm_create(t, &call, &s, key, flags, &vm);
	if (rc < 0)
		return fail(&call, rc);
	snprintf(last_uuid, sizeof last_uuid, "%s", vm.uuid);
	print_vm(&vm);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int run(struct tr_target *t, int argc, char **argv)
{
	trellis_call_t call;
	const char *c = argv[0];
	const char *u = uuid_arg(argc > 1 ? argv[1] : NULL);
	int rc = 0;
	tr_call_init(&call, NULL);
#define NEED(n)                                                                \
	do {                                                                   \
		if (argc < (n) + 1)                                            \
			return usage("missing arguments");                     \
	} while (0)
	if (!strcmp(c, "host-info")) {
		trellis_hv_host_info_t h;
		if ((rc = tr_hv_host_info(t, &call, 0, &h)) == 0)
			emit("hostname=%s hv_type=%s hv_version=%llu arch=%s "
			     "cpu_model=%s cpus=%u memory_kib=%llu "
			     "free_memory_kib=%llu domain_type=%s\n",
			     h.hostname, h.hv_type,
			     (unsigned long long)h.hv_version, h.arch,
			     h.cpu_model, h.cpus,
			     (unsigned long long)h.memory_kib,
			     (unsigned long long)h.free_memory_kib,
			     h.domain_type);
	} else if (!strcmp(c, "list")) {
		rc = tr_hv_vm_list(t, &call, 0, list_cb, NULL);
	} else if (!strcmp(c, "create")) {
		return cmd_create(t, argc, argv);
	} else if (!strcmp(c, "info")) {
		NEED(1);
		trellis_vm_info_t vm;
		if ((rc = tr_hv_vm_info(t, &call, u, 0, &vm)) == 0)
			print_vm(&vm);
	} else if (!strcmp(c, "destroy")) {
		NEED(1);
		rc = tr_hv_vm_destroy(t, &call, u,
				      argc > 2 ? argv[2] : NULL, 0);
	} else if (!strcmp(c, "start")) {
		NEED(1);
		rc = tr_hv_vm_start(t, &call, u, 0);
	} else if (!strcmp(c, "pause")) {
		NEED(1);
		rc = tr_hv_vm_pause(t, &call, u, 0);
	} else if (!strcmp(c, "resume")) {
		NEED(1);
		rc = tr_hv_vm_resume(t, &call, u, 0);
	} else if (!strcmp(c, "shutdown")) {
		NEED(2);
		uint32_t f = argc > 3 && !strcmp(argv[3], "force")
				 ? TRELLIS_VM_SHUTDOWN_FORCE
				 : 0;
		rc = tr_hv_vm_shutdown(t, &call, u,
				       (uint32_t)atoi(argv[2]), f);
	} else if (!strcmp(c, "console")) {
		NEED(2);
		trellis_console_info_t ci;
		rc = tr_hv_vm_console(t, &call, u,
				      (uint32_t)atoi(argv[2]), 0, &ci);
		if (rc == 0)
			emit("protocol=%s host=%s port=%u password=%s "
			     "expires_at=%lld\n",
			     ci.protocol, ci.host, ci.port, ci.password,
			     (long long)ci.expires_at);
		explicit_bzero(&ci, sizeof ci);
	} else if (!strcmp(c, "disk-attach")) {
		NEED(2);
		trellis_disk_spec_t d;
		parse_disk(strdup(argv[2]), &d);
		rc = tr_hv_vm_disk_attach(t, &call, u, &d,
					  argc > 3 ? argv[3] : NULL, 0);
	} else if (!strcmp(c, "disk-detach")) {
		NEED(2);
		rc =
		    tr_hv_vm_disk_detach(t, &call, u, argv[2], NULL, 0);
	} else if (!strcmp(c, "nic-attach")) {
		NEED(2);
		trellis_nic_spec_t n;
		parse_nic(strdup(argv[2]), &n);
		rc = tr_hv_vm_nic_attach(t, &call, u, &n,
					 argc > 3 ? argv[3] : NULL, 0);
	} else if (!strcmp(c, "nic-detach")) {
		NEED(2);
		rc = tr_hv_vm_nic_detach(t, &call, u, argv[2], NULL, 0);
	} else if (!strcmp(c, "wait-state")) {
		NEED(3);
		long long deadline = now_ms() + atoll(argv[3]) * 1000;
		trellis_vm_info_t vm;
		for (;;) {
			rc = tr_hv_vm_info(t, &call, u, 0, &vm);
			if (rc < 0)
				break;
			if (!strcmp(trellis_vm_state_name(vm.state), argv[2])) {
				print_vm(&vm);
				break;
			}
			if (now_ms() > deadline) {
				fprintf(stderr,
					"error TIMEOUT: VM %s is %s, not %s\n",
					u, trellis_vm_state_name(vm.state),
					argv[2]);
				return 1;
			}
			usleep(50 * 1000);
		}
	} else if (!strcmp(c, "sleep")) {
		NEED(1);
		usleep((useconds_t)atoi(argv[1]) * 1000);
	} else {
		return usage("unknown command");
	}
#undef NEED
	if (rc < 0)
		return fail(&call, rc);
	emit("ok %s\n", c);
	return 0;
}

int main(int argc, char **argv)
{
	const char *plugin = NULL, *uri = "test:///default";
	char cfg[4096] = "libvirt:\n";
	char err[512];
	int o, status = 1;

	while ((o = getopt(argc, argv, "+p:u:c:")) != -1) {
		switch (o) {
		case 'p':
			plugin = optarg;
			break;
		case 'u':
			uri = optarg;
			break;
		case 'c': {
			char *eq = strchr(optarg, '=');
			if (!eq)
				return usage("-c wants KEY=VALUE");
			size_t l = strlen(cfg);
			snprintf(cfg + l, sizeof cfg - l, "  %.*s: \"%s\"\n",
				 (int)(eq - optarg), optarg, eq + 1);
			break;
		}
		default:
			return usage("bad option");
		}
	}
	if (optind >= argc)
		return usage("no command");
	static char def[4096];
	if (!plugin) {
		const char *b = getenv("TRELLIS_BUILD");
		snprintf(def, sizeof def, "%s/plugins/libvirt.so",
			 b ? b : "build");
		plugin = def;
	}
	trellis_node_t *conf =
	    tr_node_parse_string("hvdrv -c", cfg, strlen(cfg), err, sizeof err);
	if (!conf) {
		fprintf(stderr, "hvdrv: config: %s\n", err);
		return 2;
	}
	tr_host_set_event_sink(on_event, NULL);
	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_config(reg, conf);
	struct trellis_plugin *p = tr_registry_load_file(reg, plugin);
	struct tr_target *t = NULL;
	if (!p || p->state != TR_PLUGIN_LOADED) {
		fprintf(stderr, "hvdrv: %s: %s\n", plugin,
			p ? p->reason : "out of memory");
		goto out;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = tr_target_open(p, &call, NULL, uri, NULL, 0, &t);
	if (rc < 0) {
		status = fail(&call, rc);
		goto out;
	}
	status = 0;
	for (int i = optind; i < argc && status == 0;) {
		int j = i;
		while (j < argc && strcmp(argv[j], ";") != 0)
			j++;
		if (j > i)
			status = run(t, j - i, argv + i);
		i = j + 1;
	}
out:
	tr_target_close(t);
	tr_registry_free(reg);
	tr_host_shutdown();
	tr_node_free(conf);
	return status;
}
