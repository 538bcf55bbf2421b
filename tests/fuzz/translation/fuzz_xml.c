/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the translated plugin's XML answers
 * (plugins/storage/translated/xmljson.c): whatever an S3 endpoint sends,
 * the conversion to JSON gives a JSON object with one key, or NULL.
 */
#include <stdint.h>
#include <stdlib.h>

#include "../../../plugins/storage/translated/xmljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = tx_xml_json((const char *)data, size);
	if (j && (!json_is_object(j) || json_object_size(j) != 1))
		abort();
	json_decref(j);
	return 0;
}
