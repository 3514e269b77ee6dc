/* log.c - stderr logging with a program-name prefix; see cocoon/log.h. */
#include "cocoon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *progname = "cocoon";
static enum log_level level = LOG_LVL_INFO;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void log_init(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *env = getenv("COCOON_LOG_LEVEL");

	progname = slash ? slash + 1 : name;
	if (!env)
		return;
	if (!strcmp(env, "debug"))
		level = LOG_LVL_DEBUG;
	else if (!strcmp(env, "info"))
		level = LOG_LVL_INFO;
	else if (!strcmp(env, "warn") || !strcmp(env, "warning"))
		level = LOG_LVL_WARN;
	else if (!strcmp(env, "error"))
		level = LOG_LVL_ERROR;
	else if (!strcmp(env, "quiet"))
		level = LOG_LVL_QUIET;
}

void log_set_level(enum log_level l)
{
	level = l;
}

enum log_level log_get_level(void)
{
	return level;
}

const char *log_progname(void)
{
	return progname;
}

void log_msg(enum log_level l, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	if (l < level || l >= LOG_LVL_QUIET)
		return;
	n = snprintf(line, sizeof(line), "%s: %s: ", progname, level_names[l]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* one write per line so that lines of concurrent processes do not interleave */
	fprintf(stderr, "%s\n", line);
}

void log_cerr(const struct cerr *err)
{
	log_error("%s", err->msg[0] ? err->msg : "unknown error");
}
