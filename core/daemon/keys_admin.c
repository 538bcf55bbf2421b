/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys_admin.c - trellisd --api-key-add|--api-key-list|--api-key-remove:
 * the API keys of tcp:// listeners, kept in the keys file
 * (core/api/keys.h).  After a change, a trellisd running on the same
 * state dir (the holder of its lock) gets a SIGHUP and reads the file
 * again, so a removed key stops working at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../actions/action.h"
#include "../api/keys.h"
#include "../config/config.h"
#include "keys_admin.h"
#include "statedir.h"

static void when(long long t, char *buf, size_t len)
{
	if (!t) {
		snprintf(buf, len, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* After a change: the running daemon, if any, reads the file again. */
static void tell_daemon(const struct tr_config *cfg)
{
	pid_t pid = tr_state_holder(cfg->state_dir);
	if (!pid)
		fprintf(stderr, "trellisd: no trellisd runs on %s; one reads "
				"the keys when it starts\n",
			cfg->state_dir);
	else if (kill(pid, SIGHUP) == 0)
		fprintf(stderr, "trellisd: the trellisd running on %s (pid "
				"%d) reads the keys again now\n",
			cfg->state_dir, (int)pid);
	else
		fprintf(stderr, "trellisd: cannot signal the trellisd running "
				"on %s (pid %d): %s; send it SIGHUP\n",
			cfg->state_dir, (int)pid, strerror(errno));
}

static int add(const struct tr_config *cfg, const struct tr_keys_cmd *c)
{
	char err[1024], token[TR_KEY_TOKEN_LEN + 1];
	long long expires = 0;
	if (c->expires) {
		long long ms;
		if (tr_parse_duration(c->expires, &ms) < 0 || ms < 60 * 1000) {
			fprintf(stderr,
				"trellisd: --api-key-expires '%s': expected a "
				"duration of 1m or more (like 90d)\n",
				c->expires);
			return 2;
		}
		expires = (long long)time(NULL) + ms / 1000;
	}
	if (tr_mkdirs(cfg->state_dir, 0750) < 0) {
		fprintf(stderr, "trellisd: state dir %s: %s\n", cfg->state_dir,
			strerror(errno));
		return 1;
	}
	if (tr_keys_add(cfg->api_keys_file, c->name, expires, token, err,
			sizeof err) < 0) {
		fprintf(stderr, "trellisd: %s\n", err);
		return 1;
	}
	char at[32];
	when(expires, at, sizeof at);
	tell_daemon(cfg);
	fprintf(stderr,
		"trellisd: API key '%s' added to %s (expires: %s).  Its token, "
		"shown only now (clients pass it as TRELLIS_API_KEY):\n",
		c->name, cfg->api_keys_file, at);
	printf("%s\n", token);
	return 0;
}

static int list(const struct tr_config *cfg, const struct tr_keys_cmd *c)
{
	char err[1024];
	struct tr_keys *k = tr_keys_load(cfg->api_keys_file, err, sizeof err);
	if (!k) {
		fprintf(stderr, "trellisd: %s\n", err);
		return 1;
	}
	long long now = (long long)time(NULL);
	json_t *items = json_array();
	for (size_t i = 0; i < tr_keys_count(k); i++) {
		long long exp = tr_keys_expires(k, i);
		char at[32];
		when(exp, at, sizeof at);
		json_array_append_new(
			items, json_pack("{s:s, s:s, s:b}", "name",
					 tr_keys_name(k, i), "expires", at,
					 "expired", exp && now >= exp));
	}
	tr_keys_free(k);
	if (c->json) {
		json_t *o = json_pack("{s:s, s:o}", "file", cfg->api_keys_file,
				      "items", items);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
		return 0;
	}
	printf("%-32s %-22s %s\n", "NAME", "EXPIRES", "STATE");
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		printf("%-32s %-22s %s\n",
		       json_string_value(json_object_get(it, "name")),
		       json_string_value(json_object_get(it, "expires")),
		       json_is_true(json_object_get(it, "expired")) ? "expired"
								    : "valid");
	json_decref(items);
	return 0;
}

static int rm(const struct tr_config *cfg, const struct tr_keys_cmd *c)
{
	char err[1024];
	if (tr_keys_remove(cfg->api_keys_file, c->name, err, sizeof err) < 0) {
		fprintf(stderr, "trellisd: %s\n", err);
		return 1;
	}
	fprintf(stderr, "trellisd: API key '%s' removed from %s\n", c->name,
		cfg->api_keys_file);
	tell_daemon(cfg);
	return 0;
}

int tr_keys_admin(const char *config, const char *state_dir,
		  const struct tr_keys_cmd *c)
{
	char err[1024];
	struct tr_config *cfg = tr_config_load(config, state_dir, err,
					       sizeof err);
	if (!cfg) {
		fprintf(stderr, "trellisd: %s\n", err);
		return 1;
	}
	int rc = c->op == TR_KEYS_ADD ? add(cfg, c)
		 : c->op == TR_KEYS_LIST ? list(cfg, c)
					 : rm(cfg, c);
	tr_config_free(cfg);
	return rc;
}
