/* luks.h - the encrypted persistent disk of a confidential VM (LUKS2 through
 * libcryptsetup).
 *
 * The host hands the VM a disk; the VM holds a 32-byte key sealed to its
 * measurements (seal-client, key name `disk_encryption`). luks_open() makes
 * the disk usable with that key, and never destroys data:
 *
 *   - a LUKS2 disk is opened with the key (checked first: data cipher AES-XTS,
 *     no keyslot with cipher_null, which would open with any key); a key that
 *     does not open it is an error (-EPERM) and nothing is written;
 *   - a blank disk (libblkid finds no filesystem, partition table or other
 *     signature, AND its first and last MiB are all zero) is formatted as
 *     LUKS2 first, unless the caller forbids it;
 *   - anything else (LUKS1, a filesystem, a partition table, random bytes,
 *     one non-zero byte in the first MiB) is an error (-EMEDIUMTYPE) and
 *     nothing is written.
 *
 * The decision is made on a read-only probe (luks_probe()). crypt_format() is
 * called only on a disk that probe found blank.
 *
 * The key is used directly as the LUKS passphrase (32 raw bytes). It is
 * already uniformly random, so the keyslot uses PBKDF2-SHA256 with 1000
 * iterations: stretching adds nothing to 256 bits of entropy (see
 * docs/storage.md).
 */
#ifndef COCOON_LUKS_H
#define COCOON_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

#define LUKS_KEY_LEN 32
/* How much of the start and of the end of a blank disk must be zero. */
#define LUKS_BLANK_CHECK_LEN (1u << 20)
/* The smallest disk we format: the LUKS2 header (16 MiB) plus room for data. */
#define LUKS_MIN_SIZE (32ull << 20)
/* Keyslot PBKDF for a random 32-byte key (see above). */
#define LUKS_PBKDF2_ITERATIONS 1000
#define LUKS_LABEL "cocoon-persist"

enum luks_kind {
	LUKS_KIND_BLANK = 1, /* no signature, first and last MiB zero */
	LUKS_KIND_LUKS2,
	LUKS_KIND_LUKS1,
	LUKS_KIND_OTHER, /* a signature, or non-zero bytes */
};

struct luks_probe {
	enum luks_kind kind;
	uint64_t size;    /* bytes */
	char detail[128]; /* blkid TYPE/PTTYPE, or where a non-zero byte is */
};

/* Looks at the device (or regular file) read-only: libblkid's safe probe of
 * superblocks and partition tables, then the first and last
 * LUKS_BLANK_CHECK_LEN bytes. Never writes. */
int luks_probe(const char *device, struct luks_probe *out, struct cerr *err);

const char *luks_kind_name(enum luks_kind kind);

enum luks_done {
	LUKS_DONE_OPENED = 1, /* an existing LUKS2 disk: the key opened it */
	LUKS_DONE_FORMATTED,  /* the disk was blank: formatted, then opened */
};

struct luks_open_opts {
	const char *device; /* block device or regular file */
	const char *name;   /* dm name (/dev/mapper/NAME); NULL: check the key only */
	const uint8_t *key; /* LUKS_KEY_LEN bytes */
	bool no_format;     /* a blank disk is an error instead of being formatted */
};

/* See the top of this file. On success *done says what happened. Errors:
 *   -EPERM        LUKS2, but the key does not open it (disk untouched);
 *   -EMEDIUMTYPE  not blank and not LUKS2, or blank with no_format (untouched);
 *   -EBADMSG      a LUKS2 header we refuse to use (cipher, keyslot) (untouched);
 *   -EEXIST       NAME is already active;
 *   another negative errno for system errors (device-mapper missing, I/O). */
int luks_open(const struct luks_open_opts *o, enum luks_done *done, struct cerr *err);

struct luks_status {
	bool active;
	char device[4096]; /* the backing device */
	char type[16];     /* "LUKS2" */
	char cipher[64];   /* "aes-xts-plain64" */
};

/* Whether /dev/mapper/NAME is an active crypt device, and what backs it. An
 * inactive name is not an error (active = false). */
int luks_status(const char *name, struct luks_status *st, struct cerr *err);

/* Deactivates /dev/mapper/NAME. -ENODEV when it is not active. */
int luks_close(const char *name, struct cerr *err);

/* 0 when NAME is a usable dm name ([A-Za-z0-9_.-], 1..64, not . or ..). */
int luks_name_check(const char *name, struct cerr *err);

#endif
