/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cmd_maint.c - trellis maint enable|disable|status VM (maintenance mode
 * of locked-down appliances, docs/maintenance.md) and trellis support
 * fetch CODE (the support engineer's retrieval of the password).
 *
 * enable prints the access code, never the password; it waits for the
 * appliance to open (up to 5 minutes), since the code exists only in
 * that one answer.  fetch reads the code from stdin when CODE is "-", so
 * that it need not sit in the shell's history or the process list, and
 * sends a one-time public key: the escrow seals the password to it, and
 * only this process opens it (trellisd relays it sealed).  The fetch is
 * signed with the engineer's own key (core/escrow/engineer.h: --key FILE,
 * else TRELLIS_ENGINEER_KEY, else ~/.config/trellis/engineer.key), which
 * the vendor enrolled at the escrow: the code alone fetches nothing.
 * support keygen makes that key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "../escrow/engineer.h"
#include "../host/host.h"
#include "../escrow/escrow.h"
#include "cli.h"

static const char *const modes[] = {"time", "first-attempt", "connect", "auth",
				    "login", NULL};

static const struct cli_opt enable_opts[] = {
	{"--port", "port", CLI_INT, "PORT",
	 "the remote-access port to open (default 22)", 0, NULL},
	{"--window", "window", CLI_STR, "DURATION",
	 "how long the port stays open at most (default 30m)", 0, NULL},
	{"--password-ttl", "password_ttl", CLI_STR, "DURATION",
	 "how long the password is valid (default: the window)", 0, NULL},
	{"--close-on", "close_on", CLI_STR, "MODE",
	 "when the port closes before the window ends: time (only then), "
	 "first-attempt, connect, auth (the first login; default; login is "
	 "the same)",
	 0, modes},
	{"--user", "user", CLI_STR, "USER", "the guest account (default root)",
	 0, NULL},
	{"--source", "source", CLI_STR, "CIDR",
	 "who may connect (default any)", 0, NULL},
	{"--auth-log", "auth_log", CLI_STR, "PATH",
	 "the appliance's sshd log (default /var/log/auth.log)", 0, NULL},
	CLI_OPTS_END};

static int run_enable(const struct cli *cli, const struct cli_verb *v,
		      int argc, char **argv)
{
	struct cli c = *cli;
	if (c.timeout_ms < 300000)
		c.timeout_ms = 300000;
	return cli_run_verb(&c, v, argc, argv);
}

static const struct cli_verb maint_verbs[] = {
    {.name = "enable",
     .summary = "Open a locked appliance for support for a window: prints the "
		"access code to pass on (never the password)",
     .op = "maint.enable",
     .positional = "name",
     .pos_metavar = "VM",
     .opts = enable_opts,
     .run = run_enable},
    {.name = "disable",
     .summary = "Lock an appliance again now (port, sessions, password)",
     .op = "maint.disable",
     .positional = "name",
     .pos_metavar = "VM"},
    {.name = "status",
     .summary = "The maintenance window of a VM (state, deadlines, events)",
     .op = "maint.status",
     .positional = "name",
     .pos_metavar = "VM"},
    CLI_VERBS_END};

const struct cli_noun cli_noun_maint = {
	"maint", "Maintenance mode of locked-down appliances", maint_verbs,
	NULL};

static const struct cli_opt fetch_opts[] = {
	{"--key", "key", CLI_STR, "FILE",
	 "the engineer's key enrolled at the escrow (default "
	 "TRELLIS_ENGINEER_KEY, else ~/.config/trellis/engineer.key)",
	 0, NULL},
	CLI_OPTS_END};

/* Where the engineer's key is: --key, TRELLIS_ENGINEER_KEY, the default
 * (0: given explicitly; 1: the default, which may be missing). */
static int key_path(json_t *args, char *buf, size_t cap)
{
	const char *k = json_string_value(json_object_get(args, "key"));
	const char *e = getenv("TRELLIS_ENGINEER_KEY");
	const char *home = getenv("HOME");
	if (k || (e && *e)) {
		snprintf(buf, cap, "%s", k ? k : e);
		return 0;
	}
	snprintf(buf, cap, "%s/.config/trellis/engineer.key",
		 home ? home : ".");
	return 1;
}

/* CODE "-": the code is read from stdin (one line).  The answer comes
 * sealed to a key pair made here; it is opened and printed as
 * {password, engineer, vm, name}.  The request is signed with the
 * engineer's key; without one (none given and none at the default place)
 * it goes unsigned, and the escrow refuses it. */
static int run_fetch(const struct cli *cli, const struct cli_verb *v,
		     int argc, char **argv)
{
	char line[128];
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-") != 0)
			continue;
		if (!fgets(line, sizeof line, stdin)) {
			fprintf(stderr, "trellis: support fetch: no access "
					"code on stdin\n");
			return CLI_USAGE;
		}
		line[strcspn(line, "\r\n")] = 0;
		argv[i] = line;
	}
	json_t *args = NULL, *res = NULL;
	int rc = cli_parse_args(v, "support", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	unsigned char pk[crypto_box_PUBLICKEYBYTES];
	unsigned char sk[crypto_box_SECRETKEYBYTES];
	if (sodium_init() < 0) {
		json_decref(args);
		fprintf(stderr, "trellis: libsodium does not start\n");
		return CLI_FAILED;
	}
	char kp[4096];
	unsigned char esk[ESCROW_ENGINEER_SK_BYTES];
	trellis_call_t kc;
	tr_call_init(&kc, NULL);
	int dflt = key_path(args, kp, sizeof kp);
	int have = tr_escrow_engineer_key_load(kp, esk, &kc) == 0;
	if (!have && !(dflt && kc.code == TRELLIS_E_NOTFOUND)) {
		fprintf(stderr, "trellis: support fetch: %s\n", kc.message);
		json_decref(args);
		return CLI_FAILED;
	}
	json_object_del(args, "key");
	crypto_box_keypair(pk, sk);
	char *pkb = tr_escrow_b64(pk, sizeof pk);
	json_object_set_new(args, "reply_key", json_string(pkb));
	if (have)
		json_object_set_new(
		    args, "proof",
		    tr_escrow_proof_new(
			esk, json_string_value(json_object_get(args, "code")),
			pkb));
	sodium_memzero(esk, sizeof esk);
	free(pkb);
	rc = cli_call(cli, v->op, args, &res);
	sodium_memzero(line, sizeof line);
	if (rc == CLI_OK) {
		const char *sealed =
		    json_string_value(json_object_get(res, "sealed"));
		char *pw =
		    sealed ? tr_escrow_open_sealed(sealed, pk, sk) : NULL;
		if (!pw) {
			fprintf(stderr, "trellis: support fetch: the answer "
					"does not open with this client's key\n");
			rc = CLI_FAILED;
		} else {
			json_object_del(res, "sealed");
			json_object_set_new(res, "password", json_string(pw));
			sodium_memzero(pw, strlen(pw));
			free(pw);
			cli_print(cli, res, NULL, NULL);
		}
	}
	sodium_memzero(sk, sizeof sk);
	json_decref(res);
	return rc;
}

static const struct cli_opt keygen_opts[] = {
	{"--out", "out", CLI_STR, "FILE",
	 "where the secret key goes (default TRELLIS_ENGINEER_KEY, else "
	 "~/.config/trellis/engineer.key; FILE.pub gets the public key)",
	 0, NULL},
	CLI_OPTS_END};

/* Makes the engineer's key pair here, on the engineer's machine: the
 * secret never leaves it; the public key is what the vendor enrols at the
 * escrow.  No call to trellisd. */
static int run_keygen(const struct cli *cli, const struct cli_verb *v,
		      int argc, char **argv)
{
	json_t *args = NULL;
	int rc = cli_parse_args(v, "support", argc, argv, &args);
	if (rc != CLI_OK)
		return rc;
	char path[4096];
	const char *out = json_string_value(json_object_get(args, "out"));
	json_object_set_new(args, "key",
			    out ? json_string(out) : json_null());
	int dflt = key_path(args, path, sizeof path);
	json_decref(args);
	if (dflt) { /* ~/.config/trellis may not exist yet */
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		for (char *p = dir + 1; (p = strchr(p, '/')); p++) {
			*p = 0;
			mkdir(dir, 0700);
			*p = '/';
		}
	}
	char *pub = NULL;
	trellis_call_t call;
	tr_call_init(&call, NULL);
	if (tr_escrow_engineer_keygen(path, &pub, &call) < 0) {
		fprintf(stderr, "trellis: support keygen: %s\n", call.message);
		return CLI_FAILED;
	}
	char pp[4200];
	snprintf(pp, sizeof pp, "%s.pub", path);
	json_t *res = json_pack("{s:s, s:s, s:s}", "key", path, "public_key",
				pub, "public_key_file", pp);
	free(pub);
	cli_print(cli, res, NULL, NULL);
	json_decref(res);
	return CLI_OK;
}

static const struct cli_verb support_verbs[] = {
    {.name = "fetch",
     .summary =
	 "Retrieve a maintenance password from the vendor's escrow with the "
	 "customer's access code (once; CODE - reads it from stdin), signed "
	 "with the engineer's enrolled key",
     .op = "support.fetch",
     .positional = "code",
     .pos_metavar = "CODE",
     .opts = fetch_opts,
     .run = run_fetch},
    {.name = "keygen",
     .summary = "Make the support engineer's key pair (the public key is "
		"for the vendor to enrol at the escrow)",
     .opts = keygen_opts,
     .run = run_keygen},
    CLI_VERBS_END};

const struct cli_noun cli_noun_support = {
	"support", "The support engineer's side of maintenance mode",
	support_verbs, NULL};
