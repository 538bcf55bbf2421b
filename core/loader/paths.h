/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paths.h - where plugins are looked for, in order: directories from the
 * config, then TRELLIS_PLUGIN_PATH (colon-separated), then the directory
 * beside the running program (BIN/../plugins in a build tree,
 * BIN/../lib/trellis/plugins when installed).
 */
#ifndef TRELLIS_CORE_PATHS_H
#define TRELLIS_CORE_PATHS_H

#include <stddef.h>

struct tr_pathlist {
	char **dirs;
	size_t n;
};

/* Fills list from config dirs (may be NULL/0), the environment and the
 * program's location.  Duplicates and missing directories are dropped,
 * except config dirs, which are kept so their absence is reported. */
int tr_plugin_paths(struct tr_pathlist *list, const char *const *config_dirs,
		    size_t n_config);
void tr_pathlist_free(struct tr_pathlist *list);

/* Directory of the running executable, without trailing slash. */
int tr_self_dir(char *buf, size_t len);

#endif
