/* test_sysfs.c - sysfs reads and writes under a root, dry runs and traces,
 * and the test emulation of bind / unbind / drivers_probe, on a fake tree
 * made here (a GPU and its audio function in IOMMU group 12). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/sysfs.h"

static char root[64];

#define GPU "0000:3a:00.0"
#define AUDIO "0000:3a:00.1"

/* ---- tree helpers ----------------------------------------------------- */

static void rpath(char *out, const char *rel)
{
	assert_true(snprintf(out, PATH_MAX, "%s/%s", root, rel) < PATH_MAX);
}

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	rpath(p, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *get(const char *rel, char *buf, size_t n)
{
	char p[PATH_MAX];
	FILE *f;
	size_t got;

	rpath(p, rel);
	f = fopen(p, "r");
	assert_non_null(f);
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	return buf;
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	rpath(p, rel);
	for (char *c = p + strlen(root) + 1; *c; c++) {
		if (*c == '/') {
			*c = '\0';
			assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
			*c = '/';
		}
	}
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void link_at(const char *rel, const char *target)
{
	char p[PATH_MAX];

	rpath(p, rel);
	assert_int_equal(symlink(target, p), 0);
}

static const char *link_of(const char *rel, char *buf)
{
	char p[PATH_MAX];
	ssize_t n;

	rpath(p, rel);
	n = readlink(p, buf, PATH_MAX - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static bool exists(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	rpath(p, rel);
	return lstat(p, &st) == 0;
}

static void device(const char *bdf, const char *cls, const char *driver)
{
	char rel[256], target[256];

	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s", bdf);
	mkdirs(rel);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/vendor", bdf);
	put(rel, "0x10de\n");
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/class", bdf);
	put(rel, cls);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver_override", bdf);
	put(rel, "(null)\n");
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s", bdf);
	link_at(rel, target);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/iommu_group", bdf);
	link_at(rel, "../../../kernel/iommu_groups/12");
	snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/12/devices/%s", bdf);
	snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", bdf);
	link_at(rel, target);
	snprintf(rel, sizeof(rel), "sys/devices/pci0000:00/%s/driver", bdf);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
	link_at(rel, target);
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", driver, bdf);
	snprintf(target, sizeof(target), "../../../../devices/pci0000:00/%s", bdf);
	link_at(rel, target);
}

static void make_tree(void)
{
	mkdirs("sys/bus/pci/devices");
	mkdirs("sys/kernel/iommu_groups/12/devices");
	mkdirs("dev/vfio");
	static const char *const drivers[] = {"nvidia", "snd_hda_intel", "vfio-pci"};
	for (size_t i = 0; i < 3; i++) {
		char rel[128];

		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", drivers[i]);
		mkdirs(rel);
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/bind", drivers[i]);
		put(rel, "");
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", drivers[i]);
		put(rel, "");
	}
	put("sys/bus/pci/drivers_probe", "");
	device(GPU, "0x030200\n", "nvidia");
	device(AUDIO, "0x040300\n", "snd_hda_intel");
	put("sys/module_param", "0x10de\n");
}

struct trace_log {
	char lines[16][512];
	int n;
};

static void on_trace(void *ctx, const char *action)
{
	struct trace_log *t = ctx;

	if (t->n < 16)
		snprintf(t->lines[t->n++], sizeof(t->lines[0]), "%s", action);
}

/* ---- reading ---------------------------------------------------------- */

static void test_init(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	char p[PATH_MAX], with_slash[80];

	setenv("COCOON_SYSFS_EMULATE", "1", 1);
	assert_int_equal(sysfs_init(&s, NULL, &err), 0);
	assert_false(sysfs_has_root(&s));
	assert_false(s.emulate); /* never without a root */
	assert_int_equal(sysfs_init(&s, "/", &err), 0);
	assert_false(sysfs_has_root(&s));
	assert_false(s.emulate);
	snprintf(with_slash, sizeof(with_slash), "%s//", root);
	assert_int_equal(sysfs_init(&s, with_slash, &err), 0);
	assert_true(s.emulate);
	assert_string_equal(s.root, root);
	assert_int_equal(sysfs_path(&s, p, sizeof(p), "/sys/bus/pci/devices/%s", GPU), 0);
	assert_true(strncmp(p, root, strlen(root)) == 0);
	assert_string_equal(p + strlen(root), "/sys/bus/pci/devices/" GPU);
	assert_int_equal(sysfs_path(&s, p, 8, "/sys/bus"), -ENAMETOOLONG);
	unsetenv("COCOON_SYSFS_EMULATE");
	assert_int_equal(sysfs_init(&s, root, &err), 0);
	assert_false(s.emulate);

	assert_int_equal(sysfs_init(&s, "/nonexistent-root-dir", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent-root-dir"));
	rpath(p, "sys/bus/pci/drivers_probe");
	assert_int_equal(sysfs_init(&s, p, &err), -ENOTDIR);
}

static void test_read(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	char v[64], small[4];
	uint32_t u;

	assert_int_equal(sysfs_init(&s, root, &err), 0);
	assert_int_equal(sysfs_read(&s, "/sys/bus/pci/devices/" GPU "/class", v, sizeof(v), &err),
	                 0);
	assert_string_equal(v, "0x030200");
	assert_int_equal(sysfs_read_u32(&s, "/sys/bus/pci/devices/" GPU "/class", &u, &err), 0);
	assert_int_equal(u, 0x030200);
	assert_int_equal(
	    sysfs_read(&s, "/sys/bus/pci/devices/" GPU "/class", small, sizeof(small), &err),
	    -EFBIG);
	assert_int_equal(sysfs_read(&s, "/sys/nothing", v, sizeof(v), &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/sys/nothing"));
	put("sys/bad_number", "0x10zz\n");
	assert_int_equal(sysfs_read_u32(&s, "/sys/bad_number", &u, &err), -EINVAL);
	put("sys/bad_number", "-1\n");
	assert_int_equal(sysfs_read_u32(&s, "/sys/bad_number", &u, &err), -EINVAL);
	put("sys/bad_number", "42\n");
	assert_int_equal(sysfs_read_u32(&s, "/sys/bad_number", &u, &err), 0);
	assert_int_equal(u, 42);
}

static void test_links_and_lists(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	char v[64], **names;
	size_t n;

	assert_int_equal(sysfs_init(&s, root, &err), 0);
	assert_int_equal(
	    sysfs_link_name(&s, "/sys/bus/pci/devices/" GPU "/driver", v, sizeof(v), &err), 0);
	assert_string_equal(v, "nvidia");
	assert_int_equal(
	    sysfs_link_name(&s, "/sys/bus/pci/devices/" GPU "/iommu_group", v, sizeof(v), &err), 0);
	assert_string_equal(v, "12");
	assert_int_equal(
	    sysfs_link_name(&s, "/sys/bus/pci/devices/" GPU "/class", v, sizeof(v), &err),
	    -EINVAL); /* not a link */
	assert_true(sysfs_exists(&s, "/sys/bus/pci/devices/" GPU));
	assert_false(sysfs_exists(&s, "/sys/bus/pci/devices/0000:3b:00.0"));
	assert_int_equal(sysfs_list(&s, "/sys/kernel/iommu_groups/12/devices", &names, &n, &err),
	                 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], GPU); /* sorted */
	assert_string_equal(names[1], AUDIO);
	sysfs_names_free(names);
	assert_int_equal(sysfs_list(&s, "/sys/kernel/iommu_groups/13", &names, &n, &err), -ENOENT);
}

/* ---- writing ---------------------------------------------------------- */

static void test_write_dry_run_and_trace(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	struct trace_log t = {0};
	char buf[64];

	assert_int_equal(sysfs_init(&s, root, &err), 0);
	s.trace = on_trace;
	s.trace_ctx = &t;
	s.dry_run = true;
	assert_int_equal(
	    sysfs_write(&s, "/sys/bus/pci/devices/" GPU "/driver_override", "vfio-pci", &err), 0);
	assert_string_equal(get("sys/devices/pci0000:00/" GPU "/driver_override", buf, sizeof(buf)),
	                    "(null)\n");
	assert_int_equal(t.n, 1);
	assert_non_null(strstr(t.lines[0], "write 'vfio-pci' to "));
	assert_non_null(strstr(t.lines[0], "/sys/bus/pci/devices/" GPU "/driver_override"));
	/* a dry run of a write to a missing file is still only a report */
	assert_int_equal(sysfs_write(&s, "/sys/nothing", "\n", &err), 0);
	assert_non_null(strstr(t.lines[1], "write '\\n' to "));

	s.dry_run = false;
	assert_int_equal(sysfs_write(&s, "/sys/module_param", "65535", &err), 0);
	assert_string_equal(get("sys/module_param", buf, sizeof(buf)), "65535");
	assert_int_equal(sysfs_write(&s, "/sys/nothing", "1", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/sys/nothing"));
	assert_false(exists("sys/nothing")); /* attributes are never created */
}

static void test_write_without_emulation(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	char buf[64];

	unsetenv("COCOON_SYSFS_EMULATE");
	assert_int_equal(sysfs_init(&s, root, &err), 0);
	/* a plain tree: the write lands in the file, nothing is unbound */
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/nvidia/unbind", GPU, &err), 0);
	assert_string_equal(get("sys/bus/pci/drivers/nvidia/unbind", buf, sizeof(buf)), GPU);
	assert_true(exists("sys/devices/pci0000:00/" GPU "/driver"));
	put("sys/bus/pci/drivers/nvidia/unbind", "");
}

static void test_emulated_bind_cycle(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	char buf[PATH_MAX];

	setenv("COCOON_SYSFS_EMULATE", "1", 1);
	assert_int_equal(sysfs_init(&s, root, &err), 0);
	unsetenv("COCOON_SYSFS_EMULATE");
	assert_true(s.emulate);

	/* set-up: override, unbind, probe */
	assert_int_equal(
	    sysfs_write(&s, "/sys/bus/pci/devices/" GPU "/driver_override", "vfio-pci", &err), 0);
	assert_string_equal(get("sys/devices/pci0000:00/" GPU "/driver_override", buf, 64),
	                    "vfio-pci\n");
	/* unbinding from a driver the device is not bound to fails as in the kernel */
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/vfio-pci/unbind", GPU, &err),
	                 -ENODEV);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/nvidia/unbind", GPU, &err), 0);
	assert_false(exists("sys/devices/pci0000:00/" GPU "/driver"));
	assert_false(exists("sys/bus/pci/drivers/nvidia/" GPU));
	assert_string_equal(get("sys/bus/pci/drivers/nvidia/unbind", buf, 64), ""); /* no bytes */
	assert_false(exists("dev/vfio/12"));
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers_probe", GPU "\n", &err), 0);
	assert_string_equal(link_of("sys/devices/pci0000:00/" GPU "/driver", buf),
	                    "../../../bus/pci/drivers/vfio-pci");
	assert_string_equal(link_of("sys/bus/pci/drivers/vfio-pci/" GPU, buf),
	                    "../../../../devices/pci0000:00/" GPU);
	assert_true(exists("dev/vfio/12"));
	/* probing a bound device changes nothing; binding it again is busy */
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers_probe", GPU, &err), 0);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/nvidia/bind", GPU, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "vfio-pci"));

	/* the audio function with no override: probe leaves it unbound (no id tables) */
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/snd_hda_intel/unbind", AUDIO, &err),
	                 0);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers_probe", AUDIO, &err), 0);
	assert_false(exists("sys/devices/pci0000:00/" AUDIO "/driver"));
	/* bind is refused when driver_override names another driver */
	assert_int_equal(
	    sysfs_write(&s, "/sys/bus/pci/devices/" AUDIO "/driver_override", "vfio-pci", &err), 0);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/snd_hda_intel/bind", AUDIO, &err),
	                 -ENODEV);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/vfio-pci/bind", AUDIO, &err), 0);

	/* restore: the group's node goes with its last vfio-pci device */
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/vfio-pci/unbind", GPU, &err), 0);
	assert_true(exists("dev/vfio/12"));
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/vfio-pci/unbind", AUDIO, &err), 0);
	assert_false(exists("dev/vfio/12"));
	assert_int_equal(
	    sysfs_write(&s, "/sys/bus/pci/devices/" GPU "/driver_override", "\n", &err), 0);
	assert_string_equal(get("sys/devices/pci0000:00/" GPU "/driver_override", buf, 64),
	                    "(null)\n");
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/nvidia/bind", GPU, &err), 0);
	assert_string_equal(link_of("sys/devices/pci0000:00/" GPU "/driver", buf),
	                    "../../../bus/pci/drivers/nvidia");
	assert_string_equal(link_of("sys/bus/pci/drivers/nvidia/" GPU, buf),
	                    "../../../../devices/pci0000:00/" GPU);

	/* a driver or device that does not exist */
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers/nouveau/bind", AUDIO, &err),
	                 -ENOENT);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers_probe", "0000:3b:00.0", &err),
	                 -ENODEV);
	assert_int_equal(sysfs_write(&s, "/sys/bus/pci/drivers_probe", "../../../etc", &err),
	                 -ENODEV);
}

/* ---- fixture ---------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/cocoon-sysfs-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	make_tree();
	return 0;
}

static int teardown(void **state)
{
	return nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_read),
	    cmocka_unit_test(test_links_and_lists),
	    cmocka_unit_test(test_write_dry_run_and_trace),
	    cmocka_unit_test(test_write_without_emulation),
	    cmocka_unit_test(test_emulated_bind_cycle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
