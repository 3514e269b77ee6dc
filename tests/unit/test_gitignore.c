/* test_gitignore.c - git's ignore rules, case by case. The generated-tree
 * comparison with git itself lives in tests/integration/spec_vs_git.py; these
 * pin individual rules so a regression names the rule it broke. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cocoon/gitignore.h"

/* verdict of a single .gitignore at `base` with `text` for path */
static enum gi_verdict v(const char *base, const char *text, const char *path, bool is_dir)
{
	struct gi_list l;
	enum gi_verdict r;

	assert_int_equal(gi_list_parse(&l, base, text, strlen(text), NULL), 0);
	r = gi_list_match(&l, path, strlen(path), is_dir);
	gi_list_free(&l);
	return r;
}

#define EXCL(text, path, dir) assert_int_equal(v("", text, path, dir), GI_EXCLUDE)
#define INCL(text, path, dir) assert_int_equal(v("", text, path, dir), GI_INCLUDE)
#define NONE(text, path, dir) assert_int_equal(v("", text, path, dir), GI_UNDECIDED)

static void comments_and_blank_lines(void **state)
{
	NONE("# foo\n\n", "# foo", false);
	NONE("#foo\n", "#foo", false);
	EXCL("\\#foo\n", "#foo", false);
	NONE("\n\n   \n", "a", false);
}

static void trailing_spaces(void **state)
{
	EXCL("foo   \n", "foo", false);
	NONE("foo   \n", "foo   ", false);
	EXCL("foo\\ \n", "foo ", false);
	NONE("foo\\ \n", "foo", false);
	/* a tab is not trimmed */
	NONE("foo\t\n", "foo", false);
	EXCL("foo\t\n", "foo\t", false);
}

static void crlf_and_bom(void **state)
{
	EXCL("foo\r\nbar\r\n", "foo", false);
	EXCL("foo\r\nbar\r\n", "bar", false);
	EXCL("\xef\xbb\xbf"
	     "foo\n",
	     "foo", false);
	/* the last line without a newline keeps its CR */
	NONE("foo\r", "foo", false);
}

static void negation(void **state)
{
	INCL("*.c\n!keep.c\n", "keep.c", false);
	EXCL("*.c\n!keep.c\n", "drop.c", false);
	/* the last matching pattern decides */
	EXCL("!keep.c\n*.c\n", "keep.c", false);
	EXCL("\\!bang\n", "!bang", false);
	NONE("!\n", "x", false);
}

static void directory_only(void **state)
{
	EXCL("build/\n", "build", true);
	NONE("build/\n", "build", false);
	EXCL("build/\n", "a/b/build", true);
	EXCL("build\n", "build", false);
}

static void basename_vs_anchored(void **state)
{
	EXCL("foo\n", "a/b/foo", false);
	EXCL("/foo\n", "foo", false);
	NONE("/foo\n", "a/foo", false);
	EXCL("a/foo\n", "a/foo", false);
	NONE("a/foo\n", "x/a/foo", false);
	EXCL("doc/*.txt\n", "doc/x.txt", false);
	NONE("doc/*.txt\n", "doc/sub/x.txt", false);
	/* patterns of a deeper .gitignore are relative to its directory */
	assert_int_equal(v("sub/", "/x\n", "sub/x", false), GI_EXCLUDE);
	assert_int_equal(v("sub/", "/x\n", "x", false), GI_UNDECIDED);
	assert_int_equal(v("sub/", "/x\n", "subx", false), GI_UNDECIDED);
	assert_int_equal(v("sub/", "y/x\n", "sub/y/x", false), GI_EXCLUDE);
}

static void double_star(void **state)
{
	EXCL("**/foo\n", "foo", false);
	EXCL("**/foo\n", "a/b/foo", false);
	EXCL("foo/**\n", "foo/a", false);
	EXCL("foo/**\n", "foo/a/b", false);
	NONE("foo/**\n", "foo", true);
	EXCL("a/**/b\n", "a/b", false);
	EXCL("a/**/b\n", "a/x/y/b", false);
	NONE("a/**/b\n", "a/xb", false);
	/* "**" not between slashes is an ordinary star */
	EXCL("a**b\n", "axxb", false);
	NONE("x/a**b\n", "x/a/b", false);
}

static void brackets(void **state)
{
	EXCL("[a-c]*\n", "bar", false);
	NONE("[a-c]*\n", "dar", false);
	EXCL("[!a-c]*\n", "dar", false);
	EXCL("[^a-c]*\n", "dar", false);
	EXCL("[]a]\n", "]", false);
	EXCL("[a-]\n", "-", false);
	EXCL("[[:digit:]]x\n", "7x", false);
	NONE("[[:digit:]]x\n", "ax", false);
	EXCL("[[:upper:][:space:]]\n", " ", false);
	/* unknown class and unterminated bracket never match */
	NONE("[[:bogus:]]\n", "b", false);
	NONE("[abc\n", "a", false);
	NONE("[abc\n", "[abc", false);
	EXCL("\\[abc]\n", "[abc]", false);
}

static void question_mark_and_escapes(void **state)
{
	EXCL("?oo\n", "foo", false);
	NONE("x/?oo\n", "x//oo", false);
	EXCL("q\\?q\n", "q?q", false);
	NONE("q\\?q\n", "qxq", false);
	NONE("trailing\\\n", "trailing", false);
}

static void stack_deepest_wins(void **state)
{
	struct gi_list top, sub;
	struct gi_list *stack[3];

	assert_int_equal(gi_list_parse(&top, "", "*.c\n", 4, NULL), 0);
	assert_int_equal(gi_list_parse(&sub, "sub/", "!keep.c\n", 8, NULL), 0);
	stack[0] = &top;
	stack[1] = NULL; /* a level without .gitignore */
	stack[2] = &sub;
	assert_int_equal(gi_stack_match(stack, 3, "sub/keep.c", 10, false), GI_INCLUDE);
	assert_int_equal(gi_stack_match(stack, 3, "sub/other.c", 11, false), GI_EXCLUDE);
	assert_int_equal(gi_stack_match(stack, 1, "sub/keep.c", 10, false), GI_EXCLUDE);
	assert_int_equal(gi_stack_match(stack, 3, "sub/x.h", 7, false), GI_UNDECIDED);
	gi_list_free(&top);
	gi_list_free(&sub);
}

static void wildmatch_pathname(void **state)
{
	assert_int_equal(wildmatch("*", "a/b", WM_PATHNAME), WM_NOMATCH);
	assert_int_equal(wildmatch("*", "a/b", 0), WM_MATCH);
	assert_int_equal(wildmatch("**", "a/b", WM_PATHNAME), WM_MATCH);
	assert_int_equal(wildmatch("a/*/c", "a/b/c", WM_PATHNAME), WM_MATCH);
	assert_int_equal(wildmatch("a/*/c", "a/b/x/c", WM_PATHNAME), WM_NOMATCH);
	/* hostile input finishes quickly */
	assert_int_equal(wildmatch("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
	                           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0),
	                 WM_NOMATCH);
	assert_int_equal(wildmatch("**/**/**/**/**/**/**/**/**/**/**/z",
	                           "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", WM_PATHNAME),
	                 WM_NOMATCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(comments_and_blank_lines),
	    cmocka_unit_test(trailing_spaces),
	    cmocka_unit_test(crlf_and_bom),
	    cmocka_unit_test(negation),
	    cmocka_unit_test(directory_only),
	    cmocka_unit_test(basename_vs_anchored),
	    cmocka_unit_test(double_star),
	    cmocka_unit_test(brackets),
	    cmocka_unit_test(question_mark_and_escapes),
	    cmocka_unit_test(stack_deepest_wins),
	    cmocka_unit_test(wildmatch_pathname),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
