/* steps.c - the ten steps of the guest boot (ARCHITECTURE.md §3), in order.
 *
 * What is measured into RTMR3 (and appended to the event log), in this order:
 * `cocoon:spec.tree=<hash>` (step 2), `cocoon:cocoon_debug` and
 * `cocoon:tee=sim` when so (step 2, before any key), with a GPU one
 * `cocoon:gpu[I]=uuid=...;evidence=sha384:...;verdict=...` per GPU (step 3,
 * lib/gpuattest.c), `cocoon:tdx_inited` (step 6). The sealed keys of
 * step 4 therefore depend on the spec, the mode and the GPU gate.
 *
 * Step 7 applies the egress firewall of the measured copy's x-cocoon.egress
 * through lib/egress (the same code as cocoon-egress) before any engine runs;
 * any error stops the boot, so no workload ever starts with open egress.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/compose.h"
#include "cocoon/crypto.h"
#include "cocoon/egress.h"
#include "cocoon/engineconf.h"
#include "cocoon/evlog.h"
#include "cocoon/gpuattest.h"
#include "cocoon/gpucdi.h"
#include "cocoon/luks.h"
#include "cocoon/runcmd.h"
#include "cocoon/sealc.h"
#include "cocoon/spechash.h"
#include "cocoon/util.h"
#include "init.h"

#define CMD_MAX_OUT 65536

static void note(struct cerr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct cerr *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

/* Runs argv; a non-zero exit is an error quoting the command's last output. */
static int run_cmd(struct init_ctx *ctx, const char *const *argv, int timeout_ms, struct cerr *err)
{
	struct cmd_result res = {0};
	char line[512];
	int r;

	cmd_format(argv, line, sizeof(line));
	r = cmd_run(argv, timeout_ms > 0 ? timeout_ms : ctx->cmds.timeout_ms, CMD_MAX_OUT, &res,
	            err);
	if (r == -ETIMEDOUT) {
		cmd_result_free(&res);
		return cerr_setx(err, ETIMEDOUT, "'%s' did not finish in time", line);
	}
	if (r < 0)
		return cerr_prefix(err, r, "running '%s'", line);
	if (res.exit_code != 0) {
		const char *out = res.out ? res.out : "";
		size_t n = strlen(out);

		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			n--;
		r = cerr_setx(err, EIO, "'%s' exited %d: %.*s", line, res.exit_code,
		              (int)(n > 300 ? 300 : n), out + (n > 300 ? n - 300 : 0));
	}
	cmd_result_free(&res);
	return r;
}

static int mkdir_p(const char *path, unsigned mode, struct cerr *err)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return cerr_set(err, errno, "creating '%s'", p);
			*s = c;
			if (!c)
				return 0;
		}
	}
}

/* creates the directory that will hold path */
static int mkdir_parent(const char *path, struct cerr *err)
{
	char p[PATH_MAX];
	char *slash;

	snprintf(p, sizeof(p), "%s", path);
	slash = strrchr(p, '/');
	if (!slash || slash == p)
		return 0;
	*slash = '\0';
	return mkdir_p(p, 0755, err);
}

static int do_mount(struct init_ctx *ctx, const char *type, const char *opts, const char *what,
                    const char *where_abs, struct cerr *err)
{
	char where[PATH_MAX];
	int r;

	if ((r = init_path(ctx, where_abs, where, err)) < 0 || (r = mkdir_p(where, 0755, err)) < 0)
		return r;
	const char *argv[] = {ctx->cmds.mount, "-t", type, "-o", opts, what, where, NULL};
	return run_cmd(ctx, argv, 0, err);
}

static int step_mounts(struct init_ctx *ctx, struct cerr *err)
{
	const char *type = ctx->mode.fs_9p ? "9p" : "virtiofs";
	/* both shares are the host's: no link in them is ever followed (the
	 * kernel refuses them, nosymfollow, since Linux 5.10), no device node
	 * opens, nothing executes or gains privileges from them */
	const char *ro = ctx->mode.fs_9p
	                     ? "trans=virtio,version=9p2000.L,ro,nosuid,nodev,noexec,nosymfollow"
	                     : "ro,nosuid,nodev,noexec,nosymfollow";
	const char *rw = ctx->mode.fs_9p
	                     ? "trans=virtio,version=9p2000.L,nosuid,nodev,noexec,nosymfollow"
	                     : "nosuid,nodev,noexec,nosymfollow";
	int r;

	if ((r = do_mount(ctx, type, ro, "spec", "/mnt/spec", err)) < 0)
		return cerr_prefix(err, r, "spec share");
	if ((r = do_mount(ctx, type, rw, "data", "/data", err)) < 0)
		return cerr_prefix(err, r, "data share");
	note(err,
	     "%s: spec at /mnt/spec (read-only), data at /data (nosymfollow,nodev,nosuid,noexec)",
	     type);
	return 0;
}

int init_measure(struct init_ctx *ctx, const char *msg, struct cerr *err)
{
	uint8_t digest[SHA384_LEN];
	char log[PATH_MAX];
	int r;

	if ((r = evlog_check_message(msg, err)) < 0 ||
	    (r = crypto_sha384(msg, strlen(msg), digest, err)) < 0)
		return r;
	if ((r = tee_extend_rtmr3(&ctx->tee, digest, err)) < 0)
		return cerr_prefix(err, r, "extending RTMR3 with '%s'", msg);
	if ((r = init_path(ctx, INIT_EVLOG_PATH, log, err)) < 0 || (r = mkdir_parent(log, err)) < 0)
		return r;
	if ((r = evlog_append(log, msg, err)) < 0)
		return cerr_prefix(err, r, "RTMR3 was extended with '%s' but the event log was not",
		                   msg);
	fprintf(ctx->console, "cocoon-init: measured %s\n", msg);
	return 0;
}

/* Sim mode only: cocoon-launch --dev hands the sim platform key in through
 * fw_cfg, a channel the host controls (so does everything else in sim mode:
 * it protects nothing). When the item is there it is copied, 0400, to the
 * key file the sim TEE reads; when it is not, that file must already exist
 * (e.g. put into a test initramfs). */
static int sim_key_from_fw_cfg(struct init_ctx *ctx, struct cerr *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	_cleanup_free_ char *key = NULL;
	size_t len = 0;
	int r;

	if ((r = init_path(ctx, INIT_SIM_KEY_FWCFG, src, err)) < 0 ||
	    (r = init_path(ctx, ctx->sim_key_path, dst, err)) < 0)
		return r;
	if (access(src, F_OK) < 0)
		return 0;
	r = read_file_stream(src, 4096, &key, &len, err);
	if (r >= 0 && len != TEE_SIM_PLATFORM_KEY_LEN)
		r = cerr_setx(err, EINVAL,
		              "'%s' holds %zu bytes, not the %d of a sim platform key: hand in "
		              "the file seal-server --write-platform-key wrote (launcher key "
		              "sim_platform_key)",
		              src, len, TEE_SIM_PLATFORM_KEY_LEN);
	if (r >= 0 && (r = mkdir_parent(dst, err)) >= 0)
		r = write_file_atomic(dst, key, len, 0400, err);
	if (key)
		secure_wipe(key, len);
	if (r < 0)
		return cerr_prefix(err, r, "sim platform key from fw_cfg");
	fprintf(ctx->console,
	        "cocoon-init: WARNING: sim platform key taken from fw_cfg %s (handed in by the "
	        "host: development only, it protects nothing)\n",
	        TEE_SIM_KEY_FWCFG);
	return 0;
}

static int tee_setup(struct init_ctx *ctx, struct cerr *err)
{
	char p[PATH_MAX];
	int r;

	tee_init(&ctx->tee, ctx->mode.tee);
	if (ctx->mode.tee == TEE_SIM) {
		if ((r = init_path(ctx, TEE_SIM_RTMR_PATH, p, err)) < 0 ||
		    (r = mkdir_parent(p, err)) < 0)
			return r;
		snprintf(ctx->tee.sim_rtmr_path, sizeof(ctx->tee.sim_rtmr_path), "%s", p);
		if ((r = sim_key_from_fw_cfg(ctx, err)) < 0)
			return r;
		if ((r = init_path(ctx, ctx->sim_key_path, p, err)) < 0)
			return r;
		if ((r = tee_sim_load_key(&ctx->tee, p, err)) < 0)
			return cerr_prefix(err, r,
			                   "sim TEE (the host hands in the sim platform key)");
		fprintf(ctx->console, "cocoon-init: WARNING: TEE backend sim: development only, "
		                      "this VM's keys and measurements protect nothing\n");
	} else {
		if ((r = init_path(ctx, TEE_TDX_DEVICE, p, err)) < 0)
			return r;
		snprintf(ctx->tee.tdx_device, sizeof(ctx->tee.tdx_device), "%s", p);
		if ((r = init_path(ctx, TEE_TDX_MEASUREMENTS_DIR, p, err)) < 0)
			return r;
		snprintf(ctx->tee.tdx_measurements, sizeof(ctx->tee.tdx_measurements), "%s", p);
		if ((r = init_path(ctx, TEE_TDX_TSM_REPORT_DIR, p, err)) < 0)
			return r;
		snprintf(ctx->tee.tdx_tsm_report, sizeof(ctx->tee.tdx_tsm_report), "%s", p);
	}
	ctx->tee_ready = true;
	return 0;
}

/* the copy's bounds, and the root, fit in the /spec tmpfs's inodes */
_Static_assert(INIT_SPEC_MAX_FILES + INIT_SPEC_MAX_DIRS + 1 <= 16384, "nr_inodes of /spec");

static int step_spec(struct init_ctx *ctx, struct cerr *err)
{
	char share[PATH_MAX], spec[PATH_MAX], msg[128];
	struct spec_stats st = {0};
	int r;

	if ((r = init_path(ctx, "/mnt/spec", share, err)) < 0 ||
	    (r = init_path(ctx, "/spec", spec, err)) < 0)
		return r;
	if ((r = mkdir_p(spec, 0755, err)) < 0)
		return r;
	{
		const char *argv[] = {ctx->cmds.mount,
		                      "-t",
		                      "tmpfs",
		                      "-o",
		                      "mode=0755,nosuid,nodev,noexec,size=512m,nr_inodes=16384",
		                      "tmpfs",
		                      spec,
		                      NULL};
		if ((r = run_cmd(ctx, argv, 0, err)) < 0)
			return cerr_prefix(err, r, "/spec tmpfs");
	}
	if ((r = init_copy_spec(share, spec, err)) < 0)
		return r;
	if ((r = spec_hash_dir(spec, ctx->spec_hash, &st, NULL, err)) < 0)
		return cerr_prefix(err, r, "hashing the copied spec");
	if (st.ignored)
		return cerr_setx(err, EINVAL,
		                 "the spec has %llu entries a .gitignore leaves out: "
		                 "share the output of cocoon-spec prepare",
		                 (unsigned long long)st.ignored);
	if ((r = tee_setup(ctx, err)) < 0)
		return r;
	snprintf(msg, sizeof(msg), "cocoon:spec.tree=%s", ctx->spec_hash);
	if ((r = init_measure(ctx, msg, err)) < 0)
		return r;
	if (ctx->mode.debug && (r = init_measure(ctx, "cocoon:cocoon_debug", err)) < 0)
		return r;
	if (ctx->mode.tee == TEE_SIM && (r = init_measure(ctx, "cocoon:tee=sim", err)) < 0)
		return r;
	/* the workload spec's rules, again in the guest, on the measured copy */
	if ((r = compose_load_dir(spec, NULL, &ctx->spec, err)) < 0)
		return cerr_prefix(err, r, "workload spec");
	ctx->have_spec = true;
	note(err, "%llu files, %llu bytes, spec.tree=%s", (unsigned long long)st.files,
	     (unsigned long long)st.bytes, ctx->spec_hash);
	return 0;
}

static int write_conf(struct init_ctx *ctx, const char *abs, const char *text, struct cerr *err);

/* Polls every 100 ms until PATH exists or MS have passed. */
static bool wait_for_path(const char *path, int ms)
{
	for (int64_t until = now_ms() + ms; access(path, F_OK) < 0; usleep(100 * 1000))
		if (now_ms() >= until)
			return false;
	return true;
}

/* Reads the spec's reference measurements (x-cocoon.gpu.reference, a file
 * of the measured copy) when it names one. */
static int gpu_reference(struct init_ctx *ctx, struct gpuattest_ref **out, struct cerr *err)
{
	char rel[PATH_MAX], p[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if (!ctx->spec.gpu_reference)
		return 0;
	snprintf(rel, sizeof(rel), "/spec/%s", ctx->spec.gpu_reference);
	if ((r = init_path(ctx, rel, p, err)) < 0 ||
	    (r = read_file(p, GPUATTEST_REF_MAX, &text, &len, err)) < 0)
		return cerr_prefix(err, r, "x-cocoon.gpu.reference");
	if (!(*out = calloc(1, sizeof(**out))))
		return cerr_set(err, ENOMEM, "reference measurements");
	if ((r = gpuattest_ref_parse(text, len, ctx->spec.gpu_reference, *out, err)) < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* Step 3: every GPU's CC evidence through NVML, verified here and now
 * (lib/gpuattest.c); one RTMR3 event per GPU with the SHA-384 of its
 * evidence and the verdict, also when it failed; the ready state only when
 * every GPU passed; then the containers' CDI spec from the driver. */
static int step_gpu(struct init_ctx *ctx, struct cerr *err)
{
	char dev[PATH_MAX], msg[512];
	_cleanup_free_ char *root_pem = NULL, *cdi = NULL;
	struct gpuattest_policy pol = {0};
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct gpuattest_ref *ref = NULL;
	struct gpucdi_opts co = {.root = ctx->root};
	struct cerr verr = CERR_INIT;
	size_t len;
	int r, vr;

	if (!ctx->mode.gpu) {
		note(err,
		     "no cocoon_gpu on the kernel command line: no GPU gate, nothing measured");
		return INIT_SKIPPED;
	}
	if ((r = init_path(ctx, "/dev/nvidiactl", dev, err)) < 0)
		return r;
	if (!wait_for_path(dev, ctx->cmds.gpu_wait_ms))
		return cerr_setx(err, ETIMEDOUT,
		                 "the nvidia driver did not come up within %d ms (no '%s'): "
		                 "check that the GPU is passed through and the driver loads "
		                 "(ecdsa_generic and ecdh first)",
		                 ctx->cmds.gpu_wait_ms, dev);
	if (ctx->cmds.gpu_root_pem) {
		if ((r = read_file(ctx->cmds.gpu_root_pem, 1 << 16, &root_pem, &len, err)) < 0)
			return cerr_prefix(err, r, "--gpu-root-pem");
		pol.root_pem = root_pem;
	}
	if ((r = gpu_reference(ctx, &ref, err)) < 0)
		return r;
	pol.ref = ref;
	pol.expected_count = ctx->spec.gpu_count ? ctx->spec.gpu_count : 1;
	if ((r = gpuattest_collect(ctx->cmds.gpu_nvml, &ev, err)) < 0) {
		free(ref);
		return cerr_prefix(err, r, "GPU evidence");
	}
	vr = gpuattest_verify(&ev, &pol, &res, &verr);
	for (size_t i = 0; res.gpus_checked && i < res.n; i++) {
		if ((r = gpuattest_event(&ev, &res, i, msg, sizeof(msg), err)) < 0 ||
		    (r = init_measure(ctx, msg, err)) < 0)
			break;
	}
	gpuattest_evidence_free(&ev);
	free(ref);
	if (r < 0)
		return r;
	if (vr < 0) {
		*err = verr;
		return cerr_prefix(err, vr, "GPU attestation");
	}
	{
		const char *argv[] = {ctx->cmds.nvidia_smi, "conf-compute", "-srs", "1", NULL};
		if ((r = run_cmd(ctx, argv, 0, err)) < 0)
			return cerr_prefix(err, r, "setting the GPU ready state");
	}
	if ((r = gpucdi_spec(&co, &cdi, err)) < 0 ||
	    (r = write_conf(ctx, GPUCDI_SPEC_PATH, cdi, err)) < 0)
		return cerr_prefix(err, r, "the containers' CDI spec");
	note(err, "%zu GPU%s attested (events in RTMR3), ready state set, CDI spec %s", res.n,
	     res.n == 1 ? "" : "s", GPUCDI_SPEC_PATH);
	return 0;
}

static const char *const key_names[] = {"disk_encryption", "app"};

/* The seal-server, or QEMU's chardev to it, may come up a little after the
 * guest: failures to reach it (and nothing else) are retried until
 * --seal-timeout-ms has passed since the first try. */
static int get_key_retrying(struct init_ctx *ctx, const struct sealc_opts *so,
                            uint8_t key[SEALC_KEY_LEN], struct cerr *err)
{
	int64_t deadline = now_ms() + ctx->cmds.seal_timeout_ms;
	bool said = false;

	for (;;) {
		enum sealc_stage stage = 0;
		int r;

		cerr_clear(err);
		r = sealc_get_key(so, key, &stage, err);
		if (r >= 0 || stage != SEALC_STAGE_EXCHANGE || now_ms() + 500 >= deadline)
			return r;
		if (!said)
			fprintf(ctx->console,
			        "cocoon-init: seal-server not reachable yet (%s); "
			        "retrying for up to %d ms\n",
			        err->msg, ctx->cmds.seal_timeout_ms);
		said = true;
		usleep(500 * 1000);
	}
}

static int step_keys(struct init_ctx *ctx, struct cerr *err)
{
	char dir[PATH_MAX];
	const char *addr = ctx->seal_override ? ctx->seal_override : ctx->mode.seal;
	int r;

	if ((r = init_path(ctx, INIT_KEYS_DIR, dir, err)) < 0 || (r = mkdir_parent(dir, err)) < 0)
		return r;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return cerr_set(err, errno, "creating '%s'", dir);
	if (chmod(dir, 0700) < 0)
		return cerr_set(err, errno, "chmod '%s'", dir);
	for (size_t i = 0; i < ARRAY_SIZE(key_names); i++) {
		struct sealc_opts so = {
		    .connect = addr,
		    .key_name = key_names[i],
		    .tee = &ctx->tee,
		    .timeout_ms = ctx->cmds.seal_timeout_ms,
		    .mr_enclave = (const uint8_t(*)[SEALC_MRENCLAVE_LEN])ctx->mode.seal_mrenclave,
		    .n_mr_enclave = ctx->mode.n_seal_mrenclave,
		    .dcap_collateral = ctx->mode.seal_collateral};
		uint8_t key[SEALC_KEY_LEN];
		char path[PATH_MAX];

		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key_names[i]) >=
		    sizeof(path))
			return cerr_setx(err, ENAMETOOLONG, "'%s' is too long", dir);
		r = get_key_retrying(ctx, &so, key, err);
		if (r < 0)
			return cerr_prefix(err, r, "sealed key '%s' from seal-server %s",
			                   key_names[i], addr);
		r = write_file_atomic(path, key, sizeof(key), 0400, err);
		if (r == 0 && i == 0) {
			memcpy(ctx->disk_key, key, sizeof(key));
			ctx->have_disk_key = true;
		}
		secure_wipe(key, sizeof(key));
		if (r < 0)
			return r;
	}
	note(err, "disk_encryption and app in %s (0400)", INIT_KEYS_DIR);
	return 0;
}

static int step_disk(struct init_ctx *ctx, struct cerr *err)
{
	char dev[PATH_MAX], mapper[PATH_MAX];
	enum luks_done done;
	int r;

	if (!ctx->have_disk_key)
		return cerr_setx(err, EINVAL, "no disk key");
	if (ctx->disk_check_only && !ctx->mode.debug)
		return cerr_setx(err, EPERM, "--disk-check-only is for debug boots only");
	if ((r = init_path(ctx, ctx->disk_path, dev, err)) < 0)
		return r;
	/* udev makes the by-id link; early in the boot it may not be there yet */
	if (!wait_for_path(dev, ctx->cmds.disk_wait_ms))
		return cerr_setx(err, ENODEV,
		                 "%s did not appear within %d ms: is the persistent "
		                 "disk attached (serial 'persistent')?",
		                 dev, ctx->cmds.disk_wait_ms);
	struct luks_open_opts o = {.device = dev,
	                           .name = ctx->disk_check_only ? NULL : INIT_DM_NAME,
	                           .key = ctx->disk_key};
	/* lib/luks's refusals already say why and that the disk was left untouched */
	if ((r = luks_open(&o, &done, err)) < 0)
		return r;
	if (ctx->disk_check_only) {
		fprintf(ctx->console,
		        "cocoon-init: WARNING: --disk-check-only: the key opens %s, "
		        "nothing activated, /persist is not mounted\n",
		        dev);
		note(err, "%s (key checked only)",
		     done == LUKS_DONE_FORMATTED ? "formatted" : "opened");
		return 0;
	}
	if ((r = init_path(ctx, "/dev/mapper/" INIT_DM_NAME, mapper, err)) < 0)
		return r;
	if (done == LUKS_DONE_FORMATTED) {
		const char *argv[] = {ctx->cmds.mkfs, "-q", "-L", "cocoon-persist", mapper, NULL};
		if ((r = run_cmd(ctx, argv, 0, err)) < 0)
			return cerr_prefix(err, r, "making the file system on the new disk");
	}
	if ((r = do_mount(ctx, "ext4", "nosuid,nodev", mapper, "/persist", err)) < 0)
		return cerr_prefix(err, r, "mounting /persist");
	note(err, "%s, mounted at /persist", done == LUKS_DONE_FORMATTED ? "formatted" : "opened");
	return 0;
}

/* The disk key is needed by step 5 only: once the disk is open (or was
 * refused) no copy of it stays, neither in this process nor on the tmpfs.
 * The file is overwritten with zeros, synced and unlinked. */
static int wipe_disk_key(struct init_ctx *ctx, struct cerr *err)
{
	char path[PATH_MAX];
	uint8_t zero[SEALC_KEY_LEN] = {0};
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	secure_wipe(ctx->disk_key, sizeof(ctx->disk_key));
	ctx->have_disk_key = false;
	if ((r = init_path(ctx, INIT_KEYS_DIR "/disk_encryption", path, err)) < 0)
		return r;
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 && errno == EACCES && chmod(path, 0600) == 0)
		fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0)
		return cerr_set(err, errno, "wiping the disk key '%s'", path);
	if (!S_ISREG(st.st_mode))
		return cerr_setx(err, EINVAL, "wiping the disk key: '%s' is not a regular file",
		                 path);
	for (off_t off = 0; off < st.st_size; off += (off_t)sizeof(zero)) {
		size_t n = (size_t)(st.st_size - off) < sizeof(zero) ? (size_t)(st.st_size - off)
		                                                     : sizeof(zero);
		if (pwrite(fd, zero, n, off) != (ssize_t)n)
			return cerr_set(err, errno, "overwriting the disk key '%s'", path);
	}
	if (fsync(fd) < 0 || unlink(path) < 0)
		return cerr_set(err, errno, "removing the disk key '%s'", path);
	return 0;
}

static int step_disk_then_wipe(struct init_ctx *ctx, struct cerr *err)
{
	struct cerr werr = CERR_INIT;
	int r = step_disk(ctx, err);
	int w = wipe_disk_key(ctx, &werr);

	if (r < 0)
		return r;
	if (w < 0) {
		*err = werr;
		return w;
	}
	snprintf(err->msg + strlen(err->msg), sizeof(err->msg) - strlen(err->msg),
	         "; the disk key wiped from memory and %s", INIT_KEYS_DIR);
	return r;
}

static int step_inited(struct init_ctx *ctx, struct cerr *err)
{
	return init_measure(ctx, "cocoon:tdx_inited", err);
}

static int step_egress(struct init_ctx *ctx, struct cerr *err)
{
	enum egress_stage stage = 0;
	int r;

	if (!ctx->have_spec)
		return cerr_setx(err, EINVAL, "no workload spec");
	r = egress_setup(&ctx->spec, ctx->resolve, ctx->cmds.nft, &stage, err);
	if (r < 0 && stage == EGRESS_STAGE_APPLY)
		return cerr_prefix(err, r, "applying the ruleset with %s -f (check --nft-cmd)",
		                   ctx->cmds.nft);
	if (r < 0)
		return cerr_prefix(err, r, "x-cocoon.egress of /spec/docker-compose.yml");
	note(err, "nftables table inet " EGRESS_TABLE ": %zu rule%s, everything else dropped",
	     ctx->spec.n_egress, ctx->spec.n_egress == 1 ? "" : "s");
	return 0;
}

static int write_conf(struct init_ctx *ctx, const char *abs, const char *text, struct cerr *err)
{
	char p[PATH_MAX];
	int r;

	if ((r = init_path(ctx, abs, p, err)) < 0 || (r = mkdir_parent(p, err)) < 0)
		return r;
	return write_file_atomic(p, text, strlen(text), 0644, err);
}

static int systemctl(struct init_ctx *ctx, const char *verb, const char *unit, struct cerr *err)
{
	const char *argv[] = {ctx->cmds.systemctl, verb, unit, NULL};

	return run_cmd(ctx, argv, 0, err);
}

static int step_engine(struct init_ctx *ctx, struct cerr *err)
{
	_cleanup_free_ char *a = NULL, *b = NULL;
	int r;

	if (ctx->spec.engine == COMPOSE_ENGINE_PODMAN) {
		if ((r = engineconf_podman_policy(&ctx->spec, &a, err)) < 0 ||
		    (r = engineconf_podman_registries(&ctx->spec, &b, err)) < 0 ||
		    (r = write_conf(ctx, "/etc/containers/policy.json", a, err)) < 0 ||
		    (r = write_conf(ctx, "/etc/containers/registries.conf", b, err)) < 0)
			return r;
		if ((r = systemctl(ctx, "start", "podman.socket", err)) < 0)
			return r;
		note(err, "podman: policy.json, registries.conf, podman.socket started");
		return 0;
	}
	if ((r = engineconf_daemon_json(&ctx->spec, &a, err)) < 0 ||
	    (r = engineconf_docker_dropin(&b, err)) < 0 ||
	    (r = write_conf(ctx, "/etc/docker/daemon.json", a, err)) < 0 ||
	    (r = write_conf(ctx, "/run/systemd/system/docker.service.d/cocoon.conf", b, err)) < 0)
		return r;
	/* the plugin first: dockerd asks it about every request from the start */
	if ((r = systemctl(ctx, "daemon-reload", NULL, err)) < 0 ||
	    (r = systemctl(ctx, "start", "cocoon-authz.service", err)) < 0 ||
	    (r = systemctl(ctx, "start", "docker.service", err)) < 0)
		return r;
	note(err, "docker: daemon.json, drop-in, cocoon-authz and docker started");
	return 0;
}

/* `systemctl is-active UNIT`: "active", "activating", "failed", "inactive"... */
static int unit_state(struct init_ctx *ctx, const char *unit, char *out, size_t n, struct cerr *err)
{
	const char *argv[] = {ctx->cmds.systemctl, "is-active", unit, NULL};
	struct cmd_result res = {0};
	size_t len;
	int r;

	r = cmd_run(argv, ctx->cmds.timeout_ms, 4096, &res, err);
	if (r < 0) {
		cmd_result_free(&res);
		return cerr_prefix(err, r, "%s is-active %s", ctx->cmds.systemctl, unit);
	}
	len = strcspn(res.out ? res.out : "", "\n");
	snprintf(out, n, "%.*s", (int)len, res.out ? res.out : "");
	cmd_result_free(&res);
	return 0;
}

/* Step 9: cocoon-workload.service (its ExecStart names the spec copy, the
 * images on the data share, its work directory on /persist and the state
 * file), then a bounded wait until the state file shows every service of
 * the spec running. The unit's engine socket comes from INIT_WORKLOAD_ENV. */
static int step_workload(struct init_ctx *ctx, struct cerr *err)
{
	char p[PATH_MAX], state[PATH_MAX], why[CERR_MSG_MAX] = "no workload state yet",
	                                   unit[64] = "";
	const char *sock = ctx->spec.engine == COMPOSE_ENGINE_PODMAN ? "/run/podman/podman.sock"
	                                                             : "/var/run/docker.sock";
	char env[PATH_MAX + 64];
	int64_t deadline;
	int r;

	if (!ctx->have_spec)
		return cerr_setx(err, EINVAL, "no workload spec");
	if ((r = init_path(ctx, ctx->workload_bin, p, err)) < 0)
		return r;
	if (access(p, X_OK) < 0)
		return cerr_set(err, errno,
		                "'%s' (the program cocoon-workload.service runs) is not there: "
		                "the guest image lacks cocoon-workload",
		                p);
	snprintf(env, sizeof(env), "COCOON_WORKLOAD_SOCKET=%s\n", sock);
	if ((r = write_conf(ctx, INIT_WORKLOAD_ENV, env, err)) < 0)
		return r;
	/* a state file left from before would look like a running workload */
	if ((r = init_path(ctx, INIT_WORKLOAD_STATE, state, err)) < 0)
		return r;
	if (unlink(state) < 0 && errno != ENOENT)
		return cerr_set(err, errno, "removing the old '%s'", state);
	if ((r = systemctl(ctx, "start", INIT_WORKLOAD_UNIT, err)) < 0)
		return r;

	deadline = now_ms() + ctx->cmds.workload_wait_ms;
	for (;;) {
		_cleanup_free_ char *text = NULL;
		struct cerr rerr = CERR_INIT;
		size_t len = 0;

		if (read_file(state, 1 << 20, &text, &len, &rerr) == 0 &&
		    init_workload_check(text, len, &ctx->spec, why, sizeof(why)) == 1)
			break;
		if ((r = unit_state(ctx, INIT_WORKLOAD_UNIT, unit, sizeof(unit), err)) < 0)
			return r;
		if (!strcmp(unit, "failed") || !strcmp(unit, "inactive"))
			return cerr_setx(err, EIO,
			                 "%s is %s before every service ran (%s); see "
			                 "journalctl -u cocoon-workload",
			                 INIT_WORKLOAD_UNIT, unit, why);
		if (now_ms() >= deadline) {
			struct cerr serr = CERR_INIT;

			/* the boot failed: no half-started workload keeps running */
			if (systemctl(ctx, "stop", INIT_WORKLOAD_UNIT, &serr) < 0)
				fprintf(ctx->console, "cocoon-init: stopping %s: %s\n",
				        INIT_WORKLOAD_UNIT, serr.msg);
			return cerr_setx(err, ETIMEDOUT,
			                 "the services did not all run within %d ms "
			                 "(--workload-wait-ms): %s; %s was stopped; see "
			                 "journalctl -u cocoon-workload",
			                 ctx->cmds.workload_wait_ms, why, INIT_WORKLOAD_UNIT);
		}
		usleep(250 * 1000);
	}
	note(err, "%zu service%s running (%s)", ctx->spec.n_svc, ctx->spec.n_svc == 1 ? "" : "s",
	     INIT_WORKLOAD_STATE);
	return 0;
}

static int step_ready(struct init_ctx *ctx, struct cerr *err)
{
	(void)ctx;
	note(err, "boot state: ready");
	return 0;
}

const struct init_step init_steps[] = {
    {"mounts", "mounting the spec and data shares", step_mounts},
    {"spec", "copying, hashing and measuring the spec", step_spec},
    {"gpu", "GPU ready gate", step_gpu},
    {"keys", "sealed keys from the seal-server", step_keys},
    {"disk", "persistent disk", step_disk_then_wipe},
    {"inited", "measuring cocoon:tdx_inited", step_inited},
    {"egress", "egress firewall", step_egress},
    {"engine", "container engine and cocoon-authz", step_engine},
    {"workload", "starting the workload (cocoon-workload)", step_workload},
    {"ready", "ready", step_ready},
};
const size_t init_n_steps = ARRAY_SIZE(init_steps);

void init_ctx_init(struct init_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->console = stderr;
	ctx->state_path = INIT_STATE_PATH;
	ctx->sim_key_path = INIT_SIM_KEY_PATH;
	ctx->disk_path = INIT_DISK_PATH;
	ctx->workload_bin = INIT_WORKLOAD_BIN;
	ctx->resolve = egress_resolve_system;
	ctx->cmds = (struct init_cmds){.mount = "/usr/bin/mount",
	                               .systemctl = "/usr/bin/systemctl",
	                               .nvidia_smi = "/usr/bin/nvidia-smi",
	                               .gpu_nvml = GPUATTEST_NVML_LIB,
	                               .mkfs = "/usr/sbin/mkfs.ext4",
	                               .nft = "/usr/sbin/nft",
	                               .timeout_ms = 120000,
	                               .gpu_wait_ms = 120000,
	                               .disk_wait_ms = 30000,
	                               .seal_timeout_ms = SEALC_TIMEOUT_MS,
	                               .workload_wait_ms = 600000};
}

void init_ctx_done(struct init_ctx *ctx)
{
	secure_wipe(ctx->disk_key, sizeof(ctx->disk_key));
	ctx->have_disk_key = false;
	if (ctx->have_spec)
		compose_spec_free(&ctx->spec);
	ctx->have_spec = false;
	if (ctx->tee_ready)
		tee_done(&ctx->tee);
	ctx->tee_ready = false;
}
