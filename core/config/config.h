/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - trellisd's configuration: embedded YAML defaults overlaid by
 * an optional config file, checked strictly.
 *
 * The daemon starts with no config file at all.  A file may set any key of
 * the defaults (config.c shows them all); an unknown key or a bad value is
 * an error "FILE:LINE:COL: message".  The `plugins:` map is passed to the
 * plugin registry as is: each plugin checks its own section.
 *
 * The struct owns its strings and the parsed trees (freed by
 * tr_config_free); `plugins` points into them.
 */
#ifndef TRELLIS_CORE_CONFIG_H
#define TRELLIS_CORE_CONFIG_H

#include <stddef.h>

#include <trellis/host.h>

struct tr_config {
	char *state_dir;      /* state_dir */
	int store_pg;         /* store.backend: 0 sqlite, 1 postgresql */
	char *store_dsn;      /* store.dsn: libpq connection string, or NULL */
	char *api_listen;     /* api.listen: ipc:// or tcp:// */
	unsigned api_mode;    /* api.socket_mode: for ipc:// socket files */
	char *api_tcp;        /* api.tcp: an extra tcp:// listener, or NULL */
	char *api_keys_file;  /* api.keys_file: keys for tcp:// (keys.h) */
	size_t max_message;   /* api.max_message: bytes */
	unsigned max_inflight; /* api.max_inflight */
	unsigned api_threads;  /* api.threads: per listener, 0: one per CPU */
	char *events_listen;  /* events.listen */
	int log_target;       /* log.target: enum tr_log_target, or -1: auto */
	int log_level;        /* log.level: TRELLIS_LOG_* */
	unsigned workers;     /* workers.threads */
	unsigned queue;       /* workers.queue: jobs waiting, at most */
	unsigned readers;     /* workers.readers: threads for API reads */
	unsigned shutdown_grace_ms; /* shutdown_grace: wait for requests */
	unsigned host_refresh_ms; /* host_refresh: rediscover hosts, 0: off */
	unsigned router_check_ms; /* network.router_check: sync routers, 0: off */
	unsigned orphan_check_ms; /* placement.orphan_check, 0: off */
	char *secrets_dir;    /* secrets_dir, or NULL: STATE_DIR/secrets */
	char **plugin_dirs;   /* plugin_dirs */
	size_t n_plugin_dirs;
	const trellis_node_t *plugins; /* plugins: name -> section (a map) */
	unsigned max_workflows; /* workflows.max_workflows */
	unsigned wf_max_steps;  /* workflows.max_steps */
	unsigned wf_retention_s; /* workflows.retention: 0 keeps all */
	char *http_listen;      /* http.listen: HOST:PORT, or NULL: off */
	int http_tls;           /* http.tls: 1, 0, or -1: auto (off on loopback) */
	char *http_cert;        /* http.cert: PEM certificate chain */
	char *http_key;         /* http.key: PEM private key */
	size_t http_max_body;   /* http.max_body: bytes */
	unsigned http_timeout_ms; /* http.timeout: to send a request whole */
	int http_metrics_auth;  /* http.metrics_auth: 1, 0, -1: auto */
	char *http_dashboard;   /* http.dashboard: the dashboard's files */
	unsigned http_session_ttl_s;  /* http.session_ttl (0: 8h) */
	unsigned http_session_idle_s; /* http.session_idle (0: 30m) */
	char *escrow_endpoint;  /* escrow.endpoint: trellis-escrowd, or NULL */
	char *escrow_public_key; /* escrow.public_key: base64, or NULL */
	char **workflow_dirs;   /* workflows.dirs (count next: keep adjacent) */
	size_t n_workflow_dirs;
	char **agents_listen;   /* agents.listen: URLs (count next) */
	size_t n_agents_listen;
	unsigned agents_beat_ms; /* agents.heartbeat */
	unsigned agents_dead;    /* agents.dead_after: missed beats */
	char *roles_file;       /* auth.roles: custom roles (YAML), or NULL */
	char *prices_file;      /* chargeback.prices: the price table, or NULL */
	/* console.* (issue 20, docs/console.md) */
	char *console_url;      /* console.url: browsers' base URL, or NULL */
	unsigned console_ttl_ms; /* console.token_ttl: default and ceiling */
	unsigned console_standby; /* console.standby: free sessions kept */
	unsigned console_capacity; /* console.capacity: sessions a proxy takes */
	unsigned console_scan_ms; /* console.scan: the scan's period, 0: off */
	char *console_launcher; /* console.launcher: process or vm */
	char *console_vm_template; /* console.vm_template: vm.provision inputs
				      (JSON) of the vm launcher's instances */
	char *console_proxy_bin; /* console.proxy: trellis-console, or NULL */
	unsigned console_first_port; /* console.first_port: process launcher */
	char *console_listen_host; /* console.listen_host: its address */
	unsigned console_max; /* console.max_instances: the scan's ceiling */
	unsigned console_pw_ms; /* console.password_ttl: a session's VNC password */

	unsigned caps[7];       /* caps.*: global default caps, tr_cap_fields
				   order (core/tenancy), 0: none */
	unsigned ha_interval_ms; /* ha.interval: probe hosts, 0: HA off */
	unsigned ha_fail_after_ms; /* ha.fail_after: failing this long: failed */
	char **ha_probe;        /* ha.probe: argv of the probe (count next) */
	size_t n_ha_probe;
	char *ha_fence_action;  /* ha.fence_action: the fencing action */
	char **ha_fence;        /* ha.fence: argv for fence.script (count next) */
	size_t n_ha_fence;
	unsigned ha_fence_timeout_ms; /* ha.fence_timeout */
	char *ha_bmc_url;         /* ha.bmc.url: the BMC (template), or NULL */
	char *ha_bmc_system;      /* ha.bmc.system: Redfish system path */
	char *ha_bmc_credentials; /* ha.bmc.credentials: secret name (template) */
	char *ha_bmc_ca;          /* ha.bmc.ca: CA file of the BMC's TLS */
	int ha_bmc_insecure;      /* ha.bmc.insecure */

	trellis_node_t *defaults; /* parsed embedded defaults */
	trellis_node_t *file;     /* parsed config file, or NULL */
};

/* The embedded defaults, as YAML text (for `trellisd --print-defaults`). */
const char *tr_config_defaults(void);

/*
 * Loads the defaults, then path (NULL: none).  state_dir (NULL: keep)
 * overrides the config's state_dir and, unless the file names them, puts
 * the sockets in it (ipc://DIR/api.sock, ipc://DIR/events.sock).
 * NULL on error with "FILE:LINE:COL: message" in err: every problem of
 * the file, one a line (a check reports them all, not the first).
 */
struct tr_config *tr_config_load(const char *path, const char *state_dir,
				 char *err, size_t errlen);
void tr_config_free(struct tr_config *c);

/*
 * The secret source for plugins (host->secret_get, plugged in with
 * tr_host_set_secret_source(tr_secrets_get, dir)): one file per secret,
 * DIR/NAME, which must be a regular file that only its owner can read or
 * write (mode 0600 or 0400) - anything else is refused with PERMISSION
 * rather than handed out.  NAME is [A-Za-z0-9_.-], not starting with a
 * dot.  One trailing newline is dropped.  *value is malloc()ed.
 * Returns 0 or NOTFOUND, INVALID_ARG, PERMISSION, IO, NOMEM.
 */
int tr_secrets_get(void *dir, const char *name, char **value);

#endif
