/* fuzz_sealc.c - libFuzzer target for sealc_open_reply(), what the guest does
 * with a seal-server's reply, and the P-256 point decode in it.
 *
 * The first byte picks the mode, the rest is the reply frame's payload:
 *   bit 0 clear  skip_validation (-s): the reply's encrypted_secret goes
 *                straight to the point decode, ECDH and AES;
 *   bit 0 set    the sim quote is checked with the harness's platform key;
 *   bit 1 set    (with bit 0) the harness first replaces the reply's quote
 *                with a valid one for its encrypted_secret, as a seal-server
 *                with the platform key would, so the path after it runs too.
 * The first 64 bytes are also decoded as a point on their own. A refused reply
 * must leave the key buffer all zero and say why; an accepted one must have
 * come with a point on the curve.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/crypto.h"
#include "cocoon/sealc.h"
#include "cocoon/tl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t platform_key[TEE_SIM_PLATFORM_KEY_LEN] = "fuzz_sealc sim platform key 32.";

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sealc_req req;
	static struct tee tee;
	struct sealc_opts opts = {
	    .connect = "unix:/nonexistent", .key_name = "disk_encryption", .tee = &tee};
	uint8_t key[SEALC_KEY_LEN], point[P256_PUB_LEN] = {0};
	struct cerr err = CERR_INIT;
	struct p256_key *peer = NULL;
	struct wbuf w;
	struct seal_resp resp;
	const uint8_t *p;
	size_t n;
	bool valid_point;
	int r;

	if (!req.key) {
		tee_init(&tee, TEE_SIM);
		memcpy(tee.sim_platform_key, platform_key, sizeof(platform_key));
		tee.sim_have_key = true;
		if (p256_generate(&req.key, &err) < 0 ||
		    p256_public_le(req.key, req.pubkey, &err) < 0)
			abort();
	}
	if (size == 0)
		return 0;
	opts.skip_validation = !(data[0] & 1);
	p = data + 1;
	n = size - 1;

	memcpy(point, p, n < sizeof(point) ? n : sizeof(point));
	r = p256_from_public_le(point, &peer, &err);
	if (r < 0 ? (peer != NULL || err.msg[0] == '\0') : peer == NULL)
		abort();
	p256_free(peer);
	peer = NULL;

	wbuf_init(&w, 1 << 20);
	if ((data[0] & 3) == 3 && seal_resp_decode(p, n, &resp, &err) == 0) {
		uint8_t rd[64], quote[TEE_SIM_QUOTE_LEN];

		if (crypto_sha256(req.pubkey, SEAL_PUBKEY_LEN, rd, &err) < 0 ||
		    crypto_sha256(resp.secret_enc, SEAL_SECRET_ENC_LEN, rd + 32, &err) < 0 ||
		    tee_sim_quote_build(platform_key, rd, quote, &err) < 0 ||
		    seal_resp_encode(&w, quote, sizeof(quote), resp.secret_enc, &err) < 0)
			abort();
		p = w.p;
		n = w.len;
	}
	err = (struct cerr)CERR_INIT;
	memset(key, 0xa5, sizeof(key));
	r = sealc_open_reply(&req, &opts, p, n, key, &err);
	if (r < 0 && (!all_zero(key, sizeof(key)) || err.msg[0] == '\0'))
		abort();
	if (r == 0) {
		/* the server's public key that was used must be a point */
		if (seal_resp_decode(p, n, &resp, &err) < 0)
			abort();
		valid_point = p256_from_public_le(resp.secret_enc, &peer, &err) == 0;
		p256_free(peer);
		if (!valid_point)
			abort();
	}
	wbuf_free(&w);
	return 0;
}
