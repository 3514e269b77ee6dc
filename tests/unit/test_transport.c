/* test_transport.c - address parsing (every malformed part rejected on its
 * own), and unix, tcp and vport connections end to end in a temp directory.
 *
 * vsock addresses are only parsed here: the build machine's AF_VSOCK goes to
 * its hypervisor, so no vsock socket is ever created by these tests. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
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

#include "cocoon/frame.h"
#include "cocoon/transport.h"
#include "cocoon/util.h"

static char tmpdir[64];

/* ---- helpers ---------------------------------------------------------- */

static void tpath(char *buf, size_t n, const char *name)
{
	assert_true(snprintf(buf, n, "%s/%s", tmpdir, name) < (int)n);
}

static void expect_rejected(const char *uri)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	assert_int_equal(taddr_parse(uri, &a, &err), -EINVAL);
	assert_int_equal(err.code, EINVAL);
	/* the message names the address */
	assert_non_null(strstr(err.msg, uri));
}

static void expect_listen_rejected(const char *uri)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	assert_int_equal(taddr_parse_listen(uri, &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, uri));
}

static void assert_cloexec_blocking(int fd)
{
	int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);

	assert_true(fdfl >= 0 && (fdfl & FD_CLOEXEC));
	assert_true(fl >= 0 && !(fl & O_NONBLOCK));
}

static void send_text(int fd, const char *s)
{
	struct cerr err = CERR_INIT;

	assert_int_equal(frame_write(fd, s, strlen(s), 2000, &err), 0);
}

static void expect_text(int fd, const char *s)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	int r;

	r = frame_read(fd, FRAME_MAX_DEFAULT, 2000, &out, NULL, &err);
	if (r < 0)
		fail_msg("frame_read: %s", err.msg);
	assert_string_equal((char *)out, s);
	free(out);
}

/* A request/reply in both directions over a connected pair. */
static void converse(int client, int server)
{
	send_text(client, "status seal");
	expect_text(server, "status seal");
	send_text(server, "{\"ok\":true}");
	expect_text(client, "{\"ok\":true}");
}

/* ---- parsing: accepted ------------------------------------------------ */

static void test_parse_vsock(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	assert_int_equal(taddr_parse("vsock:2:12345", &a, &err), 0);
	assert_int_equal(a.kind, TADDR_VSOCK);
	assert_int_equal(a.cid, 2);
	assert_int_equal(a.port, 12345);
	assert_int_equal(taddr_parse("vsock:4294967294:4294967295", &a, &err), 0);
	assert_int_equal(a.cid, 4294967294u);
	assert_int_equal(a.port, 4294967295u);
}

static void test_parse_vsock_any_for_listen(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;
	char s[TADDR_STR_MAX];

	assert_int_equal(taddr_parse_listen("vsock:any:9999", &a, &err), 0);
	assert_int_equal(a.cid, UINT32_MAX);
	assert_int_equal(a.port, 9999);
	assert_true(taddr_format(&a, s, sizeof(s)) > 0);
	assert_string_equal(s, "vsock:any:9999");
}

static void test_parse_unix(void **state)
{
	struct cerr err = CERR_INIT;
	char uri[200], longest[TADDR_UNIX_PATH_MAX];
	struct taddr a;

	assert_int_equal(taddr_parse("unix:/run/cocoon/seal.sock", &a, &err), 0);
	assert_int_equal(a.kind, TADDR_UNIX);
	assert_string_equal(a.path, "/run/cocoon/seal.sock");
	assert_int_equal(taddr_parse("unix:rel/x", &a, &err), 0);
	memset(longest, 'p', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	snprintf(uri, sizeof(uri), "unix:%s", longest);
	assert_int_equal(taddr_parse(uri, &a, &err), 0);
	assert_int_equal(strlen(a.path), TADDR_UNIX_PATH_MAX - 1);
}

static void test_parse_tcp(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;
	char s[TADDR_STR_MAX];

	assert_int_equal(taddr_parse("tcp:127.0.0.1:8080", &a, &err), 0);
	assert_int_equal(a.kind, TADDR_TCP);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(a.host, "127.0.0.1");
	assert_int_equal(a.port, 8080);

	assert_int_equal(taddr_parse("tcp:[::1]:65535", &a, &err), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(a.host, "::1");
	assert_int_equal(a.port, 65535);
	assert_true(taddr_format(&a, s, sizeof(s)) > 0);
	assert_string_equal(s, "tcp:[::1]:65535");

	assert_int_equal(taddr_parse("tcp:localhost:1", &a, &err), 0);
	assert_int_equal(a.family, AF_UNSPEC);
	assert_string_equal(a.host, "localhost");
	assert_int_equal(a.port, 1);
}

static void test_parse_tcp_port0_for_listen(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	assert_int_equal(taddr_parse_listen("tcp:127.0.0.1:0", &a, &err), 0);
	assert_int_equal(a.port, 0);
	expect_listen_rejected("tcp:127.0.0.1:65536");
}

static void test_parse_vport(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;
	char s[TADDR_STR_MAX];

	assert_int_equal(taddr_parse("vport:org.cocoon.seal_1-a", &a, &err), 0);
	assert_int_equal(a.kind, TADDR_VPORT);
	assert_string_equal(a.path, "org.cocoon.seal_1-a");
	assert_true(taddr_format(&a, s, sizeof(s)) > 0);
	assert_string_equal(s, "vport:org.cocoon.seal_1-a");
}

static void test_format_too_small(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;
	char s[8];

	assert_int_equal(taddr_parse("unix:/a/long/path", &a, &err), 0);
	assert_int_equal(taddr_format(&a, s, sizeof(s)), -ENAMETOOLONG);
}

/* ---- parsing: rejected ------------------------------------------------ */

static void test_reject_null_and_empty(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	assert_int_equal(taddr_parse(NULL, &a, &err), -EINVAL);
	assert_int_equal(taddr_parse("", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no scheme"));
}

static void test_reject_no_scheme(void **state)
{
	expect_rejected("localhost");
	expect_rejected("/run/seal.sock");
}

static void test_reject_unknown_scheme(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	expect_rejected("udp:1.2.3.4:5");
	expect_rejected("http://example.org:80");
	expect_rejected("VSOCK:2:1");
	expect_rejected("vsocks:2:1");
	expect_rejected(":2:1");
	assert_int_equal(taddr_parse("udp:1.2.3.4:5", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown scheme 'udp'"));
}

static void test_reject_tcp_missing_port(void **state)
{
	expect_rejected("tcp:127.0.0.1");
	expect_rejected("tcp:127.0.0.1:");
	expect_rejected("tcp:[::1]");
	expect_rejected("tcp:[::1]:");
	expect_rejected("tcp:localhost");
}

static void test_reject_vsock_missing_port(void **state)
{
	expect_rejected("vsock:2");
	expect_rejected("vsock:2:");
	expect_rejected("vsock:");
}

static void test_reject_vsock_missing_cid(void **state)
{
	expect_rejected("vsock::12345");
}

static void test_reject_tcp_port_zero(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	expect_rejected("tcp:127.0.0.1:0");
	assert_int_equal(taddr_parse("tcp:127.0.0.1:0", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "port 0"));
}

static void test_reject_tcp_port_65536(void **state)
{
	expect_rejected("tcp:127.0.0.1:65536");
	expect_rejected("tcp:127.0.0.1:99999999999");
}

static void test_reject_port_non_numeric(void **state)
{
	expect_rejected("tcp:localhost:http");
	expect_rejected("tcp:localhost:-1");
	expect_rejected("tcp:localhost:+80");
	expect_rejected("tcp:localhost: 80");
	expect_rejected("tcp:localhost:0x50");
	expect_rejected("vsock:2:abc");
	expect_rejected("vsock:2:-1");
}

static void test_reject_port_trailing_garbage(void **state)
{
	expect_rejected("tcp:127.0.0.1:80x");
	expect_rejected("tcp:127.0.0.1:80 ");
	expect_rejected("tcp:127.0.0.1:80/");
	expect_rejected("vsock:2:12345x");
	expect_rejected("vsock:2:12345:1");
	expect_rejected("tcp:[::1]:80]");
}

static void test_reject_vsock_port_overflow(void **state)
{
	expect_rejected("vsock:2:4294967296");
	expect_rejected("vsock:2:99999999999");
}

static void test_reject_vsock_bad_cid(void **state)
{
	expect_rejected("vsock:host:1");
	expect_rejected("vsock:-1:1");
	expect_rejected("vsock:4294967296:1");
	expect_rejected("vsock: 2:1");
	expect_listen_rejected("vsock:anything:1");
}

static void test_reject_vsock_any_for_connect(void **state)
{
	struct cerr err = CERR_INIT;
	struct taddr a;

	expect_rejected("vsock:any:12345");
	assert_int_equal(taddr_parse("vsock:any:12345", &a, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "only for listening"));
}

static void test_reject_empty_unix_path(void **state)
{
	expect_rejected("unix:");
}

static void test_reject_too_long_unix_path(void **state)
{
	char uri[300], p[TADDR_UNIX_PATH_MAX + 1];

	memset(p, 'p', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0'; /* 108 bytes: one too many */
	snprintf(uri, sizeof(uri), "unix:%s", p);
	expect_rejected(uri);
}

static void test_reject_vport_slash(void **state)
{
	expect_rejected("vport:a/b");
	expect_rejected("vport:../etc/passwd");
	expect_rejected("vport:/dev/sda");
}

static void test_reject_vport_bad_name(void **state)
{
	expect_rejected("vport:");
	expect_rejected("vport:.");
	expect_rejected("vport:..");
	expect_rejected("vport:a b");
	expect_rejected("vport:seal:1");
	expect_rejected("vport:s\xc3\xa9");
}

static void test_reject_tcp_bad_host(void **state)
{
	expect_rejected("tcp::80");
	expect_rejected("tcp:[]:80");
	expect_rejected("tcp:::1:80"); /* IPv6 without brackets */
	expect_rejected("tcp:[::1:80");
	expect_rejected("tcp:[::1]80");
	expect_rejected("tcp:[zz::1]:80");
	expect_rejected("tcp:[127.0.0.1]:80");
	expect_rejected("tcp:999.1.1.1:80");
	expect_rejected("tcp:1.2.3:80");
	expect_rejected("tcp:ho st:80");
	expect_rejected("tcp:-host:80");
	expect_rejected("tcp:host/x:80");
}

/* ---- unix ------------------------------------------------------------- */

static void test_unix_roundtrip(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char path[128], uri[160];
	struct stat st;
	int c, s;

	tpath(path, sizeof(path), "rt.sock");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &l, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	c = transport_connect(uri, 1000, &err);
	assert_true(c >= 0);
	s = transport_accept(&l, 1000, &err);
	assert_true(s >= 0);
	assert_cloexec_blocking(c);
	assert_cloexec_blocking(s);
	converse(c, s);
	converse(c, s); /* several exchanges on one connection */
	close(c);
	close(s);

	transport_close_listener(&l);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	transport_close_listener(&l); /* twice is harmless */
}

static void test_unix_refuses_regular_file(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char path[128], uri[160];
	struct stat st;
	int fd;

	tpath(path, sizeof(path), "precious");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	snprintf(uri, sizeof(uri), "unix:%s", path);

	assert_int_equal(transport_listen(uri, &l, &err), -EEXIST);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "not a socket"));
	assert_int_equal(l.fd, -1);
	transport_close_listener(&l);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
	unlink(path);
}

static void test_unix_replaces_stale_socket(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l1, l2;
	char path[128], uri[160];
	struct stat st;
	int c, s;

	tpath(path, sizeof(path), "stale.sock");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &l1, &err), 0);
	/* the process "dies": its socket file stays behind */
	close(l1.fd);
	assert_int_equal(stat(path, &st), 0);

	assert_int_equal(transport_listen(uri, &l2, &err), 0);
	c = transport_connect(uri, 1000, &err);
	assert_true(c >= 0);
	s = transport_accept(&l2, 1000, &err);
	assert_true(s >= 0);
	converse(c, s);
	close(c);
	close(s);
	transport_close_listener(&l2);
}

static void test_unix_refuses_live_socket(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l1, l2;
	char path[128], uri[160];
	struct stat st;

	tpath(path, sizeof(path), "live.sock");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &l1, &err), 0);
	assert_int_equal(transport_listen(uri, &l2, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, "another process"));
	transport_close_listener(&l2);
	/* the first listener's socket is untouched */
	assert_int_equal(stat(path, &st), 0);
	transport_close_listener(&l1);
}

static void test_unix_close_keeps_replaced_file(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char path[128], uri[160];
	struct stat st;
	int fd;

	tpath(path, sizeof(path), "replaced");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &l, &err), 0);
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	transport_close_listener(&l);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
}

static void test_unix_connect_missing(void **state)
{
	struct cerr err = CERR_INIT;
	char path[128], uri[160];

	tpath(path, sizeof(path), "nobody.sock");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_connect(uri, 1000, &err), -ENOENT);
	assert_non_null(strstr(err.msg, uri));
	assert_non_null(strstr(err.msg, "service"));
}

static void test_accept_timeout(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char path[128], uri[160];
	int64_t t0, dt;

	tpath(path, sizeof(path), "idle.sock");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &l, &err), 0);
	t0 = now_ms();
	assert_int_equal(transport_accept(&l, 60, &err), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 59 && dt < 2000);
	assert_non_null(strstr(err.msg, uri));
	transport_close_listener(&l);
}

static void test_listener_port_not_for_unix(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char path[128], uri[160];
	uint32_t port;

	tpath(path, sizeof(path), "noport.sock");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &l, &err), 0);
	assert_int_equal(transport_listener_port(&l, &port, &err), -EINVAL);
	transport_close_listener(&l);
}

/* ---- tcp -------------------------------------------------------------- */

static void test_tcp_port0_roundtrip(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char uri[64];
	uint32_t port = 0;
	int c, s;

	assert_int_equal(transport_listen("tcp:127.0.0.1:0", &l, &err), 0);
	assert_int_equal(transport_listener_port(&l, &port, &err), 0);
	assert_true(port > 0 && port <= 65535);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%u", (unsigned)port);
	c = transport_connect(uri, 1000, &err);
	if (c < 0)
		fail_msg("%s", err.msg);
	s = transport_accept(&l, 1000, &err);
	assert_true(s >= 0);
	assert_cloexec_blocking(c);
	assert_cloexec_blocking(s);
	converse(c, s);
	converse(s, c);
	close(c);
	close(s);
	transport_close_listener(&l);
}

static void test_tcp_ipv6_loopback(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char uri[64];
	uint32_t port = 0;
	int c, s, r;

	r = transport_listen("tcp:[::1]:0", &l, &err);
	if (r == -EADDRNOTAVAIL || r == -EAFNOSUPPORT || r == -EHOSTUNREACH)
		skip(); /* no IPv6 on this machine */
	assert_int_equal(r, 0);
	assert_int_equal(transport_listener_port(&l, &port, &err), 0);
	snprintf(uri, sizeof(uri), "tcp:[::1]:%u", (unsigned)port);
	c = transport_connect(uri, 1000, &err);
	assert_true(c >= 0);
	s = transport_accept(&l, 1000, &err);
	assert_true(s >= 0);
	converse(c, s);
	close(c);
	close(s);
	transport_close_listener(&l);
}

static void test_tcp_connect_refused(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char uri[64];
	uint32_t port = 0;

	assert_int_equal(transport_listen("tcp:127.0.0.1:0", &l, &err), 0);
	assert_int_equal(transport_listener_port(&l, &port, &err), 0);
	transport_close_listener(&l);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%u", (unsigned)port);
	assert_int_equal(transport_connect(uri, 1000, &err), -ECONNREFUSED);
	assert_non_null(strstr(err.msg, uri));
}

static void test_tcp_port_in_use(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l1, l2;
	char uri[64];
	uint32_t port = 0;

	assert_int_equal(transport_listen("tcp:127.0.0.1:0", &l1, &err), 0);
	assert_int_equal(transport_listener_port(&l1, &port, &err), 0);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%u", (unsigned)port);
	assert_int_equal(transport_listen(uri, &l2, &err), -EADDRINUSE);
	assert_non_null(strstr(err.msg, uri));
	transport_close_listener(&l2);
	transport_close_listener(&l1);
}

static void test_tcp_name_resolved(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;
	char uri[64];
	uint32_t port = 0;
	int c, s;

	assert_int_equal(transport_listen("tcp:127.0.0.1:0", &l, &err), 0);
	assert_int_equal(transport_listener_port(&l, &port, &err), 0);
	snprintf(uri, sizeof(uri), "tcp:localhost:%u", (unsigned)port);
	c = transport_connect(uri, 1000, &err);
	if (c == -EHOSTUNREACH || c == -ECONNREFUSED) {
		/* no 'localhost' in this machine's hosts, or it maps to ::1 first */
		transport_close_listener(&l);
		skip();
	}
	assert_true(c >= 0);
	s = transport_accept(&l, 1000, &err);
	assert_true(s >= 0);
	converse(c, s);
	close(c);
	close(s);
	transport_close_listener(&l);
}

/* ---- vport ------------------------------------------------------------ */

/* A unix socket at <COCOON_VPORT_DIR>/NAME stands in for the port. */
static void test_vport_connect_to_unix_socket(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener host;
	char path[128], uri[160];
	int c, s;

	tpath(path, sizeof(path), "seal");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &host, &err), 0);
	c = transport_connect("vport:seal", 1000, &err);
	if (c < 0)
		fail_msg("%s", err.msg);
	assert_cloexec_blocking(c);
	s = transport_accept(&host, 1000, &err);
	assert_true(s >= 0);
	converse(c, s);
	close(c);
	close(s);
	transport_close_listener(&host);
}

/* A FIFO opened read-write loops back what is written: enough to see that a
 * non-socket port is opened, not connected. */
static void test_vport_connect_fifo(void **state)
{
	struct cerr err = CERR_INIT;
	char path[128];
	int fd;

	tpath(path, sizeof(path), "loop");
	assert_int_equal(mkfifo(path, 0600), 0);
	fd = transport_connect("vport:loop", 1000, &err);
	if (fd < 0)
		fail_msg("%s", err.msg);
	assert_cloexec_blocking(fd);
	send_text(fd, "ping");
	expect_text(fd, "ping");
	close(fd);
	unlink(path);
}

static void test_vport_missing(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener l;

	assert_int_equal(transport_connect("vport:nosuchport", 1000, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "nosuchport"));
	assert_non_null(strstr(err.msg, "virtserialport"));
	assert_int_equal(transport_listen("vport:nosuchport", &l, &err), -ENOENT);
	assert_non_null(strstr(err.msg, tmpdir));
	transport_close_listener(&l);
}

struct guest_server {
	int rounds;
	int r;
	struct cerr err;
};

/* The guest side of a host->guest service on a vport: accept, answer one
 * request, drop the connection, accept again (reopening the port). */
static void *guest_server_main(void *arg)
{
	struct guest_server *g = arg;
	struct tlistener l;
	struct pollfd pfd;
	uint8_t *req;
	char reply[64];
	int fd;

	g->r = transport_listen("vport:health", &l, &g->err);
	if (g->r < 0)
		return NULL;
	for (int i = 0; i < g->rounds; i++) {
		fd = transport_accept(&l, 5000, &g->err);
		if (fd < 0) {
			g->r = fd;
			break;
		}
		/* accept returns once there is something to read */
		pfd = (struct pollfd){.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 0) != 1) {
			g->r = -EPROTO;
			close(fd);
			break;
		}
		g->r = frame_read(fd, FRAME_MAX_DEFAULT, 2000, &req, NULL, &g->err);
		if (g->r == 0) {
			snprintf(reply, sizeof(reply), "re:%s", (char *)req);
			free(req);
			g->r = frame_write(fd, reply, strlen(reply), 2000, &g->err);
		}
		close(fd);
		if (g->r < 0)
			break;
	}
	transport_close_listener(&l);
	return NULL;
}

static void test_vport_accept_and_reopen(void **state)
{
	struct guest_server g = {.rounds = 2, .err = CERR_INIT};
	struct cerr err = CERR_INIT;
	struct tlistener host;
	char path[128], uri[160];
	pthread_t th;
	int s;

	tpath(path, sizeof(path), "health");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &host, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, guest_server_main, &g), 0);

	/* the guest opens the port; the host takes its time to ask */
	s = transport_accept(&host, 3000, &err);
	assert_true(s >= 0);
	poll(NULL, 0, 100);
	send_text(s, "sys");
	expect_text(s, "re:sys");
	close(s);

	/* after the drop, the guest reopened the port */
	s = transport_accept(&host, 3000, &err);
	assert_true(s >= 0);
	send_text(s, "gpu");
	expect_text(s, "re:gpu");
	close(s);

	pthread_join(th, NULL);
	if (g.r < 0)
		fail_msg("guest server: %s", g.err.msg);
	transport_close_listener(&host);
}

/* The peer hangs up before saying anything: accept looks again instead of
 * handing out a dead connection. */
static void test_vport_accept_retries_after_hangup(void **state)
{
	struct guest_server g = {.rounds = 1, .err = CERR_INIT};
	struct cerr err = CERR_INIT;
	struct tlistener host;
	char path[128], uri[160];
	pthread_t th;
	int s;

	tpath(path, sizeof(path), "health");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &host, &err), 0);
	assert_int_equal(pthread_create(&th, NULL, guest_server_main, &g), 0);

	s = transport_accept(&host, 3000, &err);
	assert_true(s >= 0);
	close(s);
	s = transport_accept(&host, 3000, &err);
	assert_true(s >= 0);
	send_text(s, "all");
	expect_text(s, "re:all");
	close(s);

	pthread_join(th, NULL);
	if (g.r < 0)
		fail_msg("guest server: %s", g.err.msg);
	transport_close_listener(&host);
}

static void test_vport_accept_timeout(void **state)
{
	struct cerr err = CERR_INIT;
	struct tlistener host, l;
	char path[128], uri[160];
	int64_t t0, dt;

	tpath(path, sizeof(path), "quiet");
	snprintf(uri, sizeof(uri), "unix:%s", path);
	assert_int_equal(transport_listen(uri, &host, &err), 0);
	assert_int_equal(transport_listen("vport:quiet", &l, &err), 0);
	assert_int_equal(l.fd, -1);
	t0 = now_ms();
	assert_int_equal(transport_accept(&l, 80, &err), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 79 && dt < 2000);
	assert_non_null(strstr(err.msg, "vport:quiet"));
	transport_close_listener(&l);
	transport_close_listener(&host);
}

static void test_vport_name_cannot_escape_dir(void **state)
{
	struct cerr err = CERR_INIT;

	/* rejected by the parser before any path is built */
	assert_int_equal(transport_connect("vport:../seal", 100, &err), -EINVAL);
	assert_int_equal(transport_connect("vport:..", 100, &err), -EINVAL);
}

/* ---- fixture ---------------------------------------------------------- */

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/cocoon-transport-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv(TRANSPORT_VPORT_DIR_ENV, tmpdir, 1);
	return 0;
}

static int teardown(void **state)
{
	unsetenv(TRANSPORT_VPORT_DIR_ENV);
	return nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_vsock),
	    cmocka_unit_test(test_parse_vsock_any_for_listen),
	    cmocka_unit_test(test_parse_unix),
	    cmocka_unit_test(test_parse_tcp),
	    cmocka_unit_test(test_parse_tcp_port0_for_listen),
	    cmocka_unit_test(test_parse_vport),
	    cmocka_unit_test(test_format_too_small),
	    cmocka_unit_test(test_reject_null_and_empty),
	    cmocka_unit_test(test_reject_no_scheme),
	    cmocka_unit_test(test_reject_unknown_scheme),
	    cmocka_unit_test(test_reject_tcp_missing_port),
	    cmocka_unit_test(test_reject_vsock_missing_port),
	    cmocka_unit_test(test_reject_vsock_missing_cid),
	    cmocka_unit_test(test_reject_tcp_port_zero),
	    cmocka_unit_test(test_reject_tcp_port_65536),
	    cmocka_unit_test(test_reject_port_non_numeric),
	    cmocka_unit_test(test_reject_port_trailing_garbage),
	    cmocka_unit_test(test_reject_vsock_port_overflow),
	    cmocka_unit_test(test_reject_vsock_bad_cid),
	    cmocka_unit_test(test_reject_vsock_any_for_connect),
	    cmocka_unit_test(test_reject_empty_unix_path),
	    cmocka_unit_test(test_reject_too_long_unix_path),
	    cmocka_unit_test(test_reject_vport_slash),
	    cmocka_unit_test(test_reject_vport_bad_name),
	    cmocka_unit_test(test_reject_tcp_bad_host),
	    cmocka_unit_test(test_unix_roundtrip),
	    cmocka_unit_test(test_unix_refuses_regular_file),
	    cmocka_unit_test(test_unix_replaces_stale_socket),
	    cmocka_unit_test(test_unix_refuses_live_socket),
	    cmocka_unit_test(test_unix_close_keeps_replaced_file),
	    cmocka_unit_test(test_unix_connect_missing),
	    cmocka_unit_test(test_accept_timeout),
	    cmocka_unit_test(test_listener_port_not_for_unix),
	    cmocka_unit_test(test_tcp_port0_roundtrip),
	    cmocka_unit_test(test_tcp_ipv6_loopback),
	    cmocka_unit_test(test_tcp_connect_refused),
	    cmocka_unit_test(test_tcp_port_in_use),
	    cmocka_unit_test(test_tcp_name_resolved),
	    cmocka_unit_test(test_vport_connect_to_unix_socket),
	    cmocka_unit_test(test_vport_connect_fifo),
	    cmocka_unit_test(test_vport_missing),
	    cmocka_unit_test(test_vport_accept_and_reopen),
	    cmocka_unit_test(test_vport_accept_retries_after_hangup),
	    cmocka_unit_test(test_vport_accept_timeout),
	    cmocka_unit_test(test_vport_name_cannot_escape_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
