/* libvirt.c - the libvirt domain of a VM; see libvirt.h.
 *
 * The domain mirrors plan.c's QEMU command line element by element:
 * launchSecurity tdx (trixie-backports' libvirt 12.9 schema takes it; Debian's
 * 9.0 and 11.3 do not know it), shared memfd memory, direct kernel boot, the two
 * disks with their serials, hostdev GPUs plus the X-PciMmio64Mb fw_cfg entry,
 * virtiofs (or 9p) filesystems, vsock (or virtio-serial channels), and a user
 * interface with the declared port forwards (libvirt needs the passt backend
 * for those). What libvirt cannot say is listed in docs/launcher.md: the QGS
 * on vsock (libvirt uses the QGS unix socket), restricted egress, iommufd.
 */
#include "libvirt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cocoon/runcmd.h"
#include "cocoon/tee.h"
#include "plan.h"

/* text and attribute values: &, <, >, ' and " escaped */
static void xput(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static void xline(FILE *f, const char *pre, const char *val, const char *post)
{
	fputs(pre, f);
	xput(f, val);
	fputs(post, f);
}

int libvirt_domain_xml(FILE *f, const struct lcfg *c, struct cerr *err)
{
	struct plan p;
	bool tdx = !c->dev;
	bool kvm = c->accel == LCFG_ACCEL_KVM;
	char emulator[4096];
	int r;

	if ((r = plan_build(c, &p, err)) < 0) {
		plan_free(&p);
		return r;
	}
	/* libvirt wants an absolute emulator path */
	if (cmd_find(NULL, c->qemu, "/usr/bin", emulator, sizeof(emulator)) < 0)
		snprintf(emulator, sizeof(emulator), "%s",
		         c->qemu[0] == '/' ? c->qemu : "/usr/bin/qemu-system-x86_64");

	fprintf(f, "<domain type='%s'>\n", kvm ? "kvm" : "qemu");
	xline(f, "  <name>", c->name, "</name>\n");
	fprintf(f, "  <memory unit='MiB'>%llu</memory>\n",
	        (unsigned long long)(c->memory / LCFG_MIB));
	fprintf(f, "  <vcpu placement='static'>%u</vcpu>\n", c->cpus);
	fputs("  <memoryBacking>\n"
	      "    <source type='memfd'/>\n"
	      "    <access mode='shared'/>\n"
	      "  </memoryBacking>\n",
	      f);
	if (c->n_gpus || (c->dev && c->sim_platform_key)) {
		fputs("  <sysinfo type='fwcfg'>\n", f);
		if (c->n_gpus)
			fputs("    <entry name='opt/ovmf/X-PciMmio64Mb'>262144</entry>\n", f);
		/* dev only: the sim platform key (protects nothing; see plan.c) */
		if (c->dev && c->sim_platform_key)
			xline(f, "    <entry name='" TEE_SIM_KEY_FWCFG "' file='",
			      c->sim_platform_key, "'/>\n");
		fputs("  </sysinfo>\n", f);
	}
	fputs("  <os>\n"
	      "    <type arch='x86_64' machine='q35'>hvm</type>\n",
	      f);
	if (c->firmware)
		xline(f, "    <loader readonly='yes' type='rom'>", c->firmware, "</loader>\n");
	xline(f, "    <kernel>", c->kernel, "</kernel>\n");
	xline(f, "    <initrd>", c->initrd, "</initrd>\n");
	xline(f, "    <cmdline>", p.cmdline, "</cmdline>\n");
	fputs("  </os>\n"
	      "  <features>\n"
	      "    <acpi/>\n",
	      f);
	if (tdx)
		fputs("    <ioapic driver='qemu'/>\n", f); /* kernel-irqchip=split */
	fputs("  </features>\n", f);
	fprintf(f, "  <cpu mode='%s'/>\n", kvm ? "host-passthrough" : "maximum");
	fputs("  <on_poweroff>destroy</on_poweroff>\n"
	      "  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n"
	      "  <devices>\n",
	      f);
	xline(f, "    <emulator>", emulator, "</emulator>\n");
	fputs("    <disk type='file' device='disk'>\n"
	      "      <driver name='qemu' type='raw'/>\n",
	      f);
	xline(f, "      <source file='", c->rootfs, "'/>\n");
	fputs("      <target dev='vda' bus='virtio'/>\n"
	      "      <readonly/>\n"
	      "      <serial>root</serial>\n"
	      "    </disk>\n"
	      "    <disk type='file' device='disk'>\n"
	      "      <driver name='qemu' type='raw' discard='unmap'/>\n",
	      f);
	xline(f, "      <source file='", c->persistent, "'/>\n");
	fputs("      <target dev='vdb' bus='virtio'/>\n"
	      "      <serial>persistent</serial>\n"
	      "    </disk>\n",
	      f);
	for (size_t i = 0; i < c->n_gpus; i++) {
		unsigned dom, bus, slot, fn;

		if (sscanf(c->gpus[i], "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4) {
			plan_free(&p);
			return cerr_setx(err, EINVAL, "GPU address '%s'", c->gpus[i]);
		}
		fprintf(f,
		        "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
		        "      <driver name='vfio'/>\n"
		        "      <source>\n"
		        "        <address domain='0x%04x' bus='0x%02x' slot='0x%02x' "
		        "function='0x%x'/>\n"
		        "      </source>\n"
		        "    </hostdev>\n",
		        dom, bus, slot, fn);
	}
	for (size_t i = 0; i < p.n_shares; i++) {
		const struct plan_share *s = &p.shares[i];

		if (c->fs == LCFG_FS_VIRTIOFS) {
			fputs("    <filesystem type='mount' accessmode='passthrough'>\n"
			      "      <driver type='virtiofs' queue='1024'/>\n",
			      f);
			if (c->virtiofsd)
				xline(f, "      <binary path='", c->virtiofsd, "'/>\n");
		} else {
			/* squash is libvirt's name for security_model=none, as on the
			 * QEMU line: QEMU, which libvirt runs unprivileged, does not
			 * try to give files the guest's owners (passthrough would, and
			 * every create from the guest's root would fail with EPERM) */
			fputs("    <filesystem type='mount' accessmode='squash'>\n"
			      "      <driver type='path'/>\n",
			      f);
		}
		xline(f, "      <source dir='", s->dir, "'/>\n");
		fprintf(f, "      <target dir='%s'/>\n", s->tag);
		if (s->readonly)
			fputs("      <readonly/>\n", f);
		fputs("    </filesystem>\n", f);
	}
	if (c->transport == LCFG_TRANSPORT_VSOCK) {
		fprintf(f,
		        "    <vsock model='virtio'>\n"
		        "      <cid auto='no' address='%u'/>\n"
		        "    </vsock>\n",
		        c->cid);
	} else {
		fputs("    <controller type='virtio-serial' index='0'/>\n", f);
		if (p.seal[0]) {
			xline(f,
			      "    <channel type='unix'>\n"
			      "      <source mode='connect' path='",
			      p.seal,
			      "'>\n"
			      "        <reconnect enabled='yes' timeout='1'/>\n"
			      "      </source>\n"
			      "      <target type='virtio' name='seal'/>\n"
			      "    </channel>\n");
		}
		xline(f,
		      "    <channel type='unix'>\n"
		      "      <source mode='bind' path='",
		      p.health,
		      "'/>\n"
		      "      <target type='virtio' name='health'/>\n"
		      "    </channel>\n");
	}
	fputs("    <interface type='user'>\n", f);
	if (c->ssh_host || c->n_fwd) {
		/* libvirt forwards ports only with the passt backend */
		fputs("      <backend type='passt'/>\n", f);
		if (c->ssh_host)
			fprintf(f,
			        "      <portForward proto='tcp' address='127.0.0.1'>\n"
			        "        <range start='%u' to='22'/>\n"
			        "      </portForward>\n",
			        c->ssh_host);
		for (size_t i = 0; i < c->n_fwd; i++)
			fprintf(f,
			        "      <portForward proto='%s' address='%s'>\n"
			        "        <range start='%u' to='%u'/>\n"
			        "      </portForward>\n",
			        c->fwd[i].udp ? "udp" : "tcp", c->fwd[i].addr, c->fwd[i].port,
			        c->fwd[i].guest_port);
	}
	fputs("      <model type='virtio'/>\n"
	      "    </interface>\n",
	      f);
	if (!strcmp(c->console, "none")) {
		/* no serial device */
	} else if (!strcmp(c->console, "stdout")) {
		fputs("    <serial type='pty'/>\n", f);
	} else {
		xline(f,
		      "    <serial type='file'>\n"
		      "      <source path='",
		      c->console,
		      "'/>\n"
		      "    </serial>\n");
	}
	fputs("    <memballoon model='none'/>\n"
	      "  </devices>\n",
	      f);
	if (tdx)
		fputs("  <launchSecurity type='tdx'>\n"
		      "    <policy>0x10000000</policy>\n"
		      "    <quoteGenerationService/>\n"
		      "  </launchSecurity>\n",
		      f);
	fputs("</domain>\n", f);
	plan_free(&p);
	return 0;
}
