/* test_frame.c - frame_read/frame_write: round trips, sequences, limits, and
 * every way a peer can end or stall a frame. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/frame.h"
#include "cocoon/util.h"

static void sp(int fds[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
}

static void closep2(int fds[2])
{
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
}

static void put_raw(int fd, const void *p, size_t n)
{
	assert_int_equal(write_all(fd, p, n), 0);
}

static void test_roundtrip_text(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	size_t len = 0;
	int fds[2];

	sp(fds);
	assert_int_equal(frame_write(fds[0], "status", 6, 1000, &err), 0);
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, &len, &err), 0);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "status", 6);
	assert_int_equal(out[6], 0); /* NUL-terminated */
	assert_string_equal((char *)out, "status");
	free(out);
	closep2(fds);
}

static void test_wire_format_little_endian(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t buf[16];
	uint8_t payload[258];
	int fds[2];

	memset(payload, 'x', sizeof(payload));
	sp(fds);
	assert_int_equal(frame_write(fds[0], payload, sizeof(payload), -1, &err), 0);
	assert_int_equal(read(fds[1], buf, 4), 4);
	assert_int_equal(buf[0], 0x02);
	assert_int_equal(buf[1], 0x01);
	assert_int_equal(buf[2], 0x00);
	assert_int_equal(buf[3], 0x00);
	closep2(fds);
}

static void test_zero_length_frame(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	size_t len = 99;
	uint8_t raw[4];
	int fds[2];

	sp(fds);
	assert_int_equal(frame_write(fds[0], NULL, 0, 1000, &err), 0);
	assert_int_equal(read(fds[1], raw, sizeof(raw)), 4);
	assert_memory_equal(raw, "\0\0\0\0", 4);

	assert_int_equal(frame_write(fds[0], "", 0, 1000, &err), 0);
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, &len, &err), 0);
	assert_int_equal(len, 0);
	assert_non_null(out);
	assert_int_equal(out[0], 0);
	free(out);
	closep2(fds);
}

static void test_sequence_on_one_connection(void **state)
{
	struct cerr err = CERR_INIT;
	const char *msgs[] = {"one", "", "three three", "4"};
	int fds[2];

	sp(fds);
	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++)
		assert_int_equal(frame_write(fds[0], msgs[i], strlen(msgs[i]), 1000, &err), 0);
	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
		uint8_t *out = NULL;
		size_t len;

		assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, &len, &err), 0);
		assert_int_equal(len, strlen(msgs[i]));
		assert_string_equal((char *)out, msgs[i]);
		free(out);
	}
	/* then the writer goes away: clean end between frames */
	close(fds[0]);
	fds[0] = -1;
	{
		uint8_t *out = NULL;

		assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, NULL, &err),
		                 -ENODATA);
		assert_null(out);
	}
	closep2(fds);
}

static void test_oversized_length_refused(void **state)
{
	static const uint8_t hdr[4] = {0xff, 0xff, 0xff, 0xff};
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	size_t len = 7;
	char rest[8] = {0};
	int fds[2];

	sp(fds);
	put_raw(fds[0], hdr, sizeof(hdr));
	put_raw(fds[0], "payload", 7);
	assert_int_equal(frame_read(fds[1], 16536, 1000, &out, &len, &err), -EMSGSIZE);
	assert_int_equal(err.code, EMSGSIZE);
	assert_null(out);
	assert_int_equal(len, 7);
	assert_non_null(strstr(err.msg, "4294967295"));
	assert_non_null(strstr(err.msg, "16536"));
	/* refused after the header: not one payload byte was consumed */
	assert_int_equal(read(fds[1], rest, sizeof(rest)), 7);
	assert_memory_equal(rest, "payload", 7);
	closep2(fds);
}

static void test_length_at_max_ok_over_max_refused(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t payload[101];
	uint8_t *out = NULL;
	size_t len;
	int fds[2];

	memset(payload, 0xa5, sizeof(payload));
	sp(fds);
	assert_int_equal(frame_write(fds[0], payload, 100, 1000, &err), 0);
	assert_int_equal(frame_read(fds[1], 100, 1000, &out, &len, &err), 0);
	assert_int_equal(len, 100);
	free(out);
	out = NULL;
	assert_int_equal(frame_write(fds[0], payload, 101, 1000, &err), 0);
	assert_int_equal(frame_read(fds[1], 100, 1000, &out, &len, &err), -EMSGSIZE);
	assert_null(out);
	closep2(fds);
}

static void test_eof_before_header(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	int fds[2];

	sp(fds);
	close(fds[0]);
	fds[0] = -1;
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, NULL, &err), -ENODATA);
	assert_non_null(strstr(err.msg, "closed"));
	assert_null(out);
	closep2(fds);
}

static void test_short_header(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	int fds[2];

	sp(fds);
	put_raw(fds[0], "\x05\x00", 2);
	close(fds[0]);
	fds[0] = -1;
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, NULL, &err), -EPIPE);
	assert_non_null(strstr(err.msg, "2 of the 4"));
	assert_null(out);
	closep2(fds);
}

static void test_eof_mid_payload(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	int fds[2];

	sp(fds);
	put_raw(fds[0],
	        "\x0a\x00\x00\x00"
	        "abc",
	        7);
	close(fds[0]);
	fds[0] = -1;
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 1000, &out, NULL, &err), -EPIPE);
	assert_non_null(strstr(err.msg, "3 of the 10"));
	assert_null(out);
	closep2(fds);
}

static void test_timeout_nobody_writes(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	int64_t t0, dt;
	int fds[2];

	sp(fds);
	t0 = now_ms();
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 80, &out, NULL, &err), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 79);
	assert_true(dt < 2000);
	assert_non_null(strstr(err.msg, "80 ms"));
	assert_null(out);
	closep2(fds);
}

static void test_timeout_mid_payload(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;
	int fds[2];

	sp(fds);
	put_raw(fds[0],
	        "\x0a\x00\x00\x00"
	        "ab",
	        6);
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 60, &out, NULL, &err), -ETIMEDOUT);
	assert_non_null(strstr(err.msg, "2 of the 10"));
	assert_null(out);
	closep2(fds);
}

struct trickle {
	int fd;
	int delay_ms;
};

static void *trickle_writer(void *arg)
{
	struct trickle *t = arg;
	const uint8_t frame[] = {8, 0, 0, 0, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};

	for (size_t i = 0; i < sizeof(frame); i++) {
		if (write(t->fd, &frame[i], 1) != 1)
			break;
		poll(NULL, 0, t->delay_ms);
	}
	return NULL;
}

/* Each byte comes well within the timeout, the whole frame does not: the
 * deadline is for the frame, not for each read. */
static void test_deadline_is_per_frame(void **state)
{
	struct cerr err = CERR_INIT;
	struct trickle t;
	pthread_t th;
	uint8_t *out = NULL;
	int64_t t0, dt;
	int fds[2];

	sp(fds);
	t.fd = fds[0];
	t.delay_ms = 30;
	assert_int_equal(pthread_create(&th, NULL, trickle_writer, &t), 0);
	t0 = now_ms();
	assert_int_equal(frame_read(fds[1], FRAME_MAX_DEFAULT, 100, &out, NULL, &err), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt < 300);
	assert_null(out);
	pthread_join(th, NULL);
	closep2(fds);
}

struct big_writer {
	int fd;
	const uint8_t *p;
	size_t len;
	int r;
	struct cerr err;
};

static void *big_writer_main(void *arg)
{
	struct big_writer *w = arg;

	w->r = frame_write(w->fd, w->p, w->len, 20000, &w->err);
	return NULL;
}

static void big_roundtrip(int wfd, int rfd)
{
	const size_t n = 20u << 20; /* 20 MiB, a big health reply */
	struct big_writer w = {.fd = wfd, .len = n, .err = CERR_INIT};
	struct cerr err = CERR_INIT;
	uint8_t *src = malloc(n);
	uint8_t *out = NULL;
	size_t len = 0;
	pthread_t th;

	assert_non_null(src);
	for (size_t i = 0; i < n; i++)
		src[i] = (uint8_t)(i * 2654435761u >> 13);
	w.p = src;
	assert_int_equal(pthread_create(&th, NULL, big_writer_main, &w), 0);
	assert_int_equal(frame_read(rfd, 100u << 20, 20000, &out, &len, &err), 0);
	pthread_join(th, NULL);
	assert_int_equal(w.r, 0);
	assert_int_equal(len, n);
	assert_memory_equal(out, src, n);
	assert_int_equal(out[n], 0);
	free(out);
	free(src);
}

static void test_roundtrip_20mib_socket(void **state)
{
	int fds[2];

	sp(fds);
	big_roundtrip(fds[0], fds[1]);
	closep2(fds);
}

/* Pipes are not sockets: poll-before-write and PIPE_BUF-sized writes. */
static void test_roundtrip_20mib_pipe(void **state)
{
	int fds[2];

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	big_roundtrip(fds[1], fds[0]);
	closep2(fds);
}

/* A non-blocking fd: EAGAIN is waited out, not reported. */
static void test_nonblocking_fds(void **state)
{
	int fds[2];

	sp(fds);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	big_roundtrip(fds[0], fds[1]);
	closep2(fds);
}

static void test_write_refuses_over_u32(void **state)
{
	struct cerr err = CERR_INIT;
	int fds[2];
	char b;

	if (sizeof(size_t) <= 4)
		skip();
	sp(fds);
	/* the length is checked before anything is read from the pointer */
	assert_int_equal(frame_write(fds[0], &b, (size_t)UINT32_MAX + 1, 1000, &err), -EMSGSIZE);
	assert_int_equal(err.code, EMSGSIZE);
	closep2(fds);
}

static void test_write_peer_gone_no_sigpipe(void **state)
{
	struct cerr err = CERR_INIT;
	int fds[2];

	sp(fds);
	close(fds[1]);
	fds[1] = -1;
	/* SIGPIPE is not ignored here: MSG_NOSIGNAL must keep us alive */
	assert_int_equal(frame_write(fds[0], "x", 1, 1000, &err), -EPIPE);
	assert_non_null(strstr(err.msg, "closed"));
	closep2(fds);
}

static void test_write_timeout_peer_not_reading(void **state)
{
	const size_t n = 8u << 20;
	struct cerr err = CERR_INIT;
	uint8_t *p = calloc(1, n);
	int64_t t0, dt;
	int fds[2];

	assert_non_null(p);
	sp(fds);
	t0 = now_ms();
	assert_int_equal(frame_write(fds[0], p, n, 80, &err), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= 79);
	assert_true(dt < 2000);
	assert_non_null(strstr(err.msg, "not reading"));
	free(p);
	closep2(fds);
}

static void test_write_timeout_pipe(void **state)
{
	const size_t n = 1u << 20;
	struct cerr err = CERR_INIT;
	uint8_t *p = calloc(1, n);
	int64_t t0;
	int fds[2];

	assert_non_null(p);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	t0 = now_ms();
	assert_int_equal(frame_write(fds[1], p, n, 80, &err), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 2000);
	free(p);
	closep2(fds);
}

static void test_bad_fd(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t *out = NULL;

	assert_int_equal(frame_read(-1, 16, 10, &out, NULL, &err), -EBADF);
	assert_non_null(strstr(err.msg, "fd -1"));
	assert_int_equal(frame_write(-1, "x", 1, 10, &err), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_text),
	    cmocka_unit_test(test_wire_format_little_endian),
	    cmocka_unit_test(test_zero_length_frame),
	    cmocka_unit_test(test_sequence_on_one_connection),
	    cmocka_unit_test(test_oversized_length_refused),
	    cmocka_unit_test(test_length_at_max_ok_over_max_refused),
	    cmocka_unit_test(test_eof_before_header),
	    cmocka_unit_test(test_short_header),
	    cmocka_unit_test(test_eof_mid_payload),
	    cmocka_unit_test(test_timeout_nobody_writes),
	    cmocka_unit_test(test_timeout_mid_payload),
	    cmocka_unit_test(test_deadline_is_per_frame),
	    cmocka_unit_test(test_roundtrip_20mib_socket),
	    cmocka_unit_test(test_roundtrip_20mib_pipe),
	    cmocka_unit_test(test_nonblocking_fds),
	    cmocka_unit_test(test_write_refuses_over_u32),
	    cmocka_unit_test(test_write_peer_gone_no_sigpipe),
	    cmocka_unit_test(test_write_timeout_peer_not_reading),
	    cmocka_unit_test(test_write_timeout_pipe),
	    cmocka_unit_test(test_bad_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
