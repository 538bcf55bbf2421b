/* SPDX-License-Identifier: Apache-2.0 */
/*
 * follows_links.c - the SDK's storage skeleton with one defect: it follows
 * symlinks (AT_SYMLINK_NOFOLLOW and O_NOFOLLOW turned off), so a symlink
 * planted in a pool is taken for a volume and resized through.
 * trellis-plugin-check must fail its symlink:* checks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#undef AT_SYMLINK_NOFOLLOW
#define AT_SYMLINK_NOFOLLOW 0 /* THE BUG */
#undef O_NOFOLLOW
#define O_NOFOLLOW 0 /* THE BUG */
#include "../../../sdk/skeleton/storage/skel_storage.c"
