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
 *                                   measures against trellisd at URL
 *
 * Prints one line per (op, clients) with the medians over the rounds;
 * BENCH_OPS=vm.show measures that op only.
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
#include "../../../core/daemon/daemon.h"
#include "../../../core/loader/loader.h"
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
	int fd;
	size_t sz = sizeof fd;
	nn_getsockopt(sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &sz);
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

#define MAX_ROUNDS 64

enum op { OP_SHOW, OP_LIST };

struct client {
	const char *url;
	enum op op;
	double deadline;
	unsigned seed;
	double *lat;
	size_t n, cap;
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

static void *client_main(void *arg)
{
	struct client *c = arg;
	int s = connect_req(c->url);
	if (s < 0) {
		c->failed = 1;
		return NULL;
	}
	char req[256];
	while (now_s() < c->deadline) {
		int len = fmt_request(req, sizeof req, c->op, &c->seed);
		double t0 = now_s();
		char *buf = NULL;
		if (nn_send(s, req, (size_t)len, 0) < 0 ||
		    nn_recv(s, &buf, NN_MSG, 0) < 0) {
			c->failed = 1;
			break;
		}
		if (c->n < c->cap)
			c->lat[c->n++] = now_s() - t0;
		nn_freemsg(buf);
	}
	nn_close(s);
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

static int measure(const char *url, enum op op, int nclients, double secs,
		   struct figures *out)
{
	struct client cl[16];
	pthread_t th[16];
	double t0 = now_s();
	for (int i = 0; i < nclients; i++) {
		cl[i] = (struct client){.url = url, .op = op,
					.deadline = t0 + secs,
					.seed = (unsigned)(i * 7919 + 1),
					.cap = 2000000};
		cl[i].lat = malloc(cl[i].cap * sizeof(double));
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	size_t total = 0;
	int failed = 0;
	for (int i = 0; i < nclients; i++) {
		pthread_join(th[i], NULL);
		total += cl[i].n;
		failed |= cl[i].failed;
	}
	double elapsed = now_s() - t0;
	double *all = malloc((total + 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < nclients; i++) {
		memcpy(all + k, cl[i].lat, cl[i].n * sizeof *all);
		k += cl[i].n;
		free(cl[i].lat);
	}
	qsort(all, total, sizeof *all, cmp_d);
	if (failed || total == 0) {
		free(all);
		return -1;
	}
	out->rps = (double)total / elapsed;
	out->p50_ms = all[total / 2] * 1e3;
	out->p99_ms = all[(size_t)((double)total * 0.99)] * 1e3;
	free(all);
	return 0;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
			double d_rps[MAX_ROUNDS], d_p50[MAX_ROUNDS],
				d_p99[MAX_ROUNDS];
			double e_rps[MAX_ROUNDS], e_p50[MAX_ROUNDS],
				e_p99[MAX_ROUNDS], ratio[MAX_ROUNDS];
			for (int r = 0; r < rounds; r++) {
				struct figures fd, fe;
				/* Back to back, in turns (daemon first, then
				 * echo first), so drift hits both alike. */
				const char *first = r % 2 ? echo_url : url;
				const char *second = r % 2 ? url : echo_url;
				struct figures *f1 = r % 2 ? &fe : &fd;
				struct figures *f2 = r % 2 ? &fd : &fe;
				if (measure(first, (enum op)o, clients[c], secs,
					    f1) < 0 ||
				    measure(second, (enum op)o, clients[c],
					    secs, f2) < 0) {
					fprintf(stderr,
						"bench-api: %s with %d clients: "
						"requests failed\n",
						names[o], clients[c]);
					rc = 1;
					break;
				}
				d_rps[r] = fd.rps, d_p50[r] = fd.p50_ms,
				d_p99[r] = fd.p99_ms;
				e_rps[r] = fe.rps, e_p50[r] = fe.p50_ms,
				e_p99[r] = fe.p99_ms;
				ratio[r] = fe.rps > 0 ? fd.rps / fe.rps : 0;
			}
			if (rc)
				break;
			/* The ratio is the median of each round's own
			 * ratio: a pair measured back to back shares the
			 * machine's state of the moment, which on a shared
			 * machine moves more than the daemon does. */
			printf("%s clients=%d reply=%ldB: trellisd %.0f req/s "
			       "p50 %.3f ms p99 %.3f ms | echo %.0f req/s p50 "
			       "%.3f ms p99 %.3f ms | ratio %.2f\n",
			       names[o], clients[c], rsz, median(d_rps, rounds),
			       median(d_p50, rounds), median(d_p99, rounds),
			       median(e_rps, rounds), median(e_p50, rounds),
			       median(e_p99, rounds), median(ratio, rounds));
			fflush(stdout);
		}
	}
	atomic_store(&ctl->stop, 1);
	waitpid(echo, NULL, 0);
	unlink(echo_url + 6);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "populate") == 0)
		return populate(argv[2], atoi(argv[3]));
	if (argc == 3 && strcmp(argv[1], "cost") == 0)
		return cost(argv[2], OP_SHOW, 1.0) || cost(argv[2], OP_LIST, 1.0);
	if (argc >= 3 && strcmp(argv[1], "run") == 0) {
		double secs = argc > 3 ? atof(argv[3]) : 2.0;
		int rounds = argc > 4 ? atoi(argv[4]) : 3;
		if (secs <= 0 || rounds < 1 || rounds > MAX_ROUNDS) {
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
