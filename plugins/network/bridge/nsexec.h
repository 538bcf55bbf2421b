/* SPDX-License-Identifier: Apache-2.0 */
/*
 * nsexec.h - a thread that lives in one network namespace and runs jobs
 * there, one at a time.
 *
 * Network namespaces are per thread, and so is everything that binds to
 * one when it is created: netlink and nftables sockets, /dev/net/tun
 * devices, /proc/sys/net.  The bridge plugin therefore runs every op of a
 * "netns:NAME" connection on that connection's own thread, which entered
 * the namespace once with setns(2) and never leaves it.  A "local"
 * connection gets a thread too (no setns), so both kinds share one code
 * path and one serialisation point: the timer thread and the core's
 * workers may submit jobs concurrently and they run in turn.
 */
#ifndef BRIDGE_NSEXEC_H
#define BRIDGE_NSEXEC_H

#include <stddef.h>

struct nsexec;

/* Starts the thread; netns_path NULL stays in the caller's namespace.
 * 0, or -errno with a message in err. */
int nsexec_new(const char *netns_path, struct nsexec **out, char *err,
	       size_t errlen);
/* Runs fn(arg) on the thread and returns its result. */
int nsexec_run(struct nsexec *ns, int (*fn)(void *), void *arg);
/* Stops and joins the thread.  NULL is a no-op. */
void nsexec_free(struct nsexec *ns);

#endif
