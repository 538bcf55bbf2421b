/* SPDX-License-Identifier: Apache-2.0 */
/* hypervisor.c - dispatch wrappers for hypervisor plugins (dispatch.h). */
#include <string.h>

#include "../loader/loader.h"
#include "dispatch.h"

#define BEGIN(op)                                                              \
	TR_DISPATCH_BEGIN(TRELLIS_KIND_HYPERVISOR, trellis_hypervisor_ops, op)

int tr_hv_connect(struct trellis_plugin *p, trellis_call_t *call,
		  const char *uri, const trellis_node_t *options,
		  uint32_t flags, void **conn)
{
	*conn = NULL;
	BEGIN(connect);
	TR_DISPATCH_RUN(NULL, connect, p->state_ptr, call, uri, options, flags,
			conn);
}

void tr_hv_disconnect(struct tr_target *t)
{
	TR_DISPATCH_TARGET(t, conn);
	const struct trellis_hypervisor_ops *ops = tr_plugin_ops(p);
	if (!tr_plugin_has_op(
		p, offsetof(struct trellis_hypervisor_ops, disconnect)) ||
	    p->desc->kind != TRELLIS_KIND_HYPERVISOR)
		return;
	tr_plugin_enter(p, lock);
	ops->disconnect(p->state_ptr, conn);
	tr_plugin_leave(p, lock);
}

int tr_hv_host_info(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		    trellis_hv_host_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_hv_host_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(host_info);
	TR_DISPATCH_RUN(lock, host_info, conn, call, flags, out);
}

int tr_hv_vm_list(struct tr_target *t, trellis_call_t *call, uint32_t flags,
		  trellis_vm_list_fn fn, void *opaque)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_list);
	TR_DISPATCH_RUN(lock, vm_list, conn, call, flags, fn, opaque);
}

int tr_hv_vm_create(struct tr_target *t, trellis_call_t *call,
		    const trellis_vm_spec_t *spec, const char *idem_key,
		    uint32_t flags, trellis_vm_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_vm_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vm_create);
	if (spec && tr_dispatch_name_fits(call, "VM", spec->name,
					  sizeof out->name))
		return call->code;
	TR_DISPATCH_RUN(lock, vm_create, conn, call, spec, idem_key, flags,
			out);
}

int tr_hv_vm_destroy(struct tr_target *t, trellis_call_t *call,
		     const char *uuid, const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_destroy);
	TR_DISPATCH_RUN(lock, vm_destroy, conn, call, uuid, idem_key, flags);
}

int tr_hv_vm_info(struct tr_target *t, trellis_call_t *call, const char *uuid,
		  uint32_t flags, trellis_vm_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_vm_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vm_info);
	TR_DISPATCH_RUN(lock, vm_info, conn, call, uuid, flags, out);
}

int tr_hv_vm_start(struct tr_target *t, trellis_call_t *call, const char *uuid,
		   uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_start);
	TR_DISPATCH_RUN(lock, vm_start, conn, call, uuid, flags);
}

int tr_hv_vm_shutdown(struct tr_target *t, trellis_call_t *call,
		      const char *uuid, uint32_t timeout_s, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_shutdown);
	TR_DISPATCH_RUN(lock, vm_shutdown, conn, call, uuid, timeout_s, flags);
}

int tr_hv_vm_pause(struct tr_target *t, trellis_call_t *call, const char *uuid,
		   uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_pause);
	TR_DISPATCH_RUN(lock, vm_pause, conn, call, uuid, flags);
}

int tr_hv_vm_resume(struct tr_target *t, trellis_call_t *call, const char *uuid,
		    uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_resume);
	TR_DISPATCH_RUN(lock, vm_resume, conn, call, uuid, flags);
}

int tr_hv_vm_console(struct tr_target *t, trellis_call_t *call,
		     const char *uuid, uint32_t ttl_s, uint32_t flags,
		     trellis_console_info_t *out)
{
	TR_DISPATCH_TARGET(t, conn);
	trellis_console_info_t scratch;
	TR_DISPATCH_OUT(out, scratch);
	BEGIN(vm_console);
	TR_DISPATCH_RUN(lock, vm_console, conn, call, uuid, ttl_s, flags, out);
}

int tr_hv_vm_disk_attach(struct tr_target *t, trellis_call_t *call,
			 const char *uuid, const trellis_disk_spec_t *disk,
			 const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_disk_attach);
	TR_DISPATCH_RUN(lock, vm_disk_attach, conn, call, uuid, disk, idem_key,
			flags);
}

int tr_hv_vm_disk_detach(struct tr_target *t, trellis_call_t *call,
			 const char *uuid, const char *target,
			 const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_disk_detach);
	TR_DISPATCH_RUN(lock, vm_disk_detach, conn, call, uuid, target,
			idem_key, flags);
}

int tr_hv_vm_nic_attach(struct tr_target *t, trellis_call_t *call,
			const char *uuid, const trellis_nic_spec_t *nic,
			const char *idem_key, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_nic_attach);
	TR_DISPATCH_RUN(lock, vm_nic_attach, conn, call, uuid, nic, idem_key,
			flags);
}

int tr_hv_vm_nic_detach(struct tr_target *t, trellis_call_t *call,
			const char *uuid, const char *mac, const char *idem_key,
			uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(vm_nic_detach);
	TR_DISPATCH_RUN(lock, vm_nic_detach, conn, call, uuid, mac, idem_key,
			flags);
}

int tr_hv_guest_set_password(struct tr_target *t, trellis_call_t *call,
			     const char *uuid, const char *user,
			     const char *password, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(guest_set_password);
	TR_DISPATCH_RUN(lock, guest_set_password, conn, call, uuid, user,
			password, flags);
}

int tr_hv_guest_lock_user(struct tr_target *t, trellis_call_t *call,
			  const char *uuid, const char *user, uint32_t flags)
{
	TR_DISPATCH_TARGET(t, conn);
	BEGIN(guest_lock_user);
	TR_DISPATCH_RUN(lock, guest_lock_user, conn, call, uuid, user, flags);
}

int tr_hv_guest_end_sessions(struct tr_target *t, trellis_call_t *call,
			     const char *uuid, const char *user, uint32_t flags,
			     uint32_t *ended)
{
	TR_DISPATCH_TARGET(t, conn);
	uint32_t scratch = 0;
	if (!ended)
		ended = &scratch;
	*ended = 0;
	BEGIN(guest_end_sessions);
	TR_DISPATCH_RUN(lock, guest_end_sessions, conn, call, uuid, user, flags,
			ended);
}

int tr_hv_guest_file_read(struct tr_target *t, trellis_call_t *call,
			  const char *uuid, const char *path, uint64_t offset,
			  uint32_t flags, char *buf, size_t len, size_t *n,
			  uint64_t *size)
{
	TR_DISPATCH_TARGET(t, conn);
	*n = 0;
	*size = 0;
	BEGIN(guest_file_read);
	TR_DISPATCH_RUN(lock, guest_file_read, conn, call, uuid, path, offset,
			flags, buf, len, n, size);
}
