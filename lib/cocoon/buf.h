/* buf.h - bounds-checked byte reader and growable writer.
 *
 * Every byte that comes from a peer, a file the host handed in or any other
 * untrusted source is read through `struct rbuf`: each getter checks the
 * remaining length first and returns -EBADMSG instead of reading past the end,
 * and leaves the reader where it was on failure. No code outside this module
 * does pointer arithmetic on untrusted bytes.
 *
 * `struct wbuf` grows up to a caller-set limit; once a put fails the buffer is
 * marked failed and every later put fails too, so encoders can check once at
 * the end. wbuf_free() wipes the contents (buffers often hold key material).
 */
#ifndef COCOON_BUF_H
#define COCOON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
};

void rbuf_init(struct rbuf *r, const void *p, size_t len);
size_t rbuf_left(const struct rbuf *r);
int rbuf_u8(struct rbuf *r, uint8_t *v);
int rbuf_u16le(struct rbuf *r, uint16_t *v);
int rbuf_u24le(struct rbuf *r, uint32_t *v);
int rbuf_u32le(struct rbuf *r, uint32_t *v);
int rbuf_u64le(struct rbuf *r, uint64_t *v);
/* Points *p at the next n bytes without copying; advances. */
int rbuf_direct(struct rbuf *r, size_t n, const uint8_t **p);
/* Copies the next n bytes into out; advances. */
int rbuf_copy(struct rbuf *r, void *out, size_t n);
int rbuf_skip(struct rbuf *r, size_t n);
/* A sub-reader over the next n bytes; advances the parent past them. */
int rbuf_sub(struct rbuf *r, size_t n, struct rbuf *sub);

struct wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max; /* 0: SIZE_MAX / 2 */
	bool failed;
	int error; /* the first failure: -EMSGSIZE, -ENOMEM or -ERANGE */
};

void wbuf_init(struct wbuf *w, size_t max);
int wbuf_put(struct wbuf *w, const void *p, size_t n);
int wbuf_zero(struct wbuf *w, size_t n);
int wbuf_u8(struct wbuf *w, uint8_t v);
int wbuf_u16le(struct wbuf *w, uint16_t v);
int wbuf_u24le(struct wbuf *w, uint32_t v);
int wbuf_u32le(struct wbuf *w, uint32_t v);
int wbuf_u64le(struct wbuf *w, uint64_t v);
int wbuf_printf(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Marks the buffer failed with r (< 0) unless it already failed; returns
 * the error that sticks. For encoders that refuse a value themselves. */
int wbuf_fail(struct wbuf *w, int r);
/* Returns the error of the first put that failed, 0 if none did. */
int wbuf_status(const struct wbuf *w);
/* Hands the bytes out (caller frees); the wbuf is reset. */
uint8_t *wbuf_steal(struct wbuf *w, size_t *len);
/* Wipes and frees. */
void wbuf_free(struct wbuf *w);

#endif
