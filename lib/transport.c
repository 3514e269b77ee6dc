/* transport.c - vsock, virtio-serial, unix and tcp behind one interface; see
 * cocoon/transport.h.
 *
 * Addresses are parsed strictly up front so that a typo in a unit file or on a
 * command line fails with a message naming it, not with a connection to the
 * wrong place. Connections are made non-blocking so connect() honours the
 * caller's timeout, then switched back to blocking: frame.c puts its own
 * deadlines on every read and write.
 */
#include "cocoon/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "cocoon/util.h"

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == TADDR_UNIX_PATH_MAX,
               "TADDR_UNIX_PATH_MAX must match sun_path");

/* How long a vport accept waits before looking again at a port whose peer is
 * not there (POLLHUP), and a connect before retrying a full unix backlog. */
#define VPORT_RETRY_MS 100
#define BACKLOG_RETRY_MS 10

/* ---- parsing ---------------------------------------------------------- */

static int bad_addr(struct cerr *err, const char *uri, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad_addr(struct cerr *err, const char *uri, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return cerr_setx(err, EINVAL, "address '%s': %s", uri, why);
}

/* A decimal u32 of exactly n characters: digits only, no sign or spaces. */
static bool parse_u32(const char *s, size_t n, uint32_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > UINT32_MAX)
		return false;
	*v = (uint32_t)x;
	return true;
}

static int parse_vsock(const char *uri, const char *rest, bool listen, struct taddr *a,
                       struct cerr *err)
{
	const char *colon = strchr(rest, ':');
	size_t cidlen;

	if (!colon)
		return bad_addr(err, uri, "missing port; write vsock:CID:PORT");
	cidlen = (size_t)(colon - rest);
	if (cidlen == 0)
		return bad_addr(err, uri, "missing CID; write vsock:CID:PORT");
	if (cidlen == 3 && !memcmp(rest, "any", 3)) {
		if (!listen)
			return bad_addr(err, uri,
			                "CID 'any' is only for listening; connect to a numeric CID "
			                "(2 is the host)");
		a->cid = VMADDR_CID_ANY;
	} else if (!parse_u32(rest, cidlen, &a->cid)) {
		return bad_addr(err, uri, "CID '%.*s' is not a decimal number from 0 to 4294967295",
		                (int)cidlen, rest);
	}
	if (colon[1] == '\0')
		return bad_addr(err, uri, "missing port; write vsock:CID:PORT");
	if (strchr(colon + 1, ':'))
		return bad_addr(err, uri, "too many ':'; write vsock:CID:PORT");
	if (!parse_u32(colon + 1, strlen(colon + 1), &a->port))
		return bad_addr(err, uri, "port '%s' is not a decimal number from 0 to 4294967295",
		                colon + 1);
	return 0;
}

static bool vport_name_ok(const char *s)
{
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

static int parse_vport(const char *uri, const char *rest, struct taddr *a, struct cerr *err)
{
	size_t n = strlen(rest);

	if (n == 0)
		return bad_addr(err, uri, "missing port name; write vport:NAME");
	if (n >= sizeof(a->path))
		return bad_addr(err, uri, "port name is %zu bytes long, more than the %zu allowed",
		                n, sizeof(a->path) - 1);
	if (!vport_name_ok(rest))
		return bad_addr(err, uri,
		                "port name '%s' may only hold letters, digits, '.', '_' and '-' "
		                "(no '/'), and is not '.' or '..'",
		                rest);
	memcpy(a->path, rest, n + 1);
	return 0;
}

static int parse_unix(const char *uri, const char *rest, struct taddr *a, struct cerr *err)
{
	size_t n = strlen(rest);

	if (n == 0)
		return bad_addr(err, uri, "empty socket path; write unix:PATH");
	if (n >= sizeof(a->path))
		return bad_addr(err, uri,
		                "socket path is %zu bytes long; a unix socket path holds at most "
		                "%zu: choose a shorter one",
		                n, sizeof(a->path) - 1);
	memcpy(a->path, rest, n + 1);
	return 0;
}

static bool host_name_ok(const char *s)
{
	if (*s == '-' || *s == '.')
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

static int parse_tcp(const char *uri, const char *rest, bool listen, struct taddr *a,
                     struct cerr *err)
{
	const char *host, *port;
	size_t hostlen;
	uint32_t v;
	uint8_t bin[16];

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');

		if (!close)
			return bad_addr(err, uri, "missing ']' after the IPv6 address");
		host = rest + 1;
		hostlen = (size_t)(close - host);
		if (close[1] != ':')
			return bad_addr(err, uri, "missing port after ']'; write tcp:[IPV6]:PORT");
		port = close + 2;
	} else {
		const char *colon = strrchr(rest, ':');

		if (!colon)
			return bad_addr(err, uri, "missing port; write tcp:HOST:PORT");
		host = rest;
		hostlen = (size_t)(colon - rest);
		if (memchr(host, ':', hostlen))
			return bad_addr(err, uri,
			                "an IPv6 address must be written in brackets: "
			                "tcp:[IPV6]:PORT");
		port = colon + 1;
	}
	if (hostlen == 0)
		return bad_addr(err, uri, "missing host; write tcp:HOST:PORT");
	if (hostlen >= sizeof(a->host))
		return bad_addr(err, uri, "host name is %zu bytes long, more than the %zu allowed",
		                hostlen, sizeof(a->host) - 1);
	memcpy(a->host, host, hostlen);
	a->host[hostlen] = '\0';

	if (*port == '\0')
		return bad_addr(err, uri, "missing port; write tcp:HOST:PORT");
	if (!parse_u32(port, strlen(port), &v) || v > 65535)
		return bad_addr(err, uri, "port '%s' is not a decimal number from %d to 65535",
		                port, listen ? 0 : 1);
	if (v == 0 && !listen)
		return bad_addr(err, uri, "port 0 is not a port one can connect to (1 to 65535)");
	a->port = v;

	if (rest[0] == '[') {
		if (inet_pton(AF_INET6, a->host, bin) != 1)
			return bad_addr(err, uri, "'%s' is not an IPv6 address", a->host);
		a->family = AF_INET6;
	} else if (strspn(a->host, "0123456789.") == hostlen) {
		if (inet_pton(AF_INET, a->host, bin) != 1)
			return bad_addr(err, uri, "'%s' is not an IPv4 address (a.b.c.d)", a->host);
		a->family = AF_INET;
	} else {
		if (!host_name_ok(a->host))
			return bad_addr(err, uri,
			                "'%s' is not a host name (letters, digits, '.', '-', '_')",
			                a->host);
		a->family = AF_UNSPEC;
	}
	return 0;
}

static int parse(const char *uri, bool listen, struct taddr *out, struct cerr *err)
{
	struct taddr a;
	const char *colon;
	int r;

	if (!uri)
		return cerr_setx(err, EINVAL, "no address given");
	memset(&a, 0, sizeof(a));
	colon = strchr(uri, ':');
	if (!colon)
		return bad_addr(err, uri,
		                "no scheme; write vsock:CID:PORT, vport:NAME, unix:PATH "
		                "or tcp:HOST:PORT");
	if (colon - uri == 5 && !memcmp(uri, "vsock", 5)) {
		a.kind = TADDR_VSOCK;
		r = parse_vsock(uri, colon + 1, listen, &a, err);
	} else if (colon - uri == 5 && !memcmp(uri, "vport", 5)) {
		a.kind = TADDR_VPORT;
		r = parse_vport(uri, colon + 1, &a, err);
	} else if (colon - uri == 4 && !memcmp(uri, "unix", 4)) {
		a.kind = TADDR_UNIX;
		r = parse_unix(uri, colon + 1, &a, err);
	} else if (colon - uri == 3 && !memcmp(uri, "tcp", 3)) {
		a.kind = TADDR_TCP;
		r = parse_tcp(uri, colon + 1, listen, &a, err);
	} else {
		return bad_addr(err, uri,
		                "unknown scheme '%.*s'; use vsock:CID:PORT, vport:NAME, unix:PATH "
		                "or tcp:HOST:PORT",
		                (int)(colon - uri), uri);
	}
	if (r < 0)
		return r;
	*out = a;
	return 0;
}

int taddr_parse(const char *uri, struct taddr *out, struct cerr *err)
{
	return parse(uri, false, out, err);
}

int taddr_parse_listen(const char *uri, struct taddr *out, struct cerr *err)
{
	return parse(uri, true, out, err);
}

int taddr_format(const struct taddr *a, char *buf, size_t n)
{
	int w;

	switch (a->kind) {
	case TADDR_VSOCK:
		if (a->cid == VMADDR_CID_ANY)
			w = snprintf(buf, n, "vsock:any:%" PRIu32, a->port);
		else
			w = snprintf(buf, n, "vsock:%" PRIu32 ":%" PRIu32, a->cid, a->port);
		break;
	case TADDR_VPORT:
		w = snprintf(buf, n, "vport:%s", a->path);
		break;
	case TADDR_UNIX:
		w = snprintf(buf, n, "unix:%s", a->path);
		break;
	case TADDR_TCP:
		if (a->family == AF_INET6)
			w = snprintf(buf, n, "tcp:[%s]:%" PRIu32, a->host, a->port);
		else
			w = snprintf(buf, n, "tcp:%s:%" PRIu32, a->host, a->port);
		break;
	default:
		w = snprintf(buf, n, "(unknown address kind %d)", (int)a->kind);
		break;
	}
	if (w < 0)
		return -EINVAL;
	if ((size_t)w >= n)
		return -ENAMETOOLONG;
	return w;
}

/* ---- helpers ---------------------------------------------------------- */

static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms >= 0 ? now_ms() + timeout_ms : -1;
}

/* Milliseconds left for poll(): -1 without a deadline, 0 once it has passed. */
static int ms_left(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Polls one fd until revents or the deadline: returns revents (> 0), 0 on
 * timeout, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int r, ms;

	for (;;) {
		ms = ms_left(deadline);
		r = poll(&pfd, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r > 0)
			return pfd.revents;
		if (ms == 0)
			return 0;
	}
}

static void sleep_ms(int ms)
{
	if (ms > 0)
		poll(NULL, 0, ms);
}

static int set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

/* What to tell the operator after a failed connect. */
static const char *connect_hint(int e)
{
	switch (e) {
	case ENOENT:
		return "; nothing is there: is the service started and is the path right?";
	case ECONNREFUSED:
		return "; nothing is listening there: is the service started?";
	case EACCES:
	case EPERM:
		return "; check the permissions of the socket and its directory";
	case ETIMEDOUT:
		return "; the peer did not answer in time: is it up and reachable?";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "; check the address and the network";
	default:
		return "";
	}
}

static int connect_failed(struct cerr *err, int e, const char *uri, const char *detail)
{
	return cerr_setx(err, e, "connect to '%s'%s: %s%s", uri, detail, strerror(e),
	                 connect_hint(e));
}

/* Connects a fresh socket to sa within the deadline; returns a blocking,
 * close-on-exec fd or -errno (errno value not set in err: the caller says
 * which address). */
static int connect_sa(const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
	_cleanup_close_ int fd = -1;
	int r, e;
	socklen_t elen = sizeof(e);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, sa, salen) == 0)
			break;
		if (errno == EAGAIN) {
			/* a unix listener's backlog is full: try again shortly */
			int ms = ms_left(deadline);

			if (ms == 0)
				return -ETIMEDOUT;
			sleep_ms(ms < 0 || ms > BACKLOG_RETRY_MS ? BACKLOG_RETRY_MS : ms);
			continue;
		}
		if (errno != EINPROGRESS && errno != EINTR)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
			return -errno;
		if (e != 0)
			return -e;
		break;
	}
	r = set_blocking(fd);
	if (r < 0)
		return r;
	return TAKE_FD(fd);
}

static void tcp_nodelay(int fd)
{
	int one = 1;

	/* request/response traffic: do not let Nagle hold back a reply */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int unix_sa(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n + 1);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static int resolve_failed(struct cerr *err, int g, const char *what, const struct taddr *a,
                          const char *uri)
{
	if (g == EAI_SYSTEM)
		return cerr_set(err, errno, "%s '%s': resolving '%s'", what, uri, a->host);
	if (g == EAI_MEMORY)
		return cerr_set(err, ENOMEM, "%s '%s': resolving '%s'", what, uri, a->host);
	return cerr_setx(err, EHOSTUNREACH,
	                 "%s '%s': cannot resolve host '%s': %s; check the name or use an IP "
	                 "address",
	                 what, uri, a->host, gai_strerror(g));
}

static int resolve(const struct taddr *a, bool passive, const char *what, const char *uri,
                   struct addrinfo **res, struct cerr *err)
{
	struct addrinfo hints;
	char port[16];
	int g;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = a->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) |
	                 (a->family != AF_UNSPEC ? AI_NUMERICHOST : 0);
	snprintf(port, sizeof(port), "%" PRIu32, a->port);
	g = getaddrinfo(a->host, port, &hints, res);
	if (g != 0)
		return resolve_failed(err, g, what, a, uri);
	return 0;
}

/* <dir>/NAME of a vport, dir from COCOON_VPORT_DIR or /dev/virtio-ports. */
static int vport_path(const struct taddr *a, const char *uri, char *buf, size_t n, struct cerr *err)
{
	const char *dir = getenv(TRANSPORT_VPORT_DIR_ENV);

	if (!dir || !*dir)
		dir = TRANSPORT_VPORT_DIR;
	if (snprintf(buf, n, "%s/%s", dir, a->path) >= (int)n)
		return cerr_setx(err, ENAMETOOLONG, "'%s': path '%s/%s' is too long", uri, dir,
		                 a->path);
	return 0;
}

static int vport_missing(struct cerr *err, int e, const char *uri, const char *path)
{
	if (e == ENOENT)
		return cerr_setx(err, ENOENT,
		                 "'%s': no virtio-serial port at '%s'; is the VM started with a "
		                 "virtserialport named so (or %s pointing at the right directory)?",
		                 uri, path, TRANSPORT_VPORT_DIR_ENV);
	return cerr_set(err, e, "'%s': '%s'", uri, path);
}

/* Opens a vport for one conversation: the character device (or FIFO)
 * read-write, or, when the path is a unix socket (tests, or a host-side
 * stand-in), a connection to it. */
static int vport_open(const char *uri, const char *path, int64_t deadline, bool *is_sock,
                      struct cerr *err)
{
	struct sockaddr_un sun;
	socklen_t sl;
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return vport_missing(err, errno, uri, path);
	*is_sock = S_ISSOCK(st.st_mode);
	if (*is_sock) {
		if (unix_sa(path, &sun, &sl) < 0)
			return cerr_setx(err, ENAMETOOLONG,
			                 "'%s': socket path '%s' is too long for a unix socket",
			                 uri, path);
		fd = connect_sa((struct sockaddr *)&sun, sl, deadline);
		if (fd < 0)
			return connect_failed(err, -fd, uri, " (unix socket)");
		return fd;
	}
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int e = errno;

		if (e == EBUSY)
			return cerr_setx(err, EBUSY,
			                 "'%s': '%s' is already open (a virtio port can be open "
			                 "once): close the other user first",
			                 uri, path);
		return cerr_set(err, e, "'%s': open '%s'", uri, path);
	}
	return fd;
}

/* ---- connect ---------------------------------------------------------- */

static int connect_tcp(const struct taddr *a, const char *uri, int64_t deadline, struct cerr *err)
{
	struct addrinfo *res = NULL;
	int fd = -ENOENT, r;

	r = resolve(a, false, "connect to", uri, &res, err);
	if (r < 0)
		return r;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = connect_sa(ai->ai_addr, ai->ai_addrlen, deadline);
		if (fd >= 0 || fd == -ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return connect_failed(err, -fd, uri, "");
	tcp_nodelay(fd);
	return fd;
}

int transport_connect(const char *uri, int timeout_ms, struct cerr *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct sockaddr_un sun;
	struct sockaddr_vm svm;
	char path[PATH_MAX];
	struct taddr a;
	socklen_t sl;
	bool is_sock;
	int fd, r;

	r = taddr_parse(uri, &a, err);
	if (r < 0)
		return r;
	switch (a.kind) {
	case TADDR_UNIX:
		if (unix_sa(a.path, &sun, &sl) < 0)
			return cerr_setx(err, ENAMETOOLONG, "connect to '%s': path too long", uri);
		fd = connect_sa((struct sockaddr *)&sun, sl, deadline);
		if (fd < 0)
			return connect_failed(err, -fd, uri, "");
		return fd;
	case TADDR_TCP:
		return connect_tcp(&a, uri, deadline, err);
	case TADDR_VSOCK:
		memset(&svm, 0, sizeof(svm));
		svm.svm_family = AF_VSOCK;
		svm.svm_cid = a.cid;
		svm.svm_port = a.port;
		fd = connect_sa((struct sockaddr *)&svm, sizeof(svm), deadline);
		if (fd < 0)
			return connect_failed(err, -fd, uri, "");
		return fd;
	case TADDR_VPORT:
		r = vport_path(&a, uri, path, sizeof(path), err);
		if (r < 0)
			return r;
		return vport_open(uri, path, deadline, &is_sock, err);
	}
	return cerr_setx(err, EINVAL, "connect to '%s': unknown address kind", uri);
}

/* ---- listen and accept ------------------------------------------------ */

/* Makes room for a unix socket at path: nothing there, or a stale socket that
 * nobody accepts on, which is removed. Anything else is left alone. */
static int unix_clear_stale(const char *uri, const char *path, struct cerr *err)
{
	struct sockaddr_un sun;
	struct stat st;
	socklen_t sl;
	int fd;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return cerr_set(err, errno, "listen on '%s': stat '%s'", uri, path);
	}
	if (!S_ISSOCK(st.st_mode))
		return cerr_setx(err, EEXIST,
		                 "listen on '%s': '%s' exists and is not a socket; refusing to "
		                 "remove it: choose another path or remove it yourself",
		                 uri, path);
	if (unix_sa(path, &sun, &sl) < 0)
		return cerr_setx(err, ENAMETOOLONG, "listen on '%s': path too long", uri);
	fd = connect_sa((struct sockaddr *)&sun, sl, now_ms());
	if (fd >= 0 || fd == -ETIMEDOUT || fd == -EAGAIN) {
		if (fd >= 0)
			close(fd);
		return cerr_setx(err, EADDRINUSE,
		                 "listen on '%s': another process is listening on '%s'; stop it "
		                 "or choose another path",
		                 uri, path);
	}
	if (fd != -ECONNREFUSED)
		return cerr_set(err, -fd, "listen on '%s': checking the existing socket '%s'", uri,
		                path);
	if (unlink(path) < 0 && errno != ENOENT)
		return cerr_set(err, errno, "listen on '%s': removing the stale socket '%s'", uri,
		                path);
	return 0;
}

static int listen_unix(struct tlistener *l, const char *uri, struct cerr *err)
{
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sun;
	struct stat st;
	socklen_t sl;
	int r;

	r = unix_clear_stale(uri, l->addr.path, err);
	if (r < 0)
		return r;
	if (unix_sa(l->addr.path, &sun, &sl) < 0)
		return cerr_setx(err, ENAMETOOLONG, "listen on '%s': path too long", uri);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return cerr_set(err, errno, "listen on '%s': socket", uri);
	if (bind(fd, (struct sockaddr *)&sun, sl) < 0)
		return cerr_set(err, errno, "listen on '%s': bind '%s'", uri, l->addr.path);
	if (stat(l->addr.path, &st) == 0) {
		l->unlink_on_close = true;
		l->sock_dev = st.st_dev;
		l->sock_ino = st.st_ino;
	}
	if (listen(fd, SOMAXCONN) < 0) {
		r = cerr_set(err, errno, "listen on '%s'", uri);
		l->fd = TAKE_FD(fd);
		transport_close_listener(l);
		return r;
	}
	l->fd = TAKE_FD(fd);
	return 0;
}

static int listen_sa(const struct sockaddr *sa, socklen_t salen, bool reuse)
{
	_cleanup_close_ int fd = -1;
	int one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, sa, salen) < 0)
		return -errno;
	if (listen(fd, SOMAXCONN) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int listen_tcp(struct tlistener *l, const char *uri, struct cerr *err)
{
	struct addrinfo *res = NULL;
	int fd = -EADDRNOTAVAIL, r;

	r = resolve(&l->addr, true, "listen on", uri, &res, err);
	if (r < 0)
		return r;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = listen_sa(ai->ai_addr, ai->ai_addrlen, true);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return cerr_setx(err, -fd, "listen on '%s': %s%s", uri, strerror(-fd),
		                 fd == -EADDRINUSE ? "; another process uses the port: stop it "
		                                     "or choose another port"
		                                   : "");
	l->fd = fd;
	return 0;
}

static int listen_vsock(struct tlistener *l, const char *uri, struct cerr *err)
{
	struct sockaddr_vm svm;
	int fd;

	memset(&svm, 0, sizeof(svm));
	svm.svm_family = AF_VSOCK;
	svm.svm_cid = l->addr.cid;
	svm.svm_port = l->addr.port;
	fd = listen_sa((struct sockaddr *)&svm, sizeof(svm), false);
	if (fd < 0)
		return cerr_setx(err, -fd, "listen on '%s': %s%s", uri, strerror(-fd),
		                 fd == -EAFNOSUPPORT || fd == -ENODEV
		                     ? "; this machine has no vsock transport (load "
		                       "vhost_vsock on a host, use vport: without it)"
		                     : "");
	l->fd = fd;
	return 0;
}

static int listen_vport(struct tlistener *l, const char *uri, struct cerr *err)
{
	struct stat st;
	int r;

	r = vport_path(&l->addr, uri, l->vport_path, sizeof(l->vport_path), err);
	if (r < 0)
		return r;
	if (stat(l->vport_path, &st) < 0)
		return vport_missing(err, errno, uri, l->vport_path);
	return 0;
}

int transport_listen(const char *uri, struct tlistener *l, struct cerr *err)
{
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	r = taddr_parse_listen(uri, &l->addr, err);
	if (r < 0)
		return r;
	snprintf(l->uri, sizeof(l->uri), "%s", uri);
	switch (l->addr.kind) {
	case TADDR_UNIX:
		return listen_unix(l, uri, err);
	case TADDR_TCP:
		return listen_tcp(l, uri, err);
	case TADDR_VSOCK:
		return listen_vsock(l, uri, err);
	case TADDR_VPORT:
		return listen_vport(l, uri, err);
	}
	return cerr_setx(err, EINVAL, "listen on '%s': unknown address kind", uri);
}

/* After poll() woke up on an open vport: 1 when a request is waiting, 0 when
 * the wake-up was spurious, -1 when nobody is on the other end. */
static int vport_state(int fd, bool is_sock, int revents)
{
	ssize_t n;
	char c;

	if (is_sock) {
		/* POLLIN is also set at end of file: look at the data itself */
		n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n > 0)
			return 1;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		return -1;
	}
	/* a virtio port reports POLLHUP (and POLLIN, reads returning 0) until
	 * the host side opens its end */
	if (revents & (POLLHUP | POLLERR))
		return -1;
	return (revents & POLLIN) ? 1 : 0;
}

/* A virtio port's character device stays open between accept calls until a
 * conversation is handed out (l->fd holds it meanwhile): closing it on every
 * timeout would discard a request that QEMU had passed to the port but the
 * guest had not read yet, and the peer would wait for an answer forever. */
static int accept_vport(struct tlistener *l, int timeout_ms, struct cerr *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	_cleanup_close_ int fd = TAKE_FD(l->fd);
	bool is_sock = false;
	int r, ms;

	for (;;) {
		if (fd < 0) {
			fd = vport_open(l->uri, l->vport_path, deadline, &is_sock, err);
			if (fd < 0)
				return cerr_prefix(err, fd, "accept on '%s'", l->uri);
		}
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return cerr_set(err, -r, "accept on '%s': waiting on '%s'", l->uri,
			                l->vport_path);
		if (r == 0) {
			if (!is_sock)
				l->fd = TAKE_FD(fd);
			return cerr_setx(err, ETIMEDOUT,
			                 "accept on '%s': nothing arrived on '%s' within %d ms",
			                 l->uri, l->vport_path, timeout_ms);
		}
		r = vport_state(fd, is_sock, r);
		if (r > 0)
			return TAKE_FD(fd);
		if (r == 0)
			continue;
		/* Nobody on the other end yet, or they left before asking:
		 * look again soon. A socket's hang-up is final: reconnect. */
		if (is_sock) {
			close(fd);
			fd = -1;
		}
		ms = ms_left(deadline);
		if (ms == 0) {
			if (!is_sock)
				l->fd = TAKE_FD(fd);
			return cerr_setx(err, ETIMEDOUT,
			                 "accept on '%s': no peer on '%s' within %d ms", l->uri,
			                 l->vport_path, timeout_ms);
		}
		sleep_ms(ms < 0 || ms > VPORT_RETRY_MS ? VPORT_RETRY_MS : ms);
	}
}

int transport_accept(struct tlistener *l, int timeout_ms, struct cerr *err)
{
	int64_t deadline = deadline_of(timeout_ms);
	int fd, r;

	if (l->addr.kind == TADDR_VPORT)
		return accept_vport(l, timeout_ms, err);
	if (l->fd < 0)
		return cerr_setx(err, EBADF, "accept on '%s': the listener is closed", l->uri);
	for (;;) {
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			if (l->addr.kind == TADDR_TCP)
				tcp_nodelay(fd);
			return fd;
		}
		switch (errno) {
		case EINTR:
		case ECONNABORTED:
		/* errors pending on the new connection: the listener is fine */
		case EPROTO:
		case ENETDOWN:
		case ENOPROTOOPT:
		case EHOSTDOWN:
		case ENONET:
		case EHOSTUNREACH:
		case ENETUNREACH:
			continue;
		case EAGAIN:
#if EWOULDBLOCK != EAGAIN
		case EWOULDBLOCK:
#endif
			break;
		default:
			return cerr_set(err, errno, "accept on '%s'", l->uri);
		}
		r = wait_fd(l->fd, POLLIN, deadline);
		if (r < 0)
			return cerr_set(err, -r, "accept on '%s'", l->uri);
		if (r == 0)
			return cerr_setx(err, ETIMEDOUT,
			                 "accept on '%s': nobody connected within %d ms", l->uri,
			                 timeout_ms);
	}
}

int transport_listener_port(const struct tlistener *l, uint32_t *port, struct cerr *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if ((l->addr.kind != TADDR_TCP && l->addr.kind != TADDR_VSOCK) || l->fd < 0)
		return cerr_setx(err, EINVAL, "'%s' is not a listening tcp or vsock address",
		                 l->uri);
	if (getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0)
		return cerr_set(err, errno, "'%s': getsockname", l->uri);
	switch (ss.ss_family) {
	case AF_INET:
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		return 0;
	case AF_INET6:
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		return 0;
	case AF_VSOCK:
		*port = ((struct sockaddr_vm *)&ss)->svm_port;
		return 0;
	}
	return cerr_setx(err, EINVAL, "'%s': unexpected address family %d", l->uri,
	                 (int)ss.ss_family);
}

void transport_close_listener(struct tlistener *l)
{
	struct stat st;

	if (l->fd >= 0) {
		close(l->fd);
		l->fd = -1;
	}
	/* remove the socket file only if it is still the one we bound */
	if (l->unlink_on_close && lstat(l->addr.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == l->sock_dev && st.st_ino == l->sock_ino)
		unlink(l->addr.path);
	l->unlink_on_close = false;
}
