/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: the required storage op vol_info is missing. */
#include "stub.h"

static const struct trellis_storage_ops ops = {
    .struct_size = sizeof ops,
    .pool_open = stub_pool_open,
    .pool_close = stub_pool_close,
    .pool_info = stub_pool_info,
    .vol_create = stub_vol_create,
    .vol_delete = stub_vol_delete,
    /* .vol_info, required, is missing */
};

TRELLIS_PLUGIN_DEFINE(.name = "required-op", .version = "1.0.0",
		      .license = "Apache-2.0", .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_SERIALIZED, .ops = &ops)
