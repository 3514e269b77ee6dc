/* cli.c - the options every program shares; see cocoon/cli.h. */
#include "cocoon/cli.h"

#include "cocoon-config.h"
#include "cocoon/log.h"

int cli_common_option(int c, const char *prog, void (*usage)(FILE *))
{
	switch (c) {
	case 'q':
		log_set_level(LOG_LVL_ERROR);
		return CLI_CONTINUE;
	case 'v':
		log_set_level(LOG_LVL_DEBUG);
		return CLI_CONTINUE;
	case 'h':
		usage(stdout);
		return 0;
	case 'V':
		printf("%s %s\n", prog, COCOON_VERSION);
		return 0;
	default:
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
}
