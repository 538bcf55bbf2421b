/* SPDX-License-Identifier: Apache-2.0 */
/*
 * all.c - tr_actions_init(): registers every action file's actions once.
 *
 * Registration is explicit because a static library drops objects nobody
 * references: each action file defines tr_actions_register_<kind>()
 * (declared in action.h) and gets one line in the list below (append
 * yours).
 */
#include <pthread.h>

#include "action.h"

/* clang-format off */
#define TR_ACTION_FILES(X) \
	X(core) \
	X(workflow) \
	X(storage) \
	X(network) \
	X(netrouter) \
	X(policy) \
	X(hypervisor) \
	X(vmrecord) \
	X(vm) \
	X(probe) \
	X(tenancy) \
	X(maint) \
	X(ipam) \
	X(lifecycle) \
	X(fence) \
	X(bmc) \
	X(adapters) \
	X(volcopy)
/* clang-format on */

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void register_all(void)
{
#define CALL(kind) tr_actions_register_##kind();
	TR_ACTION_FILES(CALL)
#undef CALL
}

void tr_actions_init(void)
{
	pthread_once(&once, register_all);
}
