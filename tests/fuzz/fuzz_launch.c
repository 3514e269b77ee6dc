/* fuzz_launch.c - libFuzzer target for what cocoon-launch reads from the
 * other side (host/cocoon-launch/answer.c): the guest's health answer and the
 * QMP stream.
 *
 * The whole input is one health answer, and its escaped excerpt; then the
 * same bytes are fed to a QMP stream in pieces whose sizes the first byte
 * picks (1 to 256 bytes), so lines split at every place. Nothing may crash;
 * the excerpt and the SHUTDOWN reason must be printable ASCII; a QMP stream
 * fed the same bytes in one piece must end in the same state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n == max)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qmp_stream pieces, whole;
	enum health_answer a = health_answer_parse(data, size);
	size_t step = size ? (size_t)data[0] + 1 : 1;
	char text[160];

	if (a != HEALTH_ANSWER_NOT_OURS && a != HEALTH_ANSWER_READY && a != HEALTH_ANSWER_BOOTING &&
	    a != HEALTH_ANSWER_FAILED)
		abort();
	answer_excerpt(data, size, text, sizeof(text));
	printable(text, sizeof(text));

	qmp_stream_init(&pieces);
	qmp_stream_init(&whole);
	for (size_t off = 0; off < size; off += step)
		qmp_stream_feed(&pieces, data + off, size - off < step ? size - off : step);
	qmp_stream_feed(&whole, data, size);
	printable(pieces.shutdown_reason, sizeof(pieces.shutdown_reason));
	if (pieces.events != whole.events || pieces.len != whole.len ||
	    pieces.overlong != whole.overlong ||
	    strcmp(pieces.shutdown_reason, whole.shutdown_reason))
		abort();
	return 0;
}
