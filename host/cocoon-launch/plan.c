/* plan.c - the QEMU and virtiofsd command lines of a VM; see plan.h.
 *
 * Production follows the design's QEMU shape: a TDX guest object with the
 * QGS on vsock, guest RAM from a shared memfd (vhost-user needs it), OVMF and
 * direct kernel boot, the read-only root drive and the persistent drive told
 * apart by their serial numbers, per GPU an iommufd object, a PCIe root port
 * and vfio-pci, virtio-fs shares, vhost-vsock, user networking with only the
 * declared forwards, and a QMP socket. There is no
 * `x-vfio-pci-confidential-gpu` property in QEMU: it is never emitted.
 */
#include "plan.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/runcmd.h"
#include "cocoon/tee.h"
#include "cocoon/util.h"

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void strv_take(struct strv *s, char *a)
{
	if (s->error || !a) {
		if (!s->error)
			s->error = -ENOMEM;
		free(a);
		return;
	}
	if (s->n + 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		char **v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			s->error = -ENOMEM;
			free(a);
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = a;
	s->v[s->n] = NULL;
}

void strv_add(struct strv *s, const char *a)
{
	strv_take(s, strdup(a));
}

void strv_addf(struct strv *s, const char *fmt, ...)
{
	va_list ap;
	char *a = NULL;

	va_start(ap, fmt);
	if (vasprintf(&a, fmt, ap) < 0)
		a = NULL;
	va_end(ap);
	strv_take(s, a);
}

/* QEMU's option syntax: a ',' inside a value is written ",," */
static const char *qesc(const char *in, char *out, size_t n)
{
	size_t o = 0;

	for (; *in && o + 2 < n; in++) {
		out[o++] = *in;
		if (*in == ',')
			out[o++] = ',';
	}
	out[o] = '\0';
	return out;
}

static int path_in(char *out, const char *dir, const char *name, struct cerr *err)
{
	if ((size_t)snprintf(out, PLAN_PATH_MAX, "%s/%s", dir, name) >= PLAN_PATH_MAX)
		return cerr_setx(err, ENAMETOOLONG, "run_dir '%s' is too long", dir);
	return 0;
}

static int build_cmdline(const struct lcfg *c, struct plan *p, struct cerr *err)
{
	struct wbuf_like {
		char *b;
		size_t n, o;
	} w = {p->cmdline, sizeof(p->cmdline), 0};
	bool vport = c->transport == LCFG_TRANSPORT_VPORT;
	int k;

#define APPEND(...)                                                                          \
	do {                                                                                 \
		k = snprintf(w.b + w.o, w.n - w.o, __VA_ARGS__);                             \
		if (k < 0 || (size_t)k >= w.n - w.o)                                         \
			return cerr_setx(err, E2BIG, "the kernel command line is too long"); \
		w.o += (size_t)k;                                                            \
	} while (0)
	APPEND("%s", c->cmdline);
	if (c->dev)
		APPEND(" cocoon.tee=sim cocoon.debug=1");
	if (vport)
		APPEND(" cocoon.health=vport:health%s",
		       p->seal[0] ? " cocoon.seal=vport:seal" : "");
	if (c->fs == LCFG_FS_9P)
		APPEND(" cocoon.fs=9p");
	if (c->append)
		APPEND(" %s", c->append);
#undef APPEND
	return 0;
}

static void add_share_virtiofsd(const struct lcfg *c, struct plan_share *s)
{
	static const char *const sandbox[] = {"namespace", "chroot", "none"};

	strv_add(&s->virtiofsd, c->virtiofsd ? c->virtiofsd : "virtiofsd");
	strv_addf(&s->virtiofsd, "--socket-path=%s", s->sock);
	strv_addf(&s->virtiofsd, "--shared-dir=%s", s->dir);
	if (s->readonly)
		strv_add(&s->virtiofsd, "--readonly");
	strv_addf(&s->virtiofsd, "--sandbox=%s", sandbox[c->sandbox]);
	strv_add(&s->virtiofsd, "--cache=auto");
}

int plan_build(const struct lcfg *c, struct plan *p, struct cerr *err)
{
	struct strv *q = &p->qemu;
	bool tdx = !c->dev;
	bool kvm = c->accel == LCFG_ACCEL_KVM;
	char mem[32], e1[PATH_MAX * 2 + 8];
	int r;

	memset(p, 0, sizeof(*p));
	if (c->accel == LCFG_ACCEL_AUTO || c->transport == LCFG_TRANSPORT_AUTO ||
	    c->fs == LCFG_FS_AUTO)
		return cerr_setx(err, EINVAL, "internal: the plan needs accel, transport and fs");
	if ((size_t)snprintf(p->run_dir, sizeof(p->run_dir), "%s", c->run_dir) >=
	    sizeof(p->run_dir))
		return cerr_setx(err, ENAMETOOLONG, "run_dir '%s' is too long", c->run_dir);
	if ((r = path_in(p->qmp, p->run_dir, "qmp.sock", err)) < 0 ||
	    (r = path_in(p->health, p->run_dir, "health.sock", err)) < 0 ||
	    (r = path_in(p->spec_dir, p->run_dir, "spec", err)) < 0)
		return r;
	if (c->transport == LCFG_TRANSPORT_VPORT && !strncmp(c->seal, "unix:", 5))
		snprintf(p->seal, sizeof(p->seal), "%s", c->seal + 5);

	/* shares: the prepared spec read-only, data read-write */
	p->shares[0].tag = "spec";
	p->shares[0].readonly = true;
	snprintf(p->shares[0].dir, sizeof(p->shares[0].dir), "%s", p->spec_dir);
	p->n_shares = 1;
	if (c->data) {
		p->shares[1].tag = "data";
		snprintf(p->shares[1].dir, sizeof(p->shares[1].dir), "%s", c->data);
		p->n_shares = 2;
	}
	for (size_t i = 0; i < p->n_shares; i++) {
		char name[32];

		snprintf(name, sizeof(name), "virtiofsd-%s.sock", p->shares[i].tag);
		if ((r = path_in(p->shares[i].sock, p->run_dir, name, err)) < 0)
			return r;
		if (c->fs == LCFG_FS_VIRTIOFS)
			add_share_virtiofsd(c, &p->shares[i]);
	}
	if ((r = build_cmdline(c, p, err)) < 0)
		return r;

	lcfg_format_size(c->memory, mem, sizeof(mem));
	strv_add(q, c->qemu);
	strv_add(q, "-name");
	strv_add(q, c->name);
	strv_add(q, "-nodefaults");
	strv_add(q, "-no-user-config");
	strv_add(q, "-machine");
	strv_addf(q, "q35%s,memory-backend=mem0",
	          tdx ? ",kernel-irqchip=split,confidential-guest-support=tdx" : "");
	strv_add(q, "-accel");
	strv_add(q, kvm ? "kvm" : "tcg");
	strv_add(q, "-cpu");
	strv_add(q, kvm ? "host" : "max");
	strv_add(q, "-smp");
	strv_addf(q, "%u", c->cpus);
	strv_add(q, "-m");
	strv_add(q, mem);
	if (tdx) {
		strv_add(q, "-object");
		strv_add(q,
		         "{\"qom-type\":\"tdx-guest\",\"id\":\"tdx\",\"quote-generation-socket\":"
		         "{\"type\":\"vsock\",\"cid\":\"2\",\"port\":\"4050\"}}");
	}
	strv_add(q, "-object");
	strv_addf(q, "memory-backend-memfd,id=mem0,size=%s,share=on", mem);
	if (c->firmware) {
		strv_add(q, "-bios");
		strv_add(q, c->firmware);
	}
	strv_add(q, "-kernel");
	strv_add(q, c->kernel);
	strv_add(q, "-initrd");
	strv_add(q, c->initrd);
	strv_add(q, "-append");
	strv_add(q, p->cmdline);

	strv_add(q, "-drive");
	strv_addf(q, "file=%s,if=none,id=root,format=raw,readonly=on",
	          qesc(c->rootfs, e1, sizeof(e1)));
	strv_add(q, "-device");
	strv_add(q, "virtio-blk-pci,drive=root,serial=root");
	strv_add(q, "-drive");
	strv_addf(q, "file=%s,if=none,id=persistent,format=raw,discard=unmap",
	          qesc(c->persistent, e1, sizeof(e1)));
	strv_add(q, "-device");
	strv_add(q, "virtio-blk-pci,drive=persistent,serial=persistent");

	for (size_t i = 0; i < c->n_gpus; i++) {
		strv_add(q, "-object");
		strv_addf(q, "iommufd,id=iommufd%zu", i);
		strv_add(q, "-device");
		strv_addf(q, "pcie-root-port,id=pci.%zu,bus=pcie.0,chassis=%zu", i + 1, i + 1);
		strv_add(q, "-device");
		strv_addf(q, "vfio-pci,host=%s,bus=pci.%zu,iommufd=iommufd%zu", c->gpus[i], i + 1,
		          i);
	}
	if (c->n_gpus) {
		strv_add(q, "-fw_cfg");
		strv_add(q, "name=opt/ovmf/X-PciMmio64Mb,string=262144");
	}
	/* dev only: the sim TEE's platform key, over a channel the host controls
	 * (cocoon-init copies it to /run/cocoon/sim-platform-key): nothing is
	 * protected in sim mode */
	if (c->dev && c->sim_platform_key) {
		strv_add(q, "-fw_cfg");
		strv_addf(q, "name=" TEE_SIM_KEY_FWCFG ",file=%s",
		          qesc(c->sim_platform_key, e1, sizeof(e1)));
	}

	for (size_t i = 0; i < p->n_shares; i++) {
		const struct plan_share *s = &p->shares[i];

		if (c->fs == LCFG_FS_VIRTIOFS) {
			strv_add(q, "-chardev");
			strv_addf(q, "socket,id=fs-%s,path=%s", s->tag,
			          qesc(s->sock, e1, sizeof(e1)));
			strv_add(q, "-device");
			strv_addf(q, "vhost-user-fs-pci,chardev=fs-%s,tag=%s", s->tag, s->tag);
		} else {
			strv_add(q, "-fsdev");
			strv_addf(q, "local,id=fs-%s,path=%s,security_model=none%s", s->tag,
			          qesc(s->dir, e1, sizeof(e1)), s->readonly ? ",readonly=on" : "");
			strv_add(q, "-device");
			strv_addf(q, "virtio-9p-pci,fsdev=fs-%s,mount_tag=%s", s->tag, s->tag);
		}
	}

	if (c->transport == LCFG_TRANSPORT_VSOCK) {
		strv_add(q, "-device");
		strv_addf(q, "vhost-vsock-pci,guest-cid=%u", c->cid);
	} else {
		strv_add(q, "-device");
		strv_add(q, "virtio-serial-pci,id=vser0");
		if (p->seal[0]) {
			/* guest -> host service: QEMU connects to seal-server, and again after it
			 * restarts */
			strv_add(q, "-chardev");
			strv_addf(q, "socket,id=ch-seal,path=%s,reconnect-ms=1000",
			          qesc(p->seal, e1, sizeof(e1)));
			strv_add(q, "-device");
			strv_add(q, "virtserialport,bus=vser0.0,chardev=ch-seal,name=seal");
		}
		/* host -> guest service: QEMU listens, the host tool connects */
		strv_add(q, "-chardev");
		strv_addf(q, "socket,id=ch-health,path=%s,server=on,wait=off",
		          qesc(p->health, e1, sizeof(e1)));
		strv_add(q, "-device");
		strv_add(q, "virtserialport,bus=vser0.0,chardev=ch-health,name=health");
	}

	{
		char net[2048];
		size_t o = 0;

		o += (size_t)snprintf(net + o, sizeof(net) - o, "user,id=net0%s",
		                      c->egress == LCFG_EGRESS_NONE ? ",restrict=on" : "");
		if (c->ssh_host)
			o += (size_t)snprintf(net + o, sizeof(net) - o,
			                      ",hostfwd=tcp:127.0.0.1:%u-:22", c->ssh_host);
		for (size_t i = 0; i < c->n_fwd && o < sizeof(net); i++)
			o += (size_t)snprintf(net + o, sizeof(net) - o, ",hostfwd=%s:%s:%u-:%u",
			                      c->fwd[i].udp ? "udp" : "tcp", c->fwd[i].addr,
			                      c->fwd[i].port, c->fwd[i].guest_port);
		if (o >= sizeof(net))
			return cerr_setx(err, E2BIG, "too many forwards");
		strv_add(q, "-netdev");
		strv_add(q, net);
		strv_add(q, "-device");
		strv_add(q, "virtio-net-pci,netdev=net0");
	}

	strv_add(q, "-qmp");
	strv_addf(q, "unix:%s,server=on,wait=off", qesc(p->qmp, e1, sizeof(e1)));
	strv_add(q, "-display");
	strv_add(q, "none");
	strv_add(q, "-serial");
	if (!strcmp(c->console, "stdout"))
		strv_add(q, "stdio");
	else if (!strcmp(c->console, "none"))
		strv_add(q, "none");
	else
		strv_addf(q, "file:%s", c->console);
	strv_add(q, "-no-reboot");

	for (size_t i = 0; i < p->n_shares; i++)
		if (p->shares[i].virtiofsd.error)
			q->error = p->shares[i].virtiofsd.error;
	if (q->error)
		return cerr_set(err, -q->error, "building the QEMU command line");
	return 0;
}

void plan_free(struct plan *p)
{
	strv_free(&p->qemu);
	for (size_t i = 0; i < 2; i++)
		strv_free(&p->shares[i].virtiofsd);
}

void plan_print_argv(FILE *f, const struct strv *argv)
{
	for (size_t i = 0; i < argv->n; i++) {
		const char *one[2] = {argv->v[i], NULL};
		char q[16384];

		cmd_format(one, q, sizeof(q));
		if (i == 0)
			fputs(q, f);
		else if (argv->v[i][0] == '-')
			fprintf(f, " \\\n    %s", q);
		else
			fprintf(f, " %s", q);
	}
	fputc('\n', f);
}

void plan_print(FILE *f, const struct lcfg *c, const struct plan *p)
{
	fprintf(f, "# %s: %s VM, instance %u, CID %u, run directory %s\n", c->name,
	        c->dev ? "development" : "TDX", c->instance, c->cid, p->run_dir);
	fprintf(f, "# the spec %s is validated and prepared into %s first\n", c->spec, p->spec_dir);
	for (size_t i = 0; i < p->n_shares; i++) {
		if (!p->shares[i].virtiofsd.n)
			continue;
		fprintf(f, "\n# virtiofsd for '%s' (%s)\n", p->shares[i].tag,
		        p->shares[i].readonly ? "read-only" : "read-write");
		plan_print_argv(f, &p->shares[i].virtiofsd);
	}
	fprintf(f, "\n# QEMU\n");
	plan_print_argv(f, &p->qemu);
}
