/* launchcfg.h - the configuration of one confidential VM as cocoon-launch
 * (and the tools that must find the same VM: health-client, the demo) read it.
 *
 * A Cocoon-style INI file with three sections; every key can also be given
 * as a command-line flag `--KEY VALUE` (`-` and `_` in names are the same):
 *
 *   [node]    type, instance, gpu, persistent, persistent_size, ssh_port,
 *             vsock_cid, image_dir, name
 *   [docker]  spec, data, memory, cpus, forward, egress
 *   [launch]  dev, accel, transport, fs, qemu, virtiofsd, virtiofsd_sandbox,
 *             seal, run_dir, console, kernel, initrd, rootfs, firmware,
 *             cmdline, append, sim_platform_key, ready_timeout, stop_timeout
 *
 * Unknown sections and keys, keys in the wrong section and bad values are
 * errors that name the file, line and key. As in Cocoon, an instance N adds
 * 10 x N to the guest CID and to every host port (ssh and forwards), so
 * instances of one type never collide.
 *
 * Reading is in three steps: lcfg_init() (defaults), lcfg_load_file() and
 * lcfg_set() (the file, then the flags, which win), lcfg_finish() (cross-key
 * rules and derived values, no access to the host). lcfg_check_host() then
 * checks what only the running host can tell (files, directories, ports).
 */
#ifndef COCOON_LAUNCHCFG_H
#define COCOON_LAUNCHCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cocoon/err.h"
#include "cocoon/pci.h"

#define LCFG_MAX_GPUS 8
#define LCFG_MAX_FORWARDS 32
#define LCFG_MAX_INSTANCE 999
#define LCFG_MIB (1024ull * 1024)
#define LCFG_GIB (1024ull * LCFG_MIB)
/* below this a VM with a GPU is refused; below LCFG_GPU_MEM_WARN it is warned about */
#define LCFG_GPU_MEM_MIN (16 * LCFG_GIB)
#define LCFG_GPU_MEM_WARN (32 * LCFG_GIB)
#define LCFG_MEM_MIN (256 * LCFG_MIB)
/* where `seal-server --write-platform-key` writes the sim key (docs/seal.md) */
#define LCFG_SIM_KEY_DEFAULT "/run/cocoon/sim-platform-key"

enum lcfg_type { LCFG_WORKER = 0, LCFG_PROXY, LCFG_CLIENT };
enum lcfg_accel { LCFG_ACCEL_AUTO = 0, LCFG_ACCEL_KVM, LCFG_ACCEL_TCG };
enum lcfg_transport { LCFG_TRANSPORT_AUTO = 0, LCFG_TRANSPORT_VSOCK, LCFG_TRANSPORT_VPORT };
enum lcfg_fs { LCFG_FS_AUTO = 0, LCFG_FS_VIRTIOFS, LCFG_FS_9P };
enum lcfg_sandbox { LCFG_SANDBOX_NAMESPACE = 0, LCFG_SANDBOX_CHROOT, LCFG_SANDBOX_NONE };
enum lcfg_egress { LCFG_EGRESS_GUEST = 0, LCFG_EGRESS_NONE };

struct lcfg_forward {
	bool udp;
	char addr[64];       /* host address to listen on; "127.0.0.1" unless given */
	uint16_t host_port;  /* as written (instance 0) */
	uint16_t guest_port; /* in the guest */
	uint16_t port;       /* host_port + 10 x instance (after lcfg_finish) */
};

struct lcfg {
	/* [node] */
	enum lcfg_type type;
	unsigned instance;
	char gpus[LCFG_MAX_GPUS][PCI_BDF_LEN];
	size_t n_gpus;
	char *persistent;
	uint64_t persistent_size; /* bytes, used when the image is created */
	unsigned ssh_port;        /* as written; 0: no ssh forward */
	uint32_t vsock_cid;       /* 0: the type's default + 10 x instance */
	char *image_dir;
	char *name; /* VM name; default cocoon-<type>-<instance> */

	/* [docker] */
	char *spec;
	char *data;
	uint64_t memory; /* bytes; 0: default */
	unsigned cpus;   /* 0: default */
	struct lcfg_forward fwd[LCFG_MAX_FORWARDS];
	size_t n_fwd;
	enum lcfg_egress egress;

	/* [launch] */
	bool dev;
	enum lcfg_accel accel;
	enum lcfg_transport transport;
	enum lcfg_fs fs;
	char *qemu;
	char *virtiofsd;
	enum lcfg_sandbox sandbox;
	char *seal; /* address of seal-server as the host reaches it, or "none" */
	char *run_dir;
	char *console; /* "stdout", "none" or a file */
	char *kernel, *initrd, *rootfs, *firmware;
	char *cmdline;          /* the image's kernel command line; default <image_dir>/cmdline */
	char *append;           /* extra kernel arguments (changes the measurement) */
	char *sim_platform_key; /* dev: handed to the guest by fw_cfg; NULL: none */
	unsigned ready_timeout; /* seconds until the guest must report ready */
	unsigned stop_timeout;  /* seconds between system_powerdown and quit */

	/* derived by lcfg_finish() */
	uint32_t cid;         /* the guest's vsock CID */
	unsigned ssh_host;    /* ssh_port + 10 x instance, 0 when no ssh */
	char *cmdline_file;   /* where the command line was read from, NULL if given */
	unsigned set_mask[4]; /* which keys were given (internal) */
};

/* Defaults: a production worker, instance 0. */
void lcfg_init(struct lcfg *c);
void lcfg_free(struct lcfg *c);

/* Reads an INI file. Errors name PATH:LINE and the key. */
int lcfg_load_file(struct lcfg *c, const char *path, struct cerr *err);
/* Sets one key (flag or INI; `-` and `_` are the same in names). where says where the
 * value came from for messages ("--memory", "node.ini:3"). -ENOENT for an unknown key. */
int lcfg_set(struct lcfg *c, const char *section, const char *key, const char *value,
             const char *where, struct cerr *err);
/* Whether name (a flag without its dashes) is a configuration key. */
bool lcfg_is_key(const char *name);
/* The name of key i (table order), NULL past the last: for building flag tables. */
const char *lcfg_key_name(size_t i);
/* One line per key for --help: "  --KEY VALUE   text". */
void lcfg_print_keys(FILE *f);

/* Cross-key rules and derived values (CID, ports, file paths); touches nothing on the host
 * except reading the command-line file. Warnings go to the log. */
int lcfg_finish(struct lcfg *c, struct cerr *err);
/* Checks the host side before anything starts: image files readable, spec and data
 * directories, the persistent image (or its directory), host ports free. */
int lcfg_check_host(const struct lcfg *c, struct cerr *err);

const char *lcfg_type_name(enum lcfg_type t);
/* The default CID of a node type at instance 0 (Cocoon: worker 6, proxy 7, client 4). */
uint32_t lcfg_type_cid(enum lcfg_type t);

/* Parses a size: digits with an optional K, M, G or T (binary; a bare number is MiB,
 * as QEMU's -m). -EINVAL on anything else or on overflow. */
int lcfg_parse_size(const char *s, uint64_t *out);
/* Formats a size the way QEMU reads it back: "32G", "512M", or bytes. */
void lcfg_format_size(uint64_t v, char *out, size_t n);

#endif
