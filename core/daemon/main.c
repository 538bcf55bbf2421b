/*
 * trellisd - the Trellis management daemon.
 *
 * This first version loads the plugins and can list them; the daemon proper
 * (store, API, events) grows here.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../loader/listing.h"
#include "../loader/loader.h"
#include "../loader/paths.h"
#include "../util/log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: trellisd [OPTIONS]\n"
		"\n"
		"The Trellis management daemon.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     daemon config (YAML); default: embedded defaults\n"
		"  -s, --state-dir DIR   state directory (default /var/lib/trellis)\n"
		"  -f, --foreground      stay in the foreground, log to stderr\n"
		"  -P, --plugin-dir DIR  also load plugins from DIR (repeatable)\n"
		"      --list-plugins    load the plugins, print them and exit\n"
		"  -o, --output FMT      table (default) or json, for --list-plugins\n"
		"  -v, --verbose         log debug messages\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n"
		"\n"
		"Plugins are searched in the --plugin-dir directories, then\n"
		"TRELLIS_PLUGIN_PATH, then beside the program.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"state-dir", required_argument, NULL, 's'},
		{"foreground", no_argument, NULL, 'f'},
		{"plugin-dir", required_argument, NULL, 'P'},
		{"list-plugins", no_argument, NULL, 'L'},
		{"output", required_argument, NULL, 'o'},
		{"verbose", no_argument, NULL, 'v'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dirs[32];
	size_t ndirs = 0;
	int list = 0, json = 0, verbose = 0, c;
	while ((c = getopt_long(argc, argv, "c:s:fP:o:vVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 's':
		case 'f':
			break;
		case 'P':
			if (ndirs < sizeof dirs / sizeof *dirs)
				dirs[ndirs++] = optarg;
			break;
		case 'L':
			list = 1;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "table") != 0) {
				fprintf(stderr,
					"trellisd: unknown output format '%s' "
					"(table or json)\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("trellisd %s (plugin ABI %d.%d, %s)\n",
			       TRELLIS_VERSION, TRELLIS_ABI_MAJOR,
			       TRELLIS_ABI_MINOR, TRELLIS_BUILD_TAG);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	tr_log_setup(TR_LOG_STDERR,
		     verbose ? TRELLIS_LOG_DEBUG : TRELLIS_LOG_ERR, "trellisd");
	if (!list) {
		fprintf(stderr, "trellisd: the daemon proper is not built yet; "
				"use --list-plugins\n");
		return 2;
	}
	struct tr_pathlist paths;
	if (tr_plugin_paths(&paths, dirs, ndirs) < 0) {
		fprintf(stderr, "trellisd: out of memory\n");
		return 1;
	}
	tr_registry_t *reg = tr_registry_new();
	int rc = 0;
	for (size_t i = 0; i < paths.n; i++) {
		char err[512];
		if (tr_registry_load_dir(reg, paths.dirs[i], err, sizeof err) <
		    0) {
			fprintf(stderr, "trellisd: plugin directory %s\n", err);
			rc = 1;
		}
	}
	tr_registry_print(reg, stdout, json);
	tr_registry_free(reg);
	tr_pathlist_free(&paths);
	tr_host_shutdown();
	return rc;
}
