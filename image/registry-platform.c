// SPDX-License-Identifier: Apache-2.0
/* registry-platform.c - platforms ("linux/arm64/v8") and picking one from a
 * manifest list or OCI index
 *
 * Architectures are compared in Go's names (amd64, arm64, arm, 386, ...),
 * with the kernel's and Debian's spellings mapped to them. A missing
 * variant means the usual one: v8 for arm64, v7 for arm. Without
 * --platform, the host's platform is wanted; an entry whose variant differs
 * from the host's is taken only when no exact match exists (an arm64/v8
 * host runs a plain arm64 image).
 */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "image/registry-internal.h"

static const struct {
	const char *alias, *arch, *variant;
} arches[] = {
	{ "x86_64", "amd64", "" },	{ "x86-64", "amd64", "" },
	{ "amd64", "amd64", "" },	{ "aarch64", "arm64", "" },
	{ "arm64", "arm64", "" },	{ "armhf", "arm", "v7" },
	{ "armel", "arm", "v6" },	{ "armv7l", "arm", "v7" },
	{ "armv6l", "arm", "v6" },	{ "armv5tel", "arm", "v5" },
	{ "i386", "386", "" },		{ "i686", "386", "" },
	{ "386", "386", "" },		{ "ppc64le", "ppc64le", "" },
	{ "s390x", "s390x", "" },	{ "riscv64", "riscv64", "" },
	{ "mips64el", "mips64le", "" },
};

static void normalise(struct reg_platform *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++) {
		if (strcmp(p->arch, arches[i].alias))
			continue;
		snprintf(p->arch, sizeof(p->arch), "%s", arches[i].arch);
		if (!p->variant[0])
			snprintf(p->variant, sizeof(p->variant), "%s",
				 arches[i].variant);
		break;
	}
	if (!strcmp(p->arch, "arm64") && !p->variant[0])
		snprintf(p->variant, sizeof(p->variant), "v8");
	if (!strcmp(p->arch, "arm") && !p->variant[0])
		snprintf(p->variant, sizeof(p->variant), "v7");
}

int reg_platform_parse(const char *s, struct reg_platform *out,
		       struct hutch_err *err)
{
	const char *a, *v;

	memset(out, 0, sizeof(*out));
	a = strchr(s, '/');
	v = a ? strchr(a + 1, '/') : NULL;
	if (!a || a == s || !a[1] || a[1] == '/' ||
	    (v && (!v[1] || strchr(v + 1, '/'))) ||
	    (size_t)(a - s) >= sizeof(out->os) ||
	    strlen(a + 1) >= sizeof(out->arch))
		return cmn_err_msg(
			err, EINVAL,
			"invalid platform \"%s\": use os/arch[/variant], for example linux/amd64 or linux/arm64/v8",
			s);
	snprintf(out->os, sizeof(out->os), "%.*s", (int)(a - s), s);
	snprintf(out->arch, sizeof(out->arch), "%.*s",
		 (int)(v ? v - a - 1 : (long)strlen(a + 1)), a + 1);
	if (v)
		snprintf(out->variant, sizeof(out->variant), "%s", v + 1);
	for (char *p = out->os; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	normalise(out);
	out->explicit_variant = v != NULL;
	return 0;
}

void reg_platform_host(struct reg_platform *out)
{
	struct utsname u;

	memset(out, 0, sizeof(*out));
	snprintf(out->os, sizeof(out->os), "linux");
	if (uname(&u) == 0)
		snprintf(out->arch, sizeof(out->arch), "%.31s", u.machine);
	else
		snprintf(out->arch, sizeof(out->arch), "amd64");
	normalise(out);
}

void reg_platform_str(const struct reg_platform *p, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s%s%s", p->os, p->arch,
		 p->variant[0] ? "/" : "", p->variant);
}

/* An index entry's platform, normalised; false when it has none. */
static bool entry_platform(const json_t *entry, struct reg_platform *p)
{
	const json_t *pl = json_object_get(entry, "platform");
	const char *os = json_string_value(json_object_get(pl, "os"));
	const char *arch =
		json_string_value(json_object_get(pl, "architecture"));
	const char *var = json_string_value(json_object_get(pl, "variant"));

	memset(p, 0, sizeof(*p));
	if (!os || !arch)
		return false;
	snprintf(p->os, sizeof(p->os), "%s", os);
	snprintf(p->arch, sizeof(p->arch), "%s", arch);
	snprintf(p->variant, sizeof(p->variant), "%s", var ? var : "");
	normalise(p);
	return true;
}

const json_t *reg_platform_select(const json_t *index,
				  const struct reg_platform *want, char *avail,
				  size_t avail_size)
{
	const json_t *entries = json_object_get(index, "manifests");
	const json_t *entry, *exact = NULL, *loose = NULL;
	size_t i, used = 0;

	if (avail_size)
		avail[0] = '\0';
	json_array_foreach(entries, i, entry)
	{
		struct reg_platform p;
		char s[160];

		if (!entry_platform(entry, &p) || !strcmp(p.os, "unknown"))
			continue;
		reg_platform_str(&p, s, sizeof(s));
		if (used < avail_size)
			used += (size_t)snprintf(avail + used,
						 avail_size - used, "%s%s",
						 used ? ", " : "", s);
		if (strcmp(p.os, want->os) || strcmp(p.arch, want->arch))
			continue;
		if (!exact && !strcmp(p.variant, want->variant))
			exact = entry;
		if (!want->explicit_variant && !loose)
			loose = entry;
	}
	return exact ? exact : loose;
}
