/* dcap-forge - test-only: writes OUTDIR/quote and OUTDIR/collateral.json
 * made under the TEST root by dcap_forge.c, valid at 2027-06-15T00:00:00Z.
 *
 *   dcap-forge ROOT_DIR OUTDIR sgx3|sgx5|tdx4|tdx5|tdx5-td15
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/dcap.h"
#include "cocoon/util.h"
#include "dcap_forge.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr,
		        "usage: dcap-forge ROOT_DIR OUTDIR sgx3|sgx5|tdx4|tdx5|tdx5-td15\n");
		return 2;
	}
	struct forge_opts o;
	time_t t;
	dcap_parse_time("2027-06-15T00:00:00Z", &t);
	forge_defaults(&o, argv[1], t);
	const char *k = argv[3];
	o.tdx = !strncmp(k, "tdx", 3);
	o.version = k[3] - '0';
	o.td15 = strstr(k, "td15") != NULL;
	memset(o.report_data, 0xab, sizeof(o.report_data));
	uint8_t *q;
	char *c;
	size_t ql, cl;
	struct cerr err = CERR_INIT;
	char path[4096];
	if (forge(&o, &q, &ql, &c, &cl) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/quote", argv[2]);
	if (write_file_atomic(path, q, ql, 0644, &err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/collateral.json", argv[2]);
	if (write_file_atomic(path, c, cl, 0644, &err) < 0)
		goto fail;
	free(q);
	free(c);
	return 0;
fail:
	fprintf(stderr, "dcap-forge: %s\n", err.msg);
	return 1;
}
