/* beneath.h - opening paths the host controls beneath a share, never
 * following a link.
 *
 * The shares (/data, and the spec share before it is copied) are written by
 * the host: any component of a path in them may be a symlink planted to lead
 * out (to /persist, /run/cocoon/keys, the engine's socket), a FIFO that blocks
 * a reader, a device node, or a file that changes while it is read. These
 * helpers resolve a path with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS) from the share's directory, so that no component is
 * followed and nothing above the share is reached, and refuse any node that
 * is not of the kinds asked for, naming the path.
 */
#ifndef COCOON_BENEATH_H
#define COCOON_BENEATH_H

#include <stdint.h>
#include <sys/stat.h>

struct cerr;

/* The kinds of node a caller accepts (a mask). */
#define BENEATH_DIR 1u
#define BENEATH_REG 2u

/* Opens REL (relative; "" or "." for the share itself) beneath ROOT (a
 * directory path, opened without following a link in its last component).
 * With only BENEATH_REG in KINDS the node is opened O_RDONLY (non-blocking,
 * no controlling tty) once an O_PATH look showed a regular file and the two
 * are the same inode; otherwise the descriptor is O_PATH. -ELOOP for a link
 * anywhere on the way, -EXDEV for a path that leaves ROOT, -EINVAL for a node
 * of another kind (FIFO, socket, device, a directory where a file was asked
 * for); err names ROOT/REL. *st is the node's stat (may be NULL). */
int beneath_open(const char *root, const char *rel, unsigned kinds, int *fd_out, struct stat *st,
                 struct cerr *err);

/* The same beneath an open directory ROOTFD (O_PATH is enough); ROOT names
 * it in messages. */
int beneath_openat(int rootfd, const char *root, const char *rel, unsigned kinds, int *fd_out,
                   struct stat *st, struct cerr *err);

/* Where PATH (absolute) lies in the share mounted at SHARE (e.g. "/data"):
 * the part after "SHARE/" ("" for SHARE itself), or NULL when it is not in
 * it. */
const char *beneath_rel(const char *share, const char *path);

/* After reading COPIED bytes from FD whose stat before the read was BEFORE:
 * -EBADMSG unless the file is still a regular file of the same size, inode and
 * modification time, and COPIED is that size (the host grew, shrank or
 * rewrote it while it was read). NAME is used in the message. */
int beneath_check_unchanged(int fd, const struct stat *before, uint64_t copied, const char *name,
                            struct cerr *err);

#endif
