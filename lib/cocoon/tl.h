/* tl.h - Telegram's TL binary encoding, as Cocoon's seal protocol speaks it,
 * and the two messages of that protocol.
 *
 * TL is little-endian 32-bit aligned: a message is a constructor id (uint32)
 * followed by its fields; `bytes` and `string` share one length-prefixed,
 * zero-padded encoding (see PROTOCOLS.md, "TL encoding"). The seal protocol is
 * the only TL schema we speak, so its messages live here too rather than in a
 * module of their own.
 *
 * Encoders write to a `struct wbuf` and rely on its sticky failure: check
 * wbuf_status() (or the return of the last put) once at the end. Decoders read
 * only through `struct rbuf`, fill a `struct cerr` and, like the rbuf getters,
 * leave the reader where it was when they fail. They accept what Cocoon's own
 * parser accepts (non-zero padding, a 0xFE length below 254) and nothing that
 * would make them read past the buffer.
 */
#ifndef COCOON_TL_H
#define COCOON_TL_H

#include <stddef.h>
#include <stdint.h>

#include "cocoon/buf.h"
#include "cocoon/err.h"

/* The longest bytes/string we encode or accept: the 0xFE form's 24-bit length.
 * The 0xFF form (7-byte length) is never needed here and is refused. */
#define TL_BYTES_MAX 0xffffffu

int tl_put_u32(struct wbuf *w, uint32_t v);
int tl_put_i32(struct wbuf *w, int32_t v);
int tl_put_i64(struct wbuf *w, int64_t v);
/* Length prefix, data, zero padding. -EMSGSIZE past TL_BYTES_MAX (the wbuf is
 * marked failed, as for any other failed put). */
int tl_put_bytes(struct wbuf *w, const void *p, size_t n);
int tl_put_string(struct wbuf *w, const char *s);

int tl_get_u32(struct rbuf *r, uint32_t *v, struct cerr *err);
int tl_get_i32(struct rbuf *r, int32_t *v, struct cerr *err);
int tl_get_i64(struct rbuf *r, int64_t *v, struct cerr *err);
/* Reads a constructor id; -EBADMSG "unexpected magic ..." unless it is id.
 * what names the expected type in the message. */
int tl_expect_magic(struct rbuf *r, uint32_t id, const char *what, struct cerr *err);
/* Points *p at the data of a bytes field inside r's buffer (no copy) and sets
 * *n. The padding must be present; its value is not checked. */
int tl_get_bytes(struct rbuf *r, const uint8_t **p, size_t *n, struct cerr *err);
/* Like tl_get_bytes() but returns a malloc'ed NUL-terminated copy in *s;
 * rejects a string with an embedded NUL. */
int tl_get_string(struct rbuf *r, char **s, struct cerr *err);
/* -EBADMSG "too much data: N trailing bytes" unless r is exhausted. */
int tl_expect_end(const struct rbuf *r, struct cerr *err);

/* ---- The seal protocol (vsock port 12345) ---- */

/* getPersistentKey#317a821c tdx_report:bytes public_key:bytes key_name:string = PersistentKey; */
#define TL_ID_GET_PERSISTENT_KEY 0x317a821cu
/* persistentKey#163a179a sgx_quote:bytes encrypted_secret:bytes = PersistentKey; */
#define TL_ID_PERSISTENT_KEY 0x163a179au

#define SEAL_REPORT_LEN 1024   /* TDREPORT */
#define SEAL_PUBKEY_LEN 64     /* P-256 X || Y, each coordinate little-endian */
#define SEAL_KEY_NAME_MAX 64   /* key names: 1..64 of [A-Za-z0-9_.-] */
#define SEAL_SECRET_ENC_LEN 96 /* server public key (64) || AES-128-CTR ciphertext (32) */

struct seal_req {
	uint8_t report[SEAL_REPORT_LEN];
	uint8_t pubkey[SEAL_PUBKEY_LEN];
	char key_name[SEAL_KEY_NAME_MAX + 1];
};

struct seal_resp {
	/* Points into the buffer given to seal_resp_decode(): valid while it is. */
	const uint8_t *quote;
	size_t quote_len;
	uint8_t secret_enc[SEAL_SECRET_ENC_LEN];
};

/* 0 when name is a valid key name, else -EINVAL with a message saying why. */
int seal_key_name_check(const char *name, struct cerr *err);

int seal_req_encode(struct wbuf *w, const uint8_t report[SEAL_REPORT_LEN],
                    const uint8_t pubkey[SEAL_PUBKEY_LEN], const char *key_name, struct cerr *err);
/* Decodes one whole frame payload; trailing bytes are an error. */
int seal_req_decode(const void *p, size_t n, struct seal_req *out, struct cerr *err);

/* quote may be of any length the TL encoding allows (the frame limits it further). */
int seal_resp_encode(struct wbuf *w, const uint8_t *quote, size_t quote_len,
                     const uint8_t secret_enc[SEAL_SECRET_ENC_LEN], struct cerr *err);
int seal_resp_decode(const void *p, size_t n, struct seal_resp *out, struct cerr *err);

#endif
