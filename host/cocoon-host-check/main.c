/* cocoon-host-check - is this host ready to run TDX confidential VMs with a
 * GPU passed through? One line per check, PASS / WARN / FAIL, and for each
 * that is not PASS the fix.
 *
 * Everything is read, nothing is changed: /proc/cmdline, /proc/cpuinfo,
 * /sys/module/kvm_intel, /sys/firmware/tdx, /sys/kernel/iommu_groups, /dev,
 * the virtiofsd and QEMU binaries (QEMU is run with `--version` and
 * `-object help`), the OVMF firmware, /sys/module/vfio_iommu_type1. With
 * --root DIR all of these are looked up under DIR (for tests on generated
 * trees); a QEMU found there is run only when it is executable.
 *
 * Exit codes: 0 no required check failed (warnings allowed), 1 a required
 * check failed, 2 usage error, 3 system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/runcmd.h"
#include "cocoon/sysfs.h"
#include "cocoon/util.h"

enum { EXIT_NOT_READY = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

/* Below this many mappings vfio_iommu_type1 can refuse a TDX guest's DMA
 * maps; see docs/host-setup.md. The kernel's default is 65535. */
#define DMA_ENTRY_LIMIT_MIN 1048576u

#define QEMU_DIRS "/usr/bin:/usr/local/bin:/usr/libexec:/opt/qemu/bin"
#define VIRTIOFSD_DIRS                                                                     \
	"/usr/libexec:/usr/lib/qemu:/usr/local/libexec:/usr/local/bin:/usr/bin:/usr/sbin:" \
	"/usr/lib/virtiofsd"

enum status { ST_PASS, ST_WARN, ST_FAIL };
static const char *const status_names[] = {"PASS", "WARN", "FAIL"};

struct check {
	const char *id;
	bool required;
	enum status st;
	char detail[512];
	char fix[512];
};

struct ctx {
	struct sysfs s;
	const char *ovmf;
	const char *qemu;
	bool kvm_tdx; /* kvm_intel.tdx reads Y */
	bool has_groups;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: cocoon-host-check [OPTIONS]\n"
	        "\n"
	        "Checks that this host can run Cocoon's TDX confidential VMs with a GPU passed\n"
	        "through, one line per check (PASS, WARN or FAIL, with the fix). Reads only.\n"
	        "\n"
	        "Required checks (a FAIL makes the exit status 1):\n"
	        "  kernel.intel_iommu     intel_iommu=on on the kernel command line\n"
	        "  tdx.cpu                the CPU reports TDX enabled by the firmware\n"
	        "                         (tdx_host_platform in /proc/cpuinfo)\n"
	        "  kvm_intel.tdx          /sys/module/kvm_intel/parameters/tdx is Y\n"
	        "  tdx.module             the TDX module is initialised (/sys/firmware/tdx when\n"
	        "                         the kernel has it, else kvm_intel.tdx=Y, which KVM\n"
	        "                         clears when the module fails to initialise)\n"
	        "  iommu.groups           /sys/kernel/iommu_groups is not empty\n"
	        "  dev.kvm                /dev/kvm\n"
	        "  dev.vhost_vsock        /dev/vhost-vsock\n"
	        "  virtiofsd              virtiofsd on PATH or in /usr/libexec\n"
	        "  qemu.tdx               qemu-system-x86_64 lists the tdx-guest object\n"
	        "  ovmf                   OVMF firmware (/usr/share/ovmf/OVMF.fd, or --ovmf)\n"
	        "Advisory checks (WARN at most):\n"
	        "  kernel.iommu_pt        iommu=pt on the kernel command line\n"
	        "  vfio.dma_entry_limit   vfio_iommu_type1 dma_entry_limit >= %u\n"
	        "\n"
	        "Options:\n"
	        "  --ovmf PATH            the firmware cocoon-launch will use\n"
	        "  --qemu PATH            the QEMU binary (default: qemu-system-x86_64 on PATH)\n"
	        "  --root DIR             look at DIR as if it were / (for tests)\n"
	        "  --json                 machine-readable output on stdout\n"
	        "  -q, --quiet            print only the checks that are not PASS\n"
	        "  -h, --help             this text\n"
	        "  -V, --version          print the version\n"
	        "\n"
	        "Exit status: 0 ready (no required check failed), 1 a required check failed,\n"
	        "2 usage error, 3 system error.\n",
	        DMA_ENTRY_LIMIT_MIN);
}

static void set(struct check *c, enum status st, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set(struct check *c, enum status st, const char *fix, const char *fmt, ...)
{
	va_list ap;

	if (st == ST_FAIL && !c->required)
		st = ST_WARN;
	c->st = st;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	snprintf(c->fix, sizeof(c->fix), "%s", st == ST_PASS || !fix ? "" : fix);
}

/* ---- kernel command line ------------------------------------------------ */

/* The value of the last key=VALUE parameter for the kernel (before " -- "). */
static bool cmdline_value(const char *cmdline, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	const char *p = cmdline;
	bool found = false;

	while (*p) {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		len = strcspn(p, " \t\n");
		if (len == 0)
			break;
		if (len == 2 && !strncmp(p, "--", 2))
			break; /* the rest is for init */
		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			size_t vl = len - kl - 1;

			if (vl >= n)
				vl = n - 1;
			memcpy(out, p + kl + 1, vl);
			out[vl] = '\0';
			found = true;
		}
		p += len;
	}
	return found;
}

static bool list_has(const char *list, const char *item)
{
	size_t il = strlen(item);

	for (const char *p = list; *p;) {
		size_t len = strcspn(p, ",");

		if (len == il && !strncmp(p, item, il))
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

static void check_cmdline(struct ctx *x, struct check *iommu, struct check *pt)
{
	char cmdline[8192], v[128];
	struct cerr err = CERR_INIT;

	if (sysfs_read(&x->s, "/proc/cmdline", cmdline, sizeof(cmdline), &err) < 0) {
		set(iommu, ST_FAIL, "mount /proc", "cannot read the kernel command line: %s",
		    err.msg);
		set(pt, ST_FAIL, "mount /proc", "cannot read the kernel command line");
		return;
	}
	const char *grub = "to GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and "
	                   "reboot";
	char fix[256];

	snprintf(fix, sizeof(fix), "add intel_iommu=on %s (and turn on VT-d in the firmware setup)",
	         grub);
	if (cmdline_value(cmdline, "intel_iommu", v, sizeof(v))) {
		if (list_has(v, "on"))
			set(iommu, ST_PASS, NULL, "intel_iommu=%s", v);
		else
			set(iommu, ST_FAIL, fix, "intel_iommu=%s: the IOMMU is not turned on", v);
	} else if (x->has_groups) {
		set(iommu, ST_WARN, fix,
		    "intel_iommu=on is not on the command line, but the IOMMU is on (kernel "
		    "default); say it explicitly so a kernel update cannot turn it off");
	} else {
		set(iommu, ST_FAIL, fix, "intel_iommu=on is not on the kernel command line");
	}

	snprintf(fix, sizeof(fix), "add iommu=pt %s", grub);
	if (cmdline_value(cmdline, "iommu", v, sizeof(v)) && list_has(v, "pt"))
		set(pt, ST_PASS, NULL, "iommu=%s", v);
	else if (cmdline_value(cmdline, "iommu.passthrough", v, sizeof(v)) &&
	         (!strcmp(v, "1") || !strcmp(v, "on") || !strcmp(v, "y")))
		set(pt, ST_PASS, NULL, "iommu.passthrough=%s", v);
	else
		set(pt, ST_WARN, fix,
		    "iommu=pt is not on the kernel command line: host devices' DMA goes through "
		    "IOMMU translation (slower; passthrough still works)");
}

/* ---- TDX ---------------------------------------------------------------- */

static bool cpuinfo_has_flag(struct ctx *x, const char *flag, bool *readable)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, fl = strlen(flag);

	*readable = false;
	if (sysfs_path(&x->s, p, sizeof(p), "/proc/cpuinfo") < 0)
		return false;
	f = fopen(p, "re");
	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "flags", 5))
			continue;
		*readable = true;
		for (char *t = strchr(line, ':'); t && *t;) {
			size_t len;

			t += strspn(t, ": \t\n");
			len = strcspn(t, " \t\n");
			if (len == fl && !strncmp(t, flag, fl))
				return true;
			t += len;
		}
		return false; /* the first CPU speaks for all */
	}
	return false;
}

static void check_kvm_tdx(struct ctx *x, struct check *c)
{
	char v[16];
	struct cerr err = CERR_INIT;
	const char *fix = "load kvm_intel with TDX on: echo 'options kvm_intel tdx=1' > "
	                  "/etc/modprobe.d/kvm-tdx.conf, then modprobe -r kvm_intel && modprobe "
	                  "kvm_intel (or reboot); needs a TDX host kernel (Linux 6.16+, "
	                  "CONFIG_INTEL_TDX_HOST, CONFIG_KVM_INTEL_TDX)";

	if (!sysfs_exists(&x->s, "/sys/module/kvm_intel")) {
		set(c, ST_FAIL, fix, "kvm_intel is not loaded");
		return;
	}
	if (!sysfs_exists(&x->s, "/sys/module/kvm_intel/parameters/tdx")) {
		set(c, ST_FAIL,
		    "boot a kernel with TDX host support (Linux 6.16+, CONFIG_INTEL_TDX_HOST, "
		    "CONFIG_KVM_INTEL_TDX)",
		    "this kernel's kvm_intel has no tdx parameter");
		return;
	}
	if (sysfs_read(&x->s, "/sys/module/kvm_intel/parameters/tdx", v, sizeof(v), &err) < 0) {
		set(c, ST_FAIL, fix, "%s", err.msg);
		return;
	}
	x->kvm_tdx = !strcmp(v, "Y") || !strcmp(v, "1");
	if (x->kvm_tdx)
		set(c, ST_PASS, NULL, "kvm_intel tdx=%s", v);
	else
		set(c, ST_FAIL, fix,
		    "kvm_intel tdx=%s (off, or KVM turned it off because TDX could not be "
		    "initialised: see dmesg for 'tdx' messages)",
		    v);
}

static void check_tdx_cpu(struct ctx *x, struct check *c)
{
	bool readable;
	const char *fix = "turn on TME, TME-MT (multi-key total memory encryption) and TDX "
	                  "with the SEAM loader in the firmware setup, and boot a kernel with "
	                  "CONFIG_INTEL_TDX_HOST";

	if (cpuinfo_has_flag(x, "tdx_host_platform", &readable))
		set(c, ST_PASS, NULL, "the CPU reports tdx_host_platform");
	else if (x->kvm_tdx)
		set(c, ST_PASS, NULL,
		    "tdx_host_platform not shown by this kernel, but kvm_intel runs with tdx=Y");
	else if (!readable)
		set(c, ST_FAIL, fix, "cannot read the CPU flags in /proc/cpuinfo");
	else
		set(c, ST_FAIL, fix,
		    "the CPU does not report tdx_host_platform: TDX is off in the firmware or "
		    "the kernel lacks TDX host support");
}

static void check_tdx_module(struct ctx *x, struct check *c)
{
	char v[128];
	struct cerr err = CERR_INIT;
	const char *fix = "the TDX module is initialised when kvm_intel loads with tdx=1: fix "
	                  "kvm_intel.tdx first, then see dmesg for 'virt/tdx' messages (a "
	                  "missing or too old TDX module is updated with the firmware)";

	if (sysfs_exists(&x->s, "/sys/firmware/tdx/tdx_module/status") &&
	    sysfs_read(&x->s, "/sys/firmware/tdx/tdx_module/status", v, sizeof(v), &err) == 0) {
		if (!strcmp(v, "initialized") || !strcmp(v, "initialised"))
			set(c, ST_PASS, NULL, "/sys/firmware/tdx/tdx_module/status: %s", v);
		else
			set(c, ST_FAIL, fix, "/sys/firmware/tdx/tdx_module/status: %s", v);
		return;
	}
	if (x->kvm_tdx)
		set(c, ST_PASS, NULL,
		    "initialised (kvm_intel tdx=Y, which KVM clears when the module fails to "
		    "initialise)%s",
		    sysfs_exists(&x->s, "/sys/firmware/tdx") ? "; /sys/firmware/tdx present" : "");
	else
		set(c, ST_FAIL, fix, "not initialised: kvm_intel does not run TDX%s",
		    sysfs_exists(&x->s, "/sys/firmware/tdx") ? ""
		                                             : " and /sys/firmware/tdx is absent");
}

/* ---- IOMMU and devices -------------------------------------------------- */

static void probe_groups(struct ctx *x, size_t *n)
{
	char **names = NULL;
	struct cerr err = CERR_INIT;

	*n = 0;
	if (sysfs_list(&x->s, "/sys/kernel/iommu_groups", &names, n, &err) < 0)
		*n = 0;
	sysfs_names_free(names);
	x->has_groups = *n > 0;
}

static void check_groups(size_t n, struct check *c)
{
	if (n > 0)
		set(c, ST_PASS, NULL, "%zu IOMMU groups", n);
	else
		set(c, ST_FAIL,
		    "turn on VT-d in the firmware setup and boot with intel_iommu=on iommu=pt",
		    "no IOMMU groups in /sys/kernel/iommu_groups: the IOMMU is off");
}

static void check_kvm(struct ctx *x, struct check *c)
{
	const char *fix = "turn on VT-x in the firmware setup and modprobe kvm_intel";
	char p[PATH_MAX];
	struct stat st;

	if (sysfs_path(&x->s, p, sizeof(p), "/dev/kvm") < 0 || stat(p, &st) < 0) {
		set(c, ST_FAIL, fix, "%s does not exist", p);
		return;
	}
	if (sysfs_has_root(&x->s)) {
		set(c, ST_PASS, NULL, "%s present (not opened: --root)", p);
		return;
	}
	if (!S_ISCHR(st.st_mode)) {
		set(c, ST_FAIL, fix, "%s is not a character device", p);
		return;
	}
	_cleanup_close_ int fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		set(c, ST_PASS, NULL,
		    "%s present (not openable by this user: %s; QEMU must run as root or in its "
		    "group)",
		    p, strerror(errno));
		return;
	}
	int api = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		set(c, ST_FAIL, fix, "%s answers KVM API version %d, not %d", p, api,
		    KVM_API_VERSION);
	else if (!sysfs_exists(&x->s, "/sys/module/kvm_intel"))
		set(c, ST_PASS, NULL,
		    "%s present, KVM API version %d (not from kvm_intel, which TDX needs: see "
		    "kvm_intel.tdx)",
		    p, api);
	else
		set(c, ST_PASS, NULL, "%s present, KVM API version %d", p, api);
}

static void check_vsock(struct ctx *x, struct check *c)
{
	char p[PATH_MAX];
	struct stat st;

	if (sysfs_path(&x->s, p, sizeof(p), "/dev/vhost-vsock") < 0 || stat(p, &st) < 0) {
		set(c, ST_FAIL,
		    "modprobe vhost_vsock (and add vhost_vsock to /etc/modules-load.d/ so it "
		    "loads at boot)",
		    "%s does not exist: guests cannot reach seal-server or be health-checked over "
		    "vsock",
		    p);
		return;
	}
	if (!sysfs_has_root(&x->s) && !S_ISCHR(st.st_mode)) {
		set(c, ST_FAIL, "modprobe vhost_vsock", "%s is not a character device", p);
		return;
	}
	set(c, ST_PASS, NULL, "%s present", p);
}

/* ---- programs and firmware ---------------------------------------------- */

static void check_virtiofsd(struct ctx *x, struct check *c)
{
	char path[PATH_MAX];
	int r = cmd_find(x->s.root, "virtiofsd", VIRTIOFSD_DIRS, path, sizeof(path));
	const char *fix = "install virtiofsd (Debian 13 / Ubuntu 24.04 and later: apt install "
	                  "virtiofsd)";

	if (r == 0)
		set(c, ST_PASS, NULL, "%s", path);
	else if (r == -EACCES)
		set(c, ST_FAIL, fix, "%s is not executable", path);
	else
		set(c, ST_FAIL, fix, "virtiofsd not found on PATH or in /usr/libexec");
}

static void first_line(const char *s, char *out, size_t n)
{
	size_t len = strcspn(s, "\n");

	if (len >= n)
		len = n - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

static bool lists_object(const char *help, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = help; *p;) {
		size_t len = strcspn(p, "\n");
		const char *t = p;

		while (t < p + len && (*t == ' ' || *t == '\t'))
			t++;
		if ((size_t)(p + len - t) >= nl && !strncmp(t, name, nl) &&
		    (t + nl == p + len || t[nl] == ' ' || t[nl] == '\t' || t[nl] == ','))
			return true;
		p += len;
		if (*p)
			p++;
	}
	return false;
}

static void check_qemu(struct ctx *x, struct check *c)
{
	char path[PATH_MAX], ver[160] = "";
	struct cmd_result res;
	struct cerr err = CERR_INIT;
	const char *fix = "install QEMU 10.1 or later built with KVM (TDX support), or pass "
	                  "--qemu PATH";
	int r = cmd_find(x->s.root, x->qemu ? x->qemu : "qemu-system-x86_64", QEMU_DIRS, path,
	                 sizeof(path));

	if (r == -ENOENT) {
		set(c, ST_FAIL, fix, "%s not found", x->qemu ? x->qemu : "qemu-system-x86_64");
		return;
	}
	if (r < 0) {
		if (sysfs_has_root(&x->s))
			set(c, ST_WARN, fix, "%s found but not executable: not run (--root)", path);
		else
			set(c, ST_FAIL, fix, "%s is not executable", path);
		return;
	}
	const char *vargv[] = {path, "--version", NULL};
	if (cmd_run(vargv, 10000, 4096, &res, &err) == 0) {
		const char *v = strstr(res.out, "version ");
		if (v)
			first_line(v + 8, ver, sizeof(ver));
		cmd_result_free(&res);
	} else {
		cmd_result_free(&res);
	}
	const char *oargv[] = {path, "-object", "help", NULL};
	cerr_clear(&err);
	if (cmd_run(oargv, 10000, 256 * 1024, &res, &err) < 0) {
		cmd_result_free(&res);
		set(c, ST_FAIL, fix, "%s", err.msg);
		return;
	}
	if (res.exit_code != 0) {
		char line[200];

		first_line(res.out, line, sizeof(line));
		set(c, ST_FAIL, fix, "%s -object help exited with status %d: %s", path,
		    res.exit_code, line[0] ? line : "no output");
	} else if (lists_object(res.out, "tdx-guest"))
		set(c, ST_PASS, NULL, "%s (QEMU %s) has the tdx-guest object", path,
		    ver[0] ? ver : "version unknown");
	else
		set(c, ST_FAIL, fix, "%s (QEMU %s) lacks the tdx-guest object", path,
		    ver[0] ? ver : "version unknown");
	cmd_result_free(&res);
}

static void check_ovmf(struct ctx *x, struct check *c)
{
	static const char *const unified[] = {"/usr/share/ovmf/OVMF.fd", "/usr/share/OVMF/OVMF.fd",
	                                      "/usr/share/qemu/OVMF.fd"};
	char p[PATH_MAX];
	glob_t g;
	const char *fix = "install OVMF with TDX support (apt install ovmf) or pass --ovmf PATH";

	if (x->ovmf) {
		if (sysfs_path(&x->s, p, sizeof(p), "%s", x->ovmf) == 0 && access(p, R_OK) == 0)
			set(c, ST_PASS, NULL, "%s", p);
		else
			set(c, ST_FAIL, fix, "--ovmf %s: %s", p, strerror(errno));
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(unified); i++) {
		if (sysfs_path(&x->s, p, sizeof(p), "%s", unified[i]) == 0 &&
		    access(p, R_OK) == 0) {
			set(c, ST_PASS, NULL, "%s", p);
			return;
		}
	}
	if (sysfs_path(&x->s, p, sizeof(p), "/usr/share/OVMF/OVMF_CODE*.fd") == 0 &&
	    glob(p, 0, NULL, &g) == 0) {
		set(c, ST_WARN,
		    "a TDX guest boots with -bios and a unified OVMF.fd (TDVF): pass --ovmf PATH",
		    "only split firmware found (%s)", g.gl_pathv[0]);
		globfree(&g);
		return;
	}
	set(c, ST_FAIL, fix, "no OVMF firmware in /usr/share/ovmf or /usr/share/OVMF");
}

static void check_dma_limit(struct ctx *x, struct check *c)
{
	const char *path = "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit";
	char fix[256];
	uint32_t v;
	struct cerr err = CERR_INIT;

	snprintf(fix, sizeof(fix),
	         "echo 'options vfio_iommu_type1 dma_entry_limit=%u' > "
	         "/etc/modprobe.d/cocoon-vfio.conf, and now: echo %u > %s",
	         DMA_ENTRY_LIMIT_MIN, DMA_ENTRY_LIMIT_MIN, path);
	if (!sysfs_exists(&x->s, "/sys/module/vfio_iommu_type1")) {
		set(c, ST_WARN, fix,
		    "vfio_iommu_type1 is not loaded (it loads with vfio-pci; check again after "
		    "setup-gpu-vfio --setup)");
		return;
	}
	if (sysfs_read_u32(&x->s, path, &v, &err) < 0) {
		set(c, ST_WARN, fix, "%s", err.msg);
		return;
	}
	if (v < DMA_ENTRY_LIMIT_MIN)
		set(c, ST_WARN, fix,
		    "dma_entry_limit is %u, below %u: a TDX guest's shared-memory DMA maps may "
		    "run out (only with the legacy VFIO container, not iommufd)",
		    v, DMA_ENTRY_LIMIT_MIN);
	else
		set(c, ST_PASS, NULL, "dma_entry_limit is %u", v);
}

/* ---- output ------------------------------------------------------------- */

static void print_text(const struct check *c, size_t n, bool quiet)
{
	for (size_t i = 0; i < n; i++) {
		if (quiet && c[i].st == ST_PASS)
			continue;
		printf("%s %-20s %s%s%s%s\n", status_names[c[i].st], c[i].id, c[i].detail,
		       c[i].st != ST_PASS && !c[i].required ? " (advisory)" : "",
		       c[i].fix[0] ? "; fix: " : "", c[i].fix);
	}
}

static void print_json(const struct check *c, size_t n, bool ok, unsigned fails, unsigned warns)
{
	json_object *o = json_object_new_object(), *list = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_new_object();

		json_object_object_add(e, "id", json_object_new_string(c[i].id));
		json_object_object_add(e, "required", json_object_new_boolean(c[i].required));
		json_object_object_add(e, "status", json_object_new_string(status_names[c[i].st]));
		json_object_object_add(e, "detail", json_object_new_string(c[i].detail));
		json_object_object_add(e, "fix",
		                       c[i].fix[0] ? json_object_new_string(c[i].fix) : NULL);
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "failed", json_object_new_int((int)fails));
	json_object_object_add(o, "warnings", json_object_new_int((int)warns));
	json_object_object_add(o, "checks", list);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                           JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ovmf", required_argument, NULL, 'o'}, {"qemu", required_argument, NULL, 'Q'},
	    {"root", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},      {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},    {NULL, 0, NULL, 0},
	};
	struct check checks[] = {
	    {.id = "kernel.intel_iommu", .required = true},
	    {.id = "kernel.iommu_pt", .required = false},
	    {.id = "kvm_intel.tdx", .required = true},
	    {.id = "tdx.cpu", .required = true},
	    {.id = "tdx.module", .required = true},
	    {.id = "iommu.groups", .required = true},
	    {.id = "dev.kvm", .required = true},
	    {.id = "dev.vhost_vsock", .required = true},
	    {.id = "virtiofsd", .required = true},
	    {.id = "qemu.tdx", .required = true},
	    {.id = "ovmf", .required = true},
	    {.id = "vfio.dma_entry_limit", .required = false},
	};
	struct ctx x = {0};
	struct cerr err = CERR_INIT;
	const char *root = NULL;
	bool json = false, quiet = false;
	unsigned fails = 0, warns = 0;
	size_t ngroups;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			x.ovmf = optarg;
			break;
		case 'Q':
			x.qemu = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		default: {
			int done = cli_common_option(c, "cocoon-host-check", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s' (see cocoon-host-check --help)", argv[optind]);
		return EXIT_USAGE;
	}
	if (sysfs_init(&x.s, root, &err) < 0) {
		log_cerr(&err);
		return EXIT_SYSTEM;
	}

	probe_groups(&x, &ngroups);
	check_cmdline(&x, &checks[0], &checks[1]);
	check_kvm_tdx(&x, &checks[2]);
	check_tdx_cpu(&x, &checks[3]);
	check_tdx_module(&x, &checks[4]);
	check_groups(ngroups, &checks[5]);
	check_kvm(&x, &checks[6]);
	check_vsock(&x, &checks[7]);
	check_virtiofsd(&x, &checks[8]);
	check_qemu(&x, &checks[9]);
	check_ovmf(&x, &checks[10]);
	check_dma_limit(&x, &checks[11]);

	for (size_t i = 0; i < ARRAY_SIZE(checks); i++) {
		fails += checks[i].st == ST_FAIL;
		warns += checks[i].st == ST_WARN;
	}
	if (json)
		print_json(checks, ARRAY_SIZE(checks), fails == 0, fails, warns);
	else
		print_text(checks, ARRAY_SIZE(checks), quiet);
	if (fails)
		log_info("%u required check%s failed, %u warning%s: this host cannot run Cocoon "
		         "TDX VMs yet",
		         fails, fails == 1 ? "" : "s", warns, warns == 1 ? "" : "s");
	else
		log_info("ready: every required check passed (%u warning%s)", warns,
		         warns == 1 ? "" : "s");
	return fails ? EXIT_NOT_READY : 0;
}
