/* frame.c - length-prefixed frames over a file descriptor; see cocoon/frame.h.
 *
 * The fds handed in are usually in blocking mode (transport.c returns them
 * so). To honour a timeout without changing the fd's flags, which other users
 * of the same open file would see, sockets are driven with MSG_DONTWAIT and
 * other fds (pipes, virtio-serial ports) are poll()ed before each read or
 * write, and writes to them are kept small enough not to block once poll()
 * said there is room.
 */
#include "cocoon/frame.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cocoon/util.h"

/* One frame's transfer: the fd, how to drive it and the deadline shared by
 * every step. */
struct xfer {
	int fd;
	int timeout_ms;   /* < 0: no deadline */
	int64_t deadline; /* now_ms() value at which the frame is late */
	bool sock;        /* use send/recv with MSG_DONTWAIT */
	bool may_block;   /* not a socket and not O_NONBLOCK: poll before I/O */
};

static int xfer_init(struct xfer *x, int fd, int timeout_ms)
{
	struct stat st;
	int fl;

	x->fd = fd;
	x->timeout_ms = timeout_ms;
	x->deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	x->sock = S_ISSOCK(st.st_mode);
	x->may_block = false;
	if (!x->sock) {
		fl = fcntl(fd, F_GETFL);
		if (fl < 0)
			return -errno;
		x->may_block = !(fl & O_NONBLOCK);
	}
	return 0;
}

static bool xfer_late(const struct xfer *x)
{
	return x->timeout_ms >= 0 && now_ms() > x->deadline;
}

/* Waits until the fd is ready for events (or has an error or hang-up, which the
 * next read or write reports), or the deadline passes. */
static int xfer_wait(const struct xfer *x, short events)
{
	struct pollfd pfd = {.fd = x->fd, .events = events};
	int ms = -1, r;

	for (;;) {
		if (x->timeout_ms >= 0) {
			int64_t left = x->deadline - now_ms();

			if (left < 0)
				return -ETIMEDOUT;
			ms = left > INT_MAX ? INT_MAX : (int)left;
		}
		r = poll(&pfd, 1, ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			if (ms == 0)
				return -ETIMEDOUT;
			continue; /* the deadline check above decides */
		}
		if (pfd.revents & POLLNVAL)
			return -EBADF;
		return 0;
	}
}

/* Reads at most n bytes: returns how many (0 at end of file) or -errno. */
static ssize_t xfer_read(const struct xfer *x, void *p, size_t n)
{
	ssize_t r;
	int w;

	for (;;) {
		if (xfer_late(x))
			return -ETIMEDOUT;
		if (x->may_block && x->timeout_ms >= 0) {
			w = xfer_wait(x, POLLIN);
			if (w < 0)
				return w;
		}
		if (x->sock)
			r = recv(x->fd, p, n, MSG_DONTWAIT);
		else
			r = read(x->fd, p, n);
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		w = xfer_wait(x, POLLIN);
		if (w < 0)
			return w;
	}
}

/* Writes some of the bytes described by iov (at most 2 entries): returns how
 * many or -errno. */
static ssize_t xfer_write(const struct xfer *x, const struct iovec *iov, int cnt)
{
	struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
	ssize_t r;
	int w;

	for (;;) {
		if (xfer_late(x))
			return -ETIMEDOUT;
		if (x->sock) {
			r = sendmsg(x->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		} else if (x->may_block && x->timeout_ms >= 0) {
			/* POLLOUT on a pipe promises room for PIPE_BUF bytes, not
			 * more: a bigger blocking write could outlast the deadline. */
			struct iovec small[2];
			size_t room = PIPE_BUF;
			int k;

			w = xfer_wait(x, POLLOUT);
			if (w < 0)
				return w;
			for (k = 0; k < cnt && k < 2 && room > 0; k++) {
				small[k] = iov[k];
				if (small[k].iov_len > room)
					small[k].iov_len = room;
				room -= small[k].iov_len;
			}
			r = writev(x->fd, small, k);
		} else {
			r = writev(x->fd, iov, cnt);
		}
		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		w = xfer_wait(x, POLLOUT);
		if (w < 0)
			return w;
	}
}

static void put_le32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

int frame_write(int fd, const void *p, size_t len, int timeout_ms, struct cerr *err)
{
	uint8_t hdr[FRAME_HEADER_SIZE];
	struct iovec iov[2];
	struct iovec *cur = iov;
	int cnt = 2;
	size_t total = FRAME_HEADER_SIZE + len, done = 0;
	struct xfer x;
	ssize_t w;
	int r;

	if (len > UINT32_MAX)
		return cerr_setx(err, EMSGSIZE,
		                 "fd %d: a frame of %zu bytes is longer than its 32-bit length "
		                 "field can say; send less",
		                 fd, len);
	if (len > 0 && !p)
		return cerr_setx(err, EINVAL, "fd %d: frame of %zu bytes with no data", fd, len);
	r = xfer_init(&x, fd, timeout_ms);
	if (r < 0)
		return cerr_set(err, -r, "writing a frame to fd %d", fd);

	put_le32(hdr, (uint32_t)len);
	iov[0] = (struct iovec){.iov_base = hdr, .iov_len = sizeof(hdr)};
	iov[1] = (struct iovec){.iov_base = (void *)p, .iov_len = len};
	if (len == 0)
		cnt = 1;

	while (done < total) {
		w = xfer_write(&x, cur, cnt);
		if (w == -ETIMEDOUT)
			return cerr_setx(err, ETIMEDOUT,
			                 "fd %d: timed out after %d ms with %zu of %zu bytes of a "
			                 "frame written; the peer is not reading",
			                 fd, timeout_ms, done, total);
		if (w == -EPIPE || w == -ECONNRESET)
			return cerr_setx(err, EPIPE,
			                 "fd %d: the peer closed the connection after %zu of %zu "
			                 "bytes of a frame were written",
			                 fd, done, total);
		if (w < 0)
			return cerr_set(err, (int)-w,
			                "writing a frame to fd %d (%zu of %zu bytes sent)", fd,
			                done, total);
		done += (size_t)w;
		/* skip what was written */
		while (cnt > 0 && (size_t)w >= cur->iov_len) {
			w -= (ssize_t)cur->iov_len;
			cur++;
			cnt--;
		}
		if (cnt > 0) {
			cur->iov_base = (uint8_t *)cur->iov_base + w;
			cur->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Reads exactly n bytes into p. Returns 0, -EPIPE at end of file, or -errno;
 * *got says how many bytes arrived before a failure. */
static int read_exact(const struct xfer *x, uint8_t *p, size_t n, size_t *got)
{
	ssize_t r;

	*got = 0;
	while (*got < n) {
		r = xfer_read(x, p + *got, n - *got);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EPIPE;
		*got += (size_t)r;
	}
	return 0;
}

int frame_read(int fd, size_t max, int timeout_ms, uint8_t **out, size_t *len, struct cerr *err)
{
	uint8_t hdr[FRAME_HEADER_SIZE];
	_cleanup_free_ uint8_t *buf = NULL;
	struct xfer x;
	size_t got;
	uint32_t n;
	int r;

	r = xfer_init(&x, fd, timeout_ms);
	if (r < 0)
		return cerr_set(err, -r, "reading a frame from fd %d", fd);

	r = read_exact(&x, hdr, sizeof(hdr), &got);
	if (r == -EPIPE && got == 0)
		return cerr_setx(err, ENODATA, "fd %d: the peer closed the connection", fd);
	if (r == -EPIPE)
		return cerr_setx(
		    err, EPIPE,
		    "fd %d: the peer closed the connection after %zu of the %d bytes of "
		    "a frame header",
		    fd, got, FRAME_HEADER_SIZE);
	if (r == -ETIMEDOUT && got == 0)
		return cerr_setx(err, ETIMEDOUT, "fd %d: no frame arrived within %d ms", fd,
		                 timeout_ms);
	if (r == -ETIMEDOUT)
		return cerr_setx(err, ETIMEDOUT,
		                 "fd %d: timed out after %d ms with %zu of the %d bytes of a frame "
		                 "header read",
		                 fd, timeout_ms, got, FRAME_HEADER_SIZE);
	if (r < 0)
		return cerr_set(err, -r, "reading a frame header from fd %d", fd);

	n = get_le32(hdr);
	if (n > max)
		return cerr_setx(err, EMSGSIZE,
		                 "fd %d: the peer announced a frame of %" PRIu32 " bytes, over the "
		                 "maximum of %zu; refused (is the peer speaking this protocol?)",
		                 fd, n, max);
#if SIZE_MAX <= UINT32_MAX
	if ((size_t)n == SIZE_MAX) /* no room for the NUL */
		return cerr_setx(err, EMSGSIZE, "fd %d: frame of %" PRIu32 " bytes is too big", fd,
		                 n);
#endif

	buf = malloc((size_t)n + 1);
	if (!buf)
		return cerr_set(err, ENOMEM, "fd %d: allocating %" PRIu32 " bytes for a frame", fd,
		                n);
	r = read_exact(&x, buf, n, &got);
	if (r == -EPIPE)
		return cerr_setx(err, EPIPE,
		                 "fd %d: the peer closed the connection after %zu of the %" PRIu32
		                 " payload bytes of a frame (truncated frame)",
		                 fd, got, n);
	if (r == -ETIMEDOUT)
		return cerr_setx(err, ETIMEDOUT,
		                 "fd %d: timed out after %d ms with %zu of the %" PRIu32
		                 " payload bytes of a frame read",
		                 fd, timeout_ms, got, n);
	if (r < 0)
		return cerr_set(err, -r, "reading a %" PRIu32 "-byte frame from fd %d", n, fd);

	buf[n] = '\0';
	*out = TAKE_PTR(buf);
	if (len)
		*len = n;
	return 0;
}
