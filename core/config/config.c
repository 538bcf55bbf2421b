/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c - the embedded defaults and the strict loader of config.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/alloc.h"
#include "../util/suggest.h"
#include "../util/log.h"
#include "../util/node.h"
#include "../util/schema.h"
#include "config.h"

static const char defaults_yaml[] =
	"# trellisd defaults.  A config file (--config) may set any of these.\n"
	"state_dir: /var/lib/trellis\n"
	"store:                  # where the state lives (docs/store.md)\n"
	"  backend: sqlite       # sqlite: STATE_DIR/trellis.db; postgresql: "
	"dsn, shared by a cluster of managers\n"
	"  dsn: null             # postgresql: a libpq connection string, "
	"e.g. \"host=/run/postgresql dbname=trellis\"\n"
	"api:\n"
	"  listen: ipc:///run/trellis/api.sock\n"
	"  socket_mode: \"0660\"   # of ipc:// socket files\n"
	"  tcp: null             # e.g. tcp://0.0.0.0:7443; off by default\n"
	"  keys_file: null       # API keys for tcp:// (default "
	"STATE_DIR/api-keys)\n"
	"  max_message: 1M       # larger requests are refused\n"
	"  max_inflight: 4096    # requests past it are answered BUSY\n"
	"  threads: auto         # receive threads per listener (auto: one "
	"per CPU, or 1-16)\n"
	"events:\n"
	"  listen: ipc:///run/trellis/events.sock\n"
	"log:\n"
	"  target: auto          # stderr, syslog, or auto (stderr in the "
	"foreground)\n"
	"  level: info           # error, warning, notice, info, debug\n"
	"workers:\n"
	"  threads: 8            # plugin ops run here (they block)\n"
	"  queue: 1024           # jobs waiting; more are answered BUSY\n"
	"  readers: 2            # API reads when several are in flight\n"
	"shutdown_grace: 30s     # how long SIGTERM waits for requests\n"
	"host_refresh: 60s       # rediscover every host this often (0: "
	"never)\n"
	"secrets_dir: null       # default STATE_DIR/secrets: one 0600 file per "
	"secret\n"
	"plugin_dirs: []\n"
	"escrow:                 # the vendor's trellis-escrowd (maint mode)\n"
	"  endpoint: null        # tcp://HOST:PORT; null: maint enable fails\n"
	"  public_key: null      # its escrow.pub (base64 X25519)\n"
	"network:\n"
	"  router_check: 30s     # sync every routed network's router, restart "
	"dead ones (0: never)\n"
	"placement:\n"
	"  orphan_check: 60s     # release claims whose VM or workflow is "
	"gone (0: never)\n"
	"workflows:\n"
	"  max_workflows: 16     # instances running at once; the rest queue\n"
	"  max_steps: 64         # steps in flight at once, all instances\n"
	"  dirs: []              # more definition directories (after the "
	"shipped ones)\n"
	"  retention: 30d        # finished instances leave the journal "
	"after this (0: never)\n"
	"http:\n"
	"  listen: null          # HOST:PORT of the HTTP API and /metrics, e.g. "
	"127.0.0.1:8080; off by default\n"
	"  tls: auto             # auto: TLS unless listen is a loopback address\n"
	"  cert: null            # PEM certificate (chain) for TLS\n"
	"  key: null             # PEM private key for TLS\n"
	"  max_body: 1M          # larger request bodies are refused (413)\n"
	"  timeout: 10s          # a request must arrive whole within this\n"
	"  metrics_auth: auto    # /metrics needs an API key (auto: not on "
	"loopback)\n"
	"  dashboard: null       # the web dashboard's files (null: "
	"share/trellis/dashboard beside trellisd)\n"
	"  session_ttl: 8h       # a dashboard login lasts this long at most\n"
	"  session_idle: 30m     # and ends after this long without a request\n"
	"agents:\n"
	"  listen: []            # e.g. [tcp://0.0.0.0:7450]; off by default\n"
	"  heartbeat: 5s         # beats both ways this often\n"
	"  dead_after: 3         # missed beats that declare a link dead\n"
	"plugins: {}             # NAME: {section given to the plugin}\n"
	"auth:\n"
	"  roles: null           # custom roles, YAML (docs/tenancy.md); "
	"none: the built-in roles\n"
	"chargeback:\n"
	"  prices: null          # the price table, YAML (docs/tenancy.md)\n"
	"console:                # console proxies (docs/console.md)\n"
	"  url: null             # base URL of the proxies for browsers (a "
	"load balancer); null: the assigned proxy's own\n"
	"  token_ttl: 5m         # tokens' default life; at most 10m\n"
	"  standby: 10           # free sessions consoleproxy.scan keeps\n"
	"  capacity: 50          # sessions per proxy instance\n"
	"  scan: 0               # run consoleproxy.scan this often (0: "
	"never)\n"
	"  launcher: process     # how the scan starts instances: process or "
	"vm\n"
	"  vm_template: null     # the vm launcher's vm.provision inputs "
	"(a JSON file)\n"
	"  proxy: null           # trellis-console (default: beside "
	"trellisd)\n"
	"  first_port: 6080      # the process launcher's first port\n"
	"  listen_host: 127.0.0.1 # where launched instances listen\n"
	"  max_instances: 8      # the scan never runs more\n"
	"  password_ttl: 60s     # a session's one-time VNC password; an open "
	"session outlives it\n"
	"caps:                   # global default caps, under offerings and "
	"BU defaults (0: none)\n"
	"  cpu_shares: 0         # relative CPU weight (<cputune><shares>)\n"
	"  nic_inbound_kbps: 0   # NIC bandwidth into the VM, KB/s\n"
	"  nic_outbound_kbps: 0  # out of it\n"
	"  disk_read_iops_sec: 0\n"
	"  disk_write_iops_sec: 0\n"
	"  disk_read_bytes_sec: 0\n"
	"  disk_write_bytes_sec: 0\n"
	"ha:                     # restart a failed host's VMs in its pod "
	"(docs/ha.md)\n"
	"  interval: 0           # probe every host this often (0: HA off)\n"
	"  fail_after: 30s       # connection and probe failing this long: "
	"failed\n"
	"  probe: []             # argv; {host} {uri} {hostname} are replaced; "
	"[]: the connection only\n"
	"  fence_action: fence.script # the fencing action (trellis action "
	"list)\n"
	"  fence: []             # fence.script's argv ({host} {uri} "
	"{hostname}); []: never fenced, never restarted\n"
	"  fence_timeout: 60s\n"
	"  bmc:                  # fence.redfish / fence.ipmitool\n"
	"    url: null           # https://BMC (redfish), [lanplus://]BMC[:PORT] "
	"(ipmitool); {host} {uri} {hostname} replaced\n"
	"    system: null        # redfish: the ComputerSystem (null: the first "
	"of /redfish/v1/Systems)\n"
	"    credentials: null   # the secret (secrets_dir) holding "
	"USER:PASSWORD; {host} replaced\n"
	"    ca: null            # redfish: CA file of the BMC's TLS\n"
	"    insecure: false     # redfish: do not verify the BMC's TLS\n";

const char *tr_config_defaults(void)
{
	return defaults_yaml;
}

enum ctype { C_STR, C_STR_NULL, C_PATH_NULL, C_MODE, C_SIZE, C_UINT, C_TARGET, C_LEVEL,
	     C_DIRS, C_PLUGINS, C_DURATION, C_AUTO16, C_RETENTION, C_TRI, C_HOSTPORT, C_CAP,
	     C_BACKEND };

struct centry {
	const char *path;
	enum ctype type;
	size_t off;
};

#define O(f) offsetof(struct tr_config, f)
static const struct centry entries[] = {
	{"state_dir", C_STR, O(state_dir)},
	{"store.backend", C_BACKEND, O(store_pg)},
	{"store.dsn", C_PATH_NULL, O(store_dsn)},
	{"api.listen", C_STR, O(api_listen)},
	{"api.socket_mode", C_MODE, O(api_mode)},
	{"api.tcp", C_STR_NULL, O(api_tcp)},
	{"api.keys_file", C_PATH_NULL, O(api_keys_file)},
	{"api.max_message", C_SIZE, O(max_message)},
	{"api.max_inflight", C_UINT, O(max_inflight)},
	{"api.threads", C_AUTO16, O(api_threads)},
	{"events.listen", C_STR, O(events_listen)},
	{"log.target", C_TARGET, O(log_target)},
	{"log.level", C_LEVEL, O(log_level)},
	{"workers.threads", C_UINT, O(workers)},
	{"workers.queue", C_UINT, O(queue)},
	{"workers.readers", C_UINT, O(readers)},
	{"shutdown_grace", C_DURATION, O(shutdown_grace_ms)},
	{"host_refresh", C_DURATION, O(host_refresh_ms)},
	{"secrets_dir", C_PATH_NULL, O(secrets_dir)},
	{"plugin_dirs", C_DIRS, O(plugin_dirs)},
	{"plugins", C_PLUGINS, O(plugins)},
	{"escrow.endpoint", C_STR_NULL, O(escrow_endpoint)},
	{"escrow.public_key", C_PATH_NULL, O(escrow_public_key)},
	{"placement.orphan_check", C_DURATION, O(orphan_check_ms)},
	{"network.router_check", C_DURATION, O(router_check_ms)},
	{"workflows.max_workflows", C_UINT, O(max_workflows)},
	{"workflows.max_steps", C_UINT, O(wf_max_steps)},
	{"workflows.dirs", C_DIRS, O(workflow_dirs)},
	{"workflows.retention", C_RETENTION, O(wf_retention_s)},
	{"auth.roles", C_PATH_NULL, O(roles_file)},
	{"chargeback.prices", C_PATH_NULL, O(prices_file)},
	{"http.listen", C_HOSTPORT, O(http_listen)},
	{"http.tls", C_TRI, O(http_tls)},
	{"http.cert", C_PATH_NULL, O(http_cert)},
	{"http.key", C_PATH_NULL, O(http_key)},
	{"http.max_body", C_SIZE, O(http_max_body)},
	{"http.timeout", C_DURATION, O(http_timeout_ms)},
	{"http.metrics_auth", C_TRI, O(http_metrics_auth)},
	{"http.dashboard", C_PATH_NULL, O(http_dashboard)},
	{"http.session_ttl", C_RETENTION, O(http_session_ttl_s)},
	{"http.session_idle", C_RETENTION, O(http_session_idle_s)},
	{"agents.listen", C_DIRS, O(agents_listen)},
	{"agents.heartbeat", C_DURATION, O(agents_beat_ms)},
	{"agents.dead_after", C_UINT, O(agents_dead)},
	{"console.url", C_PATH_NULL, O(console_url)},
	{"console.token_ttl", C_DURATION, O(console_ttl_ms)},
	{"console.standby", C_UINT, O(console_standby)},
	{"console.capacity", C_UINT, O(console_capacity)},
	{"console.scan", C_DURATION, O(console_scan_ms)},
	{"console.launcher", C_PATH_NULL, O(console_launcher)},
	{"console.vm_template", C_PATH_NULL, O(console_vm_template)},
	{"console.proxy", C_PATH_NULL, O(console_proxy_bin)},
	{"console.first_port", C_UINT, O(console_first_port)},
	{"console.listen_host", C_PATH_NULL, O(console_listen_host)},
	{"console.max_instances", C_UINT, O(console_max)},
	{"console.password_ttl", C_DURATION, O(console_pw_ms)},
	{"caps.cpu_shares", C_CAP, O(caps[0])},
	{"caps.nic_inbound_kbps", C_CAP, O(caps[1])},
	{"caps.nic_outbound_kbps", C_CAP, O(caps[2])},
	{"caps.disk_read_iops_sec", C_CAP, O(caps[3])},
	{"caps.disk_write_iops_sec", C_CAP, O(caps[4])},
	{"caps.disk_read_bytes_sec", C_CAP, O(caps[5])},
	{"caps.disk_write_bytes_sec", C_CAP, O(caps[6])},
	{"ha.interval", C_DURATION, O(ha_interval_ms)},
	{"ha.fail_after", C_DURATION, O(ha_fail_after_ms)},
	{"ha.probe", C_DIRS, O(ha_probe)},
	{"ha.fence_action", C_STR, O(ha_fence_action)},
	{"ha.fence", C_DIRS, O(ha_fence)},
	{"ha.fence_timeout", C_DURATION, O(ha_fence_timeout_ms)},
	{"ha.bmc.url", C_PATH_NULL, O(ha_bmc_url)},
	{"ha.bmc.system", C_PATH_NULL, O(ha_bmc_system)},
	{"ha.bmc.credentials", C_PATH_NULL, O(ha_bmc_credentials)},
	{"ha.bmc.ca", C_PATH_NULL, O(ha_bmc_ca)},
	{"ha.bmc.insecure", C_TRI, O(ha_bmc_insecure)},
};
#define N_ENTRIES (sizeof entries / sizeof *entries)

static int fail(char *err, size_t errlen, const trellis_node_t *n,
		const char *fmt, const char *a, const char *b)
{
	char msg[384];
	snprintf(msg, sizeof msg, fmt, a, b);
	snprintf(err, errlen, "%s: %s", tr_node_where(n), msg);
	return -1;
}

static int set_str(char **slot, const trellis_node_t *v, int nullable,
		   const char *path, char *err, size_t errlen)
{
	if (nullable && tr_node_is_null(v)) {
		free(*slot);
		*slot = NULL;
		return 0;
	}
	const char *s = tr_node_str(v);
	if (!s || !*s || tr_node_is_null(v))
		return fail(err, errlen, v, "%s: expected a non-empty string%s",
			    path, "");
	char *dup = tr_xstrdup(s);
	if (!dup)
		return fail(err, errlen, v, "%s: out of memory%s", path, "");
	free(*slot);
	*slot = dup;
	return 0;
}

static int set_url(char **slot, const trellis_node_t *v, int nullable,
		   const char *path, char *err, size_t errlen)
{
	if (set_str(slot, v, nullable, path, err, errlen) < 0)
		return -1;
	if (*slot && strncmp(*slot, "ipc://", 6) != 0 &&
	    strncmp(*slot, "tcp://", 6) != 0)
		return fail(err, errlen, v,
			    "%s: '%s' is not an ipc:// or tcp:// address", path,
			    *slot);
	return 0;
}

static int apply_entry(struct tr_config *c, const struct centry *e,
		       const trellis_node_t *v, char *err, size_t errlen)
{
	char *base = (char *)c;
	const char *s = tr_node_str(v);
	long long x;
	int64_t i64;
	switch (e->type) {
	case C_STR:
		if (strcmp(e->path, "state_dir") == 0 ||
		    strcmp(e->path, "ha.fence_action") == 0)
			return set_str((char **)(base + e->off), v, 0, e->path,
				       err, errlen);
		return set_url((char **)(base + e->off), v, 0, e->path, err,
			       errlen);
	case C_PATH_NULL:
		return set_str((char **)(base + e->off), v, 1, e->path, err,
			       errlen);
	case C_STR_NULL:
		return set_url((char **)(base + e->off), v, 1, e->path, err,
			       errlen);
	case C_MODE: {
		char *end;
		unsigned long m = s ? strtoul(s, &end, 8) : 0;
		if (!s || !*s || *end || m > 0777)
			return fail(err, errlen, v,
				    "%s: expected an octal mode like \"0660\", "
				    "got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(unsigned *)(base + e->off) = (unsigned)m;
		return 0;
	}
	case C_SIZE:
		if (!s || tr_parse_size(s, &x) < 0 || x < 1024 ||
		    x > (1ll << 30))
			return fail(err, errlen, v,
				    "%s: expected a size from 1K to 1G (like "
				    "1M), got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(size_t *)(base + e->off) = (size_t)x;
		return 0;
	case C_DURATION:
		if (!s || tr_parse_duration(s, &x) < 0 || x > 3600 * 1000)
			return fail(err, errlen, v,
				    "%s: expected a duration up to 1h (like "
				    "30s), got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(unsigned *)(base + e->off) = (unsigned)x;
		return 0;
	case C_RETENTION: /* seconds: 0 (forever), or 1m to 3650 days */
		if (s && strcmp(s, "0") == 0)
			x = 0;
		else if (!s || tr_parse_duration(s, &x) < 0 || x < 60 * 1000 ||
			 x > 3650 * 86400 * 1000ll)
			return fail(err, errlen, v,
				    "%s: expected 0 (keep forever) or a "
				    "duration from 1m to 3650d (like 30d), "
				    "got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(unsigned *)(base + e->off) = (unsigned)(x / 1000);
		return 0;
	case C_CAP: /* 0 (no cap) or more */
		if (tr_node_int(v, &i64) < 0 || i64 < 0 || i64 > 4000000000LL)
			return fail(err, errlen, v,
				    "%s: expected 0 (no cap) or a positive "
				    "integer, got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(unsigned *)(base + e->off) = (unsigned)i64;
		return 0;
	case C_UINT:
		if (tr_node_int(v, &i64) < 0 || i64 < 1 || i64 > 1000000)
			return fail(err, errlen, v,
				    "%s: expected a positive integer, got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(unsigned *)(base + e->off) = (unsigned)i64;
		return 0;
	case C_AUTO16: /* auto (0) or 1 to 16 */
		if (s && strcmp(s, "auto") == 0)
			i64 = 0;
		else if (tr_node_int(v, &i64) < 0 || i64 < 1 || i64 > 16)
			return fail(err, errlen, v,
				    "%s: expected auto or 1 to 16, got '%s'",
				    e->path, s ? s : "(not a scalar)");
		*(unsigned *)(base + e->off) = (unsigned)i64;
		return 0;
	case C_TRI: /* auto (-1), true (1), false (0) */
		if (s && strcmp(s, "auto") == 0)
			*(int *)(base + e->off) = -1;
		else if (s && (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0))
			*(int *)(base + e->off) = 1;
		else if (s && (strcmp(s, "false") == 0 || strcmp(s, "no") == 0))
			*(int *)(base + e->off) = 0;
		else
			return fail(err, errlen, v,
				    "%s: expected auto, true or false, got '%s'",
				    e->path, s ? s : "(not a scalar)");
		return 0;
	case C_HOSTPORT: { /* null, or HOST:PORT ([::1]:PORT) */
		if (set_str((char **)(base + e->off), v, 1, e->path, err,
			    errlen) < 0)
			return -1;
		const char *hp = *(char **)(base + e->off);
		const char *colon = hp ? strrchr(hp, ':') : NULL;
		char *end = NULL;
		long port = colon ? strtol(colon + 1, &end, 10) : 0;
		if (hp && (!colon || colon == hp || !end || *end ||
			   port < 1 || port > 65535 ||
			   (hp[0] == '[' && colon[-1] != ']')))
			return fail(err, errlen, v,
				    "%s: expected HOST:PORT (like "
				    "127.0.0.1:8080 or [::1]:8443), got '%s'",
				    e->path, hp);
		return 0;
	}
	case C_BACKEND:
		if (s && strcmp(s, "sqlite") == 0)
			c->store_pg = 0;
		else if (s && strcmp(s, "postgresql") == 0)
			c->store_pg = 1;
		else
			return fail(err, errlen, v,
				    "%s: expected sqlite or postgresql, got "
				    "'%s'",
				    e->path, s ? s : "(not a scalar)");
		return 0;
	case C_TARGET:
		if (s && strcmp(s, "stderr") == 0)
			c->log_target = TR_LOG_STDERR;
		else if (s && strcmp(s, "syslog") == 0)
			c->log_target = TR_LOG_SYSLOG;
		else if (s && strcmp(s, "auto") == 0)
			c->log_target = -1;
		else
			return fail(err, errlen, v,
				    "%s: expected stderr, syslog or auto, got "
				    "'%s'",
				    e->path, s ? s : "(not a scalar)");
		return 0;
	case C_LEVEL: {
		int l = s ? tr_log_level_parse(s) : -1;
		if (l < 0)
			return fail(err, errlen, v,
				    "%s: expected error, warning, notice, info "
				    "or debug, got '%s'",
				    e->path, s ? s : "(not a scalar)");
		c->log_level = l;
		return 0;
	}
	case C_DIRS: {
		if (tr_node_type(v) != TRELLIS_NODE_SEQ)
			return fail(err, errlen, v,
				    "%s: expected a list of %s", e->path,
				    strstr(e->path, "listen") ? "URLs"
				    : !strncmp(e->path, "ha.", 3) ? "arguments"
							      : "directories");
		size_t n = tr_node_len(v);
		char **dirs = tr_xcalloc(n + 1, sizeof *dirs);
		if (!dirs)
			return fail(err, errlen, v, "%s: out of memory%s",
				    e->path, "");
		for (size_t i = 0; i < n; i++) {
			const char *d = tr_node_str(tr_node_at(v, i));
			if (!d || !*d) {
				for (size_t j = 0; j < i; j++)
					free(dirs[j]);
				free(dirs);
				return fail(err, errlen, tr_node_at(v, i),
					    "%s: expected %s", e->path,
					    strstr(e->path, "listen")
						    ? "a URL"
					    : !strncmp(e->path, "ha.", 3)
						    ? "an argument"
						    : "a directory");
			}
			dirs[i] = tr_xstrdup(d);
		}
		/* The list and its count are adjacent in struct tr_config. */
		char ***slot = (char ***)((char *)c + e->off);
		size_t *nslot = (size_t *)(slot + 1);
		for (size_t j = 0; j < *nslot; j++)
			free((*slot)[j]);
		free(*slot);
		*slot = dirs;
		*nslot = n;
		return 0;
	}
	case C_PLUGINS:
		if (tr_node_type(v) != TRELLIS_NODE_MAP)
			return fail(err, errlen, v,
				    "%s: expected a map of plugin name to its "
				    "section%s",
				    e->path, "");
		for (size_t i = 0; i < tr_node_len(v); i++) {
			int t = tr_node_type(tr_node_at(v, i));
			if (t != TRELLIS_NODE_MAP && !tr_node_is_null(tr_node_at(v, i)))
				return fail(err, errlen, tr_node_at(v, i),
					    "plugins.%s: expected a map%s",
					    tr_node_key_at(v, i), "");
		}
		c->plugins = v;
		return 0;
	}
	return -1;
}

/* Keys valid right below prefix ("api" -> "listen, socket_mode, ..."). */
static void keys_below(const char *prefix, char *out, size_t len)
{
	size_t plen = prefix ? strlen(prefix) : 0;
	out[0] = '\0';
	for (size_t i = 0; i < N_ENTRIES; i++) {
		const char *p = entries[i].path;
		if (plen && (strncmp(p, prefix, plen) != 0 || p[plen] != '.'))
			continue;
		const char *k = plen ? p + plen + 1 : p;
		size_t klen = strcspn(k, ".");
		char key[64];
		snprintf(key, sizeof key, "%.*s", (int)klen, k);
		if (strstr(out, key))
			continue;
		size_t ol = strlen(out);
		snprintf(out + ol, len - ol, "%s%s", ol ? ", " : "", key);
	}
}

/* Appends one problem to err (a line each), for a check that reports
 * every problem of a file, not the first. */
static void append_err(char *err, size_t errlen, const char *msg)
{
	size_t n = strlen(err);
	if (n + 1 < errlen)
		snprintf(err + n, errlen - n, "%s%s", n ? "\n" : "", msg);
}

/* Applies every key of map; err gets every problem, one a line, in file
 * order (-1 when there is any). */
static int apply_map(struct tr_config *c, const trellis_node_t *map,
		     const char *prefix, char *err, size_t errlen)
{
	if (tr_node_type(map) != TRELLIS_NODE_MAP) {
		if (!prefix && tr_node_is_null(map))
			return 0;
		return fail(err, errlen, map, "%s: expected a map%s",
			    prefix ? prefix : "config", "");
	}
	int bad = 0;
	for (size_t i = 0; i < tr_node_len(map); i++) {
		const char *key = tr_node_key_at(map, i);
		const trellis_node_t *v = tr_node_at(map, i);
		char path[128];
		if (prefix)
			snprintf(path, sizeof path, "%s.%s", prefix, key);
		else
			snprintf(path, sizeof path, "%s", key);
		const struct centry *e = NULL;
		int section = 0;
		size_t plen = strlen(path);
		for (size_t j = 0; j < N_ENTRIES; j++) {
			if (strcmp(entries[j].path, path) == 0)
				e = &entries[j];
			else if (strncmp(entries[j].path, path, plen) == 0 &&
				 entries[j].path[plen] == '.')
				section = 1;
		}
		int rc;
		char one[4096] = "";
		if (e)
			rc = apply_entry(c, e, v, one, sizeof one);
		else if (section)
			rc = apply_map(c, v, path, one, sizeof one);
		else {
			char valid[256];
			keys_below(prefix, valid, sizeof valid);
			/* The nearest valid key at this level, if any. */
			struct tr_suggest sg;
			tr_suggest_init(&sg, key);
			char keys[sizeof valid];
			snprintf(keys, sizeof keys, "%s", valid);
			char *save = NULL;
			for (char *k = strtok_r(keys, ", ", &save); k;
			     k = strtok_r(NULL, ", ", &save))
				tr_suggest_add(&sg, k);
			char msg[1024];
			if (sg.best)
				snprintf(msg, sizeof msg,
					 "unknown key '%s' (did you mean '%s%s%s'?)",
					 path, prefix ? prefix : "",
					 prefix ? "." : "", sg.best);
			else
				snprintf(msg, sizeof msg,
					 "unknown key '%s' (valid keys%s%s: %s)",
					 path, prefix ? " under " : "",
					 prefix ? prefix : "", valid);
			snprintf(one, sizeof one, "%s: %s",
				 tr_node_where(tr_node_key_node_at(map, i)), msg);
			rc = -1;
		}
		if (rc < 0) {
			append_err(err, errlen, one);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

struct tr_config *tr_config_load(const char *path, const char *state_dir,
				 char *err, size_t errlen)
{
	struct tr_config *c = tr_xcalloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->defaults = tr_node_parse_string("<defaults>", defaults_yaml,
					   sizeof defaults_yaml - 1, err,
					   errlen);
	if (!c->defaults || apply_map(c, c->defaults, NULL, err, errlen) < 0)
		goto fail;
	char *def_api = tr_xstrdup(c->api_listen);
	char *def_events = tr_xstrdup(c->events_listen);
	if (path) {
		err[0] = '\0';
		c->file = tr_node_parse_file(path, err, errlen);
		if (!c->file || apply_map(c, c->file, NULL, err, errlen) < 0) {
			free(def_api);
			free(def_events);
			goto fail;
		}
	}
	if (state_dir) {
		free(c->state_dir);
		/* Absolute, so the socket URLs mean the same to every
		 * client whatever its working directory. */
		char cwd[4096];
		while (state_dir[0] == '.' && state_dir[1] == '/')
			state_dir += 2;
		if (state_dir[0] != '/' && getcwd(cwd, sizeof cwd)) {
			size_t n = strlen(cwd) + strlen(state_dir) + 2;
			c->state_dir = tr_xmalloc(n);
			if (c->state_dir)
				snprintf(c->state_dir, n, "%s/%s", cwd,
					 state_dir);
		} else {
			c->state_dir = tr_xstrdup(state_dir);
		}
		state_dir = c->state_dir ? c->state_dir : state_dir;
		/* Unless the file named them, the sockets follow the state
		 * dir: tests and several daemons need no config file. */
		char url[4200];
		if (def_api && strcmp(c->api_listen, def_api) == 0) {
			snprintf(url, sizeof url, "ipc://%s/api.sock",
				 state_dir);
			free(c->api_listen);
			c->api_listen = tr_xstrdup(url);
		}
		if (def_events && strcmp(c->events_listen, def_events) == 0) {
			snprintf(url, sizeof url, "ipc://%s/events.sock",
				 state_dir);
			free(c->events_listen);
			c->events_listen = tr_xstrdup(url);
		}
	}
	free(def_api);
	free(def_events);
	if (!c->secrets_dir && c->state_dir) {
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/secrets", c->state_dir);
		c->secrets_dir = tr_xstrdup(dir);
	}
	if (!c->api_keys_file && c->state_dir) {
		char keys[4200];
		snprintf(keys, sizeof keys, "%s/api-keys", c->state_dir);
		c->api_keys_file = tr_xstrdup(keys);
	}
	if (c->store_pg && !c->store_dsn) {
		snprintf(err, errlen, "%s: store.dsn: required with store."
			 "backend: postgresql", path ? path : "(defaults)");
		goto fail;
	}
	if (!c->state_dir || !c->api_listen || !c->events_listen ||
	    !c->secrets_dir || !c->api_keys_file) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return c;
fail:
	tr_config_free(c);
	return NULL;
}

void tr_config_free(struct tr_config *c)
{
	if (!c)
		return;
	free(c->state_dir);
	free(c->store_dsn);
	free(c->api_listen);
	free(c->api_tcp);
	free(c->events_listen);
	free(c->secrets_dir);
	free(c->api_keys_file);
	free(c->roles_file);
	free(c->prices_file);
	free(c->http_listen);
	free(c->escrow_endpoint);
	free(c->escrow_public_key);
	free(c->http_cert);
	free(c->http_key);
	free(c->http_dashboard);
	free(c->console_url);
	free(c->console_launcher);
	free(c->console_vm_template);
	free(c->console_proxy_bin);
	free(c->console_listen_host);
	for (size_t i = 0; i < c->n_plugin_dirs; i++)
		free(c->plugin_dirs[i]);
	free(c->plugin_dirs);
	for (size_t i = 0; i < c->n_workflow_dirs; i++)
		free(c->workflow_dirs[i]);
	free(c->workflow_dirs);
	for (size_t i = 0; i < c->n_agents_listen; i++)
		free(c->agents_listen[i]);
	free(c->agents_listen);
	for (size_t i = 0; i < c->n_ha_probe; i++)
		free(c->ha_probe[i]);
	free(c->ha_probe);
	for (size_t i = 0; i < c->n_ha_fence; i++)
		free(c->ha_fence[i]);
	free(c->ha_fence);
	free(c->ha_fence_action);
	free(c->ha_bmc_url);
	free(c->ha_bmc_system);
	free(c->ha_bmc_credentials);
	free(c->ha_bmc_ca);
	tr_node_free(c->defaults);
	tr_node_free(c->file);
	free(c);
}
