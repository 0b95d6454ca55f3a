// SPDX-License-Identifier: Apache-2.0
/* version.c - `hutch version`: hutch's version and the libraries it runs on */

#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <jansson.h>

#include "cli/cli.h"

/* What `docker version --format` users ask of the client: {{.Client.X}};
 * hutch has no server, so {{.Server.X}} is the same client. */
struct version_info {
	struct utsname u;
	char seccomp[32];
};

static const char *go_arch(const char *machine)
{
	static const char *const names[][2] = {
		{ "x86_64", "amd64" },	  { "aarch64", "arm64" },
		{ "ppc64le", "ppc64le" }, { "s390x", "s390x" },
		{ "riscv64", "riscv64" }, { "i686", "386" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(machine, names[i][0]))
			return names[i][1];
	return machine;
}

static const char *version_field(void *ctx, const char *name)
{
	const struct version_info *v = ctx;
	const char *f = cmn_has_prefix(name, "Client.")	  ? name + 7
			: cmn_has_prefix(name, "Server.") ? name + 7
							  : NULL;

	if (!f)
		return NULL;
	if (!strcmp(f, "Version"))
		return cmn_version_string();
	if (!strcmp(f, "Os"))
		return "linux";
	if (!strcmp(f, "Arch"))
		return go_arch(v->u.machine);
	if (!strcmp(f, "KernelVersion"))
		return v->u.release;
	if (!strcmp(f, "Platform.Name"))
		return "hutch";
	return NULL;
}

static int set_format(void *ctx, const char *arg, struct hutch_err *err)
{
	(void)err;
	*(const char **)ctx = arg;
	return 0;
}

static const struct cli_opt version_options[] = {
	{ "format", 'f', "TEMPLATE",
	  "Go template: {{.Client.Version}} {{.Client.Os}} {{.Client.Arch}} {{.Client.KernelVersion}} (.Server: the same, hutch has no server)",
	  set_format },
};

static int version_main(int argc, char **argv)
{
	const char *format = NULL;
	struct version_info info;
	const struct scmp_version *sv = seccomp_version();
	struct hutch_err err = { 0 };
	struct utsname *u = &info.u;
	bool help;
	int first = cli_parse(&cli_version_cmd, version_options,
			      ARRAY_SIZE(version_options), &format, argc, argv,
			      &help, &err);

	if (first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (help)
		return 0;
	if (uname(u) < 0)
		memset(u, 0, sizeof(*u));
	if (format)
		return cli_format_line(format, version_field, &info, stdout,
				       &err) < 0
			       ? cli_fail(&err, CMN_EXIT_HUTCH)
			       : 0;
	printf("hutch:      %s\n", cmn_version_string());
	printf("kernel:     %s %s\n", u->sysname, u->release);
	printf("libseccomp: %u.%u.%u\n", sv->major, sv->minor, sv->micro);
	printf("jansson:    %s\n", jansson_version_str());
	return 0;
}

const struct cli_cmd cli_version_cmd = {
	.name = "version",
	.usage = "version [--format TEMPLATE]",
	.summary = "Show the version of hutch and its libraries.",
	.main = version_main,
};
