/* SPDX-License-Identifier: Apache-2.0 */
/* fixture.c - shared set-up of the placement tests (fixture.h). */
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/util/node.h"

tr_registry_t *fx_registry(void)
{
	const char *b = getenv("TRELLIS_BUILD");
	char path[4096];
	snprintf(path, sizeof path, "%s/plugins/builtin.so",
		 b && *b ? b : TR_TEST_BUILD);
	tr_registry_t *reg = tr_registry_new();
	assert_non_null(reg);
	struct trellis_plugin *p = tr_registry_load_file(reg, path);
	assert_non_null(p);
	if (p->state != TR_PLUGIN_LOADED)
		fail_msg("%s: %s", path, p->reason);
	return reg;
}

tr_registry_t *fx_reg;

int fx_setup(void **state)
{
	(void)state;
	fx_reg = fx_registry();
	return 0;
}

int fx_teardown(void **state)
{
	(void)state;
	tr_registry_free(fx_reg);
	return 0;
}

struct tr_policy *fx_policy(tr_registry_t *reg, const char *yaml)
{
	char err[512];
	trellis_node_t *root = tr_node_parse_string(
	    "test.yaml", yaml, strlen(yaml), err, sizeof err);
	if (!root)
		fail_msg("%s", err);
	struct tr_policy *pol = tr_policy_parse(root, reg, err, sizeof err);
	tr_node_free(root);
	if (!pol)
		fail_msg("%s", err);
	return pol;
}

struct tr_placer *fx_placer(tr_registry_t *reg, const char *yaml)
{
	struct tr_placer *p = tr_placer_new(reg);
	assert_non_null(p);
	assert_int_equal(tr_placer_add_policy(p, fx_policy(reg, yaml)), 0);
	tr_placer_seed(p, 42);
	return p;
}

void fx_host(struct tr_placer *p, uint64_t id, const char *name,
	     const char *zone, const char *pod, const char *cluster,
	     uint32_t cpus, uint64_t mem_mib)
{
	struct tr_host_def h = {.id = id,
				.name = name,
				.zone = zone,
				.pod = pod,
				.cluster = cluster,
				.cpus = cpus,
				.memory_mib = mem_mib,
				.disk_gib = 1000};
	fx_host_def(p, &h);
}

void fx_zone(struct tr_placer *p, const char *name, const char *owner,
	     int exclusive, int spill_allow)
{
	char err[256];
	struct tr_zone_def z = {.name = name,
				.owner = owner,
				.exclusive = exclusive,
				.spill_allow = spill_allow};
	if (tr_inv_add_zone(tr_placer_inv(p), &z, err, sizeof err))
		fail_msg("%s", err);
}

void fx_host_def(struct tr_placer *p, const struct tr_host_def *h)
{
	char err[256];
	if (tr_inv_add_host(tr_placer_inv(p), h, err, sizeof err))
		fail_msg("%s", err);
}

void fx_commit(struct tr_placer *p)
{
	char err[256];
	if (tr_placer_commit(p, err, sizeof err))
		fail_msg("%s", err);
}

const char *fx_place(struct tr_placer *p, const struct tr_place_req *req,
		     uint32_t flags, char *msg, size_t msglen)
{
	static char name[128];
	struct tr_place_result r;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	int rc = tr_place(p, req, flags, &r, &call);
	if (msg)
		snprintf(msg, msglen, "%s", rc ? call.message : "");
	if (rc)
		return NULL;
	snprintf(name, sizeof name, "%s", r.host);
	return name;
}
