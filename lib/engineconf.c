/* engineconf.c - engine configuration from the workload spec; see
 * cocoon/engineconf.h. JSON goes through json-c so that no spec value can
 * break out of its string; the TOML of registries.conf is written by hand,
 * from registry names that compose.c already restricted to host[:port]. */
#include "cocoon/engineconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cocoon/buf.h"

static int json_out(json_object *o, char **out, struct cerr *err)
{
	const char *s = json_object_to_json_string_ext(
	    o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);

	*out = s ? malloc(strlen(s) + 2) : NULL;
	if (!*out) {
		json_object_put(o);
		return cerr_set(err, ENOMEM, "writing engine configuration");
	}
	sprintf(*out, "%s\n", s);
	json_object_put(o);
	return 0;
}

int engineconf_daemon_json(const struct compose_spec *s, char **out, struct cerr *err)
{
	json_object *o = json_object_new_object(), *a;

	if (!o)
		return cerr_set(err, ENOMEM, "daemon.json");
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(ENGINECONF_DOCKER_SOCKET));
	json_object_object_add(o, "hosts", a);
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string("cocoon-authz"));
	json_object_object_add(o, "authorization-plugins", a);
	json_object_object_add(o, "data-root", json_object_new_string(ENGINECONF_DATA_ROOT));
	json_object_object_add(o, "no-new-privileges", json_object_new_boolean(1));
	json_object_object_add(o, "icc", json_object_new_boolean(0));
	json_object_object_add(o, "userland-proxy", json_object_new_boolean(0));
	json_object_object_add(o, "live-restore", json_object_new_boolean(0));
	if (s->gpu) {
		json_object *rt = json_object_new_object(), *nv = json_object_new_object();

		json_object_object_add(nv, "path",
		                       json_object_new_string(ENGINECONF_NVIDIA_RUNTIME));
		json_object_object_add(nv, "runtimeArgs", json_object_new_array());
		json_object_object_add(rt, "nvidia", nv);
		json_object_object_add(o, "runtimes", rt);
		/* the GPU through CDI: cocoon-init writes the spec from the installed
		 * driver (lib/gpucdi.c) into /var/run/cdi, where dockerd looks */
		nv = json_object_new_object();
		json_object_object_add(nv, "cdi", json_object_new_boolean(1));
		json_object_object_add(o, "features", nv);
	}
	return json_out(o, out, err);
}

int engineconf_docker_dropin(char **out, struct cerr *err)
{
	static const char text[] =
	    "# Written by cocoon-init: the socket comes from daemon.json (\"hosts\"), so the\n"
	    "# packaged -H fd:// must go (dockerd refuses a flag and the file both setting it),\n"
	    "# and no TCP listener can be added here.\n"
	    "[Service]\n"
	    "ExecStart=\n"
	    "ExecStart=/usr/sbin/dockerd --containerd=/run/containerd/containerd.sock\n";

	*out = strdup(text);
	return *out ? 0 : cerr_set(err, ENOMEM, "docker drop-in");
}

/* a policy.json requirement list of one: [{"type": TYPE}] */
static json_object *requirement(const char *type)
{
	json_object *req = json_object_new_array(), *r = json_object_new_object();

	json_object_object_add(r, "type", json_object_new_string(type));
	json_object_array_add(req, r);
	return req;
}

int engineconf_podman_policy(const struct compose_spec *s, char **out, struct cerr *err)
{
	json_object *o = json_object_new_object(), *tr = json_object_new_object(),
	            *docker = json_object_new_object(), *archive = json_object_new_object();

	json_object_object_add(o, "default", requirement("reject"));
	for (size_t i = 0; i < s->n_images; i++) {
		char scope[600];

		snprintf(scope, sizeof(scope), "%s/%s@%s", s->images[i].domain, s->images[i].path,
		         s->images[i].digest);
		/* the digest in the scope pins the content; no signature is involved */
		json_object_object_add(docker, scope, requirement("insecureAcceptAnything"));
	}
	json_object_object_add(tr, "docker", docker);
	/* Image archives: cocoon-workload verifies each one against the spec's
	 * digest before it hands it to the engine's images/load, which unpacks it
	 * under a temporary name (no path a scope could name). Without this entry
	 * the default above rejects every archive. */
	json_object_object_add(archive, "", requirement("insecureAcceptAnything"));
	json_object_object_add(tr, "docker-archive", archive);
	json_object_object_add(o, "transports", tr);
	return json_out(o, out, err);
}

int engineconf_podman_registries(const struct compose_spec *s, char **out, struct cerr *err)
{
	struct wbuf w;
	size_t len;

	wbuf_init(&w, 1 << 20);
	wbuf_printf(&w,
	            "# Written by cocoon-init from x-cocoon.registries: pulls only from these,\n"
	            "# by digest (policy.json rejects everything else), no short names.\n"
	            "unqualified-search-registries = []\n"
	            "short-name-mode = \"enforcing\"\n");
	for (size_t i = 0; i < s->n_registries; i++) {
		const char *r = s->registries[i];

		if (!strcmp(r, "registry-1.docker.io") || !strcmp(r, "index.docker.io"))
			r = "docker.io";
		wbuf_printf(&w, "\n[[registry]]\nlocation = \"%s\"\nblocked = false\n", r);
	}
	wbuf_u8(&w, 0);
	if (wbuf_status(&w) < 0) {
		wbuf_free(&w);
		return cerr_set(err, ENOMEM, "registries.conf");
	}
	*out = (char *)wbuf_steal(&w, &len);
	return 0;
}
