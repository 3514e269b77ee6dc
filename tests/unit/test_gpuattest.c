/* test_gpuattest.c - the GPU gate (lib/gpuattest.c) through a fake NVML
 * library (tests/unit/fake_nvml.c, dlopened by path as the gate dlopens
 * libnvidia-ml.so.1): the recorded answers of the real H200 (CC off) and
 * generated evidence (a P-384 root, intermediate and leaf made here, reports
 * signed at call time) - good, tampered, wrong nonce, wrong chain, CC off,
 * DEVTOOLS, wrong GPU count, reference measurements. */
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
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cocoon/err.h"
#include "cocoon/gpuattest.h"
#include "cocoon/util.h"

static const char *fake_lib(void)
{
	const char *p = getenv("FAKE_NVML");

	assert_non_null(p);
	return p;
}

/* ---- a generated PKI ---- */

struct pki {
	EVP_PKEY *root_key, *mid_key, *leaf_key, *other_key;
	X509 *root, *mid, *leaf, *other_root, *other_leaf;
	char *root_pem, *chain_pem, *other_chain_pem, *leaf_key_pem;
};

static struct pki pki;

static EVP_PKEY *p384(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	assert_non_null(k);
	return k;
}

static void ext(X509 *c, X509 *issuer, int nid, const char *v)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, c, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
	assert_non_null(e);
	X509_add_ext(c, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, bool ca,
                  long serial)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), serial);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), 3600L * 24 * 365 * 20);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : n);
	X509_set_pubkey(c, key);
	ext(c, issuer ? issuer : c, NID_basic_constraints,
	    ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	ext(c, issuer ? issuer : c, NID_key_usage,
	    ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	ext(c, issuer ? issuer : c, NID_subject_key_identifier, "hash");
	ext(c, issuer ? issuer : c, NID_authority_key_identifier, "keyid:always");
	assert_true(X509_sign(c, issuer_key, EVP_sha384()) > 0);
	X509_NAME_free(n);
	return c;
}

static char *pem_of(X509 *const *certs, size_t n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *out;
	long len;

	for (size_t i = 0; i < n; i++)
		PEM_write_bio_X509(b, certs[i]);
	len = BIO_get_mem_data(b, &p);
	out = calloc(1, (size_t)len + 1);
	memcpy(out, p, (size_t)len);
	BIO_free(b);
	return out;
}

static int pki_setup(void **state)
{
	BIO *b;
	char *p;
	long len;

	(void)state;
	pki.root_key = p384();
	pki.mid_key = p384();
	pki.leaf_key = p384();
	pki.other_key = p384();
	pki.root = cert("test Device Identity CA", pki.root_key, NULL, pki.root_key, true, 1);
	pki.mid = cert("test GH100 provisioner", pki.mid_key, pki.root, pki.root_key, true, 2);
	pki.leaf = cert("test GH100 attestation", pki.leaf_key, pki.mid, pki.mid_key, false, 3);
	pki.other_root =
	    cert("test Device Identity CA", pki.other_key, NULL, pki.other_key, true, 1);
	pki.other_leaf =
	    cert("test GH100 attestation", pki.leaf_key, pki.other_root, pki.other_key, false, 4);
	pki.root_pem = pem_of(&pki.root, 1);
	{
		X509 *chain[] = {pki.leaf, pki.mid, pki.root};
		X509 *other[] = {pki.other_leaf, pki.other_root};

		pki.chain_pem = pem_of(chain, 3);
		pki.other_chain_pem = pem_of(other, 2);
	}
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, pki.leaf_key, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(b, &p);
	pki.leaf_key_pem = calloc(1, (size_t)len + 1);
	memcpy(pki.leaf_key_pem, p, (size_t)len);
	BIO_free(b);
	return 0;
}

static int pki_teardown(void **state)
{
	(void)state;
	X509_free(pki.root);
	X509_free(pki.mid);
	X509_free(pki.leaf);
	X509_free(pki.other_root);
	X509_free(pki.other_leaf);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.mid_key);
	EVP_PKEY_free(pki.leaf_key);
	EVP_PKEY_free(pki.other_key);
	free(pki.root_pem);
	free(pki.chain_pem);
	free(pki.other_chain_pem);
	free(pki.leaf_key_pem);
	return 0;
}

/* ---- fixtures for the fake NVML ---- */

static const char meas1[] = "11111111111111111111111111111111111111111111111111111111111111111111"
                            "1111111111111111111111111111";
static const char meas2[] = "2222222222222222222222222222222222222222222222222222222222222222"
                            "22222222222222222222222222222222";

static json_object *rc_obj(int rc)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "rc", json_object_new_int(rc));
	return o;
}

static json_object *state_obj(int env, int cc, int dev)
{
	json_object *o = rc_obj(0);

	json_object_object_add(o, "environment", json_object_new_int(env));
	json_object_object_add(o, "ccFeature", json_object_new_int(cc));
	json_object_object_add(o, "devToolsMode", json_object_new_int(dev));
	return o;
}

static json_object *gpu_obj(int i, const char *chain, const char *nonce_hex, bool tamper)
{
	json_object *g = json_object_new_object(), *c = rc_obj(0), *s = json_object_new_object(),
	            *m = json_object_new_array();
	char uuid[64], *hex = malloc(2 * strlen(chain) + 1);

	snprintf(uuid, sizeof(uuid), "GPU-0000000%d-1111-2222-3333-444444444444", i);
	json_object_object_add(g, "uuid", json_object_new_string(uuid));
	hex_encode(chain, strlen(chain), hex);
	json_object_object_add(c, "attestationCertChain", json_object_new_string(hex));
	free(hex);
	json_object_object_add(g, "certificate", c);
	json_object_object_add(s, "key", json_object_new_string(pki.leaf_key_pem));
	json_object_array_add(m, json_object_new_string(meas1));
	json_object_array_add(m, json_object_new_string(meas2));
	json_object_object_add(s, "measurements", m);
	if (nonce_hex)
		json_object_object_add(s, "nonce", json_object_new_string(nonce_hex));
	if (tamper)
		json_object_object_add(s, "tamper", json_object_new_boolean(1));
	json_object_object_add(g, "sign", s);
	return g;
}

struct gen {
	int env, cc, devtools;
	int n_gpus;
	const char *chain;
	const char *nonce_hex;
	bool tamper;
};

/* Writes the fixture for g and points the fake at it. */
static void use_fixture(const struct gen *g, char path[64])
{
	json_object *o = json_object_new_object(), *gs = json_object_new_array(), *cnt;
	int fd;

	json_object_object_add(o, "driver", json_object_new_string("580.159.04"));
	json_object_object_add(o, "init", rc_obj(0));
	json_object_object_add(o, "state", state_obj(g->env, g->cc, g->devtools));
	json_object *st = state_obj(g->env, g->cc, g->devtools);
	json_object_object_add(st, "multiGpuMode", json_object_new_int(0));
	json_object_object_add(o, "settings", st);
	cnt = rc_obj(0);
	json_object_object_add(cnt, "count", json_object_new_int(g->n_gpus));
	json_object_object_add(o, "count", cnt);
	for (int i = 0; i < g->n_gpus; i++)
		json_object_array_add(
		    gs, gpu_obj(i, g->chain ? g->chain : pki.chain_pem, g->nonce_hex, g->tamper));
	json_object_object_add(o, "gpus", gs);
	snprintf(path, 64, "/tmp/test_gpuattest.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(json_object_to_file(path, o), 0);
	json_object_put(o);
	setenv("FAKE_NVML_FIXTURE", path, 1);
}

/* Collects through the fake and verifies with the test root. */
static int gate(const struct gen *g, unsigned expected, const struct gpuattest_ref *ref,
                struct gpuattest_evidence *ev, struct gpuattest_result *res, struct cerr *err)
{
	struct gpuattest_policy pol = {
	    .expected_count = expected, .root_pem = pki.root_pem, .ref = ref};
	char path[64];
	int r;

	use_fixture(g, path);
	assert_int_equal(gpuattest_collect(fake_lib(), ev, err), 0);
	unlink(path);
	r = gpuattest_verify(ev, &pol, res, err);
	return r;
}

static const struct gen good = {.env = 2, .cc = 1, .n_gpus = 1};

static void test_good_evidence_passes(void **state)
{
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct cerr err = CERR_INIT;
	char msg[512], hex[2 * SHA384_LEN + 1];

	(void)state;
	assert_int_equal(gate(&good, 1, NULL, &ev, &res, &err), 0);
	assert_true(res.pass);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.v[0].reason, "pass");
	assert_int_equal(res.v[0].n_measurements, 2);
	assert_int_equal(gpuattest_event(&ev, &res, 0, msg, sizeof(msg), &err), 0);
	hex_encode(res.v[0].evidence_hash, SHA384_LEN, hex);
	assert_non_null(strstr(msg, hex));
	{
		static const char prefix[] =
		    "cocoon:gpu[0]=uuid=GPU-00000000-1111-2222-3333-444444444444;evidence=sha384:";
		assert_int_equal(strncmp(msg, prefix, sizeof(prefix) - 1), 0);
	}
	assert_non_null(strstr(msg, ";verdict=pass"));
	gpuattest_evidence_free(&ev);
}

static void test_two_gpus_each_own_nonce_and_event(void **state)
{
	struct gen g = good;
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct cerr err = CERR_INIT;

	(void)state;
	g.n_gpus = 2;
	assert_int_equal(gate(&g, 2, NULL, &ev, &res, &err), 0);
	assert_int_equal(res.n, 2);
	assert_memory_not_equal(ev.gpu[0].nonce, ev.gpu[1].nonce, GPUATTEST_NONCE_LEN);
	assert_memory_not_equal(res.v[0].evidence_hash, res.v[1].evidence_hash, SHA384_LEN);
	gpuattest_evidence_free(&ev);
}

static void expect_gpu_refusal(const struct gen *g, unsigned expected,
                               const struct gpuattest_ref *ref, const char *reason,
                               const char *text)
{
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(gate(g, expected, ref, &ev, &res, &err), -EPERM);
	assert_false(res.pass);
	assert_true(res.gpus_checked);
	assert_string_equal(res.v[0].reason, reason);
	if (!strstr(err.msg, text))
		fail_msg("'%s' not in '%s'", text, err.msg);
	gpuattest_evidence_free(&ev);
}

static void expect_system_refusal(const struct gen *g, unsigned expected, const char *reason,
                                  const char *text)
{
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct cerr err = CERR_INIT;

	assert_int_equal(gate(g, expected, NULL, &ev, &res, &err), -EPERM);
	assert_false(res.pass);
	assert_false(res.gpus_checked);
	assert_string_equal(res.reason, reason);
	if (!strstr(err.msg, text))
		fail_msg("'%s' not in '%s'", text, err.msg);
	gpuattest_evidence_free(&ev);
}

static void test_tampered_report_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.tamper = true;
	expect_gpu_refusal(&g, 1, NULL, "signature", "signature does not verify");
}

static void test_wrong_nonce_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.nonce_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	expect_gpu_refusal(&g, 1, NULL, "nonce", "another nonce");
}

static void test_wrong_chain_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.chain = pki.other_chain_pem;
	expect_gpu_refusal(&g, 1, NULL, "chain", "does not verify to the pinned");
}

static void test_generated_chain_not_nvidia(void **state)
{
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct gpuattest_policy pol = {.expected_count = 1}; /* the pinned NVIDIA root */
	struct cerr err = CERR_INIT;
	char path[64];

	(void)state;
	use_fixture(&good, path);
	assert_int_equal(gpuattest_collect(fake_lib(), &ev, &err), 0);
	unlink(path);
	assert_int_equal(gpuattest_verify(&ev, &pol, &res, &err), -EPERM);
	assert_string_equal(res.v[0].reason, "chain");
	gpuattest_evidence_free(&ev);
}

static void test_garbage_chain_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.chain = "not a certificate";
	expect_gpu_refusal(&g, 1, NULL, "chain", "no PEM certificate");
}

static void test_cc_off_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.cc = 0;
	g.env = 0;
	expect_system_refusal(&g, 1, "cc-off", "confidential computing is off");
}

static void test_devtools_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.devtools = 1;
	expect_system_refusal(&g, 1, "devtools", "DEVTOOLS");
}

static void test_sim_environment_refused(void **state)
{
	struct gen g = good;

	(void)state;
	g.env = 1;
	expect_system_refusal(&g, 1, "cc-sim", "not PROD");
}

static void test_wrong_count_refused(void **state)
{
	struct gen g = good;

	(void)state;
	expect_system_refusal(&g, 2, "count", "the VM has 1 GPU, the spec declares 2");
	g.n_gpus = 2;
	expect_system_refusal(&g, 1, "count", "the VM has 2 GPUs, the spec declares 1");
}

static void ref_of(struct gpuattest_ref *ref, const char *m2)
{
	char text[1024];
	struct cerr err = CERR_INIT;

	snprintf(text, sizeof(text),
	         "{\"measurements\": [{\"index\": 1, \"values\": [\"%s\"]},"
	         " {\"index\": 2, \"values\": [\"00\", \"%s\"]}]}",
	         meas1, m2);
	assert_int_equal(gpuattest_ref_parse(text, strlen(text), "ref.json", ref, &err), 0);
}

static void test_reference_measurements(void **state)
{
	struct gpuattest_ref *ref = calloc(1, sizeof(*ref));
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct cerr err = CERR_INIT;

	(void)state;
	ref_of(ref, meas2);
	assert_int_equal(gate(&good, 1, ref, &ev, &res, &err), 0);
	assert_non_null(strstr(res.v[0].why, "all the reference's matched"));
	gpuattest_evidence_free(&ev);
	ref_of(ref, meas1); /* index 2 must be meas1 or 00: it is meas2 */
	expect_gpu_refusal(&good, 1, ref, "measurement", "measurement 2 is 2222");
	{
		const char *t = "{\"measurements\": [{\"index\": 9, \"values\": [\"00\"]}]}";
		assert_int_equal(gpuattest_ref_parse(t, strlen(t), "r", ref, &err), 0);
	}
	expect_gpu_refusal(&good, 1, ref, "measurement", "measurement 9 of the reference");
	free(ref);
}

static void test_reference_parse_refusals(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"measurements\": []}",
	    "{\"measurements\": [{\"index\": 0, \"values\": [\"00\"]}]}",
	    "{\"measurements\": [{\"index\": 1, \"values\": [\"0\"]}]}",
	    "{\"measurements\": [{\"index\": 1, \"values\": [\"zz\"]}]}",
	    "{\"measurements\": [{\"index\": 1, \"values\": []}]}",
	    "{\"measurements\": [{\"index\": 1, \"values\": [\"00\"]}, {\"index\": 1, \"values\": "
	    "[\"00\"]}]}",
	    "{\"measurements\": [{\"index\": 1, \"values\": [\"00\"]}]} x"};
	struct gpuattest_ref *ref = calloc(1, sizeof(*ref));

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cerr err = CERR_INIT;

		assert_int_equal(gpuattest_ref_parse(bad[i], strlen(bad[i]), "ref.json", ref, &err),
		                 -EINVAL);
		assert_non_null(strstr(err.msg, "ref.json"));
	}
	free(ref);
}

/* Every truncation of a good report is refused, none crashes. */
static void test_truncated_reports_refused(void **state)
{
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct gpuattest_policy pol = {.expected_count = 1, .root_pem = pki.root_pem};
	struct cerr err = CERR_INIT;
	char path[64];
	size_t full;

	(void)state;
	use_fixture(&good, path);
	assert_int_equal(gpuattest_collect(fake_lib(), &ev, &err), 0);
	unlink(path);
	full = ev.gpu[0].report_len;
	for (size_t n = 0; n < full; n += (n < 64 ? 1 : 7)) {
		ev.gpu[0].report_len = n;
		assert_int_equal(gpuattest_verify(&ev, &pol, &res, &err), -EPERM);
		assert_false(res.v[0].pass);
	}
	ev.gpu[0].report_len = full;
	assert_int_equal(gpuattest_verify(&ev, &pol, &res, &err), 0);
	gpuattest_evidence_free(&ev);
}

/* The answers NVML gave on the real H200 (CC off), replayed. */
static void test_h200_cc_off_recording(void **state)
{
	char path[512];
	struct gpuattest_evidence ev;
	struct gpuattest_result res;
	struct gpuattest_policy pol = {.expected_count = 1};
	struct cerr err = CERR_INIT;
	const char *dir = getenv("GPU_FIXTURES");

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/h200-cc-off.json", dir);
	assert_int_equal(access(path, R_OK), 0);
	setenv("FAKE_NVML_FIXTURE", path, 1);
	assert_int_equal(gpuattest_collect(fake_lib(), &ev, &err), 0);
	assert_string_equal(ev.driver, "580.159.04");
	assert_int_equal(ev.state_rc, 0);
	assert_int_equal(ev.cc_feature, 0);
	assert_int_equal(ev.devtools, 0);
	assert_int_equal(ev.count, 1);
	assert_int_equal(ev.gpu[0].cert_rc, 999);
	assert_int_equal(ev.gpu[0].report_rc, 999);
	assert_int_equal(gpuattest_verify(&ev, &pol, &res, &err), -EPERM);
	assert_string_equal(res.reason, "cc-off");
	assert_non_null(strstr(err.msg, "confidential computing is off"));
	/* even with the CC checks out of the way, the GPU has no evidence to give */
	ev.cc_feature = 1;
	ev.environment = 2;
	assert_int_equal(gpuattest_verify(&ev, &pol, &res, &err), -EPERM);
	assert_string_equal(res.v[0].reason, "no-cert");
	assert_non_null(strstr(err.msg, "NVML_ERROR_UNKNOWN (999)"));
	gpuattest_evidence_free(&ev);
}

static void test_no_library(void **state)
{
	struct gpuattest_evidence ev;
	struct cerr err = CERR_INIT;

	(void)state;
	assert_int_equal(gpuattest_collect("/nonexistent/libnvidia-ml.so.1", &ev, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "NVML not available"));
}

static void test_evidence_json_roundtrip(void **state)
{
	struct gpuattest_evidence ev, ev2;
	struct gpuattest_result res;
	struct gpuattest_policy pol = {.expected_count = 1, .root_pem = pki.root_pem};
	struct cerr err = CERR_INIT;
	char path[64], *json = NULL;

	(void)state;
	use_fixture(&good, path);
	assert_int_equal(gpuattest_collect(fake_lib(), &ev, &err), 0);
	assert_int_equal(gpuattest_evidence_json(&ev, &json, &err), 0);
	assert_int_equal(write_file_atomic(path, json, strlen(json), 0600, &err), 0);
	/* replayed as recorded: the report answers the first collection's nonce */
	assert_int_equal(gpuattest_collect(fake_lib(), &ev2, &err), 0);
	unlink(path);
	assert_memory_equal(ev.gpu[0].report, ev2.gpu[0].report, ev.gpu[0].report_len);
	assert_int_equal(gpuattest_verify(&ev2, &pol, &res, &err), -EPERM);
	assert_string_equal(res.v[0].reason, "nonce");
	free(json);
	gpuattest_evidence_free(&ev);
	gpuattest_evidence_free(&ev2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_evidence_passes),
	    cmocka_unit_test(test_two_gpus_each_own_nonce_and_event),
	    cmocka_unit_test(test_tampered_report_refused),
	    cmocka_unit_test(test_wrong_nonce_refused),
	    cmocka_unit_test(test_wrong_chain_refused),
	    cmocka_unit_test(test_generated_chain_not_nvidia),
	    cmocka_unit_test(test_garbage_chain_refused),
	    cmocka_unit_test(test_cc_off_refused),
	    cmocka_unit_test(test_devtools_refused),
	    cmocka_unit_test(test_sim_environment_refused),
	    cmocka_unit_test(test_wrong_count_refused),
	    cmocka_unit_test(test_reference_measurements),
	    cmocka_unit_test(test_reference_parse_refusals),
	    cmocka_unit_test(test_truncated_reports_refused),
	    cmocka_unit_test(test_h200_cc_off_recording),
	    cmocka_unit_test(test_no_library),
	    cmocka_unit_test(test_evidence_json_roundtrip),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
