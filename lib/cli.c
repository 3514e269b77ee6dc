/* cli.c - the options every program shares; see cocoon/cli.h. */
#include "cocoon/cli.h"

#include <errno.h>
#include <stdlib.h>

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

int cli_parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!*s || *s == '+' || (*s == '-' && min >= 0) || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
