/* pci.c - PCI addresses, NVIDIA product names, device facts from sysfs; see
 * cocoon/pci.h. */
#include "cocoon/pci.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cocoon/util.h"

/* min to max hex digits at *p, then the character stop; advances to stop */
static int hexfield(const char **p, size_t min, size_t max, char stop, uint32_t *v)
{
	size_t n = 0;
	uint32_t x = 0;

	while (n < max && hex_digit((*p)[n]) >= 0) {
		x = x << 4 | (uint32_t)hex_digit((*p)[n]);
		n++;
	}
	if (n < min || (*p)[n] != stop)
		return -1;
	*p += n;
	*v = x;
	return 0;
}

int pci_bdf_parse(const char *in, char out[PCI_BDF_LEN], struct cerr *err)
{
	const char *p = in;
	uint32_t dom = 0, bus, dev, fn;
	size_t colons = 0;

	for (const char *c = in; *c; c++)
		colons += *c == ':';
	if (colons == 2 && hexfield(&p, 1, 8, ':', &dom) == 0)
		p++;
	else if (colons != 1)
		goto bad;
	if (hexfield(&p, 2, 2, ':', &bus) < 0)
		goto bad;
	p++;
	if (hexfield(&p, 2, 2, '.', &dev) < 0 || dev > 0x1f)
		goto bad;
	p++;
	/* the function: one digit, or Cocoon's two ("00".."07") */
	if (hexfield(&p, 1, 2, '\0', &fn) < 0 || fn > 7)
		goto bad;
	snprintf(out, PCI_BDF_LEN, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
bad:
	return cerr_setx(err, EINVAL,
	                 "'%s' is not a PCI address: use the form 0000:3a:00.0 or 3a:00.0 "
	                 "(see `lspci -D -d 10de:`)",
	                 in);
}

enum pci_kind pci_classify(uint16_t vendor, uint16_t device, uint32_t class_code)
{
	uint32_t cls = class_code >> 8; /* base class and subclass */

	if (vendor == PCI_VENDOR_NVIDIA && device == 0x22a3)
		return PCI_KIND_NVSWITCH;
	if (cls == 0x0300 || cls == 0x0302)
		return PCI_KIND_GPU;
	if (cls == 0x0403)
		return PCI_KIND_AUDIO;
	if (cls == 0x0604)
		return PCI_KIND_BRIDGE;
	return PCI_KIND_OTHER;
}

const char *pci_kind_name(enum pci_kind k)
{
	switch (k) {
	case PCI_KIND_GPU:
		return "GPU";
	case PCI_KIND_NVSWITCH:
		return "NVSwitch";
	case PCI_KIND_AUDIO:
		return "audio";
	case PCI_KIND_BRIDGE:
		return "bridge";
	default:
		return "other";
	}
}

/* The data-centre parts this project is for (confidential computing needs
 * Hopper or later), named as in the PCI id database. */
static const struct {
	uint16_t device;
	const char *name;
} nvidia_products[] = {
    {0x22a3, "H100 NVSwitch"},
    {0x2330, "H100 SXM5 80GB"},
    {0x2331, "H100 PCIe"},
    {0x2335, "H200 SXM 141GB"},
};

const char *pci_nvidia_product(uint16_t device)
{
	for (size_t i = 0; i < sizeof(nvidia_products) / sizeof(nvidia_products[0]); i++)
		if (nvidia_products[i].device == device)
			return nvidia_products[i].name;
	return NULL;
}

int pci_dev_read(const struct sysfs *s, const char *bdf, struct pci_dev *d, struct cerr *err)
{
	char p[PATH_MAX];
	uint32_t v;
	int r;

	if (strlen(bdf) >= sizeof(d->bdf) || strchr(bdf, '/'))
		return cerr_setx(err, EINVAL, "'%s' is not a PCI address", bdf);
	memmove(d->bdf, bdf, strlen(bdf) + 1); /* bdf may be d->bdf */
	memset((char *)d + offsetof(struct pci_dev, vendor), 0,
	       sizeof(*d) - offsetof(struct pci_dev, vendor));
	bdf = d->bdf;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s", bdf);
	if (!sysfs_exists(s, p))
		return cerr_setx(err, ENODEV,
		                 "no PCI device %s (%s%s does not exist): check the address with "
		                 "`lspci -D -d 10de:` or `setup-gpu-vfio --list`",
		                 bdf, s->root, p);
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/vendor", bdf);
	if ((r = sysfs_read_u32(s, p, &v, err)) < 0)
		return r;
	d->vendor = (uint16_t)v;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/device", bdf);
	if ((r = sysfs_read_u32(s, p, &v, err)) < 0)
		return r;
	d->device = (uint16_t)v;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/class", bdf);
	if ((r = sysfs_read_u32(s, p, &v, err)) < 0)
		return r;
	d->class_code = v & 0xffffff;
	d->kind = pci_classify(d->vendor, d->device, d->class_code);

	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", bdf);
	if (sysfs_exists(s, p) &&
	    (r = sysfs_link_name(s, p, d->driver, sizeof(d->driver), err)) < 0)
		return r;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	if (sysfs_exists(s, p) &&
	    (r = sysfs_link_name(s, p, d->iommu_group, sizeof(d->iommu_group), err)) < 0)
		return r;
	snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", bdf);
	if (sysfs_exists(s, p)) {
		if ((r = sysfs_read(s, p, d->override, sizeof(d->override), err)) < 0)
			return r;
		if (!strcmp(d->override, "(null)"))
			d->override[0] = '\0';
	}
	return 0;
}

int pci_list(const struct sysfs *s, char ***bdfs, size_t *n, struct cerr *err)
{
	return sysfs_list(s, "/sys/bus/pci/devices", bdfs, n, err);
}

int pci_group_members(const struct sysfs *s, const char *group, char ***bdfs, size_t *n,
                      struct cerr *err)
{
	char p[PATH_MAX];

	if (!group[0] || strchr(group, '/') || strlen(group) > 16)
		return cerr_setx(err, EINVAL, "'%s' is not an IOMMU group", group);
	snprintf(p, sizeof(p), "/sys/kernel/iommu_groups/%s/devices", group);
	return sysfs_list(s, p, bdfs, n, err);
}
