/* test_dcap_forged.c - lib/dcap.c under the TEST root (-Ddcap_test_root) on
 * quotes built and signed here (dcap_forge.c): SGX v3, TDX v4 and v5 with
 * TD 1.0 and TD 1.5 bodies, TCB statuses and their convergence with the QE
 * and TDX module levels, revocations, each validity window on its own, and
 * seal-client's TDX path (lib/sealc.c) checking a seal-server's SGX quote.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/crypto.h"
#include "cocoon/dcap.h"
#include "cocoon/sealc.h"
#include "cocoon/tl.h"
#include "cocoon/util.h"
#include "dcap_forge.h"

static const char *root_dir;
static time_t T0;

static void opts(struct forge_opts *o)
{
	forge_defaults(o, root_dir, T0);
}

/* Builds, parses and verifies at t; returns dcap_verify()'s result, the
 * check's name in check[] on failure. */
static int run(const struct forge_opts *o, time_t t, struct dcap_result *res, char *check)
{
	uint8_t *q;
	char *cj;
	size_t ql, cl;
	assert_int_equal(forge(o, &q, &ql, &cj, &cl), 0);
	struct dcap_quote quote;
	struct dcap_collateral c;
	struct cerr err = CERR_INIT;
	assert_int_equal(dcap_quote_parse(q, ql, &quote, &err), 0);
	if (dcap_collateral_parse(cj, cl, &c, &err) < 0)
		fail_msg("%s", err.msg);
	int r = dcap_verify(&quote, &c, t, res, &err);
	if (r < 0) {
		snprintf(check, 64, "%.*s", (int)strcspn(err.msg, ":"), err.msg);
		assert_string_equal(check, res->failed_check);
	}
	dcap_collateral_free(&c);
	free(q);
	free(cj);
	return r;
}

static void expect(const struct forge_opts *o, const char *status, const char *adv)
{
	struct dcap_result res;
	char check[64] = "";
	int r = run(o, T0, &res, check);
	if (r < 0)
		fail_msg("refused at check '%s'", check);
	assert_string_equal(res.status, status);
	if (adv) {
		bool found = false;
		for (size_t i = 0; i < res.n_advisory_ids; i++)
			found |= !strcmp(res.advisory_ids[i], adv);
		assert_true(found);
	} else {
		assert_int_equal(res.n_advisory_ids, 0);
	}
}

static void expect_fail(const struct forge_opts *o, time_t t, const char *check_want)
{
	struct dcap_result res;
	char check[64] = "";
	assert_true(run(o, t, &res, check) < 0);
	assert_string_equal(check, check_want);
}

static void sgx_v3(void **state)
{
	struct forge_opts o;
	opts(&o);
	assert_true(dcap_root_is_test());
	expect(&o, "UpToDate", NULL);
	o.version = 4; /* an SGX quote in the v4 layout (certification data type 6) */
	expect(&o, "UpToDate", NULL);
	o.version = 5;
	expect(&o, "UpToDate", NULL);
}

static void tdx_bodies(void **state)
{
	struct forge_opts o;
	opts(&o);
	o.tdx = true;
	o.version = 4;
	expect(&o, "UpToDate", NULL);
	o.version = 5;
	expect(&o, "UpToDate", NULL);
	o.td15 = true;
	expect(&o, "UpToDate", NULL);
	/* the parsed TD 1.5 body */
	uint8_t *q;
	char *cj;
	size_t ql, cl;
	assert_int_equal(forge(&o, &q, &ql, &cj, &cl), 0);
	struct dcap_quote quote;
	struct cerr err = CERR_INIT;
	assert_int_equal(dcap_quote_parse(q, ql, &quote, &err), 0);
	assert_int_equal(quote.body_type, DCAP_BODY_TD15);
	assert_int_equal(quote.td.rtmr[3][0], 0x13);
	assert_int_equal(quote.td.tee_tcb_svn2[1], 1);
	/* a byte of the TD 1.5 extension is signed too */
	struct dcap_collateral c;
	struct dcap_result res;
	assert_int_equal(dcap_collateral_parse(cj, cl, &c, &err), 0);
	q[quote.signed_len - 1] ^= 1;
	assert_int_equal(dcap_quote_parse(q, ql, &quote, &err), 0);
	assert_true(dcap_verify(&quote, &c, T0, &res, &err) < 0);
	assert_string_equal(res.failed_check, "quote signature");
	dcap_collateral_free(&c);
	free(q);
	free(cj);
}

static void statuses(void **state)
{
	struct forge_opts o;
	opts(&o);
	o.top_status = "SWHardeningNeeded";
	o.top_advisory = "INTEL-SA-00334";
	expect(&o, "SWHardeningNeeded", "INTEL-SA-00334");
	o.top_status = "ConfigurationAndSWHardeningNeeded";
	expect(&o, "ConfigurationAndSWHardeningNeeded", "INTEL-SA-00334");
	/* the QE below its top level: OutOfDate, with the QE level's advisory */
	o.qe_svn = 5;
	expect(&o, "OutOfDateConfigurationNeeded", "INTEL-SA-00615");
	opts(&o);
	o.qe_svn = 5;
	expect(&o, "OutOfDate", "INTEL-SA-00615");
	/* the platform below the top level: the second level */
	opts(&o);
	o.platform_svn = 3;
	expect(&o, "OutOfDate", "INTEL-SA-00001");
	opts(&o);
	o.top_status = "Revoked";
	expect(&o, "Revoked", NULL);
	assert_false(dcap_status_ok("Revoked"));
	assert_true(dcap_status_ok("OutOfDate"));
}

static void tdx_module(void **state)
{
	struct forge_opts o;
	opts(&o);
	o.tdx = true;
	o.version = 4;
	o.tdx_module_svn = 2; /* the module identity's second level */
	expect(&o, "OutOfDate", NULL);
	o.tdx_module_svn = 1;
	expect_fail(&o, T0, "tdx module");
	o.tdx_module_svn = 3;
	o.tdx_module_version = 2; /* no TDX_02 identity */
	expect_fail(&o, T0, "tdx module");
	/* module version 0: the tdxModule entry, and TEE_TCB_SVN[0..1] are
	 * compared with the levels' first two TDX components (3 and 0 < 5, 1) */
	o.tdx_module_version = 0;
	expect_fail(&o, T0, "tcb level");
}

static void refusals(void **state)
{
	struct forge_opts o;
	opts(&o);
	o.platform_svn = 0;
	expect_fail(&o, T0, "tcb level");
	opts(&o);
	o.qe_svn = 2;
	expect_fail(&o, T0, "qe identity tcb");
	opts(&o);
	o.revoke_pck = true;
	expect_fail(&o, T0, "pck chain revocation");
	opts(&o);
	o.revoke_ca = true;
	expect_fail(&o, T0, "pck chain revocation");
	opts(&o);
	o.wrong_fmspc = true;
	expect_fail(&o, T0, "fmspc");
}

static void windows(void **state)
{
	static const struct {
		enum forge_narrow n;
		const char *check;
	} cases[] = {
	    {FORGE_NARROW_PCK_CERT, "pck chain validity"},
	    {FORGE_NARROW_CA_CERT, "pck chain validity"},
	    {FORGE_NARROW_TCB_CERT, "tcb info chain validity"},
	    {FORGE_NARROW_ROOT_CRL, "pck chain crl window"},
	    {FORGE_NARROW_PCK_CRL, "pck chain crl window"},
	    {FORGE_NARROW_TCB_INFO, "tcb info window"},
	    {FORGE_NARROW_QE_IDENTITY, "qe identity window"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct forge_opts o;
		opts(&o);
		o.narrow = cases[i].n;
		expect(&o, "UpToDate", NULL);                    /* inside: fine */
		expect_fail(&o, T0 + 2 * 86400, cases[i].check); /* past its end */
	}
	struct forge_opts o;
	opts(&o);
	expect_fail(&o, T0 - 2 * 86400, "pck chain crl window"); /* before the CRLs */
}

/* ---- seal-client's TDX path: the seal-server's SGX quote ---- */

static struct tee tee;
static char col_path[] = "/tmp/test_dcap_forged.XXXXXX";

/* A reply as an SGX seal-server makes it: report data = SHA256(client
 * public key) || SHA256(encrypted_secret), quote by the forge. */
static void reply(const struct sealc_req *req, struct forge_opts *o, struct wbuf *w,
                  void (*mutate)(struct forge_opts *))
{
	uint8_t secret_enc[SEAL_SECRET_ENC_LEN];
	struct cerr err = CERR_INIT;
	memset(secret_enc, 0x42, sizeof(secret_enc));
	/* a real server public key (the ECDH peer) */
	struct p256_key *k;
	assert_int_equal(p256_generate(&k, &err), 0);
	assert_int_equal(p256_public_le(k, secret_enc, &err), 0);
	p256_free(k);
	assert_int_equal(crypto_sha256(req->pubkey, SEAL_PUBKEY_LEN, o->report_data, &err), 0);
	assert_int_equal(crypto_sha256(secret_enc, sizeof(secret_enc), o->report_data + 32, &err),
	                 0);
	if (mutate)
		mutate(o);
	uint8_t *q;
	char *cj;
	size_t ql, cl;
	assert_int_equal(forge(o, &q, &ql, &cj, &cl), 0);
	assert_int_equal(write_file_atomic(col_path, cj, cl, 0644, &err), 0);
	wbuf_init(w, 0);
	assert_int_equal(seal_resp_encode(w, q, ql, secret_enc, &err), 0);
	free(q);
	free(cj);
}

static int seal_try(void (*mutate)(struct forge_opts *), const uint8_t (*allow)[32], size_t n_allow,
                    const char *collateral, struct cerr *err)
{
	struct sealc_req req;
	struct wbuf rp;
	struct forge_opts o;
	opts(&o);
	/* the request's key pair (the TD report it would carry needs a TD) */
	assert_int_equal(p256_generate(&req.key, err), 0);
	assert_int_equal(p256_public_le(req.key, req.pubkey, err), 0);
	reply(&req, &o, &rp, mutate);
	struct sealc_opts so = {.key_name = "default",
	                        .tee = &tee,
	                        .mr_enclave = allow,
	                        .n_mr_enclave = n_allow,
	                        .dcap_collateral = collateral,
	                        .dcap_now = T0};
	uint8_t key[SEALC_KEY_LEN];
	cerr_clear(err);
	int r = sealc_open_reply(&req, &so, rp.p, rp.len, key, err);
	sealc_req_done(&req);
	wbuf_free(&rp);
	return r;
}

static const uint8_t good_mre[1][32] = {{0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1,
                                         0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1,
                                         0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1,
                                         0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1, 0xe1}};

static void debug_enclave(struct forge_opts *o)
{
	o->attributes[0] |= 0x02;
}

static void other_report_data(struct forge_opts *o)
{
	o->report_data[40] ^= 1;
}

static void tdx_quote_instead(struct forge_opts *o)
{
	o->tdx = true;
	o->version = 4;
}

static void revoked_platform(struct forge_opts *o)
{
	o->top_status = "Revoked";
}

static void seal_tdx_path(void **state)
{
	struct cerr err = CERR_INIT;
	int fd = mkstemp(col_path);
	assert_true(fd >= 0);
	close(fd);
	memset(&tee, 0, sizeof(tee));
	tee_init(&tee, TEE_TDX);
	/* genuine (under the test root), allowed, not DEBUG, bound to us */
	assert_int_equal(seal_try(NULL, good_mre, 1, col_path, &err), 0);
	/* MR_ENCLAVE not in the allowlist */
	uint8_t other[1][32];
	memset(other, 0xe2, sizeof(other));
	assert_true(seal_try(NULL, (const uint8_t(*)[32])other, 1, col_path, &err) < 0);
	assert_non_null(strstr(err.msg, "MR_ENCLAVE"));
	/* a DEBUG enclave */
	assert_true(seal_try(debug_enclave, good_mre, 1, col_path, &err) < 0);
	assert_non_null(strstr(err.msg, "DEBUG"));
	/* report data for another request */
	assert_true(seal_try(other_report_data, good_mre, 1, col_path, &err) < 0);
	assert_non_null(strstr(err.msg, "report data"));
	/* a TD quote where the seal enclave's SGX quote belongs */
	assert_true(seal_try(tdx_quote_instead, good_mre, 1, col_path, &err) < 0);
	assert_non_null(strstr(err.msg, "SGX"));
	/* a Revoked platform */
	assert_true(seal_try(revoked_platform, good_mre, 1, col_path, &err) < 0);
	assert_non_null(strstr(err.msg, "Revoked"));
	/* no collateral, or none readable */
	assert_true(seal_try(NULL, good_mre, 1, NULL, &err) < 0);
	assert_non_null(strstr(err.msg, "collateral"));
	assert_true(seal_try(NULL, good_mre, 1, "/nonexistent/collateral.json", &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/collateral.json"));
	/* an empty allowlist is refused first */
	assert_true(seal_try(NULL, good_mre, 0, col_path, &err) < 0);
	assert_non_null(strstr(err.msg, "MR_ENCLAVE"));
	unlink(col_path);
}

int main(void)
{
	root_dir = getenv("DCAP_TEST_ROOT_DIR");
	if (!root_dir)
		root_dir = "tests/fixtures/dcap-test";
	assert_int_equal(dcap_parse_time("2027-06-15T00:00:00Z", &T0), 0);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sgx_v3),        cmocka_unit_test(tdx_bodies),
	    cmocka_unit_test(statuses),      cmocka_unit_test(tdx_module),
	    cmocka_unit_test(refusals),      cmocka_unit_test(windows),
	    cmocka_unit_test(seal_tdx_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
