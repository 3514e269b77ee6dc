/* specopy.c - the defensive copy of the spec off the host's share.
 *
 * The share is host-controlled and may change while we read it, so the copy
 * (in guest memory, /spec on tmpfs) is what gets hashed and used, never the
 * share itself. Every entry is opened relative to its directory with
 * O_NOFOLLOW and checked with fstat() on the opened descriptor: a symlink, a
 * device, a FIFO or a socket stops the copy, naming the path. Files are read
 * to their end within SPEC_MAX_FILE_SIZE whatever their size claimed, and the
 * whole tree is bounded in files, directories, bytes and depth, each bound
 * checked before anything is made for the entry that passes it (so a share
 * of a million empty directories stops at the bound, not when /spec runs out
 * of inodes). A `.gitignore` is refused
 * too: a prepared spec (cocoon-spec prepare) has none, and files a
 * .gitignore hides would sit in /spec without being measured.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cocoon/spechash.h"
#include "cocoon/util.h"
#include "init.h"

struct copy_state {
	uint64_t files, dirs, bytes;
};

static void cleanup_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))

/* a DIR stream over a dup of fd, from its first entry (the offset is shared
 * with every other dup of fd); NULL with errno set */
static DIR *dir_stream(int fd)
{
	int dupfd = dup(fd);
	DIR *d;

	if (dupfd < 0)
		return NULL;
	d = fdopendir(dupfd);
	if (!d) {
		int e = errno;

		close(dupfd);
		errno = e;
		return NULL;
	}
	rewinddir(d);
	return d;
}

static int copy_file(int sfd, const char *rel, int ddir, const char *name, struct copy_state *st,
                     struct cerr *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int dfd = -1;
	struct stat sb;
	size_t len;
	int r;

	if (fstat(sfd, &sb) < 0)
		return cerr_set(err, errno, "spec share: stat '%s'", rel);
	if ((r = read_fd(sfd, SPEC_MAX_FILE_SIZE, rel, &buf, &len, err)) < 0)
		return cerr_prefix(err, r, "spec share: '%s' (at most %u bytes per file)", rel,
		                   SPEC_MAX_FILE_SIZE);
	st->bytes += len;
	if (++st->files > INIT_SPEC_MAX_FILES || st->bytes > INIT_SPEC_MAX_TOTAL)
		return cerr_setx(err, EFBIG, "spec share: more than %u files or %llu bytes at '%s'",
		                 INIT_SPEC_MAX_FILES, (unsigned long long)INIT_SPEC_MAX_TOTAL, rel);
	dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	             (sb.st_mode & 0100) ? 0755 : 0644);
	if (dfd < 0)
		return cerr_set(err, errno, "/spec: creating '%s'", rel);
	if (write_all(dfd, buf, len) < 0)
		return cerr_set(err, errno, "/spec: writing '%s'", rel);
	return 0;
}

static int copy_dir(int sdir, const char *rel, int ddir, int depth, struct copy_state *st,
                    struct cerr *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;

	if (depth > INIT_SPEC_MAX_DEPTH)
		return cerr_setx(err, ELOOP, "spec share: '%s' is nested deeper than %d levels",
		                 rel, INIT_SPEC_MAX_DEPTH);
	if (!(d = dir_stream(sdir)))
		return cerr_set(err, errno, "spec share: reading '%s'", rel);
	while ((errno = 0, e = readdir(d))) {
		char path[PATH_MAX];
		_cleanup_close_ int fd = -1;
		struct stat sb;
		int r;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "",
		                     e->d_name) >= sizeof(path))
			return cerr_setx(err, ENAMETOOLONG, "spec share: path too long in '%s'",
			                 rel);
		if (!strcmp(e->d_name, ".gitignore"))
			return cerr_setx(err, EINVAL,
			                 "spec share: '%s': a prepared spec has no .gitignore "
			                 "(share the output of cocoon-spec prepare)",
			                 path);
		fd = openat(sdir, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			if (errno == ELOOP)
				return cerr_setx(err, ELOOP,
				                 "spec share: '%s' is a symlink; the spec may hold "
				                 "only files and directories",
				                 path);
			return cerr_set(err, errno, "spec share: opening '%s'", path);
		}
		if (fstat(fd, &sb) < 0)
			return cerr_set(err, errno, "spec share: stat '%s'", path);
		if (S_ISDIR(sb.st_mode)) {
			_cleanup_close_ int sub = -1;

			if (++st->dirs > INIT_SPEC_MAX_DIRS)
				return cerr_setx(
				    err, EFBIG,
				    "spec share: more than %u directories at '%s' (a "
				    "prepared spec has a few; large data belongs on the "
				    "data share)",
				    INIT_SPEC_MAX_DIRS, path);
			if (mkdirat(ddir, e->d_name, 0755) < 0)
				return cerr_set(err, errno, "/spec: creating '%s'", path);
			sub = openat(ddir, e->d_name,
			             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				return cerr_set(err, errno, "/spec: opening '%s'", path);
			r = copy_dir(fd, path, sub, depth + 1, st, err);
		} else if (S_ISREG(sb.st_mode)) {
			r = copy_file(fd, path, ddir, e->d_name, st, err);
		} else {
			return cerr_setx(err, EINVAL,
			                 "spec share: '%s' is not a regular file or directory",
			                 path);
		}
		if (r < 0)
			return r;
	}
	if (errno)
		return cerr_set(err, errno, "spec share: reading '%s'", rel);
	return 0;
}

/* empties the directory dfd (what a failed copy made: directories and
 * regular files only, at most INIT_SPEC_MAX_DEPTH deep) */
static void empty_dir(int dfd, int depth)
{
	_cleanup_closedir_ DIR *d = dir_stream(dfd);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (unlinkat(dfd, e->d_name, 0) == 0 || errno != EISDIR ||
		    depth > INIT_SPEC_MAX_DEPTH)
			continue;
		{
			_cleanup_close_ int sub =
			    openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				empty_dir(sub, depth + 1);
		}
		unlinkat(dfd, e->d_name, AT_REMOVEDIR);
	}
}

int init_copy_spec(const char *src, const char *dst, struct cerr *err)
{
	_cleanup_close_ int sfd = -1, dfd = -1;
	struct copy_state st = {0};
	int r;

	sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return cerr_set(err, errno, "spec share: opening '%s' (is the spec share mounted?)",
		                src);
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return cerr_set(err, errno, "creating '%s'", dst);
	dfd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return cerr_set(err, errno, "opening '%s'", dst);
	/* an empty target: a copy never merges into what was there */
	{
		_cleanup_closedir_ DIR *d = dir_stream(dfd);
		struct dirent *e;

		if (!d)
			return cerr_set(err, errno, "reading '%s'", dst);
		while ((e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
				return cerr_setx(err, EEXIST, "'%s' is not empty", dst);
	}
	/* a refused share leaves nothing of itself in the target */
	r = copy_dir(sfd, "", dfd, 0, &st, err);
	if (r < 0)
		empty_dir(dfd, 0);
	return r;
}
