/* test_tee.c - TDREPORT parsing against a constructed report, the sim report,
 * quote and TD quote (layout, MAC, what each check catches), the sim RTMR
 * file, the attest report data, and the tdx backend on a generated tree that
 * behaves like the kernel's measurement files and configfs-tsm (there is no
 * TDX here), with the recorded TDX quotes as outblob. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
#include <stdbool.h>
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

/* ---- the tdx backend on a generated tree ----
 *
 * tsm_emu builds what a TDX guest kernel shows: the tdx_guest measurement
 * files (48 raw bytes each) and a configfs-tsm report directory. Plain files
 * cannot act, so the backend's test hook tells the emulator when the kernel
 * would: a mkdir under report/ makes provider, generation (0), inblob and
 * outblob; the close of inblob bumps generation (by gen_step: 2 stands for a
 * second writer in between) and fills outblob (the recorded quote); a write
 * of rtmr3 extends the emulator's RTMR3 and shows the new value; an rmdir
 * takes the attributes with it. */
struct tsm_emu {
	char root[64], report[128], mrs[128];
	uint8_t mrtd[48], rtmr[4][48];
	const uint8_t *outblob;
	size_t outblob_len;
	const char *provider;
	int gen_step;
	uint8_t inblob[64];
	size_t inblob_len;
	int mkdirs, rmdirs;
	char last_dir[PATH_MAX];
};

static void emu_write(const char *dir, const char *name, const void *p, size_t n)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static size_t emu_read(const char *path, void *p, size_t n)
{
	FILE *f = fopen(path, "rb");
	size_t got;

	assert_non_null(f);
	got = fread(p, 1, n, f);
	fclose(f);
	return got;
}

static int emu_hook(void *ctx, enum tee_tdx_event ev, const char *path)
{
	static const char *const attrs[] = {"provider", "generation", "inblob", "outblob"};
	struct tsm_emu *e = ctx;
	char p[PATH_MAX], gen[32];
	uint8_t buf[96];
	unsigned long g;
	struct cerr err = CERR_INIT;

	switch (ev) {
	case TEE_TDX_EV_REPORT_MKDIR:
		e->mkdirs++;
		snprintf(e->last_dir, sizeof(e->last_dir), "%s", path);
		snprintf(gen, sizeof(gen), "%s\n", e->provider ? e->provider : "tdx_guest");
		emu_write(path, "provider", gen, strlen(gen));
		emu_write(path, "generation", "0\n", 2);
		emu_write(path, "inblob", "", 0);
		emu_write(path, "outblob", "", 0);
		return 0;
	case TEE_TDX_EV_INBLOB_WRITTEN:
		snprintf(p, sizeof(p), "%s/inblob", path);
		e->inblob_len = emu_read(p, e->inblob, sizeof(e->inblob));
		snprintf(p, sizeof(p), "%s/generation", path);
		memset(gen, 0, sizeof(gen));
		emu_read(p, gen, sizeof(gen) - 1);
		g = strtoul(gen, NULL, 10) + (unsigned long)e->gen_step;
		snprintf(gen, sizeof(gen), "%lu\n", g);
		emu_write(path, "generation", gen, strlen(gen));
		emu_write(path, "outblob", e->outblob, e->outblob_len);
		return 0;
	case TEE_TDX_EV_REPORT_RMDIR:
		e->rmdirs++;
		for (size_t i = 0; i < 4; i++) {
			snprintf(p, sizeof(p), "%s/%s", path, attrs[i]);
			unlink(p);
		}
		return 0;
	case TEE_TDX_EV_MR_WRITTEN:
		assert_non_null(strstr(path, "/rtmr3:sha384"));
		assert_int_equal(emu_read(path, buf + 48, 49), 48);
		memcpy(buf, e->rtmr[3], 48);
		assert_int_equal(crypto_sha384(buf, 96, e->rtmr[3], &err), 0);
		emu_write(e->mrs, "rtmr3:sha384", e->rtmr[3], 48);
		return 0;
	}
	return -1;
}

static void emu_setup(struct tsm_emu *e, struct tee *t)
{
	static const char *const names[] = {"rtmr0:sha384", "rtmr1:sha384", "rtmr2:sha384",
	                                    "rtmr3:sha384"};

	memset(e, 0, sizeof(*e));
	snprintf(e->root, sizeof(e->root), "/tmp/test_tee_tdx.XXXXXX");
	assert_non_null(mkdtemp(e->root));
	snprintf(e->report, sizeof(e->report), "%s/report", e->root);
	snprintf(e->mrs, sizeof(e->mrs), "%s/measurements", e->root);
	assert_int_equal(mkdir(e->report, 0755), 0);
	assert_int_equal(mkdir(e->mrs, 0755), 0);
	e->gen_step = 1;
	memset(e->mrtd, 0x11, 48);
	emu_write(e->mrs, "mrtd:sha384", e->mrtd, 48);
	for (int i = 0; i < 4; i++) {
		memset(e->rtmr[i], 0x20 + i, 48);
		emu_write(e->mrs, names[i], e->rtmr[i], 48);
	}
	tee_init(t, TEE_TDX);
	snprintf(t->tdx_measurements, sizeof(t->tdx_measurements), "%s", e->mrs);
	snprintf(t->tdx_tsm_report, sizeof(t->tdx_tsm_report), "%s", e->report);
	t->tdx_hook = emu_hook;
	t->tdx_hook_ctx = e;
}

static void emu_teardown(struct tsm_emu *e)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->root);
	assert_int_equal(system(cmd), 0);
}

static bool dir_empty(const char *path)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "[ -z \"$(ls -A '%s')\" ]", path);
	return system(cmd) == 0;
}

static uint8_t *fixture(const char *name, size_t *len)
{
	const char *dir = getenv("SRC_FIXTURES");
	char path[PATH_MAX];
	char *data = NULL;
	struct cerr err = CERR_INIT;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (read_file(path, 1 << 20, &data, len, &err) < 0)
		fail_msg("fixture %s: %s", path, err.msg);
	return (uint8_t *)data;
}

static void tdx_defaults(void **state)
{
	struct tee t;

	tee_init(&t, TEE_TDX);
	assert_string_equal(t.tdx_device, "/dev/tdx_guest");
	assert_string_equal(t.tdx_measurements, "/sys/class/misc/tdx_guest/measurements");
	assert_string_equal(t.tdx_tsm_report, "/sys/kernel/config/tsm/report");
	assert_null(t.tdx_hook);
}

/* The recorded quotes as outblob: the backend hands back exactly those bytes,
 * wrote exactly our report data, and left no directory behind. */
static void tdx_quote_recorded(void **state)
{
	static const char *const names[] = {"tee/tdx-quote-v4.dat", "dcap/tdx_quote"};

	for (size_t i = 0; i < 2; i++) {
		struct cerr err = CERR_INIT;
		struct tsm_emu e;
		struct tee t;
		uint8_t rd[64], *q = NULL, *want;
		size_t qlen = 0, wlen = 0;

		want = fixture(names[i], &wlen);
		assert_true(wlen > 4000 && wlen < 6000);
		emu_setup(&e, &t);
		e.outblob = want;
		e.outblob_len = wlen;
		for (int k = 0; k < 64; k++)
			rd[k] = (uint8_t)(0xc0 ^ k);
		if (tee_quote(&t, rd, &q, &qlen, &err) < 0)
			fail_msg("%s: %s", names[i], err.msg);
		assert_int_equal(qlen, wlen);
		assert_memory_equal(q, want, wlen);
		assert_int_equal(q[0], 4); /* version 4, little-endian */
		assert_int_equal(e.inblob_len, 64);
		assert_memory_equal(e.inblob, rd, 64);
		assert_int_equal(e.mkdirs, 1);
		assert_int_equal(e.rmdirs, 1);
		assert_non_null(strstr(e.last_dir, "/cocoon-"));
		assert_true(dir_empty(e.report));
		free(q);
		free(want);
		emu_teardown(&e);
	}
}

static void tdx_quote_refusals(void **state)
{
	uint8_t rd[64] = {1}, *q = NULL, big[TEE_QUOTE_MAX + 1] = {4};
	size_t qlen = 0;
	struct cerr err = CERR_INIT;
	struct tsm_emu e;
	struct tee t;

	/* a second writer between our inblob and outblob */
	emu_setup(&e, &t);
	e.outblob = big;
	e.outblob_len = 100;
	e.gen_step = 2;
	assert_int_equal(tee_quote(&t, rd, &q, &qlen, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "another writer"));
	assert_non_null(strstr(err.msg, "from 0 to 2"));
	assert_null(q);
	assert_true(dir_empty(e.report));

	/* not a TDX provider */
	e.gen_step = 1;
	e.provider = "sev_guest";
	assert_int_equal(tee_quote(&t, rd, &q, &qlen, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "sev_guest"));
	assert_true(dir_empty(e.report));
	e.provider = NULL;

	/* no quote came out (the host's quote service did not answer) */
	e.outblob_len = 0;
	assert_int_equal(tee_quote(&t, rd, &q, &qlen, &err), -EIO);
	assert_non_null(strstr(err.msg, "empty"));
	assert_true(dir_empty(e.report));

	/* a quote over the bound */
	e.outblob_len = sizeof(big);
	assert_int_equal(tee_quote(&t, rd, &q, &qlen, &err), -EFBIG);
	assert_true(dir_empty(e.report));

	/* exactly the bound is fine */
	e.outblob_len = TEE_QUOTE_MAX;
	assert_int_equal(tee_quote(&t, rd, &q, &qlen, &err), 0);
	assert_int_equal(qlen, TEE_QUOTE_MAX);
	free(q);
	q = NULL;

	/* no configfs-tsm at all */
	snprintf(t.tdx_tsm_report, sizeof(t.tdx_tsm_report), "%s/nothing", e.root);
	assert_int_equal(tee_quote(&t, rd, &q, &qlen, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "CONFIG_TSM_REPORTS"));
	assert_int_equal(e.rmdirs, 5);
	emu_teardown(&e);
}

static void tdx_measurements(void **state)
{
	uint8_t d1[48], d2[48], buf[96], want[48];
	struct cerr err = CERR_INIT;
	struct tee_mrs m;
	struct tsm_emu e;
	struct tee t;

	emu_setup(&e, &t);
	assert_int_equal(tee_read_mrs(&t, &m, &err), 0);
	assert_memory_equal(m.mrtd, e.mrtd, 48);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(m.rtmr[i], e.rtmr[i], 48);

	/* two extensions, computed here from the starting value */
	memset(d1, 0x5a, 48);
	memset(d2, 0xa5, 48);
	memcpy(want, e.rtmr[3], 48);
	assert_int_equal(tee_extend_rtmr3(&t, d1, &err), 0);
	assert_int_equal(tee_extend_rtmr3(&t, d2, &err), 0);
	memcpy(buf, want, 48);
	memcpy(buf + 48, d1, 48);
	assert_int_equal(crypto_sha384(buf, 96, want, &err), 0);
	memcpy(buf, want, 48);
	memcpy(buf + 48, d2, 48);
	assert_int_equal(crypto_sha384(buf, 96, want, &err), 0);
	assert_int_equal(tee_read_mrs(&t, &m, &err), 0);
	assert_memory_equal(m.rtmr[3], want, 48);
	assert_memory_equal(m.rtmr[2], e.rtmr[2], 48);

	/* a register of the wrong size is refused, naming the file */
	emu_write(e.mrs, "rtmr1:sha384", "short", 5);
	assert_int_equal(tee_read_mrs(&t, &m, &err), -EIO);
	assert_non_null(strstr(err.msg, "rtmr1:sha384"));

	/* a kernel without the measurement files (before 6.16) */
	snprintf(t.tdx_measurements, sizeof(t.tdx_measurements), "%s/none", e.root);
	assert_int_equal(tee_read_mrs(&t, &m, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "6.16"));
	assert_true(tee_extend_rtmr3(&t, d1, &err) < 0);
	assert_non_null(strstr(err.msg, "CONFIG_TSM_MEASUREMENTS"));

	/* the TDREPORT device stays as it was */
	snprintf(t.tdx_device, sizeof(t.tdx_device), "%s/no-such-device", e.root);
	assert_true(tee_get_report(&t, buf, (uint8_t[TDREPORT_LEN]){0}, &err) < 0);
	assert_non_null(strstr(err.msg, "no-such-device"));
	emu_teardown(&e);
}

static void attest_report_data(void **state)
{
	static const char want_hex[] =
	    "8c164578ee840e8b99a5d94f1090a9db18c1c0af0a7ee33fef2f0a6442d9bc1d"
	    "b9222be99eda8b4c5a885b330063b9d9b3057322f7428d08b27251cf3dc5616a";
	uint8_t nonce[33], rd[64];
	char hex[129];
	struct cerr err = CERR_INIT;

	for (int i = 0; i < 33; i++)
		nonce[i] = (uint8_t)i;
	/* SHA-512("cocoon-attest-v1" 0x00 nonce), as Python's hashlib computes it */
	assert_int_equal(tee_attest_report_data(nonce, 32, rd, &err), 0);
	hex_encode(rd, 64, hex);
	assert_string_equal(hex, want_hex);
	assert_int_equal(tee_attest_report_data(nonce, 16, rd, &err), 0);
	assert_int_equal(tee_attest_report_data(nonce, 15, rd, &err), -EINVAL);
	assert_int_equal(tee_attest_report_data(nonce, 33, rd, &err), -EINVAL);
}

static void sim_td_quote(void **state)
{
	char dir[] = "/tmp/test_tee.XXXXXX", path[256], lock[300];
	uint8_t rd[64], digest[48], *q = NULL, other[TEE_SIM_PLATFORM_KEY_LEN] = {9};
	struct cerr err = CERR_INIT;
	struct tdreport rep;
	struct tee_mrs m;
	size_t n = 0;
	struct tee t;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rtmr", dir);
	tee_init(&t, TEE_SIM);
	snprintf(t.sim_rtmr_path, sizeof(t.sim_rtmr_path), "%s", path);
	for (int i = 0; i < 64; i++)
		rd[i] = (uint8_t)(i * 3);
	assert_int_equal(tee_quote(&t, rd, &q, &n, &err), -EINVAL); /* no key */
	memcpy(t.sim_platform_key, pk, sizeof(pk));
	t.sim_have_key = true;
	memset(digest, 0x77, 48);
	assert_int_equal(tee_extend_rtmr3(&t, digest, &err), 0);
	assert_int_equal(tee_read_mrs(&t, &m, &err), 0);

	assert_int_equal(tee_quote(&t, rd, &q, &n, &err), 0);
	assert_int_equal(n, TEE_SIM_TD_QUOTE_LEN);
	assert_int_equal(n, 1064);
	assert_memory_equal(q, "CSIMTDQ\1", 8);
	assert_true(tee_is_sim_td_quote(q, n));
	assert_int_equal(tee_sim_td_quote_parse(q, n, &rep, &err), 0);
	assert_memory_equal(rep.reportdata, rd, 64);
	assert_memory_equal(rep.rtmr[3], m.rtmr[3], 48);
	assert_int_equal(tee_sim_td_quote_verify(pk, q, n, &rep, &err), 0);
	assert_int_equal(tee_sim_td_quote_verify(other, q, n, &rep, &err), -EBADMSG);

	/* the report changed and its hashes fixed up: structure passes, MACs do not */
	q[8 + TDR_OFF_REPORTDATA] ^= 1;
	assert_int_equal(tee_sim_td_quote_parse(q, n, &rep, &err), 0);
	assert_int_equal(tee_sim_td_quote_verify(pk, q, n, &rep, &err), -EBADMSG);
	q[8 + TDR_OFF_REPORTDATA] ^= 1;
	q[n - 1] ^= 1; /* the outer MAC */
	assert_int_equal(tee_sim_td_quote_verify(pk, q, n, &rep, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "sim TD quote MAC"));
	q[n - 1] ^= 1;
	/* RTMR3 changed without tee_info_hash: structure refused */
	q[8 + TDR_OFF_RTMR0 + 3 * 48] ^= 1;
	assert_int_equal(tee_sim_td_quote_parse(q, n, &rep, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, "tee_info_hash"));
	q[8 + TDR_OFF_RTMR0 + 3 * 48] ^= 1;
	assert_int_equal(tee_sim_td_quote_parse(q, n - 1, &rep, &err), -EBADMSG);
	q[7] = 2;
	assert_false(tee_is_sim_td_quote(q, n));
	assert_int_equal(tee_sim_td_quote_parse(q, n, &rep, &err), -EBADMSG);
	free(q);
	tee_done(&t);
	snprintf(lock, sizeof(lock), "%s.lock", path);
	unlink(lock);
	unlink(path);
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
	    cmocka_unit_test(tdx_defaults),
	    cmocka_unit_test(tdx_quote_recorded),
	    cmocka_unit_test(tdx_quote_refusals),
	    cmocka_unit_test(tdx_measurements),
	    cmocka_unit_test(attest_report_data),
	    cmocka_unit_test(sim_td_quote),
	    cmocka_unit_test(kind_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
