// SPDX-License-Identifier: Apache-2.0
/* version.c - `hutch version`: hutch's version and the libraries it runs on */

#include <seccomp.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <jansson.h>

#include "cli/cli.h"

static int version_main(int argc, char **argv)
{
	const struct scmp_version *sv = seccomp_version();
	struct hutch_err err = { 0 };
	struct utsname u;
	bool help;
	int first = cli_parse(&cli_version_cmd, NULL, 0, NULL, argc, argv,
			      &help, &err);

	if (first < 0)
		return cli_fail(&err, CMN_EXIT_HUTCH);
	if (help)
		return 0;
	if (uname(&u) < 0)
		u.release[0] = '\0';
	printf("hutch:      %s\n", cmn_version_string());
	printf("kernel:     %s %s\n", u.sysname, u.release);
	printf("libseccomp: %u.%u.%u\n", sv->major, sv->minor, sv->micro);
	printf("jansson:    %s\n", jansson_version_str());
	return 0;
}

const struct cli_cmd cli_version_cmd = {
	.name = "version",
	.usage = "version",
	.summary = "Show the version of hutch and its libraries.",
	.main = version_main,
};
