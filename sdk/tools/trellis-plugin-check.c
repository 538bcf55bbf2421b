/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trellis-plugin-check - the conformance checker for Trellis plugins.
 *
 *   trellis-plugin-check PLUGIN.so [--config FILE] [--target URI]
 *                        [--allow-unavailable] [-o json] [--help]
 *
 * Loads one plugin exactly as trellisd does (core/loader, the same host
 * services), then runs the conformance suite for its kind through
 * core/dispatch: descriptor sanity, required ops, unknown flag bits
 * rejected, errors set on failure paths, idempotent create/delete, NOTSUP
 * for absent ops.  Prints one line per check and exits 1 on any failure.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../core/util/log.h"
#include "../../core/util/node.h"
#include "check.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: trellis-plugin-check PLUGIN.so [OPTIONS]\n"
	    "\n"
	    "Loads a Trellis plugin as trellisd does and runs the conformance\n"
	    "suite for its kind.  Prints one line per check (PASS, FAIL or\n"
	    "SKIP) and exits 1 if any check failed, 2 on a usage error.\n"
	    "\n"
	    "Options:\n"
	    "  -c, --config FILE       plugin config: a daemon config with a\n"
	    "                          'plugins: {NAME: {...}}' section, or\n"
	    "                          just the plugin's own section; beside\n"
	    "                          'plugins:', 'target: URI' and\n"
	    "                          'options: {...}' (the checked pool's,\n"
	    "                          host's or network's own options)\n"
	    "  -t, --target URI        what to run against (default per kind:\n"
	    "                          hypervisor test:///default, storage a\n"
	    "                          fresh temporary directory, network "
	    "none:\n"
	    "                          mutating checks need e.g. netns:NAME)\n"
	    "      --allow-unavailable accept a target that is UNAVAILABLE\n"
	    "                          (e.g. Xen on a machine without Xen) "
	    "and\n"
	    "                          skip the checks that need it\n"
	    "  -o, --output FMT        text (default) or json\n"
	    "      --timeout SECS      per-check watchdog (default 120)\n"
	    "  -v, --verbose           show the core's and plugin's log\n"
	    "  -V, --version           print the version and exit\n"
	    "  -h, --help              print this help and exit\n");
}

/* The plugin's name, read from its descriptor before the loader runs, so
 * that a config file holding only the plugin's section can be keyed. */
static char *peek_name(const char *path)
{
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return NULL;
	void *sym = dlsym(dl, TRELLIS_PLUGIN_ENTRY_SYMBOL);
	char *name = NULL;
	if (sym) {
		trellis_plugin_entry_fn entry;
		memcpy(&entry, &sym, sizeof entry);
		const trellis_plugin_desc_t *d = entry();
		if (d && d->struct_size >= TRELLIS_PLUGIN_DESC_SIZE_1_0 &&
		    d->name)
			name = strdup(d->name);
	}
	/* The loader opens the same object again; it is never unloaded. */
	return name;
}

static int valid_version(const char *v)
{
	if (!v || !(*v >= '0' && *v <= '9'))
		return 0;
	for (; *v; v++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-",
			    *v))
			return 0;
	return 1;
}

/* An SPDX license expression, loosely: identifiers, AND/OR/WITH, parens. */
static int valid_license(const char *l)
{
	if (!l || !*l)
		return 0;
	for (const char *s = l; *s; s++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+-() ",
			    *s))
			return 0;
	return 1;
}

static uint64_t known_caps(uint32_t kind)
{
	switch (kind) {
	case TRELLIS_KIND_HYPERVISOR:
		return (1ull << 6) - 1;
	case TRELLIS_KIND_STORAGE:
		return (1ull << 7) - 1; /* format bits: since 1.1 */
	case TRELLIS_KIND_NETWORK:
		return (1ull << 5) - 1; /* router bit: since 1.1 */
	default:
		return 0;
	}
}

static void check_descriptor(struct chk *c)
{
	const trellis_plugin_desc_t *d = c->p->desc;
	char why[512] = "";
	size_t w = 0;
#define WHY(...)                                                               \
	do {                                                                   \
		if (w < sizeof why)                                            \
			w += (size_t)snprintf(why + w, sizeof why - w,         \
					      __VA_ARGS__);                    \
	} while (0)
	if (!valid_version(d->version))
		WHY("%sversion '%s' does not look like a version (1.2.3)",
		    w ? "; " : "", d->version ? d->version : "");
	if (!valid_license(d->license))
		WHY("%slicense '%s' is not an SPDX identifier", w ? "; " : "",
		    d->license ? d->license : "(none)");
	if (d->description &&
	    (strlen(d->description) > 200 || strchr(d->description, '\n')))
		WHY("%sdescription must be one line of at most 200 characters",
		    w ? "; " : "");
	uint64_t unknown = d->caps & ~known_caps(d->kind);
	if (unknown)
		WHY("%sunknown %s capability bits 0x%llx", w ? "; " : "",
		    trellis_kind_name(d->kind), (unsigned long long)unknown);
#undef WHY
	if (w) {
		chk_fail(c, "descriptor", "%s", why);
		return;
	}
	char caps[256];
	chk_pass(c, "descriptor",
		 "%s %s (%s), kind %s, thread model %s, ABI %u.%u, caps %s%s%s",
		 c->p->name, d->version, d->license, trellis_kind_name(d->kind),
		 trellis_thread_model_name(d->thread_model), d->abi_major,
		 d->abi_minor, tr_plugin_caps_str(c->p, caps, sizeof caps),
		 d->description ? ": " : "",
		 d->description ? d->description : "");
}

/* Capability bits promise ops. */
static void check_caps(struct chk *c)
{
	static const struct {
		uint32_t kind;
		uint64_t bit;
		const char *cap, *op;
		size_t offset;
	} promises[] = {
#define P(k, b, cap, type, op) {k, b, cap, #op, offsetof(struct type, op)}
	    P(TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_CONSOLE_VNC, "vnc",
	      trellis_hypervisor_ops, vm_console),
	    P(TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_HOTPLUG_DISK,
	      "hotplug-disk", trellis_hypervisor_ops, vm_disk_attach),
	    P(TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_HOTPLUG_NIC,
	      "hotplug-nic", trellis_hypervisor_ops, vm_nic_attach),
	    P(TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_SNAPSHOT, "snapshot",
	      trellis_storage_ops, snapshot_create),
	    P(TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_CLONE, "clone",
	      trellis_storage_ops, vol_clone),
	    P(TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_RESIZE, "resize",
	      trellis_storage_ops, vol_resize),
	    P(TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_FIREWALL, "firewall",
	      trellis_network_ops, rule_add),
	    P(TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_GC, "gc",
	      trellis_network_ops, gc),
	    P(TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_ROUTER, "router",
	      trellis_network_ops, router_ensure),
#undef P
	};
	const trellis_plugin_desc_t *d = c->p->desc;
	int bad = 0;
	for (size_t i = 0; i < sizeof promises / sizeof *promises; i++) {
		if (promises[i].kind != d->kind ||
		    !(d->caps & promises[i].bit) ||
		    tr_plugin_has_op(c->p, promises[i].offset))
			continue;
		chk_fail(c, "caps",
			 "capability '%s' is set but op '%s' is "
			 "missing",
			 promises[i].cap, promises[i].op);
		bad = 1;
	}
	if (!bad)
		chk_pass(c, "caps", "every capability bit has its op");
}

static void check_ops_table(struct chk *c)
{
	const struct tr_kind_info *k = tr_kind_info(c->p->desc->kind);
	char req[512] = "", present[512] = "", absent[512] = "";
	size_t a = 0, b = 0, r = 0;
	for (size_t i = 0; i < k->n_required; i++)
		r += (size_t)snprintf(
		    req + r, r < sizeof req ? sizeof req - r : 0, "%s%s",
		    i ? " " : "", k->required[i].name);
	for (size_t i = 0; i < k->n_all; i++) {
		int req_op = 0;
		for (size_t j = 0; j < k->n_required; j++)
			req_op |= k->required[j].offset == k->all[i].offset;
		if (req_op)
			continue;
		if (tr_plugin_has_op(c->p, k->all[i].offset)) {
			if (a < sizeof present)
				a += (size_t)snprintf(
				    present + a, sizeof present - a, "%s%s",
				    a ? " " : "", k->all[i].name);
		} else if (b < sizeof absent) {
			b += (size_t)snprintf(absent + b, sizeof absent - b,
					      "%s%s", b ? " " : "",
					      k->all[i].name);
		}
	}
	/* The loader refuses a plugin without them; a loaded plugin passes,
	 * but say which they are so an author knows. */
	chk_pass(c, "required-ops", "%s", req);
	uint32_t size;
	memcpy(&size, c->p->desc->ops, sizeof size);
	chk_pass(c, "ops-table",
		 "struct_size %u (ABI 1.0: %zu); optional present: %s; "
		 "absent (NOTSUP): %s",
		 size, k->ops_size_1_0, a ? present : "none",
		 b ? absent : "none");
}

static int load_config(const char *file, const char *plugin_path,
		       trellis_node_t **root, struct trellis_node *wrap,
		       struct trellis_node *key, struct trellis_node **kp,
		       struct trellis_node **vp, char **name,
		       const trellis_node_t **plugins)
{
	char err[512];
	*root = tr_node_parse_file(file, err, sizeof err);
	if (!*root) {
		fprintf(stderr, "trellis-plugin-check: %s\n", err);
		return -1;
	}
	const trellis_node_t *sec = tr_node_get(*root, "plugins");
	if (sec) {
		if (tr_node_type(sec) != TRELLIS_NODE_MAP) {
			fprintf(stderr,
				"trellis-plugin-check: %s: 'plugins' must be a "
				"map of plugin name to its config\n",
				tr_node_where(sec));
			return -1;
		}
		*plugins = sec;
		return 0;
	}
	if (tr_node_get(*root, "options") || tr_node_get(*root, "target")) {
		fprintf(stderr,
			"trellis-plugin-check: %s: 'options' and 'target' "
			"go beside a 'plugins:' section (the plugin's own "
			"section may have keys of those names)\n",
			tr_node_where(*root));
		return -1;
	}
	/* Just the plugin's own section: key it by the plugin's name. */
	*name = peek_name(plugin_path);
	if (!*name)
		return 0; /* the loader will say why it cannot load */
	memset(key, 0, sizeof *key);
	key->type = TRELLIS_NODE_SCALAR;
	key->str = *name;
	memset(wrap, 0, sizeof *wrap);
	wrap->type = TRELLIS_NODE_MAP;
	wrap->n = 1;
	*kp = key;
	*vp = *root;
	wrap->keys = kp;
	wrap->items = vp;
	*plugins = wrap;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"target", required_argument, NULL, 't'},
	    {"allow-unavailable", no_argument, NULL, 'U'},
	    {"output", required_argument, NULL, 'o'},
	    {"timeout", required_argument, NULL, 'T'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct chk c = {0};
	const char *config = NULL;
	int verbose = 0, opt;
	while ((opt = getopt_long(argc, argv, "c:t:o:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 't':
			c.target = optarg;
			break;
		case 'U':
			c.allow_unavailable = 1;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0) {
				c.json = 1;
			} else if (strcmp(optarg, "text") != 0) {
				fprintf(stderr,
					"trellis-plugin-check: unknown output "
					"format '%s' (text or json)\n",
					optarg);
				return 2;
			}
			break;
		case 'T':
			chk_timeout_s = (unsigned)strtoul(optarg, NULL, 10);
			if (!chk_timeout_s)
				chk_timeout_s = 120;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf(
			    "trellis-plugin-check %s (plugin ABI %d.%d, %s)\n",
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
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	/* dlopen searches the library path for a name without a slash. */
	char path[PATH_MAX];
	if (!realpath(argv[optind], path)) {
		fprintf(stderr, "trellis-plugin-check: %s: %m\n", argv[optind]);
		return 2;
	}
	tr_log_setup(TR_LOG_STDERR,
		     verbose ? TRELLIS_LOG_DEBUG : TRELLIS_LOG_ERR,
		     "trellis-plugin-check");

	trellis_node_t *root = NULL;
	struct trellis_node wrap, key, *kp, *vp;
	char *peeked = NULL;
	const trellis_node_t *plugins = NULL;
	if (config && load_config(config, path, &root, &wrap, &key, &kp, &vp,
				  &peeked, &plugins) < 0) {
		tr_node_free(root);
		return 2;
	}

	/* The checked target: --target wins over the file's "target:"; the
	 * file's "options:" are its own options (a pool's, a host's). */
	if (root && plugins != &wrap) {
		const trellis_node_t *t = tr_node_get(root, "target");
		const trellis_node_t *o = tr_node_get(root, "options");
		if ((t && !tr_node_str(t)) ||
		    (o && tr_node_type(o) != TRELLIS_NODE_MAP)) {
			fprintf(stderr,
				"trellis-plugin-check: %s: 'target' is a URI "
				"and 'options' a map\n",
				tr_node_where(t && !tr_node_str(t) ? t : o));
			tr_node_free(root);
			return 2;
		}
		if (!c.target && t)
			c.target = tr_node_str(t);
		c.target_options = o;
	}
	if (c.json)
		c.results = json_array();
	snprintf(c.prefix, sizeof c.prefix, "tc%ld", (long)getpid() % 100000);
	chk_watchdog_install();

	tr_registry_t *reg = tr_registry_new();
	tr_registry_set_config(reg, plugins);
	chk_begin("load");
	c.p = tr_registry_load_file(reg, path);
	chk_end();
	if (!c.p) {
		fprintf(stderr, "trellis-plugin-check: out of memory\n");
		return 2;
	}
	if (c.p->state != TR_PLUGIN_LOADED) {
		chk_fail(&c, "load", "%s: refused: %s", path, c.p->reason);
	} else {
		chk_pass(&c, "load",
			 "%s loaded as trellisd would (host ABI "
			 "%d.%d, %s)",
			 path, TRELLIS_ABI_MAJOR, TRELLIS_ABI_MINOR,
			 TRELLIS_BUILD_TAG);
		check_descriptor(&c);
		check_ops_table(&c);
		check_caps(&c);
		switch (c.p->desc->kind) {
		case TRELLIS_KIND_HYPERVISOR:
			chk_hypervisor(&c);
			break;
		case TRELLIS_KIND_STORAGE:
			chk_storage(&c);
			break;
		case TRELLIS_KIND_NETWORK:
			chk_network(&c);
			break;
		case TRELLIS_KIND_POLICY:
			chk_policy(&c);
			break;
		default:
			break;
		}
	}

	const char *name = c.p->name;
	if (c.json) {
		json_t *doc = json_pack(
		    "{s:s, s:s, s:s, s:s?, s:O, s:i, s:i, s:i}", "plugin", name,
		    "path", path, "kind",
		    c.p->desc ? trellis_kind_name(c.p->desc->kind) : "-",
		    "target", c.target, "checks", (json_t *)c.results, "passed",
		    (int)c.passed, "failed", (int)c.failed, "skipped",
		    (int)c.skipped);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(doc);
		json_decref(c.results);
	} else {
		printf("%s: %u passed, %u failed, %u skipped\n", name, c.passed,
		       c.failed, c.skipped);
	}
	int rc = c.failed ? 1 : 0;
	chk_begin("fini");
	tr_registry_free(reg);
	chk_end();
	tr_host_shutdown();
	tr_node_free(root);
	free(peeked);
	return rc;
}
