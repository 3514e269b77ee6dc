/* dcap.c - Intel DCAP quote verification: see cocoon/dcap.h. */
#include <errno.h>
#include <string.h>

#include "cocoon/dcap.h"

extern const unsigned char dcap_root_der[];
extern const size_t dcap_root_der_len;
extern const int dcap_root_der_is_test;

int dcap_quote_parse(const uint8_t *p, size_t len, struct dcap_quote *q, struct cerr *err)
{
	memset(q, 0, sizeof(*q));
	return cerr_setx(err, ENOSYS, "quote parse: not implemented yet");
}

int dcap_collateral_parse(const char *json, size_t len, struct dcap_collateral *c,
                          struct cerr *err)
{
	memset(c, 0, sizeof(*c));
	return cerr_setx(err, ENOSYS, "collateral: not implemented yet");
}

int dcap_collateral_load(const char *path, struct dcap_collateral *c, struct cerr *err)
{
	memset(c, 0, sizeof(*c));
	return cerr_setx(err, ENOSYS, "collateral '%s': not implemented yet", path);
}

int dcap_collateral_save(const char *path, const struct dcap_collateral *c, struct cerr *err)
{
	return cerr_setx(err, ENOSYS, "collateral '%s': not implemented yet", path);
}

void dcap_collateral_free(struct dcap_collateral *c)
{
	memset(c, 0, sizeof(*c));
}

int dcap_verify(const struct dcap_quote *q, const struct dcap_collateral *c, time_t now,
                struct dcap_result *result, struct cerr *err)
{
	memset(result, 0, sizeof(*result));
	return cerr_setx(err, ENOSYS, "verify: not implemented yet");
}

bool dcap_status_ok(const char *status)
{
	return status && status[0] && strcmp(status, "Revoked") != 0;
}

int dcap_parse_time(const char *s, time_t *out)
{
	return -EINVAL;
}

bool dcap_root_is_test(void)
{
	return dcap_root_der_is_test != 0;
}
