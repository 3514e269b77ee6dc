/* fuzz_tl.c - libFuzzer target for the TL decoders and the seal messages.
 *
 * Whatever a peer sends, decoding must end in a message or a clean -EBADMSG
 * with a message, never read outside the input. On top of the sanitizers'
 * checks it asserts two properties: every zero-copy pointer lies inside the
 * input, and a decoded message re-encodes to bytes that decode to the same
 * message again, no longer than the input (the decoder accepts non-canonical
 * lengths and non-zero padding, so the bytes themselves may differ).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/buf.h"
#include "cocoon/err.h"
#include "cocoon/tl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* p..p+n inside data..data+size, read in full so ASan sees every byte */
static void check_inside(const uint8_t *p, size_t n, const uint8_t *data, size_t size)
{
	uint8_t x = 0;

	check(n <= size);
	check(n == 0 ||
	      ((uintptr_t)p >= (uintptr_t)data && (uintptr_t)p - (uintptr_t)data <= size - n));
	for (size_t i = 0; i < n; i++)
		x ^= p[i];
	sink = x;
}

static void check_failure(int r, const struct cerr *err)
{
	check(r == -EBADMSG);
	check(err->code == EBADMSG && err->msg[0] != '\0');
}

static void fuzz_req(const uint8_t *data, size_t size)
{
	struct cerr err = CERR_INIT;
	struct seal_req req, again;
	struct wbuf w;
	int r;

	r = seal_req_decode(data, size, &req, &err);
	if (r < 0) {
		check_failure(r, &err);
		return;
	}
	check(seal_key_name_check(req.key_name, NULL) == 0);
	wbuf_init(&w, 0);
	check(seal_req_encode(&w, req.report, req.pubkey, req.key_name, &err) == 0);
	check(w.len <= size);
	check(seal_req_decode(w.p, w.len, &again, &err) == 0);
	check(memcmp(&req, &again, sizeof(req)) == 0);
	wbuf_free(&w);
}

static void fuzz_resp(const uint8_t *data, size_t size)
{
	struct cerr err = CERR_INIT;
	struct seal_resp resp, again;
	struct wbuf w;
	int r;

	r = seal_resp_decode(data, size, &resp, &err);
	if (r < 0) {
		check_failure(r, &err);
		return;
	}
	check_inside(resp.quote, resp.quote_len, data, size);
	wbuf_init(&w, 0);
	check(seal_resp_encode(&w, resp.quote, resp.quote_len, resp.secret_enc, &err) == 0);
	check(w.len <= size);
	check(seal_resp_decode(w.p, w.len, &again, &err) == 0);
	check(again.quote_len == resp.quote_len);
	check(memcmp(again.quote, resp.quote, resp.quote_len) == 0);
	check(memcmp(again.secret_enc, resp.secret_enc, sizeof(resp.secret_enc)) == 0);
	wbuf_free(&w);
}

/* a run of bytes fields, as long as they parse */
static void fuzz_bytes_run(const uint8_t *data, size_t size)
{
	struct cerr err = CERR_INIT;
	struct rbuf r;

	rbuf_init(&r, data, size);
	for (;;) {
		size_t before = rbuf_left(&r), n;
		const uint8_t *p;
		int rc = tl_get_bytes(&r, &p, &n, &err);

		if (rc < 0) {
			check_failure(rc, &err);
			check(rbuf_left(&r) == before); /* a failure consumes nothing */
			break;
		}
		check(n <= TL_BYTES_MAX);
		check_inside(p, n, data, size);
		/* whole 4-byte units consumed, header and padding included */
		check(before - rbuf_left(&r) >= n + 1 && (before - rbuf_left(&r)) % 4 == 0);
	}
}

/* the same as strings, which must come back NUL-terminated and NUL-free */
static void fuzz_string_run(const uint8_t *data, size_t size)
{
	struct cerr err = CERR_INIT;
	struct rbuf r;
	char *s;

	rbuf_init(&r, data, size);
	while (tl_get_string(&r, &s, &err) == 0) {
		check(strlen(s) <= size);
		free(s);
	}
}

/* every getter, in an order the input chooses */
static void fuzz_mixed(const uint8_t *data, size_t size)
{
	struct cerr err = CERR_INIT;
	struct rbuf r;
	uint8_t op;

	rbuf_init(&r, data, size);
	while (rbuf_u8(&r, &op) == 0) {
		const uint8_t *p;
		uint32_t u32;
		int32_t i32;
		int64_t i64;
		size_t n;
		int rc;

		switch (op % 5) {
		case 0:
			rc = tl_get_u32(&r, &u32, &err);
			break;
		case 1:
			rc = tl_get_i32(&r, &i32, &err);
			break;
		case 2:
			rc = tl_get_i64(&r, &i64, &err);
			break;
		case 3:
			rc = tl_get_bytes(&r, &p, &n, &err);
			if (rc == 0)
				check_inside(p, n, data, size);
			break;
		default:
			rc = tl_expect_magic(&r, TL_ID_PERSISTENT_KEY, "persistentKey", &err);
			break;
		}
		if (rc < 0) {
			check_failure(rc, &err);
			break;
		}
	}
	if (tl_expect_end(&r, &err) < 0)
		check(rbuf_left(&r) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_req(data, size);
	fuzz_resp(data, size);
	fuzz_bytes_run(data, size);
	fuzz_string_run(data, size);
	fuzz_mixed(data, size);
	return 0;
}
