// SPDX-License-Identifier: Apache-2.0
/* test_cdi.c - unit tests for sandbox/cdi.c and cdi-yaml.c: a spec in YAML
 * and in JSON reads the same; every refusal names the file and the field;
 * YAML's plain scalars, quoted strings and alias expansion */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "sandbox/sandbox.h"

static struct sbx_cdi_spec *parse(const char *file, const char *text,
				  struct hutch_err *err)
{
	return sbx_cdi_parse(file, text, strlen(text), err);
}

static const char yaml_spec[] =
	"cdiVersion: \"0.6.0\"\n"
	"kind: example.com/gpu\n"
	"containerEdits:\n"
	"  env: [A=1]\n"
	"devices:\n"
	"  - name: \"0\"\n"
	"    containerEdits:\n"
	"      deviceNodes:\n"
	"        - {path: /dev/g0, hostPath: /dev/null, permissions: rw}\n"
	"      mounts:\n"
	"        - {hostPath: /lib/x.so, containerPath: /usr/lib/x.so, options: [ro, bind]}\n"
	"      hooks:\n"
	"        - {hookName: createContainer, path: /bin/true, args: [true, '1'], timeout: 5}\n"
	"      additionalGids: [44, 0x2d]\n";

static const char json_spec[] =
	"{\"cdiVersion\": \"0.6.0\", \"kind\": \"example.com/gpu\","
	" \"containerEdits\": {\"env\": [\"A=1\"]},"
	" \"devices\": [{\"name\": \"0\", \"containerEdits\": {"
	"  \"deviceNodes\": [{\"path\": \"/dev/g0\", \"hostPath\": \"/dev/null\", \"permissions\": \"rw\"}],"
	"  \"mounts\": [{\"hostPath\": \"/lib/x.so\", \"containerPath\": \"/usr/lib/x.so\", \"options\": [\"ro\", \"bind\"]}],"
	"  \"hooks\": [{\"hookName\": \"createContainer\", \"path\": \"/bin/true\", \"args\": [\"true\", \"1\"], \"timeout\": 5}],"
	"  \"additionalGids\": [44, 45]}}]}";

static void check_spec(const struct sbx_cdi_spec *s)
{
	const struct sbx_cdi_edits *e;

	assert_non_null(s);
	assert_string_equal(s->kind, "example.com/gpu");
	assert_string_equal(s->version, "0.6.0");
	assert_string_equal(s->edits.env[0], "A=1");
	assert_int_equal(s->n_devices, 1);
	/* "0" quoted in YAML stays a string, as a device name must */
	assert_string_equal(s->devices[0].name, "0");
	e = &s->devices[0].edits;
	assert_int_equal(e->n_nodes, 1);
	assert_string_equal(e->nodes[0].path, "/dev/g0");
	assert_string_equal(e->nodes[0].host_path, "/dev/null");
	assert_string_equal(e->nodes[0].perms, "rw");
	assert_int_equal(e->n_mounts, 1);
	assert_string_equal(e->mounts[0].options[0], "ro");
	assert_null(e->mounts[0].options[2]);
	assert_int_equal(e->n_hooks, 1);
	assert_string_equal(e->hooks[0].stage, "createContainer");
	assert_string_equal(e->hooks[0].args[1], "1");
	assert_int_equal(e->hooks[0].timeout, 5);
	assert_int_equal(e->n_gids, 2);
	assert_int_equal(e->gids[0], 44);
	assert_int_equal(e->gids[1], 45);
}

static void yaml_and_json_read_the_same(void **state)
{
	struct hutch_err err = { 0 };
	struct sbx_cdi_spec *y = parse("/etc/cdi/a.yaml", yaml_spec, &err);
	struct sbx_cdi_spec *j = parse("/etc/cdi/a.json", json_spec, &err);

	(void)state;
	if (!y || !j)
		fail_msg("%s", err.msg);
	check_spec(y);
	check_spec(j);
	sbx_cdi_spec_free(y);
	sbx_cdi_spec_free(j);
}

static void refused(const char *file, const char *text, const char *msg)
{
	struct hutch_err err = { 0 };
	struct sbx_cdi_spec *s = parse(file, text, &err);

	assert_null(s);
	if (!strstr(err.msg, msg))
		fail_msg("\"%s\" does not say \"%s\"", err.msg, msg);
	assert_non_null(strstr(err.msg, file));
	assert_null(strchr(err.msg, '\n'));
}

static void refusals_name_the_field(void **state)
{
	(void)state;
	refused("/x/a.yaml", "kind: a/b\ndevices: []\n",
		"a.yaml: cdiVersion is missing");
	refused("/x/a.yaml", "cdiVersion: '1'\nkind: nokind\ndevices: []\n",
		"kind is not VENDOR/CLASS");
	refused("/x/a.yaml", "cdiVersion: '1'\nkind: a/b\ndevices: []\n",
		"has no devices");
	refused("/x/a.yaml",
		"cdiVersion: '1'\nkind: a/b\ndevices:\n  - name: d\n",
		"devices[0].containerEdits is missing");
	refused("/x/a.yaml",
		"cdiVersion: '1'\nkind: a/b\ndevices:\n  - name: 'a b'\n    containerEdits: {}\n",
		"devices[0] name has characters");
	refused("/x/a.json",
		"{\"cdiVersion\": \"1\", \"kind\": \"a/b\", \"devices\": [{\"name\": \"d\", \"containerEdits\": {\"deviceNodes\": [{\"path\": \"dev/x\"}]}}]}",
		"devices[0].containerEdits.deviceNodes[0] path is not absolute");
	refused("/x/a.yaml",
		"cdiVersion: '1'\nkind: a/b\ndevices:\n  - name: d\n    containerEdits:\n      hooks: [{hookName: prestart, path: /x, timeout: -1}]\n",
		"devices[0].containerEdits.hooks[0] timeout is not");
	refused("/x/a.yaml",
		"cdiVersion: '1'\nkind: a/b\ndevices:\n  - name: d\n    containerEdits:\n      additionalGids: [x]\n",
		"devices[0].containerEdits.additionalGids[0] is not a group id");
	refused("/x/a.yaml",
		"cdiVersion: '1'\nkind: a/b\ndevices:\n  - name: d\n    containerEdits:\n      env: [NOEQUALS]\n",
		"env has an entry that is not NAME=VALUE");
	refused("/x/a.yaml",
		"cdiVersion: '1'\nkind: a/b\ndevices:\n  - name: d\n    containerEdits:\n      intelRdt: {closID: x}\n",
		"intelRdt");
	refused("/x/a.yaml", "cdiVersion: [\n", "is not valid YAML (line");
	refused("/x/a.json", "{\"cdiVersion\": ", "is not valid JSON (line 1");
	refused("/x/a.json", "{\"kind\": \"a/b\", \"kind\": \"c/d\"}",
		"is not valid JSON");
}

static void alias_expansion_is_bounded(void **state)
{
	char text[4096];
	struct hutch_err err = { 0 };
	size_t n;

	(void)state;
	/* Ten levels of ten aliases each: 10^10 nodes if expanded. */
	n = (size_t)snprintf(text, sizeof(text),
			     "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
	for (int i = 1; i < 10; i++)
		n += (size_t)snprintf(
			text + n, sizeof(text) - n,
			"a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n",
			i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
			i - 1, i - 1, i - 1);
	assert_null(sbx_cdi_parse("/x/bomb.yaml", text, n, &err));
	assert_non_null(strstr(err.msg, "too large"));
}

static void the_later_spec_wins(void **state)
{
	struct hutch_err err = { 0 };
	struct sbx_cdi_spec *a = parse("/etc/cdi/a.yaml", yaml_spec, &err);
	struct sbx_cdi_spec *b = parse("/var/run/cdi/b.json", json_spec, &err);
	struct sbx_cdi_spec *specs[] = { a, b };
	struct sbx_cdi_set set = { .specs = specs, .n = 2 };
	const struct sbx_cdi_spec *found = NULL;

	(void)state;
	assert_non_null(sbx_cdi_find(&set, "example.com/gpu", "0", &found));
	assert_ptr_equal(found, b);
	assert_null(sbx_cdi_find(&set, "example.com/gpu", "1", &found));
	assert_null(sbx_cdi_find(&set, "example.com/tpu", "0", &found));
	sbx_cdi_spec_free(a);
	sbx_cdi_spec_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(yaml_and_json_read_the_same),
		cmocka_unit_test(refusals_name_the_field),
		cmocka_unit_test(alias_expansion_is_bounded),
		cmocka_unit_test(the_later_spec_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
