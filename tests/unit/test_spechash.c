/* test_spechash.c - git object ids and the walk on small trees made here.
 * Expected ids come from `git hash-object` / `git write-tree` with
 * --object-format=sha256. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/spechash.h"
#include "cocoon/util.h"

static void blob_ids(void **state)
{
	uint8_t id[32];
	char hex[65];

	assert_int_equal(spec_blob_id("hello\n", 6, id, NULL), 0);
	hex_encode(id, 32, hex);
	assert_string_equal(hex,
	                    "2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4");
	assert_int_equal(spec_blob_id("", 0, id, NULL), 0);
	hex_encode(id, 32, hex);
	assert_string_equal(hex,
	                    "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813");
}

static char *mkspec(void)
{
	char *d = strdup("/tmp/test-spechash-XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static void put(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
}

static void rmrf(const char *d)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
}

static void empty_tree(void **state)
{
	char *d = mkspec();
	char hex[65];
	struct spec_stats st;

	assert_int_equal(spec_hash_dir(d, hex, &st, NULL, NULL), 0);
	assert_string_equal(hex,
	                    "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321");
	assert_int_equal(st.files, 0);
	/* only removed and ignored things: still the empty tree */
	put(d, "spec.meta", "x\n", 0644);
	put(d, ".gitignore", "*\n", 0644);
	put(d, "a", "x\n", 0644);
	assert_int_equal(spec_hash_dir(d, hex, &st, NULL, NULL), 0);
	assert_string_equal(hex,
	                    "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321");
	assert_int_equal(st.ignored, 1);
	rmrf(d);
	free(d);
}

static void one_file_and_exec_bit(void **state)
{
	char *d = mkspec();
	char hex[65], hex2[65];

	put(d, "hello", "hello\n", 0644);
	assert_int_equal(spec_hash_dir(d, hex, NULL, NULL, NULL), 0);
	/* only the owner's execute bit counts, as in git */
	chmod(strcat(strcpy((char[4200]){0}, d), "/hello"), 0654);
	assert_int_equal(spec_hash_dir(d, hex2, NULL, NULL, NULL), 0);
	assert_string_equal(hex, hex2);
	chmod(strcat(strcpy((char[4200]){0}, d), "/hello"), 0744);
	assert_int_equal(spec_hash_dir(d, hex2, NULL, NULL, NULL), 0);
	assert_string_not_equal(hex, hex2);
	rmrf(d);
	free(d);
}

static void refusal_names_path(void **state)
{
	char *d = mkspec();
	char p[4200], hex[65];
	struct cerr err = CERR_INIT;

	snprintf(p, sizeof(p), "%s/sub", d);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/sub/l", d);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(spec_hash_dir(d, hex, NULL, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "'sub/l'"));
	assert_non_null(strstr(err.msg, "symbolic link"));
	rmrf(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(blob_ids),
	    cmocka_unit_test(empty_tree),
	    cmocka_unit_test(one_file_and_exec_bit),
	    cmocka_unit_test(refusal_names_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
