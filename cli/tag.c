// SPDX-License-Identifier: Apache-2.0
/* tag.c - `hutch tag SOURCE TARGET`: another name for an image */

#include <errno.h>

#include "cli/cli.h"
#include "image/image.h"

static int tag_main(int argc, char **argv);

const struct cli_cmd cli_tag_cmd = {
	.name = "tag",
	.usage = "tag SOURCE[:TAG] TARGET[:TAG]",
	.summary = "Give an image another name.",
	.main = tag_main,
};

static int tag_main(int argc, char **argv)
{
	struct hutch_err err = { 0 };
	struct img_store *s = NULL;
	struct img_ref ref = { 0 };
	struct img_digest id;
	int first, ret = cli_simple(&cli_tag_cmd, NULL, 0, NULL, argc, argv, 2,
				    &first);

	if (ret >= 0)
		return ret;
	if (argc - first != 2)
		return cli_fail(
			&(struct hutch_err){
				.msg = "\"hutch tag\" requires exactly 2 arguments: SOURCE and TARGET" },
			CMN_EXIT_HUTCH);
	ret = img_ref_parse(argv[first + 1], &ref, &err);
	if (ret == 0)
		ret = img_store_open(&s, &err);
	if (ret == 0 &&
	    (ret = img_resolve(s, argv[first], &id, &err)) == -ENOENT)
		cmn_err_msg(&err, ENOENT, "No such image: %s", argv[first]);
	if (ret == 0)
		ret = img_tag(s, &ref, &id, &err);
	img_ref_free(&ref);
	img_store_close(s);
	return ret < 0 ? cli_fail(&err, 1) : 0;
}
