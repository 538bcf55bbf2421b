/* SPDX-License-Identifier: Apache-2.0 */
/* graph.c - a workflow definition as JSON and as a Graphviz graph (wf.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../host/exec.h"

#include "wf.h"

json_t *tr_wf_json(const struct tr_wf *wf)
{
	json_t *inputs = json_array(), *steps = json_array();
	for (size_t i = 0; i < wf->n_inputs; i++) {
		const struct tr_wf_input *in = &wf->inputs[i];
		json_t *o = json_pack("{s:s, s:s, s:b}", "name", in->name,
				      "type", tr_type_str(in->type),
				      "required", in->required);
		if (o && in->def)
			json_object_set(o, "default", in->def);
		if (o && in->description)
			json_object_set_new(o, "description",
					    json_string(in->description));
		json_array_append_new(inputs, o);
	}
	for (size_t i = 0; i < wf->n_steps; i++) {
		const struct tr_wf_step *s = &wf->steps[i];
		json_t *deps = json_array();
		for (size_t k = 0; k < s->n_deps; k++)
			json_array_append_new(
				deps, json_string(wf->steps[s->deps[k]].id));
		json_t *o = json_pack("{s:s, s:s, s:o, s:i, s:b, s:b}", "id",
				      s->id, "call", s->call ? s->call : "",
				      "needs", deps, "attempts", s->attempts,
				      "enabled", s->enabled,
				      "continue_on_error",
				      s->continue_on_error);
		if (o && s->undo_action)
			json_object_set_new(o, "undo",
					    json_string(s->undo_action->name));
		if (o && s->timeout_ms)
			json_object_set_new(o, "timeout_ms",
					    json_integer(s->timeout_ms));
		json_array_append_new(steps, o);
	}
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:o, s:o, s:O, s:I}",
			 "name", wf->name, "version", (json_int_t)wf->version,
			 "description", wf->description ? wf->description : "",
			 "file", wf->file, "priority",
			 wf->priority == TR_WF_PRIO_HIGH ? "high" : "normal",
			 "inputs", inputs, "steps", steps, "outputs",
			 wf->outputs, "timeout_ms", (json_int_t)wf->timeout_ms);
}

/* Writes s as a dot string literal (ids and actions are plain names, but
 * a description is free text). */
static void dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

char *tr_wf_dot(const struct tr_wf *wf)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("digraph ", f);
	dot_str(f, wf->name);
	fputs(" {\n  rankdir=TB;\n  node [shape=box, style=rounded, "
	      "fontname=\"sans-serif\"];\n",
	      f);
	for (size_t i = 0; i < wf->n_steps; i++) {
		const struct tr_wf_step *s = &wf->steps[i];
		char label[512];
		snprintf(label, sizeof label, "%s\n%s%s%s", s->id, s->call,
			 s->undo_action ? "\nundo: " : "",
			 s->undo_action ? s->undo_action->name : "");
		fputs("  ", f);
		dot_str(f, s->id);
		fputs(" [label=", f);
		dot_str(f, label);
		if (!s->enabled)
			fputs(", style=\"rounded,dashed\", fontcolor=gray", f);
		else if (s->when)
			fputs(", style=\"rounded,dotted\"", f);
		fputs("];\n", f);
	}
	for (size_t i = 0; i < wf->n_steps; i++) {
		const struct tr_wf_step *s = &wf->steps[i];
		for (size_t k = 0; k < s->n_deps; k++) {
			fputs("  ", f);
			dot_str(f, wf->steps[s->deps[k]].id);
			fputs(" -> ", f);
			dot_str(f, s->id);
			fputs(";\n", f);
		}
	}
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int tr_wf_dot_svg(const char *dot, char **svg, char *err, size_t errlen)
{
	/* Graphviz reads the graph from a file: tr_exec gives no stdin. */
	char tmp[] = "/tmp/trellis-graph-XXXXXX";
	int fd = mkstemp(tmp);
	size_t n = strlen(dot);
	*svg = NULL;
	if (fd < 0 || write(fd, dot, n) != (ssize_t)n) {
		snprintf(err, errlen, "a temporary file for dot: %s",
			 strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return -1;
	}
	close(fd);
	const char *argv[] = {"dot", "-Tsvg", tmp, NULL};
	trellis_call_t call;
	tr_call_init(&call, "graphviz");
	char *out = NULL, *eout = NULL;
	int status = -1;
	int r = tr_exec(&call, argv, 30000, &out, &eout, &status);
	unlink(tmp);
	int rc = 0;
	if (r != 0 || status != 0) {
		snprintf(err, errlen, "dot -Tsvg: %.400s",
			 r ? call.message
			   : (eout && *eout ? eout : "failed"));
		rc = -1;
	} else {
		*svg = out;
		out = NULL;
	}
	free(out);
	free(eout);
	return rc;
}
