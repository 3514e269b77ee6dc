/* test_cli.c - the shared option handling and number parsing of every program. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/cli.h"
#include "cocoon/err.h"
#include "cocoon/util.h"

static int usage_calls;

static void fake_usage(FILE *f)
{
	(void)f;
	usage_calls++;
}

static void parse_long_accepts(void **state)
{
	long v = 0;

	assert_int_equal(cli_parse_long("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cli_parse_long("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(cli_parse_long("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(cli_parse_long("3600000", 1, 3600000, &v), 0);
}

static void parse_long_refuses(void **state)
{
	const char *bad[] = {"",    " 5",   "+5", "5 ", "5x",
	                     "x5",  "0x10", "11", "-1", "99999999999999999999999",
	                     "1e3", "--1"};
	long v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_parse_long(bad[i], 0, 10, &v), -EINVAL);
		assert_int_equal(v, 42); /* untouched on refusal */
	}
	assert_int_equal(cli_parse_long("-11", -10, 10, &v), -EINVAL);
}

static void common_options(void **state)
{
	usage_calls = 0;
	assert_int_equal(cli_common_option('q', "t", fake_usage), CLI_CONTINUE);
	assert_int_equal(cli_common_option('v', "t", fake_usage), CLI_CONTINUE);
	assert_int_equal(cli_common_option('h', "t", fake_usage), 0);
	assert_int_equal(usage_calls, 1);
	assert_int_equal(cli_common_option('?', "t", fake_usage), CLI_EXIT_USAGE);
	assert_int_equal(usage_calls, 2);
	assert_int_equal(cli_common_option('x', "t", fake_usage), CLI_EXIT_USAGE);
}

/* cmdline_get: the kernel command line words health-monitor takes */
static void cmdline_words(void **state)
{
	struct cerr err = CERR_INIT;
	char v[16];

	(void)state;
	assert_int_equal(cmdline_get("ro cocoon.health=vport:health quiet\n", "cocoon.health", v,
	                             sizeof(v), &err),
	                 1);
	assert_string_equal(v, "vport:health");
	/* a longer key with the same prefix is another word */
	assert_int_equal(cmdline_get("cocoon.healthx=a", "cocoon.health", v, sizeof(v), &err), 0);
	assert_int_equal(cmdline_get("", "cocoon.tee", v, sizeof(v), &err), 0);
	assert_int_equal(cmdline_get("cocoon.tee=", "cocoon.tee", v, sizeof(v), &err), 1);
	assert_string_equal(v, "");
	assert_int_equal(
	    cmdline_get("cocoon.tee=sim cocoon.tee=tdx", "cocoon.tee", v, sizeof(v), &err),
	    -EINVAL);
	assert_int_equal(cmdline_get("a cocoon.tee b", "cocoon.tee", v, sizeof(v), &err), -EINVAL);
	assert_int_equal(
	    cmdline_get("cocoon.tee=0123456789abcdef", "cocoon.tee", v, sizeof(v), &err),
	    -ENAMETOOLONG);
	assert_int_equal(cmdline_get("\tcocoon.tee=sim\t", "cocoon.tee", v, sizeof(v), &err), 1);
	assert_string_equal(v, "sim");
}

/* pread_all: whole reads at an offset, fewer bytes only at the end, an error kept */
static void pread_all_reads(void **state)
{
	int fd = memfd_create("p", 0);
	char buf[16];
	size_t got = 99;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(pread_all(fd, buf, 4, 3, &got), 0);
	assert_int_equal(got, 4);
	assert_memory_equal(buf, "3456", 4);
	assert_int_equal(pread_all(fd, buf, 8, 6, &got), 0);
	assert_int_equal(got, 4); /* the end of the file */
	assert_memory_equal(buf, "6789", 4);
	assert_int_equal(pread_all(fd, buf, 4, 10, &got), 0);
	assert_int_equal(got, 0);
	close(fd);
	assert_int_equal(pread_all(fd, buf, 4, 0, &got), -EBADF);
	assert_int_equal(got, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_long_accepts), cmocka_unit_test(parse_long_refuses),
	    cmocka_unit_test(common_options),     cmocka_unit_test(cmdline_words),
	    cmocka_unit_test(pread_all_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
