/* SPDX-License-Identifier: Apache-2.0 */
/*
 * router.h - what the router's files share (router.c the jobs, rspec.c
 * the spec's checks and the texts made from it, rnetns.c the namespace,
 * the run directory's files and the router's dnsmasq); see router.c for
 * what a router is.
 */
#ifndef TRELLIS_BRIDGE_ROUTER_H
#define TRELLIS_BRIDGE_ROUTER_H

#include <stddef.h>
#include <sys/types.h>

#include "bridge.h"

#define RUN_DIR "/run/trellis-bridge/routers"
#define NETNS_DIR "/run/netns"
#define NS_PREFIX "trellis-r-"
#define BIG 65536

struct rnames {
	char ns[96], nspath[160], dir[160];
	char ri[16], rj[16], ro[16], rp[16], rid[16];
};

/* The names of router NAME: namespace, run dir, links, rule id. */
void rt_names(const char *name, struct rnames *n);

/* rnetns.c */
int rt_mkdirs(const char *path);
int rt_same_file(const char *path, const char *text); /* exactly text */
int rt_put_file(const char *path, const char *text);
pid_t rt_server_pid(const struct rnames *n);
void rt_server_stop(const struct rnames *n);
int rt_netns_make(const char *path, char *err, size_t errlen);
int rt_netns_exists(const char *path);
void rt_netns_drop(const char *path);

/* rspec.c */
struct sb {
	char *p;
	size_t n, cap;
	int over;
};
void rt_sb_add(struct sb *b, const char *fmt, ...) TRELLIS_PRINTF(2, 3);
int rt_cidr_split(const char *c, char net[16], unsigned *prefix,
		  char mask[16]);
int rt_check_spec(struct br_job *j, const trellis_router_spec_t *s);
void rt_conf_text(struct sb *b, const trellis_router_spec_t *s,
		  const struct rnames *n);
void rt_leases_text(struct sb *dh, struct sb *hosts,
		    const trellis_router_spec_t *s);
void rt_nft_text(struct sb *b, const trellis_router_spec_t *s,
		 const struct rnames *n);

#endif
