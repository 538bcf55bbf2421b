/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Refused: dlopen(RTLD_NOW) fails with "undefined symbol".  This is the
 * collectd failure mode: a plugin that calls into host internals which a
 * new host no longer has.  Trellis plugins are linked with -z defs so
 * that this shows at build time; this one is built without it on purpose.
 */
#include "stub.h"

/* Not defined anywhere: imagine a core internal of an older trellisd. */
int trellis_abi_test_missing_symbol(int x);

static int init(trellis_plugin_t *self, const trellis_host_t *host,
		trellis_call_t *call, void **state)
{
	(void)self, (void)host, (void)call, (void)state;
	return trellis_abi_test_missing_symbol(1);
}

static const struct trellis_storage_ops ops = {.struct_size = sizeof ops,
					       STUB_STORAGE_OPS};

TRELLIS_PLUGIN_DEFINE(.name = "undefined-symbol", .version = "1.0.0",
		      .license = "Apache-2.0", .kind = TRELLIS_KIND_STORAGE,
		      .thread_model = TRELLIS_THREAD_SERIALIZED, .init = init,
		      .ops = &ops)
