/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: built for the next ABI major (2.0 on a 1.x host). */
#include "stub.h"

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

static const trellis_plugin_desc_t desc = {
    .struct_size = sizeof desc,
    .abi_major = TRELLIS_ABI_MAJOR + 1,
    .abi_minor = 0,
    .build_tag = TRELLIS_BUILD_TAG,
    .name = "abi-major",
    .version = "1.0.0",
    .license = "Apache-2.0",
    .kind = TRELLIS_KIND_STORAGE,
    .thread_model = TRELLIS_THREAD_SERIALIZED,
    .ops = &ops,
};

const trellis_plugin_desc_t *trellis_plugin_entry(void) { return &desc; }
