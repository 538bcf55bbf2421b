/* SPDX-License-Identifier: Apache-2.0 */
/* loader.c - see loader.h. */
#include "loader.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <trellis/hypervisor.h>
#include <trellis/network.h>
#include <trellis/storage.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "confschema.h"
#include "../util/node.h"

struct tr_registry {
	struct trellis_plugin **plugins;
	size_t n;
	uint16_t major, minor;
	const char *build_tag;
	const trellis_node_t *config;
};

tr_registry_t *tr_registry_new(void)
{
	tr_registry_t *r = tr_xcalloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->major = TRELLIS_ABI_MAJOR;
	r->minor = TRELLIS_ABI_MINOR;
	r->build_tag = TRELLIS_BUILD_TAG;
	return r;
}

void tr_registry_set_abi(tr_registry_t *reg, uint16_t major, uint16_t minor,
			 const char *build_tag)
{
	reg->major = major;
	reg->minor = minor;
	if (build_tag)
		reg->build_tag = build_tag;
}

void tr_registry_set_config(tr_registry_t *reg, const trellis_node_t *plugins)
{
	reg->config = plugins;
}

static void plugin_free(struct trellis_plugin *p)
{
	if (p->state == TR_PLUGIN_LOADED && p->desc->fini)
		p->desc->fini(p->state_ptr);
	pthread_mutex_destroy(&p->serial);
	tr_node_free(p->config_owned);
	free(p->path);
	free(p->name);
	free(p);
	/* p->dl stays open on purpose: plugins are never unloaded, so that
	 * no thread or callback they left behind can jump into unmapped
	 * code. */
}

void tr_registry_free(tr_registry_t *reg)
{
	if (!reg)
		return;
	for (size_t i = reg->n; i-- > 0;)
		plugin_free(reg->plugins[i]);
	free(reg->plugins);
	free(reg);
}

size_t tr_registry_count(const tr_registry_t *reg)
{
	return reg->n;
}

struct trellis_plugin *tr_registry_at(const tr_registry_t *reg, size_t i)
{
	return i < reg->n ? reg->plugins[i] : NULL;
}

struct trellis_plugin *tr_registry_find(const tr_registry_t *reg,
					const char *name, uint32_t kind)
{
	for (size_t i = 0; i < reg->n; i++) {
		struct trellis_plugin *p = reg->plugins[i];
		if (p->state == TR_PLUGIN_LOADED && strcmp(p->name, name) == 0 &&
		    (!kind || p->desc->kind == kind))
			return p;
	}
	return NULL;
}

int tr_registry_check_configured(const tr_registry_t *reg, char *err,
				 size_t errlen)
{
	int n = 0;
	size_t off = 0;
	if (errlen)
		err[0] = '\0';
	for (size_t i = 0; i < tr_node_len(reg->config); i++) {
		const char *name = tr_node_key_at(reg->config, i);
		const trellis_node_t *sec = tr_node_at(reg->config, i);
		const trellis_node_t *opt = tr_node_get(sec, "optional");
		int optional = 0;
		char why[sizeof ((struct trellis_plugin *)0)->reason + 64];
		why[0] = '\0';
		if (opt && tr_node_bool(opt, &optional) < 0) {
			snprintf(why, sizeof why,
				 "%s: plugins.%s.optional: expected true or "
				 "false",
				 tr_node_where(opt), name);
		} else {
			const struct trellis_plugin *p = NULL;
			for (size_t j = 0; j < reg->n && !p; j++)
				if (strcmp(reg->plugins[j]->name, name) == 0)
					p = reg->plugins[j];
			if (p && p->state == TR_PLUGIN_LOADED)
				continue;
			if (!p)
				snprintf(why, sizeof why,
					 "%s: plugins.%s: no plugin named '%s' "
					 "was found on the plugin path "
					 "(trellisd --list-plugins)",
					 tr_node_where(tr_node_key_node_at(
						 reg->config, i)),
					 name, name);
			else
				snprintf(why, sizeof why,
					 "%s: plugins.%s: plugin %s refused: %s",
					 tr_node_where(tr_node_key_node_at(
						 reg->config, i)),
					 name, p->path, p->reason);
			if (optional) {
				tr_warn("%s (optional: true, going on without "
					"it)",
					why);
				continue;
			}
		}
		n++;
		int w = snprintf(err + off, errlen > off ? errlen - off : 0,
				 "%s%s", off ? "\n" : "", why);
		if (w > 0 && off + (size_t)w < errlen)
			off += (size_t)w;
	}
	return n;
}

const void *tr_plugin_ops(const struct trellis_plugin *p)
{
	return p && p->desc ? p->desc->ops : NULL;
}

static int ops_slot_present(const void *ops, size_t offset)
{
	uint32_t size;
	memcpy(&size, ops, sizeof size);
	if (offset + sizeof(void (*)(void)) > size)
		return 0; /* beyond struct_size: absent */
	void (*fn)(void);
	memcpy(&fn, (const char *)ops + offset, sizeof fn);
	return fn != NULL;
}

int tr_plugin_has_op(const struct trellis_plugin *p, size_t offset)
{
	const void *ops = tr_plugin_ops(p);
	return ops && p->state == TR_PLUGIN_LOADED &&
	       ops_slot_present(ops, offset);
}

static int refuse(struct trellis_plugin *p, const char *fmt, ...)
	TRELLIS_PRINTF(2, 3);
static int refuse(struct trellis_plugin *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof p->reason, fmt, ap);
	va_end(ap);
	p->state = TR_PLUGIN_REFUSED;
	return -1;
}

static int valid_name(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++)
		if (!(islower((unsigned char)s[n]) ||
		      isdigit((unsigned char)s[n]) || s[n] == '_' ||
		      s[n] == '-'))
			return 0;
	return n >= 1 && n <= 32;
}

static char *file_stem(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strcspn(b, ".");
	return tr_xstrndup(b, n);
}

/* Applies the acceptance rules to an opened object.  0, or -1 with the
 * reason set. */
static int check(tr_registry_t *reg, struct trellis_plugin *p)
{
	trellis_plugin_entry_fn entry;
	void *sym = dlsym(p->dl, TRELLIS_PLUGIN_ENTRY_SYMBOL);
	if (!sym)
		return refuse(p, "no entry symbol '%s' (is this a Trellis "
				 "plugin? did you use TRELLIS_PLUGIN_DEFINE?)",
			      TRELLIS_PLUGIN_ENTRY_SYMBOL);
	memcpy(&entry, &sym, sizeof entry);
	const trellis_plugin_desc_t *d = entry();
	if (!d)
		return refuse(p, "entry symbol returned no descriptor");
	p->desc_size = d->struct_size;
	/* struct_size, abi_major and abi_minor sit at the same offsets in
	 * every ABI major, so they can be read before anything else. */
	if (d->struct_size < offsetof(trellis_plugin_desc_t, build_tag))
		return refuse(p, "descriptor struct_size %u is too small to "
				 "hold an ABI version",
			      d->struct_size);
	if (d->abi_major != reg->major)
		return refuse(p, "ABI major differs: plugin built for ABI "
				 "%u.%u, host provides ABI %u.%u",
			      d->abi_major, d->abi_minor, reg->major,
			      reg->minor);
	if (d->abi_minor > reg->minor)
		return refuse(p, "plugin ABI %u.%u is newer than host ABI "
				 "%u.%u (rebuild the plugin against this "
				 "host's SDK, or upgrade the host)",
			      d->abi_major, d->abi_minor, reg->major,
			      reg->minor);
	if (d->struct_size < TRELLIS_PLUGIN_DESC_SIZE_1_0)
		return refuse(p, "descriptor struct_size %u is below ABI "
				 "1.0's %zu",
			      d->struct_size,
			      (size_t)TRELLIS_PLUGIN_DESC_SIZE_1_0);
	if (!d->build_tag || strcmp(d->build_tag, reg->build_tag) != 0)
		return refuse(p, "build tag differs: plugin '%s', host '%s'",
			      d->build_tag ? d->build_tag : "(none)",
			      reg->build_tag);
	if (!valid_name(d->name))
		return refuse(p, "invalid plugin name '%s' (want "
				 "[a-z0-9_-], 1 to 32 characters)",
			      d->name ? d->name : "(null)");
	free(p->name);
	p->name = tr_xstrdup(d->name);
	if (!p->name)
		return refuse(p, "out of memory");
	if (!d->version || !*d->version)
		return refuse(p, "plugin '%s' has no version", d->name);
	const struct tr_kind_info *k = tr_kind_info(d->kind);
	if (!k)
		return refuse(p, "unknown kind %u (this host knows "
				 "hypervisor, storage, network, policy)",
			      d->kind);
	if (d->thread_model < TRELLIS_THREAD_SERIALIZED ||
	    d->thread_model > TRELLIS_THREAD_REENTRANT)
		return refuse(p, "unknown thread model %u", d->thread_model);
	if (!d->ops)
		return refuse(p, "no ops table for kind %s", k->name);
	uint32_t ops_size;
	memcpy(&ops_size, d->ops, sizeof ops_size);
	if (ops_size < k->ops_size_1_0)
		return refuse(p, "%s ops struct_size %u is below ABI 1.0's %zu",
			      k->name, ops_size, k->ops_size_1_0);
	for (size_t i = 0; i < k->n_required; i++)
		if (!ops_slot_present(d->ops, k->required[i].offset))
			return refuse(p, "required %s op '%s' is missing",
				      k->name, k->required[i].name);
	char why[512];
	if (d->abi_minor >= 1 &&
	    d->struct_size >= offsetof(trellis_plugin_desc_t, options_schema) +
				      sizeof d->options_schema) {
		if (d->config_schema &&
		    tr_schema_valid(d->config_schema, why, sizeof why) < 0)
			return refuse(p, "config_schema: %s", why);
		if (d->options_schema &&
		    tr_schema_valid(d->options_schema, why, sizeof why) < 0)
			return refuse(p, "options_schema: %s", why);
	}
	struct trellis_plugin *dup = tr_registry_find(reg, d->name, 0);
	if (dup)
		return refuse(p, "duplicate plugin name '%s' (already loaded "
				 "from %s)",
			      d->name, dup->path);
	p->desc = d;
	return 0;
}

static int add(tr_registry_t *reg, struct trellis_plugin *p)
{
	struct trellis_plugin **v =
		tr_xrealloc(reg->plugins, (reg->n + 1) * sizeof *v);
	if (!v)
		return -1;
	reg->plugins = v;
	v[reg->n++] = p;
	return 0;
}

struct trellis_plugin *tr_registry_load_file(tr_registry_t *reg,
					     const char *path)
{
	struct trellis_plugin *p = tr_xcalloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->serial, NULL);
	p->path = tr_xstrdup(path);
	p->name = file_stem(path);
	if (!p->path || !p->name || add(reg, p) < 0) {
		free(p->path);
		free(p->name);
		free(p);
		return NULL;
	}
	p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		const char *e = dlerror();
		refuse(p, "cannot load: %s", e ? e : "unknown dlopen error");
		goto done;
	}
	if (check(reg, p) < 0) {
		p->desc = NULL;
		goto done;
	}
	/* The plugin sees a copy of its section: without the keys the core
	 * reads itself ("optional"), and, when it declares a schema (ABI
	 * 1.1), checked before init() and with the defaults filled in. */
	static const char *const core_keys[] = {"optional", NULL};
	const trellis_node_t *cfg = tr_node_get(reg->config, p->name);
	const trellis_config_schema_t *cs = tr_plugin_config_schema(p);
	char what[64];
	snprintf(what, sizeof what, "plugins.%s", p->name);
	if (cs && tr_schema_check(cs, cfg, what, reg->config, p->reason,
				  sizeof p->reason) > 0) {
		char errs[sizeof p->reason];
		memcpy(errs, p->reason, sizeof errs);
		refuse(p, "config: %s", errs);
		p->desc = NULL;
		goto done;
	}
	p->config_owned = tr_schema_apply(cs, cfg, core_keys, what);
	if (!p->config_owned) {
		refuse(p, "out of memory");
		p->desc = NULL;
		goto done;
	}
	p->config = p->config_owned;
	p->state = TR_PLUGIN_LOADED;
	if (p->desc->init) {
		trellis_call_t call;
		tr_call_init(&call, p->name);
		int rc = tr_call_finish(
			&call, "init",
			p->desc->init(p, tr_host(), &call, &p->state_ptr));
		if (rc < 0) {
			refuse(p, "init failed: %s: %s",
			       trellis_error_name(call.code), call.message);
			p->desc = NULL;
			goto done;
		}
	}
done:
	if (p->state == TR_PLUGIN_REFUSED)
		tr_warn("plugin %s refused: %s", p->path, p->reason);
	else
		tr_debug("plugin %s loaded from %s", p->name, p->path);
	return p;
}

static int so_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return n > 3 && strcmp(e->d_name + n - 3, ".so") == 0 &&
	       e->d_name[0] != '.';
}

int tr_registry_load_dir(tr_registry_t *reg, const char *dir, char *err,
			 size_t errlen)
{
	struct dirent **list;
	int n = scandir(dir, &list, so_filter, alphasort);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return TRELLIS_E_IO;
	}
	int loaded = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
		struct trellis_plugin *p = tr_registry_load_file(reg, path);
		if (p && p->state == TR_PLUGIN_LOADED)
			loaded++;
		free(list[i]);
	}
	free(list);
	return loaded;
}

const char *tr_plugin_caps_str(const struct trellis_plugin *p, char *buf,
			       size_t len)
{
	static const struct {
		uint32_t kind;
		uint64_t bit;
		const char *name;
	} names[] = {
		{TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_CONSOLE_VNC, "vnc"},
		{TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_HOTPLUG_DISK,
		 "hotplug-disk"},
		{TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_HOTPLUG_NIC,
		 "hotplug-nic"},
		{TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_KERNEL_BOOT,
		 "kernel-boot"},
		{TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_EVENTS, "events"},
		{TRELLIS_KIND_HYPERVISOR, TRELLIS_HV_CAP_QOS, "qos"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_THIN, "thin"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_SNAPSHOT,
		 "snapshot"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_CLONE, "clone"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_TEMPLATE,
		 "template"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_RESIZE, "resize"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_FORMAT_QCOW2,
		 "qcow2"},
		{TRELLIS_KIND_STORAGE, TRELLIS_STORAGE_CAP_FORMAT_RAW, "raw"},
		{TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_VXLAN, "vxlan"},
		{TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_VLAN, "vlan"},
		{TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_FIREWALL, "firewall"},
		{TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_GC, "gc"},
		{TRELLIS_KIND_NETWORK, TRELLIS_NET_CAP_ROUTER, "router"},
	};
	size_t off = 0;
	buf[0] = '\0';
	if (!p->desc)
		return buf;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		if (names[i].kind != p->desc->kind ||
		    !(p->desc->caps & names[i].bit))
			continue;
		int w = snprintf(buf + off, len - off, "%s%s", off ? "," : "",
				 names[i].name);
		if (w < 0 || (size_t)w >= len - off)
			break;
		off += (size_t)w;
	}
	if (!off)
		snprintf(buf, len, "-");
	return buf;
}
