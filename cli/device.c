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

/* Loaded once; each spec file that was skipped is named once, in a
 * warning: the devices of the others still apply. */
static int load_specs(struct cdi_state *st, struct hutch_err *err)
{
	int ret;

	if (st->loaded)
		return 0;
	st->loaded = true;
	ret = sbx_cdi_load(st->dirs, &st->set, err);
	for (char **b = st->set.broken; ret == 0 && b && *b; b++)
		cmn_warn("skipped: %s", *b);
	return ret;
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
	if (ret == -ENOENT && st->set.broken)
		return cmn_err_msg(
			err, ENOENT,
			"--device %s: no usable CDI spec in %s defines it; %zu spec file(s) were skipped, the first: %s",
			arg, st->dirs, cmn_strv_len(st->set.broken),
			st->set.broken[0]);
	if (ret == -ENOENT)
		return cmn_err_msg(
			err, ENOENT,
			"--device %s: no CDI spec in %s defines it; generate one (nvidia-ctk cdi generate), or name a spec directory with --cdi-spec-dir",
			arg, st->dirs);
	return ret;
}

/* ---- --gpus ------------------------------------------------------------- */

/* Docker's --gpus: all, N, count=N|all, device=I[,J...] (quoted or not),
 * with capabilities= and driver= accepted and ignored. */
struct gpu_request {
	bool all;
	long count;	/* > 0 with count */
	char **devices; /* device=, owned */
};

static int parse_gpus(const char *arg, struct gpu_request *r,
		      struct hutch_err *err)
{
	cleanup_free char *s = strdup(arg);
	char *p = s, *end;
	size_t len;

	if (!s)
		return -ENOMEM;
	len = strlen(p);
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		p[len - 1] = '\0';
		p++;
	}
	if (!strcmp(p, "all") || !strcmp(p, "count=all")) {
		r->all = true;
		return 0;
	}
	if (!strncmp(p, "count=", 6))
		p += 6;
	if (!strncmp(p, "device=", 7)) {
		char *save = NULL;

		for (char *d = strtok_r(p + 7, ",", &save); d;
		     d = strtok_r(NULL, ",", &save))
			if (cmn_strv_push(&r->devices, strdup(d)) < 0)
				return -ENOMEM;
		if (r->devices)
			return 0;
	} else {
		r->count = strtol(p, &end, 10);
		if (*p && !*end && r->count > 0 && r->count <= SBX_GPU_MAX)
			return 0;
	}
	return cmn_err_msg(
		err, EINVAL,
		"--gpus %s: not understood; give all, a number of GPUs, or \"device=0,2\"",
		arg);
}

static bool has_kind(const struct sbx_cdi_set *set, const char *kind)
{
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->specs[i]->kind, kind))
			return true;
	return false;
}

/* The nvidia.com/gpu CDI devices the request names. */
static int gpus_by_cdi(struct sbx_config *cfg, struct cdi_state *st,
		       const struct gpu_request *r, struct hutch_err *err)
{
	char name[64];
	int ret = 0;

	if (r->all)
		return cdi_device(cfg, st, "nvidia.com/gpu=all", err);
	for (long i = 0; ret == 0 && i < r->count; i++) {
		snprintf(name, sizeof(name), "nvidia.com/gpu=%ld", i);
		ret = cdi_device(cfg, st, name, err);
	}
	for (char **d = r->devices; ret == 0 && d && *d; d++) {
		cleanup_free char *n =
			cmn_strdup_printf("nvidia.com/gpu=%s", *d);

		ret = n ? cdi_device(cfg, st, n, err) : -ENOMEM;
	}
	return ret;
}

/* Which of @h's GPUs the request takes; -errno with @err. */
static int choose(const struct sbx_gpu_host *h, const struct gpu_request *r,
		  const char *arg, bool *chosen, struct hutch_err *err)
{
	if (h->n_gpus == 0)
		return cmn_err_msg(
			err, ENODEV,
			"--gpus %s: the NVIDIA driver %s is loaded but %s; %s",
			arg, h->version,
			h->n_closed ? "you may open none of its GPUs"
				    : "there is no /dev/nvidiaN",
			h->n_closed
				? "in a Slurm job, ask for GPUs (--gres=gpu:N)"
				: "check nvidia-smi on the host");
	for (size_t i = 0; i < h->n_gpus; i++)
		chosen[i] = r->all || (long)i < r->count;
	if (r->count > (long)h->n_gpus)
		return cmn_err_msg(
			err, ENODEV,
			"--gpus %s: only %zu GPU(s) here that you may open; ask for fewer",
			arg, h->n_gpus);
	for (char **d = r->devices; d && *d; d++) {
		char *end;
		long want = strtol(*d, &end, 10);
		bool found = false;

		for (size_t i = 0; *end == '\0' && **d && i < h->n_gpus; i++)
			if (h->indexes[i] == want)
				found = chosen[i] = true;
		if (!found)
			return cmn_err_msg(
				err, ENODEV,
				"--gpus %s: GPU %s is not on this host or not yours (/dev/nvidia%s; in a Slurm job only the job's GPUs open); without a CDI spec GPUs are named by number",
				arg, *d, *d);
	}
	return 0;
}

/* Without a CDI spec: the host's driver, as Apptainer's --nv finds it. */
static int gpus_by_driver(struct sbx_config *cfg, const struct gpu_request *r,
			  const char *arg, const char *dirs,
			  struct hutch_err *err)
{
	struct sbx_gpu_host h;
	bool chosen[SBX_GPU_MAX] = { false };
	int ret = sbx_gpu_detect(&h, err);

	if (ret == -ENODEV) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		return cmn_err_msg(
			err, ENODEV,
			"--gpus %s: %s (and no CDI spec for nvidia.com/gpu in %s)",
			arg, why, dirs);
	}
	if (ret < 0)
		return ret;
	ret = choose(&h, r, arg, chosen, err);
	if (ret == 0 && !h.libs)
		ret = cmn_err_msg(
			err, ENOENT,
			"--gpus %s: the NVIDIA driver %s is loaded but none of its libraries (libcuda.so.1, ...) is in the ldconfig cache; install the driver's user-space part",
			arg, h.version);
	if (ret == 0 && !h.uvm)
		cmn_warn(
			"--gpus: nvidia_uvm is not loaded (no /dev/nvidia-uvm): CUDA will fail with CUDA_ERROR_UNKNOWN; ask an admin to load it (modprobe nvidia_uvm, or nvidia-modprobe -u -c=0)");
	if (ret == 0 && h.ldconfig_failed)
		cmn_warn(
			"--gpus: the host's ldconfig cache could not be read; the driver's libraries were looked for in the usual directories");
	if (ret == 0)
		ret = sbx_gpu_apply(cfg, &h, chosen, err);
	sbx_gpu_host_free(&h);
	return ret;
}

/* CUDA_VISIBLE_DEVICES is the job's binding (Slurm's gres sets it): it
 * goes in as it is, before -e, which may still change it. A Slurm job's
 * is passed with the job's variables already. */
static int pass_visible(struct sbx_config *cfg)
{
	const char *v = getenv("CUDA_VISIBLE_DEVICES");
	char **env = NULL;

	if (!v || getenv("SLURM_JOB_ID"))
		return 0;
	if (cmn_strv_push(&env,
			  cmn_strdup_printf("CUDA_VISIBLE_DEVICES=%s", v)) < 0)
		return -ENOMEM;
	for (char **e = cfg->env; e && *e; e++)
		if (cmn_strv_push(&env, strdup(*e)) < 0) {
			cmn_strv_free(env);
			return -ENOMEM;
		}
	cmn_strv_free(cfg->env);
	cfg->env = env;
	return 0;
}

static int apply_gpus(struct sbx_config *cfg, struct cdi_state *st,
		      const char *arg, struct hutch_err *err)
{
	struct gpu_request r = { 0 };
	int ret = parse_gpus(arg, &r, err);

	ret = ret ?: load_specs(st, err);
	if (ret == 0)
		ret = has_kind(&st->set, "nvidia.com/gpu")
			      ? gpus_by_cdi(cfg, st, &r, err)
			      : gpus_by_driver(cfg, &r, arg, st->dirs, err);
	if (ret == 0 && pass_visible(cfg) < 0)
		ret = cmn_err_set(err, ENOMEM, "--gpus");
	cmn_strv_free(r.devices);
	return ret;
}

int cli_devices_apply(struct sbx_config *cfg, char *const *devices,
		      char *const *cdi_dirs, const char *gpus,
		      struct hutch_err *err)
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
	if (ret == 0 && gpus)
		ret = apply_gpus(cfg, &st, gpus, err);
	sbx_cdi_set_free(&st.set);
	free(st.applied);
	return ret;
}
