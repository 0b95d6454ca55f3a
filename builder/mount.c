// SPDX-License-Identifier: Apache-2.0
/* mount.c - RUN --mount's specification, and build's --secret and --ssh
 *
 * All three are one CSV record of KEY=VALUE fields, as BuildKit and buildx
 * read them with Go's encoding/csv: fields are split on ',', a field that
 * starts with '"' runs to the next lone '"' (a doubled one stands for
 * itself), so "target=/a,b" must be quoted whole. Keys are matched without
 * regard to case. An unknown key, a key that the mount's type does not
 * take, or a value that does not parse is an error naming it: a mount that
 * hutch cannot do must never be skipped in silence.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder.h"

/* ---- one CSV record ------------------------------------------------------- */

/* The fields of @s; an owned NULL-terminated array, or NULL with @err. */
static char **csv_fields(const char *s, const char *what, struct hutch_err *err)
{
	char **v = NULL;
	size_t len = strlen(s);
	char *f = malloc(len + 1);

	if (!f) {
		cmn_err_set(err, ENOMEM, "%s", what);
		return NULL;
	}
	for (const char *p = s;;) {
		size_t n = 0;

		if (*p == '"') {
			for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
				f[n++] = *p;
				p += *p == '"';
			}
			if (*p != '"' || (p[1] && p[1] != ',')) {
				cmn_err_msg(
					err, EINVAL,
					"%s \"%s\": a quoted field must end with a quote followed by ',' or the end",
					what, s);
				goto fail;
			}
			p++;
		} else {
			for (; *p && *p != ','; p++) {
				if (*p == '"') {
					cmn_err_msg(
						err, EINVAL,
						"%s \"%s\": a quote may only open a field; quote the whole field, as in \"target=/a,b\"",
						what, s);
					goto fail;
				}
				f[n++] = *p;
			}
		}
		f[n] = '\0';
		if (cmn_strv_push(&v, strdup(f)) < 0) {
			cmn_err_set(err, ENOMEM, "%s", what);
			goto fail;
		}
		if (!*p++)
			break;
	}
	free(f);
	return v;
fail:
	free(f);
	cmn_strv_free(v);
	return NULL;
}

/* tmpfs's size=, as BuildKit reads it (go-units); 0 is no size. */
static bool parse_size(const char *s, uint64_t *out)
{
	return cmn_parse_size(s, out) && *out > 0;
}

static bool parse_number(const char *s, int base, uint64_t max, int64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return false;
	*out = (int64_t)v;
	return true;
}

/* ---- RUN --mount ------------------------------------------------------------ */

static const char *const type_names[] = {
	[BLD_MOUNT_BIND] = "bind",   [BLD_MOUNT_CACHE] = "cache",
	[BLD_MOUNT_TMPFS] = "tmpfs", [BLD_MOUNT_SECRET] = "secret",
	[BLD_MOUNT_SSH] = "ssh",
};

const char *bld_mount_type_name(enum bld_mount_type t)
{
	return type_names[t];
}

enum mkey {
	K_TYPE,
	K_FROM,
	K_SOURCE,
	K_TARGET,
	K_RO,
	K_RW,
	K_REQUIRED,
	K_SIZE,
	K_ID,
	K_SHARING,
	K_MODE,
	K_UID,
	K_GID,
	K_ENV,
};

#define T(t)	  (1u << (t))
#define ALL_TYPES 0x1fu

/* Each key, its spellings, and the types that take it. */
static const struct {
	const char *name;
	enum mkey key;
	unsigned types;
} keys[] = {
	{ "type", K_TYPE, ALL_TYPES },
	{ "from", K_FROM, T(BLD_MOUNT_BIND) | T(BLD_MOUNT_CACHE) },
	{ "source", K_SOURCE,
	  T(BLD_MOUNT_BIND) | T(BLD_MOUNT_CACHE) | T(BLD_MOUNT_SECRET) },
	{ "src", K_SOURCE,
	  T(BLD_MOUNT_BIND) | T(BLD_MOUNT_CACHE) | T(BLD_MOUNT_SECRET) },
	{ "target", K_TARGET, ALL_TYPES },
	{ "dst", K_TARGET, ALL_TYPES },
	{ "destination", K_TARGET, ALL_TYPES },
	{ "readonly", K_RO, ALL_TYPES },
	{ "ro", K_RO, ALL_TYPES },
	{ "readwrite", K_RW, ALL_TYPES },
	{ "rw", K_RW, ALL_TYPES },
	{ "required", K_REQUIRED, T(BLD_MOUNT_SECRET) | T(BLD_MOUNT_SSH) },
	{ "size", K_SIZE, T(BLD_MOUNT_TMPFS) },
	{ "id", K_ID,
	  T(BLD_MOUNT_CACHE) | T(BLD_MOUNT_SECRET) | T(BLD_MOUNT_SSH) },
	{ "sharing", K_SHARING, T(BLD_MOUNT_CACHE) },
	{ "mode", K_MODE,
	  T(BLD_MOUNT_CACHE) | T(BLD_MOUNT_SECRET) | T(BLD_MOUNT_SSH) },
	{ "uid", K_UID,
	  T(BLD_MOUNT_CACHE) | T(BLD_MOUNT_SECRET) | T(BLD_MOUNT_SSH) },
	{ "gid", K_GID,
	  T(BLD_MOUNT_CACHE) | T(BLD_MOUNT_SECRET) | T(BLD_MOUNT_SSH) },
	{ "env", K_ENV, T(BLD_MOUNT_SECRET) },
};

static int find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].name) == len &&
		    !strncasecmp(keys[i].name, name, len))
			return (int)i;
	return -1;
}

/* "type=cache, tmpfs" for the message about a key of the wrong type. */
static void types_of(unsigned mask, char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (int t = 0; t <= BLD_MOUNT_SSH && n < len; t++)
		if (mask & T(t))
			n += (size_t)snprintf(
				out + n, len - n, "%s%s",
				n ? " or type=" : "type=", type_names[t]);
}

static int bad(struct hutch_err *err, const char *spec, const char *fmt,
	       const char *a)
{
	char what[256];

	snprintf(what, sizeof(what), fmt, a);
	return cmn_err_msg(err, EINVAL, "RUN --mount=%s: %s", spec, what);
}

/* The type, found first: BuildKit takes "required,type=secret" too. */
static int find_type(char **fields, const char *spec, struct bld_mount *m,
		     struct hutch_err *err)
{
	m->type = BLD_MOUNT_BIND;
	for (char **f = fields; *f; f++) {
		const char *eq = strchr(*f, '=');

		if (!eq || (size_t)(eq - *f) != 4 || strncasecmp(*f, "type", 4))
			continue;
		for (int t = 0;; t++) {
			if (t > BLD_MOUNT_SSH)
				return bad(
					err, spec,
					"unknown mount type \"%s\"; use bind, cache, tmpfs, secret or ssh",
					eq + 1);
			if (!strcasecmp(eq + 1, type_names[t])) {
				m->type = (enum bld_mount_type)t;
				break;
			}
		}
	}
	return 0;
}

static int set_str(char **field, const char *v)
{
	free(*field);
	*field = strdup(v);
	return *field ? 0 : -ENOMEM;
}

/* Set what key @k's value @v (or boolean @b) says. */
static int set_key(enum mkey k, const char *v, bool b, const char *spec,
		   struct bld_mount *m, struct hutch_err *err)
{
	switch (k) {
	case K_TYPE:
		return 0;
	case K_FROM:
		return set_str(&m->from, v);
	case K_SOURCE:
		return set_str(&m->source, v);
	case K_TARGET:
		return set_str(&m->target, v);
	case K_ID:
		return set_str(&m->id, v);
	case K_ENV:
		return set_str(&m->env, v);
	case K_RO:
		m->read_only = b;
		m->ro_given = true;
		return 0;
	case K_RW:
		m->read_only = !b;
		m->ro_given = true;
		return 0;
	case K_REQUIRED:
		m->required = b;
		return 0;
	case K_SIZE:
		return parse_size(v, &m->size)
			       ? 0
			       : bad(err, spec,
				     "invalid size \"%s\": give bytes or a number with k, m, g or t",
				     v);
	case K_SHARING:
		if (!strcasecmp(v, "shared"))
			m->sharing = BLD_SHARING_SHARED;
		else if (!strcasecmp(v, "private"))
			m->sharing = BLD_SHARING_PRIVATE;
		else if (!strcasecmp(v, "locked"))
			m->sharing = BLD_SHARING_LOCKED;
		else
			return bad(
				err, spec,
				"unknown sharing \"%s\"; use shared, private or locked",
				v);
		return 0;
	case K_MODE:
		return parse_number(v, 8, 07777, &m->mode)
			       ? 0
			       : bad(err, spec,
				     "invalid mode \"%s\": give octal digits such as 0755",
				     v);
	case K_UID:
	case K_GID:
		return parse_number(v, 10, UINT32_MAX - 1,
				    k == K_UID ? &m->uid : &m->gid)
			       ? 0
			       : bad(err, spec,
				     "invalid id \"%s\": give a number", v);
	}
	return 0;
}

/* One KEY=VALUE (or bare KEY) of a mount whose type is known. */
static int mount_field(const char *field, const char *spec, struct bld_mount *m,
		       struct hutch_err *err)
{
	const char *eq = strchr(field, '=');
	size_t klen = eq ? (size_t)(eq - field) : strlen(field);
	const char *v = eq ? eq + 1 : NULL;
	int k = find_key(field, klen);
	char allowed[128];
	bool b = true;

	if (k < 0)
		return bad(
			err, spec,
			"unknown option \"%s\"; the options are type, target, source, from, id, sharing, mode, uid, gid, ro, rw, size, required and env",
			field);
	if (!(keys[k].types & T(m->type))) {
		types_of(keys[k].types, allowed, sizeof(allowed));
		cmn_err_msg(
			err, EINVAL,
			"RUN --mount=%s: option \"%s\" is not valid for type=%s (it is for %s)",
			spec, keys[k].name, type_names[m->type], allowed);
		return -EINVAL;
	}
	if (!v && keys[k].key != K_RO && keys[k].key != K_RW &&
	    keys[k].key != K_REQUIRED)
		return bad(err, spec, "option \"%s\" needs a value (KEY=VALUE)",
			   keys[k].name);
	if (v &&
	    (keys[k].key == K_RO || keys[k].key == K_RW ||
	     keys[k].key == K_REQUIRED) &&
	    !cmn_parse_go_bool(v, &b))
		return bad(err, spec,
			   "\"%s\" is not a boolean: use true or false", field);
	return set_key(keys[k].key, v, b, spec, m, err);
}

/* What BuildKit checks once every field is read, and its defaults. */
static int mount_finish(const char *spec, struct bld_mount *m,
			struct hutch_err *err)
{
	if (!m->ro_given)
		m->read_only = m->type == BLD_MOUNT_BIND ||
			       m->type == BLD_MOUNT_SECRET ||
			       m->type == BLD_MOUNT_SSH;
	if (m->type == BLD_MOUNT_SECRET) {
		if (m->source && m->id)
			return bad(
				err, spec, "%s",
				"give the secret's id= or its source=, not both");
		if (m->source) {
			m->id = m->source;
			m->source = NULL;
		}
		if (!m->id && !m->target)
			return bad(
				err, spec, "%s",
				"a secret mount needs id= (or target=, whose last component names it)");
		return 0;
	}
	if (m->type == BLD_MOUNT_SSH)
		return m->id || set_str(&m->id, "default") == 0 ? 0 : -ENOMEM;
	if (!m->target || !*m->target)
		return bad(err, spec,
			   "type=%s needs target=, the path it is mounted on",
			   type_names[m->type]);
	return 0;
}

int bld_mount_parse(const char *spec, struct bld_mount *m,
		    struct hutch_err *err)
{
	cleanup_strv char **fields = NULL;
	int ret;

	memset(m, 0, sizeof(*m));
	m->uid = m->gid = m->mode = -1;
	fields = csv_fields(spec, "RUN --mount", err);
	if (!fields)
		return -EINVAL;
	ret = find_type(fields, spec, m, err);
	for (char **f = fields; ret == 0 && *f; f++)
		ret = mount_field(*f, spec, m, err);
	if (ret == 0)
		ret = mount_finish(spec, m, err);
	if (ret == -ENOMEM)
		cmn_err_set(err, ENOMEM, "RUN --mount");
	if (ret < 0)
		bld_mount_clear(m);
	return ret;
}

void bld_mount_clear(struct bld_mount *m)
{
	free(m->target);
	free(m->source);
	free(m->from);
	free(m->id);
	free(m->env);
	memset(m, 0, sizeof(*m));
}

/* ---- build --secret --------------------------------------------------------- */

static int secret_field(const char *f, const char *spec, struct bld_secret *s,
			const char **type, struct hutch_err *err)
{
	const char *v = strchr(f, '=');
	size_t klen = v ? (size_t)(v - f) : 0;

	if (!v)
		return cmn_err_msg(
			err, EINVAL,
			"%s: \"%s\" is not KEY=VALUE; use id=ID,src=FILE or id=ID,env=VARIABLE",
			spec, f);
	v++;
	if (klen == 2 && !strncasecmp(f, "id", 2))
		return set_str(&s->id, v);
	if ((klen == 3 && !strncasecmp(f, "src", 3)) ||
	    (klen == 6 && !strncasecmp(f, "source", 6)))
		return set_str(&s->path, v);
	if (klen == 3 && !strncasecmp(f, "env", 3))
		return set_str(&s->env, v);
	if (klen == 4 && !strncasecmp(f, "type", 4)) {
		if (strcmp(v, "file") && strcmp(v, "env"))
			return cmn_err_msg(
				err, EINVAL,
				"%s: unknown type \"%s\"; use file or env",
				spec, v);
		*type = v;
		return 0;
	}
	return cmn_err_msg(
		err, EINVAL,
		"%s: unknown key \"%.*s\"; the keys are id, src (or source), env and type",
		spec, (int)klen, f);
}

/* Where the value is: what buildx decides from the keys given. */
static int secret_source(const char *spec, struct bld_secret *s,
			 const char *type, struct hutch_err *err)
{
	if (type && !strcmp(type, "env") && !s->env) {
		s->env = s->path;
		s->path = NULL;
	}
	if (s->path && s->env)
		return cmn_err_msg(err, EINVAL,
				   "%s: give src= or env=, not both", spec);
	if (!s->path && !s->env) {
		/* id=NAME alone: the variable NAME if set, else the file. */
		if (getenv(s->id))
			s->env = strdup(s->id);
		else
			s->path = strdup(s->id);
		if (!s->env && !s->path)
			return -ENOMEM;
	}
	if (s->env && !getenv(s->env))
		return cmn_err_msg(
			err, ENOENT,
			"%s: the environment variable %s is not set; export it, or give src=FILE",
			spec, s->env);
	if (s->path && access(s->path, R_OK) < 0)
		return cmn_err_set(err, errno, "%s: cannot read %s", spec,
				   s->path);
	return 0;
}

int bld_secret_parse(const char *spec, struct bld_secret *s,
		     struct hutch_err *err)
{
	cleanup_strv char **fields = csv_fields(spec, "--secret", err);
	const char *type = NULL;
	int ret = fields ? 0 : -EINVAL;

	memset(s, 0, sizeof(*s));
	for (char **f = fields; ret == 0 && f && *f; f++)
		ret = secret_field(*f, spec, s, &type, err);
	if (ret == 0 && (!s->id || !*s->id))
		ret = cmn_err_msg(
			err, EINVAL,
			"%s: no id=; use id=ID,src=FILE or id=ID,env=VARIABLE",
			spec);
	if (ret == 0)
		ret = secret_source(spec, s, type, err);
	if (ret == -ENOMEM)
		cmn_err_set(err, ENOMEM, "--secret");
	if (ret < 0)
		bld_secret_clear(s);
	return ret;
}

void bld_secret_clear(struct bld_secret *s)
{
	free(s->id);
	free(s->path);
	free(s->env);
	memset(s, 0, sizeof(*s));
}

/* ---- build --ssh ------------------------------------------------------------- */

int bld_ssh_parse(const char *spec, const char *agent, struct bld_ssh *s,
		  struct hutch_err *err)
{
	const char *eq = strchr(spec, '=');
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (eq == spec || !*spec || strchr(spec, ','))
		return cmn_err_msg(
			err, EINVAL,
			"%s: give ID or ID=SOCKET (one agent socket per id), as in --ssh default",
			spec);
	if (!eq && (!agent || !*agent))
		return cmn_err_msg(
			err, ENOENT,
			"%s: SSH_AUTH_SOCK is not set; start an agent (eval $(ssh-agent); ssh-add) or give --ssh %s=SOCKET",
			spec, spec);
	s->id = eq ? strndup(spec, (size_t)(eq - spec)) : strdup(spec);
	s->path = strdup(eq ? eq + 1 : agent);
	if (!s->id || !s->path) {
		bld_ssh_clear(s);
		return cmn_err_set(err, ENOMEM, "--ssh");
	}
	if (stat(s->path, &st) < 0)
		cmn_err_set(err, errno, "%s: cannot use %s", spec, s->path);
	else if (S_ISSOCK(st.st_mode))
		return 0;
	else if (S_ISREG(st.st_mode))
		cmn_err_msg(
			err, ENOTSOCK,
			"%s: %s is a file, not an agent's socket; hutch forwards agents only: ssh-add the key to an agent and give --ssh %s=$SSH_AUTH_SOCK",
			spec, s->path, s->id);
	else
		cmn_err_msg(err, ENOTSOCK, "%s: %s is not an agent's socket",
			    spec, s->path);
	bld_ssh_clear(s);
	return -ENOTSOCK;
}

void bld_ssh_clear(struct bld_ssh *s)
{
	free(s->id);
	free(s->path);
	memset(s, 0, sizeof(*s));
}
