/* compose.h - the Docker-mode workload spec: a strict subset of the Compose
 * format plus a top-level `x-cocoon` block (ARCHITECTURE.md §4).
 *
 * compose_parse() reads docker-compose.yml through libyaml's event parser
 * into a small bounded tree (no aliases, no duplicate keys, one document, at
 * most COMPOSE_MAX_DEPTH levels and COMPOSE_MAX_NODES nodes, valid UTF-8),
 * then checks every rule and reports every violation with the file, line and
 * key path (`services.web.cap_add[1]`), so a workload owner fixes them all in
 * one pass. What passes is summarised in `struct compose_spec`: the image
 * allowlist, registries, egress rules and the switches `cocoon-authz` and the
 * engine configuration generators need. The spec is measured, but it is also
 * parsed by the host, so the parser treats it as hostile input either way.
 */
#ifndef COCOON_COMPOSE_H
#define COCOON_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

#define COMPOSE_FILE "docker-compose.yml"
#define COMPOSE_MAX_SIZE (1024u * 1024) /* bytes of YAML */
#define COMPOSE_MAX_DEPTH 32            /* nesting of maps and sequences */
#define COMPOSE_MAX_NODES 50000         /* scalars, maps and sequences */
#define COMPOSE_MAX_SCALAR 65536        /* bytes in one scalar */

enum compose_engine { COMPOSE_ENGINE_DOCKER = 0, COMPOSE_ENGINE_PODMAN };
enum compose_proto { COMPOSE_PROTO_TCP = 0, COMPOSE_PROTO_UDP };

/* An image reference split the way the Docker engine reads it. */
struct compose_ref {
	char domain[256]; /* "docker.io" when the reference names none */
	char path[256];   /* "library/NAME" for official images on docker.io */
	char digest[72];  /* "sha256:<64 lower-case hex>" */
};

struct compose_egress {
	char *cidr; /* exactly one of cidr and host is set */
	char *host;
	uint16_t *ports;
	size_t n_ports;
	enum compose_proto proto;
	unsigned line;
};

struct compose_dep {
	char *service;
	bool healthy; /* condition: service_healthy (else: started) */
};

/* A service as cocoon-workload creates it. */
struct compose_service {
	char *name;
	char *image;              /* as written: NAME@sha256:<64 hex> */
	char restart[32];         /* as written, "" when absent */
	struct compose_dep *deps; /* depends_on */
	size_t n_deps;
	/* The Engine API (v1.41) containers/create body with exactly the spec's
	 * settings: Image, Cmd, Entrypoint, Env (env_file, then environment),
	 * ExposedPorts, WorkingDir, User, Healthcheck, Labels, and HostConfig
	 * PortBindings, Mounts, RestartPolicy, ShmSize, Ulimits, CapAdd,
	 * SecurityOpt, DeviceRequests (nvidia). NULL when the service has an
	 * env_file and the spec was parsed without opts->spec_dirfd (use
	 * compose_load_dir()). */
	char *create_json;
};

struct compose_spec {
	enum compose_engine engine;
	bool exec_allow;     /* x-cocoon.exec: allow (debug only) */
	bool data_rw;        /* x-cocoon.data_rw: binds from /data may be writable */
	bool gpu;            /* a service asks for the GPU */
	unsigned gpu_count;  /* x-cocoon.gpu.count: GPUs the VM must have (0: not given) */
	char *gpu_reference; /* x-cocoon.gpu.reference: file in the spec, or NULL */
	char **services;     /* service names */
	size_t n_services;
	struct compose_ref *images; /* the allowlist: every service's image, normalised */
	size_t n_images;
	char **registries; /* x-cocoon.registries, as written */
	size_t n_registries;
	char **volumes; /* declared named volumes */
	size_t n_volumes;
	struct compose_egress *egress;
	size_t n_egress;
	struct compose_service *svc; /* in the order of the spec (filled when out != NULL) */
	size_t n_svc;
};

struct compose_problem {
	const char *file; /* as given to compose_parse() */
	unsigned line;    /* 1-based; 0 when the problem is about the whole file */
	const char *key;  /* path of the offending key, "" for the document */
	const char *msg;  /* what is wrong and what to do */
};

/* Called for every violation; false stops the checks early. */
typedef bool (*compose_problem_fn)(void *ctx, const struct compose_problem *p);

struct compose_opts {
	compose_problem_fn on_problem; /* NULL: only the first problem, through err */
	void *ctx;
	int spec_dirfd; /* >= 0: env_file entries must exist there as regular files */
};

/* Parses and checks `text` (len bytes, named `file` in messages). Returns 0
 * and fills *out (when out is not NULL) if the spec follows every rule;
 * -EINVAL if it does not (err holds the first problem as "file:line: key:
 * msg", each problem went to on_problem); -ENOMEM on memory failure. */
int compose_parse(const char *file, const char *text, size_t len, const struct compose_opts *opts,
                  struct compose_spec *out, struct cerr *err);

/* Reads `dir/docker-compose.yml` (not following a symlink) and parses it. */
int compose_load_dir(const char *dir, const struct compose_opts *opts, struct compose_spec *out,
                     struct cerr *err);

void compose_spec_free(struct compose_spec *s);

/* Splits an image reference. With require_digest, a reference without
 * `@sha256:<64 hex>` or with a tag is refused. Returns 0 or -EINVAL with a
 * message in err saying what is wrong with it. */
int compose_ref_parse(const char *ref, bool require_digest, struct compose_ref *out,
                      struct cerr *err);

/* True when rel (a path relative to the spec) is under what the spec hash
 * leaves out at the top level: runtime/, spec.tree, spec.meta ("./" and
 * repeated slashes seen through). */
bool compose_path_unmeasured(const char *rel);

/* The lines of an env_file (len bytes; the spec is measured but still
 * parsed as untrusted): blank lines and lines starting with '#' (after
 * leading white space) are skipped, a CR before the line end dropped, each
 * other line must be NAME=VALUE and goes to add(ctx, line, length). -EINVAL,
 * naming path and line, for a NUL byte, a line without '=' or with an empty
 * name, more than COMPOSE_ENV_MAX variables; -ENOMEM when add fails. */
#define COMPOSE_ENV_MAX 10000
typedef bool (*compose_env_fn)(void *ctx, const char *line, size_t len);
int compose_env_parse(const char *path, const char *text, size_t len, compose_env_fn add, void *ctx,
                      struct cerr *err);

/* True when the normalised reference is in the spec's allowlist. */
bool compose_image_allowed(const struct compose_spec *s, const struct compose_ref *ref);

/* True when `domain` (a reference's registry) is one of x-cocoon.registries;
 * docker.io, index.docker.io and registry-1.docker.io are the same registry. */
bool compose_registry_allowed(const struct compose_spec *s, const char *domain);

/* The capability name as the engine knows it: "CAP_" stripped, upper case.
 * Returns false when it does not fit in out. */
bool compose_cap_normalise(const char *in, char *out, size_t outlen);

/* True for the capabilities a service may add (NET_BIND_SERVICE, SYS_NICE,
 * IPC_LOCK), given normalised. */
bool compose_cap_allowed(const char *cap);

/* Checks a bind source: allowed only under /data/ or /spec/ (or those
 * directories themselves), absolute, without "." or ".." components. Returns
 * NULL when allowed, else why not. */
const char *compose_bind_source_problem(const char *src);

#endif
