// SPDX-License-Identifier: Apache-2.0
/* dockerfile-scope.c - which variables an instruction sees, and the
 * instruction with them substituted
 *
 * Docker's scoping rules, which bld_expand() and bld_global_args() apply:
 *
 *  - ARGs before the first FROM form the global scope. Only FROM lines
 *    (image and --platform) see it, with the automatic platform ARGs
 *    (TARGETARCH, BUILDPLATFORM, ...), which need no declaration there.
 *  - Inside a stage a build argument exists from its ARG on. Its value is
 *    the --build-arg value, else the ARG's default (substituted when the
 *    ARG runs), else the value of a global ARG of that name ("ARG NAME"
 *    without a default re-imports a global ARG into the stage).
 *  - ENV sets an environment variable; an ENV overrides an ARG of the
 *    same name wherever it is looked up. That is the reference's rule
 *    ("always"); BuildKit lets whichever came last win, which differs only
 *    for an ARG declared after an ENV of the same name.
 *  - ENV and LABEL values are computed for the whole instruction before
 *    any is set ("ENV a=1 b=$a" gives b the old a); ARG sets one name after
 *    the other ("ARG a=1 b=$a" gives b 1), and never substitutes names.
 *  - A stage built FROM an earlier stage starts with that stage's ENV and
 *    ARG values (the builder copies the scope); any other stage starts
 *    with its base image's environment.
 *  - The predefined proxy ARGs (HTTP_PROXY ...) reach RUN's environment
 *    without a declaration, but substitution only sees them once declared.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile-internal.h"

/* ---- variables ----------------------------------------------------------- */

static struct bld_var *find_var(const struct bld_vars *vars, const char *name,
				bool env)
{
	size_t i;

	for (i = 0; i < vars->n; i++) {
		if (vars->v[i].env == env && strcmp(vars->v[i].name, name) == 0)
			return &vars->v[i];
	}
	return NULL;
}

int bld_vars_set(struct bld_vars *vars, const char *name, const char *value,
		 bool env)
{
	struct bld_var *v = find_var(vars, name, env);
	char *dup = NULL;

	if (value) {
		dup = strdup(value);
		if (!dup)
			return -ENOMEM;
	}
	if (v) {
		free(v->value);
		v->value = dup;
		return 0;
	}
	v = realloc(vars->v, (vars->n + 1) * sizeof(*v));
	if (!v) {
		free(dup);
		return -ENOMEM;
	}
	vars->v = v;
	v = &vars->v[vars->n];
	v->name = strdup(name);
	if (!v->name) {
		free(dup);
		return -ENOMEM;
	}
	v->value = dup;
	v->env = env;
	vars->n++;
	return 0;
}

const char *bld_vars_get(const struct bld_vars *vars, const char *name)
{
	const struct bld_var *v;

	if (!vars)
		return NULL;
	v = find_var(vars, name, true);
	if (v)
		return v->value;
	v = find_var(vars, name, false);
	return v ? v->value : NULL;
}

bool bld_vars_has(const struct bld_vars *vars, const char *name, bool env)
{
	return vars && find_var(vars, name, env) != NULL;
}

int bld_vars_add_environ(struct bld_vars *vars, char *const *envp)
{
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		char *name = eq ? strndup(*envp, (size_t)(eq - *envp))
				: strdup(*envp);
		int ret;

		if (!name)
			return -ENOMEM;
		ret = bld_vars_set(vars, name, eq ? eq + 1 : "", true);
		free(name);
		if (ret)
			return ret;
	}
	return 0;
}

void bld_vars_clear(struct bld_vars *vars)
{
	size_t i;

	for (i = 0; i < vars->n; i++) {
		free(vars->v[i].name);
		free(vars->v[i].value);
	}
	free(vars->v);
	vars->v = NULL;
	vars->n = 0;
}

int bld_vars_copy(struct bld_vars *dst, const struct bld_vars *src)
{
	size_t i;
	int ret;

	bld_vars_clear(dst);
	for (i = 0; i < src->n; i++) {
		ret = bld_vars_set(dst, src->v[i].name, src->v[i].value,
				   src->v[i].env);
		if (ret)
			return ret;
	}
	return 0;
}

static const char *vars_get(void *ctx, const char *name)
{
	return bld_vars_get(ctx, name);
}

struct bld_lookup bld_vars_lookup(const struct bld_vars *vars)
{
	return (struct bld_lookup){ .get = vars_get, .ctx = (void *)vars };
}

static const char *const proxy_args[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
	"ftp_proxy",  "NO_PROXY",   "no_proxy",	   "ALL_PROXY",	  "all_proxy",
};

static const char *const platform_args[] = {
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
	"BUILDPLATFORM",  "BUILDOS",  "BUILDARCH",  "BUILDVARIANT",
};

static bool in_list(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(name, list[i]) == 0)
			return true;
	}
	return false;
}

bool bld_arg_predefined(const char *name)
{
	return in_list(name, proxy_args, ARRAY_SIZE(proxy_args));
}

bool bld_arg_platform(const char *name)
{
	return in_list(name, platform_args, ARRAY_SIZE(platform_args));
}

static int push_env(char ***env, const char *name, const char *value)
{
	char *s = cmn_strdup_printf("%s=%s", name, value);

	if (!s)
		return -ENOMEM;
	return cmn_strv_push(env, s);
}

char **bld_run_environ(const struct bld_vars *vars,
		       const struct bld_vars *build_args)
{
	cleanup_strv char **env = NULL;
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < vars->n; i++) {
		const struct bld_var *v = &vars->v[i];

		if (v->env)
			ret = push_env(&env, v->name, v->value ? v->value : "");
		else if (v->value && !find_var(vars, v->name, true))
			ret = push_env(&env, v->name, v->value);
	}
	for (i = 0; !ret && build_args && i < build_args->n; i++) {
		const struct bld_var *v = &build_args->v[i];

		if (v->value && bld_arg_predefined(v->name) &&
		    !find_var(vars, v->name, true) &&
		    !find_var(vars, v->name, false))
			ret = push_env(&env, v->name, v->value);
	}
	if (ret) {
		errno = ENOMEM;
		return NULL;
	}
	if (!env) {
		env = calloc(1, sizeof(*env));
		if (!env)
			return NULL;
	}
	return steal_ptr(&env);
}

/* ---- copying instructions ------------------------------------------------ */

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static struct bld_instr *instr_dup(const struct bld_instr *in)
{
	struct bld_instr *x = calloc(1, sizeof(*x));
	bool oom = false;
	size_t i;

	if (!x)
		return NULL;
	*x = *in;
	x->original = NULL;
	x->flags = NULL;
	x->args = NULL;
	x->kvs = NULL;
	x->heredocs = NULL;
	x->trigger = NULL;
	x->n_flags = x->n_args = x->n_kvs = x->n_heredocs = 0;
	x->original = dup_or_null(in->original, &oom);
	x->flags = in->n_flags ? calloc(in->n_flags, sizeof(*x->flags)) : NULL;
	x->kvs = in->n_kvs ? calloc(in->n_kvs, sizeof(*x->kvs)) : NULL;
	x->heredocs = in->n_heredocs
			      ? calloc(in->n_heredocs, sizeof(*x->heredocs))
			      : NULL;
	if (in->args) {
		x->args = cmn_strv_dup(in->args);
		oom |= !x->args;
		x->n_args = oom ? 0 : in->n_args;
	}
	oom |= (in->n_flags && !x->flags) || (in->n_kvs && !x->kvs) ||
	       (in->n_heredocs && !x->heredocs);
	for (i = 0; !oom && i < in->n_flags; i++, x->n_flags++) {
		x->flags[i].name = dup_or_null(in->flags[i].name, &oom);
		x->flags[i].value = dup_or_null(in->flags[i].value, &oom);
	}
	for (i = 0; !oom && i < in->n_kvs; i++, x->n_kvs++) {
		x->kvs[i].key = dup_or_null(in->kvs[i].key, &oom);
		x->kvs[i].value = dup_or_null(in->kvs[i].value, &oom);
	}
	for (i = 0; !oom && i < in->n_heredocs; i++, x->n_heredocs++) {
		x->heredocs[i] = in->heredocs[i];
		x->heredocs[i].name = dup_or_null(in->heredocs[i].name, &oom);
		x->heredocs[i].body = dup_or_null(in->heredocs[i].body, &oom);
	}
	if (!oom && in->trigger) {
		x->trigger = instr_dup(in->trigger);
		oom = !x->trigger;
	}
	if (oom) {
		bld_instr_free(x);
		errno = ENOMEM;
		return NULL;
	}
	return x;
}

/* ---- substitution of one instruction ------------------------------------- */

struct xctx {
	struct bld_scope *scope;
	const struct bld_instr *in;
	struct bld_lookup lookup;
	struct hutch_err *err;
	size_t *total; /* bytes the instruction's words came to so far */
};

static int xerr(const struct xctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int xerr(const struct xctx *x, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cmn_err_msg(x->err, EINVAL, "%s:%u: %s %s",
			   x->scope->filename ? x->scope->filename
					      : "Dockerfile",
			   x->in->line, bld_kind_name(x->in->kind), msg);
}

/* Replace *@word by its substitution. */
static int subst(const struct xctx *x, char **word, unsigned flags)
{
	struct hutch_err e = { 0 };
	char *out = NULL;
	int ret;

	if (!*word)
		return 0;
	ret = bld_substitute(*word, x->scope->escape ? x->scope->escape : '\\',
			     flags, &x->lookup, &out, &e);
	if (ret == -EINVAL)
		return xerr(x, "%s", e.msg);
	if (ret)
		return cmn_err_set(x->err, ENOMEM, "variable substitution");
	free(*word);
	*word = out;
	*x->total += strlen(out);
	if (*x->total > BLD_INSTR_MAX)
		return xerr(
			x,
			"substitution makes the instruction longer than %d MiB (hutch's limit for one instruction)",
			BLD_INSTR_MAX >> 20);
	return 0;
}

static int subst_flags(const struct xctx *x, struct bld_instr *out,
		       const char *const *names, unsigned flags)
{
	size_t i, j;
	int ret;

	for (i = 0; i < out->n_flags; i++) {
		for (j = 0; names[j]; j++) {
			if (strcmp(out->flags[i].name, names[j]) != 0)
				continue;
			ret = subst(x, &out->flags[i].value, flags);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static bool heredoc_arg(const struct bld_instr *in, size_t i)
{
	size_t j;

	for (j = 0; j < in->n_heredocs; j++) {
		if (in->heredocs[j].arg == (int)i)
			return true;
	}
	return false;
}

static int subst_args(const struct xctx *x, struct bld_instr *out)
{
	size_t i;
	int ret;

	for (i = 0; i < out->n_args; i++) {
		if (heredoc_arg(out, i))
			continue;
		ret = subst(x, &out->args[i], 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int subst_kvs(const struct xctx *x, struct bld_instr *out)
{
	size_t i;
	int ret;

	for (i = 0; i < out->n_kvs; i++) {
		ret = subst(x, &out->kvs[i].key, 0);
		if (!ret)
			ret = subst(x, &out->kvs[i].value, 0);
		if (ret)
			return ret;
		if (!*out->kvs[i].key)
			return xerr(
				x,
				"names can not be blank (\"%s\" substitutes to nothing)",
				x->in->kvs[i].key);
	}
	return 0;
}

static int copy_add(const struct xctx *x, struct bld_instr *out)
{
	static const char *const names[] = { "chown",	 "chmod",   "from",
					     "checksum", "exclude", NULL };
	size_t i;
	int ret = subst_flags(x, out, names, 0);

	if (!ret)
		ret = subst_args(x, out);
	for (i = 0; !ret && i < out->n_heredocs; i++) {
		if (out->heredocs[i].expand)
			ret = subst(x, &out->heredocs[i].body,
				    BLD_SUBST_KEEP_QUOTES);
	}
	return ret;
}

/* EXPOSE: each word is substituted and then split on blanks, as Docker. */
static int expose(const struct xctx *x, struct bld_instr *out)
{
	cleanup_strv char **ports = NULL;
	size_t i, n = 0;
	int ret;

	for (i = 0; i < out->n_args; i++) {
		char *p, *save = NULL, *tok;

		ret = subst(x, &out->args[i], 0);
		if (ret)
			return ret;
		for (p = out->args[i];
		     (tok = strtok_r(p, " \t\n\v\f\r", &save)); p = NULL) {
			unsigned lo, hi;
			const char *proto;
			char *dup;

			if (!bld_expose_parse(tok, &lo, &hi, &proto))
				return xerr(
					x,
					"invalid port \"%s\"; write PORT[/tcp|/udp|/sctp] or FIRST-LAST[/PROTO]",
					tok);
			dup = strdup(tok);
			if (!dup || cmn_strv_push(&ports, dup))
				return cmn_err_set(x->err, ENOMEM, "EXPOSE");
			n++;
		}
	}
	if (!n)
		return xerr(
			x,
			"requires at least one port; \"%s\" substitutes to nothing",
			x->in->original);
	cmn_strv_free(out->args);
	out->args = steal_ptr(&ports);
	out->n_args = n;
	return 0;
}

static int one_word(const struct xctx *x, struct bld_instr *out)
{
	size_t i;
	int ret = subst_args(x, out);

	if (ret)
		return ret;
	switch (out->kind) {
	case BLD_STOPSIGNAL:
		if (bld_signal_parse(out->args[0]) < 0)
			return xerr(
				x,
				"unknown signal \"%s\"; use a name such as SIGTERM or SIGINT, or a number",
				out->args[0]);
		return 0;
	case BLD_VOLUME:
		for (i = 0; i < out->n_args; i++) {
			const char *v = out->args[i];

			while (bld_isspace(*v))
				v++;
			if (!*v)
				return xerr(
					x,
					"specified can not be an empty string (\"%s\" substitutes to nothing)",
					x->in->args[i]);
		}
		return 0;
	default:
		return 0;
	}
}

static int from(const struct xctx *x, struct bld_instr *out)
{
	static const char *const names[] = { "platform", NULL };
	int ret = subst_flags(x, out, names, 0);

	if (!ret)
		ret = subst(x, &out->args[0], 0);
	if (!ret && !*out->args[0])
		return xerr(
			x,
			"base name (%s) should not be blank; give the ARG a value or a default",
			x->in->args[0]);
	return ret;
}

/*
 * ARG, one name after the other (a default may use the names before it on
 * the same line): the build arg's value as given, else the default
 * substituted, else the global ARG's value. Names are not substituted.
 */
static int apply_arg(const struct xctx *x, struct bld_instr *out)
{
	const struct bld_scope *s = x->scope;
	size_t i;
	int ret;

	for (i = 0; i < out->n_kvs; i++) {
		struct bld_kv *kv = &out->kvs[i];
		const char *given =
			s->build_args ? bld_vars_get(s->build_args, kv->key)
				      : NULL;

		if (given) {
			free(kv->value);
			kv->value = strdup(given);
			if (!kv->value)
				return cmn_err_set(x->err, ENOMEM, "ARG");
		} else if (kv->value) {
			ret = subst(x, &kv->value, 0);
			if (ret)
				return ret;
		} else if (s->global && bld_vars_get(s->global, kv->key)) {
			kv->value = strdup(bld_vars_get(s->global, kv->key));
			if (!kv->value)
				return cmn_err_set(x->err, ENOMEM, "ARG");
		}
		if (bld_vars_set(&x->scope->vars, kv->key, kv->value, false))
			return cmn_err_set(x->err, ENOMEM, "ARG");
	}
	return 0;
}

static int apply_env(const struct xctx *x, const struct bld_instr *out)
{
	size_t i;

	for (i = 0; i < out->n_kvs; i++) {
		if (bld_vars_set(&x->scope->vars, out->kvs[i].key,
				 out->kvs[i].value, true))
			return cmn_err_set(x->err, ENOMEM, "ENV");
	}
	return 0;
}

int bld_expand(const struct bld_instr *in, struct bld_scope *scope,
	       struct bld_instr **out, struct hutch_err *err)
{
	static const char *const run_names[] = { "mount", NULL };
	size_t total = 0;
	struct xctx x = {
		.scope = scope, .in = in, .err = err, .total = &total
	};
	struct bld_instr *o;
	int ret = 0;

	*out = NULL;
	x.lookup = bld_vars_lookup(in->kind == BLD_FROM ? scope->global
							: &scope->vars);
	o = instr_dup(in);
	if (!o)
		return cmn_err_set(err, ENOMEM, "variable substitution");
	switch (in->kind) {
	case BLD_FROM:
		ret = from(&x, o);
		break;
	case BLD_ADD:
	case BLD_COPY:
		ret = copy_add(&x, o);
		break;
	case BLD_ENV:
	case BLD_LABEL:
		ret = subst_kvs(&x, o);
		if (!ret && in->kind == BLD_ENV)
			ret = apply_env(&x, o);
		break;
	case BLD_ARG:
		ret = apply_arg(&x, o);
		break;
	case BLD_EXPOSE:
		ret = expose(&x, o);
		break;
	case BLD_STOPSIGNAL:
	case BLD_USER:
	case BLD_VOLUME:
	case BLD_WORKDIR:
		ret = one_word(&x, o);
		break;
	case BLD_RUN:
		ret = subst_flags(&x, o, run_names, BLD_SUBST_KEEP_QUOTES);
		break;
	default:
		break;
	}
	if (ret) {
		bld_instr_free(o);
		return ret;
	}
	*out = o;
	return 0;
}

int bld_global_args(const struct bld_dockerfile *df,
		    const struct bld_vars *build_args, struct bld_vars *global,
		    struct hutch_err *err)
{
	struct bld_scope scope = { .filename = df->filename,
				   .escape = df->escape,
				   .build_args = build_args };
	size_t i;
	int ret = 0;

	for (i = 0; build_args && i < build_args->n; i++) {
		const struct bld_var *v = &build_args->v[i];

		if (!v->env && v->value && bld_arg_platform(v->name)) {
			ret = bld_vars_set(&scope.vars, v->name, v->value,
					   false);
			if (ret)
				goto out;
		}
	}
	for (i = 0; i < df->n_meta_args; i++) {
		struct bld_instr *x = NULL;

		ret = bld_expand(&df->meta_args[i], &scope, &x, err);
		bld_instr_free(x);
		if (ret)
			goto out;
	}
	ret = bld_vars_copy(global, &scope.vars);
	if (ret)
		cmn_err_set(err, ENOMEM, "global ARGs");
out:
	bld_vars_clear(&scope.vars);
	return ret;
}
