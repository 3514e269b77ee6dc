/* gpucdi.h - the GPU handed to containers: a CDI spec (Container Device
 * Interface, kind nvidia.com/gpu) generated from the driver installed in the
 * guest, in place of NVIDIA's container toolkit (which Debian does not ship).
 *
 * What goes in, found under root (tests point root at a generated tree):
 *   - device nodes: /dev/nvidiaN (one CDI device "N" each, and "all"), and
 *     for every device /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools,
 *     /dev/nvidia-modeset and /dev/nvidia-caps/nvidia-cap* when present;
 *   - the driver's user-space libraries for compute and management
 *     (libcuda, libnvidia-ml, libnvidia-ptxjitcompiler, libnvidia-nvvm,
 *     libnvidia-gpucomp, ...): every `lib<name>.so.<suffix>` in the library
 *     directories, resolved through its symlinks; each is bind-mounted
 *     read-only into the container's /usr/lib/x86_64-linux-gnu under its own
 *     name and under the name of every link that leads to it (so the soname
 *     libcuda.so.1 is there without an ldconfig hook);
 *   - the driver's programs (nvidia-smi, nvidia-debugdump, the MPS pair; ELF
 *     files only, a wrapper script is passed over for the next directory),
 *     mounted at /usr/bin.
 * Podman reads the spec from /var/run/cdi (`--device nvidia.com/gpu=all`);
 * Docker 26 does too with `features.cdi` in daemon.json.
 */
#ifndef COCOON_GPUCDI_H
#define COCOON_GPUCDI_H

#include <stddef.h>

#include "cocoon/err.h"

#define GPUCDI_SPEC_PATH "/var/run/cdi/nvidia.json"
#define GPUCDI_KIND "nvidia.com/gpu"
#define GPUCDI_MAX_ENTRIES 512

struct gpucdi_opts {
	const char *root;              /* "" or NULL for / */
	const char *const *lib_dirs;   /* NULL-terminated; NULL: the defaults */
	const char *const *bin_dirs;   /* NULL-terminated; NULL: the defaults */
	const char *container_lib_dir; /* NULL: /usr/lib/x86_64-linux-gnu */
	const char *container_bin_dir; /* NULL: /usr/bin */
};

/* The spec as JSON (malloc'ed). -ENODEV naming what is missing when there is
 * no /dev/nvidiactl, no /dev/nvidiaN or no libcuda/libnvidia-ml. */
int gpucdi_spec(const struct gpucdi_opts *o, char **out, struct cerr *err);

#endif
