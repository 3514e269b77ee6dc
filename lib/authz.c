/* authz.c - the decisions of cocoon-authz; see cocoon/authz.h.
 *
 * The request URI is parsed strictly: percent-decoding that is malformed or
 * yields a NUL, '.'/'..'/empty path segments, a repeated query parameter
 * (the engine would take the first, a reviewer might read the last) are all
 * denials. The API version prefix (/v1.41) is optional, as for the engine.
 * Only bodies dockerd forwards (JSON under 1 MiB) can be checked; where the
 * decision needs a body and there is none, the answer is a denial.
 */
#include "cocoon/authz.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "cocoon/util.h"

#define MAX_SEGS 12
#define MAX_PARAMS 32
#define URI_MAX 8192

static void deny(struct authz_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void deny(struct authz_verdict *v, const char *fmt, ...)
{
	va_list ap;

	v->allow = false;
	va_start(ap, fmt);
	vsnprintf(v->msg, sizeof(v->msg), fmt, ap);
	va_end(ap);
}

static void allow(struct authz_verdict *v)
{
	v->allow = true;
	v->msg[0] = '\0';
}

/* ---- the URI ------------------------------------------------------------ */

/* Percent-decodes n bytes of s into out (NUL-terminated). Refuses bad
 * escapes, NUL and control bytes. */
static int pct_decode(const char *s, size_t n, bool plus_space, char *out, size_t outsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hex_digit(s[i + 1]);
			lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			ch = hi * 16 + lo;
			i += 2;
		} else if (ch == '+' && plus_space) {
			ch = ' ';
		}
		if (ch < 0x20 || ch == 0x7f)
			return -EINVAL;
		if (o + 1 >= outsz)
			return -E2BIG;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

struct uri {
	char path[URI_MAX];
	char *seg[MAX_SEGS]; /* into path, after the version prefix */
	size_t nseg;
	char qbuf[URI_MAX];
	char *key[MAX_PARAMS], *val[MAX_PARAMS];
	size_t nparam;
};

static const char *uri_parse(const char *raw, struct uri *u)
{
	const char *q = strchr(raw, '?');
	size_t plen = q ? (size_t)(q - raw) : strlen(raw);
	char *p, *save = NULL;
	size_t qo = 0;

	memset(u, 0, sizeof(*u));
	if (raw[0] != '/' || strchr(raw, '#'))
		return "the request URI is not an absolute path";
	if (pct_decode(raw, plen, false, u->path, sizeof(u->path)) < 0)
		return "the request path has a malformed or forbidden percent-escape";
	if (strstr(u->path, "//") || strstr(u->path, "/./") || strstr(u->path, "/../") ||
	    (plen >= 2 &&
	     (!strcmp(u->path + strlen(u->path) - 2, "/.") ||
	      (strlen(u->path) >= 3 && !strcmp(u->path + strlen(u->path) - 3, "/..")))))
		return "the request path holds empty, '.' or '..' segments";
	for (p = strtok_r(u->path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (u->nseg == MAX_SEGS)
			return "the request path has too many segments";
		u->seg[u->nseg++] = p;
	}
	/* the optional API version prefix: v1.41, v1 */
	if (u->nseg && u->seg[0][0] == 'v' && isdigit((unsigned char)u->seg[0][1])) {
		const char *s = u->seg[0] + 1;

		s += strspn(s, "0123456789");
		if (*s == '.' && isdigit((unsigned char)s[1]))
			s += 1 + strspn(s + 1, "0123456789");
		if (*s)
			return "the request path has a malformed API version";
		memmove(u->seg, u->seg + 1, (u->nseg - 1) * sizeof(u->seg[0]));
		u->nseg--;
	}
	if (!q)
		return NULL;
	for (const char *a = q + 1; *a;) {
		const char *e = strchrnul(a, '&'), *eq = memchr(a, '=', (size_t)(e - a));
		size_t kl = eq ? (size_t)(eq - a) : (size_t)(e - a);

		if (e == a) {
			a = *e ? e + 1 : e;
			continue;
		}
		if (u->nparam == MAX_PARAMS)
			return "the request has too many query parameters";
		u->key[u->nparam] = u->qbuf + qo;
		if (pct_decode(a, kl, true, u->qbuf + qo, sizeof(u->qbuf) - qo) < 0)
			return "a query parameter has a malformed or forbidden percent-escape";
		qo += strlen(u->qbuf + qo) + 1;
		u->val[u->nparam] = u->qbuf + qo;
		if (eq) {
			if (pct_decode(eq + 1, (size_t)(e - eq - 1), true, u->qbuf + qo,
			               sizeof(u->qbuf) - qo) < 0)
				return "a query parameter has a malformed or forbidden "
				       "percent-escape";
		} else if (qo < sizeof(u->qbuf)) {
			u->qbuf[qo] = '\0';
		} else {
			return "the query is too long";
		}
		qo += strlen(u->qbuf + qo) + 1;
		for (size_t i = 0; i < u->nparam; i++)
			if (!strcmp(u->key[i], u->key[u->nparam]))
				return "a query parameter is repeated";
		u->nparam++;
		a = *e ? e + 1 : e;
	}
	return NULL;
}

static const char *param(const struct uri *u, const char *key)
{
	for (size_t i = 0; i < u->nparam; i++)
		if (!strcmp(u->key[i], key))
			return u->val[i];
	return NULL;
}

static bool seg_is(const struct uri *u, size_t i, const char *s)
{
	return i < u->nseg && !strcmp(u->seg[i], s);
}

/* ---- pulls -------------------------------------------------------------- */

static void decide_pull(const struct authz_env *env, const struct uri *u, struct authz_verdict *v)
{
	static const char *const known[] = {"fromImage", "tag", "platform", NULL};
	const char *from = param(u, "fromImage"), *tag = param(u, "tag");
	struct compose_ref ref;
	struct cerr err = CERR_INIT;
	char full[1024];

	if (param(u, "fromSrc") || param(u, "repo"))
		return deny(v, "docker import is never allowed in Docker mode: images come only "
		               "by digest from x-cocoon.registries or the verified archive");
	if (!from || !*from)
		return deny(v, "images/create without fromImage is not allowed");
	for (size_t i = 0; i < u->nparam; i++) {
		bool ok = false;

		for (size_t j = 0; known[j]; j++)
			ok |= !strcmp(u->key[i], known[j]);
		if (!ok)
			return deny(v, "images/create with parameter '%s' is not allowed",
			            u->key[i]);
	}
	if (tag && *tag) {
		if (strncmp(tag, "sha256:", 7))
			return deny(v,
			            "pull of %s:%s denied: the workload spec allows pulls only by "
			            "digest (services.*.image must be name@sha256:<64 hex>)",
			            from, tag);
		if (strchr(from, '@'))
			return deny(v, "pull of %s denied: a digest both in fromImage and tag",
			            from);
		snprintf(full, sizeof(full), "%s@%s", from, tag);
	} else {
		snprintf(full, sizeof(full), "%s", from);
	}
	if (compose_ref_parse(full, true, &ref, &err) < 0)
		return deny(v, "pull denied: %s (the workload spec allows pulls only by digest)",
		            err.msg);
	if (!compose_image_allowed(env->spec, &ref))
		return deny(v,
		            "pull of %s denied: it is not the image of any service in the "
		            "workload spec (services.*.image)",
		            full);
	if (!compose_registry_allowed(env->spec, ref.domain))
		return deny(v,
		            "pull of %s denied: registry %s is not in x-cocoon.registries of the "
		            "workload spec",
		            full, ref.domain);
	allow(v);
}

/* ---- container create --------------------------------------------------- */

/* 0: absent or null; 1: present with the type; -1: present with another type */
static int jget(json_object *o, const char *key, json_type t, json_object **out)
{
	json_object *x = NULL;

	*out = NULL;
	if (!o || !json_object_object_get_ex(o, key, &x) || !x)
		return 0;
	if (!json_object_is_type(x, t))
		return -1;
	*out = x;
	return 1;
}

static bool check_bind_source(const struct authz_env *env, const char *src, bool ro,
                              struct authz_verdict *v)
{
	const char *why = compose_bind_source_problem(src);

	if (why) {
		deny(v, "bind of %s denied: %s (workload spec rule: services.*.volumes)", src, why);
		return false;
	}
	if (ro)
		return true;
	if (!strncmp(src, "/spec", 5)) {
		deny(v, "bind of %s denied: /spec binds must be read-only (workload spec rule)",
		     src);
		return false;
	}
	if (!env->spec->data_rw) {
		deny(v,
		     "bind of %s denied: /data binds must be read-only unless x-cocoon.data_rw is "
		     "true in the workload spec",
		     src);
		return false;
	}
	return true;
}

static bool check_binds(const struct authz_env *env, json_object *binds, struct authz_verdict *v)
{
	for (size_t i = 0; i < json_object_array_length(binds); i++) {
		json_object *b = json_object_array_get_idx(binds, i);
		char buf[4096], *parts[3] = {0};
		size_t np = 0;
		bool ro = false;

		if (!json_object_is_type(b, json_type_string) ||
		    (size_t)json_object_get_string_len(b) >= sizeof(buf)) {
			deny(v, "HostConfig.Binds[%zu] is not a string: denied", i);
			return false;
		}
		strcpy(buf, json_object_get_string(b));
		if (strlen(buf) != (size_t)json_object_get_string_len(b)) {
			deny(v, "HostConfig.Binds[%zu] holds a NUL byte: denied", i);
			return false;
		}
		for (char *s = NULL, *t = strtok_r(buf, ":", &s); t; t = strtok_r(NULL, ":", &s)) {
			if (np == 3) {
				deny(v, "HostConfig.Binds[%zu] is not SOURCE:TARGET[:MODE]: denied",
				     i);
				return false;
			}
			parts[np++] = t;
		}
		if (np < 2)
			continue; /* an anonymous volume at TARGET */
		if (np == 3)
			for (char *s = NULL, *t = strtok_r(parts[2], ",", &s); t;
			     t = strtok_r(NULL, ",", &s))
				ro |= !strcmp(t, "ro");
		if (parts[0][0] != '/')
			continue; /* a named volume */
		if (!check_bind_source(env, parts[0], ro, v))
			return false;
	}
	return true;
}

static bool check_mounts(const struct authz_env *env, json_object *mounts, struct authz_verdict *v)
{
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		json_object *m = json_object_array_get_idx(mounts, i), *type, *src, *ro, *vo, *dc;

		if (!json_object_is_type(m, json_type_object) ||
		    jget(m, "Type", json_type_string, &type) != 1 ||
		    jget(m, "Source", json_type_string, &src) < 0 ||
		    jget(m, "ReadOnly", json_type_boolean, &ro) < 0 ||
		    jget(m, "VolumeOptions", json_type_object, &vo) < 0) {
			deny(v, "HostConfig.Mounts[%zu] cannot be parsed: denied", i);
			return false;
		}
		const char *t = json_object_get_string(type);

		if (!strcmp(t, "bind")) {
			if (!src) {
				deny(v, "HostConfig.Mounts[%zu]: a bind without a source: denied",
				     i);
				return false;
			}
			if (!check_bind_source(env, json_object_get_string(src),
			                       ro && json_object_get_boolean(ro), v))
				return false;
		} else if (!strcmp(t, "volume")) {
			/* a volume driver with options can mount any host path */
			if (jget(vo, "DriverConfig", json_type_object, &dc) < 0 || dc) {
				deny(
				    v,
				    "HostConfig.Mounts[%zu]: volume driver options are not allowed "
				    "(workload spec: only plain named volumes)",
				    i);
				return false;
			}
		} else if (strcmp(t, "tmpfs")) {
			deny(
			    v,
			    "HostConfig.Mounts[%zu]: mount type '%s' is not allowed (bind, volume, "
			    "tmpfs)",
			    i, t);
			return false;
		}
	}
	return true;
}

/* A namespace mode: "" or a private mode; "host" and "container:..." denied. */
static bool check_ns_mode(json_object *hc, const char *key, const char *rule, const char *const *ok,
                          struct authz_verdict *v)
{
	json_object *m;
	int r = jget(hc, key, json_type_string, &m);
	const char *s;

	if (r < 0) {
		deny(v, "HostConfig.%s is not a string: denied", key);
		return false;
	}
	if (!r)
		return true;
	s = json_object_get_string(m);
	if (!*s)
		return true;
	for (size_t i = 0; ok && ok[i]; i++)
		if (!strcmp(s, ok[i]))
			return true;
	if (!strcmp(key, "NetworkMode") && strcmp(s, "host") && strncmp(s, "container:", 10) &&
	    strcmp(s, "none") && strchr(s, ':') == NULL)
		return true; /* a user-defined network by name */
	deny(v, "HostConfig.%s=%s denied: the workload spec forbids %s", key, s, rule);
	return false;
}

static bool nonempty_array(json_object *o, const char *key, int *bad)
{
	json_object *a;
	int r = jget(o, key, json_type_array, &a);

	if (r < 0)
		*bad = 1;
	return r == 1 && json_object_array_length(a) > 0;
}

bool authz_verified_id(const struct authz_env *env, const char *id)
{
	const char *line = env->verified_ids;
	struct compose_ref ref;
	size_t idlen = strlen(id);

	if (idlen != 71 || strspn(id + 7, "0123456789abcdef") != 64)
		return false;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n > idlen + 1 && n < idlen + 1 + 600 && !memcmp(line, id, idlen) &&
		    line[idlen] == ' ') {
			char r[600];
			memcpy(r, line + idlen + 1, n - idlen - 1);
			r[n - idlen - 1] = 0;
			if (compose_ref_parse(r, true, &ref, NULL) == 0 &&
			    compose_image_allowed(env->spec, &ref))
				return true;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

static void decide_create(const struct authz_env *env, const char *body, size_t len,
                          struct authz_verdict *v)
{
	static const char *const net_ok[] = {"default", "bridge", "none", NULL};
	static const char *const ipc_ok[] = {"private", "shareable", "none", NULL};
	static const char *const cg_ok[] = {"private", NULL};
	json_tokener *tok;
	json_object *root = NULL, *img, *hc, *x;
	struct compose_ref ref;
	struct cerr err = CERR_INIT;
	int bad = 0;

	if (!body)
		return deny(v, "containers/create without a JSON body that the plugin can see: "
		               "denied");
	tok = json_tokener_new_ex(AUTHZ_MAX_DEPTH);
	if (tok) {
		root = json_tokener_parse_ex(tok, body, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != len) {
			json_object_put(root);
			root = NULL;
		}
		json_tokener_free(tok);
	}
	if (!root || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return deny(v, "containers/create body is not a JSON object: denied");
	}
	if (jget(root, "Image", json_type_string, &img) != 1) {
		deny(v, "containers/create without an Image: denied");
		goto out;
	}
	if (!strncmp(json_object_get_string(img), "sha256:", 7) &&
	    authz_verified_id(env, json_object_get_string(img))) {
		/* an image cocoon-workload loaded from an archive it verified */
	} else if (compose_ref_parse(json_object_get_string(img), true, &ref, &err) < 0) {
		deny(v, "container image denied: %s (workload spec: services.*.image)", err.msg);
		goto out;
	} else if (!compose_image_allowed(env->spec, &ref)) {
		deny(v,
		     "container image %s denied: not the image of any service in the workload "
		     "spec",
		     json_object_get_string(img));
		goto out;
	}
	if (jget(root, "HostConfig", json_type_object, &hc) < 0) {
		deny(v, "HostConfig is not an object: denied");
		goto out;
	}
	if (!hc) {
		allow(v);
		goto out;
	}
	if (jget(hc, "Privileged", json_type_boolean, &x) < 0 ||
	    (x && json_object_get_boolean(x))) {
		deny(v, "privileged containers are never allowed (workload spec rule: privileged)");
		goto out;
	}
	if (!check_ns_mode(hc, "NetworkMode", "network_mode: host", net_ok, v) ||
	    !check_ns_mode(hc, "PidMode", "pid: host", NULL, v) ||
	    !check_ns_mode(hc, "IpcMode", "ipc: host", ipc_ok, v) ||
	    !check_ns_mode(hc, "UsernsMode", "userns_mode: host", NULL, v) ||
	    !check_ns_mode(hc, "UTSMode", "sharing the VM's namespaces", NULL, v) ||
	    !check_ns_mode(hc, "CgroupnsMode", "sharing the VM's namespaces", cg_ok, v))
		goto out;
	if (nonempty_array(hc, "Devices", &bad) || nonempty_array(hc, "DeviceCgroupRules", &bad)) {
		deny(v,
		     "devices are never allowed (workload spec rule: devices; the GPU comes with "
		     "gpus: all)");
		goto out;
	}
	if (jget(hc, "DeviceRequests", json_type_array, &x) < 0) {
		bad = 1;
	} else if (x) {
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			json_object *d = json_object_array_get_idx(x, i), *drv;

			if (jget(d, "Driver", json_type_string, &drv) < 0 ||
			    (drv && *json_object_get_string(drv) &&
			     strcmp(json_object_get_string(drv), "nvidia"))) {
				deny(v,
				     "device request denied: only the nvidia GPU driver is allowed "
				     "(workload spec: gpus / deploy...devices)");
				goto out;
			}
		}
	}
	if (jget(hc, "CapAdd", json_type_array, &x) < 0) {
		bad = 1;
	} else if (x) {
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			json_object *c = json_object_array_get_idx(x, i);
			char cap[64];

			if (!json_object_is_type(c, json_type_string) ||
			    !compose_cap_normalise(json_object_get_string(c), cap, sizeof(cap)) ||
			    !compose_cap_allowed(cap)) {
				deny(v,
				     "capability %s denied: the workload spec allows only "
				     "NET_BIND_SERVICE, SYS_NICE, IPC_LOCK (rule: cap_add)",
				     json_object_is_type(c, json_type_string)
				         ? json_object_get_string(c)
				         : "?");
				goto out;
			}
		}
	}
	if (jget(hc, "SecurityOpt", json_type_array, &x) < 0) {
		bad = 1;
	} else if (x) {
		for (size_t i = 0; i < json_object_array_length(x); i++) {
			json_object *o = json_object_array_get_idx(x, i);
			const char *s = json_object_is_type(o, json_type_string)
			                    ? json_object_get_string(o)
			                    : "?";

			if (strcmp(s, "no-new-privileges") && strcmp(s, "no-new-privileges:true") &&
			    strcmp(s, "no-new-privileges=true")) {
				deny(v,
				     "security option %s denied: the workload spec allows only "
				     "no-new-privileges (rule: security_opt)",
				     s);
				goto out;
			}
		}
	}
	if (nonempty_array(hc, "VolumesFrom", &bad) || nonempty_array(hc, "Dns", &bad) ||
	    nonempty_array(hc, "ExtraHosts", &bad)) {
		deny(v, "volumes_from, dns and extra_hosts are not in the workload spec subset: "
		        "denied");
		goto out;
	}
	if (jget(hc, "Sysctls", json_type_object, &x) < 0 ||
	    (x && json_object_object_length(x) > 0)) {
		deny(v, "sysctls are not allowed (workload spec rule): denied");
		goto out;
	}
	/* an empty list here unmasks /proc and /sys paths (systempaths=unconfined) */
	if (jget(hc, "MaskedPaths", json_type_array, &x) != 0 ||
	    jget(hc, "ReadonlyPaths", json_type_array, &x) != 0) {
		deny(v, "MaskedPaths/ReadonlyPaths may not be set: they weaken confinement "
		        "(workload spec rule: security_opt)");
		goto out;
	}
	if (jget(hc, "CgroupParent", json_type_string, &x) < 0 ||
	    (x && *json_object_get_string(x))) {
		deny(v, "cgroup_parent is not allowed (workload spec rule): denied");
		goto out;
	}
	if (jget(hc, "Runtime", json_type_string, &x) < 0 ||
	    (x && *json_object_get_string(x) && strcmp(json_object_get_string(x), "runc") &&
	     strcmp(json_object_get_string(x), "nvidia"))) {
		deny(v, "runtime %s denied: only runc and nvidia",
		     x ? json_object_get_string(x) : "?");
		goto out;
	}
	if (jget(hc, "Binds", json_type_array, &x) < 0) {
		bad = 1;
	} else if (x && !check_binds(env, x, v)) {
		goto out;
	}
	if (jget(hc, "Mounts", json_type_array, &x) < 0) {
		bad = 1;
	} else if (x && !check_mounts(env, x, v)) {
		goto out;
	}
	if (bad) {
		deny(v, "a HostConfig field has an unexpected type: denied");
		goto out;
	}
	allow(v);
out:
	json_object_put(root);
}

/* volumes/create: a local volume without driver options (which could bind
 * any path of the VM into the volume). */
static void decide_volume_create(const char *body, size_t len, struct authz_verdict *v)
{
	json_object *root, *drv, *opts;

	if (!body) {
		allow(v); /* no body: a default local volume */
		return;
	}
	root = json_tokener_parse(body);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    jget(root, "Driver", json_type_string, &drv) < 0 ||
	    jget(root, "DriverOpts", json_type_object, &opts) < 0) {
		json_object_put(root);
		return deny(v, "volumes/create body cannot be parsed: denied");
	}
	if ((drv && *json_object_get_string(drv) && strcmp(json_object_get_string(drv), "local")) ||
	    (opts && json_object_object_length(opts) > 0))
		deny(v, "volumes with a driver or driver options are denied: they can mount host "
		        "paths (workload spec: only plain named volumes)");
	else
		allow(v);
	json_object_put(root);
	(void)len;
}

static void decide_network_create(const char *body, struct authz_verdict *v)
{
	json_object *root, *drv;

	if (!body)
		return deny(v, "networks/create without a body the plugin can see: denied");
	root = json_tokener_parse(body);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    jget(root, "Driver", json_type_string, &drv) < 0) {
		json_object_put(root);
		return deny(v, "networks/create body cannot be parsed: denied");
	}
	if (drv && *json_object_get_string(drv) && strcmp(json_object_get_string(drv), "bridge"))
		deny(v, "network driver %s denied: only bridge networks",
		     json_object_get_string(drv));
	else
		allow(v);
	json_object_put(root);
}

/* ---- the endpoint table ------------------------------------------------- */

/* attach with stdin is a way in, like exec; output-only attach is a read */
static bool attach_stdin(const struct uri *u)
{
	const char *s = param(u, "stdin");

	return s && (!strcmp(s, "1") || !strcasecmp(s, "true"));
}

void authz_decide_parts(const struct authz_env *env, const char *method, const char *uri,
                        const char *body, size_t body_len, struct authz_verdict *v)
{
	struct uri *u = malloc(sizeof(*u));
	const char *why;
	const char *s0;

	if (!u)
		return deny(v, "out of memory: denied");
	if ((why = uri_parse(uri, u))) {
		deny(v, "%s: denied", why);
		goto out;
	}
	s0 = u->nseg ? u->seg[0] : "";
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
		allow(v); /* reads */
		goto out;
	}
	if (strcmp(method, "POST") && strcmp(method, "PUT") && strcmp(method, "DELETE")) {
		deny(v, "method %s is not allowed", method);
		goto out;
	}
	if (!strcmp(s0, "build") || !strcmp(s0, "session") || !strcmp(s0, "grpc")) {
		deny(v,
		     "image builds are never allowed in Docker mode (workload spec rule: build)");
	} else if (!strcmp(s0, "commit")) {
		deny(v,
		     "docker commit is never allowed in Docker mode: only the spec's images run");
	} else if (!strcmp(s0, "plugins")) {
		deny(v, "engine plugins may not be installed or changed in Docker mode");
	} else if (!strcmp(s0, "swarm") || !strcmp(s0, "services") || !strcmp(s0, "nodes") ||
	           !strcmp(s0, "secrets") || !strcmp(s0, "configs") || !strcmp(s0, "tasks")) {
		deny(v, "swarm mode is not allowed in Docker mode");
	} else if (!strcmp(s0, "images")) {
		if (u->nseg == 2 && seg_is(u, 1, "create") && !strcmp(method, "POST"))
			decide_pull(env, u, v);
		else if (u->nseg == 2 && seg_is(u, 1, "load") && !strcmp(method, "POST")) {
			if (env->load_window_open)
				allow(v);
			else
				deny(v, "images/load is allowed only during start-up, while "
				        "cocoon-workload loads the verified archive");
		} else if (u->nseg >= 3 && seg_is(u, u->nseg - 1, "push"))
			deny(v, "docker push is never allowed in Docker mode");
		else if (u->nseg >= 2 && !strcmp(method, "DELETE"))
			allow(v); /* removing an image only loses availability */
		else if (u->nseg == 2 && seg_is(u, 1, "prune"))
			allow(v);
		else
			deny(v, "%s /images/%s is not an operation the workload spec allows",
			     method, u->nseg >= 2 ? u->seg[u->nseg - 1] : "");
	} else if (!strcmp(s0, "containers")) {
		const char *op = u->nseg >= 3 ? u->seg[2] : "";

		if (u->nseg == 2 && seg_is(u, 1, "create") && !strcmp(method, "POST"))
			decide_create(env, body, body_len, v);
		else if (u->nseg == 2 && seg_is(u, 1, "prune"))
			allow(v);
		else if (u->nseg == 2 && !strcmp(method, "DELETE"))
			allow(v);
		else if (u->nseg == 3 && !strcmp(op, "exec")) {
			if (env->spec->exec_allow)
				allow(v);
			else
				deny(v,
				     "docker exec is denied by the workload spec (x-cocoon.exec: "
				     "deny; allow is for debugging only)");
		} else if (u->nseg == 3 && !strcmp(op, "attach") && !attach_stdin(u)) {
			allow(v); /* output only: what GET .../logs shows anyway */
		} else if (u->nseg == 3 && (!strcmp(op, "attach") || !strcmp(op, "archive"))) {
			if (env->spec->exec_allow)
				allow(v);
			else
				deny(v,
				     "%s into a container is denied by the workload spec "
				     "(x-cocoon.exec: deny)",
				     !strcmp(op, "attach") ? "attaching stdin" : "copying files");
		} else if (u->nseg == 3 && !strcmp(method, "POST") &&
		           (!strcmp(op, "start") || !strcmp(op, "stop") || !strcmp(op, "restart") ||
		            !strcmp(op, "kill") || !strcmp(op, "wait") || !strcmp(op, "resize") ||
		            !strcmp(op, "pause") || !strcmp(op, "unpause") ||
		            !strcmp(op, "rename")))
			allow(v);
		else
			deny(v,
			     "%s /containers/.../%s is not an operation the workload spec allows",
			     method, op);
	} else if (!strcmp(s0, "exec")) {
		/* exec instances exist only if exec create was allowed */
		if (u->nseg == 3 && (seg_is(u, 2, "start") || seg_is(u, 2, "resize")))
			allow(v);
		else
			deny(v, "%s on /exec is not allowed", method);
	} else if (!strcmp(s0, "volumes")) {
		if (u->nseg == 2 && seg_is(u, 1, "create"))
			decide_volume_create(body, body_len, v);
		else if (u->nseg == 2 && seg_is(u, 1, "prune"))
			deny(v, "volumes/prune denied: named volumes hold the workload's state");
		else if (u->nseg == 2 && !strcmp(method, "DELETE"))
			allow(v);
		else
			deny(v, "%s on /volumes is not allowed", method);
	} else if (!strcmp(s0, "networks")) {
		if (u->nseg == 2 && seg_is(u, 1, "create"))
			decide_network_create(body, v);
		else if ((u->nseg == 2 && (seg_is(u, 1, "prune") || !strcmp(method, "DELETE"))) ||
		         (u->nseg == 3 && (seg_is(u, 2, "connect") || seg_is(u, 2, "disconnect"))))
			allow(v);
		else
			deny(v, "%s on /networks is not allowed", method);
	} else if (!strcmp(s0, "auth") && u->nseg == 1) {
		allow(v); /* checks registry credentials; changes nothing */
	} else {
		deny(v, "%s %s is not an endpoint the workload spec allows to change state", method,
		     uri);
	}
out:
	free(u);
}

/* The body as dockerd forwards it: base64 of the raw bytes. */
static char *b64_decode(const char *in, size_t n, size_t *outlen)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char *out = malloc(n / 4 * 3 + 4);
	int l1 = 0, l2 = 0;

	if (!ctx || !out || n > INT32_MAX)
		goto fail;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &l1, (const unsigned char *)in, (int)n) < 0 ||
	    EVP_DecodeFinal(ctx, out + l1, &l2) < 0)
		goto fail;
	EVP_ENCODE_CTX_free(ctx);
	out[l1 + l2] = '\0';
	*outlen = (size_t)(l1 + l2);
	return (char *)out;
fail:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return NULL;
}

void authz_decide(const struct authz_env *env, const char *json, size_t len,
                  struct authz_verdict *v)
{
	json_tokener *tok;
	json_object *root = NULL, *m, *u, *b;
	char *body = NULL;
	size_t blen = 0;

	if (len > AUTHZ_MAX_REQUEST)
		return deny(v, "the authorization request is too large: denied");
	tok = json_tokener_new_ex(AUTHZ_MAX_DEPTH);
	if (!tok)
		return deny(v, "out of memory: denied");
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(root, json_type_object)) {
		json_tokener_free(tok);
		json_object_put(root);
		return deny(v, "the authorization request is not a JSON object: denied");
	}
	json_tokener_free(tok);
	if (jget(root, "RequestMethod", json_type_string, &m) != 1 ||
	    jget(root, "RequestUri", json_type_string, &u) != 1 ||
	    jget(root, "RequestBody", json_type_string, &b) < 0) {
		deny(v, "the authorization request lacks RequestMethod/RequestUri: denied");
		goto out;
	}
	if (strlen(json_object_get_string(u)) != (size_t)json_object_get_string_len(u)) {
		deny(v, "the request URI holds a NUL byte: denied");
		goto out;
	}
	if (b && json_object_get_string_len(b) > 0) {
		body = b64_decode(json_object_get_string(b), (size_t)json_object_get_string_len(b),
		                  &blen);
		if (!body) {
			deny(v, "the request body is not valid base64: denied");
			goto out;
		}
	}
	authz_decide_parts(env, json_object_get_string(m), json_object_get_string(u), body, blen,
	                   v);
out:
	free(body);
	json_object_put(root);
}

char *authz_reply_json(const struct authz_verdict *v)
{
	json_object *o = json_object_new_object();
	char *s;

	if (!o)
		return NULL;
	json_object_object_add(o, "Allow", json_object_new_boolean(v->allow));
	json_object_object_add(o, "Msg", json_object_new_string(v->msg));
	json_object_object_add(o, "Err", json_object_new_string(""));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}
