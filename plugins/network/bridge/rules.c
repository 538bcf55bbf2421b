/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules.c - the bridge plugin's filtering rules (rule_add, rule_delete)
 * and their expiry, as jobs on a connection's namespace thread (bridge.h,
 * fw.h for the nftables side).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bridge.h"
#include "fw.h"
#include "links.h"

#define H (j->c->b->host)

void br_scan_cb(void *opaque, const struct fw_item *it)
{
	struct br_scan *sc = opaque;
	if (!it->rid) {
		if (sc->n_chains < 256)
			snprintf(sc->chains[sc->n_chains++],
				 sizeof sc->chains[0], "%s", it->chain);
		return;
	}
	if (sc->rid && !strcmp(sc->rid, it->rid))
		sc->found = 1;
	if (!it->expires_at)
		return;
	if (it->expires_at <= sc->now) {
		for (unsigned i = 0; i < sc->n_expired; i++)
			if (!strcmp(sc->expired[i], it->rid))
				return; /* icmp rules come in v4/v6 pairs */
		if (sc->n_expired < 32)
			snprintf(sc->expired[sc->n_expired++],
				 sizeof sc->expired[0], "%s", it->rid);
	} else if (!sc->next || it->expires_at < sc->next) {
		sc->next = it->expires_at;
	}
}

int br_job_rule_add(struct br_job *j)
{
	const trellis_fw_rule_t *r = j->rule;
	char err[BR_ERRLEN], rid[32];
	struct lk_info li;
	int rc = br_flags_check(j, "rule_add", 0);
	if (rc)
		return rc;
	struct fw_rule fr = {.protocol = r->protocol,
			     .port_min = r->port_min,
			     .port_max = r->port_max,
			     .source_cidr = r->source_cidr,
			     .expires_at = r->expires_at};
	if (!br_name_ok(r->port))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "invalid port name '%s'",
			       r->port ? r->port : "(null)");
	rc = fw_rule_check(&fr, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "rule for port '%s': %s", r->port, err);
	if (r->expires_at && r->expires_at <= (int64_t)time(NULL))
		return br_fail(j, TRELLIS_E_INVALID_ARG,
			       "rule for port '%s': expiry %" PRId64
			       " is in the past",
			       r->port, r->expires_at);
	rc = br_find_dev(j, BR_PREFIX "t", "port", r->port, &li);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return br_fail(j, TRELLIS_E_NOTFOUND,
			       "rule for port '%s': no such port on this host",
			       r->port);
	/* The id follows from the idempotency key (64 bits of it: another
	 * request's rule on this port must not pass for ours), so a replay
	 * finds the rule the first attempt made, and only that; without a
	 * key it is random, so nothing is ever found. */
	uint64_t id;
	if (j->idem_key && *j->idem_key)
		id = br_hash64(j->idem_key) ^ br_hash(r->port);
	else if (getrandom(&id, sizeof id, 0) != (ssize_t)sizeof id)
		return br_fail(j, TRELLIS_E_INTERNAL, "getrandom failed");
	snprintf(rid, sizeof rid, "r%016" PRIx64, id);
	snprintf(j->rule_id, 64, "%s", rid);

	/* The id includes the port, so a replay's rule is in its chain:
	 * listing that chain alone keeps rule_add flat as ports grow. */
	struct br_scan sc = {.rid = rid};
	char chain[24];
	snprintf(chain, sizeof chain, "a-%s", li.name);
	rc = fw_scan(j->c->nft, chain, br_scan_cb, &sc, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "rule for port '%s': %s", r->port, err);
	if (sc.found)
		return 0;
	rc = fw_rule_add(j->c->nft, li.name, rid, &fr, err, sizeof err);
	if (rc)
		return br_fail(j, rc, "rule for port '%s': %s", r->port, err);
	if (r->expires_at)
		br_expiry_arm(j->c, r->expires_at);
	return 0;
}

int br_job_rule_delete(struct br_job *j)
{
	char err[BR_ERRLEN];
	int rc = br_flags_check(j, "rule_delete", 0);
	if (rc)
		return rc;
	if (!br_name_ok(j->name))
		return br_fail(j, TRELLIS_E_INVALID_ARG, "invalid rule id '%s'",
			       j->name ? j->name : "(null)");
	rc = fw_rule_del(j->c->nft, j->name, err, sizeof err);
	return rc ? br_fail(j, rc, "rule '%s': %s", j->name, err) : 0;
}

int br_job_rule_stats(struct br_job *j)
{
	char err[BR_ERRLEN];
	int rc = br_flags_check(j, "rule_stats", 0);
	if (rc)
		return rc;
	if (!br_name_ok(j->name))
		return br_fail(j, TRELLIS_E_INVALID_ARG, "invalid rule id '%s'",
			       j->name ? j->name : "(null)");
	uint64_t packets = 0, bytes = 0;
	rc = fw_rule_stats(j->c->nft, j->name, &packets, &bytes, err,
			   sizeof err);
	if (rc)
		return br_fail(j, rc, "rule '%s': %s", j->name, err);
	j->stats->packets = packets;
	j->stats->bytes = bytes;
	return 0;
}

int br_job_expire(struct br_job *j)
{
	char err[BR_ERRLEN];
	struct br_scan *sc = calloc(1, sizeof *sc);
	if (!sc)
		return TRELLIS_E_NOMEM;
	sc->now = (int64_t)time(NULL);
	int rc = fw_scan(j->c->nft, NULL, br_scan_cb, sc, err, sizeof err);
	for (unsigned i = 0; !rc && i < sc->n_expired; i++) {
		rc = fw_rule_del(j->c->nft, sc->expired[i], err, sizeof err);
		if (!rc)
			H->log(j->c->b->self, TRELLIS_LOG_INFO,
			       "%s: rule %s expired and was removed", j->c->uri,
			       sc->expired[i]);
	}
	if (rc)
		H->log(j->c->b->self, TRELLIS_LOG_WARNING,
		       "%s: removing expired rules: %s", j->c->uri, err);
	/* 32 at a time: more expired ones make the timer come back soon. */
	if (sc->n_expired == 32 || rc)
		br_expiry_arm(j->c, sc->now + 1);
	else if (sc->next)
		br_expiry_arm(j->c, sc->next);
	free(sc);
	return rc;
}
