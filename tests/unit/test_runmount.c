// SPDX-License-Identifier: Apache-2.0
/* test_runmount.c - RUN --mount's CSV record as BuildKit reads it (types,
 * spellings, defaults, quoting, units, the errors), and build's --secret
 * and --ssh specifications
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "builder/builder.h"

static struct bld_mount parse_ok(const char *spec)
{
	struct hutch_err err = { 0 };
	struct bld_mount m;

	if (bld_mount_parse(spec, &m, &err) < 0)
		fail_msg("%s: %s", spec, err.msg);
	return m;
}

/* @spec fails with a message holding @want. */
static void parse_bad(const char *spec, const char *want)
{
	struct hutch_err err = { 0 };
	struct bld_mount m;

	if (bld_mount_parse(spec, &m, &err) == 0)
		fail_msg("%s: accepted", spec);
	if (!strstr(err.msg, want))
		fail_msg("%s: \"%s\" lacks \"%s\"", spec, err.msg, want);
	assert_null(strchr(err.msg, '\n'));
}

static void types_and_defaults(void **state)
{
	struct bld_mount m;

	(void)state;
	m = parse_ok("target=/src");
	assert_int_equal(m.type, BLD_MOUNT_BIND);
	assert_true(m.read_only);
	assert_null(m.source);
	bld_mount_clear(&m);
	m = parse_ok("type=cache,target=/root/.cache");
	assert_int_equal(m.type, BLD_MOUNT_CACHE);
	assert_false(m.read_only);
	assert_int_equal(m.sharing, BLD_SHARING_SHARED);
	assert_true(m.uid == -1 && m.gid == -1 && m.mode == -1);
	bld_mount_clear(&m);
	m = parse_ok(
		"TYPE=Cache,Target=/c,Sharing=LOCKED,uid=1000,gid=50,mode=0700,ro");
	assert_int_equal(m.sharing, BLD_SHARING_LOCKED);
	assert_true(m.uid == 1000 && m.gid == 50 && m.mode == 0700);
	assert_true(m.read_only);
	bld_mount_clear(&m);
	m = parse_ok("type=tmpfs,dst=/t");
	assert_false(m.read_only);
	assert_int_equal(m.size, 0);
	assert_string_equal(m.target, "/t");
	bld_mount_clear(&m);
	/* A secret's source= is its id; ssh's id defaults to "default". */
	m = parse_ok("required,type=secret,source=aws");
	assert_string_equal(m.id, "aws");
	assert_null(m.source);
	assert_true(m.required);
	assert_null(m.target);
	bld_mount_clear(&m);
	m = parse_ok("type=ssh");
	assert_string_equal(m.id, "default");
	assert_false(m.required);
	bld_mount_clear(&m);
	m = parse_ok("type=secret,id=tok,env=TOKEN,required=false");
	assert_string_equal(m.env, "TOKEN");
	assert_false(m.required);
	bld_mount_clear(&m);
	m = parse_ok("type=bind,source=a,destination=/b,rw=true,from=builder");
	assert_false(m.read_only);
	assert_string_equal(m.from, "builder");
	assert_string_equal(m.source, "a");
	bld_mount_clear(&m);
	m = parse_ok("type=bind,target=/b,readwrite,readonly=1");
	assert_true(m.read_only); /* the last one wins */
	bld_mount_clear(&m);
}

static void quoting_and_units(void **state)
{
	static const struct {
		const char *spec;
		uint64_t size;
	} sizes[] = {
		{ "type=tmpfs,target=/t,size=4096", 4096 },
		{ "type=tmpfs,target=/t,size=64k", 64 << 10 },
		{ "type=tmpfs,target=/t,size=64m", 64 << 20 },
		{ "type=tmpfs,target=/t,size=1GiB", 1ull << 30 },
		{ "type=tmpfs,target=/t,size=2 gb", 2ull << 30 },
		{ "type=tmpfs,target=/t,size=100b", 100 },
	};
	struct bld_mount m;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		m = parse_ok(sizes[i].spec);
		assert_int_equal(m.size, sizes[i].size);
		bld_mount_clear(&m);
	}
	m = parse_ok("type=bind,\"target=/a,b\",\"source=x\"\"y\"");
	assert_string_equal(m.target, "/a,b");
	assert_string_equal(m.source, "x\"y");
	bld_mount_clear(&m);
	parse_bad("type=bind,target=/a\"b", "a quote may only open a field");
	parse_bad("type=bind,\"target=/a", "a quoted field must end");
	parse_bad("type=bind,\"target=/a\"x", "a quoted field must end");
}

static void errors(void **state)
{
	(void)state;
	parse_bad("type=volume,target=/v", "unknown mount type \"volume\"");
	parse_bad("type=cache,target=/c,colour=red",
		  "unknown option \"colour=red\"");
	parse_bad(
		"type=bind,target=/b,size=1m",
		"option \"size\" is not valid for type=bind (it is for type=tmpfs)");
	parse_bad(
		"type=tmpfs,target=/t,uid=1",
		"option \"uid\" is not valid for type=tmpfs (it is for type=cache or type=secret or type=ssh)");
	parse_bad("type=bind,target=/b,required", "not valid for type=bind");
	parse_bad("type=cache,target=/c,sharing=sometimes", "unknown sharing");
	parse_bad("type=cache", "type=cache needs target=");
	parse_bad("type=tmpfs,target=", "type=tmpfs needs target=");
	parse_bad("type=tmpfs,target=/t,size=lots", "invalid size \"lots\"");
	parse_bad("type=tmpfs,target=/t,size=0", "invalid size");
	parse_bad("type=tmpfs,target=/t,size=1x", "invalid size");
	parse_bad("type=cache,target=/c,mode=0999", "invalid mode");
	parse_bad("type=cache,target=/c,mode=10000", "invalid mode");
	parse_bad("type=cache,target=/c,uid=-1", "invalid id");
	parse_bad("type=cache,target=/c,uid=4294967295", "invalid id");
	parse_bad("type=cache,target=/c,ro=maybe", "is not a boolean");
	parse_bad("type=cache,target=/c,id", "option \"id\" needs a value");
	parse_bad("type=secret,id=a,source=b", "not both");
	parse_bad("type=secret", "a secret mount needs id=");
	parse_bad("type=bind,target=/b,", "unknown option \"\"");
}

static void secret_specs(void **state)
{
	char path[] = "/tmp/hutch-test-secret-XXXXXX";
	struct hutch_err err = { 0 };
	struct bld_secret s;
	char *spec;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	spec = NULL;
	assert_true(asprintf(&spec, "id=a,src=%s", path) > 0);
	assert_int_equal(bld_secret_parse(spec, &s, &err), 0);
	assert_string_equal(s.id, "a");
	assert_string_equal(s.path, path);
	assert_null(s.env);
	bld_secret_clear(&s);
	free(spec);
	setenv("HUTCH_TEST_SECRET", "v", 1);
	assert_int_equal(
		bld_secret_parse("id=b,env=HUTCH_TEST_SECRET", &s, &err), 0);
	assert_string_equal(s.env, "HUTCH_TEST_SECRET");
	bld_secret_clear(&s);
	/* buildx: type=env takes src= as the variable's name */
	assert_int_equal(bld_secret_parse("id=b,type=env,src=HUTCH_TEST_SECRET",
					  &s, &err),
			 0);
	assert_string_equal(s.env, "HUTCH_TEST_SECRET");
	assert_null(s.path);
	bld_secret_clear(&s);
	/* id alone: the variable of that name when it is set */
	assert_int_equal(bld_secret_parse("id=HUTCH_TEST_SECRET", &s, &err), 0);
	assert_string_equal(s.env, "HUTCH_TEST_SECRET");
	bld_secret_clear(&s);
	unsetenv("HUTCH_TEST_SECRET");
	assert_int_equal(
		bld_secret_parse("id=c,env=HUTCH_TEST_SECRET", &s, &err),
		-ENOENT);
	assert_non_null(strstr(err.msg, "HUTCH_TEST_SECRET is not set"));
	assert_int_equal(bld_secret_parse("src=/x", &s, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no id="));
	assert_int_equal(bld_secret_parse("id=x,colour=red", &s, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "unknown key \"colour\""));
	assert_int_equal(bld_secret_parse("id=x,type=vault", &s, &err),
			 -EINVAL);
	assert_int_equal(
		bld_secret_parse("id=x,src=/nonexistent/secret", &s, &err),
		-ENOENT);
	unlink(path);
}

static void ssh_specs(void **state)
{
	char dir[] = "/tmp/hutch-test-ssh-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hutch_err err = { 0 };
	struct bld_ssh s;
	char *spec = NULL;
	int sock;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/agent", dir);
	sock = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(bld_ssh_parse("default", sa.sun_path, &s, &err), 0);
	assert_string_equal(s.id, "default");
	assert_string_equal(s.path, sa.sun_path);
	bld_ssh_clear(&s);
	assert_true(asprintf(&spec, "deploy=%s", sa.sun_path) > 0);
	assert_int_equal(bld_ssh_parse(spec, NULL, &s, &err), 0);
	assert_string_equal(s.id, "deploy");
	bld_ssh_clear(&s);
	free(spec);
	assert_int_equal(bld_ssh_parse("default", NULL, &s, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "SSH_AUTH_SOCK is not set"));
	assert_int_equal(bld_ssh_parse("default", dir, &s, &err), -ENOTSOCK);
	assert_int_equal(bld_ssh_parse("=x", NULL, &s, &err), -EINVAL);
	assert_int_equal(bld_ssh_parse("a=/k1,/k2", NULL, &s, &err), -EINVAL);
	close(sock);
	unlink(sa.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(types_and_defaults),
		cmocka_unit_test(quoting_and_units),
		cmocka_unit_test(errors),
		cmocka_unit_test(secret_specs),
		cmocka_unit_test(ssh_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
