/* fuzz_gitignore.c - libFuzzer target for the .gitignore parser and matcher.
 *
 * Input: the text of a .gitignore, then a NUL byte, then paths separated by
 * newlines. Every path is matched as a file and as a directory through a
 * two-level stack (a top list and a "sub/" list), and each pattern is also
 * run through wildmatch() against each path directly. The matcher must never
 * read out of bounds or blow up on hostile patterns such as long runs of '*'.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/gitignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t textlen = nul ? (size_t)(nul - data) : size;
	struct gi_list top, sub;
	struct gi_list *stack[2] = {&top, &sub};
	char *paths;
	size_t plen = nul ? size - textlen - 1 : 0;

	if (gi_list_parse(&top, "", (const char *)data, textlen, NULL) < 0 ||
	    gi_list_parse(&sub, "sub/", (const char *)data, textlen, NULL) < 0) {
		gi_list_free(&top);
		gi_list_free(&sub);
		return 0;
	}
	paths = malloc(plen + 1);
	if (!paths)
		abort();
	memcpy(paths, nul ? nul + 1 : data, plen);
	paths[plen] = '\0';
	for (char *save = NULL, *p = strtok_r(paths, "\n", &save); p;
	     p = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(p);

		gi_stack_match(stack, 2, p, n, false);
		gi_stack_match(stack, 2, p, n, true);
		for (size_t i = 0; i < top.n && i < 8; i++) {
			wildmatch(top.v[i].pat, p, 0);
			wildmatch(top.v[i].pat, p, WM_PATHNAME);
		}
	}
	free(paths);
	gi_list_free(&top);
	gi_list_free(&sub);
	return 0;
}
