/* SPDX-License-Identifier: Apache-2.0 */
/* The plugin's xen_map.c, compiled into the unit test from this directory
 * so that its object lands in the test's own build directory. */
#include "../../../plugins/hypervisor/xen/xen_map.c"
