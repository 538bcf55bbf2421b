/* SPDX-License-Identifier: Apache-2.0 */
/* listing.c - the plugin table of `trellisd --list-plugins` and
 * `trellis plugin list`, as text or as JSON. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

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
