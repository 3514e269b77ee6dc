/* frame.h - length-prefixed frames over a file descriptor.
 *
 * The seal and health protocols carry each message as one frame: a 4-byte
 * little-endian payload length, then the payload (no magic, no version). A
 * connection (vsock, virtio-serial port, unix or tcp socket, pipe) may carry
 * several frames in sequence.
 *
 * The length comes from the peer, so the reader checks it against the
 * caller's maximum before allocating anything: a hostile or confused peer
 * cannot make us allocate more than that. Every call has one deadline for the
 * whole frame (header and payload), so a peer that trickles bytes cannot hold
 * a reader or writer longer than its timeout.
 *
 * Writing to a socket never raises SIGPIPE (MSG_NOSIGNAL); writing to a pipe
 * or a character device whose reader is gone still can, so programs that use
 * those should ignore SIGPIPE.
 */
#ifndef COCOON_FRAME_H
#define COCOON_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

/* Default maximum payload of one frame (the Cocoon value; not 16384). */
#define FRAME_MAX_DEFAULT 16536
/* Size of the length prefix. */
#define FRAME_HEADER_SIZE 4

/* Writes one frame: the 4-byte length of len, then the len bytes at p.
 * timeout_ms < 0 waits forever; otherwise the whole frame must be written
 * within it. Retries on EINTR, EAGAIN (non-blocking fds) and partial writes.
 * Returns 0, or -EMSGSIZE for len > UINT32_MAX, -ETIMEDOUT, -EPIPE when the
 * peer has gone, or another negative errno. */
int frame_write(int fd, const void *p, size_t len, int timeout_ms, struct cerr *err);

/* Reads one frame of at most max payload bytes. On success *out is a malloc'ed
 * buffer of *len payload bytes followed by one NUL byte (a text reply can be
 * used as a C string); the caller frees it. A zero-length frame is valid
 * (*out is then an empty string). len may be NULL.
 *
 * timeout_ms < 0 waits forever; otherwise the whole frame (header and
 * payload) must arrive within it. Errors:
 *   -ENODATA    the peer closed the connection before the first header byte
 *               (the normal end of a conversation);
 *   -EPIPE      the peer closed the connection in the middle of a frame;
 *   -EMSGSIZE   the announced length is over max (refused before allocating;
 *               the payload is left unread, so the connection is unusable);
 *   -ETIMEDOUT  the frame did not arrive in time;
 *   another negative errno from the system.
 * On failure *out is left unchanged. */
int frame_read(int fd, size_t max, int timeout_ms, uint8_t **out, size_t *len, struct cerr *err);

#endif
