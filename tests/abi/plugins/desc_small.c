/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: a descriptor from before 1.0 (it ends before the ops field). */
#include "stub.h"

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

static const trellis_plugin_desc_t desc = {
    .struct_size = TRELLIS_PLUGIN_DESC_SIZE_1_0 - sizeof(void *),
    .abi_major = TRELLIS_ABI_MAJOR,
    .abi_minor = TRELLIS_ABI_MINOR,
    .build_tag = TRELLIS_BUILD_TAG,
    .name = "desc-small",
    .version = "1.0.0",
    .license = "Apache-2.0",
    .kind = TRELLIS_KIND_STORAGE,
    .thread_model = TRELLIS_THREAD_SERIALIZED,
    .ops = &ops,
};

const trellis_plugin_desc_t *trellis_plugin_entry(void) { return &desc; }
