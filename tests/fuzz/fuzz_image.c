// SPDX-License-Identifier: Apache-2.0
/* fuzz_image.c - libFuzzer target for what a registry or an image sends
 * that image/ parses without a store: manifest lists and OCI indexes
 * (picking a platform), image configs (the container's command, Env,
 * WorkingDir, User, StopSignal), error bodies, WWW-Authenticate
 * challenges, response headers, and the strings a user or a config file
 * gives (references, digests, platforms, registry names, base64 "auth")
 *
 * The same bytes feed every parser: the JSON ones see garbage as often as
 * JSON and the string ones stop at the first NUL, as each does in use.
 * The manifest's own checks (pull.c, imagedb.c) run only on a store and
 * are not reached here. Build and run: see tests/fuzz/README.md.
 */

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry-internal.h"
#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A manifest list or index: pick an entry for a few platforms. */
static void index_select(const char *text, size_t len)
{
	static const char *const wanted[] = { "linux/amd64", "linux/arm64",
					      "linux/arm/v6", "windows/386" };
	json_t *root = json_loadb(text, len, 0, NULL);
	char avail[256];

	if (!root)
		return;
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		struct reg_platform p;

		if (reg_platform_parse(wanted[i], &p, NULL) == 0)
			reg_platform_select(root, &p, avail, sizeof(avail));
	}
	reg_platform_select(root, &(struct reg_platform){ 0 }, avail, 0);
	json_decref(root);
}

/* An image config, as `hutch run` applies it, with and without the
 * user's own command and entrypoint. */
static void run_config(char *text, size_t len)
{
	static char *const args[] = { "sh", "-c", "true", NULL };
	const struct img_run_opts opts[] = {
		{ .entrypoint = NULL, .args = NULL },
		{ .entrypoint = NULL, .args = args },
		{ .entrypoint = "", .args = args },
		{ .entrypoint = "/bin/sh", .args = NULL },
	};
	struct img_image img = { .config_json = text, .config_len = len };

	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		struct sbx_config cfg = { 0 };
		struct hutch_err err;

		cfg.env = calloc(2, sizeof(char *));
		if (cfg.env)
			cfg.env[0] = strdup("USER_SET=1");
		img_run_config(&img, &opts[i], &cfg, &err);
		sbx_config_free(&cfg);
	}
	img_stop_signal(&img);
}

/* The NUL-terminated strings: each parser stops at the first NUL. */
static void strings(const char *s, size_t len)
{
	struct reg_response r = { .status = 404,
				  .body = (char *)s,
				  .len = len };
	struct reg_challenge ch;
	struct reg_platform p;
	struct hutch_err err;
	struct img_digest d;
	struct img_ref ref;
	size_t n;

	free(reg_error_text(&r));
	if (reg_challenge_parse(s, &ch) == 0)
		reg_challenge_free(&ch);
	free(reg_header_value(s, len, "www-authenticate"));
	free(reg_header_value(s, len, "docker-content-digest"));
	if (img_ref_parse(s, &ref, &err) == 0) {
		free(img_ref_str(&ref));
		free(img_ref_short(&ref));
		img_ref_free(&ref);
	}
	img_digest_parse(s, &d);
	reg_platform_parse(s, &p, &err);
	free(reg_auth_key(s));
	free(reg_base64_decode(s, &n));
	reg_is_loopback(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy with a NUL after it, as a response body is kept. */
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	index_select(text, size);
	run_config(text, size);
	strings(text, size);
	free(text);
	return 0;
}
