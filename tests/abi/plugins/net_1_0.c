/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A network plugin built against the frozen ABI 1.0 headers
 * (sdk/abi/1.0/include): its ops table ends at gc, so the routers of ABI
 * 1.1 (router_ensure, router_remove) must come back NOTSUP from dispatch,
 * never call into memory beyond its table.  Its ops do nothing.
 */
#include <stdlib.h>

#include <trellis/network.h>

static int n_connect(void *state, trellis_call_t *call, const char *uri,
		     const trellis_node_t *options, uint32_t flags, void **conn)
{
	(void)state;
	(void)call;
	(void)uri;
	(void)options;
	(void)flags;
	*conn = (void *)1;
	return 0;
}

static void n_disconnect(void *state, void *conn)
{
	(void)state;
	(void)conn;
}

static int n_seg_ensure(void *conn, trellis_call_t *call,
			const trellis_segment_spec_t *spec, const char *key,
			uint32_t flags, trellis_segment_info_t *out)
{
	(void)conn, (void)call, (void)spec, (void)key, (void)flags, (void)out;
	return 0;
}

static int n_name_op(void *conn, trellis_call_t *call, const char *name,
		     const char *key, uint32_t flags)
{
	(void)conn, (void)call, (void)name, (void)key, (void)flags;
	return 0;
}

static int n_port_create(void *conn, trellis_call_t *call,
			 const trellis_port_spec_t *spec, const char *key,
			 uint32_t flags, trellis_port_info_t *out)
{
	(void)conn, (void)call, (void)spec, (void)key, (void)flags, (void)out;
	return 0;
}

/* The table, then what a 1.1 table would have next: a 1.0 host never
 * looks there, and neither may a 1.1 host. */
static const struct {
	struct trellis_network_ops ops;
	void *beyond[2];
} table = {
    .ops = {.struct_size = sizeof(struct trellis_network_ops),
	    .connect = n_connect,
	    .disconnect = n_disconnect,
	    .segment_ensure = n_seg_ensure,
	    .segment_release = n_name_op,
	    .port_create = n_port_create,
	    .port_delete = n_name_op},
    .beyond = {(void *)n_name_op, (void *)n_name_op},
};

TRELLIS_PLUGIN_DEFINE(.name = "net-1-0", .version = "1.0.0", .license = "Apache-2.0",
		      .kind = TRELLIS_KIND_NETWORK,
		      .thread_model = TRELLIS_THREAD_SERIALIZED,
		      .ops = &table.ops)
