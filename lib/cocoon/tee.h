/* tee.h - the TEE backends a guest gets its TDREPORT and RTMR3 from.
 *
 * `tdx`: the real thing. The report comes from /dev/tdx_guest
 * (TDX_CMD_GET_REPORT0), RTMR3 is extended by writing 48 raw bytes to
 * /sys/class/misc/tdx_guest/measurements/rtmr3:sha384.
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
/* The fw_cfg item by which cocoon-launch --dev hands the sim platform key to
 * the guest (QEMU -fw_cfg name=...; the guest kernel's qemu_fw_cfg driver
 * shows it at /sys/firmware/qemu_fw_cfg/by_name/<name>/raw). The host
 * controls that channel: sim mode protects nothing. */
#define TEE_SIM_KEY_FWCFG "opt/cocoon/sim-platform-key"
#define TEE_SIM_MARK "cocoon-sim"
#define TEE_SIM_QUOTE_LEN 104
#define TEE_SIM_QUOTE_MAGIC "CSIMQ\0\0\1"

#define TEE_TDX_DEVICE "/dev/tdx_guest"
#define TEE_TDX_RTMR3_PATH "/sys/class/misc/tdx_guest/measurements/rtmr3:sha384"

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

struct tee {
	enum tee_kind kind;
	/* tdx: device and RTMR3 attribute (replaceable for tests) */
	char tdx_device[PATH_MAX];
	char tdx_rtmr3[PATH_MAX];
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
/* RTMR3 = SHA384(RTMR3 || digest). sim: under an flock of the RTMR file,
 * replaced atomically. */
int tee_extend_rtmr3(struct tee *t, const uint8_t digest[SHA384_LEN], struct cerr *err);

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
