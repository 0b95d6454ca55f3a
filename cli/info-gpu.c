// SPDX-License-Identifier: Apache-2.0
/* info-gpu.c - `hutch info`'s GPU section: the NVIDIA driver, its devices,
 * nvidia_uvm, the CDI specs found and what `run --gpus all` would bind.
 * Purely informative: a host without GPUs is not a failed check.
 */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sandbox/sandbox.h"

static char *joined(char *const *v)
{
	size_t len = 1;
	char *s;

	for (char *const *p = v; p && *p; p++)
		len += strlen(*p) + 1;
	s = calloc(1, len);
	for (char *const *p = v; s && p && *p; p++) {
		if (p != v)
			strcat(s, " ");
		strcat(s, *p);
	}
	return s;
}

/* The specs' kinds and devices: "FILE (KIND: NAME NAME)" each. */
static int cdi_lines(const char *dirs, char ***out)
{
	struct sbx_cdi_set set;
	struct hutch_err err = { 0 };

	if (sbx_cdi_load(dirs, &set, &err) < 0)
		return cmn_strv_push(out, strdup(err.msg));
	for (char **b = set.broken; b && *b; b++)
		if (cmn_strv_push(out, cmn_strdup_printf("skipped: %s", *b)) <
		    0)
			break;
	for (size_t i = 0; i < set.n; i++) {
		const struct sbx_cdi_spec *s = set.specs[i];
		char **names = NULL;
		cleanup_free char *list = NULL;

		for (size_t d = 0; d < s->n_devices; d++)
			cmn_strv_push(&names, strdup(s->devices[d].name));
		list = joined(names);
		cmn_strv_free(names);
		if (cmn_strv_push(out, cmn_strdup_printf("%s (%s: %s)", s->file,
							 s->kind,
							 list ? list : "")) < 0)
			break;
	}
	sbx_cdi_set_free(&set);
	return 0;
}

static bool has_gpu_spec(char *const *lines)
{
	for (char *const *l = lines; l && *l; l++)
		if (strstr(*l, "(nvidia.com/gpu: "))
			return true;
	return false;
}

json_t *cli_info_gpu(void)
{
	const char *dirs = getenv("HUTCH_CDI_SPEC_DIRS") ?: SBX_CDI_DIRS;
	struct sbx_gpu_host h;
	struct hutch_err err = { 0 };
	char **specs = NULL;
	json_t *o;
	bool driver = sbx_gpu_detect(&h, &err) == 0;

	cdi_lines(dirs, &specs);
	o = json_pack(
		"{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:s}", "driver",
		driver ? h.version : err.msg, "devices", json_array(),
		"devices_closed",
		json_integer(driver ? (json_int_t)h.n_closed : 0), "nvidia_uvm",
		json_boolean(driver && h.uvm), "cdi_specs", json_array(),
		"libraries", json_array(), "binds", json_array(), "gpus_all",
		has_gpu_spec(specs) ? "the nvidia.com/gpu CDI devices (all)"
		: driver ? "the driver's nodes, libraries and programs below"
			 : "nothing: it fails");
	for (char **s = specs; o && s && *s; s++)
		json_array_append_new(json_object_get(o, "cdi_specs"),
				      json_string(*s));
	for (size_t i = 0; o && driver && i < h.n_gpus; i++)
		json_array_append_new(json_object_get(o, "devices"),
				      json_string(h.gpus[i]));
	for (char **l = h.lib_names; o && driver && l && *l; l++)
		json_array_append_new(json_object_get(o, "libraries"),
				      json_string(*l));
	for (char **c = h.ctl; o && driver && c && *c; c++)
		json_array_append_new(json_object_get(o, "binds"),
				      json_string(*c));
	for (char **b = h.bins; o && driver && b && *b; b++)
		json_array_append_new(json_object_get(o, "binds"),
				      json_string(*b));
	for (char **l = h.libs; o && driver && l && *l; l++)
		json_array_append_new(json_object_get(o, "binds"),
				      json_string(*l));
	cmn_strv_free(specs);
	if (o)
		json_object_set_new(o, "driver_loaded", json_boolean(driver));
	if (driver)
		sbx_gpu_host_free(&h);
	return o;
}

static void print_list(const char *name, const json_t *a, const char *sep)
{
	const json_t *e;
	size_t i;

	printf("gpu %s:", name);
	if (!json_array_size(a))
		printf(" none");
	json_array_foreach(a, i, e)
	{
		printf("%s%s", i ? sep : " ", json_string_value(e));
	}
	putchar('\n');
}

/* "gpu NAME: VALUE" lines, as the checks' (fix lines under problems). */
void cli_info_gpu_print(const json_t *g)
{
	bool uvm = json_is_true(json_object_get(g, "nvidia_uvm"));
	bool driver = json_is_true(json_object_get(g, "driver_loaded"));
	json_int_t closed =
		json_integer_value(json_object_get(g, "devices_closed"));

	printf("gpu driver: %s\n",
	       json_string_value(json_object_get(g, "driver")));
	if (driver) {
		print_list("devices", json_object_get(g, "devices"), " ");
		if (closed)
			printf("gpu devices you may not open: %lld (another job's, or the node's policy)\n",
			       (long long)closed);
		printf("gpu nvidia_uvm: %s\n", uvm ? "loaded" : "not loaded");
		if (!uvm)
			printf("  fix: CUDA fails with CUDA_ERROR_UNKNOWN without it; ask an admin to load it (modprobe nvidia_uvm, or nvidia-modprobe -u -c=0)\n");
	}
	printf("gpu cdi directories: %s\n",
	       getenv("HUTCH_CDI_SPEC_DIRS") ?: SBX_CDI_DIRS);
	print_list("cdi specs", json_object_get(g, "cdi_specs"), "; ");
	printf("gpu --gpus all binds: %s\n",
	       json_string_value(json_object_get(g, "gpus_all")));
	if (!driver)
		return;
	print_list("libraries", json_object_get(g, "libraries"), " ");
	print_list("other binds", json_object_get(g, "binds"), " ");
}
