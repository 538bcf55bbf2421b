/* SPDX-License-Identifier: Apache-2.0 */
/*
 * defs.c - the engine's workflow definitions: the ones loaded from the
 * definition directories, and the parsed definitions instances share.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/suggest.h"
#include "../util/alloc.h"
#include "../util/log.h"
#include "engine_int.h"

/* ---- definitions ---- */

void tr_defs_load_dir(struct tr_engine *e, const char *dir)
{
	DIR *dh = opendir(dir);
	if (!dh) {
		tr_warn("workflows: %s: cannot read the directory", dir);
		return;
	}
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	while ((de = readdir(dh))) {
		size_t l = strlen(de->d_name);
		if (de->d_name[0] == '.' || l < 6 ||
		    (strcmp(de->d_name + l - 5, ".yaml") &&
		     strcmp(de->d_name + l - 4, ".yml")))
			continue;
		char **nn = tr_xrealloc(names, (n + 1) * sizeof *nn);
		if (!nn)
			break;
		names = nn;
		names[n++] = tr_xstrdup(de->d_name);
	}
	closedir(dh);
	for (size_t k = 0; k < n; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[k]);
		free(names[k]);
		struct tr_wf *wf;
		struct tr_wf_errors errs;
		if (tr_wf_load_file(path, &wf, &errs) != 0) {
			for (size_t m = 0; m < errs.n; m++)
				tr_err("workflows: %s", errs.msg[m]);
			tr_wf_errors_free(&errs);
			continue;
		}
		tr_wf_errors_free(&errs);
		size_t m;
		for (m = 0; m < e->n_defs; m++)
			if (strcmp(e->defs[m]->name, wf->name) == 0)
				break;
		if (m < e->n_defs) {
			tr_info("workflows: %s overrides %s", path,
				e->defs[m]->file);
			tr_wf_free(e->defs[m]);
			e->defs[m] = wf;
			continue;
		}
		struct tr_wf **d = tr_xrealloc(e->defs, (e->n_defs + 1) * sizeof *d);
		if (!d) {
			tr_wf_free(wf);
			continue;
		}
		e->defs = d;
		e->defs[e->n_defs++] = wf;
	}
	free(names);
}

const struct tr_wf *tr_engine_def(struct tr_engine *e, const char *name)
{
	for (size_t k = 0; k < e->n_defs; k++)
		if (strcmp(e->defs[k]->name, name) == 0)
			return e->defs[k];
	return NULL;
}

const char *tr_engine_def_guess(struct tr_engine *e, const char *name)
{
	struct tr_suggest sg;
	tr_suggest_init(&sg, name);
	for (size_t k = 0; k < e->n_defs; k++)
		tr_suggest_add(&sg, e->defs[k]->name);
	return sg.best;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct tr_wf *const *)a)->name,
		      (*(struct tr_wf *const *)b)->name);
}

json_t *tr_engine_defs(struct tr_engine *e)
{
	qsort(e->defs, e->n_defs, sizeof *e->defs, by_name);
	json_t *a = json_array();
	for (size_t k = 0; a && k < e->n_defs; k++)
		json_array_append_new(a, tr_wf_json(e->defs[k]));
	return json_pack("{s:o}", "items", a);
}

/* ---- shared definitions ---- */

#define WF_CACHE_KEEP 32 /* unused parsed definitions kept for reuse */

/* Loads text as a definition, or shares the one already parsed from the
 * same file name and text (definitions are immutable once loaded):
 * a thousand instances of vm.provision parse it once. */
int tr_defs_share(struct tr_engine *e, const char *file, const char *text,
		  struct tr_wf **out, struct tr_wf_errors *errs)
{
	memset(errs, 0, sizeof *errs);
	for (size_t k = 0; k < e->n_cache; k++) {
		struct wf_cached *c = &e->cache[k];
		if (strcmp(c->wf->file, file) == 0 &&
		    strcmp(c->wf->source, text) == 0) {
			c->users++;
			c->last_use = ++e->cache_clock;
			*out = c->wf;
			return 0;
		}
	}
	if (tr_wf_load_string(file, text, strlen(text), out, errs) != 0)
		return -1;
	/* Make room: drop the least recently used unused entry. */
	size_t unused = 0, victim = (size_t)-1;
	for (size_t k = 0; k < e->n_cache; k++) {
		if (e->cache[k].users)
			continue;
		unused++;
		if (victim == (size_t)-1 ||
		    e->cache[k].last_use < e->cache[victim].last_use)
			victim = k;
	}
	if (unused >= WF_CACHE_KEEP && victim != (size_t)-1) {
		tr_wf_free(e->cache[victim].wf);
		e->cache[victim] = e->cache[--e->n_cache];
	}
	struct wf_cached *c = tr_xrealloc(e->cache, (e->n_cache + 1) * sizeof *c);
	if (!c)
		return 0; /* works, unshared: released by wf_release */
	e->cache = c;
	e->cache[e->n_cache++] =
		(struct wf_cached){*out, 1, ++e->cache_clock};
	return 0;
}

void tr_defs_release(struct tr_engine *e, struct tr_wf *wf)
{
	for (size_t k = 0; e && k < e->n_cache; k++) {
		if (e->cache[k].wf == wf) {
			e->cache[k].users--;
			return;
		}
	}
	tr_wf_free(wf);
}
