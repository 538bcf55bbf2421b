/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_claims.c - atomic claims in a real SQLite store (core/store, in a
 * temporary file): replay and release, and real threads racing for one
 * free slot, through one engine and through one engine per thread (as
 * several trellisd would).  Exactly one of them may win.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../core/placement/reserve.h"
#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"
#include "fixture.h"

#define THREADS 12

#define reg fx_reg
static char dbpath[256];

static struct tr_store *open_store(void)
{
	char err[256];
	struct tr_store *s = tr_store_open(dbpath, 0, err, sizeof err);
	if (!s)
		fail_msg("%s: %s", dbpath, err);
	return s;
}

static int per_test_db(void **state)
{
	(void)state;
	snprintf(dbpath, sizeof dbpath, "/tmp/trellis-claims-XXXXXX");
	int fd = mkstemp(dbpath);
	assert_true(fd >= 0);
	close(fd);
	unlink(dbpath);
	return 0;
}

static int per_test_db_rm(void **state)
{
	(void)state;
	char p[300];
	unlink(dbpath);
	snprintf(p, sizeof p, "%s-wal", dbpath);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", dbpath);
	unlink(p);
	return 0;
}

/* One host with room for exactly one 4 GiB VM. */
static struct tr_placer *one_slot(void)
{
	struct tr_placer *p = fx_placer(reg, FX_POLICY("binpack", 1));
	fx_host(p, 7, "only", "z", NULL, NULL, 4, 6144);
	fx_commit(p);
	return p;
}

static void test_take_replay_release(void **state)
{
	(void)state;
	struct tr_store *s = open_store();
	struct tr_sql *db = tr_store_sql(s);
	struct tr_placer *p = one_slot();
	struct tr_place_req q = {.vcpus = 2, .memory_mib = 4096};
	struct tr_place_result r;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(tr_place_reserve(p, db, &q, "wf1/place", &r, &call),
			 0);
	assert_string_equal(r.host, "only");
	/* A replay of the same step gets the same host, booking nothing. */
	assert_int_equal(tr_place_reserve(p, db, &q, "wf1/place", &r, &call),
			 0);
	assert_int_equal(r.host_id, 7);
	/* Another step finds the host full. */
	assert_int_equal(tr_place_reserve(p, db, &q, "wf2/place", &r, &call),
			 TRELLIS_E_NOSPACE);
	assert_non_null(strstr(call.message, "capacity removed 1 (memory)"));
	struct tr_claim c;
	assert_int_equal(tr_claim_get(db, "wf1/place", &c, &call), 0);
	assert_int_equal(c.memory_mib, 4096);
	/* Compensation frees it, and a replayed compensation is fine; any
	 * other release of it, or of a claim never made, is an error. */
	assert_int_equal(tr_place_release(p, db, "wf1/place", "wf1/place/undo",
					  NULL, NULL, &call),
			 0);
	assert_int_equal(tr_place_release(p, db, "wf1/place", "wf1/place/undo",
					  NULL, NULL, &call),
			 1);
	assert_int_equal(tr_place_release(p, db, "wf1/place", "wf9/release",
					  NULL, NULL, &call),
			 TRELLIS_E_NOTFOUND);
	assert_non_null(strstr(call.message, "released already (by "
					     "wf1/place/undo"));
	tr_call_init(&call, NULL);
	assert_int_equal(tr_place_release(p, db, "wf1/plaec", "wf9/release",
					  NULL, NULL, &call),
			 TRELLIS_E_NOTFOUND);
	assert_non_null(strstr(call.message, "never made"));
	tr_call_init(&call, NULL);
	assert_int_equal(tr_claim_get(db, "wf1/place", &c, &call),
			 TRELLIS_E_NOTFOUND);
	assert_int_equal(tr_place_reserve(p, db, &q, "wf2/place", &r, &call),
			 0);
	/* A restarted engine learns the claim from the store. */
	struct tr_placer *p2 = one_slot();
	assert_int_equal(tr_place_load_claims(p2, db, &call), 0);
	assert_int_equal(tr_place_reserve(p2, db, &q, "wf3/place", &r, &call),
			 TRELLIS_E_NOSPACE);
	tr_placer_free(p2);
	tr_placer_free(p);
	tr_store_close(s);
}

static void test_take_room_checks(void **state)
{
	(void)state;
	struct tr_store *s = open_store();
	struct tr_sql *db = tr_store_sql(s);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_claim_room room = {
	    .vcpus = 4, .memory_mib = 8192, .disk_gib = 10, .vm_slots = 2};
	struct tr_claim c = {.key = "a",
			     .host_id = 1,
			     .vcpus = 2,
			     .memory_mib = 4096,
			     .disk_gib = 5};
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	snprintf(c.key, sizeof c.key, "b");
	c.disk_gib = 6; /* 5 + 6 > 10 */
	assert_int_equal(tr_claim_take(db, &c, &room, &call),
			 TRELLIS_E_CONFLICT);
	c.disk_gib = 5;
	snprintf(c.anti_group, sizeof c.anti_group, "web");
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	/* Anti-affinity: another "web" may not join host 1... */
	snprintf(c.key, sizeof c.key, "c");
	c.vcpus = 0;
	c.memory_mib = 0;
	c.disk_gib = 0;
	room.vm_slots = -1;
	assert_int_equal(tr_claim_take(db, &c, &room, &call),
			 TRELLIS_E_CONFLICT);
	/* ...and the VM limit holds (two claims, two slots). */
	c.anti_group[0] = '\0';
	room.vm_slots = 2;
	assert_int_equal(tr_claim_take(db, &c, &room, &call),
			 TRELLIS_E_CONFLICT);
	room.vm_slots = -1;
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	struct tr_claim sum;
	assert_int_equal(tr_claims_host_sum(db, 1, &sum, &call), 0);
	assert_int_equal(sum.memory_mib, 8192);
	assert_int_equal(sum.host_id, 3);
	tr_store_close(s);
}

struct racer {
	struct tr_placer *p; /* shared, or the racer's own */
	struct tr_store *s;
	pthread_barrier_t *go;
	int id, rc;
	char host[1024]; /* the host, or the error */
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct tr_place_req q = {.vcpus = 2, .memory_mib = 4096};
	struct tr_place_result res;
	trellis_call_t call;
	char key[64];
	tr_call_init(&call, NULL);
	snprintf(key, sizeof key, "wf%d/place", r->id);
	pthread_barrier_wait(r->go);
	r->rc =
	    tr_place_reserve(r->p, tr_store_sql(r->s), &q, key, &res, &call);
	snprintf(r->host, sizeof r->host, "%s",
		 r->rc ? call.message : res.host);
	return NULL;
}

static void run_race(int shared)
{
	struct racer rs[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t go;
	struct tr_placer *common = shared ? one_slot() : NULL;
	pthread_barrier_init(&go, NULL, THREADS);
	/* Open every handle first: migrations run once, not in the race. */
	for (int i = 0; i < THREADS; i++) {
		rs[i] = (struct racer){.p = shared ? common : one_slot(),
				       .s = open_store(),
				       .go = &go,
				       .id = i};
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
	int won = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		if (!rs[i].rc) {
			won++;
			assert_string_equal(rs[i].host, "only");
		} else if (rs[i].rc != TRELLIS_E_NOSPACE) {
			fail_msg("racer %d: %d %s", i, rs[i].rc, rs[i].host);
		}
	}
	assert_int_equal(won, 1);
	struct tr_claim sum;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_claims_host_sum(tr_store_sql(rs[0].s), 7, &sum, &call), 0);
	assert_int_equal(sum.host_id, 1);
	for (int i = 0; i < THREADS; i++) {
		if (!shared)
			tr_placer_free(rs[i].p);
		tr_store_close(rs[i].s);
	}
	tr_placer_free(common);
	pthread_barrier_destroy(&go);
}

static void test_race_one_engine(void **state)
{
	(void)state;
	run_race(1);
}

/* Each thread has its own engine, so only the store can say no. */
static void test_race_engine_per_thread(void **state)
{
	(void)state;
	run_race(0);
}

struct worker {
	struct tr_placer *p;
	struct tr_store *s;
	pthread_barrier_t *go;
	int id, won;
};

static void *place_many(void *arg)
{
	struct worker *w = arg;
	struct tr_place_req q = {.vcpus = 1, .memory_mib = 1024};
	trellis_call_t call;
	tr_call_init(&call, NULL);
	pthread_barrier_wait(w->go);
	for (int k = 0; k < 20; k++) {
		char key[64];
		struct tr_place_result r;
		snprintf(key, sizeof key, "wf%d-%d/place", w->id, k);
		if (!tr_place_reserve(w->p, tr_store_sql(w->s), &q, key, &r,
				      &call))
			w->won++;
	}
	return NULL;
}

/* Eight threads, 160 requests, 3 hosts with 10 one-GiB slots each: exactly
 * 30 win and no host is booked past its memory, in memory or in the
 * store. */
static void test_many_slots_many_threads(void **state)
{
	(void)state;
	enum { N = 8 };
	struct tr_placer *p = fx_placer(reg, FX_POLICY("spread", 2));
	fx_host(p, 1, "a", "z", NULL, NULL, 64, 10240);
	fx_host(p, 2, "b", "z", NULL, NULL, 64, 10240);
	fx_host(p, 3, "c", "z", NULL, NULL, 64, 10240);
	fx_commit(p);
	struct worker ws[N];
	pthread_t th[N];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	for (int i = 0; i < N; i++)
		ws[i] = (struct worker){p, open_store(), &go, i, 0};
	for (int i = 0; i < N; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, place_many, &ws[i]), 0);
	int won = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		won += ws[i].won;
	}
	assert_int_equal(won, 30);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	for (uint64_t h = 1; h <= 3; h++) {
		struct tr_claim sum;
		assert_int_equal(
		    tr_claims_host_sum(tr_store_sql(ws[0].s), h, &sum, &call),
		    0);
		assert_int_equal(sum.memory_mib, 10240);
		int64_t hi = tr_inv_host_by_id(tr_placer_inv(p), h);
		assert_int_equal(tr_placer_inv(p)->hosts[hi].v.used_memory_mib,
				 10240);
	}
	for (int i = 0; i < N; i++)
		tr_store_close(ws[i].s);
	tr_placer_free(p);
	pthread_barrier_destroy(&go);
}

struct quota_racer {
	struct tr_placer *p;
	struct tr_store *s;
	pthread_barrier_t *go;
	int id, rc;
	char msg[1024];
};

static void *quota_race(void *arg)
{
	struct quota_racer *r = arg;
	struct tr_place_req q = {.vcpus = 1,
				 .memory_mib = 256,
				 .disk_gib = 1,
				 .tenant = "acme",
				 .template_ = r->id % 2 ? "small" : NULL};
	struct tr_place_result res;
	trellis_call_t call;
	char key[64];
	tr_call_init(&call, NULL);
	snprintf(key, sizeof key, "wf%d/place", r->id);
	pthread_barrier_wait(r->go);
	r->rc =
	    tr_place_reserve(r->p, tr_store_sql(r->s), &q, key, &res, &call);
	snprintf(r->msg, sizeof r->msg, "%s", r->rc ? call.message : "");
	return NULL;
}

/* Sixteen provisions at once, one engine each (only the store can say
 * no), against a VM quota of 10 on hosts with room for far more: exactly
 * 10 claims, and the others are QUOTA naming the quota, its limit and its
 * use.  A per-template quota holds the same way. */
static void quota_run(const char *quota_sql, int want, const char *words)
{
	enum { N = 16 };
	struct tr_store *s0 = open_store();
	assert_int_equal(tr_sql_exec(tr_store_sql(s0), quota_sql), 0);
	struct quota_racer rs[N];
	pthread_t th[N];
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, N);
	for (int i = 0; i < N; i++) {
		struct tr_placer *p = fx_placer(reg, FX_POLICY("spread", 2));
		fx_host(p, 1, "a", "z", NULL, NULL, 64, 65536);
		fx_host(p, 2, "b", "z", NULL, NULL, 64, 65536);
		fx_commit(p);
		rs[i] = (struct quota_racer){.p = p, .s = open_store(),
					     .go = &go, .id = i};
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(
		    pthread_create(&th[i], NULL, quota_race, &rs[i]), 0);
	int won = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		if (!rs[i].rc)
			won++;
		else if (rs[i].rc != TRELLIS_E_QUOTA || !strstr(rs[i].msg, words))
			fail_msg("racer %d: %d %s", i, rs[i].rc, rs[i].msg);
	}
	assert_int_equal(won, want);
	struct tr_claim use;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_claims_tenant_use(tr_store_sql(s0), "acme", NULL, &use, &call),
	    0);
	assert_int_equal(use.host_id, want);
	for (int i = 0; i < N; i++) {
		tr_placer_free(rs[i].p);
		tr_store_close(rs[i].s);
	}
	tr_store_close(s0);
	pthread_barrier_destroy(&go);
}

static void test_quota_race(void **state)
{
	(void)state;
	quota_run("INSERT INTO bu_quota (tenant, vms) VALUES ('acme', 10)", 10,
		  "business unit 'acme': quota of VMs reached: limit 10, in "
		  "use 10");
}

static void test_quota_vcpus_and_template(void **state)
{
	(void)state;
	quota_run("INSERT INTO bu_quota (tenant, vcpus) VALUES ('acme', 12)", 12,
		  "quota of vcpus reached: limit 12, in use 12, this VM needs 1");
}

static void test_quota_per_template(void **state)
{
	(void)state;
	/* Odd racers ask for template small (8 of them), limited to 3: the
	 * 8 without a template all win. */
	quota_run("INSERT INTO bu_template_quota VALUES ('acme', 'small', 3)",
		  11, "quota of VMs of template small reached: limit 3, in use 3");
}

/* An active allocation holds its compute: claims no allocation covers
 * (no BU, or a BU without one) get only what is left of the hosts' CPUs
 * and memory; the allocation's BU is bounded by its quota alone. */
static void test_allocations_hold_compute(void **state)
{
	(void)state;
	struct tr_store *s = open_store();
	struct tr_sql *db = tr_store_sql(s);
	int rc = tr_sql_exec(
	    db,
	    "INSERT INTO tenant VALUES (1, 'acme', 0), (2, 'globex', 0);"
	    "INSERT INTO zone (id, name, created_at) VALUES (1, 'z', 0);"
	    "INSERT INTO pod VALUES (1, 1, 'p', 0);"
	    "INSERT INTO cluster VALUES (1, 1, 'c', 0);"
	    "INSERT INTO host (id, cluster_id, name, hypervisor, uri, cpus, "
	    " memory_kib, created_at) VALUES (1, 1, 'h', 'x', 'u', 16, "
	    " 16777216, 0);"
	    "INSERT INTO allocation (name, tenant_id, kind, state, vcpus, "
	    " memory_mib, created_at) VALUES ('acme-1', 1, 'initial', "
	    " 'active', 10, 8192, 0);");
	if (rc != 0)
		fail_msg("%s", tr_sql_errmsg(db));
	trellis_call_t call;
	tr_call_init(&call, NULL);
	struct tr_claim_room room = {
	    .vcpus = 100, .memory_mib = 1 << 20, .disk_gib = 1000,
	    .vm_slots = -1};
	struct tr_claim c = {
	    .key = "u1", .host_id = 1, .vcpus = 4, .memory_mib = 4096};
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	/* 4 + 4 + 10 > 16 vcpus. */
	c = (struct tr_claim){
	    .key = "u2", .host_id = 1, .vcpus = 4, .memory_mib = 1024};
	assert_int_equal(tr_claim_take(db, &c, &room, &call),
			 TRELLIS_E_NOSPACE);
	assert_non_null(strstr(call.message,
			       "held by allocations: 2 vcpus and 4096 MiB are "
			       "left outside them, this VM (no business "
			       "unit) needs 4 vcpus"));
	tr_call_init(&call, NULL);
	c.vcpus = 2;
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	/* A BU without an allocation is uncovered too; acme is not. */
	c = (struct tr_claim){.key = "g1",
			      .host_id = 1,
			      .vcpus = 1,
			      .memory_mib = 512,
			      .tenant = "globex"};
	assert_int_equal(tr_claim_take(db, &c, &room, &call),
			 TRELLIS_E_NOSPACE);
	assert_non_null(strstr(call.message, "this VM (globex)"));
	tr_call_init(&call, NULL);
	c = (struct tr_claim){.key = "a1",
			      .host_id = 1,
			      .vcpus = 8,
			      .memory_mib = 8192,
			      .tenant = "acme"};
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	int64_t v, m;
	int any;
	assert_int_equal(tr_claims_unreserved(db, NULL, &v, &m, &any, &call),
			 0);
	assert_int_equal(any, 1);
	assert_int_equal(v, 16 - 10 - 6);
	assert_int_equal(m, 16384 - 8192 - 5120);
	/* Without a live allocation nothing is held. */
	assert_int_equal(tr_sql_exec(db, "UPDATE allocation SET state = "
					 "'superseded'"),
			 0);
	c = (struct tr_claim){.key = "g1",
			      .host_id = 1,
			      .vcpus = 1,
			      .memory_mib = 512,
			      .tenant = "globex"};
	assert_int_equal(tr_claim_take(db, &c, &room, &call), 0);
	assert_int_equal(tr_claims_unreserved(db, NULL, &v, &m, &any, &call),
			 0);
	assert_int_equal(any, 0);
	tr_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_take_replay_release,
					    per_test_db, per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_take_room_checks, per_test_db,
					    per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_race_one_engine, per_test_db,
					    per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_race_engine_per_thread,
					    per_test_db, per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_many_slots_many_threads,
					    per_test_db, per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_quota_race, per_test_db,
					    per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_quota_vcpus_and_template,
					    per_test_db, per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_quota_per_template,
					    per_test_db, per_test_db_rm),
	    cmocka_unit_test_setup_teardown(test_allocations_hold_compute,
					    per_test_db, per_test_db_rm),
	};
	return cmocka_run_group_tests_name("placement claims", tests, fx_setup,
					   fx_teardown);
}
