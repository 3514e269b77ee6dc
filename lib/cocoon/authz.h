/* authz.h - the decisions of the Docker authorization plugin (cocoon-authz).
 *
 * dockerd asks the plugin about every API request before running it
 * (`/AuthZPlugin.AuthZReq`, JSON with moby's field names: RequestMethod,
 * RequestUri, RequestBody as base64 of the JSON body, ...). authz_decide()
 * answers from the measured workload spec: reads are allowed; pulls only by
 * an allowlisted digest from an allowed registry; container creation only
 * with an allowlisted image and nothing the spec rules reject; exec only
 * with `x-cocoon.exec: allow`; images/load only while the start-up window is
 * open; build, commit, import, push, plugins, swarm and every state-changing
 * endpoint it does not know are denied. Anything it cannot parse is denied.
 * Every denial says which spec rule forbids the request.
 *
 * The module does no I/O: the program (guest/cocoon-authz) owns the socket,
 * the spec and the start-up window, so the decisions can be tested and
 * benchmarked on recorded requests.
 */
#ifndef COCOON_AUTHZ_H
#define COCOON_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

#include "cocoon/compose.h"

#define AUTHZ_MAX_REQUEST (8u * 1024 * 1024) /* bytes of AuthZReq JSON */
#define AUTHZ_MAX_DEPTH 64                   /* JSON nesting */

struct authz_verdict {
	bool allow;
	char msg[512]; /* why, for a denial: shown to the docker client */
};

struct authz_env {
	const struct compose_spec *spec;
	bool load_window_open; /* cocoon-workload's start-up window for images/load */
	/* cocoon-workload's list of images it loaded from verified archives:
	 * lines "sha256:<image ID> <service image reference>" (NUL-terminated;
	 * NULL when there is none). dockerd 20.10 knows a loaded image only by
	 * its ID (the config digest, which the verified manifest pins), so a
	 * create may name such an ID when the line maps it to a service's image. */
	const char *verified_ids;
};

/* True when `id` ("sha256:<64 hex>") maps to an allowlisted service image in
 * env->verified_ids. */
bool authz_verified_id(const struct authz_env *env, const char *id);

/* Decides an AuthZReq given as its raw JSON (len bytes). Never fails: what
 * cannot be parsed is a denial with the reason in v->msg. */
void authz_decide(const struct authz_env *env, const char *json, size_t len,
                  struct authz_verdict *v);

/* One API request as dockerd shows it to the plugin. */
struct authz_request {
	const char *method;
	const char *uri;
	const char *body; /* decoded; NULL when dockerd forwarded none */
	size_t body_len;
	/* RequestHeaders (dockerd gives the last value of a repeated header;
	 * NULL when absent) */
	const char *content_type;
	const char *content_length;
};

/* Decides one request. */
void authz_decide_request(const struct authz_env *env, const struct authz_request *rq,
                          struct authz_verdict *v);

/* Decides on the already-extracted parts, as if the request carried exactly
 * this body (Content-Length its length, Content-Type JSON or, without a
 * body, text/plain as the docker CLI sends); body is the decoded request body
 * (NULL when dockerd forwarded none). For tests and the bench. */
void authz_decide_parts(const struct authz_env *env, const char *method, const char *uri,
                        const char *body, size_t body_len, struct authz_verdict *v);

/* The reply JSON for a verdict: {"Allow":..,"Msg":..,"Err":""}; malloc'ed. */
char *authz_reply_json(const struct authz_verdict *v);

#endif
