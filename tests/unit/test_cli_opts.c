// SPDX-License-Identifier: Apache-2.0
/* test_cli_opts.c - unit tests for cli/opts.c's answers to options hutch
 * does not take: Docker's it leaves out (cli/unsupported.c's table) and
 * "did you mean" for typos (edit distance) */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli.h"

static int nop(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)ctx;
	(void)arg;
	(void)err;
	return 0;
}

static const struct cli_opt opts[] = {
	{ "network", 0, "MODE", "", nop },  { "name", 0, "NAME", "", nop },
	{ "detach", 'd', NULL, "", nop },   { "rm", 0, NULL, "", nop },
	{ "volume", 'v', "SPEC", "", nop },
};

static const struct cli_cmd cmd = { .name = "run", .usage = "run" };

static const char *parse(const char *a, const char *b, struct hutch_err *err)
{
	char *argv[] = { "run", (char *)a, (char *)b, NULL };
	bool help;

	memset(err, 0, sizeof(*err));
	assert_true(cli_parse(&cmd, opts, ARRAY_SIZE(opts), NULL, b ? 3 : 2,
			      argv, &help, err) < 0);
	return err->msg;
}

static void distances(void **state)
{
	(void)state;
	assert_int_equal(cli_edit_distance("network", "network"), 0);
	assert_int_equal(cli_edit_distance("netwrok", "network"), 2);
	assert_int_equal(cli_edit_distance("detatch", "detach"), 1);
	assert_int_equal(cli_edit_distance("", "rm"), 2);
	assert_int_equal(cli_edit_distance("kitten", "sitting"), 3);
}

static void typos_get_the_closest_option(void **state)
{
	struct hutch_err err;

	(void)state;
	assert_string_equal(
		parse("--netwrok", "host", &err),
		"run: unknown option --netwrok; did you mean --network? (see 'hutch run --help')");
	assert_non_null(strstr(parse("--detatch", NULL, &err),
			       "did you mean --detach?"));
	assert_non_null(strstr(parse("--volumes=x", NULL, &err),
			       "did you mean --volume?"));
	/* Too far from anything: no guess. */
	assert_string_equal(
		parse("--frobnicate", NULL, &err),
		"run: unknown option --frobnicate; see 'hutch run --help'");
	/* Short names: one edit at most. */
	assert_null(strstr(parse("--xy", NULL, &err), "did you mean"));
}

static void docker_options_say_why(void **state)
{
	struct hutch_err err;
	const char *msg;

	(void)state;
	msg = parse("--privileged", NULL, &err);
	assert_true(cmn_has_prefix(
		msg, "run: --privileged is not supported by hutch: "));
	assert_non_null(strstr(msg, "; use --cap-add"));
	assert_non_null(strstr(parse("-a", "stdout", &err),
			       "run: -a is not supported by hutch:"));
	/* The table's run entries are not build's, and neither is ps's. */
	assert_non_null(cli_unsupported_find("build", "cache-from", 0));
	assert_null(cli_unsupported_find("build", "privileged", 0));
	assert_non_null(cli_unsupported_find("build", "cpuset-cpus", 0));
	assert_null(cli_unsupported_find("ps", "cpuset-cpus", 0));
}

/* Every entry is one line with a reason and an alternative. */
static void table_is_well_formed(void **state)
{
	const struct cli_unsupported *t;
	size_t n = cli_unsupported_list(&t);

	(void)state;
	assert_true(n > 40);
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(t[i].name) > 1);
		assert_true(strlen(t[i].why) > 10);
		assert_true(strlen(t[i].use) > 3);
		assert_null(strchr(t[i].why, '\n'));
		assert_null(strchr(t[i].use, '\n'));
		for (size_t j = 0; j < i; j++)
			assert_false(!strcmp(t[i].name, t[j].name) &&
				     (!t[i].cmd || !t[j].cmd ||
				      !strcmp(t[i].cmd, t[j].cmd)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(distances),
		cmocka_unit_test(typos_get_the_closest_option),
		cmocka_unit_test(docker_options_say_why),
		cmocka_unit_test(table_is_well_formed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
