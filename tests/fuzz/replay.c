/* replay.c - runs a libFuzzer target over files without libFuzzer.
 *
 * The sanitizer build (gcc, ASan + UBSan) links each fuzz target with this
 * driver so `make test` replays every seed corpus under the sanitizers; the
 * clang build links the same targets with libFuzzer for real fuzzing.
 * Arguments are files or directories (one level deep).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cocoon/err.h"
#include "cocoon/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	struct cerr err = CERR_INIT;

	if (read_file(path, 64u << 20, &buf, &len, &err) < 0) {
		fprintf(stderr, "replay: %s\n", err.msg);
		return -1;
	}
	LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned runs = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *de;

			while (d && (de = readdir(d))) {
				char p[4096];

				if (de->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
				if (run_file(p) < 0)
					return 1;
				runs++;
			}
			if (d)
				closedir(d);
		} else {
			if (run_file(argv[i]) < 0)
				return 1;
			runs++;
		}
	}
	/* the empty input too */
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	printf("replayed %u corpus files and the empty input\n", runs);
	return runs ? 0 : 1;
}
