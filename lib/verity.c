/* verity.c - the dm-verity hash tree on all cores; see cocoon/verity.h.
 *
 * Each level is cut into chunks of whole hash blocks (about 8 MiB of input
 * each); the threads take chunks from an atomic counter, read their input
 * blocks with pread(), hash them with OpenSSL's EVP interface and write (or
 * compare) the finished hash blocks with pwrite() (pread()). A level starts
 * when the one below it is complete, since its input is that level's blocks.
 * Chunks hold whole hash blocks, so no two threads ever write the same block,
 * and the output does not depend on the number of threads.
 */
#include "cocoon/verity.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "cocoon/util.h"

/* input read per chunk (whole hash blocks' worth, at least one) and per read */
#define CHUNK_INPUT (8u << 20)
#define READ_MAX (8u << 20)

static bool pow2_in_range(uint32_t v)
{
	return v >= VERITY_MIN_BLOCK && v <= VERITY_MAX_BLOCK && (v & (v - 1)) == 0;
}

static unsigned log2u(uint64_t v)
{
	unsigned n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

/* blocks of level i: ceil(data_blocks / 2^shift), 1 once the shift is 64 or more */
static uint64_t blocks_above(uint64_t data_blocks, unsigned shift)
{
	if (shift >= 64)
		return 1;
	return (data_blocks >> shift) + ((data_blocks & ((UINT64_C(1) << shift) - 1)) ? 1 : 0);
}

static EVP_MD *fetch_md(const char *name, struct cerr *err)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);

	if (!md) {
		ERR_clear_error();
		cerr_setx(err, EINVAL, "unknown hash algorithm '%s' (sha256, sha512, sha1, ...)",
		          name);
	}
	return md;
}

int verity_geometry(const struct verity_params *p, struct verity_geometry *g, struct cerr *err)
{
	EVP_MD *md;
	uint64_t pos = 0;
	int size;

	memset(g, 0, sizeof(*g));
	if (p->hash_type > 1)
		return cerr_setx(err, EINVAL, "hash format %u: dm-verity knows 0 and 1",
		                 p->hash_type);
	if (!pow2_in_range(p->data_block_size))
		return cerr_setx(err, EINVAL,
		                 "data block size %u: a power of two from 512 to 524288 is needed",
		                 p->data_block_size);
	if (!pow2_in_range(p->hash_block_size))
		return cerr_setx(err, EINVAL,
		                 "hash block size %u: a power of two from 512 to 524288 is needed",
		                 p->hash_block_size);
	if (p->salt_size > VERITY_MAX_SALT || (p->salt_size && !p->salt))
		return cerr_setx(err, EINVAL, "salt of %zu bytes: at most %d", p->salt_size,
		                 VERITY_MAX_SALT);
	if (p->data_blocks == 0)
		return cerr_setx(err, EINVAL,
		                 "no data blocks: the data must hold one block or more");
	if (p->data_blocks > UINT64_MAX / p->data_block_size)
		return cerr_setx(err, EINVAL, "%llu data blocks of %u bytes: too large",
		                 (unsigned long long)p->data_blocks, p->data_block_size);
	md = fetch_md(p->hash_name, err);
	if (!md)
		return -EINVAL;
	size = EVP_MD_get_size(md);
	EVP_MD_free(md);
	if (size <= 0 || size > VERITY_MAX_DIGEST)
		return cerr_setx(err, EINVAL, "hash algorithm '%s': digest size %d not usable",
		                 p->hash_name, size);
	g->digest_size = (unsigned)size;
	g->digest_full = 1u << log2u((uint64_t)size * 2 - 1);
	if (p->hash_block_size / g->digest_full < 2)
		return cerr_setx(err, EINVAL, "hash block size %u holds fewer than two %s digests",
		                 p->hash_block_size, p->hash_name);
	g->per_block_bits = log2u(p->hash_block_size / g->digest_full);
	while (g->per_block_bits * g->levels < 64 &&
	       ((p->data_blocks - 1) >> (g->per_block_bits * g->levels)) != 0)
		g->levels++;
	if (g->levels > VERITY_MAX_LEVELS)
		return cerr_setx(err, EINVAL, "the tree would have %u levels", g->levels);
	for (unsigned i = g->levels; i-- > 0;) {
		g->level_start[i] = pos;
		g->level_blocks[i] = blocks_above(p->data_blocks, (i + 1) * g->per_block_bits);
		pos += g->level_blocks[i];
	}
	g->tree_blocks = pos;
	if (pos > (UINT64_MAX - p->tree_offset) / p->hash_block_size)
		return cerr_setx(err, EINVAL, "the tree does not fit a 64-bit offset");
	return 0;
}

static int pwrite_full(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t put = 0;

	while (put < n) {
		ssize_t r = pwrite(fd, (const char *)buf + put, n - put, (off_t)(off + put));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		put += (size_t)r;
	}
	return 0;
}

/* One level: in_blocks blocks of in_bs bytes at in_off of in_fd, hashed into
 * out_blocks hash blocks at out_off of out_fd. */
struct level_job {
	unsigned level;
	int in_fd;
	uint64_t in_off;
	uint32_t in_bs;
	uint64_t in_blocks;
	int out_fd;
	uint64_t out_off;
	uint64_t out_blocks;
	uint64_t chunk_out; /* hash blocks per chunk */
	uint64_t chunks;
};

struct pool {
	const struct verity_params *p;
	const struct verity_geometry *g;
	EVP_MD *md;
	enum verity_mode mode;
	struct level_job job;
	atomic_uint_fast64_t next_chunk;
	atomic_uint_fast64_t done_bytes;
	atomic_uint finished;
	atomic_bool stop;
	pthread_mutex_t lock;
	struct cerr err; /* the first error, under lock */
	int rc;
	bool mismatch; /* under lock: the lowest bad input block of this level */
	uint64_t bad_block;
};

struct hasher {
	EVP_MD_CTX *base; /* initialised, salted in front for format 1 */
	EVP_MD_CTX *c;
};

static void hasher_free(struct hasher *h)
{
	EVP_MD_CTX_free(h->base);
	EVP_MD_CTX_free(h->c);
}

static int hasher_init(struct hasher *h, const EVP_MD *md, const struct verity_params *p,
                       struct cerr *err)
{
	h->base = EVP_MD_CTX_new();
	h->c = EVP_MD_CTX_new();
	if (!h->base || !h->c || EVP_DigestInit_ex(h->base, md, NULL) != 1 ||
	    (p->hash_type == 1 && p->salt_size &&
	     EVP_DigestUpdate(h->base, p->salt, p->salt_size) != 1)) {
		ERR_clear_error();
		hasher_free(h);
		return cerr_setx(err, ENOMEM, "cannot set up the %s digest", p->hash_name);
	}
	return 0;
}

/* the digest of one block with the salt, as dm-verity's format computes it */
static int hash_block(struct hasher *h, const struct verity_params *p, const void *block, size_t n,
                      uint8_t *out)
{
	if (EVP_MD_CTX_copy_ex(h->c, h->base) != 1 || EVP_DigestUpdate(h->c, block, n) != 1 ||
	    (p->hash_type == 0 && p->salt_size &&
	     EVP_DigestUpdate(h->c, p->salt, p->salt_size) != 1) ||
	    EVP_DigestFinal_ex(h->c, out, NULL) != 1) {
		ERR_clear_error();
		return -EIO;
	}
	return 0;
}

static void pool_fail(struct pool *pl, int r, const struct cerr *e)
{
	pthread_mutex_lock(&pl->lock);
	if (pl->rc == 0) {
		pl->rc = r;
		pl->err = *e;
	}
	pthread_mutex_unlock(&pl->lock);
	atomic_store(&pl->stop, true);
}

static void pool_mismatch(struct pool *pl, uint64_t block)
{
	pthread_mutex_lock(&pl->lock);
	if (!pl->mismatch || block < pl->bad_block) {
		pl->mismatch = true;
		pl->bad_block = block;
	}
	pthread_mutex_unlock(&pl->lock);
}

/* the hash blocks [first, first + n) of the job, into out (zeroed here) */
static int hash_chunk(struct pool *pl, struct hasher *h, uint8_t *in, size_t in_cap, uint8_t *out,
                      uint64_t first, uint64_t n, struct cerr *err)
{
	const struct level_job *j = &pl->job;
	const uint32_t hbs = pl->p->hash_block_size;
	const uint64_t per = UINT64_C(1) << pl->g->per_block_bits;
	uint64_t b = first * per;
	const uint64_t end = (first + n) * per < j->in_blocks ? (first + n) * per : j->in_blocks;

	memset(out, 0, (size_t)n * hbs);
	while (b < end) {
		uint64_t want = (end - b) < in_cap / j->in_bs ? (end - b) : in_cap / j->in_bs;
		uint64_t off = j->in_off + b * j->in_bs;
		size_t got;
		int r = pread_all(j->in_fd, in, (size_t)(want * j->in_bs), off, &got);

		if (r < 0)
			return cerr_set(err, -r, "read at byte %llu", (unsigned long long)off);
		if ((uint64_t)got < want * j->in_bs)
			return cerr_setx(err, EIO,
			                 "the %s ends at byte %llu, before its block %llu ends",
			                 j->level == 0 ? "data" : "hash file",
			                 (unsigned long long)(off + (uint64_t)got),
			                 (unsigned long long)(b + (uint64_t)got / j->in_bs));
		for (uint64_t k = 0; k < want; k++) {
			uint64_t idx = b + k - first * per; /* digest slot within the chunk */
			uint8_t *slot = out + (idx / per) * hbs + (idx % per) * pl->g->digest_full;

			if (hash_block(h, pl->p, in + k * j->in_bs, j->in_bs, slot) < 0)
				return cerr_setx(err, EIO, "%s failed", pl->p->hash_name);
		}
		atomic_fetch_add(&pl->done_bytes, (uint64_t)got);
		b += want;
		if (atomic_load(&pl->stop))
			return 0;
	}
	return 0;
}

/* VERITY_CHECK: compares the chunk with the stored blocks; records the
 * lowest input block whose digest differs (its hash block's first input when
 * only the zero padding differs) */
static int check_chunk(struct pool *pl, const uint8_t *out, uint8_t *stored, uint64_t first,
                       uint64_t n, struct cerr *err)
{
	const struct level_job *j = &pl->job;
	const uint32_t hbs = pl->p->hash_block_size;
	const uint64_t per = UINT64_C(1) << pl->g->per_block_bits;
	uint64_t off = j->out_off + first * hbs;
	size_t got;
	int r = pread_all(j->out_fd, stored, (size_t)n * hbs, off, &got);

	if (r < 0)
		return cerr_set(err, -r, "read the hash file at byte %llu",
		                (unsigned long long)off);
	if ((uint64_t)got < n * hbs)
		return cerr_setx(err, EIO, "the hash file ends at byte %llu, inside its tree",
		                 (unsigned long long)(off + (uint64_t)got));
	for (uint64_t o = 0; o < n; o++) {
		const uint8_t *a = out + o * hbs, *s = stored + o * hbs;
		uint64_t k = 0;

		if (memcmp(a, s, hbs) == 0)
			continue;
		while (k < per && memcmp(a + k * pl->g->digest_full, s + k * pl->g->digest_full,
		                         pl->g->digest_full) == 0)
			k++;
		pool_mismatch(pl, (first + o) * per + (k < per ? k : 0));
		return 0;
	}
	return 0;
}

static void *worker(void *arg)
{
	struct pool *pl = arg;
	const struct level_job *j = &pl->job;
	const uint32_t hbs = pl->p->hash_block_size;
	struct cerr e = CERR_INIT;
	struct hasher h;
	size_t in_cap = READ_MAX / j->in_bs ? (READ_MAX / j->in_bs) * j->in_bs : j->in_bs;
	uint8_t *in = NULL, *out = NULL, *stored = NULL;
	int r = 0;

	r = hasher_init(&h, pl->md, pl->p, &e);
	if (r < 0)
		goto fail;
	in = malloc(in_cap);
	out = malloc((size_t)j->chunk_out * hbs);
	stored = pl->mode == VERITY_CHECK ? malloc((size_t)j->chunk_out * hbs) : NULL;
	if (!in || !out || (pl->mode == VERITY_CHECK && !stored)) {
		r = cerr_set(&e, ENOMEM, "buffers of %zu bytes", in_cap);
		goto done;
	}
	while (!atomic_load(&pl->stop)) {
		uint64_t c = atomic_fetch_add(&pl->next_chunk, 1);
		uint64_t first = c * j->chunk_out;
		uint64_t n;

		if (c >= j->chunks)
			break;
		n = j->out_blocks - first < j->chunk_out ? j->out_blocks - first : j->chunk_out;
		r = hash_chunk(pl, &h, in, in_cap, out, first, n, &e);
		if (r == 0 && !atomic_load(&pl->stop)) {
			if (pl->mode == VERITY_WRITE) {
				r = pwrite_full(j->out_fd, out, (size_t)n * hbs,
				                j->out_off + first * hbs);
				if (r < 0)
					cerr_set(&e, -r, "write the hash file at byte %llu",
					         (unsigned long long)(j->out_off + first * hbs));
			} else {
				r = check_chunk(pl, out, stored, first, n, &e);
			}
		}
		if (r < 0)
			break;
	}
done:
	hasher_free(&h);
fail:
	if (r < 0)
		pool_fail(pl, r, &e);
	free(in);
	free(out);
	free(stored);
	atomic_fetch_add(&pl->finished, 1);
	return NULL;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int run_level(struct pool *pl, unsigned threads, verity_progress_fn progress, void *ctx,
                     unsigned interval_ms, uint64_t total, uint64_t *last_ms, struct cerr *err)
{
	struct level_job *j = &pl->job;
	pthread_t tid[256];
	unsigned started = 0;
	const uint64_t per_out = (UINT64_C(1) << pl->g->per_block_bits) * j->in_bs;

	j->chunk_out = CHUNK_INPUT / per_out ? CHUNK_INPUT / per_out : 1;
	j->chunks = (j->out_blocks + j->chunk_out - 1) / j->chunk_out;
	if (threads > j->chunks)
		threads = (unsigned)j->chunks;
	if (threads > sizeof(tid) / sizeof(tid[0]))
		threads = sizeof(tid) / sizeof(tid[0]);
	atomic_store(&pl->next_chunk, 0);
	atomic_store(&pl->finished, 0);
	for (; started < threads; started++) {
		int r = pthread_create(&tid[started], NULL, worker, pl);

		if (r != 0) {
			struct cerr e = CERR_INIT;

			cerr_set(&e, r, "start hashing thread %u", started + 1);
			pool_fail(pl, -r, &e);
			break;
		}
	}
	/* the threads that did start finish the level (or see the stop) */
	for (uint64_t waited = 0; atomic_load(&pl->finished) < started; waited += 50) {
		sleep_ms(50);
		if (progress && interval_ms && waited - *last_ms >= interval_ms) {
			*last_ms = waited;
			progress(ctx, atomic_load(&pl->done_bytes), total);
		}
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	*last_ms = 0;
	if (pl->rc < 0) {
		*err = pl->err;
		return pl->rc;
	}
	return 0;
}

static int root_hash(struct pool *pl, struct verity_result *res, int data_fd, int hash_fd,
                     struct cerr *err)
{
	const struct verity_params *p = pl->p;
	const struct verity_geometry *g = pl->g;
	uint32_t bs = g->levels ? p->hash_block_size : p->data_block_size;
	uint64_t off = g->levels ? p->tree_offset + g->level_start[g->levels - 1] * bs : 0;
	int fd = g->levels ? hash_fd : data_fd;
	struct hasher h;
	uint8_t *block = malloc(bs);
	size_t got;
	int r;

	if (!block)
		return cerr_set(err, ENOMEM, "a block of %u bytes", bs);
	r = pread_all(fd, block, bs, off, &got);
	if (r < 0 || got != bs) {
		free(block);
		return r < 0 ? cerr_set(err, -r, "read the top block")
		             : cerr_setx(err, EIO, "the %s ends before its top block",
		                         g->levels ? "hash file" : "data");
	}
	r = hasher_init(&h, pl->md, p, err);
	if (r == 0) {
		r = hash_block(&h, p, block, bs, res->root);
		if (r < 0)
			cerr_setx(err, EIO, "%s failed", p->hash_name);
		hasher_free(&h);
	}
	free(block);
	res->root_len = g->digest_size;
	return r;
}

int verity_run(const struct verity_params *p, int data_fd, int hash_fd, enum verity_mode mode,
               unsigned threads, verity_progress_fn progress, void *progress_ctx,
               unsigned interval_ms, struct verity_result *res, struct cerr *err)
{
	struct verity_geometry g;
	struct pool pl;
	uint64_t total, last = 0;
	int r;

	memset(res, 0, sizeof(*res));
	r = verity_geometry(p, &g, err);
	if (r < 0)
		return r;
	memset(&pl, 0, sizeof(pl));
	pl.p = p;
	pl.g = &g;
	pl.mode = mode;
	pl.md = fetch_md(p->hash_name, err);
	if (!pl.md)
		return -EINVAL;
	pthread_mutex_init(&pl.lock, NULL);
	total = p->data_blocks * p->data_block_size;
	for (unsigned i = 1; i < g.levels; i++)
		total += g.level_blocks[i - 1] * p->hash_block_size;
	for (unsigned i = 0; i < g.levels && r == 0 && !pl.mismatch; i++) {
		pl.job = (struct level_job){
		    .level = i,
		    .in_fd = i == 0 ? data_fd : hash_fd,
		    .in_off =
		        i == 0 ? 0 : p->tree_offset + g.level_start[i - 1] * p->hash_block_size,
		    .in_bs = i == 0 ? p->data_block_size : p->hash_block_size,
		    .in_blocks = i == 0 ? p->data_blocks : g.level_blocks[i - 1],
		    .out_fd = hash_fd,
		    .out_off = p->tree_offset + g.level_start[i] * p->hash_block_size,
		    .out_blocks = g.level_blocks[i],
		};
		r = run_level(&pl, threads ? threads : 1, progress, progress_ctx, interval_ms,
		              total, &last, err);
		if (r == 0 && pl.mismatch) {
			res->mismatch = true;
			res->bad_level = i;
			res->bad_block = pl.bad_block;
		}
	}
	if (r == 0 && !res->mismatch)
		r = root_hash(&pl, res, data_fd, hash_fd, err);
	EVP_MD_free(pl.md);
	pthread_mutex_destroy(&pl.lock);
	return r;
}
