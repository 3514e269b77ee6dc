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
#define AUTHZ_MIN_API_MINOR 40
#define STR_(x) #x
#define STR(x) STR_(x)

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

	if (!outsz)
		return -E2BIG;
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
	int r;

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

		unsigned long major, minor = 0;
		char *end;

		errno = 0;
		major = strtoul(s, &end, 10);
		if (*end == '.' && isdigit((unsigned char)end[1]))
			minor = strtoul(end + 1, &end, 10);
		if (*end || errno)
			return "the request path has a malformed API version";
		/* before 1.24 dockerd applies a HostConfig body given to
		 * containers/{id}/start, past the checks of create; before 1.40
		 * other old semantics: only the API of the guest's dockerd */
		if (major < 1 || (major == 1 && minor < AUTHZ_MIN_API_MINOR))
			return "API versions before v1." STR(
			    AUTHZ_MIN_API_MINOR) " are not allowed (old versions apply a "
			                         "HostConfig on start)";
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
		/* every piece is decoded into what is left of qbuf, NUL-terminated;
		 * a key that fills it leaves no room for its value */
		if (qo >= sizeof(u->qbuf))
			return "the query is too long";
		u->key[u->nparam] = u->qbuf + qo;
		r = pct_decode(a, kl, true, u->qbuf + qo, sizeof(u->qbuf) - qo);
		if (r < 0)
			return r == -E2BIG ? "the query is too long"
			                   : "a query parameter has a malformed or forbidden "
			                     "percent-escape";
		qo += strlen(u->qbuf + qo) + 1;
		if (qo >= sizeof(u->qbuf))
			return "the query is too long";
		u->val[u->nparam] = u->qbuf + qo;
		r = pct_decode(eq ? eq + 1 : e, eq ? (size_t)(e - eq - 1) : 0, true, u->qbuf + qo,
		               sizeof(u->qbuf) - qo);
		if (r < 0)
			return r == -E2BIG ? "the query is too long"
			                   : "a query parameter has a malformed or forbidden "
			                     "percent-escape";
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

/* ---- the strict body reader --------------------------------------------- */

/* dockerd decodes bodies with Go's encoding/json, which matches object keys
 * to struct fields case-insensitively (Unicode folding included), takes the
 * last of duplicate keys and ignores keys it does not know; json-c keeps one
 * of duplicates and looks keys up exactly. So before json-c reads a body,
 * this reader walks its text against the shape dockerd decodes it into:
 * where dockerd decodes into a struct, only the field names of the Engine
 * API (v1.41, as the docker CLI writes them) are accepted, exactly and once,
 * unescaped; where it decodes into a map (Labels, DriverOpts, ...) any key
 * is accepted once, unescaped. Text that is not strict JSON (RFC 8259: no
 * trailing bytes, valid UTF-8, no lone surrogates), a NUL in a string, or
 * nesting over AUTHZ_MAX_DEPTH is refused too. What passes reads the same
 * to json-c and to dockerd, key for key. */

enum shape_kind {
	SH_LEAF, /* a scalar or an array of such (no objects) */
	SH_OBJ,  /* a struct: only the listed keys */
	SH_MAP,  /* a map: any key, values of shape elem */
	SH_ARR,  /* an array of elem */
};

struct shape;

struct field {
	const char *key;
	const struct shape *s; /* NULL: SH_LEAF */
};

struct shape {
	enum shape_kind kind;
	const struct field *f;
	size_t nf;
	const struct shape *elem;
};

#define SHAPE_OBJ(name, ...)                                  \
	static const struct field name##_f[] = {__VA_ARGS__}; \
	static const struct shape name = {SH_OBJ, name##_f, ARRAY_SIZE(name##_f), NULL}

static const struct shape sh_leaf = {SH_LEAF, NULL, 0, NULL};
static const struct shape sh_leafmap = {SH_MAP, NULL, 0, &sh_leaf};
static const struct shape sh_empty = {SH_OBJ, NULL, 0, NULL};
static const struct shape sh_emptymap = {SH_MAP, NULL, 0, &sh_empty};

/* containers/create: container.Config + HostConfig + NetworkingConfig */
SHAPE_OBJ(sh_health, {"Test", NULL}, {"Interval", NULL}, {"Timeout", NULL}, {"StartPeriod", NULL},
          {"StartInterval", NULL}, {"Retries", NULL});
SHAPE_OBJ(sh_logcfg, {"Type", NULL}, {"Config", &sh_leafmap});
SHAPE_OBJ(sh_portbinding, {"HostIp", NULL}, {"HostPort", NULL});
static const struct shape sh_portbindings_arr = {SH_ARR, NULL, 0, &sh_portbinding};
static const struct shape sh_portbindings = {SH_MAP, NULL, 0, &sh_portbindings_arr};
SHAPE_OBJ(sh_restart, {"Name", NULL}, {"MaximumRetryCount", NULL});
SHAPE_OBJ(sh_bindopts, {"Propagation", NULL}, {"NonRecursive", NULL});
SHAPE_OBJ(sh_drvcfg, {"Name", NULL}, {"Options", &sh_leafmap});
SHAPE_OBJ(sh_volopts, {"NoCopy", NULL}, {"Labels", &sh_leafmap}, {"DriverConfig", &sh_drvcfg});
SHAPE_OBJ(sh_tmpfsopts, {"SizeBytes", NULL}, {"Mode", NULL});
SHAPE_OBJ(sh_mount, {"Type", NULL}, {"Source", NULL}, {"Target", NULL}, {"ReadOnly", NULL},
          {"Consistency", NULL}, {"BindOptions", &sh_bindopts}, {"VolumeOptions", &sh_volopts},
          {"TmpfsOptions", &sh_tmpfsopts});
static const struct shape sh_mounts = {SH_ARR, NULL, 0, &sh_mount};
SHAPE_OBJ(sh_device, {"PathOnHost", NULL}, {"PathInContainer", NULL}, {"CgroupPermissions", NULL});
static const struct shape sh_devices = {SH_ARR, NULL, 0, &sh_device};
SHAPE_OBJ(sh_devreq, {"Driver", NULL}, {"Count", NULL}, {"DeviceIDs", NULL}, {"Capabilities", NULL},
          {"Options", &sh_leafmap});
static const struct shape sh_devreqs = {SH_ARR, NULL, 0, &sh_devreq};
SHAPE_OBJ(sh_ulimit, {"Name", NULL}, {"Soft", NULL}, {"Hard", NULL});
static const struct shape sh_ulimits = {SH_ARR, NULL, 0, &sh_ulimit};
SHAPE_OBJ(sh_wdev, {"Path", NULL}, {"Weight", NULL});
static const struct shape sh_wdevs = {SH_ARR, NULL, 0, &sh_wdev};
SHAPE_OBJ(sh_rdev, {"Path", NULL}, {"Rate", NULL});
static const struct shape sh_rdevs = {SH_ARR, NULL, 0, &sh_rdev};
SHAPE_OBJ(sh_hostconfig, {"Binds", NULL}, {"ContainerIDFile", NULL}, {"LogConfig", &sh_logcfg},
          {"NetworkMode", NULL}, {"PortBindings", &sh_portbindings}, {"RestartPolicy", &sh_restart},
          {"AutoRemove", NULL}, {"VolumeDriver", NULL}, {"VolumesFrom", NULL},
          {"ConsoleSize", NULL}, {"CapAdd", NULL}, {"CapDrop", NULL}, {"CgroupnsMode", NULL},
          {"Dns", NULL}, {"DnsOptions", NULL}, {"DnsSearch", NULL}, {"ExtraHosts", NULL},
          {"GroupAdd", NULL}, {"IpcMode", NULL}, {"Cgroup", NULL}, {"Links", NULL},
          {"OomScoreAdj", NULL}, {"PidMode", NULL}, {"Privileged", NULL}, {"PublishAllPorts", NULL},
          {"ReadonlyRootfs", NULL}, {"SecurityOpt", NULL}, {"StorageOpt", &sh_leafmap},
          {"Tmpfs", &sh_leafmap}, {"UTSMode", NULL}, {"UsernsMode", NULL}, {"ShmSize", NULL},
          {"Sysctls", &sh_leafmap}, {"Runtime", NULL}, {"Isolation", NULL}, {"CpuShares", NULL},
          {"Memory", NULL}, {"NanoCpus", NULL}, {"CgroupParent", NULL}, {"BlkioWeight", NULL},
          {"BlkioWeightDevice", &sh_wdevs}, {"BlkioDeviceReadBps", &sh_rdevs},
          {"BlkioDeviceWriteBps", &sh_rdevs}, {"BlkioDeviceReadIOps", &sh_rdevs},
          {"BlkioDeviceWriteIOps", &sh_rdevs}, {"CpuPeriod", NULL}, {"CpuQuota", NULL},
          {"CpuRealtimePeriod", NULL}, {"CpuRealtimeRuntime", NULL}, {"CpusetCpus", NULL},
          {"CpusetMems", NULL}, {"Devices", &sh_devices}, {"DeviceCgroupRules", NULL},
          {"DeviceRequests", &sh_devreqs}, {"KernelMemory", NULL}, {"KernelMemoryTCP", NULL},
          {"MemoryReservation", NULL}, {"MemorySwap", NULL}, {"MemorySwappiness", NULL},
          {"OomKillDisable", NULL}, {"PidsLimit", NULL}, {"Ulimits", &sh_ulimits},
          {"CpuCount", NULL}, {"CpuPercent", NULL}, {"IOMaximumIOps", NULL},
          {"IOMaximumBandwidth", NULL}, {"Mounts", &sh_mounts}, {"MaskedPaths", NULL},
          {"ReadonlyPaths", NULL}, {"Init", NULL});
SHAPE_OBJ(sh_ipamcfg, {"IPv4Address", NULL}, {"IPv6Address", NULL}, {"LinkLocalIPs", NULL});
SHAPE_OBJ(sh_endpoint, {"IPAMConfig", &sh_ipamcfg}, {"Links", NULL}, {"Aliases", NULL},
          {"MacAddress", NULL}, {"DriverOpts", &sh_leafmap}, {"GwPriority", NULL},
          {"NetworkID", NULL}, {"EndpointID", NULL}, {"Gateway", NULL}, {"IPAddress", NULL},
          {"IPPrefixLen", NULL}, {"IPv6Gateway", NULL}, {"GlobalIPv6Address", NULL},
          {"GlobalIPv6PrefixLen", NULL}, {"DNSNames", NULL});
static const struct shape sh_endpoints = {SH_MAP, NULL, 0, &sh_endpoint};
SHAPE_OBJ(sh_netcfg, {"EndpointsConfig", &sh_endpoints});
/* no HostConfig field names at the top: dockerd still reads them there */
SHAPE_OBJ(sh_create, {"Hostname", NULL}, {"Domainname", NULL}, {"User", NULL},
          {"AttachStdin", NULL}, {"AttachStdout", NULL}, {"AttachStderr", NULL},
          {"ExposedPorts", &sh_emptymap}, {"Tty", NULL}, {"OpenStdin", NULL}, {"StdinOnce", NULL},
          {"Env", NULL}, {"Cmd", NULL}, {"Healthcheck", &sh_health}, {"ArgsEscaped", NULL},
          {"Image", NULL}, {"Volumes", &sh_emptymap}, {"WorkingDir", NULL}, {"Entrypoint", NULL},
          {"NetworkDisabled", NULL}, {"MacAddress", NULL}, {"OnBuild", NULL},
          {"Labels", &sh_leafmap}, {"StopSignal", NULL}, {"StopTimeout", NULL}, {"Shell", NULL},
          {"HostConfig", &sh_hostconfig}, {"NetworkingConfig", &sh_netcfg});
/* containers/{id}/exec: types.ExecConfig */
SHAPE_OBJ(sh_exec, {"User", NULL}, {"Privileged", NULL}, {"Tty", NULL}, {"ConsoleSize", NULL},
          {"AttachStdin", NULL}, {"AttachStdout", NULL}, {"AttachStderr", NULL}, {"Detach", NULL},
          {"DetachKeys", NULL}, {"Env", NULL}, {"WorkingDir", NULL}, {"Cmd", NULL});
/* networks/create: types.NetworkCreateRequest */
SHAPE_OBJ(sh_ipampool, {"Subnet", NULL}, {"IPRange", NULL}, {"Gateway", NULL},
          {"AuxiliaryAddresses", &sh_leafmap});
static const struct shape sh_ipampools = {SH_ARR, NULL, 0, &sh_ipampool};
SHAPE_OBJ(sh_ipam, {"Driver", NULL}, {"Config", &sh_ipampools}, {"Options", &sh_leafmap});
SHAPE_OBJ(sh_cfgfrom, {"Network", NULL});
SHAPE_OBJ(sh_netcreate, {"Name", NULL}, {"CheckDuplicate", NULL}, {"Driver", NULL}, {"Scope", NULL},
          {"Internal", NULL}, {"Attachable", NULL}, {"Ingress", NULL}, {"ConfigOnly", NULL},
          {"ConfigFrom", &sh_cfgfrom}, {"IPAM", &sh_ipam}, {"EnableIPv6", NULL},
          {"Options", &sh_leafmap}, {"Labels", &sh_leafmap});
/* networks/{id}/connect: types.NetworkConnect */
SHAPE_OBJ(sh_netconnect, {"Container", NULL}, {"EndpointConfig", &sh_endpoint}, {"Force", NULL});
/* volumes/create: volume.VolumeCreateBody */
SHAPE_OBJ(sh_volcreate, {"Name", NULL}, {"Driver", NULL}, {"DriverOpts", &sh_leafmap},
          {"Labels", &sh_leafmap});

struct rawkey {
	const char *p;
	size_t n;
};

struct strict {
	const char *p, *end;
	unsigned depth;
	struct rawkey key[AUTHZ_MAX_DEPTH + 1]; /* the keys down to here */
	unsigned nkey;
	const char *why;
	char msg[224];
};

/* Records the first failure, naming where: the key path, built only now. */
static int strict_fail(struct strict *s, const char *why)
{
	char path[160] = "";
	size_t o = 0;

	if (s->why)
		return -1;
	s->why = why;
	for (unsigned i = 0; i < s->nkey && o < sizeof(path); i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "%s%.*s", i ? "." : "",
		                      (int)(s->key[i].n > 40 ? 40 : s->key[i].n), s->key[i].p);
	snprintf(s->msg, sizeof(s->msg), "%s at %s", why, path[0] ? path : "the top");
	return -1;
}

static void strict_ws(struct strict *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

/* One UTF-8 sequence at s->p (RFC 3629: no overlongs, surrogates or > U+10FFFF). */
static int strict_utf8(struct strict *s)
{
	const unsigned char *u = (const unsigned char *)s->p;
	size_t left = (size_t)(s->end - s->p), n;
	uint32_t c;

	if (u[0] < 0x80)
		n = 1, c = u[0];
	else if ((u[0] & 0xe0) == 0xc0)
		n = 2, c = u[0] & 0x1f;
	else if ((u[0] & 0xf0) == 0xe0)
		n = 3, c = u[0] & 0x0f;
	else if ((u[0] & 0xf8) == 0xf0)
		n = 4, c = u[0] & 0x07;
	else
		return strict_fail(s, "invalid UTF-8");
	if (n > left)
		return strict_fail(s, "invalid UTF-8");
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return strict_fail(s, "invalid UTF-8");
		c = c << 6 | (u[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return strict_fail(s, "invalid UTF-8");
	s->p += n;
	return 0;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);

		if (d < 0)
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

/* A string at s->p (on the quote); *start and *len: the raw bytes between the
 * quotes, *escaped: whether it holds a backslash escape. */
static int strict_string(struct strict *s, const char **start, size_t *len, bool *escaped)
{
	s->p++;
	*start = s->p;
	*escaped = false;
	while (s->p < s->end && *s->p != '"') {
		unsigned char ch = (unsigned char)*s->p;

		if (ch < 0x20)
			return strict_fail(s, "a control character in a string");
		if (ch != '\\') {
			if (strict_utf8(s) < 0)
				return -1;
			continue;
		}
		*escaped = true;
		if (s->end - s->p < 2)
			return strict_fail(s, "a string is not terminated");
		ch = (unsigned char)s->p[1];
		if (ch == 'u') {
			uint32_t c, lo;

			if (s->end - s->p < 6 || hex4(s->p + 2, &c) < 0)
				return strict_fail(s, "a malformed \\u escape");
			s->p += 6;
			if (c == 0)
				return strict_fail(s, "a NUL (\\u0000) in a string");
			if (c >= 0xdc00 && c <= 0xdfff)
				return strict_fail(s, "a lone UTF-16 surrogate");
			if (c >= 0xd800 && c <= 0xdbff) {
				if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
				    hex4(s->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return strict_fail(s, "a lone UTF-16 surrogate");
				s->p += 6;
			}
			continue;
		}
		if (!strchr("\"\\/bfnrt", ch) || !ch)
			return strict_fail(s, "a malformed escape in a string");
		s->p += 2;
	}
	if (s->p >= s->end)
		return strict_fail(s, "a string is not terminated");
	*len = (size_t)(s->p - *start);
	s->p++;
	return 0;
}

static int strict_number(struct strict *s)
{
	const char *p = s->p;

	if (p < s->end && *p == '-')
		p++;
	if (p >= s->end || !isdigit((unsigned char)*p))
		return strict_fail(s, "not JSON");
	if (*p == '0')
		p++;
	else
		while (p < s->end && isdigit((unsigned char)*p))
			p++;
	if (p < s->end && *p == '.') {
		if (++p >= s->end || !isdigit((unsigned char)*p))
			return strict_fail(s, "a malformed number");
		while (p < s->end && isdigit((unsigned char)*p))
			p++;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= s->end || !isdigit((unsigned char)*p))
			return strict_fail(s, "a malformed number");
		while (p < s->end && isdigit((unsigned char)*p))
			p++;
	}
	s->p = p;
	return 0;
}

static int rawkey_cmp(const void *a, const void *b)
{
	const struct rawkey *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int strict_value(struct strict *s, const struct shape *sh);

static int strict_object(struct strict *s, const struct shape *sh)
{
	unsigned level = s->nkey;
	size_t nkeys = 0, cap = 0;
	struct rawkey *keys = NULL;
	uint64_t seen[2] = {0, 0}; /* per field of an SH_OBJ (at most 128) */
	int r = -1;

	if (sh->kind != SH_OBJ && sh->kind != SH_MAP)
		return strict_fail(s, "an object where dockerd expects a value or an array");
	s->p++;
	strict_ws(s);
	if (s->p < s->end && *s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		const char *k;
		size_t kl, fi = 0;
		bool esc;
		const struct shape *sub = NULL;

		strict_ws(s);
		if (s->p >= s->end || *s->p != '"') {
			strict_fail(s, "not JSON (an object key expected)");
			goto out;
		}
		if (strict_string(s, &k, &kl, &esc) < 0)
			goto out;
		if (level >= ARRAY_SIZE(s->key)) {
			strict_fail(s, "nesting too deep");
			goto out;
		}
		s->key[level] = (struct rawkey){k, kl};
		s->nkey = level + 1;
		if (esc) {
			strict_fail(s, "an escaped object key (dockerd would decode it)");
			goto out;
		}
		if (sh->kind == SH_OBJ) {
			for (fi = 0; fi < sh->nf; fi++)
				if (sh->f[fi].key[0] == k[0] && !strncmp(sh->f[fi].key, k, kl) &&
				    !sh->f[fi].key[kl])
					break;
			if (fi == sh->nf) {
				strict_fail(s, "a key the Engine API does not have here (keys are "
				               "accepted only in the API's exact case)");
				goto out;
			}
			if (fi >= 128 || (seen[fi / 64] & (1ull << (fi % 64)))) {
				strict_fail(s, "a duplicate key (dockerd would take the last)");
				goto out;
			}
			seen[fi / 64] |= 1ull << (fi % 64);
			sub = sh->f[fi].s ? sh->f[fi].s : &sh_leaf;
		} else {
			if (nkeys == cap) {
				struct rawkey *nk;

				cap = cap ? 2 * cap : 16;
				nk = reallocarray(keys, cap, sizeof(*keys));
				if (!nk) {
					strict_fail(s, "out of memory");
					goto out;
				}
				keys = nk;
			}
			keys[nkeys++] = (struct rawkey){k, kl};
			sub = sh->elem;
		}
		strict_ws(s);
		if (s->p >= s->end || *s->p != ':') {
			strict_fail(s, "not JSON (':' expected)");
			goto out;
		}
		s->p++;
		if (strict_value(s, sub) < 0)
			goto out;
		s->nkey = level;
		strict_ws(s);
		if (s->p < s->end && *s->p == ',') {
			s->p++;
			continue;
		}
		if (s->p < s->end && *s->p == '}') {
			s->p++;
			break;
		}
		strict_fail(s, "not JSON (',' or '}' expected)");
		goto out;
	}
	/* a map's keys: exact duplicates (dockerd keeps the last) */
	if (nkeys > 1) {
		qsort(keys, nkeys, sizeof(*keys), rawkey_cmp);
		for (size_t i = 1; i < nkeys; i++)
			if (!rawkey_cmp(&keys[i - 1], &keys[i])) {
				strict_fail(s, "a duplicate key (dockerd would take the last)");
				goto out;
			}
	}
	r = 0;
out:
	free(keys);
	return r;
}

static int strict_value(struct strict *s, const struct shape *sh)
{
	int r;

	strict_ws(s);
	if (s->p >= s->end)
		return strict_fail(s, "not JSON (a value expected)");
	if (++s->depth > AUTHZ_MAX_DEPTH)
		return strict_fail(s, "nesting too deep");
	switch (*s->p) {
	case '{':
		r = strict_object(s, sh);
		break;
	case '[': {
		const struct shape *el = sh->kind == SH_ARR ? sh->elem : &sh_leaf;

		if (sh->kind != SH_ARR && sh->kind != SH_LEAF) {
			r = strict_fail(s, "an array where dockerd expects an object");
			break;
		}
		s->p++;
		strict_ws(s);
		r = 0;
		if (s->p < s->end && *s->p == ']') {
			s->p++;
			break;
		}
		for (;;) {
			if ((r = strict_value(s, el)) < 0)
				break;
			strict_ws(s);
			if (s->p < s->end && *s->p == ',') {
				s->p++;
				continue;
			}
			if (s->p < s->end && *s->p == ']') {
				s->p++;
				break;
			}
			r = strict_fail(s, "not JSON (',' or ']' expected)");
			break;
		}
		break;
	}
	case '"': {
		const char *st;
		size_t n;
		bool esc;

		r = strict_string(s, &st, &n, &esc);
		break;
	}
	case 't':
	case 'f':
	case 'n': {
		static const char *const lit[] = {"true", "false", "null"};
		size_t i = *s->p == 't' ? 0 : *s->p == 'f' ? 1 : 2, n = strlen(lit[i]);

		if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit[i], n))
			return strict_fail(s, "not JSON");
		s->p += n;
		r = 0;
		break;
	}
	default:
		r = strict_number(s);
	}
	s->depth--;
	return r;
}

/* Reads body (len bytes) strictly as `sh`; NULL, or why not (in buf). */
static const char *strict_check(const char *body, size_t len, const struct shape *sh, char *buf,
                                size_t bufsz)
{
	struct strict s = {.p = body, .end = body + len};

	strict_ws(&s);
	if (s.p >= s.end || *s.p != '{')
		snprintf(buf, bufsz, "the body is not a JSON object");
	else if (strict_value(&s, sh) == 0 && (strict_ws(&s), s.p == s.end))
		return NULL;
	else if (!s.why)
		snprintf(buf, bufsz, "trailing bytes after the JSON object");
	else
		snprintf(buf, bufsz, "%s", s.msg);
	return buf;
}

/* strict_check() then json-c; NULL and a denial when either refuses. */
static json_object *strict_parse(const char *what, const char *body, size_t len,
                                 const struct shape *sh, struct authz_verdict *v)
{
	char why[256];
	json_tokener *tok;
	json_object *root = NULL;

	if (!body) {
		deny(v,
		     "%s denied: dockerd forwarded no body to the plugin (it forwards none when "
		     "the body is 1 MiB or more, chunked, or not Content-Type application/json), "
		     "and the decision depends on it",
		     what);
		return NULL;
	}
	if (strict_check(body, len, sh, why, sizeof(why))) {
		deny(v, "%s body denied: %s", what, why);
		return NULL;
	}
	tok = json_tokener_new_ex(AUTHZ_MAX_DEPTH);
	if (tok) {
		root = json_tokener_parse_ex(tok, body, (int)len);
		if (json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != len ||
		    !json_object_is_type(root, json_type_object)) {
			json_object_put(root);
			root = NULL;
		}
		json_tokener_free(tok);
	}
	if (!root)
		deny(v, "%s body denied: it cannot be parsed as a JSON object", what);
	return root;
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

/* A named volume is a plain local one (dockerd makes it on first use, and
 * volumes/create allows no driver or options), and only one the spec
 * declares: an undeclared name could be a volume made some other way. */
static bool check_named_volume(const struct authz_env *env, const char *name, const char *where,
                               struct authz_verdict *v)
{
	for (size_t i = 0; i < env->spec->n_volumes; i++)
		if (!strcmp(env->spec->volumes[i], name))
			return true;
	deny(v,
	     "%s: named volume '%s' denied: it is not declared in the workload spec's top-level "
	     "volumes",
	     where, name);
	return false;
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
		if (parts[0][0] != '/') {
			if (!check_named_volume(env, parts[0], "HostConfig.Binds", v))
				return false;
			continue;
		}
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
			if (src && *json_object_get_string(src) &&
			    !check_named_volume(env, json_object_get_string(src),
			                        "HostConfig.Mounts", v))
				return false;
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

/* dockerd finds a network by ID, name or ID prefix: an all-hex name may be
 * (a prefix of) the host network's ID, which puts a container in the VM's
 * network namespace as surely as network_mode: host. */
static bool network_id_like(const char *s)
{
	return *s && strspn(s, "0123456789abcdefABCDEF") == strlen(s);
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
	    strcmp(s, "none") && strchr(s, ':') == NULL && !network_id_like(s))
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

/* A device request as compared: driver ("" is nvidia: the only one the
 * guest's dockerd has), count, device IDs and capabilities, no options. */
static bool devreq_key(json_object *d, char *out, size_t outsz)
{
	json_object *drv, *cnt, *ids, *caps, *opts;
	const char *ds;

	if (!json_object_is_type(d, json_type_object) ||
	    jget(d, "Driver", json_type_string, &drv) < 0 ||
	    jget(d, "Count", json_type_int, &cnt) < 0 ||
	    jget(d, "DeviceIDs", json_type_array, &ids) < 0 ||
	    jget(d, "Capabilities", json_type_array, &caps) < 0 ||
	    jget(d, "Options", json_type_object, &opts) < 0 ||
	    (opts && json_object_object_length(opts) > 0))
		return false;
	ds = drv ? json_object_get_string(drv) : "";
	if (!*ds)
		ds = "nvidia";
	if ((size_t)snprintf(out, outsz, "%s|%lld|%s|%s", ds,
	                     cnt ? (long long)json_object_get_int64(cnt) : 0LL,
	                     ids && json_object_array_length(ids)
	                         ? json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN)
	                         : "[]",
	                     caps ? json_object_to_json_string_ext(caps, JSON_C_TO_STRING_PLAIN)
	                          : "[]") >= outsz)
		return false;
	return true;
}

/* True when one of the spec's services asks for exactly this device request
 * (lib/compose.c writes them from gpus: and deploy...devices). */
static bool spec_has_devreq(const struct authz_env *env, const char *key)
{
	for (size_t i = 0; i < env->spec->n_svc; i++) {
		const char *cj = env->spec->svc[i].create_json;
		json_object *root, *hc, *reqs;
		bool found = false;

		if (!cj || !strstr(cj, "\"DeviceRequests\""))
			continue;
		root = json_tokener_parse(cj);
		if (jget(root, "HostConfig", json_type_object, &hc) == 1 &&
		    jget(hc, "DeviceRequests", json_type_array, &reqs) == 1)
			for (size_t j = 0; j < json_object_array_length(reqs) && !found; j++) {
				char k2[1024];

				found = devreq_key(json_object_array_get_idx(reqs, j), k2,
				                   sizeof(k2)) &&
				        !strcmp(k2, key);
			}
		json_object_put(root);
		if (found)
			return true;
	}
	return false;
}

static bool check_device_requests(const struct authz_env *env, json_object *reqs,
                                  struct authz_verdict *v)
{
	for (size_t i = 0; i < json_object_array_length(reqs); i++) {
		char key[1024];

		if (!devreq_key(json_object_array_get_idx(reqs, i), key, sizeof(key)) ||
		    !spec_has_devreq(env, key)) {
			deny(
			    v,
			    "HostConfig.DeviceRequests[%zu] denied: only the GPU requests the "
			    "workload spec declares (gpus / deploy.resources.reservations.devices: "
			    "driver nvidia, the same count or device_ids and capabilities, no "
			    "options)",
			    i);
			return false;
		}
	}
	return true;
}

static bool str_in(const char *s, const char *const *set)
{
	for (size_t i = 0; set[i]; i++)
		if (!strcmp(s, set[i]))
			return true;
	return false;
}

/* 1 when o.key is a non-empty string/array/object, 0 when absent, null or
 * empty; -1 for a scalar of another kind. */
static int jset(json_object *o, const char *key)
{
	json_object *x = NULL;

	if (!o || !json_object_object_get_ex(o, key, &x) || !x)
		return 0;
	switch (json_object_get_type(x)) {
	case json_type_string:
		return json_object_get_string_len(x) > 0;
	case json_type_array:
		return json_object_array_length(x) > 0;
	case json_type_object:
		return json_object_object_length(x) > 0;
	case json_type_boolean:
		return json_object_get_boolean(x);
	default:
		return -1;
	}
}

/* The HostConfig and NetworkingConfig fields that the older checks below
 * did not look at and that can reach past the container. */
static bool check_hostconfig_more(const struct authz_env *env, json_object *root, json_object *hc,
                                  struct authz_verdict *v)
{
	static const char *const empty_only[] = {"VolumeDriver",
	                                         "Cgroup",
	                                         "StorageOpt",
	                                         "BlkioWeightDevice",
	                                         "BlkioDeviceReadBps",
	                                         "BlkioDeviceWriteBps",
	                                         "BlkioDeviceReadIOps",
	                                         "BlkioDeviceWriteIOps",
	                                         NULL};
	static const char *const log_ok[] = {"", "json-file", "local", "journald", "none", NULL};
	static const char *const iso_ok[] = {"", "default", NULL};
	json_object *x, *nc, *eps;

	for (size_t i = 0; empty_only[i]; i++)
		if (jset(hc, empty_only[i])) {
			deny(v,
			     "HostConfig.%s denied: it is not in the workload spec subset (volume "
			     "drivers, cgroups and host block devices stay the VM's)",
			     empty_only[i]);
			return false;
		}
	if (jget(hc, "Isolation", json_type_string, &x) < 0 ||
	    (x && !str_in(json_object_get_string(x), iso_ok))) {
		deny(v, "HostConfig.Isolation denied: only the default isolation");
		return false;
	}
	if (jget(hc, "LogConfig", json_type_object, &x) < 0 ||
	    (x && (jget(x, "Type", json_type_string, &x) < 0 ||
	           (x && !str_in(json_object_get_string(x), log_ok))))) {
		deny(v, "HostConfig.LogConfig.Type denied: only the local log drivers (json-file, "
		        "local, journald, none): the others send the container's output out");
		return false;
	}
	if (jget(root, "NetworkingConfig", json_type_object, &nc) < 0 ||
	    jget(nc, "EndpointsConfig", json_type_object, &eps) < 0) {
		deny(v, "NetworkingConfig is not an object: denied");
		return false;
	}
	if (eps && json_object_object_length(eps) > 1) {
		deny(v, "NetworkingConfig.EndpointsConfig denied: one network at most");
		return false;
	}
	if (eps) {
		json_object_object_foreach(eps, name, ep)
		{
			if (!strcmp(name, "host") || !strncmp(name, "container:", 10) ||
			    network_id_like(name)) {
				deny(
				    v,
				    "NetworkingConfig.EndpointsConfig.%s denied: the workload spec "
				    "forbids network_mode: host",
				    name);
				return false;
			}
			if (ep && (!json_object_is_type(ep, json_type_object) ||
			           jset(ep, "DriverOpts"))) {
				deny(v,
				     "NetworkingConfig.EndpointsConfig.%s: driver options denied",
				     name);
				return false;
			}
		}
	}
	(void)env;
	return true;
}

static void decide_create(const struct authz_env *env, const char *body, size_t len,
                          struct authz_verdict *v)
{
	static const char *const net_ok[] = {"default", "bridge", "none", NULL};
	static const char *const ipc_ok[] = {"private", "shareable", "none", NULL};
	static const char *const cg_ok[] = {"private", NULL};
	json_object *root = NULL, *img, *hc, *x;
	struct compose_ref ref;
	struct cerr err = CERR_INIT;
	int bad = 0;

	root = strict_parse("containers/create", body, len, &sh_create, v);
	if (!root)
		return;
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
	if (!check_hostconfig_more(env, root, hc, v))
		goto out;
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
	} else if (x && !check_device_requests(env, x, v)) {
		goto out;
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
 * any path of the VM into the volume). No body the plugin can see: denied
 * (dockerd would read one it did not forward). */
static void decide_volume_create(const char *body, size_t len, struct authz_verdict *v)
{
	json_object *root = strict_parse("volumes/create", body, len, &sh_volcreate, v), *drv;

	if (!root)
		return;
	if (jget(root, "Driver", json_type_string, &drv) < 0 || jset(root, "DriverOpts") < 0 ||
	    jset(root, "Name") < 0)
		deny(v, "volumes/create body has a field of the wrong type: denied");
	else if ((drv && *json_object_get_string(drv) &&
	          strcmp(json_object_get_string(drv), "local")) ||
	         jset(root, "DriverOpts"))
		deny(v, "volumes with a driver or driver options are denied: they can mount host "
		        "paths (workload spec: only plain named volumes)");
	else
		allow(v);
	json_object_put(root);
}

/* networks/create: a plain bridge network; no driver options (a bridge
 * option can name an interface of the VM), no IPAM driver, no config-only
 * or config-from networks (a way to a macvlan config), no ingress. */
static void decide_network_create(const char *body, size_t len, struct authz_verdict *v)
{
	json_object *root = strict_parse("networks/create", body, len, &sh_netcreate, v), *drv,
	            *ipam, *x;
	const char *d;

	if (!root)
		return;
	if (jget(root, "Driver", json_type_string, &drv) < 0 ||
	    jget(root, "IPAM", json_type_object, &ipam) < 0) {
		deny(v, "networks/create body has a field of the wrong type: denied");
		goto out;
	}
	d = drv ? json_object_get_string(drv) : "";
	if (*d && strcmp(d, "bridge")) {
		deny(v,
		     "network driver %s denied: only bridge networks (others leave past the "
		     "egress firewall)",
		     d);
		goto out;
	}
	if (jset(root, "Ingress") || jset(root, "ConfigOnly") || jset(root, "ConfigFrom") ||
	    jset(root, "Options") || jset(ipam, "Options")) {
		deny(v, "networks/create denied: Ingress, ConfigOnly, ConfigFrom and driver or "
		        "IPAM options are not allowed (only plain bridge networks)");
		goto out;
	}
	if ((jget(root, "Scope", json_type_string, &x) < 0 ||
	     (x && *json_object_get_string(x) && strcmp(json_object_get_string(x), "local"))) ||
	    (jget(ipam, "Driver", json_type_string, &x) < 0 ||
	     (x && *json_object_get_string(x) && strcmp(json_object_get_string(x), "default")))) {
		deny(v, "networks/create denied: only the local scope and the default IPAM driver");
		goto out;
	}
	allow(v);
out:
	json_object_put(root);
}

/* networks/{id}/connect: the endpoint without driver options, not to the
 * host network. */
static void decide_network_connect(const char *net, const char *body, size_t len,
                                   struct authz_verdict *v)
{
	json_object *root, *ep;

	if (!strcmp(net, "host") || network_id_like(net))
		return deny(v, "connecting to the host network (or to a network by an ID, which "
		               "may be the host network's) is denied (workload spec rule: "
		               "network_mode: host)");
	root = strict_parse("networks/connect", body, len, &sh_netconnect, v);
	if (!root)
		return;
	if (jget(root, "EndpointConfig", json_type_object, &ep) < 0 || jset(ep, "DriverOpts"))
		deny(v, "networks/connect denied: endpoint driver options are not allowed");
	else
		allow(v);
	json_object_put(root);
}

/* containers/{id}/exec with x-cocoon.exec: allow (debugging): judged on its
 * body. Never privileged (it would get every capability, whatever the
 * container has); User empty, so the command runs as the user the spec
 * gave the container (an exec as root in a service that runs as a user
 * would be a way up); Env only NAME=VALUE strings; Cmd a list of strings. */
static void decide_exec_create(const char *body, size_t len, struct authz_verdict *v)
{
	json_object *root = strict_parse("exec create", body, len, &sh_exec, v), *x;

	if (!root)
		return;
	if (jget(root, "Privileged", json_type_boolean, &x) < 0 ||
	    (x && json_object_get_boolean(x))) {
		deny(v, "privileged exec is never allowed (workload spec rule: privileged)");
		goto out;
	}
	if (jget(root, "User", json_type_string, &x) < 0 || (x && *json_object_get_string(x))) {
		deny(v, "exec with User set is denied: an exec runs as the container's own user "
		        "(services.*.user)");
		goto out;
	}
	if (jget(root, "Env", json_type_array, &x) < 0)
		goto bad;
	for (size_t i = 0; x && i < json_object_array_length(x); i++) {
		json_object *e = json_object_array_get_idx(x, i);
		const char *es =
		    json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;

		if (!es || es[0] == '=' || !strchr(es, '='))
			goto bad;
	}
	if (jget(root, "Cmd", json_type_array, &x) != 1 || !json_object_array_length(x))
		goto bad;
	for (size_t i = 0; i < json_object_array_length(x); i++)
		if (!json_object_is_type(json_object_array_get_idx(x, i), json_type_string))
			goto bad;
	allow(v);
	goto out;
bad:
	deny(v, "exec create denied: Cmd must be a list of strings and Env NAME=VALUE strings");
out:
	json_object_put(root);
}

/* ---- the endpoint table ------------------------------------------------- */

/* A query boolean as dockerd reads it (httputils.BoolValue): lower-cased,
 * spaces trimmed, false only for "", "0", "no", "false", "none"; anything
 * else is true. Go trims Unicode spaces too; here only ASCII ones, which can
 * only make more values true (the cautious side). */
static bool bool_value(const struct uri *u, const char *key)
{
	static const char *const no[] = {"", "0", "no", "false", "none", NULL};
	const char *s = param(u, key);
	char buf[16];
	size_t n;

	if (!s)
		return false;
	while (*s == ' ')
		s++;
	n = strlen(s);
	while (n && s[n - 1] == ' ')
		n--;
	if (n >= sizeof(buf))
		return true;
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[n] = '\0';
	return !str_in(buf, no);
}

/* Why the request may carry a body the plugin cannot see, or NULL. dockerd's
 * form parsing reads an application/x-www-form-urlencoded body of a POST
 * before the query (and Form.Get takes the first), but forwards only JSON
 * bodies to the plugin, and shows it only the last of repeated headers; its
 * Go server drops Content-Length from the headers of a chunked body. So
 * only Content-Length: 0 proves there is none. */
static const char *hidden_body(const struct authz_request *rq)
{
	const char *cl = rq->content_length;

	if (rq->body && rq->body_len)
		return "it has a body";
	/* libcurl's POST says application/x-www-form-urlencoded even when empty */
	if (cl) {
		cl += strspn(cl, " \t");
		if (cl[0] == '0' && !cl[1 + strspn(cl + 1, " \t")])
			return NULL;
	}
	if (rq->content_type) {
		const char *ct = rq->content_type + strspn(rq->content_type, " \t");

		if (strcspn(ct, "; \t") == 33 &&
		    !strncasecmp(ct, "application/x-www-form-urlencoded", 33))
			return "it has a form body";
	}
	return cl ? "it has a body"
	          : "it may have a body the plugin cannot see (no Content-Length: 0)";
}

/* POST .../attach and GET .../attach/ws: stdin is a way in, like exec;
 * output only is what GET .../logs shows anyway. */
static void decide_attach(const struct authz_env *env, const struct uri *u,
                          const struct authz_request *rq, bool post, struct authz_verdict *v)
{
	const char *why;

	if (env->spec->exec_allow)
		return allow(v);
	if (bool_value(u, "stdin"))
		return deny(v, "attaching stdin into a container is denied by the workload spec "
		               "(x-cocoon.exec: deny)");
	if (post && (why = hidden_body(rq)))
		return deny(v,
		            "attach denied: %s, and dockerd would read stdin=... from a form body "
		            "(x-cocoon.exec: deny)",
		            why);
	allow(v);
}

static void decide_containers(const struct authz_env *env, const struct uri *u,
                              const struct authz_request *rq, struct authz_verdict *v)
{
	const char *method = rq->method, *op = u->nseg >= 3 ? u->seg[2] : "";

	if (u->nseg == 2 && seg_is(u, 1, "create") && !strcmp(method, "POST"))
		decide_create(env, rq->body, rq->body_len, v);
	else if (u->nseg == 2 && seg_is(u, 1, "prune"))
		allow(v);
	else if (u->nseg == 2 && !strcmp(method, "DELETE"))
		allow(v);
	else if (u->nseg == 3 && !strcmp(op, "exec") && !strcmp(method, "POST")) {
		if (env->spec->exec_allow)
			decide_exec_create(rq->body, rq->body_len, v);
		else
			deny(v, "docker exec is denied by the workload spec (x-cocoon.exec: "
			        "deny; allow is for debugging only)");
	} else if (u->nseg == 3 && !strcmp(op, "attach") && !strcmp(method, "POST")) {
		decide_attach(env, u, rq, true, v);
	} else if (u->nseg == 3 && !strcmp(op, "archive")) {
		if (env->spec->exec_allow)
			allow(v);
		else
			deny(v, "copying files into a container is denied by the workload spec "
			        "(x-cocoon.exec: deny)");
	} else if (u->nseg == 3 && !strcmp(method, "POST") &&
	           (!strcmp(op, "start") || !strcmp(op, "stop") || !strcmp(op, "restart") ||
	            !strcmp(op, "kill") || !strcmp(op, "wait") || !strcmp(op, "resize") ||
	            !strcmp(op, "pause") || !strcmp(op, "unpause") || !strcmp(op, "rename")))
		allow(v);
	else
		deny(v, "%s /containers/.../%s is not an operation the workload spec allows",
		     method, op);
}

void authz_decide_request(const struct authz_env *env, const struct authz_request *rq,
                          struct authz_verdict *v)
{
	struct uri *u;
	const char *why, *s0, *method = rq->method;

	if (strnlen(rq->uri, URI_MAX) >= URI_MAX)
		return deny(v, "the request URI is longer than %u bytes: denied", URI_MAX - 1);
	u = malloc(sizeof(*u));
	if (!u)
		return deny(v, "out of memory: denied");
	if ((why = uri_parse(rq->uri, u))) {
		deny(v, "%s: denied", why);
		goto out;
	}
	s0 = u->nseg ? u->seg[0] : "";
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
		/* reads, but for the websocket attach: stdin in a GET */
		if (!strcmp(s0, "containers") && u->nseg == 4 && seg_is(u, 2, "attach") &&
		    seg_is(u, 3, "ws"))
			decide_attach(env, u, rq, false, v);
		else
			allow(v);
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
		if (u->nseg == 2 && seg_is(u, 1, "create") && !strcmp(method, "POST")) {
			if (!param(u, "fromSrc") && !param(u, "repo") && (why = hidden_body(rq)))
				deny(v,
				     "images/create denied: %s, and dockerd would read fromImage "
				     "and tag from a form body before the query",
				     why);
			else
				decide_pull(env, u, v);
		} else if (u->nseg == 2 && seg_is(u, 1, "load") && !strcmp(method, "POST")) {
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
		decide_containers(env, u, rq, v);
	} else if (!strcmp(s0, "exec")) {
		/* exec instances exist only if exec create was allowed */
		if (u->nseg == 3 && (seg_is(u, 2, "start") || seg_is(u, 2, "resize")))
			allow(v);
		else
			deny(v, "%s on /exec is not allowed", method);
	} else if (!strcmp(s0, "volumes")) {
		if (u->nseg == 2 && seg_is(u, 1, "create"))
			decide_volume_create(rq->body, rq->body_len, v);
		else if (u->nseg == 2 && seg_is(u, 1, "prune"))
			deny(v, "volumes/prune denied: named volumes hold the workload's state");
		else if (u->nseg == 2 && !strcmp(method, "DELETE"))
			allow(v);
		else
			deny(v, "%s on /volumes is not allowed", method);
	} else if (!strcmp(s0, "networks")) {
		if (u->nseg == 2 && seg_is(u, 1, "create"))
			decide_network_create(rq->body, rq->body_len, v);
		else if (u->nseg == 3 && seg_is(u, 2, "connect"))
			decide_network_connect(u->seg[1], rq->body, rq->body_len, v);
		else if ((u->nseg == 2 && (seg_is(u, 1, "prune") || !strcmp(method, "DELETE"))) ||
		         (u->nseg == 3 && seg_is(u, 2, "disconnect")))
			allow(v);
		else
			deny(v, "%s on /networks is not allowed", method);
	} else if (!strcmp(s0, "auth") && u->nseg == 1) {
		allow(v); /* checks registry credentials; changes nothing */
	} else {
		deny(v, "%s %s is not an endpoint the workload spec allows to change state", method,
		     rq->uri);
	}
out:
	free(u);
}

void authz_decide_parts(const struct authz_env *env, const char *method, const char *uri,
                        const char *body, size_t body_len, struct authz_verdict *v)
{
	char cl[24];
	struct authz_request rq = {
	    method, uri, body, body_len, body ? "application/json" : "text/plain", cl};

	snprintf(cl, sizeof(cl), "%zu", body ? body_len : 0);
	authz_decide_request(env, &rq, v);
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
	json_object *root = NULL, *m, *u, *b, *hdrs;
	struct authz_request rq = {0};
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
	    jget(root, "RequestBody", json_type_string, &b) < 0 ||
	    jget(root, "RequestHeaders", json_type_object, &hdrs) < 0) {
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
	rq.method = json_object_get_string(m);
	rq.uri = json_object_get_string(u);
	rq.body = body;
	rq.body_len = blen;
	/* as dockerd's Go server keys them (canonical case); the last value */
	if (hdrs) {
		json_object_object_foreach(hdrs, hk, hv)
		{
			if (!json_object_is_type(hv, json_type_string))
				continue;
			if (!strcasecmp(hk, "Content-Type"))
				rq.content_type = json_object_get_string(hv);
			else if (!strcasecmp(hk, "Content-Length"))
				rq.content_length = json_object_get_string(hv);
		}
	}
	authz_decide_request(env, &rq, v);
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
