/* SPDX-License-Identifier: Apache-2.0 */
/* listing.c - the plugin table of `trellisd --list-plugins` and
 * `trellis plugin list`, as text or as JSON. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../util/node.h"
#include "confschema.h"
#include "listing.h"

json_t *tr_plugin_json(const struct trellis_plugin *p)
{
	char caps[256];
	const trellis_plugin_desc_t *d = p->desc;
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "path", json_string(p->path));
	json_object_set_new(
		o, "state",
		json_string(p->state == TR_PLUGIN_LOADED ? "loaded" : "refused"));
	if (p->state != TR_PLUGIN_LOADED) {
		json_object_set_new(o, "reason", json_string(p->reason));
		return o;
	}
	char abi[32];
	snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
	json_object_set_new(o, "kind", json_string(trellis_kind_name(d->kind)));
	json_object_set_new(o, "version", json_string(d->version));
	json_object_set_new(o, "abi", json_string(abi));
	json_object_set_new(o, "license",
			    json_string(d->license ? d->license : ""));
	json_object_set_new(o, "description",
			    json_string(d->description ? d->description : ""));
	json_object_set_new(
		o, "thread_model",
		json_string(trellis_thread_model_name(d->thread_model)));
	json_object_set_new(o, "caps",
			    json_string(tr_plugin_caps_str(p, caps, sizeof caps)));
	return o;
}

const struct trellis_plugin *tr_registry_named(const tr_registry_t *reg,
					       const char *name)
{
	for (size_t i = 0; name && i < tr_registry_count(reg); i++)
		if (strcmp(tr_registry_at(reg, i)->name, name) == 0)
			return tr_registry_at(reg, i);
	return NULL;
}

json_t *tr_plugin_show_json(const struct trellis_plugin *p)
{
	json_t *o = tr_plugin_json(p);
	if (p->state != TR_PLUGIN_LOADED)
		return o;
	const trellis_config_schema_t *cs = tr_plugin_config_schema(p);
	json_t *cj = tr_schema_json(cs);
	json_t *oj = tr_schema_json(tr_plugin_options_schema(p));
	json_object_set_new(o, "config_schema", cj ? cj : json_null());
	json_object_set_new(o, "options_schema", oj ? oj : json_null());
	json_t *cfg = tr_node_to_json(p->config);
	/* Secrets never leave the daemon: a key the schema marks secret,
	 * and for a plugin without a schema, every value (who knows). */
	const char *k;
	json_t *v;
	json_object_foreach(cfg, k, v)
	{
		int secret = !cs;
		size_t i;
		json_t *e;
		json_array_foreach(cj, i, e)
			if (!strcmp(json_string_value(json_object_get(e, "name")),
				    k))
				secret = json_is_true(json_object_get(e, "secret"));
		if (secret)
			json_object_set_new(cfg, k, json_string("(hidden)"));
	}
	json_object_set_new(o, "config", cfg);
	return o;
}

json_t *tr_registry_json(const tr_registry_t *reg)
{
	json_t *a = json_array();
	for (size_t i = 0; i < tr_registry_count(reg); i++)
		json_array_append_new(a, tr_plugin_json(tr_registry_at(reg, i)));
	return a;
}

void tr_registry_print(const tr_registry_t *reg, FILE *out, int as_json)
{
	if (as_json) {
		json_t *a = tr_registry_json(reg);
		json_dumpf(a, out, JSON_INDENT(2));
		fputc('\n', out);
		json_decref(a);
		return;
	}
	fprintf(out, "%-12s %-10s %-8s %-4s %-24s %-40s %s\n", "NAME", "KIND",
		"VERSION", "ABI", "CAPS", "PATH", "STATE");
	for (size_t i = 0; i < tr_registry_count(reg); i++) {
		const struct trellis_plugin *p = tr_registry_at(reg, i);
		char caps[256], abi[32];
		if (p->state == TR_PLUGIN_LOADED) {
			snprintf(abi, sizeof abi, "%u.%u", p->desc->abi_major,
				 p->desc->abi_minor);
			fprintf(out, "%-12s %-10s %-8s %-4s %-24s %-40s loaded\n",
				p->name, trellis_kind_name(p->desc->kind),
				p->desc->version, abi,
				tr_plugin_caps_str(p, caps, sizeof caps),
				p->path);
		} else {
			fprintf(out, "%-12s %-10s %-8s %-4s %-24s %-40s refused: %s\n",
				p->name, "-", "-", "-", "-", p->path,
				p->reason);
		}
	}
}
