/* test_runcmd.c - helper programs: exit status, combined output, missing
 * programs, the time limit (the whole process group is killed), output
 * limits, the one-line rendering, and finding programs under a root. */
#include <errno.h>
#include <ftw.h>
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

#include "cocoon/runcmd.h"
#include "cocoon/util.h"

static char root[64];

static void test_exit_and_output(void **state)
{
	const char *argv[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	struct cmd_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(cmd_run(argv, 5000, 4096, &res, &err), 0);
	assert_int_equal(res.exit_code, 3);
	assert_non_null(strstr(res.out, "out\n"));
	assert_non_null(strstr(res.out, "err\n"));
	assert_false(res.truncated);
	cmd_result_free(&res);
}

static void test_stdin_is_null(void **state)
{
	const char *argv[] = {"sh", "-c", "cat; echo done", NULL};
	struct cmd_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(cmd_run(argv, 5000, 4096, &res, &err), 0);
	assert_string_equal(res.out, "done\n");
	cmd_result_free(&res);
}

static void test_signal_exit(void **state)
{
	const char *argv[] = {"sh", "-c", "kill -9 $$", NULL};
	struct cmd_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(cmd_run(argv, 5000, 4096, &res, &err), 0);
	assert_int_equal(res.exit_code, 128 + 9);
	cmd_result_free(&res);
}

static void test_missing_program(void **state)
{
	const char *argv[] = {"/nonexistent/program", "--version", NULL};
	const char *argv2[] = {"no-such-program-cocoon", NULL};
	struct cmd_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(cmd_run(argv, 5000, 4096, &res, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/program"));
	assert_null(res.out);
	assert_int_equal(cmd_run(argv2, 5000, 4096, &res, &err), -ENOENT);
}

static void test_timeout_kills_group(void **state)
{
	/* the grandchild keeps the pipe open: only killing the group ends it */
	const char *argv[] = {"sh", "-c", "echo started; sleep 30 & sleep 30", NULL};
	struct cmd_result res;
	struct cerr err = CERR_INIT;
	int64_t t0 = now_ms();

	assert_int_equal(cmd_run(argv, 300, 4096, &res, &err), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 5000);
	assert_non_null(strstr(err.msg, "did not finish"));
	assert_string_equal(res.out, "started\n");
	cmd_result_free(&res);

	/* a child that closes its output but keeps running is stopped too */
	const char *argv2[] = {"sh", "-c", "exec >/dev/null 2>&1; sleep 30", NULL};
	t0 = now_ms();
	assert_int_equal(cmd_run(argv2, 300, 4096, &res, &err), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 5000);
	cmd_result_free(&res);
}

static void test_output_limit(void **state)
{
	const char *argv[] = {"sh", "-c",
	                      "i=0; while [ $i -lt 2000 ]; do echo 0123456789; "
	                      "i=$((i+1)); done",
	                      NULL};
	struct cmd_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(cmd_run(argv, 10000, 100, &res, &err), 0);
	assert_int_equal(res.exit_code, 0); /* the rest was read and dropped */
	assert_true(res.truncated);
	assert_int_equal(res.len, 100);
	assert_int_equal(strlen(res.out), 100);
	cmd_result_free(&res);
}

static void test_format(void **state)
{
	const char *argv[] = {
	    "python3", "/opt/x/tool.py", "--gpu-bdf=0000:3a:00.0", "a b", "it's", "", NULL};
	char out[256], tiny[8];

	cmd_format(argv, out, sizeof(out));
	assert_string_equal(out,
	                    "python3 /opt/x/tool.py --gpu-bdf=0000:3a:00.0 'a b' 'it'\\''s' ''");
	cmd_format(argv, tiny, sizeof(tiny));
	assert_string_equal(tiny, "python3"); /* n - 1 bytes */
}

static void make_file(const char *rel, unsigned mode)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	for (char *c = p + strlen(root) + 1; *c; c++) {
		if (*c == '/') {
			*c = '\0';
			mkdir(p, 0755);
			*c = '/';
		}
	}
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\necho fake\n", f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
}

static void test_find(void **state)
{
	char p[PATH_MAX], want[PATH_MAX];

	/* on the running system: PATH */
	assert_int_equal(cmd_find(NULL, "sh", NULL, p, sizeof(p)), 0);
	assert_int_equal(access(p, X_OK), 0);
	assert_int_equal(cmd_find(NULL, "no-such-program-cocoon", "/usr/bin", p, sizeof(p)),
	                 -ENOENT);

	/* under a root: only the given directories, under it */
	make_file("/usr/libexec/virtiofsd", 0755);
	make_file("/usr/bin/qemu-system-x86_64", 0644);
	snprintf(want, sizeof(want), "%s/usr/libexec/virtiofsd", root);
	assert_int_equal(cmd_find(root, "virtiofsd", "/usr/bin:/usr/libexec", p, sizeof(p)), 0);
	assert_string_equal(p, want);
	snprintf(want, sizeof(want), "%s/usr/bin/qemu-system-x86_64", root);
	assert_int_equal(cmd_find(root, "qemu-system-x86_64", "/usr/bin", p, sizeof(p)), -EACCES);
	assert_string_equal(p, want);
	assert_int_equal(cmd_find(root, "sh", "/usr/bin:/bin", p, sizeof(p)), -ENOENT);
	/* a path is taken as it is, under the root */
	assert_int_equal(cmd_find(root, "/usr/libexec/virtiofsd", NULL, p, sizeof(p)), 0);
	assert_int_equal(cmd_find(root, "/usr/libexec", NULL, p, sizeof(p)), -ENOENT);
	/* the executable one wins over an earlier one that is not */
	make_file("/opt/a/tool", 0644);
	make_file("/opt/b/tool", 0755);
	snprintf(want, sizeof(want), "%s/opt/b/tool", root);
	assert_int_equal(cmd_find(root, "tool", "/opt/a:/opt/b", p, sizeof(p)), 0);
	assert_string_equal(p, want);
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int setup(void **state)
{
	snprintf(root, sizeof(root), "/tmp/cocoon-runcmd-XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	return nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_and_output),
	    cmocka_unit_test(test_stdin_is_null),
	    cmocka_unit_test(test_signal_exit),
	    cmocka_unit_test(test_missing_program),
	    cmocka_unit_test(test_timeout_kills_group),
	    cmocka_unit_test(test_output_limit),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
