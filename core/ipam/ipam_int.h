/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipam_int.h - what the files of core/ipam share: SQL helpers over the
 * caller's handle, the network record's spec, a NIC's held address.  Not
 * for other folders (core/floors.txt: never another folder's *_int.h).
 */
#ifndef TRELLIS_CORE_IPAM_INT_H
#define TRELLIS_CORE_IPAM_INT_H

#include <jansson.h>
#include <stdint.h>

#include "../store/store.h"
#include "../util/cidr.h"

#define S(o, k) tr_json_str((o), (k))
/* The allocation "network" of routers' public addresses. */
#define PUBLIC_SCOPE "@public"

/* IO error "ipam: WHAT: sqlite's message" in call. */
int tr_ipam_db_fail(trellis_call_t *call, struct tr_sql *db, const char *what);
/* Column i as text, "" for NULL. */
const char *tr_ipam_txt(struct tr_sql_stmt *st, int i);
/* The first column of sql's first row, with a (and b, may be NULL)
 * bound: >0, 0 no row, <0 an error. */
int64_t tr_ipam_row_id(struct tr_sql *db, const char *sql, const char *a,
		       const char *b, trellis_call_t *call);
/* A zone's id, or NOTFOUND naming it. */
int64_t tr_ipam_zone_id(struct tr_sql *db, const char *zone,
			trellis_call_t *call);
/* Runs one statement with a (and b) bound. */
int tr_ipam_exec1(struct tr_sql *db, const char *sql, const char *a,
		  const char *b, trellis_call_t *call);
/* A network's spec (a new reference), NULL with NOTFOUND or an error;
 * tenant_id (may be NULL) gets its owner's id. */
json_t *tr_ipam_net_spec(struct tr_sql *db, const char *network,
			 int64_t *tenant_id, trellis_call_t *call);
/* The address and MAC a VM's NIC holds in network: 1, 0 none, <0. */
int tr_ipam_nic_addr(struct tr_sql *db, const char *network, const char *vm,
		     char addr[TR_IP4_STRLEN], char mac[18],
		     trellis_call_t *call);

#endif
