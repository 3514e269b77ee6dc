/* spechash.h - the Cocoon spec tree hash and the prepared spec copy.
 *
 * The hash of a spec directory is the SHA-256 git tree id that
 * `git init --object-format=sha256 && git add -A && git rm --cached <removals>
 * && git write-tree` would print for it, where the removals are the top-level
 * `runtime/`, `spec.tree` and `spec.meta` and every `.gitignore`. It is
 * computed here directly (blob and tree objects hashed in memory) instead of
 * through git: same result, no repository written, a fraction of the time.
 *
 * The walk refuses what the hash cannot stand for, naming the path: symlinks
 * and other non-regular files, any `.git` (nested repositories, in any case
 * spelling git itself refuses), files over 10 MiB outside `runtime/`, and a
 * `spec.tree` in the source that disagrees with the computed hash. Files that
 * .gitignore excludes are not looked at beyond their name, as git would not.
 *
 * The source is only ever read. spec_prepare() builds the prepared copy in a
 * temporary directory beside OUT and renames it into place at the end, so OUT
 * either does not exist or is complete.
 */
#ifndef COCOON_SPECHASH_H
#define COCOON_SPECHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/err.h"

#define SPEC_MAX_FILE_SIZE (10u * 1024 * 1024)
#define SPEC_HASH_HEX_LEN 64
#define SPEC_META_VERSION "1.1"

struct spec_stats {
	uint64_t files;         /* files in the hash */
	uint64_t bytes;         /* their total size */
	uint64_t dirs;          /* non-empty directories in the hash (the root included) */
	uint64_t ignored;       /* entries left out by .gitignore rules */
	uint64_t runtime_files; /* files under runtime/ (copied, not hashed) */
};

/* Called for each problem found. Returning false stops the walk at the first
 * one (what hash and prepare do); validate keeps going to list them all. */
typedef bool (*spec_problem_fn)(void *ctx, const char *path, const char *msg);

/* Called for each file that goes into the hash, in walk order, with git's
 * mode (0100644 or 0100755) and blob id: what `git ls-files -s` would list. */
typedef void (*spec_file_fn)(void *ctx, const char *path, unsigned mode, const uint8_t id[32]);

struct spec_walk_opts {
	spec_problem_fn on_problem; /* NULL: stop at the first problem */
	spec_file_fn on_file;       /* NULL: not told */
	void *ctx;
};

/* Computes the spec hash of dir into hex (65 bytes). On refusal the error
 * names the path and returns -EINVAL (content) or another -errno (I/O). */
int spec_hash_dir(const char *dir, char hex[SPEC_HASH_HEX_LEN + 1], struct spec_stats *stats,
                  const struct spec_walk_opts *opts, struct cerr *err);

/* Makes the prepared copy OUT of SRC (OUT must not exist): the hashed files,
 * runtime/ as it is, `spec.tree` (hash + "\n") and `spec.meta`. */
int spec_prepare(const char *src, const char *out, char hex[SPEC_HASH_HEX_LEN + 1],
                 struct spec_stats *stats, struct cerr *err);

/* git's object id of a blob with the given content (SHA-256 object format). */
int spec_blob_id(const void *data, size_t len, uint8_t id[32], struct cerr *err);

#endif
