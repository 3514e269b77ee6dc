/* gpuattest.c - GPU evidence through NVML and its offline verification; see
 * cocoon/gpuattest.h.
 *
 * The NVML declarations below follow NVIDIA's public nvml.h (driver 580):
 * the structures' layouts and the entry points are part of NVML's stable
 * ABI. Everything NVML hands back is treated as untrusted bytes: sizes are
 * bounded by the buffers they came in, the report is parsed through rbuf.
 */
#include "cocoon/gpuattest.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "cocoon/buf.h"
#include "cocoon/nvmlabi.h"
#include "cocoon/util.h"

struct nvml {
	void *h;
	nvmlReturn_t (*init)(void);
	nvmlReturn_t (*shutdown)(void);
	nvmlReturn_t (*driver_version)(char *, unsigned int);
	nvmlReturn_t (*count)(unsigned int *);
	nvmlReturn_t (*by_index)(unsigned int, nvmlDevice_t *);
	nvmlReturn_t (*uuid)(nvmlDevice_t, char *, unsigned int);
	nvmlReturn_t (*cc_state)(nvmlConfComputeSystemState_t *);
	nvmlReturn_t (*cc_settings)(nvmlSystemConfComputeSettings_v1_t *);
	nvmlReturn_t (*cert)(nvmlDevice_t, nvmlConfComputeGpuCertificate_t *);
	nvmlReturn_t (*report)(nvmlDevice_t, nvmlConfComputeGpuAttestationReport_t *);
};

/* A missing entry point counts as the call failing with NOT_FOUND, so that
 * an older driver is refused by the checks, with the name on record. */
#define NVML_ERROR_FUNCTION_NOT_FOUND 13

const char *gpuattest_nvml_rc_name(int rc)
{
	static const struct {
		int rc;
		const char *name;
	} names[] = {{0, "NVML_SUCCESS"},
	             {1, "NVML_ERROR_UNINITIALIZED"},
	             {2, "NVML_ERROR_INVALID_ARGUMENT"},
	             {3, "NVML_ERROR_NOT_SUPPORTED"},
	             {4, "NVML_ERROR_NO_PERMISSION"},
	             {6, "NVML_ERROR_NOT_FOUND"},
	             {7, "NVML_ERROR_INSUFFICIENT_SIZE"},
	             {9, "NVML_ERROR_DRIVER_NOT_LOADED"},
	             {12, "NVML_ERROR_LIBRARY_NOT_FOUND"},
	             {13, "NVML_ERROR_FUNCTION_NOT_FOUND"},
	             {15, "NVML_ERROR_GPU_IS_LOST"},
	             {18, "NVML_ERROR_IN_USE"},
	             {25, "NVML_ERROR_VERSION_MISMATCH"},
	             {999, "NVML_ERROR_UNKNOWN"}};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].rc == rc)
			return names[i].name;
	return "NVML error";
}

static void *sym(void *h, const char *name)
{
	return dlsym(h, name);
}

int gpuattest_collect(const char *lib, struct gpuattest_evidence *ev, struct cerr *err)
{
	nvmlConfComputeGpuCertificate_t *cert = NULL;
	nvmlConfComputeGpuAttestationReport_t *rep = NULL;
	struct nvml n = {0};
	int r = 0;

	memset(ev, 0, sizeof(*ev));
	n.h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!n.h) {
		const char *e = dlerror();
		return cerr_setx(err, ENOENT,
		                 "NVML not available: %s (is the NVIDIA driver in the image and "
		                 "the GPU passed through?)",
		                 e ? e : lib);
	}
	*(void **)&n.init = sym(n.h, "nvmlInit_v2");
	*(void **)&n.shutdown = sym(n.h, "nvmlShutdown");
	*(void **)&n.driver_version = sym(n.h, "nvmlSystemGetDriverVersion");
	*(void **)&n.count = sym(n.h, "nvmlDeviceGetCount_v2");
	*(void **)&n.by_index = sym(n.h, "nvmlDeviceGetHandleByIndex_v2");
	*(void **)&n.uuid = sym(n.h, "nvmlDeviceGetUUID");
	*(void **)&n.cc_state = sym(n.h, "nvmlSystemGetConfComputeState");
	*(void **)&n.cc_settings = sym(n.h, "nvmlSystemGetConfComputeSettings");
	*(void **)&n.cert = sym(n.h, "nvmlDeviceGetConfComputeGpuCertificate");
	*(void **)&n.report = sym(n.h, "nvmlDeviceGetConfComputeGpuAttestationReport");
	if (!n.init || !n.shutdown || !n.count || !n.by_index) {
		dlclose(n.h);
		return cerr_setx(err, ENOENT,
		                 "'%s' lacks nvmlInit_v2 or the device calls: not NVML", lib);
	}
	ev->init_rc = n.init();
	if (ev->init_rc != GPUATTEST_NVML_SUCCESS) {
		dlclose(n.h);
		return cerr_setx(err, EIO, "nvmlInit_v2 failed: %s (%d)",
		                 gpuattest_nvml_rc_name(ev->init_rc), ev->init_rc);
	}
	if (n.driver_version && n.driver_version(ev->driver, sizeof(ev->driver) - 1) != 0)
		ev->driver[0] = '\0';
	ev->driver[sizeof(ev->driver) - 1] = '\0';

	ev->state_rc = NVML_ERROR_FUNCTION_NOT_FOUND;
	if (n.cc_state) {
		nvmlConfComputeSystemState_t st = {0};

		ev->state_rc = n.cc_state(&st);
		ev->environment = st.environment;
		ev->cc_feature = st.ccFeature;
		ev->devtools = st.devToolsMode;
	}
	ev->settings_rc = NVML_ERROR_FUNCTION_NOT_FOUND;
	if (n.cc_settings) {
		nvmlSystemConfComputeSettings_v1_t s = {.version = NVML_SETTINGS_V1};

		ev->settings_rc = n.cc_settings(&s);
		ev->s_environment = s.environment;
		ev->s_cc_feature = s.ccFeature;
		ev->s_devtools = s.devToolsMode;
		ev->s_multigpu = s.multiGpuMode;
	}
	ev->count_rc = n.count(&ev->count);
	if (ev->count_rc != GPUATTEST_NVML_SUCCESS)
		ev->count = 0;

	cert = calloc(1, sizeof(*cert));
	rep = calloc(1, sizeof(*rep));
	if (!cert || !rep) {
		r = cerr_set(err, ENOMEM, "GPU evidence");
		goto out;
	}
	for (unsigned i = 0; i < ev->count && i < GPUATTEST_MAX_GPUS; i++) {
		struct gpuattest_gpu *g = &ev->gpu[i];
		nvmlDevice_t dev = NULL;
		int rc;

		ev->n_gpu = i + 1;
		g->uuid_rc = g->cert_rc = g->report_rc = rc = n.by_index(i, &dev);
		if (rc != GPUATTEST_NVML_SUCCESS)
			continue;
		g->uuid_rc = n.uuid ? n.uuid(dev, g->uuid, sizeof(g->uuid) - 1)
		                    : NVML_ERROR_FUNCTION_NOT_FOUND;
		g->uuid[sizeof(g->uuid) - 1] = '\0';
		if ((r = crypto_random(g->nonce, sizeof(g->nonce), err)) < 0)
			goto out;

		memset(cert, 0, sizeof(*cert));
		g->cert_rc = n.cert ? n.cert(dev, cert) : NVML_ERROR_FUNCTION_NOT_FOUND;
		if (g->cert_rc == GPUATTEST_NVML_SUCCESS) {
			size_t len = cert->attestationCertChainSize;

			if (len > sizeof(cert->attestationCertChain))
				len = sizeof(cert->attestationCertChain);
			g->chain = malloc(len + 1);
			if (!g->chain) {
				r = cerr_set(err, ENOMEM, "GPU evidence");
				goto out;
			}
			memcpy(g->chain, cert->attestationCertChain, len);
			g->chain[len] = 0;
			g->chain_len = len;
		}

		memset(rep, 0, sizeof(*rep));
		memcpy(rep->nonce, g->nonce, sizeof(g->nonce));
		g->report_rc = n.report ? n.report(dev, rep) : NVML_ERROR_FUNCTION_NOT_FOUND;
		if (g->report_rc == GPUATTEST_NVML_SUCCESS) {
			size_t len = rep->attestationReportSize;

			if (len > sizeof(rep->attestationReport))
				len = sizeof(rep->attestationReport);
			g->report = malloc(len ? len : 1);
			if (!g->report) {
				r = cerr_set(err, ENOMEM, "GPU evidence");
				goto out;
			}
			memcpy(g->report, rep->attestationReport, len);
			g->report_len = len;
		}
	}
out:
	free(cert);
	free(rep);
	n.shutdown();
	dlclose(n.h);
	return r;
}

void gpuattest_evidence_free(struct gpuattest_evidence *ev)
{
	for (size_t i = 0; i < GPUATTEST_MAX_GPUS; i++) {
		free(ev->gpu[i].chain);
		free(ev->gpu[i].report);
		ev->gpu[i].chain = ev->gpu[i].report = NULL;
	}
}

/* ---- verification ---- */

static void verdict(struct gpuattest_verdict *v, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict(struct gpuattest_verdict *v, const char *reason, const char *fmt, ...)
{
	char why[sizeof(v->why)];
	va_list ap;

	v->pass = !strcmp(reason, "pass");
	snprintf(v->reason, sizeof(v->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap); /* fmt's arguments may be v->why itself */
	va_end(ap);
	memcpy(v->why, why, sizeof(why));
}

/* SHA-384 over "cocoon-gpu-evidence-v1", then the nonce, the chain and the
 * report, each of the last two after its length (u32 little-endian). */
static int evidence_hash(const struct gpuattest_gpu *g, uint8_t out[SHA384_LEN], struct cerr *err)
{
	static const char tag[] = "cocoon-gpu-evidence-v1";
	struct wbuf w;
	uint8_t *p;
	size_t len;
	int r;

	wbuf_init(&w, 64u << 10);
	wbuf_put(&w, tag, sizeof(tag) - 1);
	wbuf_put(&w, g->nonce, sizeof(g->nonce));
	wbuf_u32le(&w, (uint32_t)g->chain_len);
	wbuf_put(&w, g->chain, g->chain_len);
	wbuf_u32le(&w, (uint32_t)g->report_len);
	wbuf_put(&w, g->report, g->report_len);
	if (wbuf_status(&w) < 0) {
		wbuf_free(&w);
		return cerr_set(err, ENOMEM, "GPU evidence hash");
	}
	p = wbuf_steal(&w, &len);
	r = crypto_sha384(p, len, out, err);
	free(p);
	return r;
}

static X509 *pem_cert(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

/* The chain's certificates, leaf first; at most 8. */
static int split_chain(const uint8_t *chain, size_t len, STACK_OF(X509) * out, char *why,
                       size_t why_len)
{
	BIO *b = BIO_new_mem_buf(chain, (int)len);
	X509 *x;

	if (!b)
		return -ENOMEM;
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (sk_X509_num(out) >= 8 || !sk_X509_push(out, x)) {
			X509_free(x);
			BIO_free(b);
			snprintf(why, why_len,
			         "the certificate chain has more than 8 certificates");
			return -EBADMSG;
		}
	}
	ERR_clear_error();
	BIO_free(b);
	if (sk_X509_num(out) == 0) {
		snprintf(why, why_len,
		         "the attestation certificate chain holds no PEM certificate");
		return -EBADMSG;
	}
	return 0;
}

/* Verifies chain (leaf first) to root; the leaf's key into *leaf_key. */
static int check_chain(const uint8_t *chain, size_t len, const char *root_pem, EVP_PKEY **leaf_key,
                       char *why, size_t why_len)
{
	STACK_OF(X509) *certs = sk_X509_new_null(), *untrusted = sk_X509_new_null();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *root = pem_cert(root_pem, strlen(root_pem));
	int r = -ENOMEM;

	*leaf_key = NULL;
	if (!certs || !untrusted || !store || !ctx || !root) {
		snprintf(why, why_len, root ? "out of memory" : "the pinned root does not parse");
		goto out;
	}
	if ((r = split_chain(chain, len, certs, why, why_len)) < 0)
		goto out;
	/* the chain NVML returns ends at the root; the pinned copy is the anchor */
	for (int i = 1; i < sk_X509_num(certs); i++) {
		X509 *c = sk_X509_value(certs, i);

		if (X509_cmp(c, root) == 0)
			continue;
		X509_up_ref(c);
		if (!sk_X509_push(untrusted, c)) {
			X509_free(c);
			goto out;
		}
	}
	X509_STORE_add_cert(store, root);
	X509_STORE_set_flags(store, X509_V_FLAG_X509_STRICT);
	if (!X509_STORE_CTX_init(ctx, store, sk_X509_value(certs, 0), untrusted))
		goto out;
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);

		snprintf(
		    why, why_len,
		    "the certificate chain does not verify to the pinned NVIDIA Device Identity "
		    "root: %s (certificate %d of the chain)",
		    X509_verify_cert_error_string(e), X509_STORE_CTX_get_error_depth(ctx));
		r = -EPERM;
		goto out;
	}
	*leaf_key = X509_get_pubkey(sk_X509_value(certs, 0));
	if (!*leaf_key || EVP_PKEY_get_bits(*leaf_key) != 384 ||
	    EVP_PKEY_get_base_id(*leaf_key) != EVP_PKEY_EC) {
		snprintf(why, why_len, "the leaf certificate's key is not ECDSA P-384");
		EVP_PKEY_free(*leaf_key);
		*leaf_key = NULL;
		r = -EPERM;
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(root);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(untrusted, X509_free);
	return r;
}

/* r || s (48 + 48) -> DER, then ECDSA-SHA384 verify. 1 ok, 0 bad, <0 error. */
static int check_sig(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[96])
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *br = BN_bin2bn(sig, 48, NULL), *bs = BN_bin2bn(sig + 48, 48, NULL);
	unsigned char *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int derlen, ok = -1;

	if (!s || !br || !bs || !md || !ECDSA_SIG_set0(s, br, bs)) {
		BN_free(br);
		BN_free(bs);
		goto out;
	}
	if ((derlen = i2d_ECDSA_SIG(s, &der)) <= 0)
		goto out;
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, key) != 1)
		goto out;
	ok = EVP_DigestVerify(md, der, (size_t)derlen, msg, n) == 1 ? 1 : 0;
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	ECDSA_SIG_free(s);
	return ok;
}

struct meas {
	unsigned index;
	const uint8_t *value;
	size_t len;
};

/* Parses the report's layout (see the header); fills the measurements. */
static int parse_report(const uint8_t *p, size_t n, const uint8_t nonce[GPUATTEST_NONCE_LEN],
                        struct meas *m, size_t *n_m, char *why, size_t why_len, const char **reason)
{
	struct rbuf r, rec;
	const uint8_t *got_nonce;
	uint8_t ver, code, blocks, b8;
	uint32_t reclen;
	uint16_t opaque;

	*reason = "format";
	*n_m = 0;
	rbuf_init(&r, p, n);
	if (rbuf_u8(&r, &ver) < 0 || rbuf_u8(&r, &code) < 0 || rbuf_skip(&r, 2) < 0 ||
	    rbuf_direct(&r, GPUATTEST_NONCE_LEN, &got_nonce) < 0 || rbuf_skip(&r, 1) < 0) {
		snprintf(why, why_len, "the report (%zu bytes) is shorter than an SPDM request", n);
		return -EBADMSG;
	}
	if (ver != 0x11 || code != 0xe0) {
		snprintf(why, why_len,
		         "the report does not start with an SPDM 1.1 GET_MEASUREMENTS request "
		         "(version 0x%02x, code 0x%02x)",
		         ver, code);
		return -EBADMSG;
	}
	if (rbuf_u8(&r, &ver) < 0 || rbuf_u8(&r, &code) < 0 || rbuf_skip(&r, 2) < 0 ||
	    rbuf_u8(&r, &blocks) < 0 || rbuf_u24le(&r, &reclen) < 0 ||
	    rbuf_sub(&r, reclen, &rec) < 0) {
		snprintf(why, why_len, "the SPDM MEASUREMENTS response is cut short");
		return -EBADMSG;
	}
	if (ver != 0x11 || code != 0x60) {
		snprintf(why, why_len,
		         "the response is not SPDM 1.1 MEASUREMENTS (version 0x%02x, code 0x%02x)",
		         ver, code);
		return -EBADMSG;
	}
	if (rbuf_skip(&r, GPUATTEST_NONCE_LEN) < 0 || rbuf_u16le(&r, &opaque) < 0 ||
	    rbuf_skip(&r, opaque) < 0 || rbuf_left(&r) != GPUATTEST_SIG_LEN) {
		snprintf(why, why_len,
		         "the response does not end with exactly a %d-byte signature after its "
		         "opaque data",
		         GPUATTEST_SIG_LEN);
		return -EBADMSG;
	}
	for (uint8_t i = 0; i < blocks; i++) {
		uint8_t idx, spec, type;
		uint16_t size, vsize;
		struct rbuf blk;
		const uint8_t *val;

		if (rbuf_u8(&rec, &idx) < 0 || rbuf_u8(&rec, &spec) < 0 ||
		    rbuf_u16le(&rec, &size) < 0 || rbuf_sub(&rec, size, &blk) < 0 ||
		    rbuf_u8(&blk, &type) < 0 || rbuf_u16le(&blk, &vsize) < 0 ||
		    rbuf_direct(&blk, vsize, &val) < 0 || rbuf_left(&blk) != 0) {
			snprintf(why, why_len, "measurement block %u of %u is malformed", i + 1,
			         blocks);
			return -EBADMSG;
		}
		(void)type;
		if (spec != 0x01) {
			snprintf(why, why_len,
			         "measurement block %u is not in the DMTF format (spec 0x%02x)",
			         idx, spec);
			return -EBADMSG;
		}
		if (*n_m >= GPUATTEST_MAX_MEAS) {
			snprintf(why, why_len, "more than %d measurement blocks",
			         GPUATTEST_MAX_MEAS);
			return -EBADMSG;
		}
		m[(*n_m)++] = (struct meas){idx, val, vsize};
	}
	if (rbuf_left(&rec) != 0 || rbuf_u8(&rec, &b8) == 0) {
		snprintf(why, why_len, "the measurement record has bytes after its %u blocks",
		         blocks);
		return -EBADMSG;
	}
	if (!crypto_memeq(got_nonce, nonce, GPUATTEST_NONCE_LEN)) {
		*reason = "nonce";
		snprintf(why, why_len,
		         "the report answers another nonce than the one asked for (a replayed "
		         "or foreign report)");
		return -EPERM;
	}
	return 0;
}

static void check_gpu(const struct gpuattest_gpu *g, const struct gpuattest_policy *pol,
                      struct gpuattest_verdict *v)
{
	struct meas m[GPUATTEST_MAX_MEAS];
	EVP_PKEY *key = NULL;
	const char *reason;
	size_t n_m = 0;
	int r;

	if (g->cert_rc != GPUATTEST_NVML_SUCCESS) {
		verdict(v, "no-cert", "nvmlDeviceGetConfComputeGpuCertificate failed: %s (%d)",
		        gpuattest_nvml_rc_name(g->cert_rc), g->cert_rc);
		return;
	}
	if (g->report_rc != GPUATTEST_NVML_SUCCESS) {
		verdict(v, "no-report",
		        "nvmlDeviceGetConfComputeGpuAttestationReport failed: %s (%d)",
		        gpuattest_nvml_rc_name(g->report_rc), g->report_rc);
		return;
	}
	r = check_chain(g->chain, g->chain_len,
	                pol->root_pem ? pol->root_pem : gpuattest_nvidia_root, &key, v->why,
	                sizeof(v->why));
	if (r < 0) {
		verdict(v, "chain", "%s", v->why);
		return;
	}
	r = parse_report(g->report, g->report_len, g->nonce, m, &n_m, v->why, sizeof(v->why),
	                 &reason);
	if (r < 0) {
		EVP_PKEY_free(key);
		verdict(v, reason, "%s", v->why);
		return;
	}
	r = check_sig(key, g->report, g->report_len - GPUATTEST_SIG_LEN,
	              g->report + g->report_len - GPUATTEST_SIG_LEN);
	EVP_PKEY_free(key);
	if (r != 1) {
		verdict(v, "signature",
		        "the report's signature does not verify with the leaf certificate's key "
		        "(ECDSA P-384, SHA-384)");
		return;
	}
	v->n_measurements = n_m;
	for (size_t i = 0; pol->ref && i < pol->ref->n; i++) {
		const unsigned idx = pol->ref->m[i].index;
		const struct meas *got = NULL;
		bool ok = false;

		for (size_t j = 0; j < n_m; j++)
			if (m[j].index == idx)
				got = &m[j];
		if (!got) {
			verdict(v, "measurement",
			        "measurement %u of the reference is not in the report", idx);
			return;
		}
		for (size_t a = 0; a < pol->ref->m[i].n_values; a++)
			ok |= got->len == pol->ref->m[i].len[a] &&
			      !memcmp(got->value, pol->ref->m[i].value[a], got->len);
		if (!ok) {
			char hex[2 * GPUATTEST_MAX_VALUE + 1];

			hex_encode(got->value,
			           got->len > GPUATTEST_MAX_VALUE ? GPUATTEST_MAX_VALUE : got->len,
			           hex);
			verdict(v, "measurement",
			        "measurement %u is %s, none of the reference's values", idx, hex);
			return;
		}
	}
	verdict(v, "pass", "chain, signature and nonce verified; %zu measurement%s%s", n_m,
	        n_m == 1 ? "" : "s",
	        pol->ref ? ", all the reference's matched" : " (no reference given)");
}

int gpuattest_verify(const struct gpuattest_evidence *ev, const struct gpuattest_policy *pol,
                     struct gpuattest_result *res, struct cerr *err)
{
	memset(res, 0, sizeof(*res));
	if (ev->state_rc != GPUATTEST_NVML_SUCCESS) {
		snprintf(res->reason, sizeof(res->reason), "nvml");
		return cerr_setx(err, EPERM,
		                 "refused: nvmlSystemGetConfComputeState failed: %s (%d), so the "
		                 "CC state is unknown",
		                 gpuattest_nvml_rc_name(ev->state_rc), ev->state_rc);
	}
	if (ev->cc_feature != GPUATTEST_CC_FEATURE_ENABLED) {
		snprintf(res->reason, sizeof(res->reason), "cc-off");
		return cerr_setx(err, EPERM,
		                 "refused: confidential computing is off on this system "
		                 "(NVML ccFeature %u, environment %u): turn CC mode on for the "
		                 "GPU on the host (setup-gpu-vfio --setup) and boot again",
		                 ev->cc_feature, ev->environment);
	}
	if (ev->devtools == GPUATTEST_CC_DEVTOOLS_ON ||
	    (ev->settings_rc == GPUATTEST_NVML_SUCCESS &&
	     ev->s_devtools == GPUATTEST_CC_DEVTOOLS_ON)) {
		snprintf(res->reason, sizeof(res->reason), "devtools");
		return cerr_setx(err, EPERM,
		                 "refused: the GPU is in CC DEVTOOLS mode (debuggable, its memory "
		                 "is not protected): set CC mode 'on', not 'devtools'");
	}
	if (ev->environment != GPUATTEST_CC_ENV_PROD && !pol->allow_sim_environment) {
		snprintf(res->reason, sizeof(res->reason), "cc-sim");
		return cerr_setx(err, EPERM,
		                 "refused: the CC environment is %u, not PROD (2): a simulated "
		                 "CPU TEE",
		                 ev->environment);
	}
	if (ev->count_rc != GPUATTEST_NVML_SUCCESS || ev->count != pol->expected_count) {
		snprintf(res->reason, sizeof(res->reason), "count");
		if (ev->count_rc != GPUATTEST_NVML_SUCCESS)
			return cerr_setx(err, EPERM, "refused: nvmlDeviceGetCount failed: %s (%d)",
			                 gpuattest_nvml_rc_name(ev->count_rc), ev->count_rc);
		return cerr_setx(err, EPERM,
		                 "refused: the VM has %u GPU%s, the spec declares %u "
		                 "(x-cocoon.gpu.count): pass in exactly the declared GPUs",
		                 ev->count, ev->count == 1 ? "" : "s", pol->expected_count);
	}
	if (ev->n_gpu != ev->count) {
		snprintf(res->reason, sizeof(res->reason), "count");
		return cerr_setx(err, EPERM, "refused: evidence for %zu of %u GPUs", ev->n_gpu,
		                 ev->count);
	}
	res->gpus_checked = true;
	res->n = ev->n_gpu;
	res->pass = true;
	for (size_t i = 0; i < ev->n_gpu; i++) {
		int r = evidence_hash(&ev->gpu[i], res->v[i].evidence_hash, err);

		if (r < 0)
			return r;
		check_gpu(&ev->gpu[i], pol, &res->v[i]);
		res->pass &= res->v[i].pass;
	}
	for (size_t i = 0; i < res->n; i++)
		if (!res->v[i].pass)
			return cerr_setx(err, EPERM, "refused: GPU %zu (%s): %s: %s", i,
			                 ev->gpu[i].uuid[0] ? ev->gpu[i].uuid : "no uuid",
			                 res->v[i].reason, res->v[i].why);
	return 0;
}

int gpuattest_event(const struct gpuattest_evidence *ev, const struct gpuattest_result *res,
                    size_t i, char *out, size_t n, struct cerr *err)
{
	char uuid[sizeof(ev->gpu[0].uuid)], hex[2 * SHA384_LEN + 1];
	size_t k;

	if (i >= res->n || !res->gpus_checked)
		return cerr_setx(err, EINVAL, "no verdict for GPU %zu", i);
	for (k = 0; ev->gpu[i].uuid[k] && k < sizeof(uuid) - 1; k++) {
		char c = ev->gpu[i].uuid[k];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '-';
		uuid[k] = ok ? c : '?';
	}
	uuid[k] = '\0';
	hex_encode(res->v[i].evidence_hash, SHA384_LEN, hex);
	if ((size_t)snprintf(out, n, "cocoon:gpu[%zu]=uuid=%s;evidence=sha384:%s;verdict=%s", i,
	                     uuid[0] ? uuid : "none", hex, res->v[i].reason) >= n)
		return cerr_setx(err, ENAMETOOLONG, "GPU event too long");
	return 0;
}

/* ---- reference measurements ---- */

int gpuattest_ref_parse(const char *text, size_t len, const char *name, struct gpuattest_ref *ref,
                        struct cerr *err)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root = NULL, *arr;
	int r = 0;

	memset(ref, 0, sizeof(*ref));
	if (!tok)
		return cerr_set(err, ENOMEM, "%s", name);
	if (len > GPUATTEST_REF_MAX) {
		r = cerr_setx(err, EINVAL, "%s: larger than %u bytes", name, GPUATTEST_REF_MAX);
		goto out;
	}
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		r = cerr_setx(err, EINVAL, "%s: not one JSON document", name);
		goto out;
	}
	if (!json_object_object_get_ex(root, "measurements", &arr) ||
	    !json_object_is_type(arr, json_type_array) || json_object_array_length(arr) == 0) {
		r = cerr_setx(err, EINVAL, "%s: needs a non-empty \"measurements\" array", name);
		goto out;
	}
	if (json_object_array_length(arr) > GPUATTEST_MAX_MEAS) {
		r = cerr_setx(err, EINVAL, "%s: more than %d measurements", name,
		              GPUATTEST_MAX_MEAS);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *m = json_object_array_get_idx(arr, i), *idx, *vals;
		int64_t index;

		if (!json_object_is_type(m, json_type_object) ||
		    !json_object_object_get_ex(m, "index", &idx) ||
		    !json_object_is_type(idx, json_type_int) ||
		    !json_object_object_get_ex(m, "values", &vals) ||
		    !json_object_is_type(vals, json_type_array)) {
			r = cerr_setx(err, EINVAL,
			              "%s: measurements[%zu] needs \"index\" (a number) and "
			              "\"values\" (an array of hex strings)",
			              name, i);
			goto out;
		}
		index = json_object_get_int64(idx);
		if (index < 1 || index > GPUATTEST_MAX_MEAS) {
			r = cerr_setx(err, EINVAL, "%s: measurements[%zu].index %lld is not 1..%d",
			              name, i, (long long)index, GPUATTEST_MAX_MEAS);
			goto out;
		}
		for (size_t j = 0; j < ref->n; j++)
			if (ref->m[j].index == (unsigned)index) {
				r = cerr_setx(err, EINVAL, "%s: index %lld is given twice", name,
				              (long long)index);
				goto out;
			}
		size_t nv = json_object_array_length(vals);
		if (nv == 0 || nv > GPUATTEST_MAX_ALTS) {
			r = cerr_setx(err, EINVAL,
			              "%s: measurements[%zu].values needs 1..%d values", name, i,
			              GPUATTEST_MAX_ALTS);
			goto out;
		}
		ref->m[ref->n].index = (unsigned)index;
		for (size_t a = 0; a < nv; a++) {
			json_object *v = json_object_array_get_idx(vals, a);
			const char *s = json_object_get_string(v);
			size_t sl = s ? strlen(s) : 0;

			if (!json_object_is_type(v, json_type_string) || sl == 0 || sl % 2 ||
			    sl / 2 > GPUATTEST_MAX_VALUE ||
			    hex_decode(s, ref->m[ref->n].value[a], sl / 2) < 0) {
				r = cerr_setx(
				    err, EINVAL,
				    "%s: measurements[%zu].values[%zu] is not 1..%d bytes of "
				    "hex",
				    name, i, a, GPUATTEST_MAX_VALUE);
				goto out;
			}
			ref->m[ref->n].len[a] = sl / 2;
		}
		ref->m[ref->n].n_values = nv;
		ref->n++;
	}
out:
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

/* ---- the evidence as JSON (fixtures) ---- */

static json_object *hex_obj(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	json_object *o;

	if (!h)
		return NULL;
	hex_encode(p, n, h);
	o = json_object_new_string(h);
	free(h);
	return o;
}

static json_object *rc_obj(int rc)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "rc", json_object_new_int(rc));
	json_object_object_add(o, "name", json_object_new_string(gpuattest_nvml_rc_name(rc)));
	return o;
}

int gpuattest_evidence_json(const struct gpuattest_evidence *ev, char **out, struct cerr *err)
{
	json_object *o = json_object_new_object(), *st, *gs = json_object_new_array();
	const char *s;

	json_object_object_add(o, "driver", json_object_new_string(ev->driver));
	json_object_object_add(o, "init", rc_obj(ev->init_rc));
	st = rc_obj(ev->state_rc);
	json_object_object_add(st, "environment", json_object_new_int((int)ev->environment));
	json_object_object_add(st, "ccFeature", json_object_new_int((int)ev->cc_feature));
	json_object_object_add(st, "devToolsMode", json_object_new_int((int)ev->devtools));
	json_object_object_add(o, "state", st);
	st = rc_obj(ev->settings_rc);
	json_object_object_add(st, "environment", json_object_new_int((int)ev->s_environment));
	json_object_object_add(st, "ccFeature", json_object_new_int((int)ev->s_cc_feature));
	json_object_object_add(st, "devToolsMode", json_object_new_int((int)ev->s_devtools));
	json_object_object_add(st, "multiGpuMode", json_object_new_int((int)ev->s_multigpu));
	json_object_object_add(o, "settings", st);
	st = rc_obj(ev->count_rc);
	json_object_object_add(st, "count", json_object_new_int((int)ev->count));
	json_object_object_add(o, "count", st);
	for (size_t i = 0; i < ev->n_gpu; i++) {
		const struct gpuattest_gpu *g = &ev->gpu[i];
		json_object *go = json_object_new_object(), *c;

		json_object_object_add(go, "uuid", json_object_new_string(g->uuid));
		c = rc_obj(g->cert_rc);
		if (g->chain)
			json_object_object_add(c, "attestationCertChain",
			                       hex_obj(g->chain, g->chain_len));
		json_object_object_add(go, "certificate", c);
		c = rc_obj(g->report_rc);
		json_object_object_add(c, "nonce", hex_obj(g->nonce, sizeof(g->nonce)));
		if (g->report)
			json_object_object_add(c, "attestationReport",
			                       hex_obj(g->report, g->report_len));
		json_object_object_add(go, "report", c);
		json_object_array_add(gs, go);
	}
	json_object_object_add(o, "gpus", gs);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED);
	*out = s ? malloc(strlen(s) + 2) : NULL;
	if (*out)
		sprintf(*out, "%s\n", s);
	json_object_put(o);
	return *out ? 0 : cerr_set(err, ENOMEM, "GPU evidence JSON");
}

/* NVIDIA Device Identity CA: the root of every H100/H200 device certificate
 * chain, a public certificate (self-signed, P-384, valid 2021-11-05 to
 * 9999-12-31, SHA-256 fingerprint 10:2B:F6:59:...:0B:16:7B:48); the same
 * bytes NVIDIA ships as verifier_device_root.pem in its nvtrust verifier. */
const char gpuattest_nvidia_root[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICCzCCAZCgAwIBAgIQLTZwscoQBBHB/sDoKgZbVDAKBggqhkjOPQQDAzA1MSIw\n"
    "IAYDVQQDDBlOVklESUEgRGV2aWNlIElkZW50aXR5IENBMQ8wDQYDVQQKDAZOVklE\n"
    "SUEwIBcNMjExMTA1MDAwMDAwWhgPOTk5OTEyMzEyMzU5NTlaMDUxIjAgBgNVBAMM\n"
    "GU5WSURJQSBEZXZpY2UgSWRlbnRpdHkgQ0ExDzANBgNVBAoMBk5WSURJQTB2MBAG\n"
    "ByqGSM49AgEGBSuBBAAiA2IABA5MFKM7+KViZljbQSlgfky/RRnEQScW9NDZF8SX\n"
    "gAW96r6u/Ve8ZggtcYpPi2BS4VFu6KfEIrhN6FcHG7WP05W+oM+hxj7nyA1r1jkB\n"
    "2Ry70YfThX3Ba1zOryOP+MJ9vaNjMGEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8B\n"
    "Af8EBAMCAQYwHQYDVR0OBBYEFFeF/4PyY8xlfWi3Olv0jUrL+0lfMB8GA1UdIwQY\n"
    "MBaAFFeF/4PyY8xlfWi3Olv0jUrL+0lfMAoGCCqGSM49BAMDA2kAMGYCMQCPeFM3\n"
    "TASsKQVaT+8S0sO9u97PVGCpE9d/I42IT7k3UUOLSR/qvJynVOD1vQKVXf0CMQC+\n"
    "EY55WYoDBvs2wPAH1Gw4LbcwUN8QCff8bFmV4ZxjCRr4WXTLFHBKjbfneGSBWwA=\n"
    "-----END CERTIFICATE-----\n";
