/* answer.c - the health answer and the QMP stream; see answer.h. */
#include "answer.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

/* the one JSON value of p[0..n): an object, with nothing after it but
 * white space; NULL for anything else (a NUL byte included) */
static json_object *parse_object(const char *p, size_t n)
{
	json_tokener *tok;
	json_object *o;
	size_t end;

	if (n == 0 || n > (size_t)INT32_MAX || memchr(p, '\0', n))
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, p, (int)n);
	end = json_tokener_get_parse_end(tok);
	if (o && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o)
		return NULL;
	while (end < n && strchr(" \t\r\n", p[end]))
		end++;
	if (end != n || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* the member key of o when it is a string, else NULL */
static const char *get_string(json_object *o, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

enum health_answer health_answer_parse(const uint8_t *p, size_t n)
{
	json_object *o = parse_object((const char *)p, n), *ready, *error;
	enum health_answer a = HEALTH_ANSWER_NOT_OURS;
	const char *boot;
	size_t blen = 0;

	if (!o)
		return a;
	if (!json_object_object_get_ex(o, "ready", &ready) ||
	    !json_object_is_type(ready, json_type_boolean))
		goto out;
	if (json_object_get_boolean(ready)) {
		a = HEALTH_ANSWER_READY;
		goto out;
	}
	boot = get_string(o, "boot", &blen);
	if ((json_object_object_get_ex(o, "error", &error) && error) ||
	    (boot && blen >= 6 && !memcmp(boot, "failed", 6)))
		a = HEALTH_ANSWER_FAILED;
	else
		a = HEALTH_ANSWER_BOOTING;
out:
	json_object_put(o);
	return a;
}

static bool plain(uint8_t c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

void answer_excerpt(const uint8_t *p, size_t n, char *out, size_t out_len)
{
	size_t o = 0, want = 0, room;

	if (out_len == 0)
		return;
	for (size_t i = 0; i < n; i++)
		want += plain(p[i]) ? 1 : 4;
	/* cut: leave room for "..." */
	room = want < out_len ? want : (out_len > 4 ? out_len - 4 : 0);
	for (size_t i = 0; i < n; i++) {
		size_t need = plain(p[i]) ? 1 : 4;

		if (o + need > room)
			break;
		if (need == 1)
			out[o++] = (char)p[i];
		else
			o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", p[i]);
	}
	if (want >= out_len && out_len > 4) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void qmp_stream_init(struct qmp_stream *q)
{
	memset(q, 0, sizeof(*q));
}

void qmp_stream_line(struct qmp_stream *q, const char *p, size_t n)
{
	json_object *o = parse_object(p, n), *data;
	const char *name, *reason;
	size_t rlen = 0;

	if (!o)
		return;
	name = get_string(o, "event", NULL);
	if (name) {
		q->events++;
		if (!strcmp(name, "SHUTDOWN") && json_object_object_get_ex(o, "data", &data) &&
		    (reason = get_string(data, "reason", &rlen)))
			answer_excerpt((const uint8_t *)reason, rlen, q->shutdown_reason,
			               sizeof(q->shutdown_reason));
	}
	json_object_put(o);
}

void qmp_stream_feed(struct qmp_stream *q, const uint8_t *p, size_t n)
{
	while (n) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;

		if (!q->overlong && q->len + take > QMP_LINE_MAX) {
			q->overlong = true; /* no QMP line is that long: drop it */
			q->len = 0;
		}
		if (!q->overlong) {
			memcpy(q->line + q->len, p, take);
			q->len += take;
		}
		if (!nl)
			return;
		if (!q->overlong)
			qmp_stream_line(q, q->line, q->len);
		q->len = 0;
		q->overlong = false;
		p = nl + 1;
		n -= take + 1;
	}
}
