/* plan.h - the launch plan: every path, socket and command line of one VM
 * (QEMU and the virtiofsd helpers), computed from a finished configuration
 * alone. Nothing here looks at the host: the choices that depend on it
 * (KVM or TCG, vsock or vport, virtio-fs or 9p, where virtiofsd is) are made
 * before, in main.c, and written into the configuration, so that the same
 * configuration always gives the same command lines (the golden tests rely
 * on it) and --print-only shows exactly what a launch would run.
 */
#ifndef COCOON_LAUNCH_PLAN_H
#define COCOON_LAUNCH_PLAN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cocoon/err.h"
#include "cocoon/launchcfg.h"

/* A NULL-terminated argument vector that grows; the first failure sticks. */
struct strv {
	char **v;
	size_t n, cap;
	int error;
};

void strv_free(struct strv *s);
void strv_add(struct strv *s, const char *a);
void strv_addf(struct strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* QMP's sizes of the sockets under run_dir */
#define PLAN_PATH_MAX 128

struct plan_share {
	const char *tag;    /* "spec" or "data" */
	char dir[PATH_MAX]; /* host directory shared */
	bool readonly;
	char sock[PLAN_PATH_MAX]; /* virtiofsd's vhost-user socket */
	struct strv virtiofsd;    /* its command line (virtio-fs only) */
};

struct plan {
	char run_dir[PLAN_PATH_MAX];
	char qmp[PLAN_PATH_MAX];
	char health[PLAN_PATH_MAX];   /* vport: QEMU's listening socket for the health port */
	char spec_dir[PLAN_PATH_MAX]; /* the prepared spec copy (shared read-only) */
	char seal[PLAN_PATH_MAX];     /* vport: seal-server's unix socket, "" when none */
	char cmdline[8192];           /* the kernel command line */
	struct plan_share shares[2];
	size_t n_shares;
	struct strv qemu;
};

/* Builds the plan. c must be finished (lcfg_finish) with accel, transport and
 * fs resolved (not AUTO). */
int plan_build(const struct lcfg *c, struct plan *p, struct cerr *err);
void plan_free(struct plan *p);

/* Writes argv shell-quoted, an option and its value per line, joined with
 * backslash-newlines. */
void plan_print_argv(FILE *f, const struct strv *argv);
/* --print-only: the helpers and QEMU, each after a comment line. */
void plan_print(FILE *f, const struct lcfg *c, const struct plan *p);

#endif
