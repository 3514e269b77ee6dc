/* engineconf-dump.c - prints one engine configuration file that
 * lib/engineconf.c generates from a workload spec, for tests that hand it to
 * the real engine (podman_cases.py).
 *
 *   engineconf-dump SPECDIR policy|registries|daemon
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/compose.h"
#include "cocoon/engineconf.h"

int main(int argc, char **argv)
{
	struct compose_spec s;
	struct cerr err = CERR_INIT;
	char *out = NULL;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: engineconf-dump SPECDIR policy|registries|daemon\n");
		return 2;
	}
	if (compose_load_dir(argv[1], NULL, &s, &err) < 0) {
		fprintf(stderr, "engineconf-dump: %s\n", err.msg);
		return 1;
	}
	if (!strcmp(argv[2], "policy"))
		r = engineconf_podman_policy(&s, &out, &err);
	else if (!strcmp(argv[2], "registries"))
		r = engineconf_podman_registries(&s, &out, &err);
	else if (!strcmp(argv[2], "daemon"))
		r = engineconf_daemon_json(&s, &out, &err);
	else
		r = -1;
	compose_spec_free(&s);
	if (r < 0) {
		fprintf(stderr, "engineconf-dump: %s\n", err.msg);
		return 1;
	}
	fputs(out, stdout);
	free(out);
	return 0;
}
