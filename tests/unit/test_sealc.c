/* test_sealc.c - the guest side of the seal protocol against replies built
 * here the way a sim seal-server builds them: a good reply opens to the key,
 * and every way a reply can be wrong (quote MAC, report data, secret changed
 * after quoting, trailing bytes, real mode without SGX support) is refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cocoon/sealc.h"
#include "cocoon/util.h"

static struct tee tee;
static struct sealc_req req;
static struct seal_req sreq;

static int setup(void **state)
{
	struct cerr err = CERR_INIT;
	struct wbuf w;

	tee_init(&tee, TEE_SIM);
	snprintf(tee.sim_rtmr_path, sizeof(tee.sim_rtmr_path), "/nonexistent/sim-rtmr");
	memset(tee.sim_platform_key, 0x5c, sizeof(tee.sim_platform_key));
	tee.sim_have_key = true;
	wbuf_init(&w, 0);
	assert_int_equal(sealc_request(&tee, "disk_encryption", &req, &w, &err), 0);
	assert_int_equal(w.len, 1116); /* the worked size in PROTOCOLS.md */
	assert_int_equal(seal_req_decode(w.p, w.len, &sreq, &err), 0);
	wbuf_free(&w);
	return 0;
}

static int teardown(void **state)
{
	sealc_req_done(&req);
	tee_done(&tee);
	return 0;
}

enum tamper { T_NONE, T_QUOTE_KEY, T_REPORT_DATA, T_SECRET_AFTER, T_TRAILING };

/* The server's side, as seal-server does it; key_out gets the sealed key. */
static uint8_t *make_reply(enum tamper how, uint8_t key_out[32], size_t *len)
{
	uint8_t shared[32], aes[16], iv[16], enc[96], rd[64], q[TEE_SIM_QUOTE_LEN], qkey[32];
	struct p256_key *eph, *peer;
	struct cerr err = CERR_INIT;
	struct wbuf w;

	assert_int_equal(crypto_random(key_out, 32, &err), 0);
	assert_int_equal(p256_generate(&eph, &err), 0);
	assert_int_equal(p256_from_public_le(sreq.pubkey, &peer, &err), 0);
	assert_int_equal(p256_public_le(eph, enc, &err), 0);
	assert_int_equal(p256_ecdh_le(eph, peer, shared, &err), 0);
	assert_int_equal(seal_kdf(shared, aes, iv, &err), 0);
	assert_int_equal(crypto_aes128_ctr(aes, iv, key_out, 32, enc + 64, &err), 0);
	assert_int_equal(crypto_sha256(sreq.pubkey, 64, rd, &err), 0);
	if (how == T_REPORT_DATA)
		rd[0] ^= 1;
	assert_int_equal(crypto_sha256(enc, 96, rd + 32, &err), 0);
	memcpy(qkey, tee.sim_platform_key, 32);
	if (how == T_QUOTE_KEY)
		qkey[0] ^= 1;
	assert_int_equal(tee_sim_quote_build(qkey, rd, q, &err), 0);
	if (how == T_SECRET_AFTER)
		enc[70] ^= 1;
	wbuf_init(&w, 0);
	assert_int_equal(seal_resp_encode(&w, q, sizeof(q), enc, &err), 0);
	if (how == T_TRAILING)
		wbuf_u32le(&w, 0);
	p256_free(eph);
	p256_free(peer);
	return wbuf_steal(&w, len);
}

static void request_carries_sim_report(void **state)
{
	struct cerr err = CERR_INIT;
	struct tdreport t;

	assert_string_equal(sreq.key_name, "disk_encryption");
	assert_memory_equal(sreq.pubkey, req.pubkey, 64);
	assert_int_equal(tdreport_parse(sreq.report, sizeof(sreq.report), &t, &err), 0);
	assert_int_equal(tdreport_check_binding(&t, sreq.pubkey, &err), 0);
	assert_int_equal(tee_sim_verify_report(tee.sim_platform_key, sreq.report, &err), 0);
}

static void good_reply_opens(void **state)
{
	struct sealc_opts o = {.tee = &tee, .key_name = "disk_encryption"};
	struct cerr err = CERR_INIT;
	uint8_t want[32], got[32];
	size_t n;
	uint8_t *p = make_reply(T_NONE, want, &n);

	assert_int_equal(sealc_open_reply(&req, &o, p, n, got, &err), 0);
	assert_memory_equal(got, want, 32);
	free(p);
}

static void expect_refused(enum tamper how, bool skip, int code, const char *needle)
{
	struct sealc_opts o = {.tee = &tee, .key_name = "x", .skip_validation = skip};
	struct cerr err = CERR_INIT;
	uint8_t want[32], got[32], zero[32] = {0};
	size_t n;
	uint8_t *p = make_reply(how, want, &n);

	assert_int_equal(sealc_open_reply(&req, &o, p, n, got, &err), code);
	if (needle && !strstr(err.msg, needle))
		fail_msg("message '%s' lacks '%s'", err.msg, needle);
	assert_memory_equal(got, zero, 32); /* nothing left in the output */
	free(p);
}

static void quote_under_other_key_refused(void **state)
{
	expect_refused(T_QUOTE_KEY, false, -EBADMSG, "MAC");
}

static void report_data_for_other_key_refused(void **state)
{
	expect_refused(T_REPORT_DATA, false, -EBADMSG, "not made for this request");
}

static void secret_changed_after_quote_refused(void **state)
{
	expect_refused(T_SECRET_AFTER, false, -EBADMSG, "not made for this request");
}

static void trailing_bytes_refused(void **state)
{
	expect_refused(T_TRAILING, false, -EBADMSG, "too much data");
}

static void skip_validation_trusts_quote(void **state)
{
	struct sealc_opts o = {.tee = &tee, .key_name = "x", .skip_validation = true};
	struct cerr err = CERR_INIT;
	uint8_t want[32], got[32];
	size_t n;
	uint8_t *p = make_reply(T_QUOTE_KEY, want, &n);

	assert_int_equal(sealc_open_reply(&req, &o, p, n, got, &err), 0);
	assert_memory_equal(got, want, 32);
	free(p);
}

static void real_mode_checks(void **state)
{
	static const uint8_t mr[1][32] = {{1}};
	struct tee real;
	struct sealc_opts o = {.tee = &real, .key_name = "x"};
	struct cerr err = CERR_INIT;
	uint8_t want[32], got[32];
	size_t n;
	uint8_t *p = make_reply(T_NONE, want, &n);

	tee_init(&real, TEE_TDX);
	/* empty allowlist: refused */
	assert_int_equal(sealc_open_reply(&req, &o, p, n, got, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "MR_ENCLAVE"));
	/* an allowlist, but no DCAP collateral to check the quote with */
	o.mr_enclave = mr;
	o.n_mr_enclave = 1;
	assert_int_equal(sealc_open_reply(&req, &o, p, n, got, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "collateral"));
	/* collateral, but the sim reply is no SGX quote (test_dcap_forged covers
	 * genuine quotes under the test root) */
	o.dcap_collateral = "/nonexistent";
	assert_int_equal(sealc_open_reply(&req, &o, p, n, got, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "quote parse"));
	free(p);
}

static void bad_key_name_refused(void **state)
{
	struct sealc_req r2;
	struct cerr err = CERR_INIT;
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(sealc_request(&tee, "a/b", &r2, &w, &err), -EINVAL);
	assert_null(r2.key);
	wbuf_free(&w);
}

static void fresh_key_per_request(void **state)
{
	struct sealc_req r2;
	struct cerr err = CERR_INIT;
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(sealc_request(&tee, "app", &r2, &w, &err), 0);
	assert_int_equal(w.len, 1104);
	assert_memory_not_equal(r2.pubkey, req.pubkey, 64);
	sealc_req_done(&r2);
	wbuf_free(&w);
}

static void unreachable_server(void **state)
{
	struct sealc_opts o = {.tee = &tee,
	                       .key_name = "x",
	                       .connect = "unix:/nonexistent/seal.sock",
	                       .timeout_ms = 1000};
	struct cerr err = CERR_INIT;
	enum sealc_stage stage = 0;
	uint8_t got[32];

	assert_true(sealc_get_key(&o, got, &stage, &err) < 0);
	assert_int_equal(stage, SEALC_STAGE_EXCHANGE);
	assert_non_null(strstr(err.msg, "/nonexistent/seal.sock"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(request_carries_sim_report),
	    cmocka_unit_test(good_reply_opens),
	    cmocka_unit_test(quote_under_other_key_refused),
	    cmocka_unit_test(report_data_for_other_key_refused),
	    cmocka_unit_test(secret_changed_after_quote_refused),
	    cmocka_unit_test(trailing_bytes_refused),
	    cmocka_unit_test(skip_validation_trusts_quote),
	    cmocka_unit_test(real_mode_checks),
	    cmocka_unit_test(bad_key_name_refused),
	    cmocka_unit_test(fresh_key_per_request),
	    cmocka_unit_test(unreachable_server),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
