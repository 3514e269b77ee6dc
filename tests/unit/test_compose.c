/* test_compose.c - the Docker-mode workload spec rules, one test per rule,
 * each checking the line and key the problem is reported at. The same rules
 * run through the real cocoon-spec in tests/integration/spec_cases.py. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <unistd.h>

#include "cocoon/compose.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IMG "127.0.0.1:5000/demo/hello@sha256:" D64

struct found {
	unsigned line[64];
	char key[64][256];
	char msg[64][768];
	size_t n;
};

static bool collect(void *ctx, const struct compose_problem *p)
{
	struct found *f = ctx;

	if (f->n < 64) {
		f->line[f->n] = p->line;
		snprintf(f->key[f->n], sizeof(f->key[0]), "%s", p->key);
		snprintf(f->msg[f->n], sizeof(f->msg[0]), "%s", p->msg);
		f->n++;
	}
	return true;
}

static int parse(const char *text, struct found *f, struct compose_spec *out)
{
	struct compose_opts o = {.on_problem = collect, .ctx = f, .spec_dirfd = -1};
	struct cerr err = CERR_INIT;

	memset(f, 0, sizeof(*f));
	return compose_parse("docker-compose.yml", text, strlen(text), &o, out, &err);
}

/* Exactly one problem, at line, with key and a message holding needle. */
static void one(const char *text, unsigned line, const char *key, const char *needle)
{
	struct found f;

	assert_int_equal(parse(text, &f, NULL), -EINVAL);
	if (f.n != 1) {
		for (size_t i = 0; i < f.n; i++)
			print_message("  %u %s: %s\n", f.line[i], f.key[i], f.msg[i]);
	}
	assert_int_equal(f.n, 1);
	assert_int_equal(f.line[0], line);
	assert_string_equal(f.key[0], key);
	if (!strstr(f.msg[0], needle))
		fail_msg("'%s' not in '%s'", needle, f.msg[0]);
}

static void ok(const char *text)
{
	struct found f;
	struct compose_spec s;

	if (parse(text, &f, &s) != 0) {
		for (size_t i = 0; i < f.n; i++)
			print_message("  %u %s: %s\n", f.line[i], f.key[i], f.msg[i]);
		fail();
	}
	compose_spec_free(&s);
}

#define SVC "services:\n  web:\n    image: " IMG "\n"

static void full_spec_accepted(void **state)
{
	struct found f;
	struct compose_spec s;
	const char *text =
	    "version: '3.8'\n"
	    "services:\n"
	    "  web:\n"
	    "    image: " IMG "\n"
	    "    command: [\"serve\", \"--port\", \"80\"]\n"
	    "    entrypoint: /bin/hello\n"
	    "    environment:\n"
	    "      A: 1\n"
	    "      B: \"x\"\n"
	    "    ports: [\"8080:80\", 443, \"127.0.0.1:53:53/udp\", {target: 9000, published: "
	    "\"9000\"}]\n"
	    "    volumes:\n"
	    "      - models:/models\n"
	    "      - /data/in:/in:ro\n"
	    "      - /spec/cfg:/cfg:ro\n"
	    "      - {type: bind, source: /data/x, target: /x, read_only: true}\n"
	    "      - {type: tmpfs, target: /tmp}\n"
	    "    gpus: all\n"
	    "    restart: on-failure:3\n"
	    "    shm_size: 16g\n"
	    "    ulimits: {memlock: -1, nofile: {soft: 1024, hard: 2048}}\n"
	    "    working_dir: /app\n"
	    "    user: \"1000:1000\"\n"
	    "    healthcheck: {test: [CMD, /bin/hello, -h], interval: 10s, retries: 3}\n"
	    "    cap_add: [NET_BIND_SERVICE, cap_sys_nice, CAP_IPC_LOCK]\n"
	    "    security_opt: [\"no-new-privileges:true\"]\n"
	    "  worker:\n"
	    "    image: busybox@sha256:" D64 "\n"
	    "    depends_on: {web: {condition: service_healthy}}\n"
	    "    deploy:\n"
	    "      resources:\n"
	    "        reservations:\n"
	    "          devices:\n"
	    "            - {driver: nvidia, count: all, capabilities: [gpu]}\n"
	    "volumes:\n"
	    "  models:\n"
	    "x-cocoon:\n"
	    "  engine: podman\n"
	    "  egress:\n"
	    "    - {cidr: 10.0.2.2/32, ports: [11001], proto: tcp}\n"
	    "    - {host: registry-1.docker.io, ports: [443]}\n"
	    "  registries: [registry-1.docker.io, \"127.0.0.1:5000\"]\n"
	    "  exec: allow\n";
	struct compose_ref r;

	/* -1 is not a number >= 0: memlock unlimited is written as a big number */
	one(text, 20, "services.web.ulimits.memlock", "must be a number");
	char *fixed = strdup(text);
	char *p = strstr(fixed, "memlock: -1");
	memcpy(p, "memlock: 01", 11);
	if (parse(fixed, &f, &s) != 0) {
		for (size_t i = 0; i < f.n; i++)
			print_message("  %u %s: %s\n", f.line[i], f.key[i], f.msg[i]);
		fail();
	}
	free(fixed);
	assert_int_equal(s.engine, COMPOSE_ENGINE_PODMAN);
	assert_true(s.exec_allow);
	assert_false(s.data_rw);
	assert_true(s.gpu);
	assert_int_equal(s.n_services, 2);
	assert_int_equal(s.n_images, 2);
	assert_string_equal(s.images[1].domain, "docker.io");
	assert_string_equal(s.images[1].path, "library/busybox");
	assert_int_equal(s.n_egress, 2);
	assert_string_equal(s.egress[0].cidr, "10.0.2.2/32");
	assert_int_equal(s.egress[0].ports[0], 11001);
	assert_string_equal(s.egress[1].host, "registry-1.docker.io");
	assert_int_equal(s.n_registries, 2);
	assert_int_equal(s.n_volumes, 1);
	assert_int_equal(compose_ref_parse("docker.io/library/busybox@sha256:" D64, true, &r, NULL),
	                 0);
	assert_true(compose_image_allowed(&s, &r));
	assert_true(compose_registry_allowed(&s, "docker.io"));
	assert_true(compose_registry_allowed(&s, "127.0.0.1:5000"));
	assert_false(compose_registry_allowed(&s, "evil.example"));
	compose_spec_free(&s);
}

static void empty_services_accepted(void **state)
{
	ok("services: {}\n");
	ok("services:\n");
}

static void image_rules(void **state)
{
	one("services:\n  web:\n    image: nginx:1.25\n", 3, "services.web.image", "carries a tag");
	one("services:\n  web:\n    image: nginx\n", 3, "services.web.image", "has no digest");
	one("services:\n  web:\n    image: nginx@sha256:abc\n", 3, "services.web.image", "64 hex");
	one("services:\n  web:\n    image: nginx@sha256:" D64 "0\n", 3, "services.web.image",
	    "64 hex");
	one("services:\n  web:\n    image: nginx:1@sha256:" D64 "\n", 3, "services.web.image",
	    "carries a tag");
	one("services:\n  web:\n    image: Nginx@sha256:" D64 "\n", 3, "services.web.image",
	    "not a valid repository name");
	one("services:\n  web:\n    image: nginx@sha256:" D64 "\n    command: x\n  db:\n"
	    "    command: y\n",
	    5, "services.db", "image is required");
	one("services:\n  web:\n    image: [a]\n", 3, "services.web.image", "name@sha256");
}

static void ref_parse(void **state)
{
	struct compose_ref r;

	assert_int_equal(compose_ref_parse("hello@sha256:" D64, true, &r, NULL), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.path, "library/hello");
	assert_string_equal(r.digest, "sha256:" D64);
	assert_int_equal(compose_ref_parse("localhost/a/b@sha256:" D64, true, &r, NULL), 0);
	assert_string_equal(r.domain, "localhost");
	assert_string_equal(r.path, "a/b");
	assert_int_equal(compose_ref_parse("registry-1.docker.io/x/y@sha256:" D64, true, &r, NULL),
	                 0);
	assert_string_equal(r.domain, "docker.io");
	assert_int_equal(compose_ref_parse("a//b@sha256:" D64, true, &r, NULL), -EINVAL);
	assert_int_equal(compose_ref_parse("-a@sha256:" D64, true, &r, NULL), -EINVAL);
	assert_int_equal(compose_ref_parse("a@sha256:" D64, false, &r, NULL), 0);
	assert_int_equal(compose_ref_parse("a:v1", false, &r, NULL), 0);
	assert_int_equal(compose_ref_parse("bad host:1/a@sha256:" D64, true, &r, NULL), -EINVAL);
	assert_int_equal(compose_ref_parse("", true, &r, NULL), -EINVAL);
}

static void privileged_rejected(void **state)
{
	one(SVC "    privileged: true\n", 4, "services.web.privileged", "never allowed");
}

static void host_namespaces_rejected(void **state)
{
	one(SVC "    network_mode: host\n", 4, "services.web.network_mode", "host is never");
	one(SVC "    pid: host\n", 4, "services.web.pid", "host is never");
	one(SVC "    ipc: host\n", 4, "services.web.ipc", "host is never");
	one(SVC "    userns_mode: host\n", 4, "services.web.userns_mode", "host is never");
	one(SVC "    network_mode: bridge\n", 4, "services.web.network_mode", "not in the");
}

static void devices_build_rejected(void **state)
{
	one(SVC "    devices: [\"/dev/mem:/dev/mem\"]\n", 4, "services.web.devices", "never");
	one(SVC "    build: .\n", 4, "services.web.build", "build is never allowed");
	one(SVC "    sysctls: {a: 1}\n", 4, "services.web.sysctls", "not allowed");
	one(SVC "    links: [x]\n", 4, "services.web.links", "not in the Docker-mode subset");
}

static void security_opt_rules(void **state)
{
	one(SVC "    security_opt: [seccomp=unconfined]\n", 4, "services.web.security_opt[0]",
	    "weakens");
	one(SVC "    security_opt: [\"apparmor:unconfined\"]\n", 4, "services.web.security_opt[0]",
	    "weakens");
	one(SVC "    security_opt: [label=disable]\n", 4, "services.web.security_opt[0]",
	    "weakens");
	one(SVC "    security_opt: [\"no-new-privileges:false\"]\n", 4,
	    "services.web.security_opt[0]", "weakens");
	one(SVC "    security_opt: [seccomp=/x.json]\n", 4, "services.web.security_opt[0]",
	    "not allowed");
}

static void cap_add_rules(void **state)
{
	one(SVC "    cap_add:\n      - NET_BIND_SERVICE\n      - SYS_ADMIN\n", 6,
	    "services.web.cap_add[1]", "SYS_ADMIN");
	one(SVC "    cap_add: [ALL]\n", 4, "services.web.cap_add[0]", "may not be added");
	one(SVC "    cap_add: [cap_net_admin]\n", 4, "services.web.cap_add[0]", "may not be added");
	ok(SVC "    cap_add: [cap_net_bind_service, Sys_Nice]\n");
}

static void bind_rules(void **state)
{
	one(SVC "    volumes: [\"/:/h\"]\n", 4, "services.web.volumes[0]", "only from /data");
	one(SVC "    volumes: [\"/etc:/etc:ro\"]\n", 4, "services.web.volumes[0]",
	    "only from /data");
	one(SVC "    volumes: [\"/data/../etc:/e:ro\"]\n", 4, "services.web.volumes[0]", "'..'");
	one(SVC "    volumes: [\"/datax:/e:ro\"]\n", 4, "services.web.volumes[0]", "only from");
	one(SVC "    volumes: [\"./x:/e:ro\"]\n", 4, "services.web.volumes[0]", "relative");
	one(SVC "    volumes: [\"/var/run/docker.sock:/s\"]\n", 4, "services.web.volumes[0]",
	    "engine's socket");
	one(SVC "    volumes:\n      - type: bind\n        source: /run/docker.sock\n"
	        "        target: /s\n",
	    6, "services.web.volumes[0].source", "engine's socket");
	one(SVC "    volumes: [\"/data/m:/m\"]\n", 4, "services.web.volumes[0]", "read-only");
	one(SVC "    volumes: [\"/spec/m:/m:rw\"]\n", 4, "services.web.volumes[0]", "measured");
	ok(SVC "    volumes: [\"/data/m:/m\"]\nx-cocoon:\n  data_rw: true\n");
	one(SVC "    volumes: [\"/data/m:/m:ro,z\"]\n", 4, "services.web.volumes[0]", "mode 'z'");
	one(SVC "    volumes: [{type: npipe, source: x, target: /x}]\n", 4,
	    "services.web.volumes[0].type", "volume, bind or tmpfs");
}

static void named_volume_rules(void **state)
{
	one(SVC "    volumes: [\"cache:/c\"]\n", 4, "services.web.volumes[0]", "not declared");
	ok(SVC "    volumes: [\"cache:/c\"]\nvolumes:\n  cache: {}\n");
	one(SVC "volumes:\n  cache:\n    driver: nfs\n", 6, "volumes.cache", "only plain");
}

static void port_rules(void **state)
{
	one(SVC "    ports: [\"70000:80\"]\n", 4, "services.web.ports[0]", "published port");
	one(SVC "    ports: [\"80/sctp\"]\n", 4, "services.web.ports[0]", "tcp or udp");
	one(SVC "    ports: [\"x.y:80:80\"]\n", 4, "services.web.ports[0]", "IP address");
	one(SVC "    ports:\n      - target: 80\n        protocol: sctp\n", 6,
	    "services.web.ports[0].protocol", "tcp or udp");
	ok(SVC "    ports: [\"[::1]:80:80\", \"8000-8010:8000-8010\", 53]\n");
}

static void gpu_rules(void **state)
{
	one(SVC "    gpus: 1\n", 4, "services.web.gpus", "must be all");
	one(SVC "    deploy:\n      replicas: 2\n", 4, "services.web.deploy",
	    "only deploy.resources");
	one(SVC "    deploy:\n      resources:\n        reservations:\n          devices:\n"
	        "            - driver: amd\n",
	    8, "services.web.deploy.resources.reservations.devices[0]", "nvidia");
}

static void misc_service_keys(void **state)
{
	one(SVC "    restart: sometimes\n", 4, "services.web.restart", "unless-stopped");
	one(SVC "    shm_size: lots\n", 4, "services.web.shm_size", "size");
	one(SVC "    working_dir: app\n", 4, "services.web.working_dir", "absolute");
	one(SVC "    ulimits: {fds: 1}\n", 4, "services.web.ulimits.fds", "unknown limit");
	one(SVC "    healthcheck: {test: x, period: 1}\n", 4, "services.web.healthcheck.period",
	    "unknown");
	one(SVC "    depends_on: [db]\n", 4, "services.web.depends_on[0]", "not a service");
	one(SVC "    environment: [\"=x\"]\n", 4, "services.web.environment[0]", "NAME=VALUE");
	one(SVC "    environment: {A: [1]}\n", 4, "services.web.environment.A", "scalar");
	one(SVC "    command: {a: b}\n", 4, "services.web.command", "string or a list");
	one("services:\n  \"-web\":\n    image: " IMG "\n", 2, "services.-web", "service name");
}

static void env_file_rules(void **state)
{
	one(SVC "    env_file: /etc/passwd\n", 4, "services.web.env_file", "relative");
	one(SVC "    env_file: [a.env, ../x.env]\n", 4, "services.web.env_file[1]", "leaves");
	ok(SVC "    env_file: [a.env, {path: b.env, required: false}]\n");
	/* what the spec hash leaves out (runtime/, spec.tree, spec.meta at the top)
	 * is the host's to change: never an env_file, however it is spelled */
	one(SVC "    env_file: runtime/app.env\n", 4, "services.web.env_file",
	    "not covered by the spec hash");
	one(SVC "    env_file: ./runtime/app.env\n", 4, "services.web.env_file", "runtime/");
	one(SVC "    env_file: \".//./runtime//app.env\"\n", 4, "services.web.env_file",
	    "runtime/");
	one(SVC "    env_file: [a.env, {path: spec.meta}]\n", 4, "services.web.env_file[1]",
	    "not covered");
	one(SVC "    env_file: spec.tree\n", 4, "services.web.env_file", "not covered");
	/* only the top-level names: these are hashed like any file */
	ok(SVC "    env_file: [runtime.env, sub/runtime/app.env, ./runtimes/a, spec.tree.env]\n");
}

/* A real spec directory with runtime/app.env in it: refused though the file
 * is there and regular; the same file beside docker-compose.yml is read. */
static void env_file_runtime_dir(void **state)
{
	char dir[] = "/tmp/test_compose_XXXXXX", path[128];
	const char *y = SVC "    env_file: runtime/app.env\n";
	struct compose_spec s;
	struct cerr err = CERR_INIT;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/runtime", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/runtime/app.env", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(write(fd, "E=host\n", 7) == 7);
	close(fd);
	snprintf(path, sizeof(path), "%s/docker-compose.yml", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(write(fd, y, strlen(y)) == (ssize_t)strlen(y));
	close(fd);
	assert_int_equal(compose_load_dir(dir, NULL, &s, &err), -EINVAL);
	if (!strstr(err.msg, "runtime/app.env") || !strstr(err.msg, "not covered by the spec hash"))
		fail_msg("%s", err.msg);
	snprintf(path, sizeof(path), "%s/runtime/app.env", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/runtime", dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/docker-compose.yml", dir);
	unlink(path);
	rmdir(dir);
}

struct envs {
	char v[8][32];
	size_t n;
};

static bool env_collect(void *ctx, const char *line, size_t len)
{
	struct envs *e = ctx;

	if (e->n == 8)
		return false;
	snprintf(e->v[e->n++], sizeof(e->v[0]), "%.*s", (int)len, line);
	return true;
}

static int env_parse(const char *text, size_t len, struct envs *e, struct cerr *err)
{
	memset(e, 0, sizeof(*e));
	*err = (struct cerr)CERR_INIT;
	return compose_env_parse("app.env", text, len, env_collect, e, err);
}

static void env_file_lines(void **state)
{
	static const char nul[] = "A=1\0B=2\n";
	const char *ok_text = "# c\n\n  A=1\r\nB=x\ry\nC=\n\tD==\n";
	struct cerr err;
	struct envs e;

	(void)state;
	assert_int_equal(env_parse(ok_text, strlen(ok_text), &e, &err), 0);
	assert_int_equal(e.n, 4);
	assert_string_equal(e.v[0], "A=1");    /* leading space and the CR of CRLF go */
	assert_string_equal(e.v[1], "B=x\ry"); /* a CR inside a value stays */
	assert_string_equal(e.v[2], "C=");
	assert_string_equal(e.v[3], "D==");
	/* a NUL used to end the file there, silently dropping the rest */
	assert_int_equal(env_parse(nul, sizeof(nul) - 1, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "NUL byte at offset 3"));
	assert_int_equal(env_parse("A=1\nNAME\n", 9, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "app.env' line 2: no '='"));
	assert_int_equal(env_parse("=x", 2, &e, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no name"));
	assert_int_equal(env_parse("", 0, &e, &err), 0);
	assert_int_equal(e.n, 0);
}

static void top_level_rules(void **state)
{
	one("services: {}\nnetworks: {}\n", 2, "networks", "top level");
	one("services: {}\nx-other: 1\n", 2, "x-other", "top level");
	one("volumes: {}\n", 1, "services", "required");
	one("- a\n", 1, "", "must be a map");
	one("services: [a]\n", 1, "services", "map of services");
	one("services:\n  web: [a]\n", 2, "services.web", "must be a map");
}

static void x_cocoon_rules(void **state)
{
	one("services: {}\nx-cocoon:\n  engine: containerd\n", 3, "x-cocoon.engine", "docker or");
	one("services: {}\nx-cocoon:\n  exec: maybe\n", 3, "x-cocoon.exec", "deny");
	one("services: {}\nx-cocoon:\n  data_rw: yes\n", 3, "x-cocoon.data_rw", "true or false");
	one("services: {}\nx-cocoon:\n  registries: [\"bad host\"]\n", 3, "x-cocoon.registries[0]",
	    "registry host");
	one("services: {}\nx-cocoon:\n  debug: 1\n", 3, "x-cocoon.debug", "unknown key");
	one("services: {}\nx-cocoon:\n  gpu: 2\n", 3, "x-cocoon.gpu", "a map with count");
	one("services: {}\nx-cocoon:\n  gpu:\n    count: 0\n", 4, "x-cocoon.gpu.count", "1 to 16");
	one("services: {}\nx-cocoon:\n  gpu:\n    count: 17\n", 4, "x-cocoon.gpu.count", "1 to 16");
	one("services: {}\nx-cocoon:\n  gpu:\n    reference: ../rim.json\n", 4,
	    "x-cocoon.gpu.reference", "leaves the spec");
	one("services: {}\nx-cocoon:\n  gpu:\n    rim: a\n", 4, "x-cocoon.gpu.rim", "unknown key");
	{
		struct compose_spec sp;
		struct found f;

		assert_int_equal(parse(SVC "    gpus: all\nx-cocoon:\n  gpu:\n    count: 2\n"
		                           "    reference: gpu/rim.json\n",
		                       &f, &sp),
		                 0);
		assert_true(sp.gpu);
		assert_int_equal(sp.gpu_count, 2);
		assert_string_equal(sp.gpu_reference, "gpu/rim.json");
		compose_spec_free(&sp);
	}
	one("services: {}\nx-cocoon:\n  egress:\n    - cidr: 10.0.2.2/33\n      ports: [1]\n", 4,
	    "x-cocoon.egress[0].cidr", "address/prefix");
	one("services: {}\nx-cocoon:\n  egress:\n    - cidr: 10.0.2.2/32\n      ports: [0]\n", 5,
	    "x-cocoon.egress[0].ports[0]", "1-65535");
	one("services: {}\nx-cocoon:\n  egress:\n    - cidr: 10.0.0.0/8\n      host: a.b\n"
	    "      ports: [1]\n",
	    4, "x-cocoon.egress[0]", "exactly one");
	one("services: {}\nx-cocoon:\n  egress:\n    - host: a.b\n", 4, "x-cocoon.egress[0].ports",
	    "non-empty list");
	one("services: {}\nx-cocoon:\n  egress:\n    - host: a.b\n      ports: [1]\n"
	    "      proto: icmp\n",
	    6, "x-cocoon.egress[0].proto", "tcp or udp");
	one("services: {}\nx-cocoon:\n  egress:\n    - host: \"-a\"\n      ports: [1]\n", 4,
	    "x-cocoon.egress[0].host", "DNS name");
}

static void every_problem_listed(void **state)
{
	struct found f;

	assert_int_equal(
	    parse(SVC "    privileged: true\n    pid: host\n  db:\n    image: x:1\n", &f, NULL),
	    -EINVAL);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.line[0], 4);
	assert_int_equal(f.line[1], 5);
	assert_int_equal(f.line[2], 7);
}

static void first_problem_in_err(void **state)
{
	struct cerr err = CERR_INIT;
	const char *t = SVC "    privileged: true\n";

	assert_int_equal(compose_parse("f.yml", t, strlen(t), NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "f.yml:4: services.web.privileged: "));
}

/* ---- hostile YAML ---- */

static void aliases_refused(void **state)
{
	one("a: &a [x, x, x]\nb: [*a, *a]\n", 1, "a", "anchors");
	one("services:\n  web:\n    image: *x\n", 3, "services.web.image", "aliases");
}

static void billion_laughs(void **state)
{
	struct found f;
	const char *t = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	                "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
	                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
	                "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
	                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n";

	assert_int_equal(parse(t, &f, NULL), -EINVAL);
	assert_int_equal(f.n, 1);
	assert_non_null(strstr(f.msg[0], "anchors"));
}

static void duplicate_keys(void **state)
{
	one("services:\n  web:\n    image: " IMG "\n    image: " IMG "\n", 4, "services.web.image",
	    "duplicate key 'image' (first at line 3)");
	one("services: {}\nservices: {}\n", 2, "services", "duplicate key");
}

static void deep_nesting(void **state)
{
	char t[512] = "services: ";

	for (int i = 0; i < 40; i++)
		strcat(t, "[");
	for (int i = 0; i < 40; i++)
		strcat(t, "]");
	strcat(t, "\n");
	one(t, 1,
	    "services[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
	    "[0][0][0][0][0][0][0][0]",
	    "nested more than");
}

static void huge_documents(void **state)
{
	size_t n = COMPOSE_MAX_SIZE + 1;
	char *t = malloc(n + 1);
	struct found f;
	struct compose_opts o = {.on_problem = collect, .ctx = &f, .spec_dirfd = -1};

	memset(&f, 0, sizeof(f));
	memset(t, ' ', n);
	t[n] = 0;
	assert_int_equal(compose_parse("d", t, n, &o, NULL, NULL), -EINVAL);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.line[0], 0);
	assert_non_null(strstr(f.msg[0], "more than"));
	/* many small nodes */
	size_t off = 0;
	off += (size_t)sprintf(t, "services: [");
	for (int i = 0; i < COMPOSE_MAX_NODES + 10; i++)
		off += (size_t)sprintf(t + off, "1,");
	strcpy(t + off, "1]\n");
	f.n = 0;
	assert_int_equal(compose_parse("d", t, strlen(t), &o, NULL, NULL), -EINVAL);
	free(t);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.key[0], "services[49997]");
	assert_non_null(strstr(f.msg[0], "YAML nodes"));
}

static void not_utf8(void **state)
{
	one("services:\n  w\xff: {}\n", 2, "", "UTF-8");
	one("services:\n  w\xc3\x28: {}\n", 2, "", "UTF-8");
}

static void other_yaml_refusals(void **state)
{
	one("---\nservices: {}\n---\nservices: {}\n", 3, "", "more than one YAML document");
	one("services: !!map {}\n", 1, "services", "tags");
	one("services:\n  ? [a]\n  : b\n", 2, "services", "plain string");
	one("services: {\n", 2, "", "not valid YAML");
	one("services:\n  web:\n   image: x\n  bad\n", 5, "", "not valid YAML");
	one("services:\n  web:\n    image: \"a\\0b\"\n", 3, "services.web.image", "NUL");
}

static void helpers(void **state)
{
	char cap[32];

	assert_true(compose_cap_normalise("cap_sys_admin", cap, sizeof(cap)));
	assert_string_equal(cap, "SYS_ADMIN");
	assert_true(compose_cap_normalise("all", cap, sizeof(cap)));
	assert_string_equal(cap, "ALL");
	assert_false(compose_cap_allowed("ALL"));
	assert_true(compose_cap_allowed("IPC_LOCK"));
	assert_null(compose_bind_source_problem("/data"));
	assert_null(compose_bind_source_problem("/spec/a/b"));
	assert_non_null(compose_bind_source_problem("/data/./x"));
	assert_non_null(compose_bind_source_problem("/data//x"));
	assert_non_null(compose_bind_source_problem("data/x"));
	assert_non_null(compose_bind_source_problem("/proc"));
}

static const char *jpath(json_object *o, const char *path)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *t = strtok_r(buf, ".", &save); t && o; t = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(o, json_type_array))
			o = json_object_array_get_idx(o, (size_t)atoi(t));
		else if (!json_object_object_get_ex(o, t, &o))
			return NULL;
	}
	return o ? json_object_get_string(o) : NULL;
}

/* The containers/create body cocoon-workload sends carries every setting. */
static void create_body(void **state)
{
	char dir[] = "/tmp/test_compose_XXXXXX";
	const char *y =
	    "services:\n"
	    "  web:\n"
	    "    image: 127.0.0.1:5000/demo/web@sha256:" D64 "\n"
	    "    command: /srv -p \"a b\" 'c d'\n"
	    "    entrypoint: [/bin/x, -v]\n"
	    "    environment: {A: '1', B: two}\n"
	    "    env_file: app.env\n"
	    "    ports: [\"127.0.0.1:8080:80\", \"9000-9001:9000-9001/udp\"]\n"
	    "    volumes: [\"state:/var/lib/x\", \"/data/models:/models:ro\",\n"
	    "              \"/spec/cfg:/cfg:nocopy,ro\", \"cache:/c:nocopy\"]\n"
	    "    gpus: all\n"
	    "    restart: on-failure:3\n"
	    "    shm_size: 1g\n"
	    "    ulimits: {memlock: 65536, nofile: {soft: 1024, hard: 2048}}\n"
	    "    working_dir: /srv\n"
	    "    user: \"1000:1000\"\n"
	    "    cap_add: [sys_nice]\n"
	    "    healthcheck: {test: [CMD, /srv, health], interval: 1m30s, retries: 3}\n"
	    "    depends_on: {db: {condition: service_healthy}}\n"
	    "  db:\n"
	    "    image: 127.0.0.1:5000/demo/db@sha256:" D64 "\n"
	    "volumes:\n"
	    "  state:\n"
	    "  cache:\n";
	struct compose_spec s;
	struct cerr err = CERR_INIT;
	json_object *o;
	int fd;

	assert_non_null(mkdtemp(dir));
	fd = open(strcat(strcpy((char[128]){0}, dir), "/docker-compose.yml"), O_WRONLY | O_CREAT,
	          0644);
	assert_true(write(fd, y, strlen(y)) == (ssize_t)strlen(y));
	close(fd);
	fd = open(strcat(strcpy((char[128]){0}, dir), "/app.env"), O_WRONLY | O_CREAT, 0644);
	assert_true(write(fd, "# c\nE=from file\nA=0\n", 20) == 20);
	close(fd);
	if (compose_load_dir(dir, NULL, &s, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(s.n_svc, 2);
	assert_string_equal(s.svc[0].name, "web");
	assert_int_equal(s.svc[0].n_deps, 1);
	assert_string_equal(s.svc[0].deps[0].service, "db");
	assert_true(s.svc[0].deps[0].healthy);
	o = json_tokener_parse(s.svc[0].create_json);
	assert_non_null(o);
	assert_string_equal(jpath(o, "Cmd.2"), "a b");
	assert_string_equal(jpath(o, "Cmd.3"), "c d");
	assert_string_equal(jpath(o, "Entrypoint.1"), "-v");
	assert_string_equal(jpath(o, "Env.0"), "E=from file");
	assert_string_equal(jpath(o, "Env.2"), "A=1"); /* environment after env_file */
	assert_string_equal(jpath(o, "HostConfig.PortBindings.80/tcp.0.HostPort"), "8080");
	assert_string_equal(jpath(o, "HostConfig.PortBindings.80/tcp.0.HostIp"), "127.0.0.1");
	assert_string_equal(jpath(o, "HostConfig.PortBindings.9001/udp.0.HostPort"), "9001");
	assert_string_equal(jpath(o, "HostConfig.Mounts.0.Type"), "volume");
	assert_string_equal(jpath(o, "HostConfig.Mounts.1.Type"), "bind");
	assert_string_equal(jpath(o, "HostConfig.Mounts.1.ReadOnly"), "true");
	assert_string_equal(jpath(o, "HostConfig.Mounts.2.ReadOnly"), "true");
	assert_string_equal(jpath(o, "HostConfig.Mounts.3.ReadOnly"), "false");
	assert_string_equal(jpath(o, "HostConfig.Mounts.3.Source"), "cache");
	assert_string_equal(jpath(o, "HostConfig.DeviceRequests.0.Driver"), "nvidia");
	assert_string_equal(jpath(o, "HostConfig.DeviceRequests.0.Count"), "-1");
	assert_string_equal(jpath(o, "HostConfig.RestartPolicy.Name"), "on-failure");
	assert_string_equal(jpath(o, "HostConfig.RestartPolicy.MaximumRetryCount"), "3");
	assert_string_equal(jpath(o, "HostConfig.ShmSize"), "1073741824");
	assert_string_equal(jpath(o, "HostConfig.Ulimits.1.Hard"), "2048");
	assert_string_equal(jpath(o, "HostConfig.CapAdd.0"), "CAP_SYS_NICE");
	assert_string_equal(jpath(o, "Healthcheck.Interval"), "90000000000");
	assert_string_equal(jpath(o, "User"), "1000:1000");
	assert_string_equal(jpath(o, "WorkingDir"), "/srv");
	json_object_put(o);
	compose_spec_free(&s);
	assert_int_equal(system(strcat(strcpy((char[160]){0}, "rm -rf "), dir)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_spec_accepted),
	    cmocka_unit_test(empty_services_accepted),
	    cmocka_unit_test(image_rules),
	    cmocka_unit_test(ref_parse),
	    cmocka_unit_test(privileged_rejected),
	    cmocka_unit_test(host_namespaces_rejected),
	    cmocka_unit_test(devices_build_rejected),
	    cmocka_unit_test(security_opt_rules),
	    cmocka_unit_test(cap_add_rules),
	    cmocka_unit_test(bind_rules),
	    cmocka_unit_test(named_volume_rules),
	    cmocka_unit_test(port_rules),
	    cmocka_unit_test(gpu_rules),
	    cmocka_unit_test(misc_service_keys),
	    cmocka_unit_test(env_file_rules),
	    cmocka_unit_test(env_file_runtime_dir),
	    cmocka_unit_test(env_file_lines),
	    cmocka_unit_test(top_level_rules),
	    cmocka_unit_test(x_cocoon_rules),
	    cmocka_unit_test(every_problem_listed),
	    cmocka_unit_test(first_problem_in_err),
	    cmocka_unit_test(aliases_refused),
	    cmocka_unit_test(billion_laughs),
	    cmocka_unit_test(duplicate_keys),
	    cmocka_unit_test(deep_nesting),
	    cmocka_unit_test(huge_documents),
	    cmocka_unit_test(not_utf8),
	    cmocka_unit_test(other_yaml_refusals),
	    cmocka_unit_test(helpers),
	    cmocka_unit_test(create_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
