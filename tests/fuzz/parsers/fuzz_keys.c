/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the API keys file (core/api/keys.c): the bytes are
 * a keys file (mode 0600).  A refusal must say why, with FILE:LINE for a
 * bad line; a file that loads must answer checks without crashing, and
 * its names must be names.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../core/api/keys.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("keys", data, size, 0600);
	if (!path)
		return 0;
	char err[1024] = "";
	struct tr_keys *k = tr_keys_load(path, err, sizeof err);
	if (!k) {
		if (!err[0])
			abort(); /* every refusal must say why */
	} else {
		char name[80];
		for (size_t i = 0; i < tr_keys_count(k); i++) {
			const char *n = tr_keys_name(k, i);
			if (!n || !*n || strlen(n) > 64 || strchr(n, ' '))
				abort();
			if (tr_keys_expires(k, i) < 0)
				abort();
		}
		tr_keys_check(k, "trk_0000", 1, name, sizeof name);
		tr_keys_free(k);
	}
	unlink(path);
	return 0;
}
