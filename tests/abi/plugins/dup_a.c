/* SPDX-License-Identifier: Apache-2.0 */
/* Loads: the first plugin named "dup" (dup_b.so is then refused). */
#include "stub.h"

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

TRELLIS_PLUGIN_DEFINE(.name = "dup", .version = "1.0.0", .license = "Apache-2.0",
		      .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_SERIALIZED, .ops = &ops)
