/* test_launchcfg.c - the launcher configuration: every key accepted in its
 * forms, every bad value refused with a message naming the key, INI files
 * with unknown sections/keys and keys in the wrong section, the instance
 * offsets, the cross-key rules of lcfg_finish() and the host checks of
 * lcfg_check_host() on files and ports the test makes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/launchcfg.h"
#include "cocoon/log.h"

static char tmp[64];

static void set_ok(struct lcfg *c, const char *key, const char *v)
{
	struct cerr err = CERR_INIT;
	int r = lcfg_set(c, NULL, key, v, "--flag", &err);

	if (r < 0)
		fail_msg("%s=%s refused: %s", key, v, err.msg);
}

/* a bad value: refused, and the message names the key */
static void set_bad(const char *key, const char *v)
{
	struct lcfg c;
	struct cerr err = CERR_INIT;

	lcfg_init(&c);
	int r = lcfg_set(&c, NULL, key, v, "--flag", &err);
	if (r != -EINVAL)
		fail_msg("%s=%s: expected -EINVAL, got %d", key, v, r);
	if (!strstr(err.msg, key) && !strstr(err.msg, "GPU"))
		fail_msg("%s=%s: message does not name the key: %s", key, v, err.msg);
	lcfg_free(&c);
}

static void bad_values(void **state)
{
	static const char *const cases[][2] = {
	    {"type", "gpu"},
	    {"type", ""},
	    {"instance", "-1"},
	    {"instance", "1000"},
	    {"instance", "1x"},
	    {"gpu", "3a:00"},
	    {"gpu", "0000:3a:00.8"},
	    {"gpu", "zz:00.0"},
	    {"gpu", "3a:00.0,3a:00.0"},
	    {"gpu", ","},
	    {"persistent", ""},
	    {"persistent_size", "1M"},
	    {"persistent_size", "10Q"},
	    {"ssh_port", "65536"},
	    {"ssh_port", "22a"},
	    {"vsock_cid", "2"},
	    {"vsock_cid", "4294967295"},
	    {"vsock_cid", "x"},
	    {"name", "a b"},
	    {"memory", "100M"},
	    {"memory", "32X"},
	    {"memory", "1.5G"},
	    {"memory", "99999999999999999999G"},
	    {"memory", "1025K"},
	    {"cpus", "0"},
	    {"cpus", "513"},
	    {"forward", "8080"},
	    {"forward", "0:80"},
	    {"forward", "8080:65536"},
	    {"forward", "sctp:8080:80"},
	    {"forward", "tcp:host.example:8080:80"},
	    {"forward", "1:2:3:4:5"},
	    {"egress", "all"},
	    {"dev", "maybe"},
	    {"accel", "hvf"},
	    {"transport", "tcp"},
	    {"fs", "nfs"},
	    {"virtiofsd_sandbox", "jail"},
	    {"seal", "tcp:1.2.3.4:5"},
	    {"run_dir", "relative/dir"},
	    {"run_dir", "/a/very/long/path/that/is/much/too/long/for/the/unix/sockets/in/it"},
	    {"ready_timeout", "0"},
	    {"stop_timeout", "3601"},
	    {"image_dir", ""},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		set_bad(cases[i][0], cases[i][1]);
}

static void good_values(void **state)
{
	struct lcfg c;
	uint64_t v;

	lcfg_init(&c);
	set_ok(&c, "type", "proxy");
	set_ok(&c, "instance", "2");
	set_ok(&c, "gpu", "3a:00.0, 0000:3b:00.00");
	set_ok(&c, "gpu", "0000:3c:00.0");
	assert_int_equal(c.n_gpus, 3);
	assert_string_equal(c.gpus[1], "0000:3b:00.0");
	set_ok(&c, "memory", "48G");
	assert_int_equal(c.memory, 48 * LCFG_GIB);
	set_ok(&c, "memory", "4096");
	assert_int_equal(c.memory, 4 * LCFG_GIB);
	set_ok(&c, "image-dir", "/img"); /* '-' and '_' are the same */
	set_ok(&c, "forward", "8080:80,udp:5353:53");
	set_ok(&c, "forward", "tcp:0.0.0.0:9000:9000");
	assert_int_equal(c.n_fwd, 3);
	assert_true(c.fwd[1].udp);
	assert_string_equal(c.fwd[0].addr, "127.0.0.1");
	assert_string_equal(c.fwd[2].addr, "0.0.0.0");
	set_ok(&c, "dev", "yes");
	assert_true(c.dev);
	set_ok(&c, "dev", "off");
	assert_false(c.dev);
	assert_int_equal(lcfg_parse_size("1T", &v), 0);
	assert_int_equal(v, 1024 * LCFG_GIB);
	assert_int_equal(lcfg_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2 * LCFG_GIB);
	assert_int_equal(lcfg_parse_size("", &v), -EINVAL);
	lcfg_free(&c);
}

static void unknown_key(void **state)
{
	struct lcfg c;
	struct cerr err = CERR_INIT;

	lcfg_init(&c);
	assert_int_equal(lcfg_set(&c, NULL, "memroy", "1G", "--memroy", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "unknown key 'memroy'"));
	assert_false(lcfg_is_key("memroy"));
	assert_true(lcfg_is_key("ssh-port"));
	lcfg_free(&c);
}

static char *write_ini(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void ini_refused(const char *text, const char *want)
{
	struct lcfg c;
	struct cerr err = CERR_INIT;

	lcfg_init(&c);
	assert_true(lcfg_load_file(&c, write_ini("bad.ini", text), &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("'%s' not in '%s'", want, err.msg);
	lcfg_free(&c);
}

static void ini_errors(void **state)
{
	ini_refused("[node]\nmemory = 32G\n",
	            "bad.ini:2: key 'memory' belongs in section [docker]");
	ini_refused("[nodes]\ntype = worker\n", "unknown section [nodes]");
	ini_refused("[node]\ncolour = blue\n", "bad.ini:2: unknown key 'colour' in [node]");
	ini_refused("[node]\ntype = worker\nthis is not ini\n", "bad.ini:3: not an INI line");
	ini_refused("[docker]\ncpus = many\n", "bad.ini:2: key 'cpus': 'many' is not valid");
	ini_refused("type = worker\n", "bad.ini:1: key 'type' is outside any section");

	struct lcfg c;
	struct cerr err = CERR_INIT;
	lcfg_init(&c);
	assert_int_equal(lcfg_load_file(&c, "/nonexistent/x.ini", &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/x.ini"));
	lcfg_free(&c);
}

/* a complete production config in c */
static void base(struct lcfg *c)
{
	lcfg_init(c);
	set_ok(c, "spec", "/spec");
	set_ok(c, "persistent", "/var/lib/cocoon/p.img");
	set_ok(c, "image_dir", "/img");
	set_ok(c, "cmdline", "console=hvc0 roothash=abc");
}

static void finish_bad(struct lcfg *c, const char *want)
{
	struct cerr err = CERR_INIT;

	assert_true(lcfg_finish(c, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("'%s' not in '%s'", want, err.msg);
	lcfg_free(c);
}

static void finish_rules(void **state)
{
	struct lcfg c;
	struct cerr err = CERR_INIT;

	base(&c);
	set_ok(&c, "instance", "3");
	set_ok(&c, "ssh_port", "2222");
	set_ok(&c, "forward", "8080:80");
	set_ok(&c, "gpu", "3a:00.0");
	assert_int_equal(lcfg_finish(&c, &err), 0);
	assert_int_equal(c.cid, 36);
	assert_int_equal(c.ssh_host, 2252);
	assert_int_equal(c.fwd[0].port, 8110);
	assert_int_equal(c.memory, 32 * LCFG_GIB);
	assert_int_equal(c.cpus, 16);
	assert_string_equal(c.kernel, "/img/vmlinuz");
	assert_string_equal(c.firmware, "/img/OVMF.fd");
	assert_string_equal(c.seal, "vsock:1:12345");
	assert_string_equal(c.name, "cocoon-worker-3");
	lcfg_free(&c);

	base(&c);
	set_ok(&c, "type", "client");
	set_ok(&c, "vsock_cid", "100");
	assert_int_equal(lcfg_finish(&c, &err), 0);
	assert_int_equal(c.cid, 100);
	lcfg_free(&c);

	base(&c);
	set_ok(&c, "gpu", "3a:00.0");
	set_ok(&c, "memory", "8G");
	finish_bad(&c, "key 'memory': 8G is below the 16G minimum for a VM with a GPU");

	base(&c);
	set_ok(&c, "ssh_port", "8080");
	set_ok(&c, "forward", "8080:80");
	finish_bad(&c, "clashes with ssh_port");

	base(&c);
	set_ok(&c, "forward", "8080:80,0.0.0.0:8080:81");
	finish_bad(&c, "host port tcp:8080 is forwarded twice");

	base(&c);
	set_ok(&c, "instance", "999");
	set_ok(&c, "ssh_port", "65000");
	finish_bad(&c, "past 65535");

	base(&c);
	set_ok(&c, "accel", "tcg");
	finish_bad(&c, "a TDX guest needs KVM");

	base(&c);
	set_ok(&c, "transport", "vport");
	finish_bad(&c, "transport 'vport' is for development VMs");

	base(&c);
	set_ok(&c, "fs", "9p");
	finish_bad(&c, "fs '9p' is for development VMs");

	base(&c);
	set_ok(&c, "firmware", "none");
	finish_bad(&c, "a TDX guest boots through OVMF");

	base(&c);
	set_ok(&c, "seal", "unix:/run/seal.sock");
	finish_bad(&c, "unix addresses are for vport channels");

	/* a production VM never gets the sim platform key */
	base(&c);
	set_ok(&c, "sim_platform_key", "/run/cocoon/sim-platform-key");
	finish_bad(&c, "only development VMs (dev = yes) get the sim platform key");

	lcfg_init(&c);
	set_ok(&c, "persistent", "/p.img");
	set_ok(&c, "image_dir", "/img");
	finish_bad(&c, "key 'spec' is missing");

	lcfg_init(&c);
	set_ok(&c, "spec", "/spec");
	set_ok(&c, "image_dir", "/img");
	finish_bad(&c, "key 'persistent' is missing");

	lcfg_init(&c);
	set_ok(&c, "spec", "/spec");
	set_ok(&c, "persistent", "/p.img");
	finish_bad(&c, "key 'image_dir' is missing");

	/* the command line comes from the image directory unless given */
	base(&c);
	free(c.cmdline);
	c.cmdline = NULL;
	finish_bad(&c, "/img/cmdline");

	/* dev: no firmware, TCG allowed, no seal by default */
	base(&c);
	set_ok(&c, "dev", "yes");
	set_ok(&c, "accel", "tcg");
	set_ok(&c, "transport", "vport");
	set_ok(&c, "fs", "9p");
	assert_int_equal(lcfg_finish(&c, &err), 0);
	assert_null(c.firmware);
	assert_string_equal(c.seal, "none");
	assert_int_equal(c.memory, 2 * LCFG_GIB);
	lcfg_free(&c);
}

static void touch(const char *name, mode_t mode)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
	chmod(p, mode);
}

static void host_bad(struct lcfg *c, const char *want)
{
	struct cerr err = CERR_INIT;

	assert_int_equal(lcfg_finish(c, &err), 0);
	assert_true(lcfg_check_host(c, &err) < 0);
	if (!strstr(err.msg, want))
		fail_msg("'%s' not in '%s'", want, err.msg);
	lcfg_free(c);
}

static void host_base(struct lcfg *c)
{
	char p[128];

	lcfg_init(c);
	set_ok(c, "dev", "yes");
	set_ok(c, "image_dir", tmp);
	snprintf(p, sizeof(p), "%s/spec", tmp);
	set_ok(c, "spec", p);
	snprintf(p, sizeof(p), "%s/new.img", tmp);
	set_ok(c, "persistent", p);
}

static void host_checks(void **state)
{
	struct lcfg c;
	struct cerr err = CERR_INIT;
	char p[128];

	touch("vmlinuz", 0644);
	touch("initrd.img", 0644);
	touch("rootfs.img", 0644);
	touch("cmdline", 0644);
	snprintf(p, sizeof(p), "%s/spec", tmp);
	mkdir(p, 0755);

	host_base(&c);
	assert_int_equal(lcfg_finish(&c, &err), 0);
	assert_int_equal(lcfg_check_host(&c, &err), 0);
	lcfg_free(&c);

	host_base(&c);
	set_ok(&c, "kernel", "/nonexistent/vmlinuz");
	host_bad(&c, "key 'kernel': '/nonexistent/vmlinuz'");

	host_base(&c);
	set_ok(&c, "spec", "/nonexistent/spec");
	host_bad(&c, "key 'spec': directory '/nonexistent/spec'");

	host_base(&c);
	snprintf(p, sizeof(p), "%s/rootfs.img", tmp);
	set_ok(&c, "spec", p);
	host_bad(&c, "is not a directory");

	host_base(&c);
	set_ok(&c, "persistent", "/nonexistent/dir/p.img");
	host_bad(&c, "cannot be created in '/nonexistent/dir'");

	/* dev: the sim platform key handed to the guest must be a file */
	host_base(&c);
	set_ok(&c, "sim_platform_key", "/nonexistent/sim-platform-key");
	host_bad(&c, "key 'sim_platform_key': '/nonexistent/sim-platform-key'");
	host_base(&c);
	set_ok(&c, "sim_platform_key", tmp);
	host_bad(&c, "key 'sim_platform_key'");
	host_base(&c);
	snprintf(p, sizeof(p), "%s/cmdline", tmp);
	set_ok(&c, "sim_platform_key", p);
	assert_int_equal(lcfg_finish(&c, &err), 0);
	assert_int_equal(lcfg_check_host(&c, &err), 0);
	lcfg_free(&c);

	if (geteuid() != 0) {
		host_base(&c);
		snprintf(p, sizeof(p), "%s/spec", tmp);
		chmod(p, 0);
		host_bad(&c, "cannot be read");
		chmod(p, 0755);
	}

	/* a host port in use */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char fwd[32];
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 1), 0);
	getsockname(s, (struct sockaddr *)&sa, &sl);
	snprintf(fwd, sizeof(fwd), "%u:80", ntohs(sa.sin_port));
	host_base(&c);
	set_ok(&c, "forward", fwd);
	host_bad(&c, "is taken");
	close(s);
}

static void sizes(void **state)
{
	char b[32];

	lcfg_format_size(32 * LCFG_GIB, b, sizeof(b));
	assert_string_equal(b, "32G");
	lcfg_format_size(512 * LCFG_MIB, b, sizeof(b));
	assert_string_equal(b, "512M");
	lcfg_format_size(1000, b, sizeof(b));
	assert_string_equal(b, "1000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bad_values),   cmocka_unit_test(good_values),
	    cmocka_unit_test(unknown_key),  cmocka_unit_test(ini_errors),
	    cmocka_unit_test(finish_rules), cmocka_unit_test(host_checks),
	    cmocka_unit_test(sizes),
	};
	int r;

	log_init("test_launchcfg");
	log_set_level(LOG_LVL_ERROR);
	snprintf(tmp, sizeof(tmp), "/tmp/test_launchcfg.XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		r = 1;
	return r;
}
