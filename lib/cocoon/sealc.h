/* sealc.h - the guest side of the seal protocol: one sealed key per call.
 *
 * A fresh P-256 key pair per request; the TEE backend's report binds
 * SHA256(public key) || 32 zero bytes; the seal-server's reply is checked
 * (its report data must be SHA256(public key) || SHA256(encrypted_secret),
 * under a sim MAC in sim mode, in an SGX quote in real mode) before the key is
 * decrypted with ECDH + AES-128-CTR (PROTOCOLS.md, "Seal protocol").
 *
 * Real mode (tdx): the reply's SGX quote is verified with lib/dcap.c against
 * the DCAP collateral in opts->dcap_collateral (a file the host provides: it
 * is signed by Intel, so the host can withhold it but not forge it): genuine
 * and not Revoked at the time, an SGX quote, MR_ENCLAVE in the allowlist
 * (an empty allowlist is refused first), DEBUG attribute clear, report data
 * as above.
 *
 * Used by the seal-client program and by cocoon-init.
 */
#ifndef COCOON_SEALC_H
#define COCOON_SEALC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cocoon/buf.h"
#include "cocoon/crypto.h"
#include "cocoon/err.h"
#include "cocoon/tee.h"
#include "cocoon/tl.h"

#define SEALC_KEY_LEN 32
#define SEALC_MRENCLAVE_LEN 32
#define SEALC_TIMEOUT_MS 30000

struct sealc_opts {
	const char *connect;  /* transport address of the seal-server */
	const char *key_name; /* 1..64 of [A-Za-z0-9_.-] */
	struct tee *tee;      /* the report and, in sim mode, the platform key */
	bool skip_validation; /* trust the reply without checking its quote */
	const uint8_t (*mr_enclave)[SEALC_MRENCLAVE_LEN]; /* allowlist (real mode) */
	size_t n_mr_enclave;
	int timeout_ms;              /* connect, and each frame; <= 0: SEALC_TIMEOUT_MS */
	const char *dcap_collateral; /* tdx: the collateral JSON file (PCCS v4 shape) */
	time_t dcap_now;             /* tdx: verification time; 0: the clock */
};

/* Where a failed sealc_get_key() stopped: programs map it to exit codes. */
enum sealc_stage {
	SEALC_STAGE_LOCAL = 1, /* TEE report, keys, options */
	SEALC_STAGE_EXCHANGE,  /* connecting, sending, receiving */
	SEALC_STAGE_REPLY,     /* the reply was refused */
};

/* One request in flight: the key pair it was made with. */
struct sealc_req {
	struct p256_key *key;
	uint8_t pubkey[SEAL_PUBKEY_LEN];
};

/* Makes a key pair and a report, and encodes getPersistentKey into out. */
int sealc_request(struct tee *tee, const char *key_name, struct sealc_req *req, struct wbuf *out,
                  struct cerr *err);
/* Checks a persistentKey frame payload against req and opts and decrypts the
 * 32-byte key into key (wiped on failure). -EBADMSG when the reply is refused,
 * -ENOTSUP when its check needs what this build lacks. */
int sealc_open_reply(const struct sealc_req *req, const struct sealc_opts *opts, const void *p,
                     size_t n, uint8_t key[SEALC_KEY_LEN], struct cerr *err);
void sealc_req_done(struct sealc_req *req);

/* The whole exchange. *stage (may be NULL) says where it failed. */
int sealc_get_key(const struct sealc_opts *opts, uint8_t key[SEALC_KEY_LEN],
                  enum sealc_stage *stage, struct cerr *err);

#endif
