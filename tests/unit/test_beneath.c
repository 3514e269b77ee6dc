/* test_beneath.c - lib/beneath.c on a share tree with real planted links,
 * FIFOs, sockets, device nodes (mknod: root only, else skipped) and a file
 * that grows after it was opened. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/beneath.h"
#include "cocoon/err.h"
#include "cocoon/util.h"

static char top[64];   /* the temporary directory */
static char share[96]; /* top/data: the share */

static void put(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", share, rel);
	assert_non_null(f = fopen(p, "w"));
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", share, rel);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void link_to(const char *target, const char *rel)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", share, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof(top), "/tmp/test-beneath-XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(share, sizeof(share), "%s/data", top);
	if (mkdir(share, 0755) < 0)
		return -1;
	mk("models");
	put("models/weights.bin", "weights\n");
	mk("images");
	put("images/a.tar", "archive bytes\n");
	/* outside the share: what a planted link aims at */
	{
		char p[256];
		FILE *f;

		snprintf(p, sizeof(p), "%s/secret", top);
		if (!(f = fopen(p, "w")))
			return -1;
		fputs("key\n", f);
		fclose(f);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* the refusal, with its errno, and a message naming the path */
static void refused(const char *rel, unsigned kinds, int code, const char *words)
{
	struct cerr err = CERR_INIT;
	int fd = 42;

	assert_int_equal(beneath_open(share, rel, kinds, &fd, NULL, &err), -code);
	assert_int_equal(fd, -1);
	assert_non_null(strstr(err.msg, rel));
	assert_non_null(strstr(err.msg, share));
	if (words && !strstr(err.msg, words))
		fail_msg("'%s' not in '%s'", words, err.msg);
}

static void opens_dirs_and_files(void **state)
{
	struct cerr err = CERR_INIT;
	struct stat st;
	char buf[16] = "";
	int fd = -1;

	(void)state;
	assert_int_equal(beneath_open(share, "models", BENEATH_DIR | BENEATH_REG, &fd, &st, &err),
	                 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(beneath_open(share, "", BENEATH_DIR, &fd, &st, &err), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(beneath_open(share, "models/weights.bin", BENEATH_REG, &fd, &st, &err), 0);
	assert_int_equal(st.st_size, 8);
	/* opened to read, blocking as a file is */
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "weights\n", 8);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	close(fd);
	/* beneath a directory already open */
	{
		int dir = open(share, O_PATH | O_DIRECTORY);

		assert_true(dir >= 0);
		assert_int_equal(
		    beneath_openat(dir, "data", "models/weights.bin", BENEATH_REG, &fd, &st, &err),
		    0);
		close(fd);
		assert_int_equal(
		    beneath_openat(dir, "data", "../secret", BENEATH_REG, &fd, NULL, &err), -EXDEV);
		close(dir);
	}
}

static void links_refused(void **state)
{
	char target[256];

	(void)state;
	snprintf(target, sizeof(target), "%s/secret", top);
	link_to(target, "abs-link");         /* absolute, out of the share */
	link_to("../secret", "rel-link");    /* relative, out of the share */
	link_to("models", "inside-link");    /* even one that stays inside */
	link_to("/run/docker.sock", "sock"); /* the engine's socket */
	link_to("/proc/self/root", "magic"); /* a magic link's target */
	refused("abs-link", BENEATH_DIR | BENEATH_REG, ELOOP, "symbolic link");
	refused("rel-link", BENEATH_REG, ELOOP, "never followed");
	refused("inside-link", BENEATH_DIR, ELOOP, NULL);
	refused("inside-link/weights.bin", BENEATH_REG, ELOOP, NULL); /* a link on the way */
	refused("sock", BENEATH_DIR | BENEATH_REG, ELOOP, NULL);
	refused("magic", BENEATH_DIR | BENEATH_REG, ELOOP, NULL);
	refused("../secret", BENEATH_REG, EXDEV, "leads out of");
	refused("models/../../secret", BENEATH_REG, EXDEV, NULL);
	refused("missing", BENEATH_REG, ENOENT, NULL);
	{
		struct cerr err = CERR_INIT;
		int fd;

		assert_int_equal(beneath_open(share, "/etc/passwd", BENEATH_REG, &fd, NULL, &err),
		                 -EINVAL);
	}
}

static void nodes_refused(void **state)
{
	char p[256];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s;

	(void)state;
	snprintf(p, sizeof(p), "%s/fifo", share);
	assert_int_equal(mkfifo(p, 0644), 0);
	refused("fifo", BENEATH_REG, EINVAL, "a FIFO, not a regular file");
	refused("fifo", BENEATH_DIR | BENEATH_REG, EINVAL, "a FIFO");
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/s", share);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	refused("s", BENEATH_DIR | BENEATH_REG, EINVAL, "a socket");
	close(s);
	/* a directory where an archive must be a file */
	refused("models", BENEATH_REG, EINVAL, "a directory, not a regular file");
	refused("models/weights.bin", BENEATH_DIR, EINVAL, "a regular file, not a directory");
}

static void devices_refused(void **state)
{
	char p[256];

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(p, sizeof(p), "%s/mem", share);
	assert_int_equal(mknod(p, S_IFCHR | 0600, makedev(1, 1)), 0); /* /dev/mem's numbers */
	refused("mem", BENEATH_REG, EINVAL, "a character device");
	refused("mem", BENEATH_DIR | BENEATH_REG, EINVAL, "a character device");
	snprintf(p, sizeof(p), "%s/images/b.tar", share);
	assert_int_equal(mknod(p, S_IFBLK | 0600, makedev(7, 0)), 0); /* a loop device */
	refused("images/b.tar", BENEATH_REG, EINVAL, "a block device");
}

static void growing_file_refused(void **state)
{
	struct cerr err = CERR_INIT;
	struct stat st;
	char buf[64];
	ssize_t n;
	int fd = -1, w;
	char p[256];

	(void)state;
	assert_int_equal(beneath_open(share, "images/a.tar", BENEATH_REG, &fd, &st, &err), 0);
	n = read(fd, buf, sizeof(buf));
	assert_int_equal(n, 14);
	assert_int_equal(beneath_check_unchanged(fd, &st, (uint64_t)n, "images/a.tar", &err), 0);
	/* fewer bytes read than the size said */
	assert_int_equal(beneath_check_unchanged(fd, &st, 10, "images/a.tar", &err), -EBADMSG);
	/* the host appends while the guest reads */
	snprintf(p, sizeof(p), "%s/images/a.tar", share);
	assert_true((w = open(p, O_WRONLY | O_APPEND)) >= 0);
	assert_int_equal(write(w, "more", 4), 4);
	close(w);
	assert_int_equal(beneath_check_unchanged(fd, &st, (uint64_t)n, "images/a.tar", &err),
	                 -EBADMSG);
	assert_non_null(strstr(err.msg, "images/a.tar changed while it was read"));
	assert_non_null(strstr(err.msg, "14 bytes before, 18 now"));
	close(fd);
}

static void rel_of_share(void **state)
{
	(void)state;
	assert_string_equal(beneath_rel("/data", "/data/models/x"), "models/x");
	assert_string_equal(beneath_rel("/data", "/data"), "");
	assert_string_equal(beneath_rel("/data/", "/data/m"), "m");
	assert_null(beneath_rel("/data", "/database"));
	assert_null(beneath_rel("/data", "/spec/x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(opens_dirs_and_files), cmocka_unit_test(links_refused),
	    cmocka_unit_test(nodes_refused),        cmocka_unit_test(devices_refused),
	    cmocka_unit_test(growing_file_refused), cmocka_unit_test(rel_of_share),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
