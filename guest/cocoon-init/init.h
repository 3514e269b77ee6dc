/* init.h - cocoon-init's parts: the boot mode read from the kernel command
 * line, the context the steps share, the steps of ARCHITECTURE.md §3 (guest)
 * and the runner that times, logs and records them in the boot state file.
 *
 * Everything the program touches is a path under ctx->root and every helper
 * program a configurable path, so that the whole sequence runs in tests on a
 * generated tree (sim TEE, a real seal-server on a unix socket, stand-in
 * scripts for mount and systemctl, an image file for the disk).
 */
#ifndef COCOON_INIT_H
#define COCOON_INIT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cocoon/compose.h"
#include "cocoon/egress.h"
#include "cocoon/err.h"
#include "cocoon/tee.h"

#define INIT_CMDLINE_MAX 65536
#define INIT_STATE_PATH "/run/cocoon/boot-state"
#define INIT_EVLOG_PATH "/var/log/tdx-attestation.log"
#define INIT_KEYS_DIR "/run/cocoon/keys"
#define INIT_DISK_PATH "/dev/disk/by-id/virtio-persistent"
#define INIT_DM_NAME "cocoon-persist"
#define INIT_SEAL_DEFAULT "vsock:2:12345"
#define INIT_MRENCLAVE_MAX 8
#define INIT_SEAL_COLLATERAL_DEFAULT "/run/cocoon/dcap-collateral.json"
#define INIT_SIM_KEY_PATH "/run/cocoon/sim-platform-key"
/* where cocoon-launch --dev's fw_cfg item shows in the guest (qemu_fw_cfg) */
#define INIT_SIM_KEY_FWCFG "/sys/firmware/qemu_fw_cfg/by_name/" TEE_SIM_KEY_FWCFG "/raw"
#define INIT_WORKLOAD_BIN "/usr/bin/cocoon-workload"
#define INIT_WORKLOAD_UNIT "cocoon-workload.service"
#define INIT_WORKLOAD_STATE "/run/cocoon/workload-state.json"
/* EnvironmentFile of cocoon-workload.service: the engine's socket */
#define INIT_WORKLOAD_ENV "/run/cocoon/workload.env"

/* What the kernel command line says (the only source of the mode: it is
 * measured, the host's other inputs are not). */
struct init_mode {
	bool debug;        /* cocoon_debug, cocoon_debug=1, cocoon.debug=1 */
	enum tee_kind tee; /* cocoon.tee=sim|tdx (default tdx) */
	bool gpu;          /* cocoon_gpu, cocoon_gpu=1, cocoon.gpu=1 */
	bool fs_9p;        /* cocoon.fs=9p (default virtiofs) */
	char seal[256];    /* cocoon.seal=ADDR (default INIT_SEAL_DEFAULT) */
	/* cocoon.seal_mrenclave=HEX[,HEX...]: the seal enclaves allowed (tdx) */
	uint8_t seal_mrenclave[INIT_MRENCLAVE_MAX][32];
	size_t n_seal_mrenclave;
	/* cocoon.seal_collateral=PATH: the DCAP collateral file the host provides
	 * (signed by Intel; default INIT_SEAL_COLLATERAL_DEFAULT) */
	char seal_collateral[256];
};

/* Parses a command line (NUL-terminated, whitespace-separated words; words
 * that are not ours are ignored). -EINVAL naming the word for a value we do
 * not know or a key given twice. */
int init_mode_parse(const char *cmdline, struct init_mode *m, struct cerr *err);

/* Helper programs and limits; each path is used as given (not under root). */
struct init_cmds {
	const char *mount;        /* mount(8) */
	const char *systemctl;    /* systemctl(1) */
	const char *nvidia_smi;   /* nvidia-smi */
	const char *gpu_nvml;     /* the NVML library (dlopen name or path) */
	const char *gpu_root_pem; /* NULL: NVIDIA's root; a file (tests) */
	const char *mkfs;         /* mkfs.ext4 */
	const char *nft;          /* nft(8), fed the egress ruleset with -f */
	int timeout_ms;           /* each command */
	int gpu_wait_ms;          /* how long to wait for the nvidia driver */
	int disk_wait_ms;         /* how long to wait for udev's by-id link of the disk */
	int seal_timeout_ms;
	int workload_wait_ms; /* until every service runs */
};

struct init_ctx {
	char root[PATH_MAX]; /* "" for / */
	struct init_mode mode;
	struct init_cmds cmds;
	FILE *console;            /* step lines go here */
	const char *state_path;   /* under root */
	const char *sim_key_path; /* under root */
	const char *disk_path;    /* under root */
	const char *workload_bin; /* under root */
	const char *seal_override;
	egress_resolve_fn resolve; /* host names of egress rules (tests may replace it) */
	bool disk_check_only;      /* debug only: check the key, activate and mount nothing */

	/* filled by the steps */
	struct tee tee;
	bool tee_ready;
	char spec_hash[65];
	struct compose_spec spec;
	bool have_spec;
	uint8_t disk_key[32];
	bool have_disk_key;
};

void init_ctx_init(struct init_ctx *ctx);
void init_ctx_done(struct init_ctx *ctx);

/* ROOT + abs into out (PATH_MAX). */
int init_path(const struct init_ctx *ctx, const char *abs, char *out, struct cerr *err);

/* A step's run(): < 0 failed (err says why), 0 done, INIT_SKIPPED skipped
 * (err->msg says why, printed as a warning). */
#define INIT_SKIPPED 1

struct init_step {
	const char *name;  /* one word, used in the boot state: failed: NAME: ... */
	const char *title; /* for the console */
	int (*run)(struct init_ctx *ctx, struct cerr *err);
};

/* Runs the steps in order, printing "cocoon-init: [step i/n] title ..." and
 * the outcome with its time, writing "booting: NAME" before each step,
 * "ready" after the last and "failed: NAME: reason" on the first failure,
 * after which nothing else runs. Returns 0 or the failed step's error. */
int init_run_steps(struct init_ctx *ctx, const struct init_step *steps, size_t n, struct cerr *err);

/* Writes the boot state file (one line). */
int init_write_state(struct init_ctx *ctx, const char *line, struct cerr *err);

/* The ten steps of the guest sequence. */
extern const struct init_step init_steps[];
extern const size_t init_n_steps;

/* Extends RTMR3 with msg and appends it to the event log. */
int init_measure(struct init_ctx *ctx, const char *msg, struct cerr *err);

/* Copies the spec tree src (host-controlled) into dst (created, must not
 * exist), never following a symlink, refusing anything but directories and
 * regular files, within the limits below (directories below the root
 * counted in INIT_SPEC_MAX_DIRS). */
#define INIT_SPEC_MAX_FILES 10000
#define INIT_SPEC_MAX_DIRS 4096
#define INIT_SPEC_MAX_TOTAL (256ull << 20)
#define INIT_SPEC_MAX_DEPTH 32
int init_copy_spec(const char *src, const char *dst, struct cerr *err);

/* Reads cocoon-workload's state file text: 1 when every service of spec is
 * there with state "running", 0 not yet (why says which service and what
 * the file says about it), -EINVAL when it is not the file's format. */
int init_workload_check(const char *text, size_t len, const struct compose_spec *spec, char *why,
                        size_t why_len);

#endif
