/* testinit.c - the init of the test guest that cocoon-launch boots under TCG.
 *
 * Linked -static and put alone (with the kernel modules it needs) in an
 * initramfs by tests/guest/mkinitramfs.sh. It checks, from inside, what the
 * launcher promised, printing one "TESTINIT: PASS|FAIL <check>" line per
 * check on the console:
 *   - the kernel command line carries cocoon.tee=sim and the channels;
 *   - `spec` is mounted read-only (writes fail) with the host's content:
 *     the SHA-256 over its files matches testinit.spec_sha256, and spec.tree
 *     matches testinit.spec_tree;
 *   - `data` is writable (it writes data/guest-wrote.txt for the host);
 *   - a disk with serial `persistent` is there and writable, the disk with
 *     serial `root` is read-only;
 *   - a framed message round-trips over the seal vport (to the test's peer),
 *     and the launcher's `status` frame on the health vport is answered
 *     {"ready":true} (or {"ready":false,...} when a check failed).
 * Then it powers off (all passed) or reboots (a check failed: the launcher
 * reports a guest failure). With testinit.hold=1 it waits for the ACPI power
 * button first, so a test can stop the VM through QMP.
 *
 * With testinit.mode=programs it runs the project's guest programs instead
 * (see the section of that name below and tests/integration/guest_runs.py).
 *
 * Test code: simple and loud rather than general. No libc beyond syscalls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_alg.h>
#include <linux/input.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char cmdline[4096];
static int failures;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("TESTINIT: ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static void check(bool ok, const char *name, const char *detail)
{
	say("%s %s%s%s", ok ? "PASS" : "FAIL", name, detail ? ": " : "", detail ? detail : "");
	if (!ok)
		failures++;
}

/* value of key=... on the kernel command line, "" when absent */
static const char *param(const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);

	out[0] = '\0';
	for (const char *p = cmdline; *p;) {
		while (*p == ' ')
			p++;
		const char *e = strchr(p, ' ');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len > kl && !strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(out, n, "%.*s", (int)(len - kl - 1), p + kl + 1);
			return out;
		}
		p += len;
	}
	return out;
}

static void load_modules(void)
{
	FILE *f = fopen("/modules.order", "r");
	char line[256];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		int fd = open(line, O_RDONLY | O_CLOEXEC);

		if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) < 0)
			if (errno != EEXIST)
				say("module %s: %s", line, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
}

/* SHA-256 through the kernel's AF_ALG; out is 65 hex bytes */
struct hasher {
	int tfm, op;
};

static int hash_open_alg(struct hasher *h, const char *alg)
{
	struct sockaddr_alg sa = {.salg_family = AF_ALG, .salg_type = "hash"};

	snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", alg);

	h->tfm = socket(AF_ALG, SOCK_SEQPACKET, 0);
	if (h->tfm < 0 || bind(h->tfm, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	h->op = accept(h->tfm, NULL, 0);
	return h->op < 0 ? -1 : 0;
}

static int hash_open(struct hasher *h)
{
	return hash_open_alg(h, "sha256");
}

/* one-shot digest of n bytes through AF_ALG; false when the kernel lacks alg */
static bool digest(const char *alg, const void *p, size_t n, unsigned char *out, size_t outlen)
{
	struct hasher h;
	bool ok;

	if (hash_open_alg(&h, alg) < 0)
		return false;
	ok = send(h.op, p, n, 0) == (ssize_t)n && read(h.op, out, outlen) == (ssize_t)outlen;
	close(h.op);
	close(h.tfm);
	return ok;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void hash_put(struct hasher *h, const void *p, size_t n)
{
	if (send(h->op, p, n, MSG_MORE) < 0)
		say("hash: %s", strerror(errno));
}

static void hash_end(struct hasher *h, char out[65])
{
	unsigned char d[32];

	send(h->op, "", 0, 0);
	if (read(h->op, d, 32) != 32)
		memset(d, 0, sizeof(d));
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	close(h->op);
	close(h->tfm);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* SHA-256 over "name\0content" of the top-level regular files, sorted, without spec.tree and
 * spec.meta (the host test computes the same over the spec it handed in) */
static void spec_digest(const char *dir, char out[65])
{
	struct dirent **ents;
	struct hasher h;
	int n = scandir(dir, &ents, NULL, by_name);

	strcpy(out, "error");
	if (n < 0 || hash_open(&h) < 0)
		return;
	for (int i = 0; i < n; i++) {
		char p[512], buf[8192];
		struct stat st;
		ssize_t got;

		snprintf(p, sizeof(p), "%s/%s", dir, ents[i]->d_name);
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
		    !strcmp(ents[i]->d_name, "spec.tree") || !strcmp(ents[i]->d_name, "spec.meta"))
			continue;
		hash_put(&h, ents[i]->d_name, strlen(ents[i]->d_name) + 1);
		int fd = open(p, O_RDONLY);
		while (fd >= 0 && (got = read(fd, buf, sizeof(buf))) > 0)
			hash_put(&h, buf, (size_t)got);
		if (fd >= 0)
			close(fd);
	}
	hash_end(&h, out);
}

static bool read_small(const char *path, char *out, size_t n)
{
	int fd = open(path, O_RDONLY);
	ssize_t got;

	out[0] = '\0';
	if (fd < 0)
		return false;
	got = read(fd, out, n - 1);
	close(fd);
	if (got < 0)
		return false;
	out[got] = '\0';
	out[strcspn(out, "\n")] = '\0';
	return true;
}

static void check_shares(void)
{
	char fs[32], want[128], got[128], digest[65];
	bool ninep = !strcmp(param("cocoon.fs", fs, sizeof(fs)), "9p");
	const char *type = ninep ? "9p" : "virtiofs";
	const char *opts = ninep ? "trans=virtio,version=9p2000.L" : NULL;
	unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	struct statvfs sv;

	mkdir("/mnt", 0755);
	mkdir("/mnt/spec", 0755);
	mkdir("/data", 0755);
	check(mount("spec", "/mnt/spec", type, fl | MS_RDONLY, opts) == 0, "mount-spec", type);
	check(statvfs("/mnt/spec", &sv) == 0 && (sv.f_flag & ST_RDONLY), "spec-mounted-ro", NULL);
	int fd = open("/mnt/spec/guest-write", O_WRONLY | O_CREAT, 0644);
	check(fd < 0 && errno == EROFS, "spec-write-refused", fd < 0 ? strerror(errno) : "written");
	if (fd >= 0)
		close(fd);
	/* and the host side refuses writes too: a second mount without MS_RDONLY */
	if (!ninep) {
		mkdir("/mnt/spec-rw", 0755);
		if (mount("spec", "/mnt/spec-rw", type, fl, opts) == 0) {
			fd = open("/mnt/spec-rw/guest-write", O_WRONLY | O_CREAT, 0644);
			check(fd < 0, "spec-host-readonly", fd < 0 ? strerror(errno) : "written");
			if (fd >= 0)
				close(fd);
			umount("/mnt/spec-rw");
		}
	}
	spec_digest("/mnt/spec", digest);
	param("testinit.spec_sha256", want, sizeof(want));
	check(want[0] && !strcmp(want, digest), "spec-content", digest);
	read_small("/mnt/spec/spec.tree", got, sizeof(got));
	param("testinit.spec_tree", want, sizeof(want));
	check(want[0] && !strcmp(want, got), "spec-tree", got);

	check(mount("data", "/data", type, fl, opts) == 0, "mount-data", type);
	fd = open("/data/guest-wrote.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	check(fd >= 0 && write(fd, "hello from the guest\n", 21) == 21, "data-writable",
	      fd < 0 ? strerror(errno) : NULL);
	if (fd >= 0)
		close(fd);
}

static void check_disks(void)
{
	bool root_ro = false, persist = false;
	DIR *d = opendir("/sys/block");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[300], serial[64], ro[8];

		if (strncmp(e->d_name, "vd", 2))
			continue;
		snprintf(p, sizeof(p), "/sys/block/%s/serial", e->d_name);
		read_small(p, serial, sizeof(serial));
		snprintf(p, sizeof(p), "/sys/block/%s/ro", e->d_name);
		read_small(p, ro, sizeof(ro));
		if (!strcmp(serial, "root"))
			root_ro = !strcmp(ro, "1");
		if (!strcmp(serial, "persistent")) {
			char dev[300];

			snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
			int fd = open(dev, O_RDWR);
			persist = fd >= 0 && !strcmp(ro, "0") && pwrite(fd, "cocoon", 6, 0) == 6;
			if (fd >= 0)
				close(fd);
		}
	}
	if (d)
		closedir(d);
	check(persist, "persistent-disk", "serial=persistent, writable");
	check(root_ro, "root-disk-ro", "serial=root, read-only");
}

/* /dev/vportNpM whose sysfs name is name */
static int open_vport(const char *name)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;
	int fd = -1;

	while (d && (e = readdir(d))) {
		char p[300], n[64];

		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (read_small(p, n, sizeof(n)) && !strcmp(n, name)) {
			snprintf(p, sizeof(p), "/dev/%s", e->d_name);
			fd = open(p, O_RDWR);
			break;
		}
	}
	if (d)
		closedir(d);
	return fd;
}

static bool read_full(int fd, void *p, size_t n, int timeout_ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = {fd, POLLIN, 0};

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

static bool write_frame(int fd, const char *msg)
{
	uint32_t n = (uint32_t)strlen(msg);
	unsigned char h[4] = {n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >> 24};

	return write(fd, h, 4) == 4 && write(fd, msg, n) == (ssize_t)n;
}

static bool read_frame(int fd, char *out, size_t max, int timeout_ms)
{
	unsigned char h[4];
	uint32_t n;

	if (!read_full(fd, h, 4, timeout_ms))
		return false;
	n = h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
	if (n >= max)
		return false;
	if (!read_full(fd, out, n, timeout_ms))
		return false;
	out[n] = '\0';
	return true;
}

static void check_seal(void)
{
	char v[64], reply[256];
	int fd;

	if (!param("cocoon.seal", v, sizeof(v))[0])
		return;
	check(!strcmp(v, "vport:seal"), "cmdline-seal", v);
	fd = open_vport("seal");
	check(fd >= 0, "vport-seal-open", fd < 0 ? strerror(errno) : NULL);
	if (fd < 0)
		return;
	bool ok =
	    write_frame(fd, "ping from the guest") && read_frame(fd, reply, sizeof(reply), 20000);
	check(ok && !strcmp(reply, "echo: ping from the guest"), "vport-seal-roundtrip", reply);
	close(fd);
}

/* answers the launcher's status request; hold: then waits for the power button */
static void serve_health(void)
{
	char v[64], mode[16], req[256], reply[256];
	int fd = open_vport("health");

	check(fd >= 0, "vport-health-open", fd < 0 ? strerror(errno) : NULL);
	if (fd < 0)
		return;
	if (!read_frame(fd, req, sizeof(req), 60000)) {
		check(false, "vport-health-request", "no request");
		return;
	}
	/* what cocoon-launch asks health-monitor for */
	check(!strcmp(req, "json status"), "vport-health-request", req);
	/* testinit.health=stale: first the answer to a question some earlier
	 * peer of the channel asked (health-client's text status), which the
	 * launcher must not take for its own */
	if (!strcmp(param("testinit.health", mode, sizeof(mode)), "stale"))
		check(write_frame(fd, "ready: true\nboot: ready\n"), "vport-health-stale", NULL);
	/* testinit.health=hostile: answers a hostile guest could give, each of
	 * which the launcher must survive and none of which is "ready": a null
	 * boot state (it dereferenced NULL on it), a "ready" that is a string,
	 * terminal escapes meant for the host's console, a second value */
	if (!strcmp(mode, "hostile")) {
		static const char *const hostile[] = {
		    "{\"ready\":false,\"boot\":null}",
		    "{\"ready\":\"yes\"}",
		    "{\"ready\":false,\"boot\":\"\x1b]0;owned\x07\x1b[2J\"}",
		    "\x1b[2J{\"ready\":true}",
		    "{\"ready\":false}{\"ready\":true}",
		};
		bool ok = true;

		for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
			ok = ok && write_frame(fd, hostile[i]);
		check(ok, "vport-health-hostile", NULL);
	}
	if (failures)
		snprintf(reply, sizeof(reply), "{\"ready\":false,\"error\":\"%d checks failed\"}",
		         failures);
	else
		snprintf(reply, sizeof(reply), "{\"ready\":true,\"tee\":\"%s\"}",
		         param("cocoon.tee", v, sizeof(v)));
	check(write_frame(fd, reply), "vport-health-reply", reply);
	/* give QEMU time to pass the reply on before the VM goes away */
	usleep(500 * 1000);
	close(fd);
}

static struct pollfd pfds[8];
static int n_inputs;

/* opened before the launcher hears "ready", so no press is missed */
static void open_inputs(void)
{
	for (int i = 0; i < 8; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/dev/input/event%d", i);
		int fd = open(p, O_RDONLY);
		if (fd >= 0)
			pfds[n_inputs++] = (struct pollfd){fd, POLLIN, 0};
	}
}

static void wait_power_button(void)
{
	int n = n_inputs;

	say("holding: waiting for the power button (%d input devices)", n);
	for (;;) {
		if (poll(pfds, (nfds_t)n, 120000) <= 0) {
			say("no power button within 120 s");
			return;
		}
		for (int i = 0; i < n; i++) {
			struct input_event ev;

			if ((pfds[i].revents & POLLIN) &&
			    read(pfds[i].fd, &ev, sizeof(ev)) == (ssize_t)sizeof(ev) &&
			    ev.type == EV_KEY && ev.code == KEY_POWER) {
				say("power button pressed");
				return;
			}
		}
	}
}

/* ---- testinit.mode=programs: the guest programs themselves ----
 *
 * The initramfs also holds seal-client, seal-server, health-monitor and
 * cocoon-disk under /bin (dynamic, with their libraries) and the host
 * seal-server's sim platform key as /sim-platform-key. This mode does what
 * cocoon-init will do with them, in its order, and reports each step:
 *   - RTMR3 (sim file) extended with cocoon:spec.tree=<the share's spec.tree>;
 *   - seal-client --tee sim over the seal vport: "RESULT seal-key-sha256 <hex>"
 *     (the key itself never leaves the guest);
 *   - seal-server and seal-client both in this guest over vsock loopback (CID 1);
 *   - cocoon-disk on the persistent disk, per testinit.disk: format (blank ->
 *     LUKS2, marker written through dm-crypt, closed), reopen (marker read back),
 *     refuse (the key must not open it);
 *   - health-monitor on the health vport with boot state "ready" and a workload
 *     state, until the power button.
 */
static const char *const prog_env[] = {"PATH=/bin", "ASAN_OPTIONS=detect_leaks=0", NULL};

static pid_t spawn(char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, (char *const *)prog_env);
		say("exec %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* exit status of argv, -1 when it did not exit normally */
static int run_prog(char *const argv[])
{
	int st;
	pid_t pid = spawn(argv);

	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool write_small(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	bool ok = fd >= 0 && write(fd, p, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* sim RTMRs: 4 x 48 bytes (lib/tee.c); RTMR3 = SHA384(RTMR3 || SHA384(msg)) */
static bool extend_rtmr3(const char *msg)
{
	unsigned char rtmr[4 * 48] = {0}, buf[96];
	char line[300];
	int fd = open("/run/cocoon/sim-rtmr", O_RDONLY);

	if (fd >= 0) {
		if (read(fd, rtmr, sizeof(rtmr)) != (ssize_t)sizeof(rtmr))
			memset(rtmr, 0, sizeof(rtmr));
		close(fd);
	}
	memcpy(buf, rtmr + 3 * 48, 48);
	if (!digest("sha384", msg, strlen(msg), buf + 48, 48) ||
	    !digest("sha384", buf, sizeof(buf), rtmr + 3 * 48, 48))
		return false;
	snprintf(line, sizeof(line), "%s\n", msg);
	fd = open("/var/log/tdx-attestation.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || write(fd, line, strlen(line)) < 0)
		return false;
	close(fd);
	return write_small("/run/cocoon/sim-rtmr", rtmr, sizeof(rtmr));
}

static bool file_sha256(const char *path, char out[65])
{
	unsigned char b[64], d[32];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;

	if (fd >= 0)
		close(fd);
	if (n != 32 || !digest("sha256", b, 32, d, 32))
		return false;
	hex(d, 32, out);
	return true;
}

static void wait_file(const char *path, int ms)
{
	struct stat st;

	for (int i = 0; i < ms / 50 && stat(path, &st) < 0; i++)
		usleep(50 * 1000);
}

static void prog_seal(void)
{
	char tree[80] = "", msg[128], sum[65];

	read_small("/mnt/spec/spec.tree", tree, sizeof(tree));
	snprintf(msg, sizeof(msg), "cocoon:spec.tree=%s", tree);
	check(tree[0] && extend_rtmr3(msg), "rtmr3-spec-tree", msg);
	check(extend_rtmr3("cocoon:cocoon_debug"), "rtmr3-debug", NULL);

	char *sc[] = {"/bin/seal-client",
	              "--tee",
	              "sim",
	              "--sim-platform-key",
	              "/sim-platform-key",
	              "--connect",
	              "vport:seal",
	              "-k",
	              "disk_encryption",
	              "-o",
	              "/run/cocoon/keys/disk_encryption",
	              "--timeout",
	              "60000",
	              NULL};
	int rc = run_prog(sc);
	bool ok = rc == 0 && file_sha256("/run/cocoon/keys/disk_encryption", sum);
	check(ok, "seal-vport", NULL);
	if (ok)
		say("RESULT seal-key-sha256 %s", sum);

	/* both ends in this guest over vsock loopback */
	char *ss[] = {"/bin/seal-server",
	              "--backend",
	              "sim",
	              "--listen",
	              "vsock:any:12345",
	              "--secret-file",
	              "/run/seal-sim.key",
	              "--write-platform-key",
	              "/run/guest-platform-key",
	              "-q",
	              NULL};
	pid_t srv = spawn(ss);
	wait_file("/run/guest-platform-key", 20000);
	char *lc[] = {"/bin/seal-client",
	              "--tee",
	              "sim",
	              "--sim-platform-key",
	              "/run/guest-platform-key",
	              "--connect",
	              "vsock:1:12345",
	              "-k",
	              "app",
	              "-o",
	              "/run/app.key",
	              "--timeout",
	              "30000",
	              NULL};
	rc = run_prog(lc);
	ok = rc == 0 && file_sha256("/run/app.key", sum);
	check(ok, "seal-vsock-loopback", ok ? "vsock:1:12345, 32-byte key" : NULL);
	if (srv > 0) {
		kill(srv, SIGTERM);
		waitpid(srv, NULL, 0);
	}
}

static const char marker[] = "cocoon test data, written through dm-crypt in the first boot\n";

static void prog_disk(void)
{
	char mode[16], dev[300] = "", serial[64], p[300];
	DIR *d = opendir("/sys/block");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		snprintf(p, sizeof(p), "/sys/block/%s/serial", e->d_name);
		if (!strncmp(e->d_name, "vd", 2) && read_small(p, serial, sizeof(serial)) &&
		    !strcmp(serial, "persistent"))
			snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
	}
	if (d)
		closedir(d);
	param("testinit.disk", mode, sizeof(mode));
	if (!mode[0])
		return;
	check(dev[0], "disk-found", dev);
	char *open_args[] = {"/bin/cocoon-disk",
	                     "-k",
	                     "/run/cocoon/keys/disk_encryption",
	                     "open",
	                     dev,
	                     "persist",
	                     NULL,
	                     NULL};
	char *close_args[] = {"/bin/cocoon-disk", "close", "persist", NULL};
	char buf[sizeof(marker)] = "";
	int rc, fd;

	if (!strcmp(mode, "refuse")) {
		/* as cocoon-init runs it: a blank disk would be formatted, a LUKS
		 * disk that this key does not open must be refused, untouched */
		rc = run_prog(open_args);
		snprintf(p, sizeof(p), "exit %d", rc);
		check(rc == 1 && access("/dev/mapper/persist", F_OK) < 0, "disk-wrong-key-refused",
		      p);
		return;
	}
	if (!strcmp(mode, "reopen")) {
		/* insert --no-format before the command */
		memmove(open_args + 4, open_args + 3, 3 * sizeof(char *));
		open_args[3] = "--no-format";
	}
	rc = run_prog(open_args);
	snprintf(p, sizeof(p), "cocoon-disk open: exit %d", rc);
	check(rc == 0 && access("/dev/mapper/persist", F_OK) == 0, "disk-open", p);
	fd = open("/dev/mapper/persist", O_RDWR | O_SYNC);
	if (!strcmp(mode, "format"))
		check(fd >= 0 && pwrite(fd, marker, sizeof(marker), 0) == (ssize_t)sizeof(marker) &&
		          fsync(fd) == 0,
		      "disk-write", fd < 0 ? strerror(errno) : NULL);
	else
		check(fd >= 0 && pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf) &&
		          !memcmp(buf, marker, sizeof(marker)),
		      "disk-data-intact", fd < 0 ? strerror(errno) : NULL);
	if (fd >= 0)
		close(fd);
	rc = run_prog(close_args);
	snprintf(p, sizeof(p), "exit %d", rc);
	check(rc == 0 && access("/dev/mapper/persist", F_OK) < 0, "disk-close", p);
}

static const char workload_state[] =
    "{\"version\":1,\"updated\":1764115200,\"engine\":\"docker\",\"services\":["
    "{\"name\":\"hello\",\"image\":\"demo/hello@sha256:"
    "abababababababababababababababababababababababababababababababab\","
    "\"container_id\":\"c0ffee\",\"state\":\"running\",\"health\":\"healthy\","
    "\"restarts\":0,\"started_at\":\"2026-11-26T00:00:00Z\"}]}\n";

/* what udev does for virtio-serial: /dev/virtio-ports/NAME -> /dev/vportNpM */
static void vport_links(void)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	struct dirent *e;

	mkdir("/dev/virtio-ports", 0755);
	while (d && (e = readdir(d))) {
		char p[300], n[64], dev[300];

		snprintf(p, sizeof(p), "/sys/class/virtio-ports/%s/name", e->d_name);
		if (e->d_name[0] == '.' || !read_small(p, n, sizeof(n)) || !n[0])
			continue;
		snprintf(p, sizeof(p), "/dev/virtio-ports/%s", n);
		snprintf(dev, sizeof(dev), "../%s", e->d_name);
		check(symlink(dev, p) == 0, "vport-link", p);
	}
	if (d)
		closedir(d);
}

static void programs(void)
{
	char fs[32];
	bool ninep = !strcmp(param("cocoon.fs", fs, sizeof(fs)), "9p");

	vport_links();

	mkdir("/run", 0755);
	mkdir("/tmp", 01777);
	mkdir("/var", 0755);
	mkdir("/var/log", 0755);
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, NULL);
	mkdir("/run/cocoon", 0755);
	mkdir("/run/cocoon/keys", 0700);
	mkdir("/mnt", 0755);
	mkdir("/mnt/spec", 0755);
	check(mount("spec", "/mnt/spec", ninep ? "9p" : "virtiofs",
	            MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
	            ninep ? "trans=virtio,version=9p2000.L" : NULL) == 0,
	      "mount-spec", NULL);
	prog_seal();
	prog_disk();

	/* health-monitor answers the launcher and then health-client */
	write_small("/run/cocoon/boot-state", "ready\n", 6);
	write_small("/run/cocoon/workload-state.json", workload_state, strlen(workload_state));
	open_inputs();
	char *hm[] = {"/bin/health-monitor", "--listen", "vport:health", "--tee", "sim",
	              "--systemctl",         "none",     "--journalctl", "none",  NULL};
	pid_t mon = spawn(hm);
	check(mon > 0, "health-monitor-started", NULL);
	wait_power_button();
	if (mon > 0) {
		kill(mon, SIGTERM);
		waitpid(mon, NULL, 0);
	}
}

int main(void)
{
	char v[64];

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	read_small("/proc/cmdline", cmdline, sizeof(cmdline));
	say("started; cmdline: %s", cmdline);
	load_modules();
	usleep(200 * 1000); /* devices probe asynchronously */

	check(!strcmp(param("cocoon.tee", v, sizeof(v)), "sim"), "cmdline-tee-sim", v);
	check(!strcmp(param("cocoon.health", v, sizeof(v)), "vport:health"), "cmdline-health", v);
	if (!strcmp(param("testinit.mode", v, sizeof(v)), "programs")) {
		programs();
	} else {
		check_disks();
		check_shares();
		check_seal();
		bool hold = param("testinit.hold", v, sizeof(v))[0] == '1';
		if (hold)
			open_inputs();
		serve_health();
		if (hold && !failures)
			wait_power_button();
	}
	say("%s: %d checks failed", failures ? "FAILED" : "ALL PASSED", failures);
	sync();
	reboot(failures ? RB_AUTOBOOT : RB_POWER_OFF);
	return 0;
}
