/* sealc.c - the guest side of the seal protocol (see cocoon/sealc.h).
 *
 * Order matters: the reply's quote is checked before anything in it is used,
 * and the decrypted key only ever lives in the caller's buffer.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cocoon/frame.h"
#include "cocoon/log.h"
#include "cocoon/dcap.h"
#include "cocoon/sealc.h"
#include "cocoon/transport.h"
#include "cocoon/util.h"

int sealc_request(struct tee *tee, const char *key_name, struct sealc_req *req, struct wbuf *out,
                  struct cerr *err)
{
	uint8_t rd[TDREPORT_DATA_LEN] = {0}, report[TDREPORT_LEN];
	int r;

	memset(req, 0, sizeof(*req));
	r = seal_key_name_check(key_name, err);
	if (r < 0)
		return r;
	r = p256_generate(&req->key, err);
	if (r < 0)
		return r;
	r = p256_public_le(req->key, req->pubkey, err);
	if (r < 0)
		goto fail;
	r = crypto_sha256(req->pubkey, SEAL_PUBKEY_LEN, rd, err);
	if (r < 0)
		goto fail;
	r = tee_get_report(tee, rd, report, err);
	if (r < 0)
		goto fail;
	r = seal_req_encode(out, report, req->pubkey, key_name, err);
	if (r < 0)
		goto fail;
	return 0;
fail:
	sealc_req_done(req);
	return r;
}

void sealc_req_done(struct sealc_req *req)
{
	p256_free(req->key);
	req->key = NULL;
}

/* tdx: the seal enclave's SGX quote (lib/dcap.c), then what it attests */
static int check_sgx_quote(const struct sealc_opts *opts, const struct seal_resp *resp,
                           const uint8_t want[64], struct cerr *err)
{
	struct dcap_collateral col;
	struct dcap_quote q;
	struct dcap_result res;
	time_t now = opts->dcap_now ? opts->dcap_now : time(NULL);
	int r;

	if (!opts->dcap_collateral)
		return cerr_setx(err, EINVAL,
		                 "no DCAP collateral to verify the seal-server's SGX quote with: "
		                 "give the collateral file (seal-client --collateral FILE, "
		                 "cocoon.seal_collateral=PATH)");
	r = dcap_quote_parse(resp->quote, resp->quote_len, &q, err);
	if (r < 0)
		return cerr_prefix(err, -EBADMSG, "the seal-server's quote");
	if (q.body_type != DCAP_BODY_SGX)
		return cerr_setx(
		    err, EBADMSG,
		    "the seal-server's quote is a TD quote, not the seal enclave's SGX quote");
	r = dcap_collateral_load(opts->dcap_collateral, &col, err);
	if (r < 0)
		return cerr_prefix(err, r == -ENOMEM ? r : -EBADMSG, "DCAP collateral");
	r = dcap_verify(&q, &col, now, &res, err);
	dcap_collateral_free(&col);
	if (r < 0)
		return cerr_prefix(err, -EBADMSG, "the seal-server's SGX quote");
	if (!dcap_status_ok(res.status))
		return cerr_setx(err, EBADMSG, "the seal-server's platform TCB status is %s",
		                 res.status);
	bool allowed = false;
	for (size_t i = 0; i < opts->n_mr_enclave; i++)
		allowed |= crypto_memeq(opts->mr_enclave[i], q.sgx.mr_enclave, SEALC_MRENCLAVE_LEN);
	if (!allowed) {
		char hex[2 * SEALC_MRENCLAVE_LEN + 1];
		hex_encode(q.sgx.mr_enclave, SEALC_MRENCLAVE_LEN, hex);
		return cerr_setx(err, EBADMSG,
		                 "the seal enclave's MR_ENCLAVE %s is not in the allowlist", hex);
	}
	if (q.sgx.attributes[0] & DCAP_SGX_ATTR_DEBUG)
		return cerr_setx(
		    err, EBADMSG,
		    "the seal enclave runs with the DEBUG attribute: its memory is open "
		    "to the host");
	if (!crypto_memeq(q.sgx.report_data, want, 64))
		return cerr_setx(err, EBADMSG,
		                 "the seal enclave's report data is not SHA256(our public key) || "
		                 "SHA256(encrypted_secret): it was not made for this request");
	return 0;
}

static int check_quote(const struct sealc_opts *opts, const struct seal_resp *resp,
                       const uint8_t want[64], struct cerr *err)
{
	uint8_t got[64];
	int r;

	if (opts->skip_validation)
		return 0;
	if (opts->tee->kind == TEE_SIM) {
		if (!opts->tee->sim_have_key)
			return cerr_setx(err, EINVAL, "sim mode needs the sim platform key");
		r = tee_sim_quote_verify(opts->tee->sim_platform_key, resp->quote, resp->quote_len,
		                         got, err);
		if (r < 0)
			return r;
		if (!crypto_memeq(got, want, sizeof(got)))
			return cerr_setx(err, EBADMSG,
			                 "the reply's report data is not SHA256(our public key) || "
			                 "SHA256(encrypted_secret): it was not made for this "
			                 "request");
		return 0;
	}
	if (opts->n_mr_enclave == 0)
		return cerr_setx(err, EBADMSG,
		                 "no MR_ENCLAVE allowed: give the seal-server enclave's "
		                 "measurement with -m HEX (or -s to skip validation)");
	return check_sgx_quote(opts, resp, want, err);
}

int sealc_open_reply(const struct sealc_req *req, const struct sealc_opts *opts, const void *p,
                     size_t n, uint8_t key[SEALC_KEY_LEN], struct cerr *err)
{
	uint8_t want[64], shared[P256_SHARED_LEN], aes[AES128_KEY_LEN], iv[AES_IV_LEN];
	struct p256_key *peer = NULL;
	struct seal_resp resp;
	int r;

	memset(key, 0, SEALC_KEY_LEN);
	r = seal_resp_decode(p, n, &resp, err);
	if (r < 0)
		return r;
	r = crypto_sha256(req->pubkey, SEAL_PUBKEY_LEN, want, err);
	if (r < 0)
		return r;
	r = crypto_sha256(resp.secret_enc, SEAL_SECRET_ENC_LEN, want + 32, err);
	if (r < 0)
		return r;
	r = check_quote(opts, &resp, want, err);
	if (r < 0)
		return r;
	r = p256_from_public_le(resp.secret_enc, &peer, err);
	if (r < 0)
		return cerr_prefix(err, -EBADMSG, "server public key");
	r = p256_ecdh_le(req->key, peer, shared, err);
	p256_free(peer);
	if (r < 0)
		goto out;
	r = seal_kdf(shared, aes, iv, err);
	if (r < 0)
		goto out;
	r = crypto_aes128_ctr(aes, iv, resp.secret_enc + SEAL_PUBKEY_LEN, SEALC_KEY_LEN, key, err);
out:
	secure_wipe(shared, sizeof(shared));
	secure_wipe(aes, sizeof(aes));
	secure_wipe(iv, sizeof(iv));
	if (r < 0)
		secure_wipe(key, SEALC_KEY_LEN);
	return r;
}

int sealc_get_key(const struct sealc_opts *opts, uint8_t key[SEALC_KEY_LEN],
                  enum sealc_stage *stage, struct cerr *err)
{
	int timeout = opts->timeout_ms > 0 ? opts->timeout_ms : SEALC_TIMEOUT_MS;
	enum sealc_stage dummy;
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *reply = NULL;
	struct sealc_req req;
	size_t len = 0;
	struct wbuf w;
	int r;

	if (!stage)
		stage = &dummy;
	*stage = SEALC_STAGE_LOCAL;
	wbuf_init(&w, FRAME_MAX_DEFAULT);
	r = sealc_request(opts->tee, opts->key_name, &req, &w, err);
	if (r < 0) {
		wbuf_free(&w);
		return cerr_prefix(err, r, "key '%s'", opts->key_name);
	}
	*stage = SEALC_STAGE_EXCHANGE;
	fd = transport_connect(opts->connect, timeout, err);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	r = frame_write(fd, w.p, w.len, timeout, err);
	if (r < 0)
		goto out;
	r = frame_read(fd, FRAME_MAX_DEFAULT, timeout, &reply, &len, err);
	if (r == -ENODATA)
		r = cerr_setx(err, ECONNRESET,
		              "the seal-server at '%s' closed the connection without a reply "
		              "(it refused the request: see its log)",
		              opts->connect);
	if (r < 0)
		goto out;
	*stage = SEALC_STAGE_REPLY;
	r = sealc_open_reply(&req, opts, reply, len, key, err);
out:
	wbuf_free(&w);
	sealc_req_done(&req);
	if (r < 0)
		return cerr_prefix(err, r, "key '%s' from '%s'", opts->key_name, opts->connect);
	return 0;
}
