/* run.h - starting and supervising a planned VM: the prepared spec, the
 * persistent image, virtiofsd per share, the seal-server check, QEMU, the
 * ready wait, QMP power-down on SIGINT/SIGTERM, and the clean-up of every
 * socket and directory the launcher made. */
#ifndef COCOON_LAUNCH_RUN_H
#define COCOON_LAUNCH_RUN_H

#include "cocoon/launchcfg.h"
#include "plan.h"

enum {
	EXIT_CLEAN = 0,   /* the guest powered off (by itself or after SIGINT/SIGTERM) */
	EXIT_REFUSED = 1, /* configuration refused; nothing was started */
	EXIT_USAGE = 2,
	EXIT_SYSTEM = 3, /* a helper or QEMU could not be started */
	EXIT_GUEST = 4,  /* guest failure: not ready in time, reset, panic, no power-down */
	EXIT_QEMU = 5,   /* QEMU crashed, was killed or exited with an error */
};

/* Runs the VM to its end; returns one of the EXIT_* codes. */
int launch_run(const struct lcfg *c, const struct plan *p);

#endif
