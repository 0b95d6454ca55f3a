// SPDX-License-Identifier: Apache-2.0
/* apparmor.c - the AppArmor profile that lets one hutch binary create user
 * namespaces where Ubuntu restricts them
 *
 * With kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu 23.10 and
 * later) programs under no profile may not use user namespaces with
 * capabilities in them; for those unshare succeeds and the first mount
 * fails. The fix is a profile for the binary's path that confines nothing:
 * flags=(unconfined) and abi 3.0, whose policy does not mediate namespaces,
 * so the restriction does not apply (packaging/apparmor/hutch says why this
 * form and not Ubuntu's abi 4.0 with a "userns," rule: Debian 12's parser
 * accepts only this one). The text below is that file's, without its
 * comments. hutch's packages install it for /usr/bin/hutch;
 * a bundle unpacked under $HOME needs one for its own path, so the text is
 * made here for whatever path hutch runs from, for `hutch info` to print
 * and for the error of a failing run to point at.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox-internal.h"

/* The packaged profile's binary, name and file. */
#define PACKAGED_EXE  "/usr/bin/hutch"
#define PACKAGED_NAME "hutch"

void sbx_apparmor_free(struct sbx_apparmor *p)
{
	free(p->exe);
	free(p->name);
	free(p->file);
	free(p->text);
	*p = (struct sbx_apparmor){ 0 };
}

static bool plain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("._+-", c);
}

/* "hutch" for the packaged path; else one name per path, with "hutch" in
 * it (what apparmor_allows_hutch() looks for in the label):
 * /opt/hutch-0.1/bin/hutch -> hutch.opt.hutch-0.1.bin.hutch */
static char *profile_name(const char *exe)
{
	char *name;
	size_t n = strlen(PACKAGED_NAME);

	if (!strcmp(exe, PACKAGED_EXE))
		return strdup(PACKAGED_NAME);
	name = malloc(n + strlen(exe) + 1);
	if (!name)
		return NULL;
	memcpy(name, PACKAGED_NAME, n);
	for (const char *c = exe; *c; c++)
		name[n++] = *c == '/' ? '.' : plain_char(*c) ? *c : '_';
	name[n] = '\0';
	return name;
}

/* @exe as a profile's attachment: as it is when plain, else quoted, with
 * the characters AppArmor would read as a pattern escaped, so that it
 * matches this one path only. */
static char *attachment(const char *exe)
{
	bool plain = true;
	char *out, *o;

	for (const char *c = exe; *c; c++)
		plain = plain && (*c == '/' || plain_char(*c));
	if (plain)
		return strdup(exe);
	out = malloc(2 * strlen(exe) + 3);
	if (!out)
		return NULL;
	o = out;
	*o++ = '"';
	for (const char *c = exe; *c; c++) {
		if (strchr("\\\"*?[]{}^@", *c))
			*o++ = '\\';
		*o++ = *c;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

int sbx_apparmor_profile(const char *exe, struct sbx_apparmor *out)
{
	cleanup_free char *attach = NULL;

	*out = (struct sbx_apparmor){ 0 };
	if (!exe || *exe != '/')
		return -EINVAL;
	/* A control character cannot be written in a profile's path. */
	for (const char *c = exe; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return -EINVAL;
	attach = attachment(exe);
	out->exe = strdup(exe);
	out->name = profile_name(exe);
	out->file = out->name
			    ? cmn_strdup_printf("/etc/apparmor.d/%s", out->name)
			    : NULL;
	out->text =
		attach && out->name
			? cmn_strdup_printf(
				  "abi <abi/3.0>,\n"
				  "\n"
				  "include <tunables/global>\n"
				  "\n"
				  "profile %s %s flags=(unconfined) {\n"
				  "  # Site-specific additions and overrides.\n"
				  "  include if exists <local/%s>\n"
				  "}\n",
				  out->name, attach, out->name)
			: NULL;
	if (!out->exe || !out->file || !out->text) {
		sbx_apparmor_free(out);
		return -ENOMEM;
	}
	return 0;
}

char *sbx_apparmor_fix(const struct sbx_apparmor *p)
{
	const char *packaged =
		!strcmp(p->exe, PACKAGED_EXE)
			? "hutch's packages install it, from packaging/apparmor/hutch"
			: "hutch's packages install one for " PACKAGED_EXE
			  ", from packaging/apparmor/hutch";

	return cmn_strdup_printf(
		"install the AppArmor profile that 'hutch info' prints for %s as %s and load it: sudo apparmor_parser -r %s (%s); or let every program use user namespaces: sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
		p->exe, p->file, p->file, packaged);
}
