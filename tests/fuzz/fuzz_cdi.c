// SPDX-License-Identifier: Apache-2.0
/* fuzz_cdi.c - libFuzzer target for CDI specs (sandbox/cdi.c,
 * sandbox/cdi-yaml.c): a spec file is anyone's who can write to
 * /etc/cdi or /var/run/cdi, or to a directory a user names with
 * --cdi-spec-dir.
 *
 * The first byte picks the reader: even, YAML (libyaml, then the field
 * checks); odd, JSON (jansson). A spec that parses is then looked up as
 * every one of its devices and as one that is not there; nothing is
 * applied (that binds host paths). Build and run: tests/fuzz/README.md.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hutch_err err = { 0 };
	struct sbx_cdi_spec *spec;
	const char *file;

	if (size < 1)
		return 0;
	file = data[0] & 1 ? "/etc/cdi/fuzz.json" : "/etc/cdi/fuzz.yaml";
	spec = sbx_cdi_parse(file, (const char *)data + 1, size - 1, &err);
	if (!spec) {
		/* Every refusal is one line naming the file. */
		if (!strstr(err.msg, file) && err.code != ENOMEM)
			abort();
		if (strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	{
		struct sbx_cdi_set set = { .specs = &spec, .n = 1 };
		const struct sbx_cdi_spec *found = NULL;

		for (size_t i = 0; i < spec->n_devices; i++)
			if (!sbx_cdi_find(&set, spec->kind,
					  spec->devices[i].name, &found) ||
			    found != spec)
				abort();
		if (sbx_cdi_find(&set, spec->kind, "no such device!", &found))
			abort();
	}
	sbx_cdi_spec_free(spec);
	return 0;
}
