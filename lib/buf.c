/* buf.c - bounds-checked reader and limited writer; see cocoon/buf.h. */
#include "cocoon/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/util.h"

void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = p ? len : 0;
	r->off = 0;
}

size_t rbuf_left(const struct rbuf *r)
{
	return r->len - r->off;
}

int rbuf_direct(struct rbuf *r, size_t n, const uint8_t **p)
{
	if (n > rbuf_left(r))
		return -EBADMSG;
	if (p)
		*p = r->p + r->off;
	r->off += n;
	return 0;
}

int rbuf_copy(struct rbuf *r, void *out, size_t n)
{
	const uint8_t *p;
	int rc = rbuf_direct(r, n, &p);

	if (rc == 0 && n)
		memcpy(out, p, n);
	return rc;
}

int rbuf_skip(struct rbuf *r, size_t n)
{
	return rbuf_direct(r, n, NULL);
}

int rbuf_sub(struct rbuf *r, size_t n, struct rbuf *sub)
{
	const uint8_t *p;
	int rc = rbuf_direct(r, n, &p);

	if (rc == 0)
		rbuf_init(sub, p, n);
	return rc;
}

/* little-endian integer of n bytes */
static int get_le(struct rbuf *r, size_t n, uint64_t *v)
{
	const uint8_t *p;
	uint64_t x = 0;
	int rc = rbuf_direct(r, n, &p);

	if (rc < 0)
		return rc;
	for (size_t i = n; i-- > 0;)
		x = (x << 8) | p[i];
	*v = x;
	return 0;
}

int rbuf_u8(struct rbuf *r, uint8_t *v)
{
	uint64_t x;
	int rc = get_le(r, 1, &x);

	if (rc == 0)
		*v = (uint8_t)x;
	return rc;
}

int rbuf_u16le(struct rbuf *r, uint16_t *v)
{
	uint64_t x;
	int rc = get_le(r, 2, &x);

	if (rc == 0)
		*v = (uint16_t)x;
	return rc;
}

int rbuf_u24le(struct rbuf *r, uint32_t *v)
{
	uint64_t x;
	int rc = get_le(r, 3, &x);

	if (rc == 0)
		*v = (uint32_t)x;
	return rc;
}

int rbuf_u32le(struct rbuf *r, uint32_t *v)
{
	uint64_t x;
	int rc = get_le(r, 4, &x);

	if (rc == 0)
		*v = (uint32_t)x;
	return rc;
}

int rbuf_u64le(struct rbuf *r, uint64_t *v)
{
	return get_le(r, 8, v);
}

void wbuf_init(struct wbuf *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max ? max : SIZE_MAX / 2;
}

int wbuf_fail(struct wbuf *w, int r)
{
	if (!w->failed) {
		w->failed = true;
		w->error = r;
	}
	return w->error;
}

static int reserve(struct wbuf *w, size_t n)
{
	size_t want, cap;
	uint8_t *np;

	if (w->failed)
		return w->error;
	if (n > w->max - w->len)
		return wbuf_fail(w, -EMSGSIZE);
	want = w->len + n;
	if (want <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 64;
	while (cap < want)
		cap = cap > w->max / 2 ? w->max : cap * 2;
	/* grow by copy + wipe rather than realloc so no stale copy of a secret stays in the heap */
	np = malloc(cap);
	if (!np)
		return wbuf_fail(w, -ENOMEM);
	if (w->len)
		memcpy(np, w->p, w->len);
	secure_free(w->p, w->cap);
	w->p = np;
	w->cap = cap;
	return 0;
}

int wbuf_put(struct wbuf *w, const void *p, size_t n)
{
	int rc = reserve(w, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
	return 0;
}

int wbuf_zero(struct wbuf *w, size_t n)
{
	int rc = reserve(w, n);

	if (rc < 0)
		return rc;
	memset(w->p + w->len, 0, n);
	w->len += n;
	return 0;
}

static int put_le(struct wbuf *w, uint64_t v, size_t n)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return wbuf_put(w, b, n);
}

int wbuf_u8(struct wbuf *w, uint8_t v)
{
	return put_le(w, v, 1);
}

int wbuf_u16le(struct wbuf *w, uint16_t v)
{
	return put_le(w, v, 2);
}

int wbuf_u24le(struct wbuf *w, uint32_t v)
{
	if (v > 0xffffff)
		return wbuf_fail(w, -ERANGE);
	return put_le(w, v, 3);
}

int wbuf_u32le(struct wbuf *w, uint32_t v)
{
	return put_le(w, v, 4);
}

int wbuf_u64le(struct wbuf *w, uint64_t v)
{
	return put_le(w, v, 8);
}

int wbuf_printf(struct wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return wbuf_fail(w, -EINVAL);
	rc = reserve(w, (size_t)n + 1);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)w->p + w->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	w->len += (size_t)n;
	return 0;
}

int wbuf_status(const struct wbuf *w)
{
	return w->failed ? w->error : 0;
}

uint8_t *wbuf_steal(struct wbuf *w, size_t *len)
{
	uint8_t *p = w->p;

	if (len)
		*len = w->len;
	w->p = NULL;
	w->len = w->cap = 0;
	w->failed = false;
	w->error = 0;
	return p;
}

void wbuf_free(struct wbuf *w)
{
	secure_free(w->p, w->cap);
	w->p = NULL;
	w->len = w->cap = 0;
	w->failed = false;
	w->error = 0;
}
