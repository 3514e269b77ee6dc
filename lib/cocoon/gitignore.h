/* gitignore.h - git's .gitignore rules, matched the way git matches them.
 *
 * The spec hash must equal the tree id git would compute, so which files count
 * is decided by git's own rules, not an approximation: comments and blank
 * lines, trailing-space trimming with backslash escapes, `!` negation, a
 * trailing `/` for directories only, patterns without a slash matching the
 * base name at any depth, patterns with one anchored to the .gitignore's
 * directory, and wildmatch globbing (`*`, `?`, `[...]` with ranges, negation
 * and [:classes:], and `**` only where it stands between slashes).
 *
 * A `struct gi_list` holds the patterns of one .gitignore. The caller keeps
 * one list per directory level on a stack and asks the deepest first: the
 * first list that has an opinion decides (gi_stack_match()). Directories that
 * are excluded are not entered, so nothing below them can be re-included:
 * that is git's rule too.
 */
#ifndef COCOON_GITIGNORE_H
#define COCOON_GITIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "cocoon/err.h"

/* wildmatch flags and results */
#define WM_PATHNAME 1 /* '*' and '?' do not match '/'; '**' between slashes does */
enum { WM_MATCH = 0, WM_NOMATCH = 1, WM_ABORT_ALL = -1, WM_ABORT_TO_STARSTAR = -2 };

/* Matches NUL-terminated text against a NUL-terminated glob. */
int wildmatch(const char *pattern, const char *text, unsigned flags);

struct gi_pattern {
	char *pat; /* without the leading '!' and the trailing '/' */
	size_t len;
	size_t nowildcardlen; /* length of the leading part without glob characters */
	unsigned flags;
};

#define GI_NEGATIVE 1u  /* "!pattern": re-includes */
#define GI_MUSTBEDIR 2u /* "pattern/": directories only */
#define GI_NODIR 4u     /* no '/' inside: matched against the base name */

struct gi_list {
	char *base; /* directory of the .gitignore relative to the root, "" or "dir/sub/" */
	size_t baselen;
	struct gi_pattern *v;
	size_t n;
};

/* Parses the text of a .gitignore found in directory `base` ("" for the top,
 * else "a/b/" with the trailing slash). The list must be freed with
 * gi_list_free() even on failure. */
int gi_list_parse(struct gi_list *l, const char *base, const char *text, size_t len,
                  struct cerr *err);
void gi_list_free(struct gi_list *l);

enum gi_verdict { GI_UNDECIDED = -1, GI_INCLUDE = 0, GI_EXCLUDE = 1 };

/* The verdict of one list for `path` (relative to the root, no trailing slash):
 * the last pattern that matches decides. */
enum gi_verdict gi_list_match(const struct gi_list *l, const char *path, size_t pathlen,
                              bool is_dir);

/* The verdict of a stack of lists, lists[0] being the top-level .gitignore:
 * the deepest list with a matching pattern decides. NULL entries (levels
 * without a .gitignore) are skipped. */
enum gi_verdict gi_stack_match(struct gi_list *const *lists, size_t n, const char *path,
                               size_t pathlen, bool is_dir);

#endif
