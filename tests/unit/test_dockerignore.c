// SPDX-License-Identifier: Apache-2.0
/* test_dockerignore.c - .dockerignore matching: Docker's documented
 * examples, moby's pattern rules, exceptions, and the directory-skipping
 * helper checked against the matcher on generated trees
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

static struct bld_ignore *load(const char *text)
{
	struct bld_ignore *ign = NULL;
	struct hutch_err err = { 0 };

	if (bld_ignore_parse(text, strlen(text), ".dockerignore", &ign, &err))
		fail_msg("parse: %s", err.msg);
	return ign;
}

/* Each of @paths, NULL-terminated, must give @want. */
static void expect(const char *patterns, bool want, ...)
{
	struct bld_ignore *ign = load(patterns);
	const char *path;
	va_list ap;

	va_start(ap, want);
	while ((path = va_arg(ap, const char *))) {
		if (bld_ignore_match(ign, path) != want)
			fail_msg("patterns \"%s\": \"%s\" should %sbe excluded",
				 patterns, path, want ? "" : "not ");
	}
	va_end(ap);
	bld_ignore_free(ign);
}

#define EXCLUDED(p, ...) expect(p, true, __VA_ARGS__, NULL)
#define INCLUDED(p, ...) expect(p, false, __VA_ARGS__, NULL)

static void parse_error(const char *text, const char *msg)
{
	struct bld_ignore *ign = NULL;
	struct hutch_err err = { 0 };

	assert_int_equal(bld_ignore_parse(text, strlen(text), ".dockerignore",
					  &ign, &err),
			 -EINVAL);
	assert_null(ign);
	if (!strstr(err.msg, msg))
		fail_msg("\"%s\": \"%s\" lacks \"%s\"", text, err.msg, msg);
}

/* The example of Docker's build-context documentation. */
static void documented_example(void **state)
{
	const char *f = "# comment\n*/temp*\n*/*/temp*\ntemp?\n";

	(void)state;
	EXCLUDED(f, "somedir/temporary.txt", "somedir/temp",
		 "somedir/temp/inside", "somedir/subdir/temporary.txt", "tempa",
		 "tempb", "tempa/child");
	INCLUDED(f, "temporary.txt", "temp", "tempab", "a/b/c/temp",
		 "somedir/x-temp", "# comment", "comment");
	EXCLUDED("**/*.go", "main.go", "cmd/app/main.go", "a/b/c/d.go");
	INCLUDED("**/*.go", "main.goo", "go", "cmd/go.mod");
}

/* The exception examples of the same page: the last match wins. */
static void documented_exceptions(void **state)
{
	(void)state;
	EXCLUDED("*.md\n!README.md\n", "CHANGES.md", "x.md");
	INCLUDED("*.md\n!README.md\n", "README.md", "docs/x.md");
	EXCLUDED("*.md\n!README*.md\nREADME-secret.md\n", "a.md",
		 "README-secret.md");
	INCLUDED("*.md\n!README*.md\nREADME-secret.md\n", "README.md",
		 "README-public.md");
	EXCLUDED("*.md\nREADME-secret.md\n!README*.md\n", "a.md");
	INCLUDED("*.md\nREADME-secret.md\n!README*.md\n", "README-secret.md",
		 "README.md");
	/* an exception before the pattern that excludes does nothing */
	EXCLUDED("!keep.txt\n*.txt\n", "keep.txt");
}

static void cleaning_and_syntax(void **state)
{
	(void)state;
	/* whitespace trimmed, '#' only in the first column, leading '/' */
	EXCLUDED("  secret.key  \n", "secret.key");
	EXCLUDED(" # not a comment\n", "# not a comment");
	EXCLUDED("/foo/./bar/\n", "foo/bar", "foo/bar/baz");
	EXCLUDED("./foo//bar\n", "foo/bar");
	EXCLUDED("a/../b\n", "b");
	INCLUDED("a/../b\n", "a/b", "a");
	EXCLUDED("! keep\nkeep\n", "keep");
	EXCLUDED("\xef\xbb\xbf"
		 "bom\r\nnext\r\n",
		 "bom", "next");
	/* paths are cleaned too; the context itself is never excluded */
	EXCLUDED("foo\n", "/foo", "./foo", "foo/", "foo//x");
	INCLUDED("**\n", ".", "", "/");
	/* no pattern touches the build's own files specially */
	EXCLUDED("Dockerfile\n.dockerignore\n", "Dockerfile", ".dockerignore");
	INCLUDED("\n\n# only comments\n", "anything");
}

static void wildcards(void **state)
{
	(void)state;
	EXCLUDED("*\n", "a", "a/b", ".hidden");
	EXCLUDED("?\n", "a", "a/b");
	INCLUDED("?\n", "ab");
	EXCLUDED("a*b\n", "ab", "axxb", "ab/c");
	INCLUDED("a*b\n", "a/b", "xab");
	EXCLUDED("a?c\n", "abc",
		 "a\xc3\xa9"
		 "c");
	INCLUDED("a?c\n", "a/c", "ac");
	EXCLUDED("[a-c]x\n", "ax", "cx");
	INCLUDED("[a-c]x\n", "dx", "x");
	EXCLUDED("[^a-c]x\n", "dx", "\xc3\xa9x");
	INCLUDED("[^a-c]x\n", "ax");
	EXCLUDED("[!a]x\n", "!x", "ax");
	EXCLUDED("f[\\]]o\n", "f]o");
	EXCLUDED("\\*\n", "*");
	INCLUDED("\\*\n", "a");
	EXCLUDED("a\\?\n", "a?");
	INCLUDED("a\\?\n", "ab");
	EXCLUDED("file.txt\n", "file.txt");
	INCLUDED("file.txt\n", "fileXtxt");
	EXCLUDED("(a)|{b}$+\n", "(a)|{b}$+");
	EXCLUDED("a]b\n", "a]b");
}

static void double_star(void **state)
{
	(void)state;
	EXCLUDED("**\n", "a", "a/b/c");
	EXCLUDED("**/\n", "a");
	EXCLUDED("**/file\n", "file", "dir/file", "a/b/file", "file/x");
	INCLUDED("**/file\n", "afile", "file2");
	/* "**foo" is a suffix test in Docker: it also matches "barfoo" */
	EXCLUDED("**file\n", "file", "xfile", "dir/xfile");
	EXCLUDED("dir/**\n", "dir/file", "dir/a/b");
	INCLUDED("dir/**\n", "dir", "dirx/file");
	EXCLUDED("dir**\n", "dir", "dirx/file");
	EXCLUDED("a/**/b\n", "a/b", "a/x/b", "a/x/y/b", "a/x/b/c");
	INCLUDED("a/**/b\n", "a/xb", "b", "x/a/b");
	EXCLUDED("**/dir2/*\n", "dir/dir2/file", "dir/dir2/dir3/file",
		 "dir2/file");
	INCLUDED("**/dir2/*\n", "dir/dir2", "dir2");
	EXCLUDED("a/**\n", "a/\nb");
	EXCLUDED("**/*.md\n", "README.md", "docs/x/y.md");
	EXCLUDED("***\n", "a", "a/b");
	/* Go's '.' does not match a newline */
	INCLUDED("a/**/b\n", "a/x\ny/b");
}

static void exceptions_below_excluded_dirs(void **state)
{
	const char *f = "vendor\n!vendor/keep\n";

	(void)state;
	EXCLUDED(f, "vendor", "vendor/x", "vendor/x/keep", "vendor/keeper");
	INCLUDED(f, "vendor/keep", "vendor/keep/sub/file", "other");
	EXCLUDED("node_modules\n!node_modules/**/package.json\n",
		 "node_modules/a/index.js");
	INCLUDED("node_modules\n!node_modules/**/package.json\n",
		 "node_modules/package.json", "node_modules/a/b/package.json");
	/* "!dir" brings back everything below it */
	INCLUDED("**\n!src\n", "src", "src/a/b.c");
	EXCLUDED("**\n!src\n", "docs/a", "srcx");
	/* a later pattern excludes again */
	EXCLUDED("**\n!src\nsrc/*.o\n", "src/a.o", "src/a.o/x");
	INCLUDED("**\n!src\nsrc/*.o\n", "src/a.c", "src/sub/a.o");
}

static void may_include_below(void **state)
{
	struct bld_ignore *ign;

	(void)state;
	ign = load("vendor\n!vendor/keep\n");
	assert_true(bld_ignore_has_exceptions(ign));
	assert_true(bld_ignore_may_include_below(ign, "vendor"));
	assert_false(bld_ignore_may_include_below(ign, "vendor/x"));
	assert_false(bld_ignore_may_include_below(ign, "vendor/keepx"));
	bld_ignore_free(ign);

	/* an exception that comes before the excluding pattern cannot */
	ign = load("!vendor/keep\nvendor\n");
	assert_false(bld_ignore_may_include_below(ign, "vendor"));
	bld_ignore_free(ign);

	ign = load("build\n!build/out/*.so\n");
	assert_true(bld_ignore_may_include_below(ign, "build"));
	assert_true(bld_ignore_may_include_below(ign, "build/out"));
	assert_false(bld_ignore_may_include_below(ign, "build/obj"));
	assert_false(bld_ignore_may_include_below(ign, "build/out/x"));
	bld_ignore_free(ign);

	ign = load("**/node_modules\n!**/node_modules/keep.txt\n");
	assert_true(bld_ignore_may_include_below(ign, "a/node_modules"));
	bld_ignore_free(ign);

	ign = load("cache\n!cache**\n");
	assert_true(bld_ignore_may_include_below(ign, "cache"));
	bld_ignore_free(ign);

	ign = load("tmp\n!src/**\n");
	assert_false(bld_ignore_may_include_below(ign, "tmp"));
	bld_ignore_free(ign);

	ign = load("tmp\n");
	assert_false(bld_ignore_has_exceptions(ign));
	assert_false(bld_ignore_may_include_below(ign, "tmp"));
	bld_ignore_free(ign);
}

static void bad_patterns(void **state)
{
	(void)state;
	parse_error("ok\n[\n", ".dockerignore:2: bad pattern \"[\"");
	parse_error("a[\n", "is not closed");
	parse_error("[]\n", "bad pattern");
	parse_error("[a-]\n", "bad pattern");
	parse_error("[]a]\n", "bad pattern");
	parse_error("x\n\nfoo\\\n", ".dockerignore:3: bad pattern");
	parse_error("!\n", ".dockerignore:1: illegal exclusion pattern");
	parse_error("a\n  !  \n", ".dockerignore:2: illegal exclusion");
}

static void nul_byte(void **state)
{
	struct bld_ignore *ign = NULL;
	struct hutch_err err = { 0 };

	(void)state;
	assert_int_equal(bld_ignore_parse("ok\na\0b\n", 7, NULL, &ign, &err),
			 -EINVAL);
	assert_null(ign);
	assert_string_equal(
		err.msg,
		".dockerignore:2: NUL byte in a pattern; .dockerignore is text");
}

/* ---- the skipping helper never hides an included path -------------------- */

static unsigned seed = 12345;

static unsigned rnd(unsigned n)
{
	seed = seed * 1103515245 + 12345;
	return (seed >> 16) % n;
}

static void random_pattern(char *out, size_t size)
{
	static const char *const parts[] = { "a",  "b",	   "ab", "*",  "?",
					     "**", "[ab]", "c",	 "a*", "*b" };
	size_t n = 1 + rnd(3), i;

	out[0] = '\0';
	if (rnd(3) == 0)
		strncat(out, "!", size - strlen(out) - 1);
	for (i = 0; i < n; i++) {
		if (i)
			strncat(out, "/", size - strlen(out) - 1);
		strncat(out, parts[rnd(ARRAY_SIZE(parts))],
			size - strlen(out) - 1);
	}
}

/* Every path of up to 4 components over {a, b, ab, c}. */
static size_t all_paths(char paths[][16], size_t max)
{
	static const char *const names[] = { "a", "b", "ab", "c" };
	size_t n = 0, start = 0, end, i, j;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		snprintf(paths[n++], 16, "%s", names[i]);
	for (int depth = 1; depth < 4; depth++) {
		end = n;
		for (i = start; i < end; i++) {
			for (j = 0; j < ARRAY_SIZE(names) && n < max; j++)
				snprintf(paths[n++], 16, "%s/%s", paths[i],
					 names[j]);
		}
		start = end;
	}
	return n;
}

static void skipping_is_sound(void **state)
{
	static char paths[400][16];
	size_t n = all_paths(paths, ARRAY_SIZE(paths)), round, d, p;
	unsigned skipped = 0;

	(void)state;
	for (round = 0; round < 300; round++) {
		char text[256] = "";
		struct bld_ignore *ign;
		size_t k, np = 1 + rnd(4);

		for (k = 0; k < np; k++) {
			char pat[64];

			random_pattern(pat, sizeof(pat));
			strncat(text, pat, sizeof(text) - strlen(text) - 2);
			strcat(text, "\n");
		}
		ign = load(text);
		for (d = 0; d < n; d++) {
			size_t dl = strlen(paths[d]);

			if (!bld_ignore_match(ign, paths[d]) ||
			    bld_ignore_may_include_below(ign, paths[d]))
				continue;
			skipped++;
			for (p = 0; p < n; p++) {
				if (strncmp(paths[p], paths[d], dl) == 0 &&
				    paths[p][dl] == '/' &&
				    !bld_ignore_match(ign, paths[p]))
					fail_msg(
						"patterns:\n%sskipping %s hides included %s",
						text, paths[d], paths[p]);
			}
		}
		bld_ignore_free(ign);
	}
	/* the helper must also let a walk skip something */
	assert_true(skipped > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(documented_example),
		cmocka_unit_test(documented_exceptions),
		cmocka_unit_test(cleaning_and_syntax),
		cmocka_unit_test(wildcards),
		cmocka_unit_test(double_star),
		cmocka_unit_test(exceptions_below_excluded_dirs),
		cmocka_unit_test(may_include_below),
		cmocka_unit_test(bad_patterns),
		cmocka_unit_test(nul_byte),
		cmocka_unit_test(skipping_is_sound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
