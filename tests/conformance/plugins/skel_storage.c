/* SPDX-License-Identifier: Apache-2.0 */
/* The SDK's storage skeleton, built in the tree (into tests/plugins/skel/)
 * for the daemon tests of per-pool options and config schemas. */
#include "../../../sdk/skeleton/storage/skel_storage.c"
