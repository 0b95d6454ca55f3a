// SPDX-License-Identifier: Apache-2.0
/* ref.c - image references ("python:3.11-slim", "host:5000/team/app@sha256:")
 *
 * Docker's grammar, written as a small hand parser rather than its regular
 * expressions (which are ambiguous about ':' and need backtracking):
 *
 *   reference := [domain "/"] path [":" tag] ["@" digest]
 *   domain    := host [":" port]; host is dotted labels of [A-Za-z0-9-]
 *                (no leading or trailing '-') or a bracketed IPv6 address
 *   path      := component ("/" component)*
 *   component := [a-z0-9]+ (separator [a-z0-9]+)*; separator is ".", "_",
 *                "__" or one or more "-"
 *   tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 *
 * The first component is a domain when it contains '.' or ':', is
 * "localhost", or has an uppercase letter (which no path component may
 * have). Without a domain the registry is docker.io, where one-component
 * names live under "library/"; "index.docker.io" is docker.io's old name.
 * The normalised name (domain/path) is at most 255 characters, and a bare
 * 64-hex-digit string is refused because it reads like an image id.
 */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define REF_NAME_MAX 255
#define REF_TAG_MAX  128

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A separator between alphanumeric runs: ".", "_", "__" or "-"+. */
static bool separator_valid(const char *s, size_t len)
{
	if (len == 1)
		return *s == '.' || *s == '_' || *s == '-';
	if (len == 2 && s[0] == '_' && s[1] == '_')
		return true;
	return strspn(s, "-") >= len;
}

/* One path component: alphanumeric runs joined by single separators. */
static bool component_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return false;
	while (i < len) {
		size_t sep = 0;

		if (is_lower_alnum(s[i])) {
			i++;
			continue;
		}
		while (i + sep < len && !is_lower_alnum(s[i + sep]))
			sep++;
		if (!separator_valid(s + i, sep))
			return false;
		i += sep;
	}
	return true;
}

static bool path_valid(const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '/') {
			if (!component_valid(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

static bool label_valid(const char *s, size_t len)
{
	if (len == 0 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

static bool domain_valid(const char *s, size_t len)
{
	const char *colon;
	size_t host_len = len;

	if (len > 0 && s[0] == '[') {
		const char *end = memchr(s, ']', len);

		if (!end || end == s + 1)
			return false;
		for (const char *p = s + 1; p < end; p++)
			if (!isxdigit((unsigned char)*p) && *p != ':')
				return false;
		host_len = (size_t)(end - s) + 1;
		if (host_len != len && s[host_len] != ':')
			return false;
	} else {
		colon = memchr(s, ':', len);
		if (colon)
			host_len = (size_t)(colon - s);
		size_t start = 0;

		for (size_t i = 0; i <= host_len; i++) {
			if (i == host_len || s[i] == '.') {
				if (!label_valid(s + start, i - start))
					return false;
				start = i + 1;
			}
		}
	}
	if (host_len < len) {
		const char *port = s + host_len + 1;
		size_t plen = len - host_len - 1;

		if (plen == 0 || strspn(port, "0123456789") < plen)
			return false;
	}
	return true;
}

static bool tag_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > REF_TAG_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool all_lower(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* Does the text before the first '/' name a registry? */
static bool first_is_domain(const char *s, size_t len)
{
	return memchr(s, '.', len) || memchr(s, ':', len) ||
	       (len == 9 && !memcmp(s, "localhost", 9)) || !all_lower(s, len);
}

static int ref_fail(struct hutch_err *err, const char *s, const char *why)
{
	return cmn_err_msg(err, EINVAL, "invalid reference format: %s: \"%s\"",
			   why, s);
}

/* "@algo:hex" into @out; only sha256 is used by images. */
static int parse_digest(const char *orig, const char *d, struct img_ref *out,
			struct hutch_err *err)
{
	const char *colon = strchr(d, ':');

	if (!colon || colon == d)
		return ref_fail(err, orig, "invalid checksum digest format");
	if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6)) {
		if ((colon - d == 6 && !strncmp(d, "sha512", 6)) ||
		    (colon - d == 6 && !strncmp(d, "sha384", 6)))
			return ref_fail(
				err, orig,
				"unsupported digest algorithm (only sha256 is supported)");
		return ref_fail(err, orig, "invalid checksum digest format");
	}
	if (strlen(colon + 1) != 64)
		return ref_fail(err, orig, "invalid checksum digest length");
	if (!img_digest_parse(d, &out->digest))
		return ref_fail(
			err, orig,
			"invalid checksum digest format (64 lowercase hex digits)");
	out->has_digest = true;
	return 0;
}

static int set_name(struct img_ref *out, const char *domain, size_t dlen,
		    const char *path, size_t plen)
{
	bool hub = (dlen == 9 && !memcmp(domain, "docker.io", 9)) ||
		   (dlen == 15 && !memcmp(domain, "index.docker.io", 15));

	if (hub) {
		out->registry = strdup("docker.io");
		if (!memchr(path, '/', plen))
			out->repo = cmn_strdup_printf("library/%.*s", (int)plen,
						      path);
		else
			out->repo = strndup(path, plen);
	} else {
		out->registry = strndup(domain, dlen);
		out->repo = strndup(path, plen);
	}
	return out->registry && out->repo ? 0 : -ENOMEM;
}

static bool is_64_hex(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* The name part (domain and path, no tag or digest) into @out. */
static int parse_name(const char *orig, const char *name, size_t len,
		      struct img_ref *out, struct hutch_err *err)
{
	const char *slash = memchr(name, '/', len);
	const char *domain = "docker.io", *path = name;
	size_t dlen = 9, plen = len;

	if (len == 0)
		return ref_fail(
			err, orig,
			"repository name must have at least one component");
	if (slash && first_is_domain(name, (size_t)(slash - name))) {
		domain = name;
		dlen = (size_t)(slash - name);
		path = slash + 1;
		plen = len - dlen - 1;
		if (!domain_valid(domain, dlen))
			return ref_fail(err, orig, "invalid registry name");
	}
	if (!all_lower(path, plen)) {
		cmn_err_msg(
			err, EINVAL,
			"invalid reference format: repository name must be lowercase: \"%s\"",
			orig);
		return -EINVAL;
	}
	if (plen == 0 || !path_valid(path, plen))
		return ref_fail(
			err, orig,
			"repository name components are lowercase letters and digits separated by '.', '_', '__' or '-'");
	int ret = set_name(out, domain, dlen, path, plen);

	if (ret < 0)
		return ret;
	if (strlen(out->registry) + 1 + strlen(out->repo) > REF_NAME_MAX)
		return ref_fail(
			err, orig,
			"repository name must not be more than 255 characters");
	return 0;
}

int img_ref_parse(const char *s, struct img_ref *out, struct hutch_err *err)
{
	cleanup_free char *copy = NULL;
	char *at, *name, *tag = NULL, *last_slash, *colon;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return ref_fail(err, "", "the name is empty");
	if (is_64_hex(s))
		return cmn_err_msg(
			err, EINVAL,
			"invalid repository name (%s): cannot specify 64-byte hexadecimal strings; it looks like an image id",
			s);
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	name = copy;
	at = strchr(name, '@');
	if (at) {
		*at = '\0';
		ret = parse_digest(s, at + 1, out, err);
		if (ret < 0)
			return ret;
	}
	last_slash = strrchr(name, '/');
	colon = strrchr(last_slash ? last_slash : name, ':');
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
		if (!tag_valid(tag)) {
			ret = ref_fail(
				err, s,
				"a tag is 1-128 letters, digits, '_', '.' or '-', not starting with '.' or '-'");
			img_ref_free(out);
			return ret;
		}
	}
	ret = parse_name(s, name, strlen(name), out, err);
	if (ret == 0 && (tag || !out->has_digest)) {
		out->tag = strdup(tag ? tag : "latest");
		if (!out->tag)
			ret = -ENOMEM;
	}
	if (ret < 0)
		img_ref_free(out);
	return ret;
}

char *img_ref_str(const struct img_ref *ref)
{
	char dbuf[72];

	if (ref->has_digest)
		return cmn_strdup_printf("%s/%s%s%s@%s", ref->registry,
					 ref->repo, ref->tag ? ":" : "",
					 ref->tag ? ref->tag : "",
					 img_digest_str(&ref->digest, dbuf));
	return cmn_strdup_printf("%s/%s:%s", ref->registry, ref->repo,
				 ref->tag ? ref->tag : "latest");
}

char *img_ref_short(const struct img_ref *ref)
{
	cleanup_free char *full = img_ref_str(ref);
	const char *p = full;

	if (!full)
		return NULL;
	if (cmn_has_prefix(p, "docker.io/")) {
		p += strlen("docker.io/");
		if (cmn_has_prefix(p, "library/") &&
		    !strchr(p + strlen("library/"), '/'))
			p += strlen("library/");
	}
	return strdup(p);
}

void img_ref_free(struct img_ref *ref)
{
	if (!ref)
		return;
	free(ref->registry);
	free(ref->repo);
	free(ref->tag);
	ref->registry = ref->repo = ref->tag = NULL;
	ref->has_digest = false;
}
