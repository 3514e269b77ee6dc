/* util.h - small helpers every module uses: scope-bound cleanup, secure
 * wiping, hex, checked arithmetic. */
#ifndef COCOON_UTIL_H
#define COCOON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

void cleanup_freep(void *p);
void cleanup_closep(int *fd);
void cleanup_fclosep(FILE **f);

/* Resources released when the variable leaves scope, so early returns never leak. */
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Hands ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _tp = (p); \
		(p) = NULL;              \
		_tp;                     \
	})
#define TAKE_FD(fd)             \
	({                      \
		int _tf = (fd); \
		(fd) = -1;      \
		_tf;            \
	})

/* Wipes memory the compiler may not optimise away (OPENSSL_cleanse). */
void secure_wipe(void *p, size_t n);
/* Wipes then frees. */
void secure_free(void *p, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void hex_encode(const void *in, size_t n, char *out);
/* The value of one hex digit (either case), -1 for any other character. */
int hex_digit(char c);
/* Decodes exactly 2n hex digits (either case) into n bytes. -EINVAL otherwise. */
int hex_decode(const char *in, void *out, size_t n);

struct cerr;

/* Writes a whole buffer / reads a whole file; retried on EINTR. */
int write_all(int fd, const void *buf, size_t n);
/* Reads n bytes at offset off (pread, retried on EINTR and short reads).
 * *got is the number read: n, or fewer at the end of the file (return 0) or
 * before an error (return -errno). */
int pread_all(int fd, void *buf, size_t n, uint64_t off, size_t *got);
/* The size in bytes of an open block device or regular file; name is used in
 * messages. -ENOTBLK for anything else. */
int fd_size(int fd, const char *name, uint64_t *size, struct cerr *err);
/* Reads a whole regular file of at most max bytes; *out is malloc'ed and NUL-terminated. */
int read_file(const char *path, size_t max, char **out, size_t *len, struct cerr *err);
/* The same on an open descriptor; name is used in messages. */
int read_fd(int fd, size_t max, const char *name, char **out, size_t *len, struct cerr *err);
/* Reads a file until end of file, at most max bytes (-EFBIG past that): for
 * /proc and /sys files, whose size says 0 or 4096 whatever they hold. *out is
 * malloc'ed and NUL-terminated. */
int read_file_stream(const char *path, size_t max, char **out, size_t *len, struct cerr *err);
/* Writes a file atomically: a temporary beside it, fsync, rename. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
                      struct cerr *err);

/* Monotonic clock in milliseconds. */
int64_t now_ms(void);

/* The value of KEY=VALUE in a kernel command line (words separated by
 * blanks; no quoting, as the guest's command lines have none). Returns 1 and
 * the value in OUT, 0 when KEY is absent, -EINVAL when KEY is given twice or
 * as a bare word, -ENAMETOOLONG when the value does not fit. */
int cmdline_get(const char *cmdline, const char *key, char *out, size_t n, struct cerr *err);

#endif
