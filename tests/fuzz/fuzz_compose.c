/* fuzz_compose.c - libFuzzer target for the workload spec parser and rules.
 *
 * Input: the bytes of a docker-compose.yml. Every problem is collected (the
 * callback keeps going), so every rule runs on whatever tree libyaml builds;
 * a spec that passes is freed through compose_spec_free(). Also feeds the
 * first line to the image reference parser. Nothing may read out of bounds,
 * leak, or take time beyond the document and node limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/compose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool count(void *ctx, const struct compose_problem *p)
{
	size_t *n = ctx;

	(*n)++;
	/* the reported strings must be readable */
	if (strlen(p->file) + strlen(p->key) + strlen(p->msg) == (size_t)-1)
		abort();
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = 0;
	struct compose_opts o = {.on_problem = count, .ctx = &n, .spec_dirfd = -1};
	struct compose_spec s;
	struct compose_ref ref;
	char line[512];
	const uint8_t *nl = memchr(data, '\n', size < sizeof(line) - 1 ? size : sizeof(line) - 1);
	size_t ll = nl ? (size_t)(nl - data) : (size < sizeof(line) - 1 ? size : sizeof(line) - 1);

	if (compose_parse("fuzz.yml", (const char *)data, size, &o, &s, NULL) == 0)
		compose_spec_free(&s);
	memcpy(line, data, ll);
	line[ll] = '\0';
	compose_ref_parse(line, true, &ref, NULL);
	compose_ref_parse(line, false, &ref, NULL);
	return 0;
}
