/* engine.c - Engine API requests over the engine's unix socket (libcurl);
 * see cocoon/engine.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cocoon/buf.h"
#include "cocoon/engine.h"

struct engine {
	CURL *c;
	char *sock;
};

int engine_open(const char *socket_path, struct engine **out, struct cerr *err)
{
	struct engine *e = calloc(1, sizeof(*e));
	static bool inited;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
			free(e);
			return cerr_setx(err, EIO, "libcurl initialisation failed");
		}
		inited = true;
	}
	if (!e || !(e->sock = strdup(socket_path)) || !(e->c = curl_easy_init())) {
		if (e)
			free(e->sock);
		free(e);
		return cerr_set(err, ENOMEM, "engine client");
	}
	*out = e;
	return 0;
}

void engine_close(struct engine *e)
{
	if (!e)
		return;
	curl_easy_cleanup(e->c);
	free(e->sock);
	free(e);
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct wbuf *w = ud;

	if (wbuf_put(w, p, size * n) < 0)
		return 0; /* over the limit: libcurl stops with CURLE_WRITE_ERROR */
	return size * n;
}

struct reader {
	engine_read_fn fn;
	void *ctx;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct reader *rd = ud;

	return rd->fn(rd->ctx, (uint8_t *)buf, size * n);
}

static int call(struct engine *e, const char *method, const char *path, const void *body,
                size_t body_len, struct reader *rd, uint64_t total, const char *content_type,
                long timeout_s, long *status, char **reply, struct cerr *err)
{
	struct curl_slist *h = NULL;
	struct wbuf w;
	char url[4096], ct[128];
	CURLcode rc;

	if (snprintf(url, sizeof(url), "http://localhost" ENGINE_API "%s", path) >=
	    (int)sizeof(url))
		return cerr_setx(err, ENAMETOOLONG, "engine request %s: path too long", path);
	wbuf_init(&w, ENGINE_MAX_REPLY);
	curl_easy_reset(e->c);
	curl_easy_setopt(e->c, CURLOPT_UNIX_SOCKET_PATH, e->sock);
	curl_easy_setopt(e->c, CURLOPT_URL, url);
	curl_easy_setopt(e->c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e->c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e->c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(e->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e->c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(e->c, CURLOPT_PROTOCOLS_STR, "http");
	if (body || rd) {
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		h = curl_slist_append(h, ct);
		h = curl_slist_append(h, "Expect:");
	}
	if (rd) {
		curl_easy_setopt(e->c, CURLOPT_POST, 1L);
		curl_easy_setopt(e->c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e->c, CURLOPT_READDATA, rd);
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)total);
	} else if (body) {
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e->c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(e->c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(e->c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(e->c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		int st = wbuf_status(&w);
		wbuf_free(&w);
		if (st < 0)
			return cerr_setx(err, EMSGSIZE, "engine %s %s: reply over %u bytes", method,
			                 path, ENGINE_MAX_REPLY);
		return cerr_setx(err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : ECONNREFUSED,
		                 "engine %s %s on %s: %s (is the engine running?)", method, path,
		                 e->sock, curl_easy_strerror(rc));
	}
	curl_easy_getinfo(e->c, CURLINFO_RESPONSE_CODE, status);
	if (reply) {
		size_t n;
		wbuf_u8(&w, 0);
		if (wbuf_status(&w) < 0) {
			wbuf_free(&w);
			return cerr_set(err, ENOMEM, "engine reply");
		}
		*reply = (char *)wbuf_steal(&w, &n);
	}
	wbuf_free(&w);
	return 0;
}

int engine_call(struct engine *e, const char *method, const char *path, const void *body,
                size_t body_len, const char *content_type, long timeout_s, long *status,
                char **reply, struct cerr *err)
{
	return call(e, method, path, body, body_len, NULL, 0, content_type, timeout_s, status,
	            reply, err);
}

int engine_call_stream(struct engine *e, const char *method, const char *path, engine_read_fn fn,
                       void *ctx, uint64_t total, const char *content_type, long timeout_s,
                       long *status, char **reply, struct cerr *err)
{
	struct reader rd = {fn, ctx};

	return call(e, method, path, NULL, 0, &rd, total, content_type, timeout_s, status, reply,
	            err);
}

const char *engine_message(const char *reply, char *buf, size_t len)
{
	json_object *o, *m;

	if (!reply)
		return "";
	o = json_tokener_parse(reply);
	if (o && json_object_object_get_ex(o, "message", &m) &&
	    json_object_is_type(m, json_type_string)) {
		snprintf(buf, len, "%s", json_object_get_string(m));
		json_object_put(o);
		return buf;
	}
	json_object_put(o);
	snprintf(buf, len, "%.*s", (int)strcspn(reply, "\n"), reply);
	return buf;
}
