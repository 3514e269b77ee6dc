/* test_tee.c - TDREPORT parsing against a constructed report, the sim report
 * and quote (layout, MAC, what each check catches), the sim RTMR file and the
 * tdx backend's file paths (with stand-in files: there is no TDX here). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/crypto.h"
#include "cocoon/tee.h"
#include "cocoon/util.h"

static const uint8_t pk[TEE_SIM_PLATFORM_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

static void fill(uint8_t *p, size_t n, uint8_t v)
{
	memset(p, v, n);
}

static void parse_constructed_report(void **state)
{
	uint8_t r[TDREPORT_LEN] = {0};
	struct cerr err = CERR_INIT;
	struct tdreport t;

	r[0] = 0x81;
	r[1] = 0;
	r[2] = 1;
	fill(r + 16, 16, 0x10);
	fill(r + 32, 48, 0x20);
	fill(r + 80, 48, 0x50);
	fill(r + 128, 64, 0x80);
	fill(r + 224, 32, 0xe0);
	r[512] = 0x01; /* attributes bit 0: DEBUG */
	r[519] = 0x80;
	fill(r + 528, 48, 0x28);
	fill(r + 576, 48, 0x76);
	fill(r + 624, 48, 0x24);
	fill(r + 672, 48, 0x72);
	for (int i = 0; i < 4; i++)
		fill(r + 720 + 48 * i, 48, (uint8_t)(0xa0 + i));
	assert_int_equal(tdreport_parse(r, sizeof(r), &t, &err), 0);
	assert_int_equal(t.type, 0x81);
	assert_int_equal(t.subtype, 0);
	assert_int_equal(t.version, 1);
	assert_int_equal(t.cpusvn[15], 0x10);
	assert_int_equal(t.tee_tcb_info_hash[0], 0x20);
	assert_int_equal(t.tee_tcb_info_hash[47], 0x20);
	assert_int_equal(t.tee_info_hash[0], 0x50);
	assert_int_equal(t.reportdata[63], 0x80);
	assert_int_equal(t.mac[31], 0xe0);
	assert_true(t.attributes == 0x8000000000000001ull);
	assert_int_equal(t.mrtd[47], 0x28);
	assert_int_equal(t.mrconfigid[0], 0x76);
	assert_int_equal(t.mrowner[0], 0x24);
	assert_int_equal(t.mrownerconfig[47], 0x72);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(t.rtmr[i][0], 0xa0 + i);
		assert_int_equal(t.rtmr[i][47], 0xa0 + i);
	}
}

static void parse_wrong_length(void **state)
{
	uint8_t r[TDREPORT_LEN + 1] = {0};
	struct cerr err = CERR_INIT;
	struct tdreport t;

	assert_int_equal(tdreport_parse(r, TDREPORT_LEN - 1, &t, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "1023 bytes"));
	assert_int_equal(tdreport_parse(r, TDREPORT_LEN + 1, &t, &err), -EBADMSG);
}

static void make_sim(uint8_t report[TDREPORT_LEN], const uint8_t pub[64], uint8_t rtmr3_byte)
{
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN] = {{0}};
	uint8_t rd[64] = {0};
	struct cerr err = CERR_INIT;

	rtmr[3][0] = rtmr3_byte;
	assert_int_equal(crypto_sha256(pub, 64, rd, &err), 0);
	assert_int_equal(tee_sim_build_report(pk, rtmr, rd, report, &err), 0);
}

static void sim_report_layout(void **state)
{
	uint8_t pub[64] = {7}, r[TDREPORT_LEN], h[SHA384_LEN];
	struct cerr err = CERR_INIT;
	struct tdreport t;

	make_sim(r, pub, 0x33);
	assert_int_equal(tdreport_parse(r, sizeof(r), &t, &err), 0);
	assert_int_equal(t.type, 0x81);
	assert_int_equal(t.subtype, 0);
	assert_int_equal(t.version, 1);
	assert_memory_equal(t.cpusvn, "cocoon-sim\0\0\0\0\0\0", 16);
	assert_int_equal(crypto_sha384("cocoon-sim", 10, h, &err), 0);
	assert_memory_equal(t.tee_tcb_info_hash, h, SHA384_LEN);
	assert_int_equal(crypto_sha384(r + 512, 512, h, &err), 0);
	assert_memory_equal(t.tee_info_hash, h, SHA384_LEN);
	assert_int_equal(t.rtmr[3][0], 0x33);
	assert_int_equal(tdreport_check_binding(&t, pub, &err), 0);
	assert_int_equal(tee_sim_verify_report(pk, r, &err), 0);
}

static void sim_rtmr_changes_tee_info_hash(void **state)
{
	uint8_t pub[64] = {7}, a[TDREPORT_LEN], b[TDREPORT_LEN];

	make_sim(a, pub, 0);
	make_sim(b, pub, 1);
	assert_memory_not_equal(a + TDR_OFF_TEE_INFO_HASH, b + TDR_OFF_TEE_INFO_HASH, 48);
	assert_memory_equal(a + TDR_OFF_TCB_INFO_HASH, b + TDR_OFF_TCB_INFO_HASH, 48);
}

static void sim_verify_catches_tampering(void **state)
{
	uint8_t pub[64] = {7}, r[TDREPORT_LEN], other[TEE_SIM_PLATFORM_KEY_LEN] = {9};
	struct cerr err = CERR_INIT;

	make_sim(r, pub, 0);
	r[TDR_OFF_MAC] ^= 1;
	assert_int_equal(tee_sim_verify_report(pk, r, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "MAC"));
	make_sim(r, pub, 0);
	r[TDR_OFF_RTMR0 + 3 * 48] ^= 1; /* RTMR3 changed, tee_info_hash not */
	assert_int_equal(tee_sim_verify_report(pk, r, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "tee_info_hash"));
	make_sim(r, pub, 0);
	assert_int_equal(tee_sim_verify_report(other, r, &err), -EBADMSG);
}

static void sim_tcb_hash_required(void **state)
{
	uint8_t pub[64] = {7}, r[TDREPORT_LEN];
	struct cerr err = CERR_INIT;

	/* a report with a real-looking tee_tcb_info_hash, MAC'ed correctly: refused */
	make_sim(r, pub, 0);
	memset(r + TDR_OFF_TCB_INFO_HASH, 0x42, 48);
	assert_int_equal(tee_sim_report_mac(pk, r, r + TDR_OFF_MAC, &err), 0);
	assert_int_equal(tee_sim_verify_report(pk, r, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "cocoon-sim"));
}

static void binding_checks(void **state)
{
	uint8_t pub[64] = {7}, other[64] = {8}, r[TDREPORT_LEN];
	struct cerr err = CERR_INIT;
	struct tdreport t;

	make_sim(r, pub, 0);
	assert_int_equal(tdreport_parse(r, sizeof(r), &t, &err), 0);
	assert_int_equal(tdreport_check_binding(&t, other, &err), -EBADMSG);
	t.version = 0;
	assert_int_equal(tdreport_check_binding(&t, pub, &err), 0);
	t.version = 2;
	assert_int_equal(tdreport_check_binding(&t, pub, &err), -EBADMSG);
	t.version = 1;
	t.subtype = 1;
	assert_int_equal(tdreport_check_binding(&t, pub, &err), -EBADMSG);
	t.subtype = 0;
	t.type = 0x00; /* SGX */
	assert_int_equal(tdreport_check_binding(&t, pub, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "0x00"));
	t.type = 0x81;
	t.reportdata[40] = 1; /* the upper half must be zero */
	assert_int_equal(tdreport_check_binding(&t, pub, &err), -EBADMSG);
}

static void sim_quote(void **state)
{
	uint8_t rd[64], got[64], q[TEE_SIM_QUOTE_LEN], other[TEE_SIM_PLATFORM_KEY_LEN] = {0};
	struct cerr err = CERR_INIT;

	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)i;
	assert_int_equal(tee_sim_quote_build(pk, rd, q, &err), 0);
	assert_memory_equal(q, "CSIMQ\0\0\1", 8);
	assert_int_equal(tee_sim_quote_verify(pk, q, sizeof(q), got, &err), 0);
	assert_memory_equal(got, rd, 64);
	assert_int_equal(tee_sim_quote_verify(other, q, sizeof(q), got, &err), -EBADMSG);
	assert_int_equal(tee_sim_quote_verify(pk, q, sizeof(q) - 1, got, &err), -EBADMSG);
	q[8] ^= 1;
	assert_int_equal(tee_sim_quote_verify(pk, q, sizeof(q), got, &err), -EBADMSG);
	q[8] ^= 1;
	q[7] = 2; /* version */
	assert_int_equal(tee_sim_quote_verify(pk, q, sizeof(q), got, &err), -EBADMSG);
}

static void sim_extend_and_report(void **state)
{
	char dir[] = "/tmp/test_tee.XXXXXX", path[256], lock[300];
	uint8_t digest[48], want[96], expect[48], rt[TEE_RTMR_COUNT][TEE_RTMR_LEN];
	uint8_t rd[64] = {0}, r[TDREPORT_LEN];
	struct cerr err = CERR_INIT;
	struct stat st;
	struct tee t;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rtmr", dir);
	tee_init(&t, TEE_SIM);
	snprintf(t.sim_rtmr_path, sizeof(t.sim_rtmr_path), "%s", path);
	/* no key: refused with a message */
	assert_int_equal(tee_get_report(&t, rd, r, &err), -EINVAL);
	memcpy(t.sim_platform_key, pk, sizeof(pk));
	t.sim_have_key = true;

	assert_int_equal(tee_sim_read_rtmrs(path, rt, &err), 0); /* missing: zero */
	memset(digest, 0xab, sizeof(digest));
	assert_int_equal(tee_extend_rtmr3(&t, digest, &err), 0);
	memset(want, 0, 48);
	memcpy(want + 48, digest, 48);
	assert_int_equal(crypto_sha384(want, 96, expect, &err), 0);
	assert_int_equal(tee_sim_read_rtmrs(path, rt, &err), 0);
	assert_memory_equal(rt[3], expect, 48);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 192);

	assert_int_equal(tee_get_report(&t, rd, r, &err), 0);
	assert_memory_equal(r + TDR_OFF_RTMR0 + 3 * 48, expect, 48);
	assert_int_equal(tee_sim_verify_report(pk, r, &err), 0);

	/* a damaged RTMR file is refused, not read as zero */
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(tee_get_report(&t, rd, r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, path));

	tee_done(&t);
	assert_false(t.sim_have_key);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	unlink(lock);
	unlink(path);
	rmdir(dir);
}

static void tdx_paths(void **state)
{
	char dir[] = "/tmp/test_tee.XXXXXX", path[256];
	uint8_t digest[48], rd[64] = {0}, r[TDREPORT_LEN], back[64];
	struct cerr err = CERR_INIT;
	struct tee t;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	tee_init(&t, TEE_TDX);
	assert_string_equal(t.tdx_device, "/dev/tdx_guest");
	snprintf(t.tdx_device, sizeof(t.tdx_device), "%s/no-such-device", dir);
	assert_true(tee_get_report(&t, rd, r, &err) < 0);
	assert_non_null(strstr(err.msg, "no-such-device"));

	/* a regular file as the RTMR3 attribute: exactly 48 bytes written */
	snprintf(path, sizeof(path), "%s/rtmr3", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(t.tdx_rtmr3, sizeof(t.tdx_rtmr3), "%s", path);
	memset(digest, 0x5a, sizeof(digest));
	assert_int_equal(tee_extend_rtmr3(&t, digest, &err), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(back, 1, sizeof(back), f), 48);
	fclose(f);
	assert_memory_equal(back, digest, 48);
	unlink(path);
	snprintf(t.tdx_rtmr3, sizeof(t.tdx_rtmr3), "%s/missing", dir);
	assert_true(tee_extend_rtmr3(&t, digest, &err) < 0);
	assert_non_null(strstr(err.msg, "missing"));
	rmdir(dir);
}

static void kind_parse(void **state)
{
	struct cerr err = CERR_INIT;
	enum tee_kind k;

	assert_int_equal(tee_kind_parse("tdx", &k, &err), 0);
	assert_int_equal(k, TEE_TDX);
	assert_int_equal(tee_kind_parse("sim", &k, &err), 0);
	assert_int_equal(k, TEE_SIM);
	assert_int_equal(tee_kind_parse("sgx", &k, &err), -EINVAL);
	assert_string_equal(tee_kind_name(TEE_SIM), "sim");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_constructed_report),
	    cmocka_unit_test(parse_wrong_length),
	    cmocka_unit_test(sim_report_layout),
	    cmocka_unit_test(sim_rtmr_changes_tee_info_hash),
	    cmocka_unit_test(sim_verify_catches_tampering),
	    cmocka_unit_test(sim_tcb_hash_required),
	    cmocka_unit_test(binding_checks),
	    cmocka_unit_test(sim_quote),
	    cmocka_unit_test(sim_extend_and_report),
	    cmocka_unit_test(tdx_paths),
	    cmocka_unit_test(kind_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
