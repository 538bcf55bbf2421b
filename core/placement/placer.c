/* SPDX-License-Identifier: Apache-2.0 */
/* placer.c - the placement engine's lifecycle, policies and zone policy
 * selection (place.h); the pipeline itself is place.c. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/alloc.h"
#include "../util/log.h"
#include "placer_int.h"

struct tr_placer *tr_placer_new(const tr_registry_t *reg)
{
	struct tr_placer *p = tr_xcalloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->inv = tr_inv_new();
	if (!p->inv) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	p->reg = reg;
	tr_call_init(&p->call, NULL);
	tr_placer_seed(p, (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)p);
	return p;
}

static void scratch_free(struct tr_placer *p)
{
	free(p->batch);
	free(p->keep);
	free(p->scores);
	free(p->tmp);
	p->batch = NULL;
	p->keep = NULL;
	p->scores = p->tmp = NULL;
}

void tr_placer_free(struct tr_placer *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_pols; i++)
		tr_policy_free(p->pols[i]);
	free(p->pols);
	free(p->def);
	free(p->zone_pol);
	scratch_free(p);
	tr_inv_free(p->inv);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct tr_inv *tr_placer_inv(struct tr_placer *p) { return p->inv; }

void tr_placer_seed(struct tr_placer *p, uint64_t seed)
{
	pthread_mutex_lock(&p->lock);
	p->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
	pthread_mutex_unlock(&p->lock);
}

static struct tr_policy *find(struct tr_placer *p, const char *name)
{
	for (size_t i = 0; name && i < p->n_pols; i++)
		if (!strcmp(p->pols[i]->name, name))
			return p->pols[i];
	return NULL;
}

const struct tr_policy *tr_placer_default_policy(struct tr_placer *p)
{
	const struct tr_policy *pol = find(p, p->def);
	return pol ? pol : (p->n_pols ? p->pols[0] : NULL);
}

/* Under the lock: maps zones to policies, pushes their limits into the
 * inventory and rebuilds the index. */
static int commit_locked(struct tr_placer *p, char *err, size_t errlen)
{
	struct tr_inv *inv = p->inv;
	const struct tr_policy *def = tr_placer_default_policy(p);
	const struct tr_policy **zp = tr_xrealloc(
	    p->zone_pol, (inv->n_zones ? inv->n_zones : 1) * sizeof *zp);
	if (!zp) {
		snprintf(err, errlen, "out of memory");
		return TRELLIS_E_NOMEM;
	}
	p->zone_pol = zp;
	for (uint32_t z = 0; z < inv->n_zones; z++) {
		struct tr_izone *zone = &inv->zones[z];
		const struct tr_policy *pol = find(p, zone->policy);
		if (zone->policy && !pol)
			tr_warn("placement: zone '%s' selects unknown policy "
				"'%s'; using the default",
				tr_intern_str(inv->names, zone->id),
				zone->policy);
		zp[z] = pol ? pol : def;
		if (zp[z])
			tr_inv_zone_limits(inv, z, zp[z]->cpu_ratio,
					   zp[z]->memory_ratio,
					   zp[z]->vm_limit);
	}
	int rc = tr_inv_build(inv, err, errlen);
	if (rc)
		return rc;
	scratch_free(p);
	size_t n = inv->n_hosts > 256 ? inv->n_hosts : 256;
	p->batch = tr_xmalloc(n * sizeof *p->batch);
	p->keep = tr_xmalloc(n);
	p->scores = tr_xmalloc(n * sizeof *p->scores);
	p->tmp = tr_xmalloc(n * sizeof *p->tmp);
	if (!p->batch || !p->keep || !p->scores || !p->tmp) {
		inv->built = 0;
		snprintf(err, errlen, "out of memory");
		return TRELLIS_E_NOMEM;
	}
	return 0;
}

int tr_placer_commit(struct tr_placer *p, char *err, size_t errlen)
{
	pthread_mutex_lock(&p->lock);
	int rc = commit_locked(p, err, errlen);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int cmp_pol(const void *a, const void *b)
{
	return strcmp((*(struct tr_policy *const *)a)->name,
		      (*(struct tr_policy *const *)b)->name);
}

int tr_placer_add_policy(struct tr_placer *p, struct tr_policy *pol)
{
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	int first = p->n_pols == 0;
	struct tr_policy *old = find(p, pol->name);
	if (old) {
		for (size_t i = 0; i < p->n_pols; i++)
			if (p->pols[i] == old)
				p->pols[i] = pol;
		tr_policy_free(old);
	} else {
		struct tr_policy **np =
		    tr_xrealloc(p->pols, (p->n_pols + 1) * sizeof *np);
		if (!np) {
			tr_policy_free(pol);
			rc = TRELLIS_E_NOMEM;
			goto out;
		}
		p->pols = np;
		p->pols[p->n_pols++] = pol;
		qsort(p->pols, p->n_pols, sizeof *p->pols, cmp_pol);
	}
	if (first && !p->def)
		p->def = tr_xstrdup(pol->name);
	if (p->inv->built) {
		/* Zone pointers may name the replaced policy. */
		char err[256];
		rc = commit_locked(p, err, sizeof err);
	}
out:
	pthread_mutex_unlock(&p->lock);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tr_placer_load_policies(struct tr_placer *p, const char *dir, char *err,
			    size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot read the policy directory",
			 dir);
		return TRELLIS_E_IO;
	}
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".yaml"))
			continue;
		char **nn = tr_xrealloc(names, (n + 1) * sizeof *nn);
		if (!nn || !(nn[n] = tr_xstrdup(e->d_name))) {
			names = nn ? nn : names;
			break;
		}
		names = nn;
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	int loaded = 0, failed = 0;
	size_t el = 0;
	err[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char path[4096], one[1024];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		struct tr_policy *pol =
		    tr_policy_load(path, p->reg, one, sizeof one);
		if (pol && !tr_placer_add_policy(p, pol)) {
			loaded++;
		} else {
			failed++;
			if (!pol && el < errlen)
				el += (size_t)snprintf(err + el, errlen - el,
						       "%s%s", el ? "\n" : "",
						       one);
		}
		free(names[i]);
	}
	free(names);
	return failed ? TRELLIS_E_INVALID_ARG : loaded;
}

int tr_placer_set_default(struct tr_placer *p, const char *name, char *err,
			  size_t errlen)
{
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	if (!find(p, name)) {
		snprintf(err, errlen, "unknown policy '%s'", name);
		rc = TRELLIS_E_NOTFOUND;
	} else {
		char *d = tr_xstrdup(name);
		if (!d) {
			rc = TRELLIS_E_NOMEM;
		} else {
			free(p->def);
			p->def = d;
			if (p->inv->built)
				rc = commit_locked(p, err, errlen);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int tr_placer_set_zone_policy(struct tr_placer *p, const char *zone,
			      const char *policy, char *err, size_t errlen)
{
	pthread_mutex_lock(&p->lock);
	int rc = 0;
	int64_t zi = tr_inv_zone_by_name(p->inv, zone);
	if (zi < 0) {
		snprintf(err, errlen, "unknown zone '%s'", zone);
		rc = TRELLIS_E_NOTFOUND;
	} else if (policy && !find(p, policy)) {
		snprintf(err, errlen, "unknown policy '%s'", policy);
		rc = TRELLIS_E_NOTFOUND;
	} else {
		struct tr_izone *z = &p->inv->zones[zi];
		char *np = policy ? tr_xstrdup(policy) : NULL;
		if (policy && !np) {
			rc = TRELLIS_E_NOMEM;
		} else {
			free(z->policy);
			z->policy = np;
			if (p->inv->built)
				rc = commit_locked(p, err, errlen);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

size_t tr_placer_n_policies(struct tr_placer *p) { return p->n_pols; }

const struct tr_policy *tr_placer_policy_at(struct tr_placer *p, size_t i)
{
	return i < p->n_pols ? p->pols[i] : NULL;
}

const struct tr_policy *tr_placer_policy(struct tr_placer *p, const char *name)
{
	return find(p, name);
}

const char *tr_placer_default(struct tr_placer *p)
{
	const struct tr_policy *pol = tr_placer_default_policy(p);
	return pol ? pol->name : NULL;
}

const char *tr_placer_zone_policy(struct tr_placer *p, const char *zone)
{
	int64_t zi = tr_inv_zone_by_name(p->inv, zone);
	if (zi < 0)
		return NULL;
	const struct tr_policy *pol = find(p, p->inv->zones[zi].policy);
	return pol ? pol->name : tr_placer_default(p);
}
