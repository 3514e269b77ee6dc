/* oci.c - OCI image layout archives: a strict tar reader, verification
 * against a pinned manifest digest, and the docker-save form dockerd 20.10
 * loads. See oci.h for the rules and why the archive must be a private copy.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cocoon/crypto.h"
#include "cocoon/oci.h"
#include "cocoon/util.h"

#define BLOCK 512

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* An octal field (NUL/space terminated) or GNU base-256; bounded. */
static int tar_number(const uint8_t *f, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -EBADMSG; /* negative or too big */
		for (i = 1; i < n; i++) {
			if (v >> 55)
				return -EBADMSG;
			v = (v << 8) | f[i];
		}
		*out = v;
		return 0;
	}
	while (i < n && f[i] == ' ')
		i++;
	if (i == n || f[i] < '0' || f[i] > '7')
		return -EBADMSG;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -EBADMSG;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < n; i++)
		if (f[i] != ' ' && f[i] != 0)
			return -EBADMSG;
	*out = v;
	return 0;
}

static size_t field_len(const uint8_t *f, size_t n)
{
	const uint8_t *z = memchr(f, 0, n);
	return z ? (size_t)(z - f) : n;
}

/* Normalises a member name in place: drops leading "./" and a trailing '/',
 * refuses absolute names, empty, "." and ".." components, and bytes outside
 * printable ASCII. */
static int normalise_name(char *name)
{
	char *s = name;
	size_t n;

	while (s[0] == '.' && s[1] == '/')
		s += 2;
	memmove(name, s, strlen(s) + 1);
	n = strlen(name);
	if (n && name[n - 1] == '/')
		name[--n] = 0;
	if (!n || name[0] == '/')
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e)
			return -EBADMSG;
	for (s = name;;) {
		char *e = strchr(s, '/');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l == 0 || (l == 1 && s[0] == '.') || (l == 2 && s[0] == '.' && s[1] == '.'))
			return -EBADMSG;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

/* The `path` and `size` records of a PAX extended header; others ignored. */
static int pax_parse(const uint8_t *p, size_t len, char *path, size_t pathlen, uint64_t *size,
                     bool *has_size)
{
	size_t off = 0;

	while (off < len) {
		uint64_t rl = 0;
		size_t i = off;
		const uint8_t *kv, *eq;
		size_t kvlen;

		while (i < len && p[i] >= '0' && p[i] <= '9' && i - off < 12)
			rl = rl * 10 + (uint64_t)(p[i++] - '0');
		if (i == off || i >= len || p[i] != ' ' || rl > len - off || rl < (i - off) + 3)
			return -EBADMSG;
		kv = p + i + 1;
		kvlen = (size_t)rl - (i - off) - 1;
		if (kv[kvlen - 1] != '\n')
			return -EBADMSG;
		kvlen--;
		eq = memchr(kv, '=', kvlen);
		if (!eq)
			return -EBADMSG;
		size_t kl = (size_t)(eq - kv), vl = kvlen - kl - 1;
		if (kl == 4 && !memcmp(kv, "path", 4)) {
			if (vl == 0 || vl >= pathlen || memchr(eq + 1, 0, vl))
				return -EBADMSG;
			memcpy(path, eq + 1, vl);
			path[vl] = 0;
		} else if (kl == 4 && !memcmp(kv, "size", 4)) {
			uint64_t v = 0;
			if (vl == 0 || vl > 18)
				return -EBADMSG;
			for (size_t j = 0; j < vl; j++) {
				if (eq[1 + j] < '0' || eq[1 + j] > '9')
					return -EBADMSG;
				v = v * 10 + (uint64_t)(eq[1 + j] - '0');
			}
			*size = v;
			*has_size = true;
		} else if (kl == 8 && !memcmp(kv, "linkpath", 8)) {
			return -EBADMSG;
		}
		off += (size_t)rl;
	}
	return 0;
}

static int cmp_member(const void *a, const void *b)
{
	return strcmp(((const struct oci_member *)a)->name, ((const struct oci_member *)b)->name);
}

int oci_tar_parse(const uint8_t *p, size_t len, struct oci_tar *out, struct cerr *err)
{
	_cleanup_free_ struct oci_member *m = NULL;
	struct rbuf r;
	size_t n = 0, cap = 0;
	char pax_path[256] = "";
	uint64_t pax_size = 0;
	bool pax = false, pax_has_size = false, ended = false;

	memset(out, 0, sizeof(*out));
	rbuf_init(&r, p, len);
	while (rbuf_left(&r)) {
		const uint8_t *h, *data;
		uint64_t size, sum, want = 0;
		char name[256];
		size_t at = r.off, nl, pl;
		char type;

		if (rbuf_direct(&r, BLOCK, &h) < 0)
			return cerr_setx(err, EBADMSG,
			                 "tar: %zu bytes after the last block at offset %zu: "
			                 "not a tar archive or truncated",
			                 rbuf_left(&r), at);
		if (all_zero(h, BLOCK)) {
			if (pax)
				return cerr_setx(err, EBADMSG,
				                 "tar: PAX header without a member at the end");
			ended = true;
			break;
		}
		for (size_t i = 0; i < BLOCK; i++)
			want += (i >= 148 && i < 156) ? ' ' : h[i];
		if (tar_number(h + 148, 8, &sum) < 0 || sum != want)
			return cerr_setx(err, EBADMSG, "tar: bad header checksum at offset %zu",
			                 at);
		if (memcmp(h + 257, "ustar", 5))
			return cerr_setx(err, EBADMSG, "tar: header at offset %zu is not ustar/PAX",
			                 at);
		if (tar_number(h + 124, 12, &size) < 0)
			return cerr_setx(err, EBADMSG, "tar: bad size field at offset %zu", at);
		type = (char)h[156];
		if (pax && pax_has_size)
			size = pax_size;
		if (size > rbuf_left(&r) || rbuf_direct(&r, (size_t)size, &data) < 0)
			return cerr_setx(
			    err, EBADMSG,
			    "tar: member at offset %zu says %llu bytes, past the end of the "
			    "archive (truncated or forged)",
			    at, (unsigned long long)size);
		if (rbuf_skip(&r, (BLOCK - size % BLOCK) % BLOCK) < 0)
			return cerr_setx(err, EBADMSG, "tar: member at offset %zu is not padded",
			                 at);
		if (type == 'x') {
			if (pax)
				return cerr_setx(err, EBADMSG,
				                 "tar: two PAX headers in a row at offset %zu", at);
			if (size > 65536 ||
			    pax_parse(data, (size_t)size, pax_path, sizeof(pax_path), &pax_size,
			              &pax_has_size) < 0)
				return cerr_setx(err, EBADMSG, "tar: bad PAX header at offset %zu",
				                 at);
			pax = true;
			continue;
		}
		if (pax && pax_path[0]) {
			snprintf(name, sizeof(name), "%s", pax_path);
		} else {
			nl = field_len(h, 100);
			pl = field_len(h + 345, 155);
			if (pl + 1 + nl >= sizeof(name))
				return cerr_setx(err, EBADMSG, "tar: name too long at offset %zu",
				                 at);
			if (pl)
				snprintf(name, sizeof(name), "%.*s/%.*s", (int)pl,
				         (const char *)h + 345, (int)nl, (const char *)h);
			else
				snprintf(name, sizeof(name), "%.*s", (int)nl, (const char *)h);
		}
		pax = pax_has_size = false;
		pax_path[0] = 0;
		if (normalise_name(name) < 0)
			return cerr_setx(
			    err, EBADMSG,
			    "tar: member name '%.80s' at offset %zu is absolute, has an "
			    "empty, '.' or '..' component or odd bytes: refused",
			    name, at);
		if (type != '0' && type != 0 && type != '5')
			return cerr_setx(
			    err, EBADMSG,
			    "tar: member '%s' is of type '%c' (link, device, FIFO or "
			    "extension): only regular files and directories are allowed",
			    name, type > 0x20 && type < 0x7f ? type : '?');
		if (type == '5' && size)
			return cerr_setx(err, EBADMSG, "tar: directory '%s' has data", name);
		if (n == OCI_MAX_MEMBERS)
			return cerr_setx(err, EBADMSG, "tar: more than %d members",
			                 OCI_MAX_MEMBERS);
		if (n == cap) {
			struct oci_member *nm;
			cap = cap ? 2 * cap : 16;
			nm = reallocarray(m, cap, sizeof(*m));
			if (!nm)
				return cerr_set(err, ENOMEM, "tar");
			m = nm;
		}
		snprintf(m[n].name, sizeof(m[n].name), "%s", name);
		m[n].type = type == '5' ? '5' : '0';
		m[n].data = data;
		m[n].len = (size_t)size;
		n++;
	}
	if (pax)
		return cerr_setx(err, EBADMSG, "tar: PAX header without a member at the end");
	if (ended) {
		const uint8_t *rest;
		size_t left = rbuf_left(&r);
		if (rbuf_direct(&r, left, &rest) < 0 || !all_zero(rest, left))
			return cerr_setx(err, EBADMSG, "tar: data after the end-of-archive blocks");
	}
	qsort(m, n, sizeof(*m), cmp_member);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(m[i - 1].name, m[i].name))
			return cerr_setx(err, EBADMSG,
			                 "tar: member '%s' appears twice (which one counts would "
			                 "depend on the reader): refused",
			                 m[i].name);
	out->m = TAKE_PTR(m);
	out->n = n;
	return 0;
}

void oci_tar_free(struct oci_tar *t)
{
	free(t->m);
	t->m = NULL;
	t->n = 0;
}

const struct oci_member *oci_tar_find(const struct oci_tar *t, const char *name)
{
	struct oci_member key;

	if (!t->n || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, t->m, t->n, sizeof(*t->m), cmp_member);
}

/* ---- the layout ---- */

static bool digest_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) || strlen(d) != OCI_DIGEST_LEN)
		return false;
	for (size_t i = 7; i < OCI_DIGEST_LEN; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

static void json_put(json_object **o)
{
	if (*o)
		json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_put)))

static int parse_json(const struct oci_member *mem, const char *what, json_object **out,
                      struct cerr *err)
{
	json_tokener *tok;
	json_object *o;

	if (mem->len > OCI_MAX_JSON)
		return cerr_setx(err, EBADMSG, "%s: %s is over %u bytes", what, mem->name,
		                 OCI_MAX_JSON);
	if (memchr(mem->data, 0, mem->len))
		return cerr_setx(err, EBADMSG, "%s: %s holds a NUL byte", what, mem->name);
	tok = json_tokener_new_ex(32);
	if (!tok)
		return cerr_set(err, ENOMEM, "%s", what);
	o = json_tokener_parse_ex(tok, (const char *)mem->data, (int)mem->len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != mem->len ||
	    !json_object_is_type(o, json_type_object)) {
		json_tokener_free(tok);
		json_put(&o);
		return cerr_setx(err, EBADMSG, "%s: %s is not one JSON object", what, mem->name);
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *jarr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* A descriptor {mediaType, digest, size}: the blob must exist with that size. */
static int descriptor(const struct oci_tar *t, json_object *d, const char *what, const char *where,
                      struct oci_blob *b, const char **media, struct cerr *err)
{
	const char *dg, *mt;
	json_object *sz;
	char path[96];
	const struct oci_member *mem;
	int64_t size;

	if (!json_object_is_type(d, json_type_object))
		return cerr_setx(err, EBADMSG, "%s: %s is not a descriptor object", what, where);
	dg = jstr(d, "digest");
	mt = jstr(d, "mediaType");
	if (!dg || !digest_ok(dg))
		return cerr_setx(err, EBADMSG, "%s: %s has no sha256 digest", what, where);
	if (!json_object_object_get_ex(d, "size", &sz) || !json_object_is_type(sz, json_type_int) ||
	    (size = json_object_get_int64(sz)) < 0)
		return cerr_setx(err, EBADMSG, "%s: %s has no size", what, where);
	if (json_object_object_get_ex(d, "urls", NULL))
		return cerr_setx(err, EBADMSG,
		                 "%s: %s (blob %s) points at foreign URLs: only blobs in the "
		                 "archive are used",
		                 what, where, dg);
	snprintf(path, sizeof(path), "blobs/sha256/%s", dg + 7);
	mem = oci_tar_find(t, path);
	if (!mem || mem->type != '0')
		return cerr_setx(err, ENOENT, "%s: %s names blob %s, which is not in the archive",
		                 what, where, dg);
	if ((uint64_t)size != mem->len)
		return cerr_setx(err, EBADMSG,
		                 "%s: %s says blob %s has %lld bytes, the archive holds %zu", what,
		                 where, dg, (long long)size, mem->len);
	snprintf(b->digest, sizeof(b->digest), "%s", dg);
	b->data = mem->data;
	b->len = mem->len;
	if (media)
		*media = mt;
	return 0;
}

static bool is_index(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.index.v1+json") ||
	              !strcmp(mt, "application/vnd.docker.distribution.manifest.list.v2+json"));
}

static bool is_manifest(const char *mt)
{
	return mt && (!strcmp(mt, "application/vnd.oci.image.manifest.v1+json") ||
	              !strcmp(mt, "application/vnd.docker.distribution.manifest.v2+json"));
}

static bool layer_gzip(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.layer.v1.tar+gzip") ||
	       !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar.gzip");
}

static bool layer_plain(const char *mt)
{
	return !strcmp(mt, "application/vnd.oci.image.layer.v1.tar");
}

static int blob_json(const struct oci_blob *b, const char *what, json_object **out,
                     struct cerr *err)
{
	struct oci_member mem = {.type = '0', .data = b->data, .len = b->len};

	snprintf(mem.name, sizeof(mem.name), "blob %s", b->digest);
	return parse_json(&mem, what, out, err);
}

/* Every member is one the layout allows, and every blob hashes to its name. */
static int check_members(const struct oci_tar *t, const char *what, struct cerr *err)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct oci_member *mem = &t->m[i];
		uint8_t sum[SHA256_LEN];
		char hex[2 * SHA256_LEN + 1];
		int r;

		if (!strcmp(mem->name, "blobs") || !strcmp(mem->name, "blobs/sha256")) {
			if (mem->type != '5')
				return cerr_setx(err, EBADMSG, "%s: %s must be a directory", what,
				                 mem->name);
			continue;
		}
		if (!strcmp(mem->name, "oci-layout") || !strcmp(mem->name, "index.json") ||
		    !strcmp(mem->name, "manifest.json") || !strcmp(mem->name, "repositories")) {
			if (mem->type != '0')
				return cerr_setx(err, EBADMSG, "%s: %s must be a file", what,
				                 mem->name);
			continue;
		}
		if (strncmp(mem->name, "blobs/sha256/", 13) || strlen(mem->name) != 13 + 64 ||
		    mem->type != '0') {
			return cerr_setx(err, EBADMSG,
			                 "%s: unexpected member '%s': an OCI layout holds only "
			                 "oci-layout, index.json and blobs/sha256/<64 hex>",
			                 what, mem->name);
		}
		r = crypto_sha256(mem->data, mem->len, sum, err);
		if (r < 0)
			return r;
		hex_encode(sum, SHA256_LEN, hex);
		if (strcmp(hex, mem->name + 13))
			return cerr_setx(
			    err, EBADMSG,
			    "%s: blob sha256:%s does not match its content (sha256:%s): "
			    "the archive is corrupt or was altered; replace it with the "
			    "one built for the spec",
			    what, mem->name + 13, hex);
	}
	return 0;
}

int oci_verify(const struct oci_tar *t, const char *digest, const char *what, struct oci_image *img,
               struct cerr *err)
{
	_cleanup_json_ json_object *layout = NULL, *index = NULL, *man = NULL, *sub = NULL,
	                           *cfg = NULL;
	const struct oci_member *mem;
	json_object *arr, *d, *diff, *rootfs;
	const char *mt = NULL, *v;
	bool listed = false;
	int r;

	memset(img, 0, sizeof(*img));
	if (!digest_ok(digest))
		return cerr_setx(err, EINVAL, "%s: '%s' is not a sha256 digest", what, digest);
	r = check_members(t, what, err);
	if (r < 0)
		return r;

	mem = oci_tar_find(t, "oci-layout");
	if (!mem)
		return cerr_setx(err, ENOENT,
		                 "%s: no oci-layout file: not an OCI image layout "
		                 "(make it with `docker save` of docker 25+ or `skopeo copy ... "
		                 "oci-archive:`)",
		                 what);
	r = parse_json(mem, what, &layout, err);
	if (r < 0)
		return r;
	v = jstr(layout, "imageLayoutVersion");
	if (!v || strcmp(v, "1.0.0"))
		return cerr_setx(err, EBADMSG,
		                 "%s: oci-layout: imageLayoutVersion must be \"1.0.0\"", what);

	mem = oci_tar_find(t, "index.json");
	if (!mem)
		return cerr_setx(err, ENOENT, "%s: no index.json", what);
	r = parse_json(mem, what, &index, err);
	if (r < 0)
		return r;
	arr = jarr(index, "manifests");
	if (!arr)
		return cerr_setx(err, EBADMSG, "%s: index.json has no manifests list", what);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		d = json_object_array_get_idx(arr, i);
		v = json_object_is_type(d, json_type_object) ? jstr(d, "digest") : NULL;
		if (v && !strcmp(v, digest)) {
			r = descriptor(t, d, what, "index.json", &img->manifest, &mt, err);
			if (r < 0)
				return r;
			listed = true;
			break;
		}
	}
	if (!listed)
		return cerr_setx(
		    err, ENOENT,
		    "%s: index.json does not list %s, the digest the spec pins: the "
		    "archive holds another image (or docker save rewrote its manifest; "
		    "see docs/docker-mode.md)",
		    what, digest);
	r = blob_json(&img->manifest, what, &man, err);
	if (r < 0)
		return r;
	if (jstr(man, "mediaType"))
		mt = jstr(man, "mediaType");
	if (is_index(mt) || (!mt && jarr(man, "manifests"))) {
		/* a multi-platform index: the linux/amd64 manifest is the image */
		bool found = false;
		arr = jarr(man, "manifests");
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			json_object *plat;
			d = json_object_array_get_idx(arr, i);
			if (!json_object_is_type(d, json_type_object) ||
			    !json_object_object_get_ex(d, "platform", &plat) ||
			    !json_object_is_type(plat, json_type_object))
				continue;
			v = jstr(plat, "os");
			if (!v || strcmp(v, "linux") || !(v = jstr(plat, "architecture")) ||
			    strcmp(v, "amd64"))
				continue;
			r = descriptor(t, d, what, "the index's linux/amd64 entry", &img->manifest,
			               &mt, err);
			if (r < 0)
				return r;
			found = true;
			break;
		}
		if (!found)
			return cerr_setx(err, ENOENT, "%s: index %s has no linux/amd64 manifest",
			                 what, digest);
		sub = TAKE_PTR(man);
		r = blob_json(&img->manifest, what, &man, err);
		if (r < 0)
			return r;
		if (jstr(man, "mediaType"))
			mt = jstr(man, "mediaType");
	}
	if (!is_manifest(mt) && !(mt == NULL && jarr(man, "layers")))
		return cerr_setx(err, EBADMSG,
		                 "%s: blob %s is not an image manifest (mediaType %s)", what,
		                 img->manifest.digest, mt ? mt : "missing");
	if (!json_object_object_get_ex(man, "schemaVersion", &d) || json_object_get_int(d) != 2)
		return cerr_setx(err, EBADMSG, "%s: manifest %s: schemaVersion must be 2", what,
		                 img->manifest.digest);
	if (!json_object_object_get_ex(man, "config", &d))
		return cerr_setx(err, EBADMSG, "%s: manifest %s has no config", what,
		                 img->manifest.digest);
	r = descriptor(t, d, what, "the manifest's config", &img->config, NULL, err);
	if (r < 0)
		return r;
	arr = jarr(man, "layers");
	if (!arr || json_object_array_length(arr) == 0 ||
	    json_object_array_length(arr) > OCI_MAX_LAYERS)
		return cerr_setx(err, EBADMSG, "%s: manifest %s must list 1 to %d layers", what,
		                 img->manifest.digest, OCI_MAX_LAYERS);
	img->n_layers = json_object_array_length(arr);

	r = blob_json(&img->config, what, &cfg, err);
	if (r < 0)
		return r;
	if (!json_object_object_get_ex(cfg, "rootfs", &rootfs) ||
	    !json_object_is_type(rootfs, json_type_object) || !(diff = jarr(rootfs, "diff_ids")) ||
	    json_object_array_length(diff) != img->n_layers)
		return cerr_setx(
		    err, EBADMSG,
		    "%s: config %s: rootfs.diff_ids must list one digest per layer (%zu)", what,
		    img->config.digest, img->n_layers);
	v = jstr(cfg, "os");
	if (!v || strcmp(v, "linux"))
		return cerr_setx(err, EBADMSG, "%s: config %s: os must be linux", what,
		                 img->config.digest);

	for (size_t i = 0; i < img->n_layers; i++) {
		char where[64];
		const char *id;
		snprintf(where, sizeof(where), "layer %zu of the manifest", i);
		r = descriptor(t, json_object_array_get_idx(arr, i), what, where, &img->layers[i],
		               &mt, err);
		if (r < 0)
			return r;
		if (!mt || !(layer_gzip(mt) || layer_plain(mt)))
			return cerr_setx(
			    err, EBADMSG,
			    "%s: layer %s has media type %s: dockerd 20.10 loads only tar "
			    "and tar+gzip layers (zstd and foreign layers are refused)",
			    what, img->layers[i].digest, mt ? mt : "missing");
		id = json_object_get_string(json_object_array_get_idx(diff, i));
		if (!id || !digest_ok(id))
			return cerr_setx(err, EBADMSG,
			                 "%s: config %s: diff_ids[%zu] is not a digest", what,
			                 img->config.digest, i);
		/* compressed layers: dockerd checks each diff_id when it loads them */
		if (layer_plain(mt) && strcmp(id, img->layers[i].digest))
			return cerr_setx(
			    err, EBADMSG,
			    "%s: layer %s is uncompressed but the config's diff_ids[%zu] is "
			    "%s",
			    what, img->layers[i].digest, i, id);
	}
	return 0;
}

/* ---- writing tar (docker-save form, and for tests) ---- */

/* One ustar header; sizes of 8 GiB and more in GNU base-256, which Go's
 * archive/tar (dockerd) reads. */
static int tar_header(struct wbuf *w, const char *name, uint64_t len)
{
	uint8_t h[BLOCK] = {0};
	unsigned sum = 0;

	if (strlen(name) >= 100)
		return wbuf_fail(w, -ENAMETOOLONG);
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	if (len > 077777777777ull) {
		h[124] = 0x80;
		for (int i = 0; i < 8; i++)
			h[135 - i] = (uint8_t)(len >> (8 * i));
	} else {
		snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)len);
	}
	snprintf((char *)h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (size_t i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	return wbuf_put(w, h, BLOCK);
}

int oci_tar_put(struct wbuf *w, const char *name, const void *data, size_t len)
{
	tar_header(w, name, len);
	wbuf_put(w, data, len);
	wbuf_zero(w, (BLOCK - len % BLOCK) % BLOCK);
	return wbuf_status(w);
}

int oci_tar_end(struct wbuf *w)
{
	wbuf_zero(w, 2 * BLOCK);
	return wbuf_status(w);
}

/* ---- the docker-save form, as pieces ---- */

static int piece_add(struct oci_stream *s, bool own, const uint8_t *p, size_t off, size_t n)
{
	if (!n)
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct oci_piece *v = reallocarray(s->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct oci_piece){.own = own, .p = p, .off = off, .n = n};
	s->total += n;
	return 0;
}

/* A member whose data stays where it is (the verified blob). */
static int stream_member(struct oci_stream *s, const char *name, const uint8_t *data, size_t len)
{
	size_t at = s->own.len;
	int r = tar_header(&s->own, name, len);

	if (r >= 0)
		r = piece_add(s, true, NULL, at, BLOCK);
	if (r >= 0)
		r = piece_add(s, false, data, 0, len);
	at = s->own.len;
	if (r >= 0 && len % BLOCK)
		r = wbuf_zero(&s->own, BLOCK - len % BLOCK);
	if (r >= 0)
		r = piece_add(s, true, NULL, at, s->own.len - at);
	return r;
}

int oci_docker_stream(const struct oci_image *img, struct oci_stream *s, struct cerr *err)
{
	_cleanup_json_ json_object *top = json_object_new_array();
	json_object *ent = json_object_new_object(), *layers = json_object_new_array();
	char name[96];
	const char *js;
	size_t at;
	int r;

	memset(s, 0, sizeof(*s));
	wbuf_init(&s->own, 0);
	if (!top || !ent || !layers) {
		json_put(&ent);
		json_put(&layers);
		return cerr_set(err, ENOMEM, "docker archive");
	}
	json_object_array_add(top, ent);
	json_object_object_add(ent, "Layers", layers);
	snprintf(name, sizeof(name), "%s.json", img->config.digest + 7);
	json_object_object_add(ent, "Config", json_object_new_string(name));
	json_object_object_add(ent, "RepoTags", NULL);
	r = stream_member(s, name, img->config.data, img->config.len);
	for (size_t i = 0; i < img->n_layers && r >= 0; i++) {
		bool seen = false;
		snprintf(name, sizeof(name), "%s/layer.tar", img->layers[i].digest + 7);
		json_object_array_add(layers, json_object_new_string(name));
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(img->layers[j].digest, img->layers[i].digest);
		if (!seen)
			r = stream_member(s, name, img->layers[i].data, img->layers[i].len);
	}
	if (r >= 0) {
		js = json_object_to_json_string_ext(top, JSON_C_TO_STRING_PLAIN |
		                                             JSON_C_TO_STRING_NOSLASHESCAPE);
		at = s->own.len;
		oci_tar_put(&s->own, "manifest.json", js, strlen(js));
		r = oci_tar_end(&s->own);
		if (r >= 0)
			r = piece_add(s, true, NULL, at, s->own.len - at);
	}
	if (r < 0) {
		oci_stream_free(s);
		return cerr_set(err, -r, "writing the docker archive of %s", img->manifest.digest);
	}
	return 0;
}

size_t oci_stream_read(struct oci_stream *s, uint8_t *buf, size_t max)
{
	size_t done = 0;

	while (done < max && s->cur < s->n) {
		const struct oci_piece *pc = &s->v[s->cur];
		const uint8_t *src = pc->own ? s->own.p + pc->off : pc->p;
		size_t k = pc->n - s->cur_off;

		if (k > max - done)
			k = max - done;
		memcpy(buf + done, src + s->cur_off, k);
		done += k;
		s->cur_off += k;
		if (s->cur_off == pc->n) {
			s->cur++;
			s->cur_off = 0;
		}
	}
	return done;
}

void oci_stream_free(struct oci_stream *s)
{
	wbuf_free(&s->own);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int oci_docker_archive(const struct oci_image *img, struct wbuf *w, struct cerr *err)
{
	struct oci_stream s;
	uint8_t buf[65536];
	size_t n;
	int r = oci_docker_stream(img, &s, err);

	if (r < 0)
		return r;
	while ((n = oci_stream_read(&s, buf, sizeof(buf))) > 0)
		wbuf_put(w, buf, n);
	oci_stream_free(&s);
	r = wbuf_status(w);
	return r < 0 ? cerr_set(err, -r, "docker archive of %s", img->manifest.digest) : 0;
}
