/* SPDX-License-Identifier: Apache-2.0 */
/* test_console_store.c - console tokens, sessions, proxy reports and the
 * scan lease in the store (core/auth/console.h): a token is redeemed
 * once, by one of two stores on the same file racing for it; an expired
 * token, an unknown one and one a check refuses are refused with their
 * reason and are not consumed by the check's refusal; only the hash is
 * stored; a session ends once; a report keeps draining; the lease has one
 * holder until it expires. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <trellis/error.h>

#include "../../../core/auth/console.h"
#include "../../../core/store/sql.h"
#include "../../../core/store/store.h"

struct fx {
	char dir[64], path[128];
	struct tr_store *a, *b; /* two writers: two management servers */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/trellis-cons-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
	char err[512];
	f->a = tr_store_open(f->path, 0, err, sizeof err);
	if (!f->a)
		fail_msg("open: %s", err);
	f->b = tr_store_open(f->path, 0, err, sizeof err);
	if (!f->b)
		fail_msg("open b: %s", err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	tr_store_close(f->a);
	tr_store_close(f->b);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void grant(struct tr_console_grant *g)
{
	memset(g, 0, sizeof *g);
	strcpy(g->kind, "open");
	strcpy(g->vm_uuid, "5c11e4b9-0eee-45e1-bf5c-433717c3e8f0");
	strcpy(g->vm_name, "web-1");
	strcpy(g->user, "alice");
	strcpy(g->mode, "ws");
}

static int refuse(void *arg, const struct tr_console_grant *g,
		  trellis_call_t *call)
{
	(void)arg;
	return tr_call_set(call, TRELLIS_E_PERMISSION, "no, %s", g->user);
}

static void test_single_use(void **state)
{
	struct fx *f = *state;
	struct tr_console_grant g, r1, r2;
	char tok[TR_CONSOLE_TOKEN_LEN + 1];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	grant(&g);
	assert_int_equal(
	    tr_console_token_new(tr_store_sql(f->a), &g, 60, tok, &call), 0);
	assert_int_equal(strlen(tok), TR_CONSOLE_TOKEN_LEN);
	/* Only the hash is stored. */
	struct tr_sql_stmt *st;
	tr_sql_prepare(tr_store_sql(f->a),
		       "SELECT count(*) FROM console_token WHERE hash = ?1",
		       &st);
	tr_sql_bind_text(st, 1, tok);
	assert_int_equal(tr_sql_step(st), TR_SQL_ROW);
	assert_int_equal((int)tr_sql_column_int64(st, 0), 0);
	tr_sql_finalize(st);
	/* A check's refusal does not consume it. */
	assert_int_equal(tr_console_token_redeem(tr_store_sql(f->a), tok, "p1",
						 refuse, NULL, &r1, &call),
			 TRELLIS_E_PERMISSION);
	assert_string_equal(r1.user, "alice");
	/* Two management servers (two writers on one file) redeem it: one
	 * session, one CONFLICT. */
	tr_call_init(&call, NULL);
	int a = tr_console_token_redeem(tr_store_sql(f->a), tok, "p1", NULL,
					NULL, &r1, &call);
	trellis_call_t c2;
	tr_call_init(&c2, NULL);
	int b = tr_console_token_redeem(tr_store_sql(f->b), tok, "p2", NULL,
					NULL, &r2, &c2);
	assert_int_equal(a, 0);
	assert_int_equal(b, TRELLIS_E_CONFLICT);
	assert_non_null(strstr(c2.message, "already used"));
	assert_non_null(strstr(c2.message, "p1"));
	assert_true(r1.session_id > 0);
	assert_string_equal(r1.vm_name, "web-1");
	/* The session ends once. */
	int was;
	assert_int_equal(tr_console_session_end(tr_store_sql(f->a),
						r1.session_id, "closed", "bye",
						"browser", &was, &call),
			 0);
	assert_int_equal(was, 1);
	assert_int_equal(tr_console_session_end(tr_store_sql(f->b),
						r1.session_id, "closed",
						"again", "vnc", &was, &call),
			 0);
	assert_int_equal(was, 0);
	json_t *s;
	assert_int_equal(tr_console_session_get(tr_store_sql(f->a),
						r1.session_id, &s, &call),
			 0);
	assert_string_equal(json_string_value(json_object_get(s, "closed_by")),
			    "browser");
	json_decref(s);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct tr_console_grant g, r;
	char tok[TR_CONSOLE_TOKEN_LEN + 1];
	trellis_call_t call;
	tr_call_init(&call, NULL);
	grant(&g);
	assert_int_equal(
	    tr_console_token_new(tr_store_sql(f->a), &g, 601, tok, &call),
	    TRELLIS_E_INVALID_ARG);
	assert_int_equal(tr_console_token_redeem(tr_store_sql(f->a),
						 "nosuchtoken", "p1", NULL,
						 NULL, &r, &call),
			 TRELLIS_E_AUTH);
	assert_non_null(strstr(call.message, "unknown token"));
	tr_call_init(&call, NULL);
	assert_int_equal(
	    tr_console_token_new(tr_store_sql(f->a), &g, 1, tok, &call), 0);
	sleep(2);
	assert_int_equal(tr_console_token_redeem(tr_store_sql(f->a), tok, "p1",
						 NULL, NULL, &r, &call),
			 TRELLIS_E_AUTH);
	assert_non_null(strstr(call.message, "expired"));
	assert_null(strstr(call.message, tok));
}

static void test_proxies_and_lease(void **state)
{
	struct fx *f = *state;
	struct tr_sql *db = tr_store_sql(f->a);
	trellis_call_t call;
	tr_call_init(&call, NULL);
	char st[16], other[64];
	assert_int_equal(tr_console_proxy_add(db, "cp-1", "https://h:1",
					      "process", 42, 2, &call),
			 0);
	struct tr_console_report r = {"cp-1", "https://h:1", "process", 42, 1,
				      2, 9000};
	assert_int_equal(tr_console_proxy_report(db, &r, st, &call), 0);
	assert_string_equal(st, "active"); /* starting -> active */
	assert_int_equal(tr_console_proxy_set_state(db, "cp-1", "draining",
						    &call),
			 0);
	assert_int_equal(tr_console_proxy_report(db, &r, st, &call), 0);
	assert_string_equal(st, "draining"); /* a report keeps it */
	assert_int_equal(tr_console_lease_take(db, "scan", "ms1", 30, other,
					       sizeof other, &call),
			 1);
	assert_int_equal(tr_console_lease_take(tr_store_sql(f->b), "scan",
					       "ms2", 30, other, sizeof other,
					       &call),
			 0);
	assert_string_equal(other, "ms1");
	assert_int_equal(tr_console_lease_take(db, "scan", "ms1", 30, other,
					       sizeof other, &call),
			 1); /* renewed */
	/* Expired: the other takes it. */
	tr_sql_exec(db, "UPDATE console_lease SET expires_at = 0");
	assert_int_equal(tr_console_lease_take(tr_store_sql(f->b), "scan",
					       "ms2", 30, other, sizeof other,
					       &call),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_single_use, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_proxies_and_lease, setup,
					    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
