/* dcap.c - Intel DCAP quote verification: see cocoon/dcap.h.
 *
 * Sources: Intel's "Quote Generation, Verification and Attestation with
 * Intel SGX DCAP" (quote v3 layout), "Intel TDX DCAP Quoting Library API"
 * (quote v4 and v5 layouts, TD report bodies), the PCS v4 API (TCB Info v3,
 * Enclave Identity v2, the PCK certificate's SGX extensions). Every quote
 * byte is read through struct rbuf; certificates, CRLs and ASN.1 are parsed
 * by OpenSSL, JSON by json-c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cocoon/buf.h"
#include "cocoon/dcap.h"
#include "cocoon/util.h"

extern const unsigned char dcap_root_der[];
extern const size_t dcap_root_der_len;
extern const int dcap_root_der_is_test;

/* Intel's QE vendor id: 939A7233-F79C-4CA9-940A-0DB3957F0607 */
static const uint8_t intel_qe_vendor[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                            0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

#define SGX_REPORT_LEN 384
#define TD10_REPORT_LEN 584
#define TD15_REPORT_LEN 648
#define HEADER_LEN 48
#define CERT_CHAIN_MAX 8
#define TCB_LEVELS_MAX 256

/* ---- quote parsing ------------------------------------------------------ */

static int get_sgx_report(struct rbuf *r, struct dcap_sgx_report *s)
{
	int e = 0;
	e |= rbuf_copy(r, s->cpu_svn, 16);
	e |= rbuf_u32le(r, &s->misc_select);
	e |= rbuf_skip(r, 12);
	e |= rbuf_copy(r, s->isv_ext_prod_id, 16);
	e |= rbuf_copy(r, s->attributes, 16);
	e |= rbuf_copy(r, s->mr_enclave, 32);
	e |= rbuf_skip(r, 32);
	e |= rbuf_copy(r, s->mr_signer, 32);
	e |= rbuf_skip(r, 32);
	e |= rbuf_copy(r, s->config_id, 64);
	e |= rbuf_u16le(r, &s->isv_prod_id);
	e |= rbuf_u16le(r, &s->isv_svn);
	e |= rbuf_u16le(r, &s->config_svn);
	e |= rbuf_skip(r, 42);
	e |= rbuf_copy(r, s->isv_family_id, 16);
	e |= rbuf_copy(r, s->report_data, 64);
	return e ? -EBADMSG : 0;
}

static int get_td_report(struct rbuf *r, struct dcap_td_report *t, bool td15)
{
	int e = 0;
	e |= rbuf_copy(r, t->tee_tcb_svn, 16);
	e |= rbuf_copy(r, t->mr_seam, 48);
	e |= rbuf_copy(r, t->mr_signer_seam, 48);
	e |= rbuf_copy(r, t->seam_attributes, 8);
	e |= rbuf_copy(r, t->td_attributes, 8);
	e |= rbuf_copy(r, t->xfam, 8);
	e |= rbuf_copy(r, t->mr_td, 48);
	e |= rbuf_copy(r, t->mr_config_id, 48);
	e |= rbuf_copy(r, t->mr_owner, 48);
	e |= rbuf_copy(r, t->mr_owner_config, 48);
	for (int i = 0; i < 4; i++)
		e |= rbuf_copy(r, t->rtmr[i], 48);
	e |= rbuf_copy(r, t->report_data, 64);
	if (td15) {
		e |= rbuf_copy(r, t->tee_tcb_svn2, 16);
		e |= rbuf_copy(r, t->mr_service_td, 48);
	}
	return e ? -EBADMSG : 0;
}

/* The QE report certification data: QE report, its signature, the QE
 * authentication data, then the PCK chain (type 5). */
static int get_qe_cert_data(struct rbuf *r, struct dcap_quote *q, struct cerr *err)
{
	if (rbuf_direct(r, SGX_REPORT_LEN, &q->qe_report_raw) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: QE report truncated");
	struct rbuf qr;
	rbuf_init(&qr, q->qe_report_raw, SGX_REPORT_LEN);
	if (get_sgx_report(&qr, &q->qe_report) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: QE report truncated");
	if (rbuf_copy(r, q->qe_report_sig, 64) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: QE report signature truncated");
	uint16_t auth_len;
	if (rbuf_u16le(r, &auth_len) < 0 || rbuf_direct(r, auth_len, &q->qe_auth) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: QE authentication data truncated");
	q->qe_auth_len = auth_len;
	uint16_t type;
	uint32_t size;
	if (rbuf_u16le(r, &type) < 0 || rbuf_u32le(r, &size) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: certification data header truncated");
	if (type != 5)
		return cerr_setx(err, ENOTSUP,
		                 "quote parse: certification data type %u (only 5, the PEM PCK chain)",
		                 type);
	if (rbuf_direct(r, size, &q->pck_chain) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: PCK chain of %u bytes truncated", size);
	q->cert_type = type;
	q->pck_chain_len = size;
	return 0;
}

int dcap_quote_parse(const uint8_t *p, size_t len, struct dcap_quote *q, struct cerr *err)
{
	memset(q, 0, sizeof(*q));
	if (len > DCAP_QUOTE_MAX)
		return cerr_setx(err, EBADMSG, "quote parse: %zu bytes, more than %u", len,
		                 DCAP_QUOTE_MAX);
	struct rbuf r;
	rbuf_init(&r, p, len);
	struct dcap_header *h = &q->hdr;
	int e = 0;
	e |= rbuf_u16le(&r, &h->version);
	e |= rbuf_u16le(&r, &h->att_key_type);
	e |= rbuf_u32le(&r, &h->tee_type);
	e |= rbuf_u16le(&r, &h->qe_svn);
	e |= rbuf_u16le(&r, &h->pce_svn);
	e |= rbuf_copy(&r, h->qe_vendor_id, 16);
	e |= rbuf_copy(&r, h->user_data, 20);
	if (e)
		return cerr_setx(err, EBADMSG, "quote parse: header truncated (%zu bytes)", len);
	if (h->version < 3 || h->version > 5)
		return cerr_setx(err, ENOTSUP, "quote parse: version %u (3, 4 or 5 only)", h->version);
	if (h->att_key_type != DCAP_ATT_KEY_ECDSA_P256)
		return cerr_setx(err, ENOTSUP, "quote parse: attestation key type %u (2, ECDSA P-256 only)",
		                 h->att_key_type);
	if (h->tee_type != DCAP_TEE_SGX && h->tee_type != DCAP_TEE_TDX)
		return cerr_setx(err, ENOTSUP, "quote parse: TEE type 0x%x", h->tee_type);
	if (h->version == 3 && h->tee_type != DCAP_TEE_SGX)
		return cerr_setx(err, EBADMSG, "quote parse: a v3 quote must be SGX");

	size_t body_len;
	if (h->version == 5) {
		uint16_t type;
		uint32_t size;
		if (rbuf_u16le(&r, &type) < 0 || rbuf_u32le(&r, &size) < 0)
			return cerr_setx(err, EBADMSG, "quote parse: body descriptor truncated");
		if (type == DCAP_BODY_SGX && h->tee_type == DCAP_TEE_SGX)
			body_len = SGX_REPORT_LEN;
		else if (type == DCAP_BODY_TD10 && h->tee_type == DCAP_TEE_TDX)
			body_len = TD10_REPORT_LEN;
		else if (type == DCAP_BODY_TD15 && h->tee_type == DCAP_TEE_TDX)
			body_len = TD15_REPORT_LEN;
		else
			return cerr_setx(err, EBADMSG, "quote parse: body type %u with TEE type 0x%x", type,
			                 h->tee_type);
		if (size != body_len)
			return cerr_setx(err, EBADMSG, "quote parse: body type %u of %u bytes (want %zu)",
			                 type, size, body_len);
		q->body_type = type;
	} else {
		q->body_type = h->tee_type == DCAP_TEE_SGX ? DCAP_BODY_SGX : DCAP_BODY_TD10;
		body_len = q->body_type == DCAP_BODY_SGX ? SGX_REPORT_LEN : TD10_REPORT_LEN;
	}
	struct rbuf body;
	if (rbuf_sub(&r, body_len, &body) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: body truncated");
	if (q->body_type == DCAP_BODY_SGX)
		e = get_sgx_report(&body, &q->sgx);
	else
		e = get_td_report(&body, &q->td, q->body_type == DCAP_BODY_TD15);
	if (e < 0)
		return cerr_setx(err, EBADMSG, "quote parse: body truncated");
	q->signed_data = p;
	q->signed_len = r.off;

	uint32_t sig_len;
	struct rbuf sig;
	if (rbuf_u32le(&r, &sig_len) < 0 || rbuf_sub(&r, sig_len, &sig) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: signature data truncated");
	/* quotes read from a fixed-size buffer (configfs-tsm, the QGS) carry
	 * zero padding after the signature data: allowed, anything else not */
	size_t pad = rbuf_left(&r);
	const uint8_t *tail;
	if (rbuf_direct(&r, pad, &tail) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: internal length error");
	for (size_t i = 0; i < pad; i++)
		if (tail[i])
			return cerr_setx(err, EBADMSG,
			                 "quote parse: %zu bytes after the signature data, not all zero", pad);
	if (rbuf_copy(&sig, q->signature, 64) < 0 || rbuf_copy(&sig, q->att_key, 64) < 0)
		return cerr_setx(err, EBADMSG, "quote parse: signature or attestation key truncated");
	if (h->version == 3) {
		if (get_qe_cert_data(&sig, q, err) < 0)
			return -EBADMSG;
	} else {
		uint16_t type;
		uint32_t size;
		struct rbuf inner;
		if (rbuf_u16le(&sig, &type) < 0 || rbuf_u32le(&sig, &size) < 0)
			return cerr_setx(err, EBADMSG, "quote parse: certification data header truncated");
		if (type != 6)
			return cerr_setx(err, ENOTSUP,
			                 "quote parse: certification data type %u (want 6, QE report data)",
			                 type);
		if (rbuf_sub(&sig, size, &inner) < 0)
			return cerr_setx(err, EBADMSG, "quote parse: certification data truncated");
		if (get_qe_cert_data(&inner, q, err) < 0)
			return -EBADMSG;
		if (rbuf_left(&inner) != 0)
			return cerr_setx(err, EBADMSG, "quote parse: bytes after the PCK chain");
	}
	if (rbuf_left(&sig) != 0)
		return cerr_setx(err, EBADMSG, "quote parse: %zu bytes after the certification data",
		                 rbuf_left(&sig));
	return 0;
}

/* ---- JSON helpers --------------------------------------------------------- */

/* The raw text of the value of top-level key in a JSON object: for the
 * signed tcbInfo / enclaveIdentity. Refuses a key given twice. */
static int json_skip_string(const char *s, size_t len, size_t *i)
{
	for ((*i)++; *i < len; (*i)++) {
		if (s[*i] == '\\')
			(*i)++;
		else if (s[*i] == '"') {
			(*i)++;
			return 0;
		}
	}
	return -EBADMSG;
}

static int json_skip_value(const char *s, size_t len, size_t *i)
{
	int depth = 0;
	while (*i < len) {
		char c = s[*i];
		if (c == '"') {
			if (json_skip_string(s, len, i) < 0)
				return -EBADMSG;
			if (depth == 0)
				return 0;
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > 64)
				return -EBADMSG;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0; /* the end of the enclosing container */
			if (--depth == 0) {
				(*i)++;
				return 0;
			}
		} else if (depth == 0 && (c == ',')) {
			return 0;
		}
		(*i)++;
	}
	return depth ? -EBADMSG : 0;
}

static void json_skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\n' || s[*i] == '\r'))
		(*i)++;
}

static int json_raw_member(const char *s, size_t len, const char *key, const char **val,
                           size_t *vlen)
{
	size_t i = 0, klen = strlen(key);
	bool found = false;
	json_skip_ws(s, len, &i);
	if (i >= len || s[i] != '{')
		return -EBADMSG;
	i++;
	for (;;) {
		json_skip_ws(s, len, &i);
		if (i < len && s[i] == '}')
			break;
		if (i >= len || s[i] != '"')
			return -EBADMSG;
		size_t k0 = i + 1;
		if (json_skip_string(s, len, &i) < 0)
			return -EBADMSG;
		size_t k1 = i - 1;
		json_skip_ws(s, len, &i);
		if (i >= len || s[i] != ':')
			return -EBADMSG;
		i++;
		json_skip_ws(s, len, &i);
		size_t v0 = i;
		if (json_skip_value(s, len, &i) < 0)
			return -EBADMSG;
		size_t v1 = i;
		while (v1 > v0 && strchr(" \t\r\n", s[v1 - 1]))
			v1--;
		if (k1 - k0 == klen && !memcmp(s + k0, key, klen)) {
			if (found)
				return -EBADMSG;
			found = true;
			*val = s + v0;
			*vlen = v1 - v0;
		}
		json_skip_ws(s, len, &i);
		if (i < len && s[i] == ',') {
			i++;
			continue;
		}
		if (i < len && s[i] == '}')
			break;
		return -EBADMSG;
	}
	return found ? 0 : -ENOENT;
}

static struct json_object *json_parse_n(const char *s, size_t len)
{
	if (len > DCAP_COLLATERAL_MAX || len > INT32_MAX)
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(32);
	if (!tok)
		return NULL;
	struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success ||
	          (size_t)json_tokener_get_parse_end(tok) != len)) {
		/* only white space may follow */
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (!strchr(" \t\r\n", s[i])) {
				json_object_put(o);
				o = NULL;
				break;
			}
	}
	json_tokener_free(tok);
	return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int jint(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -ENOENT;
	errno = 0;
	int64_t x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return -ERANGE;
	*out = x;
	return 0;
}

static struct json_object *jarr(struct json_object *o, const char *key, size_t max)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array) ||
	    json_object_array_length(v) > max)
		return NULL;
	return v;
}

static int jhex(struct json_object *o, const char *key, uint8_t *out, size_t n)
{
	const char *s = jstr(o, key);
	if (!s || strlen(s) != 2 * n || hex_decode(s, out, n) < 0)
		return -EBADMSG;
	return 0;
}

/* ---- time ----------------------------------------------------------------- */

static int parse_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int dcap_parse_time(const char *s, time_t *out)
{
	if (!s || !*s)
		return -EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		if (strlen(s) > 12)
			return -EINVAL;
		*out = (time_t)strtoll(s, NULL, 10);
		return 0;
	}
	struct tm tm = {0};
	int y, mo, d, h, mi, sec;
	if (strlen(s) < 20 || parse_digits(s, 4, &y) || s[4] != '-' || parse_digits(s + 5, 2, &mo) ||
	    s[7] != '-' || parse_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    parse_digits(s + 11, 2, &h) || s[13] != ':' || parse_digits(s + 14, 2, &mi) ||
	    s[16] != ':' || parse_digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (parse_digits(p + 1, 2, &oh) || p[3] != ':' || parse_digits(p + 4, 2, &om) || oh > 23 ||
		    om > 59)
			return -EINVAL;
		off = (oh * 3600L + om * 60L) * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm) - off;
	return 0;
}

static void fmt_time(time_t t, char *out, size_t n)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "%lld", (long long)t);
}

static int asn1_time(const ASN1_TIME *a, time_t *out)
{
	struct tm tm;
	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return -EBADMSG;
	*out = timegm(&tm);
	return 0;
}

/* ---- collateral ----------------------------------------------------------- */

struct pck_info {
	uint8_t fmspc[6];
	uint8_t pce_id[2];
	uint8_t comp[16];
	uint16_t pcesvn;
	uint8_t cpusvn[16];
};

static void chain_free(STACK_OF(X509) *sk)
{
	sk_X509_pop_free(sk, X509_free);
}

struct dcap_cache {
	X509 *root;
	X509_CRL *root_crl, *pck_crl;
	STACK_OF(X509) *pck_crl_chain, *tcb_chain, *qe_chain;
	struct json_object *tcb, *qe;
	time_t tcb_issue, tcb_next, qe_issue, qe_next;
	bool sigs_ok;          /* TCB Info and QE Identity signatures verified */
	bool chains_ok;        /* the three collateral chains verify within [lo, hi] */
	time_t lo, hi;
	/* the last PCK chain seen */
	uint8_t pck_hash[32];
	bool pck_ok;
	time_t pck_lo, pck_hi;
	STACK_OF(X509) *pck;
	struct pck_info pck_info;
};

static void cache_free(struct dcap_cache *k)
{
	if (!k)
		return;
	X509_free(k->root);
	X509_CRL_free(k->root_crl);
	X509_CRL_free(k->pck_crl);
	chain_free(k->pck_crl_chain);
	chain_free(k->tcb_chain);
	chain_free(k->qe_chain);
	chain_free(k->pck);
	json_object_put(k->tcb);
	json_object_put(k->qe);
	free(k);
}

void dcap_collateral_free(struct dcap_collateral *c)
{
	if (!c)
		return;
	free(c->pck_crl_issuer_chain);
	free(c->root_ca_crl);
	free(c->pck_crl);
	free(c->tcb_info_issuer_chain);
	free(c->tcb_info);
	free(c->qe_identity_issuer_chain);
	free(c->qe_identity);
	cache_free(c->cache);
	memset(c, 0, sizeof(*c));
}

/* A CRL given as hex DER, PEM or (from a PCCS body) raw DER. */
static int crl_bytes(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
	if (len > 2 && len % 2 == 0 && strspn(s, "0123456789abcdefABCDEF") == len) {
		uint8_t *b = malloc(len / 2);
		if (!b)
			return -ENOMEM;
		if (hex_decode(s, b, len / 2) < 0) {
			free(b);
			return -EBADMSG;
		}
		*out = b;
		*outlen = len / 2;
		return 0;
	}
	if (len > 10 && !memcmp(s, "-----BEGIN", 10)) {
		BIO *bio = BIO_new_mem_buf(s, (int)len);
		X509_CRL *crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
		if (!crl)
			return -EBADMSG;
		unsigned char *der = NULL;
		int n = i2d_X509_CRL(crl, &der);
		X509_CRL_free(crl);
		if (n <= 0)
			return -EBADMSG;
		*out = malloc((size_t)n);
		if (!*out) {
			OPENSSL_free(der);
			return -ENOMEM;
		}
		memcpy(*out, der, (size_t)n);
		OPENSSL_free(der);
		*outlen = (size_t)n;
		return 0;
	}
	*out = malloc(len ? len : 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, s, len);
	*outlen = len;
	return 0;
}

static int take_string(struct json_object *o, const char *key, char **out, size_t *outlen,
                       struct cerr *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return cerr_setx(err, EBADMSG, "collateral: key '%s' missing", key);
	if (!json_object_is_type(v, json_type_string))
		return cerr_setx(err, EBADMSG, "collateral: '%s' is not a string", key);
	size_t n = (size_t)json_object_get_string_len(v);
	*out = malloc(n + 1);
	if (!*out)
		return cerr_setx(err, ENOMEM, "collateral: out of memory");
	memcpy(*out, json_object_get_string(v), n);
	(*out)[n] = 0;
	if (outlen)
		*outlen = n;
	if (strlen(*out) != n)
		return cerr_setx(err, EBADMSG, "collateral: '%s' holds a NUL byte", key);
	return 0;
}

/* tcb_info / qe_identity: a string holding the signed JSON, or the object
 * itself, whose raw text in the document is then what was signed. */
static int take_signed(const char *json, size_t len, struct json_object *o, const char *key,
                       char **out, size_t *outlen, struct cerr *err)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return cerr_setx(err, EBADMSG, "collateral: key '%s' missing", key);
	if (json_object_is_type(v, json_type_string))
		return take_string(o, key, out, outlen, err);
	if (!json_object_is_type(v, json_type_object))
		return cerr_setx(err, EBADMSG, "collateral: '%s' is neither a string nor an object", key);
	const char *raw;
	size_t rlen;
	if (json_raw_member(json, len, key, &raw, &rlen) < 0)
		return cerr_setx(err, EBADMSG, "collateral: '%s': raw text not found (given twice?)", key);
	*out = malloc(rlen + 1);
	if (!*out)
		return cerr_setx(err, ENOMEM, "collateral: out of memory");
	memcpy(*out, raw, rlen);
	(*out)[rlen] = 0;
	*outlen = rlen;
	return 0;
}

static int take_sig(struct json_object *o, const char *key, uint8_t out[64], struct cerr *err)
{
	if (jhex(o, key, out, 64) < 0)
		return cerr_setx(err, EBADMSG, "collateral: '%s' is not 128 hex digits (raw r||s)", key);
	return 0;
}

int dcap_collateral_parse(const char *json, size_t len, struct dcap_collateral *c,
                          struct cerr *err)
{
	memset(c, 0, sizeof(*c));
	if (len > DCAP_COLLATERAL_MAX)
		return cerr_setx(err, EBADMSG, "collateral: %zu bytes, more than %u", len,
		                 DCAP_COLLATERAL_MAX);
	struct json_object *o = json_parse_n(json, len);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return cerr_setx(err, EBADMSG, "collateral: not a JSON object");
	}
	char *crl = NULL;
	size_t crl_len;
	int r = 0;
	if ((r = take_string(o, "pck_crl_issuer_chain", &c->pck_crl_issuer_chain, NULL, err)) < 0 ||
	    (r = take_string(o, "tcb_info_issuer_chain", &c->tcb_info_issuer_chain, NULL, err)) < 0 ||
	    (r = take_string(o, "qe_identity_issuer_chain", &c->qe_identity_issuer_chain, NULL, err)) <
	        0 ||
	    (r = take_signed(json, len, o, "tcb_info", &c->tcb_info, &c->tcb_info_len, err)) < 0 ||
	    (r = take_signed(json, len, o, "qe_identity", &c->qe_identity, &c->qe_identity_len, err)) <
	        0 ||
	    (r = take_sig(o, "tcb_info_signature", c->tcb_info_sig, err)) < 0 ||
	    (r = take_sig(o, "qe_identity_signature", c->qe_identity_sig, err)) < 0)
		goto out;
	static const char *const crls[2] = {"root_ca_crl", "pck_crl"};
	for (int i = 0; i < 2; i++) {
		if ((r = take_string(o, crls[i], &crl, &crl_len, err)) < 0)
			goto out;
		uint8_t **dst = i ? &c->pck_crl : &c->root_ca_crl;
		size_t *dlen = i ? &c->pck_crl_len : &c->root_ca_crl_len;
		r = crl_bytes(crl, crl_len, dst, dlen);
		free(crl);
		crl = NULL;
		if (r < 0) {
			cerr_setx(err, -r, "collateral: '%s' is not a CRL in hex DER or PEM", crls[i]);
			goto out;
		}
	}
out:
	free(crl);
	json_object_put(o);
	if (r < 0)
		dcap_collateral_free(c);
	return r;
}

int dcap_collateral_load(const char *path, struct dcap_collateral *c, struct cerr *err)
{
	memset(c, 0, sizeof(*c));
	char *s = NULL;
	size_t len;
	int r = read_file(path, DCAP_COLLATERAL_MAX, &s, &len, err);
	if (r < 0)
		return r;
	r = dcap_collateral_parse(s, len, c, err);
	free(s);
	if (r < 0)
		return cerr_prefix(err, r, "'%s'", path);
	return 0;
}

int dcap_collateral_save(const char *path, const struct dcap_collateral *c, struct cerr *err)
{
	struct json_object *o = json_object_new_object();
	char *hex = malloc(2 * (c->root_ca_crl_len > c->pck_crl_len ? c->root_ca_crl_len
	                                                            : c->pck_crl_len) + 129);
	if (!o || !hex) {
		json_object_put(o);
		free(hex);
		return cerr_setx(err, ENOMEM, "collateral '%s': out of memory", path);
	}
	json_object_object_add(o, "pck_crl_issuer_chain", json_object_new_string(c->pck_crl_issuer_chain));
	hex_encode(c->root_ca_crl, c->root_ca_crl_len, hex);
	json_object_object_add(o, "root_ca_crl", json_object_new_string(hex));
	hex_encode(c->pck_crl, c->pck_crl_len, hex);
	json_object_object_add(o, "pck_crl", json_object_new_string(hex));
	json_object_object_add(o, "tcb_info_issuer_chain", json_object_new_string(c->tcb_info_issuer_chain));
	json_object_object_add(o, "tcb_info", json_object_new_string_len(c->tcb_info, (int)c->tcb_info_len));
	hex_encode(c->tcb_info_sig, 64, hex);
	json_object_object_add(o, "tcb_info_signature", json_object_new_string(hex));
	json_object_object_add(o, "qe_identity_issuer_chain",
	                       json_object_new_string(c->qe_identity_issuer_chain));
	json_object_object_add(o, "qe_identity",
	                       json_object_new_string_len(c->qe_identity, (int)c->qe_identity_len));
	hex_encode(c->qe_identity_sig, 64, hex);
	json_object_object_add(o, "qe_identity_signature", json_object_new_string(hex));
	free(hex);
	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	int r = write_file_atomic(path, s, n, 0644, err);
	json_object_put(o);
	return r;
}

/* ---- crypto --------------------------------------------------------------- */

static int ecdsa_verify(EVP_PKEY *key, const uint8_t sig[64], const void *msg, size_t len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *der = NULL;
	int ok = 0;
	if (!s || !r || !ss || !ECDSA_SIG_set0(s, r, ss)) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(s);
		return -ENOMEM;
	}
	int dlen = i2d_ECDSA_SIG(s, &der);
	ECDSA_SIG_free(s);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (dlen > 0 && md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1)
		ok = EVP_DigestVerify(md, der, (size_t)dlen, msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	return ok ? 0 : -EBADMSG;
}

static EVP_PKEY *p256_raw_key(const uint8_t xy[64])
{
	uint8_t pub[65];
	pub[0] = 0x04;
	memcpy(pub + 1, xy, 64);
	EVP_PKEY *key = NULL;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (b && ctx && OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub)) &&
	    (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

static int load_chain(const char *pem, size_t len, STACK_OF(X509) **out)
{
	if (len > INT32_MAX)
		return -EBADMSG;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	STACK_OF(X509) *sk = sk_X509_new_null();
	if (!bio || !sk) {
		BIO_free(bio);
		sk_X509_free(sk);
		return -ENOMEM;
	}
	X509 *x;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
		if (sk_X509_num(sk) >= CERT_CHAIN_MAX || !sk_X509_push(sk, x)) {
			X509_free(x);
			chain_free(sk);
			BIO_free(bio);
			return -EBADMSG;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	if (sk_X509_num(sk) == 0) {
		sk_X509_free(sk);
		return -EBADMSG;
	}
	*out = sk;
	return 0;
}

static void cert_name(X509 *x, char *out, size_t n)
{
	X509_NAME *nm = X509_get_subject_name(x);
	int i = nm ? X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;
	ASN1_STRING *s = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)) : NULL;
	if (s && ASN1_STRING_length(s) > 0 && (size_t)ASN1_STRING_length(s) < n) {
		snprintf(out, n, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
		for (char *p = out; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				*p = '?';
	} else {
		snprintf(out, n, "?");
	}
}

/* Verifies chain (leaf first) to the pinned root at now, with the CRLs;
 * on success gives the window [lo, hi] in which all its certificates and
 * CRLs are valid. what names the chain in messages. */
static int verify_chain(struct dcap_cache *k, STACK_OF(X509) *chain, bool need_pck_crl, time_t now,
                        const char *what, time_t *lo, time_t *hi, struct cerr *err)
{
	X509 *leaf = sk_X509_value(chain, 0);
	/* the chain's own root, when it carries one, must be the pinned root */
	int n = sk_X509_num(chain);
	X509 *last = sk_X509_value(chain, n - 1);
	if (n > 1 && X509_check_issued(last, last) == X509_V_OK && X509_cmp(last, k->root) != 0)
		return cerr_setx(err, EBADMSG, "%s: its root certificate is not the pinned %s root", what,
		                 dcap_root_der_is_test ? "TEST" : "Intel SGX");
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	int r = -ENOMEM;
	if (!store || !ctx || !crls || !X509_STORE_add_cert(store, k->root) ||
	    !sk_X509_CRL_push(crls, k->root_crl) || (need_pck_crl && !sk_X509_CRL_push(crls, k->pck_crl)))
		goto out;
	if (!X509_STORE_CTX_init(ctx, store, leaf, chain))
		goto out;
	X509_STORE_CTX_set0_crls(ctx, crls);
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	X509_VERIFY_PARAM_set_depth(param, CERT_CHAIN_MAX);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		int depth = X509_STORE_CTX_get_error_depth(ctx);
		X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
		char cn[96] = "?", ts[32];
		if (bad)
			cert_name(bad, cn, sizeof(cn));
		fmt_time(now, ts, sizeof(ts));
		const char *check = what;
		if (e == X509_V_ERR_CERT_NOT_YET_VALID || e == X509_V_ERR_CERT_HAS_EXPIRED)
			r = cerr_setx(err, EKEYEXPIRED, "%s validity: certificate %d (%s) %s at %s", what,
			              depth, cn,
			              e == X509_V_ERR_CERT_HAS_EXPIRED ? "has expired" : "is not yet valid", ts);
		else if (e == X509_V_ERR_CRL_NOT_YET_VALID || e == X509_V_ERR_CRL_HAS_EXPIRED)
			r = cerr_setx(err, EKEYEXPIRED, "%s crl window: the CRL for certificate %d (%s) %s at %s",
			              what, depth, cn,
			              e == X509_V_ERR_CRL_HAS_EXPIRED ? "has expired" : "is not yet valid", ts);
		else if (e == X509_V_ERR_CERT_REVOKED)
			r = cerr_setx(err, EKEYREVOKED, "%s revocation: certificate %d (%s) is revoked", what,
			              depth, cn);
		else
			r = cerr_setx(err, EBADMSG, "%s: certificate %d (%s): %s", check, depth, cn,
			              X509_verify_cert_error_string(e));
		goto out;
	}
	/* the window: every certificate of the built chain, and the CRLs */
	STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);
	time_t l = 0, h = (time_t)INT64_MAX, t;
	for (int i = 0; i < sk_X509_num(built); i++) {
		X509 *x = sk_X509_value(built, i);
		if (asn1_time(X509_get0_notBefore(x), &t) < 0)
			goto bad_time;
		l = t > l ? t : l;
		if (asn1_time(X509_get0_notAfter(x), &t) < 0)
			goto bad_time;
		h = t < h ? t : h;
	}
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *c = sk_X509_CRL_value(crls, i);
		if (asn1_time(X509_CRL_get0_lastUpdate(c), &t) < 0)
			goto bad_time;
		l = t > l ? t : l;
		if (!X509_CRL_get0_nextUpdate(c) || asn1_time(X509_CRL_get0_nextUpdate(c), &t) < 0)
			goto bad_time;
		h = t < h ? t : h;
	}
	*lo = l;
	*hi = h;
	r = 0;
	goto out;
bad_time:
	r = cerr_setx(err, EBADMSG, "%s: a certificate or CRL has no usable validity time", what);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_CRL_free(crls);
	return r;
}

/* ---- the PCK certificate's SGX extensions ----------------------------------- */

#define SGX_OID "1.2.840.113741.1.13.1"

static int oid_text(const ASN1_OBJECT *o, char *buf, int n)
{
	return OBJ_obj2txt(buf, n, o, 1) > 0 ? 0 : -EBADMSG;
}

/* One SEQUENCE { OID, value }: the OID's text and the value. */
static int ext_pair(ASN1_TYPE *t, char *oid, int n, ASN1_TYPE **val, STACK_OF(ASN1_TYPE) **hold)
{
	if (ASN1_TYPE_get(t) != V_ASN1_SEQUENCE)
		return -EBADMSG;
	const unsigned char *p = t->value.sequence->data;
	STACK_OF(ASN1_TYPE) *sk = d2i_ASN1_SEQUENCE_ANY(NULL, &p, t->value.sequence->length);
	if (!sk || sk_ASN1_TYPE_num(sk) != 2 ||
	    ASN1_TYPE_get(sk_ASN1_TYPE_value(sk, 0)) != V_ASN1_OBJECT ||
	    oid_text(sk_ASN1_TYPE_value(sk, 0)->value.object, oid, n) < 0) {
		sk_ASN1_TYPE_pop_free(sk, ASN1_TYPE_free);
		return -EBADMSG;
	}
	*val = sk_ASN1_TYPE_value(sk, 1);
	*hold = sk;
	return 0;
}

static int octets(ASN1_TYPE *v, uint8_t *out, size_t n)
{
	if (ASN1_TYPE_get(v) != V_ASN1_OCTET_STRING || (size_t)v->value.octet_string->length != n)
		return -EBADMSG;
	memcpy(out, v->value.octet_string->data, n);
	return 0;
}

static int small_int(ASN1_TYPE *v, long max, long *out)
{
	if (ASN1_TYPE_get(v) != V_ASN1_INTEGER)
		return -EBADMSG;
	long x = ASN1_INTEGER_get(v->value.integer);
	if (x < 0 || x > max)
		return -EBADMSG;
	*out = x;
	return 0;
}

static int pck_extensions(X509 *pck, struct pck_info *info, struct cerr *err)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(SGX_OID, 1);
	int idx = obj ? X509_get_ext_by_OBJ(pck, obj, -1) : -1;
	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return cerr_setx(err, EBADMSG, "pck extensions: the PCK certificate has no SGX extension (%s)",
		                 SGX_OID);
	ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(pck, idx));
	const unsigned char *p = data->data;
	STACK_OF(ASN1_TYPE) *top = d2i_ASN1_SEQUENCE_ANY(NULL, &p, data->length);
	if (!top)
		return cerr_setx(err, EBADMSG, "pck extensions: not an ASN.1 SEQUENCE");
	unsigned seen = 0;
	int r = 0;
	for (int i = 0; i < sk_ASN1_TYPE_num(top) && r == 0; i++) {
		char oid[64];
		ASN1_TYPE *v;
		STACK_OF(ASN1_TYPE) *hold = NULL;
		if (ext_pair(sk_ASN1_TYPE_value(top, i), oid, sizeof(oid), &v, &hold) < 0) {
			r = -EBADMSG;
			break;
		}
		if (!strcmp(oid, SGX_OID ".2")) {
			if (ASN1_TYPE_get(v) != V_ASN1_SEQUENCE) {
				r = -EBADMSG;
			} else {
				const unsigned char *q = v->value.sequence->data;
				STACK_OF(ASN1_TYPE) *tcb =
				    d2i_ASN1_SEQUENCE_ANY(NULL, &q, v->value.sequence->length);
				unsigned tseen = 0;
				for (int j = 0; tcb && j < sk_ASN1_TYPE_num(tcb) && r == 0; j++) {
					char toid[64];
					ASN1_TYPE *tv;
					STACK_OF(ASN1_TYPE) *th = NULL;
					long x;
					if (ext_pair(sk_ASN1_TYPE_value(tcb, j), toid, sizeof(toid), &tv, &th) < 0) {
						r = -EBADMSG;
						break;
					}
					const char *suffix = toid + strlen(SGX_OID ".2");
					int c = strncmp(toid, SGX_OID ".2.", strlen(SGX_OID ".2.")) ? -1
					                                                            : atoi(suffix + 1);
					if (c >= 1 && c <= 16) {
						if (small_int(tv, 255, &x) < 0)
							r = -EBADMSG;
						info->comp[c - 1] = (uint8_t)x;
						tseen |= 1u << c;
					} else if (c == 17) {
						if (small_int(tv, 65535, &x) < 0)
							r = -EBADMSG;
						info->pcesvn = (uint16_t)x;
						tseen |= 1u << 17;
					} else if (c == 18) {
						if (octets(tv, info->cpusvn, 16) < 0)
							r = -EBADMSG;
					}
					sk_ASN1_TYPE_pop_free(th, ASN1_TYPE_free);
				}
				if (!tcb || tseen != 0x3fffeu)
					r = -EBADMSG;
				sk_ASN1_TYPE_pop_free(tcb, ASN1_TYPE_free);
				seen |= 1;
			}
		} else if (!strcmp(oid, SGX_OID ".3")) {
			r = octets(v, info->pce_id, 2);
			seen |= 2;
		} else if (!strcmp(oid, SGX_OID ".4")) {
			r = octets(v, info->fmspc, 6);
			seen |= 4;
		}
		sk_ASN1_TYPE_pop_free(hold, ASN1_TYPE_free);
	}
	sk_ASN1_TYPE_pop_free(top, ASN1_TYPE_free);
	if (r < 0 || seen != 7)
		return cerr_setx(err, EBADMSG,
		                 "pck extensions: the SGX extension lacks or garbles TCB, PCE-ID or FMSPC");
	return 0;
}

/* ---- preparing the collateral (once per collateral) ------------------------------ */

static int json_window(struct json_object *o, const char *what, time_t *issue, time_t *next,
                       struct cerr *err)
{
	const char *a = jstr(o, "issueDate"), *b = jstr(o, "nextUpdate");
	if (!a || !b || dcap_parse_time(a, issue) < 0 || dcap_parse_time(b, next) < 0)
		return cerr_setx(err, EBADMSG, "%s: issueDate/nextUpdate missing or not RFC 3339", what);
	return 0;
}

static int cache_prepare(const struct dcap_collateral *c, struct cerr *err)
{
	struct dcap_cache *k = c->cache;
	if (k->root)
		return 0;
	const unsigned char *p = dcap_root_der;
	k->root = d2i_X509(NULL, &p, (long)dcap_root_der_len);
	if (!k->root)
		return cerr_setx(err, EBADMSG, "pinned root: does not parse");
	p = c->root_ca_crl;
	if (!(k->root_crl = d2i_X509_CRL(NULL, &p, (long)c->root_ca_crl_len)) ||
	    p != c->root_ca_crl + c->root_ca_crl_len)
		return cerr_setx(err, EBADMSG, "root ca crl: not a DER CRL");
	p = c->pck_crl;
	if (!(k->pck_crl = d2i_X509_CRL(NULL, &p, (long)c->pck_crl_len)) ||
	    p != c->pck_crl + c->pck_crl_len)
		return cerr_setx(err, EBADMSG, "pck crl: not a DER CRL");
	if (load_chain(c->pck_crl_issuer_chain, strlen(c->pck_crl_issuer_chain), &k->pck_crl_chain) < 0)
		return cerr_setx(err, EBADMSG, "pck crl chain: no PEM certificate");
	if (load_chain(c->tcb_info_issuer_chain, strlen(c->tcb_info_issuer_chain), &k->tcb_chain) < 0)
		return cerr_setx(err, EBADMSG, "tcb info chain: no PEM certificate");
	if (load_chain(c->qe_identity_issuer_chain, strlen(c->qe_identity_issuer_chain), &k->qe_chain) <
	    0)
		return cerr_setx(err, EBADMSG, "qe identity chain: no PEM certificate");
	k->tcb = json_parse_n(c->tcb_info, c->tcb_info_len);
	if (!k->tcb || !json_object_is_type(k->tcb, json_type_object))
		return cerr_setx(err, EBADMSG, "tcb info: not a JSON object");
	k->qe = json_parse_n(c->qe_identity, c->qe_identity_len);
	if (!k->qe || !json_object_is_type(k->qe, json_type_object))
		return cerr_setx(err, EBADMSG, "qe identity: not a JSON object");
	if (json_window(k->tcb, "tcb info", &k->tcb_issue, &k->tcb_next, err) < 0 ||
	    json_window(k->qe, "qe identity", &k->qe_issue, &k->qe_next, err) < 0)
		return -EBADMSG;
	return 0;
}

static int check_collateral(const struct dcap_collateral *c, time_t now, struct cerr *err)
{
	struct dcap_cache *k = c->cache;
	if (!k->sigs_ok) {
		if (ecdsa_verify(X509_get0_pubkey(sk_X509_value(k->tcb_chain, 0)), c->tcb_info_sig,
		                 c->tcb_info, c->tcb_info_len) < 0)
			return cerr_setx(err, EBADMSG,
			                 "tcb info signature: does not verify with the TCB signing key");
		if (ecdsa_verify(X509_get0_pubkey(sk_X509_value(k->qe_chain, 0)), c->qe_identity_sig,
		                 c->qe_identity, c->qe_identity_len) < 0)
			return cerr_setx(err, EBADMSG,
			                 "qe identity signature: does not verify with the TCB signing key");
		k->sigs_ok = true;
	}
	if (!k->chains_ok || now < k->lo || now > k->hi) {
		time_t lo[3], hi[3];
		k->chains_ok = false;
		if (verify_chain(k, k->tcb_chain, false, now, "tcb info chain", &lo[0], &hi[0], err) < 0 ||
		    verify_chain(k, k->qe_chain, false, now, "qe identity chain", &lo[1], &hi[1], err) < 0 ||
		    verify_chain(k, k->pck_crl_chain, false, now, "pck crl chain", &lo[2], &hi[2], err) < 0)
			return -EBADMSG;
		/* the PCK CRL's issuer must be the chain given for it */
		if (X509_CRL_verify(k->pck_crl, X509_get0_pubkey(sk_X509_value(k->pck_crl_chain, 0))) != 1)
			return cerr_setx(err, EBADMSG,
			                 "pck crl: not signed by the first certificate of pck_crl_issuer_chain");
		k->lo = lo[0] > lo[1] ? lo[0] : lo[1];
		k->lo = lo[2] > k->lo ? lo[2] : k->lo;
		k->hi = hi[0] < hi[1] ? hi[0] : hi[1];
		k->hi = hi[2] < k->hi ? hi[2] : k->hi;
		k->chains_ok = true;
	}
	char ts[32];
	fmt_time(now, ts, sizeof(ts));
	if (now < k->tcb_issue || now > k->tcb_next)
		return cerr_setx(err, EKEYEXPIRED, "tcb info window: %s is outside issueDate..nextUpdate "
		                 "(%s..%s)", ts, jstr(k->tcb, "issueDate"), jstr(k->tcb, "nextUpdate"));
	if (now < k->qe_issue || now > k->qe_next)
		return cerr_setx(err, EKEYEXPIRED, "qe identity window: %s is outside issueDate..nextUpdate "
		                 "(%s..%s)", ts, jstr(k->qe, "issueDate"), jstr(k->qe, "nextUpdate"));
	return 0;
}

static int check_pck_chain(const struct dcap_quote *q, const struct dcap_collateral *c, time_t now,
                           struct cerr *err)
{
	struct dcap_cache *k = c->cache;
	uint8_t h[32];
	SHA256(q->pck_chain, q->pck_chain_len, h);
	if (k->pck && !memcmp(h, k->pck_hash, 32)) {
		if (k->pck_ok && now >= k->pck_lo && now <= k->pck_hi)
			return 0;
	} else {
		chain_free(k->pck);
		k->pck = NULL;
		k->pck_ok = false;
		if (load_chain((const char *)q->pck_chain, q->pck_chain_len, &k->pck) < 0)
			return cerr_setx(err, EBADMSG, "pck chain: the certification data holds no PEM certificate");
		memcpy(k->pck_hash, h, 32);
		if (sk_X509_num(k->pck) < 2)
			return cerr_setx(err, EBADMSG, "pck chain: one certificate; want PCK, CA and root");
		if (pck_extensions(sk_X509_value(k->pck, 0), &k->pck_info, err) < 0)
			return -EBADMSG;
	}
	k->pck_ok = false;
	if (verify_chain(k, k->pck, true, now, "pck chain", &k->pck_lo, &k->pck_hi, err) < 0)
		return -EBADMSG;
	/* the PCK CRL must be the one of the PCK certificate's issuer */
	if (X509_NAME_cmp(X509_CRL_get_issuer(k->pck_crl), X509_get_issuer_name(sk_X509_value(k->pck, 0))))
		return cerr_setx(err, EBADMSG, "pck crl: issued by another CA than the PCK certificate's");
	k->pck_ok = true;
	return 0;
}

/* ---- TCB levels and identities ------------------------------------------------- */

static const char *const statuses[] = {
    "UpToDate",  "SWHardeningNeeded",           "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
    "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked",
};

static const char *known_status(const char *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(statuses); i++)
		if (!strcmp(s, statuses[i]))
			return statuses[i];
	return NULL;
}

/* Combines the platform status with a QE or TDX module status (UpToDate,
 * OutOfDate or Revoked), as Intel's QVL does. */
static const char *converge(const char *base, const char *other)
{
	if (!strcmp(other, "Revoked") || !strcmp(base, "Revoked"))
		return "Revoked";
	if (strcmp(other, "OutOfDate"))
		return base;
	if (!strcmp(base, "ConfigurationNeeded") || !strcmp(base, "ConfigurationAndSWHardeningNeeded") ||
	    !strcmp(base, "OutOfDateConfigurationNeeded"))
		return "OutOfDateConfigurationNeeded";
	return "OutOfDate";
}

static int add_advisories(struct dcap_result *res, struct json_object *level, const char *what,
                          struct cerr *err)
{
	struct json_object *a;
	if (!json_object_object_get_ex(level, "advisoryIDs", &a))
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return cerr_setx(err, EBADMSG, "%s: advisoryIDs is not an array", what);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *v = json_object_array_get_idx(a, i);
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (!s || !*s || strlen(s) >= DCAP_ADVISORY_LEN)
			return cerr_setx(err, EBADMSG, "%s: advisory id %zu is not a short string", what, i);
		bool dup = false;
		for (size_t j = 0; j < res->n_advisory_ids; j++)
			dup |= !strcmp(res->advisory_ids[j], s);
		if (dup)
			continue;
		if (res->n_advisory_ids >= DCAP_ADVISORIES_MAX)
			return cerr_setx(err, EBADMSG, "%s: more than %d advisory ids", what,
			                 DCAP_ADVISORIES_MAX);
		snprintf(res->advisory_ids[res->n_advisory_ids++], DCAP_ADVISORY_LEN, "%s", s);
	}
	return 0;
}

/* SVNs of a level: "sgxtcbcomponents"/"tdxtcbcomponents" arrays of {svn} (v3)
 * or sgxtcbcompNNsvn keys (v2). */
static int level_comps(struct json_object *tcb, const char *arr, uint8_t out[16])
{
	struct json_object *a = jarr(tcb, arr, 16);
	if (a) {
		if (json_object_array_length(a) != 16)
			return -EBADMSG;
		for (int i = 0; i < 16; i++) {
			int64_t v;
			if (jint(json_object_array_get_idx(a, (size_t)i), "svn", 0, 255, &v) < 0)
				return -EBADMSG;
			out[i] = (uint8_t)v;
		}
		return 0;
	}
	if (strcmp(arr, "sgxtcbcomponents"))
		return -ENOENT;
	for (int i = 0; i < 16; i++) {
		char key[24];
		int64_t v;
		snprintf(key, sizeof(key), "sgxtcbcomp%02dsvn", i + 1);
		if (jint(tcb, key, 0, 255, &v) < 0)
			return -EBADMSG;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int check_tcb_levels(const struct dcap_quote *q, struct dcap_cache *k,
                            struct dcap_result *res, const char **status, struct cerr *err)
{
	const struct pck_info *pi = &k->pck_info;
	bool tdx = q->body_type != DCAP_BODY_SGX;
	struct json_object *levels = jarr(k->tcb, "tcbLevels", TCB_LEVELS_MAX);
	if (!levels)
		return cerr_setx(err, EBADMSG, "tcb info: tcbLevels missing or too long");
	const uint8_t *tee = q->td.tee_tcb_svn;
	for (size_t i = 0; i < json_object_array_length(levels); i++) {
		struct json_object *lv = json_object_array_get_idx(levels, i), *tcb;
		if (!json_object_object_get_ex(lv, "tcb", &tcb) || !json_object_is_type(tcb, json_type_object))
			return cerr_setx(err, EBADMSG, "tcb info: level %zu has no tcb object", i);
		uint8_t sgx[16], tdxc[16];
		int64_t pcesvn;
		if (level_comps(tcb, "sgxtcbcomponents", sgx) < 0 || jint(tcb, "pcesvn", 0, 65535, &pcesvn) < 0)
			return cerr_setx(err, EBADMSG, "tcb info: level %zu: bad SGX components or pcesvn", i);
		bool ok = pi->pcesvn >= pcesvn;
		for (int j = 0; j < 16; j++)
			ok &= pi->comp[j] >= sgx[j];
		if (tdx) {
			if (level_comps(tcb, "tdxtcbcomponents", tdxc) < 0)
				return cerr_setx(err, EBADMSG, "tcb info: level %zu: bad TDX components", i);
			/* with a TDX module version (TEE_TCB_SVN[1] > 0) its first two
			 * components are checked against the module identity instead */
			for (int j = tee[1] > 0 ? 2 : 0; j < 16; j++)
				ok &= tee[j] >= tdxc[j];
		}
		if (!ok)
			continue;
		const char *st = known_status(jstr(lv, "tcbStatus"));
		if (!st)
			return cerr_setx(err, EBADMSG, "tcb info: level %zu: unknown tcbStatus", i);
		const char *date = jstr(lv, "tcbDate");
		snprintf(res->tcb_date, sizeof(res->tcb_date), "%s", date ? date : "");
		*status = st;
		return add_advisories(res, lv, "tcb info", err);
	}
	return cerr_setx(err, EBADMSG, "tcb level: no TCB level of FMSPC %02X%02X%02X%02X%02X%02X "
	                 "matches the platform (TCB not supported)", pi->fmspc[0], pi->fmspc[1],
	                 pi->fmspc[2], pi->fmspc[3], pi->fmspc[4], pi->fmspc[5]);
}

static bool masked_eq(const uint8_t *val, const uint8_t *want, const uint8_t *mask, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((val[i] & mask[i]) != want[i])
			return false;
	return true;
}

/* The TDX module: its signer and attributes, and for module versions > 0
 * the TCB level of the matching tdxModuleIdentities entry. */
static int check_tdx_module(const struct dcap_quote *q, struct dcap_cache *k,
                            struct dcap_result *res, const char **status, struct cerr *err)
{
	const struct dcap_td_report *t = &q->td;
	uint8_t ver = t->tee_tcb_svn[1], isvsvn = t->tee_tcb_svn[0];
	struct json_object *mod = NULL;
	if (ver == 0) {
		if (!json_object_object_get_ex(k->tcb, "tdxModule", &mod))
			return cerr_setx(err, EBADMSG, "tdx module: tcb info has no tdxModule");
	} else {
		struct json_object *ids = jarr(k->tcb, "tdxModuleIdentities", TCB_LEVELS_MAX);
		char want[16];
		snprintf(want, sizeof(want), "TDX_%02X", ver);
		for (size_t i = 0; ids && i < json_object_array_length(ids); i++) {
			const char *id = jstr(json_object_array_get_idx(ids, i), "id");
			if (id && !strcasecmp(id, want))
				mod = json_object_array_get_idx(ids, i);
		}
		if (!mod)
			return cerr_setx(err, EBADMSG, "tdx module: no identity %s in tcb info", want);
	}
	uint8_t signer[48], attr[8], mask[8];
	if (jhex(mod, "mrsigner", signer, 48) < 0 || jhex(mod, "attributes", attr, 8) < 0 ||
	    jhex(mod, "attributesMask", mask, 8) < 0)
		return cerr_setx(err, EBADMSG, "tdx module: mrsigner/attributes/attributesMask malformed");
	if (memcmp(signer, t->mr_signer_seam, 48))
		return cerr_setx(err, EBADMSG, "tdx module: MRSIGNERSEAM differs from tcb info's");
	if (!masked_eq(t->seam_attributes, attr, mask, 8))
		return cerr_setx(err, EBADMSG, "tdx module: SEAMATTRIBUTES do not match tcb info's");
	if (ver == 0)
		return 0;
	struct json_object *levels = jarr(mod, "tcbLevels", TCB_LEVELS_MAX);
	for (size_t i = 0; levels && i < json_object_array_length(levels); i++) {
		struct json_object *lv = json_object_array_get_idx(levels, i), *tcb;
		int64_t svn;
		if (!json_object_object_get_ex(lv, "tcb", &tcb) || jint(tcb, "isvsvn", 0, 255, &svn) < 0)
			return cerr_setx(err, EBADMSG, "tdx module: level %zu malformed", i);
		if (isvsvn < svn)
			continue;
		const char *st = known_status(jstr(lv, "tcbStatus"));
		if (!st)
			return cerr_setx(err, EBADMSG, "tdx module: level %zu: unknown tcbStatus", i);
		*status = converge(*status, st);
		return add_advisories(res, lv, "tdx module", err);
	}
	return cerr_setx(err, EBADMSG, "tdx module: SVN %u below every level of TDX_%02X", isvsvn, ver);
}

static int check_qe_identity(const struct dcap_quote *q, struct dcap_cache *k,
                             struct dcap_result *res, const char **status, struct cerr *err)
{
	struct json_object *qe = k->qe;
	const struct dcap_sgx_report *r = &q->qe_report;
	const char *id = jstr(qe, "id");
	const char *want = q->body_type == DCAP_BODY_SGX ? "QE" : "TD_QE";
	int64_t ver;
	if (!id || strcmp(id, want) || jint(qe, "version", 2, 2, &ver) < 0)
		return cerr_setx(err, EBADMSG, "qe identity: id '%s' version 2 wanted for this quote", want);
	uint8_t signer[32], misc[4], misc_mask[4], attr[16], attr_mask[16];
	int64_t prodid;
	if (jhex(qe, "mrsigner", signer, 32) < 0 || jhex(qe, "miscselect", misc, 4) < 0 ||
	    jhex(qe, "miscselectMask", misc_mask, 4) < 0 || jhex(qe, "attributes", attr, 16) < 0 ||
	    jhex(qe, "attributesMask", attr_mask, 16) < 0 || jint(qe, "isvprodid", 0, 65535, &prodid) < 0)
		return cerr_setx(err, EBADMSG, "qe identity: a field is missing or malformed");
	if (memcmp(signer, r->mr_signer, 32))
		return cerr_setx(err, EBADMSG, "qe identity: the QE's MRSIGNER is not the identity's");
	if (r->isv_prod_id != prodid)
		return cerr_setx(err, EBADMSG, "qe identity: the QE's ISVPRODID %u is not %lld",
		                 r->isv_prod_id, (long long)prodid);
	/* MISCSELECT is a little-endian u32 in the report, big-endian hex in JSON */
	uint32_t want_misc = (uint32_t)misc[0] << 24 | misc[1] << 16 | misc[2] << 8 | misc[3];
	uint32_t mmask = (uint32_t)misc_mask[0] << 24 | misc_mask[1] << 16 | misc_mask[2] << 8 | misc_mask[3];
	if ((r->misc_select & mmask) != want_misc)
		return cerr_setx(err, EBADMSG, "qe identity: the QE's masked MISCSELECT does not match");
	if (!masked_eq(r->attributes, attr, attr_mask, 16))
		return cerr_setx(err, EBADMSG, "qe identity: the QE's masked ATTRIBUTES do not match");
	struct json_object *levels = jarr(qe, "tcbLevels", TCB_LEVELS_MAX);
	for (size_t i = 0; levels && i < json_object_array_length(levels); i++) {
		struct json_object *lv = json_object_array_get_idx(levels, i), *tcb;
		int64_t svn;
		if (!json_object_object_get_ex(lv, "tcb", &tcb) || jint(tcb, "isvsvn", 0, 65535, &svn) < 0)
			return cerr_setx(err, EBADMSG, "qe identity: level %zu malformed", i);
		if (r->isv_svn < svn)
			continue;
		const char *st = known_status(jstr(lv, "tcbStatus"));
		if (!st)
			return cerr_setx(err, EBADMSG, "qe identity: level %zu: unknown tcbStatus", i);
		*status = converge(*status, st);
		return add_advisories(res, lv, "qe identity", err);
	}
	return cerr_setx(err, EBADMSG, "qe identity tcb: the QE's ISVSVN %u is below every level",
	                 r->isv_svn);
}

/* ---- verify ------------------------------------------------------------------ */

static int fail_check(struct dcap_result *res, const char *check, int r)
{
	snprintf(res->failed_check, sizeof(res->failed_check), "%s", check);
	return r < 0 ? r : -EBADMSG;
}

/* The check's name: the message up to its first ':'. */
static int failed(struct dcap_result *res, struct cerr *err, int r)
{
	const char *msg = err ? err->msg : "";
	size_t n = strcspn(msg, ":");
	if (n >= sizeof(res->failed_check))
		n = sizeof(res->failed_check) - 1;
	memcpy(res->failed_check, msg, n);
	res->failed_check[n] = 0;
	return r < 0 ? r : -EBADMSG;
}

int dcap_verify(const struct dcap_quote *q, const struct dcap_collateral *c, time_t now,
                struct dcap_result *res, struct cerr *err)
{
	struct cerr local = CERR_INIT;
	if (!err)
		err = &local;
	memset(res, 0, sizeof(*res));
	int r;
	if (!q->signed_data || !c->tcb_info)
		return fail_check(res, "input", cerr_setx(err, EINVAL, "input: quote or collateral not parsed"));
	if (memcmp(q->hdr.qe_vendor_id, intel_qe_vendor, 16))
		return failed(res, err, cerr_setx(err, EBADMSG, "quote header: QE vendor is not Intel"));

	/* 1. the quote, signed by the attestation key */
	EVP_PKEY *ak = p256_raw_key(q->att_key);
	if (!ak)
		return failed(res, err, cerr_setx(err, EBADMSG, "attestation key: not a P-256 point"));
	r = ecdsa_verify(ak, q->signature, q->signed_data, q->signed_len);
	EVP_PKEY_free(ak);
	if (r < 0)
		return failed(res, err, cerr_setx(err, EBADMSG,
		                                  "quote signature: header and body are not signed by the "
		                                  "attestation key"));
	/* 2. the QE report binds the attestation key and the QE auth data */
	uint8_t want[64] = {0};
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	r = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, q->att_key, 64) == 1 &&
	    EVP_DigestUpdate(md, q->qe_auth, q->qe_auth_len) == 1 &&
	    EVP_DigestFinal_ex(md, want, NULL) == 1;
	EVP_MD_CTX_free(md);
	if (!r)
		return failed(res, err, cerr_setx(err, ENOMEM, "memory: SHA-256 failed"));
	if (memcmp(want, q->qe_report.report_data, 64))
		return failed(res, err, cerr_setx(err, EBADMSG,
		                                  "qe report data: not SHA-256(attestation key || QE "
		                                  "authentication data) || zeros"));

	/* 3. the collateral and the PCK chain */
	struct dcap_collateral *cm = (struct dcap_collateral *)c;
	if (!cm->cache && !(cm->cache = calloc(1, sizeof(*cm->cache))))
		return failed(res, err, cerr_setx(err, ENOMEM, "memory: out of memory"));
	struct dcap_cache *k = c->cache;
	if ((r = cache_prepare(c, err)) < 0) {
		cache_free(cm->cache);
		cm->cache = NULL;
		return failed(res, err, r);
	}
	if ((r = check_pck_chain(q, c, now, err)) < 0)
		return failed(res, err, r);
	/* 4. the QE report, signed by the PCK key */
	if (ecdsa_verify(X509_get0_pubkey(sk_X509_value(k->pck, 0)), q->qe_report_sig, q->qe_report_raw,
	                 SGX_REPORT_LEN) < 0)
		return failed(res, err, cerr_setx(err, EBADMSG,
		                                  "qe report signature: the QE report is not signed by the "
		                                  "PCK key"));
	if ((r = check_collateral(c, now, err)) < 0)
		return failed(res, err, r);

	/* 5. TCB Info is for this platform and TEE */
	struct json_object *tcb = k->tcb;
	const struct pck_info *pi = &k->pck_info;
	memcpy(res->fmspc, pi->fmspc, 6);
	memcpy(res->pce_id, pi->pce_id, 2);
	bool tdx = q->body_type != DCAP_BODY_SGX;
	const char *id = jstr(tcb, "id");
	int64_t ver;
	if (jint(tcb, "version", 2, 3, &ver) < 0 || (tdx && (ver != 3 || !id || strcmp(id, "TDX"))) ||
	    (!tdx && id && strcmp(id, "SGX")))
		return failed(res, err, cerr_setx(err, EBADMSG, "tcb info: id/version is not %s",
		                                  tdx ? "TDX v3" : "SGX v2/v3"));
	uint8_t fmspc[6], pce[2];
	if (jhex(tcb, "fmspc", fmspc, 6) < 0 || memcmp(fmspc, pi->fmspc, 6))
		return failed(res, err, cerr_setx(err, EBADMSG,
		                                  "fmspc: tcb info's FMSPC is not the PCK certificate's "
		                                  "%02X%02X%02X%02X%02X%02X", pi->fmspc[0], pi->fmspc[1],
		                                  pi->fmspc[2], pi->fmspc[3], pi->fmspc[4], pi->fmspc[5]));
	if (jhex(tcb, "pceId", pce, 2) < 0 || memcmp(pce, pi->pce_id, 2))
		return failed(res, err, cerr_setx(err, EBADMSG,
		                                  "pce id: tcb info's PCE id is not the PCK certificate's"));

	/* 6. levels */
	const char *status = NULL;
	if ((r = check_tcb_levels(q, k, res, &status, err)) < 0)
		return failed(res, err, r);
	if (tdx && (r = check_tdx_module(q, k, res, &status, err)) < 0)
		return failed(res, err, r);
	if ((r = check_qe_identity(q, k, res, &status, err)) < 0)
		return failed(res, err, r);
	snprintf(res->status, sizeof(res->status), "%s", status);
	return 0;
}

bool dcap_status_ok(const char *status)
{
	return status && status[0] && strcmp(status, "Revoked") != 0;
}

bool dcap_root_is_test(void)
{
	return dcap_root_der_is_test != 0;
}
