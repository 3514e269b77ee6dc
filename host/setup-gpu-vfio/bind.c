/* bind.c - `setup-gpu-vfio --setup` and `--restore`.
 *
 * Set-up takes every device of the GPU's IOMMU group from its driver and
 * gives it to vfio-pci (driver_override, unbind, drivers_probe), makes the
 * group's VFIO nodes usable by a unix group (now, and through a udev rule
 * for the next time they appear), and turns the GPU's CC mode on (PPCIe off
 * first) with NVIDIA's tools. Before its first change it writes a state file
 * with what it found (drivers, driver_override values), and adds the CC and
 * PPCIe modes as soon as the tools can read them; restore puts back exactly
 * that and removes what set-up added.
 *
 * Both are idempotent: each step looks first and acts only when the device
 * is not yet where it should be, so a second run writes nothing. Everything
 * that can refuse the request is checked before the first write, so a refusal
 * leaves the system as it was. With --dry-run every write and command is
 * reported and none is made.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gpuvfio.h"

#include "cocoon/log.h"
#include "cocoon/util.h"

#define MAX_GROUP 32
#define STATE_MAX (64 * 1024)
#define NODE_WAIT_MS 3000

struct orig {
	char bdf[PCI_BDF_LEN];
	char driver[64];   /* "" when it had none */
	char override[64]; /* "" when it had none */
};

struct state {
	char bdf[PCI_BDF_LEN];
	char group[16];
	char product[64];
	struct orig dev[MAX_GROUP];
	size_t n;
	char cc[16];    /* the CC mode found, "" while not yet read */
	char ppcie[16]; /* the PPCIe mode found, "" while not yet read */
	char udev_rule[PATH_MAX];
	char unix_group[64];
};

int refuse(struct run *x, struct cerr *err, const char *fmt, ...)
{
	va_list ap;

	x->refused = true;
	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->code = EINVAL;
	}
	return -EINVAL;
}

/* ---- the GPU and its group ----------------------------------------------- */

static const char *product_of(const struct pci_dev *d)
{
	const char *p = d->vendor == PCI_VENDOR_NVIDIA ? pci_nvidia_product(d->device) : NULL;

	return p ? p : "unknown model";
}

/* The refusals that verify, set-up and restore share. */
static int read_gpu(struct run *x, const char *bdf, struct pci_dev *gpu, struct cerr *err)
{
	int r = pci_dev_read(&x->s, bdf, gpu, err);

	if (r == -ENODEV)
		x->refused = true;
	if (r < 0)
		return r;
	if (gpu->vendor != PCI_VENDOR_NVIDIA)
		return refuse(x, err,
		              "%s is not an NVIDIA device (vendor %04x, device %04x, class %06x): "
		              "pass the address of an NVIDIA GPU (setup-gpu-vfio --list)",
		              bdf, gpu->vendor, gpu->device, gpu->class_code);
	return 0;
}

static int need_gpu(struct run *x, const struct pci_dev *gpu, struct cerr *err)
{
	if (gpu->kind == PCI_KIND_NVSWITCH)
		return refuse(x, err,
		              "%s is an NVSwitch, not a GPU: NVSwitch passthrough (protected PCIe, "
		              "several GPUs in one VM) is not what setup-gpu-vfio prepares; pass a "
		              "GPU's address",
		              gpu->bdf);
	if (gpu->kind != PCI_KIND_GPU)
		return refuse(
		    x, err,
		    "%s is an NVIDIA %s function (device %04x, class %06x), not a GPU: pass "
		    "the GPU's address (its function .0, see setup-gpu-vfio --list); the "
		    "rest of its IOMMU group goes with it",
		    gpu->bdf, pci_kind_name(gpu->kind), gpu->device, gpu->class_code);
	if (!gpu->iommu_group[0])
		return refuse(
		    x, err,
		    "%s has no IOMMU group: the IOMMU is off. Turn on VT-d in the firmware "
		    "setup, boot with intel_iommu=on iommu=pt, and check with "
		    "cocoon-host-check",
		    gpu->bdf);
	return 0;
}

struct member {
	struct pci_dev d;
	bool pass; /* goes to vfio-pci; bridges stay with their driver */
};

/* The group's devices; the first foreign one (not NVIDIA, not a bridge) is a
 * refusal, since passing the group through would take it from the host. */
static int read_group(struct run *x, const struct pci_dev *gpu, struct member *m, size_t *n,
                      json_object *problems, struct cerr *err)
{
	char **names = NULL;
	size_t cnt = 0;
	int r = pci_group_members(&x->s, gpu->iommu_group, &names, &cnt, err);

	*n = 0;
	if (r < 0)
		return cerr_prefix(err, r, "IOMMU group %s of %s", gpu->iommu_group, gpu->bdf);
	if (cnt > MAX_GROUP) {
		sysfs_names_free(names);
		return refuse(x, err, "IOMMU group %s of %s has %zu devices, more than %d",
		              gpu->iommu_group, gpu->bdf, cnt, MAX_GROUP);
	}
	for (size_t i = 0; i < cnt; i++) {
		struct member *e = &m[*n];

		r = pci_dev_read(&x->s, names[i], &e->d, err);
		if (r < 0) {
			sysfs_names_free(names);
			return cerr_prefix(err, r, "IOMMU group %s", gpu->iommu_group);
		}
		if (e->d.kind == PCI_KIND_BRIDGE) {
			e->pass = false;
		} else if (e->d.vendor != PCI_VENDOR_NVIDIA) {
			char msg[512];

			snprintf(msg, sizeof(msg),
			         "IOMMU group %s also holds %s (vendor %04x, device %04x, class "
			         "%06x, driver %s), which is not NVIDIA's: the whole group goes to "
			         "the VM, so move the GPU to a slot with its own group (or enable "
			         "ACS in the firmware) first",
			         gpu->iommu_group, e->d.bdf, e->d.vendor, e->d.device,
			         e->d.class_code, e->d.driver[0] ? e->d.driver : "none");
			if (problems) {
				json_object_array_add(problems, json_object_new_string(msg));
				continue;
			}
			sysfs_names_free(names);
			return refuse(x, err, "%s", msg);
		} else {
			e->pass = true;
		}
		(*n)++;
	}
	sysfs_names_free(names);
	return 0;
}

void group_problems(struct run *x, const struct pci_dev *gpu, json_object *reasons)
{
	struct member m[MAX_GROUP];
	size_t n;
	struct cerr err = CERR_INIT;

	if (read_group(x, gpu, m, &n, reasons, &err) < 0)
		json_object_array_add(reasons, json_object_new_string(err.msg));
}

/* ---- files: state, udev rule, directories -------------------------------- */

static int full_path(struct run *x, char *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int full_path(struct run *x, char *out, const char *fmt, ...)
{
	char sys[PATH_MAX];
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(sys, sizeof(sys), fmt, ap);
	va_end(ap);
	if (w < 0 || w >= (int)sizeof(sys) || sysfs_path(&x->s, out, PATH_MAX, "%s", sys) < 0)
		return -ENAMETOOLONG;
	return 0;
}

static int mkdir_p(struct run *x, const char *sys, struct cerr *err)
{
	char p[PATH_MAX];
	size_t rl = strlen(x->s.root);
	struct stat st;

	if (full_path(x, p, "%s", sys) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long: %s", sys);
	if (stat(p, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0
		                           : cerr_setx(err, ENOTDIR, "'%s' is not a directory", p);
	for (char *c = p + rl + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (stat(p, &st) < 0) {
			sysfs_trace(&x->s, "create directory %s", p);
			if (!x->s.dry_run && mkdir(p, 0755) < 0 && errno != EEXIST)
				return cerr_set(err, errno, "create directory '%s'", p);
		}
		*c = '/';
	}
	sysfs_trace(&x->s, "create directory %s", p);
	if (!x->s.dry_run && mkdir(p, 0755) < 0 && errno != EEXIST)
		return cerr_set(err, errno, "create directory '%s'", p);
	return 0;
}

/* Writes a whole file unless it already holds exactly content. */
static int put_file(struct run *x, const char *sys, const char *dir, const char *content,
                    unsigned mode, struct cerr *err)
{
	char p[PATH_MAX];
	_cleanup_free_ char *old = NULL;
	struct cerr ignore = CERR_INIT;
	size_t len;
	int r;

	if (full_path(x, p, "%s", sys) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long: %s", sys);
	if (read_file(p, STATE_MAX, &old, &len, &ignore) == 0 && len == strlen(content) &&
	    !memcmp(old, content, len))
		return 0;
	r = mkdir_p(x, dir, err);
	if (r < 0)
		return r;
	sysfs_trace(&x->s, "write %s", p);
	if (x->s.dry_run)
		return 0;
	return write_file_atomic(p, content, strlen(content), mode, err);
}

static int remove_file(struct run *x, const char *sys, struct cerr *err)
{
	char p[PATH_MAX];
	struct stat st;

	if (full_path(x, p, "%s", sys) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long: %s", sys);
	if (lstat(p, &st) < 0)
		return 0;
	sysfs_trace(&x->s, "remove %s", p);
	if (!x->s.dry_run && unlink(p) < 0 && errno != ENOENT)
		return cerr_set(err, errno, "remove '%s'", p);
	return 0;
}

static void state_sys_path(const char *bdf, char *out, size_t n)
{
	snprintf(out, n, STATE_DIR "/%s.json", bdf);
}

static json_object *str_or_null(const char *s)
{
	return s[0] ? json_object_new_string(s) : NULL;
}

static char *state_render(const struct state *st)
{
	json_object *o = json_object_new_object(), *devs = json_object_new_array();
	char *text;

	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "bdf", json_object_new_string(st->bdf));
	json_object_object_add(o, "product", json_object_new_string(st->product));
	json_object_object_add(o, "iommu_group", json_object_new_string(st->group));
	for (size_t i = 0; i < st->n; i++) {
		json_object *d = json_object_new_object();

		json_object_object_add(d, "bdf", json_object_new_string(st->dev[i].bdf));
		json_object_object_add(d, "driver", str_or_null(st->dev[i].driver));
		json_object_object_add(d, "driver_override", str_or_null(st->dev[i].override));
		json_object_array_add(devs, d);
	}
	json_object_object_add(o, "devices", devs);
	json_object_object_add(o, "cc_mode", str_or_null(st->cc));
	json_object_object_add(o, "ppcie_mode", str_or_null(st->ppcie));
	json_object_object_add(o, "udev_rule", json_object_new_string(st->udev_rule));
	json_object_object_add(o, "unix_group", json_object_new_string(st->unix_group));
	if (asprintf(&text, "%s\n",
	             json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	                                                   JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		text = NULL;
	json_object_put(o);
	return text;
}

static int state_save(struct run *x, const struct state *st, struct cerr *err)
{
	char sys[PATH_MAX];
	_cleanup_free_ char *text = state_render(st);

	if (!text)
		return cerr_set(err, ENOMEM, "state file");
	state_sys_path(st->bdf, sys, sizeof(sys));
	return put_file(x, sys, STATE_DIR, text, 0644, err);
}

/* a name from the state file: a driver or group name, no path */
static bool plain_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n > 0 && n < max && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n;
}

/* copies an optional string member; false when it is there but not a plain name */
static bool get_name(json_object *o, const char *key, char *out, size_t n, bool mode)
{
	json_object *v;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string) || !plain_name(json_object_get_string(v), n))
		return false;
	snprintf(out, n, "%s", json_object_get_string(v));
	if (mode)
		return !strcmp(out, "on") || !strcmp(out, "off") || !strcmp(out, "devtools") ||
		       !strcmp(out, "unsupported");
	return true;
}

static int state_load(struct run *x, const char *bdf, struct state *st, bool *exists,
                      struct cerr *err)
{
	char sys[PATH_MAX], p[PATH_MAX], tmp[PCI_BDF_LEN];
	_cleanup_free_ char *text = NULL;
	json_object *o, *v, *devs;
	struct cerr perr = CERR_INIT;
	size_t len;
	int r;

	memset(st, 0, sizeof(*st));
	*exists = false;
	state_sys_path(bdf, sys, sizeof(sys));
	if (full_path(x, p, "%s", sys) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long: %s", sys);
	if (access(p, F_OK) < 0)
		return 0;
	*exists = true;
	r = read_file(p, STATE_MAX, &text, &len, err);
	if (r < 0)
		return r;
	o = json_tokener_parse(text);
	if (!o || !json_object_is_type(o, json_type_object))
		goto bad;
	if (!json_object_object_get_ex(o, "version", &v) || json_object_get_int(v) != 1)
		goto bad;
	if (!json_object_object_get_ex(o, "bdf", &v) || !json_object_is_type(v, json_type_string) ||
	    pci_bdf_parse(json_object_get_string(v), st->bdf, &perr) < 0 || strcmp(st->bdf, bdf))
		goto bad;
	if (!get_name(o, "iommu_group", st->group, sizeof(st->group), false) || !st->group[0] ||
	    !get_name(o, "cc_mode", st->cc, sizeof(st->cc), true) ||
	    !get_name(o, "ppcie_mode", st->ppcie, sizeof(st->ppcie), true) ||
	    !get_name(o, "unix_group", st->unix_group, sizeof(st->unix_group), false))
		goto bad;
	if (json_object_object_get_ex(o, "product", &v) && json_object_is_type(v, json_type_string))
		snprintf(st->product, sizeof(st->product), "%s", json_object_get_string(v));
	snprintf(st->udev_rule, sizeof(st->udev_rule), UDEV_DIR "/70-cocoon-vfio-%s.rules",
	         st->group);
	if (!json_object_object_get_ex(o, "devices", &devs) ||
	    !json_object_is_type(devs, json_type_array) || json_object_array_length(devs) == 0 ||
	    json_object_array_length(devs) > MAX_GROUP)
		goto bad;
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		json_object *d = json_object_array_get_idx(devs, i);
		struct orig *e = &st->dev[st->n];

		if (!json_object_is_type(d, json_type_object) ||
		    !json_object_object_get_ex(d, "bdf", &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    pci_bdf_parse(json_object_get_string(v), tmp, &perr) < 0 ||
		    !get_name(d, "driver", e->driver, sizeof(e->driver), false) ||
		    !get_name(d, "driver_override", e->override, sizeof(e->override), false))
			goto bad;
		memcpy(e->bdf, tmp, sizeof(tmp));
		st->n++;
	}
	json_object_put(o);
	return 0;
bad:
	if (o)
		json_object_put(o);
	return cerr_setx(err, EINVAL,
	                 "state file '%s' is damaged or not setup-gpu-vfio's: look at it, put the "
	                 "devices back by hand if needed, and remove it",
	                 p);
}

static int lookup_gid(struct run *x, const char *name, gid_t *gid, struct cerr *err)
{
	char p[PATH_MAX];
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, nl = strlen(name);

	if (!sysfs_has_root(&x->s)) {
		struct group *g = getgrnam(name);

		if (!g)
			return refuse(x, err,
			              "unix group '%s' does not exist: create it (groupadd %s) or "
			              "pass --group NAME for the group that runs QEMU",
			              name, name);
		*gid = g->gr_gid;
		return 0;
	}
	if (sysfs_path(&x->s, p, sizeof(p), "/etc/group") < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long");
	f = fopen(p, "re");
	while (f && getline(&line, &cap, f) > 0) {
		char *c = strchr(line, ':');
		unsigned long v;

		if (!c || (size_t)(c - line) != nl || strncmp(line, name, nl))
			continue;
		c = strchr(c + 1, ':');
		if (c && sscanf(c + 1, "%lu", &v) == 1) {
			*gid = (gid_t)v;
			return 0;
		}
	}
	return refuse(x, err, "unix group '%s' not found in %s: create it or pass --group NAME",
	              name, p);
}

/* ---- drivers -------------------------------------------------------------- */

static bool driver_loaded(struct run *x, const char *drv)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "/sys/bus/pci/drivers/%s", drv);
	return sysfs_exists(&x->s, p);
}

static int write_attr(struct run *x, const char *value, struct cerr *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int write_attr(struct run *x, const char *value, struct cerr *err, const char *fmt, ...)
{
	char sys[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sys, sizeof(sys), fmt, ap);
	va_end(ap);
	return sysfs_write(&x->s, sys, value, err);
}

static int bind_vfio(struct run *x, struct pci_dev *d, struct cerr *err)
{
	int r = 0;

	if (!strcmp(d->driver, "vfio-pci") && !strcmp(d->override, "vfio-pci"))
		return 0;
	if (strcmp(d->override, "vfio-pci"))
		r = write_attr(x, "vfio-pci", err, "/sys/bus/pci/devices/%s/driver_override",
		               d->bdf);
	if (r == 0 && d->driver[0] && strcmp(d->driver, "vfio-pci"))
		r = write_attr(x, d->bdf, err, "/sys/bus/pci/drivers/%s/unbind", d->driver);
	if (r == 0 && strcmp(d->driver, "vfio-pci"))
		r = write_attr(x, d->bdf, err, "/sys/bus/pci/drivers_probe");
	if (r < 0 || x->s.dry_run)
		return r;
	r = pci_dev_read(&x->s, d->bdf, d, err);
	if (r < 0)
		return r;
	if (strcmp(d->driver, "vfio-pci"))
		return cerr_setx(err, EIO,
		                 "%s is %s after drivers_probe, not bound to vfio-pci: see dmesg "
		                 "(vfio-pci refuses devices it cannot isolate)",
		                 d->bdf, d->driver[0] ? d->driver : "unbound");
	return 0;
}

static int restore_driver(struct run *x, const struct orig *o, struct cerr *err)
{
	struct pci_dev d;
	int r = pci_dev_read(&x->s, o->bdf, &d, err);

	if (r < 0)
		return r;
	if (!strcmp(d.driver, o->driver) && !strcmp(d.override, o->override))
		return 0;
	if (d.driver[0] && strcmp(d.driver, o->driver))
		r = write_attr(x, d.bdf, err, "/sys/bus/pci/drivers/%s/unbind", d.driver);
	if (r == 0 && strcmp(d.override, o->override))
		r = write_attr(x, o->override[0] ? o->override : "\n", err,
		               "/sys/bus/pci/devices/%s/driver_override", d.bdf);
	if (r == 0 && o->driver[0] && strcmp(d.driver, o->driver))
		r = write_attr(x, d.bdf, err, "/sys/bus/pci/drivers/%s/bind", o->driver);
	if (r < 0 || x->s.dry_run)
		return r;
	r = pci_dev_read(&x->s, o->bdf, &d, err);
	if (r < 0)
		return r;
	if (strcmp(d.driver, o->driver))
		return cerr_setx(err, EIO, "%s is %s%s after the bind, not %s: see dmesg", d.bdf,
		                 d.driver[0] ? "bound to " : "", d.driver[0] ? d.driver : "unbound",
		                 o->driver[0] ? o->driver : "unbound");
	return 0;
}

/* Unbinding the nvidia driver from a GPU that a process still has open
 * blocks until that process lets go, so set-up refuses first. The GPU's
 * device node is /dev/nvidia<minor>, the minor from the driver's
 * /proc/driver/nvidia/gpus/<bdf>/information; when that cannot be read, any
 * /dev/nvidia<N> counts. */
static int nvidia_users(struct run *x, const char *bdf, struct cerr *err)
{
	char p[PATH_MAX], info[4096], node[32] = "", **pids = NULL;
	struct cerr ignore = CERR_INIT;
	const char *m;
	int r = 0;

	if (snprintf(p, sizeof(p), "/proc/driver/nvidia/gpus/%s/information", bdf) >=
	    (int)sizeof(p))
		return 0;
	if (sysfs_read(&x->s, p, info, sizeof(info), &ignore) == 0 &&
	    (m = strstr(info, "Device Minor:")))
		snprintf(node, sizeof(node), "/dev/nvidia%d", atoi(m + 13));
	if (sysfs_list(&x->s, "/proc", &pids, NULL, &ignore) < 0)
		return 0;
	for (char **pid = pids; r == 0 && *pid; pid++) {
		char **fds = NULL;

		if (strspn(*pid, "0123456789") != strlen(*pid))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/fd", *pid);
		if (sysfs_list(&x->s, p, &fds, NULL, &ignore) < 0)
			continue; /* gone, or not ours to look at */
		for (char **fd = fds; r == 0 && *fd; fd++) {
			char lp[PATH_MAX], target[PATH_MAX], comm[64] = "?";
			ssize_t len;

			if (sysfs_path(&x->s, lp, sizeof(lp), "/proc/%s/fd/%s", *pid, *fd) < 0 ||
			    (len = readlink(lp, target, sizeof(target) - 1)) < 0)
				continue;
			target[len] = '\0';
			if (node[0] ? strcmp(target, node)
			            : (strncmp(target, "/dev/nvidia", 11) ||
			               strspn(target + 11, "0123456789") != strlen(target + 11) ||
			               !target[11]))
				continue;
			snprintf(p, sizeof(p), "/proc/%s/comm", *pid);
			sysfs_read(&x->s, p, comm, sizeof(comm), &ignore);
			r = refuse(
			    x, err,
			    "%s is in use: process %s (%s) has %s open, and the nvidia driver "
			    "cannot let go of the GPU until it closes it: stop it first (e.g. "
			    "systemctl stop nvidia-persistenced nvidia-fabricmanager "
			    "nvidia-dcgm)",
			    bdf, *pid, comm, target);
		}
		sysfs_names_free(fds);
	}
	sysfs_names_free(pids);
	return r;
}

/* ---- VFIO nodes ----------------------------------------------------------- */

static bool wait_for(const char *p, int ms)
{
	for (int waited = 0;; waited += 50) {
		if (access(p, F_OK) == 0)
			return true;
		if (waited >= ms)
			return false;
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int node_access(struct run *x, const char *p, gid_t gid, struct cerr *err)
{
	struct stat st;

	if (stat(p, &st) < 0) {
		if (x->s.dry_run) {
			sysfs_trace(&x->s, "chgrp %s and chmod 0660 %s (once vfio-pci has made it)",
			            x->unix_group, p);
			return 0;
		}
		return cerr_set(err, errno, "VFIO node '%s'", p);
	}
	if (st.st_gid == gid && (st.st_mode & 07777) == 0660)
		return 0;
	sysfs_trace(&x->s, "chgrp %s and chmod 0660 %s", x->unix_group, p);
	if (x->s.dry_run)
		return 0;
	if (chown(p, (uid_t)-1, gid) < 0 || chmod(p, 0660) < 0)
		return cerr_set(err, errno, "set group %s and mode 0660 on '%s'", x->unix_group, p);
	return 0;
}

static int vfio_nodes(struct run *x, const struct state *st, const struct member *m, size_t n,
                      gid_t gid, struct cerr *err)
{
	char p[PATH_MAX];
	int r;

	if (full_path(x, p, "/dev/vfio/%s", st->group) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long");
	if (!x->s.dry_run && !wait_for(p, NODE_WAIT_MS))
		return cerr_setx(err, ENOENT,
		                 "vfio-pci holds IOMMU group %s but %s did not appear: is devtmpfs "
		                 "mounted on /dev and vfio loaded? (see dmesg)",
		                 st->group, p);
	r = node_access(x, p, gid, err);
	/* the per-device nodes of the iommufd interface (CONFIG_VFIO_DEVICE_CDEV) */
	for (size_t i = 0; r == 0 && i < n; i++) {
		char dir[PATH_MAX], **names = NULL;
		struct cerr ignore = CERR_INIT;

		if (!m[i].pass)
			continue;
		if (snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s/vfio-dev", m[i].d.bdf) >=
		        (int)sizeof(dir) ||
		    sysfs_list(&x->s, dir, &names, NULL, &ignore) < 0)
			continue;
		for (char **c = names; r == 0 && *c; c++)
			if (full_path(x, p, "/dev/vfio/devices/%s", *c) == 0 &&
			    access(p, F_OK) == 0)
				r = node_access(x, p, gid, err);
		sysfs_names_free(names);
	}
	return r;
}

static int udev_rule(struct run *x, const struct state *st, const struct member *m, size_t n,
                     struct cerr *err)
{
	char text[4096];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text),
	                     UDEV_MARK " VFIO nodes of IOMMU group %s (%s, %s) for group %s.\n"
	                               "# Removed by `setup-gpu-vfio --restore %s`.\n"
	                               "SUBSYSTEM==\"vfio\", KERNEL==\"%s\", GROUP=\"%s\", "
	                               "MODE=\"0660\"\n",
	                     st->group, st->bdf, st->product, st->unix_group, st->bdf, st->group,
	                     st->unix_group);
	for (size_t i = 0; i < n && o < sizeof(text); i++)
		if (m[i].pass)
			o += (size_t)snprintf(
			    text + o, sizeof(text) - o,
			    "SUBSYSTEM==\"vfio-dev\", KERNELS==\"%s\", GROUP=\"%s\", "
			    "MODE=\"0660\"\n",
			    m[i].d.bdf, st->unix_group);
	if (o >= sizeof(text))
		return cerr_setx(err, E2BIG, "udev rule for group %s too long", st->group);
	return put_file(x, st->udev_rule, UDEV_DIR, text, 0644, err);
}

static int remove_udev_rule(struct run *x, const struct state *st, struct cerr *err)
{
	char p[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	struct cerr ignore = CERR_INIT;

	if (full_path(x, p, "%s", st->udev_rule) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long");
	if (read_file(p, STATE_MAX, &text, NULL, &ignore) < 0)
		return 0;
	if (strncmp(text, UDEV_MARK, strlen(UDEV_MARK))) {
		log_warn("%s was not written by setup-gpu-vfio: left as it is", p);
		return 0;
	}
	return remove_file(x, st->udev_rule, err);
}

/* ---- set-up --------------------------------------------------------------- */

static bool state_has(const struct state *st, const char *bdf)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->dev[i].bdf, bdf))
			return true;
	return false;
}

static int cc_on(struct run *x, struct state *st, const struct cctool *t, struct cerr *err)
{
	char mode[16];
	int r;

	/* PPCIe (protected PCIe, for NVSwitch systems) and CC exclude each other */
	r = cctool_query(x, t, st->bdf, "ppcie", mode, sizeof(mode), err);
	if (r < 0)
		return r;
	if (mode[0] && !st->ppcie[0]) {
		snprintf(st->ppcie, sizeof(st->ppcie), "%s", mode);
		if ((r = state_save(x, st, err)) < 0)
			return r;
	}
	if (!strcmp(mode, "on") || x->s.dry_run) {
		r = cctool_set(x, t, st->bdf, "ppcie", "off", "if PPCIe mode is on", err);
		if (r < 0)
			return r;
	}
	r = cctool_query(x, t, st->bdf, "cc", mode, sizeof(mode), err);
	if (r < 0)
		return r;
	if (mode[0] && !st->cc[0]) {
		snprintf(st->cc, sizeof(st->cc), "%s", mode);
		if ((r = state_save(x, st, err)) < 0)
			return r;
	}
	if (strcmp(mode, "on") || x->s.dry_run)
		return cctool_set(x, t, st->bdf, "cc", "on", "if CC mode is not on", err);
	return 0;
}

int gpu_setup(struct run *x, const char *bdf, struct cerr *err)
{
	struct pci_dev gpu;
	struct member m[MAX_GROUP];
	struct state st;
	struct cctool t;
	bool have_state, need_vfio = false;
	gid_t gid = 0;
	size_t n;
	int r;

	/* everything that can refuse, before the first write */
	if ((r = read_gpu(x, bdf, &gpu, err)) < 0 || (r = need_gpu(x, &gpu, err)) < 0 ||
	    (r = read_group(x, &gpu, m, &n, NULL, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		need_vfio |= m[i].pass && strcmp(m[i].d.driver, "vfio-pci");
	if (need_vfio && !driver_loaded(x, "vfio-pci"))
		return refuse(
		    x, err,
		    "the vfio-pci driver is not loaded (no /sys/bus/pci/drivers/vfio-pci): "
		    "modprobe vfio-pci, and add vfio-pci to /etc/modules-load.d/ so it "
		    "loads at boot");
	for (size_t i = 0; i < n; i++)
		if (m[i].pass && !strcmp(m[i].d.driver, "nvidia") &&
		    (r = nvidia_users(x, m[i].d.bdf, err)) < 0)
			return r;
	if ((r = lookup_gid(x, x->unix_group, &gid, err)) < 0)
		return r;
	if (cctool_find(x, &t) < 0)
		return cctool_missing(x, &t, err);
	if ((r = state_load(x, gpu.bdf, &st, &have_state, err)) < 0)
		return r;
	if (have_state && strcmp(st.group, gpu.iommu_group))
		return refuse(
		    x, err,
		    "the state file of %s records IOMMU group %s, but the GPU is in group "
		    "%s now: run setup-gpu-vfio --restore %s first",
		    gpu.bdf, st.group, gpu.iommu_group, gpu.bdf);
	if (!have_state) {
		snprintf(st.bdf, sizeof(st.bdf), "%s", gpu.bdf);
		snprintf(st.group, sizeof(st.group), "%s", gpu.iommu_group);
		snprintf(st.udev_rule, sizeof(st.udev_rule), UDEV_DIR "/70-cocoon-vfio-%s.rules",
		         st.group);
	}
	snprintf(st.product, sizeof(st.product), "%s", product_of(&gpu));
	snprintf(st.unix_group, sizeof(st.unix_group), "%s", x->unix_group);
	for (size_t i = 0; i < n; i++) {
		if (!m[i].pass || state_has(&st, m[i].d.bdf))
			continue;
		struct orig *o = &st.dev[st.n++];

		_Static_assert(sizeof(o->bdf) == sizeof(m[i].d.bdf) &&
		                   sizeof(o->driver) == sizeof(m[i].d.driver) &&
		                   sizeof(o->override) == sizeof(m[i].d.override),
		               "struct orig mirrors struct pci_dev");
		memcpy(o->bdf, m[i].d.bdf, sizeof(o->bdf));
		memcpy(o->driver, m[i].d.driver, sizeof(o->driver));
		memcpy(o->override, m[i].d.override, sizeof(o->override));
	}

	/* the changes; each looks before it acts */
	if ((r = state_save(x, &st, err)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (m[i].pass && (r = bind_vfio(x, &m[i].d, err)) < 0)
			return r;
	if ((r = vfio_nodes(x, &st, m, n, gid, err)) < 0 || (r = udev_rule(x, &st, m, n, err)) < 0)
		return r;
	return cc_on(x, &st, &t, err);
}

/* ---- restore -------------------------------------------------------------- */

int gpu_restore(struct run *x, const char *bdf, struct cerr *err)
{
	struct state st;
	struct cctool t;
	struct pci_dev gpu, d;
	bool have_state, cc_back, ppcie_back;
	char mode[16], sys[PATH_MAX], when[64];
	int r;

	if ((r = read_gpu(x, bdf, &gpu, err)) < 0)
		return r;
	if ((r = state_load(x, gpu.bdf, &st, &have_state, err)) < 0)
		return r;
	if (!have_state) {
		state_sys_path(gpu.bdf, sys, sizeof(sys));
		if (!strcmp(gpu.driver, "vfio-pci"))
			return refuse(x, err,
			              "%s is bound to vfio-pci, but there is no state file %s%s to "
			              "restore from (not set up by setup-gpu-vfio, or the file was "
			              "removed): hand it back yourself: echo > "
			              "/sys/bus/pci/devices/%s/driver_override; echo %s > "
			              "/sys/bus/pci/drivers/vfio-pci/unbind; echo %s > "
			              "/sys/bus/pci/drivers/nvidia/bind",
			              gpu.bdf, x->s.root, sys, gpu.bdf, gpu.bdf, gpu.bdf);
		log_info("%s: nothing to restore (no state file %s%s; driver %s)", gpu.bdf,
		         x->s.root, sys, gpu.driver[0] ? gpu.driver : "none");
		return 1;
	}
	/* everything that can refuse, before the first write */
	for (size_t i = 0; i < st.n; i++) {
		r = pci_dev_read(&x->s, st.dev[i].bdf, &d, err);
		if (r == -ENODEV)
			return refuse(
			    x, err,
			    "%s (recorded in the state file) is gone: rescan the bus (echo 1 > "
			    "/sys/bus/pci/rescan) and try again",
			    st.dev[i].bdf);
		if (r < 0)
			return r;
		if (st.dev[i].driver[0] && strcmp(d.driver, st.dev[i].driver) &&
		    !driver_loaded(x, st.dev[i].driver))
			return refuse(
			    x, err,
			    "%s was bound to %s, which is not loaded now: modprobe %s, then "
			    "run setup-gpu-vfio --restore %s again",
			    st.dev[i].bdf, st.dev[i].driver, st.dev[i].driver, gpu.bdf);
	}
	cc_back = st.cc[0] && strcmp(st.cc, "on");
	ppcie_back = !strcmp(st.ppcie, "on");
	if ((cc_back || ppcie_back) && cctool_find(x, &t) < 0)
		return cctool_missing(x, &t, err);

	/* the changes */
	if ((cc_back || ppcie_back) && !strcmp(gpu.driver, "nvidia") &&
	    (r = write_attr(x, gpu.bdf, err, "/sys/bus/pci/drivers/nvidia/unbind")) < 0)
		return r; /* the tools refuse a GPU the nvidia driver holds */
	if (cc_back) {
		if ((r = cctool_query(x, &t, gpu.bdf, "cc", mode, sizeof(mode), err)) < 0)
			return r;
		snprintf(when, sizeof(when), "if CC mode is not %s", st.cc);
		if ((strcmp(mode, st.cc) || x->s.dry_run) &&
		    (r = cctool_set(x, &t, gpu.bdf, "cc", st.cc, when, err)) < 0)
			return r;
	}
	if (ppcie_back) {
		if ((r = cctool_query(x, &t, gpu.bdf, "ppcie", mode, sizeof(mode), err)) < 0)
			return r;
		if ((strcmp(mode, "on") || x->s.dry_run) &&
		    (r = cctool_set(x, &t, gpu.bdf, "ppcie", "on", "if PPCIe mode is not on",
		                    err)) < 0)
			return r;
	}
	for (size_t i = 0; i < st.n; i++)
		if ((r = restore_driver(x, &st.dev[i], err)) < 0)
			return r;
	if ((r = remove_udev_rule(x, &st, err)) < 0)
		return r;
	state_sys_path(gpu.bdf, sys, sizeof(sys));
	return remove_file(x, sys, err);
}
