/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plugin.c - descriptor, init/fini and config of the libvirt plugin.
 */
#include <stdlib.h>
#include <string.h>

#include "lv.h"

static void silent_error(void *opaque, virErrorPtr err)
{
	/* libvirt prints every error on stderr by default; errors reach the
	 * caller through the call context instead. */
	(void)opaque;
	(void)err;
}

static int lv_init(trellis_plugin_t *self, const trellis_host_t *host,
		   trellis_call_t *call, void **state)
{
	struct lv_state *st = host->alloc(sizeof *st);
	if (!st)
		return host->set_error(call, TRELLIS_E_NOMEM, "out of memory");
	st->self = self;
	st->host = host;
	st->config = host->config(self);
	if (virInitialize() < 0) {
		host->free(st);
		return host->set_error(call, TRELLIS_E_BACKEND,
				       "libvirt: virInitialize failed");
	}
	virSetErrorFunc(NULL, silent_error);
	int rc = lv_events_start(st, call);
	if (rc < 0) {
		host->free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static void lv_fini(void *state)
{
	struct lv_state *st = state;
	if (!st)
		return;
	lv_events_stop(st);
	st->host->free(st);
}

static const trellis_node_t *
config_node(struct lv_state *st, const trellis_node_t *options, const char *key)
{
	const trellis_host_t *h = st->host;
	const trellis_node_t *n = NULL;
	/* Per-host options win over the plugin-wide section. */
	if (options)
		n = h->node_get(options, key);
	if (!n && st->config)
		n = h->node_get(st->config, key);
	return n;
}

const char *lv_config_str(struct lv_state *st, const trellis_node_t *options,
			  const char *key)
{
	const trellis_node_t *n = config_node(st, options, key);
	const char *s = n ? st->host->node_str(n) : NULL;
	return s && *s ? s : NULL;
}

long long lv_config_int(struct lv_state *st, const trellis_node_t *options,
			const char *key, long long dflt)
{
	const trellis_node_t *n = config_node(st, options, key);
	int64_t v;
	if (n && st->host->node_int(n, &v) == 0)
		return v;
	return dflt;
}

static const struct trellis_hypervisor_ops lv_ops = {
    .struct_size = sizeof(struct trellis_hypervisor_ops),
    .connect = lv_connect,
    .disconnect = lv_disconnect,
    .host_info = lv_host_info,
    .vm_list = lv_vm_list,
    .vm_create = lv_vm_create,
    .vm_destroy = lv_vm_destroy,
    .vm_info = lv_vm_info,
    .vm_start = lv_vm_start,
    .vm_shutdown = lv_vm_shutdown,
    .vm_pause = lv_vm_pause,
    .vm_resume = lv_vm_resume,
    .vm_console = lv_vm_console,
    .vm_disk_attach = lv_vm_disk_attach,
    .vm_disk_detach = lv_vm_disk_detach,
    .vm_nic_attach = lv_vm_nic_attach,
    .vm_nic_detach = lv_vm_nic_detach,
    .guest_set_password = lv_guest_set_password,
    .guest_lock_user = lv_guest_lock_user,
    .guest_end_sessions = lv_guest_end_sessions,
    .guest_file_read = lv_guest_file_read,
};

TRELLIS_PLUGIN_DEFINE(.name = LV_NAME, .version = "1.0.0",
		      .license = "Apache-2.0",
		      .description = "QEMU/KVM (and libvirt's test driver) "
				     "through libvirt",
		      .kind = TRELLIS_KIND_HYPERVISOR,
		      .thread_model = TRELLIS_THREAD_REENTRANT,
		      .caps = TRELLIS_HV_CAP_CONSOLE_VNC |
			      TRELLIS_HV_CAP_HOTPLUG_DISK |
			      TRELLIS_HV_CAP_HOTPLUG_NIC |
			      TRELLIS_HV_CAP_KERNEL_BOOT |
			      TRELLIS_HV_CAP_EVENTS | TRELLIS_HV_CAP_QOS,
		      .init = lv_init, .fini = lv_fini, .ops = &lv_ops);
