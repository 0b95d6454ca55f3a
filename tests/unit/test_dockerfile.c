// SPDX-License-Identifier: Apache-2.0
/* test_dockerfile.c - the Dockerfile parser, substitution and scoping:
 * a corpus of Dockerfiles with their expected models, plus direct tests
 *
 * tests/unit/fixtures/dockerfiles/NAME.Dockerfile is parsed as "Dockerfile"
 * and its dump (or "error: MESSAGE") compared with NAME.expected. When
 * NAME.expanded exists, every stage is also expanded as the builder will
 * (global ARGs, then each stage with an empty base environment, or the
 * scope of the stage it is built FROM), with the build args of NAME.args
 * (NAME=VALUE lines), and the result compared with NAME.expanded. Set
 * HUTCH_FIXTURE_UPDATE=1 to rewrite the expected files from the current
 * output (then review the diff).
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/builder.h"
#include "builder/dockerfile-internal.h"

/* ---- fixtures ------------------------------------------------------------ */

static char fixture_dir[PATH_MAX];

static void find_fixtures(void)
{
	const char *tests = getenv("HUTCH_TESTS");
	char exe[PATH_MAX];
	ssize_t n;

	if (tests) {
		snprintf(fixture_dir, sizeof(fixture_dir),
			 "%s/unit/fixtures/dockerfiles", tests);
		return;
	}
	/* BUILD/tests/test_dockerfile -> the tree's tests/ */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(fixture_dir, sizeof(fixture_dir),
			 "tests/unit/fixtures/dockerfiles");
		return;
	}
	exe[n] = '\0';
	snprintf(fixture_dir, sizeof(fixture_dir),
		 "%s/../../tests/unit/fixtures/dockerfiles", dirname(exe));
}

static char *read_fixture(const char *name, const char *ext, size_t *len)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s%s", fixture_dir, name, ext);
	return cmn_read_fileat(AT_FDCWD, path, 1 << 20, len);
}

static void write_fixture(const char *name, const char *ext, const char *data)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s%s", fixture_dir, name, ext);
	assert_int_equal(
		cmn_write_fileat(AT_FDCWD, path, data, strlen(data), 0644), 0);
}

static char *xprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static char *xprintf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&s, fmt, ap) >= 0);
	va_end(ap);
	return s;
}

static char *append(char *s, const char *more)
{
	char *r = xprintf("%s%s", s ? s : "", more);

	free(s);
	return r;
}

/* NAME.args: NAME=VALUE per line into @args. */
static void read_args(const char *name, struct bld_vars *args)
{
	cleanup_free char *text = read_fixture(name, ".args", NULL);
	char *line, *save = NULL;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		assert_non_null(eq);
		*eq = '\0';
		assert_int_equal(bld_vars_set(args, line, eq + 1, false), 0);
	}
}

/* Expand every stage as a builder would; the text the .expanded file has. */
static char *expand_all(const struct bld_dockerfile *df, const char *name)
{
	struct bld_vars args = { 0 }, global = { 0 };
	struct bld_vars *final = calloc(df->n_stages, sizeof(*final));
	struct hutch_err err = { 0 };
	char *out = NULL;
	size_t i, j, k;

	assert_non_null(final);
	read_args(name, &args);
	if (bld_global_args(df, &args, &global, &err)) {
		out = xprintf("error: %s\n", err.msg);
		goto done;
	}
	for (k = 0; k < global.n; k++) {
		char *l = xprintf("global \"%s\"%s%s\n", global.v[k].name,
				  global.v[k].value ? "=" : "",
				  global.v[k].value ? global.v[k].value : "");
		out = append(out, l);
		free(l);
	}
	for (i = 0; i < df->n_stages; i++) {
		struct bld_scope scope = { .filename = df->filename,
					   .escape = df->escape,
					   .build_args = &args,
					   .global = &global };
		const struct bld_stage *st = &df->stages[i];
		char **env;

		out = append(out, "stage\n");
		for (j = 0; j < st->n_instrs; j++) {
			struct bld_instr *x = NULL;
			size_t base;
			char *d;

			if (bld_expand(&st->instrs[j], &scope, &x, &err)) {
				char *l = xprintf("error: %s\n", err.msg);

				out = append(out, l);
				free(l);
				bld_vars_clear(&scope.vars);
				goto done;
			}
			if (j == 0 && bld_stage_ref(df, i, x->args[0], &base,
						    NULL) == 0) {
				assert_int_equal(bld_vars_copy(&scope.vars,
							       &final[base]),
						 0);
				out = append(out, "from-stage\n");
			}
			d = bld_instr_dump(x);
			assert_non_null(d);
			out = append(out, d);
			out = append(out, "\n");
			free(d);
			bld_instr_free(x);
		}
		env = bld_run_environ(&scope.vars, &args);
		assert_non_null(env);
		for (k = 0; env[k]; k++) {
			char *l = xprintf("env \"%s\"\n", env[k]);

			out = append(out, l);
			free(l);
		}
		cmn_strv_free(env);
		final[i] = scope.vars;
	}
done:
	for (i = 0; i < df->n_stages; i++)
		bld_vars_clear(&final[i]);
	free(final);
	bld_vars_clear(&args);
	bld_vars_clear(&global);
	return out ? out : strdup("");
}

static void compare(const char *name, const char *ext, const char *actual)
{
	cleanup_free char *expected = read_fixture(name, ext, NULL);

	if (getenv("HUTCH_FIXTURE_UPDATE")) {
		write_fixture(name, ext, actual);
		return;
	}
	if (!expected)
		fail_msg("%s%s is missing; the parser says:\n%s", name, ext,
			 actual);
	if (strcmp(expected, actual) != 0)
		fail_msg("%s%s differs\n--- expected\n%s--- actual\n%s", name,
			 ext, expected, actual);
}

static void run_fixture(void **state)
{
	const char *name = *state;
	struct bld_dockerfile *df = NULL;
	struct hutch_err err = { 0 };
	cleanup_free char *text = NULL, *dump = NULL, *expanded = NULL;
	size_t len = 0;
	char path[PATH_MAX * 2];

	text = read_fixture(name, ".Dockerfile", &len);
	assert_non_null(text);
	if (bld_dockerfile_parse(text, len, "Dockerfile", &df, &err)) {
		assert_null(df);
		assert_true(strncmp(err.msg, "Dockerfile", 10) == 0);
		dump = xprintf("error: %s\n", err.msg);
		compare(name, ".expected", dump);
		return;
	}
	dump = bld_dockerfile_dump(df);
	assert_non_null(dump);
	compare(name, ".expected", dump);
	snprintf(path, sizeof(path), "%s/%s.expanded", fixture_dir, name);
	if (access(path, F_OK) == 0) {
		expanded = expand_all(df, name);
		compare(name, ".expanded", expanded);
	}
	bld_dockerfile_free(df);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fixture names, sorted. */
static char **list_fixtures(size_t *n)
{
	DIR *d = opendir(fixture_dir);
	struct dirent *e;
	char **names = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char **nn;

		if (l <= 11 || strcmp(e->d_name + l - 11, ".Dockerfile") != 0)
			continue;
		nn = realloc(names, (*n + 1) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[(*n)++] = strndup(e->d_name, l - 11);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), by_name);
	return names;
}

/* ---- substitution -------------------------------------------------------- */

static const char *test_env(void *ctx, const char *name)
{
	static const char *const vars[][2] = {
		{ "FOO", "/bar" },	{ "EMPTY", "" },
		{ "str", "foobarbaz" }, { "sp", "a b" },
		{ "A", "x" },		{ "path", "/usr/local/bin" },
		{ "star", "a*b" },
	};
	size_t i;

	(void)ctx;
	for (i = 0; i < ARRAY_SIZE(vars); i++) {
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	}
	return NULL;
}

static void subst_is(const char *word, const char *want)
{
	struct bld_lookup env = { .get = test_env };
	struct hutch_err err = { 0 };
	char *out = NULL;
	int ret = bld_substitute(word, '\\', 0, &env, &out, &err);

	if (ret)
		fail_msg("%s: %s", word, err.msg);
	if (strcmp(out, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", word, out, want);
	free(out);
}

static void subst_fails(const char *word, const char *msg)
{
	struct bld_lookup env = { .get = test_env };
	struct hutch_err err = { 0 };
	char *out = NULL;

	assert_int_equal(bld_substitute(word, '\\', 0, &env, &out, &err),
			 -EINVAL);
	assert_null(out);
	if (!strstr(err.msg, msg))
		fail_msg("%s: \"%s\" lacks \"%s\"", word, err.msg, msg);
}

static void substitute_forms(void **state)
{
	(void)state;
	subst_is("$FOO", "/bar");
	subst_is("${FOO}", "/bar");
	subst_is("${FOO}_x", "/bar_x");
	subst_is("$FOO_x", "");
	subst_is("\\$FOO", "$FOO");
	subst_is("\\${FOO}", "${FOO}");
	subst_is("$", "$");
	subst_is("a$", "a$");
	subst_is("$%", "$%");
	subst_is("$1x", "x");
	subst_is("${UNSET:-word}", "word");
	subst_is("${EMPTY:-word}", "word");
	subst_is("${FOO:-word}", "/bar");
	subst_is("${UNSET-word}", "word");
	subst_is("${EMPTY-word}", "");
	subst_is("${UNSET:+word}", "");
	subst_is("${EMPTY:+word}", "");
	subst_is("${FOO:+word}", "word");
	subst_is("${EMPTY+word}", "word");
	subst_is("${UNSET+word}", "");
	subst_is("${FOO:?}", "/bar");
	subst_is("${UNSET:-${FOO}}", "/bar");
	subst_is("${UNSET:-${ALSO:-deep}}", "deep");
	subst_is("${FOO:+pre-${A}-post}", "pre-x-post");
	subst_is("${UNSET:-a b}", "a b");
	subst_is("${UNSET:-\"q}\"}", "q}");
	subst_is("${str#f*b}", "arbaz");
	subst_is("${str##f*b}", "az");
	subst_is("${str%b*}", "foobar");
	subst_is("${str%%b*}", "foo");
	subst_is("${str/ba/fo}", "fooforbaz");
	subst_is("${str//ba/fo}", "fooforfoz");
	subst_is("${str#nomatch}", "foobarbaz");
	subst_is("${path//\\//:}", ":usr:local:bin");
	subst_is("${star#a\\*}", "b");
	subst_is("${star#a?}", "b");
	subst_is("${str//*/X}", "X");
	subst_is("${UNSET#x}", "");
	subst_is("${str#[a-f]oo}", "barbaz");
	subst_is("${str%[!z]z}", "foobarb");
	subst_is("${str/o*a/_}", "f_z");
	subst_is("${str//[ab]/}", "foorz");
	subst_is("${str#*}", "foobarbaz");
	subst_is("${str##*}", "");
	subst_is("${str%%*a*}", "");
	subst_is("${str%*a*}", "foobarb");
	subst_is("${str#f?o}", "barbaz");
	/* quotes */
	subst_is("'$FOO'", "$FOO");
	subst_is("\"$FOO\"", "/bar");
	subst_is("\"a \\\"b\\\" \\$c \\\\ \\d\"", "a \"b\" $c \\ \\d");
	subst_is("'a\\b'", "a\\b");
	subst_is("a\\ b", "a b");
	subst_is("Rex\\ The\\ Dog", "Rex The Dog");
	subst_is("x\\", "x");
	subst_is("\"$sp\"", "a b");
	subst_is("it\"'\"s", "it's");
	/* special names */
	subst_is("$@-$*-$#-$?", "---");
}

static void substitute_errors(void **state)
{
	(void)state;
	subst_fails("${", "missing '}'");
	subst_fails("${FOO", "missing '}'");
	subst_fails("${FOO:-x", "missing '}'");
	subst_fails("${}", "bad substitution");
	subst_fails("${:x}", "bad substitution");
	subst_fails("${{x}}", "bad substitution");
	subst_fails("${FOO!}", "unsupported modifier (!)");
	subst_fails("${FOO:x}", "unsupported modifier (:x)");
	subst_fails("${FOO:#x}", "unsupported modifier (:#)");
	subst_fails("${UNSET?}", "UNSET: is not allowed to be unset");
	subst_fails("${EMPTY:?}", "EMPTY: is not allowed to be empty");
	subst_fails("${UNSET:?set it with --build-arg}",
		    "UNSET: set it with --build-arg");
	subst_fails("\"abc", "matching double-quote");
	subst_fails("'abc", "matching single-quote");
	subst_fails("${str/x", "missing '/'");
}

static void substitute_options(void **state)
{
	struct bld_lookup env = { .get = test_env };
	struct hutch_err err = { 0 };
	char *out = NULL;
	char deep[1024];
	size_t i;

	(void)state;
	/* heredoc bodies: quotes are text, $ still expands */
	assert_int_equal(bld_substitute("echo \"hello ${FOO}\" '$A'\n", '\\',
					BLD_SUBST_KEEP_QUOTES, &env, &out,
					&err),
			 0);
	assert_string_equal(out, "echo \"hello /bar\" 'x'\n");
	free(out);
	/* the backtick escape */
	assert_int_equal(
		bld_substitute("c:\\dir `$FOO", '`', 0, &env, &out, &err), 0);
	assert_string_equal(out, "c:\\dir $FOO");
	free(out);
	/* no lookup: everything is unset */
	assert_int_equal(
		bld_substitute("a${X:-b}$Y", '\\', 0, NULL, &out, &err), 0);
	assert_string_equal(out, "ab");
	free(out);
	/* nesting is bounded */
	deep[0] = '\0';
	for (i = 0; i < 100; i++)
		strcat(deep, "${a:-");
	for (i = 0; i < 100; i++)
		strcat(deep, "}");
	assert_int_equal(bld_substitute(deep, '\\', 0, &env, &out, &err),
			 -EINVAL);
	assert_non_null(strstr(err.msg, "nested too deeply"));
}

/* Every name the lookup saw, for cache keys. */
static const char *record_env(void *ctx, const char *name)
{
	char **seen = ctx;

	*seen = append(*seen, name);
	*seen = append(*seen, ",");
	return NULL;
}

static void substitute_reports_names(void **state)
{
	char *seen = NULL;
	struct bld_lookup env = { .get = record_env, .ctx = &seen };
	struct hutch_err err = { 0 };
	char *out = NULL;

	(void)state;
	assert_int_equal(
		bld_substitute("$A/${B:-$C}'$D'", '\\', 0, &env, &out, &err),
		0);
	assert_string_equal(out, "/$D");
	assert_string_equal(seen, "A,C,B,");
	free(out);
	free(seen);
}

/* ---- scoping and stages -------------------------------------------------- */

static struct bld_dockerfile *parse_ok(const char *text)
{
	struct bld_dockerfile *df = NULL;
	struct hutch_err err = { 0 };

	if (bld_dockerfile_parse(text, strlen(text), "Dockerfile", &df, &err))
		fail_msg("parse: %s", err.msg);
	return df;
}

static void vars_env_overrides_arg(void **state)
{
	struct bld_vars v = { 0 }, c = { 0 };
	char *envp[] = { "PATH=/bin", "EMPTY=", "BARE", NULL };
	char **env;

	(void)state;
	assert_int_equal(bld_vars_set(&v, "X", "arg", false), 0);
	assert_string_equal(bld_vars_get(&v, "X"), "arg");
	assert_int_equal(bld_vars_set(&v, "X", "env", true), 0);
	assert_string_equal(bld_vars_get(&v, "X"), "env");
	assert_int_equal(bld_vars_set(&v, "X", "arg2", false), 0);
	assert_string_equal(bld_vars_get(&v, "X"), "env");
	assert_int_equal(bld_vars_set(&v, "D", NULL, false), 0);
	assert_null(bld_vars_get(&v, "D"));
	assert_true(bld_vars_has(&v, "D", false));
	assert_false(bld_vars_has(&v, "D", true));
	assert_int_equal(bld_vars_add_environ(&v, envp), 0);
	assert_string_equal(bld_vars_get(&v, "EMPTY"), "");
	assert_string_equal(bld_vars_get(&v, "BARE"), "");
	assert_int_equal(bld_vars_copy(&c, &v), 0);
	assert_int_equal(c.n, v.n);
	env = bld_run_environ(&c, NULL);
	assert_non_null(env);
	assert_string_equal(env[0], "X=env");
	assert_string_equal(env[1], "PATH=/bin");
	assert_null(env[4]);
	cmn_strv_free(env);
	bld_vars_clear(&v);
	bld_vars_clear(&c);
	assert_int_equal(v.n, 0);
}

static void run_environ_proxies(void **state)
{
	struct bld_vars v = { 0 }, args = { 0 };
	char **env;

	(void)state;
	assert_true(bld_arg_predefined("https_proxy"));
	assert_false(bld_arg_predefined("HTTPS_Proxy"));
	assert_true(bld_arg_platform("TARGETARCH"));
	assert_false(bld_arg_platform("ARCH"));
	assert_int_equal(
		bld_vars_set(&args, "HTTP_PROXY", "http://p:3128", false), 0);
	assert_int_equal(bld_vars_set(&args, "SECRET", "s", false), 0);
	assert_int_equal(bld_vars_set(&v, "A", "1", false), 0);
	env = bld_run_environ(&v, &args);
	assert_string_equal(env[0], "A=1");
	assert_string_equal(env[1], "HTTP_PROXY=http://p:3128");
	assert_null(env[2]);
	cmn_strv_free(env);
	bld_vars_clear(&v);
	bld_vars_clear(&args);
}

static void targets_and_stage_refs(void **state)
{
	struct bld_dockerfile *df = parse_ok(
		"FROM a AS Base\nFROM base AS build\nCOPY --from=base x y\n"
		"FROM scratch\nCOPY --from=build /x /\nFROM b AS later\n");
	struct hutch_err err = { 0 };
	size_t i = 99;

	(void)state;
	assert_int_equal(df->n_stages, 4);
	assert_string_equal(df->stages[0].name, "base");
	assert_null(df->stages[2].name);
	assert_string_equal(df->stages[1].image, "base");
	assert_int_equal(bld_target_resolve(df, NULL, &i, &err), 0);
	assert_int_equal(i, 3);
	assert_int_equal(bld_target_resolve(df, "BUILD", &i, &err), 0);
	assert_int_equal(i, 1);
	assert_int_equal(bld_target_resolve(df, "nope", &i, &err), -ENOENT);
	assert_string_equal(
		err.msg,
		"Dockerfile: target stage \"nope\" could not be found; the named stages are: base, build, later");
	assert_int_equal(bld_stage_ref(df, 1, "base", &i, &err), 0);
	assert_int_equal(i, 0);
	assert_int_equal(bld_stage_ref(df, 2, "BUILD", &i, &err), 0);
	assert_int_equal(i, 1);
	assert_int_equal(bld_stage_ref(df, 2, "1", &i, &err), 0);
	assert_int_equal(i, 1);
	assert_int_equal(bld_stage_ref(df, 1, "debian:12", &i, &err), -ENOENT);
	assert_int_equal(bld_stage_ref(df, 1, "build", &i, &err), -EINVAL);
	assert_non_null(strstr(err.msg,
			       "stage \"build\" is used before it is defined"));
	assert_int_equal(bld_stage_ref(df, 2, "later", &i, &err), -EINVAL);
	assert_int_equal(bld_stage_ref(df, 2, "2", &i, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "stage index 2"));
	bld_dockerfile_free(df);
	df = parse_ok("FROM a\n");
	assert_int_equal(bld_target_resolve(df, "x", &i, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no stage has a name"));
	bld_dockerfile_free(df);
}

static void instruction_accessors(void **state)
{
	struct bld_dockerfile *df = parse_ok(
		"FROM a\nCOPY --link --chown=1:2 --exclude=*.md --exclude=x "
		"--from=b s d\nADD --link=false --keep-git-dir=TRUE s d\n");
	const struct bld_instr *copy = &df->stages[0].instrs[1];
	const struct bld_instr *add = &df->stages[0].instrs[2];
	bool found = false;
	char *d;

	(void)state;
	assert_true(bld_instr_flag_bool(copy, "link"));
	assert_false(bld_instr_flag_bool(add, "link"));
	assert_true(bld_instr_flag_bool(add, "keep-git-dir"));
	assert_false(bld_instr_flag_bool(copy, "parents"));
	assert_string_equal(bld_instr_flag(copy, "chown", &found), "1:2");
	assert_true(found);
	assert_string_equal(bld_instr_flag(copy, "exclude", NULL), "x");
	assert_null(bld_instr_flag(copy, "link", &found));
	assert_true(found);
	assert_null(bld_instr_flag(copy, "chmod", &found));
	assert_false(found);
	assert_string_equal(bld_kind_name(BLD_HEALTHCHECK), "HEALTHCHECK");
	assert_string_equal(bld_kind_name(BLD_KIND_COUNT), "?");
	d = bld_instr_dump(add);
	assert_string_equal(
		d,
		"3 ADD --link=\"false\" --keep-git-dir=\"TRUE\" \"s\" \"d\"");
	free(d);
	assert_null(bld_onbuild_expression(add));
	assert_int_equal(errno, EINVAL);
	bld_dockerfile_free(df);
	bld_dockerfile_free(NULL);
	bld_instr_free(NULL);

	df = parse_ok("FROM a\nONBUILD   RUN <<EOF  cat\nhi\nEOF\n"
		      "onbuild COPY . /app\n");
	d = bld_onbuild_expression(&df->stages[0].instrs[1]);
	assert_string_equal(d, "RUN <<EOF  cat\nhi\nEOF");
	free(d);
	d = bld_onbuild_expression(&df->stages[0].instrs[2]);
	assert_string_equal(d, "COPY . /app");
	free(d);
	bld_dockerfile_free(df);
}

static void values(void **state)
{
	unsigned lo, hi;
	const char *proto;
	int64_t ns;

	(void)state;
	assert_true(bld_expose_parse("80", &lo, &hi, &proto));
	assert_int_equal(lo, 80);
	assert_string_equal(proto, "tcp");
	assert_true(bld_expose_parse("8000-8010/UDP", &lo, &hi, &proto));
	assert_int_equal(hi, 8010);
	assert_string_equal(proto, "udp");
	assert_true(bld_expose_parse("5000/sctp", &lo, &hi, &proto));
	assert_false(bld_expose_parse("70000", &lo, &hi, &proto));
	assert_false(bld_expose_parse("90-80", &lo, &hi, &proto));
	assert_false(bld_expose_parse("80/xtp", &lo, &hi, &proto));
	assert_false(bld_expose_parse("", &lo, &hi, &proto));
	assert_false(bld_expose_parse("-1", &lo, &hi, &proto));
	assert_int_equal(bld_signal_parse("SIGTERM"), 15);
	assert_int_equal(bld_signal_parse("term"), 15);
	assert_int_equal(bld_signal_parse("9"), 9);
	assert_int_equal(bld_signal_parse("SIGRTMIN+3"), 37);
	assert_int_equal(bld_signal_parse("RTMAX-1"), 63);
	assert_int_equal(bld_signal_parse("RTMAX"), 64);
	assert_int_equal(bld_signal_parse("0"), -1);
	assert_int_equal(bld_signal_parse("65"), -1);
	assert_int_equal(bld_signal_parse("SIGFOO"), -1);
	assert_int_equal(bld_signal_parse("RTMIN+"), -1);
	assert_int_equal(bld_signal_parse("RTMIN-1"), -1);
	assert_true(bld_parse_duration("1m30s", &ns));
	assert_int_equal(ns, 90000000000LL);
	assert_true(bld_parse_duration("1.5h", &ns));
	assert_int_equal(ns, 5400000000000LL);
	assert_true(bld_parse_duration("500ms", &ns));
	assert_int_equal(ns, 500000000);
	assert_true(bld_parse_duration("2us3ns", &ns));
	assert_int_equal(ns, 2003);
	assert_true(bld_parse_duration("0", &ns));
	assert_int_equal(ns, 0);
	assert_true(bld_parse_duration(".5s", &ns));
	assert_int_equal(ns, 500000000);
	assert_false(bld_parse_duration("10", &ns));
	assert_false(bld_parse_duration("5x", &ns));
	assert_false(bld_parse_duration("s", &ns));
	assert_false(bld_parse_duration("", &ns));
	assert_false(bld_parse_duration("5mss", &ns));
	assert_false(bld_parse_duration("99999999999h", &ns));
}

int main(void)
{
	const struct CMUnitTest direct[] = {
		cmocka_unit_test(substitute_forms),
		cmocka_unit_test(substitute_errors),
		cmocka_unit_test(substitute_options),
		cmocka_unit_test(substitute_reports_names),
		cmocka_unit_test(vars_env_overrides_arg),
		cmocka_unit_test(run_environ_proxies),
		cmocka_unit_test(targets_and_stage_refs),
		cmocka_unit_test(instruction_accessors),
		cmocka_unit_test(values),
	};
	struct CMUnitTest *tests;
	char **names;
	size_t n, i;
	int failed;

	find_fixtures();
	names = list_fixtures(&n);
	if (n < 60) {
		fprintf(stderr, "test_dockerfile: only %zu fixtures in %s\n", n,
			fixture_dir);
		return 1;
	}
	tests = calloc(n + ARRAY_SIZE(direct), sizeof(*tests));
	if (!tests)
		return 1;
	memcpy(tests, direct, sizeof(direct));
	for (i = 0; i < n; i++) {
		tests[ARRAY_SIZE(direct) + i] = (struct CMUnitTest){
			.name = names[i],
			.test_func = run_fixture,
			.initial_state = names[i],
		};
	}
	failed = _cmocka_run_group_tests("dockerfile", tests,
					 n + ARRAY_SIZE(direct), NULL, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	return failed;
}
