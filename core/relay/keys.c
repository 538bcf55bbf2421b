/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keys.c - the core's long-term link key (STATE_DIR/link.key, 0600):
 * loaded, or made at the first start; the agents' listener and the
 * API's tcp:// listeners share it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../link/link.h"
#include "../util/log.h"
#include "relay_int.h"

int tr_relay_key_load(const char *dir, struct tr_link_keypair *kp, char *err,
		      size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/link.key", dir);
	FILE *f = fopen(path, "r");
	if (f) {
		struct stat st;
		char pk[80], sk[80];
		int ok = fstat(fileno(f), &st) == 0 && !(st.st_mode & 077) &&
			 fscanf(f, "%70s %70s", pk, sk) == 2 &&
			 tr_link_unhex(pk, kp->pk, 32) == 0 &&
			 tr_link_unhex(sk, kp->sk, 32) == 0;
		sodium_memzero(sk, sizeof sk);
		fclose(f);
		if (!ok) {
			snprintf(err, errlen,
				 "%s: not a link key (two hex keys), or "
				 "readable by others",
				 path);
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	tr_link_kx_keypair(kp);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char pk[65], sk[65];
	tr_link_hex(kp->pk, 32, pk);
	tr_link_hex(kp->sk, 32, sk);
	fprintf(f, "%s %s\n", pk, sk);
	sodium_memzero(sk, sizeof sk);
	if (fclose(f) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	tr_info("agents: made the core's link key %s (public %s)", path, pk);
	return 0;
}

int tr_relay_core_keypair(const char *state_dir, struct tr_link_keypair *kp,
			  char *err, size_t errlen)
{
	if (tr_link_init() < 0) {
		snprintf(err, errlen, "libsodium does not initialise");
		return -1;
	}
	return tr_relay_key_load(state_dir, kp, err, errlen);
}

int tr_relay_core_key(const char *state_dir, char hex[65], char *err,
		      size_t errlen)
{
	struct tr_link_keypair kp;
	if (tr_link_init() < 0 ||
	    tr_relay_key_load(state_dir, &kp, err, errlen) < 0)
		return -1;
	tr_link_hex(kp.pk, 32, hex);
	sodium_memzero(&kp, sizeof kp);
	return 0;
}
