/* fuzz_gpuattest.c - libFuzzer target for the GPU gate's checks of what NVML
 * hands back (lib/gpuattest.c). A hostile host can emulate a GPU, so the
 * attestation report and the certificate chain are untrusted bytes.
 *
 * The first byte picks what the rest is: even, the attestation report (its
 * bytes 4..35 are taken as the nonce asked, so the parser gets past the
 * nonce check, with a valid generated chain so that parsing is reached);
 * odd, the PEM certificate chain (with an empty report). Either way the
 * verdict must be a refusal with a reason, never a crash or a pass.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cocoon/err.h"
#include "cocoon/gpuattest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *root_pem, *chain_pem;

static char *pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long n;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)n + 1);
	memcpy(out, p, (size_t)n);
	BIO_free(b);
	return out;
}

/* a self-signed P-384 root that is also the leaf: a chain that verifies */
static void init(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");
	X509 *c = X509_new();
	X509_NAME *n = X509_get_subject_name(c);

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 365 * 50);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_issuer_name(c, n);
	X509_set_pubkey(c, k);
	X509_sign(c, k, EVP_sha384());
	root_pem = pem(c);
	chain_pem = strdup(root_pem);
	X509_free(c);
	EVP_PKEY_free(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gpuattest_evidence ev;
	struct gpuattest_policy pol = {.expected_count = 1};
	struct gpuattest_result res;
	struct cerr err = CERR_INIT;
	uint8_t *copy;

	if (!root_pem)
		init();
	if (size < 1)
		return 0;
	copy = malloc(size);
	memcpy(copy, data + 1, size - 1);
	memset(&ev, 0, sizeof(ev));
	ev.environment = GPUATTEST_CC_ENV_PROD;
	ev.cc_feature = GPUATTEST_CC_FEATURE_ENABLED;
	ev.count = 1;
	ev.n_gpu = 1;
	pol.root_pem = root_pem;
	if (data[0] & 1) {
		ev.gpu[0].chain = copy;
		ev.gpu[0].chain_len = size - 1;
		ev.gpu[0].report = (uint8_t *)"";
	} else {
		ev.gpu[0].chain = (uint8_t *)chain_pem;
		ev.gpu[0].chain_len = strlen(chain_pem);
		ev.gpu[0].report = copy;
		ev.gpu[0].report_len = size - 1;
		if (size - 1 >= 36)
			memcpy(ev.gpu[0].nonce, copy + 4, GPUATTEST_NONCE_LEN);
	}
	if (gpuattest_verify(&ev, &pol, &res, &err) == 0 || res.v[0].pass || !res.v[0].reason[0])
		abort();
	free(copy);
	return 0;
}
