/* run.c - starting and supervising the VM; see run.h. */
#include "run.h"

#include "cocoon/log.h"

int launch_run(const struct lcfg *c, const struct plan *p)
{
	(void)c;
	(void)p;
	log_error("starting the VM is not implemented yet; use --print-only");
	return EXIT_SYSTEM;
}
