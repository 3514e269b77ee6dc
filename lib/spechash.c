/* spechash.c - spec tree hash (git's SHA-256 tree id) and the prepared copy;
 * see cocoon/spechash.h for the rules.
 *
 * One walk does both jobs: it decides what git would take, hashes each blob
 * while streaming it (and, for prepare, writes the copy from the same read),
 * and builds each tree object from its sorted entries on the way back up.
 * Every directory and file is opened relative to its parent's descriptor with
 * O_NOFOLLOW and checked to be the inode that lstat saw, so a tree that
 * changes under the walk cannot smuggle a symlink in.
 */
#include "cocoon/spechash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/buf.h"
#include "cocoon/crypto.h"
#include "cocoon/gitignore.h"
#include "cocoon/util.h"
#include "cocoon-config.h"

#define COCOON_SPEC_TOOL_VERSION COCOON_VERSION

#define COPY_CHUNK (256 * 1024)
#define GITIGNORE_MAX (1024 * 1024)

struct walker {
	char path[PATH_MAX]; /* path of the current entry relative to the root */
	size_t pathlen;
	struct gi_list **lists; /* one per directory level, NULL where no .gitignore */
	size_t nlists, caplists;
	struct sha256_ctx *md;
	uint8_t *chunk;
	struct spec_stats *stats;
	const struct spec_walk_opts *opts;
	unsigned problems;
	struct cerr *err;
	bool copy; /* prepare: write what is hashed below outfd */
};

struct entry {
	char *name;
	size_t namelen;
	uint8_t id[32];
	bool is_dir;
	bool exec;
};

/* Reports a problem with the spec at w->path (or path). Returns 0 to go on
 * (validate collects them all) or -EINVAL to stop. */
static int problem(struct walker *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int problem(struct walker *w, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->problems++;
	if (w->opts && w->opts->on_problem && w->opts->on_problem(w->opts->ctx, path, msg))
		return 0;
	return cerr_setx(w->err, EINVAL, "'%s': %s", path, msg);
}

/* Names git refuses to add: ".git" in any case, with trailing dots or spaces,
 * with an NTFS stream suffix, or its 8.3 short name "git~1". */
static bool is_git_name(const char *name)
{
	const char *rest;

	if (!strncasecmp(name, ".git", 4))
		rest = name + 4;
	else if (!strncasecmp(name, "git~1", 5))
		rest = name + 5;
	else
		return false;
	if (*rest == ':')
		return true;
	return rest[strspn(rest, " .")] == '\0';
}

static int hash_init(struct walker *w, const char *type, uint64_t size)
{
	char hdr[64];
	int n = snprintf(hdr, sizeof(hdr), "%s %llu", type, (unsigned long long)size);
	int r = crypto_sha256_init(w->md, w->err);

	return r < 0 ? r : crypto_sha256_update(w->md, hdr, (size_t)n + 1, w->err);
}

static int hash_final(struct walker *w, uint8_t id[32])
{
	return crypto_sha256_final(w->md, id, w->err);
}

static int path_push(struct walker *w, const char *name, size_t *saved)
{
	size_t n = strlen(name);

	*saved = w->pathlen;
	if (w->pathlen + n + 2 > sizeof(w->path))
		return problem(w, w->path, "path too long");
	if (w->pathlen)
		w->path[w->pathlen++] = '/';
	memcpy(w->path + w->pathlen, name, n + 1);
	w->pathlen += n;
	return 1;
}

static void path_pop(struct walker *w, size_t saved)
{
	w->pathlen = saved;
	w->path[saved] = '\0';
}

/* Streams one regular file into the blob hash and, when outfd >= 0, into the copy. */
static int hash_file(struct walker *w, int dfd, const char *name, const struct stat *st, int outdfd,
                     uint8_t id[32])
{
	_cleanup_close_ int fd = -1, ofd = -1;
	struct stat st2;
	uint64_t left;
	int r;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return cerr_set(w->err, errno, "open '%s'", w->path);
	if (fstat(fd, &st2) < 0)
		return cerr_set(w->err, errno, "stat '%s'", w->path);
	if (st2.st_ino != st->st_ino || st2.st_dev != st->st_dev || !S_ISREG(st2.st_mode) ||
	    st2.st_size != st->st_size)
		return cerr_setx(w->err, EAGAIN, "'%s' changed while the spec was read; try again",
		                 w->path);
	if (outdfd >= 0) {
		ofd = openat(outdfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		             (st->st_mode & S_IXUSR) ? 0755 : 0644);
		if (ofd < 0)
			return cerr_set(w->err, errno, "create copy of '%s'", w->path);
	}
	r = hash_init(w, "blob", (uint64_t)st->st_size);
	if (r < 0)
		return r;
	for (left = (uint64_t)st->st_size; left > 0;) {
		size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
		ssize_t n = read(fd, w->chunk, want);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cerr_set(w->err, errno, "read '%s'", w->path);
		if (n == 0)
			return cerr_setx(w->err, EAGAIN,
			                 "'%s' shrank while the spec was read; try again", w->path);
		r = crypto_sha256_update(w->md, w->chunk, (size_t)n, w->err);
		if (r < 0)
			return r;
		if (ofd >= 0 && (r = write_all(ofd, w->chunk, (size_t)n)) < 0)
			return cerr_set(w->err, -r, "write copy of '%s'", w->path);
		left -= (uint64_t)n;
	}
	return hash_final(w, id);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	size_t n = x->namelen < y->namelen ? x->namelen : y->namelen;
	int c = memcmp(x->name, y->name, n);
	unsigned char cx, cy;

	if (c)
		return c;
	/* git orders a directory as if its name ended in '/' */
	cx = x->namelen > n ? (unsigned char)x->name[n] : (x->is_dir ? '/' : 0);
	cy = y->namelen > n ? (unsigned char)y->name[n] : (y->is_dir ? '/' : 0);
	return (cx > cy) - (cx < cy);
}

static int tree_id(struct walker *w, struct entry *ents, size_t n, uint8_t id[32])
{
	struct wbuf tb;
	int r;

	if (n)
		qsort(ents, n, sizeof(*ents), cmp_entry);
	wbuf_init(&tb, 0);
	for (size_t i = 0; i < n; i++) {
		const char *mode = ents[i].is_dir ? "40000" : ents[i].exec ? "100755" : "100644";

		wbuf_printf(&tb, "%s ", mode);
		wbuf_put(&tb, ents[i].name, ents[i].namelen + 1);
		wbuf_put(&tb, ents[i].id, 32);
	}
	r = wbuf_status(&tb);
	if (r < 0) {
		wbuf_free(&tb);
		return cerr_set(w->err, -r, "building tree object for '%s'", w->path);
	}
	r = hash_init(w, "tree", tb.len);
	if (r == 0)
		r = crypto_sha256_update(w->md, tb.p, tb.len, w->err);
	if (r == 0)
		r = hash_final(w, id);
	wbuf_free(&tb);
	return r;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Lists a directory's names (without "." and ".."). */
static int list_dir(struct walker *w, int dfd, char ***out, size_t *count)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int fd = dup(dfd);

	if (fd < 0)
		return cerr_set(w->err, errno, "dup for '%s'", w->path);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return cerr_set(w->err, errno, "opendir '%s'", w->pathlen ? w->path : ".");
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 32) * sizeof(*names));
			if (!nn)
				goto oom;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			goto oom;
		n++;
	}
	if (errno) {
		int e = errno;
		closedir(d);
		free_names(names, n);
		return cerr_set(w->err, e, "readdir '%s'", w->path);
	}
	closedir(d);
	*out = names;
	*count = n;
	return 0;
oom:
	closedir(d);
	free_names(names, n);
	return cerr_set(w->err, ENOMEM, "listing '%s'", w->path);
}

static int push_list(struct walker *w, struct gi_list *l)
{
	if (w->nlists == w->caplists) {
		size_t cap = w->caplists ? w->caplists * 2 : 16;
		struct gi_list **nl = realloc(w->lists, cap * sizeof(*nl));

		if (!nl)
			return cerr_set(w->err, ENOMEM, "walking '%s'", w->path);
		w->lists = nl;
		w->caplists = cap;
	}
	w->lists[w->nlists++] = l;
	return 0;
}

/* Reads dir's .gitignore (if any) into a new list. *out stays NULL without one. */
static int load_gitignore(struct walker *w, int dfd, struct gi_list **out)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	char base[PATH_MAX + 1];
	size_t saved, len = 0;
	struct stat st;
	struct gi_list *l;
	int r;

	*out = NULL;
	if (fstatat(dfd, ".gitignore", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0
		                       : cerr_set(w->err, errno, "stat '%s/.gitignore'", w->path);
	r = path_push(w, ".gitignore", &saved);
	if (r <= 0)
		return r;
	if (!S_ISREG(st.st_mode)) {
		r = problem(w, w->path, "a .gitignore must be a regular file");
		path_pop(w, saved);
		return r;
	}
	fd = openat(dfd, ".gitignore", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = cerr_set(w->err, errno, "open '%s'", w->path);
		path_pop(w, saved);
		return r;
	}
	path_pop(w, saved);
	if (st.st_size > GITIGNORE_MAX)
		return problem(w, w->path, ".gitignore larger than %d bytes", GITIGNORE_MAX);
	r = read_fd(fd, GITIGNORE_MAX, w->path, &text, &len, w->err);
	if (r < 0)
		return r;
	snprintf(base, sizeof(base), "%s%s", w->path, w->pathlen ? "/" : "");
	l = calloc(1, sizeof(*l));
	if (!l)
		return cerr_set(w->err, ENOMEM, "reading '%s/.gitignore'", w->path);
	r = gi_list_parse(l, base, text, len, w->err);
	if (r < 0) {
		gi_list_free(l);
		free(l);
		return r;
	}
	*out = l;
	return 0;
}

/* What the reference procedure removes from the top of the tree. */
static bool is_top_removed(const char *name)
{
	return !strcmp(name, "runtime") || !strcmp(name, "spec.tree") || !strcmp(name, "spec.meta");
}

static int walk_dir(struct walker *w, int dfd, int outdfd, uint8_t id[32], bool *nonempty);

static int walk_entry(struct walker *w, int dfd, int outdfd, const char *name, struct entry *e,
                      bool *take)
{
	struct stat st;
	int r;

	*take = false;
	memset(e, 0, sizeof(*e));
	if (is_git_name(name))
		return problem(w, w->path,
		               "a nested git repository or .git entry is not allowed in a spec; "
		               "remove it");
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return cerr_set(w->err, errno, "stat '%s'", w->path);
	if (gi_stack_match(w->lists, w->nlists, w->path, w->pathlen, S_ISDIR(st.st_mode)) ==
	    GI_EXCLUDE) {
		w->stats->ignored++;
		return 0;
	}
	if (S_ISLNK(st.st_mode))
		return problem(w, w->path,
		               "symbolic links are not allowed in a spec; replace it with a copy "
		               "of its target or list it in .gitignore");
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int sub = -1, outsub = -1;

		sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			return cerr_set(w->err, errno, "open directory '%s'", w->path);
		if (outdfd >= 0) {
			if (mkdirat(outdfd, name, 0755) < 0)
				return cerr_set(w->err, errno, "create copy of '%s'", w->path);
			outsub =
			    openat(outdfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (outsub < 0)
				return cerr_set(w->err, errno, "open copy of '%s'", w->path);
		}
		r = walk_dir(w, sub, outsub, e->id, take);
		if (r < 0)
			return r;
		if (!*take && outdfd >= 0)
			unlinkat(outdfd, name, AT_REMOVEDIR); /* git keeps no empty trees */
		e->is_dir = true;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return problem(w, w->path, "only regular files and directories may be in a spec");
	if ((uint64_t)st.st_size > SPEC_MAX_FILE_SIZE)
		return problem(
		    w, w->path,
		    "file is %lld bytes, over the 10 MiB limit for spec files; put large "
		    "data in runtime/ or on the data share",
		    (long long)st.st_size);
	r = hash_file(w, dfd, name, &st, outdfd, e->id);
	if (r < 0)
		return r;
	e->exec = (st.st_mode & S_IXUSR) != 0;
	if (w->opts && w->opts->on_file)
		w->opts->on_file(w->opts->ctx, w->path, e->exec ? 0100755 : 0100644, e->id);
	w->stats->files++;
	w->stats->bytes += (uint64_t)st.st_size;
	*take = true;
	return 0;
}

static int walk_dir(struct walker *w, int dfd, int outdfd, uint8_t id[32], bool *nonempty)
{
	struct gi_list *gl = NULL;
	struct entry *ents = NULL;
	char **names = NULL;
	size_t nnames = 0, nents = 0;
	int r;

	*nonempty = false;
	r = list_dir(w, dfd, &names, &nnames);
	if (r < 0)
		return r;
	r = load_gitignore(w, dfd, &gl);
	if (r < 0)
		goto out;
	r = push_list(w, gl);
	if (r < 0) {
		if (gl) {
			gi_list_free(gl);
			free(gl);
		}
		goto out;
	}
	ents = calloc(nnames ? nnames : 1, sizeof(*ents));
	if (!ents) {
		r = cerr_set(w->err, ENOMEM, "walking '%s'", w->path);
		goto pop;
	}
	for (size_t i = 0; i < nnames; i++) {
		struct entry *e = &ents[nents];
		size_t saved;
		bool take;

		/* .gitignore files are read above and never part of the hash */
		if (!strcmp(names[i], ".gitignore") || (w->nlists == 1 && is_top_removed(names[i])))
			continue;
		r = path_push(w, names[i], &saved);
		if (r <= 0)
			goto pop;
		r = walk_entry(w, dfd, outdfd, names[i], e, &take);
		path_pop(w, saved);
		if (r < 0)
			goto pop;
		if (take) {
			e->name = names[i];
			e->namelen = strlen(names[i]);
			names[i] = NULL;
			nents++;
		}
	}
	if (nents) {
		r = tree_id(w, ents, nents, id);
		if (r < 0)
			goto pop;
		w->stats->dirs++;
		*nonempty = true;
	}
pop:
	w->nlists--;
	if (gl) {
		gi_list_free(gl);
		free(gl);
	}
out:
	for (size_t i = 0; i < nents; i++)
		free(ents[i].name);
	free(ents);
	free_names(names, nnames);
	return r;
}

static int walker_init(struct walker *w, struct spec_stats *stats,
                       const struct spec_walk_opts *opts, struct cerr *err)
{
	memset(w, 0, sizeof(*w));
	memset(stats, 0, sizeof(*stats));
	w->stats = stats;
	w->opts = opts;
	w->err = err;
	w->chunk = malloc(COPY_CHUNK);
	if (!w->chunk)
		return cerr_set(err, ENOMEM, "walking the spec");
	return crypto_sha256_new(&w->md, err);
}

static void walker_done(struct walker *w)
{
	crypto_sha256_free(w->md);
	free(w->chunk);
	free(w->lists);
}

/* A spec.tree in the source must agree with what its files hash to. */
static int check_spec_tree(struct walker *w, int rootfd, const char *hex)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t len;
	int r;

	if (fstatat(rootfd, "spec.tree", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cerr_set(w->err, errno, "stat 'spec.tree'");
	if (!S_ISREG(st.st_mode))
		return problem(w, "spec.tree", "must be a regular file");
	fd = openat(rootfd, "spec.tree", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cerr_set(w->err, errno, "open 'spec.tree'");
	r = read_fd(fd, 4096, "spec.tree", &text, &len, w->err);
	if (r < 0)
		return r;
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (len != SPEC_HASH_HEX_LEN || strncasecmp(text, hex, SPEC_HASH_HEX_LEN))
		return problem(w, "spec.tree",
		               "says '%.80s' but the spec hashes to %s; the files changed since it "
		               "was written: remove it or restore the files",
		               text, hex);
	return 0;
}

static int hash_root(struct walker *w, int rootfd, int outfd, char hex[SPEC_HASH_HEX_LEN + 1])
{
	uint8_t id[32];
	bool nonempty;
	int r;

	r = walk_dir(w, rootfd, outfd, id, &nonempty);
	if (r < 0)
		return r;
	if (!nonempty) {
		/* the empty tree: git writes it for an empty index */
		r = tree_id(w, NULL, 0, id);
		if (r < 0)
			return r;
	}
	hex_encode(id, 32, hex);
	r = check_spec_tree(w, rootfd, hex);
	if (r < 0)
		return r;
	if (w->problems)
		return cerr_setx(w->err, EINVAL, "the spec has %u problem%s", w->problems,
		                 w->problems == 1 ? "" : "s");
	return 0;
}

static int open_root(const char *dir, struct cerr *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return cerr_set(err, errno, "open spec directory '%s'", dir);
	return fd;
}

int spec_hash_dir(const char *dir, char hex[SPEC_HASH_HEX_LEN + 1], struct spec_stats *stats,
                  const struct spec_walk_opts *opts, struct cerr *err)
{
	struct spec_stats local;
	struct walker w;
	_cleanup_close_ int rootfd = -1;
	int r;

	rootfd = open_root(dir, err);
	if (rootfd < 0)
		return rootfd;
	r = walker_init(&w, stats ? stats : &local, opts, err);
	if (r == 0)
		r = hash_root(&w, rootfd, -1, hex);
	walker_done(&w);
	return r;
}

int spec_blob_id(const void *data, size_t len, uint8_t id[32], struct cerr *err)
{
	struct spec_stats st;
	struct walker w;
	int r = walker_init(&w, &st, NULL, err);

	if (r == 0)
		r = hash_init(&w, "blob", len);
	if (r == 0)
		r = crypto_sha256_update(w.md, data, len, err);
	if (r == 0)
		r = crypto_sha256_final(w.md, id, err);
	walker_done(&w);
	return r;
}

/* ---- prepare --------------------------------------------------------------- */

/* Copies runtime/ as it is (regular files and directories only). */
static int copy_tree(struct walker *w, int sfd, int dfd)
{
	char **names = NULL;
	size_t n = 0;
	int r = list_dir(w, sfd, &names, &n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		struct stat st;
		size_t saved;

		r = path_push(w, names[i], &saved);
		if (r <= 0)
			break;
		r = 0;
		if (fstatat(sfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = cerr_set(w->err, errno, "stat '%s'", w->path);
		} else if (S_ISDIR(st.st_mode)) {
			int s2 =
			    openat(sfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int d2 = -1;

			if (s2 < 0)
				r = cerr_set(w->err, errno, "open '%s'", w->path);
			else if (mkdirat(dfd, names[i], 0755) < 0 ||
			         (d2 = openat(dfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
			             0)
				r = cerr_set(w->err, errno, "create copy of '%s'", w->path);
			else
				r = copy_tree(w, s2, d2);
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else if (S_ISREG(st.st_mode)) {
			uint8_t id[32];

			r = hash_file(w, sfd, names[i], &st, dfd, id);
			if (r == 0 && fchmodat(dfd, names[i], st.st_mode & 0777, 0) < 0)
				r = cerr_set(w->err, errno, "chmod copy of '%s'", w->path);
			w->stats->runtime_files++;
		} else {
			r = problem(w, w->path,
			            "only regular files and directories may be in runtime/ "
			            "(symbolic links and devices are refused)");
		}
		path_pop(w, saved);
	}
	free_names(names, n);
	return r;
}

static int copy_runtime(struct walker *w, int rootfd, int outfd)
{
	struct stat st;
	size_t saved;
	int r;

	if (fstatat(rootfd, "runtime", &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cerr_set(w->err, errno, "stat 'runtime'");
	r = path_push(w, "runtime", &saved);
	if (r <= 0)
		return r;
	if (S_ISDIR(st.st_mode)) {
		_cleanup_close_ int s = -1, d = -1;

		s = openat(rootfd, "runtime", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (s < 0)
			r = cerr_set(w->err, errno, "open 'runtime'");
		else if (mkdirat(outfd, "runtime", 0755) < 0 ||
		         (d = openat(outfd, "runtime", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			r = cerr_set(w->err, errno, "create copy of 'runtime'");
		else
			r = copy_tree(w, s, d);
	} else {
		r = problem(w, "runtime", "must be a directory");
	}
	path_pop(w, saved);
	return r;
}

static int write_at(int dfd, const char *name, const char *text, struct cerr *err)
{
	_cleanup_close_ int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		return cerr_set(err, errno, "create '%s'", name);
	r = write_all(fd, text, strlen(text));
	if (r < 0)
		return cerr_set(err, -r, "write '%s'", name);
	return 0;
}

/* Removes a directory tree this module created (never follows symlinks). */
static void remove_tree_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd >= 0 && (d = fdopendir(fd))) {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlinkat(fd, de->d_name, 0) < 0 && (errno == EISDIR || errno == EPERM))
				remove_tree_at(fd, de->d_name);
		}
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(dfd, name, AT_REMOVEDIR);
}

int spec_prepare(const char *src, const char *out, char hex[SPEC_HASH_HEX_LEN + 1],
                 struct spec_stats *stats, struct cerr *err)
{
	struct spec_stats local;
	struct walker w;
	_cleanup_close_ int rootfd = -1, outfd = -1, parentfd = -1;
	_cleanup_free_ char *outdup = NULL, *base = NULL;
	char tmpname[NAME_MAX + 1], meta[512];
	const char *parent, *slash;
	struct stat st;
	int r;

	if (lstat(out, &st) == 0)
		return cerr_setx(err, EEXIST,
		                 "'%s' already exists; cocoon-spec never overwrites: choose a new "
		                 "output path or remove it",
		                 out);
	rootfd = open_root(src, err);
	if (rootfd < 0)
		return rootfd;

	outdup = strdup(out);
	if (!outdup)
		return cerr_set(err, ENOMEM, "preparing '%s'", out);
	while (strlen(outdup) > 1 && outdup[strlen(outdup) - 1] == '/')
		outdup[strlen(outdup) - 1] = '\0';
	slash = strrchr(outdup, '/');
	base = strdup(slash ? slash + 1 : outdup);
	if (!base)
		return cerr_set(err, ENOMEM, "preparing '%s'", out);
	if (slash == outdup)
		parent = "/";
	else if (slash) {
		outdup[slash - outdup] = '\0';
		parent = outdup;
	} else
		parent = ".";
	parentfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parentfd < 0)
		return cerr_set(err, errno, "open '%s' (parent of the output)", parent);
	/* build beside OUT, rename into place at the end */
	snprintf(tmpname, sizeof(tmpname), ".%.200s.partial.%ld", base, (long)getpid());
	if (mkdirat(parentfd, tmpname, 0755) < 0)
		return cerr_set(err, errno, "create '%s/%s'", parent, tmpname);
	outfd = openat(parentfd, tmpname, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outfd < 0) {
		r = cerr_set(err, errno, "open '%s/%s'", parent, tmpname);
		goto fail;
	}

	r = walker_init(&w, stats ? stats : &local, NULL, err);
	if (r == 0)
		r = hash_root(&w, rootfd, outfd, hex);
	if (r == 0)
		r = copy_runtime(&w, rootfd, outfd);
	walker_done(&w);
	if (r < 0)
		goto fail;

	snprintf(meta, sizeof(meta),
	         "# written by cocoon-spec " COCOON_SPEC_TOOL_VERSION "\n"
	         "format=%s\nhash=sha256-git-tree\nspec_tree=%s\nfiles=%llu\nbytes=%llu\n"
	         "runtime_files=%llu\n",
	         SPEC_META_VERSION, hex, (unsigned long long)w.stats->files,
	         (unsigned long long)w.stats->bytes, (unsigned long long)w.stats->runtime_files);
	{
		char line[SPEC_HASH_HEX_LEN + 2];

		snprintf(line, sizeof(line), "%s\n", hex);
		r = write_at(outfd, "spec.tree", line, err);
	}
	if (r == 0)
		r = write_at(outfd, "spec.meta", meta, err);
	if (r == 0 && syncfs(outfd) < 0)
		r = cerr_set(err, errno, "sync '%s'", out);
	if (r < 0)
		goto fail;
	/* RENAME_NOREPLACE: if OUT appeared meanwhile, it is left alone */
	if (renameat2(parentfd, tmpname, parentfd, base, RENAME_NOREPLACE) < 0) {
		r = cerr_set(err, errno, "rename the prepared copy to '%s'", out);
		goto fail;
	}
	return 0;
fail:
	remove_tree_at(parentfd, tmpname);
	return r;
}
