/* util.c - cleanup helpers, wiping, hex, whole-file I/O; see cocoon/util.h. */
#include "cocoon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cocoon/err.h"

void cleanup_freep(void *p)
{
	free(*(void **)p);
}

void cleanup_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

void cleanup_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

void secure_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void secure_free(void *p, size_t n)
{
	secure_wipe(p, n);
	free(p);
}

void hex_encode(const void *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = in;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, void *out, size_t n)
{
	uint8_t *b = out;

	if (strlen(in) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(in[2 * i]), lo = hex_digit(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pread_all(int fd, void *buf, size_t n, uint64_t off, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t k = pread(fd, (uint8_t *)buf + *got, n - *got, (off_t)(off + *got));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		*got += (size_t)k;
	}
	return 0;
}

int fd_size(int fd, const char *name, uint64_t *size, struct cerr *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cerr_set(err, errno, "stat '%s'", name);
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			return cerr_set(err, errno, "size of block device '%s'", name);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	return cerr_setx(err, ENOTBLK, "'%s' is neither a block device nor a regular file", name);
}

int read_file(const char *path, size_t max, char **out, size_t *len, struct cerr *err)
{
	_cleanup_close_ int fd = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return cerr_set(err, errno, "open '%s'", path);
	return read_fd(fd, max, path, out, len, err);
}

int read_fd(int fd, size_t max, const char *path, char **out, size_t *len, struct cerr *err)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t have = 0;

	if (fstat(fd, &st) < 0)
		return cerr_set(err, errno, "stat '%s'", path);
	if (!S_ISREG(st.st_mode))
		return cerr_setx(err, EINVAL, "'%s' is not a regular file", path);
	if ((uint64_t)st.st_size > max)
		return cerr_setx(err, EFBIG, "'%s' is %lld bytes, more than the %zu allowed", path,
		                 (long long)st.st_size, max);
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return cerr_set(err, ENOMEM, "reading '%s'", path);
	while (have < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + have, (size_t)st.st_size - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cerr_set(err, errno, "read '%s'", path);
		if (r == 0)
			break; /* shrank while reading: take what is there */
		have += (size_t)r;
	}
	buf[have] = '\0';
	*out = TAKE_PTR(buf);
	if (len)
		*len = have;
	return 0;
}

int read_file_stream(const char *path, size_t max, char **out, size_t *len, struct cerr *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	size_t have = 0, cap = 0;

	if (fd < 0)
		return cerr_set(err, errno, "open '%s'", path);
	for (;;) {
		ssize_t r;

		if (have == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *nb;

			if (cap > max)
				return cerr_setx(err, EFBIG,
				                 "'%s' is more than the %zu bytes allowed", path,
				                 max);
			nb = realloc(buf, ncap + 1);
			if (!nb)
				return cerr_set(err, ENOMEM, "reading '%s'", path);
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + have, cap - have);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cerr_set(err, errno, "read '%s'", path);
		if (r == 0)
			break;
		have += (size_t)r;
	}
	if (have > max)
		return cerr_setx(err, EFBIG, "'%s' is more than the %zu bytes allowed", path, max);
	buf[have] = '\0';
	*out = TAKE_PTR(buf);
	if (len)
		*len = have;
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                      struct cerr *err)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return cerr_setx(err, ENAMETOOLONG, "path too long: '%s'", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return cerr_set(err, errno, "create '%s'", tmp);
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return cerr_set(err, -r, "write '%s'", tmp);
	}
	if (rename(tmp, path) < 0) {
		r = errno;
		unlink(tmp);
		return cerr_set(err, r, "rename '%s' to '%s'", tmp, path);
	}
	return 0;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cmdline_get(const char *cmdline, const char *key, char *out, size_t n, struct cerr *err)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	int found = 0;

	while (*p) {
		size_t wlen;

		p += strspn(p, " \t\n");
		wlen = strcspn(p, " \t\n");
		if (wlen >= klen && !strncmp(p, key, klen) && (wlen == klen || p[klen] == '=')) {
			if (wlen == klen)
				return cerr_setx(err, EINVAL,
				                 "kernel command line: '%s' needs a value", key);
			if (found)
				return cerr_setx(err, EINVAL,
				                 "kernel command line: '%s' given twice", key);
			if (wlen - klen - 1 >= n)
				return cerr_setx(
				    err, ENAMETOOLONG,
				    "kernel command line: the value of '%s' is too long", key);
			memcpy(out, p + klen + 1, wlen - klen - 1);
			out[wlen - klen - 1] = '\0';
			found = 1;
		}
		p += wlen;
	}
	return found;
}
