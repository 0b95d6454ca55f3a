// SPDX-License-Identifier: Apache-2.0
/* test_auth.c - unit tests for the registry client's parsers: challenges,
 * credentials files, registries.json, platforms */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/registry-internal.h"

static char tmpdir[64];

static int make_home(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_auth.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	setenv("HOME", tmpdir, 1);
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("DOCKER_CONFIG");
	unsetenv("HUTCH_REGISTRIES_CONF");
	return 0;
}

static int drop_home(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
	char dir[256];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(cmn_mkdir_p(dir, 0700), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void challenges(void **state)
{
	struct reg_challenge c;

	(void)state;
	assert_int_equal(
		reg_challenge_parse(
			"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/python:pull\"",
			&c),
		0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://auth.docker.io/token");
	assert_string_equal(c.service, "registry.docker.io");
	assert_string_equal(c.scope, "repository:library/python:pull");
	reg_challenge_free(&c);

	assert_int_equal(
		reg_challenge_parse("Basic realm=\"Registry Realm\"", &c), 0);
	assert_int_equal(c.scheme, REG_AUTH_BASIC);
	assert_string_equal(c.realm, "Registry Realm");
	reg_challenge_free(&c);

	/* Case, spaces, unquoted tokens, escapes, unknown params. */
	assert_int_equal(
		reg_challenge_parse(
			"  bearer   Realm = https://r.example/t?x=1 , service=\"a\\\"b\", error=\"insufficient_scope\"",
			&c),
		0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "https://r.example/t?x=1");
	assert_string_equal(c.service, "a\"b");
	assert_null(c.scope);
	reg_challenge_free(&c);

	/* An unknown scheme first: its params are skipped. */
	assert_int_equal(
		reg_challenge_parse("Negotiate abc==, Bearer realm=\"r\"", &c),
		0);
	assert_int_equal(c.scheme, REG_AUTH_BEARER);
	assert_string_equal(c.realm, "r");
	reg_challenge_free(&c);
	assert_int_equal(
		reg_challenge_parse("Digest realm=\"x\", nonce=\"y\"", &c),
		-EINVAL);
	reg_challenge_free(&c);
	assert_int_equal(reg_challenge_parse("", &c), -EINVAL);
	assert_int_equal(reg_challenge_parse("Basic realm=\"unterminated", &c),
			 0);
	assert_string_equal(c.realm, "unterminated");
	reg_challenge_free(&c);
}

static void keys(void **state)
{
	static const char *const hub[] = { NULL,
					   "docker.io",
					   "index.docker.io",
					   "https://index.docker.io/v1/",
					   "registry-1.docker.io",
					   "registry.hub.docker.com" };
	char *k;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(hub); i++) {
		k = reg_auth_key(hub[i]);
		assert_string_equal(k, "docker.io");
		free(k);
	}
	k = reg_auth_key("https://reg.lab:5000/v2/");
	assert_string_equal(k, "reg.lab:5000");
	free(k);
	k = reg_auth_key("http://127.0.0.1:5000");
	assert_string_equal(k, "127.0.0.1:5000");
	free(k);
	k = img_registry_display(NULL);
	assert_string_equal(k, "https://index.docker.io/v1/");
	free(k);
	k = img_registry_display("https://reg.lab/");
	assert_string_equal(k, "reg.lab");
	free(k);
}

static void store_lookup_erase(void **state)
{
	char path[256], *user, *pass;
	struct stat st;
	bool found;
	json_t *root;

	(void)state;
	assert_int_equal(reg_auth_lookup("reg.lab", &user, &pass, NULL),
			 -ENOENT);
	assert_int_equal(
		reg_auth_store("https://reg.lab/", "ann", "p:a ss", NULL), 0);
	assert_int_equal(reg_auth_store("docker.io", "bob", "pw", NULL), 0);
	snprintf(path, sizeof(path), "%s/.config/hutch/auth.json", tmpdir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	root = json_load_file(path, 0, NULL);
	assert_non_null(
		json_object_get(json_object_get(root, "auths"), "reg.lab"));
	assert_non_null(json_object_get(json_object_get(root, "auths"),
					"https://index.docker.io/v1/"));
	json_decref(root);

	/* A colon in the password survives; the first ':' splits. */
	assert_int_equal(reg_auth_lookup("reg.lab", &user, &pass, NULL), 0);
	assert_string_equal(user, "ann");
	assert_string_equal(pass, "p:a ss");
	free(user);
	free(pass);
	assert_int_equal(reg_auth_lookup("index.docker.io", &user, &pass, NULL),
			 0);
	assert_string_equal(user, "bob");
	free(user);
	free(pass);

	assert_int_equal(reg_auth_erase("reg.lab", &found, NULL), 0);
	assert_true(found);
	assert_int_equal(reg_auth_erase("reg.lab", &found, NULL), 0);
	assert_false(found);
	assert_int_equal(reg_auth_lookup("reg.lab", &user, &pass, NULL),
			 -ENOENT);
	assert_int_equal(reg_auth_lookup("docker.io", &user, &pass, NULL), 0);
	free(user);
	free(pass);
	assert_int_equal(reg_auth_erase(NULL, &found, NULL), 0);
	assert_true(found);
}

static void fallbacks(void **state)
{
	char path[256], *user, *pass;
	struct hutch_err err = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/.docker/config.json", tmpdir);
	/* "ZDp1OnA=" is "d:u:p" */
	write_file(
		path,
		"{\"auths\":{\"https://dock.example/v2/\":{\"auth\":\"ZDp1OnA=\"}},\"credsStore\":\"desktop\"}");
	assert_int_equal(reg_auth_lookup("dock.example", &user, &pass, NULL),
			 0);
	assert_string_equal(user, "d");
	assert_string_equal(pass, "u:p");
	free(user);
	free(pass);

	snprintf(path, sizeof(path), "%s/podman.json", tmpdir);
	write_file(
		path,
		"{\"auths\":{\"pod.example\":{\"username\":\"p\",\"password\":\"q\"}}}");
	setenv("REGISTRY_AUTH_FILE", path, 1);
	assert_int_equal(reg_auth_lookup("pod.example", &user, &pass, NULL), 0);
	assert_string_equal(user, "p");
	assert_string_equal(pass, "q");
	free(user);
	free(pass);

	write_file(path,
		   "{\"auths\":{\"bad.example\":{\"auth\":\"bm9jb2xvbg==\"}}}");
	assert_int_equal(reg_auth_lookup("bad.example", &user, &pass, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "not base64 \"user:password\""));
	write_file(path, "{not json");
	assert_int_equal(reg_auth_lookup("pod.example", &user, &pass, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "is not a JSON object"));
	unsetenv("REGISTRY_AUTH_FILE");
}

static void endpoint_list(const char *registry, bool pull,
			  struct reg_endpoint **e, size_t *n)
{
	struct hutch_err err = { 0 };

	if (reg_endpoints(registry, pull, e, n, &err) < 0)
		fail_msg("%s: %s", registry, err.msg);
}

static void registries_conf(void **state)
{
	char path[256];
	struct reg_endpoint *e;
	struct hutch_err err = { 0 };
	size_t n;

	(void)state;
	endpoint_list("docker.io", true, &e, &n);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].base, "https://registry-1.docker.io");
	assert_true(e[0].verify);
	reg_endpoints_free(e, n);
	endpoint_list("localhost:5000", true, &e, &n);
	assert_false(e[0].verify);
	assert_true(e[0].http_fallback);
	reg_endpoints_free(e, n);
	endpoint_list("127.9.0.1", true, &e, &n);
	assert_true(e[0].http_fallback);
	reg_endpoints_free(e, n);
	endpoint_list("[::1]:5000", true, &e, &n);
	assert_true(e[0].http_fallback);
	reg_endpoints_free(e, n);
	endpoint_list("128.0.0.1", true, &e, &n);
	assert_true(e[0].verify);
	reg_endpoints_free(e, n);

	snprintf(path, sizeof(path), "%s/.config/hutch/registries.json",
		 tmpdir);
	write_file(
		path,
		"{\"registries\":{\"docker.io\":{\"mirrors\":[\"mirror.example/\"]},"
		"\"lab:5000\":{\"insecure\":true,\"mirrors\":[\"http://10.0.0.5:5000\"]}},"
		"\"registry-mirrors\":[\"https://second.example\"],"
		"\"insecure-registries\":[\"10.1.0.0/16\",\"named.lab\"]}");
	endpoint_list("docker.io", true, &e, &n);
	assert_int_equal(n, 3);
	assert_string_equal(e[0].base, "https://mirror.example");
	assert_true(e[0].mirror);
	assert_string_equal(e[1].base, "https://second.example");
	assert_string_equal(e[2].base, "https://registry-1.docker.io");
	assert_false(e[2].mirror);
	reg_endpoints_free(e, n);
	/* Mirrors serve pulls only. */
	endpoint_list("docker.io", false, &e, &n);
	assert_int_equal(n, 1);
	reg_endpoints_free(e, n);
	endpoint_list("lab:5000", true, &e, &n);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].base, "http://10.0.0.5:5000");
	assert_string_equal(e[0].host, "10.0.0.5:5000");
	assert_false(e[1].verify);
	assert_true(e[1].http_fallback);
	reg_endpoints_free(e, n);
	endpoint_list("10.1.200.3:5000", true, &e, &n);
	assert_true(e[0].http_fallback);
	reg_endpoints_free(e, n);
	endpoint_list("10.2.0.1", true, &e, &n);
	assert_false(e[0].http_fallback);
	reg_endpoints_free(e, n);
	endpoint_list("named.lab", true, &e, &n);
	assert_true(e[0].http_fallback);
	reg_endpoints_free(e, n);

	setenv("HUTCH_REGISTRIES_CONF", "/nonexistent/registries.json", 1);
	endpoint_list("docker.io", true, &e, &n);
	assert_int_equal(n, 1);
	reg_endpoints_free(e, n);
	write_file(path,
		   "{\"registries\":{\"x\":{\"mirrors\":\"not a list\"}}}");
	setenv("HUTCH_REGISTRIES_CONF", path, 1);
	assert_int_equal(reg_endpoints("x", true, &e, &n, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "mirrors must be a list"));
	unsetenv("HUTCH_REGISTRIES_CONF");
}

static void platforms(void **state)
{
	struct reg_platform p, host;
	struct hutch_err err = { 0 };
	char s[128], avail[256];
	json_t *index;
	const json_t *e;

	(void)state;
	assert_int_equal(reg_platform_parse("linux/amd64", &p, NULL), 0);
	reg_platform_str(&p, s, sizeof(s));
	assert_string_equal(s, "linux/amd64");
	assert_int_equal(reg_platform_parse("Linux/aarch64", &p, NULL), 0);
	reg_platform_str(&p, s, sizeof(s));
	assert_string_equal(s, "linux/arm64/v8");
	assert_false(p.explicit_variant);
	assert_int_equal(reg_platform_parse("linux/arm/v6", &p, NULL), 0);
	assert_true(p.explicit_variant);
	assert_string_equal(p.variant, "v6");
	assert_int_equal(reg_platform_parse("linux/x86_64", &p, NULL), 0);
	assert_string_equal(p.arch, "amd64");
	assert_int_equal(reg_platform_parse("linux", &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "use os/arch[/variant]"));
	assert_int_equal(reg_platform_parse("linux/", &p, NULL), -EINVAL);
	assert_int_equal(reg_platform_parse("/amd64", &p, NULL), -EINVAL);
	assert_int_equal(reg_platform_parse("linux/arm/v7/x", &p, NULL),
			 -EINVAL);
	assert_int_equal(reg_platform_parse("linux/arm/", &p, NULL), -EINVAL);
	reg_platform_host(&host);
	assert_string_equal(host.os, "linux");
	assert_true(host.arch[0] != '\0');

	index = json_loads(
		"{\"manifests\":["
		"{\"digest\":\"a\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v6\"}},"
		"{\"digest\":\"b\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
		"{\"digest\":\"c\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
		"{\"digest\":\"d\",\"platform\":{\"os\":\"unknown\",\"architecture\":\"unknown\"}},"
		"{\"digest\":\"e\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
		0, NULL);
	assert_non_null(index);
	reg_platform_parse("linux/arm", &p, NULL);
	e = reg_platform_select(index, &p, avail, sizeof(avail));
	assert_string_equal(json_string_value(json_object_get(e, "digest")),
			    "b");
	assert_string_equal(
		avail,
		"linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/amd64");
	reg_platform_parse("linux/arm64/v8", &p, NULL);
	e = reg_platform_select(index, &p, avail, sizeof(avail));
	assert_string_equal(json_string_value(json_object_get(e, "digest")),
			    "c");
	reg_platform_parse("linux/amd64/v3", &p, NULL);
	assert_null(reg_platform_select(index, &p, avail, sizeof(avail)));
	reg_platform_parse("linux/s390x", &p, NULL);
	assert_null(reg_platform_select(index, &p, avail, sizeof(avail)));
	json_decref(index);
}

static void base64(void **state)
{
	size_t len;
	char *e, *d;

	(void)state;
	e = reg_base64_encode("user:pa:ss", 10);
	assert_string_equal(e, "dXNlcjpwYTpzcw==");
	d = reg_base64_decode(e, &len);
	assert_int_equal(len, 10);
	assert_string_equal(d, "user:pa:ss");
	free(e);
	free(d);
	assert_null(reg_base64_decode("abc", &len));
	assert_null(reg_base64_decode("ab!=", &len));
	/* Found by tests/fuzz/fuzz_image: all padding wrote before the
	 * buffer. */
	assert_null(reg_base64_decode("====", &len));
	assert_null(reg_base64_decode("AA======", &len));
	d = reg_base64_decode("AA==", &len);
	assert_int_equal(len, 1);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(challenges),
		cmocka_unit_test(keys),
		cmocka_unit_test_setup_teardown(store_lookup_erase, make_home,
						drop_home),
		cmocka_unit_test_setup_teardown(fallbacks, make_home,
						drop_home),
		cmocka_unit_test_setup_teardown(registries_conf, make_home,
						drop_home),
		cmocka_unit_test(platforms),
		cmocka_unit_test(base64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
