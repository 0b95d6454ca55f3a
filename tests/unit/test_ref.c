// SPDX-License-Identifier: Apache-2.0
/* test_ref.c - unit tests for image references (image/ref.c): Docker's
 * normalisation rules and the names Docker refuses */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Parse @in and compare its full and short forms. */
static void expect_ref(const char *in, const char *registry, const char *repo,
		       const char *tag, const char *full, const char *shortf)
{
	struct img_ref ref;
	struct hutch_err err = { 0 };
	char *s;

	if (img_ref_parse(in, &ref, &err) != 0)
		fail_msg("%s: %s", in, err.msg);
	assert_string_equal(ref.registry, registry);
	assert_string_equal(ref.repo, repo);
	if (tag)
		assert_string_equal(ref.tag, tag);
	else
		assert_null(ref.tag);
	s = img_ref_str(&ref);
	assert_string_equal(s, full);
	free(s);
	s = img_ref_short(&ref);
	assert_string_equal(s, shortf);
	free(s);
	img_ref_free(&ref);
}

/* @in must be refused with a message containing @why. */
static void expect_bad(const char *in, const char *why)
{
	struct img_ref ref;
	struct hutch_err err = { 0 };

	if (img_ref_parse(in, &ref, &err) != -EINVAL)
		fail_msg("\"%s\" was accepted", in);
	if (!strstr(err.msg, why))
		fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, err.msg,
			 why);
	assert_null(ref.registry);
	assert_null(ref.repo);
	assert_null(ref.tag);
}

static void short_names(void **state)
{
	(void)state;
	expect_ref("python:3.11-slim", "docker.io", "library/python",
		   "3.11-slim", "docker.io/library/python:3.11-slim",
		   "python:3.11-slim");
	expect_ref("busybox", "docker.io", "library/busybox", "latest",
		   "docker.io/library/busybox:latest", "busybox:latest");
	expect_ref("team/app:v1", "docker.io", "team/app", "v1",
		   "docker.io/team/app:v1", "team/app:v1");
	expect_ref("docker.io/busybox", "docker.io", "library/busybox",
		   "latest", "docker.io/library/busybox:latest",
		   "busybox:latest");
	expect_ref("index.docker.io/library/busybox:1", "docker.io",
		   "library/busybox", "1", "docker.io/library/busybox:1",
		   "busybox:1");
	expect_ref("docker.io/library/a/b", "docker.io", "library/a/b",
		   "latest", "docker.io/library/a/b:latest",
		   "library/a/b:latest");
}

static void registries(void **state)
{
	(void)state;
	expect_ref("localhost/app", "localhost", "app", "latest",
		   "localhost/app:latest", "localhost/app:latest");
	expect_ref("localhost:5000/team/app:1.0", "localhost:5000", "team/app",
		   "1.0", "localhost:5000/team/app:1.0",
		   "localhost:5000/team/app:1.0");
	expect_ref("127.0.0.1:39999/x", "127.0.0.1:39999", "x", "latest",
		   "127.0.0.1:39999/x:latest", "127.0.0.1:39999/x:latest");
	expect_ref("ghcr.io/org/img:tag", "ghcr.io", "org/img", "tag",
		   "ghcr.io/org/img:tag", "ghcr.io/org/img:tag");
	expect_ref("[::1]:5000/app", "[::1]:5000", "app", "latest",
		   "[::1]:5000/app:latest", "[::1]:5000/app:latest");
	/* An uppercase first component can only be a host name. */
	expect_ref("Registry/app", "Registry", "app", "latest",
		   "Registry/app:latest", "Registry/app:latest");
	/* "localhost:5000" alone is the image "localhost", tag "5000". */
	expect_ref("localhost:5000", "docker.io", "library/localhost", "5000",
		   "docker.io/library/localhost:5000", "localhost:5000");
}

static void digests_and_tags(void **state)
{
	struct img_ref ref;

	(void)state;
	expect_ref("busybox@sha256:" HEX64, "docker.io", "library/busybox",
		   NULL, "docker.io/library/busybox@sha256:" HEX64,
		   "busybox@sha256:" HEX64);
	expect_ref("busybox:1.36@sha256:" HEX64, "docker.io", "library/busybox",
		   "1.36", "docker.io/library/busybox:1.36@sha256:" HEX64,
		   "busybox:1.36@sha256:" HEX64);
	assert_int_equal(img_ref_parse("h:1/a@sha256:" HEX64, &ref, NULL), 0);
	assert_true(ref.has_digest);
	assert_string_equal(ref.digest.hex, HEX64);
	img_ref_free(&ref);
	expect_ref("a:Tag_1.x-Y", "docker.io", "library/a", "Tag_1.x-Y",
		   "docker.io/library/a:Tag_1.x-Y", "a:Tag_1.x-Y");
	expect_ref("a_b.c__d---e", "docker.io", "library/a_b.c__d---e",
		   "latest", "docker.io/library/a_b.c__d---e:latest",
		   "a_b.c__d---e:latest");
}

static void refused(void **state)
{
	char longname[300], longtag[200];

	(void)state;
	expect_bad("", "empty");
	expect_bad("Busybox", "must be lowercase");
	expect_bad("docker.io/Library/busybox", "must be lowercase");
	expect_bad("localhost:5000/Team/app", "must be lowercase");
	expect_bad("busybox:tag!", "a tag is");
	expect_bad("busybox:.tag", "a tag is");
	expect_bad("busybox:", "a tag is");
	expect_bad("busybox:a/b", "invalid reference format");
	expect_bad("a//b", "invalid reference format");
	expect_bad("a/", "invalid reference format");
	expect_bad("/a", "invalid reference format");
	expect_bad("a..b", "invalid reference format");
	expect_bad("a___b", "invalid reference format");
	expect_bad("-a", "invalid reference format");
	expect_bad("a-", "invalid reference format");
	expect_bad("a b", "invalid reference format");
	expect_bad("-host.io/a", "invalid registry name");
	expect_bad("host.io:/a", "invalid registry name");
	expect_bad("host.io:50a/a", "invalid registry name");
	expect_bad("host..io/a", "invalid registry name");
	expect_bad("busybox@sha256:abc", "digest length");
	expect_bad("busybox@sha256:" HEX64 "00", "digest length");
	expect_bad("busybox@sha512:" HEX64 HEX64, "unsupported digest");
	expect_bad("busybox@md5:abc", "digest format");
	expect_bad("busybox@", "digest format");
	expect_bad(
		"busybox@sha256:"
		"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
		"digest format");
	expect_bad(HEX64, "64-byte hexadecimal");

	memset(longname, 'a', sizeof(longname));
	memcpy(longname, "host.io/", 8);
	longname[8 + 247] = '\0'; /* 255 characters: fine */
	struct img_ref ref;
	assert_int_equal(img_ref_parse(longname, &ref, NULL), 0);
	img_ref_free(&ref);
	longname[8 + 247] = 'a';
	longname[8 + 248] = '\0';
	expect_bad(longname, "not be more than 255");
	/* docker.io/library/ counts too. */
	memset(longname, 'b', 240);
	longname[240] = '\0';
	expect_bad(longname, "not be more than 255");

	memset(longtag, 't', sizeof(longtag));
	memcpy(longtag, "a:", 2);
	longtag[2 + 128] = '\0';
	assert_int_equal(img_ref_parse(longtag, &ref, NULL), 0);
	img_ref_free(&ref);
	longtag[2 + 128] = 't';
	longtag[2 + 129] = '\0';
	expect_bad(longtag, "a tag is");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_names),
		cmocka_unit_test(registries),
		cmocka_unit_test(digests_and_tags),
		cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
