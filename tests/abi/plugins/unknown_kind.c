/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: a kind this host does not know (99). */
#include "stub.h"

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

TRELLIS_PLUGIN_DEFINE(.name = "unknown-kind", .version = "1.0.0",
		      .license = "Apache-2.0", .kind = 99,
		      .thread_model = TRELLIS_THREAD_SERIALIZED, .ops = &ops)
