/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: an ops table from before 1.0 (it ends after vol_info). */
#include "stub.h"

static const struct trellis_storage_ops ops = {
    .struct_size = offsetof(struct trellis_storage_ops, vol_list),
    STUB_STORAGE_OPS};

TRELLIS_PLUGIN_DEFINE(.name = "ops-small", .version = "1.0.0", .license = "Apache-2.0",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_SERIALIZED, .ops = &ops)
