/* setup-gpu-vfio - prepare an NVIDIA GPU for passthrough to a TDX
 * confidential VM, and hand it back afterwards.
 *
 *   setup-gpu-vfio [--list]        every NVIDIA GPU and NVSwitch
 *   setup-gpu-vfio BDF             is it ready for passthrough? why not?
 *   setup-gpu-vfio --setup BDF     CC mode on, its IOMMU group to vfio-pci
 *   setup-gpu-vfio --restore BDF   back to what --setup found
 *
 * Works on sysfs directly (no libvirt); see bind.c for the steps and
 * cctool.c for the CC mode. Exit codes: 0 success (listed, ready, set up,
 * restored), 1 refused or not ready, 2 usage error, 3 system error (a write
 * or a helper failed; the state file tells --restore what to put back).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "gpuvfio.h"

#include "cocoon-config.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };
enum mode { MODE_LIST, MODE_VERIFY, MODE_SETUP, MODE_RESTORE };

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: setup-gpu-vfio [OPTIONS] [--list]\n"
	        "       setup-gpu-vfio [OPTIONS] BDF\n"
	        "       setup-gpu-vfio [OPTIONS] --setup BDF\n"
	        "       setup-gpu-vfio [OPTIONS] --restore BDF\n"
	        "\n"
	        "Prepares an NVIDIA GPU for passthrough to a TDX confidential VM.\n"
	        "\n"
	        "  --list           every NVIDIA GPU and NVSwitch: address, product, driver,\n"
	        "                   IOMMU group, CC mode where it can be read (the default)\n"
	        "  BDF              is the GPU ready for passthrough? every reason it is not\n"
	        "  --setup BDF      turn CC mode on (PPCIe off first) with NVIDIA's\n"
	        "                   gpu-admin-tools and bind every device of the GPU's IOMMU\n"
	        "                   group to vfio-pci; make /dev/vfio/<group> usable by --group\n"
	        "                   (now and through a udev rule); record what was there in\n"
	        "                   " STATE_DIR "/<BDF>.json\n"
	        "  --restore BDF    put back exactly what --setup recorded (drivers, CC and\n"
	        "                   PPCIe modes), remove the udev rule and the state file\n"
	        "\n"
	        "BDF is a PCI address: 0000:3a:00.0, 3a:00.0 or 3a:00.00.\n"
	        "--setup and --restore can be run again safely: they change only what is not\n"
	        "yet as it should be. A refusal changes nothing.\n"
	        "\n"
	        "Options:\n"
	        "  --dry-run               print every write and command, change nothing\n"
	        "                          (no tool is run, not even a query)\n"
	        "  --gpu-admin-tools DIR   where nvidia_gpu_tools.py is (default:\n"
	        "                          $GPU_ADMIN_TOOLS_DIR, /opt/gpu-admin-tools,\n"
	        "                          /usr/local/share/gpu-admin-tools); get it from\n"
	        "                          " TOOLS_URL "\n"
	        "  --group NAME            unix group for the VFIO nodes (default: kvm)\n"
	        "  --root DIR              treat DIR as / for /sys, /proc, /dev, /etc, /var/lib\n"
	        "                          (for tests on generated trees)\n"
	        "  --json                  machine-readable output on stdout\n"
	        "  -q, --quiet             print only errors\n"
	        "  -h, --help              this text\n"
	        "  -V, --version           print the version\n"
	        "\n"
	        "Exit status: 0 success (listed, ready, set up, restored), 1 refused or not\n"
	        "ready, 2 usage error, 3 system error (what --setup found is in the state\n"
	        "file: --restore puts it back).\n");
}

static json_object *str_or_null(const char *s)
{
	return s && s[0] ? json_object_new_string(s) : NULL;
}

static const char *product_of(const struct pci_dev *d)
{
	const char *p = pci_nvidia_product(d->device);

	return p ? p : "unknown model";
}

static json_object *dev_json(const struct pci_dev *d)
{
	json_object *o = json_object_new_object();
	char id[16], cls[16];

	snprintf(id, sizeof(id), "%04x:%04x", d->vendor, d->device);
	snprintf(cls, sizeof(cls), "0x%06x", d->class_code);
	json_object_object_add(o, "bdf", json_object_new_string(d->bdf));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "class", json_object_new_string(cls));
	json_object_object_add(o, "kind", json_object_new_string(pci_kind_name(d->kind)));
	json_object_object_add(
	    o, "product",
	    str_or_null(d->vendor == PCI_VENDOR_NVIDIA ? pci_nvidia_product(d->device) : NULL));
	json_object_object_add(o, "driver", str_or_null(d->driver));
	json_object_object_add(o, "driver_override", str_or_null(d->override));
	json_object_object_add(o, "iommu_group", str_or_null(d->iommu_group));
	return o;
}

static json_object *group_json(struct run *x, const struct pci_dev *d)
{
	json_object *a = json_object_new_array();
	char **names = NULL;
	struct cerr err = CERR_INIT;

	if (!d->iommu_group[0] || pci_group_members(&x->s, d->iommu_group, &names, NULL, &err) < 0)
		return a;
	for (char **n = names; *n; n++) {
		struct pci_dev m;

		if (pci_dev_read(&x->s, *n, &m, &err) == 0)
			json_object_array_add(a, dev_json(&m));
	}
	sysfs_names_free(names);
	return a;
}

/* ---- list ------------------------------------------------------------------ */

static int cmd_list(struct run *x)
{
	struct cerr err = CERR_INIT;
	struct cctool t;
	char **bdfs = NULL;
	json_object *list = x->json ? json_object_new_array() : NULL;
	unsigned found = 0;

	if (pci_list(&x->s, &bdfs, NULL, &err) < 0) {
		json_object_put(list);
		log_cerr(&err);
		return EXIT_SYSTEM;
	}
	cctool_find(x, &t);
	if (!x->json)
		printf("%-13s %-9s %-16s %-10s %-14s %-6s %s\n", "BDF", "KIND", "PRODUCT", "ID",
		       "DRIVER", "GROUP", "CC MODE");
	for (char **b = bdfs; *b; b++) {
		struct pci_dev d;
		char mode[16], how[512];

		cerr_clear(&err);
		if (pci_dev_read(&x->s, *b, &d, &err) < 0) {
			log_warn("%s", err.msg);
			continue;
		}
		if (d.vendor != PCI_VENDOR_NVIDIA ||
		    (d.kind != PCI_KIND_GPU && d.kind != PCI_KIND_NVSWITCH))
			continue;
		found++;
		cc_mode_read(x, &d, &t, mode, sizeof(mode), how, sizeof(how));
		if (x->json) {
			json_object *o = dev_json(&d);

			json_object_object_add(o, "cc_mode", str_or_null(mode));
			json_object_object_add(o, "cc_mode_source", json_object_new_string(how));
			json_object_object_add(o, "iommu_group_devices", group_json(x, &d));
			json_object_array_add(list, o);
		} else {
			char id[16];

			snprintf(id, sizeof(id), "%04x:%04x", d.vendor, d.device);
			printf(
			    "%-13s %-9s %-16s %-10s %-14s %-6s %s%s%s%s\n", d.bdf,
			    pci_kind_name(d.kind), product_of(&d), id, d.driver[0] ? d.driver : "-",
			    d.iommu_group[0] ? d.iommu_group : "none", mode[0] ? mode : "-",
			    d.kind == PCI_KIND_GPU ? " (" : "", d.kind == PCI_KIND_GPU ? how : "",
			    d.kind == PCI_KIND_GPU ? ")" : "");
		}
	}
	sysfs_names_free(bdfs);
	if (x->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "devices", list);
		cli_print_json(o);
	}
	if (!found)
		log_info("no NVIDIA GPU or NVSwitch under %s/sys/bus/pci/devices", x->s.root);
	return 0;
}

/* ---- verify ---------------------------------------------------------------- */

static void reason(json_object *reasons, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reason(json_object *reasons, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_array_add(reasons, json_object_new_string(msg));
}

static void verify_group(struct run *x, const struct pci_dev *gpu, json_object *reasons)
{
	char **names = NULL, node[PATH_MAX];
	struct cerr err = CERR_INIT;
	bool all_vfio = true, vfio_loaded;

	group_problems(x, gpu, reasons);
	vfio_loaded = sysfs_exists(&x->s, "/sys/bus/pci/drivers/vfio-pci");
	if (pci_group_members(&x->s, gpu->iommu_group, &names, NULL, &err) < 0) {
		reason(reasons, "%s", err.msg);
		return;
	}
	for (char **n = names; *n; n++) {
		struct pci_dev m;

		if (pci_dev_read(&x->s, *n, &m, &err) < 0 || m.vendor != PCI_VENDOR_NVIDIA ||
		    m.kind == PCI_KIND_BRIDGE || !strcmp(m.driver, "vfio-pci"))
			continue;
		all_vfio = false;
		reason(reasons, "%s (%s) is %s%s, not vfio-pci: run setup-gpu-vfio --setup %s",
		       m.bdf, pci_kind_name(m.kind), m.driver[0] ? "bound to " : "",
		       m.driver[0] ? m.driver : "unbound", gpu->bdf);
	}
	sysfs_names_free(names);
	if (!all_vfio && !vfio_loaded)
		reason(reasons,
		       "the vfio-pci driver is not loaded: modprobe vfio-pci (--setup needs "
		       "it)");
	if (all_vfio &&
	    sysfs_path(&x->s, node, sizeof(node), "/dev/vfio/%s", gpu->iommu_group) == 0 &&
	    access(node, F_OK) < 0)
		reason(reasons,
		       "%s does not exist although vfio-pci holds the group: is devtmpfs on "
		       "/dev? (see dmesg)",
		       node);
}

static int cmd_verify(struct run *x, const char *arg)
{
	char bdf[PCI_BDF_LEN], mode[16], how[512];
	struct cerr err = CERR_INIT;
	struct pci_dev gpu;
	struct cctool t;
	json_object *reasons = json_object_new_array();
	int r;

	if (pci_bdf_parse(arg, bdf, &err) < 0) {
		json_object_put(reasons);
		log_cerr(&err);
		return EXIT_USAGE;
	}
	r = pci_dev_read(&x->s, bdf, &gpu, &err);
	if (r == 0 && gpu.vendor != PCI_VENDOR_NVIDIA)
		r = refuse(
		    x, &err,
		    "%s is not an NVIDIA device (vendor %04x, device %04x, class %06x): pass "
		    "the address of an NVIDIA GPU (setup-gpu-vfio --list)",
		    bdf, gpu.vendor, gpu.device, gpu.class_code);
	if (r < 0) {
		json_object_put(reasons);
		if (x->json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "bdf", json_object_new_string(bdf));
			json_object_object_add(o, "ready", json_object_new_boolean(0));
			json_object_object_add(o, "error", json_object_new_string(err.msg));
			cli_print_json(o);
		}
		log_cerr(&err);
		return r == -ENODEV || x->refused ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	cctool_find(x, &t);
	cc_mode_read(x, &gpu, &t, mode, sizeof(mode), how, sizeof(how));

	if (gpu.kind == PCI_KIND_NVSWITCH)
		reason(reasons, "it is an NVSwitch, not a GPU: setup-gpu-vfio prepares GPUs");
	else if (gpu.kind != PCI_KIND_GPU)
		reason(reasons, "it is an NVIDIA %s function, not a GPU: pass the GPU's address",
		       pci_kind_name(gpu.kind));
	if (gpu.iommu_group[0]) {
		verify_group(x, &gpu, reasons);
	} else {
		reason(reasons,
		       "no IOMMU group: the IOMMU is off; turn on VT-d in the firmware "
		       "setup and boot with intel_iommu=on iommu=pt (see cocoon-host-check)");
		if (strcmp(gpu.driver, "vfio-pci"))
			reason(reasons,
			       "%s is %s%s, not vfio-pci (setup-gpu-vfio --setup binds it once "
			       "it has an IOMMU group)",
			       gpu.bdf, gpu.driver[0] ? "bound to " : "",
			       gpu.driver[0] ? gpu.driver : "unbound");
	}
	if (gpu.kind == PCI_KIND_GPU) {
		if (!mode[0])
			reason(reasons, "CC mode %s", how);
		else if (strcmp(mode, "on"))
			reason(reasons, "CC mode is %s (%s): setup-gpu-vfio --setup %s turns it on",
			       mode, how, gpu.bdf);
	}

	size_t nr = json_object_array_length(reasons);
	if (x->json) {
		json_object *o = dev_json(&gpu);

		json_object_object_add(o, "cc_mode", str_or_null(mode));
		json_object_object_add(o, "cc_mode_source", json_object_new_string(how));
		json_object_object_add(o, "iommu_group_devices", group_json(x, &gpu));
		json_object_object_add(o, "ready", json_object_new_boolean(nr == 0));
		json_object_object_add(o, "reasons", reasons);
		cli_print_json(o);
	} else {
		printf("%s: %s %s (%04x:%04x), driver %s, IOMMU group %s, CC mode %s (%s)\n",
		       gpu.bdf, pci_kind_name(gpu.kind), product_of(&gpu), gpu.vendor, gpu.device,
		       gpu.driver[0] ? gpu.driver : "none",
		       gpu.iommu_group[0] ? gpu.iommu_group : "none", mode[0] ? mode : "unknown",
		       how);
		if (nr == 0)
			printf("ready for passthrough\n");
		else
			printf("not ready for passthrough:\n");
		for (size_t i = 0; i < nr; i++)
			printf("  - %s\n",
			       json_object_get_string(json_object_array_get_idx(reasons, i)));
		json_object_put(reasons);
	}
	return nr == 0 ? 0 : EXIT_REFUSED;
}

/* ---- set-up and restore ------------------------------------------------------ */

static void on_trace(void *ctx, const char *action)
{
	struct run *x = ctx;

	if (x->actions)
		json_object_array_add(x->actions, json_object_new_string(action));
	if (x->s.dry_run) {
		if (!x->json)
			printf("would %s\n", action);
	} else {
		log_info("%s", action);
	}
}

static void summary(struct run *x, const char *bdf, bool setup)
{
	struct pci_dev d;
	struct cerr err = CERR_INIT;

	if (x->s.dry_run) {
		if (!x->json)
			printf("dry run: nothing was changed\n");
		return;
	}
	if (pci_dev_read(&x->s, bdf, &d, &err) < 0 || x->json)
		return;
	if (setup)
		printf("%s (%s) is ready for passthrough: vfio-pci, IOMMU group %s "
		       "(/dev/vfio/%s, group %s), CC mode on\n",
		       d.bdf, product_of(&d), d.iommu_group, d.iommu_group, x->unix_group);
	else
		printf("%s (%s) restored: driver %s\n", d.bdf, product_of(&d),
		       d.driver[0] ? d.driver : "none");
}

static int cmd_change(struct run *x, const char *arg, bool setup)
{
	char bdf[PCI_BDF_LEN];
	struct cerr err = CERR_INIT;
	int r;

	if (pci_bdf_parse(arg, bdf, &err) < 0) {
		log_cerr(&err);
		return EXIT_USAGE;
	}
	if (x->json)
		x->actions = json_object_new_array();
	x->s.trace = on_trace;
	x->s.trace_ctx = x;
	r = setup ? gpu_setup(x, bdf, &err) : gpu_restore(x, bdf, &err);
	if (r < 0 && !x->refused && !x->s.dry_run)
		cerr_prefix(&err, r,
		            "%s stopped part-way (what it found is in %s%s/%s.json; "
		            "setup-gpu-vfio --restore %s puts it back)",
		            setup ? "--setup" : "--restore", x->s.root, STATE_DIR, bdf, bdf);
	if (x->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(r >= 0));
		json_object_object_add(o, "bdf", json_object_new_string(bdf));
		json_object_object_add(o, "command",
		                       json_object_new_string(setup ? "setup" : "restore"));
		json_object_object_add(o, "dry_run", json_object_new_boolean(x->s.dry_run));
		json_object_object_add(o, "refused", json_object_new_boolean(x->refused));
		if (r < 0)
			json_object_object_add(o, "error", json_object_new_string(err.msg));
		json_object_object_add(o, "actions", x->actions);
		x->actions = NULL;
		cli_print_json(o);
	}
	if (r < 0) {
		log_cerr(&err);
		return x->refused ? EXIT_REFUSED : EXIT_SYSTEM;
	}
	if (r == 0)
		summary(x, bdf, setup);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"list", no_argument, NULL, 'l'},
	    {"setup", required_argument, NULL, 's'},
	    {"restore", required_argument, NULL, 'R'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"gpu-admin-tools", required_argument, NULL, 't'},
	    {"group", required_argument, NULL, 'g'},
	    {"root", required_argument, NULL, 'r'},
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct run x = {.unix_group = "kvm"};
	struct cerr err = CERR_INIT;
	enum mode mode = MODE_LIST;
	const char *root = NULL, *target = NULL;
	bool dry_run = false, mode_set = false;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
		case 's':
		case 'R':
			if (mode_set) {
				log_error("give one of --list, --setup and --restore");
				return EXIT_USAGE;
			}
			mode_set = true;
			mode = c == 'l' ? MODE_LIST : c == 's' ? MODE_SETUP : MODE_RESTORE;
			target = c == 'l' ? NULL : optarg;
			break;
		case 'n':
			dry_run = true;
			break;
		case 't':
			x.tools_dir = optarg;
			break;
		case 'g':
			x.unix_group = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'j':
			x.json = true;
			break;
		default: {
			int done = cli_common_option(c, "setup-gpu-vfio", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind < argc) {
		if (mode_set || argc - optind > 1) {
			log_error("unexpected argument '%s' (see setup-gpu-vfio --help)",
			          argv[mode_set ? optind : optind + 1]);
			return EXIT_USAGE;
		}
		mode = MODE_VERIFY;
		target = argv[optind];
	}
	if (dry_run && mode != MODE_SETUP && mode != MODE_RESTORE) {
		log_error("--dry-run goes with --setup or --restore");
		return EXIT_USAGE;
	}
	if (!x.unix_group[0] || strlen(x.unix_group) >= 64 || x.unix_group[0] == '-' ||
	    strspn(x.unix_group,
	           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
	        strlen(x.unix_group)) {
		log_error("--group '%s' is not a usable group name", x.unix_group);
		return EXIT_USAGE;
	}
	if (sysfs_init(&x.s, root, &err) < 0) {
		log_cerr(&err);
		return EXIT_SYSTEM;
	}
	x.s.dry_run = dry_run;
	switch (mode) {
	case MODE_LIST:
		return cmd_list(&x);
	case MODE_VERIFY:
		return cmd_verify(&x, target);
	case MODE_SETUP:
		return cmd_change(&x, target, true);
	case MODE_RESTORE:
		return cmd_change(&x, target, false);
	}
	return EXIT_USAGE;
}
