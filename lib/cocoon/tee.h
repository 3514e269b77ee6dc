/* tee.h - the TEE backends: a guest's TDREPORT, quote, RTMRs and RTMR3
 * extension. Every program that reads RTMRs or gets a quote does it here.
 *
 * `tdx`: the real thing, on the kernel's interfaces (Linux >= 6.16 for the
 * measurement files; the image's kernel is checked for the options):
 *   - TDREPORT: /dev/tdx_guest, TDX_CMD_GET_REPORT0 (CONFIG_TDX_GUEST_DRIVER);
 *   - RTMRs and MRTD: the TSM measurement files of the tdx_guest device
 *     (CONFIG_TSM_MEASUREMENTS), TEE_TDX_MEASUREMENTS_DIR/{mrtd,rtmr0..3}:sha384,
 *     48 raw bytes each (Documentation/ABI/testing/
 *     sysfs-devices-virtual-misc-tdx_guest). RTMR3 is extended by one write of
 *     exactly 48 bytes at offset 0 to rtmr3:sha384 (the kernel refuses any
 *     other size with EINVAL): RTMR3 = SHA384(RTMR3 || digest);
 *   - quotes: configfs-tsm (CONFIG_TSM_REPORTS; Documentation/ABI/testing/
 *     configfs-tsm-report) under TEE_TDX_TSM_REPORT_DIR: mkdir a directory of
 *     our own per request, check `provider` is tdx_guest, read `generation`,
 *     write the 64 bytes of report data to `inblob` in one write, read
 *     `outblob` (the quote, at most TEE_QUOTE_MAX bytes), read `generation`
 *     again: it must be exactly one more, else another writer touched the
 *     directory and the quote is refused; the directory is removed in every
 *     case.
 * The three base paths live in struct tee and can be replaced (tests, a
 * root prefix).
 *
 * `sim`: development only; protects nothing. The four RTMRs live in a file
 * (4 x 48 raw bytes, RTMR0..3; missing = all zero) and the report has the
 * TDREPORT layout (see PROTOCOLS.md "TDREPORT" and docs/seal.md):
 *
 *   0      type 0x81, subtype 0, version 1, reserved 0
 *   16     cpusvn = "cocoon-sim" zero-padded to 16 bytes
 *   32     tee_tcb_info_hash = SHA-384("cocoon-sim")     (TEE_SIM_TCB_HASH)
 *   80     tee_info_hash = SHA-384(report[512..1023])     (the TDINFO part)
 *   128    reportdata (64)
 *   224    mac = HMAC-SHA256(platform key, "cocoon-sim-report-v1" || report[0..223])
 *   256    "cocoon-sim: not a TDX report" (in place of TEE_TCB_INFO)
 *   720    RTMR0..3 from the RTMR file (MRTD and the others are zero)
 *
 * No TDX module produces that tee_tcb_info_hash (it would take a SHA-384
 * preimage), and the sim seal-server refuses any other value, so a key derived
 * in sim mode can never equal a real one.
 *
 * The sim quote (what the sim seal-server returns in place of an SGX quote):
 *
 *   0      magic "CSIMQ" "\0\0\1"  (8 bytes; the last byte is the version 1)
 *   8      report data (64) = SHA256(client public key) || SHA256(encrypted_secret)
 *   72     mac = HMAC-SHA256(platform key, "cocoon-sim-quote-v1" || quote[0..71])
 *   104    end
 *
 * The sim TD quote (what tee_quote() returns in sim mode, in place of a TDX
 * quote; TEE_SIM_TD_QUOTE_LEN bytes):
 *
 *   0      magic "CSIMTDQ" "\1"  (8 bytes; the last byte is the version 1)
 *   8      a sim TDREPORT (1024, layout above) with the report data asked for
 *          and the RTMRs of the RTMR file at the time of the quote
 *   1032   mac = HMAC-SHA256(platform key, "cocoon-sim-td-quote-v1" || quote[0..1031])
 *   1064   end
 *
 * Its MACs are under the sim platform key, which the host hands to the guest:
 * a sim quote proves nothing to anyone. A verifier without the key can only
 * check its structure (tee_sim_td_quote_parse()); with the key, the MACs too.
 *
 * Evidence for an owner (health `attest NONCE`, cocoon-verify cvm): the report
 * data of the quote is tee_attest_report_data(nonce) =
 * SHA-512("cocoon-attest-v1" || 0x00 || nonce), nonce 16..32 bytes.
 *
 * Parsing of any report, real or sim, goes through tdreport_parse() (rbuf).
 */
#ifndef COCOON_TEE_H
#define COCOON_TEE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/crypto.h"
#include "cocoon/err.h"

#define TDREPORT_LEN 1024
#define TDREPORT_DATA_LEN 64
#define TDREPORT_MAC_LEN 32
#define TDREPORT_TYPE_TDX 0x81
#define TEE_RTMR_LEN 48
#define TEE_RTMR_COUNT 4

/* Offsets in the 1024-byte TDREPORT */
#define TDR_OFF_TYPE 0
#define TDR_OFF_CPUSVN 16
#define TDR_OFF_TCB_INFO_HASH 32
#define TDR_OFF_TEE_INFO_HASH 80
#define TDR_OFF_REPORTDATA 128
#define TDR_OFF_MAC 224
#define TDR_OFF_TEE_TCB_INFO 256
#define TDR_OFF_TDINFO 512
#define TDR_OFF_ATTRIBUTES 512
#define TDR_OFF_MRTD 528
#define TDR_OFF_MRCONFIGID 576
#define TDR_OFF_MROWNER 624
#define TDR_OFF_MROWNERCONFIG 672
#define TDR_OFF_RTMR0 720
#define TDR_TDINFO_LEN 512

/* Sim platform key: per host, shared by the sim seal-server and its guests. */
#define TEE_SIM_PLATFORM_KEY_LEN 32
#define TEE_SIM_RTMR_PATH "/run/cocoon/sim-rtmr"
/* where cocoon-init puts the sim platform key in the guest */
#define TEE_SIM_KEY_PATH "/run/cocoon/sim-platform-key"
/* The fw_cfg item by which cocoon-launch --dev hands the sim platform key to
 * the guest (QEMU -fw_cfg name=...; the guest kernel's qemu_fw_cfg driver
 * shows it at /sys/firmware/qemu_fw_cfg/by_name/<name>/raw). The host
 * controls that channel: sim mode protects nothing. */
#define TEE_SIM_KEY_FWCFG "opt/cocoon/sim-platform-key"
#define TEE_SIM_MARK "cocoon-sim"
#define TEE_SIM_QUOTE_LEN 104
#define TEE_SIM_QUOTE_MAGIC "CSIMQ\0\0\1"

#define TEE_SIM_TD_QUOTE_LEN (8 + TDREPORT_LEN + 32)
#define TEE_SIM_TD_QUOTE_MAGIC "CSIMTDQ\1"

#define TEE_TDX_DEVICE "/dev/tdx_guest"
#define TEE_TDX_MEASUREMENTS_DIR "/sys/class/misc/tdx_guest/measurements"
#define TEE_TDX_TSM_REPORT_DIR "/sys/kernel/config/tsm/report"
#define TEE_TDX_TSM_PROVIDER "tdx_guest"
/* A quote (either kind) is at most this many bytes: TDX quotes with their
 * certification data are about 5 KB. */
#define TEE_QUOTE_MAX (64u * 1024)

#define TEE_ATTEST_DOMAIN "cocoon-attest-v1"
#define TEE_ATTEST_NONCE_MIN 16
#define TEE_ATTEST_NONCE_MAX 32

/* The fields of a TDREPORT that the project uses (copies, not pointers). */
struct tdreport {
	uint8_t type, subtype, version;
	uint8_t cpusvn[16];
	uint8_t tee_tcb_info_hash[SHA384_LEN];
	uint8_t tee_info_hash[SHA384_LEN];
	uint8_t reportdata[TDREPORT_DATA_LEN];
	uint8_t mac[TDREPORT_MAC_LEN];
	uint64_t attributes;
	uint8_t mrtd[SHA384_LEN];
	uint8_t mrconfigid[SHA384_LEN];
	uint8_t mrowner[SHA384_LEN];
	uint8_t mrownerconfig[SHA384_LEN];
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN];
};

/* Parses exactly TDREPORT_LEN bytes (-EBADMSG otherwise). Checks nothing else. */
int tdreport_parse(const void *p, size_t n, struct tdreport *out, struct cerr *err);

/* The checks every seal-server makes: type 0x81, subtype 0, version 0 or 1,
 * reportdata == SHA256(pubkey) || 32 zero bytes. -EBADMSG with the reason. */
int tdreport_check_binding(const struct tdreport *rep, const uint8_t pubkey[64], struct cerr *err);

/* SHA-384("cocoon-sim"): the tee_tcb_info_hash of every sim report. */
int tee_sim_tcb_hash(uint8_t out[SHA384_LEN], struct cerr *err);

enum tee_kind { TEE_TDX = 1, TEE_SIM };

/* Test hook: what the kernel does behind a configfs or sysfs file, for a tree
 * of plain files standing in for it. NULL in every program. */
enum tee_tdx_event {
	TEE_TDX_EV_REPORT_MKDIR = 1, /* path: the new report directory */
	TEE_TDX_EV_INBLOB_WRITTEN,   /* path: the report directory */
	TEE_TDX_EV_REPORT_RMDIR,     /* path: the report directory, about to go */
	TEE_TDX_EV_MR_WRITTEN,       /* path: the measurement file written */
};
typedef int (*tee_tdx_hook_fn)(void *ctx, enum tee_tdx_event ev, const char *path);

struct tee {
	enum tee_kind kind;
	/* tdx: the kernel's interfaces (replaceable for tests) */
	char tdx_device[PATH_MAX];
	char tdx_measurements[PATH_MAX]; /* directory of the MR files */
	char tdx_tsm_report[PATH_MAX];   /* configfs-tsm report directory */
	tee_tdx_hook_fn tdx_hook;
	void *tdx_hook_ctx;
	/* sim */
	char sim_rtmr_path[PATH_MAX];
	uint8_t sim_platform_key[TEE_SIM_PLATFORM_KEY_LEN];
	bool sim_have_key;
};

/* "tdx" or "sim" -> kind; -EINVAL otherwise. */
int tee_kind_parse(const char *s, enum tee_kind *out, struct cerr *err);
const char *tee_kind_name(enum tee_kind kind);

/* Sets defaults for kind (paths above; no sim key). */
void tee_init(struct tee *t, enum tee_kind kind);
/* sim: loads the 32-byte platform key from path (exactly 32 bytes). */
int tee_sim_load_key(struct tee *t, const char *path, struct cerr *err);
/* Wipes the platform key. */
void tee_done(struct tee *t);

/* A TDREPORT binding reportdata. sim needs the platform key. */
int tee_get_report(struct tee *t, const uint8_t reportdata[TDREPORT_DATA_LEN],
                   uint8_t report[TDREPORT_LEN], struct cerr *err);
/* RTMR3 = SHA384(RTMR3 || digest). tdx: the rtmr3:sha384 measurement file.
 * sim: under an flock of the RTMR file, replaced atomically. */
int tee_extend_rtmr3(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err);

/* The TD's measurement registers now. tdx: the measurement files; sim: MRTD
 * zero, RTMRs from the RTMR file. */
struct tee_mrs {
	uint8_t mrtd[SHA384_LEN];
	uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN];
};
int tee_read_mrs(struct tee *t, struct tee_mrs *out, struct cerr *err);

/* A quote binding report_data. tdx: configfs-tsm's outblob (a DCAP TDX
 * quote); sim: a sim TD quote (needs the platform key). *quote is malloc'ed
 * (free() it), 1..TEE_QUOTE_MAX bytes. */
int tee_quote(struct tee *t, const uint8_t report_data[TDREPORT_DATA_LEN], uint8_t **quote,
              size_t *len, struct cerr *err);

/* SHA-512(TEE_ATTEST_DOMAIN || 0x00 || nonce): the report data of a quote
 * handed out as evidence for nonce (TEE_ATTEST_NONCE_MIN..MAX bytes, else
 * -EINVAL). */
int tee_attest_report_data(const uint8_t *nonce, size_t n, uint8_t rd[TDREPORT_DATA_LEN],
                           struct cerr *err);

/* A nonce written as hex: TEE_ATTEST_NONCE_MIN..MAX bytes (either case).
 * -EINVAL with a message quoting it otherwise. */
int tee_attest_nonce_parse(const char *hex, uint8_t nonce[TEE_ATTEST_NONCE_MAX], size_t *n,
                           struct cerr *err);

/* True when the n bytes at q start with the sim TD quote magic. */
bool tee_is_sim_td_quote(const uint8_t *q, size_t n);
/* Structure of a sim TD quote: length, magic, the report's layout, type 0x81,
 * tee_tcb_info_hash = SHA-384("cocoon-sim"), tee_info_hash consistent with
 * its TDINFO. Fills rep. -EBADMSG with the reason. Proves nothing about who
 * made it. */
int tee_sim_td_quote_parse(const uint8_t *q, size_t n, struct tdreport *rep, struct cerr *err);
/* The same and both MACs under the platform key. */
int tee_sim_td_quote_verify(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const uint8_t *q, size_t n,
                            struct tdreport *rep, struct cerr *err);

/* sim: reads the RTMR file (all zero when it does not exist). */
int tee_sim_read_rtmrs(const char *path, uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN],
                       struct cerr *err);
/* sim: fills a whole sim report (tee_info_hash and MAC included). */
int tee_sim_build_report(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN],
                         const uint8_t rtmr[TEE_RTMR_COUNT][TEE_RTMR_LEN],
                         const uint8_t reportdata[TDREPORT_DATA_LEN], uint8_t report[TDREPORT_LEN],
                         struct cerr *err);
/* sim: the MAC a sim report must carry. */
int tee_sim_report_mac(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN],
                       const uint8_t report[TDREPORT_LEN], uint8_t mac[TDREPORT_MAC_LEN],
                       struct cerr *err);
/* sim seal-server side: MAC, tee_tcb_info_hash and tee_info_hash of a sim
 * report. -EBADMSG with the reason. */
int tee_sim_verify_report(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN],
                          const uint8_t report[TDREPORT_LEN], struct cerr *err);

/* sim quote: build (server) and verify (client). verify parses through rbuf,
 * checks magic, length and MAC, and copies the report data out. */
int tee_sim_quote_build(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const uint8_t report_data[64],
                        uint8_t quote[TEE_SIM_QUOTE_LEN], struct cerr *err);
int tee_sim_quote_verify(const uint8_t key[TEE_SIM_PLATFORM_KEY_LEN], const uint8_t *quote,
                         size_t n, uint8_t report_data[64], struct cerr *err);

#endif
