/* crypto.c - hashes, MAC, P-256 ECDH, AES-CTR, random; see cocoon/crypto.h.
 *
 * Only OpenSSL 3 EVP / provider APIs: no EC_KEY, SHA256_Init and friends,
 * which are deprecated and would tie us to the legacy code paths. Each failure
 * takes the first entry of OpenSSL's error queue into the message and clears
 * the rest, so the next failure does not report a stale cause.
 */
#include "cocoon/crypto.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "cocoon/util.h"

#define P256_COORD_LEN 32

/* OpenSSL's EVP calls take int lengths: feed longer inputs in pieces */
#define EVP_CHUNK (1u << 30)

static int ossl_fail(struct cerr *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ossl_fail(struct cerr *err, int errnum, const char *fmt, ...)
{
	char what[256];
	char why[256] = "no OpenSSL error recorded";
	unsigned long e = ERR_get_error();
	va_list ap;

	if (e)
		ERR_error_string_n(e, why, sizeof(why));
	ERR_clear_error();
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return cerr_setx(err, errnum, "%s: %s", what, why);
}

static void reverse_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

static int digest(const EVP_MD *md, const char *name, const void *p, size_t n, uint8_t *out,
                  unsigned want, struct cerr *err)
{
	unsigned len = 0;

	if (!EVP_Digest(p, n, out, &len, md, NULL) || len != want)
		return ossl_fail(err, EIO, "%s of %zu bytes", name, n);
	return 0;
}

int crypto_sha256(const void *p, size_t n, uint8_t out[SHA256_LEN], struct cerr *err)
{
	return digest(EVP_sha256(), "SHA-256", p, n, out, SHA256_LEN, err);
}

int crypto_sha384(const void *p, size_t n, uint8_t out[SHA384_LEN], struct cerr *err)
{
	return digest(EVP_sha384(), "SHA-384", p, n, out, SHA384_LEN, err);
}

int crypto_sha512(const void *p, size_t n, uint8_t out[SHA512_LEN], struct cerr *err)
{
	return digest(EVP_sha512(), "SHA-512", p, n, out, SHA512_LEN, err);
}

struct sha256_ctx {
	EVP_MD *md; /* fetched once: the provider lookup is the expensive part */
	EVP_MD_CTX *ctx;
};

int crypto_sha256_new(struct sha256_ctx **out, struct cerr *err)
{
	struct sha256_ctx *c;
	int rc;

	c = calloc(1, sizeof(*c));
	if (!c)
		return cerr_set(err, ENOMEM, "SHA-256 context");
	c->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	c->ctx = EVP_MD_CTX_new();
	if (!c->md || !c->ctx) {
		crypto_sha256_free(c);
		return ossl_fail(err, ENOMEM, "SHA-256 context");
	}
	rc = crypto_sha256_init(c, err);
	if (rc < 0) {
		crypto_sha256_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int crypto_sha256_init(struct sha256_ctx *c, struct cerr *err)
{
	if (!EVP_DigestInit_ex2(c->ctx, c->md, NULL))
		return ossl_fail(err, EIO, "SHA-256 init");
	return 0;
}

int crypto_sha256_update(struct sha256_ctx *c, const void *p, size_t n, struct cerr *err)
{
	if (n && !EVP_DigestUpdate(c->ctx, p, n))
		return ossl_fail(err, EIO, "SHA-256 update of %zu bytes", n);
	return 0;
}

int crypto_sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN], struct cerr *err)
{
	unsigned len = 0;

	if (!EVP_DigestFinal_ex(c->ctx, out, &len) || len != SHA256_LEN)
		return ossl_fail(err, EIO, "SHA-256 final");
	return crypto_sha256_init(c, err);
}

void crypto_sha256_free(struct sha256_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->ctx); /* cleanses the state */
	EVP_MD_free(c->md);
	free(c);
}

int crypto_hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
                       uint8_t out[SHA256_LEN], struct cerr *err)
{
	char digest_name[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx = NULL;
	size_t len = 0;
	int rc = 0;

	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (mac)
		ctx = EVP_MAC_CTX_new(mac);
	if (!ctx) {
		rc = ossl_fail(err, ENOMEM, "HMAC-SHA256 context");
		goto out;
	}
	/* a NULL key means "keep the previous key", which a fresh context lacks */
	if (!EVP_MAC_init(ctx, klen ? key : (const void *)"", klen, params) ||
	    (n && !EVP_MAC_update(ctx, p, n)) || !EVP_MAC_final(ctx, out, &len, SHA256_LEN) ||
	    len != SHA256_LEN)
		rc = ossl_fail(err, EIO, "HMAC-SHA256 of %zu bytes", n);
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return rc;
}

bool crypto_memeq(const void *a, const void *b, size_t n)
{
	return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

struct p256_key {
	EVP_PKEY *pkey;
};

static int p256_wrap(EVP_PKEY *pkey, struct p256_key **out, struct cerr *err)
{
	struct p256_key *k = malloc(sizeof(*k));

	if (!k) {
		EVP_PKEY_free(pkey);
		return cerr_set(err, ENOMEM, "P-256 key");
	}
	k->pkey = pkey;
	*out = k;
	return 0;
}

int p256_generate(struct p256_key **out, struct cerr *err)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (!pkey)
		return ossl_fail(err, EIO, "generating a P-256 key");
	return p256_wrap(pkey, out, err);
}

int p256_public_le(const struct p256_key *key, uint8_t out[P256_PUB_LEN], struct cerr *err)
{
	BIGNUM *x = NULL, *y = NULL;
	int rc = 0;

	/* BN_bn2lebinpad() gives each coordinate little-endian, zero-padded to 32 bytes */
	if (!EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    BN_bn2lebinpad(x, out, P256_COORD_LEN) != P256_COORD_LEN ||
	    BN_bn2lebinpad(y, out + P256_COORD_LEN, P256_COORD_LEN) != P256_COORD_LEN)
		rc = ossl_fail(err, EIO, "exporting a P-256 public key");
	BN_free(x);
	BN_free(y);
	return rc;
}

int p256_from_public_le(const uint8_t in[P256_PUB_LEN], struct p256_key **out, struct cerr *err)
{
	uint8_t point[1 + P256_PUB_LEN];
	char group[] = "P-256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
	    OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	int rc;

	/* SEC1 uncompressed point: 0x04 || X big-endian || Y big-endian */
	point[0] = 0x04;
	reverse_copy(point + 1, in, P256_COORD_LEN);
	reverse_copy(point + 1 + P256_COORD_LEN, in + P256_COORD_LEN, P256_COORD_LEN);

	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) <= 0) {
		rc = ossl_fail(err, ENOMEM, "P-256 import context");
		goto out;
	}
	/* the import already refuses a point off the curve; the check below makes
	 * that explicit rather than a property of the provider */
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		rc = ossl_fail(err, EINVAL, "public key is not a valid P-256 point");
		goto out;
	}
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check || EVP_PKEY_public_check(check) != 1) {
		rc = ossl_fail(err, EINVAL, "public key is not a valid P-256 point");
		goto out;
	}
	rc = p256_wrap(pkey, out, err);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int p256_ecdh_le(const struct p256_key *priv, const struct p256_key *peer,
                 uint8_t out[P256_SHARED_LEN], struct cerr *err)
{
	uint8_t shared[P256_SHARED_LEN];
	size_t len = sizeof(shared);
	EVP_PKEY_CTX *ctx;
	int rc = 0;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
	/* validate_peer = 1: one more on-curve check, for keys that did not come
	 * through p256_from_public_le() */
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 ||
	    EVP_PKEY_derive_set_peer_ex(ctx, peer->pkey, 1) <= 0 ||
	    EVP_PKEY_derive(ctx, shared, &len) <= 0 || len != sizeof(shared))
		rc = ossl_fail(err, EIO, "P-256 ECDH");
	else
		reverse_copy(out, shared, sizeof(shared));
	secure_wipe(shared, sizeof(shared));
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

void p256_free(struct p256_key *key)
{
	if (!key)
		return;
	EVP_PKEY_free(key->pkey); /* clears the private scalar */
	free(key);
}

int crypto_aes128_ctr(const uint8_t key[AES128_KEY_LEN], const uint8_t iv[AES_IV_LEN],
                      const void *in, size_t n, void *out, struct cerr *err)
{
	const uint8_t *src = in;
	uint8_t *dst = out;
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	uint8_t tail[16];
	int outl, rc = 0;

	cipher = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
	if (cipher)
		ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_EncryptInit_ex2(ctx, cipher, key, iv, NULL)) {
		rc = ossl_fail(err, EIO, "AES-128-CTR init");
		goto out;
	}
	for (size_t done = 0; done < n;) {
		size_t chunk = n - done < EVP_CHUNK ? n - done : EVP_CHUNK;

		if (!EVP_EncryptUpdate(ctx, dst + done, &outl, src + done, (int)chunk) ||
		    (size_t)outl != chunk) {
			rc = ossl_fail(err, EIO, "AES-128-CTR of %zu bytes", n);
			goto out;
		}
		done += chunk;
	}
	/* a stream mode: nothing is held back, so Final writes nothing */
	if (!EVP_EncryptFinal_ex(ctx, tail, &outl) || outl != 0)
		rc = ossl_fail(err, EIO, "AES-128-CTR final");
out:
	EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
	EVP_CIPHER_free(cipher);
	return rc;
}

int crypto_random(void *p, size_t n, struct cerr *err)
{
	uint8_t *dst = p;

	for (size_t done = 0; done < n;) {
		size_t chunk = n - done < EVP_CHUNK ? n - done : EVP_CHUNK;

		if (RAND_bytes(dst + done, (int)chunk) != 1)
			return ossl_fail(err, EIO, "random bytes");
		done += chunk;
	}
	return 0;
}

int seal_derive_key(const uint8_t seal_key[16], const uint8_t tee_info_hash[SHA384_LEN],
                    const uint8_t tee_tcb_info_hash[SHA384_LEN], const char *key_name,
                    uint8_t out[SHA256_LEN], struct cerr *err)
{
	uint8_t in[16 + SHA384_LEN + SHA384_LEN + SHA256_LEN];
	int rc;

	memcpy(in, seal_key, 16);
	memcpy(in + 16, tee_info_hash, SHA384_LEN);
	memcpy(in + 16 + SHA384_LEN, tee_tcb_info_hash, SHA384_LEN);
	rc = crypto_sha256(key_name, strlen(key_name), in + 16 + 2 * SHA384_LEN, err);
	if (rc == 0)
		rc = crypto_sha256(in, sizeof(in), out, err);
	secure_wipe(in, sizeof(in));
	if (rc < 0)
		return cerr_prefix(err, rc, "deriving seal key '%s'", key_name);
	return 0;
}

int seal_kdf(const uint8_t shared_le[P256_SHARED_LEN], uint8_t aes_key[AES128_KEY_LEN],
             uint8_t iv[AES_IV_LEN], struct cerr *err)
{
	uint8_t h[SHA256_LEN];
	int rc;

	rc = crypto_sha256(shared_le, P256_SHARED_LEN, h, err);
	if (rc == 0) {
		memcpy(aes_key, h, AES128_KEY_LEN);
		memcpy(iv, h + AES128_KEY_LEN, AES_IV_LEN);
	}
	secure_wipe(h, sizeof(h));
	return rc < 0 ? cerr_prefix(err, rc, "seal KDF") : 0;
}
