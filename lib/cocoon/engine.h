/* engine.h - a small client of the container engine's HTTP API (Docker
 * Engine API v1.41, which Podman's Docker-compatible socket also serves) on
 * its unix socket, through libcurl (CURLOPT_UNIX_SOCKET_PATH).
 *
 * Replies are bounded (ENGINE_MAX_REPLY) and handed back as text; the caller
 * parses them with json-c. The engine is inside the VM and root's, but its
 * replies carry what images and containers put there, so they are still
 * parsed as untrusted JSON.
 */
#ifndef COCOON_ENGINE_H
#define COCOON_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

#define ENGINE_API "/v1.41"
#define ENGINE_MAX_REPLY (16u * 1024 * 1024)

struct engine;

int engine_open(const char *socket_path, struct engine **out, struct cerr *err);
void engine_close(struct engine *e);

/* One request: method, path below the API version ("/containers/create?
 * name=x"), an optional body of body_len bytes with its content type, and a
 * timeout (0: none). Returns 0 and the HTTP status in *status and the reply
 * (NUL-terminated, malloc'ed, may be NULL when not wanted) or -errno when the
 * engine could not be reached. */
int engine_call(struct engine *e, const char *method, const char *path, const void *body,
                size_t body_len, const char *content_type, long timeout_s, long *status,
                char **reply, struct cerr *err);

/* The same with a body of `total` bytes read through fn (called until it
 * has given them all; returns how many it put in buf, at most max). */
typedef size_t (*engine_read_fn)(void *ctx, uint8_t *buf, size_t max);
int engine_call_stream(struct engine *e, const char *method, const char *path, engine_read_fn fn,
                       void *ctx, uint64_t total, const char *content_type, long timeout_s,
                       long *status, char **reply, struct cerr *err);

/* The engine's error message in a reply ({"message": "..."}), or the reply. */
const char *engine_message(const char *reply, char *buf, size_t len);

#endif
