/* gpuattest.h - the GPU ready gate: NVIDIA confidential-computing evidence
 * through NVML, checked offline (ARCHITECTURE.md §3 step 3, §9).
 *
 * Collection (gpuattest_collect) opens libnvidia-ml.so.1 with dlopen (no
 * link-time dependency: CPU-only images have no driver), reads the system's
 * CC state and settings, the GPU count and, for every GPU, its attestation
 * certificate chain (nvmlDeviceGetConfComputeGpuCertificate) and an
 * attestation report bound to a fresh 32-byte nonce
 * (nvmlDeviceGetConfComputeGpuAttestationReport). Every NVML return code is
 * kept: a refusal names the call and the code.
 *
 * Verification (gpuattest_verify) needs no network and no NVIDIA service:
 *   - CC feature on, DEVTOOLS mode off, environment PROD (SIM is refused);
 *   - exactly the GPU count the spec declares;
 *   - per GPU: the PEM chain (leaf first) verifies to the pinned root (the
 *     public "NVIDIA Device Identity CA" certificate, gpuattest_nvidia_root);
 *     the report is an SPDM 1.1 GET_MEASUREMENTS request (37 bytes, our
 *     nonce at offset 4) followed by the MEASUREMENTS response whose last 96
 *     bytes are an ECDSA P-384 signature (r || s) over SHA-384 of everything
 *     before it, made with the leaf certificate's key; when reference
 *     measurements are given, every listed index must be in the report with
 *     one of its listed values.
 *
 * The report's layout (all little-endian):
 *   request : 0 version 0x11 | 1 code 0xE0 | 2 param1 | 3 param2 | 4 nonce (32) | 36 slot
 *   response: 0 version 0x11 | 1 code 0x60 | 2 param1 | 3 param2 | 4 number of blocks |
 *             5 record length (3) | 8 record | nonce (32) | opaque length (2) |
 *             opaque data | signature (96)
 *   a record block: index (1) | spec 0x01 (DMTF) | size (2) | type (1) | value size (2) | value
 */
#ifndef COCOON_GPUATTEST_H
#define COCOON_GPUATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/crypto.h"
#include "cocoon/err.h"

#define GPUATTEST_NVML_LIB "libnvidia-ml.so.1"
#define GPUATTEST_MAX_GPUS 16
#define GPUATTEST_NONCE_LEN 32
#define GPUATTEST_SIG_LEN 96 /* ECDSA P-384, r || s */
#define GPUATTEST_REQ_LEN 37
#define GPUATTEST_MAX_MEAS 64  /* measurement indexes 1..64 */
#define GPUATTEST_MAX_VALUE 64 /* bytes of one measurement value */
#define GPUATTEST_MAX_ALTS 8   /* accepted values per index */
#define GPUATTEST_REF_MAX (1u << 20)

/* NVML values (nvml.h, driver 580) */
#define GPUATTEST_NVML_SUCCESS 0
#define GPUATTEST_CC_ENV_PROD 2
#define GPUATTEST_CC_FEATURE_ENABLED 1
#define GPUATTEST_CC_DEVTOOLS_ON 1

/* The public root certificate every H100/H200 device chain ends at. */
extern const char gpuattest_nvidia_root[];

/* What NVML returned for one GPU (rc: the NVML return code of the call). */
struct gpuattest_gpu {
	char uuid[96];
	int uuid_rc;
	int cert_rc;
	uint8_t *chain; /* attestationCertChain, PEM */
	size_t chain_len;
	int report_rc;
	uint8_t *report; /* attestationReport */
	size_t report_len;
	uint8_t nonce[GPUATTEST_NONCE_LEN]; /* the nonce we asked with */
};

struct gpuattest_evidence {
	char driver[96];
	int init_rc;
	int state_rc; /* nvmlSystemGetConfComputeState */
	unsigned environment, cc_feature, devtools;
	int settings_rc; /* nvmlSystemGetConfComputeSettings (v1) */
	unsigned s_environment, s_cc_feature, s_devtools, s_multigpu;
	int count_rc;
	unsigned count; /* nvmlDeviceGetCount_v2 */
	struct gpuattest_gpu gpu[GPUATTEST_MAX_GPUS];
	size_t n_gpu; /* GPUs whose evidence was asked for */
};

/* Owner-supplied reference measurements (x-cocoon.gpu.reference, a file in
 * the measured spec). JSON: {"measurements": [{"index": N, "values": ["hex",
 * ...]}, ...]}; index 1..64, each value 1..64 bytes of hex. */
struct gpuattest_ref {
	struct {
		unsigned index;
		size_t n_values;
		size_t len[GPUATTEST_MAX_ALTS];
		uint8_t value[GPUATTEST_MAX_ALTS][GPUATTEST_MAX_VALUE];
	} m[GPUATTEST_MAX_MEAS];
	size_t n;
};

struct gpuattest_policy {
	unsigned expected_count;         /* the spec's GPU count */
	const char *root_pem;            /* NULL: gpuattest_nvidia_root */
	const struct gpuattest_ref *ref; /* NULL: measurements not compared */
	bool allow_sim_environment;      /* tests only */
};

/* One GPU's verdict. reason: a short code for the event ("pass", "no-cert",
 * "no-report", "chain", "format", "nonce", "signature", "measurement");
 * why: the human text. */
struct gpuattest_verdict {
	bool pass;
	char reason[16];
	char why[512];
	uint8_t evidence_hash[SHA384_LEN];
	size_t n_measurements;
};

struct gpuattest_result {
	bool pass; /* every GPU passed and the system checks held */
	char
	    reason[16]; /* system refusal: "cc-off", "devtools", "cc-sim", "count", "nvml"; or "" */
	bool gpus_checked; /* the per-GPU verdicts below are filled */
	struct gpuattest_verdict v[GPUATTEST_MAX_GPUS];
	size_t n;
};

/* Collects the evidence through the NVML library at lib (dlopen: a name or
 * a path). Fills ev even when a call fails (its rc says so); -ENOENT when
 * the library cannot be opened, -EIO when nvmlInit fails. At most
 * GPUATTEST_MAX_GPUS GPUs are asked; each gets its own random nonce. The
 * system state is read first; with CC off the reports are still asked for,
 * so that what NVML answers is on record. */
int gpuattest_collect(const char *lib, struct gpuattest_evidence *ev, struct cerr *err);
void gpuattest_evidence_free(struct gpuattest_evidence *ev);

/* Checks ev against pol. Returns 0 when every check passed, -EPERM with the
 * first refusal in err (naming the reason and the GPU) otherwise; res holds
 * every verdict either way. */
int gpuattest_verify(const struct gpuattest_evidence *ev, const struct gpuattest_policy *pol,
                     struct gpuattest_result *res, struct cerr *err);

/* The RTMR3 event of GPU i: "cocoon:gpu[I]=uuid=<uuid>;evidence=sha384:<hex>;verdict=<reason>"
 * (printable ASCII: a uuid outside [A-Za-z0-9-] is written as "?"). */
int gpuattest_event(const struct gpuattest_evidence *ev, const struct gpuattest_result *res,
                    size_t i, char *out, size_t n, struct cerr *err);

/* Loads reference measurements (JSON, see struct gpuattest_ref). */
int gpuattest_ref_parse(const char *text, size_t len, const char *name, struct gpuattest_ref *ref,
                        struct cerr *err);

/* The evidence as JSON (NVML codes, states, hex of chain and report,
 * nonce hex): the fixture format the fake NVML of the tests replays. */
int gpuattest_evidence_json(const struct gpuattest_evidence *ev, char **out, struct cerr *err);

/* NVML's name of a return code ("NVML_ERROR_UNKNOWN" for 999, ...). */
const char *gpuattest_nvml_rc_name(int rc);

#endif
