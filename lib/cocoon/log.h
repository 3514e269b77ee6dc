/* log.h - one logging convention: "<program>: <level>: <message>" on stderr.
 *
 * log_init() sets the program name once in main(). Messages at or above the
 * configured level are printed; COCOON_LOG_LEVEL=debug|info|warn|error in the
 * environment overrides the default (info). Nothing here allocates.
 */
#ifndef COCOON_LOG_H
#define COCOON_LOG_H

#include "cocoon/err.h"

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR, LOG_LVL_QUIET };

void log_init(const char *progname);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
const char *log_progname(void);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

/* Prints err's message at error level (the one place an error is printed). */
void log_cerr(const struct cerr *err);

#endif
