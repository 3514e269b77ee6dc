/* test_evlog.c - event log messages, appending, and replay to the same RTMR
 * value as extending by hand; each kind of bad log is refused with its line. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "cocoon/crypto.h"
#include "cocoon/err.h"
#include "cocoon/evlog.h"
#include "cocoon/util.h"

struct fixture {
	char dir[64];
	char log[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_evlog.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->log, sizeof(f->log), "%s/tdx-attestation.log", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->log);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void write_raw(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("message '%s' does not contain '%s'", haystack, needle);
}

/* the replay must fail with EBADMSG and a message naming what is wrong */
static void assert_replay_fails(const char *path, const void *p, size_t n, const char *msg_part)
{
	uint8_t rtmr[RTMR_LEN];
	struct cerr err = CERR_INIT;
	size_t count = 12345;

	memset(rtmr, 0xee, sizeof(rtmr));
	write_raw(path, p, n);
	assert_int_equal(evlog_replay(path, rtmr, &count, &err), -EBADMSG);
	assert_contains(err.msg, path);
	assert_contains(err.msg, msg_part);
	/* outputs untouched on failure */
	assert_int_equal(count, 12345);
	assert_int_equal(rtmr[0], 0xee);
}

/* ---- messages ---- */

static void test_check_message_ok(void **state)
{
	struct cerr err = CERR_INIT;
	char longest[EVLOG_MSG_MAX + 1];

	assert_int_equal(evlog_check_message("cocoon:tdx_inited", &err), 0);
	assert_int_equal(evlog_check_message(" !~", &err), 0);
	memset(longest, 'x', EVLOG_MSG_MAX);
	longest[EVLOG_MSG_MAX] = '\0';
	assert_int_equal(evlog_check_message(longest, &err), 0);
}

static void test_check_message_empty(void **state)
{
	struct cerr err = CERR_INIT;

	assert_int_equal(evlog_check_message("", &err), -EINVAL);
	assert_contains(err.msg, "empty");
	assert_int_equal(evlog_check_message(NULL, &err), -EINVAL);
}

static void test_check_message_too_long(void **state)
{
	struct cerr err = CERR_INIT;
	char *msg = malloc(EVLOG_MSG_MAX + 2);

	assert_non_null(msg);
	memset(msg, 'x', EVLOG_MSG_MAX + 1);
	msg[EVLOG_MSG_MAX + 1] = '\0';
	assert_int_equal(evlog_check_message(msg, &err), -EINVAL);
	assert_contains(err.msg, "longer than 4096");
	free(msg);
}

static void test_check_message_tab(void **state)
{
	struct cerr err = CERR_INIT;

	assert_int_equal(evlog_check_message("a\tb", &err), -EINVAL);
	assert_contains(err.msg, "byte 0x09 at position 1");
}

static void test_check_message_newline(void **state)
{
	struct cerr err = CERR_INIT;

	/* a newline would split one measurement into two lines of the log */
	assert_int_equal(evlog_check_message("cocoon:a\ncocoon:b", &err), -EINVAL);
	assert_contains(err.msg, "byte 0x0a at position 8");
	assert_int_equal(evlog_check_message("trailing\n", &err), -EINVAL);
	assert_int_equal(evlog_check_message("cr\r", &err), -EINVAL);
}

static void test_check_message_nonprintable(void **state)
{
	struct cerr err = CERR_INIT;

	assert_int_equal(evlog_check_message("del\x7f", &err), -EINVAL);
	assert_contains(err.msg, "0x7f");
	assert_int_equal(evlog_check_message("caf\xc3\xa9", &err), -EINVAL);
	assert_contains(err.msg, "0xc3");
	assert_int_equal(evlog_check_message("\x1b[31m", &err), -EINVAL);
}

/* ---- extend ---- */

static void test_rtmr_extend(void **state)
{
	uint8_t rtmr[RTMR_LEN] = {0}, buf[96], want[RTMR_LEN];
	struct cerr err = CERR_INIT;

	/* by hand: SHA384(48 zero bytes || SHA384("abc")) */
	memset(buf, 0, 48);
	assert_int_equal(crypto_sha384("abc", 3, buf + 48, &err), 0);
	assert_int_equal(crypto_sha384(buf, sizeof(buf), want, &err), 0);
	assert_int_equal(rtmr_extend(rtmr, "abc", &err), 0);
	assert_memory_equal(rtmr, want, RTMR_LEN);
	/* and once more, from that value */
	memcpy(buf, want, 48);
	assert_int_equal(crypto_sha384("cocoon:tdx_inited", 17, buf + 48, &err), 0);
	assert_int_equal(crypto_sha384(buf, sizeof(buf), want, &err), 0);
	assert_int_equal(rtmr_extend(rtmr, "cocoon:tdx_inited", &err), 0);
	assert_memory_equal(rtmr, want, RTMR_LEN);
}

/* ---- append and replay ---- */

static const char *const messages[] = {
    "cocoon:spec.tree=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "cocoon:cocoon_debug",
    "cocoon:sealed_key=disk_encryption",
    "cocoon:tdx_inited",
};

static void test_append_replay(void **state)
{
	struct fixture *f = *state;
	uint8_t want[RTMR_LEN] = {0}, got[RTMR_LEN];
	struct cerr err = CERR_INIT;
	size_t count = 0;

	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		assert_int_equal(evlog_append(f->log, messages[i], &err), 0);
		assert_int_equal(rtmr_extend(want, messages[i], &err), 0);
	}
	assert_int_equal(evlog_replay(f->log, got, &count, &err), 0);
	assert_int_equal(count, sizeof(messages) / sizeof(messages[0]));
	assert_memory_equal(got, want, RTMR_LEN);
}

static void test_append_format_and_mode(void **state)
{
	static const char want[] = "cocoon:a\ncocoon:b\n";
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	char *data = NULL;
	struct stat st;
	size_t len;
	mode_t old = umask(022);

	assert_int_equal(evlog_append(f->log, "cocoon:a", &err), 0);
	assert_int_equal(evlog_append(f->log, "cocoon:b", &err), 0);
	umask(old);
	assert_int_equal(stat(f->log, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(read_file(f->log, 1024, &data, &len, &err), 0);
	assert_int_equal(len, strlen(want));
	assert_string_equal(data, want);
	free(data);
}

static void test_append_rejects_bad_message(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	struct stat st;

	assert_int_equal(evlog_append(f->log, "two\nlines", &err), -EINVAL);
	assert_contains(err.msg, f->log);
	assert_int_equal(evlog_append(f->log, "", &err), -EINVAL);
	/* nothing was written, not even the file */
	assert_int_equal(stat(f->log, &st), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_append_unwritable(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	char path[256];

	snprintf(path, sizeof(path), "%s/no/such/dir/log", f->dir);
	assert_int_equal(evlog_append(path, "cocoon:x", &err), -ENOENT);
	assert_contains(err.msg, path);
}

static void test_replay_empty_log(void **state)
{
	struct fixture *f = *state;
	uint8_t rtmr[RTMR_LEN], zero[RTMR_LEN] = {0};
	struct cerr err = CERR_INIT;
	size_t count = 99;

	write_raw(f->log, "", 0);
	memset(rtmr, 0xee, sizeof(rtmr));
	assert_int_equal(evlog_replay(f->log, rtmr, &count, &err), 0);
	assert_int_equal(count, 0);
	assert_memory_equal(rtmr, zero, RTMR_LEN);
	assert_int_equal(evlog_replay(f->log, rtmr, NULL, &err), 0);
}

static void test_replay_missing_file(void **state)
{
	struct fixture *f = *state;
	uint8_t rtmr[RTMR_LEN];
	struct cerr err = CERR_INIT;

	assert_int_equal(evlog_replay(f->log, rtmr, NULL, &err), -ENOENT);
	assert_contains(err.msg, f->log);
}

static void test_replay_nonprintable_line(void **state)
{
	static const char log[] = "cocoon:a\ncocoon:\x01\ncocoon:c\n";
	struct fixture *f = *state;

	assert_replay_fails(f->log, log, strlen(log), "line 2 has byte 0x01 at position 7");
}

static void test_replay_tab_in_line(void **state)
{
	static const char log[] = "cocoon:a\tb\n";
	struct fixture *f = *state;

	assert_replay_fails(f->log, log, strlen(log), "line 1 has byte 0x09");
}

static void test_replay_crlf(void **state)
{
	static const char log[] = "cocoon:a\r\n";
	struct fixture *f = *state;

	assert_replay_fails(f->log, log, strlen(log), "line 1 has byte 0x0d");
}

static void test_replay_nul_byte(void **state)
{
	static const char log[] = "cocoon:a\ncocoon:b\0hidden\n";
	struct fixture *f = *state;

	assert_replay_fails(f->log, log, sizeof(log) - 1, "line 2 has byte 0x00 at position 8");
}

static void test_replay_missing_final_newline(void **state)
{
	static const char log[] = "cocoon:a\ncocoon:b";
	struct fixture *f = *state;

	assert_replay_fails(f->log, log, strlen(log), "line 2 has no final newline");
}

static void test_replay_empty_line(void **state)
{
	static const char log[] = "cocoon:a\n\ncocoon:b\n";
	struct fixture *f = *state;

	assert_replay_fails(f->log, log, strlen(log), "line 2 is empty");
}

static void test_replay_line_too_long(void **state)
{
	struct fixture *f = *state;
	size_t n = EVLOG_MSG_MAX + 2;
	char *log = malloc(n);

	assert_non_null(log);
	memset(log, 'x', n - 1);
	log[n - 1] = '\n';
	assert_replay_fails(f->log, log, n, "line 1 is longer than 4096 bytes");
	free(log);
}

static void test_replay_file_too_large(void **state)
{
	struct fixture *f = *state;
	size_t n = EVLOG_FILE_MAX + 64;
	char *log = malloc(n);
	uint8_t rtmr[RTMR_LEN];
	struct cerr err = CERR_INIT;

	assert_non_null(log);
	for (size_t i = 0; i < n; i++)
		log[i] = i % 64 == 63 ? '\n' : 'x';
	write_raw(f->log, log, n);
	free(log);
	assert_int_equal(evlog_replay(f->log, rtmr, NULL, &err), -EFBIG);
	assert_contains(err.msg, f->log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_message_ok),
	    cmocka_unit_test(test_check_message_empty),
	    cmocka_unit_test(test_check_message_too_long),
	    cmocka_unit_test(test_check_message_tab),
	    cmocka_unit_test(test_check_message_newline),
	    cmocka_unit_test(test_check_message_nonprintable),
	    cmocka_unit_test(test_rtmr_extend),
	    cmocka_unit_test_setup_teardown(test_append_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_format_and_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_rejects_bad_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_unwritable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_empty_log, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_nonprintable_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_tab_in_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_crlf, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_nul_byte, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_missing_final_newline, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_empty_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_line_too_long, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replay_file_too_large, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
