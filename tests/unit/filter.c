// SPDX-License-Identifier: Apache-2.0
/* filter.c - HUTCH_TEST_FILTER for every unit test binary: run only the
 * tests whose name matches that extended regular expression (tests/run -f)
 *
 * cmocka 1.1 has a filter of its own, cmocka_set_test_filter(), but it
 * takes a glob where bats and tests/run take a regular expression, and each
 * main() would have to call it. Instead every unit test binary is linked
 * with -Wl,--wrap=_cmocka_run_group_tests: the function each
 * cmocka_run_group_tests*() macro calls comes here first and is handed
 * only the matching tests. A group left with none is not run at all (its
 * group setup neither), and prints nothing. The two names are the
 * linker's, hence no part prefix.
 */

#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

int __real__cmocka_run_group_tests(const char *group_name,
				   const struct CMUnitTest *const tests,
				   const size_t num_tests,
				   CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown);
int __wrap__cmocka_run_group_tests(const char *group_name,
				   const struct CMUnitTest *const tests,
				   const size_t num_tests,
				   CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown);

int __wrap__cmocka_run_group_tests(const char *group_name,
				   const struct CMUnitTest *const tests,
				   const size_t num_tests,
				   CMFixtureFunction group_setup,
				   CMFixtureFunction group_teardown)
{
	const char *re = getenv("HUTCH_TEST_FILTER");
	struct CMUnitTest *keep;
	size_t n = 0;
	regex_t rx;
	int ret;

	if (!re || !*re)
		return __real__cmocka_run_group_tests(group_name, tests,
						      num_tests, group_setup,
						      group_teardown);
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB)) {
		fprintf(stderr,
			"HUTCH_TEST_FILTER: \"%s\" is not an extended regular expression\n",
			re);
		return 1;
	}
	keep = calloc(num_tests + 1, sizeof(*keep));
	if (!keep) {
		regfree(&rx);
		return 1;
	}
	for (size_t i = 0; i < num_tests; i++)
		if (tests[i].name &&
		    regexec(&rx, tests[i].name, 0, NULL, 0) == 0)
			keep[n++] = tests[i];
	regfree(&rx);
	ret = n ? __real__cmocka_run_group_tests(group_name, keep, n,
						 group_setup, group_teardown)
		: 0;
	free(keep);
	return ret;
}
