/* test_engineconf.c - daemon.json, the docker drop-in, Podman's policy.json
 * and registries.conf generated from workload specs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "cocoon/engineconf.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void parse(const char *t, struct compose_spec *s)
{
	assert_int_equal(compose_parse("t.yml", t, strlen(t), NULL, s, NULL), 0);
}

static json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	assert_true(json_object_object_get_ex(o, k, &v));
	return v;
}

static void daemon_json_without_gpu(void **state)
{
	struct compose_spec s;
	char *out;
	json_object *o;

	parse("services:\n  w:\n    image: a@sha256:" D64 "\n", &s);
	assert_int_equal(engineconf_daemon_json(&s, &out, NULL), 0);
	o = json_tokener_parse(out);
	assert_non_null(o);
	assert_int_equal(json_object_array_length(get(o, "hosts")), 1);
	assert_string_equal(json_object_get_string(json_object_array_get_idx(get(o, "hosts"), 0)),
	                    "unix:///var/run/docker.sock");
	assert_null(strstr(out, "tcp://"));
	assert_string_equal(
	    json_object_get_string(json_object_array_get_idx(get(o, "authorization-plugins"), 0)),
	    "cocoon-authz");
	assert_string_equal(json_object_get_string(get(o, "data-root")), "/persist/docker");
	assert_true(json_object_get_boolean(get(o, "no-new-privileges")));
	assert_false(json_object_get_boolean(get(o, "icc")));
	assert_false(json_object_get_boolean(get(o, "userland-proxy")));
	assert_false(json_object_get_boolean(get(o, "live-restore")));
	assert_false(json_object_object_get_ex(o, "runtimes", NULL));
	assert_false(json_object_object_get_ex(o, "features", NULL));
	json_object_put(o);
	free(out);
	compose_spec_free(&s);
}

static void daemon_json_with_gpu(void **state)
{
	struct compose_spec s;
	char *out;
	json_object *o, *nv;

	parse("services:\n  w:\n    image: a@sha256:" D64 "\n    gpus: all\n", &s);
	assert_int_equal(engineconf_daemon_json(&s, &out, NULL), 0);
	o = json_tokener_parse(out);
	nv = get(get(o, "runtimes"), "nvidia");
	assert_string_equal(json_object_get_string(get(nv, "path")),
	                    "/usr/bin/nvidia-container-runtime");
	assert_int_equal(json_object_array_length(get(nv, "runtimeArgs")), 0);
	assert_true(json_object_get_boolean(get(get(o, "features"), "cdi")));
	json_object_put(o);
	free(out);
	compose_spec_free(&s);
}

static void dropin_removes_fd(void **state)
{
	char *out;

	assert_int_equal(engineconf_docker_dropin(&out, NULL), 0);
	assert_non_null(strstr(out, "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd "));
	/* the command line itself sets no host */
	assert_null(strstr(strstr(out, "ExecStart=/"), "-H"));
	free(out);
}

static void podman_policy(void **state)
{
	struct compose_spec s;
	char *out;
	json_object *o, *def, *docker, *req;

	parse("services:\n  w:\n    image: busybox@sha256:" D64 "\n"
	      "  x:\n    image: 127.0.0.1:5000/demo/hello@sha256:" D64 "\n",
	      &s);
	assert_int_equal(engineconf_podman_policy(&s, &out, NULL), 0);
	o = json_tokener_parse(out);
	def = get(o, "default");
	assert_int_equal(json_object_array_length(def), 1);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(def, 0), "type")),
	                    "reject");
	docker = get(get(o, "transports"), "docker");
	assert_int_equal(json_object_object_length(docker), 2);
	/* archives cocoon-workload verified: the only other transport accepted */
	assert_int_equal(json_object_object_length(get(o, "transports")), 2);
	assert_string_equal(
	    json_object_get_string(get(
	        json_object_array_get_idx(get(get(get(o, "transports"), "docker-archive"), ""), 0),
	        "type")),
	    "insecureAcceptAnything");
	req = get(docker, "docker.io/library/busybox@sha256:" D64);
	assert_string_equal(json_object_get_string(get(json_object_array_get_idx(req, 0), "type")),
	                    "insecureAcceptAnything");
	get(docker, "127.0.0.1:5000/demo/hello@sha256:" D64);
	json_object_put(o);
	free(out);
	compose_spec_free(&s);
}

static void podman_registries(void **state)
{
	struct compose_spec s;
	char *out;

	parse("services: {}\nx-cocoon:\n  registries: [registry-1.docker.io, \"127.0.0.1:5000\"]\n",
	      &s);
	assert_int_equal(engineconf_podman_registries(&s, &out, NULL), 0);
	assert_non_null(strstr(out, "unqualified-search-registries = []\n"));
	assert_non_null(strstr(out, "short-name-mode = \"enforcing\"\n"));
	assert_non_null(strstr(out, "[[registry]]\nlocation = \"docker.io\"\n"));
	assert_non_null(strstr(out, "[[registry]]\nlocation = \"127.0.0.1:5000\"\n"));
	free(out);
	compose_spec_free(&s);
	/* no registries: nothing to pull from */
	parse("services: {}\n", &s);
	assert_int_equal(engineconf_podman_registries(&s, &out, NULL), 0);
	assert_null(strstr(out, "[[registry]]"));
	free(out);
	compose_spec_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(daemon_json_without_gpu), cmocka_unit_test(daemon_json_with_gpu),
	    cmocka_unit_test(dropin_removes_fd),       cmocka_unit_test(podman_policy),
	    cmocka_unit_test(podman_registries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
