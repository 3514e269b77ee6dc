/* test_crypto.c - known-answer vectors for the hashes, HMAC and AES-CTR, and
 * P-256 byte order checked against OpenSSL's own big-endian encodings (the one
 * thing here that interoperability with Cocoon hinges on). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cocoon/crypto.h"
#include "cocoon/err.h"
#include "cocoon/util.h"

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(hex_decode(hex, out, n), 0);
}

static void assert_hex(const uint8_t *got, size_t n, const char *want_hex)
{
	char *hex = malloc(2 * n + 1);

	assert_non_null(hex);
	hex_encode(got, n, hex);
	assert_string_equal(hex, want_hex);
	free(hex);
}

static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

/* ---- hashes ---- */

static void test_sha256_abc(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t h[SHA256_LEN];

	assert_int_equal(crypto_sha256("abc", 3, h, &err), 0);
	assert_hex(h, sizeof(h),
	           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_sha256_empty(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t h[SHA256_LEN];

	assert_int_equal(crypto_sha256(NULL, 0, h, &err), 0);
	assert_hex(h, sizeof(h),
	           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_sha384_abc(void **state)
{
	struct cerr err = CERR_INIT;
	uint8_t h[SHA384_LEN];

	assert_int_equal(crypto_sha384("abc", 3, h, &err), 0);
	assert_hex(h, sizeof(h),
	           "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	           "8086072ba1e7cc2358baeca134c825a7");
}

static void test_sha256_incremental(void **state)
{
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	struct cerr err = CERR_INIT;
	struct sha256_ctx *c = NULL;
	uint8_t h[SHA256_LEN];

	assert_int_equal(crypto_sha256_new(&c, &err), 0);
	/* "abc" in pieces */
	assert_int_equal(crypto_sha256_update(c, "a", 1, &err), 0);
	assert_int_equal(crypto_sha256_update(c, NULL, 0, &err), 0);
	assert_int_equal(crypto_sha256_update(c, "bc", 2, &err), 0);
	assert_int_equal(crypto_sha256_final(c, h, &err), 0);
	assert_hex(h, sizeof(h),
	           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* the same context, straight into the next message */
	for (size_t i = 0; i < strlen(two_blocks); i += 5) {
		size_t n = strlen(two_blocks) - i < 5 ? strlen(two_blocks) - i : 5;

		assert_int_equal(crypto_sha256_update(c, two_blocks + i, n, &err), 0);
	}
	assert_int_equal(crypto_sha256_final(c, h, &err), 0);
	assert_hex(h, sizeof(h),
	           "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* init() drops a message half-way */
	assert_int_equal(crypto_sha256_update(c, "garbage", 7, &err), 0);
	assert_int_equal(crypto_sha256_init(c, &err), 0);
	assert_int_equal(crypto_sha256_final(c, h, &err), 0);
	assert_hex(h, sizeof(h),
	           "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	crypto_sha256_free(c);
	crypto_sha256_free(NULL);
}

static void test_sha256_incremental_many(void **state)
{
	static uint8_t data[100000];
	struct cerr err = CERR_INIT;
	struct sha256_ctx *c = NULL;
	uint8_t a[SHA256_LEN], b[SHA256_LEN];

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31);
	assert_int_equal(crypto_sha256_new(&c, &err), 0);
	for (int round = 0; round < 200; round++) {
		size_t n = sizeof(data) - (size_t)round * 97;

		assert_int_equal(crypto_sha256_update(c, data, n / 3, &err), 0);
		assert_int_equal(crypto_sha256_update(c, data + n / 3, n - n / 3, &err), 0);
		assert_int_equal(crypto_sha256_final(c, a, &err), 0);
		assert_int_equal(crypto_sha256(data, n, b, &err), 0);
		assert_memory_equal(a, b, SHA256_LEN);
	}
	crypto_sha256_free(c);
}

/* RFC 4231 test case 2 */
static void test_hmac_sha256_rfc4231_2(void **state)
{
	static const char data[] = "what do ya want for nothing?";
	struct cerr err = CERR_INIT;
	uint8_t mac[SHA256_LEN];

	assert_int_equal(crypto_hmac_sha256("Jefe", 4, data, strlen(data), mac, &err), 0);
	assert_hex(mac, sizeof(mac),
	           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

/* RFC 4231 test case 6: a key longer than the block size is hashed first */
static void test_hmac_sha256_rfc4231_6(void **state)
{
	static const char data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	struct cerr err = CERR_INIT;
	uint8_t key[131], mac[SHA256_LEN];

	memset(key, 0xaa, sizeof(key));
	assert_int_equal(crypto_hmac_sha256(key, sizeof(key), data, strlen(data), mac, &err), 0);
	assert_hex(mac, sizeof(mac),
	           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_memeq(void **state)
{
	uint8_t a[32] = {1, 2, 3}, b[32] = {1, 2, 3};

	assert_true(crypto_memeq(a, b, sizeof(a)));
	b[31] = 1;
	assert_false(crypto_memeq(a, b, sizeof(a)));
	assert_true(crypto_memeq(a, b, 31));
	assert_true(crypto_memeq(NULL, NULL, 0));
}

/* ---- AES-128-CTR ---- */

/* NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt) */
static void test_aes128_ctr_sp800_38a(void **state)
{
	uint8_t key[16], iv[16], pt[64], ct[64], out[64];
	struct cerr err = CERR_INIT;

	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
	unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, 16);
	unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	      "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	      pt, 64);
	unhex("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
	      "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
	      ct, 64);
	assert_int_equal(crypto_aes128_ctr(key, iv, pt, 64, out, &err), 0);
	assert_memory_equal(out, ct, 64);
	/* decryption is the same operation, and works in place */
	assert_int_equal(crypto_aes128_ctr(key, iv, out, 64, out, &err), 0);
	assert_memory_equal(out, pt, 64);
	/* a length that is not a multiple of the block */
	assert_int_equal(crypto_aes128_ctr(key, iv, pt, 37, out, &err), 0);
	assert_memory_equal(out, ct, 37);
	assert_int_equal(crypto_aes128_ctr(key, iv, NULL, 0, NULL, &err), 0);
}

/* The counter is the whole 128-bit IV, big-endian: a carry out of the low
 * 64 bits reaches the high half. Checked against AES-ECB of the counter. */
static void test_aes128_ctr_128bit_counter(void **state)
{
	uint8_t key[16], iv[16], zeros[32] = {0}, out[32];
	uint8_t next[16] = {0}, block[16];
	struct cerr err = CERR_INIT;
	EVP_CIPHER_CTX *ctx;
	int outl;

	memset(key, 0x42, sizeof(key));
	memset(iv, 0, 8);
	memset(iv + 8, 0xff, 8);
	next[7] = 1;
	assert_int_equal(crypto_aes128_ctr(key, iv, zeros, 32, out, &err), 0);
	ctx = EVP_CIPHER_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex2(ctx, EVP_aes_128_ecb(), key, NULL, NULL), 1);
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	assert_int_equal(EVP_EncryptUpdate(ctx, block, &outl, next, 16), 1);
	assert_int_equal(outl, 16);
	EVP_CIPHER_CTX_free(ctx);
	assert_memory_equal(out + 16, block, 16);
}

/* ---- random ---- */

static void test_random(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
	struct cerr err = CERR_INIT;

	assert_int_equal(crypto_random(a, sizeof(a), &err), 0);
	assert_int_equal(crypto_random(b, sizeof(b), &err), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_int_equal(crypto_random(NULL, 0, &err), 0);
}

/* ---- P-256 ---- */

/* The base point G of P-256 (SEC 2), big-endian */
static const char gx_hex[] = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
static const char gy_hex[] = "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5";

static void g_le(uint8_t out[64])
{
	uint8_t be[32];

	unhex(gx_hex, be, 32);
	reverse(out, be, 32);
	unhex(gy_hex, be, 32);
	reverse(out + 32, be, 32);
}

static void test_p256_ecdh_agree(void **state)
{
	struct p256_key *a = NULL, *b = NULL, *a_pub = NULL, *b_pub = NULL;
	uint8_t pa[64], pb[64], s1[32], s2[32];
	struct cerr err = CERR_INIT;

	assert_int_equal(p256_generate(&a, &err), 0);
	assert_int_equal(p256_generate(&b, &err), 0);
	assert_int_equal(p256_public_le(a, pa, &err), 0);
	assert_int_equal(p256_public_le(b, pb, &err), 0);
	assert_memory_not_equal(pa, pb, 64);
	/* as over the wire: each side only has the other's 64 bytes */
	assert_int_equal(p256_from_public_le(pa, &a_pub, &err), 0);
	assert_int_equal(p256_from_public_le(pb, &b_pub, &err), 0);
	assert_int_equal(p256_ecdh_le(a, b_pub, s1, &err), 0);
	assert_int_equal(p256_ecdh_le(b, a_pub, s2, &err), 0);
	assert_memory_equal(s1, s2, 32);
	p256_free(a);
	p256_free(b);
	p256_free(a_pub);
	p256_free(b_pub);
	p256_free(NULL);
}

static void test_p256_public_roundtrip(void **state)
{
	struct p256_key *k = NULL, *k2 = NULL;
	struct cerr err = CERR_INIT;
	uint8_t p1[64], p2[64];

	assert_int_equal(p256_generate(&k, &err), 0);
	assert_int_equal(p256_public_le(k, p1, &err), 0);
	assert_int_equal(p256_from_public_le(p1, &k2, &err), 0);
	assert_int_equal(p256_public_le(k2, p2, &err), 0);
	assert_memory_equal(p1, p2, 64);
	p256_free(k);
	p256_free(k2);
}

static void test_p256_generator_le(void **state)
{
	struct p256_key *g = NULL;
	struct cerr err = CERR_INIT;
	uint8_t le[64], out[64], be[64];

	g_le(le);
	assert_int_equal(p256_from_public_le(le, &g, &err), 0);
	assert_int_equal(p256_public_le(g, out, &err), 0);
	assert_memory_equal(out, le, 64);
	p256_free(g);
	/* the same bytes in big-endian order are not a point: the order matters */
	unhex(gx_hex, be, 32);
	unhex(gy_hex, be + 32, 32);
	g = NULL;
	assert_int_equal(p256_from_public_le(be, &g, &err), -EINVAL);
	assert_null(g);
}

static void test_p256_reject_off_curve(void **state)
{
	struct p256_key *k = NULL, *bad = NULL;
	struct cerr err = CERR_INIT;
	uint8_t pub[64];

	assert_int_equal(p256_generate(&k, &err), 0);
	assert_int_equal(p256_public_le(k, pub, &err), 0);
	pub[40] ^= 0x01; /* Y changed: off the curve */
	assert_int_equal(p256_from_public_le(pub, &bad, &err), -EINVAL);
	assert_null(bad);
	assert_non_null(strstr(err.msg, "not a valid P-256 point"));
	p256_free(k);
}

static void test_p256_reject_zero_and_garbage(void **state)
{
	struct p256_key *bad = NULL;
	struct cerr err = CERR_INIT;
	uint8_t pub[64];

	memset(pub, 0, sizeof(pub));
	assert_int_equal(p256_from_public_le(pub, &bad, &err), -EINVAL);
	memset(pub, 0xff, sizeof(pub)); /* coordinates above the field prime */
	assert_int_equal(p256_from_public_le(pub, &bad, &err), -EINVAL);
	assert_null(bad);
}

/* OpenSSL's view of a public key given as X||Y little-endian: 04 || X BE || Y BE */
static EVP_PKEY *ossl_pub_from_le(const uint8_t le[64])
{
	uint8_t point[65];
	char group[] = "P-256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
	    OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;

	point[0] = 4;
	reverse(point + 1, le, 32);
	reverse(point + 33, le + 32, 32);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* Our little-endian public key and shared secret, against what OpenSSL says in
 * big-endian for a key pair made by OpenSSL directly. */
static void test_p256_le_matches_openssl_be(void **state)
{
	uint8_t peer_be[65], peer_le[64], ours_le[64], shared_le[32], shared_be[32];
	struct p256_key *ours = NULL, *peer_pub = NULL;
	struct cerr err = CERR_INIT;
	EVP_PKEY *peer, *ours_ossl;
	EVP_PKEY_CTX *ctx;
	size_t len = 0;

	peer = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(peer);
	assert_int_equal(EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_PUB_KEY, peer_be,
	                                                 sizeof(peer_be), &len),
	                 1);
	assert_int_equal(len, 65);
	assert_int_equal(peer_be[0], 4);
	reverse(peer_le, peer_be + 1, 32);
	reverse(peer_le + 32, peer_be + 33, 32);

	/* import and export give back OpenSSL's coordinates reversed */
	assert_int_equal(p256_from_public_le(peer_le, &peer_pub, &err), 0);
	assert_int_equal(p256_public_le(peer_pub, ours_le, &err), 0);
	assert_memory_equal(ours_le, peer_le, 64);

	/* ECDH: ours is OpenSSL's big-endian x-coordinate reversed */
	assert_int_equal(p256_generate(&ours, &err), 0);
	assert_int_equal(p256_public_le(ours, ours_le, &err), 0);
	assert_int_equal(p256_ecdh_le(ours, peer_pub, shared_le, &err), 0);
	ours_ossl = ossl_pub_from_le(ours_le);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_derive_init(ctx), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(ctx, ours_ossl), 1);
	len = sizeof(shared_be);
	assert_int_equal(EVP_PKEY_derive(ctx, shared_be, &len), 1);
	assert_int_equal(len, 32);
	reverse(peer_le, shared_be, 32); /* reuse as scratch */
	assert_memory_equal(shared_le, peer_le, 32);

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(ours_ossl);
	EVP_PKEY_free(peer);
	p256_free(ours);
	p256_free(peer_pub);
}

/* ---- seal key derivation ---- */

static void test_seal_derive_key(void **state)
{
	uint8_t seal_key[16], tih[48], ttih[48], buf[144], want[32], got[32], other[32];
	struct cerr err = CERR_INIT;

	memset(seal_key, 0x01, sizeof(seal_key));
	memset(tih, 0x02, sizeof(tih));
	memset(ttih, 0x03, sizeof(ttih));
	memcpy(buf, seal_key, 16);
	memcpy(buf + 16, tih, 48);
	memcpy(buf + 64, ttih, 48);
	assert_int_equal(crypto_sha256("disk_encryption", 15, buf + 112, &err), 0);
	assert_int_equal(crypto_sha256(buf, sizeof(buf), want, &err), 0);

	assert_int_equal(seal_derive_key(seal_key, tih, ttih, "disk_encryption", got, &err), 0);
	assert_memory_equal(got, want, 32);
	/* every input matters, and the two hashes are not interchangeable */
	assert_int_equal(seal_derive_key(seal_key, tih, ttih, "app", other, &err), 0);
	assert_memory_not_equal(got, other, 32);
	assert_int_equal(seal_derive_key(seal_key, ttih, tih, "disk_encryption", other, &err), 0);
	assert_memory_not_equal(got, other, 32);
	seal_key[15] ^= 1;
	assert_int_equal(seal_derive_key(seal_key, tih, ttih, "disk_encryption", other, &err), 0);
	assert_memory_not_equal(got, other, 32);
}

static void test_seal_kdf(void **state)
{
	uint8_t shared[32], h[32], key[16], iv[16];
	struct cerr err = CERR_INIT;

	for (size_t i = 0; i < sizeof(shared); i++)
		shared[i] = (uint8_t)i;
	assert_int_equal(crypto_sha256(shared, 32, h, &err), 0);
	assert_int_equal(seal_kdf(shared, key, iv, &err), 0);
	assert_memory_equal(key, h, 16);
	assert_memory_equal(iv, h + 16, 16);
}

/* The whole seal exchange's crypto, both ends, as the protocol describes it. */
static void test_seal_encrypt_decrypt(void **state)
{
	struct p256_key *client = NULL, *server = NULL, *c_pub = NULL, *s_pub = NULL;
	uint8_t cpub[64], spub[64], s1[32], s2[32], k1[16], iv1[16], k2[16], iv2[16];
	uint8_t secret[32], ct[32], pt[32];
	struct cerr err = CERR_INIT;

	memset(secret, 0x5a, sizeof(secret));
	assert_int_equal(p256_generate(&client, &err), 0);
	assert_int_equal(p256_public_le(client, cpub, &err), 0);
	/* server */
	assert_int_equal(p256_from_public_le(cpub, &c_pub, &err), 0);
	assert_int_equal(p256_generate(&server, &err), 0);
	assert_int_equal(p256_public_le(server, spub, &err), 0);
	assert_int_equal(p256_ecdh_le(server, c_pub, s1, &err), 0);
	assert_int_equal(seal_kdf(s1, k1, iv1, &err), 0);
	assert_int_equal(crypto_aes128_ctr(k1, iv1, secret, 32, ct, &err), 0);
	/* client */
	assert_int_equal(p256_from_public_le(spub, &s_pub, &err), 0);
	assert_int_equal(p256_ecdh_le(client, s_pub, s2, &err), 0);
	assert_int_equal(seal_kdf(s2, k2, iv2, &err), 0);
	assert_int_equal(crypto_aes128_ctr(k2, iv2, ct, 32, pt, &err), 0);
	assert_memory_equal(pt, secret, 32);
	p256_free(client);
	p256_free(server);
	p256_free(c_pub);
	p256_free(s_pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_abc),
	    cmocka_unit_test(test_sha256_empty),
	    cmocka_unit_test(test_sha384_abc),
	    cmocka_unit_test(test_sha256_incremental),
	    cmocka_unit_test(test_sha256_incremental_many),
	    cmocka_unit_test(test_hmac_sha256_rfc4231_2),
	    cmocka_unit_test(test_hmac_sha256_rfc4231_6),
	    cmocka_unit_test(test_memeq),
	    cmocka_unit_test(test_aes128_ctr_sp800_38a),
	    cmocka_unit_test(test_aes128_ctr_128bit_counter),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_p256_ecdh_agree),
	    cmocka_unit_test(test_p256_public_roundtrip),
	    cmocka_unit_test(test_p256_generator_le),
	    cmocka_unit_test(test_p256_reject_off_curve),
	    cmocka_unit_test(test_p256_reject_zero_and_garbage),
	    cmocka_unit_test(test_p256_le_matches_openssl_be),
	    cmocka_unit_test(test_seal_derive_key),
	    cmocka_unit_test(test_seal_kdf),
	    cmocka_unit_test(test_seal_encrypt_decrypt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
