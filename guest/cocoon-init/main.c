/* cocoon-init - the guest's first service: from the shares to a running
 * workload (ARCHITECTURE.md §3, guest steps 1-10; docs/cocoon-init.md).
 *
 *   cocoon-init [--root DIR] [--cmdline FILE] [helper paths...]
 *
 * The mode comes only from the kernel command line. Each step is timed and
 * logged to the console; the first failure stops the boot with one line
 * naming the step and the reason, and the boot state file
 * (/run/cocoon/boot-state) says `failed: STEP: REASON`; at the end it says
 * `ready`.
 *
 * Exit codes: 0 ready, 1 the boot failed (see the boot state), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon-config.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/util.h"
#include "init.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: cocoon-init [OPTIONS]\n"
	        "\n"
	        "Boots a Cocoon Docker-mode guest: mounts the shares, copies and measures\n"
	        "the spec, gates on the GPU, gets the sealed keys, opens the encrypted disk,\n"
	        "configures and starts the container engine and the workload. The mode\n"
	        "(cocoon_debug, cocoon.debug=1, cocoon.tee=sim|tdx, cocoon_gpu, cocoon.fs=9p,\n"
	        "cocoon.seal=ADDR) is read from the kernel command line only.\n"
	        "\n"
	        "Options (every path below is taken under --root; commands are not):\n"
	        "  --root DIR              prefix of every path touched (tests; default none)\n"
	        "  --cmdline FILE          kernel command line (default /proc/cmdline)\n"
	        "  --state-file FILE       boot state (default " INIT_STATE_PATH ")\n"
	        "  --sim-platform-key FILE sim TEE platform key (default " INIT_SIM_KEY_PATH ")\n"
	        "  --disk DEV              persistent disk (default " INIT_DISK_PATH ")\n"
	        "  --disk-check-only       debug boots only: check the disk key, activate and\n"
	        "                          mount nothing (machines without device-mapper)\n"
	        "  --workload-bin FILE     cocoon-workload (default " INIT_WORKLOAD_BIN ")\n"
	        "  --seal ADDR             seal-server address instead of cocoon.seal=\n"
	        "  --mount-cmd CMD         mount(8) (default /usr/bin/mount)\n"
	        "  --systemctl-cmd CMD     systemctl (default /usr/bin/systemctl)\n"
	        "  --nvidia-smi-cmd CMD    nvidia-smi (default /usr/bin/nvidia-smi)\n"
	        "  --gpu-nvml LIB          the NVML library the GPU gate opens (default\n"
	        "                          libnvidia-ml.so.1)\n"
	        "  --gpu-root-pem FILE     tests only: another root than NVIDIA's Device\n"
	        "                          Identity CA for the GPU certificate chains\n"
	        "  --mkfs-cmd CMD          mkfs.ext4 (default /usr/sbin/mkfs.ext4)\n"
	        "  --nft-cmd CMD           nft, fed the egress ruleset (default /usr/sbin/nft)\n"
	        "  --cmd-timeout-ms N      limit for each command (default 120000)\n"
	        "  --gpu-wait-ms N         wait for the nvidia driver (default 120000)\n"
	        "  --disk-wait-ms N        wait for the persistent disk to appear (default 30000)\n"
	        "  --seal-timeout-ms N     seal-server connect and reply limit (default 30000)\n"
	        "  --workload-wait-ms N    wait for every service to run (default 600000)\n"
	        "  -h, --help, --version\n"
	        "\n"
	        "Exit codes: 0 ready, 1 the boot failed (the boot state says at which step\n"
	        "and why), 2 usage error.\n");
}

enum {
	OPT_ROOT = 256,
	OPT_CMDLINE,
	OPT_STATE,
	OPT_SIMKEY,
	OPT_DISK,
	OPT_CHECK_ONLY,
	OPT_WORKLOAD,
	OPT_SEAL,
	OPT_MOUNT,
	OPT_SYSTEMCTL,
	OPT_NVSMI,
	OPT_NVML,
	OPT_GPUROOT,
	OPT_MKFS,
	OPT_NFT,
	OPT_TIMEOUT,
	OPT_GPUWAIT,
	OPT_DISKWAIT,
	OPT_SEALTIMEOUT,
	OPT_WORKLOADWAIT,
	OPT_VERSION,
};

static int parse_ms(const char *s, int *out)
{
	long v;

	if (cli_parse_long(s, 1, 3600000, &v) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, OPT_ROOT},
	    {"cmdline", required_argument, NULL, OPT_CMDLINE},
	    {"state-file", required_argument, NULL, OPT_STATE},
	    {"sim-platform-key", required_argument, NULL, OPT_SIMKEY},
	    {"disk", required_argument, NULL, OPT_DISK},
	    {"disk-check-only", no_argument, NULL, OPT_CHECK_ONLY},
	    {"workload-bin", required_argument, NULL, OPT_WORKLOAD},
	    {"seal", required_argument, NULL, OPT_SEAL},
	    {"mount-cmd", required_argument, NULL, OPT_MOUNT},
	    {"systemctl-cmd", required_argument, NULL, OPT_SYSTEMCTL},
	    {"nvidia-smi-cmd", required_argument, NULL, OPT_NVSMI},
	    {"gpu-nvml", required_argument, NULL, OPT_NVML},
	    {"gpu-root-pem", required_argument, NULL, OPT_GPUROOT},
	    {"mkfs-cmd", required_argument, NULL, OPT_MKFS},
	    {"nft-cmd", required_argument, NULL, OPT_NFT},
	    {"cmd-timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	    {"gpu-wait-ms", required_argument, NULL, OPT_GPUWAIT},
	    {"disk-wait-ms", required_argument, NULL, OPT_DISKWAIT},
	    {"seal-timeout-ms", required_argument, NULL, OPT_SEALTIMEOUT},
	    {"workload-wait-ms", required_argument, NULL, OPT_WORKLOADWAIT},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {NULL, 0, NULL, 0},
	};
	const char *cmdline_path = "/proc/cmdline";
	_cleanup_free_ char *cmdline = NULL;
	struct init_ctx ctx;
	struct cerr err = CERR_INIT;
	char p[PATH_MAX];
	int c, r, *ms;

	log_init("cocoon-init");
	init_ctx_init(&ctx);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ROOT:
			if (strlen(optarg) >= sizeof(ctx.root) - 256 || optarg[0] != '/') {
				log_error("--root: an absolute path is needed");
				return 2;
			}
			snprintf(ctx.root, sizeof(ctx.root), "%s", optarg);
			/* "/" and "/x/" are the same as "" and "/x" */
			for (size_t n = strlen(ctx.root); n && ctx.root[n - 1] == '/'; n--)
				ctx.root[n - 1] = '\0';
			break;
		case OPT_CMDLINE:
			cmdline_path = optarg;
			break;
		case OPT_STATE:
			ctx.state_path = optarg;
			break;
		case OPT_SIMKEY:
			ctx.sim_key_path = optarg;
			break;
		case OPT_DISK:
			ctx.disk_path = optarg;
			break;
		case OPT_CHECK_ONLY:
			ctx.disk_check_only = true;
			break;
		case OPT_WORKLOAD:
			ctx.workload_bin = optarg;
			break;
		case OPT_SEAL:
			ctx.seal_override = optarg;
			break;
		case OPT_MOUNT:
			ctx.cmds.mount = optarg;
			break;
		case OPT_SYSTEMCTL:
			ctx.cmds.systemctl = optarg;
			break;
		case OPT_NVSMI:
			ctx.cmds.nvidia_smi = optarg;
			break;
		case OPT_NVML:
			ctx.cmds.gpu_nvml = optarg;
			break;
		case OPT_GPUROOT:
			ctx.cmds.gpu_root_pem = optarg;
			break;
		case OPT_MKFS:
			ctx.cmds.mkfs = optarg;
			break;
		case OPT_NFT:
			ctx.cmds.nft = optarg;
			break;
		case OPT_TIMEOUT:
		case OPT_GPUWAIT:
		case OPT_DISKWAIT:
		case OPT_SEALTIMEOUT:
		case OPT_WORKLOADWAIT:
			ms = c == OPT_TIMEOUT       ? &ctx.cmds.timeout_ms
			     : c == OPT_GPUWAIT     ? &ctx.cmds.gpu_wait_ms
			     : c == OPT_DISKWAIT    ? &ctx.cmds.disk_wait_ms
			     : c == OPT_SEALTIMEOUT ? &ctx.cmds.seal_timeout_ms
			                            : &ctx.cmds.workload_wait_ms;
			if (parse_ms(optarg, ms) < 0) {
				log_error("'%s': expected milliseconds, 1..3600000", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			printf("cocoon-init %s\n", COCOON_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see cocoon-init --help)", argv[optind]);
		return 2;
	}
	for (const char *const *pp = (const char *const[]){ctx.state_path, ctx.sim_key_path,
	                                                   ctx.disk_path, ctx.workload_bin, NULL};
	     *pp; pp++) {
		if ((*pp)[0] != '/') {
			log_error("'%s': an absolute path is needed (it is taken under --root)",
			          *pp);
			return 2;
		}
	}

	/* the mode first: without it nothing else can be done right */
	r = init_path(&ctx, cmdline_path, p, &err);
	if (r >= 0)
		r = read_file_stream(p, INIT_CMDLINE_MAX, &cmdline, NULL, &err);
	if (r >= 0)
		r = init_mode_parse(cmdline, &ctx.mode, &err);
	if (r < 0) {
		char line[CERR_MSG_MAX + 32];

		fprintf(ctx.console, "cocoon-init: FAILED before step 1: %s\n", err.msg);
		snprintf(line, sizeof(line), "failed: cmdline: %s", err.msg);
		init_write_state(&ctx, line, NULL);
		return 1;
	}
	fprintf(ctx.console, "cocoon-init: mode: tee=%s%s%s%s, seal at %s\n",
	        tee_kind_name(ctx.mode.tee), ctx.mode.debug ? ", debug" : "",
	        ctx.mode.gpu ? ", gpu" : "", ctx.mode.fs_9p ? ", 9p shares" : "",
	        ctx.seal_override ? ctx.seal_override : ctx.mode.seal);

	r = init_run_steps(&ctx, init_steps, init_n_steps, &err);
	init_ctx_done(&ctx);
	if (r < 0)
		return 1;
	fprintf(ctx.console, "cocoon-init: ready\n");
	return 0;
}
