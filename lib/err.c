/* err.c - the error object; see cocoon/err.h. */
#include "cocoon/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int ret_of(int errnum)
{
	return errnum > 0 ? -errnum : -EINVAL;
}

static void vset(struct cerr *err, int errnum, bool with_strerror, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void vset(struct cerr *err, int errnum, bool with_strerror, const char *fmt, va_list ap)
{
	int n;

	err->code = errnum > 0 ? errnum : EINVAL;
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (n < 0)
		n = 0;
	if (with_strerror && errnum > 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
}

int cerr_set(struct cerr *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vset(err, errnum, true, fmt, ap);
		va_end(ap);
	}
	return ret_of(errnum);
}

int cerr_setx(struct cerr *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vset(err, errnum, false, fmt, ap);
		va_end(ap);
	}
	return ret_of(errnum);
}

int cerr_prefix(struct cerr *err, int r, const char *fmt, ...)
{
	char ctx[256];
	char old[CERR_MSG_MAX];
	va_list ap;

	if (!err)
		return r;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* truncation of a very long chain of context is acceptable */
	size_t n = strnlen(ctx, sizeof(ctx) - 1);
	if (n > sizeof(err->msg) - 3)
		n = sizeof(err->msg) - 3;
	memcpy(err->msg, ctx, n);
	memcpy(err->msg + n, ": ", 2);
	size_t rest = sizeof(err->msg) - n - 3;
	size_t ol = strnlen(old, rest);
	memcpy(err->msg + n + 2, old, ol);
	err->msg[n + 2 + ol] = '\0';
	if (err->code == 0)
		err->code = r < 0 ? -r : EINVAL;
	return r;
}

void cerr_clear(struct cerr *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}
