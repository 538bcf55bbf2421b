/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ops_tenancy.c - template.* and quota.*: the VM templates of the
 * catalogue and a business unit's quotas (core/tenancy/tenancy.h).
 * Templates are the data center's: anyone may read them, a dc-admin
 * makes them.  A BU's users read their own BU's quota only.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../config/config.h"
#include "../tenancy/tenancy.h"
#include "../util/json.h"
#include "../util/log.h"
#include "api_int.h"

static void template_create(struct tr_daemon *d, struct tr_req *req,
			    json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *f = json_deep_copy(args), *out = NULL;
	/* SIZE fields are bytes by now. */
	json_object_set_new(
	    f, "memory_mib",
	    json_integer(json_integer_value(json_object_get(args, "memory")) >>
			 20));
	json_object_set_new(
	    f, "disk_gib",
	    json_integer(json_integer_value(json_object_get(args, "disk")) >>
			 30));
	int rc = tr_template_create(d->store, f, &out, &call);
	json_decref(f);
	if (rc == 0)
		tr_info("template '%s' created", tr_json_str(args, "name"));
	tr_req_answer_store(req, rc, out, &call);
}

static void template_list(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	(void)args;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_template_list(tr_api_store(d), &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void template_show(struct tr_daemon *d, struct tr_req *req,
			  json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_template_get(tr_api_store(d), tr_json_str(args, "name"),
				 &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void template_delete(struct tr_daemon *d, struct tr_req *req,
			    json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *name = tr_json_str(args, "name");
	int rc = tr_template_delete(d->store, name, &call);
	if (rc == 0)
		tr_info("template '%s' deleted", name);
	tr_req_answer_store(req, rc, rc ? NULL : json_pack("{s:s}", "name", name), &call);
}

static void quota_set(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *bu = tr_json_str(args, "bu");
	json_t *lim = json_object(), *v, *out = NULL;
	if ((v = json_object_get(args, "vcpus")))
		json_object_set(lim, "vcpus", v);
	if ((v = json_object_get(args, "vms")))
		json_object_set(lim, "vms", v);
	if ((v = json_object_get(args, "memory")))
		json_object_set_new(lim, "memory_mib",
				    json_integer(json_integer_value(v) < 0
						     ? -1
						     : json_integer_value(v) >> 20));
	if ((v = json_object_get(args, "storage")))
		json_object_set_new(lim, "disk_gib",
				    json_integer(json_integer_value(v) < 0
						     ? -1
						     : json_integer_value(v) >> 30));
	if ((v = json_object_get(args, "templates")))
		json_object_set(lim, "templates", v);
	int rc = tr_quota_set(d->store, bu, lim, &call);
	json_decref(lim);
	if (rc == 0)
		rc = tr_quota_get(d->store, bu, &out, &call);
	if (rc == 0)
		tr_info("business unit '%s': quotas set", bu);
	tr_req_answer_store(req, rc, out, &call);
}

/* The BU a read names (args.bu; a BU's users: their own, and only it):
 * 0 with *bu set (NULL: none named, when !need), or -1 answered. */
static int bu_to_read(struct tr_req *req, json_t *args, const char *op,
		      int need, const char **bu)
{
	const char *scope = tr_req_scope(req);
	*bu = tr_json_str(args, "bu");
	if (scope && !*bu)
		*bu = scope;
	if (need && !*bu) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
			    "%s: which business unit? (bu)", op);
		return -1;
	}
	if (scope && strcmp(*bu, scope) != 0) {
		tr_req_not_yours(req, "tenant '%s' not found", *bu);
		return -1;
	}
	return 0;
}

static void quota_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *bu;
	if (bu_to_read(req, args, "quota.show", 1, &bu) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_quota_get(tr_api_store(d), bu, &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

/* A BU's default caps (the middle of the cap precedence, caps.c). */
static void caps_set(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	trellis_call_t call;
	tr_call_init(&call, NULL);
	const char *bu = tr_json_str(args, "bu");
	json_t *caps = tr_caps_pick(args), *out = NULL;
	/* -1 from the CLI unsets a field: the next level decides. */
	const char *k;
	json_t *v;
	json_object_foreach(caps, k, v) if (json_integer_value(v) < 0)
	    json_object_set_new(caps, k, json_null());
	int rc = tr_caps_bu_set(d->store, bu, caps, &call);
	json_decref(caps);
	if (rc == 0)
		rc = tr_caps_bu_get(d->store, bu, &out, &call);
	if (rc == 0) {
		tr_info("business unit '%s': default caps set", bu);
		out = json_pack("{s:s, s:o}", "bu", bu, "caps", out);
	}
	tr_req_answer_store(req, rc, out, &call);
}

/* Without a template: the BU's defaults over the global ones; with
 * one: what a VM of that offering gets, each field with its source. */
static void caps_show(struct tr_daemon *d, struct tr_req *req, json_t *args)
{
	const char *bu;
	if (bu_to_read(req, args, "caps.show", 0, &bu) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	struct tr_store *st = tr_api_store(d);
	int rc = 0;
	if (bu && tr_store_id(st, TR_KIND_TENANT, bu, &call) < 0)
		rc = call.code;
	if (!rc)
		rc = tr_caps_effective(st, d->config ? d->config->caps : NULL,
				       tr_json_str(args, "template"), bu, &out,
				       &call);
	if (!rc)
		out = json_pack("{s:s?, s:s?, s:o}", "bu", bu, "template",
				tr_json_str(args, "template"), "caps", out);
	tr_req_answer_store(req, rc, out, &call);
}

/* A time: unix seconds, or YYYY-MM-DD[THH:MM[:SS]][Z] in UTC. */
static int parse_time(const char *s, long long *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s && !*end) {
		*out = v;
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	static const char *const fmts[] = {"%Y-%m-%dT%H:%M:%SZ",
					   "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%MZ",
					   "%Y-%m-%dT%H:%M", "%Y-%m-%d"};
	for (size_t i = 0; i < sizeof fmts / sizeof *fmts; i++) {
		memset(&tm, 0, sizeof tm);
		const char *e = strptime(s, fmts[i], &tm);
		if (e && !*e) {
			*out = (long long)timegm(&tm);
			return 0;
		}
	}
	return -1;
}

/* The period of a report: args from/to, default the last 30 days. */
static int period(struct tr_req *req, json_t *args, long long *from,
		  long long *to)
{
	*to = (long long)time(NULL);
	*from = *to - 30 * 86400;
	static const char *const k[] = {"from", "to"};
	long long *v[] = {from, to};
	for (int i = 0; i < 2; i++) {
		const char *t = tr_json_str(args, k[i]);
		if (t && parse_time(t, v[i]) < 0) {
			tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL,
				    "%s: %s '%.64s' is not a time (unix "
				    "seconds, or 2026-12-01, "
				    "2026-12-01T10:00:00Z)",
				    tr_req_op(req), k[i], t);
			return -1;
		}
	}
	return 0;
}

/* The BU a report is about: a BU's users, theirs. */
static int report_bu(struct tr_req *req, json_t *args, const char **bu)
{
	const char *scope = tr_req_scope(req);
	*bu = tr_json_str(args, "bu");
	if (scope && *bu && strcmp(*bu, scope) != 0) {
		tr_req_not_yours(req, "tenant '%s' not found", *bu);
		return -1;
	}
	if (scope)
		*bu = scope;
	return 0;
}

static void report_chargeback(struct tr_daemon *d, struct tr_req *req,
			      json_t *args)
{
	const char *bu;
	long long from, to;
	if (report_bu(req, args, &bu) < 0 || period(req, args, &from, &to) < 0)
		return;
	const char *path = d->config ? d->config->prices_file : NULL;
	if (!path) {
		tr_req_fail(req, TRELLIS_E_UNAVAILABLE, NULL,
			    "report.chargeback: no price table (config "
			    "chargeback.prices: a YAML file, docs/tenancy.md)");
		return;
	}
	struct tr_prices p;
	char err[512];
	if (tr_prices_load(path, &p, err, sizeof err) < 0) {
		tr_req_fail(req, TRELLIS_E_INVALID_ARG, NULL, "%s", err);
		return;
	}
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_report_chargeback(tr_api_store(d), &p, bu, from, to, &out,
				      &call);
	tr_req_answer_store(req, rc, out, &call);
}

static void report_utilization(struct tr_daemon *d, struct tr_req *req,
			       json_t *args)
{
	const char *bu;
	if (report_bu(req, args, &bu) < 0)
		return;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	json_t *out = NULL;
	int rc = tr_report_utilization(tr_api_store(d), bu, &out, &call);
	tr_req_answer_store(req, rc, out, &call);
}

static const struct tr_field report_args[] = {
    {"bu", TR_T_STRING, 0, "the business unit (a BU's users: theirs)"},
    {"from", TR_T_STRING, 0,
     "start (unix seconds or 2026-12-01[T10:00:00Z]; default 30 days ago)"},
    {"to", TR_T_STRING, 0, "end (default now)"},
    TR_FIELDS_END};
static const struct tr_field util_args[] = {
    {"bu", TR_T_STRING, 0, "the business unit (a BU's users: theirs)"},
    TR_FIELDS_END};

/* The cap fields (tenancy.h's tr_cap_fields). */
#define TR_CAP_ARGS                                                            \
	{"cpu_shares", TR_T_INT, 0, "relative CPU weight (cputune shares)"},   \
	    {"nic_inbound_kbps", TR_T_INT, 0,                                  \
	     "NIC bandwidth into the VM, KB/s"},                               \
	    {"nic_outbound_kbps", TR_T_INT, 0,                                 \
	     "NIC bandwidth out of the VM, KB/s"},                             \
	    {"disk_read_iops_sec", TR_T_INT, 0, "disk read IOPS cap"},         \
	    {"disk_write_iops_sec", TR_T_INT, 0, "disk write IOPS cap"},       \
	    {"disk_read_bytes_sec", TR_T_INT, 0, "disk read bytes/s cap"},     \
	{                                                                      \
		"disk_write_bytes_sec", TR_T_INT, 0, "disk write bytes/s cap"  \
	}
static const struct tr_field template_create_args[] = {
    {"name", TR_T_STRING, 1, "template name"},
    {"vcpus", TR_T_INT, 1, "virtual CPUs"},
    {"memory", TR_T_SIZE, 1, "memory (\"2G\", \"512M\")"},
    {"disk", TR_T_SIZE, 1, "root disk (\"10G\")"},
    {"image", TR_T_STRING, 0, "boot image (a volume to copy)"},
    {"kernel", TR_T_STRING, 0, "direct-boot kernel"},
    {"initrd", TR_T_STRING, 0, "initramfs for the kernel"},
    {"cmdline", TR_T_STRING, 0, "kernel command line"},
    {"max_nics", TR_T_INT, 0, "NICs a VM of it may have (default 1)"},
    {"max_disks", TR_T_INT, 0, "disks a VM of it may have (default 1)"},
    TR_CAP_ARGS,
    TR_FIELDS_END};
static const struct tr_field caps_set_args[] = {
    {"bu", TR_T_STRING, 1, "the business unit"},
    TR_CAP_ARGS,
    TR_FIELDS_END};
static const struct tr_field caps_show_args[] = {
    {"bu", TR_T_STRING, 0, "the business unit (a BU's users: theirs)"},
    {"template", TR_T_STRING, 0, "the offering (VM template)"},
    TR_FIELDS_END};
static const struct tr_field name_args[] = {
    {"name", TR_T_STRING, 1, "template name"}, TR_FIELDS_END};
static const struct tr_field no_args[] = {TR_FIELDS_END};
static const struct tr_field quota_set_args[] = {
    {"bu", TR_T_STRING, 1, "the business unit"},
    {"vcpus", TR_T_INT, 0, "vcpus its VMs may claim (-1: no limit)"},
    {"memory", TR_T_SIZE, 0, "memory its VMs may claim (-1: no limit)"},
    {"storage", TR_T_SIZE, 0, "disk its VMs may claim (-1: no limit)"},
    {"vms", TR_T_INT, 0, "how many VMs (-1: no limit)"},
    {"templates", TR_T_OBJECT, 0,
     "VMs per template: {\"small\": 10} (-1: no limit)"},
    TR_FIELDS_END};
static const struct tr_field quota_show_args[] = {
    {"bu", TR_T_STRING, 0, "the business unit (a BU's users: theirs)"},
    TR_FIELDS_END};

static const struct tr_api_op ops[] = {
    {.name = "template.create",
     .description = "create a VM template",
     .args = template_create_args,
     .handler = template_create,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "template.list",
     .description = "the VM templates",
     .args = no_args,
     .handler = template_list,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "template.show",
     .description = "one VM template",
     .args = name_args,
     .handler = template_show,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "template.delete",
     .description = "delete a VM template",
     .args = name_args,
     .handler = template_delete,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "quota.set",
     .description = "set a business unit's quotas",
     .args = quota_set_args,
     .handler = quota_set,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "quota.show",
     .description = "a business unit's quotas and what it uses of them",
     .args = quota_show_args,
     .handler = quota_show,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "caps.set",
     .description = "set a business unit's default caps (-1: unset)",
     .args = caps_set_args,
     .handler = caps_set,
     .flags = TR_OP_MUTATES,
     .perm = TR_PERM_DC},
    {.name = "caps.show",
     .description =
	 "the caps a VM gets (of an offering, a BU), each with its source",
     .args = caps_show_args,
     .handler = caps_show,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "report.chargeback",
     .description = "what business units owe over a period: reservation- and "
		    "allocation-based, priced by the price table",
     .args = report_args,
     .handler = report_chargeback,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
    {.name = "report.utilization",
     .description = "what business units use of what they were allocated",
     .args = util_args,
     .handler = report_utilization,
     .flags = TR_OP_READ,
     .perm = TR_PERM_BU},
};

void tr_api_register_tenancy(struct tr_api *api)
{
	tr_api_register(api, ops, sizeof ops / sizeof *ops);
}
