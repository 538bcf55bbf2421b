/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_workflow.c - trellis workflow run|status|list|logs|cancel|purge|defs|
 * validate|graph|watch|show, and trellis action list|show.
 *
 * validate, graph FILE and the action verbs work without a daemon: the
 * language and the action registry are linked in, so an operator can
 * check a file anywhere.  run --wait follows the daemon's event stream
 * (one line per finished step and a progress bar on a terminal) and
 * reconciles with workflow.status, so a lost event never hangs it.
 */
#include <errno.h>
#include <nanomsg/nn.h>
#include <nanomsg/pubsub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../host/exec.h"
#include "../host/host.h"
#include "../util/alloc.h"
#include "../util/clock.h"
#include "../workflow/wf.h"
#include "cli.h"

static int usage(const char *verb, const char *fmt, const char *arg)
{
	fprintf(stderr, "trellis workflow %s: ", verb);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see trellis workflow %s --help)\n", verb);
	return CLI_USAGE;
}

static int is_file(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char tmp[8192];
	size_t r;
	while (m && (r = fread(tmp, 1, sizeof tmp, f)) > 0)
		fwrite(tmp, 1, r, m);
	fclose(f);
	if (m)
		fclose(m);
	return buf;
}

/* ---- validate (offline) ---- */

static int wf_validate(const struct cli *cli, const struct cli_verb *v,
		       int argc, char **argv)
{
	(void)v;
	if (argc == 0)
		return usage("validate", "%s", "give one or more FILEs");
	tr_actions_init();
	int bad = 0;
	json_t *files = json_array();
	for (int k = 0; k < argc; k++) {
		struct tr_wf *wf;
		struct tr_wf_errors errs;
		int rc = tr_wf_load_file(argv[k], &wf, &errs);
		json_t *a = json_array();
		for (size_t m = 0; m < errs.n; m++) {
			json_array_append_new(a, json_string(errs.msg[m]));
			if (cli->format == CLI_FMT_TABLE)
				printf("%s\n", errs.msg[m]);
		}
		json_t *o = json_pack("{s:s, s:b, s:o}", "file", argv[k], "ok",
				      rc == 0, "errors", a);
		if (rc == 0) {
			json_object_set_new(o, "workflow", json_string(wf->name));
			if (cli->format == CLI_FMT_TABLE)
				printf("%s: ok (workflow %s, %zu steps)\n",
				       argv[k], wf->name, wf->n_steps);
			tr_wf_free(wf);
		} else {
			bad = 1;
		}
		tr_wf_errors_free(&errs);
		json_array_append_new(files, o);
	}
	if (cli->format != CLI_FMT_TABLE) {
		json_t *res = json_pack("{s:b, s:o}", "ok", !bad, "files", files);
		cli_print(cli, res, NULL, NULL);
		json_decref(res);
	} else {
		json_decref(files);
	}
	return bad ? CLI_FAILED : CLI_OK;
}

/* ---- graph ---- */

/* A definition from a local file, or by name from the daemon. */
static struct tr_wf *load_def(const struct cli *cli, const char *what,
			      int *rc)
{
	tr_actions_init();
	struct tr_wf *wf = NULL;
	struct tr_wf_errors errs;
	char *src = NULL;
	const char *file = what;
	json_t *res = NULL;
	if (is_file(what)) {
		src = slurp(what);
	} else {
		*rc = cli_call(cli, "workflow.def", json_pack("{s:s}", "name", what),
			       &res);
		if (*rc != CLI_OK)
			return NULL;
		src = tr_xstrdup(json_string_value(json_object_get(res, "source")));
		file = json_string_value(json_object_get(res, "file"));
	}
	if (!src) {
		fprintf(stderr, "trellis: %s: %s\n", what, strerror(errno));
		*rc = CLI_FAILED;
		json_decref(res);
		return NULL;
	}
	if (tr_wf_load_string(file ? file : what, src, strlen(src), &wf,
			      &errs) != 0) {
		for (size_t m = 0; m < errs.n; m++)
			fprintf(stderr, "%s\n", errs.msg[m]);
		*rc = CLI_FAILED;
	}
	tr_wf_errors_free(&errs);
	free(src);
	json_decref(res);
	return wf;
}

static int wf_graph(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv)
{
	(void)v;
	const char *what = NULL, *format = "dot";
	for (int k = 0; k < argc; k++) {
		if (strcmp(argv[k], "--format") == 0 && k + 1 < argc)
			format = argv[++k];
		else if (strncmp(argv[k], "--format=", 9) == 0)
			format = argv[k] + 9;
		else if (argv[k][0] == '-')
			return usage("graph", "unknown option %s", argv[k]);
		else if (!what)
			what = argv[k];
		else
			return usage("graph", "unexpected argument '%s'",
				     argv[k]);
	}
	if (!what)
		return usage("graph", "%s", "missing NAME or FILE");
	if (strcmp(format, "dot") && strcmp(format, "svg"))
		return usage("graph", "unknown format '%s' (dot or svg)",
			     format);
	int rc = CLI_OK;
	struct tr_wf *wf = load_def(cli, what, &rc);
	if (!wf)
		return rc == CLI_OK ? CLI_FAILED : rc;
	char *dot = tr_wf_dot(wf);
	tr_wf_free(wf);
	if (!dot)
		return CLI_FAILED;
	if (strcmp(format, "dot") == 0) {
		fputs(dot, stdout);
		free(dot);
		return CLI_OK;
	}
	char *svg = NULL, err[512];
	if (tr_wf_dot_svg(dot, &svg, err, sizeof err) < 0) {
		fprintf(stderr, "trellis: %s\n", err);
		rc = CLI_FAILED;
	} else {
		fputs(svg, stdout);
	}
	free(svg);
	free(dot);
	tr_host_shutdown();
	return rc;
}

/* ---- run ---- */

struct progress {
	int tty;
	FILE *lines; /* step lines: stdout, or stderr where stdout is
		      * -o json|yaml and must hold that alone */
	long long total, done;
	json_t *seen; /* step ids already printed */
};

static void bar(struct progress *p)
{
	if (!p->tty || p->total <= 0)
		return;
	int w = 30, fill = (int)(p->done * w / p->total);
	fprintf(stderr, "\r[");
	for (int k = 0; k < w; k++)
		fputc(k < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %lld/%lld steps", p->done, p->total);
	fflush(stderr);
}

static void step_line(struct progress *p, const char *step, const char *call,
		      const char *state, long long ms, const char *error)
{
	if (!step || json_object_get(p->seen, step))
		return;
	json_object_set_new(p->seen, step, json_true());
	p->done++;
	if (p->tty)
		fprintf(stderr, "\r%50s\r", "");
	fprintf(p->lines, "  %-10s %-24s %-26s %8.1fs%s%s\n", state, step,
		call ? call : "", ms / 1000.0, error ? "  " : "",
		error ? error : "");
	fflush(p->lines);
	bar(p);
}

/* Prints steps that the journal says finished and were not printed. */
static int catch_up(const struct cli *cli, const char *id,
		    struct progress *p, json_t **status)
{
	json_t *logs = NULL;
	if (cli_call(cli, "workflow.logs", json_pack("{s:s}", "id", id),
		     &logs) != CLI_OK)
		return -1;
	json_t *steps = json_object_get(logs, "steps");
	p->total = (long long)json_array_size(steps);
	size_t k;
	json_t *s;
	json_array_foreach(steps, k, s)
	{
		const char *st = json_string_value(json_object_get(s, "state"));
		if (!st || !strcmp(st, "pending") || !strcmp(st, "running") ||
		    !strcmp(st, "retrying"))
			continue;
		step_line(p, json_string_value(json_object_get(s, "step")),
			  json_string_value(json_object_get(s, "call")), st,
			  json_integer_value(json_object_get(s, "duration_ms")),
			  json_string_value(json_object_get(s, "error")));
	}
	json_object_del(logs, "steps");
	*status = logs;
	return 0;
}

/* Prints an instance's outputs (table mode, after it succeeded): what a
 * script or an operator needs next (a VM's uuid, pool, claim), as a
 * key/value view. */
static void print_outputs(const struct cli *cli, json_t *status)
{
	json_t *outs = json_object_get(status, "outputs");
	if (json_object_size(outs))
		cli_print(cli, outs, NULL, NULL);
}

/* Where the event bus is (events.info), or NULL: then a follower polls
 * the journal only. */
char *cli_events_url(const struct cli *cli)
{
	json_t *res = NULL;
	struct cli quiet = *cli;
	quiet.format = CLI_FMT_TABLE;
	if (cli_call_quiet(&quiet, "events.info", NULL, &res) != CLI_OK)
		return NULL;
	const char *u = json_string_value(json_object_get(res, "listen"));
	char *url = u ? tr_xstrdup(u) : NULL;
	json_decref(res);
	return url;
}

/* Follows instance id to its end: one line per finished step (and a
 * progress bar on a terminal, unless bar is 0), then the result.  The
 * exit status is the instance's: 0 succeeded, 1 failed or cancelled. */
int cli_wf_follow(const struct cli *cli, const char *id, const char *events,
		  int with_bar)
{
	struct progress p = {.tty = with_bar && isatty(2),
			     .lines = cli->format == CLI_FMT_TABLE ? stdout
								    : stderr,
			     .seen = json_object()};
	int sock = -1;
	if (events) {
		sock = nn_socket(AF_SP, NN_SUB);
		int tmo = 250;
		if (sock < 0 ||
		    nn_setsockopt(sock, NN_SUB, NN_SUB_SUBSCRIBE, "workflow.",
				  9) < 0 ||
		    nn_setsockopt(sock, NN_SOL_SOCKET, NN_RCVTIMEO, &tmo,
				  sizeof tmo) < 0 ||
		    nn_connect(sock, events) < 0) {
			if (sock >= 0)
				nn_close(sock);
			sock = -1;
		}
	}
	json_t *status = NULL;
	long long next_poll = 0;
	int rc = CLI_FAILED;
	for (;;) {
		if ((long long)tr_now_ms() >= next_poll) {
			json_decref(status);
			status = NULL;
			if (catch_up(cli, id, &p, &status) < 0)
				goto out;
			if (cli_final_state(json_string_value(
				    json_object_get(status, "state"))))
				break;
			next_poll = (long long)tr_now_ms() + (sock >= 0 ? 1000 : 250);
		}
		if (sock < 0) {
			usleep(250 * 1000);
			continue;
		}
		int err;
		json_t *ev = cli_event_recv(sock, NULL, 0, &err);
		if (!ev)
			continue;
		const char *eid = json_string_value(json_object_get(ev, "id"));
		const char *topic =
			json_string_value(json_object_get(ev, "topic"));
		if (eid && topic && strcmp(eid, id) == 0) {
			if (!strcmp(topic, "workflow.step.finished")) {
				p.total = json_integer_value(
					json_object_get(ev, "total"));
				step_line(&p,
					  json_string_value(json_object_get(ev, "step")),
					  json_string_value(json_object_get(ev, "call")),
					  json_string_value(json_object_get(ev, "state")),
					  json_integer_value(json_object_get(ev, "duration_ms")),
					  json_string_value(json_object_get(ev, "error")));
			} else if (!strcmp(topic, "workflow.finished")) {
				next_poll = 0; /* the journal has the rest */
			}
		}
		json_decref(ev);
	}
	if (p.tty)
		fprintf(stderr, "\r%60s\r", "");
	const char *st = json_string_value(json_object_get(status, "state"));
	const char *comp =
		json_string_value(json_object_get(status, "compensation"));
	if (cli->format != CLI_FMT_TABLE) {
		cli_print(cli, status, NULL, NULL);
	} else if (!strcmp(st, "succeeded")) {
		printf("workflow %s succeeded\n", id);
		print_outputs(cli, status);
	} else {
		const char *fs =
			json_string_value(json_object_get(status, "failed_step"));
		fprintf(stderr, "workflow %s %s%s%s: %s\n", id, st,
			fs ? " at step " : "", fs ? fs : "",
			json_string_value(json_object_get(status, "error")));
		if (comp)
			fprintf(stderr, "compensation: %s\n", comp);
		json_t *lb = json_object_get(status, "left_behind");
		size_t k;
		json_t *x;
		json_array_foreach(lb, k, x)
		{
			fprintf(stderr, "left behind: step %s (%s failed: %s)\n",
				json_string_value(json_object_get(x, "step")),
				json_string_value(json_object_get(x, "undo")),
				json_string_value(json_object_get(x, "error")));
		}
	}
	rc = st && !strcmp(st, "succeeded") ? CLI_OK : CLI_FAILED;
out:
	if (sock >= 0)
		nn_close(sock);
	json_decref(status);
	json_decref(p.seen);
	return rc;
}

static int start(const struct cli *cli, json_t *args, int wait);

static int wf_run(const struct cli *cli, const struct cli_verb *v, int argc,
		  char **argv)
{
	(void)v;
	const char *what = NULL;
	int wait = isatty(1);
	json_t *inputs = json_object();
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k], *kv = NULL;
		if ((!strcmp(a, "--input") || !strcmp(a, "-i")) && k + 1 < argc)
			kv = argv[++k];
		else if (!strncmp(a, "--input=", 8))
			kv = a + 8;
		else if (!strcmp(a, "--wait"))
			wait = 1;
		else if (!strcmp(a, "--no-wait"))
			wait = 0;
		else if (a[0] == '-') {
			json_decref(inputs);
			return usage("run", "unknown option %s", a);
		} else if (!what) {
			what = a;
		} else {
			json_decref(inputs);
			return usage("run", "unexpected argument '%s'", a);
		}
		if (kv) {
			const char *eq = strchr(kv, '=');
			if (!eq || eq == kv) {
				json_decref(inputs);
				return usage("run", "--input wants KEY=VALUE, "
						    "got '%s'",
					     kv);
			}
			char key[256];
			snprintf(key, sizeof key, "%.*s", (int)(eq - kv), kv);
			/* K=@FILE reads the value from a file, so a secret
			 * need not sit on the command line (ps, history). */
			char *val = eq[1] == '@' ? slurp(eq + 2) : tr_xstrdup(eq + 1);
			if (!val) {
				fprintf(stderr, "trellis: --input %s: %s: %s\n",
					key, eq + 2, strerror(errno));
				json_decref(inputs);
				return CLI_FAILED;
			}
			size_t vl = strlen(val);
			if (eq[1] == '@' && vl && val[vl - 1] == '\n')
				val[--vl] = '\0';
			json_t *js = json_string(val);
			free(val);
			if (!js) {
				fprintf(stderr, "trellis: --input %s: not UTF-8 "
						"text\n",
					key);
				json_decref(inputs);
				return CLI_FAILED;
			}
			json_object_set_new(inputs, key, js);
		}
	}
	if (!what) {
		json_decref(inputs);
		return usage("run", "%s", "missing NAME or FILE");
	}
	json_t *args = json_pack("{s:o}", "inputs", inputs);
	if (is_file(what)) {
		char *src = slurp(what);
		if (!src) {
			fprintf(stderr, "trellis: %s: %s\n", what,
				strerror(errno));
			json_decref(args);
			return CLI_FAILED;
		}
		json_object_set_new(args, "source", json_string(src));
		json_object_set_new(args, "file", json_string(what));
		free(src);
	} else {
		json_object_set_new(args, "workflow", json_string(what));
	}
	return start(cli, args, wait);
}

static int start(const struct cli *cli, json_t *args, int wait)
{
	json_t *res = NULL;
	/* An unknown name: the daemon's answer has its guess. */
	int rc = cli_call(cli, "workflow.run", args, &res);
	if (rc != CLI_OK)
		return rc;
	const char *id = json_string_value(json_object_get(res, "id"));
	if (!wait) {
		if (cli->format == CLI_FMT_TABLE)
			printf("%s\n", id);
		else
			cli_print(cli, res, NULL, NULL);
		json_decref(res);
		return CLI_OK;
	}
	if (cli->format == CLI_FMT_TABLE)
		printf("workflow %s started\n", id);
	rc = cli_wf_follow(cli, id,
			   json_string_value(json_object_get(res, "events")), 1);
	json_decref(res);
	return rc;
}

int cli_wf_start(const struct cli *cli, const char *workflow, json_t *inputs,
		 int wait)
{
	if (wait < 0)
		wait = isatty(1);
	return start(cli, json_pack("{s:s, s:o}", "workflow", workflow,
				    "inputs", inputs),
		     wait);
}

/* ---- logs ---- */

static const struct cli_col log_cols[] = {
	{"STEP", "step"},	  {"CALL", "call"},
	{"STATE", "state"},	  {"ATTEMPTS", "attempts"},
	{"MS", "duration_ms"},	  {"UNDO", "undo_state"},
	{"ERROR", "error"},	  CLI_COLS_END};

/* watch ID (and logs ID --follow): the instance's steps as they finish,
 * to its end; the exit status is the instance's. */
static int watch(const struct cli *cli, const char *id, int with_bar)
{
	json_t *res = NULL;
	int rc = cli_call(cli, "workflow.status", json_pack("{s:s}", "id", id),
			  &res);
	if (rc != CLI_OK)
		return rc;
	if (cli->format == CLI_FMT_TABLE)
		printf("workflow %s (%s): %s\n", id,
		       json_string_value(json_object_get(res, "workflow")),
		       json_string_value(json_object_get(res, "state")));
	json_decref(res);
	char *events = cli_events_url(cli);
	rc = cli_wf_follow(cli, id, events, with_bar);
	free(events);
	return rc;
}

static int wf_watch(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "workflow", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	char id[128];
	snprintf(id, sizeof id, "%s",
		 json_string_value(json_object_get(args, "id")));
	json_decref(args);
	return watch(cli, id, 1);
}

static int wf_logs(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	json_t *args = NULL, *res = NULL;
	int rc = cli_parse_args(v, "workflow", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	if (json_is_true(json_object_get(args, "follow"))) {
		char id[128];
		snprintf(id, sizeof id, "%s",
			 json_string_value(json_object_get(args, "id")));
		json_decref(args);
		return watch(cli, id, 0);
	}
	rc = cli_call(cli, "workflow.logs", args, &res);
	if (rc != CLI_OK)
		return rc;
	if (cli->format == CLI_FMT_TABLE) {
		printf("%s %s: %s\n",
		       json_string_value(json_object_get(res, "id")),
		       json_string_value(json_object_get(res, "workflow")),
		       json_string_value(json_object_get(res, "state")));
		cli_print(cli, res, log_cols, "steps");
	} else {
		cli_print(cli, res, NULL, NULL);
	}
	json_decref(res);
	return CLI_OK;
}

/* ---- show ---- */

static const char *type_name(enum tr_type t)
{
	return tr_type_str(t);
}

/* A default as an operator would type it: 30m for a duration (kept in
 * ms), a string unquoted (a new string). */
static char *default_text(const struct tr_wf_input *in)
{
	if (!in->def)
		return tr_xstrdup(in->required ? "(required)" : "-");
	if (in->type == TR_T_DURATION && json_is_integer(in->def)) {
		long long ms = json_integer_value(in->def);
		static const struct {
			long long ms;
			const char *unit;
		} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"},
			     {1000, "s"}};
		char buf[32];
		snprintf(buf, sizeof buf, "%lldms", ms);
		for (size_t i = 0; ms && i < sizeof units / sizeof *units; i++)
			if (ms % units[i].ms == 0) {
				snprintf(buf, sizeof buf, "%lld%s",
					 ms / units[i].ms, units[i].unit);
				break;
			}
		return tr_xstrdup(buf);
	}
	if (json_is_string(in->def))
		return tr_xstrdup(*json_string_value(in->def)
					  ? json_string_value(in->def)
					  : "\"\"");
	char *d = json_dumps(in->def, JSON_ENCODE_ANY);
	return d ? d : tr_xstrdup("?");
}

static int wf_show(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "workflow", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	const char *what = json_string_value(json_object_get(args, "name"));
	rc = CLI_OK;
	struct tr_wf *wf = load_def(cli, what, &rc);
	if (!wf) {
		json_decref(args);
		return rc == CLI_OK ? CLI_FAILED : rc;
	}
	json_decref(args);
	if (cli->format != CLI_FMT_TABLE) {
		json_t *j = tr_wf_json(wf);
		cli_print(cli, j, NULL, NULL);
		json_decref(j);
		tr_wf_free(wf);
		return CLI_OK;
	}
	printf("%s (version %lld, priority %s", wf->name, wf->version,
	       wf->priority == TR_WF_PRIO_HIGH ? "high" : "normal");
	if (wf->timeout_ms)
		printf(", timeout %llds", wf->timeout_ms / 1000);
	printf(")\n%s\n", wf->description ? wf->description : "");
	if (wf->file)
		printf("file: %s\n", wf->file);
	printf("\nInputs:\n");
	size_t w = 4;
	for (size_t i = 0; i < wf->n_inputs; i++)
		if (strlen(wf->inputs[i].name) > w)
			w = strlen(wf->inputs[i].name);
	printf("  %-*s  %-8s  %-12s  %s\n", (int)w, "NAME", "TYPE", "DEFAULT",
	       "DESCRIPTION");
	for (size_t i = 0; i < wf->n_inputs; i++) {
		const struct tr_wf_input *in = &wf->inputs[i];
		char *def = default_text(in);
		printf("  %-*s  %-8s  %-12s  %s\n", (int)w, in->name,
		       type_name(in->type), def,
		       in->description ? in->description : "");
		free(def);
	}
	printf("\nSteps:\n");
	w = 2;
	for (size_t i = 0; i < wf->n_steps; i++)
		if (strlen(wf->steps[i].id) > w)
			w = strlen(wf->steps[i].id);
	for (size_t i = 0; i < wf->n_steps; i++) {
		const struct tr_wf_step *st = &wf->steps[i];
		printf("  %-*s  %-30s", (int)w, st->id, st->call ? st->call : "");
		if (st->n_deps) {
			printf(" needs ");
			for (size_t k = 0; k < st->n_deps; k++)
				printf("%s%s", k ? "," : "",
				       wf->steps[st->deps[k]].id);
		}
		if (st->when)
			printf(" (when)");
		if (st->undo_action)
			printf(" undo %s", st->undo_action->name);
		printf("\n");
	}
	const char *k;
	json_t *o;
	if (json_object_size(wf->outputs))
		printf("\nOutputs:\n");
	json_object_foreach(wf->outputs, k, o)
	{
		char *t = json_is_string(o) ? tr_xstrdup(json_string_value(o))
					    : json_dumps(o, JSON_ENCODE_ANY);
		printf("  %s: %s\n", k, t ? t : "");
		free(t);
	}
	tr_wf_free(wf);
	return CLI_OK;
}

/* ---- the declarations ---- */

static const char *const STATES[] = {"queued",	  "running", "compensating",
				     "succeeded", "failed",  "cancelled",
				     NULL};

static const struct cli_opt logs_opts[] = {
	{"--follow", "follow", CLI_FLAG, NULL,
	 "print each step as it finishes, until the instance ends (exit "
	 "status: the instance's)",
	 0, NULL},
	CLI_OPTS_END};

static const struct cli_opt list_opts[] = {
	{"--state", "state", CLI_STR, "STATE", "only instances in this state",
	 0, STATES},
	{"--limit", "limit", CLI_INT, "N", "at most N rows (default 1000)", 0,
	 NULL},
	CLI_OPTS_END};

static const struct cli_opt purge_opts[] = {
	{"--older-than", "older_than", CLI_STR, "AGE",
	 "instances that finished longer ago than AGE (30d, 12h; 0: every "
	 "finished one)",
	 1, NULL},
	CLI_OPTS_END};

static const struct cli_col list_cols[] = {
	{"ID", "id"},		  {"WORKFLOW", "workflow"},
	{"STATE", "state"},	  {"STARTED", "created_at"},
	{"COMPENSATION", "compensation"},
	{"FAILED STEP", "failed_step"}, {"ERROR", "error"},
	CLI_COLS_END};

static const struct cli_col def_cols[] = {
	{"NAME", "name"},	  {"VERSION", "version"},
	{"PRIORITY", "priority"}, {"FILE", "file"},
	{"DESCRIPTION", "description"}, CLI_COLS_END};

static const struct cli_verb wf_verbs[] = {
    {.name = "run",
     .summary =
	 "Start NAME or FILE [--input K=V|K=@FILE]... [--wait|--no-wait]; "
	 "waits by default on a terminal, showing each step and then the "
	 "outputs.  Without a terminal and without --wait it prints the id "
	 "and exits 0 once the instance is started, not done (follow it with "
	 "workflow watch ID); with --wait the exit status is the instance's: "
	 "0 succeeded, 1 failed or cancelled",
     .op = "workflow.run",
     .pos_metavar = "NAME|FILE",
     .run = wf_run},
    {.name = "watch",
     .summary =
	 "Follow an instance to its end: each step as it finishes, a "
	 "progress bar on a terminal, then the outputs (exit status: the "
	 "instance's)",
     .op = "workflow.status",
     .positional = "id",
     .pos_metavar = "ID",
     .run = wf_watch},
    {.name = "show",
     .summary = "A workflow's inputs (type, default, description), steps and "
		"outputs, by NAME from the daemon or from a FILE",
     .op = "workflow.def",
     .positional = "name",
     .pos_metavar = "NAME|FILE",
     .run = wf_show},
    {.name = "status",
     .summary = "State of an instance",
     .op = "workflow.status",
     .positional = "id",
     .pos_metavar = "ID"},
    {.name = "list",
     .summary = "Instances, newest first",
     .op = "workflow.list",
     .opts = list_opts,
     .cols = list_cols,
     .list_key = "items"},
    {.name = "logs",
     .summary = "The step journal of an instance (--follow: as it grows)",
     .op = "workflow.logs",
     .positional = "id",
     .pos_metavar = "ID",
     .opts = logs_opts,
     .run = wf_logs},
    {.name = "cancel",
     .summary = "Stop an instance and compensate what it made",
     .op = "workflow.cancel",
     .positional = "id",
     .pos_metavar = "ID"},
    {.name = "purge",
     .summary =
	 "Remove finished instances from the journal --older-than AGE "
	 "(workflows.retention does it by itself); never one an unfinished "
	 "instance may still need",
     .op = "workflow.purge",
     .opts = purge_opts},
    {.name = "defs",
     .summary = "The workflow definitions the daemon loaded",
     .op = "workflow.defs",
     .cols = def_cols,
     .list_key = "items"},
    {.name = "validate",
     .summary = "Check FILE... without a daemon; every error as FILE:LINE:COL "
		"(exit 1 on any)",
     .op = "workflow.validate",
     .pos_metavar = "FILE...",
     .run = wf_validate},
    {.name = "graph",
     .summary = "The DAG of NAME or FILE --format dot|svg (Graphviz)",
     .op = "workflow.def",
     .pos_metavar = "NAME|FILE",
     .run = wf_graph},
    CLI_VERBS_END};

const struct cli_noun cli_noun_workflow = {
	"workflow", "Workflows: run, watch, show, cancel, validate", wf_verbs, NULL};
