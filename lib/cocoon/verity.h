/* verity.h - the dm-verity hash tree, built or checked on all cores.
 *
 * The tree is the one the kernel's dm-verity target reads and `veritysetup
 * format` writes (hash format 1, or 0 for Chrome OS): every data block is
 * hashed with the salt (format 1: salt then block; format 0: block then
 * salt); the digests, each padded with zeros to a power of two, fill hash
 * blocks (the last one of a level zero-padded); those blocks are hashed the
 * same way level by level until one block is left, whose hash is the root
 * hash. The levels are stored top-down: the level with one block first, the
 * level over the data last. One data block has no tree: the root hash is the
 * data block's hash.
 *
 * verity_run() hashes each level with a pool of threads (the data level is
 * nearly all the work) reading with pread() and writing with pwrite(), so a
 * data file of tens of GB is hashed at the speed of all cores, not one. The
 * superblock (veritysetup's on-disk header) is not written here: the program
 * has libcryptsetup write and read it.
 */
#ifndef COCOON_VERITY_H
#define COCOON_VERITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

/* dm-verity's limits (the kernel's and libcryptsetup's) */
#define VERITY_MAX_LEVELS 63
#define VERITY_MAX_SALT 256
#define VERITY_MAX_DIGEST 64
#define VERITY_MIN_BLOCK 512
#define VERITY_MAX_BLOCK (512u * 1024)

struct verity_params {
	const char *hash_name;    /* an OpenSSL digest name: "sha256" */
	uint32_t hash_type;       /* 1 (normal) or 0 (Chrome OS) */
	uint32_t data_block_size; /* a power of two, 512 to 512 KiB */
	uint32_t hash_block_size; /* likewise, and room for two digests */
	uint64_t data_blocks;     /* the number of data blocks, >= 1 */
	const uint8_t *salt;      /* NULL when salt_size is 0 */
	size_t salt_size;         /* 0 to VERITY_MAX_SALT */
	uint64_t tree_offset;     /* where the tree starts in the hash file, bytes */
};

struct verity_geometry {
	unsigned digest_size;                    /* bytes of one digest */
	unsigned digest_full;                    /* the digest's slot: the next power of two */
	unsigned per_block_bits;                 /* log2 of the digests one hash block holds */
	unsigned levels;                         /* 0 for a single data block */
	uint64_t level_start[VERITY_MAX_LEVELS]; /* first block of level i, in hash blocks
	                                          * from tree_offset (level 0 over the data) */
	uint64_t level_blocks[VERITY_MAX_LEVELS];
	uint64_t tree_blocks; /* the whole tree, in hash blocks */
};

/* Checks p and computes where each level lies. -EINVAL (the message names the
 * parameter) for a bad block size, salt, digest or data size. */
int verity_geometry(const struct verity_params *p, struct verity_geometry *g, struct cerr *err);

enum verity_mode {
	VERITY_WRITE, /* write the tree into hash_fd */
	VERITY_CHECK, /* compare the tree in hash_fd with the data; write nothing */
};

struct verity_result {
	uint8_t root[VERITY_MAX_DIGEST];
	unsigned root_len;
	/* VERITY_CHECK: the first difference found (levels are checked from the
	 * data up; within a level, the lowest block) */
	bool mismatch;
	unsigned bad_level; /* the tree level whose stored block differs */
	uint64_t bad_block; /* bad_level 0: the data block whose hash differs;
	                     * above: the block of level bad_level - 1 */
};

/* Called about every interval_ms from the calling thread with the bytes read
 * so far and the bytes there are to read (data plus tree). */
typedef void (*verity_progress_fn)(void *ctx, uint64_t done, uint64_t total);

/* Hashes the data_blocks blocks of data_fd (from offset 0) and the tree
 * level by level with `threads` threads (>= 1), in mode. res->root is the
 * root hash (in VERITY_CHECK computed from the stored top block, which must
 * itself match). Returns 0 (in VERITY_CHECK also when the tree differs:
 * res->mismatch says so), or -errno for I/O (a data file shorter than the
 * blocks it should hold: -EIO with its size named). */
int verity_run(const struct verity_params *p, int data_fd, int hash_fd, enum verity_mode mode,
               unsigned threads, verity_progress_fn progress, void *progress_ctx,
               unsigned interval_ms, struct verity_result *res, struct cerr *err);

#endif
