/* runcmd.h - running a helper program (QEMU, nvidia-smi, NVIDIA's
 * gpu-admin-tools) with a time limit and its output captured, and finding
 * programs on the running system or under a generated root.
 *
 * The child gets /dev/null as stdin and one pipe for stdout and stderr
 * together, runs in its own process group, and is killed with that group when
 * the time limit passes, so a hung helper never hangs the caller. Nothing goes
 * through a shell.
 */
#ifndef COCOON_RUNCMD_H
#define COCOON_RUNCMD_H

#include <stdbool.h>
#include <stddef.h>

#include "cocoon/err.h"

struct cmd_result {
	int exit_code; /* the exit status, or 128 + the signal that ended it */
	char *out;     /* stdout and stderr as they came, NUL-terminated */
	size_t len;
	bool truncated; /* more than max_out bytes came; the rest was dropped */
};

/* Runs argv (argv[0] a path, or a name looked up on PATH; NULL-terminated).
 * Returns 0 once it ended, whatever its exit status (see res->exit_code);
 * -ETIMEDOUT when it was killed at timeout_ms; another negative errno when it
 * could not be started (-ENOENT: no such program). res is filled on 0 and on
 * -ETIMEDOUT (the output so far); free it with cmd_result_free(). */
int cmd_run(const char *const *argv, int timeout_ms, size_t max_out, struct cmd_result *res,
            struct cerr *err);
void cmd_result_free(struct cmd_result *res);

/* argv on one line for logs and dry runs; arguments with spaces or quotes are
 * single-quoted as a shell would need them. Truncated to n - 1 bytes. */
void cmd_format(const char *const *argv, char *out, size_t n);

/* Finds an executable. A name with a '/' is taken as it is; otherwise it is
 * looked for in dirs (a ':'-separated list), after $PATH when root is NULL or
 * empty. With a root, every candidate is looked for under it. 0 and the path
 * (root included) in out when found and executable; -EACCES with the path in
 * out when the first match is not executable; -ENOENT when there is none. */
int cmd_find(const char *root, const char *name, const char *dirs, char *out, size_t n);

#endif
