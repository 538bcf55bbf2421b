/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - trellis-agent: a private zone's agent (docs/agent.md).  It
 * dials out to the core (no listener, no API of its own), over the secure
 * link (core/link), and keeps the link up: endpoints tried in turn with
 * exponential backoff and jitter, beats both ways, a new handshake and
 * authentication on every reconnect.
 *
 *   trellis-agent --state-dir DIR --name NAME --zone Z --enroll TOKEN \
 *                 --core tcp://HOST:PORT[,tcp://...] --core-key HEX
 *   trellis-agent --state-dir DIR --name NAME --bundle FILE
 *   trellis-agent --state-dir DIR
 *
 * Exit status: 0 after SIGTERM, 1 on a local error, 2 when the core
 * refused it (bad token, revoked...): retrying would not help.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <getopt.h>
#include <jansson.h>
#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include "../actions/action.h"
#include "../host/host.h"
#include "../link/link.h"
#include "../loader/loader.h"
#include "../loader/paths.h"
#include "../runtime/daemon.h"
#include "../runtime/worker.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/node.h"

#include "agent.h"

volatile sig_atomic_t tr_agent_stopping;

static void on_term(int sig)
{
	(void)sig;
	tr_agent_stopping = 1;
}

void tr_agent_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "trellis-agent: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- commands: the core's actions, run through the action layer ---- */

static void out_push(struct agent *a, json_t *msg)
{
	struct out *o = tr_xcalloc(1, sizeof *o);
	if (o)
		o->json = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!o || !o->json) {
		free(o);
		return;
	}
	pthread_mutex_lock(&a->mu);
	if (a->nout >= MAX_OUT) {
		/* The link is down for long: what is dropped is asked again
		 * (a command's answer) or put right by the next full report
		 * (a delta). */
		pthread_mutex_unlock(&a->mu);
		free(o->json);
		free(o);
		return;
	}
	a->nout++;
	*a->outtail = o;
	a->outtail = &o->next;
	pthread_mutex_unlock(&a->mu);
	/* The link thread waits in poll() on the socket and this: an
	 * answer goes at once, not when its wait ends. */
	uint64_t one = 1;
	if (a->wake_fd >= 0 && write(a->wake_fd, &one, sizeof one) < 0) {
		/* EAGAIN: a wakeup is pending already */
	}
}

/* Sends what the command threads left for the core (link thread). */
static void out_flush(struct agent *a)
{
	pthread_mutex_lock(&a->mu);
	struct out *o = a->outq;
	a->outq = NULL;
	a->outtail = &a->outq;
	a->nout = 0;
	pthread_mutex_unlock(&a->mu);
	for (struct out *n; o; o = n) {
		n = o->next;
		json_t *m = json_loads(o->json, 0, NULL);
		if (m)
			tr_agent_send_msg(a, m);
		free(o->json);
		free(o);
	}
}

/* What the core relays (core/actions/road.c): a host's hypervisor and
 * network actions, and a pool's storage actions. */
static int site_action(const char *name)
{
	return !strncmp(name, "hypervisor.", 11) ||
	       !strncmp(name, "network.", 8) || !strncmp(name, "storage.", 8);
}

/* Runs action name on args, as the daemon would (schema check, then
 * tr_action_call with the host's record): 0 and *result, or the error
 * in call. */
static int run_action(struct agent *a, const char *name, json_t *args,
		      const char *idem, json_t *host, json_t *records,
		      json_t **result, trellis_call_t *call)
{
	char err[512];
	const struct tr_action *act = tr_action_find(name);
	struct tr_action_env env = {.daemon = &a->d, .idem_key = idem,
				    .attempt = 1, .host_record = host,
				    .records = records};
	int rc;
	*result = NULL;
	if (!act || (act->flags & (TR_ACTION_MAIN_THREAD | TR_ACTION_ENGINE)) ||
	    !site_action(name))
		rc = tr_call_set(call, TRELLIS_E_PERMISSION,
				 "%s: not an action an agent runs", name);
	else if (tr_action_check_args(act, args, err, sizeof err) != 0)
		rc = tr_call_set(call, TRELLIS_E_INVALID_ARG, "%s: %s", name,
				 err);
	else
		rc = tr_action_call(&env, act, args, result, call);
	rc = tr_call_finish(call, name, rc);
	if (rc) {
		json_decref(*result);
		*result = NULL;
	}
	return rc;
}

/* A command or report thread ends: the last one lets main() free what
 * they use (the plugins, the connections). */
static void thread_done(struct agent *a)
{
	pthread_mutex_lock(&a->mu);
	if (--a->running == 0)
		pthread_cond_broadcast(&a->idle);
	pthread_mutex_unlock(&a->mu);
}

/* Starts fn(arg) detached, counted in a->running: 0 or -1. */
static int thread_start(struct agent *a, void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_mutex_lock(&a->mu);
	a->running++;
	pthread_mutex_unlock(&a->mu);
	if (pthread_create(&t, NULL, fn, arg) != 0) {
		thread_done(a);
		return -1;
	}
	pthread_detach(t);
	return 0;
}

struct job {
	struct agent *a;
	struct cmd *c;
	json_t *m;
	uint64_t t_recv; /* us: the frame was read */
	struct job *next; /* in a->jobs */
};

static void run_job(struct job *j)
{
	struct agent *a = j->a;
	uint64_t t_start = tr_now_us();
	const char *id = json_string_value(json_object_get(j->m, "id"));
	const char *name = json_string_value(json_object_get(j->m, "action"));
	json_t *result = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *args = json_object_get(j->m, "args");
	/* The site's network context, when its hosts' taps live in another
	 * namespace than the agent (network.context in its config). */
	const char *uri = json_string_value(json_object_get(args, "uri"));
	if (a->net_context[0] && name && !strncmp(name, "network.", 8) &&
	    json_is_object(args) && (!uri || !strcmp(uri, "local")))
		json_object_set_new(args, "uri", json_string(a->net_context));
	int rc = run_action(a, name, args,
			    json_string_value(json_object_get(j->m, "idem")),
			    json_object_get(j->m, "host"),
			    json_object_get(j->m, "records"), &result, &call);
	uint64_t t_run = tr_now_us();
	/* Where the time went at the site (docs/agent.md, "Latency"). */
	json_t *ans = json_pack("{s:s, s:s, s:i, s:{s:I, s:I}}", "t", "result",
				"id", id, "rc", rc, "agent_us", "spawn",
				(json_int_t)(t_start - j->t_recv), "run",
				(json_int_t)(t_run - t_start));
	if (rc == 0)
		json_object_set_new(ans, "result", result);
	else {
		json_object_set_new(ans, "error", json_string(call.message));
		json_object_set_new(ans, "retryable", json_boolean(call.retryable));
	}
	tr_agent_say("%s %s: %s (%.3f ms)", id, name, rc ? call.message : "done",
	    (double)(t_run - t_start) / 1000.0);
	char *text = json_dumps(ans, JSON_COMPACT);
	pthread_mutex_lock(&a->mu);
	j->c->answer = text;
	j->c->done = 1;
	pthread_mutex_unlock(&a->mu);
	out_push(a, ans);
	json_decref(j->m);
	free(j);
}

/*
 * The command workers: threads that stay, waiting for the next command,
 * rather than one new thread a command.  On a busy machine a new
 * thread waits its turn behind the running ones (the scheduler places
 * it last), while a sleeping worker woken is run soon: at 1,000 agents
 * the start of a new thread was most of a relayed call's p99.  A
 * command finding no idle worker starts one more; past POOL_IDLE idle
 * workers, one that finishes ends.
 */
#define POOL_IDLE 8

static void *worker(void *arg)
{
	struct agent *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->jobs && !a->pool_stop) {
			a->nidle++;
			pthread_cond_wait(&a->work, &a->mu);
			a->nidle--;
		}
		struct job *j = a->jobs;
		if (!j)
			break; /* stopping */
		a->jobs = j->next;
		pthread_mutex_unlock(&a->mu);
		run_job(j);
		pthread_mutex_lock(&a->mu);
		if (a->nidle >= POOL_IDLE)
			break;
	}
	pthread_mutex_unlock(&a->mu);
	thread_done(a);
	return NULL;
}

static int submit(struct agent *a, struct job *j)
{
	pthread_mutex_lock(&a->mu);
	struct job **p = &a->jobs;
	while (*p)
		p = &(*p)->next;
	*p = j;
	int idle = a->nidle > 0;
	if (idle)
		pthread_cond_signal(&a->work);
	pthread_mutex_unlock(&a->mu);
	if (idle || thread_start(a, worker, a) == 0)
		return 0;
	pthread_mutex_lock(&a->mu); /* no worker: take it back */
	for (p = &a->jobs; *p; p = &(*p)->next)
		if (*p == j) {
			*p = j->next;
			break;
		}
	pthread_mutex_unlock(&a->mu);
	return -1;
}

static void save_hosts(struct agent *a)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/hosts.json", a->dir);
	char *text = json_dumps(a->hosts, JSON_INDENT(2));
	if (text)
		tr_agent_write_private(path, text);
	free(text);
}

/* {"t":"forget","hosts":[...]}: hosts the core does not have as this
 * agent's (removed, or added by another road): no more reports. */
static void on_forget(struct agent *a, json_t *m)
{
	size_t i;
	json_t *h;
	pthread_mutex_lock(&a->mu);
	json_array_foreach(json_object_get(m, "hosts"), i, h)
	{
		const char *name = json_string_value(h);
		if (name && json_object_get(a->hosts, name)) {
			json_object_del(a->hosts, name);
			tr_agent_say("host %s: not this agent's at the core; "
				     "no longer reported", name);
		}
	}
	save_hosts(a);
	pthread_mutex_unlock(&a->mu);
}

/* A command: {"t":"cmd", id, action, args, idem, host}. */
static void on_cmd(struct agent *a, json_t *m)
{
	uint64_t t_recv = tr_now_us();
	const char *id = json_string_value(json_object_get(m, "id"));
	json_t *host = json_object_get(m, "host");
	if (!id || strlen(id) >= 40)
		return;
	pthread_mutex_lock(&a->mu);
	unsigned n = a->ncmds < MAX_CMDS ? a->ncmds : MAX_CMDS;
	for (unsigned i = 0; i < n; i++) {
		struct cmd *c = &a->cmds[i];
		if (strcmp(c->id, id) != 0)
			continue;
		/* Known: answered again, or still running (it answers). */
		char *again = c->done && c->answer ? strdup(c->answer) : NULL;
		pthread_mutex_unlock(&a->mu);
		tr_agent_say("%s: known command (%s)", id, again ? "answered again"
							 : "still running");
		if (again) {
			out_push(a, json_loads(again, 0, NULL));
			free(again);
		}
		return;
	}
	struct cmd *c = &a->cmds[a->ncmds++ % MAX_CMDS];
	if (c->id[0] && !c->done) { /* the slot's old command still runs */
		pthread_mutex_unlock(&a->mu);
		return;
	}
	free(c->answer);
	memset(c, 0, sizeof *c);
	snprintf(c->id, sizeof c->id, "%s", id);
	const char *hname = json_string_value(json_object_get(host, "name"));
	if (hname && *hname && !json_object_get(a->hosts, hname) &&
	    json_object_size(a->hosts) < MAX_HOSTS) {
		json_object_set_new(
		    a->hosts, hname,
		    json_pack("{s:s, s:s?, s:s?}", "name", hname, "hypervisor",
			      json_string_value(json_object_get(host, "hypervisor")),
			      "uri", json_string_value(json_object_get(host, "uri"))));
		save_hosts(a);
	}
	pthread_mutex_unlock(&a->mu);
	struct job *j = tr_xcalloc(1, sizeof *j);
	*j = (struct job){a, c, json_incref(m), t_recv, NULL};
	if (submit(a, j) < 0) {
		json_decref(j->m);
		free(j);
	}
}

/* Deltas: a plugin's vm.state event (libvirt's lifecycle events, on its
 * own thread) goes to the core at once, as {"t":"delta","host","vm"},
 * for each of this agent's hosts the event's plugin and URI name; the
 * full reports (at connect, every --report-interval) put right whatever
 * a delta lost while the link was down. */
static void agent_sink(void *arg, const char *plugin, const char *topic,
		       const char *const *kv)
{
	struct agent *a = arg;
	if (strcmp(topic, "vm.state") != 0)
		return;
	json_t *vm = json_object();
	json_object_set_new(vm, "plugin", json_string(plugin ? plugin : ""));
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
		if (strcmp(kv[i], "topic") != 0 && strcmp(kv[i], "ts") != 0 &&
		    strcmp(kv[i], "plugin") != 0)
			json_object_set_new(vm, kv[i], json_string(kv[i + 1]));
	const char *uri = json_string_value(json_object_get(vm, "uri"));
	json_t *hosts = json_array();
	pthread_mutex_lock(&a->mu);
	const char *name;
	json_t *h;
	json_object_foreach(a->hosts, name, h)
	{
		const char *hu = json_string_value(json_object_get(h, "uri"));
		const char *hp =
		    json_string_value(json_object_get(h, "hypervisor"));
		if (uri && hu && strcmp(uri, hu) == 0 &&
		    (!hp || !plugin || strcmp(hp, plugin) == 0))
			json_array_append_new(hosts, json_string(name));
	}
	pthread_mutex_unlock(&a->mu);
	size_t i;
	json_array_foreach(hosts, i, h)
		out_push(a, json_pack("{s:s, s:O, s:O}", "t", "delta", "host", h,
				      "vm", vm));
	json_decref(hosts);
	json_decref(vm);
}

/* The inventory report: every host it serves, probed now. */
static void *report_thread(void *arg)
{
	struct agent *a = arg;
	pthread_mutex_lock(&a->mu);
	json_t *hosts = json_deep_copy(a->hosts);
	pthread_mutex_unlock(&a->mu);
	json_t *list = json_array();
	const char *name;
	json_t *h;
	json_object_foreach(hosts, name, h)
	{
		json_t *args = json_pack("{s:s, s:O, s:O}", "host", name,
					 "hypervisor",
					 json_object_get(h, "hypervisor"), "uri",
					 json_object_get(h, "uri"));
		json_t *r = NULL;
		trellis_call_t call;
		tr_call_init(&call, NULL);
		if (args && run_action(a, "hypervisor.host_probe", args, NULL,
				       h, NULL, &r, &call) == 0)
			json_array_append_new(list, r);
		else
			tr_agent_say("report: host %s: %s", name, call.message);
		json_decref(args);
	}
	json_decref(hosts);
	out_push(a, json_pack("{s:s, s:o}", "t", "report", "hosts", list));
	pthread_mutex_lock(&a->mu);
	a->reporting = 0;
	pthread_mutex_unlock(&a->mu);
	thread_done(a);
	return NULL;
}

static void report_maybe(struct agent *a, int now_please)
{
	uint64_t now = tr_now_ms();
	if (!now_please && now - a->last_report < a->report_ms)
		return;
	pthread_mutex_lock(&a->mu);
	int busy = a->reporting || !json_object_size(a->hosts);
	if (!busy)
		a->reporting = 1;
	pthread_mutex_unlock(&a->mu);
	a->last_report = now;
	if (busy)
		return;
	if (thread_start(a, report_thread, a) < 0) {
		pthread_mutex_lock(&a->mu);
		a->reporting = 0;
		pthread_mutex_unlock(&a->mu);
	}
}

/* Up: beats both ways until the link dies (-1) or ends for good (-2). */
static int link_run(struct agent *a)
{
	for (int i = 0; i < PARKED; i++)
		tr_agent_send_msg(a, json_pack("{s:s}", "t", "poll"));
	uint64_t dead_ms = (uint64_t)a->beat_ms * a->dead;
	report_maybe(a, 1); /* the full report at connect */
	while (!tr_agent_stopping) {
		out_flush(a);
		report_maybe(a, 0);
		uint64_t now = tr_now_ms();
		if (now - a->last_rx > dead_ms) {
			tr_agent_say("link to %s: dead (no beat for %llu ms)", a->eps[a->ep],
			    (unsigned long long)(now - a->last_rx));
			return -1;
		}
		if (now - a->last_tx >= a->beat_ms &&
		    tr_agent_send_msg(a, json_pack("{s:s}", "t", "beat")) < 0)
			return -1;
		int closed, fin;
		struct pollfd pf[2] = {{-1, POLLIN, 0}, {a->wake_fd, POLLIN, 0}};
		size_t fsz = sizeof pf[0].fd;
		nn_getsockopt(a->sock, NN_SOL_SOCKET, NN_RCVFD, &pf[0].fd, &fsz);
		poll(pf, 2, 50);
		if (pf[1].revents & POLLIN) {
			uint64_t v;
			if (read(a->wake_fd, &v, sizeof v) < 0) {
				/* nothing to drain */
			}
		}
		if (!(pf[0].revents & POLLIN))
			continue; /* out_flush at the top sends what came */
		a->batch = 1;
		json_t *m = tr_agent_recv_msg(a, 0, &closed, &fin);
		a->batch = 0;
		json_t *list = json_object_get(m, "m");
		if (json_is_array(list)) {
			size_t i;
			json_t *one;
			json_array_foreach(list, i, one)
			{
				const char *ty = json_string_value(
				    json_object_get(one, "t"));
				if (ty && strcmp(ty, "cmd") == 0)
					on_cmd(a, one);
				else if (ty && strcmp(ty, "forget") == 0)
					on_forget(a, one);
			}
			json_t *last = json_incref(
			    json_array_get(list, json_array_size(list) - 1));
			json_decref(m);
			m = last;
		}
		const char *t = json_string_value(json_object_get(m, "t"));
		if (fin && t && strcmp(t, "revoked") == 0) {
			tr_agent_say("the core revoked this agent: %s",
			    json_string_value(json_object_get(m, "reason")));
			json_decref(m);
			return -2;
		}
		if (closed) {
			json_decref(m);
			return -1;
		}
		if (m) /* it used one of our parked requests: park another */
			tr_agent_send_msg(a, json_pack("{s:s}", "t", "poll"));
		json_decref(m);
	}
	return 0;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};
	while (!tr_agent_stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run(struct agent *a)
{
	unsigned failures = 0;
	int ep = 0;
	while (!tr_agent_stopping) {
		int rc = tr_agent_link_open(a, ep);
		if (rc == -2)
			return 2;
		if (rc == 0) {
			failures = 0;
			rc = link_run(a);
			if (tr_agent_stopping) {
				unsigned char f[64];
				long n = tr_link_seal(&a->link, TR_LINK_CLOSE,
						      "{}", 2, f);
				/* nanomsg's nn_close() drops what its
				 * worker has not written yet (no linger):
				 * give the CLOSE a moment to leave. */
				if (n > 0 && tr_agent_send_req(a, f, (size_t)n) == 0)
					usleep(100000);
			}
			tr_agent_link_close(a);
			if (rc == -2)
				return 2;
			if (tr_agent_stopping)
				break;
			continue; /* reconnect to the same endpoint first */
		}
		/* This endpoint failed: the next one, after a pause that
		 * doubles with each failure (capped), with full jitter so
		 * many agents do not come back in step. */
		ep = (ep + 1) % a->neps;
		failures++;
		uint64_t cap = BACKOFF_BASE_MS << (failures < 8 ? failures : 8);
		if (cap > BACKOFF_CAP_MS)
			cap = BACKOFF_CAP_MS;
		uint64_t wait = cap / 2 + randombytes_uniform((uint32_t)(cap / 2 + 1));
		tr_agent_say("next: %s in %llu ms", a->eps[ep], (unsigned long long)wait);
		sleep_ms(wait);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: trellis-agent --state-dir DIR [--name NAME] [--config FILE]\n"
		"         [--bundle FILE | --enroll TOKEN --zone Z --core URL[,URL...] "
		"--core-key HEX]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"enroll", required_argument, NULL, 'e'},
		{"zone", required_argument, NULL, 'z'},
		{"core", required_argument, NULL, 'c'},
		{"core-key", required_argument, NULL, 'k'},
		{"bundle", required_argument, NULL, 'b'},
		{"plugin-dir", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'C'},
		{"report-interval", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	tr_alloc_init(); /* jansson too: out of memory aborts */
	struct agent a;
	memset(&a, 0, sizeof a);
	a.sock = -1;
	a.wake_fd = -1;
	const char *dir = NULL, *name = NULL, *token = NULL, *zone = NULL,
		   *core = NULL, *key = NULL, *bundle = NULL;
	const char *config = NULL;
	a.report_ms = 60000;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 'e': token = optarg; break;
		case 'z': zone = optarg; break;
		case 'c': core = optarg; break;
		case 'k': key = optarg; break;
		case 'b': bundle = optarg; break;
		case 'C': config = optarg; break;
		case 'p':
			if (a.npdirs < MAX_DIRS)
				a.pdirs[a.npdirs++] = optarg;
			break;
		case 'r': a.report_ms = (unsigned)atoi(optarg) * 1000u; break;
		default: usage(); return c == 'h' ? 0 : 1;
		}
	}
	if (!dir) {
		usage();
		return 1;
	}
	if (tr_link_init() < 0)
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	mkdir(dir, 0700);
	snprintf(a.dir, sizeof a.dir, "%s", dir);
	char path[4200];
	snprintf(path, sizeof path, "%s/agent.json", dir);
	int first = bundle || token;
	if (bundle) {
		if (tr_agent_load_json(&a, bundle, 1) < 0)
			return 1;
	} else if (token) {
		if (!zone || !core || !key || tr_link_unhex(key, a.core_key, 32) ||
		    tr_agent_add_eps(&a, core) < 0) {
			tr_agent_say("--enroll needs --zone, --core and --core-key (64 hex)");
			return 1;
		}
		snprintf(a.zone, sizeof a.zone, "%s", zone);
		a.token = tr_xstrdup(token);
	} else if (tr_agent_load_json(&a, path, 0) < 0) {
		return 1;
	}
	if (name)
		snprintf(a.name, sizeof a.name, "%s", name);
	if (!a.name[0]) {
		tr_agent_say("an agent needs a name (--name)");
		return 1;
	}
	if (tr_agent_load_identity(&a, first) < 0)
		return 1;
	if (first && tr_agent_save_config(&a) < 0) {
		tr_agent_say("%s: %s", path, strerror(errno));
		return 1;
	}
	if (!a.enrolled && !a.token) {
		tr_agent_say("not enrolled yet: run once with --enroll TOKEN or --bundle FILE");
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The action layer on this site's plugins: the daemon's loader and
	 * connection cache, no store (each command brings its host's
	 * record). */
	tr_log_setup(TR_LOG_STDERR, TRELLIS_LOG_INFO, "trellis-agent");
	pthread_mutex_init(&a.mu, NULL);
	pthread_cond_init(&a.idle, NULL);
	pthread_cond_init(&a.work, NULL);
	a.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a.outtail = &a.outq;
	snprintf(path, sizeof path, "%s/hosts.json", dir);
	a.hosts = json_load_file(path, 0, NULL);
	if (!json_is_object(a.hosts)) {
		json_decref(a.hosts);
		a.hosts = json_object();
	}
	if (!a.report_ms)
		a.report_ms = 60000;
	/* The site's plugins, each with its section of the config (its
	 * schema, its init), as trellisd loads them: one the config names
	 * that does not load stops the agent here, before it connects. */
	char cpath[4200];
	snprintf(cpath, sizeof cpath, "%s/agent.yaml", dir);
	if (tr_agent_load_config(&a, config ? config : cpath, config != NULL) <
		0 ||
	    tr_agent_load_plugins(&a) < 0) {
		tr_registry_free(a.d.registry);
		tr_node_free(a.config);
		return 1;
	}
	a.d.conns = tr_conns_new(&a.d);
	tr_host_set_event_sink(agent_sink, &a);
	tr_actions_init();
	int rc = run(&a);
	pthread_mutex_lock(&a.mu); /* idle workers end; busy ones after */
	a.pool_stop = 1;
	pthread_cond_broadcast(&a.work);
	pthread_mutex_unlock(&a.mu);
	/* The plugins and connections go only once no command or report
	 * thread uses them: they are given 10 s to end (a plugin op cannot
	 * be cancelled), and past that the process ends with them. */
	pthread_mutex_lock(&a.mu);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	while (a.running &&
	       pthread_cond_timedwait(&a.idle, &a.mu, &until) == 0)
		;
	unsigned left = a.running;
	pthread_mutex_unlock(&a.mu);
	if (left) {
		tr_agent_say("%u command(s) still running at exit; leaving them", left);
		_exit(rc);
	}
	tr_conns_free(a.d.conns);
	tr_registry_free(a.d.registry); /* the plugins' threads stop */
	tr_node_free(a.config);
	tr_host_set_event_sink(NULL, NULL);
	json_decref(a.hosts);
	pthread_mutex_lock(&a.mu);
	for (unsigned i = 0; i < MAX_CMDS; i++)
		if (a.cmds[i].done)
			free(a.cmds[i].answer);
	for (struct out *o = a.outq, *n; o; o = n) {
		n = o->next;
		free(o->json);
		free(o);
	}
	a.outq = NULL;
	pthread_mutex_unlock(&a.mu);
	sodium_memzero(&a.id, sizeof a.id);
	for (int i = 0; i < a.neps; i++)
		free(a.eps[i]);
	if (a.token) {
		sodium_memzero(a.token, strlen(a.token));
		free(a.token);
	}
	return rc;
}
