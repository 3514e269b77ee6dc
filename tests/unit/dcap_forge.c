/* dcap_forge.c - test-only DCAP quotes and collateral under the TEST root:
 * see dcap_forge.h. Certificates, CRLs and signatures by OpenSSL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cocoon/buf.h"
#include "cocoon/util.h"
#include "dcap_forge.h"

#define DAY 86400

static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};
static const uint8_t qe_mrsigner[32] = {
    0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17, 0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
    0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf, 0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5};
static const uint8_t fmspc[6] = {0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00};

void forge_defaults(struct forge_opts *o, const char *root_dir, time_t t)
{
	memset(o, 0, sizeof(*o));
	o->root_dir = root_dir;
	o->version = 3;
	o->t = t;
	memset(o->mr_enclave, 0xe1, 32);
	memset(o->mr_signer, 0x51, 32);
	o->attributes[0] = 0x05; /* INIT | MODE64BIT, not DEBUG */
	o->attributes[8] = 0x03;
	o->isv_prod_id = 1;
	o->isv_svn = 1;
	o->platform_svn = 5;
	o->pcesvn = 13;
	o->qe_svn = 8;
	o->top_svn = 5;
	o->top_status = "UpToDate";
	o->tdx_module_version = 1;
	o->tdx_module_svn = 3;
}

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static X509_NAME *name(const char *cn)
{
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC,
	                           (const unsigned char *)"Cocoon tests (not Intel)", -1, -1, 0);
	return n;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       long serial, time_t nb, time_t na, bool ca, X509_EXTENSION *extra)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME *n = name(cn);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(issuer));
	ASN1_TIME_set(X509_getm_notBefore(x), nb);
	ASN1_TIME_set(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	if (ca) {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
		add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation");
	}
	if (extra)
		X509_add_ext(x, extra, -1);
	X509_sign(x, issuer_key, EVP_sha256());
	return x;
}

static X509_CRL *make_crl(X509 *issuer, EVP_PKEY *key, time_t last, time_t next, X509 *revoked)
{
	X509_CRL *c = X509_CRL_new();
	X509_CRL_set_version(c, 1);
	X509_CRL_set_issuer_name(c, X509_get_subject_name(issuer));
	ASN1_TIME *t = ASN1_TIME_set(NULL, last);
	X509_CRL_set1_lastUpdate(c, t);
	ASN1_TIME_set(t, next);
	X509_CRL_set1_nextUpdate(c, t);
	if (revoked) {
		X509_REVOKED *r = X509_REVOKED_new();
		X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(revoked));
		ASN1_TIME_set(t, last);
		X509_REVOKED_set_revocationDate(r, t);
		X509_CRL_add0_revoked(c, r);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(c);
	X509_CRL_sign(c, key, EVP_sha256());
	return c;
}

/* raw r || s of an ECDSA-SHA256 signature over p */
static void sign_raw(EVP_PKEY *key, const void *p, size_t n, uint8_t out[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[80];
	size_t dlen = sizeof(der);
	EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
	EVP_DigestSign(md, der, &dlen, p, n);
	EVP_MD_CTX_free(md);
	const unsigned char *q = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)dlen);
	BN_bn2binpad(ECDSA_SIG_get0_r(s), out, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(s), out + 32, 32);
	ECDSA_SIG_free(s);
}

/* ---- DER for the SGX extension ---- */

static void tlv(struct wbuf *w, uint8_t tag, const void *p, size_t n)
{
	wbuf_u8(w, tag);
	if (n < 128) {
		wbuf_u8(w, (uint8_t)n);
	} else if (n < 256) {
		wbuf_u8(w, 0x81);
		wbuf_u8(w, (uint8_t)n);
	} else {
		wbuf_u8(w, 0x82);
		wbuf_u8(w, (uint8_t)(n >> 8));
		wbuf_u8(w, (uint8_t)n);
	}
	wbuf_put(w, p, n);
}

static void oid_der(struct wbuf *w, const char *txt)
{
	ASN1_OBJECT *o = OBJ_txt2obj(txt, 1);
	unsigned char *der = NULL;
	int n = i2d_ASN1_OBJECT(o, &der);
	wbuf_put(w, der, (size_t)n);
	OPENSSL_free(der);
	ASN1_OBJECT_free(o);
}

/* SEQUENCE { OID, value(tag, bytes) } */
static void pair(struct wbuf *w, const char *oid, uint8_t tag, const void *p, size_t n)
{
	struct wbuf s;
	wbuf_init(&s, 0);
	oid_der(&s, oid);
	tlv(&s, tag, p, n);
	tlv(w, 0x30, s.p, s.len);
	wbuf_free(&s);
}

static void int_der(uint8_t *buf, size_t *n, unsigned v)
{
	/* minimal two's complement, positive */
	uint8_t b[3] = {(uint8_t)(v >> 8), (uint8_t)v, 0};
	if (v < 0x80) {
		buf[0] = (uint8_t)v;
		*n = 1;
	} else if (v < 0x100) {
		buf[0] = 0;
		buf[1] = (uint8_t)v;
		*n = 2;
	} else if (v < 0x8000) {
		memcpy(buf, b, 2);
		*n = 2;
	} else {
		buf[0] = 0;
		memcpy(buf + 1, b, 2);
		*n = 3;
	}
}

static X509_EXTENSION *sgx_extension(const struct forge_opts *o)
{
	const char *base = "1.2.840.113741.1.13.1";
	char oid[64];
	struct wbuf top, tcb;
	wbuf_init(&top, 0);
	wbuf_init(&tcb, 0);
	uint8_t ppid[16];
	memset(ppid, 0x77, sizeof(ppid));
	snprintf(oid, sizeof(oid), "%s.1", base);
	pair(&top, oid, 0x04, ppid, 16);
	for (int i = 1; i <= 16; i++) {
		uint8_t b[4];
		size_t n;
		int_der(b, &n, o->platform_svn);
		snprintf(oid, sizeof(oid), "%s.2.%d", base, i);
		pair(&tcb, oid, 0x02, b, n);
	}
	uint8_t b[4];
	size_t n;
	int_der(b, &n, o->pcesvn);
	snprintf(oid, sizeof(oid), "%s.2.17", base);
	pair(&tcb, oid, 0x02, b, n);
	uint8_t cpusvn[16];
	memset(cpusvn, o->platform_svn, 16);
	snprintf(oid, sizeof(oid), "%s.2.18", base);
	pair(&tcb, oid, 0x04, cpusvn, 16);
	snprintf(oid, sizeof(oid), "%s.2", base);
	pair(&top, oid, 0x30, tcb.p, tcb.len);
	snprintf(oid, sizeof(oid), "%s.3", base);
	pair(&top, oid, 0x04, "\x00\x00", 2);
	snprintf(oid, sizeof(oid), "%s.4", base);
	pair(&top, oid, 0x04, fmspc, 6);
	snprintf(oid, sizeof(oid), "%s.5", base);
	pair(&top, oid, 0x0a, "\x00", 1);
	struct wbuf seq;
	wbuf_init(&seq, 0);
	tlv(&seq, 0x30, top.p, top.len);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(os, seq.p, (int)seq.len);
	ASN1_OBJECT *obj = OBJ_txt2obj(base, 1);
	X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, obj, 0, os);
	ASN1_OBJECT_free(obj);
	ASN1_OCTET_STRING_free(os);
	wbuf_free(&seq);
	wbuf_free(&top);
	wbuf_free(&tcb);
	return e;
}

/* ---- JSON ---- */

static void iso(time_t t, char *out)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void comps(struct wbuf *w, const char *key, unsigned svn)
{
	wbuf_printf(w, "\"%s\":[", key);
	for (int i = 0; i < 16; i++)
		wbuf_printf(w, "%s{\"svn\":%u}", i ? "," : "", svn);
	wbuf_printf(w, "]");
}

static void tcb_level(struct wbuf *w, const struct forge_opts *o, unsigned svn, const char *status,
                      const char *adv)
{
	wbuf_printf(w, "{\"tcb\":{");
	comps(w, "sgxtcbcomponents", svn);
	wbuf_printf(w, ",\"pcesvn\":%u", svn == 1 ? 1 : o->pcesvn);
	if (o->tdx) {
		wbuf_printf(w, ",");
		comps(w, "tdxtcbcomponents", svn);
	}
	wbuf_printf(w, "},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"%s\"", status);
	if (adv)
		wbuf_printf(w, ",\"advisoryIDs\":[\"%s\"]", adv);
	wbuf_printf(w, "}");
}

static char *tcb_info(const struct forge_opts *o, time_t issue, time_t next)
{
	struct wbuf w;
	char a[32], b[32];
	iso(issue, a);
	iso(next, b);
	wbuf_init(&w, 0);
	wbuf_printf(
	    &w,
	    "{\"id\":\"%s\",\"version\":3,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
	    "\"fmspc\":\"%s\",\"pceId\":\"0000\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,",
	    o->tdx ? "TDX" : "SGX", a, b, o->wrong_fmspc ? "00906ED50001" : "00906ED50000");
	if (o->tdx) {
		char z[97];
		memset(z, '0', 96);
		z[96] = 0;
		wbuf_printf(
		    &w,
		    "\"tdxModule\":{\"mrsigner\":\"%s\",\"attributes\":\"0000000000000000\","
		    "\"attributesMask\":\"FFFFFFFFFFFFFFFF\"},",
		    z);
		wbuf_printf(
		    &w,
		    "\"tdxModuleIdentities\":[{\"id\":\"TDX_01\",\"mrsigner\":\"%s\","
		    "\"attributes\":\"0000000000000000\",\"attributesMask\":\"FFFFFFFFFFFFFFFF\","
		    "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":3},\"tcbDate\":\"2024-03-13T00:00:00Z\","
		    "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":2},\"tcbDate\":"
		    "\"2023-08-09T00:00:00Z\",\"tcbStatus\":\"OutOfDate\"}]}],",
		    z);
	}
	wbuf_printf(&w, "\"tcbLevels\":[");
	tcb_level(&w, o, o->top_svn, o->top_status, o->top_advisory);
	wbuf_printf(&w, ",");
	tcb_level(&w, o, 1, "OutOfDate", "INTEL-SA-00001");
	wbuf_printf(&w, "]}");
	wbuf_u8(&w, 0);
	return (char *)wbuf_steal(&w, NULL);
}

static char *qe_identity(const struct forge_opts *o, time_t issue, time_t next)
{
	struct wbuf w;
	char a[32], b[32], signer[65];
	iso(issue, a);
	iso(next, b);
	hex_encode(qe_mrsigner, 32, signer);
	for (char *p = signer; *p; p++)
		if (*p >= 'a')
			*p = (char)(*p - 32);
	wbuf_init(&w, 0);
	wbuf_printf(
	    &w,
	    "{\"id\":\"%s\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
	    "\"tcbEvaluationDataNumber\":17,\"miscselect\":\"00000000\",\"miscselectMask\":"
	    "\"FFFFFFFF\",\"attributes\":\"11000000000000000000000000000000\",\"attributesMask\":"
	    "\"FBFFFFFFFFFFFFFF0000000000000000\",\"mrsigner\":\"%s\",\"isvprodid\":%d,"
	    "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":8},\"tcbDate\":\"2024-03-13T00:00:00Z\","
	    "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":4},\"tcbDate\":"
	    "\"2021-11-10T00:00:00Z\",\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":"
	    "[\"INTEL-SA-00615\"]}]}",
	    o->tdx ? "TD_QE" : "QE", a, b, signer, o->tdx ? 2 : 1);
	wbuf_u8(&w, 0);
	return (char *)wbuf_steal(&w, NULL);
}

static void pem_append(struct wbuf *w, X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	wbuf_put(w, p, (size_t)n);
	BIO_free(b);
}

static void json_str(struct wbuf *w, const char *key, const char *s, bool comma)
{
	wbuf_printf(w, "\"%s\":\"", key);
	for (; *s; s++) {
		if (*s == '\n')
			wbuf_printf(w, "\\n");
		else if (*s == '"' || *s == '\\')
			wbuf_printf(w, "\\%c", *s);
		else
			wbuf_u8(w, (uint8_t)*s);
	}
	wbuf_printf(w, "\"%s", comma ? "," : "");
}

static void json_hex(struct wbuf *w, const char *key, const uint8_t *p, size_t n, bool comma)
{
	char *h = malloc(2 * n + 1);
	hex_encode(p, n, h);
	wbuf_printf(w, "\"%s\":\"%s\"%s", key, h, comma ? "," : "");
	free(h);
}

static void crl_hex(struct wbuf *w, const char *key, X509_CRL *c)
{
	unsigned char *der = NULL;
	int n = i2d_X509_CRL(c, &der);
	json_hex(w, key, der, (size_t)n, true);
	OPENSSL_free(der);
}

static char *chain_pem(X509 *a, X509 *b, X509 *c)
{
	struct wbuf w;
	wbuf_init(&w, 0);
	pem_append(&w, a);
	pem_append(&w, b);
	if (c)
		pem_append(&w, c);
	wbuf_u8(&w, 0);
	return (char *)wbuf_steal(&w, NULL);
}

/* ---- the quote ---- */

static void sgx_report(struct wbuf *w, const uint8_t cpusvn[16], uint32_t misc,
                       const uint8_t attr[16], const uint8_t mre[32], const uint8_t mrs[32],
                       uint16_t prod, uint16_t svn, const uint8_t rd[64])
{
	wbuf_put(w, cpusvn, 16);
	wbuf_u32le(w, misc);
	wbuf_zero(w, 12 + 16);
	wbuf_put(w, attr, 16);
	wbuf_put(w, mre, 32);
	wbuf_zero(w, 32);
	wbuf_put(w, mrs, 32);
	wbuf_zero(w, 32 + 64);
	wbuf_u16le(w, prod);
	wbuf_u16le(w, svn);
	wbuf_zero(w, 2 + 42 + 16);
	wbuf_put(w, rd, 64);
}

static void td_report(struct wbuf *w, const struct forge_opts *o)
{
	uint8_t tee[16];
	memset(tee, o->platform_svn, 16);
	tee[0] = o->tdx_module_svn;
	tee[1] = o->tdx_module_version;
	wbuf_put(w, tee, 16);
	uint8_t mrseam[48];
	memset(mrseam, 0x5e, 48);
	wbuf_put(w, mrseam, 48);
	wbuf_zero(w, 48 + 8); /* MRSIGNERSEAM: Intel's, zero; SEAMATTRIBUTES */
	wbuf_zero(w, 8);      /* TDATTRIBUTES */
	wbuf_put(w, "\xe7\x02\x06\x00\x00\x00\x00\x00", 8);
	uint8_t m[48];
	memset(m, 0x7d, 48);
	wbuf_put(w, m, 48);   /* MRTD */
	wbuf_zero(w, 48 * 3); /* MRCONFIGID, MROWNER, MROWNERCONFIG */
	for (int i = 0; i < 4; i++) {
		memset(m, 0x10 + i, 48);
		wbuf_put(w, m, 48);
	}
	wbuf_put(w, o->report_data, 64);
	if (o->td15) {
		wbuf_put(w, tee, 16);
		wbuf_zero(w, 48);
	}
}

static EVP_PKEY *load_root_key(const char *dir, X509 **root)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/root.key.pem", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "forge: %s: cannot open\n", path);
		return NULL;
	}
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	snprintf(path, sizeof(path), "%s/root.der", dir);
	f = fopen(path, "rb");
	if (!f) {
		EVP_PKEY_free(k);
		return NULL;
	}
	*root = d2i_X509_fp(f, NULL);
	fclose(f);
	return k;
}

int forge(const struct forge_opts *o, uint8_t **quote, size_t *quote_len, char **collateral,
          size_t *collateral_len)
{
	X509 *root = NULL;
	EVP_PKEY *root_key = load_root_key(o->root_dir, &root);
	if (!root_key || !root)
		return -1;
	time_t t = o->t, early = t + DAY, lo = t - 30 * DAY, hi = t + 365 * DAY;
#define END(which) (o->narrow == (which) ? early : hi)
	EVP_PKEY *ca_key = new_key(), *pck_key = new_key(), *tcb_key = new_key(), *att = new_key();
	X509 *ca = make_cert("Cocoon TEST PCK Platform CA", ca_key, root, root_key, 2, lo,
	                     END(FORGE_NARROW_CA_CERT), true, NULL);
	X509_EXTENSION *ext = sgx_extension(o);
	X509 *pck = make_cert("Cocoon TEST PCK Certificate", pck_key, ca, ca_key, 3, lo,
	                      END(FORGE_NARROW_PCK_CERT), false, ext);
	X509_EXTENSION_free(ext);
	X509 *tcbc = make_cert("Cocoon TEST TCB Signing", tcb_key, root, root_key, 4, lo,
	                       END(FORGE_NARROW_TCB_CERT), false, NULL);
	X509_CRL *root_crl =
	    make_crl(root, root_key, t - DAY, END(FORGE_NARROW_ROOT_CRL), o->revoke_ca ? ca : NULL);
	X509_CRL *pck_crl =
	    make_crl(ca, ca_key, t - DAY, END(FORGE_NARROW_PCK_CRL), o->revoke_pck ? pck : NULL);
	char *tcb = tcb_info(o, t - DAY, END(FORGE_NARROW_TCB_INFO));
	char *qe = qe_identity(o, t - DAY, END(FORGE_NARROW_QE_IDENTITY));
	uint8_t tcb_sig[64], qe_sig[64];
	sign_raw(tcb_key, tcb, strlen(tcb), tcb_sig);
	sign_raw(tcb_key, qe, strlen(qe), qe_sig);

	/* the collateral */
	struct wbuf c;
	wbuf_init(&c, 0);
	char *crl_chain = chain_pem(ca, root, NULL), *tcb_chain = chain_pem(tcbc, root, NULL);
	wbuf_printf(&c, "{");
	json_str(&c, "pck_crl_issuer_chain", crl_chain, true);
	crl_hex(&c, "root_ca_crl", root_crl);
	crl_hex(&c, "pck_crl", pck_crl);
	json_str(&c, "tcb_info_issuer_chain", tcb_chain, true);
	json_str(&c, "tcb_info", tcb, true);
	json_hex(&c, "tcb_info_signature", tcb_sig, 64, true);
	json_str(&c, "qe_identity_issuer_chain", tcb_chain, true);
	json_str(&c, "qe_identity", qe, true);
	json_hex(&c, "qe_identity_signature", qe_sig, 64, false);
	wbuf_printf(&c, "}");
	*collateral_len = c.len;
	wbuf_u8(&c, 0);
	*collateral = (char *)wbuf_steal(&c, NULL);

	/* the quote: header, (v5 descriptor,) body */
	struct wbuf q;
	wbuf_init(&q, 0);
	wbuf_u16le(&q, (uint16_t)o->version);
	wbuf_u16le(&q, 2);
	wbuf_u32le(&q, o->tdx ? 0x81 : 0);
	wbuf_u16le(&q, o->tdx ? 0 : o->qe_svn);
	wbuf_u16le(&q, o->tdx ? 0 : o->pcesvn);
	wbuf_put(&q, intel_qe_vendor, 16);
	wbuf_zero(&q, 20);
	if (o->version == 5) {
		wbuf_u16le(&q, o->tdx ? (o->td15 ? 3 : 2) : 1);
		wbuf_u32le(&q, o->tdx ? (o->td15 ? 648 : 584) : 384);
	}
	if (o->tdx)
		td_report(&q, o);
	else
		sgx_report(&q, (const uint8_t[16]){5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5},
		           0, o->attributes, o->mr_enclave, o->mr_signer, o->isv_prod_id,
		           o->isv_svn, o->report_data);
	uint8_t sig[64], ak[65], qe_rd[64] = {0}, qe_report_sig[64];
	size_t aklen = sizeof(ak);
	sign_raw(att, q.p, q.len, sig);
	EVP_PKEY_get_octet_string_param(att, "encoded-pub-key", ak, sizeof(ak), &aklen);
	uint8_t auth[32];
	memset(auth, 0xa5, sizeof(auth));
	uint8_t hbuf[64 + 32];
	memcpy(hbuf, ak + 1, 64);
	memcpy(hbuf + 64, auth, 32);
	SHA256(hbuf, sizeof(hbuf), qe_rd);
	struct wbuf qr;
	wbuf_init(&qr, 0);
	uint8_t qe_attr[16] = {0x11};
	uint8_t qe_mre[32];
	memset(qe_mre, 0x9e, 32);
	sgx_report(&qr, (const uint8_t[16]){5}, 0, qe_attr, qe_mre, qe_mrsigner, o->tdx ? 2 : 1,
	           o->qe_svn, qe_rd);
	sign_raw(pck_key, qr.p, qr.len, qe_report_sig);
	char *pck_chain = chain_pem(pck, ca, root);
	struct wbuf cd; /* QE report certification data */
	wbuf_init(&cd, 0);
	wbuf_put(&cd, qr.p, qr.len);
	wbuf_put(&cd, qe_report_sig, 64);
	wbuf_u16le(&cd, sizeof(auth));
	wbuf_put(&cd, auth, sizeof(auth));
	wbuf_u16le(&cd, 5);
	wbuf_u32le(&cd, (uint32_t)strlen(pck_chain));
	wbuf_put(&cd, pck_chain, strlen(pck_chain));
	struct wbuf sd;
	wbuf_init(&sd, 0);
	wbuf_put(&sd, sig, 64);
	wbuf_put(&sd, ak + 1, 64);
	if (o->version == 3) {
		wbuf_put(&sd, cd.p, cd.len);
	} else {
		wbuf_u16le(&sd, 6);
		wbuf_u32le(&sd, (uint32_t)cd.len);
		wbuf_put(&sd, cd.p, cd.len);
	}
	wbuf_u32le(&q, (uint32_t)sd.len);
	wbuf_put(&q, sd.p, sd.len);
	*quote = wbuf_steal(&q, quote_len);

	wbuf_free(&sd);
	wbuf_free(&cd);
	wbuf_free(&qr);
	free(pck_chain);
	free(crl_chain);
	free(tcb_chain);
	free(tcb);
	free(qe);
	X509_CRL_free(root_crl);
	X509_CRL_free(pck_crl);
	X509_free(ca);
	X509_free(pck);
	X509_free(tcbc);
	X509_free(root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(pck_key);
	EVP_PKEY_free(tcb_key);
	EVP_PKEY_free(att);
	return 0;
}
