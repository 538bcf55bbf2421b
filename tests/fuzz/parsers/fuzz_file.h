/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_file.h - for fuzz targets whose parser reads a file: the input
 * written to a file of this process's own in /dev/shm. */
#ifndef TRELLIS_FUZZ_FILE_H
#define TRELLIS_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Writes data to /dev/shm/trellis-fuzz-WHAT-PID with mode; the path
 * (static, one per what), or NULL. */
static inline const char *fuzz_file(const char *what, const uint8_t *data,
				    size_t size, mode_t mode)
{
	static char path[96];
	snprintf(path, sizeof path, "/dev/shm/trellis-fuzz-%s-%d", what,
		 (int)getpid());
	FILE *f = fopen(path, "wb");
	if (!f)
		return NULL;
	fwrite(data, 1, size, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

#endif
