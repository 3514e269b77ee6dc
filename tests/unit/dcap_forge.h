/* dcap_forge.h - test-only: DCAP quotes and their collateral made and signed
 * with OpenSSL under the TEST root (tests/fixtures/dcap-test), for the cases
 * where no genuine Intel data is at hand: SGX v3, TDX v5 (TD 1.0 and 1.5
 * bodies), chosen statuses, windows and revocations.
 *
 * The layout follows Intel's specifications, as lib/dcap.c reads them; the
 * genuine TDX v4 fixture is what keeps the two honest (the same code paths
 * accept it under the Intel root).
 */
#ifndef DCAP_FORGE_H
#define DCAP_FORGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Which part's validity window is made to end early (at forge_opts.t +
 * 1 day, all others later), so a test one more day on names that part. */
enum forge_narrow {
	FORGE_NARROW_NONE,
	FORGE_NARROW_PCK_CERT,
	FORGE_NARROW_CA_CERT,
	FORGE_NARROW_TCB_CERT,
	FORGE_NARROW_ROOT_CRL,
	FORGE_NARROW_PCK_CRL,
	FORGE_NARROW_TCB_INFO,
	FORGE_NARROW_QE_IDENTITY,
};

struct forge_opts {
	const char *root_dir; /* holds root.key.pem and root.der */
	int version;          /* 3, 4 or 5 */
	bool tdx;             /* else SGX */
	bool td15;            /* v5 TD 1.5 body */
	time_t t;             /* the verification time everything is valid at */
	enum forge_narrow narrow;
	/* the SGX body (SGX quotes) */
	uint8_t mr_enclave[32];
	uint8_t mr_signer[32];
	uint8_t attributes[16];
	uint16_t isv_prod_id, isv_svn;
	uint8_t report_data[64]; /* SGX or TD */
	/* the TD body: TEE_TCB_SVN[0..1] */
	uint8_t tdx_module_svn, tdx_module_version;
	/* platform: its SGX/TDX component SVNs (all the same), PCESVN, QE ISVSVN */
	uint8_t platform_svn;
	uint16_t pcesvn;
	uint16_t qe_svn;
	/* the top TCB level: its SVNs and status; a second level at SVN 1 is
	 * OutOfDate with advisory INTEL-SA-00001 */
	uint8_t top_svn;
	const char *top_status;
	const char *top_advisory; /* NULL: none */
	bool revoke_pck;          /* the PCK CRL lists the PCK certificate */
	bool revoke_ca;           /* the root CRL lists the PCK CA */
	bool wrong_fmspc;         /* TCB Info for another FMSPC */
};

void forge_defaults(struct forge_opts *o, const char *root_dir, time_t t);
/* Builds the quote and the collateral JSON (both malloc'ed). 0 or -1 with a
 * message on stderr. */
int forge(const struct forge_opts *o, uint8_t **quote, size_t *quote_len, char **collateral,
          size_t *collateral_len);

#endif
