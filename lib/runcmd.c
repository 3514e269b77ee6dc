/* runcmd.c - helper programs with a time limit; see cocoon/runcmd.h. */
#include "cocoon/runcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cocoon/util.h"

void cmd_result_free(struct cmd_result *res)
{
	free(res->out);
	res->out = NULL;
	res->len = 0;
}

static void child(const char *const *argv, int out, int errpipe)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int e;

	setpgid(0, 0);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], (char *const *)argv);
fail:
	e = errno;
	if (write(errpipe, &e, sizeof(e)) < 0) {
		/* nothing left to report it with */
	}
	_exit(127);
}

static int exit_code_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

/* waits for pid until deadline (ms, monotonic); kills its group after that */
static int reap(pid_t pid, int64_t deadline, int *status)
{
	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return -ETIMEDOUT;
		}
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

int cmd_run(const char *const *argv, int timeout_ms, size_t max_out, struct cmd_result *res,
            struct cerr *err)
{
	int out[2] = {-1, -1}, ep[2] = {-1, -1};
	_cleanup_close_ int rd = -1, erd = -1;
	int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char cmd[256];
	size_t cap = max_out + 1;
	int status = 0, e = 0, r = 0;
	ssize_t got;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	cmd_format(argv, cmd, sizeof(cmd));
	res->out = malloc(cap);
	if (!res->out)
		return cerr_set(err, ENOMEM, "run %s", cmd);
	res->out[0] = '\0';
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		r = cerr_set(err, errno, "run %s: pipe", cmd);
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		r = cerr_set(err, errno, "run %s: fork", cmd);
		goto fail;
	}
	if (pid == 0)
		child(argv, out[1], ep[1]);
	setpgid(pid, pid); /* as the child does: no window where a kill misses the group */
	close(out[1]);
	close(ep[1]);
	rd = out[0];
	erd = ep[0];
	/* the exec error pipe closes on a successful exec */
	while ((got = read(erd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(e)) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		cmd_result_free(res);
		return cerr_set(err, e, "run %s", cmd);
	}
	for (;;) {
		int64_t left = deadline - now_ms();
		struct pollfd pfd = {rd, POLLIN, 0};
		char buf[4096];

		if (left <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		int pr = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			r = -errno;
			break;
		}
		if (pr == 0)
			continue;
		got = read(rd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		size_t take = (size_t)got;
		if (take > max_out - res->len) {
			take = max_out - res->len;
			res->truncated = true;
		}
		memcpy(res->out + res->len, buf, take);
		res->len += take;
		res->out[res->len] = '\0';
	}
	if (r == -ETIMEDOUT) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		deadline = now_ms();
	} else if (r < 0) {
		kill(-pid, SIGKILL);
	}
	int rr = reap(pid, r == 0 ? deadline : now_ms() + 1000, &status);
	if (r == 0)
		r = rr;
	if (r == -ETIMEDOUT)
		return cerr_setx(err, ETIMEDOUT, "%s did not finish within %d s and was stopped",
		                 cmd, timeout_ms / 1000);
	if (r < 0) {
		cmd_result_free(res);
		return cerr_set(err, -r, "run %s", cmd);
	}
	res->exit_code = exit_code_of(status);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ep[i] >= 0)
			close(ep[i]);
	}
	cmd_result_free(res);
	return r;
}

static bool needs_quotes(const char *a)
{
	if (!a[0])
		return true;
	for (const char *c = a; *c; c++)
		if (!(('a' <= *c && *c <= 'z') || ('A' <= *c && *c <= 'Z') ||
		      ('0' <= *c && *c <= '9') || strchr("-_./:=,+@%", *c)))
			return true;
	return false;
}

void cmd_format(const char *const *argv, char *out, size_t n)
{
	size_t o = 0;

#define PUT(ch)                          \
	do {                             \
		if (o + 1 < n)           \
			out[o++] = (ch); \
	} while (0)
	if (n == 0)
		return;
	for (size_t i = 0; argv[i]; i++) {
		bool q = needs_quotes(argv[i]);

		if (i)
			PUT(' ');
		if (q)
			PUT('\'');
		for (const char *c = argv[i]; *c; c++) {
			if (*c == '\'') {
				PUT('\'');
				PUT('\\');
				PUT('\'');
			}
			PUT(*c);
		}
		if (q)
			PUT('\'');
	}
#undef PUT
	out[o] = '\0';
}

/* 0 executable regular file, -EACCES present but not executable, -ENOENT */
static int probe(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || S_ISDIR(st.st_mode))
		return -ENOENT;
	if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0 || !(st.st_mode & 0111))
		return -EACCES;
	return 0;
}

static int try_dirs(const char *root, const char *list, const char *name, char *out, size_t n,
                    int *best)
{
	const char *p = list;

	while (p && *p) {
		size_t len = strcspn(p, ":");
		char cand[PATH_MAX];

		if (len > 0 && snprintf(cand, sizeof(cand), "%s%.*s/%s", root, (int)len, p, name) <
		                   (int)sizeof(cand)) {
			int r = probe(cand);

			if (r == 0 || (r == -EACCES && *best == -ENOENT)) {
				snprintf(out, n, "%s", cand);
				*best = r;
			}
			if (r == 0)
				return 0;
		}
		p += len;
		if (*p == ':')
			p++;
	}
	return *best;
}

int cmd_find(const char *root, const char *name, const char *dirs, char *out, size_t n)
{
	const char *r = root ? root : "";
	int best = -ENOENT;

	if (n)
		out[0] = '\0';
	if (!name[0])
		return -ENOENT;
	if (strchr(name, '/')) {
		char cand[PATH_MAX];

		if (snprintf(cand, sizeof(cand), "%s%s", r, name) >= (int)sizeof(cand))
			return -ENAMETOOLONG;
		best = probe(cand);
		if (best != -ENOENT)
			snprintf(out, n, "%s", cand);
		return best;
	}
	if (!r[0] && try_dirs("", getenv("PATH"), name, out, n, &best) == 0)
		return 0;
	if (dirs)
		try_dirs(r, dirs, name, out, n, &best);
	return best;
}
