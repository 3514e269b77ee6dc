/* fake_nvml.c - a stand-in libnvidia-ml for tests/unit/test_gpuattest.c,
 * which lib/gpuattest.c dlopens by path (no CC-on GPU exists here).
 *
 * It answers the calls the gate makes from the JSON file named by
 * $FAKE_NVML_FIXTURE, in the format gpuattest_evidence_json() writes (so a
 * recording from the real H200, tests/fixtures/gpu/, replays as recorded).
 * A GPU entry may instead carry "sign": {"key": PEM private key,
 * "measurements": [hex, ...], "nonce": hex (answer this nonce instead of the
 * one asked), "tamper": true (flip a byte after signing)}: the report is
 * then built at call time as the GPU builds it (SPDM 1.1 GET_MEASUREMENTS
 * request with the caller's nonce, MEASUREMENTS response, ECDSA P-384 over
 * SHA-384 of both), so a generated chain and key exercise every check.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "cocoon/nvmlabi.h"

#define EXPORT __attribute__((visibility("default")))

static json_object *fx;

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static int rc_of(json_object *o)
{
	return o ? json_object_get_int(get(o, "rc")) : 999;
}

static unsigned uint_of(json_object *o, const char *k)
{
	return (unsigned)json_object_get_int(get(o, k));
}

static size_t unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = s ? strlen(s) / 2 : 0;

	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
	return n;
}

static json_object *gpu(nvmlDevice_t d)
{
	return json_object_array_get_idx(get(fx, "gpus"), (size_t)(uintptr_t)d - 1);
}

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
	const char *p = getenv("FAKE_NVML_FIXTURE");

	json_object_put(fx);
	fx = p ? json_object_from_file(p) : NULL;
	return fx ? rc_of(get(fx, "init")) : 9 /* DRIVER_NOT_LOADED */;
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
	json_object_put(fx);
	fx = NULL;
	return 0;
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *v, unsigned int n)
{
	snprintf(v, n, "%s", json_object_get_string(get(fx, "driver")));
	return 0;
}

EXPORT nvmlReturn_t nvmlSystemGetConfComputeState(nvmlConfComputeSystemState_t *s)
{
	json_object *o = get(fx, "state");

	s->environment = uint_of(o, "environment");
	s->ccFeature = uint_of(o, "ccFeature");
	s->devToolsMode = uint_of(o, "devToolsMode");
	return rc_of(o);
}

EXPORT nvmlReturn_t nvmlSystemGetConfComputeSettings(nvmlSystemConfComputeSettings_v1_t *s)
{
	json_object *o = get(fx, "settings");

	if (s->version != NVML_SETTINGS_V1)
		return 25; /* VERSION_MISMATCH */
	s->environment = uint_of(o, "environment");
	s->ccFeature = uint_of(o, "ccFeature");
	s->devToolsMode = uint_of(o, "devToolsMode");
	s->multiGpuMode = uint_of(o, "multiGpuMode");
	return rc_of(o);
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *n)
{
	json_object *o = get(fx, "count");

	*n = uint_of(o, "count");
	return rc_of(o);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int i, nvmlDevice_t *d)
{
	if (i >= json_object_array_length(get(fx, "gpus")))
		return 2; /* INVALID_ARGUMENT */
	*d = (nvmlDevice_t)(uintptr_t)(i + 1);
	return 0;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t d, char *u, unsigned int n)
{
	snprintf(u, n, "%s", json_object_get_string(get(gpu(d), "uuid")));
	return 0;
}

EXPORT nvmlReturn_t nvmlDeviceGetConfComputeGpuCertificate(nvmlDevice_t d,
                                                           nvmlConfComputeGpuCertificate_t *c)
{
	json_object *o = get(gpu(d), "certificate");

	c->attestationCertChainSize =
	    (unsigned)unhex(json_object_get_string(get(o, "attestationCertChain")),
	                    c->attestationCertChain, sizeof(c->attestationCertChain));
	return rc_of(o);
}

static size_t put_u16(unsigned char *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	return 2;
}

/* Builds the report for nonce, signed with the PEM key of sign. */
static size_t build_report(json_object *sign, const unsigned char nonce[32], unsigned char *out)
{
	json_object *meas = get(sign, "measurements");
	const char *pem = json_object_get_string(get(sign, "key"));
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	unsigned char *rec, sigder[160];
	size_t n = 0, rl = 0, sl = sizeof(sigder);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	BIO_free(b);
	/* request */
	out[n++] = 0x11, out[n++] = 0xe0, out[n++] = 0x01, out[n++] = 0xff;
	if (get(sign, "nonce"))
		unhex(json_object_get_string(get(sign, "nonce")), out + n, 32);
	else
		memcpy(out + n, nonce, 32);
	n += 32;
	out[n++] = 0;
	/* response */
	out[n++] = 0x11, out[n++] = 0x60, out[n++] = 0, out[n++] = 0;
	out[n++] = (unsigned char)json_object_array_length(meas);
	rec = out + n + 3;
	for (size_t i = 0; i < json_object_array_length(meas); i++) {
		unsigned char v[64];
		size_t vl =
		    unhex(json_object_get_string(json_object_array_get_idx(meas, i)), v, sizeof(v));

		rec[rl++] = (unsigned char)(i + 1);
		rec[rl++] = 0x01;
		rl += put_u16(rec + rl, (unsigned)(3 + vl));
		rec[rl++] = 0x01;
		rl += put_u16(rec + rl, (unsigned)vl);
		memcpy(rec + rl, v, vl);
		rl += vl;
	}
	out[n++] = rl & 0xff, out[n++] = (rl >> 8) & 0xff, out[n++] = (rl >> 16) & 0xff;
	n += rl;
	memset(out + n, 0x5a, 32); /* the responder's nonce */
	n += 32;
	n += put_u16(out + n, 8);
	memcpy(out + n,
	       "\x03\x00\x04\x00"
	       "580.",
	       8); /* a driver-version field */
	n += 8;
	/* ECDSA P-384 over SHA-384 of request || response-so-far, as r || s */
	EVP_DigestSignInit(md, NULL, EVP_sha384(), NULL, key);
	EVP_DigestSign(md, sigder, &sl, out, n);
	{
		const unsigned char *q = sigder;
		ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)sl);

		BN_bn2binpad(ECDSA_SIG_get0_r(s), out + n, 48);
		BN_bn2binpad(ECDSA_SIG_get0_s(s), out + n + 48, 48);
		ECDSA_SIG_free(s);
	}
	n += 96;
	if (json_object_get_boolean(get(sign, "tamper")))
		out[60] ^= 0x01; /* inside the first measurement block */
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return n;
}

EXPORT nvmlReturn_t nvmlDeviceGetConfComputeGpuAttestationReport(
    nvmlDevice_t d, nvmlConfComputeGpuAttestationReport_t *r)
{
	json_object *g = gpu(d), *o = get(g, "report"), *sign = get(g, "sign");

	if (sign)
		r->attestationReportSize =
		    (unsigned)build_report(sign, r->nonce, r->attestationReport);
	else
		r->attestationReportSize =
		    (unsigned)unhex(json_object_get_string(get(o, "attestationReport")),
		                    r->attestationReport, sizeof(r->attestationReport));
	return sign ? 0 : rc_of(o);
}
