/* gpucdi.c - a CDI spec from the installed NVIDIA driver; see cocoon/gpucdi.h.
 *
 * Everything read here is the guest's own (the measured root file system and
 * the kernel's /dev), not the host's. Names are bounded, entries counted. */
#include "cocoon/gpucdi.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cocoon/util.h"

static const char *const default_lib_dirs[] = {"/usr/lib/x86_64-linux-gnu",
                                               "/usr/lib/x86_64-linux-gnu/nvidia/current",
                                               "/usr/lib64", "/usr/local/nvidia/lib64", NULL};
static const char *const default_bin_dirs[] = {"/usr/bin", "/usr/local/nvidia/bin", NULL};

/* compute and management libraries, no graphics */
static const char *const libs[] = {
    "libcuda",           "libnvidia-ml",     "libnvidia-ptxjitcompiler",  "libnvidia-nvvm",
    "libnvidia-gpucomp", "libnvidia-cfg",    "libnvidia-allocator",       "libnvidia-opencl",
    "libcudadebugger",   "libnvidia-pkcs11", "libnvidia-pkcs11-openssl3", NULL};
static const char *const bins[] = {"nvidia-smi", "nvidia-debugdump", "nvidia-cuda-mps-control",
                                   "nvidia-cuda-mps-server", NULL};
static const char *const ctl_nodes[] = {"/dev/nvidiactl", "/dev/nvidia-uvm",
                                        "/dev/nvidia-uvm-tools", "/dev/nvidia-modeset", NULL};

struct gen {
	const char *root;
	size_t root_len;
	json_object *mounts;
	json_object *seen; /* container paths already mounted */
	size_t n;
	bool have_cuda, have_nvml;
};

static bool is_char_dev(struct gen *g, const char *abs)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", g->root, abs);
	return stat(p, &st) == 0 && S_ISCHR(st.st_mode);
}

static json_object *node(const char *path)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "path", json_object_new_string(path));
	return o;
}

static int add_mount(struct gen *g, const char *host_abs, const char *cpath, struct cerr *err)
{
	json_object *m, *opts;

	if (json_object_object_get_ex(g->seen, cpath, NULL))
		return 0;
	if (++g->n > GPUCDI_MAX_ENTRIES)
		return cerr_setx(err, E2BIG, "more than %d driver files to mount",
		                 GPUCDI_MAX_ENTRIES);
	json_object_object_add(g->seen, cpath, NULL);
	m = json_object_new_object();
	json_object_object_add(m, "hostPath", json_object_new_string(host_abs));
	json_object_object_add(m, "containerPath", json_object_new_string(cpath));
	opts = json_object_new_array();
	json_object_array_add(opts, json_object_new_string("ro"));
	json_object_array_add(opts, json_object_new_string("nosuid"));
	json_object_array_add(opts, json_object_new_string("nodev"));
	json_object_array_add(opts, json_object_new_string("bind"));
	json_object_object_add(m, "options", opts);
	json_object_array_add(g->mounts, m);
	return 0;
}

/* realpath of root+abs, as a path without the root prefix; false when it
 * does not resolve to a regular file beneath root. */
static bool resolve(struct gen *g, const char *abs, char out[PATH_MAX])
{
	char p[PATH_MAX], rp[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(p, sizeof(p), "%s%s", g->root, abs) >= sizeof(p) || !realpath(p, rp) ||
	    stat(rp, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (g->root_len && (strncmp(rp, g->root, g->root_len) || rp[g->root_len] != '/'))
		return false;
	snprintf(out, PATH_MAX, "%s", rp + g->root_len);
	return true;
}

/* An ELF file (a program, not a wrapper script that execs one elsewhere) */
static bool is_elf(struct gen *g, const char *abs)
{
	char p[PATH_MAX], magic[4] = {0};
	FILE *f;
	bool ok;

	snprintf(p, sizeof(p), "%s%s", g->root, abs);
	if (!(f = fopen(p, "rbe")))
		return false;
	ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic,
	                                           "\x7f"
	                                           "ELF",
	                                           4);
	fclose(f);
	return ok;
}

/* lib<name>.so.<suffix>: the name is one of libs[] */
static const char *lib_match(const char *entry)
{
	for (size_t i = 0; libs[i]; i++) {
		size_t n = strlen(libs[i]);

		if (!strncmp(entry, libs[i], n) && !strncmp(entry + n, ".so.", 4) && entry[n + 4])
			return libs[i];
	}
	return NULL;
}

static int scan_libs(struct gen *g, const char *dir, const char *cdir, struct cerr *err)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(p, sizeof(p), "%s%s", g->root, dir);
	if (!(d = opendir(p)))
		return 0;
	while (r == 0 && (de = readdir(d))) {
		char abs[PATH_MAX], real[PATH_MAX], cpath[PATH_MAX];
		const char *name = lib_match(de->d_name), *base;

		if (!name ||
		    (size_t)snprintf(abs, sizeof(abs), "%s/%s", dir, de->d_name) >= sizeof(abs))
			continue;
		if (!resolve(g, abs, real))
			continue;
		base = strrchr(real, '/') + 1;
		/* the file under its own name and under the link's name */
		snprintf(cpath, sizeof(cpath), "%s/%s", cdir, base);
		if ((r = add_mount(g, real, cpath, err)) < 0)
			break;
		snprintf(cpath, sizeof(cpath), "%s/%s", cdir, de->d_name);
		r = add_mount(g, real, cpath, err);
		g->have_cuda |= !strcmp(name, "libcuda");
		g->have_nvml |= !strcmp(name, "libnvidia-ml");
	}
	closedir(d);
	return r;
}

int gpucdi_spec(const struct gpucdi_opts *o, char **out, struct cerr *err)
{
	const char *const *ld = o->lib_dirs ? o->lib_dirs : default_lib_dirs;
	const char *const *bd = o->bin_dirs ? o->bin_dirs : default_bin_dirs;
	const char *cld = o->container_lib_dir ? o->container_lib_dir : "/usr/lib/x86_64-linux-gnu";
	const char *cbd = o->container_bin_dir ? o->container_bin_dir : "/usr/bin";
	struct gen g = {.root = o->root ? o->root : ""};
	json_object *spec = NULL, *devs, *all, *common, *edits;
	char p[PATH_MAX];
	int r = 0;
	unsigned n_gpu = 0;

	g.root_len = strlen(g.root);
	if (!is_char_dev(&g, "/dev/nvidiactl"))
		return cerr_setx(err, ENODEV,
		                 "no %s/dev/nvidiactl: the nvidia driver is not loaded", g.root);
	spec = json_object_new_object();
	g.mounts = json_object_new_array();
	g.seen = json_object_new_object();
	devs = json_object_new_array();
	all = json_object_new_array();
	common = json_object_new_array();

	for (unsigned i = 0; i < 64; i++) {
		json_object *d, *e, *nodes;

		snprintf(p, sizeof(p), "/dev/nvidia%u", i);
		if (!is_char_dev(&g, p))
			continue;
		n_gpu++;
		d = json_object_new_object();
		snprintf(p + 200, sizeof(p) - 200, "%u", i);
		json_object_object_add(d, "name", json_object_new_string(p + 200));
		e = json_object_new_object();
		nodes = json_object_new_array();
		json_object_array_add(nodes, node(p));
		json_object_object_add(e, "deviceNodes", nodes);
		json_object_object_add(d, "containerEdits", e);
		json_object_array_add(devs, d);
		json_object_array_add(all, node(p));
	}
	if (!n_gpu) {
		r = cerr_setx(err, ENODEV, "no %s/dev/nvidiaN: the driver sees no GPU", g.root);
		goto out;
	}
	{
		json_object *d = json_object_new_object(), *e = json_object_new_object();

		json_object_object_add(d, "name", json_object_new_string("all"));
		json_object_object_add(e, "deviceNodes", all);
		all = NULL;
		json_object_object_add(d, "containerEdits", e);
		json_object_array_add(devs, d);
	}
	for (size_t i = 0; ctl_nodes[i]; i++)
		if (is_char_dev(&g, ctl_nodes[i]))
			json_object_array_add(common, node(ctl_nodes[i]));
	snprintf(p, sizeof(p), "%s/dev/nvidia-caps", g.root);
	{
		DIR *d = opendir(p);
		struct dirent *de;

		while (d && (de = readdir(d))) {
			char abs[PATH_MAX];

			if (strncmp(de->d_name, "nvidia-cap", 10) ||
			    (size_t)snprintf(abs, sizeof(abs), "/dev/nvidia-caps/%s", de->d_name) >=
			        sizeof(abs) ||
			    !is_char_dev(&g, abs))
				continue;
			json_object_array_add(common, node(abs));
		}
		if (d)
			closedir(d);
	}
	for (size_t i = 0; ld[i] && r == 0; i++)
		r = scan_libs(&g, ld[i], cld, err);
	if (r < 0)
		goto out;
	if (!g.have_cuda || !g.have_nvml) {
		r = cerr_setx(err, ENODEV,
		              "the driver's libraries are not there (no %s in the library "
		              "directories): install the driver's user space",
		              g.have_cuda ? "libnvidia-ml.so.*" : "libcuda.so.*");
		goto out;
	}
	for (size_t i = 0; bins[i] && r == 0; i++)
		for (size_t j = 0; bd[j]; j++) {
			char abs[PATH_MAX], real[PATH_MAX], cpath[PATH_MAX];

			snprintf(abs, sizeof(abs), "%s/%s", bd[j], bins[i]);
			if (!resolve(&g, abs, real) || !is_elf(&g, real))
				continue;
			snprintf(cpath, sizeof(cpath), "%s/%s", cbd, bins[i]);
			r = add_mount(&g, real, cpath, err);
			break;
		}
	if (r < 0)
		goto out;

	json_object_object_add(spec, "cdiVersion", json_object_new_string("0.5.0"));
	json_object_object_add(spec, "kind", json_object_new_string(GPUCDI_KIND));
	json_object_object_add(spec, "devices", devs);
	devs = NULL;
	edits = json_object_new_object();
	json_object_object_add(edits, "deviceNodes", common);
	common = NULL;
	json_object_object_add(edits, "mounts", g.mounts);
	g.mounts = NULL;
	json_object_object_add(spec, "containerEdits", edits);
	{
		const char *s = json_object_to_json_string_ext(
		    spec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		              JSON_C_TO_STRING_NOSLASHESCAPE);

		*out = s ? malloc(strlen(s) + 2) : NULL;
		if (!*out)
			r = cerr_set(err, ENOMEM, "CDI spec");
		else
			sprintf(*out, "%s\n", s);
	}
out:
	json_object_put(spec);
	json_object_put(devs);
	json_object_put(all);
	json_object_put(common);
	json_object_put(g.mounts);
	json_object_put(g.seen);
	return r;
}
