// SPDX-License-Identifier: Apache-2.0
/* dockerfile-instr.c - one Dockerfile instruction: keyword, flags and the
 * argument forms of the reference, checked
 *
 * A logical line is "KEYWORD [--flag[=value]]... ARGUMENTS". Flags are the
 * leading words that start with "--" (quotes and backslashes inside them
 * are processed; a lone "--" ends them). How ARGUMENTS are read depends on
 * the instruction, as in Docker:
 *
 *   JSON or shell text   RUN CMD ENTRYPOINT SHELL (and HEALTHCHECK's CMD)
 *   JSON or words        COPY ADD VOLUME
 *   words                FROM EXPOSE
 *   the text as is       MAINTAINER USER WORKDIR STOPSIGNAL
 *   name=value pairs     ENV LABEL (also the old "ENV name value"), ARG
 *   an instruction       ONBUILD
 *
 * "JSON" is a JSON array of strings. As Docker does, text that does not
 * parse as JSON is the other form: CMD ["unterminated and CMD ['app']
 * (single quotes) become shell commands (which fail at run time, as they
 * do with Docker), and "RUN [ -f x ] && ..." is the shell test it looks
 * like. Refusing such files was rejected: a Dockerfile that docker build
 * takes must build here. A JSON array with an element that is not a
 * string is refused, as Docker refuses it.
 */

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/dockerfile-internal.h"

/* ---- flags --------------------------------------------------------------- */

enum ftype {
	F_STRING,
	F_BOOL,
	F_STRINGS, /* may be repeated */
};

struct fspec {
	const char *name;
	enum ftype type;
};

static const struct fspec no_flags[] = { { NULL, F_STRING } };
static const struct fspec from_flags[] = {
	{ "platform", F_STRING },
	{ NULL, F_STRING },
};
static const struct fspec run_flags[] = {
	{ "mount", F_STRINGS },	  { "network", F_STRING },
	{ "security", F_STRING }, { "device", F_STRINGS },
	{ NULL, F_STRING },
};
static const struct fspec copy_flags[] = {
	{ "from", F_STRING }, { "chown", F_STRING }, { "chmod", F_STRING },
	{ "link", F_BOOL },   { "parents", F_BOOL }, { "exclude", F_STRINGS },
	{ NULL, F_STRING },
};
static const struct fspec add_flags[] = {
	{ "chown", F_STRING },	  { "chmod", F_STRING },
	{ "link", F_BOOL },	  { "keep-git-dir", F_BOOL },
	{ "checksum", F_STRING }, { "unpack", F_BOOL },
	{ "exclude", F_STRINGS }, { NULL, F_STRING },
};
static const struct fspec health_flags[] = {
	{ "interval", F_STRING },     { "timeout", F_STRING },
	{ "start-period", F_STRING }, { "start-interval", F_STRING },
	{ "retries", F_STRING },      { NULL, F_STRING },
};

/* ---- the instruction table ----------------------------------------------- */

enum aform {
	A_JSON_OR_SHELL,
	A_JSON_OR_WORDS,
	A_WORDS,
	A_TEXT,
	A_NAME_VALUE,
	A_NAMES,
	A_HEALTH,
	A_ONBUILD,
};

struct ispec {
	const char *name;
	enum aform form;
	const struct fspec *flags;
};

static const struct ispec ispecs[BLD_KIND_COUNT] = {
	[BLD_ADD] = { "ADD", A_JSON_OR_WORDS, add_flags },
	[BLD_ARG] = { "ARG", A_NAMES, no_flags },
	[BLD_CMD] = { "CMD", A_JSON_OR_SHELL, no_flags },
	[BLD_COPY] = { "COPY", A_JSON_OR_WORDS, copy_flags },
	[BLD_ENTRYPOINT] = { "ENTRYPOINT", A_JSON_OR_SHELL, no_flags },
	[BLD_ENV] = { "ENV", A_NAME_VALUE, no_flags },
	[BLD_EXPOSE] = { "EXPOSE", A_WORDS, no_flags },
	[BLD_FROM] = { "FROM", A_WORDS, from_flags },
	[BLD_HEALTHCHECK] = { "HEALTHCHECK", A_HEALTH, health_flags },
	[BLD_LABEL] = { "LABEL", A_NAME_VALUE, no_flags },
	[BLD_MAINTAINER] = { "MAINTAINER", A_TEXT, no_flags },
	[BLD_ONBUILD] = { "ONBUILD", A_ONBUILD, no_flags },
	[BLD_RUN] = { "RUN", A_JSON_OR_SHELL, run_flags },
	[BLD_SHELL] = { "SHELL", A_JSON_OR_SHELL, no_flags },
	[BLD_STOPSIGNAL] = { "STOPSIGNAL", A_TEXT, no_flags },
	[BLD_USER] = { "USER", A_TEXT, no_flags },
	[BLD_VOLUME] = { "VOLUME", A_JSON_OR_WORDS, no_flags },
	[BLD_WORKDIR] = { "WORKDIR", A_TEXT, no_flags },
};

/* Optimal string alignment distance, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[24][24];

	if (la > 22 || lb > 22)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			size_t cost = toupper((unsigned char)a[i - 1]) !=
				      toupper((unsigned char)b[j - 1]);
			size_t v = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 &&
			    toupper((unsigned char)a[i - 1]) ==
				    toupper((unsigned char)b[j - 2]) &&
			    toupper((unsigned char)a[i - 2]) ==
				    toupper((unsigned char)b[j - 1]) &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	}
	return d[la][lb];
}

/* The closest of @names to @word when close enough, else NULL. */
static const char *suggest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3, i, d, len;

	for (i = 0; i < n; i++) {
		if (!names[i])
			continue;
		d = edit_distance(word, names[i]);
		len = strlen(names[i]);
		if (d < best_d && d * 2 < (len > 2 ? len : 2)) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}

static int lookup_kind(const char *word, size_t n)
{
	int k;

	for (k = 0; k < BLD_KIND_COUNT; k++) {
		if (strlen(ispecs[k].name) == n &&
		    strncasecmp(ispecs[k].name, word, n) == 0)
			return k;
	}
	return -1;
}

static int unknown_instruction(const struct bld_pctx *pc, unsigned lineno,
			       const char *word, size_t n)
{
	const char *names[BLD_KIND_COUNT];
	char up[64];
	const char *best;
	size_t i;
	int k;

	if (n >= sizeof(up))
		n = sizeof(up) - 1;
	for (i = 0; i < n; i++)
		up[i] = (char)toupper((unsigned char)word[i]);
	up[n] = '\0';
	for (k = 0; k < BLD_KIND_COUNT; k++)
		names[k] = ispecs[k].name;
	best = suggest(up, names, BLD_KIND_COUNT);
	if (best)
		return bld_perr(pc, lineno,
				"unknown instruction: %s (did you mean %s?)",
				up, best);
	if (pc->prev_end && pc->prev_end + 1 == lineno)
		return bld_perr(
			pc, lineno,
			"unknown instruction: %s; if this line continues line %u, end that line with %c",
			up, pc->prev_end, pc->escape);
	return bld_perr(
		pc, lineno,
		"unknown instruction: %s; a line starts with an instruction (FROM, RUN, COPY, ...) or # for a comment",
		up);
}

/*
 * Split the leading "--flag" words off @rest (Docker's rules: quotes and
 * backslashes inside a flag word are processed, "--" alone ends the flags,
 * the first word not starting with "--" starts the arguments).
 */
static int extract_flags(const char *rest, char ***words, const char **args)
{
	struct bld_sbuf w = { 0 };
	size_t pos = 0, len = strlen(rest);
	char quote = 0;
	bool blank_ok = false;
	enum {
		SPACES,
		WORD,
		QUOTE
	} phase = SPACES;
	int ret = 0;

	*args = rest + len;
	for (; pos <= len && !ret; pos++) {
		char ch = pos < len ? rest[pos] : '\0';

		if (phase == SPACES) {
			if (pos == len)
				break;
			if (bld_isspace(ch))
				continue;
			if (ch != '-' || pos + 1 == len ||
			    rest[pos + 1] != '-') {
				*args = rest + pos;
				break;
			}
			phase = WORD;
		}
		if (pos == len) {
			if (!(w.len == 2 && memcmp(w.p, "--", 2) == 0) &&
			    (blank_ok || w.len))
				ret = cmn_strv_push(words, bld_sbuf_take(&w));
			break;
		}
		if (phase == WORD) {
			if (bld_isspace(ch)) {
				phase = SPACES;
				if (w.len == 2 && memcmp(w.p, "--", 2) == 0) {
					*args = rest + pos;
					break;
				}
				if (blank_ok || w.len)
					ret = cmn_strv_push(words,
							    bld_sbuf_take(&w));
				bld_sbuf_free(&w);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				continue;
			}
		} else if (ch == quote) {
			phase = WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == len) {
				if (phase == QUOTE)
					phase = WORD;
				continue;
			}
			ch = rest[++pos];
		}
		ret = bld_sbuf_addc(&w, ch);
	}
	bld_sbuf_free(&w);
	return ret;
}

static const struct fspec *find_fspec(const struct fspec *specs,
				      const char *name)
{
	for (; specs->name; specs++) {
		if (strcmp(specs->name, name) == 0)
			return specs;
	}
	return NULL;
}

static int unknown_flag(const struct bld_pctx *pc, unsigned lineno,
			enum bld_kind kind, const char *name)
{
	const struct fspec *specs = ispecs[kind].flags;
	const char *names[8] = { 0 };
	struct bld_sbuf list = { 0 };
	const char *best;
	size_t i;
	int ret;

	if (!specs->name && (ispecs[kind].form == A_JSON_OR_SHELL ||
			     ispecs[kind].form == A_JSON_OR_WORDS))
		return bld_perr(
			pc, lineno,
			"%s takes no flags, but --%s was given; put arguments that start with -- in the JSON form, as in %s [\"--%s\"]",
			ispecs[kind].name, name, ispecs[kind].name, name);
	if (!specs->name)
		return bld_perr(
			pc, lineno,
			"%s takes no flags, but --%s was given; remove it",
			ispecs[kind].name, name);
	for (i = 0; i < ARRAY_SIZE(names) && specs[i].name; i++) {
		names[i] = specs[i].name;
		if (bld_sbuf_addf(&list, "%s--%s", i ? ", " : "",
				  specs[i].name))
			return -ENOMEM;
	}
	best = suggest(name, names, i);
	if (best)
		ret = bld_perr(pc, lineno,
			       "unknown flag --%s for %s (did you mean --%s?)",
			       name, ispecs[kind].name, best);
	else
		ret = bld_perr(pc, lineno,
			       "unknown flag --%s for %s; it takes %s", name,
			       ispecs[kind].name, list.p);
	bld_sbuf_free(&list);
	return ret;
}

/* Check the flag words against the instruction's table, as Docker's
 * BFlags does, and store them. */
static int parse_flags(const struct bld_pctx *pc, unsigned lineno,
		       enum bld_kind kind, char **words, struct bld_instr *in)
{
	size_t n = cmn_strv_len(words), i, j;

	if (!n)
		return 0;
	in->flags = calloc(n, sizeof(*in->flags));
	if (!in->flags)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		char *name = words[i] + 2, *eq = strchr(name, '=');
		const struct fspec *spec;
		struct bld_flag *f = &in->flags[i];

		if (eq)
			*eq = '\0';
		spec = find_fspec(ispecs[kind].flags, name);
		if (!spec)
			return unknown_flag(pc, lineno, kind, name);
		for (j = 0; j < i && spec->type != F_STRINGS; j++) {
			if (strcmp(in->flags[j].name, name) == 0)
				return bld_perr(
					pc, lineno,
					"duplicate flag --%s; give it once",
					name);
		}
		if (spec->type == F_BOOL && eq && !eq[1])
			return bld_perr(
				pc, lineno,
				"missing a value on flag --%s=; write --%s or --%s=false",
				name, name, name);
		if (spec->type == F_BOOL && eq && strcasecmp(eq + 1, "true") &&
		    strcasecmp(eq + 1, "false"))
			return bld_perr(
				pc, lineno,
				"flag --%s takes true or false, not \"%s\"",
				name, eq + 1);
		if (spec->type != F_BOOL && !eq)
			return bld_perr(pc, lineno,
					"flag --%s needs a value: --%s=VALUE",
					name, name);
		f->name = strdup(name);
		f->value = eq ? strdup(eq + 1) : NULL;
		in->n_flags++;
		if (!f->name || (eq && !f->value))
			return -ENOMEM;
	}
	return 0;
}

/* ---- argument forms ------------------------------------------------------ */

static int push_arg(struct bld_instr *in, const char *s, size_t n)
{
	char *dup = strndup(s, n);

	if (!dup)
		return -ENOMEM;
	if (cmn_strv_push(&in->args, dup))
		return -ENOMEM;
	in->n_args++;
	return 0;
}

/* FROM, EXPOSE and the non-JSON COPY/ADD/VOLUME: split on blanks. */
static int parse_words_ws(const char *rest, struct bld_instr *in)
{
	const char *p = rest, *start;
	int ret;

	for (;;) {
		while (*p && bld_isspace(*p))
			p++;
		if (!*p)
			return 0;
		start = p;
		while (*p && !bld_isspace(*p))
			p++;
		ret = push_arg(in, start, (size_t)(p - start));
		if (ret)
			return ret;
	}
}

/*
 * Try the JSON form. Return: 1 when @rest was a JSON array of strings (now
 * in @in), 0 when it is not JSON (the caller uses the other form), or an
 * error.
 */
static int parse_json(const struct bld_pctx *pc, unsigned lineno,
		      enum bld_kind kind, const char *rest,
		      struct bld_instr *in)
{
	json_error_t jerr;
	json_t *arr, *v;
	size_t i;
	int ret = 0;

	while (bld_isspace(*rest))
		rest++;
	if (*rest != '[')
		return 0;
	arr = json_loadb(rest, strlen(rest), 0, &jerr);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return 0;
	}
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v)) {
			json_decref(arr);
			return bld_perr(
				pc, lineno,
				"%s: every element of a JSON array must be a string; quote it",
				ispecs[kind].name);
		}
	}
	json_array_foreach(arr, i, v)
	{
		ret = push_arg(in, json_string_value(v), json_string_length(v));
		if (ret)
			break;
	}
	json_decref(arr);
	in->json = true;
	return ret ? ret : 1;
}

static int parse_json_or(const struct bld_pctx *pc, unsigned lineno,
			 enum bld_kind kind, const char *rest,
			 struct bld_instr *in, bool words)
{
	int ret;

	if (!*rest)
		return 0;
	ret = parse_json(pc, lineno, kind, rest, in);
	if (ret)
		return ret < 0 ? ret : 0;
	if (words)
		return parse_words_ws(rest, in);
	return push_arg(in, rest, strlen(rest));
}

/*
 * Docker's word splitter for ENV, LABEL and ARG: words end at unquoted
 * blanks; quotes and escapes stay in the word (substitution removes them).
 */
static int parse_words(const char *rest, char esc, char ***out)
{
	struct bld_sbuf w = { 0 };
	size_t pos, len = strlen(rest);
	bool in_word = false, blank_ok = false;
	char quote = 0;
	int ret = 0;

	for (pos = 0; pos <= len && !ret; pos++) {
		char ch = rest[pos];

		if (pos == len) {
			if (in_word && (blank_ok || w.len))
				ret = cmn_strv_push(out, bld_sbuf_take(&w));
			break;
		}
		if (!in_word) {
			if (bld_isspace(ch))
				continue;
			in_word = true;
		}
		if (!quote) {
			if (bld_isspace(ch)) {
				if (blank_ok || w.len)
					ret = cmn_strv_push(out,
							    bld_sbuf_take(&w));
				bld_sbuf_free(&w);
				in_word = blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
			} else if (ch == esc) {
				if (pos + 1 == len)
					continue;
				ret = bld_sbuf_addc(&w, ch);
				ch = rest[++pos];
			}
		} else if (ch == quote) {
			quote = 0;
		} else if (ch == esc && quote != '\'') {
			if (pos + 1 == len)
				continue;
			ret = bld_sbuf_addc(&w, ch);
			ch = rest[++pos];
		}
		if (!ret)
			ret = bld_sbuf_addc(&w, ch);
	}
	bld_sbuf_free(&w);
	return ret;
}

static int push_kv(struct bld_instr *in, const char *key, size_t klen,
		   const char *value)
{
	struct bld_kv *kv = realloc(in->kvs, (in->n_kvs + 1) * sizeof(*kv));

	if (!kv)
		return -ENOMEM;
	in->kvs = kv;
	kv = &in->kvs[in->n_kvs];
	kv->key = strndup(key, klen);
	kv->value = value ? strdup(value) : NULL;
	in->n_kvs++;
	if (!kv->key || (value && !kv->value))
		return -ENOMEM;
	return 0;
}

/* ENV and LABEL: "name=value ..." or the old "name value". */
static int parse_name_value(const struct bld_pctx *pc, unsigned lineno,
			    enum bld_kind kind, const char *rest,
			    struct bld_instr *in)
{
	cleanup_strv char **words = NULL;
	const char *name = ispecs[kind].name;
	size_t i;
	int ret = parse_words(rest, pc->escape, &words);

	if (ret || !words)
		return ret;
	if (!strchr(words[0], '=')) {
		const char *p = rest, *v;

		while (*p && !bld_isspace(*p))
			p++;
		v = p;
		while (*v && bld_isspace(*v))
			v++;
		if (!*v)
			return bld_perr(pc, lineno,
					"%s %s has no value; write %s %s=VALUE",
					name, words[0], name, words[0]);
		return push_kv(in, rest, (size_t)(p - rest), v);
	}
	for (i = 0; words[i]; i++) {
		char *eq = strchr(words[i], '=');

		if (!eq)
			return bld_perr(
				pc, lineno,
				"%s: no = in \"%s\"; write name=value (quote values that hold spaces)",
				name, words[i]);
		if (eq == words[i])
			return bld_perr(
				pc, lineno,
				"%s names can not be blank; write name=value",
				name);
		ret = push_kv(in, words[i], (size_t)(eq - words[i]), eq + 1);
		if (ret)
			return ret;
	}
	return 0;
}

/* ARG: "name" or "name=default", several per line. */
static int parse_names(const struct bld_pctx *pc, unsigned lineno,
		       const char *rest, struct bld_instr *in)
{
	cleanup_strv char **words = NULL;
	size_t i;
	int ret = parse_words(rest, pc->escape, &words);

	for (i = 0; !ret && words && words[i]; i++) {
		char *eq = strchr(words[i], '=');

		if (eq == words[i])
			return bld_perr(
				pc, lineno,
				"ARG names can not be blank; write ARG name[=default]");
		ret = push_kv(in, words[i],
			      eq ? (size_t)(eq - words[i]) : strlen(words[i]),
			      eq ? eq + 1 : NULL);
	}
	return ret;
}

static int health_duration(const struct bld_pctx *pc, unsigned lineno,
			   const struct bld_instr *in, const char *name,
			   int64_t *ns)
{
	const char *v = bld_instr_flag(in, name, NULL);

	*ns = 0;
	if (!v || !*v)
		return 0;
	if (!bld_parse_duration(v, ns))
		return bld_perr(
			pc, lineno,
			"HEALTHCHECK --%s=%s is not a duration; write it like 30s, 1m30s or 500ms",
			name, v);
	/* 0 means the default, as in Docker; a negative or shorter one is
	 * refused. */
	if (*ns != 0 && *ns < 1000000)
		return bld_perr(
			pc, lineno,
			"HEALTHCHECK --%s=%s is shorter than 1ms; write 0s or leave the flag out for the default",
			name, v);
	return 0;
}

/* HEALTHCHECK NONE | HEALTHCHECK [--options] CMD command. */
static int parse_health(const struct bld_pctx *pc, unsigned lineno,
			const char *rest, struct bld_instr *in)
{
	struct bld_health *h = &in->health;
	const char *sep = rest, *cmd;
	const char *retries;
	uint64_t r;
	size_t tlen;
	int ret;

	while (*sep && !bld_isspace(*sep))
		sep++;
	tlen = (size_t)(sep - rest);
	cmd = sep;
	while (*cmd && bld_isspace(*cmd))
		cmd++;
	if (!tlen)
		return bld_perr(
			pc, lineno,
			"HEALTHCHECK requires at least one argument: CMD command, or NONE");
	if (tlen == 4 && strncasecmp(rest, "NONE", 4) == 0) {
		if (*cmd)
			return bld_perr(
				pc, lineno,
				"HEALTHCHECK NONE takes no arguments; remove \"%s\"",
				cmd);
		if (in->n_flags)
			return bld_perr(
				pc, lineno,
				"HEALTHCHECK NONE takes no options; remove --%s",
				in->flags[0].name);
		h->none = true;
		return 0;
	}
	if (tlen != 3 || strncasecmp(rest, "CMD", 3) != 0)
		return bld_perr(
			pc, lineno,
			"unknown type \"%.*s\" in HEALTHCHECK; write HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE",
			(int)tlen, rest);
	ret = parse_json_or(pc, lineno, BLD_HEALTHCHECK, cmd, in, false);
	if (ret)
		return ret;
	if (!in->n_args)
		return bld_perr(pc, lineno,
				"missing command after HEALTHCHECK CMD");
	ret = health_duration(pc, lineno, in, "interval", &h->interval_ns);
	if (!ret)
		ret = health_duration(pc, lineno, in, "timeout",
				      &h->timeout_ns);
	if (!ret)
		ret = health_duration(pc, lineno, in, "start-period",
				      &h->start_period_ns);
	if (!ret)
		ret = health_duration(pc, lineno, in, "start-interval",
				      &h->start_interval_ns);
	retries = bld_instr_flag(in, "retries", NULL);
	if (ret || !retries || !*retries)
		return ret;
	if (!cmn_parse_u64(retries, INT32_MAX, &r) || r < 1)
		return bld_perr(
			pc, lineno,
			"HEALTHCHECK --retries=%s must be a whole number of at least 1",
			retries);
	h->retries = (int)r;
	return 0;
}

/* ONBUILD INSTRUCTION: parse the trigger as an instruction of its own. */
static int parse_onbuild(const struct bld_pctx *pc, unsigned lineno,
			 const char *rest, struct bld_instr *in)
{
	const char *p = rest;
	int k;

	while (*p && !bld_isspace(*p))
		p++;
	if (p == rest)
		return bld_perr(
			pc, lineno,
			"ONBUILD requires an instruction to run later, as in ONBUILD COPY . /app");
	k = lookup_kind(rest, (size_t)(p - rest));
	if (k == BLD_ONBUILD)
		return bld_perr(
			pc, lineno,
			"chaining ONBUILD via ONBUILD ONBUILD isn't allowed");
	if (k == BLD_FROM || k == BLD_MAINTAINER)
		return bld_perr(pc, lineno,
				"%s isn't allowed as an ONBUILD trigger",
				ispecs[k].name);
	in->trigger = calloc(1, sizeof(*in->trigger));
	if (!in->trigger)
		return -ENOMEM;
	return bld_parse_line(pc, rest, lineno, in->trigger);
}

/* ---- checks per instruction ---------------------------------------------- */

static bool stage_name_valid(const char *s)
{
	if (!isalpha((unsigned char)*s))
		return false;
	for (s++; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	}
	return true;
}

static bool one_of(const char *v, const char *const *ok)
{
	for (; *ok; ok++) {
		if (strcmp(v, *ok) == 0)
			return true;
	}
	return false;
}

/* A --mount without variables is checked now, before anything is built;
 * the others once substituted, when their step runs. from= takes none
 * (BuildKit: the stages a build needs are known before it starts). */
static int check_mount(const struct bld_pctx *pc, unsigned lineno,
		       const char *spec)
{
	struct hutch_err e = { 0 };
	struct bld_mount m;

	if (strchr(spec, '$')) {
		for (const char *f = spec; f; f = strchr(f, ',')) {
			f += *f == ',';
			if (!strncasecmp(f, "from=", 5) &&
			    memchr(f, '$', strcspn(f, ",")))
				return bld_perr(
					pc, lineno,
					"RUN --mount=%s: from= does not take variables; name the stage with FROM ... AS NAME and use that name",
					spec);
		}
		return 0;
	}
	if (bld_mount_parse(spec, &m, &e) < 0)
		return bld_perr(pc, lineno, "%s", e.msg);
	bld_mount_clear(&m);
	return 0;
}

static int check_run(const struct bld_pctx *pc, unsigned lineno,
		     const struct bld_instr *in)
{
	static const char *const nets[] = { "default", "none", "host", NULL };
	static const char *const secs[] = { "sandbox", "insecure", NULL };
	const char *v;
	size_t i;

	if (!in->n_args)
		return bld_perr(
			pc, lineno,
			"RUN requires a command, as in RUN apt-get update");
	v = bld_instr_flag(in, "network", NULL);
	if (v && !one_of(v, nets))
		return bld_perr(
			pc, lineno,
			"RUN --network=%s is not supported; use default, none or host",
			v);
	v = bld_instr_flag(in, "security", NULL);
	if (v && !one_of(v, secs))
		return bld_perr(
			pc, lineno,
			"RUN --security=%s is not supported; use sandbox or insecure",
			v);
	for (i = 0; i < in->n_flags; i++) {
		if ((!strcmp(in->flags[i].name, "mount") ||
		     !strcmp(in->flags[i].name, "device")) &&
		    !*in->flags[i].value)
			return bld_perr(
				pc, lineno,
				"RUN --%s needs a value, as in --mount=type=cache,target=/root/.cache",
				in->flags[i].name);
		if (!strcmp(in->flags[i].name, "mount") &&
		    check_mount(pc, lineno, in->flags[i].value) < 0)
			return -EINVAL;
	}
	return 0;
}

static bool has_dollar(const char *s)
{
	return strchr(s, '$') != NULL;
}

static int check_from(const struct bld_pctx *pc, unsigned lineno,
		      const struct bld_instr *in)
{
	if (in->n_args == 3 && strcasecmp(in->args[1], "as") == 0) {
		if (!stage_name_valid(in->args[2]))
			return bld_perr(
				pc, lineno,
				"invalid name for build stage: \"%s\"; a name starts with a letter and holds only letters, digits, '-', '_' and '.'",
				in->args[2]);
		return 0;
	}
	if (in->n_args != 1)
		return bld_perr(
			pc, lineno,
			"FROM requires either one or three arguments; write FROM image[:tag] [AS name]");
	return 0;
}

/* VOLUME and EXPOSE: a list of paths or ports. */
static int check_list(const struct bld_pctx *pc, unsigned lineno,
		      const struct bld_instr *in)
{
	size_t i;

	if (!in->n_args)
		return bld_perr(pc, lineno, "%s requires at least one argument",
				ispecs[in->kind].name);
	for (i = 0; in->kind == BLD_VOLUME && i < in->n_args; i++) {
		const char *v = in->args[i];

		while (bld_isspace(*v))
			v++;
		if (!*v)
			return bld_perr(
				pc, lineno,
				"VOLUME specified can not be an empty string; name a path such as /data");
	}
	for (i = 0; in->kind == BLD_EXPOSE && i < in->n_args; i++) {
		unsigned lo, hi;
		const char *proto;

		if (!has_dollar(in->args[i]) &&
		    !bld_expose_parse(in->args[i], &lo, &hi, &proto))
			return bld_perr(
				pc, lineno,
				"invalid port \"%s\" in EXPOSE; write PORT[/tcp|/udp|/sctp] or FIRST-LAST[/PROTO]",
				in->args[i]);
	}
	return 0;
}

/* MAINTAINER USER WORKDIR STOPSIGNAL: one piece of text. */
static int check_text(const struct bld_pctx *pc, unsigned lineno,
		      const struct bld_instr *in)
{
	static const char *const example[BLD_KIND_COUNT] = {
		[BLD_MAINTAINER] = "MAINTAINER Jane Doe <jane@example.org>",
		[BLD_USER] = "USER app:app",
		[BLD_WORKDIR] = "WORKDIR /app",
		[BLD_STOPSIGNAL] = "STOPSIGNAL SIGTERM",
	};

	if (in->n_args != 1)
		return bld_perr(pc, lineno,
				"%s requires exactly one argument, as in %s",
				ispecs[in->kind].name, example[in->kind]);
	if (in->kind == BLD_STOPSIGNAL && !has_dollar(in->args[0]) &&
	    bld_signal_parse(in->args[0]) < 0)
		return bld_perr(
			pc, lineno,
			"STOPSIGNAL: unknown signal \"%s\"; use a name such as SIGTERM or SIGINT, or a number",
			in->args[0]);
	return 0;
}

static int check_args(const struct bld_pctx *pc, unsigned lineno,
		      enum bld_kind kind, struct bld_instr *in)
{
	const char *name = ispecs[kind].name;

	switch (kind) {
	case BLD_FROM:
		return check_from(pc, lineno, in);
	case BLD_RUN:
		return check_run(pc, lineno, in);
	case BLD_CMD:
	case BLD_ENTRYPOINT:
		if (!in->n_args && !in->json)
			return bld_perr(
				pc, lineno,
				"%s requires a command; write %s [\"executable\", \"arg\"], or %s [] to clear it",
				name, name, name);
		return 0;
	case BLD_SHELL:
		if (!in->json)
			return bld_perr(
				pc, lineno,
				"SHELL requires the arguments to be in JSON form, as in SHELL [\"/bin/bash\", \"-c\"]");
		if (!in->n_args)
			return bld_perr(
				pc, lineno,
				"SHELL requires at least one argument, as in SHELL [\"/bin/bash\", \"-c\"]");
		return 0;
	case BLD_ADD:
	case BLD_COPY:
		if (in->n_args < 2)
			return bld_perr(
				pc, lineno,
				"%s requires at least two arguments, the sources and the destination; write %s SRC... DEST",
				name, name);
		return 0;
	case BLD_VOLUME:
	case BLD_EXPOSE:
		return check_list(pc, lineno, in);
	case BLD_MAINTAINER:
	case BLD_USER:
	case BLD_WORKDIR:
	case BLD_STOPSIGNAL:
		return check_text(pc, lineno, in);
	case BLD_ENV:
	case BLD_LABEL:
	case BLD_ARG:
		if (!in->n_kvs)
			return bld_perr(
				pc, lineno,
				"%s requires at least one argument; write %s name=value",
				name, name);
		return 0;
	default:
		return 0;
	}
}

/* ---- one line ------------------------------------------------------------ */

int bld_parse_line(const struct bld_pctx *pc, const char *line, unsigned lineno,
		   struct bld_instr *in)
{
	cleanup_strv char **flagw = NULL;
	cleanup_free char *rest = NULL;
	const char *kw, *p, *args;
	size_t kwlen, n;
	int k, ret;

	in->line = in->end_line = lineno;
	in->original = strdup(line);
	if (!in->original)
		return -ENOMEM;
	for (kw = line; bld_isspace(*kw); kw++)
		;
	for (p = kw; *p && !bld_isspace(*p); p++)
		;
	kwlen = (size_t)(p - kw);
	k = lookup_kind(kw, kwlen);
	if (k < 0)
		return unknown_instruction(pc, lineno, kw, kwlen);
	in->kind = (enum bld_kind)k;
	ret = extract_flags(p, &flagw, &args);
	if (ret)
		return ret;
	while (bld_isspace(*args))
		args++;
	n = strlen(args);
	while (n && bld_isspace(args[n - 1]))
		n--;
	rest = strndup(args, n);
	if (!rest)
		return -ENOMEM;
	ret = parse_flags(pc, lineno, in->kind, flagw, in);
	if (ret)
		return ret;
	switch (ispecs[k].form) {
	case A_JSON_OR_SHELL:
		ret = parse_json_or(pc, lineno, in->kind, rest, in, false);
		break;
	case A_JSON_OR_WORDS:
		ret = parse_json_or(pc, lineno, in->kind, rest, in, true);
		break;
	case A_WORDS:
		ret = parse_words_ws(rest, in);
		break;
	case A_TEXT:
		ret = *rest ? push_arg(in, rest, strlen(rest)) : 0;
		break;
	case A_NAME_VALUE:
		ret = parse_name_value(pc, lineno, in->kind, rest, in);
		break;
	case A_NAMES:
		ret = parse_names(pc, lineno, rest, in);
		break;
	case A_HEALTH:
		return parse_health(pc, lineno, rest, in);
	case A_ONBUILD:
		return parse_onbuild(pc, lineno, rest, in);
	}
	if (ret)
		return ret;
	return check_args(pc, lineno, in->kind, in);
}

/* ---- after the heredocs -------------------------------------------------- */

static int check_word(const struct bld_pctx *pc, const struct bld_instr *in,
		      const char *what, const char *word, unsigned flags)
{
	struct hutch_err e = { 0 };
	int ret = bld_substitute_check(word, pc->escape, flags, &e);

	if (ret == -EINVAL && (in->kind == BLD_COPY || in->kind == BLD_ADD) &&
	    !strcmp(what, "argument") && !in->json)
		return bld_perr(
			pc, in->line,
			"%s %s: %s; for paths with spaces use the JSON form, as in %s [\"my file\", \"/dest/\"]",
			ispecs[in->kind].name, what, e.msg,
			ispecs[in->kind].name);
	if (ret == -EINVAL)
		return bld_perr(pc, in->line,
				"%s %s: %s; check the quotes and ${...} in it",
				ispecs[in->kind].name, what, e.msg);
	return ret;
}

static int check_flag_words(const struct bld_pctx *pc,
			    const struct bld_instr *in,
			    const char *const *names, unsigned flags)
{
	size_t i;
	int ret;

	for (i = 0; i < in->n_flags; i++) {
		if (!in->flags[i].value ||
		    !one_of(in->flags[i].name, (const char *const *)names))
			continue;
		ret = check_word(pc, in, "flag", in->flags[i].value, flags);
		if (ret)
			return ret;
	}
	return 0;
}

/* The words bld_expand() will substitute must lex. */
static int check_substitution(const struct bld_pctx *pc,
			      const struct bld_instr *in)
{
	static const char *const copy_fl[] = { "chown",	   "chmod",   "from",
					       "checksum", "exclude", NULL };
	static const char *const from_fl[] = { "platform", NULL };
	static const char *const run_fl[] = { "mount", NULL };
	size_t i;
	int ret = 0;

	switch (in->kind) {
	case BLD_ADD:
	case BLD_COPY:
		ret = check_flag_words(pc, in, copy_fl, 0);
		for (i = 0; !ret && i < in->n_heredocs; i++) {
			if (in->heredocs[i].expand)
				ret = check_word(pc, in, "heredoc",
						 in->heredocs[i].body,
						 BLD_SUBST_KEEP_QUOTES);
		}
		break;
	case BLD_FROM:
		ret = check_flag_words(pc, in, from_fl, 0);
		if (!ret)
			ret = check_word(pc, in, "image", in->args[0], 0);
		return ret;
	case BLD_RUN:
		return check_flag_words(pc, in, run_fl, BLD_SUBST_KEEP_QUOTES);
	case BLD_ENV:
	case BLD_LABEL:
	case BLD_ARG:
		for (i = 0; !ret && i < in->n_kvs; i++) {
			if (in->kind != BLD_ARG)
				ret = check_word(pc, in, "name", in->kvs[i].key,
						 0);
			if (!ret && in->kvs[i].value)
				ret = check_word(pc, in, "value",
						 in->kvs[i].value, 0);
		}
		return ret;
	case BLD_EXPOSE:
	case BLD_STOPSIGNAL:
	case BLD_USER:
	case BLD_VOLUME:
	case BLD_WORKDIR:
		break;
	default:
		return 0;
	}
	for (i = 0; !ret && i < in->n_args; i++) {
		bool doc = false;
		size_t j;

		for (j = 0; j < in->n_heredocs; j++)
			doc |= in->heredocs[j].arg == (int)i;
		if (!doc)
			ret = check_word(pc, in, "argument", in->args[i], 0);
	}
	return ret;
}

/* COPY/ADD: tie heredoc sources to their bodies; no heredoc destination. */
static int link_heredocs(const struct bld_pctx *pc, struct bld_instr *in)
{
	size_t i, j;

	if (in->json)
		return 0;
	if (bld_heredoc_word(in->args[in->n_args - 1], NULL))
		return bld_perr(
			pc, in->line,
			"%s cannot accept a heredoc as a destination; write %s <<EOF DEST",
			ispecs[in->kind].name, ispecs[in->kind].name);
	for (i = 0; i + 1 < in->n_args; i++) {
		char *name = NULL;

		if (!bld_heredoc_word(in->args[i], &name))
			continue;
		for (j = 0; j < in->n_heredocs; j++) {
			if (in->heredocs[j].arg < 0 &&
			    strcmp(in->heredocs[j].name, name) == 0) {
				in->heredocs[j].arg = (int)i;
				break;
			}
		}
		free(name);
	}
	return 0;
}

int bld_finish_instr(const struct bld_pctx *pc, struct bld_instr *in)
{
	int ret = 0;

	if (in->kind == BLD_ONBUILD)
		return in->trigger ? bld_finish_instr(pc, in->trigger) : 0;
	if (in->kind == BLD_COPY || in->kind == BLD_ADD)
		ret = link_heredocs(pc, in);
	if (!ret)
		ret = check_substitution(pc, in);
	return ret;
}
