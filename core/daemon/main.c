/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellisd - the Trellis management daemon: options, config, the state
 * dir lock, wiring of the subsystems (core/runtime/daemon.h) and the main loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../api/api.h"
#include "../api/keys.h"
#include "../auth/auth.h"
#include "../tenancy/tenancy.h"
#include "../creds/creds.h"
#include "../config/config.h"
#include "../events/events.h"
#include "../http/http.h"
#include "../inventory/inventory.h"
#include "../loader/listing.h"
#include "../loader/loader.h"
#include "../loader/paths.h"
#include "../ha/ha.h"
#include "../placement/orphans.h"
#include "../placement/service.h"
#include "../relay/relay.h"
#include "../runtime/daemon.h"
#include "../runtime/worker.h"
#include "../store/store.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "../maint/maint.h"
#include "../workflow/engine.h"
#include "keys_admin.h"
#include "statedir.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trellisd [OPTIONS]\n"
		"\n"
		"The Trellis management daemon.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     daemon config (YAML); default: embedded defaults\n"
		"  -s, --state-dir DIR   state directory (default /var/lib/trellis); the\n"
		"                        sockets move into it unless the config names them\n"
		"  -f, --foreground      stay in the foreground, log to stderr\n"
		"  -P, --plugin-dir DIR  also load plugins from DIR (repeatable)\n"
		"      --list-plugins    load the plugins, print them and exit\n"
		"  -o, --output FMT      table (default) or json, for --list-plugins\n"
		"      --print-defaults  print the embedded default config and exit\n"
		"      --check-config    load the config and the plugins it names\n"
		"                        (their config schemas, init), report every\n"
		"                        problem as FILE:LINE:COL and exit (1 on any)\n"
		"      --api-key-add NAME  make an API key for the tcp:// listener,\n"
		"                        print its token (shown once) and exit; a\n"
		"                        trellisd running on the state dir reads\n"
		"                        the keys again (SIGHUP)\n"
		"      --api-key-expires AGE  with --api-key-add: the key expires\n"
		"                        AGE from now (90d, 12h; default never)\n"
		"      --api-key-list    list the API keys and their expiry (-o json)\n"
		"      --api-key-remove NAME  remove an API key; a running trellisd\n"
		"                        refuses it at once (SIGHUP)\n"
		"  -v, --verbose         log debug messages\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n"
		"\n"
		"Plugins are searched in the --plugin-dir and plugin_dirs directories,\n"
		"then TRELLIS_PLUGIN_PATH, then beside the program.\n");
}

struct opts {
	const char *config, *state_dir;
	const char *dirs[32];
	size_t ndirs;
	int foreground, list, json, verbose, check;
	struct tr_keys_cmd keys; /* --api-key-* */
};

/* tcp:// listeners need API keys: loads them into the API.  0, or -1
 * with err (an unusable file, or, at start, no key at all).  On SIGHUP
 * (reload) a file without keys is taken: removing the last key revokes
 * it; the caller fails closed on -1. */
static int load_keys(struct tr_api *api, const struct tr_config *cfg,
		     int reload, char *err, size_t errlen)
{
	struct tr_keys *k = tr_keys_load(cfg->api_keys_file, err, errlen);
	if (!cfg->api_tcp) {
		/* HTTP alone: it starts without a key (it still serves
		 * /metrics on loopback) and refuses the API until one is
		 * made (--api-key-add sends SIGHUP). */
		if (!k || tr_keys_count(k) == 0)
			tr_warn("http %s: no API key yet (%s): every API "
				"request is refused until trellisd "
				"--api-key-add NAME makes one",
				cfg->http_listen, k ? "the keys file is empty" : err);
		if (k)
			tr_api_set_keys(api, k);
		if (k)
			tr_info("http %s: API keys: %zu, from %s",
				cfg->http_listen, tr_keys_count(k),
				cfg->api_keys_file);
		return k || !reload ? 0 : -1;
	}
	if (k && tr_keys_count(k) == 0 && reload) {
		tr_warn("api %s: %s has no key: every tcp:// request is "
			"refused now", cfg->api_tcp, cfg->api_keys_file);
	} else if (k && tr_keys_count(k) == 0) {
		snprintf(err, errlen, "%s has no key", cfg->api_keys_file);
		tr_keys_free(k);
		k = NULL;
	}
	if (!k) {
		size_t n = strlen(err);
		snprintf(err + n, errlen - n,
			 " (api.tcp %s needs an API key: trellisd "
			 "--api-key-add NAME makes one)",
			 cfg->api_tcp);
		return -1;
	}
	tr_info("api %s: API keys: %zu, from %s", cfg->api_tcp,
		tr_keys_count(k), cfg->api_keys_file);
	tr_api_set_keys(api, k);
	return 0;
}

/* The host's secret source: credentials first, then secrets_dir. */
static int secret_source(void *dir, const char *name, char **value)
{
	if (!strncmp(name, "credential.", 11))
		return tr_creds_secret(name + 11, value);
	return tr_secrets_get(dir, name, value);
}

static int load_plugins(tr_registry_t *reg, const struct tr_config *cfg,
			const struct opts *o)
{
	const char *dirs[64];
	size_t n = 0;
	for (size_t i = 0; i < o->ndirs && n < 64; i++)
		dirs[n++] = o->dirs[i];
	for (size_t i = 0; cfg && i < cfg->n_plugin_dirs && n < 64; i++)
		dirs[n++] = cfg->plugin_dirs[i];
	struct tr_pathlist paths;
	if (tr_plugin_paths(&paths, dirs, n) < 0) {
		tr_err("out of memory");
		return -1;
	}
	if (cfg)
		tr_registry_set_config(reg, cfg->plugins);
	int rc = 0;
	for (size_t i = 0; i < paths.n; i++) {
		char err[512];
		if (tr_registry_load_dir(reg, paths.dirs[i], err, sizeof err) <
		    0) {
			tr_err("plugin directory %s", err);
			rc = -1;
		}
	}
	/* The loader has logged each refusal once already. */
	for (size_t i = 0; i < tr_registry_count(reg); i++) {
		struct trellis_plugin *p = tr_registry_at(reg, i);
		if (p->state == TR_PLUGIN_LOADED)
			tr_info("plugin %s (%s) loaded", p->name,
				trellis_kind_name(p->desc->kind));
	}
	tr_pathlist_free(&paths);
	return rc;
}

static int list_plugins(const struct opts *o)
{
	tr_log_setup(TR_LOG_STDERR,
		     o->verbose ? TRELLIS_LOG_DEBUG : TRELLIS_LOG_ERR,
		     "trellisd");
	struct tr_config *cfg = NULL;
	if (o->config) {
		char err[1024];
		cfg = tr_config_load(o->config, o->state_dir, err, sizeof err);
		if (!cfg) {
			fprintf(stderr, "trellisd: %s\n", err);
			return 1;
		}
	}
	tr_registry_t *reg = tr_registry_new();
	int rc = load_plugins(reg, cfg, o) < 0 ? 1 : 0;
	tr_registry_print(reg, stdout, o->json);
	tr_registry_free(reg);
	tr_config_free(cfg);
	tr_host_shutdown();
	return rc;
}

/*
 * --check-config: the config, then every plugin as trellisd would load it
 * (the ABI rules, each plugin's config schema, init), then the rule that
 * every plugin the config names loads unless it is optional.  Problems go
 * to stderr, one per line with FILE:LINE:COL; exit 1 on any.
 */
static int check_config(const struct opts *o, struct tr_config *cfg)
{
	tr_log_setup(TR_LOG_STDERR,
		     o->verbose ? TRELLIS_LOG_DEBUG : TRELLIS_LOG_ERR,
		     "trellisd");
	tr_registry_t *reg = tr_registry_new();
	char err[8192];
	int bad = load_plugins(reg, cfg, o) < 0;
	int n = tr_registry_check_configured(reg, err, sizeof err);
	if (n > 0)
		fprintf(stderr, "%s\n", err);
	if (n > 0 || bad)
		fprintf(stderr, "%s: %d problem%s\n",
			o->config ? o->config : "<defaults>", n + bad,
			n + bad == 1 ? "" : "s");
	else
		printf("%s: ok (%zu plugins)\n",
		       o->config ? o->config : "<defaults>",
		       tr_registry_count(reg));
	tr_registry_free(reg);
	tr_config_free(cfg);
	tr_host_shutdown();
	return n > 0 || bad ? 1 : 0;
}

/* ---- running ---- */

static uint64_t grace_deadline_set;
static int grace_expired;

static void grace_over(struct tr_daemon *d, void *arg)
{
	(void)arg;
	tr_warn("shutdown grace is over with %u requests in flight and %u "
		"jobs pending; stopping anyway",
		tr_api_inflight(d->api), tr_workers_pending(d->workers));
	grace_expired = 1;
	tr_loop_quit(d->loop);
}

static void begin_stop(struct tr_daemon *d);

static void on_signal(struct tr_daemon *d, int signo)
{
	if (signo == SIGHUP) {
		char err[1024];
		if (!d->config->api_tcp && !d->config->http_listen)
			tr_info("SIGHUP: nothing to reload (no api.tcp, no "
				"http.listen)");
		else if (load_keys(d->api, d->config, 1, err, sizeof err) < 0) {
			/* Fail closed: the keys in use may be the ones
			 * being revoked. */
			tr_api_set_keys(d->api, NULL);
			tr_err("SIGHUP: every tcp:// request is refused until "
			       "the keys file loads (then SIGHUP again): %s",
			       err);
		}
		return;
	}
	if (d->stopping)
		return;
	/* The console proxies trellisd launched go first, while the API
	 * still records their sessions' ends (core/api/console_scan.c). */
	tr_info("%s: stopping", strsignal(signo));
	if (tr_console_stop_children(d, begin_stop))
		return;
	begin_stop(d);
}

static void begin_stop(struct tr_daemon *d)
{
	if (d->stopping)
		return;
	tr_info("finishing %u requests in flight, then stopping",
		tr_api_inflight(d->api));
	d->stopping = 1;
	if (!grace_deadline_set) {
		grace_deadline_set = 1;
		tr_daemon_timer_add(d, d->config->shutdown_grace_ms, 0,
				    grace_over, NULL, NULL);
	}
}

static int idle_after_stop(struct tr_daemon *d)
{
	return d->stopping && tr_api_inflight(d->api) == 0 &&
	       tr_workers_pending(d->workers) == 0 &&
	       tr_workers_pending(d->readers) == 0;
}

/* Forks into the background; the parent waits for the child to say it is
 * ready (or why it failed), so errors still reach the terminal. */
static int daemonize(int *notify_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		char buf[1024];
		ssize_t n = read(p[0], buf, sizeof buf - 1);
		if (n > 0 && buf[0] == '+')
			_exit(0);
		if (n > 0) {
			buf[n] = '\0';
			fprintf(stderr, "trellisd: %s\n", buf + 1);
		} else {
			fprintf(stderr, "trellisd: failed to start\n");
		}
		_exit(1);
	}
	close(p[0]);
	setsid();
	*notify_fd = p[1];
	return 0;
}

static void notify(int *fd, const char *msg)
{
	if (*fd < 0)
		return;
	ssize_t r = write(*fd, msg, strlen(msg));
	(void)r;
	close(*fd);
	*fd = -1;
	if (msg[0] == '+') {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
	}
}

static void inherit_owner(void *arg, const char *parent, const char *child)
{
	struct tr_daemon *d = arg;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_wf_owner_inherit(d->store, parent, child, &call) < 0)
		tr_warn("workflow %s: owner of %s not passed on: %s", child,
			parent, call.message);
}

static int run(const struct opts *o)
{
	char err[8192] = "";
	int rc = 1, lockfd = -1, notify_fd = -1;
	struct tr_daemon d;
	memset(&d, 0, sizeof d);
	struct tr_engine *engine = NULL;
	struct tr_http *http = NULL;

	struct tr_config *cfg = tr_config_load(o->config, o->state_dir, err,
					       sizeof err);
	if (!cfg) {
		if (o->check) {
			/* Every problem, one a line, and how many. */
			size_t n = 1;
			for (const char *p = err; *p; p++)
				n += *p == '\n';
			fprintf(stderr, "%s\n%s: %zu problem%s\n", err,
				o->config ? o->config : "<defaults>", n,
				n == 1 ? "" : "s");
		} else {
			fprintf(stderr, "trellisd: %s\n", err);
		}
		return 1;
	}
	if (o->check)
		return check_config(o, cfg);
	d.config = cfg;
	d.state_dir = cfg->state_dir;
	int target = cfg->log_target;
	if (target < 0)
		target = o->foreground ? TR_LOG_STDERR : TR_LOG_SYSLOG;
	tr_log_setup((enum tr_log_target)target,
		     o->verbose ? TRELLIS_LOG_DEBUG : cfg->log_level,
		     "trellisd");

	/* Signals go to the signalfd only: block them before any thread
	 * exists so every thread inherits the mask. */
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP};
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < 3; i++)
		sigaddset(&set, sigs[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (!o->foreground && daemonize(&notify_fd) < 0) {
		fprintf(stderr, "trellisd: fork: %s\n", strerror(errno));
		goto out;
	}
	if (tr_mkdirs(cfg->state_dir, 0750) < 0) {
		snprintf(err, sizeof err, "state dir %s: %s", cfg->state_dir,
			 strerror(errno));
		goto fail;
	}
	lockfd = tr_state_lock(cfg->state_dir, err, sizeof err);
	if (lockfd < 0)
		goto fail;
	/* The store: a SQLite file in the state dir, or a PostgreSQL
	 * database ("pg:DSN", what tr_store_open() and every reader's
	 * reopening of d.store_path take). */
	char dbpath[4200];
	if (cfg->store_pg)
		snprintf(dbpath, sizeof dbpath, "pg:%s", cfg->store_dsn);
	else
		snprintf(dbpath, sizeof dbpath, "%s/trellis.db",
			 cfg->state_dir);
	d.store = tr_store_open(dbpath, 0, err, sizeof err);
	if (!d.store)
		goto fail;
	if (cfg->store_pg) /* never the DSN: it may hold a password */
		tr_info("store: PostgreSQL, schema %d",
			tr_store_schema_version(d.store));
	d.store_path = dbpath;
	{
		/* This manager's name among those sharing the store
		 * (`trellis api status`): HOST:PID. */
		char host[200] = "", mgr[256];
		gethostname(host, sizeof host - 1);
		snprintf(mgr, sizeof mgr, "%s:%ld", host[0] ? host : "localhost",
			 (long)getpid());
		trellis_call_t mc;
		tr_call_init(&mc, NULL);
		if (tr_store_set_manager(d.store, mgr, &mc) < 0)
			tr_warn("store: %s", mc.message);
	}
	/* Plugins may publish events and read secrets from init(). */
	d.events = tr_events_new(cfg->events_listen, cfg->api_mode, err,
				 sizeof err);
	if (!d.events)
		goto fail;
	tr_events_attach_plugins(d.events);
	tr_events_set_hook(d.events, tr_vm_event_hook, &d);
	/* Storage credentials' secrets (core/creds) reach plugins by name,
	 * "credential.NAME"; every other name is a file of secrets_dir. */
	if (tr_creds_init(cfg->state_dir, dbpath, err, sizeof err) < 0)
		goto fail;
	tr_host_set_secret_source(secret_source, cfg->secrets_dir);
	tr_host_set_state_dir(cfg->state_dir);
	d.registry = tr_registry_new();
	load_plugins(d.registry, cfg, o);
	/* A plugin the config names must be there, unless it is optional:
	 * running without it would be running half-configured. */
	if (tr_registry_check_configured(d.registry, err, sizeof err) > 0)
		goto fail;
	d.loop = tr_loop_new(&d, sigs, 3, on_signal, err, sizeof err);
	if (!d.loop)
		goto fail;
	d.conns = tr_conns_new(&d);
	d.workers = tr_workers_new(&d, cfg->workers, cfg->queue, err,
				   sizeof err);
	if (!d.workers || !d.conns)
		goto fail;
	d.readers = tr_workers_new(&d, cfg->readers, 4096, err, sizeof err);
	if (!d.readers)
		goto fail;
	struct tr_api_limits limits = {cfg->max_message, cfg->max_inflight,
				       cfg->api_threads};
	d.api = tr_api_new(&d, &limits);
	if (!d.api) {
		snprintf(err, sizeof err, "out of memory");
		goto fail;
	}
	tr_api_register_all(d.api);
	tr_hosts_refresh_start(&d, cfg->host_refresh_ms);
	tr_orphans_start(&d, cfg->orphan_check_ms);
	tr_console_scan_start(&d);
	tr_routers_check_start(&d, cfg->router_check_ms);
	tr_adapters_discover_start(&d);
	engine = tr_engine_new_daemon(&d, err, sizeof err);
	if (!engine)
		goto fail;
	/* A sub-workflow is its parent's starter's: its VMs and claims are
	 * that BU's (docs/tenancy.md). */
	tr_engine_on_child(engine, inherit_owner, &d);
	tr_ha_start(&d);
	/* Maintenance windows (after the engine: a window that ended while
	 * trellisd was down locks at once). */
	if (tr_maint_start(&d, err, sizeof err) < 0)
		goto fail;
	if (tr_api_listen(d.api, cfg->api_listen, cfg->api_mode, err,
			  sizeof err) < 0)
		goto fail;
	if (tr_relay_start(&d, err, sizeof err) < 0)
		goto fail;
	tr_relay_set_report_fn(&d, tr_inventory_agent_report);
	tr_relay_set_delta_fn(&d, tr_inventory_agent_delta);
	if ((cfg->api_tcp || cfg->http_listen) &&
	    load_keys(d.api, cfg, 0, err, sizeof err) < 0)
		goto fail;
	if (cfg->api_tcp &&
	    tr_api_listen(d.api, cfg->api_tcp, 0, err, sizeof err) < 0)
		goto fail;
	if (cfg->http_listen) {
		/* The dashboard's files: http.dashboard, or the installed
		 * ones beside trellisd (bin/../share/trellis/dashboard). */
		char self[4096], dash[4200];
		const char *dashboard = cfg->http_dashboard;
		struct stat dst;
		if (!dashboard && tr_self_dir(self, sizeof self) == 0) {
			snprintf(dash, sizeof dash,
				 "%s/../share/trellis/dashboard", self);
			if (stat(dash, &dst) == 0 && S_ISDIR(dst.st_mode))
				dashboard = dash;
		}
		struct tr_http_config hc = {
			cfg->http_listen,  cfg->http_tls,
			cfg->http_cert,    cfg->http_key,
			cfg->http_max_body, cfg->http_timeout_ms,
			cfg->http_metrics_auth, tr_openapi_doc,
			dashboard,
			cfg->http_session_ttl_s,
			cfg->http_session_idle_s,
		};
		http = tr_http_start(&d, d.api, d.events, &hc, err, sizeof err);
		if (!http)
			goto fail;
	}
	if (cfg->roles_file) {
		struct tr_roles *roles =
		    tr_roles_load(cfg->roles_file, err, sizeof err);
		if (!roles)
			goto fail;
		tr_info("auth: %zu roles (custom ones from %s)",
			tr_roles_count(roles), cfg->roles_file);
		tr_api_set_roles(d.api, roles);
	}
	if (cfg->prices_file) {
		/* Refused at start, with its place, rather than at the first
		 * report. */
		struct tr_prices prices;
		if (tr_prices_load(cfg->prices_file, &prices, err,
				   sizeof err) < 0)
			goto fail;
	}
	/* Who ipc:// callers are (core/api/local.c). */
	if (tr_api_local_tokens(d.api, err, sizeof err) < 0)
		goto fail;
	tr_info("trellisd %s ready: state %s, api %s%s%s, events %s, %zu ops",
		TRELLIS_VERSION, cfg->state_dir, cfg->api_listen,
		cfg->api_tcp ? " and " : "", cfg->api_tcp ? cfg->api_tcp : "",
		cfg->events_listen, tr_api_count(d.api));
	notify(&notify_fd, "+");
	json_t *started = json_pack("{s:i}", "pid", (int)getpid());
	tr_daemon_publish(&d, "daemon.started", started);
	json_decref(started);
	rc = tr_loop_run(d.loop, idle_after_stop) < 0 ? 1 : 0;
	tr_info("stopping");
	goto out;
fail:
	tr_err("%s", err);
	if (notify_fd >= 0) {
		char msg[8200];
		snprintf(msg, sizeof msg, "-%s", err);
		notify(&notify_fd, msg);
	} else if (!o->foreground || target != TR_LOG_STDERR) {
		fprintf(stderr, "trellisd: %s\n", err);
	}
	rc = 1;
out:
	d.stopping = 1;
	if (grace_expired && (tr_workers_pending(d.workers) ||
			      tr_workers_pending(d.readers))) {
		/* A plugin op that never returns cannot be cancelled, and
		 * joining its worker would hang the shutdown for good.  The
		 * store is the main thread's alone: close it cleanly and
		 * leave without the stuck threads. */
		tr_err("plugin jobs still running after shutdown_grace; "
		       "closing the store and exiting without them");
		tr_store_close(d.store);
		_exit(1);
	}
	tr_http_stop(http); /* no new request from HTTP either */
	tr_ha_stop(&d);
	tr_engine_stop(engine);
	tr_orphans_stop(&d);
	tr_relay_stop(&d);
	/* The pools deliver their last completions, which may answer
	 * requests: the API goes after them. */
	tr_workers_free(d.readers);
	tr_workers_free(d.workers);
	tr_maint_stop(&d); /* answers what waits on a window */
	tr_engine_free(engine); /* after the pool delivered every step */
	tr_placement_shutdown(&d);
	tr_api_free(d.api);
	d.api = NULL;
	tr_http_free(http); /* after the API answered every request */
	tr_conns_free(d.conns);
	/* Plugin threads may publish until fini() stopped them. */
	if (d.registry)
		tr_registry_free(d.registry);
	tr_host_shutdown();
	tr_events_free(d.events);
	tr_host_set_secret_source(NULL, NULL);
	tr_host_set_state_dir(NULL);
	tr_creds_fini();
	tr_store_close(d.store);
	d.store = NULL; /* completions still queued must not touch it */
	tr_loop_free(d.loop);
	if (lockfd >= 0)
		close(lockfd);
	tr_config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{"foreground", no_argument, NULL, 'f'},
		{"plugin-dir", required_argument, NULL, 'P'},
		{"list-plugins", no_argument, NULL, 'L'},
		{"print-defaults", no_argument, NULL, 'D'},
		{"check-config", no_argument, NULL, 'C'},
		{"api-key-add", required_argument, NULL, 'K'},
		{"api-key-expires", required_argument, NULL, 'E'},
		{"api-key-list", no_argument, NULL, 'l'},
		{"api-key-remove", required_argument, NULL, 'R'},
		{"output", required_argument, NULL, 'o'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	tr_alloc_init(); /* jansson too: out of memory aborts */
	struct opts o;
	memset(&o, 0, sizeof o);
	int c;
	while ((c = getopt_long(argc, argv, "c:s:fP:o:vVh", lopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			o.config = optarg;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'f':
			o.foreground = 1;
			break;
		case 'P':
			if (o.ndirs < sizeof o.dirs / sizeof *o.dirs)
				o.dirs[o.ndirs++] = optarg;
			break;
		case 'L':
			o.list = 1;
			break;
		case 'C':
			o.check = 1;
			break;
		case 'K':
			o.keys.op = TR_KEYS_ADD;
			o.keys.name = optarg;
			break;
		case 'E':
			o.keys.expires = optarg;
			break;
		case 'l':
			o.keys.op = TR_KEYS_LIST;
			break;
		case 'R':
			o.keys.op = TR_KEYS_REMOVE;
			o.keys.name = optarg;
			break;
		case 'D':
			fputs(tr_config_defaults(), stdout);
			return 0;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				o.json = 1;
			else if (strcmp(optarg, "table") != 0) {
				fprintf(stderr,
					"trellisd: unknown output format '%s' "
					"(table or json)\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			printf("trellisd %s (plugin ABI %d.%d, %s)\n",
			       TRELLIS_VERSION, TRELLIS_ABI_MAJOR,
			       TRELLIS_ABI_MINOR, TRELLIS_BUILD_TAG);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "trellisd: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.list)
		return list_plugins(&o);
	if (o.keys.expires && o.keys.op != TR_KEYS_ADD) {
		fprintf(stderr, "trellisd: --api-key-expires goes with "
				"--api-key-add\n");
		return 2;
	}
	if (o.keys.op) {
		o.keys.json = o.json;
		return tr_keys_admin(o.config, o.state_dir, &o.keys);
	}
	return run(&o);
}
