/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caps.c - a VM's caps and where each comes from (tenancy.h): cpu shares,
 * NIC bandwidth and disk IOPS/throughput.  Per field, the service
 * offering's (the VM template's caps) wins, then its business unit's
 * default (table bu_caps), then the global default (config `caps:`); a
 * field none of them sets is "none" (0: no cap).  This is the order the
 * seed gives: per service offering, per customer account, across the
 * cloud.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/sql.h"
#include "../store/store.h"
#include "tenancy.h"

const char *const tr_cap_fields[TR_CAP_N] = {
    "cpu_shares",	  "nic_inbound_kbps",	  "nic_outbound_kbps",
    "disk_read_iops_sec", "disk_write_iops_sec", "disk_read_bytes_sec",
    "disk_write_bytes_sec"};

static int db_error(struct tr_sql *db, trellis_call_t *call, const char *what)
{
	return tr_call_set(call, TRELLIS_E_IO, "%s: %s", what,
			   tr_sql_errmsg(db));
}

int tr_caps_check(json_t *caps, const char *what, trellis_call_t *call)
{
	const char *k;
	json_t *v;
	json_object_foreach(caps, k, v)
	{
		int known = 0;
		for (int i = 0; i < TR_CAP_N; i++)
			known |= !strcmp(k, tr_cap_fields[i]);
		if (!known)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: '%s' is not a cap (cpu_shares, "
					   "nic_inbound_kbps, nic_outbound_kbps, "
					   "disk_{read,write}_{iops,bytes}_sec)",
					   what, k);
		if (!json_is_null(v) &&
		    (!json_is_integer(v) || json_integer_value(v) < 0))
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: %s must be a number >= 0 (0: no "
					   "cap; null: not set here)",
					   what, k);
		if (!strcmp(k, "cpu_shares") && json_is_integer(v) &&
		    json_integer_value(v) > 262144)
			return tr_call_set(call, TRELLIS_E_INVALID_ARG,
					   "%s: cpu_shares at most 262144", what);
	}
	return 0;
}

json_t *tr_caps_pick(json_t *args)
{
	json_t *o = json_object();
	for (int i = 0; i < TR_CAP_N; i++) {
		json_t *v = json_object_get(args, tr_cap_fields[i]);
		if (v)
			json_object_set(o, tr_cap_fields[i], v);
	}
	return o;
}

int tr_caps_bu_set(struct tr_store *s, const char *bu, json_t *caps,
		   trellis_call_t *call)
{
	int64_t id = tr_store_id(s, TR_KIND_TENANT, bu, call);
	if (id < 0)
		return (int)id;
	char what[160];
	snprintf(what, sizeof what, "business unit '%s'", bu);
	int rc = tr_caps_check(caps, what, call);
	if (rc)
		return rc;
	json_t *cur = NULL;
	if ((rc = tr_caps_bu_get(s, bu, &cur, call)))
		return rc;
	const char *k;
	json_t *v;
	json_object_foreach(caps, k, v)
	{
		if (json_is_null(v))
			json_object_del(cur, k);
		else
			json_object_set(cur, k, v);
	}
	char *text = json_dumps(cur, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cur);
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	rc = 0;
	if (tr_sql_prepare(db,
			   "INSERT INTO bu_caps (tenant, caps) VALUES (?1, ?2) "
			   "ON CONFLICT (tenant) DO UPDATE SET caps = "
			   "excluded.caps",
			   &st) != 0)
		rc = db_error(db, call, "caps");
	else {
		tr_sql_bind_text_copy(st, 1, bu);
		tr_sql_bind_text_copy(st, 2, text);
		if (tr_sql_step(st) != TR_SQL_DONE)
			rc = db_error(db, call, "caps");
	}
	tr_sql_finalize(st);
	free(text);
	return rc;
}

int tr_caps_bu_get(struct tr_store *s, const char *bu, json_t **out,
		   trellis_call_t *call)
{
	struct tr_sql *db = tr_store_sql(s);
	struct tr_sql_stmt *st = NULL;
	*out = NULL;
	if (tr_sql_prepare(db, "SELECT caps FROM bu_caps WHERE tenant = ?1",
			   &st) != 0)
		return db_error(db, call, "caps");
	tr_sql_bind_text_copy(st, 1, bu);
	if (tr_sql_step(st) == TR_SQL_ROW && tr_sql_column_text(st, 0))
		*out = json_loads(tr_sql_column_text(st, 0), 0, NULL);
	tr_sql_finalize(st);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = json_object();
	}
	return 0;
}

int tr_caps_effective(struct tr_store *s, const unsigned *global,
		      const char *template_, const char *bu, json_t **out,
		      trellis_call_t *call)
{
	json_t *tcaps = NULL, *bcaps = NULL, *t = NULL;
	int rc = 0;
	*out = NULL;
	if (template_ && *template_) {
		if ((rc = tr_template_get(s, template_, &t, call)))
			return rc;
		tcaps = json_incref(json_object_get(t, "caps"));
		json_decref(t);
	}
	if (bu && *bu && (rc = tr_caps_bu_get(s, bu, &bcaps, call))) {
		json_decref(tcaps);
		return rc;
	}
	json_t *o = json_object();
	char src[160];
	for (int i = 0; i < TR_CAP_N; i++) {
		const char *f = tr_cap_fields[i];
		json_t *tv = json_object_get(tcaps, f), *bv = json_object_get(bcaps, f);
		json_int_t value = 0;
		if (json_is_integer(tv)) {
			value = json_integer_value(tv);
			snprintf(src, sizeof src, "offering:%s", template_);
		} else if (json_is_integer(bv)) {
			value = json_integer_value(bv);
			snprintf(src, sizeof src, "bu:%s", bu);
		} else if (global && global[i]) {
			value = global[i];
			snprintf(src, sizeof src, "global");
		} else {
			snprintf(src, sizeof src, "none");
		}
		json_object_set_new(o, f,
				    json_pack("{s:I, s:s}", "value", value,
					      "source", src));
	}
	json_decref(tcaps);
	json_decref(bcaps);
	*out = o;
	return 0;
}

void tr_caps_to_inputs(json_t *caps, json_t *inputs)
{
	for (int i = 0; i < TR_CAP_N; i++) {
		json_t *c = json_object_get(caps, tr_cap_fields[i]);
		json_object_set_new(
		    inputs, tr_cap_fields[i],
		    json_integer(json_integer_value(json_object_get(c, "value"))));
	}
	/* Workflow inputs are scalars: the whole goes as JSON text. */
	char *text = json_dumps(caps, JSON_COMPACT | JSON_SORT_KEYS);
	json_object_set_new(inputs, "caps", json_string(text ? text : ""));
	free(text);
}
