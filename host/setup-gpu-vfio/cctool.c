/* cctool.c - the GPU's confidential-computing mode, through NVIDIA's
 * gpu-admin-tools (nvidia_gpu_tools.py) and, read-only, nvidia-smi.
 *
 * The tools are NVIDIA's own and are not shipped or fetched here: the
 * operator installs them and names the directory. They refuse to touch a GPU
 * that the nvidia driver holds, so modes are queried and set only once the GPU
 * is bound to vfio-pci (or to nothing). While the nvidia driver holds it,
 * `nvidia-smi conf-compute -f` tells the driver's (system-wide) CC status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpuvfio.h"

#include "cocoon/runcmd.h"
#include "cocoon/util.h"

#define QUERY_TIMEOUT_MS (120 * 1000)
#define SET_TIMEOUT_MS (300 * 1000)
#define TOOL_OUTPUT_MAX (1024 * 1024)
#define TOOLS_DEFAULT_DIRS "/opt/gpu-admin-tools:/usr/local/share/gpu-admin-tools"

static bool script_in(const char *dir, char *out, size_t n)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/nvidia_gpu_tools.py", dir) >= (int)sizeof(p) ||
	    access(p, R_OK) < 0)
		return false;
	snprintf(out, n, "%s", p);
	return true;
}

static void looked_add(struct cctool *t, const char *what)
{
	size_t l = strlen(t->looked);

	snprintf(t->looked + l, sizeof(t->looked) - l, "%s%s", l ? ", " : "", what);
}

int cctool_find(const struct run *x, struct cctool *t)
{
	const char *env = getenv("GPU_ADMIN_TOOLS_DIR");
	const char *dirs = TOOLS_DEFAULT_DIRS;
	char d[PATH_MAX];

	memset(t, 0, sizeof(*t));
	if (cmd_find(NULL, "python3", "/usr/bin:/usr/local/bin", t->python, sizeof(t->python)) < 0)
		t->python[0] = '\0';
	if (x->tools_dir) {
		looked_add(t, x->tools_dir);
		if (script_in(x->tools_dir, t->script, sizeof(t->script)))
			goto found;
		return -ENOENT; /* an explicit directory is the only one looked at */
	}
	if (env && env[0]) {
		looked_add(t, env);
		if (script_in(env, t->script, sizeof(t->script)))
			goto found;
		return -ENOENT;
	}
	for (const char *p = dirs; *p;) {
		size_t len = strcspn(p, ":");

		if (snprintf(d, sizeof(d), "%s%.*s", x->s.root, (int)len, p) >= (int)sizeof(d))
			return -ENAMETOOLONG;
		looked_add(t, d);
		if (script_in(d, t->script, sizeof(t->script)))
			goto found;
		p += len;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
found:
	return t->python[0] ? 0 : -ENOENT;
}

int cctool_missing(struct run *x, const struct cctool *t, struct cerr *err)
{
	if (t->script[0] && !t->python[0])
		return refuse(x, err,
		              "python3 not found on PATH: NVIDIA's gpu-admin-tools (%s) need it "
		              "(apt install python3)",
		              t->script);
	return refuse(x, err,
	              "NVIDIA gpu-admin-tools (nvidia_gpu_tools.py) not found in %s: get them "
	              "from " TOOLS_URL " (clone a release yourself; this tool never downloads "
	              "anything), then pass --gpu-admin-tools DIR or set GPU_ADMIN_TOOLS_DIR",
	              t->looked[0] ? t->looked : "(nowhere)");
}

/* "... CC mode is on" -> "on": the last such phrase in the output */
static bool parse_mode(const char *out, const char *phrase, char *mode, size_t n)
{
	const char *hit = NULL;

	for (const char *p = out; (p = strstr(p, phrase)); p += strlen(phrase))
		hit = p;
	if (!hit)
		return false;
	hit += strlen(phrase);
	size_t len = strspn(hit, "abcdefghijklmnopqrstuvwxyz");
	if (len == 0 || len >= n)
		return false;
	memcpy(mode, hit, len);
	mode[len] = '\0';
	return !strcmp(mode, "on") || !strcmp(mode, "off") || !strcmp(mode, "devtools");
}

/* the last non-empty line of the tool's output, for messages */
static void last_line(const char *out, char *line, size_t n)
{
	const char *end = out + strlen(out), *start;

	while (end > out && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	start = end;
	while (start > out && start[-1] != '\n')
		start--;
	snprintf(line, n, "%.*s", (int)(end - start), start);
}

static int tool_run(struct run *x, const struct cctool *t, const char *const *args, int timeout_ms,
                    const char *when, struct cmd_result *res, struct cerr *err)
{
	const char *argv[8] = {t->python, t->script};
	char shown[1024];
	size_t i;

	for (i = 0; args[i] && i + 3 < ARRAY_SIZE(argv); i++)
		argv[i + 2] = args[i];
	argv[i + 2] = NULL;
	cmd_format(argv, shown, sizeof(shown));
	if (x->s.dry_run && when)
		sysfs_trace(&x->s, "run %s (%s)", shown, when);
	else
		sysfs_trace(&x->s, "run %s", shown);
	if (x->s.dry_run) {
		memset(res, 0, sizeof(*res));
		return 1;
	}
	return cmd_run(argv, timeout_ms, TOOL_OUTPUT_MAX, res, err);
}

int cctool_query(struct run *x, const struct cctool *t, const char *bdf, const char *what,
                 char *mode, size_t n, struct cerr *err)
{
	bool cc = !strcmp(what, "cc");
	char sel[64], line[256];
	const char *args[] = {sel, cc ? "--query-cc-mode" : "--query-ppcie-mode", NULL};
	struct cmd_result res;
	int r;

	mode[0] = '\0';
	snprintf(sel, sizeof(sel), "--gpu-bdf=%s", bdf);
	r = tool_run(x, t, args, QUERY_TIMEOUT_MS, NULL, &res, err);
	if (r != 0)
		return r < 0 ? cerr_prefix(err, r, "querying the %s mode of %s",
		                           cc ? "CC" : "PPCIe", bdf)
		             : 0;
	if (parse_mode(res.out, cc ? "CC mode is " : "PPCIe mode is ", mode, n) &&
	    res.exit_code == 0) {
		cmd_result_free(&res);
		return 0;
	}
	if (!cc && strstr(res.out, "not supported")) {
		snprintf(mode, n, "unsupported");
		cmd_result_free(&res);
		return 0;
	}
	last_line(res.out, line, sizeof(line));
	r = cerr_setx(err, EIO,
	              "%s --query-%s-mode for %s exited with status %d without a mode: %s "
	              "(is the nvidia driver still bound? see setup-gpu-vfio %s)",
	              t->script, cc ? "cc" : "ppcie", bdf, res.exit_code, line[0] ? line : "-",
	              bdf);
	cmd_result_free(&res);
	return r;
}

int cctool_set(struct run *x, const struct cctool *t, const char *bdf, const char *what,
               const char *mode, const char *when, struct cerr *err)
{
	bool cc = !strcmp(what, "cc");
	char sel[64], set[64], line[256], now[16];
	const char *args[] = {
	    sel, set, cc ? "--reset-after-cc-mode-switch" : "--reset-after-ppcie-mode-switch",
	    NULL};
	struct cmd_result res;
	int r;

	snprintf(sel, sizeof(sel), "--gpu-bdf=%s", bdf);
	snprintf(set, sizeof(set), "--set-%s-mode=%s", cc ? "cc" : "ppcie", mode);
	r = tool_run(x, t, args, SET_TIMEOUT_MS, when, &res, err);
	if (r != 0)
		return r < 0 ? cerr_prefix(err, r, "setting the %s mode of %s", cc ? "CC" : "PPCIe",
		                           bdf)
		             : 0;
	if (res.exit_code != 0) {
		last_line(res.out, line, sizeof(line));
		r = cerr_setx(err, EIO, "%s %s for %s failed with status %d: %s", t->script, set,
		              bdf, res.exit_code, line[0] ? line : "-");
		cmd_result_free(&res);
		return r;
	}
	cmd_result_free(&res);
	r = cctool_query(x, t, bdf, what, now, sizeof(now), err);
	if (r < 0)
		return r;
	if (strcmp(now, mode))
		return cerr_setx(err, EIO,
		                 "%s mode of %s is still %s after %s and the reset: see the tool's "
		                 "output with --log=debug, and the GPU's firmware version",
		                 cc ? "CC" : "PPCIe", bdf, now, set);
	return 0;
}

/* `nvidia-smi conf-compute -f` once per run: "CC status: ON" */
static void nvsmi_status(struct run *x, char *mode, size_t n, char *how, size_t hn)
{
	static bool done;
	static char m[16], h[256];
	char path[PATH_MAX];
	struct cmd_result res;
	struct cerr err = CERR_INIT;

	if (!done) {
		done = true;
		if (cmd_find(x->s.root, "nvidia-smi", "/usr/bin:/usr/local/bin:/usr/sbin", path,
		             sizeof(path)) < 0) {
			snprintf(h, sizeof(h),
			         "unknown: held by the nvidia driver and nvidia-smi "
			         "not found");
		} else {
			const char *argv[] = {path, "conf-compute", "-f", NULL};

			if (cmd_run(argv, 15000, 64 * 1024, &res, &err) < 0) {
				snprintf(h, sizeof(h), "unknown: %.200s", err.msg);
			} else {
				const char *s = strstr(res.out, "CC status:");
				char word[16] = "";

				if (s)
					sscanf(s + 10, " %15[A-Za-z]", word);
				for (char *c = word; *c; c++)
					*c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
				if (res.exit_code == 0 &&
				    (!strcmp(word, "on") || !strcmp(word, "off") ||
				     !strcmp(word, "devtools"))) {
					snprintf(m, sizeof(m), "%s", word);
					snprintf(h, sizeof(h),
					         "nvidia-smi conf-compute -f, system-wide");
				} else {
					snprintf(
					    h, sizeof(h),
					    "unknown: nvidia-smi conf-compute -f gave no CC status "
					    "(exit %d)",
					    res.exit_code);
				}
			}
			cmd_result_free(&res);
		}
	}
	snprintf(mode, n, "%s", m);
	snprintf(how, hn, "%s", h);
}

void cc_mode_read(struct run *x, const struct pci_dev *d, const struct cctool *t, char *mode,
                  size_t n, char *how, size_t hn)
{
	struct cerr err = CERR_INIT;

	mode[0] = '\0';
	if (d->kind != PCI_KIND_GPU) {
		snprintf(how, hn, "not a GPU");
		return;
	}
	if (!strcmp(d->driver, "nvidia")) {
		nvsmi_status(x, mode, n, how, hn);
		return;
	}
	if (!t->script[0] || !t->python[0]) {
		snprintf(how, hn, "unknown: gpu-admin-tools not found (--gpu-admin-tools DIR)");
		return;
	}
	if (x->s.dry_run) {
		snprintf(how, hn, "unknown: not queried in a dry run");
		return;
	}
	if (cctool_query(x, t, d->bdf, "cc", mode, n, &err) < 0) {
		snprintf(how, hn, "unknown: %s", err.msg);
		mode[0] = '\0';
		return;
	}
	snprintf(how, hn, "gpu-admin-tools");
}
