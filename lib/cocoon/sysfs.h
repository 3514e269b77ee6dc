/* sysfs.h - reading and writing the kernel's sysfs (and the rest of a host's
 * /proc, /dev, /etc, /var/lib) under a root that may be a generated tree.
 *
 * Host tools take `--root DIR` so that they can run against a fake tree in
 * tests; every path below is a system path ("/sys/bus/pci/devices/...") that
 * struct sysfs puts under its root. With no root the paths are used as they
 * are. Reads trim the trailing newline the kernel adds.
 *
 * Writes go through sysfs_write() only. It reports each write to the trace
 * callback first ("write 'vfio-pci' to /sys/.../driver_override"), then:
 *  - with dry_run set, does nothing else;
 *  - otherwise writes the value the way `echo` would.
 *
 * Test emulation: a generated tree has no kernel behind it, so writing a PCI
 * device's address to `drivers/X/unbind`, `drivers/X/bind` or `drivers_probe`
 * would change nothing. When a root is given AND the environment has
 * COCOON_SYSFS_EMULATE=1, sysfs_write() applies what the kernel would do to
 * the tree instead: unbind removes the device's `driver` link (and the
 * driver's link to the device), bind and drivers_probe (which binds to the
 * device's driver_override, when that driver exists) create them, relative as
 * the kernel's are; binding to vfio-pci makes /dev/vfio/<group> and unbinding
 * the group's last vfio-pci device removes it; driver_override reads back
 * "(null)" once cleared. The emulation is never active without a root.
 */
#ifndef COCOON_SYSFS_H
#define COCOON_SYSFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

typedef void (*sysfs_trace_fn)(void *ctx, const char *action);

struct sysfs {
	char root[PATH_MAX]; /* "" for the real "/"; never ends in '/' */
	bool dry_run;        /* report writes, make none */
	bool emulate;        /* kernel emulation for generated trees (see above) */
	sysfs_trace_fn trace;
	void *trace_ctx;
};

/* Sets up s for root (NULL, "" or "/" for the real system). A root must be an
 * existing directory. emulate is taken from COCOON_SYSFS_EMULATE when root is
 * set and is false otherwise. */
int sysfs_init(struct sysfs *s, const char *root, struct cerr *err);

/* True when s works on a generated tree, not the running system. */
bool sysfs_has_root(const struct sysfs *s);

/* out = root + the formatted system path. -ENAMETOOLONG if it does not fit. */
int sysfs_path(const struct sysfs *s, char *out, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads a small attribute file (at most n - 1 bytes) and strips trailing
 * whitespace. -ENOENT (with err set) when it does not exist. */
int sysfs_read(const struct sysfs *s, const char *path, char *out, size_t n, struct cerr *err);

/* An attribute that holds a number in hex ("0x10de") or decimal. */
int sysfs_read_u32(const struct sysfs *s, const char *path, uint32_t *v, struct cerr *err);

/* The last component of a symbolic link's target (a device's "driver" or
 * "iommu_group" link). -ENOENT when there is no link. */
int sysfs_link_name(const struct sysfs *s, const char *path, char *out, size_t n, struct cerr *err);

/* Whether path exists as an entry (a dangling symbolic link counts). */
bool sysfs_exists(const struct sysfs *s, const char *path);

/* The names in a directory, sorted, without "." and ".."; *names is a
 * NULL-terminated malloc'ed array (free with sysfs_names_free). A missing
 * directory gives -ENOENT. */
int sysfs_list(const struct sysfs *s, const char *dir, char ***names, size_t *n, struct cerr *err);
void sysfs_names_free(char **names);

/* Writes value to an existing attribute file (see the header comment). */
int sysfs_write(struct sysfs *s, const char *path, const char *value, struct cerr *err);

/* Reports an action to the trace callback; for the callers' own changes
 * (files, ownership, commands) so that dry runs list them in order. */
void sysfs_trace(const struct sysfs *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
