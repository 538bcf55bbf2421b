/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for trellisd's config loader: the bytes are a config
 * file, overlaid on the embedded defaults and checked strictly.  A
 * rejection must come with a "FILE:LINE:COL: message"-style error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../core/config/config.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("config", data, size, 0644);
	if (!path)
		return 0;
	char err[1024] = "";
	struct tr_config *c = tr_config_load(path, "/nonexistent-state", err,
					     sizeof err);
	if (c)
		tr_config_free(c);
	else if (!err[0])
		abort(); /* every refusal must say why */
	unlink(path);
	return 0;
}
