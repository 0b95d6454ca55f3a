// SPDX-License-Identifier: Apache-2.0
/* history.c - `hutch history`: how an image was made, newest step first */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "image/image.h"

static int history_main(int argc, char **argv);

const struct cli_cmd cli_history_cmd = {
	.name = "history",
	.usage = "history IMAGE",
	.summary = "Show the steps that made an image.",
	.main = history_main,
};

static int64_t parse_time(const char *s)
{
	struct tm tm = { 0 };

	return s && strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) ? (int64_t)timegm(&tm)
							  : 0;
}

static void print(const struct img_image *img)
{
	json_t *cfg = json_loadb(img->config_json, img->config_len, 0, NULL);
	json_t *hist = json_object_get(cfg, "history"), *h;
	size_t n = json_array_size(hist), layer = img->n_layers;

	printf("%-14s %-20s %-48s %-10s %s\n", "IMAGE", "CREATED", "CREATED BY",
	       "SIZE", "COMMENT");
	for (size_t i = n; i-- > 0;) {
		bool empty;
		char ago[32], size[16], by[49];

		h = json_array_get(hist, i);
		empty = json_is_true(json_object_get(h, "empty_layer"));
		snprintf(by, sizeof(by), "%.47s",
			 json_string_value(json_object_get(h, "created_by"))
				 ? json_string_value(
					   json_object_get(h, "created_by"))
				 : "");
		if (!empty && layer > 0)
			layer--;
		printf("%-14.12s %-20s %-48s %-10s %s\n",
		       i == n - 1 ? img->id.hex : "<missing>",
		       cli_human_ago(parse_time(json_string_value(
					     json_object_get(h, "created"))),
				     ago),
		       by,
		       empty ? "0B"
			     : cli_human_size(
				       (uint64_t)(img->layers[layer].size > 0
							  ? img->layers[layer]
								    .size
							  : 0),
				       size),
		       json_string_value(json_object_get(h, "comment"))
			       ? json_string_value(
					 json_object_get(h, "comment"))
			       : "");
	}
	if (cfg)
		json_decref(cfg);
}

static int history_main(int argc, char **argv)
{
	struct hutch_err err = { 0 };
	struct img_store *s = NULL;
	struct img_image *img = NULL;
	struct img_digest id;
	int first, ret = cli_simple(&cli_history_cmd, NULL, 0, NULL, argc, argv,
				    1, &first);

	if (ret >= 0)
		return ret;
	ret = img_store_open(&s, &err);
	if (ret == 0 &&
	    (ret = img_resolve(s, argv[first], &id, &err)) == -ENOENT)
		cmn_err_msg(&err, ENOENT, "No such image: %s", argv[first]);
	if (ret == 0)
		ret = img_image_load(s, &id, &img, &err);
	if (ret == 0)
		print(img);
	img_image_free(img);
	img_store_close(s);
	return ret < 0 ? cli_fail(&err, 1) : 0;
}
