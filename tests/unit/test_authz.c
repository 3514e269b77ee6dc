/* test_authz.c - cocoon-authz's decisions on AuthZReq JSON as dockerd sends
 * it (moby's field names, the body base64-encoded), one test per rule. The
 * same decisions against a real dockerd are in tests/integration/authz_cases.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "cocoon/authz.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define E64 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define IMG "127.0.0.1:5000/demo/hello@sha256:" D64

static struct compose_spec spec;
static struct authz_env env = {&spec, false, NULL};

static int setup(void **state)
{
	const char *t = "services:\n"
	                "  web:\n"
	                "    image: " IMG "\n"
	                "  hub:\n"
	                "    image: busybox@sha256:" D64 "\n"
	                "  gpu:\n"
	                "    image: " IMG "\n"
	                "    gpus: all\n"
	                "    deploy:\n"
	                "      resources:\n"
	                "        reservations:\n"
	                "          devices:\n"
	                "            - driver: nvidia\n"
	                "              device_ids: [\"0\"]\n"
	                "              capabilities: [gpu, utility]\n"
	                "volumes:\n"
	                "  models: {}\n"
	                "  v:\n"
	                "x-cocoon:\n"
	                "  registries: [\"127.0.0.1:5000\", registry-1.docker.io]\n";

	return compose_parse("t.yml", t, strlen(t), NULL, &spec, NULL);
}

static int teardown(void **state)
{
	compose_spec_free(&spec);
	return 0;
}

/* The request as dockerd 20.10 sends it (fields as in moby's api.go), with
 * the headers of the docker CLI: Content-Length always (0 without a body),
 * Content-Type application/json with a body, text/plain without. */
static char *request(const char *method, const char *uri, const char *body)
{
	char *b64 = NULL, *out;
	size_t n = body ? strlen(body) : 0;

	if (body) {
		b64 = malloc(4 * ((n + 2) / 3) + 1);
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)body, (int)n);
	}
	if (asprintf(&out,
	             "{\"User\":\"\",\"UserAuthNMethod\":\"\",\"RequestMethod\":\"%s\","
	             "\"RequestURI\":\"ignored\",\"RequestUri\":\"%s\",\"RequestBody\":%s%s%s,"
	             "\"RequestHeaders\":{\"Content-Type\":\"%s\",\"Content-Length\":\"%zu\","
	             "\"User-Agent\":\"Docker-Client/28.2.2 (linux)\"},"
	             "\"RequestPeerCertificates\":null}",
	             method, uri, b64 ? "\"" : "", b64 ? b64 : "null", b64 ? "\"" : "",
	             body ? "application/json" : "text/plain", n) < 0)
		abort();
	free(b64);
	return out;
}

static struct authz_verdict decide(const char *method, const char *uri, const char *body)
{
	struct authz_verdict v;
	char *r = request(method, uri, body);

	authz_decide(&env, r, strlen(r), &v);
	free(r);
	return v;
}

#define ALLOWED(m, u, b)                                            \
	do {                                                        \
		struct authz_verdict v_ = decide(m, u, b);          \
		if (!v_.allow)                                      \
			fail_msg("%s %s denied: %s", m, u, v_.msg); \
	} while (0)

#define DENIED(m, u, b, needle)                                       \
	do {                                                          \
		struct authz_verdict v_ = decide(m, u, b);            \
		if (v_.allow)                                         \
			fail_msg("%s %s allowed", m, u);              \
		if (!strstr(v_.msg, needle))                          \
			fail_msg("'%s' not in '%s'", needle, v_.msg); \
	} while (0)

#define CREATE "/v1.41/containers/create?name=c1"
#define BODY(hc) "{\"Image\":\"" IMG "\",\"Cmd\":[\"/hello\"],\"HostConfig\":" hc "}"

static void reads_allowed(void **state)
{
	ALLOWED("HEAD", "/_ping", NULL);
	ALLOWED("GET", "/v1.41/containers/c1/json", NULL);
	ALLOWED("GET", "/v1.41/images/json", NULL);
	ALLOWED("GET", "/v1.41/info", NULL);
}

static void activate_reply(void **state)
{
	struct authz_verdict v = {.allow = false, .msg = "no \"way\""};
	char *s = authz_reply_json(&v);

	assert_string_equal(s, "{\"Allow\":false,\"Msg\":\"no \\\"way\\\"\",\"Err\":\"\"}");
	free(s);
}

static void pull_by_allowlisted_digest(void **state)
{
	/* as the docker CLI sends it: the digest as tag */
	ALLOWED("POST",
	        "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&tag=sha256%3A" D64,
	        NULL);
	/* as an API client may: the digest in fromImage */
	ALLOWED("POST", "/v1.41/images/create?fromImage=127.0.0.1:5000/demo/hello%40sha256:" D64,
	        NULL);
	/* Docker Hub, short name */
	ALLOWED("POST", "/images/create?fromImage=busybox&tag=sha256:" D64, NULL);
	ALLOWED("POST", "/images/create?fromImage=docker.io/library/busybox&tag=sha256:" D64, NULL);
}

static void pull_denied(void **state)
{
	DENIED("POST", "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&tag=v1",
	       NULL, "only by digest");
	DENIED("POST", "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&tag=latest",
	       NULL, "only by digest");
	DENIED("POST",
	       "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&tag=sha256%3A" E64,
	       NULL, "not the image of any service");
	DENIED("POST",
	       "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fother&tag=sha256%3A" D64,
	       NULL, "not the image of any service");
	DENIED("POST",
	       "/v1.41/images/create?fromImage=evil.example%2Fdemo%2Fhello&tag=sha256%3A" D64, NULL,
	       "not the image of any service");
	DENIED("POST", "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello", NULL,
	       "only by digest");
	DENIED("POST", "/v1.41/images/create?fromSrc=-&repo=x", NULL, "import is never allowed");
	DENIED("POST",
	       "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&tag=sha256%3A" D64
	       "&fromImage=busybox",
	       NULL, "repeated");
	DENIED("POST",
	       "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&tag=sha256%3A" D64
	       "&changes=x",
	       NULL, "parameter 'changes'");
}

static void registry_must_be_listed(void **state)
{
	struct compose_spec s2;
	struct authz_env e2 = {&s2, false, NULL};
	struct authz_verdict v;
	const char *t = "services:\n  web:\n    image: " IMG "\n";

	assert_int_equal(compose_parse("t.yml", t, strlen(t), NULL, &s2, NULL), 0);
	authz_decide_parts(&e2, "POST",
	                   "/images/create?fromImage=127.0.0.1:5000/demo/hello&tag=sha256:" D64,
	                   NULL, 0, &v);
	assert_false(v.allow);
	assert_non_null(strstr(v.msg, "x-cocoon.registries"));
	compose_spec_free(&s2);
}

static void load_window(void **state)
{
	DENIED("POST", "/v1.41/images/load?quiet=1", NULL, "only during start-up");
	env.load_window_open = true;
	ALLOWED("POST", "/v1.41/images/load?quiet=1", NULL);
	env.load_window_open = false;
}

static void never_allowed(void **state)
{
	DENIED("POST", "/v1.41/build?t=x", NULL, "builds are never allowed");
	DENIED("POST", "/session", NULL, "builds");
	DENIED("POST", "/v1.41/commit?container=c1&repo=x", NULL, "commit is never allowed");
	DENIED("POST", "/v1.41/images/127.0.0.1:5000%2Fdemo%2Fhello/push?tag=v1", NULL,
	       "push is never allowed");
	DENIED("POST", "/v1.41/plugins/pull?remote=x", NULL, "plugins");
	DENIED("POST", "/v1.41/swarm/init", NULL, "swarm");
	DENIED("POST", "/v1.41/services/create", NULL, "swarm");
	DENIED("POST", "/v1.41/images/x/tag?repo=y", NULL, "not an operation");
	DENIED("POST", "/v1.41/frobnicate", NULL, "not an endpoint");
	DENIED("PATCH", "/v1.41/containers/c1", NULL, "method PATCH");
	DENIED("POST", "/v1.41/containers/c1/update", NULL, "not an operation");
}

static void container_lifecycle_allowed(void **state)
{
	ALLOWED("POST", "/v1.41/containers/abc/start", NULL);
	ALLOWED("POST", "/v1.41/containers/abc/wait?condition=next-exit", NULL);
	ALLOWED("POST", "/v1.41/containers/abc/stop?t=10", NULL);
	ALLOWED("DELETE", "/v1.41/containers/abc?force=1", NULL);
	ALLOWED("POST", "/v1.41/networks/create", "{\"Name\":\"p_default\",\"Driver\":\"bridge\"}");
	ALLOWED("POST", "/v1.41/volumes/create", "{\"Name\":\"models\"}");
}

static void create_allowed(void **state)
{
	ALLOWED("POST", CREATE, BODY("{}"));
	ALLOWED("POST", CREATE, "{\"Image\":\"" IMG "\"}");
	ALLOWED("POST", CREATE,
	        BODY("{\"Binds\":[\"/data/in:/in:ro\",\"/spec/x:/x:ro\",\"models:/m\"],"
	             "\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\"}],"
	             "\"NetworkMode\":\"default\",\"PortBindings\":{\"80/tcp\":[{\"HostPort\":"
	             "\"8080\"}]},\"CapAdd\":[\"CAP_NET_BIND_SERVICE\",\"sys_nice\"],"
	             "\"SecurityOpt\":[\"no-new-privileges:true\"],\"Privileged\":false,"
	             "\"DeviceRequests\":[{\"Driver\":\"\",\"Count\":-1,\"Capabilities\":[["
	             "\"gpu\"]]}],\"IpcMode\":\"private\",\"PidMode\":\"\"}"));
	ALLOWED("POST", "/containers/create",
	        "{\"Image\":\"docker.io/library/busybox@sha256:" D64 "\"}");
}

static void create_image_rules(void **state)
{
	DENIED("POST", CREATE, "{\"Image\":\"127.0.0.1:5000/demo/hello:v1\"}", "carries a tag");
	DENIED("POST", CREATE, "{\"Image\":\"127.0.0.1:5000/demo/hello@sha256:" E64 "\"}",
	       "not the image of any service");
	DENIED("POST", CREATE, "{\"Image\":\"sha256:" D64 "\"}", "image");
	DENIED("POST", CREATE, "{\"Cmd\":[\"x\"]}", "without an Image");
	DENIED("POST", CREATE, NULL, "forwarded no body");
	DENIED("POST", CREATE, "{\"Image\":", "not JSON");
	DENIED("POST", CREATE, "[1]", "not a JSON object");
}

/* An image loaded from a verified archive is known to dockerd by its ID only:
 * allowed when cocoon-workload's list maps that ID to a service's image. */
static void create_verified_id(void **state)
{
	const char *body = "{\"Image\":\"sha256:" E64 "\",\"HostConfig\":{}}";
	const char *priv = "{\"Image\":\"sha256:" E64 "\",\"HostConfig\":{\"Privileged\":true}}";

	DENIED("POST", CREATE, body, "container image denied");
	env.verified_ids = "sha256:" D64 " " IMG "\nsha256:" E64 " " IMG "\n";
	ALLOWED("POST", CREATE, body);
	DENIED("POST", CREATE, priv, "privileged");
	/* mapped to an image no service uses, or to a tag: denied */
	env.verified_ids = "sha256:" E64 " 127.0.0.1:5000/other@sha256:" D64 "\n";
	DENIED("POST", CREATE, body, "container image denied");
	env.verified_ids = "sha256:" E64 " 127.0.0.1:5000/demo/hello:v1\n";
	DENIED("POST", CREATE, body, "container image denied");
	env.verified_ids = "sha256:" E64 "x " IMG "\n";
	DENIED("POST", CREATE, body, "container image denied");
	env.verified_ids = NULL;
}

static void create_privileged(void **state)
{
	DENIED("POST", CREATE, BODY("{\"Privileged\":true}"), "privileged");
	DENIED("POST", CREATE, BODY("{\"Privileged\":\"yes\"}"), "privileged");
}

static void create_namespaces(void **state)
{
	DENIED("POST", CREATE, BODY("{\"NetworkMode\":\"host\"}"), "network_mode: host");
	DENIED("POST", CREATE, BODY("{\"NetworkMode\":\"container:abc\"}"), "network_mode");
	DENIED("POST", CREATE, BODY("{\"PidMode\":\"host\"}"), "pid: host");
	DENIED("POST", CREATE, BODY("{\"IpcMode\":\"host\"}"), "ipc: host");
	DENIED("POST", CREATE, BODY("{\"UsernsMode\":\"host\"}"), "userns_mode: host");
	DENIED("POST", CREATE, BODY("{\"UTSMode\":\"host\"}"), "UTSMode");
	DENIED("POST", CREATE, BODY("{\"CgroupnsMode\":\"host\"}"), "CgroupnsMode");
	ALLOWED("POST", CREATE, BODY("{\"NetworkMode\":\"proj_default\"}"));
	/* the host network by its ID (or a prefix of it) is the host network */
	DENIED("POST", CREATE, BODY("{\"NetworkMode\":\"a36d47276e82\"}"), "network_mode: host");
	DENIED("POST", CREATE, BODY("{\"NetworkMode\":\"A36D\"}"), "network_mode: host");
	DENIED("POST", CREATE,
	       "{"
	       "\"Image\":\"" IMG "\",\"NetworkingConfig\":{\"EndpointsConfig\":{"
	       "\"a36d47276e82\":{}}}}",
	       "network_mode: host");
	DENIED("POST", "/v1.41/networks/a36d47276e82/connect", "{\"Container\":\"c1\"}",
	       "host network");
}

static void create_binds(void **state)
{
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"/:/host\"]}"), "only from /data");
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"/tmp:/host:ro\"]}"), "only from /data");
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"/var/run/docker.sock:/var/run/docker.sock\"]}"),
	       "engine's socket");
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"/data/../etc:/e:ro\"]}"), "'..'");
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"/data/x:/x\"]}"), "x-cocoon.data_rw");
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"/spec/x:/x:rw\"]}"), "read-only");
	DENIED("POST", CREATE, BODY("{\"Binds\":[1]}"), "not a string");
	DENIED("POST", CREATE, BODY("{\"Binds\":\"/:/h\"}"), "unexpected type");
}

static void create_mounts(void **state)
{
	DENIED("POST", CREATE,
	       BODY("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/\",\"Target\":\"/h\"}]}"),
	       "only from /data");
	DENIED("POST", CREATE,
	       BODY("{\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/run/docker.sock\",\"Target\":"
	            "\"/s\",\"ReadOnly\":true}]}"),
	       "engine's socket");
	DENIED("POST", CREATE,
	       BODY("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\",\"Target\":\"/v\","
	            "\"VolumeOptions\":{\"DriverConfig\":{\"Name\":\"local\",\"Options\":{"
	            "\"type\":\"none\",\"o\":\"bind\",\"device\":\"/\"}}}}]}"),
	       "driver options");
	DENIED("POST", CREATE, BODY("{\"Mounts\":[{\"Type\":\"npipe\",\"Source\":\"x\"}]}"),
	       "mount type 'npipe'");
	DENIED("POST", CREATE, BODY("{\"Mounts\":[{\"Source\":\"/\"}]}"), "cannot be parsed");
	DENIED("POST", "/v1.41/volumes/create",
	       "{\"Name\":\"v\",\"Driver\":\"local\",\"DriverOpts\":{\"device\":\"/"
	       "\",\"o\":\"bind\"}}",
	       "driver options");
}

static void create_devices(void **state)
{
	DENIED("POST", CREATE,
	       BODY("{\"Devices\":[{\"PathOnHost\":\"/dev/mem\",\"PathInContainer\":\"/dev/mem\","
	            "\"CgroupPermissions\":\"rwm\"}]}"),
	       "devices are never allowed");
	DENIED("POST", CREATE, BODY("{\"DeviceCgroupRules\":[\"c 1:1 rwm\"]}"), "devices");
	DENIED("POST", CREATE, BODY("{\"DeviceRequests\":[{\"Driver\":\"amd\"}]}"), "nvidia");
	ALLOWED("POST", CREATE, BODY("{\"Devices\":[],\"DeviceCgroupRules\":null}"));
}

static void create_caps(void **state)
{
	DENIED("POST", CREATE, BODY("{\"CapAdd\":[\"CAP_SYS_ADMIN\"]}"), "CAP_SYS_ADMIN denied");
	DENIED("POST", CREATE, BODY("{\"CapAdd\":[\"SYS_ADMIN\"]}"), "SYS_ADMIN");
	DENIED("POST", CREATE, BODY("{\"CapAdd\":[\"sys_admin\"]}"), "sys_admin");
	DENIED("POST", CREATE, BODY("{\"CapAdd\":[\"ALL\"]}"), "ALL");
	DENIED("POST", CREATE, BODY("{\"CapAdd\":[\"cap_net_raw\"]}"), "cap_add");
	DENIED("POST", CREATE, BODY("{\"CapAdd\":[7]}"), "capability");
	ALLOWED("POST", CREATE, BODY("{\"CapAdd\":[\"cap_ipc_lock\"],\"CapDrop\":[\"ALL\"]}"));
}

static void create_security_opt(void **state)
{
	DENIED("POST", CREATE, BODY("{\"SecurityOpt\":[\"seccomp=unconfined\"]}"), "security_opt");
	DENIED("POST", CREATE, BODY("{\"SecurityOpt\":[\"apparmor=unconfined\"]}"), "security_opt");
	DENIED("POST", CREATE, BODY("{\"SecurityOpt\":[\"label=disable\"]}"), "security_opt");
	DENIED("POST", CREATE, BODY("{\"MaskedPaths\":[]}"), "MaskedPaths");
	DENIED("POST", CREATE, BODY("{\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"}}"), "sysctls");
	DENIED("POST", CREATE, BODY("{\"VolumesFrom\":[\"other\"]}"), "volumes_from");
	DENIED("POST", CREATE, BODY("{\"Runtime\":\"runsc-debug\"}"), "runtime");
}

static void exec_rule(void **state)
{
	DENIED("POST", "/v1.41/containers/c1/exec",
	       "{\"Cmd\":[\"sh\"],\"Privileged\":false,\"User\":\"\"}", "x-cocoon.exec: deny");
	DENIED("POST", "/v1.41/containers/c1/attach?stream=1&stdin=1&stdout=1", NULL,
	       "x-cocoon.exec");
	ALLOWED("POST", "/v1.41/containers/c1/attach?stderr=1&stdout=1&stream=1", NULL);
	DENIED("PUT", "/v1.41/containers/c1/archive?path=/", NULL, "x-cocoon.exec");
	ALLOWED("POST", "/v1.41/exec/abc/start", "{\"Detach\":false}");
	spec.exec_allow = true;
	ALLOWED("POST", "/v1.41/containers/c1/exec", "{\"Cmd\":[\"sh\"]}");
	spec.exec_allow = false;
}

static void strict_uri(void **state)
{
	/* decoded before routing, as the engine does */
	DENIED("POST", "/v1.41/contain%65rs/c1/exec", "{}", "x-cocoon.exec");
	DENIED("POST", "/v1.41/containers/c1/exec%", "{}", "percent-escape");
	DENIED("POST", "/v1.41/containers/c%0a1/start", NULL, "percent-escape");
	DENIED("POST", "/v1.41/containers/c1/start%00", NULL, "percent-escape");
	DENIED("POST", "/v1.41//containers/c1/start", NULL, "segments");
	DENIED("POST", "/v1.41/containers/../build", NULL, "segments");
	DENIED("POST", "/v1.41/images/create?fromImage=a%zz", NULL, "percent-escape");
	DENIED("POST", "/v1.x/containers/c1/start", NULL, "API version");
	DENIED("POST", "containers/c1/start", NULL, "absolute path");
	/* before 1.24 dockerd applies a HostConfig body on start */
	DENIED("POST", "/v1/containers/c1/start", NULL, "API versions before");
	DENIED("POST", "/v1.23/containers/c1/start", NULL, "API versions before");
	DENIED("POST", "/v1.39/containers/c1/start", NULL, "API versions before");
	ALLOWED("POST", "/v1.40/containers/c1/start", NULL);
	ALLOWED("POST", "/containers/c1/start", NULL);
}

static void malformed_requests(void **state)
{
	struct authz_verdict v;
	const char *bad[] = {
	    "",
	    "[]",
	    "{\"RequestMethod\":\"POST\"}",
	    "{\"RequestMethod\":1,\"RequestUri\":\"/x\"}",
	    "{\"RequestMethod\":\"POST\",\"RequestUri\":\"/containers/"
	    "create\",\"RequestBody\":\"!!\"}",
	    "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/_ping\"} trailing",
	    "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/_ping\\u0000x\"}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		authz_decide(&env, bad[i], strlen(bad[i]), &v);
		if (v.allow)
			fail_msg("allowed: %s", bad[i]);
	}
	/* deep nesting is refused by the tokenizer */
	char deep[4096] = "{\"RequestMethod\":\"GET\",\"RequestUri\":\"/_ping\",\"X\":";
	for (int i = 0; i < 200; i++)
		strcat(deep, "[");
	for (int i = 0; i < 200; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	authz_decide(&env, deep, strlen(deep), &v);
	assert_false(v.allow);
}

/* ---- issue 13: what dockerd reads, not what json-c sees ---- */

#define IMGQ "\"Image\":\"" IMG "\""

/* Go's encoding/json matches keys case-insensitively, takes the last of
 * duplicates and still reads HostConfig fields at the top of a create. */
static void strict_keys(void **state)
{
	DENIED("POST", CREATE, "{" IMGQ ",\"Privileged\":true,\"Binds\":[\"/etc:/h\"]}",
	       "does not have here");
	DENIED("POST", CREATE, "{" IMGQ ",\"hostconfig\":{\"Privileged\":true}}", "at hostconfig");
	DENIED("POST", CREATE, "{" IMGQ ",\"HostConfig\":{\"privileged\":true}}",
	       "at HostConfig.privileged");
	DENIED("POST", CREATE, "{" IMGQ ",\"HostConfig\":{\"PRIVILEGED\":true}}", "exact case");
	DENIED("POST", CREATE, "{\"image\":\"" IMG "\"}", "at image");
	DENIED("POST", CREATE,
	       "{" IMGQ ",\"HostConfig\":{\"Privileged\":false,\"Privileged\":true}}",
	       "duplicate key");
	DENIED("POST", CREATE, "{" IMGQ ",\"HostConfig\":{},\"HostConfig\":{\"Privileged\":true}}",
	       "duplicate key");
	DENIED("POST", CREATE, "{" IMGQ ",\"Image\":\"busybox\"}", "duplicate key");
	/* an escaped key is the same key to Go */
	DENIED("POST", CREATE, "{" IMGQ ",\"HostConfig\":{\"\\u0050rivileged\":true}}",
	       "escaped object key");
	/* Unicode folding: K (U+212A) and long s (U+017F) fold to k and s */
	DENIED("POST", CREATE,
	       "{" IMGQ ",\"HostConfig\":{\"Privileged\":false,\"Binds\":[],"
	       "\"Mount\xc5\xbf\":[]}}",
	       "does not have here");
	DENIED("POST", CREATE,
	       "{" IMGQ ",\"HostConfig\":{\"Mounts\":[{\"type\":\"bind\",\"Source\":\"/\","
	       "\"Target\":\"/h\"}]}}",
	       "Mounts.type");
	DENIED("POST", CREATE,
	       "{" IMGQ ",\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"v\","
	       "\"Target\":\"/v\",\"VolumeOptions\":{\"driverconfig\":{\"Name\":\"local\"}}}]}}",
	       "driverconfig");
	DENIED("POST", CREATE,
	       "{" IMGQ ",\"NetworkingConfig\":{\"endpointsconfig\":{\"host\":{}}}}",
	       "endpointsconfig");
	DENIED("POST", CREATE, "{" IMGQ ",\"Labels\":{\"a\":\"1\",\"a\":\"2\"}}", "duplicate key");
	/* maps keep any key, once */
	ALLOWED("POST", CREATE, "{" IMGQ ",\"Labels\":{\"a\":\"1\",\"A\":\"2\",\"x.y\":\"\"}}");
	/* not strict JSON */
	DENIED("POST", CREATE, "{" IMGQ "} {\"HostConfig\":{\"Privileged\":true}}", "trailing");
	DENIED("POST", CREATE, "{" IMGQ ",\"Cmd\":[\"\\u0000\"]}", "NUL");
	DENIED("POST", CREATE, "{" IMGQ ",\"Cmd\":[\"\\ud800\"]}", "surrogate");
	DENIED("POST", CREATE, "{" IMGQ ",\"Cmd\":[\"\xff\"]}", "UTF-8");
	DENIED("POST", CREATE, "{" IMGQ ",\"StopTimeout\":01}", "JSON");
	DENIED("POST", CREATE, "{" IMGQ ",\"Cmd\":[1,]}", "JSON");
	DENIED("POST", CREATE, "{" IMGQ ",\"HostConfig\":[]}", "array where");
	DENIED("POST", CREATE, "{" IMGQ ",\"Cmd\":{\"a\":1}}", "object where");
	/* the body the docker CLI 28 sends for docker run (API 1.41) */
	ALLOWED(
	    "POST", CREATE,
	    "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,"
	    "\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,"
	    "\"StdinOnce\":false,\"Env\":null,\"Cmd\":null," IMGQ ",\"Volumes\":{},"
	    "\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},"
	    "\"HostConfig\":{\"Binds\":[\"models:/m\",\"/data/x:/x:ro\"],\"ContainerIDFile\":"
	    "\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"default\","
	    "\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},"
	    "\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":"
	    "[0,0],\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],"
	    "\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,"
	    "\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\","
	    "\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,"
	    "\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,"
	    "\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":"
	    "\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],"
	    "\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":"
	    "[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":"
	    "0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":"
	    "null,\"DeviceRequests\":[{\"Driver\":\"\",\"Count\":-1,\"DeviceIDs\":null,"
	    "\"Capabilities\":[[\"gpu\"]],\"Options\":{}}],\"MemoryReservation\":0,"
	    "\"MemorySwap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,"
	    "\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,"
	    "\"IOMaximumBandwidth\":0,\"MaskedPaths\":null,\"ReadonlyPaths\":null},"
	    "\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"IPAMConfig\":null,"
	    "\"Links\":null,\"Aliases\":null,\"MacAddress\":\"\",\"DriverOpts\":null,"
	    "\"GwPriority\":0,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\","
	    "\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":"
	    "\"\",\"GlobalIPv6PrefixLen\":0,\"DNSNames\":null}}}}\n");
}

/* Every create body of the spec's own services (what cocoon-workload sends)
 * passes the strict reader. */
static void spec_bodies_allowed(void **state)
{
	for (size_t i = 0; i < spec.n_svc; i++)
		ALLOWED("POST", CREATE, spec.svc[i].create_json);
}

static void more_hostconfig(void **state)
{
	DENIED("POST", CREATE, BODY("{\"VolumeDriver\":\"x\"}"), "VolumeDriver");
	DENIED("POST", CREATE, BODY("{\"Cgroup\":\"container:abc\"}"), "Cgroup");
	DENIED("POST", CREATE, BODY("{\"LogConfig\":{\"Type\":\"syslog\",\"Config\":{}}}"),
	       "log drivers");
	DENIED("POST", CREATE,
	       BODY("{\"BlkioDeviceReadBps\":[{\"Path\":\"/dev/vda\",\"Rate\":1}]}"),
	       "BlkioDeviceReadBps");
	DENIED("POST", CREATE, BODY("{\"Binds\":[\"other:/o\"]}"), "named volume 'other'");
	DENIED("POST", CREATE,
	       BODY("{\"Mounts\":[{\"Type\":\"volume\",\"Source\":\"other\",\"Target\":\"/o\"}]}"),
	       "named volume 'other'");
	ALLOWED("POST", CREATE, BODY("{\"Binds\":[\"models:/m:ro\",\"/anon\"]}"));
	DENIED("POST", "/v1.41/containers/create",
	       "{" IMGQ ",\"NetworkingConfig\":{\"EndpointsConfig\":{\"host\":{}}}}", "host");
	/* GPUs: only what the spec declares */
	ALLOWED("POST", CREATE,
	        BODY("{\"DeviceRequests\":[{\"Driver\":\"nvidia\",\"DeviceIDs\":[\"0\"],"
	             "\"Capabilities\":[[\"gpu\",\"utility\"]]}]}"));
	DENIED("POST", CREATE,
	       BODY("{\"DeviceRequests\":[{\"Driver\":\"nvidia\",\"DeviceIDs\":[\"1\"],"
	            "\"Capabilities\":[[\"gpu\",\"utility\"]]}]}"),
	       "DeviceRequests[0]");
	DENIED("POST", CREATE,
	       BODY("{\"DeviceRequests\":[{\"Count\":-1,\"Capabilities\":[[\"gpu\"]],"
	            "\"Options\":{\"x\":\"y\"}}]}"),
	       "DeviceRequests[0]");
	DENIED("POST", CREATE,
	       BODY("{\"DeviceRequests\":[{\"Count\":-1,\"Capabilities\":[[\"compute\"]]}]}"),
	       "DeviceRequests[0]");
}

/* A query key of 8191 bytes followed by "=&" wrote past qbuf (ASan). */
static void uri_long_key(void **state)
{
	struct authz_verdict v;
	size_t n = 8191;
	char *uri = malloc(n + 64);

	strcpy(uri, "/v1.41/containers/c1/attach?");
	memset(uri + strlen(uri), 'k', n);
	strcpy(uri + 28 + n, "=&stdin=0");
	authz_decide_parts(&env, "POST", uri, NULL, 0, &v);
	assert_false(v.allow);
	/* the same just under the URI bound: parsed, no stdin */
	strcpy(uri + 28 + 8191 - 29 - 2, "=&");
	authz_decide_parts(&env, "POST", uri, NULL, 0, &v);
	assert_true(v.allow);
	/* keys that fill qbuf exactly, at every length near the end */
	for (size_t k = 8150; k < 8192 - 28; k++) {
		memset(uri + 28, 'k', k);
		strcpy(uri + 28 + k, "=");
		authz_decide_parts(&env, "POST", uri, NULL, 0, &v);
		memset(uri + 28, 'k', k);
		strcpy(uri + 28 + k, "&");
		authz_decide_parts(&env, "POST", uri, NULL, 0, &v);
	}
	free(uri);
}

/* httputils.BoolValue: false only for "", 0, no, false, none */
static void attach_bools(void **state)
{
	static const char *const yes[] = {"1",  "yes", "2",       "%201", "True",
	                                  "on", "x",   "TRUE%20", "-1"};
	static const char *const no[] = {"0", "no", "false", "none", "", "FALSE", "%20No%20"};
	char uri[128];

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(uri, sizeof(uri), "/v1.41/containers/c1/attach?stream=1&stdin=%s", yes[i]);
		DENIED("POST", uri, NULL, "x-cocoon.exec");
		snprintf(uri, sizeof(uri), "/v1.41/containers/c1/attach/ws?stream=1&stdin=%s",
		         yes[i]);
		DENIED("GET", uri, NULL, "x-cocoon.exec");
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(uri, sizeof(uri), "/v1.41/containers/c1/attach?stdout=1&stdin=%s", no[i]);
		ALLOWED("POST", uri, NULL);
		snprintf(uri, sizeof(uri), "/v1.41/containers/c1/attach/ws?stdout=1&stdin=%s",
		         no[i]);
		ALLOWED("GET", uri, NULL);
	}
	ALLOWED("GET", "/v1.41/containers/c1/attach/ws?stdout=1", NULL);
}

static struct authz_verdict decide_hdr(const char *method, const char *uri, const char *ct,
                                       const char *cl)
{
	struct authz_request rq = {method, uri, NULL, 0, ct, cl};
	struct authz_verdict v;

	authz_decide_request(&env, &rq, &v);
	return v;
}

/* dockerd reads a form body before the query, and forwards it to no one */
static void hidden_bodies(void **state)
{
	const char *pull = "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fdemo%2Fhello&"
	                   "tag=sha256%3A" D64;
	const char *att = "/v1.41/containers/c1/attach?stream=1&stdout=1";

	assert_true(decide_hdr("POST", pull, "text/plain", "0").allow);
	assert_true(decide_hdr("POST", pull, NULL, " 0 ").allow);
	/* libcurl (cocoon-workload) says form-urlencoded on an empty POST */
	assert_true(decide_hdr("POST", pull, "application/x-www-form-urlencoded", "0").allow);
	assert_false(decide_hdr("POST", pull, "application/x-www-form-urlencoded", NULL).allow);
	assert_false(
	    decide_hdr("POST", pull, "Application/X-WWW-Form-Urlencoded; charset=x", "12").allow);
	assert_false(decide_hdr("POST", pull, "text/plain", "31").allow);
	assert_false(decide_hdr("POST", pull, "text/plain", NULL).allow); /* chunked */
	assert_false(decide_hdr("POST", pull, "text/plain", "00").allow);
	assert_true(decide_hdr("POST", att, "text/plain", "0").allow);
	assert_false(decide_hdr("POST", att, "text/plain", NULL).allow);
	assert_false(decide_hdr("POST", att, "application/x-www-form-urlencoded", "9").allow);
	/* a JSON body on a pull is not what the CLI sends either */
	DENIED("POST", pull, "{}", "has a body");
}

static void exec_body(void **state)
{
	const char *ex = "/v1.41/containers/c1/exec";

	spec.exec_allow = true;
	ALLOWED("POST", ex,
	        "{\"User\":\"\",\"Privileged\":false,\"Tty\":false,\"AttachStdin\":true,"
	        "\"AttachStderr\":true,\"AttachStdout\":true,\"Detach\":false,\"DetachKeys\":\"\","
	        "\"Env\":[\"A=1\"],\"WorkingDir\":\"\",\"Cmd\":[\"sh\"]}");
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"],\"Privileged\":true}", "privileged exec");
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"],\"privileged\":true}", "exact case");
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"],\"Privileged\":false,\"Privileged\":true}",
	       "duplicate");
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"],\"User\":\"root\"}", "User set");
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"],\"User\":\"0:0\"}", "User set");
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"],\"Env\":[\"=x\"]}", "NAME=VALUE");
	DENIED("POST", ex, "{\"Cmd\":[]}", "Cmd");
	DENIED("POST", ex, NULL, "forwarded no body");
	spec.exec_allow = false;
	DENIED("POST", ex, "{\"Cmd\":[\"sh\"]}", "x-cocoon.exec: deny");
}

static void networks_volumes(void **state)
{
	const char *nc = "/v1.41/networks/create", *vc = "/v1.41/volumes/create";

	ALLOWED("POST", nc,
	        "{\"Driver\":\"bridge\",\"Scope\":\"\",\"IPAM\":{\"Driver\":\"default\","
	        "\"Options\":{},\"Config\":[]},\"Internal\":false,\"Attachable\":false,"
	        "\"Ingress\":false,\"ConfigOnly\":false,\"ConfigFrom\":null,\"Options\":{},"
	        "\"Labels\":{},\"Name\":\"n1\",\"CheckDuplicate\":true}");
	DENIED("POST", nc, "{\"Name\":\"n\",\"driver\":\"macvlan\"}", "at driver");
	DENIED("POST", nc, "{\"Name\":\"n\",\"DRIVER\":\"macvlan\"}", "at DRIVER");
	DENIED("POST", nc, "{\"Name\":\"n\",\"Driver\":\"bridge\",\"Driver\":\"macvlan\"}",
	       "duplicate");
	DENIED("POST", nc, "{\"Name\":\"n\",\"Driver\":\"ipvlan\"}", "only bridge");
	DENIED("POST", nc, "{\"Name\":\"n\",\"ConfigFrom\":{\"Network\":\"mv\"}}", "ConfigFrom");
	DENIED("POST", nc, "{\"Name\":\"n\",\"ConfigOnly\":true}", "ConfigOnly");
	DENIED("POST", nc,
	       "{\"Name\":\"n\",\"Options\":{\"com.docker.network.bridge.name\":\"eth0\"}}",
	       "options");
	DENIED("POST", nc, "{\"Name\":\"n\",\"IPAM\":{\"Driver\":\"dhcp\"}}", "IPAM driver");
	DENIED("POST", nc, NULL, "forwarded no body");
	DENIED("POST", "/v1.41/networks/host/connect", "{\"Container\":\"c1\"}", "host network");
	ALLOWED("POST", "/v1.41/networks/n1/connect", "{\"Container\":\"c1\"}");
	DENIED("POST", "/v1.41/networks/n1/connect", NULL, "forwarded no body");
	ALLOWED("POST", vc, "{\"Driver\":\"local\",\"Name\":\"v1\"}");
	DENIED("POST", vc, NULL, "forwarded no body");
	DENIED("POST", vc, "{\"Name\":\"v\",\"driveropts\":{\"device\":\"/\"}}", "at driveropts");
	DENIED("POST", vc, "{\"Name\":\"v\",\"DriverOpts\":{\"o\":\"bind\"}}", "driver options");
	DENIED("POST", vc, "{\"Name\":\"v\",\"Driver\":\"nfs\"}", "driver");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reads_allowed),
	    cmocka_unit_test(create_verified_id),
	    cmocka_unit_test(activate_reply),
	    cmocka_unit_test(pull_by_allowlisted_digest),
	    cmocka_unit_test(pull_denied),
	    cmocka_unit_test(registry_must_be_listed),
	    cmocka_unit_test(load_window),
	    cmocka_unit_test(never_allowed),
	    cmocka_unit_test(container_lifecycle_allowed),
	    cmocka_unit_test(create_allowed),
	    cmocka_unit_test(create_image_rules),
	    cmocka_unit_test(create_privileged),
	    cmocka_unit_test(create_namespaces),
	    cmocka_unit_test(create_binds),
	    cmocka_unit_test(create_mounts),
	    cmocka_unit_test(create_devices),
	    cmocka_unit_test(create_caps),
	    cmocka_unit_test(create_security_opt),
	    cmocka_unit_test(exec_rule),
	    cmocka_unit_test(strict_uri),
	    cmocka_unit_test(malformed_requests),
	    cmocka_unit_test(strict_keys),
	    cmocka_unit_test(spec_bodies_allowed),
	    cmocka_unit_test(more_hostconfig),
	    cmocka_unit_test(uri_long_key),
	    cmocka_unit_test(attach_bools),
	    cmocka_unit_test(hidden_bodies),
	    cmocka_unit_test(exec_body),
	    cmocka_unit_test(networks_volumes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
