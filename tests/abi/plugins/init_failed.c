/* SPDX-License-Identifier: Apache-2.0 */
/* Refused: init() fails, and says why through host->set_error. */
#include "stub.h"

static int init(trellis_plugin_t *self, const trellis_host_t *host,
		trellis_call_t *call, void **state)
{
	(void)self, (void)state;
	return host->set_error(call, TRELLIS_E_UNAVAILABLE,
			       "backend 'array-7' does not answer on %s",
			       "10.0.0.7:3260");
}

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

TRELLIS_PLUGIN_DEFINE(.name = "init-failed", .version = "1.0.0",
		      .license = "Apache-2.0", .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_SERIALIZED, .init = init,
		      .ops = &ops)
