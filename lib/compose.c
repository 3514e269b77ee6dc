/* compose.c - the Docker-mode workload spec; see cocoon/compose.h.
 *
 * Two stages. First libyaml's event parser builds a small tree of scalars,
 * maps and sequences, refusing what makes YAML dangerous to a reader that
 * trusts nothing: aliases (the "billion laughs" expansion and every confusion
 * that comes from one node appearing twice), tags, several documents,
 * duplicate keys (YAML says they are an error; many parsers keep the last
 * one, which lets a reviewer read a different spec from the one that runs),
 * deep nesting and huge documents. libyaml itself refuses bytes that are not
 * UTF-8 and control characters. Then the rules walk the tree; every rule
 * failure is reported with its line and key path and the walk goes on, so
 * one run lists everything to fix.
 */
#include "cocoon/compose.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <json-c/json.h>
#include <limits.h>
#include <yaml.h>

#include "cocoon/util.h"

/* ---- the YAML tree ------------------------------------------------------ */

/* Names of keys in messages: "services.web.ports[2]". */
#define KEY_MAX 512

enum ykind { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
	enum ykind kind;
	unsigned line;
	bool plain;       /* scalar written without quotes (null, bool, int are plain) */
	char *s;          /* scalar text, NUL-terminated */
	struct ynode **v; /* map: key, value, key, value...; seq: items */
	size_t n, cap;
};

static void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		ynode_free(n->v[i]);
	free(n->v);
	free(n->s);
	free(n);
}

struct checker {
	const char *file;
	const struct compose_opts *opts;
	struct cerr *err;
	unsigned problems;
	bool stop; /* the callback asked to stop */
	bool oom;
	struct compose_spec spec;
	const struct ynode *top_volumes;
	const struct ynode *services;
};

static void report(struct checker *c, unsigned line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report(struct checker *c, unsigned line, const char *key, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	struct compose_problem p = {c->file, line, key, msg};

	if (c->stop)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!c->problems++) {
		if (line)
			cerr_setx(c->err, EINVAL, "%s:%u: %s%s%s", c->file, line, key,
			          *key ? ": " : "", msg);
		else
			cerr_setx(c->err, EINVAL, "%s: %s%s%s", c->file, key, *key ? ": " : "",
			          msg);
	}
	if (!c->opts || !c->opts->on_problem) {
		c->stop = true;
		return;
	}
	if (!c->opts->on_problem(c->opts->ctx, &p))
		c->stop = true;
}

static bool scalar_eq(const struct ynode *a, const struct ynode *b)
{
	return a->kind == Y_SCALAR && b->kind == Y_SCALAR && !strcmp(a->s, b->s);
}

/* The key path of the node about to be added under the open stack: the
 * last entry of each outer level, and for the innermost level the entry that
 * comes next (for a map key: the map itself). */
static void stack_path(struct ynode *const *stack, size_t depth, char out[KEY_MAX])
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < depth && off < KEY_MAX; i++) {
		const struct ynode *p = stack[i];
		bool last = i + 1 == depth;
		int w = 0;

		if (p->kind == Y_MAP && (last ? p->n % 2 == 1 : p->n > 0))
			w = snprintf(out + off, KEY_MAX - off, "%s%s", off ? "." : "",
			             p->v[(p->n - 1) & ~(size_t)1]->s);
		else if (p->kind == Y_SEQ)
			w = snprintf(out + off, KEY_MAX - off, "[%zu]", last ? p->n : p->n - 1);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (off >= KEY_MAX)
		out[KEY_MAX - 1] = '\0';
}

/* Adds child to parent; for a map key, refuses a duplicate. */
static int tree_add(struct checker *c, struct ynode *parent, struct ynode *child, const char *key)
{
	if (parent->kind == Y_MAP && parent->n % 2 == 0) {
		if (child->kind != Y_SCALAR) {
			report(c, child->line, key, "a map key must be a plain string");
			return -EINVAL;
		}
		for (size_t i = 0; i < parent->n; i += 2)
			if (scalar_eq(parent->v[i], child)) {
				char k[KEY_MAX];

				snprintf(k, sizeof(k), "%s%s%s", key, *key ? "." : "", child->s);
				report(c, child->line, k,
				       "duplicate key '%s' (first at line %u): YAML forbids it and "
				       "readers disagree on which one wins; keep one",
				       child->s, parent->v[i]->line);
				return -EINVAL;
			}
	}
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct ynode **nv = realloc(parent->v, cap * sizeof(*nv));

		if (!nv) {
			c->oom = true;
			return -ENOMEM;
		}
		parent->v = nv;
		parent->cap = cap;
	}
	parent->v[parent->n++] = child;
	return 0;
}

static const char *event_anchor(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)e->data.scalar.anchor;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)e->data.sequence_start.anchor;
	case YAML_MAPPING_START_EVENT:
		return (const char *)e->data.mapping_start.anchor;
	default:
		return NULL;
	}
}

static bool event_tagged(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return e->data.scalar.tag != NULL;
	case YAML_SEQUENCE_START_EVENT:
		return e->data.sequence_start.tag != NULL;
	case YAML_MAPPING_START_EVENT:
		return e->data.mapping_start.tag != NULL;
	default:
		return false;
	}
}

/* Builds the tree of the single document in text. On refusal the problem
 * has been reported and *root is NULL. */
static int tree_build(struct checker *c, const char *text, size_t len, struct ynode **root)
{
	yaml_parser_t parser;
	struct ynode *stack[COMPOSE_MAX_DEPTH + 1];
	size_t depth = 0, nodes = 0;
	unsigned docs = 0;
	struct ynode *top = NULL;
	char path[KEY_MAX];
	int r = 0;

	*root = NULL;
	if (len > COMPOSE_MAX_SIZE) {
		report(c, 0, "", "%zu bytes is more than the %u a workload spec may have", len,
		       COMPOSE_MAX_SIZE);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&parser)) {
		c->oom = true;
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	for (bool done = false; !done && r == 0;) {
		yaml_event_t e;
		unsigned line;
		struct ynode *n = NULL;

		if (!yaml_parser_parse(&parser, &e)) {
			if (parser.error == YAML_MEMORY_ERROR) {
				c->oom = true;
				r = -ENOMEM;
			} else {
				unsigned eline = (unsigned)parser.problem_mark.line + 1;

				/* reader errors (bad UTF-8, control characters) carry
				 * only a byte offset */
				if (parser.error == YAML_READER_ERROR) {
					eline = 1;
					for (size_t i = 0; i < parser.problem_offset && i < len;
					     i++)
						eline += text[i] == '\n';
				}
				report(c, eline, "", "not valid YAML: %s%s%s",
				       parser.problem ? parser.problem : "?",
				       parser.context ? " " : "",
				       parser.context ? parser.context : "");
				r = -EINVAL;
			}
			break;
		}
		line = (unsigned)e.start_mark.line + 1;
		stack_path(stack, depth, path);
		if (event_anchor(&e) && e.type != YAML_ALIAS_EVENT) {
			/* anchors are only useful with aliases, which are refused */
			report(c, line, path,
			       "YAML anchors (&%s) are not allowed in a workload spec: write the "
			       "values out",
			       event_anchor(&e));
			r = -EINVAL;
		} else if (event_tagged(&e)) {
			report(c, line, path,
			       "YAML tags (!...) are not allowed in a workload spec");
			r = -EINVAL;
		}
		switch (r ? YAML_NO_EVENT : e.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				report(
				    c, line, path,
				    "more than one YAML document: a workload spec is one document");
				r = -EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			report(c, line, path,
			       "YAML aliases (*%s) are not allowed in a workload spec: write the "
			       "values out",
			       (const char *)e.data.alias.anchor);
			r = -EINVAL;
			break;
		case YAML_SCALAR_EVENT:
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++nodes > COMPOSE_MAX_NODES) {
				report(c, line, path, "more than %u YAML nodes", COMPOSE_MAX_NODES);
				r = -EINVAL;
				break;
			}
			n = calloc(1, sizeof(*n));
			if (!n) {
				c->oom = true;
				r = -ENOMEM;
				break;
			}
			n->line = line;
			if (e.type == YAML_SCALAR_EVENT) {
				n->kind = Y_SCALAR;
				n->plain = e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				if (e.data.scalar.length > COMPOSE_MAX_SCALAR ||
				    memchr(e.data.scalar.value, 0, e.data.scalar.length)) {
					report(
					    c, line, path,
					    "a scalar longer than %u bytes or holding a NUL byte",
					    COMPOSE_MAX_SCALAR);
					ynode_free(n);
					r = -EINVAL;
					break;
				}
				n->s = strndup((const char *)e.data.scalar.value,
				               e.data.scalar.length);
				if (!n->s) {
					free(n);
					c->oom = true;
					r = -ENOMEM;
					break;
				}
			} else {
				n->kind = e.type == YAML_MAPPING_START_EVENT ? Y_MAP : Y_SEQ;
			}
			if (depth == 0) {
				top = n;
			} else if ((r = tree_add(c, stack[depth - 1], n, path)) < 0) {
				ynode_free(n);
				break;
			}
			if (n->kind != Y_SCALAR) {
				if (depth == COMPOSE_MAX_DEPTH) {
					report(c, line, path,
					       "nested more than %u levels deep: a workload spec "
					       "does not need that",
					       COMPOSE_MAX_DEPTH);
					r = -EINVAL;
					break;
				}
				stack[depth++] = n;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&e);
	}
	yaml_parser_delete(&parser);
	if (r < 0) {
		ynode_free(top);
		return r;
	}
	*root = top;
	return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static bool is_null(const struct ynode *n)
{
	return !n || (n->kind == Y_SCALAR && n->plain &&
	              (!*n->s || !strcmp(n->s, "~") || !strcmp(n->s, "null") ||
	               !strcmp(n->s, "Null") || !strcmp(n->s, "NULL")));
}

static bool is_str(const struct ynode *n)
{
	return n && n->kind == Y_SCALAR && !is_null(n);
}

static int as_bool(const struct ynode *n)
{
	if (!n || n->kind != Y_SCALAR || !n->plain)
		return -1;
	if (!strcmp(n->s, "true") || !strcmp(n->s, "True") || !strcmp(n->s, "TRUE"))
		return 1;
	if (!strcmp(n->s, "false") || !strcmp(n->s, "False") || !strcmp(n->s, "FALSE"))
		return 0;
	return -1;
}

/* A decimal integer in [min, max]; quoted numbers are accepted as Compose does. */
static bool as_uint(const struct ynode *n, unsigned long min, unsigned long max, unsigned long *v)
{
	char *end;

	if (!is_str(n) || !isdigit((unsigned char)n->s[0]))
		return false;
	errno = 0;
	*v = strtoul(n->s, &end, 10);
	return !errno && !*end && *v >= min && *v <= max;
}

static bool uint_str(const char *s, size_t len, unsigned long min, unsigned long max,
                     unsigned long *v)
{
	unsigned long x = 0;

	if (!len || len > 10)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	*v = x;
	return x >= min && x <= max;
}

static const struct ynode *map_get(const struct ynode *m, const char *key)
{
	if (!m || m->kind != Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < m->n; i += 2)
		if (!strcmp(m->v[i]->s, key))
			return m->v[i + 1];
	return NULL;
}

static const char *kind_name(const struct ynode *n)
{
	if (is_null(n))
		return "nothing";
	return n->kind == Y_MAP ? "a map" : n->kind == Y_SEQ ? "a list" : "a scalar";
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static char *xstrdup(struct checker *c, const char *s)
{
	char *d = strdup(s);

	if (!d)
		c->oom = true;
	return d;
}

static bool push_str(struct checker *c, char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(**v));

	if (!nv) {
		c->oom = true;
		return false;
	}
	*v = nv;
	nv[*n] = xstrdup(c, s);
	if (!nv[*n])
		return false;
	(*n)++;
	return true;
}

/* Key paths are cut at KEY_MAX - 1 bytes: long ones are still recognisable. */
static void key_fmt(char out[KEY_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void key_fmt(char out[KEY_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, KEY_MAX, fmt, ap);
	va_end(ap);
}

static void key_join(char out[KEY_MAX], const char *base, const char *name)
{
	key_fmt(out, "%s%s%s", base, *base ? "." : "", name);
}

static void key_index(char out[KEY_MAX], const char *base, size_t i)
{
	key_fmt(out, "%s[%zu]", base, i);
}

/* Either a string or a list of strings (command, entrypoint, env_file...). */
static bool str_or_strlist(struct checker *c, const struct ynode *n, const char *key)
{
	if (is_str(n))
		return true;
	if (n && n->kind == Y_SEQ) {
		for (size_t i = 0; i < n->n; i++)
			if (n->v[i]->kind != Y_SCALAR) {
				char k[KEY_MAX];

				key_index(k, key, i);
				report(c, n->v[i]->line, k, "must be a string, not %s",
				       kind_name(n->v[i]));
				return false;
			}
		return true;
	}
	report(c, n ? n->line : 0, key, "must be a string or a list of strings, not %s",
	       kind_name(n));
	return false;
}

/* ---- image references --------------------------------------------------- */

static bool is_alnum_lower(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
		return false;
	while (i < n) {
		if (is_alnum_lower(s[i])) {
			i++;
			continue;
		}
		if (s[i] == '.') {
			i++;
		} else if (s[i] == '_') {
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		} else if (s[i] == '-') {
			while (i < n && s[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i >= n || !is_alnum_lower(s[i]))
			return false;
	}
	return true;
}

/* host[:port], host made of dot-separated labels of [A-Za-z0-9-]. */
static bool domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t hlen = colon ? (size_t)(colon - s) : n;
	size_t label = 0;
	unsigned long port;

	if (!hlen || hlen > 253)
		return false;
	for (size_t i = 0; i < hlen; i++) {
		char ch = s[i];

		if (ch == '.') {
			if (!label || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-')
			return false;
		if (ch == '-' && !label)
			return false;
		if (++label > 63)
			return false;
	}
	if (!label || s[hlen - 1] == '-')
		return false;
	return !colon || uint_str(colon + 1, n - hlen - 1, 1, 65535, &port);
}

int compose_ref_parse(const char *ref, bool require_digest, struct compose_ref *out,
                      struct cerr *err)
{
	const char *at = strchr(ref, '@');
	size_t namelen = at ? (size_t)(at - ref) : strlen(ref);
	const char *slash = memchr(ref, '/', namelen);
	const char *path = ref;
	size_t dlen = 0;

	memset(out, 0, sizeof(*out));
	if (!namelen || namelen > 255)
		return cerr_setx(err, EINVAL, "'%s' is not an image name", ref);
	/* the first component is a registry when it looks like a host */
	if (slash) {
		size_t first = (size_t)(slash - ref);

		if (memchr(ref, '.', first) || memchr(ref, ':', first) ||
		    (first == 9 && !memcmp(ref, "localhost", 9))) {
			if (!domain_ok(ref, first))
				return cerr_setx(err, EINVAL,
				                 "'%.*s' is not a registry host[:port]", (int)first,
				                 ref);
			dlen = first;
			path = slash + 1;
		}
	}
	size_t plen = namelen - (size_t)(path - ref);
	const char *tag = NULL;

	for (size_t i = 0, start = 0; i <= plen; i++) {
		if (i < plen && path[i] == ':' && !tag) {
			tag = path + i + 1;
			if (!path_component_ok(path + start, i - start))
				return cerr_setx(err, EINVAL,
				                 "'%.*s' is not a valid repository name component "
				                 "(lower-case letters, digits, '.', '_', '-')",
				                 (int)(i - start), path + start);
			plen = i;
			break;
		}
		if (i == plen || path[i] == '/') {
			if (!path_component_ok(path + start, i - start))
				return cerr_setx(err, EINVAL,
				                 "'%.*s' is not a valid repository name component "
				                 "(lower-case letters, digits, '.', '_', '-')",
				                 (int)(i - start), path + start);
			start = i + 1;
		}
	}
	if (tag && require_digest)
		return cerr_setx(err, EINVAL,
		                 "'%s' carries a tag: write the image as name@sha256:<64 hex> "
		                 "without a tag, a tag can be moved",
		                 ref);
	if (!at && require_digest)
		return cerr_setx(
		    err, EINVAL,
		    "'%s' has no digest: write it as name@sha256:<64 hex> (see `docker "
		    "buildx imagetools inspect` or `skopeo inspect` for the digest)",
		    ref);
	if (at) {
		const char *d = at + 1;

		if (strncmp(d, "sha256:", 7) || strlen(d) != 7 + 64)
			return cerr_setx(
			    err, EINVAL,
			    "'%s': the digest must be sha256: followed by 64 hex digits", ref);
		for (size_t i = 7; i < 71; i++)
			if (!isdigit((unsigned char)d[i]) && !(d[i] >= 'a' && d[i] <= 'f'))
				return cerr_setx(
				    err, EINVAL,
				    "'%s': the digest must be 64 lower-case hex digits", ref);
		memcpy(out->digest, d, 71);
	}
	if (dlen) {
		memcpy(out->domain, ref, dlen);
		for (size_t i = 0; i < dlen; i++)
			out->domain[i] = (char)tolower((unsigned char)out->domain[i]);
	} else {
		strcpy(out->domain, "docker.io");
	}
	if (!strcmp(out->domain, "index.docker.io") || !strcmp(out->domain, "registry-1.docker.io"))
		strcpy(out->domain, "docker.io");
	if (!strcmp(out->domain, "docker.io") && !memchr(path, '/', plen))
		snprintf(out->path, sizeof(out->path), "library/%.*s", (int)plen, path);
	else
		snprintf(out->path, sizeof(out->path), "%.*s", (int)plen, path);
	return 0;
}

static bool same_registry(const char *a, const char *b)
{
	static const char *const hub[] = {"docker.io", "index.docker.io", "registry-1.docker.io",
	                                  NULL};

	if (!strcasecmp(a, b))
		return true;
	return in_list(a, hub) && in_list(b, hub);
}

bool compose_registry_allowed(const struct compose_spec *s, const char *domain)
{
	for (size_t i = 0; i < s->n_registries; i++)
		if (same_registry(s->registries[i], domain))
			return true;
	return false;
}

bool compose_image_allowed(const struct compose_spec *s, const struct compose_ref *ref)
{
	if (!ref->digest[0])
		return false;
	for (size_t i = 0; i < s->n_images; i++)
		if (!strcmp(s->images[i].digest, ref->digest) &&
		    !strcmp(s->images[i].path, ref->path) &&
		    same_registry(s->images[i].domain, ref->domain))
			return true;
	return false;
}

bool compose_cap_normalise(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (!strncasecmp(in, "CAP_", 4))
		in += 4;
	n = strlen(in);
	if (!n || n >= outlen)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)toupper((unsigned char)in[i]);
	return true;
}

bool compose_cap_allowed(const char *cap)
{
	static const char *const ok[] = {"NET_BIND_SERVICE", "SYS_NICE", "IPC_LOCK", NULL};

	return in_list(cap, ok);
}

const char *compose_bind_source_problem(const char *src)
{
	const char *p;

	if (src[0] != '/')
		return "a bind source must be an absolute path under /data/ or /spec/";
	if (strstr(src, "docker.sock") || strstr(src, "podman.sock") ||
	    strstr(src, "containerd.sock"))
		return "the container engine's socket may never be mounted into a container: it "
		       "gives full control of the VM";
	/* no ".", ".." or empty components: the path must mean what it says */
	for (p = src; *p;) {
		const char *e;
		size_t n;

		while (*p == '/')
			p++;
		e = strchrnul(p, '/');
		n = (size_t)(e - p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return "a bind source may not hold '.' or '..' components";
		p = e;
	}
	if (strstr(src, "//"))
		return "a bind source may not hold empty components ('//')";
	if (!strcmp(src, "/data") || !strncmp(src, "/data/", 6) || !strcmp(src, "/spec") ||
	    !strncmp(src, "/spec/", 6))
		return NULL;
	return "binds are allowed only from /data/... or /spec/...: other host paths of the VM "
	       "are not the workload's";
}

/* ---- the rules ---------------------------------------------------------- */

static void check_cidr(struct checker *c, const struct ynode *n, const char *key)
{
	char addr[64];
	const char *slash;
	unsigned char buf[16];
	unsigned long prefix;
	int af;

	if (!is_str(n)) {
		report(c, n ? n->line : 0, key, "must be an address/prefix such as 10.0.2.2/32");
		return;
	}
	slash = strchr(n->s, '/');
	if (!slash || (size_t)(slash - n->s) >= sizeof(addr)) {
		report(c, n->line, key, "'%s' is not an address/prefix such as 10.0.2.2/32", n->s);
		return;
	}
	memcpy(addr, n->s, (size_t)(slash - n->s));
	addr[slash - n->s] = '\0';
	af = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, addr, buf) != 1 ||
	    !uint_str(slash + 1, strlen(slash + 1), 0, af == AF_INET ? 32 : 128, &prefix))
		report(c, n->line, key, "'%s' is not an address/prefix such as 10.0.2.2/32", n->s);
}

static void check_egress(struct checker *c, const struct ynode *n, const char *key)
{
	static const char *const keys[] = {"cidr", "host", "ports", "proto", NULL};

	if (is_null(n))
		return;
	if (n->kind != Y_SEQ) {
		report(c, n->line, key, "must be a list of {cidr|host, ports, proto} rules");
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *e = n->v[i], *cidr, *host, *ports, *proto;
		struct compose_egress eg = {.line = e->line};
		char k[KEY_MAX], kk[KEY_MAX];

		key_index(k, key, i);
		if (e->kind != Y_MAP) {
			report(c, e->line, k, "must be a map with cidr or host, ports and proto");
			continue;
		}
		for (size_t j = 0; j < e->n; j += 2)
			if (!in_list(e->v[j]->s, keys)) {
				key_join(kk, k, e->v[j]->s);
				report(
				    c, e->v[j]->line, kk,
				    "unknown key (an egress rule has cidr or host, ports, proto)");
			}
		cidr = map_get(e, "cidr");
		host = map_get(e, "host");
		ports = map_get(e, "ports");
		proto = map_get(e, "proto");
		if (!!cidr == !!host) {
			report(c, e->line, k, "give exactly one of cidr and host");
			continue;
		}
		if (cidr) {
			key_join(kk, k, "cidr");
			check_cidr(c, cidr, kk);
		} else if (!is_str(host) || strchr(host->s, ':') ||
		           !domain_ok(host->s, strlen(host->s))) {
			key_join(kk, k, "host");
			report(c, host->line, kk,
			       "must be a DNS name such as registry-1.docker.io");
			continue;
		}
		key_join(kk, k, "ports");
		if (!ports || ports->kind != Y_SEQ || !ports->n) {
			report(c, ports ? ports->line : e->line, kk,
			       "a non-empty list of ports is required (e.g. [443])");
			continue;
		}
		eg.ports = calloc(ports->n, sizeof(*eg.ports));
		if (!eg.ports) {
			c->oom = true;
			return;
		}
		for (size_t j = 0; j < ports->n; j++) {
			unsigned long p;
			char kp[KEY_MAX];

			key_index(kp, kk, j);
			if (!as_uint(ports->v[j], 1, 65535, &p))
				report(c, ports->v[j]->line, kp, "must be a port number 1-65535");
			else
				eg.ports[eg.n_ports++] = (uint16_t)p;
		}
		if (proto) {
			key_join(kk, k, "proto");
			if (is_str(proto) && !strcmp(proto->s, "udp"))
				eg.proto = COMPOSE_PROTO_UDP;
			else if (!is_str(proto) || strcmp(proto->s, "tcp"))
				report(c, proto->line, kk, "must be tcp or udp");
		}
		struct compose_egress *nv =
		    realloc(c->spec.egress, (c->spec.n_egress + 1) * sizeof(*nv));

		if (!nv) {
			free(eg.ports);
			c->oom = true;
			return;
		}
		c->spec.egress = nv;
		eg.cidr = cidr ? xstrdup(c, cidr->s) : NULL;
		eg.host = host ? xstrdup(c, host->s) : NULL;
		nv[c->spec.n_egress++] = eg;
	}
}

static void check_spec_file(struct checker *c, const struct ynode *n, const char *key);

/* x-cocoon.gpu: {count: N, reference: FILE}: the GPUs the VM must have, all
 * attested by cocoon-init's gate, and the owner's reference measurements. */
static void check_x_gpu(struct checker *c, const struct ynode *v, const char *key)
{
	char k[KEY_MAX];

	if (v->kind != Y_MAP) {
		report(c, v->line, key, "must be a map with count (and optionally reference)");
		return;
	}
	for (size_t i = 0; i < v->n; i += 2) {
		const struct ynode *kn = v->v[i], *val = v->v[i + 1];
		unsigned long n;

		key_join(k, key, kn->s);
		if (!strcmp(kn->s, "count")) {
			if (!as_uint(val, 1, 16, &n))
				report(c, val->line, k, "must be a number of GPUs from 1 to 16");
			else
				c->spec.gpu_count = (unsigned)n;
		} else if (!strcmp(kn->s, "reference")) {
			if (!is_str(val)) {
				report(c, val->line, k,
				       "must be a file in the spec (reference measurements, JSON)");
				continue;
			}
			check_spec_file(c, val, k);
			free(c->spec.gpu_reference);
			c->spec.gpu_reference = xstrdup(c, val->s);
		} else {
			report(c, kn->line, k, "unknown key (x-cocoon.gpu has count, reference)");
		}
	}
}

static void check_x_cocoon(struct checker *c, const struct ynode *x)
{
	char k[KEY_MAX];

	if (is_null(x))
		return;
	if (x->kind != Y_MAP) {
		report(c, x->line, "x-cocoon", "must be a map");
		return;
	}
	for (size_t i = 0; i < x->n; i += 2) {
		const struct ynode *kn = x->v[i], *v = x->v[i + 1];
		const char *name = kn->s;

		key_join(k, "x-cocoon", name);
		if (!strcmp(name, "engine")) {
			if (is_str(v) && !strcmp(v->s, "docker"))
				c->spec.engine = COMPOSE_ENGINE_DOCKER;
			else if (is_str(v) && !strcmp(v->s, "podman"))
				c->spec.engine = COMPOSE_ENGINE_PODMAN;
			else
				report(c, v->line, k, "must be docker or podman");
		} else if (!strcmp(name, "exec")) {
			if (is_str(v) && !strcmp(v->s, "allow"))
				c->spec.exec_allow = true;
			else if (!is_str(v) || strcmp(v->s, "deny"))
				report(c, v->line, k,
				       "must be deny (the default) or allow (debug only)");
		} else if (!strcmp(name, "data_rw")) {
			int b = as_bool(v);

			if (b < 0)
				report(c, v->line, k, "must be true or false");
			else
				c->spec.data_rw = b;
		} else if (!strcmp(name, "registries")) {
			if (is_null(v))
				continue;
			if (v->kind != Y_SEQ) {
				report(c, v->line, k, "must be a list of registry hosts");
				continue;
			}
			for (size_t j = 0; j < v->n; j++) {
				char kk[KEY_MAX];

				key_index(kk, k, j);
				if (!is_str(v->v[j]) || !domain_ok(v->v[j]->s, strlen(v->v[j]->s)))
					report(c, v->v[j]->line, kk,
					       "must be a registry host[:port] such as "
					       "registry-1.docker.io");
				else
					push_str(c, &c->spec.registries, &c->spec.n_registries,
					         v->v[j]->s);
			}
		} else if (!strcmp(name, "egress")) {
			check_egress(c, v, k);
		} else if (!strcmp(name, "gpu")) {
			check_x_gpu(c, v, k);
		} else {
			report(c, kn->line, k,
			       "unknown key (x-cocoon has engine, egress, registries, exec, "
			       "data_rw, gpu)");
		}
	}
}

static void check_image(struct checker *c, const struct ynode *v, const char *key)
{
	struct cerr e = CERR_INIT;
	struct compose_ref ref;

	if (!is_str(v)) {
		report(c, v->line, key, "must be an image reference name@sha256:<64 hex>");
		return;
	}
	if (compose_ref_parse(v->s, true, &ref, &e) < 0) {
		report(c, v->line, key, "%s", e.msg);
		return;
	}
	struct compose_ref *nv = realloc(c->spec.images, (c->spec.n_images + 1) * sizeof(*nv));

	if (!nv) {
		c->oom = true;
		return;
	}
	c->spec.images = nv;
	nv[c->spec.n_images++] = ref;
}

static void check_environment(struct checker *c, const struct ynode *v, const char *key)
{
	char k[KEY_MAX];

	if (v->kind == Y_MAP) {
		for (size_t i = 0; i < v->n; i += 2) {
			key_join(k, key, v->v[i]->s);
			if (!*v->v[i]->s || strchr(v->v[i]->s, '='))
				report(c, v->v[i]->line, k, "not a variable name");
			if (v->v[i + 1]->kind != Y_SCALAR)
				report(c, v->v[i + 1]->line, k, "a value must be a scalar, not %s",
				       kind_name(v->v[i + 1]));
		}
		return;
	}
	if (v->kind == Y_SEQ) {
		for (size_t i = 0; i < v->n; i++) {
			key_index(k, key, i);
			if (!is_str(v->v[i]) || v->v[i]->s[0] == '=')
				report(c, v->v[i]->line, k, "must be a string NAME=VALUE");
		}
		return;
	}
	report(c, v->line, key, "must be a map or a list of NAME=VALUE, not %s", kind_name(v));
}

bool compose_path_unmeasured(const char *rel)
{
	/* the first name that is not "." or empty (a/./b and a//b open as a/b) */
	size_t n;

	while (*rel == '/' || (rel[0] == '.' && (rel[1] == '/' || rel[1] == '\0')))
		rel++;
	n = strcspn(rel, "/");
	return (n == 7 && !memcmp(rel, "runtime", 7)) || (n == 9 && !memcmp(rel, "spec.tree", 9)) ||
	       (n == 9 && !memcmp(rel, "spec.meta", 9));
}

/* A path inside the spec: relative, no "..", not in what the hash leaves out,
 * and (when told where the spec is) an existing regular file. */
static void check_spec_file(struct checker *c, const struct ynode *n, const char *key)
{
	const char *p = n->s;
	struct stat st;

	if (p[0] == '/') {
		report(c, n->line, key, "'%s' must be a path relative to the spec directory", p);
		return;
	}
	for (const char *q = p; *q;) {
		const char *e = strchrnul(q, '/');

		if (e - q == 2 && q[0] == '.' && q[1] == '.') {
			report(c, n->line, key, "'%s' leaves the spec directory ('..')", p);
			return;
		}
		q = *e ? e + 1 : e;
	}
	if (compose_path_unmeasured(p)) {
		report(c, n->line, key,
		       "'%s' is not covered by the spec hash (runtime/, spec.tree and spec.meta "
		       "are not measured, so the host can change them): put the file beside "
		       "docker-compose.yml",
		       p);
		return;
	}
	if (c->opts && c->opts->spec_dirfd >= 0 &&
	    (fstatat(c->opts->spec_dirfd, p, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)))
		report(c, n->line, key, "'%s' is not a regular file in the spec", p);
}

static void check_env_file(struct checker *c, const struct ynode *v, const char *key)
{
	char k[KEY_MAX];

	if (is_str(v)) {
		check_spec_file(c, v, key);
		return;
	}
	if (v->kind != Y_SEQ) {
		report(c, v->line, key, "must be a path or a list of paths in the spec");
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *e = v->v[i];

		key_index(k, key, i);
		if (e->kind == Y_MAP) {
			for (size_t j = 0; j < e->n; j += 2)
				if (strcmp(e->v[j]->s, "path") && strcmp(e->v[j]->s, "required")) {
					char kk[KEY_MAX];

					key_join(kk, k, e->v[j]->s);
					report(
					    c, e->v[j]->line, kk,
					    "unknown key (an env_file entry has path, required)");
				}
			e = map_get(e, "path");
			if (!e) {
				report(c, v->v[i]->line, k, "path is required");
				continue;
			}
		}
		if (!is_str(e))
			report(c, e->line, k, "must be a path in the spec");
		else
			check_spec_file(c, e, k);
	}
}

static bool port_range_ok(const char *s, size_t n)
{
	const char *dash = memchr(s, '-', n);
	unsigned long a, b;

	if (!dash)
		return uint_str(s, n, 1, 65535, &a);
	return uint_str(s, (size_t)(dash - s), 1, 65535, &a) &&
	       uint_str(dash + 1, n - (size_t)(dash - s) - 1, 1, 65535, &b) && a <= b;
}

/* [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/tcp|/udp] */
static const char *port_short_problem(const char *s)
{
	const char *slash = strrchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	const char *c1, *c2 = NULL;
	char ip[64];

	if (!s || !*s)
		return "empty";
	if (slash && strcmp(slash + 1, "tcp") && strcmp(slash + 1, "udp"))
		return "the protocol must be tcp or udp";
	c1 = memrchr(s, ':', len);
	if (!c1)
		return port_range_ok(s, len) ? NULL : "not a port number 1-65535 or a range";
	if (!port_range_ok(c1 + 1, len - (size_t)(c1 + 1 - s)))
		return "the container port is not a port number 1-65535 or a range";
	if (c1 > s)
		c2 = memrchr(s, ':', (size_t)(c1 - s));
	if (s[0] == '[') /* [v6]:host:container */
		c2 = strstr(s, "]:") ? strstr(s, "]:") + 1 : NULL;
	if (!c2)
		return c1 == s || port_range_ok(s, (size_t)(c1 - s))
		           ? NULL
		           : "the published port is not a port number 1-65535 or a range";
	if (c1 > c2 + 1 && !port_range_ok(c2 + 1, (size_t)(c1 - c2 - 1)))
		return "the published port is not a port number 1-65535 or a range";
	size_t iplen = (size_t)(c2 - s);
	const char *ipp = s;

	if (s[0] == '[') {
		ipp = s + 1;
		iplen -= 2;
	}
	if (iplen >= sizeof(ip))
		return "the host address is not an IP address";
	memcpy(ip, ipp, iplen);
	ip[iplen] = '\0';
	unsigned char buf[16];

	if (inet_pton(AF_INET, ip, buf) != 1 && inet_pton(AF_INET6, ip, buf) != 1)
		return "the host address is not an IP address";
	return NULL;
}

static void check_ports(struct checker *c, const struct ynode *v, const char *key)
{
	static const char *const keys[] = {"target", "published", "protocol", "host_ip",
	                                   "mode",   "name",      NULL};
	char k[KEY_MAX], kk[KEY_MAX];

	if (v->kind != Y_SEQ) {
		report(c, v->line, key, "must be a list of ports");
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *p = v->v[i];
		const char *why;
		unsigned long x;

		key_index(k, key, i);
		if (is_str(p)) {
			if ((why = port_short_problem(p->s)))
				report(c, p->line, k, "'%s': %s", p->s, why);
			continue;
		}
		if (p->kind != Y_MAP) {
			report(c, p->line, k, "must be a port string or a map with target");
			continue;
		}
		for (size_t j = 0; j < p->n; j += 2) {
			const struct ynode *val = p->v[j + 1];
			const char *name = p->v[j]->s;

			key_join(kk, k, name);
			if (!in_list(name, keys))
				report(c, p->v[j]->line, kk,
				       "unknown key (a port has target, published, protocol, "
				       "host_ip, mode, name)");
			else if (!strcmp(name, "target") && !as_uint(val, 1, 65535, &x))
				report(c, val->line, kk, "must be a port number 1-65535");
			else if (!strcmp(name, "published") &&
			         (!is_str(val) || !port_range_ok(val->s, strlen(val->s))))
				report(c, val->line, kk,
				       "must be a port number 1-65535 or a range");
			else if (!strcmp(name, "protocol") &&
			         (!is_str(val) || (strcmp(val->s, "tcp") && strcmp(val->s, "udp"))))
				report(c, val->line, kk, "must be tcp or udp");
			else if (!strcmp(name, "mode") &&
			         (!is_str(val) ||
			          (strcmp(val->s, "host") && strcmp(val->s, "ingress"))))
				report(c, val->line, kk, "must be host or ingress");
			else if (!strcmp(name, "host_ip") && !is_str(val))
				report(c, val->line, kk, "must be an IP address");
		}
		if (!map_get(p, "target"))
			report(c, p->line, k, "target is required");
	}
}

static bool volume_declared(struct checker *c, const char *name)
{
	return map_get(c->top_volumes, name) != NULL;
}

/* The source of a mount: a named volume or a bind, with its access mode. */
static void check_mount_source(struct checker *c, unsigned line, const char *key, const char *src,
                               bool bind, bool read_only)
{
	const char *why;

	if (!bind) {
		if (!volume_declared(c, src))
			report(c, line, key,
			       "named volume '%s' is not declared under the top-level volumes",
			       src);
		return;
	}
	if ((why = compose_bind_source_problem(src))) {
		report(c, line, key, "bind of '%s': %s", src, why);
		return;
	}
	if (read_only)
		return;
	if (!strncmp(src, "/spec", 5))
		report(c, line, key,
		       "bind of '%s' must be read-only (add :ro): the spec is measured", src);
	else if (!c->spec.data_rw)
		report(c, line, key,
		       "bind of '%s' must be read-only (add :ro) unless x-cocoon.data_rw is true",
		       src);
}

static void check_volume_short(struct checker *c, const struct ynode *n, const char *key)
{
	char buf[4096];
	char *parts[4] = {0};
	size_t np = 0;
	bool ro = false;

	if (strlen(n->s) >= sizeof(buf)) {
		report(c, n->line, key, "too long");
		return;
	}
	strcpy(buf, n->s);
	for (char *save = NULL, *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save))
		if (np < ARRAY_SIZE(parts))
			parts[np++] = t;
		else
			np++;
	if (np == 0 || np > 3) {
		report(c, n->line, key, "'%s' is not SOURCE:TARGET[:MODE]", n->s);
		return;
	}
	if (np == 1) { /* an anonymous volume at TARGET */
		if (parts[0][0] != '/')
			report(c, n->line, key, "'%s': the target must be an absolute path", n->s);
		return;
	}
	if (parts[1][0] != '/')
		report(c, n->line, key, "'%s': the target must be an absolute path", n->s);
	if (np == 3) {
		char mode[256];

		snprintf(mode, sizeof(mode), "%s", parts[2]);
		for (char *save = NULL, *t = strtok_r(mode, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			if (!strcmp(t, "ro"))
				ro = true;
			else if (strcmp(t, "rw") && strcmp(t, "nocopy"))
				report(c, n->line, key,
				       "'%s': mode '%s' is not allowed (use ro, rw or nocopy)",
				       n->s, t);
		}
	}
	if (parts[0][0] == '.' || parts[0][0] == '~') {
		report(c, n->line, key,
		       "'%s': relative binds are not allowed; bind from /spec/... or /data/...",
		       n->s);
		return;
	}
	check_mount_source(c, n->line, key, parts[0], parts[0][0] == '/', ro);
}

static void check_volume_long(struct checker *c, const struct ynode *m, const char *key)
{
	static const char *const keys[] = {"type",   "source", "target", "read_only",
	                                   "volume", "tmpfs",  NULL};
	const struct ynode *type = map_get(m, "type"), *src = map_get(m, "source"),
	                   *tgt = map_get(m, "target"), *ro = map_get(m, "read_only");
	char kk[KEY_MAX];
	int rob = 0;

	for (size_t j = 0; j < m->n; j += 2)
		if (!in_list(m->v[j]->s, keys)) {
			key_join(kk, key, m->v[j]->s);
			report(c, m->v[j]->line, kk,
			       "not allowed (a volume has type, source, target, read_only, volume, "
			       "tmpfs)");
		}
	if (!is_str(type) ||
	    (strcmp(type->s, "volume") && strcmp(type->s, "bind") && strcmp(type->s, "tmpfs"))) {
		key_join(kk, key, "type");
		report(c, type ? type->line : m->line, kk,
		       "must be volume, bind or tmpfs (npipe and cluster are not allowed)");
		return;
	}
	if (!is_str(tgt) || tgt->s[0] != '/') {
		key_join(kk, key, "target");
		report(c, tgt ? tgt->line : m->line, kk, "an absolute target path is required");
	}
	if (ro && (rob = as_bool(ro)) < 0) {
		key_join(kk, key, "read_only");
		report(c, ro->line, kk, "must be true or false");
	}
	if (!strcmp(type->s, "tmpfs"))
		return;
	key_join(kk, key, "source");
	if (!is_str(src)) {
		if (!strcmp(type->s, "bind"))
			report(c, src ? src->line : m->line, kk, "a bind needs a source");
		return;
	}
	check_mount_source(c, src->line, kk, src->s, !strcmp(type->s, "bind"), rob == 1);
}

static void check_volumes(struct checker *c, const struct ynode *v, const char *key)
{
	char k[KEY_MAX];

	if (v->kind != Y_SEQ) {
		report(c, v->line, key, "must be a list of mounts");
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		key_index(k, key, i);
		if (is_str(v->v[i]))
			check_volume_short(c, v->v[i], k);
		else if (v->v[i]->kind == Y_MAP)
			check_volume_long(c, v->v[i], k);
		else
			report(c, v->v[i]->line, k, "must be SOURCE:TARGET[:MODE] or a map");
	}
}

static void check_deploy(struct checker *c, const struct ynode *v, const char *key, unsigned kl)
{
	static const char *const dkeys[] = {"driver", "count", "device_ids", "capabilities", NULL};
	const struct ynode *res, *rsv, *devs;
	char k[KEY_MAX], kk[KEY_MAX];

	/* only deploy.resources.reservations.devices, and nothing beside it */
	if (v->kind != Y_MAP || v->n != 2 || !(res = map_get(v, "resources")) ||
	    res->kind != Y_MAP || res->n != 2 || !(rsv = map_get(res, "reservations")) ||
	    rsv->kind != Y_MAP || rsv->n != 2 || !(devs = map_get(rsv, "devices")) ||
	    devs->kind != Y_SEQ) {
		report(c, kl, key,
		       "only deploy.resources.reservations.devices (the nvidia driver) is allowed");
		return;
	}
	key_join(k, key, "resources.reservations.devices");
	for (size_t i = 0; i < devs->n; i++) {
		const struct ynode *d = devs->v[i], *drv;

		key_index(kk, k, i);
		if (d->kind != Y_MAP) {
			report(c, d->line, kk, "must be a map with driver: nvidia");
			continue;
		}
		for (size_t j = 0; j < d->n; j += 2)
			if (!in_list(d->v[j]->s, dkeys)) {
				char k3[KEY_MAX];

				key_join(k3, kk, d->v[j]->s);
				report(c, d->v[j]->line, k3,
				       "unknown key (a device has driver, count, device_ids, "
				       "capabilities)");
			}
		drv = map_get(d, "driver");
		if (!is_str(drv) || strcmp(drv->s, "nvidia"))
			report(c, drv ? drv->line : d->line, kk, "driver must be nvidia");
		else
			c->spec.gpu = true;
	}
}

static void check_healthcheck(struct checker *c, const struct ynode *v, const char *key)
{
	static const char *const keys[] = {"test",         "interval",       "timeout", "retries",
	                                   "start_period", "start_interval", "disable", NULL};
	char kk[KEY_MAX];

	if (v->kind != Y_MAP) {
		report(c, v->line, key, "must be a map");
		return;
	}
	for (size_t j = 0; j < v->n; j += 2) {
		const char *name = v->v[j]->s;
		const struct ynode *val = v->v[j + 1];
		unsigned long x;

		key_join(kk, key, name);
		if (!in_list(name, keys))
			report(c, v->v[j]->line, kk, "unknown healthcheck key");
		else if (!strcmp(name, "test"))
			str_or_strlist(c, val, kk);
		else if (!strcmp(name, "retries") && !as_uint(val, 0, 1000000, &x))
			report(c, val->line, kk, "must be a number");
		else if (!strcmp(name, "disable") && as_bool(val) < 0)
			report(c, val->line, kk, "must be true or false");
		else if (strcmp(name, "retries") && strcmp(name, "disable") && !is_str(val))
			report(c, val->line, kk, "must be a duration such as 30s");
	}
}

static void check_ulimits(struct checker *c, const struct ynode *v, const char *key)
{
	static const char *const names[] = {
	    "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue", "nice",
	    "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack",    NULL};
	char kk[KEY_MAX];
	unsigned long x;

	if (v->kind != Y_MAP) {
		report(c, v->line, key, "must be a map of limits");
		return;
	}
	for (size_t j = 0; j < v->n; j += 2) {
		const struct ynode *val = v->v[j + 1];

		key_join(kk, key, v->v[j]->s);
		if (!in_list(v->v[j]->s, names)) {
			report(c, v->v[j]->line, kk, "unknown limit");
			continue;
		}
		if (val->kind == Y_MAP) {
			const struct ynode *s = map_get(val, "soft"), *h = map_get(val, "hard");

			if (val->n != 4 || !as_uint(s, 0, ~0ul, &x) || !as_uint(h, 0, ~0ul, &x))
				report(c, val->line, kk, "must be a number or {soft: N, hard: N}");
		} else if (!as_uint(val, 0, ~0ul, &x)) {
			report(c, val->line, kk, "must be a number or {soft: N, hard: N}");
		}
	}
}

static void check_depends_on(struct checker *c, const struct ynode *v, const char *key)
{
	char kk[KEY_MAX];

	if (v->kind != Y_SEQ && v->kind != Y_MAP) {
		report(c, v->line, key, "must be a list of services or a map");
		return;
	}
	for (size_t i = 0; i < v->n; i += v->kind == Y_MAP ? 2 : 1) {
		const struct ynode *name = v->v[i];

		key_index(kk, key, v->kind == Y_MAP ? i / 2 : i);
		if (!is_str(name) || !map_get(c->services, name->s))
			report(c, name->line, kk, "'%s' is not a service of this spec",
			       is_str(name) ? name->s : "?");
		if (v->kind == Y_MAP) {
			const struct ynode *m = v->v[i + 1], *cond = map_get(m, "condition");
			static const char *const conds[] = {"service_started", "service_healthy",
			                                    "service_completed_successfully", NULL};

			if (m->kind != Y_MAP ||
			    (cond && (!is_str(cond) || !in_list(cond->s, conds))))
				report(c, m->line, kk,
				       "must be a map with condition: service_started, "
				       "service_healthy or service_completed_successfully");
		}
	}
}

static void check_security_opt(struct checker *c, const struct ynode *v, const char *key)
{
	char kk[KEY_MAX];

	if (v->kind != Y_SEQ) {
		report(c, v->line, key, "must be a list");
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct ynode *o = v->v[i];

		key_index(kk, key, i);
		if (!is_str(o)) {
			report(c, o->line, kk, "must be a string");
			continue;
		}
		if (!strcmp(o->s, "no-new-privileges") || !strcmp(o->s, "no-new-privileges:true") ||
		    !strcmp(o->s, "no-new-privileges=true"))
			continue;
		if (strstr(o->s, "unconfined") || strstr(o->s, "disable") ||
		    strstr(o->s, "no-new-privileges"))
			report(c, o->line, kk,
			       "'%s' weakens the container's confinement and is never allowed",
			       o->s);
		else
			report(c, o->line, kk,
			       "'%s' is not allowed (only no-new-privileges:true); the engine's "
			       "default profiles apply",
			       o->s);
	}
}

static void check_service(struct checker *c, const char *name, const struct ynode *svc,
                          unsigned name_line)
{
	static const char *const never[][2] = {
	    {"privileged", "privileged containers are never allowed in Docker mode"},
	    {"devices", "devices are never allowed: ask for the GPU with gpus: all or "
	                "deploy.resources.reservations.devices"},
	    {"build", "build is never allowed: build the image elsewhere and reference it as "
	              "name@sha256:<64 hex>"},
	    {"volumes_from", "volumes_from is not allowed: declare the volumes"},
	    {"cgroup_parent", "cgroup_parent is not allowed"},
	    {"sysctls", "sysctls are not allowed"},
	    {"extra_hosts", "extra_hosts is not allowed"},
	    {"dns", "dns is not allowed: DNS is the host's and is not trusted"},
	    {NULL, NULL}};
	static const char *const host_modes[] = {"network_mode", "pid", "ipc", "userns_mode", NULL};
	char base[KEY_MAX], k[KEY_MAX];

	key_join(base, "services", name);
	if (!*name || !isalnum((unsigned char)name[0]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
	        strlen(name))
		report(c, name_line, base,
		       "a service name is letters, digits, '_', '.', '-', starting with a letter "
		       "or digit");
	push_str(c, &c->spec.services, &c->spec.n_services, name);
	if (svc->kind != Y_MAP) {
		report(c, svc->line, base, "a service must be a map");
		return;
	}
	if (!map_get(svc, "image"))
		report(c, name_line, base, "image is required (name@sha256:<64 hex>)");
	for (size_t i = 0; i < svc->n && !c->stop; i += 2) {
		const char *key = svc->v[i]->s;
		const struct ynode *v = svc->v[i + 1];
		unsigned kl = svc->v[i]->line;
		bool rejected = false;

		key_join(k, base, key);
		for (size_t j = 0; never[j][0]; j++)
			if (!strcmp(key, never[j][0])) {
				report(c, kl, k, "%s; remove it", never[j][1]);
				rejected = true;
			}
		if (in_list(key, host_modes)) {
			if (is_str(v) && !strcmp(v->s, "host"))
				report(c, kl, k,
				       "%s: host is never allowed: it shares the VM's %s with the "
				       "container; remove it",
				       key,
				       !strcmp(key, "network_mode") ? "network stack"
				       : !strcmp(key, "pid")        ? "processes"
				       : !strcmp(key, "ipc")        ? "IPC namespace"
				                                    : "user namespace");
			else
				report(c, kl, k,
				       "%s is not in the Docker-mode subset: services use the "
				       "engine's defaults; remove it",
				       key);
			rejected = true;
		}
		if (rejected)
			continue;
		if (!strcmp(key, "image"))
			check_image(c, v, k);
		else if (!strcmp(key, "command") || !strcmp(key, "entrypoint"))
			str_or_strlist(c, v, k);
		else if (!strcmp(key, "environment"))
			check_environment(c, v, k);
		else if (!strcmp(key, "env_file"))
			check_env_file(c, v, k);
		else if (!strcmp(key, "ports"))
			check_ports(c, v, k);
		else if (!strcmp(key, "volumes"))
			check_volumes(c, v, k);
		else if (!strcmp(key, "gpus")) {
			if (!is_str(v) || strcmp(v->s, "all"))
				report(c, v->line, k, "must be all");
			else
				c->spec.gpu = true;
		} else if (!strcmp(key, "deploy"))
			check_deploy(c, v, k, kl);
		else if (!strcmp(key, "restart")) {
			static const char *const pol[] = {"no", "always", "on-failure",
			                                  "unless-stopped", NULL};
			unsigned long x;

			if (!is_str(v) ||
			    !(in_list(v->s, pol) ||
			      (!strncmp(v->s, "on-failure:", 11) &&
			       uint_str(v->s + 11, strlen(v->s + 11), 0, 1000000, &x))))
				report(c, v->line, k,
				       "must be no, always, on-failure[:N] or unless-stopped");
		} else if (!strcmp(key, "shm_size")) {
			size_t d = is_str(v) ? strspn(v->s, "0123456789") : 0;
			static const char *const units[] = {"",   "b", "k",  "kb", "m",
			                                    "mb", "g", "gb", NULL};
			char unit[4] = "";

			if (d && strlen(v->s + d) < sizeof(unit))
				for (size_t j = 0; j <= strlen(v->s + d); j++)
					unit[j] = (char)tolower((unsigned char)v->s[d + j]);
			if (!d || d > 15 || strlen(v->s + d) >= sizeof(unit) ||
			    !in_list(unit, units))
				report(c, v->line, k, "must be a size such as 1g or 512m");
		} else if (!strcmp(key, "ulimits"))
			check_ulimits(c, v, k);
		else if (!strcmp(key, "working_dir")) {
			if (!is_str(v) || v->s[0] != '/')
				report(c, v->line, k, "must be an absolute path");
		} else if (!strcmp(key, "user")) {
			if (!is_str(v))
				report(c, v->line, k, "must be a user name or uid[:gid]");
		} else if (!strcmp(key, "healthcheck"))
			check_healthcheck(c, v, k);
		else if (!strcmp(key, "depends_on"))
			check_depends_on(c, v, k);
		else if (!strcmp(key, "cap_add")) {
			if (v->kind != Y_SEQ) {
				report(c, v->line, k, "must be a list of capabilities");
				continue;
			}
			for (size_t j = 0; j < v->n; j++) {
				char cap[64], kk[KEY_MAX];

				key_index(kk, k, j);
				if (!is_str(v->v[j]) ||
				    !compose_cap_normalise(v->v[j]->s, cap, sizeof(cap)) ||
				    !compose_cap_allowed(cap))
					report(c, v->v[j]->line, kk,
					       "capability '%s' may not be added (allowed: "
					       "NET_BIND_SERVICE, SYS_NICE, IPC_LOCK)",
					       is_str(v->v[j]) ? v->v[j]->s : "?");
			}
		} else if (!strcmp(key, "security_opt"))
			check_security_opt(c, v, k);
		else
			report(
			    c, kl, k,
			    "'%s' is not in the Docker-mode subset of Compose (allowed: image, "
			    "command, entrypoint, environment, env_file, ports, volumes, gpus, "
			    "deploy, restart, shm_size, ulimits, working_dir, user, healthcheck, "
			    "depends_on, cap_add, security_opt)",
			    key);
	}
}

static void check_top_volumes(struct checker *c, const struct ynode *v)
{
	char k[KEY_MAX];

	if (is_null(v))
		return;
	if (v->kind != Y_MAP) {
		report(c, v->line, "volumes", "must be a map of named volumes");
		return;
	}
	for (size_t i = 0; i < v->n; i += 2) {
		const struct ynode *val = v->v[i + 1];

		key_join(k, "volumes", v->v[i]->s);
		if (!path_component_ok(v->v[i]->s, strlen(v->v[i]->s)) &&
		    strspn(v->v[i]->s,
		           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
		        strlen(v->v[i]->s))
			report(c, v->v[i]->line, k, "not a volume name");
		if (!is_null(val) && !(val->kind == Y_MAP && val->n == 0))
			report(c, val->line, k,
			       "only plain named volumes (no driver, options or external) are "
			       "allowed: they live on the encrypted disk");
		push_str(c, &c->spec.volumes, &c->spec.n_volumes, v->v[i]->s);
	}
}

static void check_document(struct checker *c, const struct ynode *root)
{
	if (!root || is_null(root) || root->kind != Y_MAP) {
		report(c, root ? root->line : 0, "",
		       "the spec must be a map with services (and optionally volumes, x-cocoon)");
		return;
	}
	c->services = map_get(root, "services");
	c->top_volumes = map_get(root, "volumes");
	/* x-cocoon first: data_rw changes what the volume rules allow */
	check_x_cocoon(c, map_get(root, "x-cocoon"));
	check_top_volumes(c, c->top_volumes);
	for (size_t i = 0; i < root->n; i += 2) {
		const char *k = root->v[i]->s;

		if (!strcmp(k, "services") || !strcmp(k, "volumes") || !strcmp(k, "x-cocoon"))
			continue;
		if (!strcmp(k, "version") && is_str(root->v[i + 1]))
			continue; /* obsolete in Compose and ignored, as Compose does */
		report(c, root->v[i]->line, k,
		       "not allowed at the top level of a workload spec (services, volumes, "
		       "x-cocoon)");
	}
	if (!c->services) {
		report(c, root->line, "services", "services is required");
		return;
	}
	if (is_null(c->services))
		return;
	if (c->services->kind != Y_MAP) {
		report(c, c->services->line, "services", "must be a map of services");
		return;
	}
	for (size_t i = 0; i < c->services->n && !c->stop; i += 2)
		check_service(c, c->services->v[i]->s, c->services->v[i + 1],
		              c->services->v[i]->line);
}

/* ---- what cocoon-workload creates: the Engine API body per service ------ */

/* Compose's string form of command/entrypoint: split like a POSIX shell
 * word list (quotes and backslashes), without any expansion. */
static json_object *split_words(const char *s)
{
	json_object *a = json_object_new_array();
	size_t n = strlen(s);
	_cleanup_free_ char *w = malloc(n + 1);
	size_t wl = 0;
	bool in_word = false;
	char q = 0;

	if (!a || !w) {
		json_object_put(a);
		return NULL;
	}
	for (size_t i = 0; i <= n; i++) {
		char ch = s[i];

		if (q) {
			if (!ch) {
				json_object_put(a);
				return NULL; /* unterminated quote */
			}
			if (ch == q)
				q = 0;
			else if (q == '"' && ch == '\\' && s[i + 1] && strchr("\"\\$`", s[i + 1]))
				w[wl++] = s[++i];
			else
				w[wl++] = ch;
			continue;
		}
		if (!ch || isspace((unsigned char)ch)) {
			if (in_word) {
				w[wl] = 0;
				json_object_array_add(a, json_object_new_string(w));
				wl = 0;
				in_word = false;
			}
			continue;
		}
		in_word = true;
		if (ch == '\'' || ch == '"')
			q = ch;
		else if (ch == '\\' && s[i + 1])
			w[wl++] = s[++i];
		else
			w[wl++] = ch;
	}
	return a;
}

static json_object *words(const struct ynode *v)
{
	json_object *a;

	if (is_str(v))
		return split_words(v->s);
	a = json_object_new_array();
	for (size_t i = 0; a && v->kind == Y_SEQ && i < v->n; i++)
		json_object_array_add(a, json_object_new_string(v->v[i]->s));
	return a;
}

/* "1m30s", "500ms", "10s" -> nanoseconds; 0 when not a duration. */
static int64_t duration_ns(const char *s)
{
	int64_t total = 0;

	while (s && *s) {
		char *end;
		long long x = strtoll(s, &end, 10);
		int64_t unit;

		if (end == s || x < 0)
			return 0;
		if (!strncmp(end, "ms", 2))
			unit = 1000000, end += 2;
		else if (!strncmp(end, "us", 2))
			unit = 1000, end += 2;
		else if (*end == 'h')
			unit = 3600000000000LL, end++;
		else if (*end == 'm')
			unit = 60000000000LL, end++;
		else if (*end == 's')
			unit = 1000000000LL, end++;
		else if (!*end)
			unit = 1000000000LL; /* bare number: seconds */
		else
			return 0;
		total += (int64_t)x * unit;
		s = end;
	}
	return total;
}

static int64_t size_bytes(const char *s)
{
	char *end;
	long long x = strtoll(s, &end, 10);
	int64_t mul = 1;

	switch (tolower((unsigned char)*end)) {
	case 'k':
		mul = 1024;
		break;
	case 'm':
		mul = 1024 * 1024;
		break;
	case 'g':
		mul = 1024LL * 1024 * 1024;
		break;
	}
	return (int64_t)x * mul;
}

static void add_port(json_object *exposed, json_object *bindings, const char *ip, unsigned long hp,
                     unsigned long cp, const char *proto)
{
	char key[32];
	json_object *list, *b;

	snprintf(key, sizeof(key), "%lu/%s", cp, proto);
	json_object_object_add(exposed, key, json_object_new_object());
	if (!hp && !ip)
		return;
	if (!json_object_object_get_ex(bindings, key, &list)) {
		list = json_object_new_array();
		json_object_object_add(bindings, key, list);
	}
	b = json_object_new_object();
	json_object_object_add(b, "HostIp", json_object_new_string(ip ? ip : ""));
	if (hp) {
		snprintf(key, sizeof(key), "%lu", hp);
		json_object_object_add(b, "HostPort", json_object_new_string(key));
	} else {
		json_object_object_add(b, "HostPort", json_object_new_string(""));
	}
	json_object_array_add(list, b);
}

static void range(const char *s, size_t n, unsigned long *a, unsigned long *b)
{
	const char *dash = memchr(s, '-', n);

	*a = *b = 0;
	if (!n)
		return;
	if (!dash) {
		uint_str(s, n, 1, 65535, a);
		*b = *a;
		return;
	}
	uint_str(s, (size_t)(dash - s), 1, 65535, a);
	uint_str(dash + 1, n - (size_t)(dash - s) - 1, 1, 65535, b);
}

/* The short form, already checked by port_short_problem(). */
static void port_short(json_object *exposed, json_object *bindings, const char *s)
{
	const char *slash = strrchr(s, '/'), *proto = slash ? slash + 1 : "tcp";
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	const char *c1 = memrchr(s, ':', len), *c2 = NULL;
	char ip[64] = "";
	unsigned long ca, cb, ha = 0, hb = 0;

	if (!c1) {
		range(s, len, &ca, &cb);
	} else {
		range(c1 + 1, len - (size_t)(c1 + 1 - s), &ca, &cb);
		if (s[0] == '[')
			c2 = strstr(s, "]:") + 1;
		else if (c1 > s)
			c2 = memrchr(s, ':', (size_t)(c1 - s));
		if (c2) {
			const char *ipp = s[0] == '[' ? s + 1 : s;
			size_t il = (size_t)(c2 - s) - (s[0] == '[' ? 2 : 0);
			snprintf(ip, sizeof(ip), "%.*s", (int)il, ipp);
			range(c2 + 1, (size_t)(c1 - c2 - 1), &ha, &hb);
		} else {
			range(s, (size_t)(c1 - s), &ha, &hb);
		}
	}
	for (unsigned long p = ca; p && p <= cb; p++) {
		unsigned long h = ha ? (hb > ha ? ha + (p - ca) : ha) : 0;
		add_port(exposed, bindings, ip[0] ? ip : NULL, h, p, proto);
	}
}

static void add_mount(json_object *mounts, const char *type, const char *src, const char *dst,
                      bool ro)
{
	json_object *m = json_object_new_object();

	json_object_object_add(m, "Type", json_object_new_string(type));
	if (src)
		json_object_object_add(m, "Source", json_object_new_string(src));
	json_object_object_add(m, "Target", json_object_new_string(dst));
	json_object_object_add(m, "ReadOnly", json_object_new_boolean(ro));
	json_object_array_add(mounts, m);
}

static void volume_short(json_object *mounts, const char *s)
{
	char buf[4096], *parts[3] = {0};
	size_t np = 0;
	bool ro = false;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ":", &save); t && np < 3;
	     t = strtok_r(NULL, ":", &save))
		parts[np++] = t;
	if (np == 1) {
		add_mount(mounts, "volume", NULL, parts[0], false);
		return;
	}
	if (np == 3) /* the checks allowed ro, rw and nocopy, comma-separated */
		for (char *save = NULL, *t = strtok_r(parts[2], ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			ro |= !strcmp(t, "ro");
	add_mount(mounts, parts[0][0] == '/' ? "bind" : "volume", parts[0], parts[1], ro);
}

int compose_env_parse(const char *path, const char *text, size_t len, compose_env_fn add, void *ctx,
                      struct cerr *err)
{
	const char *nul = memchr(text, '\0', len);
	unsigned line = 0, n = 0;

	if (nul)
		return cerr_setx(err, EINVAL,
		                 "env_file '%s': a NUL byte at offset %zu (an env file is text)",
		                 path, (size_t)(nul - text));
	for (const char *l = text, *end = text + len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		const char *e = nl ? nl : end, *eq;

		line++;
		while (l < e && isspace((unsigned char)*l))
			l++;
		if (e > l && e[-1] == '\r')
			e--;
		if (l < e && *l != '#') {
			eq = memchr(l, '=', (size_t)(e - l));
			if (!eq || eq == l)
				return cerr_setx(
				    err, EINVAL,
				    "env_file '%s' line %u: %s (each line is NAME=VALUE, "
				    "or a # comment)",
				    path, line, eq ? "no name before '='" : "no '='");
			if (++n > COMPOSE_ENV_MAX)
				return cerr_setx(err, EINVAL,
				                 "env_file '%s': more than %d variables", path,
				                 COMPOSE_ENV_MAX);
			if (!add(ctx, l, (size_t)(e - l)))
				return cerr_set(err, ENOMEM, "env_file '%s'", path);
		}
		l = nl ? nl + 1 : end;
	}
	return 0;
}

static bool env_add(void *ctx, const char *p, size_t n)
{
	json_object *s = json_object_new_string_len(p, (int)n);

	if (s && json_object_array_add(ctx, s) == 0)
		return true;
	json_object_put(s);
	return false;
}

/* An env_file of the spec, opened beneath it without following any link. */
static int env_file(json_object *env, int dirfd, const char *path, struct cerr *err)
{
	struct open_how how = {.flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
	                       .resolve =
	                           RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len;
	int r;

	if (dirfd < 0)
		return 1; /* parsed without the spec directory: no body */
	if (compose_path_unmeasured(path))
		return cerr_setx(err, EINVAL, "env_file '%s' is not covered by the spec hash",
		                 path);
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0)
		return cerr_set(err, errno, "env_file '%s'", path);
	if (fstat(fd, &st) < 0)
		return cerr_set(err, errno, "env_file '%s'", path);
	if (!S_ISREG(st.st_mode))
		return cerr_setx(err, EINVAL, "env_file '%s' is not a regular file", path);
	r = read_fd(fd, COMPOSE_MAX_SIZE, path, &text, &len, err);
	if (r < 0)
		return r;
	return compose_env_parse(path, text, len, env_add, env, err);
}

static json_object *device_request(const struct ynode *d)
{
	json_object *r = json_object_new_object(), *caps = json_object_new_array(),
	            *set = json_object_new_array();
	const struct ynode *count = d ? map_get(d, "count") : NULL,
	                   *ids = d ? map_get(d, "device_ids") : NULL,
	                   *cp = d ? map_get(d, "capabilities") : NULL;
	unsigned long n;

	json_object_object_add(r, "Driver", json_object_new_string("nvidia"));
	if (ids && ids->kind == Y_SEQ) {
		json_object *a = json_object_new_array();
		for (size_t i = 0; i < ids->n; i++)
			json_object_array_add(a, json_object_new_string(ids->v[i]->s));
		json_object_object_add(r, "DeviceIDs", a);
	} else if (count && as_uint(count, 0, 1024, &n)) {
		json_object_object_add(r, "Count", json_object_new_int64((int64_t)n));
	} else {
		json_object_object_add(r, "Count", json_object_new_int(-1));
	}
	if (cp && cp->kind == Y_SEQ && cp->n)
		for (size_t i = 0; i < cp->n; i++)
			json_object_array_add(set, json_object_new_string(cp->v[i]->s));
	else
		json_object_array_add(set, json_object_new_string("gpu"));
	json_object_array_add(caps, set);
	json_object_object_add(r, "Capabilities", caps);
	return r;
}

static int service_body(const char *name, const struct ynode *svc, int dirfd,
                        struct compose_service *out, struct cerr *err)
{
	json_object *top = json_object_new_object(), *hc = json_object_new_object(),
	            *env = json_object_new_array(), *exposed = json_object_new_object(),
	            *bindings = json_object_new_object(), *mounts = json_object_new_array(),
	            *labels = json_object_new_object(), *devreq = json_object_new_array();
	int r = 0;

	json_object_object_add(top, "HostConfig", hc);
	json_object_object_add(top, "Labels", labels);
	json_object_object_add(labels, "org.cocoon.service", json_object_new_string(name));
	json_object_object_add(top, "Env", env);
	json_object_object_add(top, "ExposedPorts", exposed);
	json_object_object_add(hc, "PortBindings", bindings);
	json_object_object_add(hc, "Mounts", mounts);
	for (size_t i = 0; i < svc->n && r >= 0; i += 2) {
		const char *key = svc->v[i]->s;
		const struct ynode *v = svc->v[i + 1];

		if (!strcmp(key, "image")) {
			json_object_object_add(top, "Image", json_object_new_string(v->s));
			out->image = strdup(v->s);
		} else if (!strcmp(key, "command") || !strcmp(key, "entrypoint")) {
			json_object *w = words(v);
			if (!w)
				r = cerr_setx(err, EINVAL, "services.%s.%s: unbalanced quotes",
				              name, key);
			json_object_object_add(top, !strcmp(key, "command") ? "Cmd" : "Entrypoint",
			                       w);
		} else if (!strcmp(key, "env_file")) {
			if (is_str(v))
				r = env_file(env, dirfd, v->s, err);
			for (size_t j = 0; v->kind == Y_SEQ && j < v->n && r >= 0; j++) {
				const struct ynode *p = v->v[j];
				r = env_file(env, dirfd, is_str(p) ? p->s : map_get(p, "path")->s,
				             err);
			}
		} else if (!strcmp(key, "ports")) {
			for (size_t j = 0; j < v->n; j++) {
				const struct ynode *p = v->v[j], *t, *pub, *ip, *pr;
				unsigned long tp = 0, pp = 0;
				if (is_str(p)) {
					port_short(exposed, bindings, p->s);
					continue;
				}
				t = map_get(p, "target");
				pub = map_get(p, "published");
				ip = map_get(p, "host_ip");
				pr = map_get(p, "protocol");
				as_uint(t, 1, 65535, &tp);
				if (pub)
					as_uint(pub, 1, 65535, &pp);
				add_port(exposed, bindings, is_str(ip) ? ip->s : NULL, pp, tp,
				         is_str(pr) ? pr->s : "tcp");
			}
		} else if (!strcmp(key, "volumes")) {
			for (size_t j = 0; j < v->n; j++) {
				const struct ynode *m = v->v[j], *src, *ro;
				if (is_str(m)) {
					volume_short(mounts, m->s);
					continue;
				}
				src = map_get(m, "source");
				ro = map_get(m, "read_only");
				add_mount(mounts, map_get(m, "type")->s,
				          is_str(src) ? src->s : NULL, map_get(m, "target")->s,
				          ro && as_bool(ro) == 1);
			}
		} else if (!strcmp(key, "gpus")) {
			json_object_array_add(devreq, device_request(NULL));
		} else if (!strcmp(key, "deploy")) {
			const struct ynode *devs =
			    map_get(map_get(map_get(v, "resources"), "reservations"), "devices");
			for (size_t j = 0; devs && j < devs->n; j++)
				json_object_array_add(devreq, device_request(devs->v[j]));
		} else if (!strcmp(key, "restart")) {
			json_object *rp = json_object_new_object();
			unsigned long x = 0;
			bool onf = !strncmp(v->s, "on-failure", 10);
			if (!strncmp(v->s, "on-failure:", 11))
				uint_str(v->s + 11, strlen(v->s + 11), 0, 1000000, &x);
			json_object_object_add(rp, "Name",
			                       json_object_new_string(onf ? "on-failure" : v->s));
			json_object_object_add(rp, "MaximumRetryCount",
			                       json_object_new_int64((int64_t)x));
			json_object_object_add(hc, "RestartPolicy", rp);
			snprintf(out->restart, sizeof(out->restart), "%s", v->s);
		} else if (!strcmp(key, "shm_size")) {
			json_object_object_add(hc, "ShmSize",
			                       json_object_new_int64(size_bytes(v->s)));
		} else if (!strcmp(key, "ulimits")) {
			json_object *ul = json_object_new_array();
			for (size_t j = 0; j < v->n; j += 2) {
				const struct ynode *l = v->v[j + 1];
				json_object *o = json_object_new_object();
				unsigned long soft = 0, hard = 0;
				if (is_str(l)) {
					as_uint(l, 0, ULONG_MAX, &soft);
					hard = soft;
				} else {
					as_uint(map_get(l, "soft"), 0, ULONG_MAX, &soft);
					as_uint(map_get(l, "hard"), 0, ULONG_MAX, &hard);
				}
				json_object_object_add(o, "Name",
				                       json_object_new_string(v->v[j]->s));
				json_object_object_add(o, "Soft",
				                       json_object_new_int64((int64_t)soft));
				json_object_object_add(o, "Hard",
				                       json_object_new_int64((int64_t)hard));
				json_object_array_add(ul, o);
			}
			json_object_object_add(hc, "Ulimits", ul);
		} else if (!strcmp(key, "working_dir")) {
			json_object_object_add(top, "WorkingDir", json_object_new_string(v->s));
		} else if (!strcmp(key, "user")) {
			json_object_object_add(top, "User", json_object_new_string(v->s));
		} else if (!strcmp(key, "healthcheck")) {
			json_object *h = json_object_new_object();
			const struct ynode *t = map_get(v, "test"), *d = map_get(v, "disable");
			static const char *const durs[][2] = {{"interval", "Interval"},
			                                      {"timeout", "Timeout"},
			                                      {"start_period", "StartPeriod"},
			                                      {"start_interval", "StartInterval"}};
			unsigned long retries;
			if ((d && as_bool(d) == 1) || !t) {
				json_object *n = json_object_new_array();
				json_object_array_add(n, json_object_new_string("NONE"));
				json_object_object_add(h, "Test", n);
			} else if (is_str(t)) {
				json_object *n = json_object_new_array();
				json_object_array_add(n, json_object_new_string("CMD-SHELL"));
				json_object_array_add(n, json_object_new_string(t->s));
				json_object_object_add(h, "Test", n);
			} else {
				json_object_object_add(h, "Test", words(t));
			}
			for (size_t j = 0; j < ARRAY_SIZE(durs); j++) {
				const struct ynode *x = map_get(v, durs[j][0]);
				if (is_str(x))
					json_object_object_add(
					    h, durs[j][1],
					    json_object_new_int64(duration_ns(x->s)));
			}
			if (as_uint(map_get(v, "retries"), 0, 1000000, &retries))
				json_object_object_add(h, "Retries",
				                       json_object_new_int64((int64_t)retries));
			json_object_object_add(top, "Healthcheck", h);
		} else if (!strcmp(key, "depends_on")) {
			for (size_t j = 0; j < v->n; j += v->kind == Y_MAP ? 2 : 1) {
				const struct ynode *cond =
				    v->kind == Y_MAP ? map_get(v->v[j + 1], "condition") : NULL;
				struct compose_dep *nd =
				    reallocarray(out->deps, out->n_deps + 1, sizeof(*nd));
				if (!nd) {
					r = cerr_set(err, ENOMEM, "services.%s", name);
					break;
				}
				out->deps = nd;
				nd[out->n_deps].service = strdup(v->v[j]->s);
				nd[out->n_deps].healthy =
				    cond && !strcmp(cond->s, "service_healthy");
				out->n_deps++;
			}
		} else if (!strcmp(key, "cap_add")) {
			json_object *caps = json_object_new_array();
			for (size_t j = 0; j < v->n; j++) {
				char cap[64], full[80];
				compose_cap_normalise(v->v[j]->s, cap, sizeof(cap));
				snprintf(full, sizeof(full), "CAP_%s", cap);
				json_object_array_add(caps, json_object_new_string(full));
			}
			json_object_object_add(hc, "CapAdd", caps);
		} else if (!strcmp(key, "security_opt")) {
			json_object *so = json_object_new_array();
			for (size_t j = 0; j < v->n; j++)
				json_object_array_add(so, json_object_new_string(v->v[j]->s));
			json_object_object_add(hc, "SecurityOpt", so);
		}
	}
	/* environment after env_file: it wins, as in Compose (the engine keeps
	 * the last of duplicate names) */
	const struct ynode *e = map_get(svc, "environment");
	for (size_t j = 0; r >= 0 && e && e->kind == Y_MAP && j < e->n; j += 2) {
		char *kv;
		if (is_null(e->v[j + 1]))
			continue;
		if (asprintf(&kv, "%s=%s", e->v[j]->s, e->v[j + 1]->s) < 0) {
			r = cerr_set(err, ENOMEM, "services.%s", name);
			break;
		}
		json_object_array_add(env, json_object_new_string(kv));
		free(kv);
	}
	for (size_t j = 0; r >= 0 && e && e->kind == Y_SEQ && j < e->n; j++)
		json_object_array_add(env, json_object_new_string(e->v[j]->s));
	if (json_object_array_length(devreq))
		json_object_object_add(hc, "DeviceRequests", devreq);
	else
		json_object_put(devreq);
	out->name = strdup(name);
	if (r == 1) {
		r = 0;
	} else if (r == 0) {
		out->create_json = strdup(json_object_to_json_string_ext(
		    top, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		if (!out->create_json || !out->image)
			r = cerr_set(err, ENOMEM, "services.%s", name);
	}
	json_object_put(top);
	return r;
}

static void service_free(struct compose_service *s)
{
	free(s->name);
	free(s->image);
	free(s->create_json);
	for (size_t i = 0; i < s->n_deps; i++)
		free(s->deps[i].service);
	free(s->deps);
}

static int build_services(const struct ynode *services, int dirfd, struct compose_spec *spec,
                          struct cerr *err)
{
	size_t n = services && services->kind == Y_MAP ? services->n / 2 : 0;
	int r;

	if (!n)
		return 0;
	spec->svc = calloc(n, sizeof(*spec->svc));
	if (!spec->svc)
		return cerr_set(err, ENOMEM, "services");
	for (size_t i = 0; i < n; i++) {
		r = service_body(services->v[2 * i]->s, services->v[2 * i + 1], dirfd,
		                 &spec->svc[i], err);
		spec->n_svc = i + 1;
		if (r < 0)
			return r;
	}
	return 0;
}

int compose_parse(const char *file, const char *text, size_t len, const struct compose_opts *opts,
                  struct compose_spec *out, struct cerr *err)
{
	struct checker c = {.file = file, .opts = opts, .err = err};
	struct ynode *root = NULL;
	int r = tree_build(&c, text, len, &root);

	if (r == 0)
		check_document(&c, root);
	if (c.oom) {
		ynode_free(root);
		compose_spec_free(&c.spec);
		return cerr_set(err, ENOMEM, "parsing %s", file);
	}
	if (c.problems) {
		ynode_free(root);
		compose_spec_free(&c.spec);
		return -EINVAL;
	}
	if (!out) {
		ynode_free(root);
		compose_spec_free(&c.spec);
		return 0;
	}
	r = build_services(c.services, opts ? opts->spec_dirfd : -1, &c.spec, err);
	ynode_free(root);
	if (r < 0) {
		compose_spec_free(&c.spec);
		return r;
	}
	*out = c.spec;
	return 0;
}

int compose_load_dir(const char *dir, const struct compose_opts *opts, struct compose_spec *out,
                     struct cerr *err)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	struct compose_opts o = {0};
	size_t len;
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, COMPOSE_FILE);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cerr_set(err, errno, "open '%s'", dir);
	fd = openat(dfd, COMPOSE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cerr_set(err, errno == ELOOP ? EINVAL : errno, "open '%s'", path);
	r = read_fd(fd, COMPOSE_MAX_SIZE, path, &text, &len, err);
	if (r < 0)
		return r == -EFBIG ? cerr_prefix(err, -EINVAL, "workload spec") : r;
	if (opts)
		o = *opts;
	else
		o.spec_dirfd = -1;
	if (o.spec_dirfd < 0)
		o.spec_dirfd = dfd;
	return compose_parse(COMPOSE_FILE, text, len, &o, out, err);
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void compose_spec_free(struct compose_spec *s)
{
	if (!s)
		return;
	free_strv(s->services, s->n_services);
	free_strv(s->registries, s->n_registries);
	free(s->gpu_reference);
	free_strv(s->volumes, s->n_volumes);
	free(s->images);
	for (size_t i = 0; i < s->n_svc; i++)
		service_free(&s->svc[i]);
	free(s->svc);
	for (size_t i = 0; i < s->n_egress; i++) {
		free(s->egress[i].cidr);
		free(s->egress[i].host);
		free(s->egress[i].ports);
	}
	free(s->egress);
	memset(s, 0, sizeof(*s));
}
