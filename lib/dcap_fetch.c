/* dcap_fetch.c - collateral from a PCCS over libcurl: see cocoon/dcap.h. */
#include <errno.h>

#include "cocoon/dcap.h"

int dcap_collateral_fetch(const char *base_url, const char *cache_dir, const struct dcap_quote *q,
                          time_t now, struct dcap_collateral *c, struct cerr *err)
{
	return cerr_setx(err, ENOSYS, "pccs '%s': not implemented yet", base_url);
}
