/* SPDX-License-Identifier: Apache-2.0 */
/* builder.h - hutch build: the Dockerfile parser, variable substitution and
 * scoping, and the .dockerignore matcher. The whole interface of builder/.
 *
 * The parser turns a Dockerfile into a model (struct bld_dockerfile): the
 * global ARGs, then an array of stages, each a FROM and its instructions.
 * Every instruction keeps its words exactly as written (quotes, $VARS and
 * all); bld_expand() gives an instruction's values after Docker's variable
 * substitution, one instruction at a time, because the values depend on
 * what ran before (ENV, ARG, the base image's environment).
 */
#ifndef HUTCH_BUILDER_H
#define HUTCH_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ---- the Dockerfile model (dockerfile.c) --------------------------------- */

enum bld_kind {
	BLD_ADD,
	BLD_ARG,
	BLD_CMD,
	BLD_COPY,
	BLD_ENTRYPOINT,
	BLD_ENV,
	BLD_EXPOSE,
	BLD_FROM,
	BLD_HEALTHCHECK,
	BLD_LABEL,
	BLD_MAINTAINER,
	BLD_ONBUILD,
	BLD_RUN,
	BLD_SHELL,
	BLD_STOPSIGNAL,
	BLD_USER,
	BLD_VOLUME,
	BLD_WORKDIR,
	BLD_KIND_COUNT
};

/**
 * struct bld_flag - one "--name[=value]" option of an instruction
 * @name:  owned, without the leading "--" ("mount", "from", "chown")
 * @value: owned; NULL when the flag was written without "=" (a boolean
 *         such as --link). Flags that may repeat (--mount, --exclude,
 *         --device) appear once per use, in order.
 */
struct bld_flag {
	char *name;
	char *value;
};

/**
 * struct bld_kv - a name and value of ENV, LABEL or ARG
 * @key:   owned, as written (may hold quotes or $VARS before bld_expand())
 * @value: owned; NULL only for an ARG declared without a default
 */
struct bld_kv {
	char *key;
	char *value;
};

/**
 * struct bld_heredoc - a here-document attached to RUN, COPY or ADD
 * @name:   owned: the delimiter after quote removal ("EOF")
 * @body:   owned: the lines between the instruction and the delimiter,
 *          each with its newline; leading tabs already stripped for "<<-"
 * @fd:     the file descriptor written before "<<" ("3<<EOF"), or -1
 * @expand: the delimiter was unquoted: for COPY and ADD bld_expand()
 *          substitutes $VARS in the body; for RUN the shell does
 * @chomp:  written "<<-"
 * @arg:    COPY/ADD: the index in args[] of the source word that names
 *          this heredoc (the file written is @name); -1 otherwise
 */
struct bld_heredoc {
	char *name;
	char *body;
	int fd;
	bool expand;
	bool chomp;
	int arg;
};

/**
 * struct bld_health - HEALTHCHECK's options, parsed
 * @none: HEALTHCHECK NONE (the rest is zero)
 * Durations are in nanoseconds; 0 means "the default" (as in Docker's
 * image config), as does @retries 0.
 */
struct bld_health {
	bool none;
	int64_t interval_ns;
	int64_t timeout_ns;
	int64_t start_period_ns;
	int64_t start_interval_ns;
	int retries;
};

/**
 * struct bld_instr - one instruction
 * @kind:      which instruction
 * @line:      first line (1-based) of the instruction in the file
 * @end_line:  last line, continuation lines and heredoc bodies included
 * @original:  owned: the logical line as written, continuations joined,
 *             comment lines dropped; no heredoc bodies (cache keys and
 *             `history` use it)
 * @flags:     owned array of @n_flags options, in order
 * @json:      the arguments were written in the JSON (exec) form
 * @args:      owned NULL-terminated array of @n_args words:
 *             RUN CMD ENTRYPOINT SHELL HEALTHCHECK: the JSON elements, or
 *               one element holding the whole shell-form command text;
 *             COPY ADD VOLUME: the JSON elements or the whitespace-split
 *               words (for COPY/ADD the last one is the destination);
 *             FROM EXPOSE: the whitespace-split words ("img" "AS" "name");
 *             MAINTAINER USER WORKDIR STOPSIGNAL: one element, the text;
 *             ENV LABEL ARG ONBUILD: none (see @kvs, @trigger)
 * @kvs:       owned array of @n_kvs pairs: ENV, LABEL, ARG
 * @heredocs:  owned array of @n_heredocs here-documents, in order
 * @health:    HEALTHCHECK only
 * @trigger:   ONBUILD only: owned, the wrapped instruction (its @line is
 *             the ONBUILD's); never FROM, MAINTAINER or ONBUILD
 */
struct bld_instr {
	enum bld_kind kind;
	unsigned line;
	unsigned end_line;
	char *original;
	struct bld_flag *flags;
	size_t n_flags;
	bool json;
	char **args;
	size_t n_args;
	struct bld_kv *kvs;
	size_t n_kvs;
	struct bld_heredoc *heredocs;
	size_t n_heredocs;
	struct bld_health health;
	struct bld_instr *trigger;
};

/**
 * struct bld_stage - FROM and what follows it up to the next FROM
 * @index:    position among the stages, from 0 ("COPY --from=0")
 * @name:     owned, lowercased "AS" name, or NULL for an unnamed stage
 * @image:    borrowed from @instrs[0]: the base image as written (may hold
 *            $ARGs; expand it with bld_expand() on @instrs[0])
 * @platform: borrowed from @instrs[0]: --platform as written, or NULL
 * @instrs:   owned array of @n_instrs instructions; @instrs[0] is the FROM
 */
struct bld_stage {
	size_t index;
	char *name;
	const char *image;
	const char *platform;
	struct bld_instr *instrs;
	size_t n_instrs;
};

/**
 * struct bld_dockerfile - a parsed Dockerfile
 * @filename:  owned copy of the name given to the parser (for messages)
 * @escape:    the escape character: '\\' or '`' ("# escape=" directive)
 * @syntax:    owned value of "# syntax=", or NULL; hutch always uses its
 *             own parser, so this is only noted
 * @check:     owned value of "# check=", or NULL; ignored
 * @meta_args: owned array of @n_meta_args ARG instructions that come
 *             before the first FROM (usable only in FROM lines)
 * @stages:    owned array of @n_stages stages (at least one)
 * @warnings:  owned NULL-terminated array of one-line warnings (empty
 *             continuation lines, an unknown "# syntax=" frontend), each
 *             starting "FILE:LINE: "; NULL when there are none
 *
 * Free with bld_dockerfile_free(). Nothing in it points into the text
 * that was parsed.
 */
struct bld_dockerfile {
	char *filename;
	char escape;
	char *syntax;
	char *check;
	struct bld_instr *meta_args;
	size_t n_meta_args;
	struct bld_stage *stages;
	size_t n_stages;
	char **warnings;
};

/**
 * bld_dockerfile_parse() - parse a Dockerfile
 * @text:     the file's contents (need not be NUL-terminated)
 * @len:      its length in bytes
 * @filename: the name used in messages ("Dockerfile", "ci/Dockerfile")
 * @out:      set to the model, owned by the caller, on success
 * @err:      on failure, one line "FILE:LINE: what is wrong; what to do"
 *
 * Checks everything that does not depend on build-time values: syntax,
 * flags, argument counts, JSON, heredocs, stage names, quoting and ${...}
 * syntax in the words that will be substituted.
 *
 * Return: 0, -EINVAL for a bad Dockerfile, -ENOMEM.
 */
int bld_dockerfile_parse(const char *text, size_t len, const char *filename,
			 struct bld_dockerfile **out, struct hutch_err *err);

/** bld_dockerfile_free() - free @df and everything it owns (NULL is fine). */
void bld_dockerfile_free(struct bld_dockerfile *df);

/** bld_instr_free() - free an instruction made by bld_expand(). */
void bld_instr_free(struct bld_instr *in);

/** bld_kind_name() - "RUN", "COPY", ... (static). */
const char *bld_kind_name(enum bld_kind kind);

/** bld_parse_duration() - a Go duration ("1m30s", "500ms", "1.5h", "0")
 * in nanoseconds, as HEALTHCHECK and run's --health-* write them; false
 * when invalid. */
bool bld_parse_duration(const char *s, int64_t *ns);

/**
 * bld_instr_flag() - the value of the last --@name given to @in
 * @found: set to whether the flag was given at all (may be NULL)
 * Return: the value (borrowed), or NULL when not given or given bare.
 */
const char *bld_instr_flag(const struct bld_instr *in, const char *name,
			   bool *found);

/** bld_instr_flag_bool() - a boolean flag: bare or "=true" is true. */
bool bld_instr_flag_bool(const struct bld_instr *in, const char *name);

/**
 * bld_onbuild_expression() - the trigger an ONBUILD stores in the image
 * config (its OnBuild list), as Docker writes it: the instruction text
 * without "ONBUILD", then each heredoc body and delimiter on the lines
 * after it ("RUN <<EOF\necho hi\nEOF").
 * Return: owned string; NULL with errno EINVAL (not an ONBUILD) or ENOMEM.
 */
char *bld_onbuild_expression(const struct bld_instr *in);

/**
 * bld_target_resolve() - the stage `--target NAME` builds
 * @target: a stage name (any case), or NULL/"" for the last stage
 * Return: 0 with *@index set, or -ENOENT with @err listing the names.
 */
int bld_target_resolve(const struct bld_dockerfile *df, const char *target,
		       size_t *index, struct hutch_err *err);

/**
 * bld_stage_ref() - what "FROM REF", "COPY --from=REF" or
 * "RUN --mount=from=REF" means inside stage @current
 * @ref:   the expanded value: a stage name, a stage index, or an image
 * @index: set to the stage when it is one
 *
 * A name matches a stage defined before @current (case-insensitively); a
 * number is a stage index and must be below @current.
 *
 * Return: 0 (a stage), -ENOENT (not a stage: an image reference), or
 * -EINVAL with @err when @ref names @current itself or a later stage, or
 * is an index out of range.
 */
int bld_stage_ref(const struct bld_dockerfile *df, size_t current,
		  const char *ref, size_t *index, struct hutch_err *err);

/**
 * bld_dockerfile_dump() - a normalised text form, one line per instruction,
 * for tests and `hutch build --debug`:
 *
 *   7 RUN --mount="type=cache,target=/c" shell "apt-get update"
 *   9-11 COPY "<<EOF" "/etc/motd"
 *     heredoc "EOF" expand "hello\n"
 *
 * Return: an owned string, or NULL with errno set.
 */
char *bld_dockerfile_dump(const struct bld_dockerfile *df);

/** bld_instr_dump() - one instruction as bld_dockerfile_dump() writes it
 * (its heredoc lines included); owned, or NULL with errno set. */
char *bld_instr_dump(const struct bld_instr *in);

/* ---- RUN --mount, build --secret and --ssh (mount.c) -------------------- */

enum bld_mount_type {
	BLD_MOUNT_BIND,
	BLD_MOUNT_CACHE,
	BLD_MOUNT_TMPFS,
	BLD_MOUNT_SECRET,
	BLD_MOUNT_SSH,
};

enum bld_sharing {
	BLD_SHARING_SHARED,
	BLD_SHARING_PRIVATE,
	BLD_SHARING_LOCKED,
};

/**
 * struct bld_mount - one RUN --mount, as BuildKit reads it
 * @target:   owned; as written (relative ones are below WORKDIR); NULL
 *            for a secret or ssh mount without one (their defaults come
 *            when the step runs)
 * @source:   owned: bind/cache: the path inside the context or @from;
 *            NULL when not given (a secret's source= becomes its @id)
 * @from:     owned: a stage or an image (bind, cache); NULL: the context
 * @id:       owned: cache (NULL: the target), secret (NULL: the target's
 *            last component), ssh ("default" when not given)
 * @env:      owned: a secret's env=NAME, or NULL
 * @read_only: ro/rw as given, else BuildKit's default: bind, secret and
 *            ssh are read-only, cache and tmpfs writable
 * @required: secret, ssh: a missing --secret/--ssh fails the step
 * @size:     tmpfs's size= in bytes, 0 when not given
 * @uid, @gid, @mode: cache, secret, ssh; -1 when not given
 */
struct bld_mount {
	enum bld_mount_type type;
	char *target;
	char *source;
	char *from;
	char *id;
	char *env;
	enum bld_sharing sharing;
	bool read_only;
	bool ro_given;
	bool required;
	uint64_t size;
	int64_t uid, gid, mode;
};

/**
 * bld_mount_parse() - read the value of one RUN --mount (variables already
 * substituted): CSV fields of KEY=VALUE, keys type, target (dst,
 * destination), source (src), from, id, sharing, mode, uid, gid, ro
 * (readonly), rw (readwrite), size, required, env
 * @m: filled on success (release with bld_mount_clear())
 * Return: 0, or -EINVAL with @err naming the bad field ("RUN
 * --mount=SPEC: unknown option "foo"; ..."), -ENOMEM.
 */
int bld_mount_parse(const char *spec, struct bld_mount *m,
		    struct hutch_err *err);
void bld_mount_clear(struct bld_mount *m);
/** bld_mount_type_name() - "bind", "cache", ... (static). */
const char *bld_mount_type_name(enum bld_mount_type t);

/**
 * struct bld_secret - one `build --secret`: where secret @id's value is
 * @path: a file to read at the step, or NULL
 * @env:  hutch's environment variable holding it, or NULL
 * All owned; exactly one of @path and @env is set.
 */
struct bld_secret {
	char *id;
	char *path;
	char *env;
};

/**
 * bld_secret_parse() - `--secret id=ID[,src=FILE|,env=VAR][,type=file|env]`
 * as buildx reads it; id=ID alone takes the variable ID when it is set,
 * else the file ID. The file must be readable and the variable set.
 * Return: 0 with @s filled (bld_secret_clear()), or -errno with @err.
 */
int bld_secret_parse(const char *spec, struct bld_secret *s,
		     struct hutch_err *err);
void bld_secret_clear(struct bld_secret *s);

/**
 * struct bld_ssh - one `build --ssh`: the agent socket @path forwarded as
 * @id (both owned)
 */
struct bld_ssh {
	char *id;
	char *path;
};

/**
 * bld_ssh_parse() - `--ssh ID` (the agent at @agent, $SSH_AUTH_SOCK) or
 * `--ssh ID=SOCKET`; the path must be a socket (a key file is refused:
 * hutch forwards agents, it does not run one).
 * Return: 0 with @s filled (bld_ssh_clear()), or -errno with @err.
 */
int bld_ssh_parse(const char *spec, const char *agent, struct bld_ssh *s,
		  struct hutch_err *err);
void bld_ssh_clear(struct bld_ssh *s);

/* ---- variable substitution (dockerfile-subst.c) ------------------------- */

/**
 * struct bld_lookup - where substitution finds variables
 * @get: returns the value of @name (borrowed, valid until the next call),
 *       or NULL when the variable is unset; it sees every name used, so a
 *       caller can record which build args an instruction depends on
 * @ctx: passed to @get
 */
struct bld_lookup {
	const char *(*get)(void *ctx, const char *name);
	void *ctx;
};

enum {
	/* Quotes are ordinary characters (heredoc bodies of COPY/ADD). */
	BLD_SUBST_KEEP_QUOTES = 1 << 0,
};

/**
 * bld_substitute() - process one word as Docker's builder does
 * @word:   the word as written
 * @escape: the Dockerfile's escape character ('\\' or '`')
 * @flags:  BLD_SUBST_*
 * @env:    the variables; NULL means none are set
 * @out:    set to the result, owned by the caller
 *
 * Removes quotes ('...' literal, "..." with $ expansion and escapes of
 * " $ and the escape character), processes the escape character outside
 * quotes, and expands $VAR, ${VAR}, ${VAR:-word}, ${VAR-word},
 * ${VAR:+word}, ${VAR+word}, ${VAR:?msg}, ${VAR?msg}, ${VAR#pat},
 * ${VAR##pat}, ${VAR%pat}, ${VAR%%pat}, ${VAR/pat/rep}, ${VAR//pat/rep};
 * words nest. $ followed by anything else is a literal "$".
 *
 * Return: 0, -EINVAL with @err ("bad substitution", "unexpected end of
 * statement while looking for matching double-quote", "VAR: message" for
 * ${VAR?message}), or -ENOMEM.
 */
int bld_substitute(const char *word, char escape, unsigned flags,
		   const struct bld_lookup *env, char **out,
		   struct hutch_err *err);

/* ---- build-time variables and scoping (dockerfile-scope.c) -------------- */

/**
 * struct bld_vars - an ordered set of variables
 * @v: owned array of @n entries; each name appears at most once per kind
 *
 * An entry is an ENV variable (@env true: from the base image's config or
 * an ENV instruction) or a build argument (an ARG instruction; @value is
 * NULL for an ARG declared without a value and not given one). Lookups
 * prefer ENV over ARG: Docker's "ENV always overrides ARG". Zero-initialise
 * an empty set; release with bld_vars_clear().
 */
struct bld_var {
	char *name;
	char *value;
	bool env;
};

struct bld_vars {
	struct bld_var *v;
	size_t n;
};

/** bld_vars_set() - add or replace (@name, kind @env); @value may be NULL
 * (declared, unset). Return: 0 or -ENOMEM. */
int bld_vars_set(struct bld_vars *vars, const char *name, const char *value,
		 bool env);
/** bld_vars_get() - the value @name substitutes to: the ENV entry if any,
 * else the ARG entry's value; NULL when unset. Borrowed. */
const char *bld_vars_get(const struct bld_vars *vars, const char *name);
/** bld_vars_has() - is there an entry of kind @env named @name (even one
 * without a value)? */
bool bld_vars_has(const struct bld_vars *vars, const char *name, bool env);
/** bld_vars_add_environ() - add "NAME=VALUE" strings (an image config's
 * Env) as ENV entries. Return: 0 or -ENOMEM. */
int bld_vars_add_environ(struct bld_vars *vars, char *const *envp);
/** bld_vars_copy() - replace @dst's contents with a copy of @src. */
int bld_vars_copy(struct bld_vars *dst, const struct bld_vars *src);
/** bld_vars_clear() - free the entries; @vars is empty afterwards. */
void bld_vars_clear(struct bld_vars *vars);
/** bld_vars_lookup() - a lookup over @vars for bld_substitute(). */
struct bld_lookup bld_vars_lookup(const struct bld_vars *vars);

/**
 * bld_run_environ() - the environment of a RUN: every ENV entry, then each
 * ARG with a value whose name no ENV has, then the predefined proxy
 * arguments (HTTP_PROXY, http_proxy, ... ALL_PROXY, all_proxy) found in
 * @build_args that are not declared; "NAME=VALUE" strings.
 * Return: an owned NULL-terminated array, or NULL with errno set.
 */
char **bld_run_environ(const struct bld_vars *vars,
		       const struct bld_vars *build_args);

/** bld_arg_predefined() - is @name one of Docker's predefined proxy ARGs? */
bool bld_arg_predefined(const char *name);

/** bld_arg_platform() - is @name an automatic platform ARG (TARGETPLATFORM,
 * TARGETOS, TARGETARCH, TARGETVARIANT, BUILDPLATFORM, BUILDOS, BUILDARCH,
 * BUILDVARIANT)? They are in the global scope without an ARG. */
bool bld_arg_platform(const char *name);

/**
 * struct bld_scope - what substitution sees while one stage is built
 * @filename:   borrowed: for messages
 * @escape:     the Dockerfile's escape character
 * @build_args: borrowed: --build-arg values (ARG entries); may be NULL.
 *              The builder also puts the automatic platform ARGs here.
 * @global:     borrowed: the global scope from bld_global_args(); FROM
 *              lines are expanded with it
 * @vars:       owned: the stage's variables so far. Start it with the base
 *              image's Env (bld_vars_add_environ()); for a stage built on
 *              an earlier stage, with a copy of that stage's @vars (ARGs
 *              are inherited that way). bld_expand() adds ARG and ENV.
 */
struct bld_scope {
	const char *filename;
	char escape;
	const struct bld_vars *build_args;
	const struct bld_vars *global;
	struct bld_vars vars;
};

/**
 * bld_global_args() - evaluate the ARGs before the first FROM
 * @build_args: --build-arg values (may be NULL)
 * @global:     filled with one ARG entry per declared name (value: the
 *              build arg, else the default expanded with the earlier global
 *              ARGs, else unset) and the automatic platform ARGs found in
 *              @build_args
 * Return: 0, -EINVAL with @err ("Dockerfile:2: ..."), -ENOMEM.
 */
int bld_global_args(const struct bld_dockerfile *df,
		    const struct bld_vars *build_args, struct bld_vars *global,
		    struct hutch_err *err);

/**
 * bld_expand() - an instruction with Docker's substitution applied
 * @in:    an instruction of the model (not modified)
 * @scope: FROM is expanded with @scope->global; every other instruction
 *         with @scope->vars, which ARG and ENV then update. ARG: the build
 *         arg, else the default substituted, else the global ARG's value,
 *         name by name; ENV: every value of the instruction is computed
 *         before any is set
 * @out:   set to a new instruction, owned (bld_instr_free())
 *
 * Substituted: ADD COPY (sources, destination, --chown --chmod --from
 * --checksum --exclude, heredoc bodies unless the delimiter was quoted),
 * ENV and LABEL (names and values), ARG (defaults), EXPOSE, FROM
 * (image, --platform), STOPSIGNAL, USER, VOLUME, WORKDIR, and RUN's
 * --mount values (quotes kept for the mount parser). Copied unchanged:
 * RUN's command, CMD, ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER, ONBUILD
 * (the shell or a later build substitutes those). Checks what needs the
 * values: EXPOSE ports, STOPSIGNAL names, empty VOLUME paths, empty FROM.
 *
 * Return: 0, -EINVAL with @err ("Dockerfile:7: ..."), -ENOMEM.
 */
int bld_expand(const struct bld_instr *in, struct bld_scope *scope,
	       struct bld_instr **out, struct hutch_err *err);

/**
 * bld_expose_parse() - "80", "80/udp", "8000-8010/tcp" (protocol any case)
 * @lo, @hi: the port range (equal for one port)
 * @proto:   set to "tcp", "udp" or "sctp" (static)
 * Return: true when @spec is valid.
 */
bool bld_expose_parse(const char *spec, unsigned *lo, unsigned *hi,
		      const char **proto);

/**
 * bld_signal_parse() - STOPSIGNAL's value: "SIGTERM", "TERM", "9",
 * "SIGRTMIN+3" (names any case). Return: the number, or -1.
 */
int bld_signal_parse(const char *s);

/* ---- .dockerignore (dockerignore.c) -------------------------------------- */

/*
 * Docker's rules (moby's patternmatcher, as the docker CLI and BuildKit
 * use it): one pattern per line; a line starting with '#' is a comment
 * (only in the first column); blank lines are skipped; surrounding
 * whitespace is trimmed; "!" makes an exception; a pattern is cleaned like
 * Go's filepath.Clean and a leading "/" dropped, so "/a/./b/" is "a/b".
 * '*' matches any run of characters but '/', '?' one character but '/',
 * "[a-z]" and "[^a-z]" one character of a class, '\' escapes the next
 * character, and "**" any number of directories ("**" alone: everything).
 * A path is excluded when the last pattern that matches it, or matches one
 * of its parent directories, is not an exception; so "!dir" re-includes
 * everything below "dir".
 *
 * The Dockerfile and .dockerignore are not special here: exclude them and
 * COPY . leaves them out, but the build still reads both (Docker sends
 * them to the builder regardless). Which file to read is the builder's
 * choice: BuildKit prefers NAME.dockerignore next to a Dockerfile called
 * NAME ("build.Dockerfile.dockerignore") to the context's .dockerignore.
 */
struct bld_ignore;

/**
 * bld_ignore_parse() - read a .dockerignore
 * @filename: for messages (".dockerignore")
 * Return: 0 with *@out set (owned; bld_ignore_free()), -EINVAL with @err
 * naming the line of a bad pattern ("[" unclosed, trailing "\", a lone
 * "!"), -ENOMEM.
 */
int bld_ignore_parse(const char *text, size_t len, const char *filename,
		     struct bld_ignore **out, struct hutch_err *err);

void bld_ignore_free(struct bld_ignore *ign);

/**
 * bld_ignore_match() - is @relpath (relative to the context, '/'-separated;
 * cleaned here: "./a//b/" is "a/b") excluded from the build context?
 * Directories and files follow the same rules.
 */
bool bld_ignore_match(const struct bld_ignore *ign, const char *relpath);

/**
 * bld_ignore_may_include_below() - may something below the directory
 * @reldir be included even though @reldir itself is excluded? True when an
 * exception pattern could match a path that starts with "@reldir/". When
 * false, a context walk can skip the whole directory: every path below it
 * is excluded too.
 */
bool bld_ignore_may_include_below(const struct bld_ignore *ign,
				  const char *reldir);

/** bld_ignore_has_exceptions() - does any pattern start with "!"? */
bool bld_ignore_has_exceptions(const struct bld_ignore *ign);

/* ---- the builder (builder.c, step_run.c, step_copy.c, context.c, cache.c) */

/**
 * struct bld_opts - `hutch build`'s options (all borrowed)
 * @context:     the build context directory
 * @dockerfile:  its path; NULL: context/Dockerfile; "-": @dockerfile_text
 * @dockerfile_text: the Dockerfile's text when read from standard input
 * @tags:        names for the result ("app", "app:1.0"), NULL-terminated
 * @build_args:  "NAME=VALUE" (or "NAME": from the environment)
 * @labels:      "KEY=VALUE" added to the image
 * @target:      the stage to build (NULL: the last)
 * @network_none: RUN steps get a network namespace of their own (else the
 *               host's network, as Docker's build does by default here)
 * @output:      where step headers and RUN output go (-1: nowhere, -q)
 * @secrets, @n_secrets: --secret values for RUN --mount=type=secret
 * @ssh, @n_ssh: --ssh agents for RUN --mount=type=ssh
 */
struct bld_opts {
	const char *context;
	const char *dockerfile;
	const char *dockerfile_text;
	char *const *tags;
	char *const *build_args;
	char *const *labels;
	const char *target;
	bool no_cache;
	bool pull; /* --pull: pull each FROM image, even one in the store */
	bool network_none;
	int output;
	const struct bld_secret *secrets;
	size_t n_secrets;
	const struct bld_ssh *ssh;
	size_t n_ssh;
};

/**
 * bld_cache_mounts_prune() - delete the directories of RUN
 * --mount=type=cache in the store at @store_root
 * ($HUTCH_ROOT/build-mounts/cache), unless a running build uses them.
 * Return: 1 when they are gone (or there were none), 0 when a build holds
 * them (nothing is deleted), -errno with @err.
 */
int bld_cache_mounts_prune(const char *store_root, struct hutch_err *err);

/**
 * bld_build() - build an image from a Dockerfile
 * @id: set to the image's id
 * Return: 0, or -errno with @err naming the step ("STEP 3/7: RUN ...
 * failed: exit status 2") or the Dockerfile line.
 */
struct img_digest;
int bld_build(const struct bld_opts *o, struct img_digest *id,
	      struct hutch_err *err);

#endif
