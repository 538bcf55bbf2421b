/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h - what the vm.* actions (vm.c) share with the other action files.
 */
#ifndef TRELLIS_CORE_ACTIONS_VM_H
#define TRELLIS_CORE_ACTIONS_VM_H

#include "../host/host.h"
#include "../store/sql.h"

/* Lets go of the name instance held with vm.reserve (none held: fine).
 * 0, or -1 on a database error (tr_sql_errmsg(db)).  Main thread. */
int tr_vm_name_release(struct tr_sql *db, const char *name,
		       const char *instance);

/* The key of the placement claim the VM uuid owns into out ("" when
 * none); 0 or IO.  vm.c. */
int tr_vm_claim_of(struct tr_sql *db, const char *uuid, char *out, size_t len,
		   trellis_call_t *call);

struct tr_store;
/* Sets the VM's host (NULL or "": none, while HA restarts it elsewhere:
 * a VM's host is shown once a start there is confirmed).  lifecycle.c. */
int tr_vm_set_host(struct tr_store *s, const char *uuid, const char *host,
		   trellis_call_t *call);

#endif
