/* dcap_fetch.c - collateral from a PCCS over libcurl: see cocoon/dcap.h.
 *
 * PCCS v4 API (the paths Intel's PCS and PCCS serve under
 * /{sgx,tdx}/certification/v4):
 *   tcb?fmspc=HEX         {"tcbInfo": {...}, "signature": HEX}, chain in the
 *                         TCB-Info-Issuer-Chain header (URL-encoded PEM)
 *   qe/identity           {"enclaveIdentity": {...}, "signature": HEX}, chain
 *                         in SGX-Enclave-Identity-Issuer-Chain
 *   pckcrl?ca=platform|processor&encoding=der
 *                         the CRL, chain in SGX-PCK-CRL-Issuer-Chain
 *   rootcacrl             the root CA CRL (hex, PEM or DER)
 * Nothing fetched is trusted: dcap_verify() checks every signature. The
 * cache holds the last good answer per TEE, FMSPC and CA, in the
 * --collateral shape, and is used while its TCB Info, QE Identity and CRLs
 * are all inside their windows.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cocoon/buf.h"
#include "cocoon/dcap.h"
#include "cocoon/util.h"

#define REPLY_MAX (512u * 1024)
#define HEADER_MAX (64u * 1024)

struct reply {
	struct wbuf body;
	const char *want_header; /* the issuer chain header, or NULL */
	char *header;            /* its value, URL-decoded */
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	return wbuf_put(&r->body, p, size * n) < 0 ? 0 : size * n;
}

static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			*o++ = (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = 0;
	return out;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n, klen = r->want_header ? strlen(r->want_header) : 0;
	if (len > HEADER_MAX)
		return 0;
	if (klen && len > klen + 1 && !strncasecmp(p, r->want_header, klen) && p[klen] == ':') {
		const char *v = p + klen + 1;
		size_t vl = len - klen - 1;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		free(r->header);
		r->header = url_decode(v, vl);
	}
	return len;
}

static int get(const char *url, const char *header, struct reply *r, struct cerr *err)
{
	memset(r, 0, sizeof(*r));
	wbuf_init(&r->body, REPLY_MAX);
	r->want_header = header;
	CURL *c = curl_easy_init();
	if (!c)
		return cerr_setx(err, ENOMEM, "pccs: curl_easy_init failed");
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK)
		return cerr_setx(err, EIO, "pccs: GET %s: %s", url,
		                 ebuf[0] ? ebuf : curl_easy_strerror(rc));
	if (status != 200)
		return cerr_setx(err, EIO, "pccs: GET %s: HTTP status %ld", url, status);
	if (header && !r->header)
		return cerr_setx(err, EBADMSG, "pccs: GET %s: no %s header", url, header);
	return 0;
}

static void reply_free(struct reply *r)
{
	wbuf_free(&r->body);
	free(r->header);
	r->header = NULL;
}

/* "tcbInfo"/"enclaveIdentity" (raw text) and "signature" of a reply */
static int signed_reply(struct reply *r, const char *key, struct json_object *out, const char *okey,
                        const char *osig, const char *url, struct cerr *err)
{
	const char *raw;
	size_t rlen;
	const char *body = (const char *)r->body.p;
	if (!body || dcap_json_raw_member(body, r->body.len, key, &raw, &rlen) < 0)
		return cerr_setx(err, EBADMSG, "pccs: %s: no '%s' object", url, key);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = tok && r->body.len < INT32_MAX
	                            ? json_tokener_parse_ex(tok, body, (int)r->body.len)
	                            : NULL;
	json_tokener_free(tok);
	struct json_object *sig;
	if (!o || !json_object_object_get_ex(o, "signature", &sig) ||
	    !json_object_is_type(sig, json_type_string)) {
		json_object_put(o);
		return cerr_setx(err, EBADMSG, "pccs: %s: no 'signature'", url);
	}
	json_object_object_add(out, okey, json_object_new_string_len(raw, (int)rlen));
	json_object_object_add(out, osig, json_object_get(sig));
	json_object_put(o);
	return 0;
}

/* a CRL body: hex and PEM as given, DER as hex */
static void crl_reply(struct reply *r, struct json_object *out, const char *key)
{
	const uint8_t *p = r->body.p;
	size_t n = r->body.len;
	if (n && p[0] == 0x30) {
		char *hex = malloc(2 * n + 1);
		if (hex) {
			hex_encode(p, n, hex);
			json_object_object_add(out, key, json_object_new_string(hex));
			free(hex);
		}
	} else {
		json_object_object_add(out, key,
		                       json_object_new_string_len((const char *)p, (int)n));
	}
}

static int fetch(const char *base, bool tdx, const char *fmspc_hex, const char *ca,
                 struct dcap_collateral *c, struct cerr *err)
{
	char url[2048];
	struct reply r;
	struct json_object *o = json_object_new_object();
	int rc;
	const char *tee = tdx ? "tdx" : "sgx";

	snprintf(url, sizeof(url), "%s/%s/certification/v4/tcb?fmspc=%s", base, tee, fmspc_hex);
	if ((rc = get(url, "TCB-Info-Issuer-Chain", &r, err)) < 0 ||
	    (rc = signed_reply(&r, "tcbInfo", o, "tcb_info", "tcb_info_signature", url, err)) < 0)
		goto out;
	json_object_object_add(o, "tcb_info_issuer_chain", json_object_new_string(r.header));
	reply_free(&r);

	snprintf(url, sizeof(url), "%s/%s/certification/v4/qe/identity", base, tee);
	if ((rc = get(url, "SGX-Enclave-Identity-Issuer-Chain", &r, err)) < 0 ||
	    (rc = signed_reply(&r, "enclaveIdentity", o, "qe_identity", "qe_identity_signature",
	                       url, err)) < 0)
		goto out;
	json_object_object_add(o, "qe_identity_issuer_chain", json_object_new_string(r.header));
	reply_free(&r);

	snprintf(url, sizeof(url), "%s/sgx/certification/v4/pckcrl?ca=%s&encoding=der", base, ca);
	if ((rc = get(url, "SGX-PCK-CRL-Issuer-Chain", &r, err)) < 0)
		goto out;
	crl_reply(&r, o, "pck_crl");
	json_object_object_add(o, "pck_crl_issuer_chain", json_object_new_string(r.header));
	reply_free(&r);

	snprintf(url, sizeof(url), "%s/sgx/certification/v4/rootcacrl", base);
	if ((rc = get(url, NULL, &r, err)) < 0)
		goto out;
	crl_reply(&r, o, "root_ca_crl");
	reply_free(&r);

	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &n);
	rc = dcap_collateral_parse(s, n, c, err);
	if (rc < 0)
		cerr_prefix(err, rc, "pccs %s", base);
out:
	reply_free(&r);
	json_object_put(o);
	return rc;
}

int dcap_collateral_fetch(const char *base_url, const char *cache_dir, const struct dcap_quote *q,
                          time_t now, struct dcap_collateral *c, struct cerr *err)
{
	uint8_t fmspc[6];
	const char *ca;
	char fmspc_hex[13], base[1024], path[4096];
	memset(c, 0, sizeof(*c));
	int r = dcap_quote_pck_info(q, fmspc, &ca, err);
	if (r < 0)
		return r;
	hex_encode(fmspc, 6, fmspc_hex);
	for (char *p = fmspc_hex; *p; p++)
		if (*p >= 'a')
			*p = (char)(*p - 32);
	bool tdx = q->body_type != DCAP_BODY_SGX;
	/* the PCCS root: a trailing / and /{sgx,tdx}/certification/v4 dropped */
	size_t bl = strlen(base_url);
	if (bl == 0 || bl >= sizeof(base))
		return cerr_setx(err, EINVAL, "pccs: URL empty or too long");
	memcpy(base, base_url, bl + 1);
	while (bl && base[bl - 1] == '/')
		base[--bl] = 0;
	const char *sfx[2] = {"/sgx/certification/v4", "/tdx/certification/v4"};
	for (int i = 0; i < 2; i++)
		if (bl > strlen(sfx[i]) && !strcmp(base + bl - strlen(sfx[i]), sfx[i]))
			base[bl -= strlen(sfx[i])] = 0;

	if (cache_dir) {
		snprintf(path, sizeof(path), "%s/%s-%s-%s.json", cache_dir, tdx ? "tdx" : "sgx",
		         fmspc_hex, ca);
		struct stat st;
		time_t lo, hi;
		if (stat(path, &st) == 0) {
			struct cerr e2 = CERR_INIT;
			if (dcap_collateral_load(path, c, &e2) == 0 &&
			    dcap_collateral_window(c, &lo, &hi) == 0 && now >= lo && now <= hi)
				return 0;
			dcap_collateral_free(c);
		}
	}
	static bool curl_ready;
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	r = fetch(base, tdx, fmspc_hex, ca, c, err);
	if (r < 0)
		return r;
	if (cache_dir) {
		if (mkdir(cache_dir, 0700) < 0 && errno != EEXIST)
			return cerr_set(err, errno, "cache '%s'", cache_dir);
		struct cerr e2 = CERR_INIT;
		if (dcap_collateral_save(path, c, &e2) < 0)
			fprintf(stderr, "dcap: not cached: %s\n", e2.msg);
	}
	return 0;
}
