/* pci.h - PCI addresses, NVIDIA product names and what sysfs says about a
 * PCI device (ids, class, driver, driver_override, IOMMU group).
 *
 * Addresses are accepted as an operator types them and always handed on in
 * the kernel's form "0000:3a:00.0" (domain, bus, device, function, lower-case
 * hex): "0000:3a:00.0", "3a:00.0" (domain 0, as lspci prints it) and the
 * two-digit function "3a:00.00" / "0000:3a:00.00" found in Cocoon's configs.
 *
 * Device reads go through struct sysfs, so they work on the running system
 * and on generated trees alike.
 */
#ifndef COCOON_PCI_H
#define COCOON_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"
#include "cocoon/sysfs.h"

#define PCI_BDF_LEN 18 /* "0000:3a:00.0" + NUL, domains of up to 8 digits (VMD) */
#define PCI_VENDOR_NVIDIA 0x10de

/* Normalises an address into out (PCI_BDF_LEN bytes). -EINVAL with a message
 * that shows the accepted forms otherwise. */
int pci_bdf_parse(const char *in, char out[PCI_BDF_LEN], struct cerr *err);

enum pci_kind {
	PCI_KIND_OTHER = 0,
	PCI_KIND_GPU,      /* display controller: class 0x0300xx (VGA) or 0x0302xx (3D) */
	PCI_KIND_NVSWITCH, /* NVIDIA NVSwitch */
	PCI_KIND_AUDIO,    /* class 0x0403xx, the HDMI audio function beside a GPU */
	PCI_KIND_BRIDGE,   /* class 0x0604xx, PCI-to-PCI bridge or switch port */
};

enum pci_kind pci_classify(uint16_t vendor, uint16_t device, uint32_t class_code);
const char *pci_kind_name(enum pci_kind k); /* "GPU", "NVSwitch", "audio", ... */

/* The product name of an NVIDIA device id ("H100 PCIe"), NULL when unknown. */
const char *pci_nvidia_product(uint16_t device);

struct pci_dev {
	char bdf[PCI_BDF_LEN];
	uint16_t vendor, device;
	uint32_t class_code; /* 24 bits: base class, subclass, prog-if */
	enum pci_kind kind;
	char driver[64];      /* "" when no driver is bound */
	char override[64];    /* driver_override, "" when unset ("(null)") */
	char iommu_group[16]; /* "" when the device has no IOMMU group */
};

/* Reads /sys/bus/pci/devices/<bdf> (bdf may be d->bdf itself). -ENODEV with a message naming the
 * address and how to find the right one when there is no such device. */
int pci_dev_read(const struct sysfs *s, const char *bdf, struct pci_dev *d, struct cerr *err);

/* Every PCI address under /sys/bus/pci/devices, sorted (sysfs_names_free). */
int pci_list(const struct sysfs *s, char ***bdfs, size_t *n, struct cerr *err);

/* The addresses in /sys/kernel/iommu_groups/<group>/devices, sorted. */
int pci_group_members(const struct sysfs *s, const char *group, char ***bdfs, size_t *n,
                      struct cerr *err);

#endif
