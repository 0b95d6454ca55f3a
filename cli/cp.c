// SPDX-License-Identifier: Apache-2.0
/* cp.c - `hutch cp`: copy files between a container and the host */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int cp_main(int argc, char **argv);

const struct cli_cmd cli_cp_cmd = {
	.name = "cp",
	.usage =
		"cp CONTAINER:SRC_PATH DEST_PATH | cp SRC_PATH CONTAINER:DEST_PATH",
	.summary = "Copy files between a container and the host.",
	.main = cp_main,
};

/* "name:path" names a container unless it starts like a path ("./a:b",
 * "/x:y"), as in Docker. */
static char *split(char *arg)
{
	char *colon = strchr(arg, ':');

	if (!colon || arg[0] == '/' || arg[0] == '.' || colon == arg)
		return NULL;
	*colon = '\0';
	return colon + 1;
}

static int cp_main(int argc, char **argv)
{
	struct hutch_err err = { 0 };
	struct ctr_container *c = NULL;
	unsigned skipped = 0;
	char *spath, *dpath;
	int first, ret = cli_simple(&cli_cp_cmd, NULL, 0, NULL, argc, argv, 2,
				    &first);

	if (ret >= 0)
		return ret;
	if (argc - first != 2)
		return cli_fail(
			&(struct hutch_err){
				.msg = "\"hutch cp\" requires exactly 2 arguments: SOURCE and DESTINATION, one of them CONTAINER:PATH" },
			1);
	spath = split(argv[first]);
	dpath = split(argv[first + 1]);
	if (spath && dpath)
		return cli_fail(
			&(struct hutch_err){
				.msg = "copying between containers is not supported: copy to the host first" },
			1);
	if (!spath && !dpath)
		return cli_fail(
			&(struct hutch_err){
				.msg = "one of the paths must name a container, as CONTAINER:PATH" },
			1);
	if (!*(spath ? spath : dpath))
		return cli_fail(
			&(struct hutch_err){
				.msg = "the container's path is empty: give CONTAINER:/path" },
			1);
	ret = ctr_container_find(argv[spath ? first : first + 1], &c, &err);
	if (ret == 0)
		ret = spath ? ctr_container_copy(c, spath, argv[first + 1],
						 false, &skipped, &err)
			    : ctr_container_copy(c, argv[first], dpath, true,
						 &skipped, &err);
	ctr_container_free(c);
	if (ret < 0)
		return cli_fail(&err, 1);
	if (skipped)
		fprintf(stderr,
			"hutch: skipped %u device node%s or socket%s: they cannot be copied without privilege\n",
			skipped, skipped == 1 ? "" : "s",
			skipped == 1 ? "" : "s");
	return 0;
}
