// SPDX-License-Identifier: Apache-2.0
/* cache.c - the build cache: step key -> resulting layer
 *
 * $HUTCH_ROOT/build-cache/<key> holds the layer a step made (blob, diff_id,
 * chain) or "empty". Keys are SHA-256 of the parent, the stage's config
 * and everything the step reads, so a hit can only return what the step
 * would make again. A hit is used only if its layer is still in the store,
 * and is held from then on (img_hold_layer()), so that a prune cannot take
 * it from the running build;
 * entries are written atomically and shared by every build and image.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder-internal.h"

static char *entry_path(const struct bld *b, const char *key)
{
	return cmn_strdup_printf("%s/build-cache/%s", img_store_root(b->store),
				 key);
}

void bld_cache_key(const struct stage *st, const char *what, char out[65])
{
	struct img_sha256 *h = img_sha256_new();
	char *cfg = json_dumps(st->config, JSON_COMPACT | JSON_SORT_KEYS);
	struct img_digest d;
	char parent[80];

	if (st->n_layers)
		img_digest_str(&st->layers[st->n_layers - 1].chain, parent);
	else
		snprintf(parent, sizeof(parent), "%s", st->base);
	if (h) {
		img_sha256_update(h, "hutch-build-1\n", 14);
		img_sha256_update(h, parent, strlen(parent));
		img_sha256_update(h, "\n", 1);
		if (cfg)
			img_sha256_update(h, cfg, strlen(cfg));
		img_sha256_update(h, "\n", 1);
		img_sha256_update(h, what, strlen(what));
		img_sha256_final(h, &d);
		memcpy(out, d.hex, 65);
	} else {
		out[0] = '\0';
	}
	free(cfg);
}

int bld_cache_get(struct bld *b, const char *key, struct img_layer_info *layer,
		  bool *empty, char when[static BLD_WHEN_LEN])
{
	cleanup_free char *path = entry_path(b, key);
	json_t *j = path ? cmn_json_load(AT_FDCWD, path,
					 "the build cache entry", 4096, 0, NULL)
			 : NULL;
	const char *blob = json_string_value(json_object_get(j, "blob"));
	const char *diff = json_string_value(json_object_get(j, "diffId"));
	const char *chain = json_string_value(json_object_get(j, "chain"));
	const char *created = json_string_value(json_object_get(j, "created"));
	int hit = 0;

	*empty = json_is_true(json_object_get(j, "empty"));
	/* An entry of a hutch that kept no dates: the date of the hit. */
	if (created && strlen(created) < BLD_WHEN_LEN)
		snprintf(when, BLD_WHEN_LEN, "%s", created);
	else
		bld_when_now(when);
	if (*empty) {
		hit = 1;
	} else if (!layer) {
		hit = 0;
	} else if (blob && diff && chain &&
		   img_digest_parse(blob, &layer->blob) &&
		   img_digest_parse(diff, &layer->diff_id) &&
		   img_digest_parse(chain, &layer->chain) &&
		   img_hold_layer(b->store, layer, NULL) == 0) {
		layer->size = json_integer_value(json_object_get(j, "size"));
		layer->media_type =
			strdup("application/vnd.oci.image.layer.v1.tar");
		hit = 1;
	}
	if (j)
		json_decref(j);
	return hit;
}

void bld_cache_put(struct bld *b, const char *key,
		   const struct img_layer_info *layer, const char *when)
{
	cleanup_free char *dir =
		cmn_strdup_printf("%s/build-cache", img_store_root(b->store));
	cleanup_free char *path = entry_path(b, key);
	cleanup_free char *tmp =
		path ? cmn_strdup_printf("%s.%d", path, (int)getpid()) : NULL;
	char bl[72], df[72], ch[72];
	json_t *j;
	char *text;

	if (!dir || !tmp || (mkdir(dir, 0700) < 0 && errno != EEXIST))
		return;
	j = layer ? json_pack("{s:s,s:s,s:s,s:I,s:s}", "blob",
			      img_digest_str(&layer->blob, bl), "diffId",
			      img_digest_str(&layer->diff_id, df), "chain",
			      img_digest_str(&layer->chain, ch), "size",
			      (json_int_t)layer->size, "created", when)
		  : json_pack("{s:b,s:s}", "empty", true, "created", when);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text &&
	    cmn_write_fileat(AT_FDCWD, tmp, text, strlen(text), 0600) == 0)
		rename(tmp, path);
	free(text);
	if (j)
		json_decref(j);
}
