// SPDX-License-Identifier: Apache-2.0
/* device.c - run's --device: a host node (Docker's HOST[:PATH][:rwm]) or
 * a CDI device (VENDOR/CLASS=NAME, or =all), and --gpus
 *
 * The CDI specs are read once, when the first CDI device is named, from
 * --cdi-spec-dir, else $HUTCH_CDI_SPEC_DIRS (colon-separated, lowest
 * priority first; for tests and unusual hosts), else /etc/cdi and
 * /var/run/cdi.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "sandbox/sandbox.h"

/* Docker's HOSTPATH[:CONTAINERPATH][:PERMISSIONS]; a last part that is
 * made of r, w and m is the permissions. */
static int host_device(struct sbx_config *cfg, const char *arg,
		       struct hutch_err *err)
{
	cleanup_free char *s = strdup(arg);
	char *parts[3] = { NULL }, *save = NULL, *p;
	size_t n = 0;
	const char *perms = "rwm", *path = NULL;

	if (!s)
		return -ENOMEM;
	for (p = strtok_r(s, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (n == 3)
			return cmn_err_msg(
				err, EINVAL,
				"--device %s: too many parts; give HOSTPATH[:CONTAINERPATH][:rwm]",
				arg);
		parts[n++] = p;
	}
	if (n == 0)
		return cmn_err_msg(
			err, EINVAL,
			"--device \"%s\": empty; give HOSTPATH[:CONTAINERPATH][:rwm]",
			arg);
	if (n > 1 && parts[n - 1][0] != '/') {
		perms = parts[--n];
		if (!sbx_device_perms_valid(perms))
			return cmn_err_msg(
				err, EINVAL,
				"--device %s: invalid permissions \"%s\"; use r, w and m (e.g. rw)",
				arg, perms);
	}
	if (n == 3)
		return cmn_err_msg(
			err, EINVAL,
			"--device %s: too many parts; give HOSTPATH[:CONTAINERPATH][:rwm]",
			arg);
	if (n == 2)
		path = parts[1];
	return sbx_device_add(cfg, parts[0], path, perms, err);
}

/* VENDOR/CLASS=NAME: a '=' after a '/', and not a path. */
static bool is_cdi_name(const char *s)
{
	const char *eq = strchr(s, '='), *slash = strchr(s, '/');

	return s[0] != '/' && eq && slash && slash < eq;
}

struct cdi_state {
	const char *dirs;
	struct sbx_cdi_set set;
	bool loaded;
	const struct sbx_cdi_spec **applied; /* specs whose own edits are in */
	size_t n_applied;
};

static int load_specs(struct cdi_state *st, struct hutch_err *err)
{
	if (st->loaded)
		return 0;
	st->loaded = true;
	return sbx_cdi_load(st->dirs, &st->set, err);
}

static void warn_note(char *note)
{
	if (note)
		cmn_warn("%s", note);
	free(note);
}

static int apply_one(struct sbx_config *cfg, struct cdi_state *st,
		     const struct sbx_cdi_spec *spec,
		     const struct sbx_cdi_device *dev, struct hutch_err *err)
{
	char *note = NULL;
	bool spec_done = false;
	const struct sbx_cdi_spec **more;
	int ret;

	for (size_t i = 0; i < st->n_applied; i++)
		spec_done |= st->applied[i] == spec;
	if (!spec_done) {
		more = realloc(st->applied,
			       (st->n_applied + 1) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		st->applied = more;
		st->applied[st->n_applied++] = spec;
		ret = sbx_cdi_apply(cfg, spec, NULL, &note, err);
		warn_note(steal_ptr(&note));
		if (ret < 0)
			return ret;
	}
	ret = sbx_cdi_apply(cfg, spec, dev, &note, err);
	warn_note(note);
	return ret;
}

/* =all: every device of @kind, each from the spec that wins for it. */
static int apply_all(struct sbx_config *cfg, struct cdi_state *st,
		     const char *kind, struct hutch_err *err)
{
	size_t found = 0;

	for (size_t i = 0; i < st->set.n; i++) {
		const struct sbx_cdi_spec *s = st->set.specs[i];

		if (strcmp(s->kind, kind) != 0)
			continue;
		for (size_t d = 0; d < s->n_devices; d++) {
			const struct sbx_cdi_spec *win = NULL;
			const struct sbx_cdi_device *dev = sbx_cdi_find(
				&st->set, kind, s->devices[d].name, &win);
			int ret;

			if (win != s)
				continue; /* a later spec has it */
			ret = apply_one(cfg, st, s, dev, err);
			if (ret < 0)
				return ret;
			found++;
		}
	}
	return found ? 0 : -ENOENT;
}

static int cdi_device(struct sbx_config *cfg, struct cdi_state *st,
		      const char *arg, struct hutch_err *err)
{
	cleanup_free char *kind = strdup(arg);
	const struct sbx_cdi_spec *spec = NULL;
	const struct sbx_cdi_device *dev;
	char *name;
	int ret;

	if (!kind)
		return -ENOMEM;
	name = strchr(kind, '=');
	*name++ = '\0';
	ret = load_specs(st, err);
	if (ret < 0)
		return ret;
	if (!strcmp(name, "all"))
		ret = apply_all(cfg, st, kind, err);
	else if ((dev = sbx_cdi_find(&st->set, kind, name, &spec)))
		ret = apply_one(cfg, st, spec, dev, err);
	else
		ret = -ENOENT;
	if (ret == -ENOENT)
		return cmn_err_msg(
			err, ENOENT,
			"--device %s: no CDI spec in %s defines it; generate one (nvidia-ctk cdi generate), or name a spec directory with --cdi-spec-dir",
			arg, st->dirs);
	return ret;
}

int cli_devices_apply(struct sbx_config *cfg, char *const *devices,
		      char *const *cdi_dirs, struct hutch_err *err)
{
	cleanup_free char *joined = NULL;
	struct cdi_state st = { 0 };
	int ret = 0;

	for (char *const *d = cdi_dirs; d && *d; d++) {
		char *j = cmn_strdup_printf("%s%s%s", joined ? joined : "",
					    joined ? ":" : "", *d);

		if (!j)
			return -ENOMEM;
		free(joined);
		joined = j;
	}
	st.dirs = joined ? joined
		  : getenv("HUTCH_CDI_SPEC_DIRS")
			  ? getenv("HUTCH_CDI_SPEC_DIRS")
			  : SBX_CDI_DIRS;
	for (char *const *d = devices; ret == 0 && d && *d; d++)
		ret = is_cdi_name(*d) ? cdi_device(cfg, &st, *d, err)
				      : host_device(cfg, *d, err);
	sbx_cdi_set_free(&st.set);
	free(st.applied);
	return ret;
}
