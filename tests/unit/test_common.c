// SPDX-License-Identifier: Apache-2.0
/* test_common.c - unit tests for common/: errors, strings, files, JSON
 * files, dirs */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static void err_set_prefix_fix(void **state)
{
	struct hutch_err err = { 0 };
	int ret = cmn_err_set(&err, ENOENT, "cannot open %s", "/x");

	(void)state;
	assert_int_equal(ret, -ENOENT);
	assert_int_equal(err.code, ENOENT);
	assert_string_equal(err.msg,
			    "cannot open /x: No such file or directory");
	cmn_err_prefix(&err, "run");
	cmn_err_fix(&err, "create %s", "it");
	assert_string_equal(
		err.msg,
		"run: cannot open /x: No such file or directory; create it");
	assert_int_equal(cmn_err_set(&err, 0, "plain"), -EINVAL);
	assert_string_equal(err.msg, "plain");
	assert_int_equal(cmn_err_set(NULL, EPERM, "ignored"), -EPERM);
}

static void err_truncates_safely(void **state)
{
	struct hutch_err err = { 0 };
	char big[3000];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cmn_err_set(&err, EIO, "%s", big);
	cmn_err_prefix(&err, "%s", big);
	cmn_err_fix(&err, "%s", big);
	assert_true(strlen(err.msg) < sizeof(err.msg));
}

static void parse_u64_bounds(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(cmn_parse_u64("0", 10, &v));
	assert_int_equal(v, 0);
	assert_true(cmn_parse_u64("65536", 65536, &v));
	assert_int_equal(v, 65536);
	assert_false(cmn_parse_u64("65537", 65536, &v));
	assert_false(cmn_parse_u64("", 10, &v));
	assert_false(cmn_parse_u64("1x", 10, &v));
	assert_false(cmn_parse_u64("-1", 10, &v));
	assert_true(cmn_parse_u64("18446744073709551615", UINT64_MAX, &v));
	assert_false(cmn_parse_u64("18446744073709551616", UINT64_MAX, &v));
}

static void strv_push_dup_free(void **state)
{
	cleanup_strv char **v = NULL;
	cleanup_strv char **copy = NULL;

	(void)state;
	assert_int_equal(cmn_strv_len(v), 0);
	assert_int_equal(cmn_strv_push(&v, strdup("a")), 0);
	assert_int_equal(cmn_strv_push(&v, strdup("b")), 0);
	assert_int_equal(cmn_strv_len(v), 2);
	assert_null(v[2]);
	copy = cmn_strv_dup(v);
	assert_non_null(copy);
	assert_string_equal(copy[1], "b");
	assert_int_equal(cmn_strv_push(&v, NULL), -ENOMEM);
}

static void random_hex_is_hex(void **state)
{
	char a[65], b[65];

	(void)state;
	assert_int_equal(cmn_random_hex(a, 32), 0);
	assert_int_equal(cmn_random_hex(b, 32), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
}

static void files_round_trip(void **state)
{
	char dir[] = "/tmp/hutch-unit-XXXXXX";
	cleanup_free char *data = NULL;
	cleanup_free char *deep = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Writing over a directory fails instead of following or replacing. */
	assert_true(cmn_write_fileat(AT_FDCWD, dir, "", 0, 0644) < 0);
	deep = cmn_strdup_printf("%s/a/b/c", dir);
	assert_int_equal(cmn_mkdir_p(deep, 0755), 0);
	assert_int_equal(cmn_mkdir_p(deep, 0755), 0);
	{
		cleanup_free char *f = cmn_strdup_printf("%s/file", deep);

		assert_int_equal(
			cmn_write_fileat(AT_FDCWD, f, "hello\n", 6, 0600), 0);
		data = cmn_read_fileat(AT_FDCWD, f, 100, &len);
		assert_non_null(data);
		assert_int_equal(len, 6);
		assert_string_equal(data, "hello\n");
		assert_null(cmn_read_fileat(AT_FDCWD, f, 3, NULL));
		assert_int_equal(errno, EFBIG);
		unlink(f);
	}
	rmdir(deep);
}

/* cmn_json_load(): the object, or which of the failures it was, in one
 * line that names the file. */
static void json_load_tells_failures_apart(void **state)
{
	static const struct {
		const char *text; /* NULL: no file */
		int errnum;
		const char *says;
	} cases[] = {
		{ NULL, ENOENT, "cannot read the test file " },
		{ "{\"a\": ", EBADMSG,
		  "is not a JSON object: invalid JSON at line 1" },
		{ "[1, 2]", EINVAL, "must be a JSON object, not an array" },
		{ "\"s\"", EINVAL, "must be a JSON object, not a string" },
		{ "{\"a\": 1}", 0, NULL },
	};
	char dir[] = "/tmp/hutch-unit-XXXXXX";
	cleanup_free char *f = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	f = cmn_strdup_printf("%s/f.json", dir);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hutch_err err = { 0 };
		json_t *j;

		unlink(f);
		if (cases[i].text)
			assert_int_equal(
				cmn_write_fileat(AT_FDCWD, f, cases[i].text,
						 strlen(cases[i].text), 0600),
				0);
		j = cmn_json_load(AT_FDCWD, f, "the test file", 100,
				  CMN_JSON_SECRET, &err);
		if (!cases[i].errnum) {
			assert_non_null(j);
			assert_int_equal(
				json_integer_value(json_object_get(j, "a")), 1);
			json_decref(j);
			continue;
		}
		assert_null(j);
		assert_int_equal(errno, cases[i].errnum);
		assert_int_equal(err.code, cases[i].errnum);
		if (!strstr(err.msg, cases[i].says) || !strstr(err.msg, f) ||
		    strchr(err.msg, '\n'))
			fail_msg("case %zu: \"%s\"", i, err.msg);
	}
	/* relative to a directory, and too big is the read's error */
	{
		cleanup_close int dfd =
			open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		assert_null(cmn_json_load(dfd, "f.json", "the test file", 3, 0,
					  NULL));
		assert_int_equal(errno, EFBIG);
	}
	unlink(f);
	rmdir(dir);
}

static void runtime_dir_fallbacks(void **state)
{
	cleanup_free char *a = NULL;
	cleanup_free char *b = NULL;
	cleanup_free char *c = NULL;
	cleanup_free char *d = NULL;
	cleanup_free char *expect = NULL;
	char scratch[] = "/tmp/hutch-test-scratch-XXXXXX";

	(void)state;
	setenv("HUTCH_RUNTIME", "/run/explicit", 1);
	a = cmn_runtime_dir();
	assert_string_equal(a, "/run/explicit");
	unsetenv("HUTCH_RUNTIME");
	/* A missing XDG_RUNTIME_DIR (a Slurm job on another node) is skipped. */
	setenv("XDG_RUNTIME_DIR", "/nonexistent/run/user/1", 1);
	assert_non_null(mkdtemp(scratch));
	setenv("TMPDIR", scratch, 1);
	b = cmn_runtime_dir();
	expect = cmn_strdup_printf("%s/hutch-%u", scratch, (unsigned)getuid());
	assert_string_equal(b, expect);
	/* So is a TMPDIR that is gone (a job's, removed at its end). */
	assert_int_equal(rmdir(scratch), 0);
	c = cmn_runtime_dir();
	assert_true(cmn_has_prefix(c, "/tmp/hutch-"));
	unsetenv("TMPDIR");
	d = cmn_runtime_dir();
	assert_true(cmn_has_prefix(d, "/tmp/hutch-"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(err_set_prefix_fix),
		cmocka_unit_test(err_truncates_safely),
		cmocka_unit_test(parse_u64_bounds),
		cmocka_unit_test(strv_push_dup_free),
		cmocka_unit_test(random_hex_is_hex),
		cmocka_unit_test(files_round_trip),
		cmocka_unit_test(json_load_tells_failures_apart),
		cmocka_unit_test(runtime_dir_fallbacks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
