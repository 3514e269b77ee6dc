/* fuzz_authz.c - libFuzzer target for cocoon-authz's request parsing.
 *
 * Input: an AuthZReq JSON as dockerd would send it (the plugin socket is
 * root's, but the request carries whatever a client put in its URI and body).
 * Decided against two fixed specs (exec denied, with a GPU and a declared
 * volume; exec allowed, with the load window open);
 * the verdict must always come back with a NUL-terminated message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct compose_spec spec[2]; /* exec: deny, exec: allow */
static bool ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const t[2] = {
	    "services:\n  web:\n    image: 127.0.0.1:5000/demo/hello@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	    "    gpus: all\n    volumes: [\"models:/m\"]\nvolumes:\n  models: {}\n"
	    "x-cocoon:\n  registries: [\"127.0.0.1:5000\"]\n",
	    "services:\n  web:\n    image: 127.0.0.1:5000/demo/hello@sha256:"
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	    "x-cocoon:\n  registries: [\"127.0.0.1:5000\"]\n  exec: allow\n"};
	struct authz_verdict v;

	if (!ready) {
		for (int i = 0; i < 2; i++)
			if (compose_parse("t.yml", t[i], strlen(t[i]), NULL, &spec[i], NULL) < 0)
				abort();
		ready = true;
	}
	for (int i = 0; i < 2; i++) {
		struct authz_env env = {&spec[i], i == 1, NULL};

		authz_decide(&env, (const char *)data, size, &v);
		if (strnlen(v.msg, sizeof(v.msg)) == sizeof(v.msg))
			abort();
	}
	return 0;
}
