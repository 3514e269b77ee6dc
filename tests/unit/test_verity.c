/* Unit tests for lib/verity.c: the geometry, a small tree computed here a
 * second way (crypto_sha256 over hand-made blocks), the independence from the
 * number of threads, and what VERITY_CHECK finds. The comparison with the real
 * veritysetup is tests/integration/verity_cases.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/crypto.h"
#include "cocoon/verity.h"

static const uint8_t salt[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                               0x09, 0x10, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static struct verity_params params(uint64_t blocks)
{
	return (struct verity_params){
	    .hash_name = "sha256",
	    .hash_type = 1,
	    .data_block_size = 4096,
	    .hash_block_size = 4096,
	    .data_blocks = blocks,
	    .salt = salt,
	    .salt_size = sizeof(salt),
	    .tree_offset = 4096,
	};
}

/* a memfd holding n blocks of 4096 bytes, each block filled from its number */
static int data_fd(uint64_t n)
{
	int fd = memfd_create("data", 0);
	uint8_t b[4096];

	assert_true(fd >= 0);
	for (uint64_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(b); k++)
			b[k] = (uint8_t)(i * 7 + k * 13 + (k >> 8));
		assert_int_equal(pwrite(fd, b, sizeof(b), (off_t)(i * sizeof(b))), sizeof(b));
	}
	return fd;
}

static void salted(const void *block, size_t n, uint8_t out[32])
{
	uint8_t *buf = malloc(sizeof(salt) + n);

	assert_non_null(buf);
	memcpy(buf, salt, sizeof(salt));
	memcpy(buf + sizeof(salt), block, n);
	assert_int_equal(crypto_sha256(buf, sizeof(salt) + n, out, NULL), 0);
	free(buf);
}

static void test_geometry(void **state)
{
	struct verity_params p = params(123544); /* the dev image's root, 4 KiB blocks */
	struct verity_geometry g;

	(void)state;
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	assert_int_equal(g.digest_size, 32);
	assert_int_equal(g.per_block_bits, 7);
	assert_int_equal(g.levels, 3);
	assert_int_equal(g.level_blocks[0], 966);
	assert_int_equal(g.level_blocks[1], 8);
	assert_int_equal(g.level_blocks[2], 1);
	assert_int_equal(g.level_start[2], 0);
	assert_int_equal(g.level_start[1], 1);
	assert_int_equal(g.level_start[0], 9);
	assert_int_equal(g.tree_blocks, 975);

	p.data_blocks = 1;
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	assert_int_equal(g.levels, 0);
	assert_int_equal(g.tree_blocks, 0);
	p.data_blocks = 128;
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	assert_int_equal(g.levels, 1);
	p.data_blocks = 129;
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	assert_int_equal(g.levels, 2);
	assert_int_equal(g.tree_blocks, 3);

	p.hash_name = "sha1"; /* 20-byte digests take 32-byte slots */
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	assert_int_equal(g.digest_full, 32);
	p.hash_name = "sha512";
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	assert_int_equal(g.per_block_bits, 6);
}

static void test_geometry_refused(void **state)
{
	struct verity_params p = params(10);
	struct verity_geometry g;
	struct cerr err = CERR_INIT;

	(void)state;
	p.data_block_size = 3000;
	assert_int_equal(verity_geometry(&p, &g, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "3000"));
	p = params(10);
	p.hash_type = 2;
	assert_int_equal(verity_geometry(&p, &g, NULL), -EINVAL);
	p = params(10);
	p.salt_size = VERITY_MAX_SALT + 1;
	assert_int_equal(verity_geometry(&p, &g, NULL), -EINVAL);
	p = params(0);
	assert_int_equal(verity_geometry(&p, &g, NULL), -EINVAL);
	p = params(10);
	p.hash_name = "no-such-digest";
	assert_int_equal(verity_geometry(&p, &g, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no-such-digest"));
	p = params(UINT64_MAX / 1024);
	assert_int_equal(verity_geometry(&p, &g, NULL), -EINVAL);
}

/* one block: no tree, the root hash is the block's salted hash */
static void test_single_block(void **state)
{
	struct verity_params p = params(1);
	struct verity_result res;
	uint8_t block[4096], want[32];
	int d = data_fd(1), h = memfd_create("hash", 0);

	(void)state;
	assert_int_equal(verity_run(&p, d, h, VERITY_WRITE, 3, NULL, NULL, 0, &res, NULL), 0);
	assert_int_equal(pread(d, block, sizeof(block), 0), sizeof(block));
	salted(block, sizeof(block), want);
	assert_int_equal(res.root_len, 32);
	assert_memory_equal(res.root, want, 32);
	close(d);
	close(h);
}

/* 129 blocks: two level-0 hash blocks (128 digests, then 1 and zeros) under
 * one top block; every block and the root computed here again */
static void test_two_levels_by_hand(void **state)
{
	struct verity_params p = params(129);
	struct verity_result res;
	uint8_t block[4096], top[4096], l0[2][4096], got[3 * 4096], root[32];
	int d = data_fd(129), h = memfd_create("hash", 0);

	(void)state;
	assert_int_equal(verity_run(&p, d, h, VERITY_WRITE, 2, NULL, NULL, 0, &res, NULL), 0);
	memset(l0, 0, sizeof(l0));
	for (int i = 0; i < 129; i++) {
		assert_int_equal(pread(d, block, sizeof(block), (off_t)i * 4096), sizeof(block));
		salted(block, sizeof(block), &l0[i / 128][(i % 128) * 32]);
	}
	memset(top, 0, sizeof(top));
	salted(l0[0], 4096, top);
	salted(l0[1], 4096, top + 32);
	salted(top, 4096, root);
	/* stored top-down after the superblock's block: top, then level 0 */
	assert_int_equal(pread(h, got, sizeof(got), 4096), sizeof(got));
	assert_memory_equal(got, top, 4096);
	assert_memory_equal(got + 4096, l0[0], 4096);
	assert_memory_equal(got + 8192, l0[1], 4096);
	assert_memory_equal(res.root, root, 32);
	close(d);
	close(h);
}

static void read_all(int fd, uint8_t *buf, size_t n)
{
	assert_int_equal(pread(fd, buf, n, 0), (ssize_t)n);
}

static void test_threads_agree(void **state)
{
	struct verity_params p = params(5000);
	struct verity_geometry g;
	struct verity_result a, b;
	int d = data_fd(5000), h1 = memfd_create("h1", 0), h4 = memfd_create("h4", 0);
	size_t n;
	uint8_t *x, *y;

	(void)state;
	assert_int_equal(verity_geometry(&p, &g, NULL), 0);
	n = (size_t)(4096 + g.tree_blocks * 4096);
	assert_int_equal(verity_run(&p, d, h1, VERITY_WRITE, 1, NULL, NULL, 0, &a, NULL), 0);
	assert_int_equal(verity_run(&p, d, h4, VERITY_WRITE, 4, NULL, NULL, 0, &b, NULL), 0);
	x = malloc(n);
	y = malloc(n);
	assert_non_null(x);
	assert_non_null(y);
	read_all(h1, x, n);
	read_all(h4, y, n);
	assert_memory_equal(x, y, n);
	assert_memory_equal(a.root, b.root, 32);
	free(x);
	free(y);
	close(d);
	close(h1);
	close(h4);
}

static void test_check(void **state)
{
	struct verity_params p = params(5000);
	struct verity_result w, c;
	int d = data_fd(5000), h = memfd_create("hash", 0);
	uint8_t byte;

	(void)state;
	assert_int_equal(verity_run(&p, d, h, VERITY_WRITE, 2, NULL, NULL, 0, &w, NULL), 0);
	assert_int_equal(verity_run(&p, d, h, VERITY_CHECK, 2, NULL, NULL, 0, &c, NULL), 0);
	assert_false(c.mismatch);
	assert_memory_equal(c.root, w.root, 32);

	/* one bit in data block 4321, and another in block 4400: the first is named */
	assert_int_equal(pread(d, &byte, 1, 4321 * 4096 + 99), 1);
	byte ^= 0x10;
	assert_int_equal(pwrite(d, &byte, 1, 4321 * 4096 + 99), 1);
	assert_int_equal(pread(d, &byte, 1, 4400 * 4096), 1);
	byte ^= 0x01;
	assert_int_equal(pwrite(d, &byte, 1, 4400 * 4096), 1);
	assert_int_equal(verity_run(&p, d, h, VERITY_CHECK, 3, NULL, NULL, 0, &c, NULL), 0);
	assert_true(c.mismatch);
	assert_int_equal(c.bad_level, 0);
	assert_int_equal(c.bad_block, 4321);
	close(d);
	close(h);
}

static void test_short_data(void **state)
{
	struct verity_params p = params(300);
	struct verity_result res;
	struct cerr err = CERR_INIT;
	int d = data_fd(299), h = memfd_create("hash", 0);

	(void)state;
	assert_int_equal(verity_run(&p, d, h, VERITY_WRITE, 2, NULL, NULL, 0, &res, &err), -EIO);
	assert_non_null(strstr(err.msg, "data ends at byte"));
	close(d);
	close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_geometry),      cmocka_unit_test(test_geometry_refused),
	    cmocka_unit_test(test_single_block),  cmocka_unit_test(test_two_levels_by_hand),
	    cmocka_unit_test(test_threads_agree), cmocka_unit_test(test_check),
	    cmocka_unit_test(test_short_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
