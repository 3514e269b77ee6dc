/* dcap.h - Intel DCAP ECDSA-P256 quote verification (SGX v3, TDX v4/v5).
 *
 * Three steps, each on untrusted bytes:
 *
 *   dcap_quote_parse()       the quote's header, body and signature data,
 *                            every field through the bounds-checked reader;
 *   dcap_collateral_parse()  the collateral in the PCCS v4 JSON shape
 *   /_load()/_fetch()        (file, string, or a PCCS URL with a disk cache);
 *   dcap_verify()            every signature, certificate, CRL, validity
 *                            window, FMSPC/PCE id match, TCB level and QE
 *                            identity at a given time; the result is Intel's
 *                            status string and its advisory ids.
 *
 * The root of trust is the Intel SGX Root CA, compiled in and pinned (a test
 * build may replace it with -Ddcap_test_root=PATH; dcap_root_is_test() says
 * so). A failed check returns < 0 and a cerr that starts with the check's
 * name ("quote signature: ...", "pck chain: ...", "tcb info window: ...");
 * the same name is in dcap_result.failed_check.
 */
#ifndef COCOON_DCAP_H
#define COCOON_DCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cocoon/err.h"

#define DCAP_TEE_SGX 0x00000000u
#define DCAP_TEE_TDX 0x00000081u
#define DCAP_ATT_KEY_ECDSA_P256 2

/* Bounds on what a quote or collateral may hold. */
#define DCAP_QUOTE_MAX (64u * 1024)
#define DCAP_COLLATERAL_MAX (1024u * 1024)
#define DCAP_ADVISORIES_MAX 64
#define DCAP_ADVISORY_LEN 32

enum dcap_body {
	DCAP_BODY_SGX = 1,  /* enclave report (SGX quote v3) */
	DCAP_BODY_TD10 = 2, /* TD report, TDX 1.0 (v4, or v5 body type 2) */
	DCAP_BODY_TD15 = 3, /* TD report, TDX 1.5 (v5 body type 3) */
};

struct dcap_header {
	uint16_t version;      /* 3, 4 or 5 */
	uint16_t att_key_type; /* 2: ECDSA-256 with P-256 */
	uint32_t tee_type;     /* DCAP_TEE_SGX or DCAP_TEE_TDX */
	uint16_t qe_svn;       /* v3 only; reserved in v4/v5 */
	uint16_t pce_svn;      /* v3 only; reserved in v4/v5 */
	uint8_t qe_vendor_id[16];
	uint8_t user_data[20];
};

/* An SGX enclave report body (384 bytes): the SGX quote's body and every
 * quote's QE report. */
struct dcap_sgx_report {
	uint8_t cpu_svn[16];
	uint32_t misc_select;
	uint8_t isv_ext_prod_id[16];
	uint8_t attributes[16];
	uint8_t mr_enclave[32];
	uint8_t mr_signer[32];
	uint8_t config_id[64];
	uint16_t isv_prod_id;
	uint16_t isv_svn;
	uint16_t config_svn;
	uint8_t isv_family_id[16];
	uint8_t report_data[64];
};

/* A TD report body: 584 bytes (TD 1.0), 648 bytes (TD 1.5). */
struct dcap_td_report {
	uint8_t tee_tcb_svn[16];
	uint8_t mr_seam[48];
	uint8_t mr_signer_seam[48];
	uint8_t seam_attributes[8];
	uint8_t td_attributes[8];
	uint8_t xfam[8];
	uint8_t mr_td[48];
	uint8_t mr_config_id[48];
	uint8_t mr_owner[48];
	uint8_t mr_owner_config[48];
	uint8_t rtmr[4][48];
	uint8_t report_data[64];
	/* TD 1.5 only (zero for TD 1.0) */
	uint8_t tee_tcb_svn2[16];
	uint8_t mr_service_td[48];
};

#define DCAP_SGX_ATTR_DEBUG 0x02 /* attributes[0] bit 1 */
#define DCAP_TD_ATTR_DEBUG 0x01  /* td_attributes[0] bit 0 */

/* A parsed quote. The pointers point into the bytes given to
 * dcap_quote_parse(), which must outlive the struct; nothing is allocated. */
struct dcap_quote {
	struct dcap_header hdr;
	enum dcap_body body_type;
	struct dcap_sgx_report sgx; /* DCAP_BODY_SGX */
	struct dcap_td_report td;   /* DCAP_BODY_TD10/TD15 */

	const uint8_t *signed_data; /* header + (v5: body descriptor +) body */
	size_t signed_len;
	uint8_t signature[64];  /* r || s over signed_data by the attestation key */
	uint8_t att_key[64];    /* the attestation public key, x || y */
	const uint8_t *qe_report_raw; /* 384 bytes, signed by the PCK key */
	struct dcap_sgx_report qe_report;
	uint8_t qe_report_sig[64];
	const uint8_t *qe_auth;
	size_t qe_auth_len;
	uint16_t cert_type;  /* the innermost certification data type: 5 */
	const uint8_t *pck_chain; /* PEM: PCK cert, intermediate, root */
	size_t pck_chain_len;
};

/* Parses len bytes at p (at most DCAP_QUOTE_MAX). 0, or -EBADMSG/-ENOTSUP
 * with the field named in err ("quote parse: ..."). Checks the layout only;
 * no signature is verified here. */
int dcap_quote_parse(const uint8_t *p, size_t len, struct dcap_quote *q, struct cerr *err);

/* The collateral: the PCCS v4 field shape. tcb_info and qe_identity are the
 * exact bytes that were signed (the raw JSON text of the tcbInfo /
 * enclaveIdentity value), NUL-terminated. */
struct dcap_collateral {
	char *pck_crl_issuer_chain; /* PEM */
	uint8_t *root_ca_crl;       /* DER */
	size_t root_ca_crl_len;
	uint8_t *pck_crl; /* DER */
	size_t pck_crl_len;
	char *tcb_info_issuer_chain; /* PEM */
	char *tcb_info;
	size_t tcb_info_len;
	uint8_t tcb_info_sig[64];
	char *qe_identity_issuer_chain; /* PEM */
	char *qe_identity;
	size_t qe_identity_len;
	uint8_t qe_identity_sig[64];
	/* What dcap_verify() learnt of this collateral and of the last PCK
	 * chain it saw (parsed certificates and CRLs, verified signatures, the
	 * window in which the chains verify): later calls skip that work while
	 * the time is inside the window. Not thread-safe; freed with the rest. */
	struct dcap_cache *cache;
};

/* Parses the collateral JSON object (at most DCAP_COLLATERAL_MAX bytes):
 * the nine keys pck_crl_issuer_chain, root_ca_crl, pck_crl,
 * tcb_info_issuer_chain, tcb_info, tcb_info_signature,
 * qe_identity_issuer_chain, qe_identity, qe_identity_signature. CRLs are hex
 * DER (or PEM), signatures hex r||s; tcb_info and qe_identity are either a
 * string holding the signed JSON text or that JSON object itself (its raw
 * text is then taken as signed). 0 or < 0 naming the key. */
int dcap_collateral_parse(const char *json, size_t len, struct dcap_collateral *c,
                          struct cerr *err);
/* Reads and parses the file at path. */
int dcap_collateral_load(const char *path, struct dcap_collateral *c, struct cerr *err);
/* Writes c back in the JSON shape dcap_collateral_parse() reads. */
int dcap_collateral_save(const char *path, const struct dcap_collateral *c, struct cerr *err);
void dcap_collateral_free(struct dcap_collateral *c);

/* Fetches the collateral for q from a PCCS (v4 API: /sgx/certification/v4
 * or /tdx/certification/v4 paths under base_url) with libcurl. With
 * cache_dir, a cached copy (named by TEE and FMSPC) is used while its TCB
 * Info and QE Identity are within their window at now, and a fetched one is
 * stored there. The fetched bytes are not trusted: dcap_verify() checks
 * them. Built only where libcurl is (lib/dcap_fetch.c). */
int dcap_collateral_fetch(const char *base_url, const char *cache_dir, const struct dcap_quote *q,
                          time_t now, struct dcap_collateral *c, struct cerr *err);

struct dcap_result {
	char status[40]; /* UpToDate, SWHardeningNeeded, ConfigurationNeeded,
	                    ConfigurationAndSWHardeningNeeded, OutOfDate,
	                    OutOfDateConfigurationNeeded, Revoked */
	char advisory_ids[DCAP_ADVISORIES_MAX][DCAP_ADVISORY_LEN];
	size_t n_advisory_ids;
	char tcb_date[32];       /* the matched platform TCB level's tcbDate */
	uint8_t fmspc[6];        /* from the PCK certificate */
	uint8_t pce_id[2];
	char failed_check[48];   /* "" on success */
};

/* Verifies q against c at time now. Returns 0 when every check passed
 * (result->status may still be "Revoked": the caller decides; see
 * dcap_status_ok()), < 0 otherwise with err naming the failed check. */
int dcap_verify(const struct dcap_quote *q, const struct dcap_collateral *c, time_t now,
                struct dcap_result *result, struct cerr *err);

/* True for every status but Revoked (the quote is genuine and current). */
bool dcap_status_ok(const char *status);

/* Parses RFC 3339 ("2025-06-20T00:00:00Z", offsets and fractions allowed)
 * or decimal Unix seconds. 0 or -EINVAL. */
int dcap_parse_time(const char *s, time_t *out);

/* True when this build pins a test root instead of Intel's. */
bool dcap_root_is_test(void);

#endif
