/* SPDX-License-Identifier: Apache-2.0 */
/*
 * console_scan.c - consoleproxy.scan: keeps console.standby free sessions
 * across the proxy instances, as CloudStack's console proxy manager does.
 *
 * One management server at a time scans: the scan first takes the lease
 * "consoleproxy.scan" in the store (a second scanner finds it held and
 * does nothing).  Then, in order:
 *   1. an instance that is draining and has no open session left is
 *      stopped through its launcher and forgotten, or (one we did not
 *      start) marked "retired", which its next report tells it, and
 *      forgotten once silent ("removed");
 *   2. an instance that stopped reporting for REPORT_DEAD_S is "dead";
 *   3. free room = sum over active instances of capacity - sessions;
 *      short of console.standby (and below console.max_instances): one
 *      instance is started ("added");
 *   4. one instance's worth more than needed: the least loaded active
 *      instance drains ("draining"); its proxy hands its sessions over
 *      (console.resume) on its next report, and a later scan removes it.
 *
 * Launchers (struct launcher) start and stop instances.  "process" runs
 * trellis-console on the next free port of console.listen_host, as a
 * child of this trellisd (which stops them when it stops, below).  "vm"
 * boots an instance as a VM, as the seed does: the workflow vm.provision
 * with the inputs of console.vm_template (a JSON file: the proxy image,
 * size, segment...) and the instance's name, which is the VM's; a kernel
 * command line (cmdline) gets "trellis.console.name=NAME
 * trellis.console.core=URL", which the proxy image's boot hands to
 * trellis-console (--name, --core).  The instance is "starting" with no
 * URL until it reports its own.  Stopping one is vm.destroy of that VM;
 * any management server may, the VM being in the inventory, not a child.
 * An instance that never reports is dead after its launcher's boot_s
 * (a VM boots: 300 s), one that stopped reporting after REPORT_DEAD_S; it is
 * stopped through its launcher too, so no VM or process is left behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <trellis/error.h>

#include "../auth/console.h"
#include "../config/config.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../workflow/engine.h"
#include "api_int.h"
#include "console_int.h"

#define REPORT_DEAD_S 20
#define LEASE "consoleproxy.scan"

struct launcher {
	const char *name;
	/* Starts an instance: its name, base URL and handle (a pid). */
	int (*start)(struct tr_daemon *d, char *name, size_t nlen, char *url,
		     size_t ulen, long *handle, trellis_call_t *call);
	/* Stops the instance of handle (drained, or dead). */
	void (*stop)(struct tr_daemon *d, const char *name, long handle);
	/* Whether this trellisd may stop it. */
	int (*owns)(long handle);
	/* Its row goes at once when it is stopped (1), or it is "retired"
	 * first, so that a last report does not bring it back (0). */
	int forget_at_stop;
	/* How long a "starting" instance may take to report first. */
	long boot_s;
};

/* Whether TCP port is free on host (bind test). */
static int port_free(const char *host, unsigned port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void proxy_binary(struct tr_daemon *d, char *buf, size_t len)
{
	if (d->config->console_proxy_bin) {
		snprintf(buf, len, "%s", d->config->console_proxy_bin);
		return;
	}
	char self[900];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		snprintf(buf, len, "trellis-console");
		return;
	}
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/trellis-console", self);
}

static const char *api_url(struct tr_daemon *d)
{
	return d->config->api_listen;
}

static int process_start(struct tr_daemon *d, char *name, size_t nlen,
			 char *url, size_t ulen, long *handle,
			 trellis_call_t *call)
{
	const char *host = d->config->console_listen_host
			       ? d->config->console_listen_host
			       : "127.0.0.1";
	unsigned port = d->config->console_first_port;
	for (; port < d->config->console_first_port + 1000; port++)
		if (port_free(host, port))
			break;
	if (port >= d->config->console_first_port + 1000)
		return tr_call_set(call, TRELLIS_E_NOSPACE,
				   "consoleproxy.scan: no free port from %u",
				   d->config->console_first_port);
	snprintf(name, nlen, "cp-%u", port);
	snprintf(url, ulen, "https://%s:%u", host, port);
	char bin[1024], listen[300], dir[1024], cap[16], log[1100];
	proxy_binary(d, bin, sizeof bin);
	snprintf(listen, sizeof listen, "%s:%u", host, port);
	snprintf(dir, sizeof dir, "%s/console", d->state_dir);
	mkdir(dir, 0700);
	snprintf(dir, sizeof dir, "%s/console/%s", d->state_dir, name);
	mkdir(dir, 0700);
	snprintf(log, sizeof log, "%s/proxy.log", dir);
	snprintf(cap, sizeof cap, "%u", d->config->console_capacity);
	pid_t pid = fork();
	if (pid < 0)
		return tr_call_set(call, TRELLIS_E_IO,
				   "consoleproxy.scan: fork: %s",
				   strerror(errno));
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		setsid();
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(bin, bin, "--name", name, "--listen", listen, "--core",
		      api_url(d), "--state-dir", dir, "--capacity", cap,
		      "--launcher", "process", (char *)NULL);
		_exit(127);
	}
	*handle = pid;
	return 0;
}

static void process_stop(struct tr_daemon *d, const char *name, long handle)
{
	(void)d;
	/* Only our own child (the caller checks): it hands nothing over
	 * (it is drained), tells the core it is gone and exits; a later
	 * scan reaps it.  No waiting here: the main thread answers its
	 * last report. */
	if (handle > 0 && kill((pid_t)handle, SIGTERM) == 0)
		tr_info("consoleproxy.scan: instance '%s' (pid %ld) stops",
			name, handle);
}

/* ---- the vm launcher ---- */

static int vm_start(struct tr_daemon *d, char *name, size_t nlen, char *url,
		    size_t ulen, long *handle, trellis_call_t *call)
{
	const char *tpl = d->config->console_vm_template;
	if (!tpl)
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "consoleproxy.scan: the vm launcher needs "
				   "console.vm_template (vm.provision inputs, "
				   "a JSON file)");
	if (!d->engine)
		return tr_call_set(call, TRELLIS_E_UNAVAILABLE,
				   "consoleproxy.scan: the workflow engine is "
				   "not running");
	json_error_t je;
	json_t *in = json_load_file(tpl, 0, &je);
	if (!json_is_object(in)) {
		json_decref(in);
		return tr_call_set(call, TRELLIS_E_INVALID_ARG,
				   "console.vm_template %s:%d: %s", tpl,
				   je.line, in ? "not an object" : je.text);
	}
	uint32_t r = 0;
	if (getrandom(&r, sizeof r, 0) != sizeof r)
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	snprintf(name, nlen, "cpvm-%08x", r);
	url[0] = '\0'; /* its first report says */
	(void)ulen;
	json_object_set_new(in, "name", json_string(name));
	const char *cl = json_string_value(json_object_get(in, "cmdline"));
	if (cl) {
		const char *core = d->config->api_tcp ? d->config->api_tcp
						      : d->config->api_listen;
		size_t n = strlen(cl) + strlen(name) + strlen(core) + 64;
		char *c = tr_xmalloc(n);
		snprintf(c, n, "%s trellis.console.name=%s trellis.console.core=%s",
			 cl, name, core);
		json_object_set_new(in, "cmdline", json_string(c));
		free(c);
	}
	char *id = NULL;
	int rc = tr_engine_start(d->engine, "vm.provision", NULL, NULL, in, &id,
				 NULL, call);
	json_decref(in);
	if (rc < 0)
		return -1;
	tr_info("consoleproxy.scan: instance '%s' boots as a VM (vm.provision "
		"%s)",
		name, id);
	free(id);
	*handle = 0;
	return 0;
}

static void vm_stop(struct tr_daemon *d, const char *name, long handle)
{
	(void)handle;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char *id = NULL;
	json_t *in = json_pack("{s:s}", "vm", name);
	if (d->engine && tr_engine_start(d->engine, "vm.destroy", NULL, NULL,
					 in, &id, NULL, &call) == 0)
		tr_info("consoleproxy.scan: instance '%s' stops: its VM goes "
			"(vm.destroy %s)",
			name, id);
	else
		tr_warn("consoleproxy.scan: instance '%s': vm.destroy: %s",
			name, call.message);
	json_decref(in);
	free(id);
}

static int vm_owns(long handle)
{
	(void)handle;
	return 1;
}

static int is_kid(long pid);

static const struct launcher launchers[] = {
	{"process", process_start, process_stop, is_kid, 1, REPORT_DEAD_S},
	{"vm", vm_start, vm_stop, vm_owns, 0, 300},
};

static const struct launcher *find_launcher(const char *name)
{
	for (size_t i = 0; i < sizeof launchers / sizeof *launchers; i++)
		if (strcmp(launchers[i].name, name) == 0)
			return &launchers[i];
	return NULL;
}

/* The children this daemon launched: reaped here, so none lingers as a
 * zombie; only these pids are ever signalled. */
#define MAX_KIDS 64
static long kids[MAX_KIDS];
static char kid_names[MAX_KIDS][128];

static int is_kid(long pid)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (pid > 0 && kids[i] == pid)
			return 1;
	return 0;
}

static void reap(void)
{
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] > 0 && waitpid((pid_t)kids[i], NULL, WNOHANG) > 0)
			kids[i] = 0;
}

static unsigned kids_alive(void)
{
	unsigned n = 0;
	reap();
	for (int i = 0; i < MAX_KIDS; i++)
		n += kids[i] > 0;
	return n;
}

/* ---- trellisd stops: its children first ----
 *
 * The instances the process launcher started are part of this trellisd:
 * without it they can redeem no token and report nothing, and the
 * service's stop (systemd: KillMode=mixed) would kill them anyway.  So
 * they stop first, while the API still takes what they say: each closes
 * its sessions (the browser is told, code 1001 "the console proxy
 * stops"), reports their ends (console.close: recorded) and its own
 * ("gone": forgotten), and exits; after STOP_WAIT_MS one that has not is
 * killed and forgotten here.  Only then does the daemon's own stop
 * begin.  Instances trellisd did not start (an operator's, another
 * launcher's) are left alone: they keep relaying the sessions they have
 * and report again when the core is back.  Adopting our children on a
 * restart instead would leave sessions whose ends nobody records, on
 * processes nobody reaps, for as long as trellisd is down. */
#define STOP_WAIT_MS 5000
static int kids_stopping;
static uint64_t kids_deadline;
static void (*kids_then)(struct tr_daemon *d);

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void kids_tick(struct tr_daemon *d, void *arg)
{
	(void)arg;
	if (kids_alive() && mono_ms() < kids_deadline) {
		tr_daemon_timer_add(d, 100, 0, kids_tick, NULL, NULL);
		return;
	}
	struct tr_sql *db = tr_store_sql(d->store);
	for (int i = 0; i < MAX_KIDS; i++) {
		if (kids[i] <= 0)
			continue;
		tr_warn("consoleproxy: instance '%s' (pid %ld) did not stop "
			"in %d ms: killed",
			kid_names[i], kids[i], STOP_WAIT_MS);
		kill((pid_t)kids[i], SIGKILL);
		waitpid((pid_t)kids[i], NULL, 0);
		kids[i] = 0;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		tr_console_proxy_delete(db, kid_names[i], &call);
	}
	tr_info("consoleproxy: the instances trellisd started have stopped");
	kids_then(d);
}

int tr_console_stop_children(struct tr_daemon *d,
			     void (*then)(struct tr_daemon *d))
{
	if (kids_stopping || !kids_alive())
		return 0; /* nothing to wait for, or a second signal */
	kids_stopping = 1;
	kids_then = then;
	kids_deadline = mono_ms() + STOP_WAIT_MS;
	for (int i = 0; i < MAX_KIDS; i++)
		if (kids[i] > 0 && kill((pid_t)kids[i], SIGTERM) == 0)
			tr_info("consoleproxy: trellisd stops: instance '%s' "
				"(pid %ld) closes its sessions and stops",
				kid_names[i], kids[i]);
	tr_daemon_timer_add(d, 100, 0, kids_tick, NULL, NULL);
	return 1;
}

static void holder_name(struct tr_daemon *d, char *buf, size_t len)
{
	(void)d;
	char host[128] = "?";
	gethostname(host, sizeof host - 1);
	snprintf(buf, len, "%s:%ld", host, (long)getpid());
}

/* One scan; the result's JSON, or NULL with call set. */
static json_t *scan(struct tr_daemon *d, const char *scanner,
		    trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(d->store);
	const struct tr_config *cfg = d->config;
	char me[200], other[200];
	if (scanner)
		snprintf(me, sizeof me, "%s", scanner);
	else
		holder_name(d, me, sizeof me);
	long ttl = cfg->console_scan_ms ? (long)(cfg->console_scan_ms / 1000) * 3
				       : 30;
	if (ttl < 30)
		ttl = 30;
	if (kids_stopping) /* trellisd stops: no instance starts now */
		return json_pack("{s:b, s:s, s:s}", "acted", 0, "scanner", me,
				 "why", "trellisd is stopping");
	int got = tr_console_lease_take(db, LEASE, me, ttl, other, sizeof other,
					call);
	if (got < 0)
		return NULL;
	if (!got)
		return json_pack("{s:b, s:s, s:s}", "acted", 0, "scanner", me,
				 "lease_holder", other);
	reap();
	json_t *list = NULL;
	if (tr_console_proxy_list(db, &list, call) < 0)
		return NULL;
	json_t *added = json_array(), *draining = json_array(),
	       *removed = json_array(), *dead = json_array();
	int64_t now = (int64_t)time(NULL);
	long free_room = 0;
	unsigned running = 0;
	const char *least = NULL;
	long least_load = -1;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(list, "items"), i, p)
	{
		const char *name = json_string_value(json_object_get(p, "name"));
		const char *state = json_string_value(json_object_get(p, "state"));
		long pid = (long)json_integer_value(json_object_get(p, "pid"));
		long cap = (long)json_integer_value(json_object_get(p, "capacity"));
		long sess = (long)json_integer_value(json_object_get(p, "sessions"));
		long open = (long)json_integer_value(json_object_get(p, "open"));
		json_t *rep = json_object_get(p, "reported_at");
		int64_t last = json_is_integer(rep)
				   ? json_integer_value(rep)
				   : json_integer_value(json_object_get(p, "started_at"));
		const char *lname =
		    json_string_value(json_object_get(p, "launcher"));
		const struct launcher *l = lname ? find_launcher(lname) : NULL;
		long load = sess > open ? sess : open;
		if (!strcmp(state, "draining") && load == 0) {
			/* Drained.  Our own child stops now; another
			 * instance is told "retired" by its next report
			 * and exits, and goes from the list once silent. */
			if (l && l->owns(pid)) {
				l->stop(d, name, pid);
				if (l->forget_at_stop)
					tr_console_proxy_delete(db, name, call);
				else
					tr_console_proxy_set_state(
					    db, name, "retired", call);
			} else {
				tr_console_proxy_set_state(db, name, "retired",
							   call);
			}
			json_array_append_new(removed, json_string(name));
			continue;
		}
		if (!strcmp(state, "retired")) {
			if (now - last > REPORT_DEAD_S / 4)
				tr_console_proxy_delete(db, name, call);
			continue;
		}
		long dead_s = l && !strcmp(state, "starting") ? l->boot_s
							     : REPORT_DEAD_S;
		if (strcmp(state, "dead") && now - last > dead_s) {
			tr_console_proxy_set_state(db, name, "dead", call);
			tr_warn("consoleproxy.scan: instance '%s' has not "
				"reported for %lld s: dead",
				name, (long long)(now - last));
			json_array_append_new(dead, json_string(name));
			continue;
		}
		if (!strcmp(state, "dead")) {
			/* Its sessions are gone with it; what is left of it
			 * (a hung process, a VM that never came up) goes. */
			if (l && l->owns(pid))
				l->stop(d, name, pid);
			tr_console_proxy_delete(db, name, call);
			json_array_append_new(removed, json_string(name));
			continue;
		}
		running++;
		if (strcmp(state, "active") && strcmp(state, "starting"))
			continue;
		free_room += cap - load;
		if (!strcmp(state, "active") &&
		    (least_load < 0 || load < least_load)) {
			least_load = load;
			least = name;
		}
	}
	const char *acted_least = NULL;
	if (free_room < (long)cfg->console_standby &&
	    running < cfg->console_max) {
		const struct launcher *l =
		    find_launcher(cfg->console_launcher ? cfg->console_launcher
							: "process");
		char name[128], url[512];
		long handle = 0;
		if (!l) {
			tr_call_set(call, TRELLIS_E_NOTSUP,
				    "consoleproxy.scan: no launcher '%s' "
				    "(process, vm)",
				    cfg->console_launcher);
			goto fail;
		}
		if (l->start(d, name, sizeof name, url, sizeof url, &handle,
			     call) < 0)
			goto fail;
		for (int k = 0; handle > 0 && k < MAX_KIDS; k++)
			if (kids[k] <= 0) {
				kids[k] = handle;
				snprintf(kid_names[k], sizeof kid_names[k],
					 "%s", name);
				break;
			}
		if (tr_console_proxy_add(db, name, url, l->name, handle,
					 cfg->console_capacity, call) < 0)
			goto fail;
		tr_info("consoleproxy.scan: %ld free sessions, %u wanted: "
			"started '%s' (%s)",
			free_room, cfg->console_standby, name, url);
		json_array_append_new(added, json_string(name));
		free_room += cfg->console_capacity;
	} else if (least && running > 1 &&
		   free_room - (long)cfg->console_capacity >=
		       (long)cfg->console_standby) {
		acted_least = least;
		if (tr_console_proxy_set_state(db, least, "draining", call) < 0)
			goto fail;
		tr_info("consoleproxy.scan: %ld free sessions, %u wanted: "
			"'%s' drains",
			free_room, cfg->console_standby, least);
		json_array_append_new(draining, json_string(least));
	}
	(void)acted_least;
	json_t *out = json_pack("{s:b, s:s, s:I, s:i, s:o, s:o, s:o, s:o}",
				"acted", 1, "scanner", me, "free",
				(json_int_t)free_room, "standby",
				(int)cfg->console_standby, "added", added,
				"draining", draining, "removed", removed,
				"dead", dead);
	json_decref(list);
	return out;
fail:
	json_decref(list);
	json_decref(added);
	json_decref(draining);
	json_decref(removed);
	json_decref(dead);
	return NULL;
}

static void proxy_scan(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out =
	    scan(d, json_string_value(json_object_get(args, "scanner")), &call);
	if (out)
		tr_req_ok(req, out);
	else
		tr_req_fail_call(req, &call);
}

static void scan_tick(struct tr_daemon *d, void *arg)
{
	(void)arg;
	if (!tr_daemon_leads(d, "console.scan"))
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = scan(d, NULL, &call);
	if (!out)
		tr_warn("consoleproxy.scan: %s", call.message);
	json_decref(out);
}

void tr_console_scan_start(struct tr_daemon *d)
{
	if (d->config->console_scan_ms)
		tr_daemon_timer_add(d, d->config->console_scan_ms,
				    d->config->console_scan_ms, scan_tick, NULL,
				    NULL);
}

static const struct tr_field scan_args[] = {
	{"scanner", TR_T_STRING, 0,
	 "the scanner's name for the lease (default HOST:PID of trellisd)"},
	TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "consoleproxy.scan",
     .description =
	 "keep the standby reserve of console proxies (one scanner at a time)",
     .args = scan_args,
     .handler = proxy_scan,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
};

void tr_api_register_console_scan(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
