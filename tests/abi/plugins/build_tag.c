/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: build tag of a 32-bit build. */
#include "stub.h"

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

static const trellis_plugin_desc_t desc = {
    .struct_size = sizeof desc,
    .abi_major = TRELLIS_ABI_MAJOR,
    .abi_minor = TRELLIS_ABI_MINOR,
    .build_tag = "trellis1/ptr4/long4/le",
    .name = "build-tag",
    .version = "1.0.0",
    .license = "Apache-2.0",
    .kind = TRELLIS_KIND_STORAGE,
    .thread_model = TRELLIS_THREAD_SERIALIZED,
    .ops = &ops,
};

const trellis_plugin_desc_t *trellis_plugin_entry(void) { return &desc; }
