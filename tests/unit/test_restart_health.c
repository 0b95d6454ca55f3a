// SPDX-License-Identifier: Apache-2.0
/* test_restart_health.c - unit tests for container/: the restart back-off
 * (monitor.c) and HEALTHCHECK in records (health.c): Docker's Test forms,
 * hutch's old form read as CMD, run's options over the image's */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "container/container-internal.h"

#define MS 1000000LL
#define S  1000000000LL

static void backoff_doubles_to_a_minute_and_resets(void **state)
{
	int64_t d = 0, total = 0;

	(void)state;
	d = ctr_restart_delay(d, 5 * MS);
	assert_int_equal(d, 100 * MS);
	d = ctr_restart_delay(d, 5 * MS);
	assert_int_equal(d, 200 * MS);
	d = ctr_restart_delay(d, 5 * MS);
	assert_int_equal(d, 400 * MS);
	for (int i = 0; i < 20; i++)
		d = ctr_restart_delay(d, 5 * MS);
	assert_int_equal(d, 60 * S);
	/* A run of 10 s or more: back to the start. */
	assert_int_equal(ctr_restart_delay(d, 10 * S), 100 * MS);
	assert_int_equal(ctr_restart_delay(d, 9 * S), 60 * S);
	/* A command that fails at once: 10 restarts take over 50 s, not the
	 * fraction of a second they took without a back-off. */
	for (int i = 0, prev = 0; i < 10; i++) {
		prev = (int)(ctr_restart_delay(prev * MS, 0) / MS);
		total += prev;
	}
	assert_true(total > 50000);
}

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void docker_forms_round_trip(void **state)
{
	struct ctr_healthcheck h;
	json_t *j = parse(
		"{\"Test\":[\"CMD-SHELL\",\"curl -f localhost || exit 1\"],"
		"\"Interval\":5000000000,\"Retries\":2}");
	json_t *back;
	char *text;

	(void)state;
	assert_int_equal(ctr_healthcheck_from_json(j, &h), 0);
	assert_true(ctr_healthcheck_active(&h));
	assert_string_equal(h.test[0], "CMD-SHELL");
	assert_int_equal(h.interval, 5 * S);
	assert_int_equal(h.timeout, 0);
	assert_int_equal(h.retries, 2);
	back = ctr_healthcheck_json(&h, false);
	text = json_dumps(back, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
		text,
		"{\"Interval\":5000000000,\"Retries\":2,\"Test\":[\"CMD-SHELL\",\"curl -f localhost || exit 1\"]}");
	free(text);
	json_decref(back);
	json_decref(j);
	ctr_healthcheck_clear(&h);

	j = parse("{\"Test\":[\"NONE\"]}");
	assert_int_equal(ctr_healthcheck_from_json(j, &h), 0);
	assert_false(ctr_healthcheck_active(&h));
	json_decref(j);
	ctr_healthcheck_clear(&h);
}

/* What hutch wrote before: the shell's argv, no marker. */
static void old_records_are_read_as_cmd(void **state)
{
	struct ctr_healthcheck h;
	json_t *j = parse("{\"Test\":[\"/bin/sh\",\"-c\",\"test -e /ok\"],"
			  "\"Interval\":0,\"Timeout\":0,\"Retries\":0}");

	(void)state;
	assert_int_equal(ctr_healthcheck_from_json(j, &h), 0);
	assert_true(ctr_healthcheck_active(&h));
	assert_int_equal(cmn_strv_len(h.test), 4);
	assert_string_equal(h.test[0], "CMD");
	assert_string_equal(h.test[1], "/bin/sh");
	assert_string_equal(h.test[3], "test -e /ok");
	json_decref(j);
	ctr_healthcheck_clear(&h);
	/* No Healthcheck at all: none. */
	assert_int_equal(ctr_healthcheck_from_json(NULL, &h), 0);
	assert_false(ctr_healthcheck_active(&h));
}

/* run --health-interval over the image's HEALTHCHECK: the rest stays. */
static void options_override_the_image(void **state)
{
	struct ctr_healthcheck user = { .interval = 2 * S }, image;
	json_t *j = parse("{\"Test\":[\"CMD\",\"true\"],\"Interval\":"
			  "60000000000,\"Timeout\":3000000000}");

	(void)state;
	assert_int_equal(ctr_healthcheck_from_json(j, &image), 0);
	assert_int_equal(ctr_healthcheck_merge(&user, &image), 0);
	assert_string_equal(user.test[0], "CMD");
	assert_int_equal(user.interval, 2 * S);
	assert_int_equal(user.timeout, 3 * S);
	json_decref(j);
	ctr_healthcheck_clear(&user);
	ctr_healthcheck_clear(&image);
}

static void health_state_keeps_its_log(void **state)
{
	struct ctr_health h = { .failing_streak = 2 }, back = { 0 };
	json_t *j;

	(void)state;
	strcpy(h.status, "unhealthy");
	for (int i = 0; i < 3; i++) {
		h.log[i].start = i * S;
		h.log[i].end = i * S + MS;
		h.log[i].exit_code = i;
		h.log[i].output = strdup("out");
	}
	h.n_log = 3;
	j = ctr_health_json(&h);
	ctr_health_from_json(j, &back);
	assert_string_equal(back.status, "unhealthy");
	assert_int_equal(back.failing_streak, 2);
	assert_int_equal(back.n_log, 3);
	assert_int_equal(back.log[2].exit_code, 2);
	assert_string_equal(back.log[1].output, "out");
	json_decref(j);
	ctr_health_clear(&h);
	ctr_health_clear(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_doubles_to_a_minute_and_resets),
		cmocka_unit_test(docker_forms_round_trip),
		cmocka_unit_test(old_records_are_read_as_cmd),
		cmocka_unit_test(options_override_the_image),
		cmocka_unit_test(health_state_keeps_its_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
