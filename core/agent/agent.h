/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent.h - trellis-agent's own state, shared by its files: main.c (the
 * commands, the run loop, options), state.c (the state dir: agent.json
 * and the identity) and link.c (the secure link to the core).
 */
#ifndef TRELLIS_CORE_AGENT_H
#define TRELLIS_CORE_AGENT_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "../link/link.h"
#include "../runtime/daemon.h"

#define MAX_EPS 8
#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS 30000
#define HANDSHAKE_MS 3000
#define PARKED 2 /* requests the agent keeps parked at the core */
#define MAX_CMDS 4096 /* command ids remembered (answers kept) */
#define MAX_HOSTS 256
#define MAX_DIRS 16
#define MAX_OUT 4096 /* messages queued for the core */

/* A command from the core, by id: running, or done with its answer
 * kept, so the same id sent again (after a reconnect) is answered from
 * here and never run twice. */
struct job;

struct cmd {
	char id[40];
	int done;
	char *answer; /* {"t":"result",...}, once done */
};

/* A message for the core from a command thread (an answer, a report). */
struct out {
	char *json;
	struct out *next;
};

struct agent {
	char dir[2048];
	char name[64], zone[64];
	unsigned char core_key[32];
	char *eps[MAX_EPS];
	int neps;
	int enrolled;
	struct tr_link_keypair id;
	char *token; /* until enrolled */
	/* the link */
	int sock, ep;
	struct tr_link link;
	uint32_t reqid;
	unsigned beat_ms, dead;
	uint64_t last_rx, last_tx;
	/* the action layer, on the plugins it loaded */
	struct tr_daemon d;
	pthread_mutex_t mu; /* cmds, hosts, outq */
	struct cmd cmds[MAX_CMDS];
	unsigned ncmds; /* slots used, round robin past MAX_CMDS */
	json_t *hosts;  /* name -> {name, hypervisor, uri}: the hosts it serves */
	struct out *outq, **outtail;
	unsigned nout; /* queued in outq */
	int wake_fd;   /* eventfd: outq got a message (the link thread polls) */
	unsigned report_ms;
	uint64_t last_report;
	int reporting;
	unsigned running; /* command and report threads alive (mu) */
	pthread_cond_t idle; /* running dropped to 0 */
	struct job *jobs;    /* commands for the workers (mu) */
	pthread_cond_t work; /* jobs got one, or pool_stop */
	unsigned nidle;      /* workers waiting for a job */
	int pool_stop;
	int batch; /* recv_msg: give the whole {"m": [...]} once */
	/* its config file (config.c): the plugins' sections, the site's
	 * network context for network.* actions ("" = local) */
	struct trellis_node *config;
	char net_context[128];
	const char *pdirs[MAX_DIRS];
	size_t npdirs;
};

/* SIGTERM seen: stop (main.c). */
extern volatile sig_atomic_t tr_agent_stopping;
/* A line on stderr, "trellis-agent: ..." (main.c). */
void tr_agent_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* state.c */
/* text into path, mode 0600, whole or not at all. */
int tr_agent_write_private(const char *path, const char *text);
int tr_agent_save_config(struct agent *a);
int tr_agent_add_eps(struct agent *a, const char *list);
int tr_agent_load_json(struct agent *a, const char *path, int bundle);
int tr_agent_load_identity(struct agent *a, int make);

/* config.c */
/* Reads the agent's config file (YAML: plugin_dirs, plugins, network):
 * 0, or -1 with "FILE:LINE:COL: why" said on stderr.  A missing file is
 * fine unless required (--config named it). */
int tr_agent_load_config(struct agent *a, const char *path, int required);
/* Loads the plugins as trellisd does (each its section of plugins: for
 * init); -1 when a plugin the config names did not load (each reason
 * said, FILE:LINE: plugins.NAME: why). */
int tr_agent_load_plugins(struct agent *a);

/* link.c */
void tr_agent_link_close(struct agent *a);
int tr_agent_send_req(struct agent *a, const void *buf, size_t len);
int tr_agent_send_msg(struct agent *a, json_t *msg);
json_t *tr_agent_recv_msg(struct agent *a, int ms, int *closed, int *kind_close);
int tr_agent_link_open(struct agent *a, int ep);

#endif
