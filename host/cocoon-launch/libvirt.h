/* libvirt.h - the libvirt domain equivalent to the QEMU command line of
 * plan.c, for operators who run the VM through libvirt
 * (`virsh -c qemu+ssh://HOST/system define`). */
#ifndef COCOON_LAUNCH_LIBVIRT_H
#define COCOON_LAUNCH_LIBVIRT_H

#include <stdio.h>

#include "cocoon/err.h"
#include "cocoon/launchcfg.h"

/* Writes the domain XML. c must be finished and resolved as for plan_build(). */
int libvirt_domain_xml(FILE *f, const struct lcfg *c, struct cerr *err);

#endif
