/* gpuvfio.h - what the parts of setup-gpu-vfio share: the run context, the
 * NVIDIA tools (cctool.c) and the set-up / restore steps (bind.c). */
#ifndef SETUP_GPU_VFIO_H
#define SETUP_GPU_VFIO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "cocoon/err.h"
#include "cocoon/pci.h"
#include "cocoon/sysfs.h"

#define STATE_DIR "/var/lib/cocoon/gpu-vfio"
#define UDEV_DIR "/etc/udev/rules.d"
#define UDEV_MARK "# setup-gpu-vfio:"
#define TOOLS_URL "https://github.com/NVIDIA/gpu-admin-tools"

struct run {
	struct sysfs s;
	bool json;
	bool refused;          /* the request was refused (exit 1), not a system failure */
	const char *tools_dir; /* --gpu-admin-tools, else $GPU_ADMIN_TOOLS_DIR */
	const char *unix_group;
	json_object *actions; /* with --json: every write and command, in order */
};

/* Refuses the request: sets the message and marks the run refused. */
int refuse(struct run *x, struct cerr *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- cctool.c: NVIDIA gpu-admin-tools and nvidia-smi ---------------------- */

struct cctool {
	char script[PATH_MAX]; /* .../nvidia_gpu_tools.py, "" when not found */
	char python[PATH_MAX]; /* python3 on PATH, "" when not found */
	char looked[1024];     /* where the script was looked for */
};

/* Finds nvidia_gpu_tools.py (--gpu-admin-tools DIR, $GPU_ADMIN_TOOLS_DIR,
 * then /opt/gpu-admin-tools and /usr/local/share/gpu-admin-tools under the
 * root) and python3. -ENOENT when either is missing. */
int cctool_find(const struct run *x, struct cctool *t);
/* A refusal that says where to get the tools. */
int cctool_missing(struct run *x, const struct cctool *t, struct cerr *err);

/* what: "cc" or "ppcie". Runs the query and puts "on", "off", "devtools" or,
 * for PPCIe, "unsupported" in mode. Dry runs run no tool at all (even a
 * query reads the GPU's registers): the command is traced and mode is "". */
int cctool_query(struct run *x, const struct cctool *t, const char *bdf, const char *what,
                 char *mode, size_t n, struct cerr *err);
/* Sets the mode with the reset that makes it active, then checks with a
 * query that it took. In dry runs the command is traced with the condition
 * `when` ("if CC mode is not on") that the real run would test first. */
int cctool_set(struct run *x, const struct cctool *t, const char *bdf, const char *what,
               const char *mode, const char *when, struct cerr *err);

/* The CC mode of a GPU as far as it can be read without changing anything:
 * through nvidia-smi while the nvidia driver holds the GPU, through the
 * tools otherwise. mode "" when unknown; how says where it came from or why
 * it is unknown. */
void cc_mode_read(struct run *x, const struct pci_dev *d, const struct cctool *t, char *mode,
                  size_t n, char *how, size_t hn);

/* ---- bind.c: set-up and restore ------------------------------------------ */

/* 0 done, < 0 refused (x->refused) or failed. gpu_restore() returns 1 when
 * there was nothing to restore. */
int gpu_setup(struct run *x, const char *bdf, struct cerr *err);
int gpu_restore(struct run *x, const char *bdf, struct cerr *err);

/* The reasons a GPU's IOMMU group cannot be passed through as it is (foreign
 * devices in the group). Adds human-readable lines to reasons (an array). */
void group_problems(struct run *x, const struct pci_dev *gpu, json_object *reasons);

#endif
