// SPDX-License-Identifier: Apache-2.0
/* fuzz_dockerfile.c - libFuzzer target for the Dockerfile parser, its
 * substitution and scoping, and the .dockerignore matcher (the same bytes
 * feed both: each accepts any text)
 *
 * Build and run: see tests/fuzz/README.md.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Expand every stage as a builder would, with a few build args. */
static void expand_all(const struct bld_dockerfile *df)
{
	struct bld_vars args = { 0 }, global = { 0 };
	struct hutch_err err;
	size_t i, j, base;

	bld_vars_set(&args, "TARGETARCH", "amd64", false);
	bld_vars_set(&args, "A", "x y", false);
	bld_vars_set(&args, "HTTP_PROXY", "http://p", false);
	if (bld_global_args(df, &args, &global, &err) == 0) {
		for (i = 0; i < df->n_stages; i++) {
			struct bld_scope scope = { .filename = df->filename,
						   .escape = df->escape,
						   .build_args = &args,
						   .global = &global };
			char **env;

			for (j = 0; j < df->stages[i].n_instrs; j++) {
				struct bld_instr *x = NULL;
				char *d;

				if (bld_expand(&df->stages[i].instrs[j], &scope,
					       &x, &err))
					break;
				if (j == 0)
					bld_stage_ref(df, i, x->args[0], &base,
						      &err);
				d = bld_instr_dump(x);
				free(d);
				bld_instr_free(x);
			}
			env = bld_run_environ(&scope.vars, &args);
			cmn_strv_free(env);
			bld_vars_clear(&scope.vars);
		}
	}
	bld_target_resolve(df, "build", &base, &err);
	bld_vars_clear(&global);
	bld_vars_clear(&args);
}

static void ignore(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "a",	   "a/b",
					     "Dockerfile", "x/y/z.go",
					     ".git/HEAD",  "a/\nb" };
	struct bld_ignore *ign = NULL;
	struct hutch_err err;
	size_t i;

	if (bld_ignore_parse((const char *)data, size, NULL, &ign, &err))
		return;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		bld_ignore_match(ign, paths[i]);
		bld_ignore_may_include_below(ign, paths[i]);
	}
	bld_ignore_free(ign);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bld_dockerfile *df = NULL;
	struct hutch_err err;
	char *word, *out = NULL;

	if (bld_dockerfile_parse((const char *)data, size, "Dockerfile", &df,
				 &err) == 0) {
		free(bld_dockerfile_dump(df));
		expand_all(df);
		bld_dockerfile_free(df);
	}
	ignore(data, size);
	word = strndup((const char *)data, size);
	if (word && bld_substitute(word, '\\', 0, NULL, &out, &err) == 0)
		free(out);
	free(word);
	return 0;
}
