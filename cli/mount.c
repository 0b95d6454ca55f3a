// SPDX-License-Identifier: Apache-2.0
/* mount.c - `-v` and `--mount` specifications into a struct sbx_mount
 *
 * -v SRC:DST[:OPTS] is Docker's short form: a SRC that is a path (/abs,
 * ./rel, ~) makes a bind mount, a name a volume, and DST alone an
 * anonymous volume. --mount is the long form: Docker's comma-separated
 * key=value fields, read as one CSV record as Docker reads it (a field in
 * double quotes may hold commas, and "" inside it is one quote; a quote
 * anywhere else is an error). Both end in the same struct sbx_mount, which
 * sandbox/mounts.c mounts and container/volume.c backs with a volume.
 * What a rootless container cannot do (shared propagation, the local
 * driver's options, which mount filesystems) is refused in one line that
 * says why and what to do instead.
 */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>

#include "cli/cli.h"

int cli_check_mount_dst(const char *spec, const char *dst,
			struct hutch_err *err)
{
	if (dst[0] != '/' || !strcmp(dst, "/"))
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": the destination \"%s\" must be an absolute path other than /",
			spec, dst);
	return 0;
}

/* bind-propagation's words. "shared" would make the container's mounts
 * appear on the host, which no user namespace may do. */
static int propagation(const char *spec, const char *word, unsigned long *out,
		       struct hutch_err *err)
{
	static const struct {
		const char *word;
		unsigned long flags;
	} words[] = {
		{ "private", MS_PRIVATE },
		{ "rprivate", MS_PRIVATE | MS_REC },
		{ "slave", MS_SLAVE },
		{ "rslave", MS_SLAVE | MS_REC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (!strcasecmp(word, words[i].word)) {
			*out = words[i].flags;
			return 0;
		}
	if (!strcasecmp(word, "shared") || !strcasecmp(word, "rshared"))
		return cmn_err_msg(
			err, ENOTSUP,
			"invalid mount \"%s\": bind-propagation %s is not supported by hutch: a rootless container's mounts can never reach the host's; use rslave (the host's later mounts reach the container) or rprivate",
			spec, word);
	return cmn_err_msg(
		err, EINVAL,
		"invalid mount \"%s\": unknown bind-propagation \"%s\"; use rprivate, private, rslave or slave",
		spec, word);
}

static int bind_source(const char *spec, const char *src, char **out,
		       struct hutch_err *err)
{
	char real[PATH_MAX];

	if (!realpath(src, real))
		return cmn_err_msg(
			err, EINVAL,
			"bind source path %s does not exist; create it, or fix the mount \"%s\"",
			src, spec);
	*out = strdup(real);
	return *out ? 0 : -ENOMEM;
}

static int volume_name(const char *spec, const char *name, char **out,
		       struct hutch_err *err)
{
	if (!ctr_volume_name_valid(name))
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": \"%s\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed (two at least); if you intended to pass a host directory, use an absolute path or ./%s",
			spec, name, name);
	*out = strdup(name);
	return *out ? 0 : -ENOMEM;
}

/* ---- -v ------------------------------------------------------------------ */

/* Options after the second colon of -v: ro, rw, nocopy (volumes), the
 * propagation words (binds), and SELinux's z/Z and macOS's consistency
 * words, which mean nothing here and are accepted as Docker's users type
 * them. */
static int volume_opts(const char *spec, char *opts, struct sbx_mount *m,
		       struct hutch_err *err)
{
	static const char *const ignored[] = { "z",	    "Z",
					       "rbind",	    "cached",
					       "delegated", "consistent" };
	static const char *const propagations[] = { "private", "rprivate",
						    "slave",   "rslave",
						    "shared",  "rshared" };
	char *save = NULL;

	for (char *o = strtok_r(opts, ",", &save); o;
	     o = strtok_r(NULL, ",", &save)) {
		bool ignore = false, prop = false;

		for (size_t i = 0; i < ARRAY_SIZE(ignored); i++)
			ignore |= !strcmp(o, ignored[i]);
		for (size_t i = 0; i < ARRAY_SIZE(propagations); i++)
			prop |= !strcmp(o, propagations[i]);
		if (ignore)
			continue;
		if (!strcmp(o, "ro") || !strcmp(o, "readonly"))
			m->read_only = true;
		else if (!strcmp(o, "rw"))
			m->read_only = false;
		else if (!strcmp(o, "nocopy") && m->kind == SBX_MOUNT_VOLUME)
			m->copy_up = false;
		else if (prop && m->kind == SBX_MOUNT_BIND) {
			if (propagation(spec, o, &m->propagation, err) < 0)
				return -ENOTSUP;
		} else
			return cmn_err_msg(
				err, EINVAL,
				"invalid volume \"%s\": unknown option \"%s\"; use ro or rw (and nocopy for a volume, rprivate or rslave for a host path)",
				spec, o);
	}
	return 0;
}

/* A failed parse leaves nothing allocated in @m. */
static int clear(struct sbx_mount *m, int ret)
{
	free(m->src);
	free(m->dst);
	free(m->data);
	free(m->name);
	cmn_strv_free(m->labels);
	memset(m, 0, sizeof(*m));
	return ret;
}

int cli_volume_spec(const char *arg, struct sbx_mount *m, struct hutch_err *err)
{
	cleanup_free char *spec = strdup(arg);
	char *src = spec, *dst, *opts;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!spec)
		return -ENOMEM;
	dst = strchr(spec, ':');
	m->kind = SBX_MOUNT_VOLUME;
	m->copy_up = true;
	if (!dst) /* -v /path: an anonymous volume */
		return cli_check_mount_dst(arg, arg, err) < 0
			       ? clear(m, -EINVAL)
			       : cli_set_string(&m->dst, arg);
	*dst++ = '\0';
	opts = strchr(dst, ':');
	if (opts)
		*opts++ = '\0';
	if (!*src || !*dst)
		return cmn_err_msg(
			err, EINVAL,
			"invalid volume \"%s\": use -v SRC:DST[:ro] (SRC a host path or a volume name) or -v DST for an anonymous volume",
			arg);
	if (src[0] == '/' || src[0] == '.' || src[0] == '~') {
		m->kind = SBX_MOUNT_BIND;
		m->copy_up = false;
	}
	ret = cli_check_mount_dst(arg, dst, err);
	if (ret == 0 && opts)
		ret = volume_opts(arg, opts, m, err);
	if (ret == 0)
		ret = m->kind == SBX_MOUNT_BIND
			      ? bind_source(arg, src, &m->src, err)
			      : volume_name(arg, src, &m->name, err);
	if (ret == 0)
		ret = cli_set_string(&m->dst, dst);
	return ret < 0 ? clear(m, ret) : 0;
}

/* ---- --mount ------------------------------------------------------------- */

/*
 * The next field of a CSV record at *@p, unquoted, into @out (owned);
 * *@p moves past it and its comma, to NULL after the last. Go's
 * encoding/csv rules, which Docker's parser uses.
 */
static int csv_field(const char *spec, const char **p, char **out,
		     struct hutch_err *err)
{
	const char *s = *p;
	size_t len = strlen(s);
	char *f = malloc(len + 1), *w = f;

	if (!f)
		return -ENOMEM;
	if (*s != '"') {
		size_t n = strcspn(s, ",");

		if (memchr(s, '"', n)) {
			free(f);
			return cmn_err_msg(
				err, EINVAL,
				"invalid mount \"%s\": a quote inside a field; quote the whole field (\"src=/a,b\") or none of it",
				spec);
		}
		memcpy(f, s, n);
		f[n] = '\0';
		*p = s[n] ? s + n + 1 : NULL;
		*out = f;
		return 0;
	}
	for (s++; *s && !(s[0] == '"' && s[1] != '"'); s++) {
		if (s[0] == '"')
			s++; /* "" is one quote */
		*w++ = *s;
	}
	*w = '\0';
	if (*s != '"' || (s[1] && s[1] != ',')) {
		free(f);
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": %s; end a quoted field with a quote and a comma",
			spec,
			*s ? "text after a closing quote"
			   : "a quote is not closed");
	}
	*p = s[1] ? s + 2 : NULL;
	*out = f;
	return 0;
}

/* A key without a value means true, as in Docker's --mount. */
static int parse_bool(const char *spec, const char *key, const char *val,
		      bool *out, struct hutch_err *err)
{
	if (!val) {
		*out = true;
		return 0;
	}
	if (cmn_parse_go_bool(val, out))
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"invalid mount \"%s\": invalid value for %s: %s; use true or false",
		spec, key, val);
}

/* What --mount's fields said, before they are checked together. */
struct mount_form {
	const char *spec;
	char *type, *source, *target; /* owned */
	bool read_only, nocopy, non_recursive;
	unsigned long propagation;
	char **labels;	   /* owned */
	char *size, *mode; /* tmpfs-size, tmpfs-mode (owned) */
	const char *bind_key, *volume_key, *tmpfs_key; /* a key of each kind */
};

static void form_free(struct mount_form *f)
{
	free(f->type);
	free(f->source);
	free(f->target);
	free(f->size);
	free(f->mode);
	cmn_strv_free(f->labels);
}

/* Keys Docker has that ask for what hutch cannot do, and why. */
static const struct {
	const char *key;
	const char *why;
} unsupported[] = {
	{ "volume-opt",
	  "the local driver's options mount a filesystem (NFS, a device), which needs root; mount it on the host and bind it with type=bind" },
	{ "volume-subpath",
	  "bind the subdirectory of the volume's Mountpoint (hutch volume inspect) with type=bind" },
	{ "bind-recursive",
	  "binds are recursive; bind-nonrecursive binds the source alone" },
	{ "tmpfs-options", "give them with --tmpfs DST:OPTS" },
};

static int set_field(struct mount_form *f, const char *key, const char *val,
		     struct hutch_err *err)
{
	const char *spec = f->spec;
	char **slot = NULL;

	if (!strcmp(key, "type"))
		slot = &f->type;
	else if (!strcmp(key, "source") || !strcmp(key, "src"))
		slot = &f->source;
	else if (!strcmp(key, "target") || !strcmp(key, "dst") ||
		 !strcmp(key, "destination"))
		slot = &f->target;
	else if (!strcmp(key, "tmpfs-size"))
		slot = &f->size;
	else if (!strcmp(key, "tmpfs-mode"))
		slot = &f->mode;
	if (slot && !val)
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": field '%s' must be a key=value pair",
			spec, key);
	if (slot)
		return cli_set_string(slot, val);
	if (!strcmp(key, "readonly") || !strcmp(key, "ro"))
		return parse_bool(spec, key, val, &f->read_only, err);
	if (!strcmp(key, "volume-nocopy"))
		return parse_bool(spec, key, val, &f->nocopy, err);
	if (!strcmp(key, "bind-nonrecursive"))
		return parse_bool(spec, key, val, &f->non_recursive, err);
	if (!val)
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": field '%s' must be a key=value pair",
			spec, key);
	if (!strcmp(key, "bind-propagation"))
		return propagation(spec, val, &f->propagation, err);
	if (!strcmp(key, "volume-label"))
		return cmn_strv_push(&f->labels, strdup(val));
	if (!strcmp(key, "consistency"))
		return 0; /* macOS file sharing; nothing to do on Linux */
	if (!strcmp(key, "volume-driver"))
		return strcmp(val, "local")
			       ? cmn_err_msg(
					 err, ENOTSUP,
					 "invalid mount \"%s\": volume-driver %s is not supported by hutch: its volumes are the local driver's; drop volume-driver",
					 spec, val)
			       : 0;
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (!strcmp(key, unsupported[i].key))
			return cmn_err_msg(
				err, ENOTSUP,
				"invalid mount \"%s\": %s is not supported by hutch: %s",
				spec, key, unsupported[i].why);
	return cmn_err_msg(
		err, EINVAL,
		"invalid mount \"%s\": unknown key '%s'; use type, source, target, readonly, bind-propagation, bind-nonrecursive, volume-nocopy, volume-label, tmpfs-size or tmpfs-mode",
		spec, key);
}

/* Remember one key of each family, for "cannot mix" below. */
static void note_family(struct mount_form *f, const char *key)
{
	static const char *const keys[] = {
		"bind-propagation", "bind-nonrecursive", "volume-nocopy",
		"volume-label",	    "volume-driver",	 "tmpfs-size",
		"tmpfs-mode"
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strcmp(key, keys[i]))
			continue;
		if (key[0] == 'b')
			f->bind_key = keys[i];
		else if (key[0] == 'v')
			f->volume_key = keys[i];
		else
			f->tmpfs_key = keys[i];
	}
}

static int read_fields(struct mount_form *f, struct hutch_err *err)
{
	const char *p = f->spec;
	int ret = 0;

	if (!*p)
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"\": give type=bind|volume|tmpfs,source=...,target=/path");
	while (ret == 0 && p) {
		cleanup_free char *field = NULL;
		char *eq;

		ret = csv_field(f->spec, &p, &field, err);
		if (ret < 0)
			break;
		eq = strchr(field, '=');
		if (eq)
			*eq = '\0';
		for (char *k = field; *k; k++)
			*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
		note_family(f, field);
		ret = set_field(f, field, eq ? eq + 1 : NULL, err);
	}
	return ret;
}

/* A bind-*, volume-* or tmpfs-* key given with another type. */
static int mixed(const struct mount_form *f, const char *type,
		 struct hutch_err *err)
{
	const char *key = strcmp(type, "bind") && f->bind_key ? f->bind_key
			  : strcmp(type, "volume") && f->volume_key
				  ? f->volume_key
			  : strcmp(type, "tmpfs") && f->tmpfs_key ? f->tmpfs_key
								  : NULL;

	if (!key)
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"invalid mount \"%s\": cannot mix '%.*s-*' options (%s) with mount type '%s'",
		f->spec, (int)strcspn(key, "-"), key, key, type);
}

static int tmpfs_data(const struct mount_form *f, struct sbx_mount *m,
		      struct hutch_err *err)
{
	uint64_t size = 0, mode = 01777;
	char *end = NULL;

	if (f->size && !cmn_parse_size(f->size, &size))
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": invalid value for tmpfs-size: %s; give bytes or a size such as 64m or 1g",
			f->spec, f->size);
	if (f->mode)
		mode = strtoull(f->mode, &end, 8);
	if (f->mode && (!*f->mode || *end || mode > 07777))
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": invalid value for tmpfs-mode: %s; give octal permissions such as 1777 or 700",
			f->spec, f->mode);
	m->flags = MS_NOSUID | MS_NODEV;
	m->data = f->size ? cmn_strdup_printf("mode=%llo,size=%llu",
					      (unsigned long long)mode,
					      (unsigned long long)size)
			  : cmn_strdup_printf("mode=%llo",
					      (unsigned long long)mode);
	return m->data ? 0 : -ENOMEM;
}

/* The fields, checked together, into @m. */
static int make_mount(struct mount_form *f, struct sbx_mount *m,
		      struct hutch_err *err)
{
	const char *type = f->type ? f->type : "volume";
	bool has_src = f->source && *f->source;

	for (char *t = f->type; t && *t; t++)
		*t = (char)(*t >= 'A' && *t <= 'Z' ? *t + 32 : *t);
	if (strcmp(type, "bind") && strcmp(type, "volume") &&
	    strcmp(type, "tmpfs"))
		return cmn_err_msg(
			err, ENOTSUP,
			"invalid mount \"%s\": type %s is not supported by hutch; use bind, volume or tmpfs",
			f->spec, type);
	if (!f->target || !*f->target)
		return cmn_err_msg(
			err, EINVAL,
			"invalid mount \"%s\": target is required; add target=/path/in/container",
			f->spec);
	if (cli_check_mount_dst(f->spec, f->target, err) < 0 ||
	    mixed(f, type, err) < 0)
		return -EINVAL;
	m->dst = steal_ptr(&f->target);
	m->read_only = f->read_only;
	if (!strcmp(type, "tmpfs")) {
		m->kind = SBX_MOUNT_TMPFS;
		return has_src ? cmn_err_msg(
					 err, EINVAL,
					 "invalid mount \"%s\": a tmpfs has no source; drop source=%s",
					 f->spec, f->source)
			       : tmpfs_data(f, m, err);
	}
	if (!strcmp(type, "bind")) {
		m->kind = SBX_MOUNT_BIND;
		m->propagation = f->propagation;
		m->non_recursive = f->non_recursive;
		return has_src ? bind_source(f->spec, f->source, &m->src, err)
			       : cmn_err_msg(
					 err, EINVAL,
					 "invalid mount \"%s\": source is required for a bind mount; add source=/host/path",
					 f->spec);
	}
	m->kind = SBX_MOUNT_VOLUME;
	m->copy_up = !f->nocopy;
	m->labels = steal_ptr(&f->labels);
	return has_src ? volume_name(f->spec, f->source, &m->name, err) : 0;
}

int cli_mount_spec(const char *arg, struct sbx_mount *m, struct hutch_err *err)
{
	struct mount_form f = { .spec = arg };
	int ret;

	memset(m, 0, sizeof(*m));
	ret = read_fields(&f, err);
	if (ret == 0)
		ret = make_mount(&f, m, err);
	form_free(&f);
	return ret < 0 ? clear(m, ret) : 0;
}
