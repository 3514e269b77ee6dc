/* beneath.c - opening host-controlled paths beneath a share; see
 * cocoon/beneath.h. */
#include "cocoon/beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cocoon/err.h"
#include "cocoon/util.h"

#define RESOLVE_FLAGS (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

static int openat2_beneath(int dirfd, const char *rel, uint64_t flags)
{
	struct open_how how = {.flags = flags | O_CLOEXEC, .resolve = RESOLVE_FLAGS};
	long fd;

	do
		fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : (int)fd;
}

static const char *kind_name(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISDIR(m))
		return "a directory";
	return "a regular file";
}

static const char *wanted(unsigned kinds)
{
	if (kinds == BENEATH_REG)
		return "a regular file";
	if (kinds == BENEATH_DIR)
		return "a directory";
	return "a directory or a regular file";
}

int beneath_open(const char *root, const char *rel, unsigned kinds, int *fd_out, struct stat *st,
                 struct cerr *err)
{
	_cleanup_close_ int rootfd = -1;

	*fd_out = -1;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rootfd < 0)
		return cerr_set(err, errno, "the share '%s'", root);
	return beneath_openat(rootfd, root, rel, kinds, fd_out, st, err);
}

int beneath_openat(int rootfd, const char *root, const char *rel, unsigned kinds, int *fd_out,
                   struct stat *st, struct cerr *err)
{
	_cleanup_close_ int pfd = -1, fd = -1;
	struct stat s, s2;
	const char *r = rel && *rel ? rel : ".";
	const char *sep = rel && *rel ? "/" : "";

	*fd_out = -1;
	if (r[0] == '/')
		return cerr_setx(err, EINVAL, "'%s' is not relative to %s", r, root);
	pfd = openat2_beneath(rootfd, r, O_PATH);
	if (pfd == -ELOOP)
		return cerr_setx(err, ELOOP,
		                 "%s%s%s: a symbolic link on the way: links in the share are "
		                 "never followed (replace it with the directory or file itself)",
		                 root, sep, rel ? rel : "");
	if (pfd == -EXDEV)
		return cerr_setx(err, EXDEV, "%s%s%s leads out of %s", root, sep, rel ? rel : "",
		                 root);
	if (pfd < 0)
		return cerr_set(err, -pfd, "%s%s%s", root, sep, rel ? rel : "");
	if (fstat(pfd, &s) < 0)
		return cerr_set(err, errno, "%s%s%s", root, sep, rel ? rel : "");
	if (!((S_ISDIR(s.st_mode) && (kinds & BENEATH_DIR)) ||
	      (S_ISREG(s.st_mode) && (kinds & BENEATH_REG))))
		return cerr_setx(err, EINVAL, "%s%s%s is %s, not %s: refused", root, sep,
		                 rel ? rel : "", kind_name(s.st_mode), wanted(kinds));
	if (kinds == BENEATH_REG) {
		/* the same walk again, now to read; the host may have swapped the
		 * node in between: it must still be the inode looked at */
		fd = openat2_beneath(rootfd, r, O_RDONLY | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			return cerr_set(err, -fd, "%s%s%s", root, sep, rel ? rel : "");
		if (fstat(fd, &s2) < 0)
			return cerr_set(err, errno, "%s%s%s", root, sep, rel ? rel : "");
		if (!S_ISREG(s2.st_mode) || s2.st_dev != s.st_dev || s2.st_ino != s.st_ino)
			return cerr_setx(err, EINVAL,
			                 "%s%s%s was replaced while it was opened: refused", root,
			                 sep, rel ? rel : "");
		s = s2;
		/* reads block as a regular file's always do */
		if (fcntl(fd, F_SETFL, 0) < 0)
			return cerr_set(err, errno, "%s%s%s", root, sep, rel ? rel : "");
		*fd_out = TAKE_FD(fd);
	} else {
		*fd_out = TAKE_FD(pfd);
	}
	if (st)
		*st = s;
	return 0;
}

const char *beneath_rel(const char *share, const char *path)
{
	size_t n = strlen(share);

	while (n > 1 && share[n - 1] == '/')
		n--;
	if (strncmp(path, share, n))
		return NULL;
	if (!path[n])
		return path + n;
	if (path[n] != '/')
		return NULL;
	return path + n + 1;
}

int beneath_check_unchanged(int fd, const struct stat *before, uint64_t copied, const char *name,
                            struct cerr *err)
{
	struct stat now;

	if (fstat(fd, &now) < 0)
		return cerr_set(err, errno, "%s", name);
	if (!S_ISREG(now.st_mode) || now.st_ino != before->st_ino || now.st_dev != before->st_dev ||
	    now.st_size != before->st_size || now.st_mtim.tv_sec != before->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != before->st_mtim.tv_nsec || copied != (uint64_t)before->st_size)
		return cerr_setx(err, EBADMSG,
		                 "%s changed while it was read (%llu bytes before, %llu now, %llu "
		                 "read): refused; the host must not write it while the guest "
		                 "boots",
		                 name, (unsigned long long)before->st_size,
		                 (unsigned long long)now.st_size, (unsigned long long)copied);
	return 0;
}
