// SPDX-License-Identifier: Apache-2.0
/* step_run.c - RUN: a container on the stage's layers; its upper directory
 * becomes the layer */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/builder-internal.h"

#define TAIL_LINES 8

/* The step's output: to the build's log, and its last lines kept for the
 * error message when the command fails (and with -q). */
struct run_out {
	const struct bld *b;
	char tail[TAIL_LINES][256];
	size_t next;
	char partial[256];
	size_t plen;
};

static void keep_line(struct run_out *r)
{
	r->partial[r->plen] = '\0';
	snprintf(r->tail[r->next++ % TAIL_LINES], 256, "%s", r->partial);
	r->plen = 0;
}

static void on_output(void *ctx, int stream, const char *buf, size_t len)
{
	struct run_out *r = ctx;

	(void)stream;
	if (r->b->o->output >= 0)
		cmn_write_all(r->b->o->output, buf, len);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			keep_line(r);
		else if (r->plen < sizeof(r->partial) - 1)
			r->partial[r->plen++] = buf[i];
	}
}

static void tail_text(struct run_out *r, char *out, size_t len)
{
	size_t n = 0, first = r->next > TAIL_LINES ? r->next - TAIL_LINES : 0;

	if (r->plen)
		keep_line(r);
	out[0] = '\0';
	for (size_t i = first; i < r->next && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " | " : "",
				      r->tail[i % TAIL_LINES]);
}

/* The command: exec form as written, shell form (or a heredoc script)
 * through the stage's SHELL. */
static char **command(const struct stage *st, const struct bld_instr *in)
{
	char **argv = NULL;

	if (in->json) {
		for (size_t i = 0; i < in->n_args; i++)
			cmn_strv_push(&argv, strdup(in->args[i]));
		return argv;
	}
	for (char **s = st->shell; s && *s; s++)
		cmn_strv_push(&argv, strdup(*s));
	if (in->n_heredocs && in->heredocs[0].arg < 0)
		cmn_strv_push(&argv, strdup(in->heredocs[0].body));
	else
		cmn_strv_push(&argv, strdup(in->n_args ? in->args[0] : ""));
	return argv;
}

static char *key_text(char *const *argv, char *const *env, bool net_none)
{
	size_t n = 64;
	char *s, *p;

	for (char *const *a = argv; a && *a; a++)
		n += strlen(*a) + 1;
	for (char *const *e = env; e && *e; e++)
		n += strlen(*e) + 1;
	s = malloc(n);
	if (!s)
		return NULL;
	p = s + sprintf(s, "run net=%d\n", net_none);
	/* \x1f between arguments: ["a b"] and ["a", "b"] must differ. */
	for (char *const *a = argv; a && *a; a++)
		p += sprintf(p, "%s\x1f", *a);
	*p++ = '\n';
	for (char *const *e = env; e && *e; e++)
		p += sprintf(p, "%s\n", *e);
	*p = '\0';
	return s;
}

static const char *config_str(const struct stage *st, const char *key)
{
	const char *v = json_string_value(json_object_get(st->config, key));

	return v && *v ? v : NULL;
}

/* A container's configuration for the step. */
static int step_config(struct bld *b, struct stage *st, const char *dir,
		       char **argv, char **env, struct sbx_config *cfg)
{
	char **lowers = NULL;
	int ret = sbx_config_init(cfg);

	for (size_t i = st->n_layers; ret == 0 && i-- > 0;)
		ret = cmn_strv_push(
			&lowers,
			cmn_strdup_printf("%s/diff", st->layers[i].chain.hex));
	if (ret < 0)
		return ret;
	cfg->argv = argv;
	cfg->env = env;
	cfg->lowers = lowers;
	cfg->lower_base =
		cmn_strdup_printf("%s/layers", img_store_root(b->store));
	cfg->upper = cmn_strdup_printf("%s/upper", dir);
	cfg->work = cmn_strdup_printf("%s/work", dir);
	cfg->rootfs = cmn_strdup_printf("%s/rootfs", dir);
	cfg->workdir = config_str(st, "WorkingDir")
			       ? strdup(config_str(st, "WorkingDir"))
			       : NULL;
	cfg->user =
		config_str(st, "User") ? strdup(config_str(st, "User")) : NULL;
	cfg->network = b->o->network_none ? SBX_NET_NONE : SBX_NET_HOST;
	cfg->fake_root = b->fake_root;
	cfg->hostname = strdup("hutch-build");
	if (!cfg->upper || !cfg->work || !cfg->rootfs)
		return -ENOMEM;
	for (size_t i = 0; i < 3; i++) {
		static const char *const parts[] = { "upper", "work",
						     "rootfs" };
		cleanup_free char *p =
			cmn_strdup_printf("%s/%s", dir, parts[i]);

		if (!p || mkdir(p, 0755) < 0)
			return -errno;
	}
	return 0;
}

/* The mount points the container needed (/etc/hosts and friends, /proc,
 * /dev, /sys) are made in the upper directory when the image lacks them;
 * they are the runtime's, not the step's, and stay out of the layer. */
static void drop_stubs(const struct bld *b, const struct stage *st,
		       const char *upper)
{
	static const char *const points[] = { "/etc/hosts",
					      "/etc/hostname",
					      "/etc/resolv.conf",
					      SBX_APT_ROOT_CONF,
					      "/proc",
					      "/sys",
					      "/dev" };

	for (size_t i = 0; i < ARRAY_SIZE(points); i++)
		bld_drop_point(b, st, upper, points[i]);
}

static int execute(struct bld *b, struct stage *st, const char *dir,
		   char **argv, char **env, struct bld_run_mounts *rm,
		   struct hutch_err *err)
{
	struct run_out out = { .b = b };
	struct sbx_config cfg;
	char tail[1024];
	int status = 0, ret;
	int p1[2] = { -1, -1 }, p2[2] = { -1, -1 };
	struct sbx_run_io io = { .stdio = { -1, -1, -1 },
				 .capture = { -1, -1 },
				 .output = on_output,
				 .ctx = &out };

	ret = step_config(b, st, dir, cmn_strv_dup(argv), cmn_strv_dup(env),
			  &cfg);
	if (ret == 0 && (pipe2(p1, O_CLOEXEC) < 0 || pipe2(p2, O_CLOEXEC) < 0))
		ret = -errno;
	if (ret < 0)
		cmn_err_set(err, -ret, "cannot prepare the step");
	if (ret == 0)
		ret = bld_mounts_prepare(b, rm, dir, &cfg, err);
	if (ret < 0) {
		sbx_config_free(&cfg);
		for (int i = 0; i < 2; i++) {
			if (p1[i] >= 0)
				close(p1[i]);
			if (p2[i] >= 0)
				close(p2[i]);
		}
		return ret;
	}
	io.stdio[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	io.stdio[1] = p1[1];
	io.stdio[2] = p2[1];
	io.capture[0] = p1[0];
	io.capture[1] = p2[0];
	ret = sbx_run(&cfg, &io, &status, err);
	for (int i = 0; i < 2; i++) {
		close(p1[i]);
		close(p2[i]);
	}
	if (io.stdio[0] >= 0)
		close(io.stdio[0]);
	sbx_config_free(&cfg);
	if (ret == 0 && status != 0) {
		tail_text(&out, tail, sizeof(tail));
		ret = cmn_err_msg(err, EIO,
				  "the command failed with exit status %d%s%s",
				  status, tail[0] ? ": " : "", tail);
	}
	return ret;
}

/* The step itself, on a cache miss, in a private directory of the store
 * that goes with it. */
static int run_step(struct bld *b, struct stage *st, const struct bld_instr *in,
		    char **argv, char **env, struct bld_run_mounts *rm,
		    const char *key, struct hutch_err *err)
{
	cleanup_free char *dir = img_store_tmpdir(b->store, ".run", err);
	cleanup_free char *upper = NULL;
	int ret;

	if (!dir)
		return -EIO;
	ret = execute(b, st, dir, argv, env, rm, err);
	upper = cmn_strdup_printf("%s/upper", dir);
	if (ret == 0 && upper) {
		drop_stubs(b, st, upper);
		bld_mounts_drop_points(b, st, upper, rm);
		ret = bld_commit_layer(b, st, upper, in->original, key, err);
	}
	sbx_remove_tree(dir, NULL);
	return ret;
}

int bld_step_run(struct bld *b, struct stage *st, size_t index,
		 const struct bld_instr *in, struct hutch_err *err)
{
	cleanup_strv char **argv = command(st, in);
	cleanup_strv char **env =
		bld_run_environ(&st->scope.vars, &b->build_args);
	cleanup_free char *what = key_text(argv, env, b->o->network_none);
	cleanup_free char *mounts = NULL;
	cleanup_free char *all = NULL;
	struct bld_run_mounts rm = { .store_lock = -1 };
	char key[65];
	int ret = argv && what ? 0 : cmn_err_set(err, ENOMEM, "RUN");

	if (ret == 0)
		ret = bld_mounts_plan(b, st, index, in, &rm, err);
	if (ret == 0 && (!(mounts = bld_mounts_key(b, &rm)) ||
			 !(all = cmn_strdup_printf("%s%s", what, mounts))))
		ret = cmn_err_set(err, ENOMEM, "RUN");
	if (ret == 0)
		bld_cache_key(st, all, key);
	if (ret == 0 && (b->o->no_cache ||
			 bld_commit_cached(b, st, key, in->original) != 1))
		ret = run_step(b, st, in, argv, env, &rm, key, err);
	bld_mounts_release(&rm);
	return ret;
}
