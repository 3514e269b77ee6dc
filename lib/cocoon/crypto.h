/* crypto.h - the few primitives the project needs, on OpenSSL 3's EVP APIs.
 *
 * Hashes (SHA-256, SHA-384, SHA-512, HMAC-SHA256), constant-time comparison, P-256
 * key agreement in the byte order Cocoon's seal protocol uses, AES-128-CTR,
 * random bytes, and the seal protocol's two key-derivation steps. Keeping
 * them here means no other module includes OpenSSL headers, and the one place
 * that converts between OpenSSL's big-endian and the protocol's little-endian
 * coordinates is this one.
 *
 * Every fallible function returns 0 or a negative errno and puts OpenSSL's
 * error text in err (which may be NULL). Intermediate secrets are wiped here;
 * wiping the caller's outputs is the caller's job.
 */
#ifndef COCOON_CRYPTO_H
#define COCOON_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

#define SHA256_LEN 32
#define SHA384_LEN 48
#define SHA512_LEN 64
#define P256_PUB_LEN 64    /* X || Y, each 32 bytes little-endian */
#define P256_SHARED_LEN 32 /* ECDH x-coordinate, little-endian */
#define AES128_KEY_LEN 16
#define AES_IV_LEN 16

int crypto_sha256(const void *p, size_t n, uint8_t out[SHA256_LEN], struct cerr *err);
int crypto_sha384(const void *p, size_t n, uint8_t out[SHA384_LEN], struct cerr *err);
int crypto_sha512(const void *p, size_t n, uint8_t out[SHA512_LEN], struct cerr *err);

/* Incremental SHA-256 for hashing many files: the digest is fetched once per
 * context and a context is reused across messages. new() returns a context
 * ready for update(); final() leaves it ready for the next message; init()
 * drops a message half-way. */
struct sha256_ctx;
int crypto_sha256_new(struct sha256_ctx **out, struct cerr *err);
int crypto_sha256_init(struct sha256_ctx *c, struct cerr *err);
int crypto_sha256_update(struct sha256_ctx *c, const void *p, size_t n, struct cerr *err);
int crypto_sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN], struct cerr *err);
void crypto_sha256_free(struct sha256_ctx *c);

int crypto_hmac_sha256(const void *key, size_t klen, const void *p, size_t n,
                       uint8_t out[SHA256_LEN], struct cerr *err);

/* Constant-time: true when the n bytes at a and b are equal. For MACs and keys. */
bool crypto_memeq(const void *a, const void *b, size_t n);

/* A P-256 key pair or public key (opaque; holds an EVP_PKEY). */
struct p256_key;
int p256_generate(struct p256_key **out, struct cerr *err);
/* X || Y, each coordinate little-endian (OpenSSL's big-endian bytes reversed). */
int p256_public_le(const struct p256_key *key, uint8_t out[P256_PUB_LEN], struct cerr *err);
/* Imports a peer's public key; -EINVAL unless the point is on the curve. */
int p256_from_public_le(const uint8_t in[P256_PUB_LEN], struct p256_key **out, struct cerr *err);
/* The shared x-coordinate, little-endian. priv must hold a private key. */
int p256_ecdh_le(const struct p256_key *priv, const struct p256_key *peer,
                 uint8_t out[P256_SHARED_LEN], struct cerr *err);
void p256_free(struct p256_key *key);

/* AES-128-CTR with a 128-bit big-endian counter; in and out may be the same. */
int crypto_aes128_ctr(const uint8_t key[AES128_KEY_LEN], const uint8_t iv[AES_IV_LEN],
                      const void *in, size_t n, void *out, struct cerr *err);

int crypto_random(void *p, size_t n, struct cerr *err);

/* Seal key: SHA256(seal_key || tee_info_hash || tee_tcb_info_hash || SHA256(key_name)). */
int seal_derive_key(const uint8_t seal_key[16], const uint8_t tee_info_hash[SHA384_LEN],
                    const uint8_t tee_tcb_info_hash[SHA384_LEN], const char *key_name,
                    uint8_t out[SHA256_LEN], struct cerr *err);
/* h = SHA256(shared_le); aes_key = h[0:16], iv = h[16:32]. */
int seal_kdf(const uint8_t shared_le[P256_SHARED_LEN], uint8_t aes_key[AES128_KEY_LEN],
             uint8_t iv[AES_IV_LEN], struct cerr *err);

#endif
