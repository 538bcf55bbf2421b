/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_placement.c - placement throughput and latency on simulated
 * inventories, against a full-scan baseline measured in the same run.
 *
 * For each size (1,000, 10,000 and 100,000 hosts by default) it builds an
 * inventory of mixed host sizes, about half loaded, in zones, pods and
 * clusters (two private zones, tags, some VM limits), then places a stream
 * of requests with mixed constraints (location, tenant, affinity and
 * anti-affinity groups, tags) with the default policy, booking each
 * placement and releasing the oldest so that the load stays level.  The
 * same stream runs through the full scan (every host through every filter,
 * no index), and the program prints placements/s (the median of 5 rounds),
 * p50 and p99 for both and their ratio.  One thread: "one core".
 *
 *   bench_placement [--sizes 1000,10000,100000] [--requests N]
 *                   [--baseline N] [--policy NAME] [--policies DIR]
 *                   [--plugins DIR] [--seed S] [--quota BUS]
 *
 * With --quota BUS (issue 17), each size instead runs the store path that
 * trellisd runs: every placement is a claim in a real SQLite store
 * (tr_place_reserve: the engine's pick, then the one conditional INSERT),
 * each request of one of BUS business units, the oldest claim released;
 * with no quota rows (quotas off) and with every BU under a quota
 * (vcpus, memory, disk, VMs: the INSERT sums the BU's claims), off and on
 * alternating in three pairs of the same run; it prints each and the
 * median ratio.  Commits are batched (100 claims a transaction) and not
 * synced, so that the figure is the statement's cost, not the disk's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include "../../../core/placement/place.h"
#include "../../../core/placement/reserve.h"
#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"

struct opts {
	uint32_t sizes[8], n_sizes;
	uint32_t requests, baseline;
	const char *policy, *policies, *plugins;
	uint64_t seed;
	uint32_t quota_bus; /* --quota: business units; 0: the engine run */
};

static uint64_t rs;
static uint32_t rnd(uint32_t n)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs % n);
}

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

struct shape {
	uint32_t zones, pods, clusters; /* pods per zone, clusters per pod */
};

static struct shape shape_of(uint32_t hosts)
{
	struct shape s = {hosts < 10000 ? 4 : hosts / 2500, 4, 5};
	return s;
}

static int build_inventory(struct tr_placer *p, uint32_t n, uint64_t seed)
{
	static const char *tagsets[][2] = {{"ssd", NULL}, {"ssd", "gpu"}};
	static const uint32_t cpus[] = {16, 32, 64, 128};
	static const uint64_t mem_gib[] = {64, 128, 256, 512, 1024};
	struct tr_inv *inv = tr_placer_inv(p);
	struct shape sh = shape_of(n);
	char err[256], name[32], zone[16], pod[16], cl[16];
	rs = seed;
	/* Zone 0 is tenant t0's exclusive private zone (spill allowed),
	 * zone 1 t1's shared private zone (spill denied). */
	struct tr_zone_def z = {
	    .name = "z0", .owner = "t0", .exclusive = 1, .spill_allow = 1};
	if (tr_inv_add_zone(inv, &z, err, sizeof err))
		goto fail;
	z = (struct tr_zone_def){.name = "z1", .owner = "t1"};
	if (tr_inv_add_zone(inv, &z, err, sizeof err))
		goto fail;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t zi = rnd(sh.zones), pi = rnd(sh.pods),
			 ci = rnd(sh.clusters);
		snprintf(name, sizeof name, "host%06u", i);
		snprintf(zone, sizeof zone, "z%u", zi);
		snprintf(pod, sizeof pod, "p%u", pi);
		snprintf(cl, sizeof cl, "c%u", ci);
		uint32_t t = rnd(20);
		struct tr_host_def h = {.id = (uint64_t)i + 1,
					.name = name,
					.zone = zone,
					.pod = pod,
					.cluster = cl,
					.cpus = cpus[rnd(4)],
					.memory_mib = mem_gib[rnd(5)] * 1024,
					.disk_gib = 2000,
					.vm_limit = rnd(10) == 0 ? 40 : 0,
					.tags = t < 4 ? tagsets[t == 0] : NULL,
					.n_tags = t < 4 ? (t == 0 ? 2 : 1) : 0};
		/* About half loaded, evenly spread from empty to full. */
		h.used_memory_mib = h.memory_mib * rnd(101) / 100;
		h.used_vcpus =
		    (uint32_t)(h.cpus * 4 * h.used_memory_mib / h.memory_mib);
		h.vm_count = (uint32_t)(h.used_memory_mib / 8192);
		if (h.vm_limit && h.vm_count > h.vm_limit)
			h.vm_count = h.vm_limit;
		h.used_disk_gib = h.vm_count * 20;
		if (tr_inv_add_host(inv, &h, err, sizeof err))
			goto fail;
	}
	if (tr_placer_commit(p, err, sizeof err))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "bench_placement: inventory: %s\n", err);
	return -1;
}

struct req_buf {
	struct tr_place_req q;
	char loc[48], group[16];
	const char *tag;
};

static void make_request(struct req_buf *b, uint32_t hosts)
{
	struct shape sh = shape_of(hosts);
	static const char *ssd = "ssd", *gpu = "gpu";
	memset(&b->q, 0, sizeof b->q);
	b->q.vcpus = 1 + rnd(8);
	b->q.memory_mib = (1 + rnd(32)) * 1024;
	b->q.disk_gib = 20;
	uint32_t loc = rnd(100);
	if (loc < 25) {
		snprintf(b->loc, sizeof b->loc, "z%u", 2 + rnd(sh.zones - 2));
		b->q.zone = b->loc;
	} else if (loc < 35) {
		snprintf(b->loc, sizeof b->loc, "z%u/p%u",
			 2 + rnd(sh.zones - 2), rnd(sh.pods));
		b->q.pod = b->loc;
	} else if (loc < 45) {
		snprintf(b->loc, sizeof b->loc, "z%u/p%u/c%u",
			 2 + rnd(sh.zones - 2), rnd(sh.pods), rnd(sh.clusters));
		b->q.cluster = b->loc;
	} else if (loc < 50) {
		snprintf(b->loc, sizeof b->loc, "host%06u", rnd(hosts));
		b->q.host = b->loc;
	}
	uint32_t t = rnd(100);
	b->q.tenant = t < 10 ? "t0" : t < 15 ? "t1" : t < 40 ? "t9" : NULL;
	uint32_t g = rnd(100);
	snprintf(b->group, sizeof b->group, "g%u", rnd(1000));
	if (g < 15)
		b->q.anti_affinity_group = b->group;
	else if (g < 20)
		b->q.affinity_group = b->group;
	uint32_t tg = rnd(100);
	if (tg < 12) {
		b->tag = tg < 2 ? gpu : ssd;
		b->q.tags = &b->tag;
		b->q.n_tags = 1;
	}
}

/* make_request points into its buffer: re-aim after the copy. */
static void reaim(struct req_buf *b)
{
	if (b->q.zone)
		b->q.zone = b->loc;
	if (b->q.pod)
		b->q.pod = b->loc;
	if (b->q.cluster)
		b->q.cluster = b->loc;
	if (b->q.host)
		b->q.host = b->loc;
	if (b->q.affinity_group)
		b->q.affinity_group = b->group;
	if (b->q.anti_affinity_group)
		b->q.anti_affinity_group = b->group;
	if (b->q.n_tags)
		b->q.tags = &b->tag;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#define ROUNDS 5

struct figures {
	double per_s, p50, p99;
	uint32_t placed, refused;
};

/* Runs n requests of the stream from seed; keeps `ring` claims live.  The
 * stream is made before the clock starts, so only placing and releasing
 * are timed. */
static int run(struct tr_placer *p, uint32_t hosts, uint32_t n, uint32_t flags,
	       uint64_t seed, struct figures *fig)
{
	uint32_t ring = hosts / 4 < 2000 ? hosts / 4 : 2000;
	struct tr_place_result *live = calloc(ring, sizeof *live);
	double *lat = malloc(n * sizeof *lat);
	struct req_buf *reqs = malloc(n * sizeof *reqs);
	int ret = -1;
	if (!live || !lat || !reqs)
		goto out;
	rs = seed;
	for (uint32_t i = 0; i < n; i++) {
		make_request(&reqs[i], hosts);
		/* make_request points into its buffer: re-aim after the copy */
		struct req_buf *b = &reqs[i];
		reaim(b);
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	memset(fig, 0, sizeof *fig);
	uint32_t head = 0, count = 0;
	/* Throughput per round, reported as the median round: one busy
	 * moment on a shared machine then moves one round, not the figure. */
	double rate[ROUNDS];
	uint32_t per = n / ROUNDS ? n / ROUNDS : 1, r_i = 0;
	double t0 = now_us();
	for (uint32_t i = 0; i < n; i++) {
		if (i && i % per == 0 && r_i < ROUNDS) {
			double t = now_us();
			rate[r_i++] = per / ((t - t0) / 1e6);
			t0 = t;
		}
		struct tr_place_result r;
		double s = now_us();
		int rc =
		    tr_place(p, &reqs[i].q, flags | TR_PLACE_CLAIM, &r, &call);
		lat[i] = now_us() - s;
		if (rc == TRELLIS_E_NOSPACE) {
			fig->refused++;
			continue;
		}
		if (rc) {
			fprintf(stderr, "bench_placement: %s\n", call.message);
			goto out;
		}
		fig->placed++;
		if (count == ring) {
			tr_place_unclaim(p, &live[head]);
			count--;
		}
		live[head] = r;
		head = (head + 1) % ring;
		count++;
	}
	uint32_t rest = n - per * r_i;
	if (r_i < ROUNDS && rest)
		rate[r_i++] = rest / ((now_us() - t0) / 1e6);
	qsort(rate, r_i, sizeof *rate, cmp_double);
	qsort(lat, n, sizeof *lat, cmp_double);
	fig->per_s = rate[r_i / 2];
	fig->p50 = lat[n / 2];
	fig->p99 = lat[(size_t)((double)n * 0.99)];
	ret = 0;
out:
	free(reqs);
	free(live);
	free(lat);
	return ret;
}

/* The store path: n requests of BUs business units through
 * tr_place_reserve into a fresh store; quotas: every BU has a quota row
 * (generous: nothing is refused by it, every claim sums its BU's). */
static int run_store(struct tr_placer *p, uint32_t hosts, uint32_t n,
		     uint32_t bus, int quotas, uint64_t seed,
		     struct figures *fig)
{
	char path[] = "/tmp/trellis-bench-quota-XXXXXX", err[512], key[64];
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	unlink(path);
	struct tr_store *st = tr_store_open(path, 0, err, sizeof err);
	uint32_t ring = 20000 < n / 2 ? 20000 : n / 2;
	char (*live)[64] = calloc(ring, sizeof *live);
	double *lat = malloc(n * sizeof *lat);
	struct req_buf *reqs = malloc(n * sizeof *reqs);
	char (*tenant)[16] = malloc(n * sizeof *tenant);
	int ret = -1;
	if (!st || !live || !lat || !reqs || !tenant) {
		fprintf(stderr, "bench_placement: store: %s\n", st ? "" : err);
		goto out;
	}
	struct tr_sql *db = tr_store_sql(st);
	/* The statements' cost, not the disk's: no fsync at the commits. */
	tr_sql_exec(db, "PRAGMA synchronous = OFF");
	tr_sql_exec(db, "BEGIN");
	for (uint32_t b = 0; quotas && b < bus; b++) {
		char sql[160];
		snprintf(sql, sizeof sql,
			 "INSERT INTO bu_quota VALUES ('bu%u', 1000000, "
			 "1000000000, 1000000, 100000)",
			 b);
		tr_sql_exec(db, sql);
	}
	tr_sql_exec(db, "COMMIT");
	rs = seed;
	for (uint32_t i = 0; i < n; i++) {
		make_request(&reqs[i], hosts);
		struct req_buf *b = &reqs[i];
		/* Location and groups as the engine run has them; the owner
		 * is one of the BUs (private zones then refuse it, as they
		 * refuse a stranger). */
		reaim(b);
		snprintf(tenant[i], sizeof tenant[i], "bu%u", rnd(bus));
		b->q.tenant = tenant[i];
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	memset(fig, 0, sizeof *fig);
	uint32_t head = 0, count = 0;
	double rate[ROUNDS];
	uint32_t per = n / ROUNDS ? n / ROUNDS : 1, r_i = 0;
	tr_sql_exec(db, "BEGIN");
	double t0 = now_us();
	for (uint32_t i = 0; i < n; i++) {
		if (i && i % 100 == 0) {
			tr_sql_exec(db, "COMMIT");
			tr_sql_exec(db, "BEGIN");
		}
		if (i && i % per == 0 && r_i < ROUNDS) {
			double t = now_us();
			rate[r_i++] = per / ((t - t0) / 1e6);
			t0 = t;
		}
		struct tr_place_result r;
		snprintf(key, sizeof key, "wf%u/place", i);
		double s = now_us();
		if (count == ring) {
			tr_place_release(p, db, live[head], "bench", NULL, NULL,
					 &call);
			count--;
		}
		int rc = tr_place_reserve(p, db, &reqs[i].q, key, &r, &call);
		lat[i] = now_us() - s;
		if (rc == TRELLIS_E_NOSPACE || rc == TRELLIS_E_QUOTA) {
			fig->refused++;
			tr_call_init(&call, NULL);
			continue;
		}
		if (rc) {
			fprintf(stderr, "bench_placement: %s\n", call.message);
			goto out;
		}
		fig->placed++;
		snprintf(live[head], sizeof live[head], "%s", key);
		head = (head + 1) % ring;
		count++;
	}
	tr_sql_exec(db, "COMMIT");
	uint32_t rest = n - per * r_i;
	if (r_i < ROUNDS && rest)
		rate[r_i++] = rest / ((now_us() - t0) / 1e6);
	qsort(rate, r_i, sizeof *rate, cmp_double);
	qsort(lat, n, sizeof *lat, cmp_double);
	fig->per_s = rate[r_i / 2];
	fig->p50 = lat[n / 2];
	fig->p99 = lat[(size_t)((double)n * 0.99)];
	ret = 0;
out:
	tr_store_close(st);
	unlink(path);
	snprintf(err, sizeof err, "%s-wal", path);
	unlink(err);
	snprintf(err, sizeof err, "%s-shm", path);
	unlink(err);
	free(tenant);
	free(reqs);
	free(live);
	free(lat);
	return ret;
}

static struct tr_placer *placer(tr_registry_t *reg, const struct opts *o,
				uint32_t hosts)
{
	char err[2048];
	struct tr_placer *p = tr_placer_new(reg);
	if (!p)
		return NULL;
	if (tr_placer_load_policies(p, o->policies, err, sizeof err) < 0 ||
	    tr_placer_set_default(p, o->policy, err, sizeof err)) {
		fprintf(stderr, "bench_placement: policies: %s\n", err);
		goto fail;
	}
	tr_placer_seed(p, o->seed);
	if (build_inventory(p, hosts, o->seed))
		goto fail;
	return p;
fail:
	tr_placer_free(p);
	return NULL;
}

static int parse_sizes(const char *s, struct opts *o)
{
	o->n_sizes = 0;
	while (*s && o->n_sizes < 8) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);
		if (end == s || v < 10 || v > 10000000)
			return -1;
		o->sizes[o->n_sizes++] = (uint32_t)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -1;
	}
	return o->n_sizes ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_placement [--sizes N,N,...] [--requests N] "
		   "[--baseline N]\n"
		   "                       [--policy NAME] [--policies DIR] "
		   "[--plugins DIR] [--seed S] [--quota BUS]\n"
		   "Places a stream of mixed requests on simulated inventories "
		   "and prints\nplacements/s and p50/p99 latency, indexed and "
		   "full scan, and their ratio.\n");
}

int main(int argc, char **argv)
{
	const char *src = getenv("TRELLIS_SRC"),
		   *build = getenv("TRELLIS_BUILD");
	char pol_dir[4096], plug[4096];
	snprintf(pol_dir, sizeof pol_dir, "%s/policies", src ? src : ".");
	snprintf(plug, sizeof plug, "%s/plugins", build ? build : "build");
	struct opts o = {{1000, 10000, 100000},
			 3,
			 100000,
			 400,
			 "default",
			 pol_dir,
			 plug,
			 12345,
			 0};
	static const struct option lo[] = {
	    {"sizes", required_argument, NULL, 's'},
	    {"requests", required_argument, NULL, 'n'},
	    {"baseline", required_argument, NULL, 'b'},
	    {"policy", required_argument, NULL, 'p'},
	    {"policies", required_argument, NULL, 'P'},
	    {"plugins", required_argument, NULL, 'L'},
	    {"seed", required_argument, NULL, 'S'},
	    {"quota", required_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_sizes(optarg, &o)) {
				fprintf(stderr, "bad --sizes '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			o.requests = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			o.baseline = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			o.policy = optarg;
			break;
		case 'P':
			o.policies = optarg;
			break;
		case 'L':
			o.plugins = optarg;
			break;
		case 'S':
			o.seed = strtoull(optarg, NULL, 10);
			break;
		case 'Q':
			o.quota_bus = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.requests || !o.baseline) {
		fprintf(stderr, "--requests and --baseline must be above 0\n");
		return 2;
	}
	char err[512];
	tr_registry_t *reg = tr_registry_new();
	if (!reg || tr_registry_load_dir(reg, o.plugins, err, sizeof err) < 0) {
		fprintf(stderr, "bench_placement: %s: %s\n", o.plugins, err);
		return 1;
	}
	int ret = 0;
	if (o.quota_bus) {
		printf("# the store path (tr_place_reserve into SQLite, 100 "
		       "claims a commit), %u business units; quotas off: no "
		       "quota rows; on: every BU under a quota; placements/s: "
		       "median of %d rounds\n",
		       o.quota_bus, ROUNDS);
		/* Off and on alternate, three pairs: a busy moment on a
		 * shared machine moves one pair, not the median ratio. */
		enum { PAIRS = 3 };
		for (uint32_t i = 0; i < o.n_sizes && !ret; i++) {
			uint32_t hosts = o.sizes[i];
			double ratio[PAIRS], p50r[PAIRS];
			for (int k = 0; k < PAIRS && !ret; k++) {
				struct figures f[2];
				for (int q = 0; q < 2 && !ret; q++) {
					struct tr_placer *p =
					    placer(reg, &o, hosts);
					if (!p ||
					    run_store(p, hosts, o.requests,
						      o.quota_bus, q,
						      o.seed + 1, &f[q]))
						ret = 1;
					tr_placer_free(p);
				}
				if (ret)
					break;
				for (int q = 0; q < 2; q++)
					printf("hosts %6u  BUs %u  pair %d  quotas "
					       "%-3s: %8.0f placements/s  p50 "
					       "%7.1f us  p99 %7.1f us  (%u "
					       "placed, %u refused)\n",
					       hosts, o.quota_bus, k + 1,
					       q ? "on" : "off", f[q].per_s,
					       f[q].p50, f[q].p99, f[q].placed,
					       f[q].refused);
				ratio[k] = f[1].per_s / f[0].per_s;
				p50r[k] = f[0].p50 / f[1].p50;
			}
			if (ret)
				break;
			qsort(ratio, PAIRS, sizeof *ratio, cmp_double);
			qsort(p50r, PAIRS, sizeof *p50r, cmp_double);
			printf("hosts %6u  quota ratio: %.2fx placements/s "
			       "(on/off, median of %d pairs), %.2fx p50 "
			       "(off/on)\n",
			       hosts, ratio[PAIRS / 2], PAIRS, p50r[PAIRS / 2]);
			fflush(stdout);
		}
		tr_registry_free(reg);
		return ret;
	}
	printf("# policy %s; one thread; each placement books, the oldest of "
	       "the live ones is released; placements/s: median of %d rounds\n",
	       o.policy, ROUNDS);
	for (uint32_t i = 0; i < o.n_sizes && !ret; i++) {
		uint32_t hosts = o.sizes[i];
		struct figures idx, full;
		struct tr_placer *p = placer(reg, &o, hosts);
		if (!p || run(p, hosts, o.requests, 0, o.seed + 1, &idx)) {
			tr_placer_free(p);
			ret = 1;
			break;
		}
		tr_placer_free(p);
		uint32_t nb = o.baseline;
		p = placer(reg, &o, hosts);
		if (!p ||
		    run(p, hosts, nb, TR_PLACE_NAIVE, o.seed + 1, &full)) {
			tr_placer_free(p);
			ret = 1;
			break;
		}
		tr_placer_free(p);
		printf("hosts %6u  indexed: %9.0f placements/s  p50 %7.1f us  "
		       "p99 %7.1f us  (%u placed, %u refused)\n",
		       hosts, idx.per_s, idx.p50, idx.p99, idx.placed,
		       idx.refused);
		printf(
		    "hosts %6u  full scan: %7.0f placements/s  p50 %7.1f us  "
		    "p99 %7.1f us  (%u placed, %u refused)\n",
		    hosts, full.per_s, full.p50, full.p99, full.placed,
		    full.refused);
		printf("hosts %6u  ratio: %.1fx placements/s, %.1fx p50\n",
		       hosts, idx.per_s / full.per_s, full.p50 / idx.p50);
		fflush(stdout);
	}
	tr_registry_free(reg);
	return ret;
}
