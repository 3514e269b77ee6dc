/* fuzz_dcap.c - libFuzzer target for lib/dcap.c's parsers of hostile bytes.
 *
 * The first byte picks what the rest is: 0 a quote (dcap_quote_parse), 1 a
 * collateral JSON (dcap_collateral_parse), 2 both (two bytes of quote
 * length, the quote, the collateral) and, when both parse, dcap_verify() at
 * 2025-06-20. Each must end in success or a clean error with a message;
 * the quote's zero-copy pointers must lie inside the input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/dcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len)
{
	return n == 0 || (p >= base && p + n <= base + len);
}

static int quote(const uint8_t *p, size_t n, struct dcap_quote *q)
{
	struct cerr err = CERR_INIT;
	int r = dcap_quote_parse(p, n, q, &err);
	if (r < 0) {
		check(err.msg[0] != 0);
		return r;
	}
	check(inside(q->signed_data, q->signed_len, p, n));
	check(inside(q->qe_report_raw, 384, p, n));
	check(inside(q->qe_auth, q->qe_auth_len, p, n));
	check(inside(q->pck_chain, q->pck_chain_len, p, n));
	return 0;
}

static int collateral(const uint8_t *p, size_t n, struct dcap_collateral *c)
{
	struct cerr err = CERR_INIT;
	int r = dcap_collateral_parse((const char *)p, n, c, &err);
	if (r < 0)
		check(err.msg[0] != 0);
	else
		check(c->tcb_info && c->qe_identity && c->root_ca_crl && c->pck_crl);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dcap_quote q;
	struct dcap_collateral c;
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	/* copies, so that reads past the end are caught exactly */
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	if (mode == 0) {
		quote(buf, size, &q);
	} else if (mode == 1) {
		if (collateral(buf, size, &c) == 0)
			dcap_collateral_free(&c);
	} else if (mode == 2 && size >= 2) {
		size_t ql = (size_t)buf[0] << 8 | buf[1];
		if (ql <= size - 2 && quote(buf + 2, ql, &q) == 0 &&
		    collateral(buf + 2 + ql, size - 2 - ql, &c) == 0) {
			struct dcap_result res;
			struct cerr err = CERR_INIT;
			if (dcap_verify(&q, &c, 1750377600, &res, &err) < 0)
				check(err.msg[0] != 0 && res.failed_check[0] != 0);
			dcap_collateral_free(&c);
		}
	}
	free(buf);
	return 0;
}
