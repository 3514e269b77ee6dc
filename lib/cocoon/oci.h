/* oci.h - verification of OCI image layout archives (a tar holding
 * oci-layout, index.json and blobs/sha256/<hex>), and their conversion to the
 * archive format dockerd 20.10's `images/load` takes.
 *
 * The archive comes from /data/images, which the host writes: every byte is
 * hostile. oci_tar_parse() walks the tar through rbuf with strict rules (no
 * absolute names, no `..`, no links, devices or FIFOs, no duplicate names, no
 * member past the end, a bounded member count, header checksums checked) and
 * keeps pointers into the caller's buffer, which must be guest-private memory
 * (a copy, never a mapping of the host's file: the host could change it
 * between verification and load).
 *
 * oci_verify() then checks the layout against the pinned digest of a
 * service's image: every blob's SHA-256 equals its name, index.json lists the
 * pinned digest, that blob is a manifest (or an index whose linux/amd64
 * manifest is taken), its config and layers exist with the sizes it states,
 * and the config's diff_ids match the layer count. Only what verified is
 * handed to oci_docker_archive(), which writes the docker-save form
 * (manifest.json, <config>.json, <layer>/layer.tar) from the verified blobs.
 */
#ifndef COCOON_OCI_H
#define COCOON_OCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cocoon/buf.h"
#include "cocoon/err.h"

#define OCI_MAX_MEMBERS 4096            /* tar members in one archive */
#define OCI_MAX_JSON (4u * 1024 * 1024) /* index.json, manifests, configs */
#define OCI_MAX_LAYERS 256
#define OCI_DIGEST_LEN 71 /* "sha256:" + 64 hex */

struct oci_member {
	char name[256]; /* normalised: no leading "./", directories without the trailing '/' */
	char type;      /* '0' regular file, '5' directory */
	const uint8_t *data;
	size_t len;
};

struct oci_tar {
	struct oci_member *m;
	size_t n;
};

/* Parses a tar held in p (len bytes, which must outlive the result).
 * Returns 0, or -EBADMSG with a message naming the member and the rule. */
int oci_tar_parse(const uint8_t *p, size_t len, struct oci_tar *out, struct cerr *err);
void oci_tar_free(struct oci_tar *t);
/* The member named `name`, NULL if none. */
const struct oci_member *oci_tar_find(const struct oci_tar *t, const char *name);

struct oci_blob {
	char digest[OCI_DIGEST_LEN + 1];
	const uint8_t *data;
	size_t len;
};

struct oci_image {
	struct oci_blob manifest; /* the pinned one (for an index: the amd64 manifest) */
	struct oci_blob config;
	struct oci_blob layers[OCI_MAX_LAYERS];
	size_t n_layers;
};

/* Verifies the layout in t against `digest` ("sha256:<64 hex>", the pinned
 * digest of the spec's image). `what` names the archive in messages. Returns
 * 0 and fills *img (pointers into the tar's buffer), or -EBADMSG / -ENOENT
 * naming the blob or file and the fix. */
int oci_verify(const struct oci_tar *t, const char *digest, const char *what, struct oci_image *img,
               struct cerr *err);

/* The docker-save archive of a verified image (no RepoTags: the loaded image
 * is known by its ID, the config digest) as a stream: tar headers, padding
 * and manifest.json in `own`, the blobs' bytes read where they lie, so a
 * multi-GiB image is never copied. */
struct oci_piece {
	bool own; /* in oci_stream.own at off, else at p */
	const uint8_t *p;
	size_t off;
	size_t n;
};

struct oci_stream {
	struct wbuf own;
	struct oci_piece *v;
	size_t n, cap;
	uint64_t total; /* bytes of the whole archive */
	size_t cur, cur_off;
};

int oci_docker_stream(const struct oci_image *img, struct oci_stream *s, struct cerr *err);
/* Copies the next bytes (at most max) into buf; 0 at the end. */
size_t oci_stream_read(struct oci_stream *s, uint8_t *buf, size_t max);
void oci_stream_free(struct oci_stream *s);

/* The same archive written whole into w (tests, small images). */
int oci_docker_archive(const struct oci_image *img, struct wbuf *w, struct cerr *err);

/* Writes one ustar member (regular file, mode 0644, mtime 0) into w; also used
 * by the tests to build archives by hand. Names up to 99 bytes; sizes of
 * 8 GiB and more in GNU base-256. */
int oci_tar_put(struct wbuf *w, const char *name, const void *data, size_t len);
/* The two zero blocks that end an archive. */
int oci_tar_end(struct wbuf *w);

#endif
