/* tee.c - TEE backends: the real TDX guest interface and the `sim` emulation.
 *
 * The layout of the report and of the sim quote is described in
 * cocoon/tee.h. Reports are read back only through rbuf (tdreport_parse), and
 * the sim platform key is wiped by tee_done(); intermediate buffers that held
 * it are wiped here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/buf.h"
#include "cocoon/tee.h"
#include "cocoon/util.h"

#if defined(__has_include)
#if __has_include(<linux/tdx-guest.h>)
#include <linux/tdx-guest.h>
#define HAVE_TDX_GUEST_H 1
#endif
#endif

#ifndef HAVE_TDX_GUEST_H
#include <linux/types.h>
/* The kernel ABI (include/uapi/linux/tdx-guest.h), for build machines whose
 * headers predate it. */
struct tdx_report_req {
	__u8 reportdata[64];
	__u8 tdreport[1024];
};
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)
#endif

_Static_assert(sizeof(struct tdx_report_req) == 64 + 1024, "tdx_report_req layout");

static const char sim_report_tag[] = "cocoon-sim-report-v1";
static const char sim_quote_tag[] = "cocoon-sim-quote-v1";

int tdreport_parse(const void *p, size_t n, struct tdreport *out, struct cerr *err)
{
	struct rbuf r, sub;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (n != TDREPORT_LEN)
		return cerr_setx(err, EBADMSG, "TDREPORT is %zu bytes, expected %d", n,
		                 TDREPORT_LEN);
	rbuf_init(&r, p, n);
	rc |= rbuf_u8(&r, &out->type);
	rc |= rbuf_u8(&r, &out->subtype);
	rc |= rbuf_u8(&r, &out->version);
	rc |= rbuf_skip(&r, TDR_OFF_CPUSVN - 3);
	rc |= rbuf_copy(&r, out->cpusvn, sizeof(out->cpusvn));
	rc |= rbuf_copy(&r, out->tee_tcb_info_hash, SHA384_LEN);
	rc |= rbuf_copy(&r, out->tee_info_hash, SHA384_LEN);
	rc |= rbuf_copy(&r, out->reportdata, TDREPORT_DATA_LEN);
	rc |= rbuf_skip(&r, TDR_OFF_MAC - (TDR_OFF_REPORTDATA + TDREPORT_DATA_LEN));
	rc |= rbuf_copy(&r, out->mac, TDREPORT_MAC_LEN);
	rc |= rbuf_skip(&r, TDR_OFF_TDINFO - (TDR_OFF_MAC + TDREPORT_MAC_LEN));
	rc |= rbuf_sub(&r, TDR_TDINFO_LEN, &sub);
	rc |= rbuf_u64le(&sub, &out->attributes);
	rc |= rbuf_skip(&sub, TDR_OFF_MRTD - TDR_OFF_ATTRIBUTES - 8);
	rc |= rbuf_copy(&sub, out->mrtd, SHA384_LEN);
	rc |= rbuf_copy(&sub, out->mrconfigid, SHA384_LEN);
	rc |= rbuf_copy(&sub, out->mrowner, SHA384_LEN);
	rc |= rbuf_copy(&sub, out->mrownerconfig, SHA384_LEN);
	for (int i = 0; i < TEE_RTMR_COUNT; i++)
		rc |= rbuf_copy(&sub, out->rtmr[i], TEE_RTMR_LEN);
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		return cerr_setx(err, EBADMSG, "TDREPORT: truncated");
	}
	return 0;
}

int tdreport_check_binding(const struct tdreport *rep, const uint8_t pubkey[64], struct cerr *err)
{
	uint8_t want[TDREPORT_DATA_LEN] = {0};
	int r;

	if (rep->type != TDREPORT_TYPE_TDX)
		return cerr_setx(err, EBADMSG, "report type 0x%02x, expected 0x81 (TDX)",
		                 rep->type);
	if (rep->subtype != 0)
		return cerr_setx(err, EBADMSG, "report subtype %u, expected 0", rep->subtype);
	if (rep->version > 1)
		return cerr_setx(err, EBADMSG, "report version %u, expected 0 or 1", rep->version);
	r = crypto_sha256(pubkey, 64, want, err);
	if (r < 0)
		return r;
	if (!crypto_memeq(want, rep->reportdata, sizeof(want)))
		return cerr_setx(err, EBADMSG,
		                 "report data is not SHA256(public_key) || 32 zero bytes: the "
		                 "report was not made for this key");
	return 0;
}

int tee_sim_tcb_hash(uint8_t out[SHA384_LEN], struct cerr *err)
{
	return crypto_sha384(TEE_SIM_MARK, strlen(TEE_SIM_MARK), out, err);
}

int tee_kind_parse(const char *s, enum tee_kind *out, struct cerr *err)
{
	if (!strcmp(s, "tdx"))
		*out = TEE_TDX;
	else if (!strcmp(s, "sim"))
		*out = TEE_SIM;
	else
		return cerr_setx(err, EINVAL, "unknown TEE backend '%s': use tdx or sim", s);
	return 0;
}

const char *tee_kind_name(enum tee_kind kind)
{
	return kind == TEE_TDX ? "tdx" : kind == TEE_SIM ? "sim" : "?";
}

void tee_init(struct tee *t, enum tee_kind kind)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	snprintf(t->tdx_device, sizeof(t->tdx_device), "%s", TEE_TDX_DEVICE);
	snprintf(t->tdx_rtmr3, sizeof(t->tdx_rtmr3), "%s", TEE_TDX_RTMR3_PATH);
	snprintf(t->sim_rtmr_path, sizeof(t->sim_rtmr_path), "%s", TEE_SIM_RTMR_PATH);
}

int tee_sim_load_key(struct tee *t, const char *path, struct cerr *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, 4096, &data, &len, err);
	if (r < 0)
		return cerr_prefix(err, r, "sim platform key");
	if (len != TEE_SIM_PLATFORM_KEY_LEN) {
		secure_wipe(data, len);
		return cerr_setx(err, EINVAL,
		                 "sim platform key '%s' is %zu bytes, expected %d (the file "
		                 "seal-server --write-platform-key writes)",
		                 path, len, TEE_SIM_PLATFORM_KEY_LEN);
	}
	memcpy(t->sim_platform_key, data, TEE_SIM_PLATFORM_KEY_LEN);
	secure_wipe(data, len);
	t->sim_have_key = true;
	return 0;
}

void tee_done(struct tee *t)
{
	secure_wipe(t->sim_platform_key, sizeof(t->sim_platform_key));
	t->sim_have_key = false;
}

/* ---- sim ---- */

static int hmac_tagged(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const char *tag,
                       const uint8_t *p, size_t n, uint8_t mac[SHA256_LEN], struct cerr *err)
{
	uint8_t buf[64 + TDR_OFF_MAC];
	size_t tl = strlen(tag);

	if (tl + n > sizeof(buf))
		return cerr_setx(err, EINVAL, "internal: MAC input too long");
	memcpy(buf, tag, tl);
	memcpy(buf + tl, p, n);
	return crypto_hmac_sha256(key, TEE_SIM_PLATFORM_KEY_LEN, buf, tl + n, mac, err);
}

int tee_sim_report_mac(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN],
                       const uint8_t report[TDREPORT_LEN], uint8_t mac[TDREPORT_MAC_LEN],
                       struct cerr *err)
{
	return hmac_tagged(key, sim_report_tag, report, TDR_OFF_MAC, mac, err);
}

int tee_sim_read_rtmrs(const char *path, uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN],
                       struct cerr *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r;

	memset(rtmr, 0, TEE_RTMR_COUNT * TEE_RTMR_LEN);
	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 0;
	r = read_file(path, 4096, &data, &len, err);
	if (r < 0)
		return cerr_prefix(err, r, "sim RTMR file");
	if (len != TEE_RTMR_COUNT * TEE_RTMR_LEN)
		return cerr_setx(err, EINVAL,
		                 "sim RTMR file '%s' is %zu bytes, expected %d (4 x 48); remove "
		                 "it to start from zero RTMRs",
		                 path, len, TEE_RTMR_COUNT * TEE_RTMR_LEN);
	memcpy(rtmr, data, len);
	return 0;
}

int tee_sim_build_report(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN],
                         const uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN],
                         const uint8_t reportdata[TDREPORT_DATA_LEN], uint8_t report[TDREPORT_LEN],
                         struct cerr *err)
{
	static const char note[] = "cocoon-sim: not a TDX report";
	int r;

	memset(report, 0, TDREPORT_LEN);
	report[0] = TDREPORT_TYPE_TDX;
	report[1] = 0;
	report[2] = 1;
	memcpy(report + TDR_OFF_CPUSVN, TEE_SIM_MARK, strlen(TEE_SIM_MARK));
	r = tee_sim_tcb_hash(report + TDR_OFF_TCB_INFO_HASH, err);
	if (r < 0)
		return r;
	memcpy(report + TDR_OFF_REPORTDATA, reportdata, TDREPORT_DATA_LEN);
	memcpy(report + TDR_OFF_TEE_TCB_INFO, note, sizeof(note) - 1);
	memcpy(report + TDR_OFF_RTMR0, rtmr, TEE_RTMR_COUNT * TEE_RTMR_LEN);
	r = crypto_sha384(report + TDR_OFF_TDINFO, TDR_TDINFO_LEN, report + TDR_OFF_TEE_INFO_HASH,
	                  err);
	if (r < 0)
		return r;
	return tee_sim_report_mac(key, report, report + TDR_OFF_MAC, err);
}

int tee_sim_verify_report(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN],
                          const uint8_t report[TDREPORT_LEN], struct cerr *err)
{
	uint8_t want[SHA384_LEN], mac[TDREPORT_MAC_LEN];
	struct tdreport rep;
	int r;

	r = tdreport_parse(report, TDREPORT_LEN, &rep, err);
	if (r < 0)
		return r;
	r = tee_sim_report_mac(key, report, mac, err);
	if (r < 0)
		return r;
	if (!crypto_memeq(mac, rep.mac, sizeof(mac)))
		return cerr_setx(err, EBADMSG,
		                 "sim report MAC does not verify: the guest has another sim "
		                 "platform key than this seal-server, or it is not a sim report");
	r = tee_sim_tcb_hash(want, err);
	if (r < 0)
		return r;
	if (!crypto_memeq(want, rep.tee_tcb_info_hash, SHA384_LEN))
		return cerr_setx(
		    err, EBADMSG,
		    "tee_tcb_info_hash is not SHA-384(\"cocoon-sim\"): not a sim report");
	r = crypto_sha384(report + TDR_OFF_TDINFO, TDR_TDINFO_LEN, want, err);
	if (r < 0)
		return r;
	if (!crypto_memeq(want, rep.tee_info_hash, SHA384_LEN))
		return cerr_setx(err, EBADMSG, "tee_info_hash is not SHA-384 of the TDINFO part");
	return 0;
}

int tee_sim_quote_build(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const uint8_t report_data[64],
                        uint8_t quote[TEE_SIM_QUOTE_LEN], struct cerr *err)
{
	memcpy(quote, TEE_SIM_QUOTE_MAGIC, 8);
	memcpy(quote + 8, report_data, 64);
	return hmac_tagged(key, sim_quote_tag, quote, 72, quote + 72, err);
}

int tee_sim_quote_verify(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const uint8_t *quote,
                         size_t n, uint8_t report_data[64], struct cerr *err)
{
	const uint8_t *magic, *head, *mac;
	uint8_t want[SHA256_LEN];
	struct rbuf r;
	int rc;

	if (n != TEE_SIM_QUOTE_LEN)
		return cerr_setx(err, EBADMSG,
		                 "sim quote is %zu bytes, expected %d (is the server a sim "
		                 "seal-server?)",
		                 n, TEE_SIM_QUOTE_LEN);
	rbuf_init(&r, quote, n);
	if (rbuf_direct(&r, 0, &head) < 0 || rbuf_direct(&r, 8, &magic) < 0)
		return cerr_setx(err, EBADMSG, "sim quote: truncated");
	if (memcmp(magic, TEE_SIM_QUOTE_MAGIC, 8) != 0)
		return cerr_setx(err, EBADMSG, "sim quote: bad magic or version");
	if (rbuf_copy(&r, report_data, 64) < 0 || rbuf_direct(&r, SHA256_LEN, &mac) < 0)
		return cerr_setx(err, EBADMSG, "sim quote: truncated");
	rc = hmac_tagged(key, sim_quote_tag, head, 72, want, err);
	if (rc < 0)
		return rc;
	if (!crypto_memeq(want, mac, SHA256_LEN)) {
		memset(report_data, 0, 64);
		return cerr_setx(err, EBADMSG,
		                 "sim quote MAC does not verify: the seal-server has another sim "
		                 "platform key");
	}
	return 0;
}

/* ---- report and RTMR3 per backend ---- */

static int tdx_get_report(struct tee *t, const uint8_t reportdata[TDREPORT_DATA_LEN],
                          uint8_t report[TDREPORT_LEN], struct cerr *err)
{
	_cleanup_close_ int fd = -1;
	struct tdx_report_req req;

	fd = open(t->tdx_device, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return cerr_set(err, errno,
		                "open '%s' (is this a TDX guest with the tdx_guest driver? "
		                "use --tee sim for development)",
		                t->tdx_device);
	memset(&req, 0, sizeof(req));
	memcpy(req.reportdata, reportdata, TDREPORT_DATA_LEN);
	if (ioctl(fd, TDX_CMD_GET_REPORT0, &req) < 0)
		return cerr_set(err, errno, "TDX_CMD_GET_REPORT0 on '%s'", t->tdx_device);
	memcpy(report, req.tdreport, TDREPORT_LEN);
	return 0;
}

static int sim_get_report(struct tee *t, const uint8_t reportdata[TDREPORT_DATA_LEN],
                          uint8_t report[TDREPORT_LEN], struct cerr *err)
{
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN];
	int r;

	if (!t->sim_have_key)
		return cerr_setx(err, EINVAL,
		                 "sim TEE: no sim platform key loaded (give the file written by "
		                 "seal-server --write-platform-key)");
	r = tee_sim_read_rtmrs(t->sim_rtmr_path, rtmr, err);
	if (r < 0)
		return r;
	return tee_sim_build_report(t->sim_platform_key, rtmr, reportdata, report, err);
}

int tee_get_report(struct tee *t, const uint8_t reportdata[TDREPORT_DATA_LEN],
                   uint8_t report[TDREPORT_LEN], struct cerr *err)
{
	if (t->kind == TEE_TDX)
		return tdx_get_report(t, reportdata, report, err);
	return sim_get_report(t, reportdata, report, err);
}

static int sim_extend(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err)
{
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN], buf[2 * TEE_RTMR_LEN];
	char lock[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	if (snprintf(lock, sizeof(lock), "%s.lock", t->sim_rtmr_path) >= (int)sizeof(lock))
		return cerr_setx(err, ENAMETOOLONG, "sim RTMR path too long: '%s'",
		                 t->sim_rtmr_path);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return cerr_set(err, errno, "open sim RTMR lock '%s'", lock);
	if (flock(fd, LOCK_EX) < 0)
		return cerr_set(err, errno, "lock '%s'", lock);
	r = tee_sim_read_rtmrs(t->sim_rtmr_path, rtmr, err);
	if (r < 0)
		return r;
	memcpy(buf, rtmr[3], TEE_RTMR_LEN);
	memcpy(buf + TEE_RTMR_LEN, digest, SHA384_LEN);
	r = crypto_sha384(buf, sizeof(buf), rtmr[3], err);
	if (r < 0)
		return r;
	return write_file_atomic(t->sim_rtmr_path, rtmr, sizeof(rtmr), 0644, err);
}

static int tdx_extend(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err)
{
	_cleanup_close_ int fd = -1;

	fd = open(t->tdx_rtmr3, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cerr_set(err, errno,
		                "open '%s' (RTMR extension through sysfs needs kernel >= 6.16)",
		                t->tdx_rtmr3);
	/* one write of the whole digest: the attribute takes exactly 48 bytes */
	for (;;) {
		ssize_t n = write(fd, digest, SHA384_LEN);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cerr_set(err, errno, "extend RTMR3 through '%s'", t->tdx_rtmr3);
		if (n != SHA384_LEN)
			return cerr_setx(err, EIO, "extend RTMR3 through '%s': short write (%zd)",
			                 t->tdx_rtmr3, n);
		return 0;
	}
}

int tee_extend_rtmr3(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err)
{
	if (t->kind == TEE_TDX)
		return tdx_extend(t, digest, err);
	return sim_extend(t, digest, err);
}
