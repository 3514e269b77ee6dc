/* err.h - the one error convention of the project.
 *
 * Every fallible function returns an int: >= 0 on success, a negative errno
 * value on failure, and fills a caller-owned `struct cerr` with a message that
 * says what failed and on what (file, key, device). Callers add context on the
 * way up with cerr_prefix(); the top of the program prints the message once.
 *
 *     if (fd < 0)
 *         return cerr_set(err, errno, "open '%s'", path);
 *     ...
 *     if (r < 0)
 *         return cerr_prefix(err, r, "reading spec");
 */
#ifndef COCOON_ERR_H
#define COCOON_ERR_H

#include <stdbool.h>
#include <stddef.h>

#define CERR_MSG_MAX 1024

struct cerr {
	int code;               /* positive errno value, 0 when no error */
	char msg[CERR_MSG_MAX]; /* "what: why", without a trailing newline */
};

#define CERR_INIT         \
	{                 \
		0,        \
		{         \
			0 \
		}         \
	}

/* Sets the error: the formatted message, then ": strerror(errnum)" when
 * errnum > 0. Returns -errnum (or -EINVAL when errnum is 0) so that callers can
 * write `return cerr_set(...)`. err may be NULL. */
int cerr_set(struct cerr *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cerr_set() without appending strerror: for errors that are about the
 * content of input, not a system call. errnum is still returned negated. */
int cerr_setx(struct cerr *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "context: " to the current message. Returns r unchanged (r < 0). */
int cerr_prefix(struct cerr *err, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void cerr_clear(struct cerr *err);

#endif
