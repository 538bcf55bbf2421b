/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the workflow language (core/workflow: expr.c, load.c,
 * check.c, graph.c), including the corpus of broken files in corpus/:
 * each NAME.yaml must give exactly the lines of NAME.expected.
 * WF_CORPUS_REGEN=1 rewrites the .expected files (review the diff!). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/host/host.h"
#include "../../../core/workflow/expr.h"
#include "../../../core/workflow/wf.h"

static struct tr_wf *load_ok(const char *yaml)
{
	struct tr_wf *wf;
	struct tr_wf_errors e;
	int rc = tr_wf_load_string("t.yaml", yaml, strlen(yaml), &wf, &e);
	for (size_t i = 0; i < e.n; i++)
		print_message("%s\n", e.msg[i]);
	assert_int_equal(rc, 0);
	tr_wf_errors_free(&e);
	return wf;
}

/* All error lines joined by '\n'. */
static char *load_errors(const char *name, const char *yaml, size_t len)
{
	struct tr_wf *wf;
	struct tr_wf_errors e;
	int rc = tr_wf_load_string(name, yaml, len, &wf, &e);
	char *buf = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&buf, &blen);
	for (size_t i = 0; i < e.n; i++)
		fprintf(f, "%s\n", e.msg[i]);
	fclose(f);
	if (rc == 0) {
		assert_int_equal(e.n, 0);
		tr_wf_free(wf);
	} else {
		assert_true(e.n > 0);
		assert_null(wf);
	}
	tr_wf_errors_free(&e);
	return buf;
}

static json_t *lookup(void *arg, const struct tr_ref *ref, char *err,
		      size_t errlen)
{
	json_t *ctx = arg;
	const char *ns = ref->ns == TR_REF_INPUTS ? "inputs"
			 : ref->ns == TR_REF_STEPS ? "steps"
						   : "secrets";
	json_t *v = json_object_get(json_object_get(ctx, ns), ref->name);
	if (ref->ns == TR_REF_STEPS)
		v = json_object_get(v, ref->field);
	if (!v)
		snprintf(err, errlen, "no value for %s", ref->text);
	return v;
}

static void test_expressions(void **st)
{
	(void)st;
	json_t *ctx = json_pack("{s:{s:i, s:s, s:b}, s:{s:{s:{s:s}}}, s:{s:s}}",
				"inputs", "n", 42, "name", "web", "flag", 1,
				"steps", "vm", "info", "host", "h1", "secrets",
				"pw", "hunter2");
	char err[256];
	json_t *t = json_pack("{s:s, s:s, s:[s, i], s:s, s:s, s:s}", "n",
			      "${inputs.n}", "s", "vm-${inputs.name}-${inputs.n}",
			      "list", "${ inputs.flag }", 7, "deep",
			      "${steps.vm.info.host}", "lit", "$${inputs.n}",
			      "pw", "${secrets.pw}");
	json_t *r = tr_expr_eval(t, lookup, ctx, err, sizeof err);
	assert_non_null(r);
	/* exactly one expression keeps its type */
	assert_true(json_is_integer(json_object_get(r, "n")));
	assert_int_equal(json_integer_value(json_object_get(r, "n")), 42);
	assert_string_equal(json_string_value(json_object_get(r, "s")),
			    "vm-web-42");
	assert_true(json_is_true(json_array_get(json_object_get(r, "list"), 0)));
	assert_string_equal(json_string_value(json_object_get(r, "lit")),
			    "${inputs.n}");
	assert_string_equal(json_string_value(json_object_get(r, "pw")),
			    "hunter2");
	json_decref(r);
	json_decref(t);

	t = json_string("${steps.vm.info.nothere}");
	assert_null(tr_expr_eval(t, lookup, ctx, err, sizeof err));
	json_decref(t);
	t = json_string("x ${inputs.missing}");
	assert_null(tr_expr_eval(t, lookup, ctx, err, sizeof err));
	assert_string_equal(err, "no value for ${inputs.missing}");
	json_decref(t);
	/* when: comparisons and negation */
	struct {
		const char *w;
		int want;
	} whens[] = {
		{"${inputs.name} == 'web'", 1},
		{"${inputs.name} == \"db\"", 0},
		{"${inputs.name} != db", 1},
		{"${inputs.n} == 42", 1},
		{"!${inputs.flag}", 0},
		{"! ${inputs.name} == web", 0},
		{"${inputs.flag}", 1},
		{"vm-${inputs.name} == vm-web", 1},
	};
	for (size_t k = 0; k < sizeof whens / sizeof *whens; k++) {
		json_t *w = json_string(whens[k].w);
		int truth = -1;
		assert_int_equal(tr_expr_when(w, lookup, ctx, &truth, err,
					      sizeof err),
				 0);
		if (truth != whens[k].want)
			fail_msg("when '%s': got %d", whens[k].w, truth);
		json_decref(w);
	}
	json_t *w = json_false();
	int truth = -1;
	assert_int_equal(tr_expr_when(w, lookup, ctx, &truth, err, sizeof err),
			 0);
	assert_int_equal(truth, 0);
	json_decref(w);
	w = json_string("${inputs.missing} == x");
	assert_int_equal(tr_expr_when(w, lookup, ctx, &truth, err, sizeof err),
			 -1);
	json_decref(w);
	json_decref(ctx);

	struct tr_ref ref;
	assert_true(tr_expr_single("${steps.a.b}", &ref));
	assert_int_equal(ref.ns, TR_REF_STEPS);
	assert_string_equal(ref.name, "a");
	assert_string_equal(ref.field, "b");
	assert_false(tr_expr_single("${inputs.a} ${inputs.b}", &ref));
	assert_false(tr_expr_single("x${inputs.a}", &ref));
	assert_int_equal(tr_expr_scan("${inputs.a", NULL, NULL, err, sizeof err),
			 -1);
	assert_int_equal(tr_expr_scan("${input.a}", NULL, NULL, err, sizeof err),
			 -1);
	assert_int_equal(tr_expr_scan("${steps.a}", NULL, NULL, err, sizeof err),
			 -1);

	json_t *f = json_false(), *z = json_integer(0), *s = json_string("no"),
	       *y = json_string("yes");
	assert_false(tr_expr_truthy(f));
	assert_false(tr_expr_truthy(z));
	assert_false(tr_expr_truthy(s));
	assert_true(tr_expr_truthy(y));
	json_decref(f);
	json_decref(z);
	json_decref(s);
	json_decref(y);
}

static const char *GOOD =
	"workflow: good.one\n"
	"version: 2\n"
	"priority: high\n"
	"timeout: 1m\n"
	"inputs:\n"
	"  name: {type: string}\n"
	"  wait: {type: duration, default: 20ms}\n"
	"  size: {type: size, default: 1G}\n"
	"  pw: secret\n"
	"  verbose: {type: bool, default: false}\n"
	"steps:\n"
	"  - id: first\n"
	"    call: core.sleep\n"
	"    with: {duration: \"${inputs.wait}\"}\n"
	"    retry: {attempts: 3, backoff: 10ms, max_backoff: 1s}\n"
	"    timeout: 5s\n"
	"    undo: {call: core.log, with: {message: \"undo ${inputs.name}\"}}\n"
	"  - id: second\n"
	"    call: core.log\n"
	"    with: {message: \"slept ${steps.first.slept_ms}\"}\n"
	"  - id: third\n"
	"    call: core.log\n"
	"    needs: first\n"
	"    when: \"${inputs.verbose}\"\n"
	"    with: {message: {nested: \"${inputs.size}\"}}\n"
	"    continue_on_error: true\n"
	"    enabled: false\n"
	"    priority: high\n"
	"  - id: last\n"
	"    call: exec\n"
	"    needs: [second, third]\n"
	"    with: {command: [\"true\"], success_codes: [0, 1]}\n"
	"outputs:\n"
	"  slept: \"${steps.first.slept_ms}\"\n";

static void test_good_workflow(void **st)
{
	(void)st;
	struct tr_wf *wf = load_ok(GOOD);
	assert_string_equal(wf->name, "good.one");
	assert_int_equal(wf->version, 2);
	assert_int_equal(wf->priority, TR_WF_PRIO_HIGH);
	assert_int_equal(wf->timeout_ms, 60000);
	assert_int_equal(wf->n_inputs, 5);
	assert_int_equal(json_integer_value(wf->inputs[1].def), 20);
	assert_int_equal(json_integer_value(wf->inputs[2].def), 1LL << 30);
	assert_true(wf->inputs[0].required);
	assert_false(wf->inputs[1].required);
	assert_int_equal(wf->inputs[3].type, TR_T_SECRET);
	assert_int_equal(wf->n_steps, 4);
	const struct tr_wf_step *s = &wf->steps[0];
	assert_int_equal(s->attempts, 3);
	assert_int_equal(s->backoff_ms, 10);
	assert_int_equal(s->max_backoff_ms, 1000);
	assert_int_equal(s->timeout_ms, 5000);
	assert_string_equal(s->undo_action->name, "core.log");
	assert_int_equal(s->n_deps, 0);
	/* implicit dependency from ${steps.first...} */
	size_t idx;
	s = tr_wf_step_find(wf, "second", &idx);
	assert_int_equal(idx, 1);
	assert_int_equal(s->n_deps, 1);
	assert_int_equal(s->deps[0], 0);
	s = tr_wf_step_find(wf, "third", NULL);
	assert_false(s->enabled);
	assert_true(s->continue_on_error);
	assert_int_equal(s->priority, 10);
	assert_non_null(s->when);
	assert_int_equal(wf->steps[3].n_deps, 2);
	assert_null(tr_wf_step_find(wf, "nope", NULL));

	char err[256];
	json_t *given = json_pack("{s:s, s:s, s:s}", "name", "x", "wait", "1s",
				  "pw", "s3cret");
	json_t *bound;
	assert_int_equal(tr_wf_inputs_bind(wf, given, &bound, err, sizeof err),
			 0);
	assert_int_equal(json_integer_value(json_object_get(bound, "wait")),
			 1000);
	assert_true(json_is_false(json_object_get(bound, "verbose")));
	json_decref(bound);
	json_object_del(given, "name");
	assert_int_equal(tr_wf_inputs_bind(wf, given, &bound, err, sizeof err),
			 -1);
	assert_string_equal(err, "missing required input 'name' (string)");
	json_object_set_new(given, "name", json_string("x"));
	json_object_set_new(given, "bogus", json_string("x"));
	assert_int_equal(tr_wf_inputs_bind(wf, given, &bound, err, sizeof err),
			 -1);
	assert_string_equal(err, "workflow good.one has no input 'bogus' (see "
				 "trellis workflow show good.one)");
	json_object_del(given, "bogus");
	json_object_set_new(given, "verbose", json_string("maybe"));
	assert_int_equal(tr_wf_inputs_bind(wf, given, &bound, err, sizeof err),
			 -1);
	json_decref(given);

	char *dot = tr_wf_dot(wf);
	assert_non_null(strstr(dot, "\"first\" -> \"second\";"));
	assert_non_null(strstr(dot, "\"second\" -> \"last\";"));
	free(dot);
	json_t *j = tr_wf_json(wf);
	assert_int_equal(json_array_size(json_object_get(j, "steps")), 4);
	json_decref(j);
	tr_wf_free(wf);
}

static void test_many_steps(void **st)
{
	(void)st;
	/* A long chain: lookups and the cycle check must stay cheap. */
	size_t n = 5000;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fprintf(f, "workflow: chain\nsteps:\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "  - id: s%zu\n    call: core.log\n", i);
		if (i)
			fprintf(f, "    with: {message: \"${steps.s%zu.message}\"}\n",
				i - 1);
		else
			fprintf(f, "    with: {message: start}\n");
	}
	fclose(f);
	struct tr_wf *wf = load_ok(buf);
	assert_int_equal(wf->n_steps, n);
	assert_int_equal(wf->steps[n - 1].deps[0], n - 2);
	tr_wf_free(wf);
	free(buf);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	FILE *m = open_memstream(&buf, &cap);
	char tmp[4096];
	size_t r;
	while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
		fwrite(tmp, 1, r, m);
	fclose(f);
	fclose(m);
	*len = cap;
	return buf;
}

static void test_corpus(void **st)
{
	(void)st;
	const char *src = getenv("TRELLIS_SRC");
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/unit/workflow/corpus",
		 src ? src : ".");
	DIR *d = opendir(dir);
	assert_non_null(d);
	int regen = getenv("WF_CORPUS_REGEN") != NULL;
	size_t count = 0, bad = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		if (nl < 6 || strcmp(de->d_name + nl - 5, ".yaml"))
			continue;
		char path[8192], exp[8192];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		snprintf(exp, sizeof exp, "%s/%.*s.expected", dir,
			 (int)(nl - 5), de->d_name);
		size_t len, elen = 0;
		char *yaml = slurp(path, &len);
		assert_non_null(yaml);
		char *got = load_errors(de->d_name, yaml, len);
		if (regen) {
			FILE *f = fopen(exp, "w");
			fputs(got, f);
			fclose(f);
		}
		char *want = slurp(exp, &elen);
		if (!want || strcmp(want, got) != 0) {
			print_error("corpus %s:\n--- want\n%s--- got\n%s",
				    de->d_name, want ? want : "(no .expected)\n",
				    got);
			bad++;
		}
		if (!*got) {
			print_error("corpus %s: no error at all\n", de->d_name);
			bad++;
		}
		free(want);
		free(got);
		free(yaml);
		count++;
	}
	closedir(d);
	print_message("%zu corpus files checked\n", count);
	assert_true(count >= 10);
	assert_int_equal(bad, 0);
}

int main(void)
{
	tr_actions_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expressions),
		cmocka_unit_test(test_good_workflow),
		cmocka_unit_test(test_many_steps),
		cmocka_unit_test(test_corpus),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	tr_host_shutdown();
	return rc;
}
