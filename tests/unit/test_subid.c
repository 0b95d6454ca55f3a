// SPDX-License-Identifier: Apache-2.0
/* test_subid.c - unit tests for sandbox/idmap.c's subid files: a user's
 * ranges, and the free range `hutch info` proposes to an admin, read from
 * fake /etc/subuid and /etc/subgid files */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "sandbox/sandbox.h"

struct files {
	char dir[64];
	char subuid[96];
	char subgid[96];
};

static int files_setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-subid-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->subuid, sizeof(f->subuid), "%s/subuid", f->dir);
	snprintf(f->subgid, sizeof(f->subgid), "%s/subgid", f->dir);
	*state = f;
	return 0;
}

static int files_teardown(void **state)
{
	struct files *f = *state;

	unlink(f->subuid);
	unlink(f->subgid);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static void put(const char *path, const char *text)
{
	assert_int_equal(
		cmn_write_fileat(AT_FDCWD, path, text, strlen(text), 0644), 0);
}

/* The free range of 65536 from 100000, as hutch info asks for it. */
static uint32_t free_start(const struct files *f)
{
	uint32_t start = 0;

	assert_int_equal(sbx_subid_free_range(f->subuid, f->subgid, 100000,
					      65536, &start),
			 0);
	return start;
}

static void no_files_give_the_default(void **state)
{
	/* Neither file exists: nothing is taken. */
	assert_int_equal(free_start(*state), 100000);
}

static void the_default_taken_moves_past_it(void **state)
{
	struct files *f = *state;

	put(f->subuid, "alice:100000:65536\n");
	put(f->subgid, "alice:100000:65536\n");
	assert_int_equal(free_start(f), 165536);
}

/* A range taken in one file only is taken: usermod adds to both. */
static void either_file_counts(void **state)
{
	struct files *f = *state;

	put(f->subuid, "alice:100000:65536\n");
	put(f->subgid, "bob:165536:65536\n");
	assert_int_equal(free_start(f), 231072);
}

/* A small entry in the middle of the default, ranges out of order, a gap
 * too small to use, ids by number, and an entry below the start. */
static void overlaps_and_gaps(void **state)
{
	struct files *f = *state;

	put(f->subuid, "1000:300000:65536\n"
		       "carol:150000:10\n"
		       "dave:10000:5000\n");
	put(f->subgid, "erin:150010:100000\n");
	/* 100000.. overlaps carol's 150000; past erin's 250010 lies
	 * 250010..315545, which overlaps 1000's 300000..365535. */
	assert_int_equal(free_start(f), 365536);
}

/* Ranges that only touch the candidate's ends do not overlap it. */
static void touching_is_not_overlapping(void **state)
{
	struct files *f = *state;

	put(f->subuid, "a:34464:65536\nb:165536:65536\n");
	put(f->subgid, "");
	assert_int_equal(free_start(f), 100000);
}

/* Comments, blank and malformed lines are skipped as shadow skips them. */
static void junk_is_skipped(void **state)
{
	struct files *f = *state;

	put(f->subuid, "# comment\n\nfrank\nfrank:x:y\nfrank:100000:0\n"
		       "gina:100000:65536\n");
	put(f->subgid, "no newline at the end:1:2");
	assert_int_equal(free_start(f), 165536);
}

static void nothing_left(void **state)
{
	struct files *f = *state;
	uint32_t start = 0;

	put(f->subuid, "all:100000:4294867295\n");
	put(f->subgid, "");
	assert_int_equal(sbx_subid_free_range(f->subuid, f->subgid, 100000,
					      65536, &start),
			 -ENOSPC);
}

static void unreadable_file_is_an_error(void **state)
{
	struct files *f = *state;
	uint32_t start = 0;

	/* A directory where the file should be: reading it fails. */
	assert_int_equal(mkdir(f->subgid, 0755), 0);
	assert_true(sbx_subid_free_range(f->subuid, f->subgid, 100000, 65536,
					 &start) < 0);
	assert_int_equal(rmdir(f->subgid), 0);
}

static void ranges_of_one_user(void **state)
{
	struct files *f = *state;
	struct sbx_id_range r[4];

	put(f->subuid, "alice:100000:65536\nbob:165536:65536\n"
		       "1001:300000:1000\nalice:bad:1\n");
	assert_int_equal(sbx_subid_ranges(f->subuid, "alice", 1001, r, 4), 2);
	assert_int_equal(r[0].outside, 100000);
	assert_int_equal(r[0].count, 65536);
	assert_int_equal(r[1].outside, 300000);
	assert_int_equal(r[1].count, 1000);
	assert_int_equal(sbx_subid_ranges(f->subuid, "zoe", 7, r, 4), 0);
	assert_int_equal(sbx_subid_ranges(f->subgid, "alice", 1001, r, 4), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, files_setup, files_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(no_files_give_the_default),
		T(the_default_taken_moves_past_it),
		T(either_file_counts),
		T(overlaps_and_gaps),
		T(touching_is_not_overlapping),
		T(junk_is_skipped),
		T(nothing_left),
		T(unreadable_file_is_an_error),
		T(ranges_of_one_user),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
