/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_events.c - trellis events [--topic PREFIX]... [--count N]: the event
 * bus, one event a line, until Ctrl-C.
 *
 * It subscribes to the daemon's PUB socket (events.info says where) with
 * each --topic as a prefix (vm., host., workflow.step.; none: all).  A
 * line in table mode is "TIME TOPIC key=value..."; with -o json it is the
 * event's JSON object on one line (JSON Lines), for scripts and jq.
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/alloc.h"
#include "cli.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* "2026-12-04T18:40:01.123Z" from unix milliseconds. */
static void iso_ms(long long ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03lldZ", ms % 1000);
}

static void print_line(const struct cli *cli, const char *topic, json_t *ev)
{
	if (cli->format == CLI_FMT_JSON || cli->format == CLI_FMT_CSV) {
		json_dumpf(ev, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else if (cli->format == CLI_FMT_YAML) {
		printf("---\n");
		cli_print_yaml(stdout, ev);
	} else {
		char when[40] = "-";
		json_t *ts = json_object_get(ev, "ts");
		if (json_is_integer(ts))
			iso_ms(json_integer_value(ts), when, sizeof when);
		printf("%s  %-24s", when, topic);
		const char *k;
		json_t *v;
		json_object_foreach(ev, k, v)
		{
			if (!strcmp(k, "topic") || !strcmp(k, "ts"))
				continue;
			char *t = json_is_string(v)
				      ? tr_xstrdup(json_string_value(v))
				      : json_dumps(v, JSON_ENCODE_ANY |
							  JSON_COMPACT);
			printf(" %s=%s", k, t ? t : "");
			free(t);
		}
		fputc('\n', stdout);
	}
	fflush(stdout);
}

static int events_run(const struct cli *cli, const struct cli_verb *v,
		      int argc, char **argv)
{
	json_t *topics = json_array();
	long long count = -1;
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k], *val = NULL;
		int is_topic = 0;
		if ((!strcmp(a, "--topic") || !strcmp(a, "--count")) &&
		    k + 1 < argc) {
			is_topic = a[2] == 't';
			val = argv[++k];
		} else if (!strncmp(a, "--topic=", 8)) {
			is_topic = 1;
			val = a + 8;
		} else if (!strncmp(a, "--count=", 8)) {
			val = a + 8;
		} else {
			fprintf(stderr,
				"trellis events: %s '%s'\n(see: trellis events "
				"--help)\n",
				a[0] == '-' ? "unknown option (or no value)"
					    : "unexpected argument",
				a);
			json_decref(topics);
			return CLI_USAGE;
		}
		if (is_topic) {
			json_array_append_new(topics, json_string(val));
			continue;
		}
		char *end;
		count = strtoll(val, &end, 10);
		if (!*val || *end || count <= 0) {
			fprintf(stderr, "trellis events: --count expects a "
					"positive number, got '%s'\n",
				val);
			json_decref(topics);
			return CLI_USAGE;
		}
	}
	(void)v;
	char *url = cli_events_url(cli);
	if (!url) {
		/* Say why: the daemon's own error, or that it is not there. */
		json_t *res = NULL;
		if (cli_call(cli, "events.info", NULL, &res) == CLI_OK)
			fprintf(stderr, "trellis events: trellisd has no event "
					"bus (events.listen is not set)\n");
		json_decref(res);
		json_decref(topics);
		return CLI_FAILED;
	}
	int sock = nn_socket(AF_SP, NN_SUB);
	int tmo = 250, rc = CLI_FAILED;
	if (sock < 0) {
		fprintf(stderr, "trellis events: socket: %s\n",
			nn_strerror(nn_errno()));
		goto out;
	}
	size_t i;
	json_t *t;
	if (json_array_size(topics) == 0)
		json_array_append_new(topics, json_string(""));
	json_array_foreach(topics, i, t)
	{
		const char *p = json_string_value(t);
		if (nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE, p,
				  strlen(p)) < 0) {
			fprintf(stderr, "trellis events: subscribe '%s': %s\n",
				p, nn_strerror(nn_errno()));
			goto out;
		}
	}
	int maxsz = -1;
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &maxsz, sizeof maxsz);
	nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo, sizeof tmo);
	if (nn_connect(sock, url) < 0) {
		fprintf(stderr, "trellis events: %s: %s\n", url,
			nn_strerror(nn_errno()));
		goto out;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	if (cli->format == CLI_FMT_TABLE && isatty(2))
		fprintf(stderr, "(events from %s; Ctrl-C ends)\n", url);
	while (!stop && count != 0) {
		char topic[128];
		int err;
		json_t *ev = cli_event_recv(sock, topic, sizeof topic, &err);
		if (!ev && err) {
			if (err == ETIMEDOUT || err == EINTR || err == EAGAIN)
				continue;
			fprintf(stderr, "trellis events: %s\n", nn_strerror(err));
			goto out;
		}
		if (ev) {
			print_line(cli, topic, ev);
			if (count > 0)
				count--;
		}
		json_decref(ev);
	}
	rc = CLI_OK;
out:
	if (sock >= 0)
		nn_close(sock);
	free(url);
	json_decref(topics);
	return rc;
}

static const struct cli_opt opts[] = {
	{"--topic", "topic", CLI_STR, "PREFIX",
	 "only events whose topic starts so (vm., host., workflow.step.; "
	 "repeatable; none: all)",
	 0, NULL},
	{"--count", "count", CLI_INT, "N", "end after N events", 0, NULL},
	CLI_OPTS_END};

static const struct cli_verb self = {
	"events",
	"Stream the event bus, one event a line (-o json: one JSON object a "
	"line), until Ctrl-C",
	"events.info", NULL, NULL, opts, NULL, NULL, events_run};

const struct cli_noun cli_noun_events = {
	"events", "The event bus, live (trellis events --topic vm.)", NULL,
	&self};
