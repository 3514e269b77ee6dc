/* fuzz_envfile.c - libFuzzer target for compose_env_parse(), the lines of a
 * spec's env_file that cocoon-workload turns into a container's Env.
 *
 * Any bytes give variables or a refusal with a message. Every variable given
 * out is NAME=VALUE with a non-empty name, lies inside the input, and holds
 * no NUL or newline; there are at most COMPOSE_ENV_MAX of them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const char *base;
	size_t size, n;
};

static bool check(void *ctx, const char *line, size_t len)
{
	struct seen *s = ctx;
	const char *eq = memchr(line, '=', len);

	if (line < s->base || line + len > s->base + s->size || !eq || eq == line ||
	    memchr(line, '\n', len) || memchr(line, '\0', len) || ++s->n > COMPOSE_ENV_MAX)
		abort();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {(const char *)data, size, 0};
	struct cerr err = CERR_INIT;

	if (compose_env_parse("fuzz.env", (const char *)data, size, check, &s, &err) < 0 &&
	    err.msg[0] == '\0')
		abort();
	return 0;
}
