/* test_luks.c - the persistent-disk rules on image files (no loop device and
 * no device-mapper needed: libcryptsetup formats and checks keys on regular
 * files). The same rules on loop devices, and the round trip through
 * /dev/mapper, are in tests/integration/disk_cases.py. */
#include <errno.h>
#include <fcntl.h>
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
#include "cocoon/luks.h"
#include "cocoon/util.h"

#define IMG_SIZE (40ull << 20)

struct fixture {
	char dir[64];
	char img[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_luks.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->img);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A sparse image of size bytes with n bytes of p at off. */
static void make_image(const char *path, uint64_t size, uint64_t off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	if (n)
		assert_int_equal(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void file_sha256(const char *path, uint8_t out[SHA256_LEN])
{
	struct cerr err = CERR_INIT;
	char *data = NULL;
	size_t len = 0;

	assert_int_equal(read_file(path, IMG_SIZE + 1, &data, &len, &err), 0);
	assert_int_equal(crypto_sha256(data, len, out, &err), 0);
	free(data);
}

static void test_blank(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	struct luks_probe p;

	make_image(f->img, IMG_SIZE, 0, NULL, 0);
	assert_int_equal(luks_probe(f->img, &p, &err), 0);
	assert_int_equal(p.kind, LUKS_KIND_BLANK);
	assert_int_equal(p.size, IMG_SIZE);
}

static void test_byte_in_first_mib(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	struct luks_probe p;

	make_image(f->img, IMG_SIZE, 777777, "\1", 1);
	assert_int_equal(luks_probe(f->img, &p, &err), 0);
	assert_int_equal(p.kind, LUKS_KIND_OTHER);
	assert_non_null(strstr(p.detail, "offset 777777"));
}

static void test_byte_in_last_mib(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	struct luks_probe p;

	make_image(f->img, IMG_SIZE, IMG_SIZE - 1, "\x80", 1);
	assert_int_equal(luks_probe(f->img, &p, &err), 0);
	assert_int_equal(p.kind, LUKS_KIND_OTHER);
}

static void test_small_blank_refused(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	uint8_t key[LUKS_KEY_LEN] = {1};
	struct luks_open_opts o = {.device = f->img, .key = key};
	enum luks_done done;

	make_image(f->img, 4 << 20, 0, NULL, 0);
	assert_int_equal(luks_open(&o, &done, &err), -ENOSPC);
	assert_non_null(strstr(err.msg, f->img));
}

static void test_not_a_device(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	struct luks_probe p;

	assert_int_equal(luks_probe(f->dir, &p, &err), -ENOTBLK);
	assert_int_equal(luks_probe("/nonexistent/disk", &p, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/disk"));
}

static void test_format_then_keys(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	uint8_t key[LUKS_KEY_LEN], other[LUKS_KEY_LEN];
	uint8_t before[SHA256_LEN], after[SHA256_LEN];
	struct luks_open_opts o = {.device = f->img};
	enum luks_done done = 0;
	struct luks_probe p;

	assert_int_equal(crypto_random(key, sizeof(key), &err), 0);
	memcpy(other, key, sizeof(other));
	other[31] ^= 1;
	make_image(f->img, IMG_SIZE, 0, NULL, 0);

	o.key = key;
	o.no_format = true;
	assert_int_equal(luks_open(&o, &done, &err), -EMEDIUMTYPE);
	o.no_format = false;
	assert_int_equal(luks_open(&o, &done, &err), 0);
	assert_int_equal(done, LUKS_DONE_FORMATTED);
	assert_int_equal(luks_probe(f->img, &p, &err), 0);
	assert_int_equal(p.kind, LUKS_KIND_LUKS2);

	/* same key again: opened, not formatted again */
	file_sha256(f->img, before);
	assert_int_equal(luks_open(&o, &done, &err), 0);
	assert_int_equal(done, LUKS_DONE_OPENED);
	file_sha256(f->img, after);
	assert_memory_equal(before, after, SHA256_LEN);

	/* one bit off: refused, nothing written */
	o.key = other;
	assert_int_equal(luks_open(&o, &done, &err), -EPERM);
	assert_non_null(strstr(err.msg, "does not open"));
	file_sha256(f->img, after);
	assert_memory_equal(before, after, SHA256_LEN);
}

static void test_name_check(void **state)
{
	struct cerr err = CERR_INIT;

	(void)state;
	assert_int_equal(luks_name_check("cocoon-persist", &err), 0);
	assert_int_equal(luks_name_check("a.b_c-1", &err), 0);
	assert_int_equal(luks_name_check("", &err), -EINVAL);
	assert_int_equal(luks_name_check("..", &err), -EINVAL);
	assert_int_equal(luks_name_check("a/b", &err), -EINVAL);
	assert_int_equal(luks_name_check("a b", &err), -EINVAL);
	assert_int_equal(
	    luks_name_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	                    &err),
	    -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_blank, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_byte_in_first_mib, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_byte_in_last_mib, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_small_blank_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_format_then_keys, setup, teardown),
	    cmocka_unit_test(test_name_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
