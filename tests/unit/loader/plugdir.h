/* SPDX-License-Identifier: Apache-2.0 */
/* plugdir.h - where the test plugins are: BUILD/tests/plugins, found from
 * the test binary's own path (BUILD/tests/bin/<suite>/<name>). */
#ifndef TRELLIS_TEST_PLUGDIR_H
#define TRELLIS_TEST_PLUGDIR_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char plugdir[PATH_MAX / 2];

static void find_plugdir(void)
{
	char exe[PATH_MAX / 4];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		abort();
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(plugdir, sizeof plugdir, "%s/../../plugins", exe);
	char *real = realpath(plugdir, NULL);
	if (!real)
		abort();
	snprintf(plugdir, sizeof plugdir, "%s", real);
	free(real);
}

/* BUILD/tests/plugins/unit_<name>.so */
static void unit_plugin(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/unit_%s.so", plugdir, name);
}

#endif
