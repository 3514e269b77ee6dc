/* launchcfg.c - the VM configuration of cocoon-launch: INI file, flags,
 * validation and derived values; see cocoon/launchcfg.h.
 *
 * One table lists every key with its section, so that the INI reader, the
 * flags and --help can never disagree about what exists.
 */
#include "cocoon/launchcfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/log.h"
#include "cocoon/util.h"

enum key_id {
	K_TYPE,
	K_INSTANCE,
	K_GPU,
	K_PERSISTENT,
	K_PERSISTENT_SIZE,
	K_SSH_PORT,
	K_VSOCK_CID,
	K_IMAGE_DIR,
	K_NAME,
	K_SPEC,
	K_DATA,
	K_MEMORY,
	K_CPUS,
	K_FORWARD,
	K_EGRESS,
	K_DEV,
	K_ACCEL,
	K_TRANSPORT,
	K_FS,
	K_QEMU,
	K_VIRTIOFSD,
	K_SANDBOX,
	K_SEAL,
	K_RUN_DIR,
	K_CONSOLE,
	K_KERNEL,
	K_INITRD,
	K_ROOTFS,
	K_FIRMWARE,
	K_CMDLINE,
	K_APPEND,
	K_SIM_KEY,
	K_READY_TIMEOUT,
	K_STOP_TIMEOUT,
	K_COUNT
};

struct key {
	enum key_id id;
	const char *section;
	const char *name;
	const char *arg;
	const char *help;
};

static const struct key keys[] = {
    {K_TYPE, "node", "type", "TYPE", "worker, proxy or client (default CID 6, 7, 4)"},
    {K_INSTANCE, "node", "instance", "N", "instance number 0..999: CID and host ports + 10 x N"},
    {K_GPU, "node", "gpu", "BDF[,BDF]", "GPU(s) passed through with vfio-pci (repeatable)"},
    {K_PERSISTENT, "node", "persistent", "FILE", "persistent disk image (made sparse if missing)"},
    {K_PERSISTENT_SIZE, "node", "persistent_size", "SIZE", "size of a new persistent image (64G)"},
    {K_SSH_PORT, "node", "ssh_port", "PORT", "host port forwarded to the guest's 22 (0: none)"},
    {K_VSOCK_CID, "node", "vsock_cid", "CID", "guest vsock CID (default from type and instance)"},
    {K_IMAGE_DIR, "node", "image_dir", "DIR",
     "image files: vmlinuz, initrd.img, rootfs.img, cmdline, OVMF.fd"},
    {K_NAME, "node", "name", "NAME", "VM name (default cocoon-TYPE-INSTANCE)"},
    {K_SPEC, "docker", "spec", "DIR", "workload spec directory (validated, prepared, shared ro)"},
    {K_DATA, "docker", "data", "DIR", "data directory shared read-write as 'data'"},
    {K_MEMORY, "docker", "memory", "SIZE", "guest RAM (default 32G with a GPU, else 2G)"},
    {K_CPUS, "docker", "cpus", "N", "guest vCPUs (default 16 with a GPU, else 2)"},
    {K_FORWARD, "docker", "forward", "[tcp:|udp:][ADDR:]HOST:GUEST",
     "host port forward (repeatable); ADDR defaults to 127.0.0.1"},
    {K_EGRESS, "docker", "egress", "guest|none",
     "guest: the guest firewall decides; none: no outbound path at all"},
    {K_DEV, "launch", "dev", "BOOL", "development VM: no TDX, simulated TEE"},
    {K_ACCEL, "launch", "accel", "auto|kvm|tcg", "accelerator (dev auto: KVM if usable)"},
    {K_TRANSPORT, "launch", "transport", "auto|vsock|vport",
     "seal/health channels (dev auto: vport without /dev/vhost-vsock)"},
    {K_FS, "launch", "fs", "auto|virtiofs|9p", "shares (dev auto: 9p only without virtiofsd)"},
    {K_QEMU, "launch", "qemu", "PATH", "QEMU binary (qemu-system-x86_64)"},
    {K_VIRTIOFSD, "launch", "virtiofsd", "PATH", "virtiofsd binary (searched when unset)"},
    {K_SANDBOX, "launch", "virtiofsd_sandbox", "namespace|chroot|none", "virtiofsd --sandbox"},
    {K_SEAL, "launch", "seal", "ADDR|none",
     "seal-server as the host reaches it (vsock:1:12345; unix:PATH with vport)"},
    {K_RUN_DIR, "launch", "run_dir", "DIR", "sockets and the prepared spec (removed at exit)"},
    {K_CONSOLE, "launch", "console", "stdout|none|FILE", "guest serial console"},
    {K_KERNEL, "launch", "kernel", "FILE", "kernel (default IMAGE_DIR/vmlinuz)"},
    {K_INITRD, "launch", "initrd", "FILE", "initrd (default IMAGE_DIR/initrd.img)"},
    {K_ROOTFS, "launch", "rootfs", "FILE", "dm-verity root image (default IMAGE_DIR/rootfs.img)"},
    {K_FIRMWARE, "launch", "firmware", "FILE|none", "OVMF (default IMAGE_DIR/OVMF.fd; dev: none)"},
    {K_CMDLINE, "launch", "cmdline", "TEXT", "kernel command line (default IMAGE_DIR/cmdline)"},
    {K_APPEND, "launch", "append", "TEXT", "extra kernel arguments (changes the measurement)"},
    {K_SIM_KEY, "launch", "sim_platform_key", "FILE",
     "dev: seal-server's --write-platform-key file, handed to the guest by fw_cfg "
     "(default " LCFG_SIM_KEY_DEFAULT " when it exists; protects nothing)"},
    {K_READY_TIMEOUT, "launch", "ready_timeout", "SECONDS", "guest must report ready (600)"},
    {K_STOP_TIMEOUT, "launch", "stop_timeout", "SECONDS", "powerdown before quit (60)"},
};

_Static_assert(ARRAY_SIZE(keys) == K_COUNT, "one table entry per key");

const char *lcfg_type_name(enum lcfg_type t)
{
	switch (t) {
	case LCFG_PROXY:
		return "proxy";
	case LCFG_CLIENT:
		return "client";
	default:
		return "worker";
	}
}

uint32_t lcfg_type_cid(enum lcfg_type t)
{
	switch (t) {
	case LCFG_PROXY:
		return 7;
	case LCFG_CLIENT:
		return 4;
	default:
		return 6;
	}
}

void lcfg_init(struct lcfg *c)
{
	memset(c, 0, sizeof(*c));
	c->type = LCFG_WORKER;
	c->persistent_size = 64 * LCFG_GIB;
	c->ready_timeout = 600;
	c->stop_timeout = 60;
}

void lcfg_free(struct lcfg *c)
{
	char **strs[] = {&c->persistent, &c->image_dir,    &c->name,
	                 &c->spec,       &c->data,         &c->qemu,
	                 &c->virtiofsd,  &c->seal,         &c->run_dir,
	                 &c->console,    &c->kernel,       &c->initrd,
	                 &c->rootfs,     &c->firmware,     &c->cmdline,
	                 &c->append,     &c->cmdline_file, &c->sim_platform_key};

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

/* key names compare with '-' and '_' as the same character */
static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '-' ? '_' : *a, y = *b == '-' ? '_' : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static const struct key *find_key(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (name_eq(keys[i].name, name))
			return &keys[i];
	return NULL;
}

bool lcfg_is_key(const char *name)
{
	return find_key(name) != NULL;
}

const char *lcfg_key_name(size_t i)
{
	return i < ARRAY_SIZE(keys) ? keys[i].name : NULL;
}

void lcfg_print_keys(FILE *f)
{
	const char *sec = "";

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char flag[64];

		if (strcmp(sec, keys[i].section)) {
			sec = keys[i].section;
			fprintf(f, "\n  [%s]\n", sec);
		}
		snprintf(flag, sizeof(flag), "--%s %s", keys[i].name, keys[i].arg);
		for (char *p = flag + 2; *p && *p != ' '; p++)
			if (*p == '_')
				*p = '-';
		fprintf(f, "  %-34s %s\n", flag, keys[i].help);
	}
}

static void mark_set(struct lcfg *c, enum key_id id)
{
	c->set_mask[id / 32] |= 1u << (id % 32);
}

int lcfg_parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = LCFG_MIB;
	const char *p = s;

	if (!*p)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return -EINVAL;
	if (*p) {
		switch (*p) {
		case 'k':
		case 'K':
			mul = 1024;
			break;
		case 'm':
		case 'M':
			mul = LCFG_MIB;
			break;
		case 'g':
		case 'G':
			mul = LCFG_GIB;
			break;
		case 't':
		case 'T':
			mul = 1024 * LCFG_GIB;
			break;
		default:
			return -EINVAL;
		}
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
		else if (*p == 'B')
			p++;
		if (*p)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

void lcfg_format_size(uint64_t v, char *out, size_t n)
{
	if (v && v % LCFG_GIB == 0)
		snprintf(out, n, "%lluG", (unsigned long long)(v / LCFG_GIB));
	else if (v && v % LCFG_MIB == 0)
		snprintf(out, n, "%lluM", (unsigned long long)(v / LCFG_MIB));
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

static int parse_uint(const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
	unsigned long long v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (ULLONG_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"1", "yes", "true", "on"};
	static const char *const no[] = {"0", "no", "false", "off"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* one of a list of words; the index in *out */
static int parse_choice(const char *s, const char *const *words, size_t n, int *out)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(s, words[i])) {
			*out = (int)i;
			return 0;
		}
	return -EINVAL;
}

static int set_str(char **dst, const char *v, const struct key *k, const char *where,
                   struct cerr *err)
{
	char *d;

	if (!*v)
		return cerr_setx(err, EINVAL, "%s: key '%s' is empty; give a value or leave it out",
		                 where, k->name);
	d = strdup(v);
	if (!d)
		return cerr_set(err, ENOMEM, "%s: key '%s'", where, k->name);
	free(*dst);
	*dst = d;
	return 0;
}

static int bad(struct cerr *err, const char *where, const struct key *k, const char *v,
               const char *want)
{
	return cerr_setx(err, EINVAL, "%s: key '%s': '%s' is not valid; expected %s", where,
	                 k->name, v, want);
}

static int add_gpu(struct lcfg *c, const char *tok, const struct key *k, const char *where,
                   struct cerr *err)
{
	char bdf[PCI_BDF_LEN];
	struct cerr e2 = CERR_INIT;

	if (pci_bdf_parse(tok, bdf, &e2) < 0)
		return cerr_setx(err, EINVAL, "%s: key '%s': %s", where, k->name, e2.msg);
	for (size_t i = 0; i < c->n_gpus; i++)
		if (!strcmp(c->gpus[i], bdf))
			return cerr_setx(err, EINVAL, "%s: key '%s': GPU %s is listed twice", where,
			                 k->name, bdf);
	if (c->n_gpus == LCFG_MAX_GPUS)
		return cerr_setx(err, EINVAL, "%s: key '%s': more than %d GPUs", where, k->name,
		                 LCFG_MAX_GPUS);
	memcpy(c->gpus[c->n_gpus++], bdf, PCI_BDF_LEN);
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	unsigned long long v;

	if (parse_uint(s, 1, 65535, &v) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* [tcp:|udp:][ADDR:]HOST:GUEST */
static int add_forward(struct lcfg *c, const char *tok, const struct key *k, const char *where,
                       struct cerr *err)
{
	struct lcfg_forward f = {.udp = false};
	char buf[128];
	char *parts[4];
	size_t n = 0;
	const char *want = "[tcp:|udp:][ADDR:]HOSTPORT:GUESTPORT with ports 1..65535";
	struct in_addr ia;

	if (strlen(tok) >= sizeof(buf))
		return bad(err, where, k, tok, want);
	strcpy(buf, tok);
	for (char *p = buf, *s; n < ARRAY_SIZE(parts) && (s = strsep(&p, ":")); n++)
		parts[n] = s;
	if (n < 2 || strchr(tok, ':') == NULL)
		return bad(err, where, k, tok, want);
	size_t i = 0;
	if (!strcmp(parts[0], "tcp") || !strcmp(parts[0], "udp")) {
		f.udp = parts[0][0] == 'u';
		i = 1;
	}
	if (n - i == 3) {
		if (inet_pton(AF_INET, parts[i], &ia) != 1)
			return bad(err, where, k, tok, "an IPv4 host address before the ports");
		snprintf(f.addr, sizeof(f.addr), "%s", parts[i]);
		i++;
	} else if (n - i != 2) {
		return bad(err, where, k, tok, want);
	} else {
		snprintf(f.addr, sizeof(f.addr), "127.0.0.1");
	}
	if (parse_port(parts[i], &f.host_port) < 0 || parse_port(parts[i + 1], &f.guest_port) < 0)
		return bad(err, where, k, tok, want);
	if (c->n_fwd == LCFG_MAX_FORWARDS)
		return cerr_setx(err, EINVAL, "%s: key '%s': more than %d forwards", where, k->name,
		                 LCFG_MAX_FORWARDS);
	c->fwd[c->n_fwd++] = f;
	return 0;
}

/* comma- or space-separated list, each item handed to add */
static int add_list(struct lcfg *c, const char *v, const struct key *k, const char *where,
                    int (*add)(struct lcfg *, const char *, const struct key *, const char *,
                               struct cerr *),
                    struct cerr *err)
{
	_cleanup_free_ char *dup = strdup(v);
	int found = 0;

	if (!dup)
		return cerr_set(err, ENOMEM, "%s: key '%s'", where, k->name);
	for (char *p = dup, *tok; (tok = strsep(&p, ", \t"));) {
		if (!*tok)
			continue;
		int r = add(c, tok, k, where, err);
		if (r < 0)
			return r;
		found++;
	}
	if (!found)
		return cerr_setx(err, EINVAL, "%s: key '%s' is empty", where, k->name);
	return 0;
}

int lcfg_set(struct lcfg *c, const char *section, const char *name, const char *v,
             const char *where, struct cerr *err)
{
	const struct key *k = find_key(name);
	unsigned long long u;
	uint64_t sz;
	int choice;
	int r = 0;

	if (!k)
		return cerr_setx(err, ENOENT, "%s: unknown key '%s'%s%s%s; see --help for the keys",
		                 where, name, section ? " in [" : "", section ? section : "",
		                 section ? "]" : "");
	if (section && strcmp(section, k->section))
		return cerr_setx(err, EINVAL, "%s: key '%s' belongs in section [%s], not [%s]",
		                 where, name, k->section, section);

	switch (k->id) {
	case K_TYPE:
		if (parse_choice(v, (const char *const[]){"worker", "proxy", "client"}, 3,
		                 &choice) < 0)
			return bad(err, where, k, v, "worker, proxy or client");
		c->type = (enum lcfg_type)choice;
		break;
	case K_INSTANCE:
		if (parse_uint(v, 0, LCFG_MAX_INSTANCE, &u) < 0)
			return bad(err, where, k, v, "a number 0..999");
		c->instance = (unsigned)u;
		break;
	case K_GPU:
		if (!strcmp(v, "none")) {
			c->n_gpus = 0;
			break;
		}
		r = add_list(c, v, k, where, add_gpu, err);
		break;
	case K_PERSISTENT:
		r = set_str(&c->persistent, v, k, where, err);
		break;
	case K_PERSISTENT_SIZE:
		if (lcfg_parse_size(v, &sz) < 0 || sz < 16 * LCFG_MIB)
			return bad(err, where, k, v, "a size of at least 16M, such as 64G");
		c->persistent_size = sz;
		break;
	case K_SSH_PORT:
		if (parse_uint(v, 0, 65535, &u) < 0)
			return bad(err, where, k, v, "a port 1..65535, or 0 for none");
		c->ssh_port = (unsigned)u;
		break;
	case K_VSOCK_CID:
		if (parse_uint(v, 3, UINT32_MAX - 1, &u) < 0)
			return bad(err, where, k, v, "a CID 3..4294967294 (0-2 are reserved)");
		c->vsock_cid = (uint32_t)u;
		break;
	case K_IMAGE_DIR:
		r = set_str(&c->image_dir, v, k, where, err);
		break;
	case K_NAME:
		for (const char *p = v; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
				return bad(err, where, k, v, "letters, digits, '-', '_' and '.'");
		r = set_str(&c->name, v, k, where, err);
		break;
	case K_SPEC:
		r = set_str(&c->spec, v, k, where, err);
		break;
	case K_DATA:
		r = set_str(&c->data, v, k, where, err);
		break;
	case K_MEMORY:
		if (lcfg_parse_size(v, &sz) < 0 || sz < LCFG_MEM_MIN || sz % LCFG_MIB)
			return bad(err, where, k, v,
			           "a whole number of MiB, at least 256M, such as 32G");
		c->memory = sz;
		break;
	case K_CPUS:
		if (parse_uint(v, 1, 512, &u) < 0)
			return bad(err, where, k, v, "a number of vCPUs 1..512");
		c->cpus = (unsigned)u;
		break;
	case K_FORWARD:
		if (!strcmp(v, "none")) {
			c->n_fwd = 0;
			break;
		}
		r = add_list(c, v, k, where, add_forward, err);
		break;
	case K_EGRESS:
		if (parse_choice(v, (const char *const[]){"guest", "none"}, 2, &choice) < 0)
			return bad(err, where, k, v, "guest or none");
		c->egress = (enum lcfg_egress)choice;
		break;
	case K_DEV:
		if (parse_bool(v, &c->dev) < 0)
			return bad(err, where, k, v, "yes or no");
		break;
	case K_ACCEL:
		if (parse_choice(v, (const char *const[]){"auto", "kvm", "tcg"}, 3, &choice) < 0)
			return bad(err, where, k, v, "auto, kvm or tcg");
		c->accel = (enum lcfg_accel)choice;
		break;
	case K_TRANSPORT:
		if (parse_choice(v, (const char *const[]){"auto", "vsock", "vport"}, 3, &choice) <
		    0)
			return bad(err, where, k, v, "auto, vsock or vport");
		c->transport = (enum lcfg_transport)choice;
		break;
	case K_FS:
		if (parse_choice(v, (const char *const[]){"auto", "virtiofs", "9p"}, 3, &choice) <
		    0)
			return bad(err, where, k, v, "auto, virtiofs or 9p");
		c->fs = (enum lcfg_fs)choice;
		break;
	case K_QEMU:
		r = set_str(&c->qemu, v, k, where, err);
		break;
	case K_VIRTIOFSD:
		r = set_str(&c->virtiofsd, v, k, where, err);
		break;
	case K_SANDBOX:
		if (parse_choice(v, (const char *const[]){"namespace", "chroot", "none"}, 3,
		                 &choice) < 0)
			return bad(err, where, k, v, "namespace, chroot or none");
		c->sandbox = (enum lcfg_sandbox)choice;
		break;
	case K_SEAL:
		if (strcmp(v, "none") && strncmp(v, "vsock:", 6) && strncmp(v, "unix:", 5))
			return bad(err, where, k, v, "vsock:CID:PORT, unix:PATH or none");
		r = set_str(&c->seal, v, k, where, err);
		break;
	case K_RUN_DIR:
		if (v[0] != '/')
			return bad(err, where, k, v, "an absolute path");
		if (strlen(v) > 60)
			return bad(err, where, k, v,
			           "a path of at most 60 characters (unix sockets live there)");
		r = set_str(&c->run_dir, v, k, where, err);
		break;
	case K_CONSOLE:
		r = set_str(&c->console, v, k, where, err);
		break;
	case K_KERNEL:
		r = set_str(&c->kernel, v, k, where, err);
		break;
	case K_INITRD:
		r = set_str(&c->initrd, v, k, where, err);
		break;
	case K_ROOTFS:
		r = set_str(&c->rootfs, v, k, where, err);
		break;
	case K_FIRMWARE:
		r = set_str(&c->firmware, v, k, where, err);
		break;
	case K_CMDLINE:
		r = set_str(&c->cmdline, v, k, where, err);
		break;
	case K_APPEND:
		r = set_str(&c->append, v, k, where, err);
		break;
	case K_SIM_KEY:
		r = set_str(&c->sim_platform_key, v, k, where, err);
		break;
	case K_READY_TIMEOUT:
		if (parse_uint(v, 1, 86400, &u) < 0)
			return bad(err, where, k, v, "seconds 1..86400");
		c->ready_timeout = (unsigned)u;
		break;
	case K_STOP_TIMEOUT:
		if (parse_uint(v, 1, 3600, &u) < 0)
			return bad(err, where, k, v, "seconds 1..3600");
		c->stop_timeout = (unsigned)u;
		break;
	case K_COUNT:
		break;
	}
	if (r >= 0)
		mark_set(c, k->id);
	return r;
}

struct ini_ctx {
	struct lcfg *c;
	const char *path;
	FILE *f;
	int line; /* the line inih is looking at: its reader reads one line per call */
	struct cerr *err;
	int r;
};

static char *read_line(char *str, int num, void *stream)
{
	struct ini_ctx *x = stream;
	char *r = fgets(str, num, x->f);

	if (r)
		x->line++;
	return r;
}

static int on_ini(void *user, const char *section, const char *name, const char *value)
{
	struct ini_ctx *x = user;
	char where[PATH_MAX + 32];

	snprintf(where, sizeof(where), "%s:%d", x->path, x->line);
	if (!*section) {
		x->r = cerr_setx(x->err, EINVAL,
		                 "%s: key '%s' is outside any section; put it under [node], "
		                 "[docker] or [launch]",
		                 where, name ? name : "");
		return 0;
	}
	if (strcmp(section, "node") && strcmp(section, "docker") && strcmp(section, "launch")) {
		x->r = cerr_setx(x->err, EINVAL,
		                 "%s: unknown section [%s]; the sections are [node], [docker] and "
		                 "[launch]",
		                 where, section);
		return 0;
	}
	if (!name) /* a section header on its own */
		return 1;
	x->r = lcfg_set(x->c, section, name, value, where, x->err);
	if (x->r == -ENOENT)
		x->r = -EINVAL;
	return x->r < 0 ? 0 : 1;
}

int lcfg_load_file(struct lcfg *c, const char *path, struct cerr *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	struct ini_ctx x = {c, path, f, 0, err, 0};
	int r;

	if (!f)
		return cerr_set(err, errno, "config '%s'", path);
	r = ini_parse_stream(read_line, &x, on_ini, &x);
	if (x.r < 0)
		return x.r;
	if (r < 0)
		return cerr_setx(err, EIO, "config '%s': could not be read", path);
	if (r > 0)
		return cerr_setx(err, EINVAL,
		                 "%s:%d: not an INI line; expected [section] or key = value", path,
		                 r);
	return 0;
}

static int join_path(char **dst, const char *dir, const char *file, struct cerr *err)
{
	if (*dst)
		return 0;
	if (!dir)
		return 0;
	if (asprintf(dst, "%s/%s", dir, file) < 0) {
		*dst = NULL;
		return cerr_set(err, ENOMEM, "path");
	}
	return 0;
}

static int read_cmdline(struct lcfg *c, struct cerr *err)
{
	_cleanup_free_ char *txt = NULL;
	size_t len;
	int r;

	if (c->cmdline || !c->image_dir)
		return 0;
	if (asprintf(&c->cmdline_file, "%s/cmdline", c->image_dir) < 0) {
		c->cmdline_file = NULL;
		return cerr_set(err, ENOMEM, "path");
	}
	r = read_file(c->cmdline_file, 64 * 1024, &txt, &len, err);
	if (r < 0)
		return cerr_prefix(
		    err, r, "image_dir: the kernel command line (with the dm-verity root hash)");
	while (len && (txt[len - 1] == '\n' || txt[len - 1] == ' '))
		txt[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (txt[i] == '\n' || (unsigned char)txt[i] < 0x20)
			return cerr_setx(
			    err, EINVAL,
			    "'%s': the command line must be one line of printable text",
			    c->cmdline_file);
	c->cmdline = TAKE_PTR(txt);
	return 0;
}

int lcfg_finish(struct lcfg *c, struct cerr *err)
{
	bool gpu = c->n_gpus > 0;
	char sz[32];
	int r;

	if (!c->dev) {
		if (c->accel == LCFG_ACCEL_TCG)
			return cerr_setx(
			    err, EINVAL,
			    "accel 'tcg': a TDX guest needs KVM; use accel=kvm, or dev=yes "
			    "for a development VM");
		if (c->transport == LCFG_TRANSPORT_VPORT)
			return cerr_setx(err, EINVAL,
			                 "transport 'vport' is for development VMs (dev=yes); "
			                 "production uses vhost-vsock");
		if (c->fs == LCFG_FS_9P)
			return cerr_setx(
			    err, EINVAL,
			    "fs '9p' is for development VMs (dev=yes); production uses "
			    "virtio-fs");
		c->accel = LCFG_ACCEL_KVM;
		c->transport = LCFG_TRANSPORT_VSOCK;
		c->fs = LCFG_FS_VIRTIOFS;
	}
	if (!c->spec)
		return cerr_setx(
		    err, EINVAL,
		    "key 'spec' is missing: the workload spec directory ([docker] spec "
		    "= DIR or --spec DIR)");
	if (!c->persistent)
		return cerr_setx(err, EINVAL,
		                 "key 'persistent' is missing: the persistent disk image ([node] "
		                 "persistent = FILE or --persistent FILE)");
	if (!c->image_dir && !(c->kernel && c->initrd && c->rootfs))
		return cerr_setx(
		    err, EINVAL,
		    "key 'image_dir' is missing: the directory with vmlinuz, initrd.img, "
		    "rootfs.img and cmdline ([node] image_dir = DIR)");
	if (gpu && c->dev && c->transport == LCFG_TRANSPORT_VPORT)
		log_warn("a GPU in a development VM: the GPU cannot be attested without TDX");

	if (!c->memory)
		c->memory = gpu ? LCFG_GPU_MEM_WARN : 2 * LCFG_GIB;
	if (gpu && c->memory < LCFG_GPU_MEM_MIN) {
		lcfg_format_size(c->memory, sz, sizeof(sz));
		return cerr_setx(err, EINVAL,
		                 "key 'memory': %s is below the 16G minimum for a VM with a GPU "
		                 "(large models need at least 32G); raise memory",
		                 sz);
	}
	if (gpu && c->memory < LCFG_GPU_MEM_WARN) {
		lcfg_format_size(c->memory, sz, sizeof(sz));
		log_warn("memory %s with a GPU: 32G or more is recommended for large models", sz);
	}
	if (!c->cpus)
		c->cpus = gpu ? 16 : 2;

	c->cid = c->vsock_cid ? c->vsock_cid : lcfg_type_cid(c->type) + 10 * c->instance;
	if (c->ssh_port) {
		c->ssh_host = c->ssh_port + 10 * c->instance;
		if (c->ssh_host > 65535)
			return cerr_setx(err, EINVAL,
			                 "key 'ssh_port': %u + 10 x instance %u is past 65535",
			                 c->ssh_port, c->instance);
	}
	for (size_t i = 0; i < c->n_fwd; i++) {
		unsigned p = c->fwd[i].host_port + 10 * c->instance;

		if (p > 65535)
			return cerr_setx(
			    err, EINVAL,
			    "key 'forward': host port %u + 10 x instance %u is past 65535",
			    c->fwd[i].host_port, c->instance);
		c->fwd[i].port = (uint16_t)p;
	}
	/* a host port may be used once per protocol and address */
	for (size_t i = 0; i < c->n_fwd; i++) {
		if (c->ssh_host && !c->fwd[i].udp && c->fwd[i].port == c->ssh_host)
			return cerr_setx(
			    err, EINVAL,
			    "key 'forward': host port %u clashes with ssh_port (%u after "
			    "the instance offset); pick another port",
			    c->fwd[i].port, c->ssh_host);
		for (size_t j = 0; j < i; j++)
			if (c->fwd[i].udp == c->fwd[j].udp && c->fwd[i].port == c->fwd[j].port)
				return cerr_setx(
				    err, EINVAL,
				    "key 'forward': host port %s:%u is forwarded twice",
				    c->fwd[i].udp ? "udp" : "tcp", c->fwd[i].port);
	}

	if (!c->name &&
	    asprintf(&c->name, "cocoon-%s-%u", lcfg_type_name(c->type), c->instance) < 0) {
		c->name = NULL;
		return cerr_set(err, ENOMEM, "name");
	}
	if (!c->qemu && !(c->qemu = strdup("qemu-system-x86_64")))
		return cerr_set(err, ENOMEM, "qemu");
	if (!c->console && !(c->console = strdup("stdout")))
		return cerr_set(err, ENOMEM, "console");
	if (!c->seal && !(c->seal = strdup(c->dev ? "none" : "vsock:1:12345")))
		return cerr_set(err, ENOMEM, "seal");
	if (!c->dev && c->sim_platform_key)
		return cerr_setx(err, EINVAL,
		                 "key 'sim_platform_key': only development VMs (dev = yes) get the "
		                 "sim platform key; remove it");
	if (!c->dev && !strncmp(c->seal, "unix:", 5))
		return cerr_setx(err, EINVAL,
		                 "key 'seal': unix addresses are for vport channels of development "
		                 "VMs; production guests reach seal-server over vsock");
	if (!c->run_dir) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		int n;

		if (geteuid() == 0 || !xdg || !*xdg)
			n = asprintf(&c->run_dir, "/run/cocoon-launch/%s", c->name);
		else
			n = asprintf(&c->run_dir, "%s/cocoon-launch/%s", xdg, c->name);
		if (n < 0) {
			c->run_dir = NULL;
			return cerr_set(err, ENOMEM, "run_dir");
		}
		if (strlen(c->run_dir) > 60)
			return cerr_setx(err, EINVAL,
			                 "run_dir '%s' is too long for unix sockets; set run_dir",
			                 c->run_dir);
	}
	if ((r = join_path(&c->kernel, c->image_dir, "vmlinuz", err)) < 0 ||
	    (r = join_path(&c->initrd, c->image_dir, "initrd.img", err)) < 0 ||
	    (r = join_path(&c->rootfs, c->image_dir, "rootfs.img", err)) < 0)
		return r;
	if (!c->dev && (r = join_path(&c->firmware, c->image_dir, "OVMF.fd", err)) < 0)
		return r;
	if (c->firmware && !strcmp(c->firmware, "none")) {
		if (!c->dev)
			return cerr_setx(
			    err, EINVAL,
			    "key 'firmware': a TDX guest boots through OVMF; 'none' is for "
			    "development VMs");
		free(c->firmware);
		c->firmware = NULL;
	}
	if (!c->dev && !c->firmware)
		return cerr_setx(err, EINVAL, "key 'firmware' is missing: the TDX OVMF image");
	if ((r = read_cmdline(c, err)) < 0)
		return r;
	if (!c->cmdline)
		return cerr_setx(err, EINVAL,
		                 "key 'cmdline' is missing: the image's kernel command line");
	if (c->append && !c->dev)
		log_warn("append '%s': extra kernel arguments change the measured command line",
		         c->append);
	return 0;
}

static int check_file(const char *key, const char *path, struct cerr *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cerr_set(err, errno, "key '%s': '%s'", key, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cerr_setx(err, EINVAL, "key '%s': '%s' is not a regular file", key, path);
	}
	close(fd);
	return 0;
}

static int check_dir(const char *key, const char *path, bool writable, struct cerr *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return cerr_set(err, errno, "key '%s': directory '%s'", key, path);
	if (!S_ISDIR(st.st_mode))
		return cerr_setx(err, ENOTDIR, "key '%s': '%s' is not a directory", key, path);
	if (access(path, R_OK | X_OK) < 0)
		return cerr_set(err, errno, "key '%s': directory '%s' cannot be read", key, path);
	if (writable && access(path, W_OK) < 0)
		return cerr_set(err, errno, "key '%s': directory '%s' is not writable", key, path);
	return 0;
}

static int check_port(const char *what, bool udp, const char *addr, unsigned port, struct cerr *err)
{
	_cleanup_close_ int fd =
	    socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1;

	if (fd < 0)
		return cerr_set(err, errno, "socket");
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return cerr_setx(err, EINVAL, "%s: bad address '%s'", what, addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return cerr_set(
		    err, errno,
		    "%s: host port %s:%s:%u is taken; stop what uses it or pick another "
		    "port",
		    what, udp ? "udp" : "tcp", addr, port);
	return 0;
}

int lcfg_check_host(const struct lcfg *c, struct cerr *err)
{
	struct stat st;
	int r;

	if ((r = check_file("kernel", c->kernel, err)) < 0 ||
	    (r = check_file("initrd", c->initrd, err)) < 0 ||
	    (r = check_file("rootfs", c->rootfs, err)) < 0)
		return r;
	if (c->firmware && (r = check_file("firmware", c->firmware, err)) < 0)
		return r;
	if (c->sim_platform_key &&
	    (r = check_file("sim_platform_key", c->sim_platform_key, err)) < 0)
		return cerr_prefix(err, r,
		                   "the dev guest's sim TEE needs the file that seal-server "
		                   "--write-platform-key FILE writes");
	if ((r = check_dir("spec", c->spec, false, err)) < 0)
		return r;
	if (c->data && (r = check_dir("data", c->data, true, err)) < 0)
		return r;
	if (stat(c->persistent, &st) == 0) {
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			return cerr_setx(
			    err, EINVAL,
			    "key 'persistent': '%s' is neither a file nor a block device",
			    c->persistent);
		if (access(c->persistent, R_OK | W_OK) < 0)
			return cerr_set(err, errno, "key 'persistent': '%s'", c->persistent);
	} else if (errno == ENOENT) {
		_cleanup_free_ char *dir = strdup(c->persistent);
		char *slash;

		if (!dir)
			return cerr_set(err, ENOMEM, "persistent");
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		if (access(slash ? dir : ".", W_OK) < 0)
			return cerr_set(
			    err, errno,
			    "key 'persistent': '%s' is missing and cannot be created in '%s'",
			    c->persistent, slash ? dir : ".");
	} else {
		return cerr_set(err, errno, "key 'persistent': '%s'", c->persistent);
	}
	if (c->ssh_host && (r = check_port("ssh_port", false, "127.0.0.1", c->ssh_host, err)) < 0)
		return r;
	for (size_t i = 0; i < c->n_fwd; i++)
		if ((r = check_port("forward", c->fwd[i].udp, c->fwd[i].addr, c->fwd[i].port,
		                    err)) < 0)
			return r;
	return 0;
}
