/* fuzz_authz.c - libFuzzer target for cocoon-authz's request parsing.
 *
 * Input: an AuthZReq JSON as dockerd would send it (the plugin socket is
 * root's, but the request carries whatever a client put in its URI and body).
 * Decided against a fixed spec with exec denied and the load window closed;
 * the verdict must always come back with a NUL-terminated message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct compose_spec spec;
static bool ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char t[] = "services:\n  web:\n    image: 127.0.0.1:5000/demo/hello@sha256:"
	                        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	                        "x-cocoon:\n  registries: [\"127.0.0.1:5000\"]\n";
	struct authz_env env = {&spec, false, NULL};
	struct authz_verdict v;

	if (!ready) {
		if (compose_parse("t.yml", t, sizeof(t) - 1, NULL, &spec, NULL) < 0)
			abort();
		ready = true;
	}
	authz_decide(&env, (const char *)data, size, &v);
	if (strnlen(v.msg, sizeof(v.msg)) == sizeof(v.msg))
		abort();
	return 0;
}
