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
#include <stdlib.h>
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
static const char sim_td_quote_tag[] = "cocoon-sim-td-quote-v1";

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
	snprintf(t->tdx_measurements, sizeof(t->tdx_measurements), "%s", TEE_TDX_MEASUREMENTS_DIR);
	snprintf(t->tdx_tsm_report, sizeof(t->tdx_tsm_report), "%s", TEE_TDX_TSM_REPORT_DIR);
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
	uint8_t buf[32 + TEE_SIM_TD_QUOTE_LEN];
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

static int hook(struct tee *t, enum tee_tdx_event ev, const char *path, struct cerr *err)
{
	if (!t->tdx_hook)
		return 0;
	if (t->tdx_hook(t->tdx_hook_ctx, ev, path) < 0)
		return cerr_setx(err, EIO, "test hook failed on '%s'", path);
	return 0;
}

static int mr_path(struct tee *t, const char *name, char *out, struct cerr *err)
{
	if (snprintf(out, PATH_MAX, "%s/%s:sha384", t->tdx_measurements, name) >= PATH_MAX)
		return cerr_setx(err, ENAMETOOLONG, "measurement path too long: '%s'",
		                 t->tdx_measurements);
	return 0;
}

static const char mr_hint[] = "the TSM measurement files need Linux >= 6.16 with "
                              "CONFIG_TSM_MEASUREMENTS and the tdx_guest driver; use --tee "
                              "sim for development";

static int tdx_read_mr(struct tee *t, const char *name, uint8_t out[SHA384_LEN], struct cerr *err)
{
	_cleanup_free_ char *data = NULL;
	char path[PATH_MAX];
	size_t len = 0;
	int r;

	if ((r = mr_path(t, name, path, err)) < 0)
		return r;
	if (access(path, F_OK) < 0)
		return cerr_set(err, errno, "'%s' (%s)", path, mr_hint);
	if ((r = read_file_stream(path, 4096, &data, &len, err)) < 0)
		return r;
	if (len != SHA384_LEN)
		return cerr_setx(err, EIO, "'%s' gave %zu bytes, not the 48 of a SHA-384 register",
		                 path, len);
	memcpy(out, data, SHA384_LEN);
	return 0;
}

static int tdx_extend(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];
	int r;

	if ((r = mr_path(t, "rtmr3", path, err)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cerr_set(err, errno, "open '%s' (%s)", path, mr_hint);
	/* one write of the whole digest at offset 0: the kernel takes exactly 48 bytes */
	for (;;) {
		ssize_t n = pwrite(fd, digest, SHA384_LEN, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cerr_set(err, errno, "extend RTMR3 through '%s'", path);
		if (n != SHA384_LEN)
			return cerr_setx(err, EIO, "extend RTMR3 through '%s': short write (%zd)",
			                 path, n);
		break;
	}
	return hook(t, TEE_TDX_EV_MR_WRITTEN, path, err);
}

int tee_extend_rtmr3(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err)
{
	if (t->kind == TEE_TDX)
		return tdx_extend(t, digest, err);
	return sim_extend(t, digest, err);
}

int tee_read_mrs(struct tee *t, struct tee_mrs *out, struct cerr *err)
{
	static const char *const names[TEE_RTMR_COUNT] = {"rtmr0", "rtmr1", "rtmr2", "rtmr3"};
	int r;

	memset(out, 0, sizeof(*out));
	if (t->kind == TEE_SIM)
		return tee_sim_read_rtmrs(t->sim_rtmr_path, out->rtmr, err);
	if ((r = tdx_read_mr(t, "mrtd", out->mrtd, err)) < 0)
		return r;
	for (int i = 0; i < TEE_RTMR_COUNT; i++)
		if ((r = tdx_read_mr(t, names[i], out->rtmr[i], err)) < 0)
			return r;
	return 0;
}

/* ---- quotes ---- */

static int tsm_path(const char *dir, const char *name, char out[PATH_MAX], struct cerr *err)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		return cerr_setx(err, ENAMETOOLONG, "configfs-tsm path too long: '%s'", dir);
	return 0;
}

/* One attribute of a report directory as a short string, final newline cut. */
static int tsm_attr(const char *dir, const char *name, char *out, size_t n, struct cerr *err)
{
	_cleanup_free_ char *data = NULL;
	char path[PATH_MAX];
	size_t len = 0;
	int r;

	if ((r = tsm_path(dir, name, path, err)) < 0)
		return r;
	if ((r = read_file_stream(path, 256, &data, &len, err)) < 0)
		return r;
	if (len && data[len - 1] == '\n')
		data[--len] = '\0';
	if (len + 1 > n || strlen(data) != len)
		return cerr_setx(err, EIO, "'%s' holds an unexpected value", path);
	memcpy(out, data, len + 1);
	return 0;
}

static int tsm_generation(const char *dir, unsigned long long *out, struct cerr *err)
{
	char buf[32], *end;
	int r;

	if ((r = tsm_attr(dir, "generation", buf, sizeof(buf), err)) < 0)
		return r;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (!buf[0] || *end || errno || buf[0] < '0' || buf[0] > '9')
		return cerr_setx(err, EIO, "'%s/generation' is not a number: '%s'", dir, buf);
	return 0;
}

static int tsm_write_inblob(const char *dir, const uint8_t rd[TDREPORT_DATA_LEN], struct cerr *err)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r;

	if ((r = tsm_path(dir, "inblob", path, err)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cerr_set(err, errno, "open '%s'", path);
	do
		n = write(fd, rd, TDREPORT_DATA_LEN);
	while (n < 0 && errno == EINTR);
	if (n != TDREPORT_DATA_LEN) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return cerr_set(err, e, "write 64 bytes of report data to '%s'", path);
	}
	/* configfs hands a binary attribute to the driver on the last close */
	if (close(fd) < 0)
		return cerr_set(err, errno, "write report data to '%s' (on close)", path);
	return 0;
}

/* Inside our own report directory: provider, generation, inblob, outblob,
 * generation. */
static int tsm_request(struct tee *t, const char *dir, const uint8_t rd[TDREPORT_DATA_LEN],
                       uint8_t **quote, size_t *len, struct cerr *err)
{
	_cleanup_free_ char *blob = NULL;
	unsigned long long g0, g1;
	char provider[64], path[PATH_MAX];
	size_t n = 0;
	int r;

	if ((r = tsm_attr(dir, "provider", provider, sizeof(provider), err)) < 0)
		return r;
	if (strcmp(provider, TEE_TDX_TSM_PROVIDER))
		return cerr_setx(err, ENODEV,
		                 "configfs-tsm provider is '%s', not " TEE_TDX_TSM_PROVIDER
		                 ": this guest is not a TDX guest",
		                 provider);
	if ((r = tsm_generation(dir, &g0, err)) < 0 || (r = tsm_write_inblob(dir, rd, err)) < 0 ||
	    (r = hook(t, TEE_TDX_EV_INBLOB_WRITTEN, dir, err)) < 0)
		return r;
	if ((r = tsm_path(dir, "outblob", path, err)) < 0)
		return r;
	r = read_file_stream(path, TEE_QUOTE_MAX, (char **)&blob, &n, err);
	if (r == -EFBIG)
		return cerr_setx(err, EFBIG, "'%s': the quote is over %u bytes", path,
		                 TEE_QUOTE_MAX);
	if (r < 0)
		return cerr_prefix(err, r,
		                   "quote from configfs-tsm (is the quote generation "
		                   "service reachable from the host?)");
	if (n == 0)
		return cerr_setx(err, EIO, "'%s' is empty: no quote", path);
	if ((r = tsm_generation(dir, &g1, err)) < 0)
		return r;
	if (g1 != g0 + 1)
		return cerr_setx(err, EBUSY,
		                 "'%s': generation went from %llu to %llu around our one write: "
		                 "another writer used the directory, the quote is not ours",
		                 dir, g0, g1);
	*quote = (uint8_t *)TAKE_PTR(blob);
	*len = n;
	return 0;
}

static int tdx_quote(struct tee *t, const uint8_t rd[TDREPORT_DATA_LEN], uint8_t **quote,
                     size_t *len, struct cerr *err)
{
	char dir[PATH_MAX];
	uint8_t rnd[8];
	char hex[2 * sizeof(rnd) + 1];
	int r;

	for (int tries = 0;; tries++) {
		if ((r = crypto_random(rnd, sizeof(rnd), err)) < 0)
			return r;
		hex_encode(rnd, sizeof(rnd), hex);
		if (snprintf(dir, sizeof(dir), "%s/cocoon-%ld-%s", t->tdx_tsm_report,
		             (long)getpid(), hex) >= (int)sizeof(dir))
			return cerr_setx(err, ENAMETOOLONG, "configfs-tsm path too long: '%s'",
			                 t->tdx_tsm_report);
		if (mkdir(dir, 0700) == 0)
			break;
		if (errno == EEXIST && tries < 3)
			continue;
		return cerr_set(err, errno,
		                "mkdir '%s' (quotes need configfs mounted at /sys/kernel/config "
		                "and a kernel with CONFIG_TSM_REPORTS and the tdx_guest driver; "
		                "use --tee sim for development)",
		                dir);
	}
	r = hook(t, TEE_TDX_EV_REPORT_MKDIR, dir, err);
	if (r == 0)
		r = tsm_request(t, dir, rd, quote, len, err);
	if (t->tdx_hook)
		t->tdx_hook(t->tdx_hook_ctx, TEE_TDX_EV_REPORT_RMDIR, dir);
	if (rmdir(dir) < 0) {
		int e = errno;

		if (r == 0) {
			free(*quote);
			*quote = NULL;
			r = cerr_set(err, e, "remove the report directory '%s'", dir);
		}
	}
	return r;
}

static int sim_td_quote(struct tee *t, const uint8_t rd[TDREPORT_DATA_LEN], uint8_t **quote,
                        size_t *len, struct cerr *err)
{
	uint8_t *q;
	int r;

	q = malloc(TEE_SIM_TD_QUOTE_LEN);
	if (!q)
		return cerr_set(err, ENOMEM, "sim quote");
	memcpy(q, TEE_SIM_TD_QUOTE_MAGIC, 8);
	r = sim_get_report(t, rd, q + 8, err);
	if (r == 0)
		r = hmac_tagged(t->sim_platform_key, sim_td_quote_tag, q, 8 + TDREPORT_LEN,
		                q + 8 + TDREPORT_LEN, err);
	if (r < 0) {
		free(q);
		return r;
	}
	*quote = q;
	*len = TEE_SIM_TD_QUOTE_LEN;
	return 0;
}

int tee_quote(struct tee *t, const uint8_t report_data[TDREPORT_DATA_LEN], uint8_t **quote,
              size_t *len, struct cerr *err)
{
	*quote = NULL;
	*len = 0;
	if (t->kind == TEE_TDX)
		return tdx_quote(t, report_data, quote, len, err);
	return sim_td_quote(t, report_data, quote, len, err);
}

int tee_attest_report_data(const uint8_t *nonce, size_t n, uint8_t rd[TDREPORT_DATA_LEN],
                           struct cerr *err)
{
	uint8_t buf[sizeof(TEE_ATTEST_DOMAIN) + TEE_ATTEST_NONCE_MAX];

	if (n < TEE_ATTEST_NONCE_MIN || n > TEE_ATTEST_NONCE_MAX)
		return cerr_setx(err, EINVAL, "a nonce is %d to %d bytes, not %zu",
		                 TEE_ATTEST_NONCE_MIN, TEE_ATTEST_NONCE_MAX, n);
	/* sizeof counts the terminating NUL: the 0x00 separator */
	memcpy(buf, TEE_ATTEST_DOMAIN, sizeof(TEE_ATTEST_DOMAIN));
	memcpy(buf + sizeof(TEE_ATTEST_DOMAIN), nonce, n);
	return crypto_sha512(buf, sizeof(TEE_ATTEST_DOMAIN) + n, rd, err);
}

int tee_attest_nonce_parse(const char *hex, uint8_t nonce[TEE_ATTEST_NONCE_MAX], size_t *n,
                           struct cerr *err)
{
	size_t len = strnlen(hex, 2 * TEE_ATTEST_NONCE_MAX + 1);

	if (len % 2 || len / 2 < TEE_ATTEST_NONCE_MIN || len / 2 > TEE_ATTEST_NONCE_MAX ||
	    hex_decode(hex, nonce, len / 2) < 0)
		return cerr_setx(err, EINVAL,
		                 "bad nonce '%.80s': %d to %d bytes as hex (%d to %d digits)", hex,
		                 TEE_ATTEST_NONCE_MIN, TEE_ATTEST_NONCE_MAX,
		                 2 * TEE_ATTEST_NONCE_MIN, 2 * TEE_ATTEST_NONCE_MAX);
	*n = len / 2;
	return 0;
}

bool tee_is_sim_td_quote(const uint8_t *q, size_t n)
{
	return n >= 8 && memcmp(q, TEE_SIM_TD_QUOTE_MAGIC, 8) == 0;
}

int tee_sim_td_quote_parse(const uint8_t *q, size_t n, struct tdreport *rep, struct cerr *err)
{
	const uint8_t *report;
	uint8_t want[SHA384_LEN];
	struct rbuf r;
	int rc;

	memset(rep, 0, sizeof(*rep));
	if (n != TEE_SIM_TD_QUOTE_LEN)
		return cerr_setx(err, EBADMSG, "sim TD quote is %zu bytes, expected %d", n,
		                 TEE_SIM_TD_QUOTE_LEN);
	rbuf_init(&r, q, n);
	if (!tee_is_sim_td_quote(q, n) || rbuf_skip(&r, 8) < 0 ||
	    rbuf_direct(&r, TDREPORT_LEN, &report) < 0)
		return cerr_setx(err, EBADMSG, "sim TD quote: bad magic or version");
	if ((rc = tdreport_parse(report, TDREPORT_LEN, rep, err)) < 0)
		return rc;
	if (rep->type != TDREPORT_TYPE_TDX || rep->subtype != 0 || rep->version > 1)
		return cerr_setx(err, EBADMSG, "sim TD quote: report type %02x/%u/%u", rep->type,
		                 rep->subtype, rep->version);
	if ((rc = tee_sim_tcb_hash(want, err)) < 0)
		return rc;
	if (!crypto_memeq(want, rep->tee_tcb_info_hash, SHA384_LEN))
		return cerr_setx(err, EBADMSG,
		                 "sim TD quote: tee_tcb_info_hash is not "
		                 "SHA-384(\"cocoon-sim\")");
	if ((rc = crypto_sha384(report + TDR_OFF_TDINFO, TDR_TDINFO_LEN, want, err)) < 0)
		return rc;
	if (!crypto_memeq(want, rep->tee_info_hash, SHA384_LEN))
		return cerr_setx(err, EBADMSG,
		                 "sim TD quote: tee_info_hash is not SHA-384 of the TDINFO part");
	return 0;
}

int tee_sim_td_quote_verify(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const uint8_t *q, size_t n,
                            struct tdreport *rep, struct cerr *err)
{
	uint8_t mac[SHA256_LEN];
	int rc;

	if ((rc = tee_sim_td_quote_parse(q, n, rep, err)) < 0)
		return rc;
	if ((rc = tee_sim_verify_report(key, q + 8, err)) < 0)
		return rc;
	if ((rc = hmac_tagged(key, sim_td_quote_tag, q, 8 + TDREPORT_LEN, mac, err)) < 0)
		return rc;
	if (!crypto_memeq(mac, q + 8 + TDREPORT_LEN, SHA256_LEN))
		return cerr_setx(err, EBADMSG,
		                 "sim TD quote MAC does not verify under this sim "
		                 "platform key");
	return 0;
}
