/* SPDX-License-Identifier: Apache-2.0 */
/*
 * state.c - trellis-agent's state dir (agent.h): agent.json (name, zone,
 * the core's key and endpoints), the enrolment bundle, and the Ed25519
 * identity (0600), written whole or not at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../link/link.h"
#include "../util/alloc.h"
#include "agent.h"

int tr_agent_write_private(const char *path, const char *text)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	int ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

int tr_agent_save_config(struct agent *a)
{
	char path[4200], hex[65];
	tr_link_hex(a->core_key, 32, hex);
	json_t *eps = json_array();
	for (int i = 0; i < a->neps; i++)
		json_array_append_new(eps, json_string(a->eps[i]));
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:b}", "name", a->name,
			      "zone", a->zone, "core_key", hex, "endpoints",
			      eps, "enrolled", a->enrolled);
	char *text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	snprintf(path, sizeof path, "%s/agent.json", a->dir);
	int rc = text ? tr_agent_write_private(path, text) : -1;
	free(text);
	return rc;
}

int tr_agent_add_eps(struct agent *a, const char *list)
{
	char *dup = tr_xstrdup(list), *save = NULL;
	for (char *t = strtok_r(dup, ",", &save); t && a->neps < MAX_EPS;
	     t = strtok_r(NULL, ",", &save))
		a->eps[a->neps++] = tr_xstrdup(t);
	free(dup);
	return a->neps ? 0 : -1;
}

int tr_agent_load_json(struct agent *a, const char *path, int bundle)
{
	json_error_t je;
	json_t *o = json_load_file(path, 0, &je);
	if (!o) {
		tr_agent_say("%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	const char *zone = json_string_value(json_object_get(o, "zone"));
	const char *key = json_string_value(json_object_get(o, "core_key"));
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *eps = json_object_get(o, "endpoints");
	if (!zone || !key || tr_link_unhex(key, a->core_key, 32) ||
	    !json_is_array(eps) || (!bundle && !name)) {
		tr_agent_say("%s: needs zone, core_key (64 hex), endpoints%s", path,
		    bundle ? "" : ", name");
		json_decref(o);
		return -1;
	}
	snprintf(a->zone, sizeof a->zone, "%s", zone);
	if (name)
		snprintf(a->name, sizeof a->name, "%s", name);
	size_t i;
	json_t *e;
	json_array_foreach(eps, i, e) if (json_is_string(e) && a->neps < MAX_EPS)
		a->eps[a->neps++] = tr_xstrdup(json_string_value(e));
	a->enrolled = json_is_true(json_object_get(o, "enrolled"));
	const char *tok = json_string_value(json_object_get(o, "token"));
	if (bundle && tok)
		a->token = tr_xstrdup(tok);
	json_decref(o);
	return 0;
}

int tr_agent_load_identity(struct agent *a, int make)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/identity", a->dir);
	FILE *f = fopen(path, "r");
	if (f) {
		char pk[80], sk[160];
		struct stat st;
		int ok = fstat(fileno(f), &st) == 0 && !(st.st_mode & 077) &&
			 fscanf(f, "%70s %150s", pk, sk) == 2 &&
			 !tr_link_unhex(pk, a->id.pk, 32) &&
			 !tr_link_unhex(sk, a->id.sk, 64);
		sodium_memzero(sk, sizeof sk);
		fclose(f);
		if (!ok)
			tr_agent_say("%s: not an identity (two hex keys), or readable "
			    "by others", path);
		return ok ? 0 : -1;
	}
	if (!make) {
		tr_agent_say("%s: %s (enrol first: --enroll or --bundle)", path,
		    strerror(errno));
		return -1;
	}
	tr_link_sign_keypair(&a->id);
	char pk[65], sk[129], text[200];
	tr_link_hex(a->id.pk, 32, pk);
	tr_link_hex(a->id.sk, 64, sk);
	snprintf(text, sizeof text, "%s %s\n", pk, sk);
	sodium_memzero(sk, sizeof sk);
	int rc = tr_agent_write_private(path, text);
	sodium_memzero(text, sizeof text);
	if (rc < 0)
		tr_agent_say("%s: %s", path, strerror(errno));
	return rc;
}

