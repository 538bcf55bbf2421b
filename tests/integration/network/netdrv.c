/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netdrv.c - drives a network plugin from the shell tests through the same
 * code paths as the daemon: core/loader loads the plugin, core/dispatch
 * calls its ops.  Several commands may run in one process (separated by
 * "--"), which the expiry test needs: the rule timer lives in this process.
 *
 *   netdrv [-p PLUGIN.so] URI CMD ARGS... [-- CMD ARGS...]...
 *
 *   seg-ensure NAME vxlan|vlan|local ID [tenant=T] [underlay=DEV]
 *              [local=IP] [remote=IP]... [mtu=N]
 *   seg-release NAME
 *   port-create NAME SEGMENT [veth] [mac=MAC] [ip=ADDR/PREFIX]
 *   port-delete NAME [release]
 *   rule-add PORT tcp|udp|icmp [ports=A[-B]] [from=CIDR] [ttl=SECONDS]
 *            [key=IDEMPOTENCY_KEY]
 *   rule-delete RULE_ID
 *   gc [KEEP...]
 *   sleep SECONDS
 *   flags N    (the next op gets these raw flag bits, for refusal tests)
 *
 * Each op prints one line of key=value pairs; a failure prints
 * "error CODE: message" on stderr and exits 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../../core/dispatch/dispatch.h"
#include "../../../core/loader/loader.h"

static uint32_t next_flags;
static int have_next_flags;

static const char *opt(int argc, char **argv, const char *key)
{
	size_t n = strlen(key);
	for (int i = 0; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static int has(int argc, char **argv, const char *word)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], word))
			return 1;
	return 0;
}

static uint32_t flags_or(uint32_t dflt)
{
	uint32_t f = have_next_flags ? next_flags : dflt;
	have_next_flags = 0;
	return f;
}

static void gc_print(void *opaque, const char *what, const char *name)
{
	(void)opaque;
	printf("removed %s %s\n", what, name);
}

static int run(struct tr_target *t, int argc, char **argv)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *cmd = argv[0];
	int rc;
	if (!strcmp(cmd, "seg-ensure") && argc >= 4) {
		const char *remotes[16];
		uint32_t n = 0;
		for (int i = 4; i < argc && n < 16; i++)
			if (!strncmp(argv[i], "remote=", 7))
				remotes[n++] = argv[i] + 7;
		const char *m = argv[2];
		trellis_segment_spec_t s = {
		    .struct_size = sizeof s,
		    .name = argv[1],
		    .tenant = opt(argc, argv, "tenant"),
		    .mode = !strcmp(m, "vxlan")	  ? TRELLIS_SEGMENT_VXLAN
			    : !strcmp(m, "vlan")  ? TRELLIS_SEGMENT_VLAN
			    : !strcmp(m, "local") ? TRELLIS_SEGMENT_LOCAL
						  : 0,
		    .segment_id = (uint32_t)strtoul(argv[3], NULL, 10),
		    .underlay_dev = opt(argc, argv, "underlay"),
		    .local_ip = opt(argc, argv, "local"),
		    .remote_ips = remotes,
		    .n_remote_ips = n,
		    .mtu = opt(argc, argv, "mtu")
			       ? (uint32_t)atoi(opt(argc, argv, "mtu"))
			       : 0,
		};
		trellis_segment_info_t o;
		rc = tr_net_segment_ensure(t, &call, &s, "drv",
					   flags_or(0), &o);
		if (!rc)
			printf("bridge=%s link=%s id=%u ports=%u\n", o.bridge,
			       o.link, o.segment_id, o.n_ports);
	} else if (!strcmp(cmd, "seg-release") && argc == 2) {
		rc = tr_net_segment_release(t, &call, argv[1], "drv",
					    flags_or(0));
		if (!rc)
			printf("released=%s\n", argv[1]);
	} else if (!strcmp(cmd, "port-create") && argc >= 3) {
		trellis_port_spec_t s = {.struct_size = sizeof s,
					 .name = argv[1],
					 .segment = argv[2],
					 .mac = opt(argc, argv, "mac"),
					 .ip = opt(argc, argv, "ip")};
		trellis_port_info_t o;
		rc = tr_net_port_create(t, &call, &s, "drv",
					flags_or(has(argc, argv, "veth")
						     ? TRELLIS_NET_PORT_VETH
						     : 0),
					&o);
		if (!rc)
			printf("ifname=%s bridge=%s mac=%s peer=%s\n", o.ifname,
			       o.bridge, o.mac, o.peer[0] ? o.peer : "-");
	} else if (!strcmp(cmd, "port-delete") && argc >= 2) {
		rc = tr_net_port_delete(
		    t, &call, argv[1], "drv",
		    flags_or(has(argc, argv, "release")
				 ? TRELLIS_NET_PORT_RELEASE_SEGMENT
				 : 0));
		if (!rc)
			printf("deleted=%s\n", argv[1]);
	} else if (!strcmp(cmd, "rule-add") && argc >= 3) {
		const char *ports = opt(argc, argv, "ports");
		const char *ttl = opt(argc, argv, "ttl");
		unsigned lo = 0, hi = 0;
		if (ports && sscanf(ports, "%u-%u", &lo, &hi) < 2)
			hi = lo;
		trellis_fw_rule_t r = {
		    .struct_size = sizeof r,
		    .port = argv[1],
		    .protocol = argv[2],
		    .port_min = (uint16_t)lo,
		    .port_max = (uint16_t)hi,
		    .source_cidr = opt(argc, argv, "from"),
		    .expires_at = ttl ? (int64_t)time(NULL) + atoll(ttl) : 0,
		};
		char id[64];
		rc = tr_net_rule_add(t, &call, &r,
				     opt(argc, argv, "key"), flags_or(0), id);
		if (!rc)
			printf("rule=%s\n", id);
	} else if (!strcmp(cmd, "rule-delete") && argc == 2) {
		rc = tr_net_rule_delete(t, &call, argv[1], "drv",
					flags_or(0));
		if (!rc)
			printf("rule_deleted=%s\n", argv[1]);
	} else if (!strcmp(cmd, "gc")) {
		rc = tr_net_gc(t, &call, (const char *const *)argv + 1,
			       (uint32_t)(argc - 1), flags_or(0), gc_print,
			       NULL);
		if (!rc)
			printf("gc=done\n");
	} else if (!strcmp(cmd, "sleep") && argc == 2) {
		fflush(stdout);
		usleep((useconds_t)(atof(argv[1]) * 1e6));
		return 0;
	} else if (!strcmp(cmd, "flags") && argc == 2) {
		next_flags = (uint32_t)strtoul(argv[1], NULL, 0);
		have_next_flags = 1;
		return 0;
	} else {
		fprintf(stderr, "netdrv: bad command: %s (argc %d)\n", cmd,
			argc);
		return 64;
	}
	fflush(stdout);
	if (rc) {
		fprintf(stderr, "error %s: %s\n", trellis_error_name(rc),
			call.message);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[1024];
	int i = 1;
	if (argc > 2 && !strcmp(argv[1], "-p")) {
		snprintf(path, sizeof path, "%s", argv[2]);
		i = 3;
	} else {
		const char *b = getenv("TRELLIS_BUILD");
		snprintf(path, sizeof path, "%s/plugins/bridge.so",
			 b ? b : "build");
	}
	if (argc > 1 &&
	    (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: netdrv [-p PLUGIN.so] URI CMD ARGS... "
		       "[-- CMD ARGS...]...\n"
		       "URI: local | netns:NAME\n"
		       "  seg-ensure NAME vxlan|vlan|local ID [tenant=T] "
		       "[underlay=DEV] [local=IP] [remote=IP]... [mtu=N]\n"
		       "  seg-release NAME\n"
		       "  port-create NAME SEGMENT [veth] [mac=MAC] "
		       "[ip=ADDR/PREFIX]\n"
		       "  port-delete NAME [release]\n"
		       "  rule-add PORT tcp|udp|icmp [ports=A[-B]] [from=CIDR] "
		       "[ttl=SECONDS] [key=KEY]\n"
		       "  rule-delete RULE_ID\n"
		       "  gc [KEEP...]\n"
		       "  sleep SECONDS\n"
		       "  flags N   (raw flag bits for the next op)\n"
		       "Loads the plugin through core/loader and calls it "
		       "through core/dispatch.\n");
		return 0;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: netdrv [-p PLUGIN.so] URI CMD ARGS... "
				"[-- CMD ARGS...]... (--help for more)\n");
		return 64;
	}
	tr_registry_t *reg = tr_registry_new();
	struct trellis_plugin *p = tr_registry_load_file(reg, path);
	if (!p || p->state != TR_PLUGIN_LOADED) {
		fprintf(stderr, "netdrv: %s: %s\n", path,
			p ? p->reason : "out of memory");
		return 1;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_target *t;
	int rc = tr_target_open(p, &call, NULL, argv[i], NULL, 0, &t);
	if (rc) {
		fprintf(stderr, "error %s: %s\n", trellis_error_name(rc),
			call.message);
		tr_registry_free(reg);
		return 2;
	}
	i++;
	rc = 0;
	while (i < argc && !rc) {
		int j = i;
		while (j < argc && strcmp(argv[j], "--"))
			j++;
		rc = run(t, j - i, argv + i);
		i = j + 1;
	}
	tr_target_close(t);
	tr_host_shutdown();
	tr_registry_free(reg);
	return rc;
}
