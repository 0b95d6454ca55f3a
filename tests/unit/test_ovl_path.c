// SPDX-License-Identifier: Apache-2.0
/* test_ovl_path.c - unit tests for hutch-overlay's node paths (inode.c)
 *
 * ovl_node_path_locked() and ovl_node_lpath_locked() rebuild a node's path
 * relative to a layer root from its (parent, name) chain into a heap
 * buffer sized to it: no ceiling (issue 20), the redirect of the nearest
 * renamed directory as the lower prefix, -ENOENT below an unlinked node,
 * and -ENOMEM (never a crash, *out NULL) where malloc fails, which
 * __wrap_malloc makes happen on demand (this binary is linked with
 * --wrap=malloc, which catches only libovl's own calls).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "fuse-overlay/ovl-internal.h"

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static bool fail_malloc;

void *__wrap_malloc(size_t size)
{
	if (fail_malloc)
		return NULL;
	return __real_malloc(size);
}

/* A chain of @depth directories under a root, each named @name; nodes[0]
 * is the root. Only what the path builders read is set. */
struct chain {
	struct ovl_node *nodes;
	struct ovl_dir *dirs;
	size_t depth;
};

static void chain_make(struct chain *c, size_t depth, const char *name)
{
	c->depth = depth;
	c->nodes = calloc(depth + 1, sizeof(*c->nodes));
	c->dirs = calloc(depth + 1, sizeof(*c->dirs));
	assert_non_null(c->nodes);
	assert_non_null(c->dirs);
	for (size_t i = 0; i <= depth; i++) {
		c->nodes[i].dir = &c->dirs[i];
		if (i == 0)
			continue;
		c->nodes[i].parent = &c->nodes[i - 1];
		c->nodes[i].name = strdup(name);
		assert_non_null(c->nodes[i].name);
	}
}

static void chain_free(struct chain *c)
{
	for (size_t i = 1; i <= c->depth; i++)
		free(c->nodes[i].name);
	free(c->nodes);
	free(c->dirs);
}

static void root_is_dot(void **state)
{
	struct chain c;
	cleanup_free char *p = NULL, *lp = NULL;

	(void)state;
	chain_make(&c, 0, "x");
	assert_int_equal(ovl_node_path_locked(&c.nodes[0], &p), 0);
	assert_string_equal(p, ".");
	assert_int_equal(ovl_node_lpath_locked(&c.nodes[0], &lp), 0);
	assert_string_equal(lp, ".");
	chain_free(&c);
}

/* 1,000 levels of 255-byte names: 256,000 bytes, four times the 64 KiB
 * the paths were once bounded by. */
static void no_ceiling(void **state)
{
	char name[256];
	struct chain c;
	cleanup_free char *p = NULL;
	size_t len;

	(void)state;
	memset(name, 'n', 255);
	name[255] = '\0';
	chain_make(&c, 1000, name);
	assert_int_equal(ovl_node_path_locked(&c.nodes[1000], &p), 0);
	len = strlen(p);
	assert_int_equal(len, 1000 * 256 - 1);
	for (size_t i = 0; i < 1000; i++) {
		assert_memory_equal(p + i * 256, name, 255);
		if (i < 999)
			assert_int_equal(p[i * 256 + 255], '/');
	}
	chain_free(&c);
}

static void redirect_gives_the_lower_prefix(void **state)
{
	struct chain c;
	cleanup_free char *p = NULL, *lp = NULL, *mid = NULL, *top = NULL;

	(void)state;
	chain_make(&c, 4, "d");
	/* the directory at level 2 was renamed from "old/dir" */
	c.dirs[2].redirect = strdup("old/dir");
	assert_non_null(c.dirs[2].redirect);
	assert_int_equal(ovl_node_path_locked(&c.nodes[4], &p), 0);
	assert_string_equal(p, "d/d/d/d");
	assert_int_equal(ovl_node_lpath_locked(&c.nodes[4], &lp), 0);
	assert_string_equal(lp, "old/dir/d/d");
	assert_int_equal(ovl_node_lpath_locked(&c.nodes[2], &mid), 0);
	assert_string_equal(mid, "old/dir");
	assert_int_equal(ovl_node_lpath_locked(&c.nodes[1], &top), 0);
	assert_string_equal(top, "d"); /* above the rename: its own path */
	free(c.dirs[2].redirect);
	chain_free(&c);
}

static void unlinked_ancestor_is_enoent(void **state)
{
	struct chain c;
	char *p = (char *)"unchanged";

	(void)state;
	chain_make(&c, 3, "d");
	free(c.nodes[1].name);
	c.nodes[1].name = NULL; /* unlinked: it keeps no name */
	assert_int_equal(ovl_node_path_locked(&c.nodes[3], &p), -ENOENT);
	assert_null(p);
	p = (char *)"unchanged";
	assert_int_equal(ovl_node_lpath_locked(&c.nodes[3], &p), -ENOENT);
	assert_null(p);
	chain_free(&c);
}

static void malloc_failure_is_enomem(void **state)
{
	struct chain c;
	char *p = (char *)"unchanged", *lp = (char *)"unchanged";
	char *j = (char *)"unchanged";
	int r1, r2, r3;

	(void)state;
	chain_make(&c, 3, "d");
	c.dirs[1].redirect = strdup("r");
	assert_non_null(c.dirs[1].redirect);
	fail_malloc = true;
	r1 = ovl_node_path_locked(&c.nodes[3], &p);
	r2 = ovl_node_lpath_locked(&c.nodes[3], &lp);
	r3 = ovl_path_join("a", "b", &j);
	fail_malloc = false;
	assert_int_equal(r1, -ENOMEM);
	assert_int_equal(r2, -ENOMEM);
	assert_int_equal(r3, -ENOMEM);
	assert_null(p);
	assert_null(lp);
	assert_null(j);
	free(c.dirs[1].redirect);
	chain_free(&c);
}

static void join_under_the_root(void **state)
{
	cleanup_free char *a = NULL, *b = NULL;

	(void)state;
	assert_int_equal(ovl_path_join(".", "name", &a), 0);
	assert_string_equal(a, "name");
	assert_int_equal(ovl_path_join("x/y", "name", &b), 0);
	assert_string_equal(b, "x/y/name");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_is_dot),
		cmocka_unit_test(no_ceiling),
		cmocka_unit_test(redirect_gives_the_lower_prefix),
		cmocka_unit_test(unlinked_ancestor_is_enoent),
		cmocka_unit_test(malloc_failure_is_enomem),
		cmocka_unit_test(join_under_the_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
