/* test_health.c - health-monitor's parts: the untrusted request, the /proc
 * readers on a fake tree, the rate windows (labels and values, with traffic
 * that differs per window so a swap of 1m and 5m shows), the disk filter
 * (NVMe counted), and the text rendering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "health.h"

static struct health_services allow;

static int parse(const char *s, struct health_request *req)
{
	struct cerr err = CERR_INIT;

	return health_request_parse((const uint8_t *)s, strlen(s), &allow, req, &err);
}

static void test_request_good(void **state)
{
	struct health_request r;

	(void)state;
	assert_int_equal(parse("status", &r), 0);
	assert_int_equal(r.cmd, HCMD_STATUS);
	assert_false(r.json);
	assert_string_equal(r.svc, "");
	assert_int_equal(parse("json status docker", &r), 0);
	assert_true(r.json);
	assert_string_equal(r.svc, "docker");
	assert_int_equal(parse("logs docker", &r), 0);
	assert_int_equal(r.lines, 100);
	assert_int_equal(parse("logs  docker  1000000 ", &r), 0);
	assert_int_equal(r.lines, 1000000);
	assert_int_equal(parse("--json all", &r), 0);
	assert_int_equal(r.cmd, HCMD_ALL);
	assert_true(r.json);
	assert_int_equal(parse("containers", &r), 0);
	assert_int_equal(parse("eventlog", &r), 0);
	assert_int_equal(parse("svc cocoon-init", &r), 0);
	assert_int_equal(parse("json attest 00112233445566778899AABBCCDDEEFF", &r), 0);
	assert_int_equal(r.cmd, HCMD_ATTEST);
	assert_int_equal(r.nonce_len, 16);
	assert_int_equal(r.nonce[15], 0xff);
	assert_int_equal(
	    parse("attest 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", &r),
	    0);
	assert_int_equal(r.nonce_len, 32);
}

static void test_request_bad(void **state)
{
	static const char *bad[] = {
	    "",
	    "json",
	    "nope",
	    "status nope",
	    "svc",
	    "svc a b",
	    "logs docker 0",
	    "logs docker -1",
	    "logs docker 1000001",
	    "logs docker 1e3",
	    "logs docker 01x",
	    "sys extra",
	    "logs ../etc/passwd",
	    "status docker\t",
	    "STATUS",
	    "status $(reboot)",
	    "attest",
	    "attest 00",
	    "attest 00112233445566778899aabbccddee",    /* 15 bytes */
	    "attest 00112233445566778899aabbccddeeff0", /* odd */
	    "attest 00112233445566778899aabbccddeefg",
	    "attest 00112233445566778899aabbccddeeff 00",
	};
	struct health_request r;
	struct cerr err = CERR_INIT;
	static const uint8_t nul[] = {'s', 'y', 's', 0, 'x'};
	static const uint8_t high[] = {'s', 'y', 's', ' ', 0xc3, 0xa9};
	uint8_t big[HEALTH_REQUEST_MAX + 1];
	char longword[HEALTH_WORD_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &r) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	assert_int_equal(health_request_parse(nul, sizeof(nul), &allow, &r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "0x00"));
	assert_int_equal(health_request_parse(high, sizeof(high), &allow, &r, &err), -EINVAL);
	memset(big, 'a', sizeof(big));
	assert_int_equal(health_request_parse(big, sizeof(big), &allow, &r, &err), -EINVAL);
	memset(longword, 'a', sizeof(longword));
	longword[sizeof(longword) - 1] = '\0';
	assert_int_equal(parse(longword, &r), -EINVAL);
	assert_int_equal(parse("logs docker 5 6", &r), -EINVAL);
	assert_int_equal(parse("a b c d e f g", &r), -EINVAL);
}

static void test_services(void **state)
{
	struct health_services s;
	struct cerr err = CERR_INIT;

	(void)state;
	assert_int_equal(health_services_parse("a,b.c,d@e", &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_true(health_services_has(&s, "d@e"));
	assert_false(health_services_has(&s, "d"));
	assert_int_equal(health_services_parse("a,,b", &s, &err), -EINVAL);
	assert_int_equal(health_services_parse("a/b", &s, &err), -EINVAL);
	assert_int_equal(health_services_parse("a b", &s, &err), -EINVAL);
}

static void test_disk_filter(void **state)
{
	(void)state;
	assert_true(disk_is_whole("nvme0n1"));
	assert_true(disk_is_whole("nvme12n3"));
	assert_false(disk_is_whole("nvme0n1p1"));
	assert_false(disk_is_whole("nvme0"));
	assert_true(disk_is_whole("vda"));
	assert_true(disk_is_whole("sdab"));
	assert_false(disk_is_whole("sda1"));
	assert_true(disk_is_whole("xvdb"));
	assert_true(disk_is_whole("mmcblk0"));
	assert_false(disk_is_whole("mmcblk0p1"));
	assert_false(disk_is_whole("loop0"));
	assert_false(disk_is_whole("dm-0"));
	assert_false(disk_is_whole("ram0"));
	assert_false(disk_is_whole("sd"));
}

/* 600 samples one second apart: network rx grows 1000 B/s for the oldest
 * 540 s, then 50 B/s for the last 60 s except 10 B/s in the last 10 s. */
static void test_rates(void **state)
{
	static struct sample_ring ring;
	struct sample s;
	struct rates r;
	uint64_t rx = 0;

	(void)state;
	sample_ring_init(&ring);
	sample_ring_rates(&ring, 10, &r);
	assert_false(r.valid);
	for (int i = 0; i < 700; i++) {
		memset(&s, 0, sizeof(s));
		s.t_ms = 1000000 + (int64_t)i * 1000;
		if (i > 0)
			rx += i > 689 ? 10 : i > 639 ? 50 : 1000;
		s.net_rx = rx;
		s.cpu_total = (uint64_t)i * 100;
		s.cpu_busy = (uint64_t)i * 25;
		s.disk_write = (uint64_t)i * 4096;
		sample_ring_push(&ring, &s);
	}
	assert_string_equal(health_windows[0].label, "10s");
	assert_int_equal(health_windows[0].seconds, 10);
	assert_string_equal(health_windows[1].label, "1m");
	assert_int_equal(health_windows[1].seconds, 60);
	assert_string_equal(health_windows[2].label, "5m");
	assert_int_equal(health_windows[2].seconds, 300);

	sample_ring_rates(&ring, 10, &r);
	assert_true(r.valid);
	assert_true(r.covered_s > 9.99 && r.covered_s < 10.01);
	assert_true(r.net_rx_bps > 9.99 && r.net_rx_bps < 10.01);
	assert_true(r.cpu_pct > 24.99 && r.cpu_pct < 25.01);
	assert_true(r.disk_write_bps > 4095.9 && r.disk_write_bps < 4096.1);
	sample_ring_rates(&ring, 60, &r);
	/* (50 * 50 + 10 * 10) / 60 */
	assert_true(r.net_rx_bps > 43.32 && r.net_rx_bps < 43.35);
	sample_ring_rates(&ring, 300, &r);
	/* (240 * 1000 + 2600) / 300 */
	assert_true(r.net_rx_bps > 808.6 && r.net_rx_bps < 808.7);
	/* the ring keeps 600: a longer window is cut to 599 s */
	sample_ring_rates(&ring, 3600, &r);
	assert_true(r.covered_s > 598.9 && r.covered_s < 599.1);
}

static void write_file_at(const char *dir, const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", dir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_fake_proc(void **state)
{
	char dir[] = "/tmp/test_health.XXXXXX", path[256];
	struct cerr err = CERR_INIT;
	struct sample s;
	json_object *o = json_object_new_object(), *v, *m;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/proc", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/proc/net", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file_at(dir, "/proc/stat",
	              "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\n"
	              "cpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n");
	write_file_at(dir, "/proc/diskstats",
	              "   8       0 sda 1 0 10 0 1 0 20 0 0 0 0\n"
	              "   8       1 sda1 1 0 10 0 1 0 20 0 0 0 0\n"
	              " 259       0 nvme0n1 1 0 100 0 1 0 200 0 0 0 0\n"
	              " 259       1 nvme0n1p1 1 0 100 0 1 0 200 0 0 0 0\n"
	              "   7       0 loop0 1 0 1000 0 1 0 2000 0 0 0 0\n"
	              " 253       0 dm-0 1 0 1000 0 1 0 2000 0 0 0 0\n");
	write_file_at(dir, "/proc/net/dev",
	              "Inter-|   Receive\n face |bytes packets\n"
	              "    lo: 999 1 0 0 0 0 0 0 999 1 0 0 0 0 0 0\n"
	              "  eth0: 1000 1 0 0 0 0 0 0 2000 1 0 0 0 0 0 0\n"
	              "  eth1: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n");
	write_file_at(dir, "/proc/uptime", "123.45 200.00\n");
	write_file_at(dir, "/proc/loadavg", "0.50 0.25 0.10 1/100 42\n");
	write_file_at(dir, "/proc/meminfo",
	              "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    500 kB\n"
	              "SwapTotal:         0 kB\nSwapFree:          0 kB\n");
	assert_int_equal(sample_read(dir, &s, &err), 0);
	assert_int_equal(s.cpu_total, 1000);
	assert_int_equal(s.cpu_busy, 150);
	assert_int_equal(s.disk_read, (10 + 100) * 512);
	assert_int_equal(s.disk_write, (20 + 200) * 512);
	assert_int_equal(s.net_rx, 1005);
	assert_int_equal(s.net_tx, 2007);

	assert_int_equal(sys_static(dir, o, &err), 0);
	assert_true(json_object_object_get_ex(o, "cores", &v));
	assert_int_equal(json_object_get_int(v), 2);
	assert_true(json_object_object_get_ex(o, "memory_bytes", &m));
	assert_true(json_object_object_get_ex(m, "available", &v));
	assert_int_equal(json_object_get_int64(v), 500 * 1024);
	assert_true(json_object_object_get_ex(o, "load", &m));
	assert_true(json_object_object_get_ex(m, "5m", &v));
	assert_true(json_object_get_double(v) > 0.24 && json_object_get_double(v) < 0.26);
	json_object_put(o);

	/* a missing /proc/stat is an error naming the file */
	snprintf(path, sizeof(path), "%s/proc/stat", dir);
	unlink(path);
	assert_true(sample_read(dir, &s, &err) < 0);
	assert_non_null(strstr(err.msg, "/proc/stat"));
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_render(void **state)
{
	json_object *o = json_tokener_parse(
	    "{\"a\":1,\"b\":{\"c\":\"x\"},\"d\":[{\"e\":1,\"f\":2},\"g\"],\"h\":[],\"i\":0.5}");
	char *s;

	(void)state;
	assert_non_null(o);
	s = health_render_text(o);
	assert_string_equal(
	    s, "a: 1\nb:\n  c: x\nd:\n  - e: 1\n    f: 2\n  - g\nh: (none)\ni: 0.50\n");
	free(s);
	json_object_put(o);
	s = health_error_reply("bad \"x\"", NULL);
	assert_string_equal(s, "{\"error\":\"bad \\\"x\\\"\"}");
	free(s);
}

int main(void)
{
	struct cerr err = CERR_INIT;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_good), cmocka_unit_test(test_request_bad),
	    cmocka_unit_test(test_services),     cmocka_unit_test(test_disk_filter),
	    cmocka_unit_test(test_rates),        cmocka_unit_test(test_fake_proc),
	    cmocka_unit_test(test_render),
	};

	if (health_services_parse(HEALTH_DEFAULT_SERVICES, &allow, &err) < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
