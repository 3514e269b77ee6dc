/* cocoon-verity - dm-verity hash trees for large files, on all cores.
 *
 *   cocoon-verity format DATA HASH            write HASH: superblock + tree
 *   cocoon-verity verify DATA HASH ROOT_HASH  check DATA and HASH against ROOT_HASH
 *   cocoon-verity dump HASH                   print HASH's superblock
 *
 * The output is veritysetup's: `veritysetup verify/open` accept what format
 * writes, and format writes the same bytes `veritysetup format` writes for the
 * same parameters (salt and UUID given). The tree is hashed by lib/verity.c
 * with one thread per core; the superblock is written and read by
 * libcryptsetup.
 *
 * Exit codes: 0 success, 1 refused or not verified (the data or tree differs,
 * HASH exists, DATA's size is not whole blocks), 2 usage error, 3 system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "cocoon/cli.h"
#include "cocoon/crypto.h"
#include "cocoon/log.h"
#include "cocoon/util.h"
#include "cocoon/verity.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

/* Cocoon's model and image archives use this salt (as written: 17 bytes) */
static const uint8_t cocoon_salt[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                      0x09, 0x10, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: cocoon-verity [OPTIONS] COMMAND ARGS\n"
	    "\n"
	    "Commands:\n"
	    "  format DATA HASH       hash DATA and write HASH: a veritysetup superblock and\n"
	    "                         the dm-verity tree; print the root hash\n"
	    "  verify DATA HASH ROOT_HASH\n"
	    "                         hash DATA again and compare every tree block and the\n"
	    "                         root hash; name the first data block that differs\n"
	    "  dump HASH              print the parameters in HASH's superblock\n"
	    "\n"
	    "Options of format (defaults: veritysetup's):\n"
	    "  --hash NAME            digest: sha256 (default), sha512, sha1, ...\n"
	    "  --format 0|1           hash format: 1 (default) or 0 (Chrome OS)\n"
	    "  --data-block-size N    bytes, a power of two from 512 to 524288 (4096)\n"
	    "  --hash-block-size N    likewise (4096)\n"
	    "  --data-blocks N        hash the first N blocks of DATA (default: all of\n"
	    "                         DATA, whose size must then be whole blocks)\n"
	    "  --salt HEX|-|cocoon    the salt in hex, '-' for none, 'cocoon' for Cocoon's\n"
	    "                         fixed 17-byte salt (default: 32 random bytes)\n"
	    "  --uuid UUID            the superblock's UUID (default: random)\n"
	    "  --force                replace an existing HASH (a file is replaced whole\n"
	    "                         once the new one is complete; a block device is\n"
	    "                         written in place)\n"
	    "\n"
	    "Options:\n"
	    "  -j, --threads N        hashing threads (default: one per online CPU)\n"
	    "  --json                 machine-readable output on stdout\n"
	    "  -q, --quiet            print nothing but errors (and the result)\n"
	    "  -v, --verbose          debug output\n"
	    "  -h, --help             this text\n"
	    "  -V, --version          print the version\n"
	    "\n"
	    "HASH is never written over without --force, and never while it is DATA; a\n"
	    "new HASH file appears only when complete. Progress goes to stderr every 5 s.\n"
	    "\n"
	    "Exit status: 0 success, 1 refused or not verified, 2 usage error, 3 system error.\n");
}

struct opts {
	const char *hash_name;
	long format;
	long data_bs, hash_bs;
	long long data_blocks; /* 0: all of DATA */
	const char *salt;      /* NULL: random */
	const char *uuid;
	bool force;
	bool json;
	long threads;
};

static int exit_of(const struct cerr *err)
{
	return (err->code == EINVAL || err->code == EEXIST || err->code == EIO ||
	        err->code == ENOTBLK)
	           ? EXIT_REFUSED
	           : EXIT_SYSTEM;
}

/* libcryptsetup's messages go into the error of the call that caused them */
static void on_crypt_log(int level, const char *msg, void *usrptr)
{
	struct cerr *last = usrptr;
	size_t n;

	if (level != CRYPT_LOG_ERROR || !last)
		return;
	snprintf(last->msg, sizeof(last->msg), "%s", msg);
	n = strlen(last->msg);
	while (n && (last->msg[n - 1] == '\n' || last->msg[n - 1] == '.'))
		last->msg[--n] = '\0';
}

static int crypt_fail(struct cerr *err, int r, const struct cerr *said, const char *what,
                      const char *path)
{
	if (said->msg[0])
		return cerr_setx(err, -r, "%s '%s': %s", what, path, said->msg);
	return cerr_set(err, -r, "%s '%s'", what, path);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode))
		return a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static uint64_t tree_offset(uint32_t hash_bs)
{
	/* the superblock (512 bytes) takes the first hash block(s) */
	return ((512 + (uint64_t)hash_bs - 1) / hash_bs) * hash_bs;
}

struct progress {
	int64_t start_ms;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress *pr = ctx;
	double s = (double)(now_ms() - pr->start_ms) / 1000.0;

	log_info("hashed %.2f of %.2f GiB (%.0f%%), %.0f MB/s", (double)done / (1 << 30),
	         (double)total / (1 << 30), total ? 100.0 * (double)done / (double)total : 100.0,
	         s > 0 ? (double)done / 1e6 / s : 0.0);
}

static unsigned thread_count(long opt)
{
	long n = opt > 0 ? opt : sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

static json_object *params_json(const struct verity_params *p, const char *uuid,
                                const struct verity_geometry *g)
{
	json_object *o = json_object_new_object();
	char salt[2 * VERITY_MAX_SALT + 1];

	hex_encode(p->salt, p->salt_size, salt);
	json_object_object_add(o, "uuid", uuid ? json_object_new_string(uuid) : NULL);
	json_object_object_add(o, "hash_type", json_object_new_int((int)p->hash_type));
	json_object_object_add(o, "hash_algorithm", json_object_new_string(p->hash_name));
	json_object_object_add(o, "data_blocks", json_object_new_int64((int64_t)p->data_blocks));
	json_object_object_add(o, "data_block_size", json_object_new_int((int)p->data_block_size));
	json_object_object_add(o, "hash_block_size", json_object_new_int((int)p->hash_block_size));
	json_object_object_add(o, "hash_blocks", json_object_new_int64((int64_t)g->tree_blocks));
	json_object_object_add(o, "levels", json_object_new_int((int)g->levels));
	json_object_object_add(o, "salt", json_object_new_string(salt));
	return o;
}

static void print_params(const struct verity_params *p, const char *uuid,
                         const struct verity_geometry *g, const char *hash_path)
{
	char salt[2 * VERITY_MAX_SALT + 1];

	hex_encode(p->salt, p->salt_size, salt);
	printf("VERITY header information for %s\n", hash_path);
	printf("UUID:            \t%s\n", uuid ? uuid : "");
	printf("Hash type:       \t%u\n", p->hash_type);
	printf("Data blocks:     \t%llu\n", (unsigned long long)p->data_blocks);
	printf("Data block size: \t%u\n", p->data_block_size);
	printf("Hash blocks:     \t%llu\n", (unsigned long long)g->tree_blocks);
	printf("Hash block size: \t%u\n", p->hash_block_size);
	printf("Hash algorithm:  \t%s\n", p->hash_name);
	printf("Salt:            \t%s\n", p->salt_size ? salt : "-");
}

static int report_error(const struct cerr *err, bool json)
{
	log_cerr(err);
	if (json)
		cli_print_error_json(err);
	return exit_of(err);
}

static int parse_salt(const char *s, uint8_t *salt, size_t *n, struct cerr *err)
{
	size_t len;

	if (!s) {
		*n = 32;
		return crypto_random(salt, 32, err);
	}
	if (strcmp(s, "-") == 0) {
		*n = 0;
		return 0;
	}
	if (strcmp(s, "cocoon") == 0) {
		memcpy(salt, cocoon_salt, sizeof(cocoon_salt));
		*n = sizeof(cocoon_salt);
		return 0;
	}
	len = strlen(s);
	if (len % 2 || len / 2 > VERITY_MAX_SALT || hex_decode(s, salt, len / 2) < 0)
		return cerr_setx(err, EINVAL,
		                 "--salt '%s': an even number of hex digits (at most %d bytes), "
		                 "'-' or 'cocoon' is needed",
		                 s, VERITY_MAX_SALT);
	*n = len / 2;
	return 0;
}

/* the new HASH: a temporary file next to it, or the block device itself */
struct output {
	char final[PATH_MAX];
	char tmp[PATH_MAX]; /* empty when writing the device in place */
	int fd;
};

static int open_output(const char *path, const struct stat *data_st, bool force, struct output *out,
                       struct cerr *err)
{
	struct stat st;

	out->fd = -1;
	out->tmp[0] = '\0';
	if (snprintf(out->final, sizeof(out->final), "%s", path) >= (int)sizeof(out->final))
		return cerr_setx(err, ENAMETOOLONG, "path too long: '%s'", path);
	if (stat(path, &st) == 0) {
		if (same_file(&st, data_st))
			return cerr_setx(
			    err, EINVAL,
			    "HASH '%s' is DATA itself: the tree would overwrite the data", path);
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
			return cerr_setx(err, EINVAL,
			                 "HASH '%s' is neither a regular file nor a block device",
			                 path);
		if (!force && (S_ISBLK(st.st_mode) || st.st_size > 0))
			return cerr_setx(
			    err, EEXIST,
			    "HASH '%s' exists and is not empty: give --force to replace "
			    "it, or another path",
			    path);
		if (S_ISBLK(st.st_mode)) {
			out->fd = open(path, O_RDWR | O_CLOEXEC | O_EXCL);
			if (out->fd < 0)
				return cerr_set(err, errno, "open block device '%s'", path);
			return 0;
		}
	} else if (errno != ENOENT) {
		return cerr_set(err, errno, "stat '%s'", path);
	}
	if (snprintf(out->tmp, sizeof(out->tmp), "%s.XXXXXX", path) >= (int)sizeof(out->tmp))
		return cerr_setx(err, ENAMETOOLONG, "path too long: '%s'", path);
	out->fd = mkostemp(out->tmp, O_CLOEXEC);
	if (out->fd < 0) {
		int e = errno;

		out->tmp[0] = '\0';
		return cerr_set(err, e, "create a file next to '%s'", path);
	}
	return 0;
}

static void discard_output(struct output *out)
{
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	if (out->tmp[0])
		unlink(out->tmp);
}

static int finish_output(struct output *out, struct cerr *err)
{
	if (fsync(out->fd) < 0)
		return cerr_set(err, errno, "sync '%s'", out->tmp[0] ? out->tmp : out->final);
	if (out->tmp[0]) {
		if (fchmod(out->fd, 0644) < 0)
			return cerr_set(err, errno, "chmod '%s'", out->tmp);
		if (rename(out->tmp, out->final) < 0)
			return cerr_set(err, errno, "rename '%s' to '%s'", out->tmp, out->final);
		out->tmp[0] = '\0';
	}
	close(out->fd);
	out->fd = -1;
	return 0;
}

/* writes the superblock with libcryptsetup into the (new) hash file */
static int write_superblock(const char *hash_path, const char *data_path,
                            const struct verity_params *p, const char *uuid, struct cerr *err)
{
	struct cerr said = CERR_INIT;
	struct crypt_device *cd = NULL;
	struct crypt_params_verity vp = {
	    .hash_name = p->hash_name,
	    .data_device = data_path,
	    .salt = (const char *)p->salt,
	    .salt_size = (uint32_t)p->salt_size,
	    .hash_type = p->hash_type,
	    .data_block_size = p->data_block_size,
	    .hash_block_size = p->hash_block_size,
	    .data_size = p->data_blocks,
	    .hash_area_offset = 0,
	    .flags = 0, /* the tree is ours: no CRYPT_VERITY_CREATE_HASH */
	};
	int r;

	crypt_set_log_callback(NULL, on_crypt_log, &said);
	r = crypt_init(&cd, hash_path);
	if (r < 0)
		return crypt_fail(err, r, &said, "libcryptsetup: open", hash_path);
	crypt_set_log_callback(cd, on_crypt_log, &said);
	r = crypt_format(cd, CRYPT_VERITY, NULL, NULL, uuid, NULL, 0, &vp);
	if (r < 0)
		crypt_fail(err, r, &said, "libcryptsetup: write the verity superblock into",
		           hash_path);
	crypt_free(cd);
	crypt_set_log_callback(NULL, NULL, NULL);
	return r;
}

struct loaded {
	struct verity_params p;
	char hash_name[32];
	uint8_t salt[VERITY_MAX_SALT];
	char uuid[40];
};

/* reads HASH's superblock with libcryptsetup: the parameters and the UUID */
static int load_superblock(const char *hash_path, struct loaded *l, struct cerr *err)
{
	struct cerr said = CERR_INIT;
	struct crypt_device *cd = NULL;
	struct crypt_params_verity vp = {.hash_area_offset = 0};
	const char *uuid;
	struct stat st;
	int r;

	memset(l, 0, sizeof(*l));
	/* libcryptsetup would wait on a FIFO for a writer */
	if (stat(hash_path, &st) < 0)
		return cerr_set(err, errno, "HASH '%s'", hash_path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return cerr_setx(err, EINVAL,
		                 "HASH '%s' is neither a regular file nor a block device",
		                 hash_path);
	crypt_set_log_callback(NULL, on_crypt_log, &said);
	r = crypt_init(&cd, hash_path);
	if (r < 0) {
		crypt_fail(err, r, &said, "libcryptsetup: open", hash_path);
		goto out;
	}
	crypt_set_log_callback(cd, on_crypt_log, &said);
	r = crypt_load(cd, CRYPT_VERITY, &vp);
	if (r < 0) {
		if (said.msg[0])
			cerr_setx(err, EINVAL, "'%s': no verity superblock: %s", hash_path,
			          said.msg);
		else
			cerr_setx(err, EINVAL,
			          "'%s': no verity superblock (not made by "
			          "`cocoon-verity format` or `veritysetup format`?)",
			          hash_path);
		r = -EINVAL;
		goto out;
	}
	r = crypt_get_verity_info(cd, &vp);
	if (r < 0 || !vp.hash_name || strlen(vp.hash_name) >= sizeof(l->hash_name) ||
	    vp.salt_size > VERITY_MAX_SALT) {
		r = cerr_setx(err, EINVAL, "'%s': the verity superblock is not usable", hash_path);
		goto out;
	}
	snprintf(l->hash_name, sizeof(l->hash_name), "%s", vp.hash_name);
	if (vp.salt_size)
		memcpy(l->salt, vp.salt, vp.salt_size);
	uuid = crypt_get_uuid(cd);
	snprintf(l->uuid, sizeof(l->uuid), "%s", uuid ? uuid : "");
	l->p = (struct verity_params){
	    .hash_name = l->hash_name,
	    .hash_type = vp.hash_type,
	    .data_block_size = vp.data_block_size,
	    .hash_block_size = vp.hash_block_size,
	    .data_blocks = vp.data_size,
	    .salt = l->salt,
	    .salt_size = vp.salt_size,
	    .tree_offset = tree_offset(vp.hash_block_size),
	};
	r = 0;
out:
	crypt_free(cd);
	crypt_set_log_callback(NULL, NULL, NULL);
	return r;
}

static int open_data(const char *path, int *fd, struct stat *st, uint64_t *size, struct cerr *err)
{
	/* O_NONBLOCK: a FIFO given as DATA is refused below instead of waiting for a writer */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return cerr_set(err, errno, "open DATA '%s'", path);
	if (fstat(*fd, st) < 0)
		return cerr_set(err, errno, "stat '%s'", path);
	return fd_size(*fd, path, size, err);
}

static void print_root(const char *cmd, const struct verity_result *res, const char *uuid,
                       const struct verity_params *p, const struct verity_geometry *g,
                       const char *hash_path, unsigned threads, double secs, bool json)
{
	char root[2 * VERITY_MAX_DIGEST + 1];

	hex_encode(res->root, res->root_len, root);
	if (json) {
		json_object *o = params_json(p, uuid, g);

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "command", json_object_new_string(cmd));
		json_object_object_add(o, "root_hash", json_object_new_string(root));
		json_object_object_add(o, "threads", json_object_new_int((int)threads));
		json_object_object_add(o, "seconds", json_object_new_double(secs));
		cli_print_json(o);
		return;
	}
	if (log_get_level() <= LOG_LVL_INFO)
		print_params(p, uuid, g, hash_path);
	printf("Root hash:      \t%s\n", root);
}

static int cmd_format(const struct opts *o, const char *data_path, const char *hash_path)
{
	struct cerr err = CERR_INIT;
	uint8_t salt[VERITY_MAX_SALT];
	struct output out = {.fd = -1};
	struct verity_result res;
	struct verity_geometry g;
	struct progress pr = {now_ms()};
	struct stat st;
	uint64_t size;
	unsigned threads = thread_count(o->threads);
	_cleanup_close_ int data_fd = -1;
	struct verity_params p = {
	    .hash_name = o->hash_name,
	    .hash_type = (uint32_t)o->format,
	    .data_block_size = (uint32_t)o->data_bs,
	    .hash_block_size = (uint32_t)o->hash_bs,
	    .salt = salt,
	    .tree_offset = tree_offset((uint32_t)o->hash_bs),
	};
	char uuid[40] = "";
	int r;

	if ((o->data_bs & (o->data_bs - 1)) || (o->hash_bs & (o->hash_bs - 1))) {
		cerr_setx(&err, EINVAL,
		          "block sizes %ld/%ld: powers of two from 512 to 524288 are needed",
		          o->data_bs, o->hash_bs);
		return report_error(&err, o->json);
	}
	if (o->uuid &&
	    (strlen(o->uuid) != 36 || strspn(o->uuid, "0123456789abcdefABCDEF-") != 36)) {
		cerr_setx(&err, EINVAL,
		          "--uuid '%s': a UUID like 01234567-89ab-cdef-0123-456789abcdef", o->uuid);
		return report_error(&err, o->json);
	}
	r = parse_salt(o->salt, salt, &p.salt_size, &err);
	if (r == 0)
		r = open_data(data_path, &data_fd, &st, &size, &err);
	if (r == 0 && o->data_blocks == 0 && size % (uint64_t)o->data_bs)
		r = cerr_setx(
		    &err, EINVAL,
		    "DATA '%s' is %llu bytes, not a whole number of %ld-byte blocks: the "
		    "tail would be unprotected. Pad it (truncate -s) or give --data-blocks",
		    data_path, (unsigned long long)size, o->data_bs);
	if (r == 0) {
		p.data_blocks =
		    o->data_blocks ? (uint64_t)o->data_blocks : size / (uint64_t)o->data_bs;
		if (p.data_blocks > size / (uint64_t)o->data_bs)
			r = cerr_setx(
			    &err, EINVAL,
			    "--data-blocks %llu: DATA '%s' holds only %llu blocks of %ld bytes",
			    (unsigned long long)p.data_blocks, data_path,
			    (unsigned long long)(size / (uint64_t)o->data_bs), o->data_bs);
	}
	if (r == 0)
		r = verity_geometry(&p, &g, &err);
	if (r == 0)
		r = open_output(hash_path, &st, o->force, &out, &err);
	if (r < 0) {
		discard_output(&out);
		return report_error(&err, o->json);
	}
	log_info("hashing %llu blocks of %s (%.2f GiB) into %s, %u levels, %u threads",
	         (unsigned long long)p.data_blocks, data_path,
	         (double)(p.data_blocks * p.data_block_size) / (1 << 30), hash_path, g.levels,
	         threads);
	r = verity_run(&p, data_fd, out.fd, VERITY_WRITE, threads, on_progress, &pr, 5000, &res,
	               &err);
	/* a block device keeps what lies past the tree; a new file ends with it */
	if (r == 0 && out.tmp[0] &&
	    ftruncate(out.fd, (off_t)(p.tree_offset + g.tree_blocks * p.hash_block_size)) < 0)
		r = cerr_set(&err, errno, "size '%s'", out.tmp);
	if (r == 0)
		r = write_superblock(out.tmp[0] ? out.tmp : hash_path, data_path, &p, o->uuid,
		                     &err);
	if (r == 0) {
		struct loaded l;

		/* read back: the UUID libcryptsetup chose, and the superblock as written */
		r = load_superblock(out.tmp[0] ? out.tmp : hash_path, &l, &err);
		if (r == 0)
			snprintf(uuid, sizeof(uuid), "%s", l.uuid);
	}
	if (r == 0)
		r = finish_output(&out, &err);
	if (r < 0) {
		discard_output(&out);
		return report_error(&err, o->json);
	}
	log_info("%s written in %.1f s", hash_path, (double)(now_ms() - pr.start_ms) / 1000.0);
	print_root("format", &res, uuid, &p, &g, hash_path, threads,
	           (double)(now_ms() - pr.start_ms) / 1000.0, o->json);
	return 0;
}

static int cmd_verify(const struct opts *o, const char *data_path, const char *hash_path,
                      const char *root_hex)
{
	struct cerr err = CERR_INIT;
	struct verity_result res;
	struct verity_geometry g;
	struct progress pr = {now_ms()};
	struct loaded l;
	struct stat st;
	uint64_t size;
	uint8_t want[VERITY_MAX_DIGEST];
	unsigned threads = thread_count(o->threads);
	_cleanup_close_ int data_fd = -1, hash_fd = -1;
	int r;

	r = load_superblock(hash_path, &l, &err);
	if (r == 0)
		r = verity_geometry(&l.p, &g, &err);
	if (r == 0 && (strlen(root_hex) != 2 * g.digest_size ||
	               hex_decode(root_hex, want, g.digest_size) < 0))
		r = cerr_setx(&err, EINVAL, "ROOT_HASH '%s': %u hex digits of %s are needed",
		              root_hex, 2 * g.digest_size, l.p.hash_name);
	if (r == 0)
		r = open_data(data_path, &data_fd, &st, &size, &err);
	if (r == 0 && size / l.p.data_block_size < l.p.data_blocks)
		r = cerr_setx(&err, EIO,
		              "DATA '%s' is %llu bytes; the superblock says %llu blocks "
		              "of %u bytes",
		              data_path, (unsigned long long)size,
		              (unsigned long long)l.p.data_blocks, l.p.data_block_size);
	if (r == 0) {
		hash_fd = open(hash_path, O_RDONLY | O_CLOEXEC);
		if (hash_fd < 0)
			r = cerr_set(&err, errno, "open HASH '%s'", hash_path);
	}
	if (r == 0)
		r = verity_run(&l.p, data_fd, hash_fd, VERITY_CHECK, threads, on_progress, &pr,
		               5000, &res, &err);
	if (r == 0 && res.mismatch && res.bad_level == 0)
		r = cerr_setx(&err, EIO, "data block %llu of '%s' does not match its hash in '%s'",
		              (unsigned long long)res.bad_block, data_path, hash_path);
	else if (r == 0 && res.mismatch)
		r = cerr_setx(
		    &err, EIO, "'%s': tree level %u does not match the hash of level %u block %llu",
		    hash_path, res.bad_level, res.bad_level - 1, (unsigned long long)res.bad_block);
	else if (r == 0 && !crypto_memeq(res.root, want, g.digest_size))
		r = cerr_setx(&err, EIO,
		              "the tree in '%s' is consistent with '%s' but its root hash is not "
		              "%s",
		              hash_path, data_path, root_hex);
	if (r < 0)
		return report_error(&err, o->json);
	log_info("verified %llu data blocks of %s in %.1f s", (unsigned long long)l.p.data_blocks,
	         data_path, (double)(now_ms() - pr.start_ms) / 1000.0);
	print_root("verify", &res, l.uuid, &l.p, &g, hash_path, threads,
	           (double)(now_ms() - pr.start_ms) / 1000.0, o->json);
	return 0;
}

static int cmd_dump(const struct opts *o, const char *hash_path)
{
	struct cerr err = CERR_INIT;
	struct verity_geometry g;
	struct loaded l;
	int r = load_superblock(hash_path, &l, &err);

	if (r == 0)
		r = verity_geometry(&l.p, &g, &err);
	if (r < 0)
		return report_error(&err, o->json);
	if (o->json) {
		json_object *j = params_json(&l.p, l.uuid, &g);

		json_object_object_add(j, "ok", json_object_new_boolean(1));
		cli_print_json(j);
	} else {
		print_params(&l.p, l.uuid, &g, hash_path);
	}
	return 0;
}

static int parse_opt_long(const char *name, const char *arg, long min, long max, long *out)
{
	if (cli_parse_long(arg, min, max, out) < 0) {
		log_error("%s '%s': a whole number from %ld to %ld is needed", name, arg, min, max);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_HASH = 256,
		OPT_FORMAT,
		OPT_DBS,
		OPT_HBS,
		OPT_DBLOCKS,
		OPT_SALT,
		OPT_UUID,
		OPT_FORCE,
		OPT_JSON
	};
	static const struct option longopts[] = {
	    {"hash", required_argument, NULL, OPT_HASH},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"data-block-size", required_argument, NULL, OPT_DBS},
	    {"hash-block-size", required_argument, NULL, OPT_HBS},
	    {"data-blocks", required_argument, NULL, OPT_DBLOCKS},
	    {"salt", required_argument, NULL, OPT_SALT},
	    {"uuid", required_argument, NULL, OPT_UUID},
	    {"force", no_argument, NULL, OPT_FORCE},
	    {"threads", required_argument, NULL, 'j'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"quiet", no_argument, NULL, 'q'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct opts o = {.hash_name = "sha256", .format = 1, .data_bs = 4096, .hash_bs = 4096};
	const char *cmd;
	long v;
	int c;

	log_init("cocoon-verity");
	while ((c = getopt_long(argc, argv, "j:qvhV", longopts, NULL)) != -1) {
		int r = 0;

		switch (c) {
		case OPT_HASH:
			o.hash_name = optarg;
			break;
		case OPT_FORMAT:
			r = parse_opt_long("--format", optarg, 0, 1, &o.format);
			break;
		case OPT_DBS:
			r = parse_opt_long("--data-block-size", optarg, VERITY_MIN_BLOCK,
			                   VERITY_MAX_BLOCK, &o.data_bs);
			break;
		case OPT_HBS:
			r = parse_opt_long("--hash-block-size", optarg, VERITY_MIN_BLOCK,
			                   VERITY_MAX_BLOCK, &o.hash_bs);
			break;
		case OPT_DBLOCKS:
			r = parse_opt_long("--data-blocks", optarg, 1, LONG_MAX, &v);
			o.data_blocks = v;
			break;
		case OPT_SALT:
			o.salt = optarg;
			break;
		case OPT_UUID:
			o.uuid = optarg;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case 'j':
			r = parse_opt_long("--threads", optarg, 1, 256, &o.threads);
			break;
		case OPT_JSON:
			o.json = true;
			break;
		default:
			r = cli_common_option(c, "cocoon-verity", usage);
			if (r != CLI_CONTINUE)
				return r;
			r = 0;
		}
		if (r < 0)
			return EXIT_USAGE;
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "format") == 0 && argc - optind == 2)
		return cmd_format(&o, argv[optind], argv[optind + 1]);
	if (strcmp(cmd, "verify") == 0 && argc - optind == 3)
		return cmd_verify(&o, argv[optind], argv[optind + 1], argv[optind + 2]);
	if (strcmp(cmd, "dump") == 0 && argc - optind == 1)
		return cmd_dump(&o, argv[optind]);
	log_error("'%s' with %d argument(s): see --help (format DATA HASH, verify DATA HASH "
	          "ROOT_HASH, dump HASH)",
	          cmd, argc - optind);
	return EXIT_USAGE;
}
