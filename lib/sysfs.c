/* sysfs.c - sysfs access under a root, dry runs, and the test emulation of
 * the kernel's bind/unbind; see cocoon/sysfs.h. */
#include "cocoon/sysfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/util.h"

int sysfs_init(struct sysfs *s, const char *root, struct cerr *err)
{
	const char *env = getenv("COCOON_SYSFS_EMULATE");
	struct stat st;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!root || !root[0] || !strcmp(root, "/"))
		return 0;
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n >= sizeof(s->root))
		return cerr_setx(err, ENAMETOOLONG, "--root '%s': path too long", root);
	if (stat(root, &st) < 0)
		return cerr_set(err, errno, "--root '%s'", root);
	if (!S_ISDIR(st.st_mode))
		return cerr_setx(err, ENOTDIR, "--root '%s' is not a directory", root);
	memcpy(s->root, root, n);
	s->root[n] = '\0';
	s->emulate = env && !strcmp(env, "1");
	return 0;
}

bool sysfs_has_root(const struct sysfs *s)
{
	return s->root[0] != '\0';
}

static int vpath(const struct sysfs *s, char *out, size_t n, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static int vpath(const struct sysfs *s, char *out, size_t n, const char *fmt, va_list ap)
{
	size_t rl = strlen(s->root);
	int w;

	if (rl >= n)
		return -ENAMETOOLONG;
	memcpy(out, s->root, rl);
	w = vsnprintf(out + rl, n - rl, fmt, ap);
	if (w < 0 || (size_t)w >= n - rl)
		return -ENAMETOOLONG;
	return 0;
}

int sysfs_path(const struct sysfs *s, char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vpath(s, out, n, fmt, ap);
	va_end(ap);
	return r;
}

/* root + path, or an error naming path */
static int full(const struct sysfs *s, const char *path, char out[PATH_MAX], struct cerr *err)
{
	if (sysfs_path(s, out, PATH_MAX, "%s", path) < 0)
		return cerr_setx(err, ENAMETOOLONG, "path too long: '%s%s'", s->root, path);
	return 0;
}

int sysfs_read(const struct sysfs *s, const char *path, char *out, size_t n, struct cerr *err)
{
	char p[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t have = 0;
	int r = full(s, path, p, err);

	if (r < 0)
		return r;
	if (n == 0)
		return cerr_setx(err, EINVAL, "reading '%s': no room", p);
	fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cerr_set(err, errno, "open '%s'", p);
	for (;;) {
		ssize_t got = read(fd, out + have, n - 1 - have);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return cerr_set(err, errno, "read '%s'", p);
		if (got == 0)
			break;
		have += (size_t)got;
		if (have == n - 1) {
			char extra;

			if (read(fd, &extra, 1) > 0)
				return cerr_setx(err, EFBIG, "'%s' holds more than %zu bytes", p,
				                 n - 1);
			break;
		}
	}
	while (have > 0 && (out[have - 1] == '\n' || out[have - 1] == ' ' ||
	                    out[have - 1] == '\t' || out[have - 1] == '\0'))
		have--;
	out[have] = '\0';
	if (memchr(out, '\0', have))
		return cerr_setx(err, EINVAL, "'%s' holds a NUL byte", p);
	return 0;
}

int sysfs_read_u32(const struct sysfs *s, const char *path, uint32_t *v, struct cerr *err)
{
	char buf[64], *end;
	unsigned long x;
	int r = sysfs_read(s, path, buf, sizeof(buf), err);

	if (r < 0)
		return r;
	errno = 0;
	x = strtoul(buf, &end, 0);
	if (!buf[0] || *end || errno || x > UINT32_MAX || buf[0] == '-')
		return cerr_setx(err, EINVAL, "'%s%s' holds '%s', not a number", s->root, path,
		                 buf);
	*v = (uint32_t)x;
	return 0;
}

int sysfs_link_name(const struct sysfs *s, const char *path, char *out, size_t n, struct cerr *err)
{
	char p[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t len;
	int r = full(s, path, p, err);

	if (r < 0)
		return r;
	len = readlink(p, target, sizeof(target) - 1);
	if (len < 0)
		return cerr_set(err, errno, "readlink '%s'", p);
	target[len] = '\0';
	while (len > 1 && target[len - 1] == '/')
		target[--len] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	if (!base[0] || strlen(base) >= n)
		return cerr_setx(err, EINVAL, "'%s' points at '%s', not a usable name", p, target);
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

bool sysfs_exists(const struct sysfs *s, const char *path)
{
	char p[PATH_MAX];
	struct stat st;

	if (sysfs_path(s, p, sizeof(p), "%s", path) < 0)
		return false;
	return lstat(p, &st) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sysfs_names_free(char **names)
{
	if (!names)
		return;
	for (char **p = names; *p; p++)
		free(*p);
	free(names);
}

int sysfs_list(const struct sysfs *s, const char *dir, char ***names, size_t *n, struct cerr *err)
{
	char p[PATH_MAX];
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = full(s, dir, p, err);

	if (r < 0)
		return r;
	d = opendir(p);
	if (!d)
		return cerr_set(err, errno, "open directory '%s'", p);
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (cnt + 2 > cap) {
			size_t nc = cap ? cap * 2 : 16;
			char **nv = realloc(v, nc * sizeof(*nv));

			if (!nv)
				goto oom;
			v = nv;
			cap = nc;
		}
		v[cnt] = strdup(de->d_name);
		if (!v[cnt])
			goto oom;
		v[++cnt] = NULL;
	}
	if (errno) {
		r = cerr_set(err, errno, "read directory '%s'", p);
		closedir(d);
		sysfs_names_free(v);
		return r;
	}
	closedir(d);
	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return cerr_set(err, ENOMEM, "listing '%s'", p);
	}
	qsort(v, cnt, sizeof(*v), cmp_names);
	*names = v;
	if (n)
		*n = cnt;
	return 0;
oom:
	closedir(d);
	if (v)
		v[cnt] = NULL;
	sysfs_names_free(v);
	return cerr_set(err, ENOMEM, "listing '%s'", p);
}

void sysfs_trace(const struct sysfs *s, const char *fmt, ...)
{
	char line[2 * PATH_MAX];
	va_list ap;

	if (!s->trace)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->trace(s->trace_ctx, line);
}

/* The value as shown in traces and messages: one line, newline spelled out. */
static void shown(const char *value, char *out, size_t n)
{
	size_t o = 0;

	for (const char *c = value; *c && o + 3 < n; c++) {
		if (*c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = (*c >= 0x20 && *c < 0x7f) ? *c : '?';
		}
	}
	out[o] = '\0';
}

static const char *write_hint(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return "; run as root";
	case ENOENT:
		return "; the attribute does not exist (is the driver or module loaded?)";
	case ENODEV:
		return "; the kernel refused: the driver does not match the device (see dmesg)";
	case EBUSY:
		return "; the device is busy (bound to another driver or in use, see dmesg)";
	default:
		return "; see dmesg";
	}
}

static int emulate_write(struct sysfs *s, const char *path, const char *value, struct cerr *err);

static int plain_write(const char *p, const char *value, struct cerr *err)
{
	char sv[256];
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		r = -errno;
	else
		r = write_all(fd, value, strlen(value));
	if (r == 0 && close(TAKE_FD(fd)) < 0)
		r = -errno;
	if (r < 0) {
		shown(value, sv, sizeof(sv));
		return cerr_setx(err, -r, "write '%s' to '%s': %s%s", sv, p, strerror(-r),
		                 write_hint(-r));
	}
	return 0;
}

int sysfs_write(struct sysfs *s, const char *path, const char *value, struct cerr *err)
{
	char p[PATH_MAX], sv[256];
	int r = full(s, path, p, err);

	if (r < 0)
		return r;
	shown(value, sv, sizeof(sv));
	sysfs_trace(s, "write '%s' to %s", sv, p);
	if (s->dry_run)
		return 0;
	if (s->emulate && sysfs_has_root(s))
		return emulate_write(s, path, value, err);
	return plain_write(p, value, err);
}

/* ---- test emulation of the kernel (never without a root) ----------------
 *
 * Just enough of drivers/base/bus.c and drivers/pci/pci-driver.c for the host
 * tools' tests: bind, unbind, drivers_probe with driver_override, and the
 * /dev/vfio/<group> node that vfio-pci creates. Device ids are not matched
 * (a generated tree has no driver id tables): drivers_probe binds only to
 * driver_override, and bind to any driver that the override allows. */

/* target relative to the directory from, both absolute and canonical */
static int relpath(const char *from, const char *to, char *out, size_t n)
{
	size_t common = 0, o = 0;

	for (size_t i = 0;; i++) {
		if ((from[i] == '/' || !from[i]) && (to[i] == '/' || !to[i]))
			common = i;
		if (!from[i] || !to[i] || from[i] != to[i])
			break;
	}
	for (const char *c = from + common; *c; c++) {
		if (*c == '/') {
			if (o + 3 >= n)
				return -ENAMETOOLONG;
			memcpy(out + o, "../", 3);
			o += 3;
		}
	}
	const char *rest = to + common + (to[common] == '/' ? 1 : 0);
	if (o + strlen(rest) + 1 > n)
		return -ENAMETOOLONG;
	memcpy(out + o, rest, strlen(rest) + 1);
	o += strlen(rest);
	if (o > 0 && out[o - 1] == '/')
		out[--o] = '\0';
	if (o == 0)
		memcpy(out, ".", 2);
	return 0;
}

static int emu_link(const char *dir, const char *name, const char *to, struct cerr *err)
{
	char link[PATH_MAX], rel[PATH_MAX];

	if (relpath(dir, to, rel, sizeof(rel)) < 0 ||
	    snprintf(link, sizeof(link), "%s/%s", dir, name) >= (int)sizeof(link))
		return cerr_setx(err, ENAMETOOLONG, "emulation: path too long under '%s'", dir);
	if (symlink(rel, link) < 0)
		return cerr_set(err, errno, "emulation: symlink '%s' -> '%s'", link, rel);
	return 0;
}

struct emu_dev {
	char dev[PATH_MAX]; /* canonical device directory */
	char drv[PATH_MAX]; /* canonical driver directory, "" when unbound */
	char name[64];      /* bound driver, "" when unbound */
	char group[32];     /* IOMMU group, "" when none */
	char override[64];  /* driver_override, "" when none */
};

static int emu_dev_read(struct sysfs *s, const char *bdf, struct emu_dev *d, struct cerr *err)
{
	char p[PATH_MAX];
	struct cerr ignore = CERR_INIT;

	memset(d, 0, sizeof(*d));
	if (strchr(bdf, '/') || !bdf[0] || bdf[0] == '.')
		return cerr_setx(err, ENODEV, "emulation: '%s' is not a device name", bdf);
	if (sysfs_path(s, p, sizeof(p), "/sys/bus/pci/devices/%s", bdf) < 0 || !realpath(p, d->dev))
		return cerr_setx(err, ENODEV, "write '%s': %s (no such device)", bdf,
		                 strerror(ENODEV));
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	if (sysfs_link_name(s, p, d->group, sizeof(d->group), &ignore) < 0)
		d->group[0] = '\0';
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", bdf);
	if (sysfs_link_name(s, p, d->name, sizeof(d->name), &ignore) < 0)
		d->name[0] = '\0';
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (sysfs_read(s, p, d->override, sizeof(d->override), &ignore) < 0 ||
	    !strcmp(d->override, "(null)"))
		d->override[0] = '\0';
	return 0;
}

/* the group's /dev/vfio node appears with its first vfio-pci device and goes
 * with its last */
static int emu_vfio_node(struct sysfs *s, const char *group, bool bound, struct cerr *err)
{
	char dir[PATH_MAX], node[PATH_MAX], p[PATH_MAX];
	_cleanup_close_ int fd = -1;
	char **members = NULL;
	struct cerr ignore = CERR_INIT;
	bool any = false;

	if (!group[0])
		return 0;
	if (sysfs_path(s, dir, sizeof(dir), "/dev/vfio") < 0 ||
	    sysfs_path(s, node, sizeof(node), "/dev/vfio/%s", group) < 0)
		return cerr_setx(err, ENAMETOOLONG, "emulation: path too long");
	if (bound) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return cerr_set(err, errno, "emulation: mkdir '%s'", dir);
		fd = open(node, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return cerr_set(err, errno, "emulation: create '%s'", node);
		return 0;
	}
	snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", group);
	if (sysfs_list(s, p, &members, NULL, &ignore) == 0) {
		for (char **m = members; *m && !any; m++) {
			char drv[64];

			snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", *m);
			any = sysfs_link_name(s, p, drv, sizeof(drv), &ignore) == 0 &&
			      !strcmp(drv, "vfio-pci");
		}
		sysfs_names_free(members);
	}
	if (!any && unlink(node) < 0 && errno != ENOENT)
		return cerr_set(err, errno, "emulation: remove '%s'", node);
	return 0;
}

static int emu_bind(struct sysfs *s, const char *drvname, const char *bdf, struct cerr *err)
{
	char p[PATH_MAX], drvdir[PATH_MAX];
	struct emu_dev d;
	int r = emu_dev_read(s, bdf, &d, err);

	if (r < 0)
		return r;
	if (sysfs_path(s, p, sizeof(p), "/sys/bus/pci/drivers/%s", drvname) < 0 ||
	    !realpath(p, drvdir))
		return cerr_setx(err, ENOENT, "no driver '%s' (%s)", drvname, p);
	if (d.name[0])
		return cerr_setx(err, EBUSY, "bind %s to %s: %s (bound to %s)", bdf, drvname,
		                 strerror(EBUSY), d.name);
	if (d.override[0] && strcmp(d.override, drvname))
		return cerr_setx(err, ENODEV, "bind %s to %s: %s (driver_override is %s)", bdf,
		                 drvname, strerror(ENODEV), d.override);
	r = emu_link(d.dev, "driver", drvdir, err);
	if (r == 0)
		r = emu_link(drvdir, bdf, d.dev, err);
	if (r == 0 && !strcmp(drvname, "vfio-pci"))
		r = emu_vfio_node(s, d.group, true, err);
	return r;
}

static int emu_unbind(struct sysfs *s, const char *drvname, const char *bdf, struct cerr *err)
{
	char p[PATH_MAX];
	struct emu_dev d;
	int r = emu_dev_read(s, bdf, &d, err);

	if (r < 0)
		return r;
	if (strcmp(d.name, drvname))
		return cerr_setx(err, ENODEV, "unbind %s from %s: %s (bound to %s)", bdf, drvname,
		                 strerror(ENODEV), d.name[0] ? d.name : "no driver");
	if (snprintf(p, sizeof(p), "%s/driver", d.dev) >= (int)sizeof(p))
		return cerr_setx(err, ENAMETOOLONG, "emulation: path too long: '%s'", d.dev);
	if (unlink(p) < 0)
		return cerr_set(err, errno, "emulation: remove '%s'", p);
	if (sysfs_path(s, p, sizeof(p), "/sys/bus/pci/drivers/%s/%s", drvname, bdf) == 0 &&
	    unlink(p) < 0 && errno != ENOENT)
		return cerr_set(err, errno, "emulation: remove '%s'", p);
	if (!strcmp(drvname, "vfio-pci"))
		return emu_vfio_node(s, d.group, false, err);
	return 0;
}

static int emu_probe(struct sysfs *s, const char *bdf, struct cerr *err)
{
	char p[PATH_MAX];
	struct emu_dev d;
	int r = emu_dev_read(s, bdf, &d, err);

	if (r < 0 || d.name[0] || !d.override[0])
		return r;
	if (sysfs_path(s, p, sizeof(p), "/sys/bus/pci/drivers/%s", d.override) < 0 ||
	    access(p, F_OK) < 0)
		return 0; /* no such driver: the kernel leaves the device unbound */
	return emu_bind(s, d.override, bdf, err);
}

static int emulate_write(struct sysfs *s, const char *path, const char *value, struct cerr *err)
{
	static const char drivers[] = "/sys/bus/pci/drivers/";
	static const char devices[] = "/sys/bus/pci/devices/";
	char p[PATH_MAX], arg[128], drv[128];
	const char *rest;
	size_t n = strcspn(value, "\n");
	int r = full(s, path, p, err);

	if (r < 0)
		return r;
	if (n >= sizeof(arg))
		return cerr_setx(err, EINVAL, "emulation: value too long for '%s'", p);
	memcpy(arg, value, n);
	arg[n] = '\0';
	if (!strcmp(path, "/sys/bus/pci/drivers_probe"))
		return emu_probe(s, arg, err);
	if (!strncmp(path, drivers, sizeof(drivers) - 1)) {
		rest = path + sizeof(drivers) - 1;
		n = strcspn(rest, "/");
		if (n == 0 || n >= sizeof(drv))
			return plain_write(p, value, err);
		memcpy(drv, rest, n);
		drv[n] = '\0';
		if (!strcmp(rest + n, "/bind"))
			return emu_bind(s, drv, arg, err);
		if (!strcmp(rest + n, "/unbind"))
			return emu_unbind(s, drv, arg, err);
	}
	if (!strncmp(path, devices, sizeof(devices) - 1)) {
		rest = strrchr(path, '/');
		if (rest && !strcmp(rest, "/driver_override")) {
			char stored[sizeof(arg) + 1];

			snprintf(stored, sizeof(stored), "%s\n", arg[0] ? arg : "(null)");
			return plain_write(p, stored, err);
		}
	}
	return plain_write(p, value, err);
}
