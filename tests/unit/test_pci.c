/* test_pci.c - PCI address forms (each accepted spelling and each near miss),
 * NVIDIA product names and device kinds, and reading a device from a fake
 * sysfs tree made by the test. */
#include <errno.h>
#include <ftw.h>
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

#include "cocoon/pci.h"
#include "cocoon/sysfs.h"

static char root[64];

/* ---- addresses -------------------------------------------------------- */

static void accepts(const char *in, const char *want)
{
	char out[PCI_BDF_LEN];
	struct cerr err = CERR_INIT;

	assert_int_equal(pci_bdf_parse(in, out, &err), 0);
	assert_string_equal(out, want);
}

static void rejects(const char *in)
{
	char out[PCI_BDF_LEN];
	struct cerr err = CERR_INIT;

	assert_int_equal(pci_bdf_parse(in, out, &err), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	assert_non_null(strstr(err.msg, "0000:3a:00.0"));
}

static void test_bdf_forms(void **state)
{
	accepts("0000:3a:00.0", "0000:3a:00.0");
	accepts("3a:00.0", "0000:3a:00.0");
	accepts("3a:00.00", "0000:3a:00.0");       /* Cocoon's two-digit function */
	accepts("0000:3a:00.07", "0000:3a:00.7");  /* the same with a domain */
	accepts("0000:3A:1F.7", "0000:3a:1f.7");   /* upper case */
	accepts("1:3a:00.0", "0001:3a:00.0");      /* short domain */
	accepts("10000:00:02.0", "10000:00:02.0"); /* VMD domains have five digits */
}

static void test_bdf_near_misses(void **state)
{
	rejects("");
	rejects("3a:00");
	rejects("3a:00.");
	rejects("3a:00.8");           /* functions are 0..7 */
	rejects("3a:00.10");          /* two digits, still 0..7 */
	rejects("3a:00.000");         /* three digits */
	rejects("3a:20.0");           /* devices are 0..1f */
	rejects("3a:0.0");            /* two digits for the device */
	rejects("a:00.0");            /* two for the bus */
	rejects("3a:00.0 ");          /* trailing space */
	rejects(" 3a:00.0");          /* leading space */
	rejects("3a:00.0\n");         /* trailing newline */
	rejects("g0:00.0");           /* not hex */
	rejects("123456789:3a:00.0"); /* domain too long */
	rejects("0000:0000:3a:00.0");
	rejects("3a-00.0");
	rejects("../3a:00.0");
}

/* ---- names and kinds -------------------------------------------------- */

static void test_products(void **state)
{
	assert_string_equal(pci_nvidia_product(0x2330), "H100 SXM5 80GB");
	assert_string_equal(pci_nvidia_product(0x2331), "H100 PCIe");
	assert_string_equal(pci_nvidia_product(0x2335), "H200 SXM 141GB");
	assert_string_equal(pci_nvidia_product(0x22a3), "H100 NVSwitch");
	assert_null(pci_nvidia_product(0x1234));
	assert_null(pci_nvidia_product(0x0000));
}

static void test_kinds(void **state)
{
	assert_int_equal(pci_classify(0x10de, 0x2335, 0x030200), PCI_KIND_GPU);
	assert_int_equal(pci_classify(0x10de, 0x2331, 0x030000), PCI_KIND_GPU);
	assert_int_equal(pci_classify(0x10de, 0x22a3, 0x068000), PCI_KIND_NVSWITCH);
	assert_int_equal(pci_classify(0x10de, 0x22e8, 0x040300), PCI_KIND_AUDIO);
	assert_int_equal(pci_classify(0x8086, 0x352a, 0x060400), PCI_KIND_BRIDGE);
	assert_int_equal(pci_classify(0x8086, 0x15b9, 0x020000), PCI_KIND_OTHER);
	/* 0x22a3 is an NVSwitch only when NVIDIA's */
	assert_int_equal(pci_classify(0x8086, 0x22a3, 0x068000), PCI_KIND_OTHER);
	assert_string_equal(pci_kind_name(PCI_KIND_NVSWITCH), "NVSwitch");
	assert_string_equal(pci_kind_name(PCI_KIND_GPU), "GPU");
}

/* ---- devices in a fake tree ------------------------------------------- */

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	assert_true(snprintf(p, sizeof(p), "%s/%s", root, rel) < (int)sizeof(p));
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void dir(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

static void link_at(const char *rel, const char *target)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
}

static void make_tree(void)
{
	static const char *const dirs[] = {
	    "sys",
	    "sys/bus",
	    "sys/bus/pci",
	    "sys/bus/pci/devices",
	    "sys/bus/pci/drivers",
	    "sys/bus/pci/drivers/nvidia",
	    "sys/devices",
	    "sys/devices/pci0000:00",
	    "sys/devices/pci0000:00/0000:3a:00.0",
	    "sys/devices/pci0000:00/0000:3a:00.1",
	    "sys/kernel",
	    "sys/kernel/iommu_groups",
	    "sys/kernel/iommu_groups/12",
	    "sys/kernel/iommu_groups/12/devices",
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		dir(dirs[i]);
	put("sys/devices/pci0000:00/0000:3a:00.0/vendor", "0x10de\n");
	put("sys/devices/pci0000:00/0000:3a:00.0/device", "0x2335\n");
	put("sys/devices/pci0000:00/0000:3a:00.0/class", "0x030200\n");
	put("sys/devices/pci0000:00/0000:3a:00.0/driver_override", "(null)\n");
	link_at("sys/devices/pci0000:00/0000:3a:00.0/driver", "../../../bus/pci/drivers/nvidia");
	link_at("sys/devices/pci0000:00/0000:3a:00.0/iommu_group",
	        "../../../kernel/iommu_groups/12");
	link_at("sys/bus/pci/devices/0000:3a:00.0", "../../../devices/pci0000:00/0000:3a:00.0");
	link_at("sys/kernel/iommu_groups/12/devices/0000:3a:00.0",
	        "../../../../devices/pci0000:00/0000:3a:00.0");
	/* the audio function: no driver, an override, in the same group */
	put("sys/devices/pci0000:00/0000:3a:00.1/vendor", "0x10de\n");
	put("sys/devices/pci0000:00/0000:3a:00.1/device", "0x22e8\n");
	put("sys/devices/pci0000:00/0000:3a:00.1/class", "0x040300\n");
	put("sys/devices/pci0000:00/0000:3a:00.1/driver_override", "vfio-pci\n");
	link_at("sys/devices/pci0000:00/0000:3a:00.1/iommu_group",
	        "../../../kernel/iommu_groups/12");
	link_at("sys/bus/pci/devices/0000:3a:00.1", "../../../devices/pci0000:00/0000:3a:00.1");
	link_at("sys/kernel/iommu_groups/12/devices/0000:3a:00.1",
	        "../../../../devices/pci0000:00/0000:3a:00.1");
}

static void test_dev_read(void **state)
{
	struct sysfs s;
	struct pci_dev d;
	struct cerr err = CERR_INIT;

	make_tree();
	assert_int_equal(sysfs_init(&s, root, &err), 0);
	assert_int_equal(pci_dev_read(&s, "0000:3a:00.0", &d, &err), 0);
	assert_string_equal(d.bdf, "0000:3a:00.0");
	assert_int_equal(d.vendor, 0x10de);
	assert_int_equal(d.device, 0x2335);
	assert_int_equal(d.class_code, 0x030200);
	assert_int_equal(d.kind, PCI_KIND_GPU);
	assert_string_equal(d.driver, "nvidia");
	assert_string_equal(d.override, ""); /* "(null)" is no override */
	assert_string_equal(d.iommu_group, "12");

	/* reading into the same struct the address comes from */
	assert_int_equal(pci_dev_read(&s, "0000:3a:00.1", &d, &err), 0);
	assert_int_equal(pci_dev_read(&s, d.bdf, &d, &err), 0);
	assert_string_equal(d.bdf, "0000:3a:00.1");
	assert_int_equal(d.kind, PCI_KIND_AUDIO);
	assert_string_equal(d.driver, "");
	assert_string_equal(d.override, "vfio-pci");
}

static void test_dev_missing(void **state)
{
	struct sysfs s;
	struct pci_dev d;
	struct cerr err = CERR_INIT;

	assert_int_equal(sysfs_init(&s, root, &err), 0);
	assert_int_equal(pci_dev_read(&s, "0000:3b:00.0", &d, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "0000:3b:00.0"));
	assert_non_null(strstr(err.msg, "lspci"));
	assert_int_equal(pci_dev_read(&s, "../../etc", &d, &err), -EINVAL);
}

static void test_lists(void **state)
{
	struct sysfs s;
	struct cerr err = CERR_INIT;
	char **v = NULL;
	size_t n;

	assert_int_equal(sysfs_init(&s, root, &err), 0);
	assert_int_equal(pci_list(&s, &v, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "0000:3a:00.0");
	assert_string_equal(v[1], "0000:3a:00.1");
	assert_null(v[2]);
	sysfs_names_free(v);
	assert_int_equal(pci_group_members(&s, "12", &v, &n, &err), 0);
	assert_int_equal(n, 2);
	sysfs_names_free(v);
	assert_int_equal(pci_group_members(&s, "13", &v, &n, &err), -ENOENT);
	assert_int_equal(pci_group_members(&s, "../12", &v, &n, &err), -EINVAL);
	assert_int_equal(pci_group_members(&s, "", &v, &n, &err), -EINVAL);
}

/* ---- fixture ---------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/cocoon-pci-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bdf_forms), cmocka_unit_test(test_bdf_near_misses),
	    cmocka_unit_test(test_products),  cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_dev_read),  cmocka_unit_test(test_dev_missing),
	    cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
