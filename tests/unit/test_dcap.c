/* test_dcap.c - lib/dcap.c on the genuine Intel-signed TDX quote v4 of
 * tests/fixtures/dcap (pinned: the real Intel SGX Root CA).
 *
 * The oracle is Intel's signatures: the fixture verifies UpToDate at
 * 2025-06-20T00:00:00Z, and every one-byte change in every signed region of
 * the quote and of each collateral part, every truncation, swapped
 * collateral parts and every time outside a validity window must fail, with
 * a message that starts with the name of the check that failed. Every byte
 * of the quote's header, body, signature, attestation key, QE report, its
 * signature and the QE authentication data is changed in turn; of the PEM
 * chain and the large collateral parts, bytes spread evenly over each (each
 * such case verifies a fresh collateral: 20-50 ms under ASan).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cocoon/dcap.h"
#include "cocoon/util.h"

#define T_GOOD 1750377600 /* 2025-06-20T00:00:00Z */

static char *quote_raw;
static size_t quote_len;
static char *col_json;
static size_t col_len;

static void load_fixtures(void)
{
	const char *dir = getenv("DCAP_FIXTURES");
	char path[4096];
	struct cerr err = CERR_INIT;
	if (!dir)
		dir = "tests/fixtures";
	snprintf(path, sizeof(path), "%s/dcap/tdx_quote", dir);
	if (read_file(path, DCAP_QUOTE_MAX, &quote_raw, &quote_len, &err) < 0)
		fail_msg("%s", err.msg);
	snprintf(path, sizeof(path), "%s/dcap/tdx_quote_collateral.json", dir);
	if (read_file(path, DCAP_COLLATERAL_MAX, &col_json, &col_len, &err) < 0)
		fail_msg("%s", err.msg);
}

static void collateral(struct dcap_collateral *c)
{
	struct cerr err = CERR_INIT;
	if (dcap_collateral_parse(col_json, col_len, c, &err) < 0)
		fail_msg("%s", err.msg);
}

/* Verifies quote bytes against c at t: 0, or < 0 with the check's name in
 * check[] (the message up to its first ':'). */
static int verify(const uint8_t *q, size_t n, const struct dcap_collateral *c, time_t t,
                  char *check, size_t cn, struct dcap_result *res)
{
	struct dcap_quote quote;
	struct cerr err = CERR_INIT;
	int r = dcap_quote_parse(q, n, &quote, &err);
	if (r == 0)
		r = dcap_verify(&quote, c, t, res, &err);
	if (r < 0) {
		size_t k = strcspn(err.msg, ":");
		snprintf(check, cn, "%.*s", (int)k, err.msg);
		assert_true(k > 0 && k < strlen(err.msg)); /* "check: why" */
		if (strcmp(check, "quote parse"))
			assert_string_equal(res->failed_check, check);
	}
	return r;
}

static void test_genuine(void **state)
{
	struct dcap_collateral c;
	struct dcap_result res;
	char check[64];
	collateral(&c);
	for (int i = 0; i < 3; i++) { /* the second and third run from the cache */
		assert_int_equal(
		    verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check), &res),
		    0);
		assert_string_equal(res.status, "UpToDate");
		assert_int_equal(res.n_advisory_ids, 0);
		assert_memory_equal(res.fmspc, "\xb0\xc0\x6f\x00\x00\x00", 6);
	}
	struct dcap_quote q;
	struct cerr err = CERR_INIT;
	assert_int_equal(dcap_quote_parse((uint8_t *)quote_raw, quote_len, &q, &err), 0);
	assert_int_equal(q.hdr.version, 4);
	assert_int_equal(q.body_type, DCAP_BODY_TD10);
	assert_int_equal(q.hdr.tee_type, DCAP_TEE_TDX);
	assert_false(dcap_root_is_test());
	dcap_collateral_free(&c);
}

/* The collateral written by dcap_collateral_save() reads back and verifies. */
static void test_save_roundtrip(void **state)
{
	struct dcap_collateral c, d;
	struct dcap_result res;
	struct cerr err = CERR_INIT;
	char check[64], path[] = "/tmp/test_dcap.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	collateral(&c);
	assert_int_equal(dcap_collateral_save(path, &c, &err), 0);
	assert_int_equal(dcap_collateral_load(path, &d, &err), 0);
	unlink(path);
	assert_int_equal(d.tcb_info_len, c.tcb_info_len);
	assert_memory_equal(d.tcb_info, c.tcb_info, c.tcb_info_len);
	assert_int_equal(
	    verify((uint8_t *)quote_raw, quote_len, &d, T_GOOD, check, sizeof(check), &res), 0);
	dcap_collateral_free(&c);
	dcap_collateral_free(&d);
}

static bool in(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

/* every byte of [off, off + n) changed: must fail with one of the checks */
static void tamper_quote_range(size_t off, size_t n, const char *const *checks, const char *what)
{
	struct dcap_collateral c;
	struct dcap_result res;
	char check[64];
	uint8_t *q = malloc(quote_len);
	collateral(&c);
	for (size_t i = off; i < off + n; i++) {
		memcpy(q, quote_raw, quote_len);
		q[i] ^= 0x01;
		int r = verify(q, quote_len, &c, T_GOOD, check, sizeof(check), &res);
		if (r == 0)
			fail_msg("%s: byte %zu changed and the quote still verifies", what, i);
		if (!in(check, checks))
			fail_msg("%s: byte %zu: failed check '%s' unexpected", what, i, check);
	}
	free(q);
	dcap_collateral_free(&c);
}

static struct dcap_quote parsed(void)
{
	struct dcap_quote q;
	struct cerr err = CERR_INIT;
	assert_int_equal(dcap_quote_parse((uint8_t *)quote_raw, quote_len, &q, &err), 0);
	return q;
}

#define OFF(p) ((size_t)((const char *)(p)-quote_raw))

static void test_tamper_header_body(void **state)
{
	static const char *const checks[] = {"quote parse", "quote header", "quote signature",
	                                     NULL};
	struct dcap_quote q = parsed();
	tamper_quote_range(0, 48, checks, "header");
	static const char *const body[] = {"quote signature", NULL};
	tamper_quote_range(48, q.signed_len - 48, body, "body");
}

static void test_tamper_signature(void **state)
{
	static const char *const checks[] = {"quote signature", "attestation key", NULL};
	struct dcap_quote q = parsed();
	/* the signature and the attestation key follow the length word */
	tamper_quote_range(q.signed_len + 4, 128, checks, "signature and attestation key");
}

static void test_tamper_qe_report(void **state)
{
	static const char *const checks[] = {"qe report signature", "qe report data", NULL};
	struct dcap_quote q = parsed();
	tamper_quote_range(OFF(q.qe_report_raw), 384 + 64, checks, "qe report and its signature");
	static const char *const auth[] = {"qe report data", NULL};
	tamper_quote_range(OFF(q.qe_auth), q.qe_auth_len, auth, "qe auth data");
}

/* The DER certificates a PEM text holds (NULL-terminated array of i2d
 * buffers and lengths), to tell a change of the PEM text that changes no
 * certificate (a padding bit) from one that does. */
static int chain_der(const char *pem, size_t n, unsigned char **der, int *len, int max)
{
	BIO *b = BIO_new_mem_buf(pem, (int)n);
	X509 *x;
	int k = 0;
	while (k < max && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		der[k] = NULL;
		len[k] = i2d_X509(x, &der[k]);
		X509_free(x);
		k++;
	}
	BIO_free(b);
	return k;
}

static bool same_certs(const char *a, size_t an, const char *b, size_t bn)
{
	unsigned char *da[8], *db[8];
	int la[8], lb[8];
	int na = chain_der(a, an, da, la, 8), nb = chain_der(b, bn, db, lb, 8);
	bool same = na == nb;
	for (int i = 0; i < na && i < nb; i++)
		same &= la[i] == lb[i] && !memcmp(da[i], db[i], (size_t)la[i]);
	for (int i = 0; i < na; i++)
		OPENSSL_free(da[i]);
	for (int i = 0; i < nb; i++)
		OPENSSL_free(db[i]);
	return same;
}

static char other_char(char c)
{
	return c == 'A' ? 'B' : 'A';
}

static void test_tamper_pck_chain(void **state)
{
	static const char *const checks[] = {"pck chain", "pck chain validity", "pck extensions",
	                                     "qe report signature", NULL};
	struct dcap_quote q = parsed();
	struct dcap_collateral c;
	struct dcap_result res;
	char check[64];
	uint8_t *t = malloc(quote_len);
	size_t off = OFF(q.pck_chain), skipped = 0;
	collateral(&c);
	/* about 200 bytes spread over the chain's 4 kB */
	size_t stride = q.pck_chain_len / 200 + 1;
	for (size_t j = 0, i = off; i < off + q.pck_chain_len;
	     j++, i = off + j * stride + j % stride) {
		memcpy(t, quote_raw, quote_len);
		t[i] = (uint8_t)other_char((char)t[i]);
		if (same_certs((char *)t + off, q.pck_chain_len, (char *)q.pck_chain,
		               q.pck_chain_len)) {
			skipped++;
			continue;
		}
		if (verify(t, quote_len, &c, T_GOOD, check, sizeof(check), &res) == 0)
			fail_msg("pck chain: byte %zu changed and the quote still verifies", i);
		if (!in(check, checks))
			fail_msg("pck chain: byte %zu: failed check '%s' unexpected", i, check);
	}
	/* only padding bits and the trailing NUL may leave the certificates unchanged */
	assert_true(skipped < 16);
	free(t);
	dcap_collateral_free(&c);
}

static void test_truncated(void **state)
{
	struct dcap_collateral c;
	struct dcap_result res;
	char check[64];
	struct dcap_quote q = parsed();
	size_t end = OFF(q.pck_chain) + q.pck_chain_len; /* zero padding follows */
	collateral(&c);
	for (size_t n = 0; n < end; n++) {
		int r = verify((uint8_t *)quote_raw, n, &c, T_GOOD, check, sizeof(check), &res);
		if (r == 0)
			fail_msg("truncated to %zu bytes and still verifies", n);
		assert_string_equal(check, "quote parse");
	}
	/* without the zero padding it is the same quote */
	assert_int_equal(verify((uint8_t *)quote_raw, end, &c, T_GOOD, check, sizeof(check), &res),
	                 0);
	/* and padding that is not zero is refused */
	uint8_t *t = malloc(quote_len);
	memcpy(t, quote_raw, quote_len);
	t[quote_len - 1] = 1;
	assert_true(verify(t, quote_len, &c, T_GOOD, check, sizeof(check), &res) < 0);
	assert_string_equal(check, "quote parse");
	free(t);
	dcap_collateral_free(&c);
}

/* ---- collateral ---- */

enum part {
	P_TCB_INFO,
	P_TCB_SIG,
	P_QE_ID,
	P_QE_SIG,
	P_ROOT_CRL,
	P_PCK_CRL,
	P_TCB_CHAIN,
	P_QE_CHAIN,
	P_CRL_CHAIN,
};

static uint8_t *part(struct dcap_collateral *c, enum part p, size_t *n)
{
	switch (p) {
	case P_TCB_INFO:
		*n = c->tcb_info_len;
		return (uint8_t *)c->tcb_info;
	case P_TCB_SIG:
		*n = 64;
		return c->tcb_info_sig;
	case P_QE_ID:
		*n = c->qe_identity_len;
		return (uint8_t *)c->qe_identity;
	case P_QE_SIG:
		*n = 64;
		return c->qe_identity_sig;
	case P_ROOT_CRL:
		*n = c->root_ca_crl_len;
		return c->root_ca_crl;
	case P_PCK_CRL:
		*n = c->pck_crl_len;
		return c->pck_crl;
	case P_TCB_CHAIN:
		*n = strlen(c->tcb_info_issuer_chain);
		return (uint8_t *)c->tcb_info_issuer_chain;
	case P_QE_CHAIN:
		*n = strlen(c->qe_identity_issuer_chain);
		return (uint8_t *)c->qe_identity_issuer_chain;
	case P_CRL_CHAIN:
		*n = strlen(c->pck_crl_issuer_chain);
		return (uint8_t *)c->pck_crl_issuer_chain;
	}
	return NULL;
}

static void tamper_part(enum part p, const char *const *checks, const char *what, bool pem)
{
	struct dcap_collateral orig;
	struct dcap_result res;
	char check[64];
	size_t n, skipped = 0;
	collateral(&orig);
	uint8_t *o = part(&orig, p, &n);
	/* each byte of the small parts; about 48 bytes spread over a large one
	 * (a fresh collateral each time verifies its chains again) */
	size_t stride = n > 48 ? n / 48 : 1;
	for (size_t j = 0, i = 0; i < n; j++, i = j * stride + j % stride) {
		struct dcap_collateral c;
		size_t m;
		collateral(&c);
		uint8_t *b = part(&c, p, &m);
		if (pem) {
			b[i] = (uint8_t)other_char((char)b[i]);
			if (same_certs((char *)b, m, (char *)o, n)) {
				skipped++;
				dcap_collateral_free(&c);
				continue;
			}
		} else {
			b[i] ^= 0x01;
		}
		if (verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check),
		           &res) == 0)
			fail_msg("%s: byte %zu changed and the quote still verifies", what, i);
		if (!in(check, checks))
			fail_msg("%s: byte %zu: failed check '%s' unexpected", what, i, check);
		dcap_collateral_free(&c);
	}
	assert_true(skipped < 16);
	dcap_collateral_free(&orig);
}

static void test_tamper_tcb_info(void **state)
{
	static const char *const checks[] = {"tcb info", "tcb info signature", NULL};
	tamper_part(P_TCB_INFO, checks, "tcb info", false);
	tamper_part(P_TCB_SIG, checks, "tcb info signature", false);
}

static void test_tamper_qe_identity(void **state)
{
	static const char *const checks[] = {"qe identity", "qe identity signature", "tcb info",
	                                     NULL};
	tamper_part(P_QE_ID, checks, "qe identity", false);
	tamper_part(P_QE_SIG, checks, "qe identity signature", false);
}

static void test_tamper_crls(void **state)
{
	static const char *const checks[] = {
	    "root ca crl", "pck crl", "pck chain", "tcb info chain", "pck chain crl window", NULL};
	tamper_part(P_ROOT_CRL, checks, "root ca crl", false);
	tamper_part(P_PCK_CRL, checks, "pck crl", false);
}

static void test_tamper_chains(void **state)
{
	static const char *const tcb[] = {"tcb info chain", "tcb info chain validity",
	                                  "tcb info signature", "qe identity signature", NULL};
	tamper_part(P_TCB_CHAIN, tcb, "tcb info issuer chain", true);
	static const char *const qe[] = {"qe identity chain", "qe identity chain validity",
	                                 "qe identity signature", NULL};
	tamper_part(P_QE_CHAIN, qe, "qe identity issuer chain", true);
	static const char *const crl[] = {"pck crl chain", "pck crl chain validity", "pck crl",
	                                  NULL};
	tamper_part(P_CRL_CHAIN, crl, "pck crl issuer chain", true);
}

/* Parts swapped with each other: the signatures, the CRLs, the identities. */
static void test_swapped(void **state)
{
	struct dcap_result res;
	char check[64];
	struct dcap_collateral c;

	collateral(&c);
	uint8_t t[64];
	memcpy(t, c.tcb_info_sig, 64);
	memcpy(c.tcb_info_sig, c.qe_identity_sig, 64);
	memcpy(c.qe_identity_sig, t, 64);
	assert_true(
	    verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check), &res) < 0);
	assert_string_equal(check, "tcb info signature");
	dcap_collateral_free(&c);

	collateral(&c);
	uint8_t *crl = c.root_ca_crl;
	size_t crl_len = c.root_ca_crl_len;
	c.root_ca_crl = c.pck_crl;
	c.root_ca_crl_len = c.pck_crl_len;
	c.pck_crl = crl;
	c.pck_crl_len = crl_len;
	assert_true(
	    verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check), &res) < 0);
	dcap_collateral_free(&c);

	collateral(&c);
	char *s = c.tcb_info;
	size_t sl = c.tcb_info_len;
	memcpy(t, c.tcb_info_sig, 64);
	c.tcb_info = c.qe_identity;
	c.tcb_info_len = c.qe_identity_len;
	memcpy(c.tcb_info_sig, c.qe_identity_sig, 64);
	c.qe_identity = s;
	c.qe_identity_len = sl;
	memcpy(c.qe_identity_sig, t, 64);
	assert_true(
	    verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check), &res) < 0);
	dcap_collateral_free(&c);

	/* the PCK CRL issuer chain in place of the TCB chain: the TCB Info
	 * signature no longer verifies */
	collateral(&c);
	char *ch = c.tcb_info_issuer_chain;
	c.tcb_info_issuer_chain = c.pck_crl_issuer_chain;
	c.pck_crl_issuer_chain = ch;
	assert_true(
	    verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check), &res) < 0);
	dcap_collateral_free(&c);
}

/* Every window's edges: the certificates of each chain, both CRLs, TCB Info
 * and QE Identity. One second outside any of them fails. */
static void window_edges(STACK_OF(X509) * sk, time_t *edges, int *n)
{
	for (int i = 0; i < sk_X509_num(sk); i++) {
		struct tm tm;
		X509 *x = sk_X509_value(sk, i);
		ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
		edges[(*n)++] = timegm(&tm) - 1;
		ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
		edges[(*n)++] = timegm(&tm) + 1;
	}
}

static STACK_OF(X509) * pem_chain(const char *pem, size_t n)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b = BIO_new_mem_buf(pem, (int)n);
	X509 *x;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)))
		sk_X509_push(sk, x);
	BIO_free(b);
	return sk;
}

static void crl_edges(const uint8_t *der, size_t n, time_t *edges, int *k)
{
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)n);
	struct tm tm;
	assert_non_null(crl);
	ASN1_TIME_to_tm(X509_CRL_get0_lastUpdate(crl), &tm);
	edges[(*k)++] = timegm(&tm) - 1;
	ASN1_TIME_to_tm(X509_CRL_get0_nextUpdate(crl), &tm);
	edges[(*k)++] = timegm(&tm) + 1;
	X509_CRL_free(crl);
}

static void test_windows(void **state)
{
	struct dcap_collateral c;
	struct dcap_result res;
	char check[64];
	time_t edges[64];
	int n = 0;
	collateral(&c);
	struct dcap_quote q = parsed();
	STACK_OF(X509) * chains[4] = {
	    pem_chain((const char *)q.pck_chain, q.pck_chain_len),
	    pem_chain(c.tcb_info_issuer_chain, strlen(c.tcb_info_issuer_chain)),
	    pem_chain(c.qe_identity_issuer_chain, strlen(c.qe_identity_issuer_chain)),
	    pem_chain(c.pck_crl_issuer_chain, strlen(c.pck_crl_issuer_chain)),
	};
	for (int i = 0; i < 4; i++) {
		assert_true(sk_X509_num(chains[i]) >= 2);
		window_edges(chains[i], edges, &n);
		sk_X509_pop_free(chains[i], X509_free);
	}
	crl_edges(c.root_ca_crl, c.root_ca_crl_len, edges, &n);
	crl_edges(c.pck_crl, c.pck_crl_len, edges, &n);
	time_t t;
	assert_int_equal(dcap_parse_time("2025-06-19T10:16:03Z", &t), 0); /* TCB Info issueDate */
	edges[n++] = t - 1;
	assert_int_equal(dcap_parse_time("2025-07-19T10:16:03Z", &t), 0); /* nextUpdate */
	edges[n++] = t + 1;
	assert_int_equal(dcap_parse_time("2025-06-19T10:32:27Z", &t), 0); /* QE Identity */
	edges[n++] = t - 1;
	assert_int_equal(dcap_parse_time("2025-07-19T10:32:27Z", &t), 0);
	edges[n++] = t + 1;
	for (int i = 0; i < n; i++) {
		if (verify((uint8_t *)quote_raw, quote_len, &c, edges[i], check, sizeof(check),
		           &res) == 0)
			fail_msg("verifies at %lld, outside a window", (long long)edges[i]);
		assert_true(strstr(check, "validity") || strstr(check, "window"));
	}
	/* and back inside, from the same (cached) collateral */
	assert_int_equal(
	    verify((uint8_t *)quote_raw, quote_len, &c, T_GOOD, check, sizeof(check), &res), 0);
	/* the binding edges name their check */
	assert_true(verify((uint8_t *)quote_raw, quote_len, &c, 1750377600 + 40 * 86400, check,
	                   sizeof(check), &res) < 0);
	dcap_collateral_free(&c);
}

static void test_parse_time(void **state)
{
	time_t t;
	assert_int_equal(dcap_parse_time("2025-06-20T00:00:00Z", &t), 0);
	assert_int_equal(t, T_GOOD);
	assert_int_equal(dcap_parse_time("1750377600", &t), 0);
	assert_int_equal(t, T_GOOD);
	assert_int_equal(dcap_parse_time("2025-06-20T02:00:00.5+02:00", &t), 0);
	assert_int_equal(t, T_GOOD);
	assert_int_equal(dcap_parse_time("2025-06-20", &t), -EINVAL);
	assert_int_equal(dcap_parse_time("2025-06-20T00:00:00", &t), -EINVAL);
	assert_int_equal(dcap_parse_time("2025-13-20T00:00:00Z", &t), -EINVAL);
	assert_int_equal(dcap_parse_time("", &t), -EINVAL);
	assert_int_equal(dcap_parse_time("12a", &t), -EINVAL);
}

static void test_collateral_refused(void **state)
{
	struct dcap_collateral c;
	struct cerr err = CERR_INIT;
	assert_true(dcap_collateral_parse("[]", 2, &c, &err) < 0);
	assert_true(dcap_collateral_parse("{}", 2, &c, &err) < 0);
	assert_non_null(strstr(err.msg, "missing"));
	/* each key removed in turn is named */
	static const char *const keys[] = {
	    "pck_crl_issuer_chain",     "root_ca_crl", "pck_crl",
	    "tcb_info_issuer_chain",    "tcb_info",    "tcb_info_signature",
	    "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char *s = strdup(col_json), needle[64];
		snprintf(needle, sizeof(needle), "\"%s\"", keys[i]);
		char *p = strstr(s, needle);
		assert_non_null(p);
		p[1] = 'X'; /* the key is now another one */
		assert_true(dcap_collateral_parse(s, strlen(s), &c, &err) < 0);
		assert_non_null(strstr(err.msg, keys[i]));
		free(s);
	}
	/* truncated JSON */
	for (size_t n = 0; n < col_len - 2; n += 97)
		assert_true(dcap_collateral_parse(col_json, n, &c, &err) < 0);
}

int main(void)
{
	load_fixtures();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_genuine),
	    cmocka_unit_test(test_save_roundtrip),
	    cmocka_unit_test(test_parse_time),
	    cmocka_unit_test(test_collateral_refused),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_tamper_header_body),
	    cmocka_unit_test(test_tamper_signature),
	    cmocka_unit_test(test_tamper_qe_report),
	    cmocka_unit_test(test_tamper_pck_chain),
	    cmocka_unit_test(test_tamper_tcb_info),
	    cmocka_unit_test(test_tamper_qe_identity),
	    cmocka_unit_test(test_tamper_crls),
	    cmocka_unit_test(test_tamper_chains),
	    cmocka_unit_test(test_swapped),
	    cmocka_unit_test(test_windows),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	free(quote_raw);
	free(col_json);
	return r;
}
