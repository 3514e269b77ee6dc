/* tl.c - TL codec and the seal protocol's messages; see cocoon/tl.h.
 *
 * The decoders are the first code that touches what a peer sent over vsock, so
 * they work on a copy of the reader and commit it only once a whole field has
 * been read: a failed decode leaves nothing half-consumed and every message
 * names the field and the sizes involved.
 */
#include "cocoon/tl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* padding that brings a field of n bytes (length prefix included) to a multiple of 4 */
static size_t tl_pad(size_t n)
{
	return (4 - n % 4) % 4;
}

int tl_put_u32(struct wbuf *w, uint32_t v)
{
	return wbuf_u32le(w, v);
}

int tl_put_i32(struct wbuf *w, int32_t v)
{
	return wbuf_u32le(w, (uint32_t)v);
}

int tl_put_i64(struct wbuf *w, int64_t v)
{
	return wbuf_u64le(w, (uint64_t)v);
}

int tl_put_bytes(struct wbuf *w, const void *p, size_t n)
{
	size_t hdr;
	int rc;

	if (n > TL_BYTES_MAX) {
		/* keep the wbuf's promise: once a put failed, all later puts fail */
		return wbuf_fail(w, -EMSGSIZE);
	}
	if (n < 254) {
		rc = wbuf_u8(w, (uint8_t)n);
		hdr = 1;
	} else {
		rc = wbuf_u8(w, 0xfe);
		if (rc == 0)
			rc = wbuf_u24le(w, (uint32_t)n);
		hdr = 4;
	}
	if (rc == 0)
		rc = wbuf_put(w, p, n);
	if (rc == 0)
		rc = wbuf_zero(w, tl_pad(hdr + n));
	return rc;
}

int tl_put_string(struct wbuf *w, const char *s)
{
	return tl_put_bytes(w, s, strlen(s));
}

int tl_get_u32(struct rbuf *r, uint32_t *v, struct cerr *err)
{
	if (rbuf_u32le(r, v) < 0)
		return cerr_setx(err, EBADMSG,
		                 "truncated: a 4-byte integer needs 4 bytes, %zu left",
		                 rbuf_left(r));
	return 0;
}

int tl_get_i32(struct rbuf *r, int32_t *v, struct cerr *err)
{
	uint32_t u;
	int rc = tl_get_u32(r, &u, err);

	if (rc == 0)
		*v = (int32_t)u;
	return rc;
}

int tl_get_i64(struct rbuf *r, int64_t *v, struct cerr *err)
{
	uint64_t u;

	if (rbuf_u64le(r, &u) < 0)
		return cerr_setx(err, EBADMSG,
		                 "truncated: an 8-byte integer needs 8 bytes, %zu left",
		                 rbuf_left(r));
	*v = (int64_t)u;
	return 0;
}

int tl_expect_magic(struct rbuf *r, uint32_t id, const char *what, struct cerr *err)
{
	struct rbuf t = *r;
	uint32_t got;
	int rc;

	rc = tl_get_u32(&t, &got, err);
	if (rc < 0)
		return cerr_prefix(err, rc, "constructor id of %s", what);
	if (got != id)
		return cerr_setx(err, EBADMSG, "unexpected magic 0x%08x, expected 0x%08x for %s",
		                 got, id, what);
	*r = t;
	return 0;
}

int tl_get_bytes(struct rbuf *r, const uint8_t **p, size_t *n, struct cerr *err)
{
	struct rbuf t = *r;
	const uint8_t *data;
	uint32_t len;
	uint8_t first;
	size_t hdr, pad;

	if (rbuf_u8(&t, &first) < 0)
		return cerr_setx(err, EBADMSG, "truncated: bytes field has no length byte");
	if (first < 254) {
		len = first;
		hdr = 1;
	} else if (first == 254) {
		/* a 0xFE length below 254 is not canonical; Cocoon accepts it, so do we */
		if (rbuf_u24le(&t, &len) < 0)
			return cerr_setx(err, EBADMSG,
			                 "truncated: 0xFE length needs 3 more bytes, %zu left",
			                 rbuf_left(&t));
		hdr = 4;
	} else {
		return cerr_setx(err, EBADMSG,
		                 "bytes field uses the 0xFF (64-bit) length form, "
		                 "which this protocol never needs");
	}
	if (rbuf_direct(&t, len, &data) < 0)
		return cerr_setx(err, EBADMSG,
		                 "bytes length %u past end of buffer (%zu bytes left)", len,
		                 rbuf_left(&t));
	pad = tl_pad(hdr + len);
	/* the padding's value is not checked (Cocoon's parser does not), but it must be there */
	if (rbuf_skip(&t, pad) < 0)
		return cerr_setx(err, EBADMSG,
		                 "truncated: bytes of length %u need %zu padding bytes, %zu left",
		                 len, pad, rbuf_left(&t));
	*r = t;
	*p = data;
	*n = len;
	return 0;
}

int tl_get_string(struct rbuf *r, char **s, struct cerr *err)
{
	struct rbuf t = *r;
	const uint8_t *p;
	char *copy;
	size_t n;
	int rc;

	rc = tl_get_bytes(&t, &p, &n, err);
	if (rc < 0)
		return rc;
	if (memchr(p, '\0', n))
		return cerr_setx(err, EBADMSG, "string of %zu bytes contains a NUL byte", n);
	copy = malloc(n + 1);
	if (!copy)
		return cerr_set(err, ENOMEM, "string of %zu bytes", n);
	if (n)
		memcpy(copy, p, n);
	copy[n] = '\0';
	*r = t;
	*s = copy;
	return 0;
}

int tl_expect_end(const struct rbuf *r, struct cerr *err)
{
	if (rbuf_left(r))
		return cerr_setx(err, EBADMSG, "too much data: %zu trailing bytes", rbuf_left(r));
	return 0;
}

/* ---- seal protocol messages ---- */

static bool key_name_char_ok(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The key name feeds the key derivation and is printed in logs and may name
 * files: a small alphabet keeps it unambiguous everywhere. */
static int key_name_check_n(const uint8_t *p, size_t n, int errnum, struct cerr *err)
{
	if (n == 0)
		return cerr_setx(err, errnum, "key name is empty");
	if (n > SEAL_KEY_NAME_MAX)
		return cerr_setx(err, errnum, "key name is longer than %d characters",
		                 SEAL_KEY_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if (!key_name_char_ok(p[i]))
			return cerr_setx(err, errnum,
			                 "key name has byte 0x%02x at position %zu; "
			                 "only A-Z a-z 0-9 _ . - are allowed",
			                 p[i], i);
	return 0;
}

int seal_key_name_check(const char *name, struct cerr *err)
{
	if (!name)
		return cerr_setx(err, EINVAL, "key name is missing");
	/* bound the scan: anything longer than the maximum is rejected anyway */
	return key_name_check_n((const uint8_t *)name, strnlen(name, SEAL_KEY_NAME_MAX + 1), EINVAL,
	                        err);
}

int seal_req_encode(struct wbuf *w, const uint8_t report[SEAL_REPORT_LEN],
                    const uint8_t pubkey[SEAL_PUBKEY_LEN], const char *key_name, struct cerr *err)
{
	int rc;

	rc = seal_key_name_check(key_name, err);
	if (rc < 0)
		return cerr_prefix(err, rc, "encoding getPersistentKey");
	rc = tl_put_u32(w, TL_ID_GET_PERSISTENT_KEY);
	if (rc == 0)
		rc = tl_put_bytes(w, report, SEAL_REPORT_LEN);
	if (rc == 0)
		rc = tl_put_bytes(w, pubkey, SEAL_PUBKEY_LEN);
	if (rc == 0)
		rc = tl_put_string(w, key_name);
	if (rc < 0)
		return cerr_set(err, -rc, "encoding getPersistentKey");
	return 0;
}

/* Reads a bytes field that must be exactly want bytes long into out. */
static int get_fixed(struct rbuf *r, const char *field, void *out, size_t want, struct cerr *err)
{
	const uint8_t *p;
	size_t n;
	int rc;

	rc = tl_get_bytes(r, &p, &n, err);
	if (rc < 0)
		return cerr_prefix(err, rc, "%s", field);
	if (n != want)
		return cerr_setx(err, EBADMSG, "%s is %zu bytes, expected %zu", field, n, want);
	memcpy(out, p, want);
	return 0;
}

int seal_req_decode(const void *p, size_t n, struct seal_req *out, struct cerr *err)
{
	const uint8_t *name;
	size_t name_len;
	struct rbuf r;
	int rc;

	memset(out, 0, sizeof(*out));
	rbuf_init(&r, p, n);
	rc = tl_expect_magic(&r, TL_ID_GET_PERSISTENT_KEY, "getPersistentKey", err);
	if (rc < 0)
		return rc;
	rc = get_fixed(&r, "tdx_report", out->report, SEAL_REPORT_LEN, err);
	if (rc < 0)
		goto fail;
	rc = get_fixed(&r, "public_key", out->pubkey, SEAL_PUBKEY_LEN, err);
	if (rc < 0)
		goto fail;
	rc = tl_get_bytes(&r, &name, &name_len, err);
	if (rc < 0) {
		cerr_prefix(err, rc, "key_name");
		goto fail;
	}
	rc = key_name_check_n(name, name_len, EBADMSG, err);
	if (rc < 0)
		goto fail;
	memcpy(out->key_name, name, name_len);
	out->key_name[name_len] = '\0';
	rc = tl_expect_end(&r, err);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return cerr_prefix(err, rc, "getPersistentKey");
}

int seal_resp_encode(struct wbuf *w, const uint8_t *quote, size_t quote_len,
                     const uint8_t secret_enc[SEAL_SECRET_ENC_LEN], struct cerr *err)
{
	int rc;

	rc = tl_put_u32(w, TL_ID_PERSISTENT_KEY);
	if (rc == 0)
		rc = tl_put_bytes(w, quote, quote_len);
	if (rc == 0)
		rc = tl_put_bytes(w, secret_enc, SEAL_SECRET_ENC_LEN);
	if (rc < 0)
		return cerr_set(err, -rc, "encoding persistentKey (quote of %zu bytes)", quote_len);
	return 0;
}

int seal_resp_decode(const void *p, size_t n, struct seal_resp *out, struct cerr *err)
{
	struct rbuf r;
	int rc;

	memset(out, 0, sizeof(*out));
	rbuf_init(&r, p, n);
	rc = tl_expect_magic(&r, TL_ID_PERSISTENT_KEY, "persistentKey", err);
	if (rc < 0)
		return rc;
	rc = tl_get_bytes(&r, &out->quote, &out->quote_len, err);
	if (rc < 0) {
		cerr_prefix(err, rc, "sgx_quote");
		goto fail;
	}
	rc = get_fixed(&r, "encrypted_secret", out->secret_enc, SEAL_SECRET_ENC_LEN, err);
	if (rc < 0)
		goto fail;
	rc = tl_expect_end(&r, err);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return cerr_prefix(err, rc, "persistentKey");
}
