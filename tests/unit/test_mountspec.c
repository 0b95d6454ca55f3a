// SPDX-License-Identifier: Apache-2.0
/* test_mountspec.c - unit tests for the -v and --mount parsers of
 * cli/mount.c: Docker's CSV quoting, keys, sizes and modes, the errors */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static char dir[64]; /* a directory with a comma in its name */

static int make_dir(void **state)
{
	char base[] = "/tmp/test_mountspec.XXXXXX";

	(void)state;
	if (!mkdtemp(base))
		return -1;
	snprintf(dir, sizeof(dir), "%s/a,b", base);
	return mkdir(dir, 0700);
}

static int remove_dir(void **state)
{
	(void)state;
	rmdir(dir);
	*strrchr(dir, '/') = '\0';
	return rmdir(dir);
}

static void release(struct sbx_mount *m)
{
	free(m->src);
	free(m->dst);
	free(m->data);
	free(m->name);
	cmn_strv_free(m->labels);
}

/* --mount @spec parses; @m gets the result (release() it). */
static void mount_ok(const char *spec, struct sbx_mount *m)
{
	struct hutch_err err = { 0 };

	if (cli_mount_spec(spec, m, &err) != 0)
		fail_msg("'%s' rejected: %s", spec, err.msg);
}

/* --mount @spec fails with one line that contains @frag; nothing is left
 * allocated. */
static void mount_bad(const char *spec, const char *frag)
{
	struct hutch_err err = { 0 };
	struct sbx_mount m;

	assert_true(cli_mount_spec(spec, &m, &err) < 0);
	if (!strstr(err.msg, frag))
		fail_msg("'%s': message '%s' lacks '%s'", spec, err.msg, frag);
	assert_null(strchr(err.msg, '\n'));
	assert_null(m.dst);
	assert_null(m.src);
}

static void csv_quoting(void **state)
{
	char spec[256];
	struct sbx_mount m;

	(void)state;
	/* A quoted field may hold commas; "" inside it is one quote. */
	snprintf(spec, sizeof(spec), "type=bind,\"src=%s\",dst=/c", dir);
	mount_ok(spec, &m);
	assert_string_equal(m.src, dir);
	assert_string_equal(m.dst, "/c");
	release(&m);
	mount_ok("\"dst=/a\"\"b\",type=volume", &m);
	assert_string_equal(m.dst, "/a\"b");
	release(&m);
	mount_bad("type=volume,dst=/x\"y", "a quote inside a field");
	mount_bad("type=volume,\"dst=/x", "a quote is not closed");
	mount_bad("type=volume,\"dst=/x\"y", "text after a closing quote");
	mount_bad("", "give type=bind|volume|tmpfs");
}

static void keys_and_types(void **state)
{
	struct sbx_mount m;

	(void)state;
	/* Keys and the type are case-insensitive; the type defaults to
	 * volume; a key alone is a true flag. */
	mount_ok("Target=/v,SOURCE=data,RO,volume-nocopy", &m);
	assert_int_equal(m.kind, SBX_MOUNT_VOLUME);
	assert_string_equal(m.name, "data");
	assert_true(m.read_only);
	assert_false(m.copy_up);
	release(&m);
	mount_ok("type=VOLUME,destination=/v,volume-label=a=b,readonly=false",
		 &m);
	assert_null(m.name); /* anonymous */
	assert_true(m.copy_up);
	assert_false(m.read_only);
	assert_string_equal(m.labels[0], "a=b");
	release(&m);
	mount_ok(
		"type=bind,src=/,dst=/h,bind-propagation=rprivate,bind-nonrecursive",
		&m);
	assert_int_equal(m.kind, SBX_MOUNT_BIND);
	assert_int_equal(m.propagation, MS_PRIVATE | MS_REC);
	assert_true(m.non_recursive);
	release(&m);
	mount_ok(
		"type=bind,src=/,dst=/h,bind-propagation=slave,consistency=cached",
		&m);
	assert_int_equal(m.propagation, MS_SLAVE);
	release(&m);
}

static void tmpfs_sizes_and_modes(void **state)
{
	static const struct {
		const char *spec, *data;
	} cases[] = {
		{ "type=tmpfs,dst=/t", "mode=1777" },
		{ "type=tmpfs,dst=/t,tmpfs-size=64m",
		  "mode=1777,size=67108864" },
		{ "type=tmpfs,dst=/t,tmpfs-size=1.5g,tmpfs-mode=700",
		  "mode=700,size=1610612736" },
		{ "type=tmpfs,dst=/t,tmpfs-size=4096", "mode=1777,size=4096" },
		{ "type=tmpfs,dst=/t,tmpfs-size=2KiB", "mode=1777,size=2048" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbx_mount m;

		mount_ok(cases[i].spec, &m);
		assert_int_equal(m.kind, SBX_MOUNT_TMPFS);
		assert_string_equal(m.data, cases[i].data);
		assert_int_equal(m.flags, MS_NOSUID | MS_NODEV);
		release(&m);
	}
	mount_bad("type=tmpfs,dst=/t,tmpfs-size=big", "tmpfs-size");
	mount_bad("type=tmpfs,dst=/t,tmpfs-size=-1", "tmpfs-size");
	mount_bad("type=tmpfs,dst=/t,tmpfs-mode=8", "tmpfs-mode");
	mount_bad("type=tmpfs,dst=/t,tmpfs-mode=17777", "tmpfs-mode");
}

static void bad_mounts(void **state)
{
	(void)state;
	mount_bad("type=bind,src=/", "target is required");
	mount_bad("type=bind,dst=/x", "source is required");
	mount_bad("type=bind,src=/,dst=x", "absolute path");
	mount_bad("type=bind,src=/,dst=/", "absolute path");
	mount_bad("type=bind,src=/,dst=/x,volume-nocopy",
		  "cannot mix 'volume-*' options (volume-nocopy)");
	mount_bad("type=volume,dst=/x,bind-propagation=rslave",
		  "cannot mix 'bind-*' options");
	mount_bad("type=bind,src=/,dst=/x,tmpfs-mode=700",
		  "cannot mix 'tmpfs-*' options");
	mount_bad("type=tmpfs,src=x,dst=/x", "a tmpfs has no source");
	mount_bad("type=bind,src=/,dst=/x,bind-propagation=rshared",
		  "rshared is not supported by hutch");
	mount_bad("type=bind,src=/,dst=/x,bind-propagation=sideways",
		  "unknown bind-propagation");
	mount_bad("type=volume,dst=/x,volume-opt=o=addr", "volume-opt");
	mount_bad("type=volume,dst=/x,volume-driver=nfs", "volume-driver");
	mount_bad("type=volume,dst=/x,color=red", "unknown key 'color'");
	mount_bad("type=volume,dst=/x,ro=perhaps", "invalid value for ro");
	mount_bad("type=volume,dst", "field 'dst' must be a key=value pair");
	mount_bad("type=image,dst=/x", "type image is not supported");
	mount_bad("type=volume,src=-x,dst=/x", "invalid characters");
	mount_bad("type=volume,src=x,dst=/x", "two at least");
}

/* -v @spec parses into @m (release() it). */
static void volume_ok(const char *spec, struct sbx_mount *m)
{
	struct hutch_err err = { 0 };

	if (cli_volume_spec(spec, m, &err) != 0)
		fail_msg("'%s' rejected: %s", spec, err.msg);
}

static void short_form(void **state)
{
	struct hutch_err err = { 0 };
	struct sbx_mount m;

	(void)state;
	volume_ok("/scratch", &m);
	assert_int_equal(m.kind, SBX_MOUNT_VOLUME);
	assert_null(m.name);
	assert_true(m.copy_up);
	release(&m);
	volume_ok("data.v1:/d:ro,nocopy", &m);
	assert_string_equal(m.name, "data.v1");
	assert_true(m.read_only);
	assert_false(m.copy_up);
	release(&m);
	volume_ok("/:/host:rslave,z", &m);
	assert_int_equal(m.kind, SBX_MOUNT_BIND);
	assert_string_equal(m.src, "/");
	assert_int_equal(m.propagation, MS_SLAVE | MS_REC);
	release(&m);
	assert_true(cli_volume_spec("data:/d:rprivate", &m, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown option \"rprivate\""));
	assert_true(cli_volume_spec("/:/d:shared", &m, &err) < 0);
	assert_non_null(strstr(err.msg, "not supported by hutch"));
	assert_true(cli_volume_spec("relative", &m, &err) < 0);
	assert_true(cli_volume_spec("da ta:/d", &m, &err) < 0);
	assert_non_null(strstr(err.msg, "invalid characters"));
	assert_null(m.dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csv_quoting),
		cmocka_unit_test(keys_and_types),
		cmocka_unit_test(tmpfs_sizes_and_modes),
		cmocka_unit_test(bad_mounts),
		cmocka_unit_test(short_form),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
