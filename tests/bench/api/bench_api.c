/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_api.c - requests/s and latency of trellisd's vm.show and vm.list
 * against a raw nanomsg REQ/REP echo server measured in the same run: the
 * same transport, the same request bytes, replies of the same size.  The
 * echo is the transport's limit, so the ratio says what the daemon costs.
 *
 *   bench-api populate DB N         a store with one host and N VMs
 *   bench-api cost DB               the daemon's own time per request (no
 *                                   transport), in this process
 *   bench-api run URL [SECONDS [ROUNDS]]
 *                                   measures against trellisd at URL, in
 *                                   ROUNDS rounds (60) of two phases of
 *                                   SECONDS (0.05), one on each server
 *
 * Prints one line per (op, clients): requests/s as the median over the
 * phases, p50 and p99 over every request, and the ratio as the median of
 * each round's own ratio; BENCH_OPS=vm.show measures that op only, and
 * BENCH_VERBOSE=1 prints every round's figures on stderr.
 * Exits non-zero only when it cannot measure.
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../core/api/api.h"
#include "../../../core/loader/loader.h"
#include "../../../core/runtime/daemon.h"
#include "../../../core/store/store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- populate ---- */

static int populate(const char *db, int n)
{
	char err[512];
	struct tr_store *s = tr_store_open(db, 0, err, sizeof err);
	if (!s) {
		fprintf(stderr, "bench-api: %s\n", err);
		return 1;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *f;
	int rc = tr_store_begin(s, &call);
#define MK(kind, parent, ...)                                                  \
	do {                                                                   \
		f = json_pack(__VA_ARGS__);                                    \
		if (rc == 0)                                                   \
			rc = tr_store_create(s, kind, parent, f, NULL, &call); \
		json_decref(f);                                                \
	} while (0)
	MK(TR_KIND_ZONE, NULL, "{s:s}", "name", "bench");
	MK(TR_KIND_POD, "bench", "{s:s}", "name", "p");
	MK(TR_KIND_CLUSTER, "bench/p", "{s:s}", "name", "c");
	MK(TR_KIND_HOST, "c", "{s:s, s:s, s:s, s:i}", "name", "h0",
	   "hypervisor", "libvirt", "uri", "test:///default", "cpus", 64);
	for (int i = 0; i < n && rc == 0; i++) {
		char uuid[40], name[32];
		snprintf(uuid, sizeof uuid, "00000000-0000-4000-8000-%012d", i);
		snprintf(name, sizeof name, "vm%05d", i);
		MK(TR_KIND_VM, "h0",
		   "{s:s, s:s, s:s, s:i, s:i, s:{s:i, s:i, s:s}}", "uuid", uuid,
		   "name", name, "state", i % 3 ? "running" : "shutoff",
		   "vcpus", 2, "memory_mib", 2048, "spec", "vcpus", 2,
		   "memory_mib", 2048, "disk", "/var/lib/trellis/disk.qcow2");
	}
	if (rc == 0)
		rc = tr_store_commit(s, &call);
	if (rc != 0)
		fprintf(stderr, "bench-api: populate: %s\n", call.message);
	tr_store_close(s);
	return rc ? 1 : 0;
}

/* ---- the daemon's own cost, without a transport ---- */

static int fmt_request(char *buf, size_t len, int op, unsigned *seed);

/* Mean microseconds per request of tr_api_handle_bytes() on db: what
 * trellisd spends on a request between receiving and sending it. */
static int cost(const char *db, int op, double secs)
{
	char err[512];
	struct tr_daemon d = {0};
	d.store = tr_store_open(db, TR_STORE_READONLY, err, sizeof err);
	if (!d.store) {
		fprintf(stderr, "bench-api: %s\n", err);
		return -1;
	}
	d.registry = tr_registry_new();
	struct tr_api_limits lim = {0};
	d.api = tr_api_new(&d, &lim);
	tr_api_register_all(d.api);
	unsigned seed = 1;
	long n = 0;
	double t0 = now_s(), t;
	int rc = 0;
	do {
		char req[256], *reply = NULL;
		int len = fmt_request(req, sizeof req, op, &seed);
		tr_api_handle_bytes(d.api, req, (size_t)len, &reply);
		if (!reply || strncmp(reply, "{\"ok\":true", 10) != 0)
			rc = -1;
		free(reply);
		n++;
		t = now_s();
	} while (rc == 0 && t - t0 < secs);
	if (rc == 0)
		printf("%s in process: %.1f us per request (%ld requests)\n",
		       op ? "vm.list" : "vm.show", (t - t0) / (double)n * 1e6,
		       n);
	tr_api_free(d.api);
	tr_registry_free(d.registry);
	tr_store_close(d.store);
	return rc;
}

/* ---- the echo server: raw REP in its own process, like the daemon ---- */

/* Shared with the echo process (MAP_SHARED): the reply size it sends. */
struct echo_ctl {
	atomic_size_t size;
	atomic_int stop;
};
static struct echo_ctl *ctl;

static void echo_main(int sock)
{
	char *reply = malloc(1 << 20);
	memset(reply, 'x', 1 << 20);
	while (!atomic_load(&ctl->stop)) {
		struct nn_pollfd pfd = {sock, NN_POLLIN, 0};
		if (nn_poll(&pfd, 1, 100) <= 0)
			continue;
		for (;;) {
			void *body = NULL, *control = NULL;
			struct nn_iovec iov = {&body, NN_MSG};
			struct nn_msghdr hdr = {0};
			hdr.msg_iov = &iov;
			hdr.msg_iovlen = 1;
			hdr.msg_control = &control;
			hdr.msg_controllen = NN_MSG;
			if (nn_recvmsg(sock, &hdr, NN_DONTWAIT) < 0)
				break;
			nn_freemsg(body);
			struct nn_iovec out = {reply, atomic_load(&ctl->size)};
			hdr.msg_iov = &out;
			hdr.msg_control = &control;
			if (nn_sendmsg(sock, &hdr, NN_DONTWAIT) < 0)
				nn_freemsg(control);
		}
	}
	free(reply);
}

/* ---- clients ---- */

/*
 * The daemon and the echo are measured in the same run, in alternating
 * phases of SECONDS each: every client holds a connection to both, and
 * a coordinator flips a shared phase number, which says which server the
 * clients ask.  A round is two phases, one on each server, taking turns
 * at going first, and the ratio is the median of the rounds' own ratios.
 * Short phases pair the two under nearly the same machine.  On the shared
 * development machine one 100 ms phase could run at 940 req/s and the
 * next at 5,500: the host stalls its guests for tens of milliseconds at a
 * time.  Each server measured alone for half a second (the earlier
 * design) moved the 1-client ratio between 0.61 and 0.91 from run to
 * run; sixty rounds of 50 ms phases keep it within about 0.05, and a
 * stall spoils a phase or two, which the median discards.  A request
 * counts for the phase it started in.
 */
#define MAX_ROUNDS 256
#define MAX_PHASES (2 * MAX_ROUNDS + 2) /* and the warm-up round */
#define MAX_CLIENTS 16

enum op { OP_SHOW, OP_LIST };

struct phases {
	atomic_int now;       /* the phase clients are in; -1 when done */
	atomic_int ready;     /* clients connected to both servers */
	int n;                /* phases, the warm-up round included */
	double start[MAX_PHASES + 1];
};

struct client {
	const char *urls[2]; /* 0: trellisd, 1: the echo */
	enum op op;
	struct phases *ph;
	unsigned seed;
	double *lat[2];
	size_t n[2], cap;
	long done[MAX_PHASES];
	int failed;
};

static int fmt_request(char *buf, size_t len, int op, unsigned *seed)
{
	int i = (int)(rand_r(seed) % 10000);
	if (op == OP_SHOW)
		return snprintf(buf, len,
				"{\"v\":1,\"op\":\"vm.show\",\"args\":{\"name\":"
				"\"00000000-0000-4000-8000-%012d\"}}",
				i);
	/* Four digits, so every request has the same size and a full
	 * page (VM ids run from 1 to 10000). */
	return snprintf(buf, len,
			"{\"v\":1,\"op\":\"vm.list\",\"args\":{\"limit\":100,"
			"\"after\":%d}}",
			1000 + i % 8800);
}

static int connect_req(const char *url)
{
	int s = nn_socket(AF_SP, NN_REQ);
	int tmo = 5000;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &tmo, sizeof tmo);
	int maxsz = -1;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
	if (s < 0 || nn_connect(s, url) < 0)
		return -1;
	return s;
}

/* Which server phase p asks: round r = p / 2 goes daemon first when r is
 * even, echo first when odd. */
static int server_of(int p)
{
	return (p % 2) ^ ((p / 2) % 2);
}

/* One request to s; its latency in seconds, or -1. */
static double ask(int s, enum op op, unsigned *seed)
{
	char req[256], *buf = NULL;
	int len = fmt_request(req, sizeof req, op, seed);
	double t0 = now_s();
	if (nn_send(s, req, (size_t)len, 0) < 0 ||
	    nn_recv(s, &buf, NN_MSG, 0) < 0)
		return -1;
	double t = now_s() - t0;
	nn_freemsg(buf);
	return t;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	int s[2] = {connect_req(c->urls[0]), connect_req(c->urls[1])};
	/* Connected (nanomsg connects in the background) before phase 0. */
	if (s[0] < 0 || s[1] < 0 || ask(s[0], c->op, &c->seed) < 0 ||
	    ask(s[1], c->op, &c->seed) < 0)
		c->failed = 1;
	atomic_fetch_add(&c->ph->ready, 1);
	int p;
	while (!c->failed && (p = atomic_load(&c->ph->now)) >= 0) {
		int srv = server_of(p);
		double t = ask(s[srv], c->op, &c->seed);
		if (t < 0) {
			c->failed = 1;
			break;
		}
		c->done[p]++;
		if (p >= 2 && c->n[srv] < c->cap)
			c->lat[srv][c->n[srv]++] = t;
	}
	for (int i = 0; i < 2; i++)
		if (s[i] >= 0)
			nn_close(s[i]);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct figures {
	double rps, p50_ms, p99_ms;
};

/* Latency percentiles of v (sorted here), in ms. */
static void percentiles(double *v, size_t n, struct figures *f)
{
	qsort(v, n, sizeof *v, cmp_d);
	f->p50_ms = v[n / 2] * 1e3;
	f->p99_ms = v[(size_t)((double)n * 0.99)] * 1e3;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* rounds rounds of two phases of secs each (after a warm-up round that
 * counts for nothing): out[0] the daemon, out[1] the echo, *ratio the
 * median of the rounds' own ratios. */
static int measure(const char *urls[2], enum op op, int nclients,
		   double secs, int rounds, struct figures out[2],
		   double *ratio)
{
	struct phases ph = {.n = 2 * (rounds + 1)};
	struct client cl[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	atomic_store(&ph.now, 0);
	for (int i = 0; i < nclients; i++) {
		cl[i] = (struct client){.urls = {urls[0], urls[1]}, .op = op,
					.ph = &ph,
					.seed = (unsigned)(i * 7919 + 1),
					.cap = (size_t)(20000 * secs * rounds) + 1000};
		cl[i].lat[0] = malloc(cl[i].cap * sizeof(double));
		cl[i].lat[1] = malloc(cl[i].cap * sizeof(double));
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	while (atomic_load(&ph.ready) < nclients)
		usleep(1000);
	for (int p = 0; p < ph.n; p++) {
		ph.start[p] = now_s();
		atomic_store(&ph.now, p);
		struct timespec ts = {(time_t)secs,
				      (long)((secs - (double)(time_t)secs) * 1e9)};
		nanosleep(&ts, NULL);
	}
	ph.start[ph.n] = now_s();
	atomic_store(&ph.now, -1);
	int failed = 0;
	size_t total[2] = {0, 0};
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		failed |= cl[i].failed;
		total[0] += cl[i].n[0];
		total[1] += cl[i].n[1];
	}
	double rps[2][MAX_ROUNDS], r_ratio[MAX_ROUNDS];
	for (int p = 2; p < ph.n; p++) {
		long done = 0;
		for (int i = 0; i < nclients; i++)
			done += cl[i].done[p];
		rps[server_of(p)][p / 2 - 1] =
			(double)done / (ph.start[p + 1] - ph.start[p]);
	}
	for (int r = 0; r < rounds; r++) {
		r_ratio[r] = rps[1][r] > 0 ? rps[0][r] / rps[1][r] : 0;
		if (getenv("BENCH_VERBOSE"))
			fprintf(stderr, "round %d: %.0f / %.0f req/s = %.2f\n",
				r, rps[0][r], rps[1][r], r_ratio[r]);
	}
	for (int srv = 0; srv < 2 && !failed; srv++) {
		if (total[srv] == 0) {
			failed = 1;
			break;
		}
		double *all = malloc(total[srv] * sizeof *all);
		size_t k = 0;
		for (int i = 0; i < nclients; i++) {
			memcpy(all + k, cl[i].lat[srv], cl[i].n[srv] * sizeof *all);
			k += cl[i].n[srv];
		}
		percentiles(all, total[srv], &out[srv]);
		free(all);
		out[srv].rps = median(rps[srv], rounds);
	}
	for (int i = 0; i < nclients; i++)
		free(cl[i].lat[0]), free(cl[i].lat[1]);
	*ratio = median(r_ratio, rounds);
	return failed ? -1 : 0;
}


/* The size of the daemon's reply to a typical request of op. */
static long reply_size(const char *url, enum op op)
{
	int s = connect_req(url);
	if (s < 0)
		return -1;
	char req[256], *buf = NULL;
	unsigned seed = 1;
	int len = fmt_request(req, sizeof req, op, &seed);
	long n = -1;
	if (nn_send(s, req, (size_t)len, 0) >= 0)
		n = nn_recv(s, &buf, NN_MSG, 0);
	if (n > 0 && strncmp(buf, "{\"ok\":true", 10) != 0) {
		fprintf(stderr, "bench-api: %.*s\n", (int)(n > 300 ? 300 : n),
			buf);
		n = -1;
	}
	if (buf)
		nn_freemsg(buf);
	nn_close(s);
	return n;
}

static int run(const char *url, double secs, int rounds)
{
	char echo_url[256];
	snprintf(echo_url, sizeof echo_url, "ipc:///tmp/trellis-bench-echo-%d.sock",
		 (int)getpid());
	ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		return 1;
	/* A process of its own, as trellisd is: sharing nanomsg's threads
	 * with the clients would flatter the echo. */
	pid_t echo = fork();
	if (echo == 0) {
		/* Never outlive the bench, however it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		int es = nn_socket(AF_SP_RAW, NN_REP);
		if (es < 0 || nn_bind(es, echo_url) < 0) {
			fprintf(stderr, "bench-api: echo server: %s\n",
				nn_strerror(nn_errno()));
			_exit(1);
		}
		echo_main(es);
		nn_close(es);
		_exit(0);
	}
	if (echo < 0)
		return 1;
	static const char *const names[] = {"vm.show", "vm.list"};
	static const int clients[] = {1, 16};
	int rc = 0;
	/* BENCH_OPS=vm.show: one op only, for quicker comparisons. */
	const char *only = getenv("BENCH_OPS");
	for (int o = 0; o < 2 && rc == 0; o++) {
		if (only && *only && !strstr(only, names[o]))
			continue;
		long rsz = reply_size(url, (enum op)o);
		if (rsz < 0) {
			fprintf(stderr, "bench-api: %s: no valid answer from %s\n",
				names[o], url);
			rc = 1;
			break;
		}
		atomic_store(&ctl->size, (size_t)rsz);
		for (int c = 0; c < 2 && rc == 0; c++) {
			const char *urls[2] = {url, echo_url};
			struct figures f[2];
			double ratio;
			if (measure(urls, (enum op)o, clients[c], secs, rounds, f,
				    &ratio) < 0) {
				fprintf(stderr,
					"bench-api: %s with %d clients: "
					"requests failed\n",
					names[o], clients[c]);
				rc = 1;
				break;
			}
			printf("%s clients=%d reply=%ldB: trellisd %.0f req/s "
			       "p50 %.3f ms p99 %.3f ms | echo %.0f req/s p50 "
			       "%.3f ms p99 %.3f ms | ratio %.2f\n",
			       names[o], clients[c], rsz, f[0].rps, f[0].p50_ms,
			       f[0].p99_ms, f[1].rps, f[1].p50_ms, f[1].p99_ms,
			       ratio);
			fflush(stdout);
		}
	}
	atomic_store(&ctl->stop, 1);
	waitpid(echo, NULL, 0);
	unlink(echo_url + 6);
	return rc;
}

/* ---- one server alone, for tests/bench/http (which alternates it with
 * wrk on the HTTP listener) ---- */

struct solo {
	const char *url;
	double until;
	unsigned seed;
	size_t n, cap;
	double *lat;
	int failed;
};

static void *solo_main(void *arg)
{
	struct solo *c = arg;
	int s = connect_req(c->url);
	if (s < 0 || ask(s, OP_SHOW, &c->seed) < 0) {
		c->failed = 1;
		return NULL;
	}
	while (now_s() < c->until) {
		double t = ask(s, OP_SHOW, &c->seed);
		if (t < 0) {
			c->failed = 1;
			break;
		}
		if (c->n < c->cap)
			c->lat[c->n++] = t;
	}
	nn_close(s);
	return NULL;
}

/* vm.show from n clients for secs: "rps P50_MS P99_MS" on stdout. */
static int solo(const char *url, double secs, int n)
{
	struct solo cl[MAX_CLIENTS];
	pthread_t th[MAX_CLIENTS];
	if (n < 1 || n > MAX_CLIENTS)
		return 2;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		cl[i] = (struct solo){.url = url, .until = t0 + secs,
				      .seed = (unsigned)(i * 7919 + 1),
				      .cap = (size_t)(60000 * secs) + 1000};
		cl[i].lat = malloc(cl[i].cap * sizeof(double));
		pthread_create(&th[i], NULL, solo_main, &cl[i]);
	}
	size_t total = 0;
	int failed = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		total += cl[i].n;
		failed |= cl[i].failed;
	}
	double el = now_s() - t0;
	double *all = malloc((total + 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		memcpy(all + k, cl[i].lat, cl[i].n * sizeof *all);
		k += cl[i].n;
		free(cl[i].lat);
	}
	if (failed || !total) {
		free(all);
		fprintf(stderr, "bench-api: solo: requests failed\n");
		return 1;
	}
	struct figures f;
	percentiles(all, total, &f);
	printf("%.0f %.3f %.3f\n", (double)total / el, f.p50_ms, f.p99_ms);
	free(all);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "solo") == 0)
		return solo(argv[2], atof(argv[3]), atoi(argv[4]));
	if (argc == 4 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "cost") == 0)
		return cost(argv[2], OP_SHOW, 1.0) || cost(argv[2], OP_LIST, 1.0);
	if (argc >= 3 && strcmp(argv[1], "run") == 0) {
		double secs = argc > 3 ? atof(argv[3]) : 0.05;
		int rounds = argc > 4 ? atoi(argv[4]) : 60;
		if (secs <= 0 || secs > 10 || rounds < 1 || rounds > MAX_ROUNDS) {
			fprintf(stderr, "bench-api: bad SECONDS or ROUNDS\n");
			return 2;
		}
		return run(argv[2], secs, rounds);
	}
	fprintf(stderr, "usage: bench-api populate DB N | bench-api cost DB | "
			"bench-api run URL "
			"[SECONDS [ROUNDS]]\n");
	return 2;
}
