/* test_buf.c - the bounds-checked reader and the limited writer: every getter
 * at its exact size and one byte short, the reader unmoved after a failure,
 * the writer's limit and its sticky failed state. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cocoon/buf.h"

static const uint8_t seq[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

/* ---- rbuf ---- */

static void test_rbuf_init(void **state)
{
	struct rbuf r;

	rbuf_init(&r, seq, sizeof(seq));
	assert_int_equal(rbuf_left(&r), sizeof(seq));
	rbuf_init(&r, NULL, 100); /* no data, whatever the length says */
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_rbuf_u8(void **state)
{
	struct rbuf r;
	uint8_t v = 0xee;

	rbuf_init(&r, seq, 1);
	assert_int_equal(rbuf_u8(&r, &v), 0);
	assert_int_equal(v, 0x01);
	v = 0xee;
	assert_int_equal(rbuf_u8(&r, &v), -EBADMSG);
	assert_int_equal(v, 0xee);
	assert_int_equal(r.off, 1);
}

static void test_rbuf_u16le(void **state)
{
	struct rbuf r;
	uint16_t v = 0xeeee;

	rbuf_init(&r, seq, 1);
	assert_int_equal(rbuf_u16le(&r, &v), -EBADMSG);
	assert_int_equal(v, 0xeeee);
	assert_int_equal(r.off, 0);
	rbuf_init(&r, seq, 2);
	assert_int_equal(rbuf_u16le(&r, &v), 0);
	assert_int_equal(v, 0x0201);
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_rbuf_u24le(void **state)
{
	struct rbuf r;
	uint32_t v = 0xeeeeeeee;

	rbuf_init(&r, seq, 2);
	assert_int_equal(rbuf_u24le(&r, &v), -EBADMSG);
	assert_int_equal(v, 0xeeeeeeee);
	assert_int_equal(r.off, 0);
	rbuf_init(&r, seq, 3);
	assert_int_equal(rbuf_u24le(&r, &v), 0);
	assert_int_equal(v, 0x030201);
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_rbuf_u32le(void **state)
{
	struct rbuf r;
	uint32_t v = 0xeeeeeeee;

	rbuf_init(&r, seq, 3);
	assert_int_equal(rbuf_u32le(&r, &v), -EBADMSG);
	assert_int_equal(v, 0xeeeeeeee);
	assert_int_equal(r.off, 0);
	rbuf_init(&r, seq, 4);
	assert_int_equal(rbuf_u32le(&r, &v), 0);
	assert_int_equal(v, 0x04030201);
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_rbuf_u64le(void **state)
{
	struct rbuf r;
	uint64_t v = 0xee;

	rbuf_init(&r, seq, 7);
	assert_int_equal(rbuf_u64le(&r, &v), -EBADMSG);
	assert_int_equal(v, 0xee);
	assert_int_equal(r.off, 0);
	rbuf_init(&r, seq, 8);
	assert_int_equal(rbuf_u64le(&r, &v), 0);
	assert_true(v == 0x0807060504030201ull);
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_rbuf_u64le_high_bit(void **state)
{
	static const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	struct rbuf r;
	uint64_t v;

	rbuf_init(&r, ff, sizeof(ff));
	assert_int_equal(rbuf_u64le(&r, &v), 0);
	assert_true(v == UINT64_MAX);
}

static void test_rbuf_failure_after_partial_read(void **state)
{
	struct rbuf r;
	uint32_t v;

	rbuf_init(&r, seq, 6);
	assert_int_equal(rbuf_u32le(&r, &v), 0);
	assert_int_equal(rbuf_u32le(&r, &v), -EBADMSG);
	assert_int_equal(r.off, 4);
	assert_int_equal(rbuf_left(&r), 2);
}

static void test_rbuf_direct(void **state)
{
	const uint8_t *p = NULL;
	struct rbuf r;

	rbuf_init(&r, seq, sizeof(seq));
	assert_int_equal(rbuf_direct(&r, 10, &p), -EBADMSG);
	assert_null(p);
	assert_int_equal(r.off, 0);
	assert_int_equal(rbuf_direct(&r, 4, &p), 0);
	assert_ptr_equal(p, seq);
	assert_int_equal(rbuf_direct(&r, 5, &p), 0);
	assert_ptr_equal(p, seq + 4);
	assert_int_equal(rbuf_direct(&r, 0, &p), 0);
	assert_int_equal(rbuf_direct(&r, 1, &p), -EBADMSG);
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_rbuf_direct_huge_length(void **state)
{
	const uint8_t *p = NULL;
	struct rbuf r;

	/* lengths that would wrap an offset + length check */
	rbuf_init(&r, seq, sizeof(seq));
	rbuf_skip(&r, 1);
	assert_int_equal(rbuf_direct(&r, SIZE_MAX, &p), -EBADMSG);
	assert_int_equal(rbuf_direct(&r, SIZE_MAX - 1, &p), -EBADMSG);
	assert_int_equal(rbuf_skip(&r, SIZE_MAX), -EBADMSG);
	assert_null(p);
	assert_int_equal(r.off, 1);
}

static void test_rbuf_copy(void **state)
{
	uint8_t out[4] = {0xee, 0xee, 0xee, 0xee};
	struct rbuf r;

	rbuf_init(&r, seq, 3);
	assert_int_equal(rbuf_copy(&r, out, 4), -EBADMSG);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(r.off, 0);
	assert_int_equal(rbuf_copy(&r, out, 3), 0);
	assert_memory_equal(out, seq, 3);
	assert_int_equal(rbuf_copy(&r, out, 0), 0);
}

static void test_rbuf_skip(void **state)
{
	struct rbuf r;
	uint8_t v;

	rbuf_init(&r, seq, sizeof(seq));
	assert_int_equal(rbuf_skip(&r, 8), 0);
	assert_int_equal(rbuf_skip(&r, 2), -EBADMSG);
	assert_int_equal(rbuf_u8(&r, &v), 0);
	assert_int_equal(v, 0x09);
}

static void test_rbuf_sub(void **state)
{
	struct rbuf r, sub;
	uint32_t v;
	uint8_t b;

	rbuf_init(&r, seq, sizeof(seq));
	assert_int_equal(rbuf_sub(&r, 10, &sub), -EBADMSG);
	assert_int_equal(r.off, 0);
	assert_int_equal(rbuf_sub(&r, 3, &sub), 0);
	assert_int_equal(rbuf_left(&sub), 3);
	assert_int_equal(rbuf_left(&r), 6);
	/* the sub-reader stops at its own end, not the parent's */
	assert_int_equal(rbuf_u32le(&sub, &v), -EBADMSG);
	assert_int_equal(rbuf_u8(&sub, &b), 0);
	assert_int_equal(b, 0x01);
	/* the parent continues after the sub-range */
	assert_int_equal(rbuf_u8(&r, &b), 0);
	assert_int_equal(b, 0x04);
}

/* ---- wbuf ---- */

static void test_wbuf_puts_le(void **state)
{
	static const uint8_t want[] = {0xab, 0x02, 0x01, 0x03, 0x02, 0x01, 0x04, 0x03,
	                               0x02, 0x01, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03,
	                               0x02, 0x01, 'h',  'i',  0,    0};
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(wbuf_u8(&w, 0xab), 0);
	assert_int_equal(wbuf_u16le(&w, 0x0102), 0);
	assert_int_equal(wbuf_u24le(&w, 0x010203), 0);
	assert_int_equal(wbuf_u32le(&w, 0x01020304), 0);
	assert_int_equal(wbuf_u64le(&w, 0x0102030405060708ull), 0);
	assert_int_equal(wbuf_put(&w, "hi", 2), 0);
	assert_int_equal(wbuf_zero(&w, 2), 0);
	assert_int_equal(wbuf_status(&w), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	wbuf_free(&w);
	assert_null(w.p);
	assert_int_equal(w.len, 0);
}

static void test_wbuf_grows(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal(wbuf_u8(&w, (uint8_t)i), 0);
	assert_int_equal(w.len, 5000);
	assert_true(w.cap >= w.len);
	for (size_t i = 0; i < 5000; i++)
		assert_int_equal(w.p[i], (uint8_t)i);
	wbuf_free(&w);
}

static void test_wbuf_max_exact(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 8);
	assert_int_equal(wbuf_u64le(&w, 1), 0);
	assert_int_equal(w.len, 8);
	assert_int_equal(wbuf_status(&w), 0);
	assert_int_equal(wbuf_put(&w, NULL, 0), 0); /* nothing more is still fine */
	assert_int_equal(wbuf_u8(&w, 1), -EMSGSIZE);
	assert_int_equal(wbuf_status(&w), -EMSGSIZE);
	assert_int_equal(w.len, 8);
	wbuf_free(&w);
}

static void test_wbuf_max_overshoot(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 10);
	assert_int_equal(wbuf_put(&w, "abcdef", 6), 0);
	/* a put that would cross the limit writes nothing at all */
	assert_int_equal(wbuf_put(&w, "ghijkl", 6), -EMSGSIZE);
	assert_int_equal(w.len, 6);
	assert_int_equal(wbuf_status(&w), -EMSGSIZE);
	wbuf_free(&w);
}

static void test_wbuf_sticky_failure(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 4);
	assert_int_equal(wbuf_put(&w, "abcde", 5), -EMSGSIZE);
	/* every later put fails, even ones that would fit */
	assert_true(wbuf_u8(&w, 1) < 0);
	assert_true(wbuf_u16le(&w, 1) < 0);
	assert_true(wbuf_u24le(&w, 1) < 0);
	assert_true(wbuf_u32le(&w, 1) < 0);
	assert_true(wbuf_u64le(&w, 1) < 0);
	assert_true(wbuf_put(&w, "", 0) < 0);
	assert_true(wbuf_zero(&w, 1) < 0);
	assert_true(wbuf_printf(&w, "%d", 1) < 0);
	assert_int_equal(w.len, 0);
	assert_int_equal(wbuf_status(&w), -EMSGSIZE);
	wbuf_free(&w);
	/* a freed wbuf is usable again */
	assert_int_equal(wbuf_u8(&w, 1), 0);
	assert_int_equal(wbuf_status(&w), 0);
	wbuf_free(&w);
}

static void test_wbuf_u24_range(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(wbuf_u24le(&w, 0xffffff), 0);
	assert_int_equal(wbuf_u24le(&w, 0x1000000), -ERANGE);
	assert_int_equal(w.len, 3);
	assert_int_equal(wbuf_status(&w), -ERANGE);
	assert_true(wbuf_u8(&w, 0) < 0);
	wbuf_free(&w);
}

static void test_wbuf_printf(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(wbuf_printf(&w, "%s=%d", "n", 42), 0);
	assert_int_equal(wbuf_printf(&w, ";%03u", 7u), 0);
	assert_int_equal(w.len, 8);
	assert_memory_equal(w.p, "n=42;007", 8);
	wbuf_free(&w);
}

static void test_wbuf_printf_max(void **state)
{
	struct wbuf w;

	/* vsnprintf needs room for its NUL even though len does not count it */
	wbuf_init(&w, 4);
	assert_int_equal(wbuf_printf(&w, "%s", "abcd"), -EMSGSIZE);
	assert_int_equal(w.len, 0);
	wbuf_free(&w);
	wbuf_init(&w, 5);
	assert_int_equal(wbuf_printf(&w, "%s", "abcd"), 0);
	assert_int_equal(w.len, 4);
	wbuf_free(&w);
}

static void test_wbuf_steal(void **state)
{
	struct wbuf w;
	uint8_t *p;
	size_t len = 0;

	wbuf_init(&w, 0);
	assert_int_equal(wbuf_put(&w, "xyz", 3), 0);
	p = wbuf_steal(&w, &len);
	assert_non_null(p);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "xyz", 3);
	assert_null(w.p);
	assert_int_equal(w.len, 0);
	assert_int_equal(w.cap, 0);
	free(p);
	/* an empty wbuf hands out NULL */
	assert_null(wbuf_steal(&w, &len));
	assert_int_equal(len, 0);
	wbuf_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rbuf_init),
	    cmocka_unit_test(test_rbuf_u8),
	    cmocka_unit_test(test_rbuf_u16le),
	    cmocka_unit_test(test_rbuf_u24le),
	    cmocka_unit_test(test_rbuf_u32le),
	    cmocka_unit_test(test_rbuf_u64le),
	    cmocka_unit_test(test_rbuf_u64le_high_bit),
	    cmocka_unit_test(test_rbuf_failure_after_partial_read),
	    cmocka_unit_test(test_rbuf_direct),
	    cmocka_unit_test(test_rbuf_direct_huge_length),
	    cmocka_unit_test(test_rbuf_copy),
	    cmocka_unit_test(test_rbuf_skip),
	    cmocka_unit_test(test_rbuf_sub),
	    cmocka_unit_test(test_wbuf_puts_le),
	    cmocka_unit_test(test_wbuf_grows),
	    cmocka_unit_test(test_wbuf_max_exact),
	    cmocka_unit_test(test_wbuf_max_overshoot),
	    cmocka_unit_test(test_wbuf_sticky_failure),
	    cmocka_unit_test(test_wbuf_u24_range),
	    cmocka_unit_test(test_wbuf_printf),
	    cmocka_unit_test(test_wbuf_printf_max),
	    cmocka_unit_test(test_wbuf_steal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
