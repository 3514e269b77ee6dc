/* evlog.c - event log writing and RTMR replay; see cocoon/evlog.h.
 *
 * The log file is read back through `struct rbuf` like any other untrusted
 * input: whoever hands a log to a verifier controls its bytes.
 */
#include "cocoon/evlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "cocoon/buf.h"
#include "cocoon/crypto.h"
#include "cocoon/util.h"

static bool printable(uint8_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

int evlog_check_message(const char *msg, struct cerr *err)
{
	size_t n;

	if (!msg)
		return cerr_setx(err, EINVAL, "event log message is missing");
	n = strnlen(msg, EVLOG_MSG_MAX + 1);
	if (n == 0)
		return cerr_setx(err, EINVAL, "event log message is empty");
	if (n > EVLOG_MSG_MAX)
		return cerr_setx(err, EINVAL, "event log message is longer than %d bytes",
		                 EVLOG_MSG_MAX);
	for (size_t i = 0; i < n; i++)
		if (!printable((uint8_t)msg[i]))
			return cerr_setx(err, EINVAL,
			                 "event log message has byte 0x%02x at position %zu; "
			                 "only printable ASCII (0x20..0x7e) is allowed",
			                 (uint8_t)msg[i], i);
	return 0;
}

static int extend_n(uint8_t rtmr[RTMR_LEN], const void *msg, size_t n, struct cerr *err)
{
	uint8_t buf[RTMR_LEN + SHA384_LEN];
	int rc;

	memcpy(buf, rtmr, RTMR_LEN);
	rc = crypto_sha384(msg, n, buf + RTMR_LEN, err);
	if (rc == 0)
		rc = crypto_sha384(buf, sizeof(buf), rtmr, err);
	return rc < 0 ? cerr_prefix(err, rc, "extending RTMR") : 0;
}

int rtmr_extend(uint8_t rtmr[RTMR_LEN], const char *msg, struct cerr *err)
{
	return extend_n(rtmr, msg, strlen(msg), err);
}

int evlog_append(const char *path, const char *msg, struct cerr *err)
{
	char line[EVLOG_MSG_MAX + 1];
	_cleanup_close_ int fd = -1;
	size_t n;
	ssize_t w;
	int rc;

	rc = evlog_check_message(msg, err);
	if (rc < 0)
		return cerr_prefix(err, rc, "appending to '%s'", path);
	n = strlen(msg);
	memcpy(line, msg, n);
	line[n++] = '\n';

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0)
		return cerr_set(err, errno, "open event log '%s'", path);
	/* one write(): with O_APPEND the line lands whole at the end, never split
	 * by another writer; a retry after a partial write could not promise that */
	do
		w = write(fd, line, n);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return cerr_set(err, errno, "write event log '%s'", path);
	if ((size_t)w != n)
		return cerr_setx(err, EIO, "write event log '%s': wrote %zd of %zu bytes", path, w,
		                 n);
	if (close(TAKE_FD(fd)) < 0)
		return cerr_set(err, errno, "close event log '%s'", path);
	return 0;
}

/* Takes the next line (without its '\n') off r. Called with bytes left. */
static int next_line(struct rbuf *r, size_t lineno, const uint8_t **line, size_t *len,
                     struct cerr *err)
{
	struct rbuf peek = *r;
	size_t n = 0;
	uint8_t c;

	for (;;) {
		if (rbuf_u8(&peek, &c) < 0)
			return cerr_setx(err, EBADMSG, "line %zu has no final newline", lineno);
		if (c == '\n')
			break;
		if (!printable(c))
			return cerr_setx(err, EBADMSG,
			                 "line %zu has byte 0x%02x at position %zu; "
			                 "only printable ASCII (0x20..0x7e) is allowed",
			                 lineno, c, n);
		if (++n > EVLOG_MSG_MAX)
			return cerr_setx(err, EBADMSG, "line %zu is longer than %d bytes", lineno,
			                 EVLOG_MSG_MAX);
	}
	if (n == 0)
		return cerr_setx(err, EBADMSG, "line %zu is empty", lineno);
	rbuf_direct(r, n, line); /* cannot fail: peek just read past these bytes */
	rbuf_skip(r, 1);
	*len = n;
	return 0;
}

int evlog_replay_buf(const char *data, size_t size, uint8_t rtmr[RTMR_LEN], size_t *count,
                     struct cerr *err)
{
	uint8_t acc[RTMR_LEN] = {0};
	const uint8_t *line = NULL;
	size_t len = 0, lines = 0;
	struct rbuf r;
	int rc;

	if (size > EVLOG_FILE_MAX)
		return cerr_setx(err, EFBIG, "%zu bytes, more than the %u allowed", size,
		                 EVLOG_FILE_MAX);
	rbuf_init(&r, data, size);
	while (rbuf_left(&r)) {
		rc = next_line(&r, lines + 1, &line, &len, err);
		if (rc == 0)
			rc = extend_n(acc, line, len, err);
		if (rc < 0)
			return rc;
		lines++;
	}
	memcpy(rtmr, acc, RTMR_LEN);
	if (count)
		*count = lines;
	return 0;
}

int evlog_replay(const char *path, uint8_t rtmr[RTMR_LEN], size_t *count, struct cerr *err)
{
	_cleanup_free_ char *data = NULL;
	size_t size = 0;
	int rc;

	rc = read_file(path, EVLOG_FILE_MAX, &data, &size, err);
	if (rc < 0)
		return cerr_prefix(err, rc, "event log");
	rc = evlog_replay_buf(data, size, rtmr, count, err);
	if (rc < 0)
		return cerr_prefix(err, rc, "event log '%s'", path);
	return 0;
}
