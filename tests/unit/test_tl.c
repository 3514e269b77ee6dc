/* test_tl.c - TL codec and seal messages: the byte-exact encodings Cocoon
 * expects (golden sizes and prefixes from PROTOCOLS.md) and one test per way a
 * peer can get a message wrong. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cocoon/buf.h"
#include "cocoon/err.h"
#include "cocoon/tl.h"

/* ---- helpers ---- */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static uint8_t report[SEAL_REPORT_LEN];
static uint8_t pubkey[SEAL_PUBKEY_LEN];
static uint8_t secret[SEAL_SECRET_ENC_LEN];

static int setup(void **state)
{
	fill(report, sizeof(report), 0x11);
	fill(pubkey, sizeof(pubkey), 0x22);
	fill(secret, sizeof(secret), 0x33);
	return 0;
}

/* a valid getPersistentKey; caller frees */
static uint8_t *make_req(const char *name, size_t *len)
{
	struct cerr err = CERR_INIT;
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(seal_req_encode(&w, report, pubkey, name, &err), 0);
	return wbuf_steal(&w, len);
}

/* a getPersistentKey with fields of any size, to make malformed ones */
static uint8_t *make_raw_req(size_t report_len, size_t key_len, const void *name, size_t name_len,
                             size_t *len)
{
	static uint8_t big[2048];
	struct wbuf w;

	wbuf_init(&w, 0);
	tl_put_u32(&w, TL_ID_GET_PERSISTENT_KEY);
	tl_put_bytes(&w, big, report_len);
	tl_put_bytes(&w, big, key_len);
	tl_put_bytes(&w, name, name_len);
	assert_int_equal(wbuf_status(&w), 0);
	return wbuf_steal(&w, len);
}

static uint8_t *make_resp(const uint8_t *quote, size_t quote_len, size_t *len)
{
	struct cerr err = CERR_INIT;
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(seal_resp_encode(&w, quote, quote_len, secret, &err), 0);
	return wbuf_steal(&w, len);
}

static void assert_contains(const char *haystack, const char *needle)
{
	if (!strstr(haystack, needle))
		fail_msg("message '%s' does not contain '%s'", haystack, needle);
}

static void assert_req_fails(const uint8_t *p, size_t n, const char *msg_part)
{
	struct cerr err = CERR_INIT;
	struct seal_req req;

	assert_int_equal(seal_req_decode(p, n, &req, &err), -EBADMSG);
	assert_int_equal(err.code, EBADMSG);
	assert_contains(err.msg, msg_part);
	/* nothing half-decoded is left behind */
	assert_int_equal(req.key_name[0], 0);
	assert_int_equal(req.report[0], 0);
}

static void assert_resp_fails(const uint8_t *p, size_t n, const char *msg_part)
{
	struct cerr err = CERR_INIT;
	struct seal_resp resp;

	assert_int_equal(seal_resp_decode(p, n, &resp, &err), -EBADMSG);
	assert_int_equal(err.code, EBADMSG);
	assert_contains(err.msg, msg_part);
	assert_null(resp.quote);
	assert_int_equal(resp.quote_len, 0);
}

/* ---- encoders ---- */

static void test_put_ints(void **state)
{
	static const uint8_t want[] = {0x1c, 0x82, 0x7a, 0x31, 0xfe, 0xff, 0xff, 0xff,
	                               0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(tl_put_u32(&w, TL_ID_GET_PERSISTENT_KEY), 0);
	assert_int_equal(tl_put_i32(&w, -2), 0);
	assert_int_equal(tl_put_i64(&w, 0x0102030405060708), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	wbuf_free(&w);
}

/* encoded size of a bytes field of n bytes, header and padding included */
static size_t enc_len(size_t n)
{
	size_t hdr = n < 254 ? 1 : 4;

	return (hdr + n + 3) / 4 * 4;
}

static void test_put_bytes_sizes(void **state)
{
	static const size_t lens[] = {0, 1, 2, 3, 4, 5, 252, 253, 254, 255, 256, 1024, 65536};
	static uint8_t data[65536];

	fill(data, sizeof(data), 1);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i], hdr = n < 254 ? 1 : 4;
		struct wbuf w;

		wbuf_init(&w, 0);
		assert_int_equal(tl_put_bytes(&w, data, n), 0);
		assert_int_equal(w.len, enc_len(n));
		assert_int_equal(w.len % 4, 0);
		if (n < 254) {
			assert_int_equal(w.p[0], n);
		} else {
			assert_int_equal(w.p[0], 0xfe);
			assert_int_equal(w.p[1] | w.p[2] << 8 | w.p[3] << 16, n);
		}
		assert_memory_equal(w.p + hdr, data, n);
		for (size_t j = hdr + n; j < w.len; j++)
			assert_int_equal(w.p[j], 0);
		wbuf_free(&w);
	}
}

static void test_put_bytes_empty(void **state)
{
	static const uint8_t want[] = {0, 0, 0, 0};
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(tl_put_bytes(&w, NULL, 0), 0);
	assert_int_equal(w.len, 4);
	assert_memory_equal(w.p, want, 4);
	wbuf_free(&w);
}

static void test_put_string(void **state)
{
	static const uint8_t want[] = {3, 'a', 'p', 'p', 5, 'h', 'e', 'l', 'l', 'o', 0, 0};
	struct wbuf w;

	wbuf_init(&w, 0);
	assert_int_equal(tl_put_string(&w, "app"), 0);
	assert_int_equal(tl_put_string(&w, "hello"), 0);
	assert_int_equal(w.len, sizeof(want));
	assert_memory_equal(w.p, want, sizeof(want));
	wbuf_free(&w);
}

static void test_put_bytes_too_long(void **state)
{
	static const uint8_t dummy[1];
	struct wbuf w;

	/* the length is refused before anything is read from the data pointer */
	wbuf_init(&w, 0);
	assert_int_equal(tl_put_bytes(&w, dummy, (size_t)1 << 24), -EMSGSIZE);
	assert_int_equal(w.len, 0);
	assert_true(wbuf_status(&w) < 0);
	/* sticky, like every other failed put */
	assert_true(tl_put_u32(&w, 1) < 0);
	wbuf_free(&w);
}

static void test_put_bytes_largest(void **state)
{
	size_t n = TL_BYTES_MAX;
	uint8_t *data = calloc(1, n);
	struct wbuf w;

	assert_non_null(data);
	wbuf_init(&w, 0);
	assert_int_equal(tl_put_bytes(&w, data, n), 0);
	assert_int_equal(w.len, enc_len(n));
	assert_int_equal(w.p[0], 0xfe);
	assert_int_equal(w.p[1] & w.p[2] & w.p[3], 0xff);
	wbuf_free(&w);
	free(data);
}

static void test_put_bytes_respects_wbuf_max(void **state)
{
	static const uint8_t data[8];
	struct wbuf w;

	wbuf_init(&w, 7);
	assert_int_equal(tl_put_bytes(&w, data, 5), -EMSGSIZE); /* 1 + 5 fits, padding does not */
	assert_true(wbuf_status(&w) < 0);
	wbuf_free(&w);
}

/* ---- decoders ---- */

static void test_get_ints(void **state)
{
	static const uint8_t in[] = {0xfe, 0xff, 0xff, 0xff, 0x08, 0x07, 0x06, 0x05,
	                             0x04, 0x03, 0x02, 0x81, 0x78, 0x56, 0x34, 0x12};
	struct cerr err = CERR_INIT;
	struct rbuf r;
	int32_t i32;
	int64_t i64;
	uint32_t u32;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_i32(&r, &i32, &err), 0);
	assert_int_equal(i32, -2);
	assert_int_equal(tl_get_i64(&r, &i64, &err), 0);
	assert_true(i64 == (int64_t)0x8102030405060708ull);
	assert_int_equal(tl_get_u32(&r, &u32, &err), 0);
	assert_int_equal(u32, 0x12345678);
	assert_int_equal(tl_expect_end(&r, &err), 0);
}

static void test_get_ints_truncated(void **state)
{
	static const uint8_t in[7] = {0};
	struct cerr err = CERR_INIT;
	struct rbuf r;
	uint32_t u32;
	int32_t i32;
	int64_t i64;

	rbuf_init(&r, in, 3);
	assert_int_equal(tl_get_u32(&r, &u32, &err), -EBADMSG);
	assert_contains(err.msg, "3 left");
	assert_int_equal(tl_get_i32(&r, &i32, &err), -EBADMSG);
	assert_int_equal(r.off, 0);
	rbuf_init(&r, in, 7);
	assert_int_equal(tl_get_i64(&r, &i64, &err), -EBADMSG);
	assert_contains(err.msg, "7 left");
	assert_int_equal(r.off, 0);
}

static void test_expect_magic_ok(void **state)
{
	static const uint8_t in[] = {0x9a, 0x17, 0x3a, 0x16};
	struct cerr err = CERR_INIT;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_expect_magic(&r, TL_ID_PERSISTENT_KEY, "persistentKey", &err), 0);
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_expect_magic_wrong(void **state)
{
	static const uint8_t in[] = {0x78, 0x56, 0x34, 0x12};
	struct cerr err = CERR_INIT;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_expect_magic(&r, TL_ID_PERSISTENT_KEY, "persistentKey", &err),
	                 -EBADMSG);
	assert_string_equal(err.msg,
	                    "unexpected magic 0x12345678, expected 0x163a179a for persistentKey");
	assert_int_equal(r.off, 0);
}

static void test_expect_magic_truncated(void **state)
{
	static const uint8_t in[] = {0x9a, 0x17};
	struct cerr err = CERR_INIT;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_expect_magic(&r, TL_ID_PERSISTENT_KEY, "persistentKey", &err),
	                 -EBADMSG);
	assert_contains(err.msg, "persistentKey");
	assert_int_equal(r.off, 0);
}

static void test_expect_end(void **state)
{
	static const uint8_t in[5] = {0};
	struct cerr err = CERR_INIT;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_expect_end(&r, &err), -EBADMSG);
	assert_string_equal(err.msg, "too much data: 5 trailing bytes");
	rbuf_skip(&r, 5);
	assert_int_equal(tl_expect_end(&r, &err), 0);
}

static void test_get_bytes_roundtrip(void **state)
{
	static const size_t lens[] = {0, 1, 3, 4, 253, 254, 255, 1024, 70000};
	static uint8_t data[70000];
	struct cerr err = CERR_INIT;
	struct wbuf w;
	struct rbuf r;

	fill(data, sizeof(data), 9);
	wbuf_init(&w, 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		tl_put_bytes(&w, data, lens[i]);
	assert_int_equal(wbuf_status(&w), 0);
	rbuf_init(&r, w.p, w.len);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		const uint8_t *p;
		size_t n;

		assert_int_equal(tl_get_bytes(&r, &p, &n, &err), 0);
		assert_int_equal(n, lens[i]);
		assert_memory_equal(p, data, n);
		/* zero-copy: the pointer is inside the encoded buffer */
		assert_true(p >= w.p && p + n <= w.p + w.len);
	}
	assert_int_equal(tl_expect_end(&r, &err), 0);
	wbuf_free(&w);
}

static void test_get_bytes_past_end_short_form(void **state)
{
	static const uint8_t in[] = {0x05, 'a', 'b', 'c'};
	struct cerr err = CERR_INIT;
	const uint8_t *p = NULL;
	size_t n = 99;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), -EBADMSG);
	assert_string_equal(err.msg, "bytes length 5 past end of buffer (3 bytes left)");
	assert_int_equal(r.off, 0);
	assert_null(p);
	assert_int_equal(n, 99);
}

static void test_get_bytes_past_end_fe_form(void **state)
{
	uint8_t in[1028] = {0xfe, 0x01, 0x04, 0x00}; /* claims 1025, has 1024 */
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), -EBADMSG);
	assert_string_equal(err.msg, "bytes length 1025 past end of buffer (1024 bytes left)");
	assert_int_equal(r.off, 0);
}

static void test_get_bytes_fe_header_truncated(void **state)
{
	static const uint8_t in[] = {0xfe, 0x00, 0x04};
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), -EBADMSG);
	assert_contains(err.msg, "0xFE length");
	assert_int_equal(r.off, 0);
}

static void test_get_bytes_ff_form(void **state)
{
	static const uint8_t in[16] = {0xff, 0x01};
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), -EBADMSG);
	assert_contains(err.msg, "0xFF");
	assert_int_equal(r.off, 0);
}

static void test_get_bytes_empty_input(void **state)
{
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, NULL, 0);
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), -EBADMSG);
	assert_contains(err.msg, "no length byte");
}

static void test_get_bytes_truncated_padding(void **state)
{
	static const uint8_t in[] = {0x02, 'a', 'b', 0x00}; /* 1 + 2 needs 1 pad: ok */
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, in, 3); /* padding cut off */
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), -EBADMSG);
	assert_string_equal(err.msg, "truncated: bytes of length 2 need 1 padding bytes, 0 left");
	assert_int_equal(r.off, 0);
	rbuf_init(&r, in, 4);
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), 0);
	assert_int_equal(n, 2);
}

static void test_get_bytes_nonzero_padding_accepted(void **state)
{
	static const uint8_t in[] = {0x01, 'x', 0xaa, 0x55};
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 'x');
	assert_int_equal(rbuf_left(&r), 0);
}

static void test_get_bytes_noncanonical_fe_accepted(void **state)
{
	/* a short length written in the long form: Cocoon's parser takes it */
	static const uint8_t in[] = {0xfe, 0x04, 0x00, 0x00, 'a', 'b', 'c', 'd'};
	struct cerr err = CERR_INIT;
	const uint8_t *p;
	size_t n;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_bytes(&r, &p, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(p, "abcd", 4);
}

static void test_get_string_ok(void **state)
{
	static const uint8_t in[] = {0x05, 'h', 'e', 'l', 'l', 'o', 0, 0, 0x00, 0, 0, 0};
	struct cerr err = CERR_INIT;
	char *s = NULL;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_string(&r, &s, &err), 0);
	assert_string_equal(s, "hello");
	free(s);
	assert_int_equal(tl_get_string(&r, &s, &err), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(tl_expect_end(&r, &err), 0);
}

static void test_get_string_embedded_nul(void **state)
{
	static const uint8_t in[] = {0x03, 'a', 0, 'b'};
	struct cerr err = CERR_INIT;
	char *s = NULL;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_string(&r, &s, &err), -EBADMSG);
	assert_contains(err.msg, "NUL");
	assert_null(s);
	assert_int_equal(r.off, 0);
}

static void test_get_string_past_end(void **state)
{
	static const uint8_t in[] = {0x07, 'a', 'b', 'c'};
	struct cerr err = CERR_INIT;
	char *s = NULL;
	struct rbuf r;

	rbuf_init(&r, in, sizeof(in));
	assert_int_equal(tl_get_string(&r, &s, &err), -EBADMSG);
	assert_null(s);
}

/* ---- seal request: golden encodings ---- */

static void check_req_golden(const char *name, size_t want_len, size_t name_field)
{
	static const uint8_t prefix[] = {0x1c, 0x82, 0x7a, 0x31, 0xfe, 0x00, 0x04, 0x00};
	static const uint8_t zeros[3];
	size_t len, name_len = strlen(name), off;
	uint8_t *p = make_req(name, &len);

	assert_int_equal(len, want_len);
	assert_memory_equal(p, prefix, sizeof(prefix));
	off = sizeof(prefix);
	assert_memory_equal(p + off, report, SEAL_REPORT_LEN);
	off += SEAL_REPORT_LEN;
	assert_int_equal(p[off], 0x40);
	assert_memory_equal(p + off + 1, pubkey, SEAL_PUBKEY_LEN);
	assert_memory_equal(p + off + 1 + SEAL_PUBKEY_LEN, zeros, 3);
	off += 68;
	assert_int_equal(p[off], name_len);
	assert_memory_equal(p + off + 1, name, name_len);
	for (size_t i = off + 1 + name_len; i < off + name_field; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(off + name_field, len);
	free(p);
}

static void test_req_golden_disk_encryption(void **state)
{
	/* 0f + 15 bytes = 16: no padding */
	check_req_golden("disk_encryption", 1116, 16);
}

static void test_req_golden_app(void **state)
{
	/* 03 + 3 bytes = 4: no padding */
	check_req_golden("app", 1104, 4);
}

static void test_req_golden_default_padded(void **state)
{
	/* Cocoon's default key name: 07 + 7 bytes = 8 */
	check_req_golden("default", 1108, 8);
	/* 1 + 5 = 6, padded to 8 */
	check_req_golden("abcde", 1108, 8);
}

static void test_req_roundtrip(void **state)
{
	struct cerr err = CERR_INIT;
	struct seal_req req;
	size_t len;
	uint8_t *p = make_req("disk_encryption", &len);

	assert_int_equal(seal_req_decode(p, len, &req, &err), 0);
	assert_memory_equal(req.report, report, SEAL_REPORT_LEN);
	assert_memory_equal(req.pubkey, pubkey, SEAL_PUBKEY_LEN);
	assert_string_equal(req.key_name, "disk_encryption");
	free(p);
}

static void test_req_roundtrip_longest_name(void **state)
{
	char name[SEAL_KEY_NAME_MAX + 1];
	struct cerr err = CERR_INIT;
	struct seal_req req;
	uint8_t *p;
	size_t len;

	memset(name, 'k', SEAL_KEY_NAME_MAX);
	name[SEAL_KEY_NAME_MAX] = '\0';
	p = make_req(name, &len);
	assert_int_equal(seal_req_decode(p, len, &req, &err), 0);
	assert_string_equal(req.key_name, name);
	free(p);
}

static void test_req_encode_refuses_bad_name(void **state)
{
	static const char *const bad[] = {"", "a/b", "a b", "../x", "k\xc3\xa9y"};
	char too_long[SEAL_KEY_NAME_MAX + 2];
	struct cerr err = CERR_INIT;
	struct wbuf w;

	memset(too_long, 'a', SEAL_KEY_NAME_MAX + 1);
	too_long[SEAL_KEY_NAME_MAX + 1] = '\0';
	wbuf_init(&w, 0);
	assert_int_equal(seal_req_encode(&w, report, pubkey, too_long, &err), -EINVAL);
	assert_contains(err.msg, "longer than 64");
	wbuf_free(&w);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wbuf_init(&w, 0);
		assert_int_equal(seal_req_encode(&w, report, pubkey, bad[i], &err), -EINVAL);
		assert_contains(err.msg, "key name");
		assert_int_equal(w.len, 0);
		wbuf_free(&w);
	}
	wbuf_init(&w, 0);
	assert_int_equal(seal_req_encode(&w, report, pubkey, NULL, &err), -EINVAL);
	wbuf_free(&w);
}

static void test_req_encode_wbuf_too_small(void **state)
{
	struct cerr err = CERR_INIT;
	struct wbuf w;

	wbuf_init(&w, 1000);
	assert_int_equal(seal_req_encode(&w, report, pubkey, "app", &err), -EMSGSIZE);
	assert_contains(err.msg, "encoding getPersistentKey");
	wbuf_free(&w);
}

/* ---- seal request: malformed ---- */

static void test_req_trailing_bytes(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);
	uint8_t *q = calloc(1, len + 4);

	memcpy(q, p, len);
	assert_req_fails(q, len + 4, "too much data: 4 trailing bytes");
	assert_req_fails(q, len + 1, "too much data: 1 trailing bytes");
	free(p);
	free(q);
}

static void test_req_wrong_constructor(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	p[0] ^= 1;
	assert_req_fails(p, len, "unexpected magic 0x317a821d, expected 0x317a821c");
	free(p);
}

static void test_req_is_a_response(void **state)
{
	static const uint8_t quote[10];
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);

	assert_req_fails(p, len, "unexpected magic 0x163a179a, expected 0x317a821c");
	free(p);
}

static void test_req_empty(void **state)
{
	struct cerr err = CERR_INIT;
	struct seal_req req;

	assert_int_equal(seal_req_decode(NULL, 0, &req, &err), -EBADMSG);
	assert_int_equal(seal_req_decode("", 0, &req, &err), -EBADMSG);
}

static void test_req_report_past_end_fe(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	/* cut inside the report: its 0xFE length now runs past the end */
	assert_req_fails(p, 600,
	                 "tdx_report: bytes length 1024 past end of buffer (592 bytes left)");
	free(p);
}

static void test_req_report_length_huge(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	p[5] = p[6] = p[7] = 0xff; /* 16 MiB - 1 */
	assert_req_fails(p, len, "bytes length 16777215 past end of buffer");
	free(p);
}

static void test_req_key_past_end_short(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	/* cut inside the public key: its one-byte length runs past the end */
	assert_req_fails(p, 4 + 1028 + 10, "public_key: bytes length 64 past end of buffer");
	free(p);
}

static void test_req_name_past_end(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	p[len - 4] = 200; /* key name claims 200 bytes */
	assert_req_fails(p, len, "key_name: bytes length 200 past end of buffer (3 bytes left)");
	free(p);
}

static void test_req_ff_form(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	p[4] = 0xff;
	assert_req_fails(p, len, "tdx_report: bytes field uses the 0xFF");
	free(p);
}

static void test_req_truncated_padding(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	/* end after the public key and one of its three padding bytes */
	assert_req_fails(p, 4 + 1028 + 65 + 1,
	                 "public_key: truncated: bytes of length 64 need 3 padding bytes, 1 left");
	free(p);
}

static void test_req_missing_key_name(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	assert_req_fails(p, len - 4, "key_name: truncated: bytes field has no length byte");
	free(p);
}

static void test_req_nonzero_padding_accepted(void **state)
{
	struct cerr err = CERR_INIT;
	struct seal_req req;
	size_t len;
	uint8_t *p = make_req("app", &len);
	size_t pad = 4 + 1028 + 65;

	p[pad] = 0xaa;
	p[pad + 1] = 0xbb;
	p[pad + 2] = 0xcc;
	assert_int_equal(seal_req_decode(p, len, &req, &err), 0);
	assert_memory_equal(req.pubkey, pubkey, SEAL_PUBKEY_LEN);
	assert_string_equal(req.key_name, "app");
	free(p);
}

static void test_req_wrong_report_length(void **state)
{
	size_t len;
	uint8_t *p = make_raw_req(1023, 64, "app", 3, &len);

	assert_req_fails(p, len, "tdx_report is 1023 bytes, expected 1024");
	free(p);
	p = make_raw_req(1025, 64, "app", 3, &len);
	assert_req_fails(p, len, "tdx_report is 1025 bytes, expected 1024");
	free(p);
	p = make_raw_req(0, 64, "app", 3, &len);
	assert_req_fails(p, len, "tdx_report is 0 bytes, expected 1024");
	free(p);
}

static void test_req_wrong_key_length(void **state)
{
	size_t len;
	uint8_t *p = make_raw_req(1024, 65, "app", 3, &len);

	assert_req_fails(p, len, "public_key is 65 bytes, expected 64");
	free(p);
	p = make_raw_req(1024, 63, "app", 3, &len);
	assert_req_fails(p, len, "public_key is 63 bytes, expected 64");
	free(p);
}

static void test_req_bad_key_name_empty(void **state)
{
	size_t len;
	uint8_t *p = make_raw_req(1024, 64, "", 0, &len);

	assert_req_fails(p, len, "key name is empty");
	free(p);
}

static void test_req_bad_key_name_too_long(void **state)
{
	char name[SEAL_KEY_NAME_MAX + 1];
	size_t len;
	uint8_t *p;

	memset(name, 'a', sizeof(name));
	p = make_raw_req(1024, 64, name, sizeof(name), &len);
	assert_req_fails(p, len, "key name is longer than 64 characters");
	free(p);
}

static void test_req_bad_key_name_char(void **state)
{
	static const char *const bad[] = {"a/b", "a b", "..\\x", "k\xc3\xa9y", "a\nb", "x:y"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len;
		uint8_t *p = make_raw_req(1024, 64, bad[i], strlen(bad[i]), &len);

		assert_req_fails(p, len, "only A-Z a-z 0-9 _ . - are allowed");
		free(p);
	}
}

static void test_req_bad_key_name_nul(void **state)
{
	size_t len;
	uint8_t *p = make_raw_req(1024, 64, "ab\0c", 4, &len);

	assert_req_fails(p, len, "key name has byte 0x00 at position 2");
	free(p);
}

static void test_key_name_check(void **state)
{
	struct cerr err = CERR_INIT;

	assert_int_equal(seal_key_name_check("disk_encryption", &err), 0);
	assert_int_equal(seal_key_name_check("A-z.0_9", &err), 0);
	assert_int_equal(seal_key_name_check("", &err), -EINVAL);
	assert_int_equal(seal_key_name_check("a=b", &err), -EINVAL);
	assert_string_equal(err.msg, "key name has byte 0x3d at position 1; "
	                             "only A-Z a-z 0-9 _ . - are allowed");
	assert_int_equal(seal_key_name_check(NULL, &err), -EINVAL);
}

/* ---- seal response ---- */

static void test_resp_golden_secret(void **state)
{
	static const uint8_t quote[5] = {1, 2, 3, 4, 5};
	static const uint8_t zeros[3];
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);

	/* 9a 17 3a 16 | 05 q q q q q 00 00 | 60 + 96 + 00 00 00 */
	assert_int_equal(len, 4 + 8 + 100);
	assert_int_equal(p[0], 0x9a);
	assert_int_equal(p[1], 0x17);
	assert_int_equal(p[2], 0x3a);
	assert_int_equal(p[3], 0x16);
	assert_int_equal(p[4], 5);
	assert_memory_equal(p + 5, quote, 5);
	assert_int_equal(p[12], 0x60);
	assert_memory_equal(p + 13, secret, 96);
	assert_memory_equal(p + 109, zeros, 3);
	free(p);
}

static void test_resp_roundtrip(void **state)
{
	static const size_t lens[] = {0, 1, 253, 254, 4600, 16000};
	static uint8_t quote[16000];
	struct cerr err = CERR_INIT;
	struct seal_resp resp;

	fill(quote, sizeof(quote), 0x44);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len;
		uint8_t *p = make_resp(quote, lens[i], &len);

		assert_int_equal(seal_resp_decode(p, len, &resp, &err), 0);
		assert_int_equal(resp.quote_len, lens[i]);
		assert_memory_equal(resp.quote, quote, lens[i]);
		assert_true(resp.quote >= p && resp.quote + resp.quote_len <= p + len);
		assert_memory_equal(resp.secret_enc, secret, SEAL_SECRET_ENC_LEN);
		free(p);
	}
}

static void test_resp_trailing_bytes(void **state)
{
	static const uint8_t quote[300];
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);
	uint8_t *q = calloc(1, len + 8);

	memcpy(q, p, len);
	assert_resp_fails(q, len + 8, "too much data: 8 trailing bytes");
	free(p);
	free(q);
}

static void test_resp_wrong_constructor(void **state)
{
	size_t len;
	uint8_t *p = make_req("app", &len);

	assert_resp_fails(p, len,
	                  "unexpected magic 0x317a821c, expected 0x163a179a for "
	                  "persistentKey");
	free(p);
}

static void test_resp_quote_past_end(void **state)
{
	static const uint8_t quote[300];
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);

	assert_resp_fails(p, 100, "sgx_quote: bytes length 300 past end of buffer (92 bytes left)");
	free(p);
}

static void test_resp_wrong_secret_length(void **state)
{
	static const uint8_t data[128];
	struct wbuf w;
	size_t len;
	uint8_t *p;

	wbuf_init(&w, 0);
	tl_put_u32(&w, TL_ID_PERSISTENT_KEY);
	tl_put_bytes(&w, data, 10);
	tl_put_bytes(&w, data, 97);
	p = wbuf_steal(&w, &len);
	assert_resp_fails(p, len, "encrypted_secret is 97 bytes, expected 96");
	free(p);

	wbuf_init(&w, 0);
	tl_put_u32(&w, TL_ID_PERSISTENT_KEY);
	tl_put_bytes(&w, data, 10);
	tl_put_bytes(&w, data, 32);
	p = wbuf_steal(&w, &len);
	assert_resp_fails(p, len, "encrypted_secret is 32 bytes, expected 96");
	free(p);
}

static void test_resp_secret_truncated_padding(void **state)
{
	static const uint8_t quote[4];
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);

	assert_resp_fails(p, len - 2,
	                  "encrypted_secret: truncated: bytes of length 96 need 3 "
	                  "padding bytes, 1 left");
	free(p);
}

static void test_resp_nonzero_padding_accepted(void **state)
{
	static const uint8_t quote[5] = {1, 2, 3, 4, 5};
	struct cerr err = CERR_INIT;
	struct seal_resp resp;
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);

	p[10] = p[11] = 0xee;
	p[len - 1] = 0x01;
	assert_int_equal(seal_resp_decode(p, len, &resp, &err), 0);
	assert_int_equal(resp.quote_len, 5);
	free(p);
}

static void test_resp_ff_form(void **state)
{
	static const uint8_t quote[5];
	size_t len;
	uint8_t *p = make_resp(quote, sizeof(quote), &len);

	p[4] = 0xff;
	assert_resp_fails(p, len, "sgx_quote: bytes field uses the 0xFF");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_ints),
	    cmocka_unit_test(test_put_bytes_sizes),
	    cmocka_unit_test(test_put_bytes_empty),
	    cmocka_unit_test(test_put_string),
	    cmocka_unit_test(test_put_bytes_too_long),
	    cmocka_unit_test(test_put_bytes_largest),
	    cmocka_unit_test(test_put_bytes_respects_wbuf_max),
	    cmocka_unit_test(test_get_ints),
	    cmocka_unit_test(test_get_ints_truncated),
	    cmocka_unit_test(test_expect_magic_ok),
	    cmocka_unit_test(test_expect_magic_wrong),
	    cmocka_unit_test(test_expect_magic_truncated),
	    cmocka_unit_test(test_expect_end),
	    cmocka_unit_test(test_get_bytes_roundtrip),
	    cmocka_unit_test(test_get_bytes_past_end_short_form),
	    cmocka_unit_test(test_get_bytes_past_end_fe_form),
	    cmocka_unit_test(test_get_bytes_fe_header_truncated),
	    cmocka_unit_test(test_get_bytes_ff_form),
	    cmocka_unit_test(test_get_bytes_empty_input),
	    cmocka_unit_test(test_get_bytes_truncated_padding),
	    cmocka_unit_test(test_get_bytes_nonzero_padding_accepted),
	    cmocka_unit_test(test_get_bytes_noncanonical_fe_accepted),
	    cmocka_unit_test(test_get_string_ok),
	    cmocka_unit_test(test_get_string_embedded_nul),
	    cmocka_unit_test(test_get_string_past_end),
	    cmocka_unit_test(test_req_golden_disk_encryption),
	    cmocka_unit_test(test_req_golden_app),
	    cmocka_unit_test(test_req_golden_default_padded),
	    cmocka_unit_test(test_req_roundtrip),
	    cmocka_unit_test(test_req_roundtrip_longest_name),
	    cmocka_unit_test(test_req_encode_refuses_bad_name),
	    cmocka_unit_test(test_req_encode_wbuf_too_small),
	    cmocka_unit_test(test_req_trailing_bytes),
	    cmocka_unit_test(test_req_wrong_constructor),
	    cmocka_unit_test(test_req_is_a_response),
	    cmocka_unit_test(test_req_empty),
	    cmocka_unit_test(test_req_report_past_end_fe),
	    cmocka_unit_test(test_req_report_length_huge),
	    cmocka_unit_test(test_req_key_past_end_short),
	    cmocka_unit_test(test_req_name_past_end),
	    cmocka_unit_test(test_req_ff_form),
	    cmocka_unit_test(test_req_truncated_padding),
	    cmocka_unit_test(test_req_missing_key_name),
	    cmocka_unit_test(test_req_nonzero_padding_accepted),
	    cmocka_unit_test(test_req_wrong_report_length),
	    cmocka_unit_test(test_req_wrong_key_length),
	    cmocka_unit_test(test_req_bad_key_name_empty),
	    cmocka_unit_test(test_req_bad_key_name_too_long),
	    cmocka_unit_test(test_req_bad_key_name_char),
	    cmocka_unit_test(test_req_bad_key_name_nul),
	    cmocka_unit_test(test_key_name_check),
	    cmocka_unit_test(test_resp_golden_secret),
	    cmocka_unit_test(test_resp_roundtrip),
	    cmocka_unit_test(test_resp_trailing_bytes),
	    cmocka_unit_test(test_resp_wrong_constructor),
	    cmocka_unit_test(test_resp_quote_past_end),
	    cmocka_unit_test(test_resp_wrong_secret_length),
	    cmocka_unit_test(test_resp_secret_truncated_padding),
	    cmocka_unit_test(test_resp_nonzero_padding_accepted),
	    cmocka_unit_test(test_resp_ff_form),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
