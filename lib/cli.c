/* cli.c - the options every program shares; see cocoon/cli.h. */
#include "cocoon/cli.h"

#include <errno.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/err.h"
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

void cli_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                           JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void cli_print_error_json(const struct cerr *err)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(err->msg));
	cli_print_json(o);
}
