/* fuzz_frame.c - libFuzzer target for frame_read: whatever bytes a peer
 * sends, reading frames from them must end in a frame or a clean error, never
 * read out of bounds, leak, or allocate past the maximum.
 *
 * The input is put in a memfd (a pipe would cap it at 64 KiB) and read as a
 * stream of frames until the first error; each frame's payload must be
 * NUL-terminated and no longer than the maximum.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cocoon/frame.h"
#include "cocoon/util.h"

/* Small, so that both sides of the limit are reached with small inputs. */
#define FUZZ_FRAME_MAX 1024

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_close_ int fd = -1;
	struct cerr err = CERR_INIT;

	fd = memfd_create("fuzz_frame", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (write_all(fd, data, size) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		abort();

	for (;;) {
		uint8_t *out = NULL;
		size_t len = SIZE_MAX;
		int r = frame_read(fd, FUZZ_FRAME_MAX, 1000, &out, &len, &err);

		if (r < 0) {
			/* only the documented ways for a stream to end */
			if (r != -ENODATA && r != -EPIPE && r != -EMSGSIZE)
				abort();
			if (out != NULL || err.msg[0] == '\0')
				abort();
			break;
		}
		if (!out || len > FUZZ_FRAME_MAX || out[len] != '\0')
			abort();
		free(out);
	}
	return 0;
}
