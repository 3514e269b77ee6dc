/* test_oci.c - OCI layout archives: the tar rules, verification against the
 * pinned digest, and the docker-save form. Archives are built here by hand. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cocoon/crypto.h"
#include "cocoon/oci.h"
#include "cocoon/util.h"

static void digest_of(const void *p, size_t n, char out[OCI_DIGEST_LEN + 1])
{
	uint8_t s[SHA256_LEN];

	assert_int_equal(crypto_sha256(p, n, s, NULL), 0);
	memcpy(out, "sha256:", 7);
	hex_encode(s, SHA256_LEN, out + 7);
}

static void put_blob(struct wbuf *w, const char *data, size_t len, char dg[OCI_DIGEST_LEN + 1])
{
	char name[96];

	digest_of(data, len, dg);
	snprintf(name, sizeof(name), "blobs/sha256/%s", dg + 7);
	assert_int_equal(oci_tar_put(w, name, data, len), 0);
}

struct built {
	struct wbuf w;
	char manifest[OCI_DIGEST_LEN + 1];
	char layer[OCI_DIGEST_LEN + 1];
	size_t layer_off; /* where the layer's bytes are in w */
};

/* A layout with one uncompressed layer; `index_mode` 1 wraps the manifest in
 * a multi-platform index (the pinned digest is then the index's). */
static void build(struct built *b, int index_mode)
{
	static const char layer[] = "pretend this is a layer tar";
	char cfg[512], man[1024], idx[512], top[512], cfgd[OCI_DIGEST_LEN + 1];
	char mand[OCI_DIGEST_LEN + 1];

	wbuf_init(&b->w, 0);
	assert_int_equal(oci_tar_put(&b->w, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30),
	                 0);
	b->layer_off = b->w.len + 512;
	put_blob(&b->w, layer, sizeof(layer) - 1, b->layer);
	snprintf(cfg, sizeof(cfg),
	         "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
	         "\"diff_ids\":[\"%s\"]}}",
	         b->layer);
	put_blob(&b->w, cfg, strlen(cfg), cfgd);
	snprintf(
	    man, sizeof(man),
	    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	    "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
	    "\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":%zu}]}",
	    cfgd, strlen(cfg), b->layer, sizeof(layer) - 1);
	put_blob(&b->w, man, strlen(man), mand);
	snprintf(b->manifest, sizeof(b->manifest), "%s", mand);
	if (index_mode) {
		snprintf(
		    idx, sizeof(idx),
		    "{\"schemaVersion\":2,\"mediaType\":\"application/"
		    "vnd.oci.image.index.v1+json\","
		    "\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		    "\"digest\":\"%s\",\"size\":%zu,\"platform\":{\"os\":\"linux\","
		    "\"architecture\":\"amd64\"}}]}",
		    mand, strlen(man));
		put_blob(&b->w, idx, strlen(idx), b->manifest);
		snprintf(
		    top, sizeof(top),
		    "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		    "\"application/vnd.oci.image.index.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}",
		    b->manifest, strlen(idx));
	} else {
		snprintf(top, sizeof(top),
		         "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
		         "\"application/"
		         "vnd.oci.image.manifest.v1+json\",\"digest\":\"%s\",\"size\":%zu}]}",
		         mand, strlen(man));
	}
	assert_int_equal(oci_tar_put(&b->w, "index.json", top, strlen(top)), 0);
	assert_int_equal(oci_tar_end(&b->w), 0);
}

static int verify(struct built *b, const char *digest, struct cerr *err)
{
	struct oci_tar t;
	struct oci_image img;
	int r = oci_tar_parse(b->w.p, b->w.len, &t, err);

	if (r < 0)
		return r;
	r = oci_verify(&t, digest, "img.tar", &img, err);
	oci_tar_free(&t);
	return r;
}

static void test_good(void **state)
{
	struct built b;
	struct cerr err = CERR_INIT;
	struct oci_tar t;
	struct oci_image img;

	build(&b, 0);
	assert_int_equal(oci_tar_parse(b.w.p, b.w.len, &t, &err), 0);
	assert_int_equal(oci_verify(&t, b.manifest, "img.tar", &img, &err), 0);
	assert_int_equal(img.n_layers, 1);
	assert_string_equal(img.layers[0].digest, b.layer);
	assert_string_equal(img.manifest.digest, b.manifest);
	oci_tar_free(&t);
	wbuf_free(&b.w);
}

static void test_index(void **state)
{
	struct built b;
	struct cerr err = CERR_INIT;

	build(&b, 1);
	assert_int_equal(verify(&b, b.manifest, &err), 0);
	wbuf_free(&b.w);
}

static void test_flipped_layer_byte(void **state)
{
	struct built b;
	struct cerr err = CERR_INIT;

	build(&b, 0);
	b.w.p[b.layer_off + 3] ^= 1;
	assert_int_equal(verify(&b, b.manifest, &err), -EBADMSG);
	assert_non_null(strstr(err.msg, b.layer));
	assert_non_null(strstr(err.msg, "does not match its content"));
	wbuf_free(&b.w);
}

static void test_other_digest(void **state)
{
	struct built b;
	struct cerr err = CERR_INIT;
	char other[] = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

	build(&b, 0);
	assert_int_equal(verify(&b, other, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "does not list"));
	assert_int_equal(verify(&b, "sha256:nothex", &err), -EINVAL);
	wbuf_free(&b.w);
}

/* One raw header, with a type and name of the test's choice. */
static void raw_member(struct wbuf *w, const char *name, char type, size_t size_field, size_t real)
{
	uint8_t h[512] = {0};
	unsigned sum = 0;

	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 124, 12, "%011zo", size_field);
	memset(h + 148, ' ', 8);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar", 6);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	wbuf_put(w, h, 512);
	wbuf_zero(w, (real + 511) / 512 * 512);
}

static void expect_tar_refused(struct wbuf *w, const char *needle)
{
	struct cerr err = CERR_INIT;
	struct oci_tar t;

	assert_int_equal(oci_tar_parse(w->p, w->len, &t, &err), -EBADMSG);
	if (!strstr(err.msg, needle))
		fail_msg("'%s' not in '%s'", needle, err.msg);
	wbuf_free(w);
}

static void test_tar_rules(void **state)
{
	struct wbuf w;

	wbuf_init(&w, 0);
	raw_member(&w, "/etc/passwd", '0', 0, 0);
	expect_tar_refused(&w, "absolute");

	wbuf_init(&w, 0);
	raw_member(&w, "blobs/../../x", '0', 0, 0);
	expect_tar_refused(&w, "'..'");

	wbuf_init(&w, 0);
	raw_member(&w, "index.json", '2', 0, 0);
	expect_tar_refused(&w, "type '2'");

	wbuf_init(&w, 0);
	raw_member(&w, "index.json", '1', 0, 0);
	expect_tar_refused(&w, "type '1'");

	wbuf_init(&w, 0);
	raw_member(&w, "dev", '3', 0, 0);
	expect_tar_refused(&w, "type '3'");

	wbuf_init(&w, 0);
	raw_member(&w, "index.json", '0', 4, 4);
	raw_member(&w, "./index.json", '0', 4, 4);
	expect_tar_refused(&w, "appears twice");

	wbuf_init(&w, 0);
	raw_member(&w, "big", '0', 1u << 30, 0);
	expect_tar_refused(&w, "past the end");

	wbuf_init(&w, 0);
	raw_member(&w, "x", '0', 0, 0);
	w.p[0] = 'y'; /* checksum no longer matches */
	expect_tar_refused(&w, "checksum");

	wbuf_init(&w, 0);
	raw_member(&w, "x", '0', 0, 0);
	wbuf_zero(&w, 1024);
	wbuf_put(&w, "junk", 4);
	expect_tar_refused(&w, "after the end");

	wbuf_init(&w, 0);
	wbuf_put(&w, "short", 5);
	expect_tar_refused(&w, "not a tar");
}

static void fix_sum(uint8_t *h)
{
	unsigned sum = 0;

	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/* GNU base-256 sizes (how members of 8 GiB and more are written) parse */
static void test_base256_size(void **state)
{
	struct wbuf w;
	struct cerr err = CERR_INIT;
	struct oci_tar t;

	wbuf_init(&w, 0);
	assert_int_equal(oci_tar_put(&w, "x", "hello", 5), 0);
	memset(w.p + 124, 0, 12);
	w.p[124] = 0x80;
	w.p[135] = 5;
	fix_sum(w.p);
	assert_int_equal(oci_tar_parse(w.p, w.len, &t, &err), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.m[0].len, 5);
	assert_memory_equal(t.m[0].data, "hello", 5);
	oci_tar_free(&t);
	w.p[124] = 0xff; /* negative */
	fix_sum(w.p);
	expect_tar_refused(&w, "size field");
}

static void test_unexpected_member(void **state)
{
	struct wbuf w;
	struct cerr err = CERR_INIT;
	struct oci_tar t;
	struct oci_image img;

	wbuf_init(&w, 0);
	oci_tar_put(&w, "etc/evil", "x", 1);
	oci_tar_end(&w);
	assert_int_equal(oci_tar_parse(w.p, w.len, &t, &err), 0);
	assert_int_equal(oci_verify(&t,
	                            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123"
	                            "456789abcdef",
	                            "img.tar", &img, &err),
	                 -EBADMSG);
	assert_non_null(strstr(err.msg, "etc/evil"));
	oci_tar_free(&t);
	wbuf_free(&w);
}

static void test_docker_archive(void **state)
{
	struct built b;
	struct cerr err = CERR_INIT;
	struct oci_tar t, d;
	struct oci_image img;
	struct wbuf out;
	const struct oci_member *m;
	char name[96];

	build(&b, 0);
	assert_int_equal(oci_tar_parse(b.w.p, b.w.len, &t, &err), 0);
	assert_int_equal(oci_verify(&t, b.manifest, "img.tar", &img, &err), 0);
	wbuf_init(&out, 0);
	assert_int_equal(oci_docker_archive(&img, &out, &err), 0);
	assert_int_equal(oci_tar_parse(out.p, out.len, &d, &err), 0);
	m = oci_tar_find(&d, "manifest.json");
	assert_non_null(m);
	snprintf(name, sizeof(name), "%s/layer.tar", b.layer + 7);
	assert_non_null(memmem(m->data, m->len, name, strlen(name)));
	assert_non_null(oci_tar_find(&d, name));
	oci_tar_free(&d);
	oci_tar_free(&t);
	wbuf_free(&out);
	wbuf_free(&b.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_index),
	    cmocka_unit_test(test_flipped_layer_byte),
	    cmocka_unit_test(test_other_digest),
	    cmocka_unit_test(test_tar_rules),
	    cmocka_unit_test(test_base256_size),
	    cmocka_unit_test(test_unexpected_member),
	    cmocka_unit_test(test_docker_archive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
