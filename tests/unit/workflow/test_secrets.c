/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secrets in the workflow engine (core/workflow/secret.c, values.c) on a
 * real store, loop and worker pool: secret inputs and ${secrets.NAME}
 * values, and outputs an action declares secret, are redacted in status,
 * logs and every journal row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../../core/host/host.h"
#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"
#include "fixture.h"

static void dump_rows(struct tr_sql *db, const char *q, FILE *f)
{
	struct tr_sql_stmt *st = NULL;
	if (tr_sql_prepare(db, q, &st) != 0)
		return;
	while (tr_sql_step(st) == TR_SQL_ROW) {
		for (int k = 0; k < tr_sql_column_count(st); k++) {
			const char *v = tr_sql_column_text(st, k);
			fprintf(f, "%s|", v ? v : "");
		}
		fputc('\n', f);
	}
	tr_sql_finalize(st);
}

/* Every row of the journal's tables as text (malloc'd), so a test can
 * prove a secret is nowhere in them. */
static char *journal_dump(struct wfx *x)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct tr_sql *db = tr_store_sql(x->d.store);
	dump_rows(db, "SELECT * FROM wf_instance", f);
	dump_rows(db, "SELECT * FROM wf_step", f);
	fclose(f);
	return buf;
}

static int secret_source(void *arg, const char *name, char **value)
{
	(void)arg;
	if (strcmp(name, "db_password") != 0)
		return TRELLIS_E_NOTFOUND;
	*value = strdup("Zebra-Secret-42");
	return 0;
}

static void test_secrets_redacted(void **st)
{
	(void)st;
	tr_host_set_secret_source(secret_source, NULL);
	struct wfx x;
	wfx_init(&x, 2, 4);
	json_t *in = json_pack("{s:s}", "token", "Tiger-Token-77");
	char *id = wfx_start(
		&x,
		"workflow: secrets\n"
		"inputs: {token: secret}\n"
		"steps:\n"
		"  - id: use\n    call: core.log\n"
		"    with: {message: \"t=${inputs.token} p=${secrets.db_password}\"}\n"
		"  - id: fail\n    call: core.fail\n    needs: use\n"
		"    with: {message: \"bad ${inputs.token}\"}\n",
		in);
	json_decref(in);
	wfx_run(&x, 5000);
	json_t *s = wfx_status(&x, id);
	assert_string_equal(wfx_str(s, "error"), "BACKEND: bad ***");
	json_decref(s);
	json_t *logs = wfx_logs(&x, id);
	assert_string_equal(
		wfx_str(json_object_get(wfx_step(logs, "use"), "outputs"),
			"message"),
		"t=*** p=***");
	json_decref(logs);
	/* Nothing in the whole database holds either secret. */
	char *buf = journal_dump(&x);
	assert_non_null(strstr(buf, "t=*** p=***"));
	assert_null(strstr(buf, "Tiger-Token-77"));
	assert_null(strstr(buf, "Zebra-Secret-42"));
	free(buf);
	wfx_free(&x);
	tr_host_set_secret_source(NULL, NULL);
}

/* An action whose output schema says "secret" (as hypervisor.console's
 * password does): the value reaches later steps but no journal row. */
static const struct tr_field mint_out[] = {
	{"password", TR_T_SECRET, 1, "a fresh secret"},
	TR_FIELDS_END,
};
static const struct tr_field mint_in[] = {TR_FIELDS_END};

static int mint_run(const struct tr_action_env *env, json_t *args,
		    json_t **result, trellis_call_t *call)
{
	(void)env;
	(void)args;
	(void)call;
	*result = json_pack("{s:s}", "password", "Okapi-Pass-93");
	return 0;
}

static const struct tr_action mint_action[] = {{
	.name = "test.mint",
	.description = "returns a secret output",
	.input = mint_in,
	.output = mint_out,
	.run = mint_run,
}};

static void test_secret_outputs_redacted(void **st)
{
	(void)st;
	struct wfx x;
	wfx_init(&x, 2, 4);
	if (!tr_action_find("test.mint"))
		tr_actions_add(mint_action, 1);
	char *id = wfx_start(&x,
			     "workflow: secret-out\n"
			     "steps:\n"
			     "  - id: mint\n    call: test.mint\n"
			     "  - id: use\n    call: core.log\n"
			     "    with: {message: \"p=${steps.mint.password}\"}\n",
			     NULL);
	wfx_run(&x, 5000);
	json_t *logs = wfx_logs(&x, id);
	assert_string_equal(
		wfx_str(json_object_get(wfx_step(logs, "mint"), "outputs"),
			"password"),
		"***");
	assert_string_equal(
		wfx_str(json_object_get(wfx_step(logs, "use"), "outputs"),
			"message"),
		"p=***");
	json_decref(logs);
	char *buf = journal_dump(&x);
	assert_non_null(strstr(buf, "p=***"));
	assert_null(strstr(buf, "Okapi-Pass-93"));
	free(buf);
	wfx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secrets_redacted),
		cmocka_unit_test(test_secret_outputs_redacted),
	};
	return cmocka_run_group_tests_name("workflow secrets", tests, NULL,
					   NULL);
}
