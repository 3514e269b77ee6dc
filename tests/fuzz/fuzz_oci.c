/* fuzz_oci.c - libFuzzer target for the OCI layout archive reader.
 *
 * Input: a tar as the host could put in /data/images. It goes through the
 * tar reader, then (when it parses) the layout verification pinned to a fixed
 * digest and to each of the first blobs' names (so that seeds reach the
 * manifest and config checks); every member found must lie inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cocoon/oci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pin[] =
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct oci_tar t;
	struct oci_image img;
	struct cerr err = CERR_INIT;

	if (oci_tar_parse(data, size, &t, &err) < 0)
		return 0;
	for (size_t i = 0; i < t.n; i++)
		if (t.m[i].data < data || t.m[i].len > size ||
		    (size_t)(t.m[i].data - data) > size - t.m[i].len)
			abort();
	if (oci_verify(&t, pin, "fuzz.tar", &img, &err) == 0 && img.n_layers == 0)
		abort();
	for (size_t i = 0, tried = 0; i < t.n && tried < 4; i++) {
		char d[OCI_DIGEST_LEN + 1];
		if (strncmp(t.m[i].name, "blobs/sha256/", 13) || strlen(t.m[i].name) != 77)
			continue;
		memcpy(d, "sha256:", 7);
		memcpy(d + 7, t.m[i].name + 13, 65);
		tried++;
		if (oci_verify(&t, d, "fuzz.tar", &img, &err) == 0 && img.n_layers == 0)
			abort();
	}
	oci_tar_free(&t);
	return 0;
}
