/* trellis - the Trellis command line client.  (Grows with the daemon.) */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
			 strcmp(argv[1], "-h") == 0)) {
		printf("Usage: trellis NOUN VERB [ARGS]\n");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("trellis %s\n", TRELLIS_VERSION);
		return 0;
	}
	fprintf(stderr, "trellis: no commands yet; see --help\n");
	return 2;
}
