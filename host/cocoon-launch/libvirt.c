/* libvirt.c - the libvirt domain; see libvirt.h. */
#include "libvirt.h"

#include <errno.h>

int libvirt_domain_xml(FILE *f, const struct lcfg *c, struct cerr *err)
{
	(void)f;
	(void)c;
	return cerr_setx(err, ENOSYS, "--libvirt-xml is not implemented yet");
}
