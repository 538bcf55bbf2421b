/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for interface translation files (the translated
 * storage plugin's itf.c): the bytes are a file.  A rejection must come
 * with a "FILE:LINE:COL: message" error; an accepted file must give an
 * effective section for any vendor and model, with every op mapped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../plugins/storage/translated/itf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	struct itf *t = itf_load("fuzz.yaml", (const char *)data, size, err,
				 sizeof err);
	if (!t) {
		if (strncmp(err, "fuzz.yaml:", 10) != 0)
			abort(); /* every refusal names the file and place */
		return 0;
	}
	struct itf_section s;
	static const char *const who[][2] = {{"Acme Systems Inc.", "AZ1000"},
					     {"", ""},
					     {"Consolidated Excelsior", "CX-9"}};
	for (size_t i = 0; i < sizeof who / sizeof *who; i++) {
		const char *name = itf_pick(t, who[i][0], who[i][1], &s);
		if (!name || !s.auth_scheme || !s.model_token)
			abort();
		for (int op = 0; op < ITF_OP__COUNT; op++)
			if (!s.ops[op].method || !s.ops[op].path)
				abort(); /* the built-ins fill every gap */
	}
	itf_free(t);
	return 0;
}
