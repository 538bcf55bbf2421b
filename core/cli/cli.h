/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h - the `trellis` command line client: nouns, verbs and the helpers
 * they share.
 *
 * `trellis [GLOBAL OPTIONS] NOUN VERB [ARGS]` looks NOUN up in the noun
 * table (nouns.c; append a line there) and VERB in that noun's verb table.
 * One file per noun (cmd_zone.c, cmd_host.c ...).  Most verbs are pure
 * declarations: the API op, the positional argument, the options (each
 * mapped to an argument field with a type) and the table columns.  A verb
 * with special needs sets .run and uses the helpers below.
 *
 * Conventions: --help at every level; -o table|json|yaml|csv (table
 * default; JSON is the API's result, stable for scripts; CSV: a list's
 * rows with the table's columns, RFC 4180 quoting); exit codes 0 ok,
 * 1 operation failed, 2 usage error; --socket URL or TRELLIS_SOCKET (default
 * ipc:///run/trellis/api.sock), or several URLs separated by commas (the
 * first that accepts a connection serves each call; -v names it); a daemon
 * that does not answer gives one line naming the socket.
 */
#ifndef TRELLIS_CLI_H
#define TRELLIS_CLI_H

#include <jansson.h>
#include <stdio.h>

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

#define CLI_DEFAULT_SOCKET "ipc:///run/trellis/api.sock"

enum cli_format { CLI_FMT_TABLE = 0, CLI_FMT_JSON, CLI_FMT_YAML, CLI_FMT_CSV };

struct cli {
	const char *socket;
	const char *api_key; /* tcp:// listeners: TRELLIS_API_KEY or
				--api-key-file; never printed */
	enum cli_format format;
	int timeout_ms;
	int verbose;
};

enum cli_opt_type {
	CLI_FLAG = 0, /* --private: sets the field to true */
	CLI_STR,      /* --owner T */
	CLI_INT,      /* --limit 100 */
	CLI_SIZE,     /* --memory 2G: sent as the string, the daemon parses */
	CLI_JSON,     /* --spec '{"a":1}' */
	/* --option KEY=VALUE, repeatable: one key of the object field; the
	 * value reads as YAML (10 is a number, "10" and abc strings). */
	CLI_KV,
	/* --options-file FILE: a YAML map merged into the same object field;
	 * keys given with a CLI_KV option win, whatever the order. */
	CLI_YAML_FILE,
};

struct cli_opt {
	const char *flag;    /* "--owner" (long form only) */
	const char *field;   /* argument field it sets ("owner") */
	enum cli_opt_type type;
	const char *metavar; /* "TENANT" */
	const char *help;
	int required;
	const char *const *choices; /* NULL-terminated, or NULL */
};

/* Options every list verb takes. */
#define CLI_PAGING_OPTS                                                        \
	{"--limit", "limit", CLI_INT, "N", "at most N rows (default 100)",     \
	 0, NULL},                                                             \
	{"--after", "after", CLI_INT, "ID",                                    \
	 "the page after this one (printed as \"more: --after ID\")", 0, NULL}
/* --option KEY=VALUE and --options-file FILE: an object's own options
 * for its plugin (args field "options"); what is "pool", "host" ... */
#define CLI_OPTIONS_OPTS(what, forop)                                          \
	{"--option", "options", CLI_KV, "KEY=VALUE",                           \
	 "one of the " what "'s own options, for its plugin's " forop          \
	 " (repeatable; the value reads as YAML)",                             \
	 0, NULL},                                                             \
	{"--options-file", "options", CLI_YAML_FILE, "FILE",                   \
	 "the " what "'s options as a YAML map (--option keys win)", 0, NULL}
#define CLI_OPTS_END {NULL, NULL, CLI_FLAG, NULL, NULL, 0, NULL}
#define CLI_COLS_END {NULL, NULL}
#define CLI_VERBS_END {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}

/* A column of a table: a label and a field of the result objects
 * (dotted paths for nested fields: "capacity.cpus"). */
struct cli_col {
	const char *label;
	const char *field;
};

struct cli_verb;
typedef int (*cli_run_fn)(const struct cli *cli, const struct cli_verb *v,
			  int argc, char **argv);

struct cli_verb {
	const char *name;     /* "create" */
	const char *summary;  /* one line for help */
	const char *op;       /* the API op ("zone.create") */
	const char *positional; /* field for the one positional arg, or NULL */
	const char *pos_metavar; /* "NAME" */
	const struct cli_opt *opts; /* terminated by {NULL}; may be NULL */
	const struct cli_col *cols; /* list: columns; NULL: key/value view */
	const char *list_key; /* result member holding the rows ("items") */
	cli_run_fn run;       /* NULL: the generic declarative runner */
};

struct cli_noun {
	const char *name;    /* "zone" */
	const char *summary;
	const struct cli_verb *verbs; /* terminated by {NULL}; NULL with self */
	/* A noun that is a command itself (trellis events): its one verb,
	 * whose name is the noun's; verbs is NULL then. */
	const struct cli_verb *self;
};

/* The noun table (nouns.c), terminated by NULL. */
extern const struct cli_noun *const cli_nouns[];

/* One extern per noun file. */
extern const struct cli_noun cli_noun_zone;
extern const struct cli_noun cli_noun_agent;
/* zone token, zone agent-bundle (cmd_agent.c) */
int cli_zone_token(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv);
int cli_zone_bundle(const struct cli *cli, const struct cli_verb *v, int argc,
		    char **argv);
extern const struct cli_noun cli_noun_pod;
extern const struct cli_noun cli_noun_cluster;
extern const struct cli_noun cli_noun_tenant;
extern const struct cli_noun cli_noun_host;
extern const struct cli_noun cli_noun_vm;
extern const struct cli_noun cli_noun_plugin;
extern const struct cli_noun cli_noun_api;
extern const struct cli_noun cli_noun_pool;
extern const struct cli_noun cli_noun_volume;
extern const struct cli_noun cli_noun_storage;
/* volume transfer (cmd_storage.c) */
extern const struct cli_opt cli_volume_transfer_opts[];
int cli_volume_transfer(const struct cli *cli, const struct cli_verb *v,
			int argc, char **argv);
extern const struct cli_noun cli_noun_network;
extern const struct cli_noun cli_noun_ip;
extern const struct cli_noun cli_noun_policy;
extern const struct cli_noun cli_noun_workflow;
extern const struct cli_noun cli_noun_action;
extern const struct cli_noun cli_noun_user;
extern const struct cli_noun cli_noun_role;
extern const struct cli_noun cli_noun_bu;
extern const struct cli_noun cli_noun_audit;
extern const struct cli_noun cli_noun_template;
extern const struct cli_noun cli_noun_quota;
extern const struct cli_noun cli_noun_caps;
extern const struct cli_noun cli_noun_ha;
extern const struct cli_noun cli_noun_allocation;
extern const struct cli_noun cli_noun_report;
extern const struct cli_noun cli_noun_console;
/* vm console (cmd_console.c) */
int cli_vm_console(const struct cli *cli, const struct cli_verb *v, int argc,
		   char **argv);
extern const struct cli_noun cli_noun_events;
extern const struct cli_noun cli_noun_maint;
extern const struct cli_noun cli_noun_support;

/* ---- helpers (client.c, output.c, verbs.c) ---- */

/* One message of the event bus from SUB socket sock ("TOPIC JSON"): its
 * body (a new reference) and, when topic is not NULL, its topic; NULL
 * when nothing arrived (*err: nn_errno()) or it was not an event (*err
 * 0). */
json_t *cli_event_recv(int sock, char *topic, size_t len, int *err);
/* Whether a workflow instance's state is final (succeeded, failed,
 * cancelled). */
int cli_final_state(const char *state);

/* Sends {"v":1,"op":op,"args":args} (args stolen, may be NULL) and waits
 * for the answer.  On success *result gets a new reference (may be JSON
 * null) and the return is CLI_OK.  On an API error it prints
 * "trellis: CODE: message" (or the JSON error with -o json) and returns
 * CLI_FAILED; when the daemon does not answer it prints one line naming
 * the socket and returns CLI_FAILED. */
int cli_call(const struct cli *cli, const char *op, json_t *args,
	     json_t **result);

/* The same, printing nothing on failure (for a guess or an optional
 * fact, such as where the event bus is). */
int cli_call_quiet(const struct cli *cli, const char *op, json_t *args,
		   json_t **result);

/* Workflows (cmd_workflow.c).  cli_wf_start runs workflow with inputs
 * (stolen) as `workflow run` does; wait: 1, 0, or -1 (wait on a
 * terminal).  cli_wf_follow follows instance id to its end (events: the
 * event bus, or NULL to poll); both return the instance's status (0
 * succeeded, 1 failed or cancelled). */
int cli_wf_start(const struct cli *cli, const char *workflow, json_t *inputs,
		 int wait);
int cli_wf_follow(const struct cli *cli, const char *id, const char *events,
		  int with_bar);
/* The event bus's address (events.info), a new string, or NULL. */
char *cli_events_url(const struct cli *cli);

/* Prints a result: rows under list_key as a table with cols, or an object
 * as "key: value" lines; JSON and YAML print it whole. */
void cli_print(const struct cli *cli, json_t *result,
	       const struct cli_col *cols, const char *list_key);
/* JSON value as YAML on out (libyaml emitter). */
int cli_print_yaml(FILE *out, json_t *v);

/* The generic runner: parses argv (after the verb) by v's declarations,
 * calls v->op and prints the result. */
int cli_run_verb(const struct cli *cli, const struct cli_verb *v, int argc,
		 char **argv);
/* Parses argv by v's declarations into a new args object; CLI_USAGE with a
 * message on stderr on error.  Used by custom runners too. */
int cli_parse_args(const struct cli_verb *v, const char *noun, int argc,
		   char **argv, json_t **args);
/* A verb's sub-verbs (`user key add USER KEY`, `zone ip-range add ZONE`):
 * argv[0] names one of sub's verbs, the first positional is the verb's
 * own, and a second positional becomes option second ("--name") when the
 * verb has it. */
int cli_run_sub(const struct cli *cli, const struct cli_noun *sub,
		const char *second, int argc, char **argv);
void cli_verb_help(FILE *out, const struct cli_noun *n,
		   const struct cli_verb *v);
void cli_noun_help(FILE *out, const struct cli_noun *n);

#endif
