/* SPDX-License-Identifier: Apache-2.0 */
/* keys_admin.h - trellisd's API key commands (keys_admin.c). */
#ifndef TRELLIS_CORE_DAEMON_KEYS_ADMIN_H
#define TRELLIS_CORE_DAEMON_KEYS_ADMIN_H

enum tr_keys_op { TR_KEYS_NONE, TR_KEYS_ADD, TR_KEYS_LIST, TR_KEYS_REMOVE };

struct tr_keys_cmd {
	enum tr_keys_op op;
	const char *name;    /* add, remove */
	const char *expires; /* add: a duration from now, or NULL: never */
	int json;            /* list: -o json */
};

/* Runs c against the keys file of the config; the exit status (0, 1
 * failed, 2 usage). */
int tr_keys_admin(const char *config, const char *state_dir,
		  const struct tr_keys_cmd *c);

#endif
