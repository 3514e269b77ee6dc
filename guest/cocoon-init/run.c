/* run.c - the step runner: order, timing, console lines, the boot state.
 *
 * health-monitor reports the first line of the boot state file; cocoon-launch
 * treats `ready` as booted and a line starting with `failed` as a guest
 * failure. While a step runs the file says `booting: NAME`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cocoon/util.h"
#include "init.h"

int init_path(const struct init_ctx *ctx, const char *abs, char *out, struct cerr *err)
{
	if ((size_t)snprintf(out, PATH_MAX, "%s%s", ctx->root, abs) >= PATH_MAX)
		return cerr_setx(err, ENAMETOOLONG, "path '%s%s' is too long", ctx->root, abs);
	return 0;
}

/* mkdir -p of the parent of path (under root already) */
static int mkdir_parents(const char *path, unsigned mode)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

int init_write_state(struct init_ctx *ctx, const char *line, struct cerr *err)
{
	char path[PATH_MAX], text[CERR_MSG_MAX + 128];
	size_t n;
	int r;

	if ((r = init_path(ctx, ctx->state_path, path, err)) < 0)
		return r;
	if ((r = mkdir_parents(path, 0755)) < 0)
		return cerr_set(err, -r, "creating the directory of '%s'", path);
	n = (size_t)snprintf(text, sizeof(text), "%s\n", line);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	return write_file_atomic(path, text, n, 0644, err);
}

/* one line: control characters (a message from a helper's output) become spaces */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int init_run_steps(struct init_ctx *ctx, const struct init_step *steps, size_t n, struct cerr *err)
{
	char line[CERR_MSG_MAX + 128];
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct init_step *s = &steps[i];
		struct cerr serr = CERR_INIT;
		int64_t t0 = now_ms();

		snprintf(line, sizeof(line), "booting: %s", s->name);
		if ((r = init_write_state(ctx, line, &serr)) < 0)
			goto failed;
		fprintf(ctx->console, "cocoon-init: [step %zu/%zu] %s ...\n", i + 1, n, s->title);
		fflush(ctx->console);
		r = s->run(ctx, &serr);
		if (r < 0) {
		failed:
			if (!serr.msg[0])
				cerr_set(&serr, -r, "%s", s->name);
			one_line(serr.msg);
			fprintf(ctx->console,
			        "cocoon-init: [step %zu/%zu] %s FAILED: %s (%lld ms)\n", i + 1, n,
			        s->name, serr.msg, (long long)(now_ms() - t0));
			fflush(ctx->console);
			snprintf(line, sizeof(line), "failed: %s: %s", s->name, serr.msg);
			/* the state file may be what failed: the console line stands */
			init_write_state(ctx, line, NULL);
			*err = serr;
			return r;
		}
		one_line(serr.msg);
		fprintf(ctx->console, "cocoon-init: [step %zu/%zu] %s %s%s%s (%lld ms)\n", i + 1, n,
		        s->name, r == INIT_SKIPPED ? "SKIPPED" : "done", serr.msg[0] ? ": " : "",
		        serr.msg, (long long)(now_ms() - t0));
		fflush(ctx->console);
	}
	return init_write_state(ctx, "ready", err);
}
