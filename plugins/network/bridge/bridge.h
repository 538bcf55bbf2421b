/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bridge.h - the inside of the bridge network plugin, shared by its files.
 *
 * One struct br_conn per connect(): a host's network context, either the
 * daemon's own namespace ("local") or a named one ("netns:NAME").  It owns
 * a thread in that namespace (nsexec.h) and, on that thread only, a libnl
 * route socket and a libnftables context.  Every op becomes a struct
 * br_job run on that thread.
 *
 * What exists on a host is read back from the kernel every time - device
 * names and aliases, nftables comments - never cached, so two daemons, a
 * restart or a crash halfway through an op all see the truth.
 *
 * Names (all under the "tr-" prefix, at most 15 bytes):
 *   tr-b<m><id>   a segment's bridge (m: x vxlan, v vlan, l local)
 *   tr-x<id>      its VXLAN device      tr-v<id>  its 802.1Q device
 *   tr-t<hash>    a port (tap, or the bridge end of a veth)
 *   tr-g<hash>    the guest end of a veth port
 */
#ifndef BRIDGE_BRIDGE_H
#define BRIDGE_BRIDGE_H

#include <pthread.h>
#include <stdint.h>

#include <trellis/network.h>

#include "nsexec.h"

#define BR_PREFIX "tr-"

struct brp {
	trellis_plugin_t *self;
	const trellis_host_t *host;
};

struct br_conn {
	struct brp *b;
	char uri[160];
	struct nsexec *ns;
	struct nl_sock *sk;   /* ns thread only */
	struct nft_ctx *nft;  /* ns thread only */
	pthread_mutex_t lock; /* refs and the expiry timer */
	int refs;
	int closing;
	int timer_armed;
	uint64_t timer_id;
	int64_t timer_due; /* unix seconds */
};

struct br_job {
	struct br_conn *c;
	trellis_call_t *call;
	int (*fn)(struct br_job *j);
	uint32_t flags;
	const char *name;
	const trellis_segment_spec_t *seg;
	trellis_segment_info_t *seg_out;
	const trellis_port_spec_t *port;
	trellis_port_info_t *port_out;
	const trellis_fw_rule_t *rule;
	const char *idem_key;
	char *rule_id;
	trellis_fw_rule_stats_t *stats;
	const char *const *keep;
	uint32_t n_keep;
	trellis_gc_fn gc_fn;
	void *opaque;
	const trellis_router_spec_t *router; /* router.c */
	trellis_router_info_t *router_out;
};

/* Shared by ops.c, rules.c and gc.c (all on the connection's thread). */
#define BR_ERRLEN 512
struct lk_info;
uint32_t br_hash(const char *s);   /* FNV-1a, 32 bits */
uint64_t br_hash64(const char *s); /* FNV-1a, 64 bits */
/* The tag an idempotency key leaves in an alias ("key=<16 hex>", a 64-bit
 * FNV-1a of the key) into tag; 0 (tag "") for a NULL or empty key. */
int br_key_tag(const char *idem_key, char tag[17]);
/* Whether the device's alias carries the tag of idem_key: whether that
 * request made it.  A NULL or empty key made nothing. */
int br_made_by(const struct lk_info *li, const char *idem_key);
/* The value of key in an alias "trellis k=v k=v", "" when absent. */
void br_alias_get(const char *alias, const char *key, char *out, size_t len);
/* Sets "URI: message" in the job's call and returns code. */
int br_fail(struct br_job *j, int code, const char *fmt, ...)
    TRELLIS_PRINTF(3, 4);
int br_flags_check(struct br_job *j, const char *op, uint32_t known);
/* The device among prefix* whose alias has key=value: 1 found (out
 * filled), 0 not, or an error (set). */
int br_find_dev(struct br_job *j, const char *prefix, const char *key,
		const char *value, struct lk_info *out);
/* Ports enslaved to bridge br: their number and the first names. */
int br_count_ports(struct br_job *j, int br, unsigned *n, char *names,
		   size_t len);
int br_drop_table_if_unused(struct br_job *j, char *err, size_t errlen);

/* What fw_scan saw: whether rid exists, which rules have expired, the
 * next expiry after now, and the chains (for gc). */
struct br_scan {
	const char *rid;
	int found;
	int64_t now, next;
	char expired[32][32];
	unsigned n_expired;
	char chains[256][24];
	unsigned n_chains;
};
struct fw_item;
/* fw_scan's visitor filling a struct br_scan. */
void br_scan_cb(void *opaque, const struct fw_item *it);

/* The jobs (ops.c, rules.c, gc.c), run on the connection's thread. */
int br_job_segment_ensure(struct br_job *j);
int br_job_segment_release(struct br_job *j);
int br_job_port_create(struct br_job *j);
int br_job_port_delete(struct br_job *j);
int br_job_rule_add(struct br_job *j);
int br_job_rule_delete(struct br_job *j);
int br_job_rule_stats(struct br_job *j);
int br_job_gc(struct br_job *j);
int br_job_router_ensure(struct br_job *j); /* router.c */
int br_job_router_remove(struct br_job *j);
/* Deletes expired rules and (re)arms the timer for the next expiry. */
int br_job_expire(struct br_job *j);

/* bridge.c: arm the expiry timer for due (unix seconds) if it is earlier
 * than what is armed. */
void br_expiry_arm(struct br_conn *c, int64_t due);

/* [A-Za-z0-9][A-Za-z0-9._-]{0,63}: names that are safe in aliases, nft
 * comments and messages. */
int br_name_ok(const char *s);

/* aa:bb:cc:dd:ee:ff, unicast (ops.c). */
int br_mac_ok(const char *m);

#endif
