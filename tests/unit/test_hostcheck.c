// SPDX-License-Identifier: Apache-2.0
/* test_hostcheck.c - unit tests for sandbox/hostcheck.c: the sysctl gates
 * read from fake /proc/sys trees, and the report built on them (its probes
 * are real: they fork, unshare and mount on this machine) */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "sandbox/sandbox-internal.h"

/* A fake sysctl tree in a temp dir; @state holds its path. */
struct fake {
	char dir[64];
};

static void put(struct fake *f, const char *rel, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->dir, rel);
	assert_int_equal(
		cmn_write_fileat(AT_FDCWD, path, value, strlen(value), 0644),
		0);
}

/* What a healthy Ubuntu 24.04-like host with the restriction lifted has. */
static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	char path[128];

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-hostcheck-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/user", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/kernel", f->dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put(f, "user/max_user_namespaces", "63474\n");
	put(f, "user/max_mnt_namespaces", "63474\n");
	put(f, "user/max_net_namespaces", "63474\n");
	put(f, "kernel/unprivileged_userns_clone", "1\n");
	put(f, "kernel/apparmor_restrict_unprivileged_userns", "0\n");
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void assert_contains(const char *s, const char *part)
{
	if (!s || !strstr(s, part))
		fail_msg("\"%s\" does not contain \"%s\"", s ? s : "(null)",
			 part);
}

static void healthy_tree_has_no_blocker(void **state)
{
	struct fake *f = *state;

	assert_null(sbx_userns_blocker(f->dir));
}

static void missing_tree_has_no_blocker(void **state)
{
	(void)state;
	/* Kernels without these sysctls (most) do not restrict anything. */
	assert_null(sbx_userns_blocker("/nonexistent/proc/sys"));
}

/* Sets @rel to @value and checks the blocker names @sysctl and @fix. */
static void expect_blocker(struct fake *f, const char *rel, const char *value,
			   const char *sysctl, const char *fix)
{
	cleanup_free char *msg = NULL;

	put(f, rel, value);
	msg = sbx_userns_blocker(f->dir);
	assert_non_null(msg);
	assert_contains(msg, sysctl);
	assert_contains(msg, fix);
	assert_null(strchr(msg, '\n'));
}

static void max_user_namespaces_zero(void **state)
{
	expect_blocker(*state, "user/max_user_namespaces", "0\n",
		       "user.max_user_namespaces",
		       "sudo sysctl -w user.max_user_namespaces=15000");
}

static void unprivileged_userns_clone_zero(void **state)
{
	expect_blocker(*state, "kernel/unprivileged_userns_clone", "0\n",
		       "kernel.unprivileged_userns_clone",
		       "sudo sysctl -w kernel.unprivileged_userns_clone=1");
}

static void apparmor_restriction(void **state)
{
	cleanup_free char *msg = NULL;

	expect_blocker(
		*state, "kernel/apparmor_restrict_unprivileged_userns", "1\n",
		"kernel.apparmor_restrict_unprivileged_userns",
		"sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0");
	msg = sbx_userns_blocker(((struct fake *)*state)->dir);
	assert_contains(msg, "packaging/apparmor/");
}

static void max_mnt_namespaces_zero(void **state)
{
	expect_blocker(*state, "user/max_mnt_namespaces", "0",
		       "user.max_mnt_namespaces",
		       "sudo sysctl -w user.max_mnt_namespaces=15000");
}

static void first_gate_wins(void **state)
{
	struct fake *f = *state;
	cleanup_free char *msg = NULL;

	put(f, "kernel/unprivileged_userns_clone", "0\n");
	put(f, "user/max_user_namespaces", "0\n");
	msg = sbx_userns_blocker(f->dir);
	assert_contains(msg, "user.max_user_namespaces");
	assert_null(strstr(msg, "unprivileged_userns_clone"));
}

static void garbage_is_not_a_blocker(void **state)
{
	struct fake *f = *state;

	put(f, "user/max_user_namespaces", "zero\n");
	put(f, "kernel/unprivileged_userns_clone", "\n");
	assert_null(sbx_userns_blocker(f->dir));
}

static const struct sbx_check *find(const struct sbx_report *rep,
				    const char *name)
{
	for (size_t i = 0; i < rep->n; i++)
		if (!strcmp(rep->checks[i].name, name))
			return &rep->checks[i];
	return NULL;
}

/* Invariants of every report: a value on every line, a one-line fix on
 * every problem, the steps in order, the summary last. */
static void assert_well_formed(const struct sbx_report *rep)
{
	static const char *const order[] = {
		"kernel",	  "user namespaces",
		"id mapping",	  "newuidmap",
		"newgidmap",	  "/dev/fuse",
		"fusermount3",	  "/dev/net/tun",
		"kernel overlay", "cgroups",
		"store",	  "runtime dir",
		"hutch",	  "hutch-net",
		"hutch-overlay",  "rootless containers",
	};
	size_t at = 0;

	assert_true(rep->n >= ARRAY_SIZE(order));
	for (size_t i = 0; i < rep->n; i++) {
		const struct sbx_check *c = &rep->checks[i];

		assert_non_null(c->value);
		assert_null(strchr(c->value, '\n'));
		if (c->state != SBX_CHECK_OK) {
			assert_non_null(c->fix);
			assert_true(strlen(c->fix) > 0);
			assert_null(strchr(c->fix, '\n'));
		}
		if (at < ARRAY_SIZE(order) && !strcmp(c->name, order[at]))
			at++;
	}
	assert_int_equal(at, ARRAY_SIZE(order));
	assert_string_equal(rep->checks[rep->n - 1].name,
			    "rootless containers");
}

static void report_fails_on_closed_sysctl(void **state)
{
	struct fake *f = *state;
	struct sbx_report rep = { 0 };
	struct hutch_err err = { 0 };
	const struct sbx_check *c;

	put(f, "user/max_user_namespaces", "0\n");
	assert_int_equal(sbx_host_report(f->dir, &rep, &err), 0);
	assert_well_formed(&rep);
	c = find(&rep, "user namespaces");
	assert_non_null(c);
	assert_int_equal(c->state, SBX_CHECK_FAIL);
	assert_contains(c->value, "user.max_user_namespaces");
	assert_contains(c->fix,
			"sudo sysctl -w user.max_user_namespaces=15000");
	c = &rep.checks[rep.n - 1];
	assert_int_equal(c->state, SBX_CHECK_FAIL);
	assert_contains(c->value, "no: user namespaces");
	assert_non_null(c->fix);
	sbx_report_free(&rep);
	assert_null(rep.checks);
}

static void report_apparmor_names_the_fix(void **state)
{
	struct fake *f = *state;
	struct sbx_report rep = { 0 };
	const struct sbx_check *c;

	put(f, "kernel/apparmor_restrict_unprivileged_userns", "1\n");
	assert_int_equal(sbx_host_report(f->dir, &rep, NULL), 0);
	c = find(&rep, "user namespaces");
	assert_non_null(c);
	assert_int_equal(c->state, SBX_CHECK_FAIL);
	assert_contains(c->fix, "apparmor_restrict_unprivileged_userns=0");
	assert_contains(c->fix, "packaging/apparmor/");
	sbx_report_free(&rep);
}

/* On this machine user namespaces work (the suite's premise), so with open
 * gates the real probe must say so. */
static void report_healthy_tree(void **state)
{
	struct fake *f = *state;
	struct sbx_report rep = { 0 };
	const struct sbx_check *c;

	assert_int_equal(sbx_host_report(f->dir, &rep, NULL), 0);
	assert_well_formed(&rep);
	c = find(&rep, "user namespaces");
	assert_non_null(c);
	assert_string_equal(c->value, "yes");
	assert_int_equal(c->state, SBX_CHECK_OK);
	assert_null(find(&rep, "network namespaces"));
	sbx_report_free(&rep);
}

static void report_net_namespaces_zero_warns(void **state)
{
	struct fake *f = *state;
	struct sbx_report rep = { 0 };
	const struct sbx_check *c;

	put(f, "user/max_net_namespaces", "0\n");
	assert_int_equal(sbx_host_report(f->dir, &rep, NULL), 0);
	c = find(&rep, "network namespaces");
	assert_non_null(c);
	assert_int_equal(c->state, SBX_CHECK_WARN);
	assert_contains(c->fix, "user.max_net_namespaces");
	sbx_report_free(&rep);
}

static bool dir_is_empty(const char *path)
{
	cleanup_dir DIR *d = opendir(path);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			return false;
	return true;
}

/* The overlay probe works in the store when it exists and leaves nothing
 * there; when the store does not exist it is not created. */
static void overlay_probe_cleans_up(void **state)
{
	struct fake *f = *state;
	struct sbx_report rep = { 0 };
	const struct sbx_check *c;
	char store[128], runtime[128];
	struct stat st;

	snprintf(store, sizeof(store), "%s/store", f->dir);
	snprintf(runtime, sizeof(runtime), "%s/runtime", f->dir);
	assert_int_equal(mkdir(store, 0700), 0);
	setenv("HUTCH_ROOT", store, 1);
	setenv("HUTCH_RUNTIME", runtime, 1);
	assert_int_equal(sbx_host_report(f->dir, &rep, NULL), 0);
	c = find(&rep, "kernel overlay");
	assert_non_null(c);
	assert_contains(c->value, store);
	assert_int_equal(c->state, SBX_CHECK_OK); /* this machine has it */
	assert_true(dir_is_empty(store));
	sbx_report_free(&rep);

	assert_int_equal(rmdir(store), 0);
	assert_int_equal(sbx_host_report(f->dir, &rep, NULL), 0);
	assert_int_equal(stat(store, &st), -1);
	assert_int_equal(stat(runtime, &st), -1);
	c = find(&rep, "store");
	assert_contains(c->value, "not created yet");
	sbx_report_free(&rep);
	unsetenv("HUTCH_ROOT");
	unsetenv("HUTCH_RUNTIME");
}

/* The packaged profile's text, byte for byte (packaging/apparmor/hutch). */
static void apparmor_profile_for_usr_bin(void **state)
{
	struct sbx_apparmor aa;

	(void)state;
	assert_int_equal(sbx_apparmor_profile("/usr/bin/hutch", &aa), 0);
	assert_string_equal(aa.name, "hutch");
	assert_string_equal(aa.file, "/etc/apparmor.d/hutch");
	assert_string_equal(
		aa.text, "abi <abi/3.0>,\n"
			 "\n"
			 "include <tunables/global>\n"
			 "\n"
			 "profile hutch /usr/bin/hutch flags=(unconfined) {\n"
			 "  # Site-specific additions and overrides.\n"
			 "  include if exists <local/hutch>\n"
			 "}\n");
	sbx_apparmor_free(&aa);
}

/* Another path gets a name of its own, and a path AppArmor would read as
 * a pattern is quoted and escaped to match itself only. */
static void apparmor_profile_for_other_paths(void **state)
{
	cleanup_free char *fix = NULL;
	struct sbx_apparmor aa;

	(void)state;
	assert_int_equal(
		sbx_apparmor_profile("/home/ann/hutch-0.1.0/bin/hutch", &aa),
		0);
	assert_string_equal(aa.name, "hutch.home.ann.hutch-0.1.0.bin.hutch");
	assert_string_equal(
		aa.file,
		"/etc/apparmor.d/hutch.home.ann.hutch-0.1.0.bin.hutch");
	assert_contains(
		aa.text,
		"profile hutch.home.ann.hutch-0.1.0.bin.hutch /home/ann/hutch-0.1.0/bin/hutch flags=(unconfined) {\n");
	assert_contains(
		aa.text,
		"include if exists <local/hutch.home.ann.hutch-0.1.0.bin.hutch>");
	fix = sbx_apparmor_fix(&aa);
	assert_contains(
		fix,
		"sudo apparmor_parser -r /etc/apparmor.d/hutch.home.ann.hutch-0.1.0.bin.hutch");
	assert_contains(fix, "for /home/ann/hutch-0.1.0/bin/hutch");
	assert_null(strchr(fix, '\n'));
	sbx_apparmor_free(&aa);

	assert_int_equal(sbx_apparmor_profile("/opt/my apps/{x}*/hutch", &aa),
			 0);
	assert_string_equal(aa.name, "hutch.opt.my_apps._x__.hutch");
	assert_contains(
		aa.text,
		" \"/opt/my apps/\\{x\\}\\*/hutch\" flags=(unconfined)");
	sbx_apparmor_free(&aa);

	assert_int_equal(sbx_apparmor_profile("hutch", &aa), -EINVAL);
	assert_int_equal(sbx_apparmor_profile("/a\nb/hutch", &aa), -EINVAL);
	assert_int_equal(sbx_apparmor_profile(NULL, &aa), -EINVAL);
}

/* Under the restriction, the blocker and the report name the profile for
 * the running binary's real path (here the test's own). */
static void apparmor_names_this_binary(void **state)
{
	struct fake *f = *state;
	cleanup_free char *self = sbx_self_exe();
	cleanup_free char *msg = NULL;
	cleanup_free char *want = NULL;
	struct sbx_report rep = { 0 };
	struct sbx_apparmor aa;
	const struct sbx_check *c;

	assert_non_null(self);
	assert_int_equal(sbx_apparmor_profile(self, &aa), 0);
	put(f, "kernel/apparmor_restrict_unprivileged_userns", "1\n");
	msg = sbx_userns_blocker(f->dir);
	want = cmn_strdup_printf(
		"prints for %s as %s and load it: sudo apparmor_parser -r %s",
		self, aa.file, aa.file);
	assert_contains(msg, want);
	assert_int_equal(sbx_host_report(f->dir, &rep, NULL), 0);
	assert_well_formed(&rep);
	c = find(&rep, "user namespaces");
	assert_non_null(c);
	assert_contains(c->fix, want);
	assert_non_null(c->detail);
	assert_string_equal(c->detail, aa.text);
	/* Only that line carries it; the summary repeats the fix alone. */
	assert_null(rep.checks[rep.n - 1].detail);
	sbx_report_free(&rep);
	sbx_apparmor_free(&aa);
}

static void procsys_from_the_environment(void **state)
{
	(void)state;
	unsetenv("HUTCH_PROCSYS");
	assert_string_equal(sbx_procsys(), "/proc/sys");
	setenv("HUTCH_PROCSYS", "relative/sys", 1);
	assert_string_equal(sbx_procsys(), "/proc/sys");
	setenv("HUTCH_PROCSYS", "/tmp/fake/sys", 1);
	assert_string_equal(sbx_procsys(), "/tmp/fake/sys");
	unsetenv("HUTCH_PROCSYS");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fake_setup, fake_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(healthy_tree_has_no_blocker),
		T(missing_tree_has_no_blocker),
		T(max_user_namespaces_zero),
		T(unprivileged_userns_clone_zero),
		T(apparmor_restriction),
		T(max_mnt_namespaces_zero),
		T(first_gate_wins),
		T(garbage_is_not_a_blocker),
		T(report_fails_on_closed_sysctl),
		T(report_apparmor_names_the_fix),
		T(report_healthy_tree),
		T(report_net_namespaces_zero_warns),
		T(overlay_probe_cleans_up),
		T(apparmor_profile_for_usr_bin),
		T(apparmor_profile_for_other_paths),
		T(apparmor_names_this_binary),
		T(procsys_from_the_environment),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
