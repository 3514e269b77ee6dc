/* cocoon-launch - starts and supervises one confidential VM of Docker mode.
 *
 *   cocoon-launch [OPTIONS] [CONFIG]     validate, prepare, start, supervise
 *   cocoon-launch --print-only CONFIG    the command lines, nothing started
 *   cocoon-launch --libvirt-xml CONFIG   an equivalent libvirt domain
 *
 * The configuration (lib/launchcfg.c) is read from CONFIG, then every
 * `--KEY VALUE` flag overrides it. Choices that depend on the host (KVM or
 * TCG, vsock or vport, virtio-fs or 9p) are made here, once, and logged; the
 * command lines are then built from the configuration alone (plan.c), the
 * libvirt domain too (libvirt.c), and run.c starts and supervises them.
 *
 * Exit codes: see the EXIT_* values in run.h and docs/launcher.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cocoon-config.h"
#include "cocoon/launchcfg.h"
#include "cocoon/log.h"
#include "cocoon/runcmd.h"
#include "cocoon/util.h"
#include "libvirt.h"
#include "plan.h"
#include "run.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: cocoon-launch [OPTIONS] [CONFIG]\n"
	        "\n"
	        "Starts one confidential VM of Docker mode and supervises it until it stops:\n"
	        "validates and prepares the spec, makes the persistent image if missing\n"
	        "(sparse), starts virtiofsd for each share, checks that seal-server answers,\n"
	        "starts QEMU, waits for the guest to report ready. SIGINT/SIGTERM power the\n"
	        "guest down through QMP (quit after stop_timeout).\n"
	        "\n"
	        "Modes:\n"
	        "  --print-only        print the command lines (helpers and QEMU), start nothing\n"
	        "  --libvirt-xml       print an equivalent libvirt domain, start nothing\n"
	        "  -c, --config FILE   the INI configuration (also the first argument)\n"
	        "  -h, --help          this text\n"
	        "  -V, --version       print the version\n"
	        "\n"
	        "Every configuration key is also a flag that overrides the file\n"
	        "(`--dev` alone means --dev yes):\n");
	lcfg_print_keys(f);
	fprintf(f,
	        "\n"
	        "Exit status: 0 the guest stopped cleanly, 1 configuration refused, 2 usage,\n"
	        "3 system error before the guest ran, 4 guest failure (not ready in time, reset,\n"
	        "panic, did not power down), 5 QEMU crashed or was killed.\n");
}

/* the host-dependent choices of a dev VM, made once */
static int kvm_usable(void)
{
	int fd, v;

	/* kvm_pvm (a pagetable-based hypervisor for nested clouds) provides
	 * /dev/kvm too, but runs only PVM-enabled guest kernels: QEMU fails on
	 * a standard one (seen: "failed to set MSR 0x10a"). Without kvm_intel
	 * or kvm_amd, /dev/kvm is not usable for this guest. */
	if (access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_intel", F_OK) < 0 &&
	    access("/sys/module/kvm_amd", F_OK) < 0)
		return 0;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	close(fd);
	return v == KVM_API_VERSION;
}

static int resolve(struct lcfg *c, bool probe_only, struct cerr *err)
{
	char path[4096];
	bool need_vfsd;

	if (c->accel == LCFG_ACCEL_AUTO) {
		c->accel = kvm_usable() ? LCFG_ACCEL_KVM : LCFG_ACCEL_TCG;
		log_info("accel: %s (%s)", c->accel == LCFG_ACCEL_KVM ? "kvm" : "tcg",
		         c->accel == LCFG_ACCEL_KVM ? "/dev/kvm is usable"
		                                    : "no usable /dev/kvm (none, or kvm_pvm only)");
	}
	if (c->transport == LCFG_TRANSPORT_AUTO) {
		bool vs = access("/dev/vhost-vsock", R_OK | W_OK) == 0;

		c->transport = vs ? LCFG_TRANSPORT_VSOCK : LCFG_TRANSPORT_VPORT;
		log_info("transport: %s",
		         vs ? "vhost-vsock" : "vport (virtio-serial): no /dev/vhost-vsock here");
	}
	need_vfsd = c->fs != LCFG_FS_9P;
	if (need_vfsd && !c->virtiofsd) {
		if (cmd_find(NULL, "virtiofsd", "/usr/libexec:/usr/lib/qemu:/usr/lib/virtiofsd",
		             path, sizeof(path)) == 0) {
			if (!(c->virtiofsd = strdup(path)))
				return cerr_set(err, ENOMEM, "virtiofsd");
		}
	}
	if (c->fs == LCFG_FS_AUTO) {
		if (c->virtiofsd) {
			c->fs = LCFG_FS_VIRTIOFS;
		} else {
			c->fs = LCFG_FS_9P;
			log_warn("virtiofsd not found: sharing spec and data over 9p instead of "
			         "virtio-fs (install virtiofsd or set virtiofsd = PATH)");
		}
	}
	/* dev: the sim platform key for the guest's sim TEE, by fw_cfg (it protects
	 * nothing). Without the key set, seal-server's usual file when it is there;
	 * --print-only and --libvirt-xml show that file whether or not it is. */
	if (c->dev && !c->sim_platform_key) {
		if (probe_only || access(LCFG_SIM_KEY_DEFAULT, R_OK) == 0) {
			if (!(c->sim_platform_key = strdup(LCFG_SIM_KEY_DEFAULT)))
				return cerr_set(err, ENOMEM, "sim_platform_key");
		} else {
			log_warn("no sim platform key at " LCFG_SIM_KEY_DEFAULT
			         ": the guest gets none, and its sim TEE cannot start (cocoon-init "
			         "stops at step 2); run seal-server "
			         "--write-platform-key " LCFG_SIM_KEY_DEFAULT
			         " or set sim_platform_key = FILE");
		}
	}
	if (c->fs == LCFG_FS_VIRTIOFS && !c->virtiofsd && !probe_only)
		return cerr_setx(
		    err, ENOENT,
		    "virtiofsd not found (looked in /usr/libexec, /usr/lib/qemu and "
		    "PATH): install it (Debian trixie: apt-get install virtiofsd) or set "
		    "virtiofsd = PATH");
	return 0;
}

struct flag {
	const char *key;
	const char *value;
};

int main(int argc, char **argv)
{
	enum { OPT_PRINT = 1000, OPT_XML, OPT_KEY0 };
	struct option opts[80];
	struct flag flags[128];
	size_t n_opts = 0, n_flags = 0;
	const char *config = NULL;
	bool print_only = false, xml = false;
	struct lcfg c;
	struct cerr err = CERR_INIT;
	int r, opt;

	log_init("cocoon-launch");
	opts[n_opts++] = (struct option){"print-only", no_argument, NULL, OPT_PRINT};
	opts[n_opts++] = (struct option){"libvirt-xml", no_argument, NULL, OPT_XML};
	opts[n_opts++] = (struct option){"config", required_argument, NULL, 'c'};
	opts[n_opts++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n_opts++] = (struct option){"version", no_argument, NULL, 'V'};
	/* each key as --key and --key with '-' for '_' */
	static char names[64][40];
	size_t n_names = 0;
	for (size_t i = 0; lcfg_key_name(i) && n_opts + 2 < ARRAY_SIZE(opts) - 1; i++) {
		const char *k = lcfg_key_name(i);
		int has = strcmp(k, "dev") ? required_argument : optional_argument;

		opts[n_opts++] = (struct option){k, has, NULL, OPT_KEY0 + (int)i};
		if (strchr(k, '_') && n_names < ARRAY_SIZE(names)) {
			snprintf(names[n_names], sizeof(names[0]), "%s", k);
			for (char *p = names[n_names]; *p; p++)
				if (*p == '_')
					*p = '-';
			opts[n_opts++] =
			    (struct option){names[n_names++], has, NULL, OPT_KEY0 + (int)i};
		}
	}
	opts[n_opts] = (struct option){NULL, 0, NULL, 0};

	while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_PRINT:
			print_only = true;
			break;
		case OPT_XML:
			xml = true;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("cocoon-launch %s\n", COCOON_VERSION);
			return 0;
		default:
			if (opt >= OPT_KEY0 && n_flags < ARRAY_SIZE(flags)) {
				const char *k = lcfg_key_name((size_t)(opt - OPT_KEY0));

				flags[n_flags++] = (struct flag){k, optarg ? optarg : "yes"};
				break;
			}
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && !config)
		config = argv[optind++];
	if (optind < argc) {
		log_error("unexpected argument '%s' (one CONFIG at most)", argv[optind]);
		return EXIT_USAGE;
	}
	if (print_only && xml) {
		log_error("--print-only and --libvirt-xml: choose one");
		return EXIT_USAGE;
	}

	lcfg_init(&c);
	if (config && (r = lcfg_load_file(&c, config, &err)) < 0)
		goto refused;
	for (size_t i = 0; i < n_flags; i++) {
		char where[64];

		snprintf(where, sizeof(where), "--%s", flags[i].key);
		if ((r = lcfg_set(&c, NULL, flags[i].key, flags[i].value, where, &err)) < 0)
			goto refused;
	}
	if ((r = lcfg_finish(&c, &err)) < 0)
		goto refused;
	if ((r = resolve(&c, print_only || xml, &err)) < 0)
		goto refused;

	if (xml) {
		r = libvirt_domain_xml(stdout, &c, &err);
		if (r < 0)
			goto refused;
		lcfg_free(&c);
		return 0;
	}
	struct plan p;
	if ((r = plan_build(&c, &p, &err)) < 0) {
		plan_free(&p);
		goto refused;
	}
	if (print_only) {
		plan_print(stdout, &c, &p);
		plan_free(&p);
		lcfg_free(&c);
		return 0;
	}
	if ((r = lcfg_check_host(&c, &err)) < 0) {
		plan_free(&p);
		goto refused;
	}
	r = launch_run(&c, &p);
	plan_free(&p);
	lcfg_free(&c);
	return r;

refused:
	log_cerr(&err);
	lcfg_free(&c);
	return err.code == ENOMEM ? EXIT_SYSTEM : EXIT_REFUSED;
}
