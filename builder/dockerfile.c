// SPDX-License-Identifier: Apache-2.0
/* dockerfile.c - the Dockerfile parser: lines, directives, continuations,
 * heredocs, stages
 *
 * Theory of operation
 *
 * The Dockerfile reference is the specification; where it is silent we do
 * what Docker's builder (BuildKit's Dockerfile frontend) does, so that a
 * Dockerfile that builds with Docker builds with hutch and means the same.
 * Parsing runs in one pass over the lines:
 *
 *  1. Parser directives. While every line so far was one, a line
 *     "# name = value" with a known name (syntax, escape, check; any case)
 *     is a directive; the first line that is anything else (a comment, an
 *     empty line, an instruction, an unknown directive) ends them. A
 *     directive may appear once.
 *  2. Logical lines. Leading whitespace is dropped; a line whose first
 *     non-blank character is '#' is a comment. A line whose last non-blank
 *     character is the escape character, not itself escaped, continues on
 *     the next line: the escape and trailing blanks are removed and the
 *     next line appended as is. Comment lines and empty lines inside a
 *     continuation are skipped (empty ones with a warning, as BuildKit).
 *  3. The instruction (dockerfile-instr.c): keyword, "--flags", then the
 *     arguments in the form the instruction takes (JSON array, shell text,
 *     words, name=value pairs), checked against the reference.
 *  4. Heredocs (dockerfile-heredoc.c). RUN, COPY and ADD in shell form
 *     (also under ONBUILD) may announce here-documents ("<<EOF",
 *     "<<-EOF", "<<'EOF'"); their bodies are the following lines up to a
 *     line holding only the delimiter, in the order announced.
 *  5. Stages. ARGs before the first FROM are global; every FROM starts a
 *     stage; anything else before the first FROM is an error.
 *
 * Variable substitution is not done here: values depend on the build
 * (--build-arg, the base image's ENV), so bld_expand() applies it one
 * instruction at a time while building. The parser does check the quoting
 * and ${...} syntax of every word that will be substituted, so that such
 * mistakes stop the build before its first step.
 *
 * Errors are one line, "FILE:LINE: what; what to do". Where Docker silently
 * does something useless (an exec form with broken JSON run through the
 * shell, an empty RUN), we refuse with a message instead.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile-internal.h"

/* ---- small strings ------------------------------------------------------- */

static int sbuf_grow(struct bld_sbuf *b, size_t more)
{
	size_t need = b->len + more + 1;
	char *p;

	if (need <= b->cap)
		return 0;
	if (need < 64)
		need = 64;
	if (need < b->cap * 2)
		need = b->cap * 2;
	p = realloc(b->p, need);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = need;
	return 0;
}

int bld_sbuf_add(struct bld_sbuf *b, const char *s, size_t n)
{
	if (sbuf_grow(b, n))
		return -ENOMEM;
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int bld_sbuf_addc(struct bld_sbuf *b, char c)
{
	return bld_sbuf_add(b, &c, 1);
}

int bld_sbuf_adds(struct bld_sbuf *b, const char *s)
{
	return bld_sbuf_add(b, s, strlen(s));
}

int bld_sbuf_addf(struct bld_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sbuf_grow(b, (size_t)n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *bld_sbuf_take(struct bld_sbuf *b)
{
	char *p;

	if (!b->p && bld_sbuf_add(b, "", 0))
		return NULL;
	p = b->p;
	*b = (struct bld_sbuf){ 0 };
	return p;
}

void bld_sbuf_free(struct bld_sbuf *b)
{
	free(b->p);
	*b = (struct bld_sbuf){ 0 };
}

int bld_perr(const struct bld_pctx *pc, unsigned line, const char *fmt, ...)
{
	char msg[sizeof(((struct hutch_err *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		return cmn_err_msg(pc->err, EINVAL, "%s:%u: %s", pc->filename,
				   line, msg);
	return cmn_err_msg(pc->err, EINVAL, "%s: %s", pc->filename, msg);
}

/* ---- the model ----------------------------------------------------------- */

static const char *const kind_names[BLD_KIND_COUNT] = {
	[BLD_ADD] = "ADD",
	[BLD_ARG] = "ARG",
	[BLD_CMD] = "CMD",
	[BLD_COPY] = "COPY",
	[BLD_ENTRYPOINT] = "ENTRYPOINT",
	[BLD_ENV] = "ENV",
	[BLD_EXPOSE] = "EXPOSE",
	[BLD_FROM] = "FROM",
	[BLD_HEALTHCHECK] = "HEALTHCHECK",
	[BLD_LABEL] = "LABEL",
	[BLD_MAINTAINER] = "MAINTAINER",
	[BLD_ONBUILD] = "ONBUILD",
	[BLD_RUN] = "RUN",
	[BLD_SHELL] = "SHELL",
	[BLD_STOPSIGNAL] = "STOPSIGNAL",
	[BLD_USER] = "USER",
	[BLD_VOLUME] = "VOLUME",
	[BLD_WORKDIR] = "WORKDIR",
};

const char *bld_kind_name(enum bld_kind kind)
{
	if ((unsigned)kind >= BLD_KIND_COUNT)
		return "?";
	return kind_names[kind];
}

void bld_instr_clear(struct bld_instr *in)
{
	size_t i;

	free(in->original);
	for (i = 0; i < in->n_flags; i++) {
		free(in->flags[i].name);
		free(in->flags[i].value);
	}
	free(in->flags);
	cmn_strv_free(in->args);
	for (i = 0; i < in->n_kvs; i++) {
		free(in->kvs[i].key);
		free(in->kvs[i].value);
	}
	free(in->kvs);
	for (i = 0; i < in->n_heredocs; i++) {
		free(in->heredocs[i].name);
		free(in->heredocs[i].body);
	}
	free(in->heredocs);
	bld_instr_free(in->trigger);
	*in = (struct bld_instr){ 0 };
}

void bld_instr_free(struct bld_instr *in)
{
	if (!in)
		return;
	bld_instr_clear(in);
	free(in);
}

void bld_dockerfile_free(struct bld_dockerfile *df)
{
	size_t i, j;

	if (!df)
		return;
	free(df->filename);
	free(df->syntax);
	free(df->check);
	for (i = 0; i < df->n_meta_args; i++)
		bld_instr_clear(&df->meta_args[i]);
	free(df->meta_args);
	for (i = 0; i < df->n_stages; i++) {
		for (j = 0; j < df->stages[i].n_instrs; j++)
			bld_instr_clear(&df->stages[i].instrs[j]);
		free(df->stages[i].instrs);
		free(df->stages[i].name);
	}
	free(df->stages);
	cmn_strv_free(df->warnings);
	free(df);
}

const char *bld_instr_flag(const struct bld_instr *in, const char *name,
			   bool *found)
{
	const char *value = NULL;
	bool seen = false;
	size_t i;

	for (i = 0; i < in->n_flags; i++) {
		if (strcmp(in->flags[i].name, name) == 0) {
			seen = true;
			value = in->flags[i].value;
		}
	}
	if (found)
		*found = seen;
	return value;
}

bool bld_instr_flag_bool(const struct bld_instr *in, const char *name)
{
	bool found;
	const char *v = bld_instr_flag(in, name, &found);

	return found && (!v || strcasecmp(v, "true") == 0);
}

char *bld_onbuild_expression(const struct bld_instr *in)
{
	const struct bld_instr *t = in->trigger;
	struct bld_sbuf b = { 0 };
	size_t i;
	int ret;

	if (in->kind != BLD_ONBUILD || !t) {
		errno = EINVAL;
		return NULL;
	}
	ret = bld_sbuf_adds(&b, t->original);
	for (i = 0; !ret && i < t->n_heredocs; i++)
		ret = bld_sbuf_addf(&b, "\n%s%s", t->heredocs[i].body,
				    t->heredocs[i].name);
	if (ret) {
		bld_sbuf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	return bld_sbuf_take(&b);
}

/* ---- lines --------------------------------------------------------------- */

struct reader {
	const char *p, *end;
	unsigned lineno; /* of the line last returned */
};

/* The next physical line: @s/@n without its line ending ("\r\n" and any
 * run of them, as Go's TrimRight), @raw/@rawn with it. */
static bool next_line(struct reader *r, const char **s, size_t *n, size_t *rawn)
{
	const char *nl;
	size_t len;

	if (r->p >= r->end)
		return false;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	len = nl ? (size_t)(nl - r->p) + 1 : (size_t)(r->end - r->p);
	*s = r->p;
	*rawn = len;
	while (len && (r->p[len - 1] == '\n' || r->p[len - 1] == '\r'))
		len--;
	*n = len;
	r->p += *rawn;
	r->lineno++;
	return true;
}

static void ltrim(const char **s, size_t *n)
{
	while (*n && bld_isspace(**s)) {
		(*s)++;
		(*n)--;
	}
}

static bool is_comment(const char *s, size_t n)
{
	ltrim(&s, &n);
	return n && *s == '#';
}

/*
 * A continuation: the last non-blank character is the escape character
 * and is not preceded by another escape character (so "\\" at the end is
 * a literal backslash). On success @n is cut before the escape.
 */
static bool continues(const char *s, size_t *n, char esc)
{
	size_t i = *n;

	while (i && (s[i - 1] == ' ' || s[i - 1] == '\t'))
		i--;
	if (!i || s[i - 1] != esc)
		return false;
	if (i >= 2 && s[i - 2] == esc)
		return false;
	*n = i - 1;
	return true;
}

/* ---- directives ---------------------------------------------------------- */

struct directives {
	bool done;
	bool seen_syntax, seen_escape, seen_check;
};

static bool dir_space(char c)
{
	/* Go's RE2 \s: no \v */
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/*
 * "# name = value" on a line already left-trimmed. Sets the directive in
 * @df, ends directive processing on anything else.
 */
static int directive(const struct bld_pctx *pc, struct directives *d,
		     struct bld_dockerfile *df, const char *s, size_t n,
		     unsigned lineno)
{
	const char *name, *val;
	size_t nlen, vlen, i = 1;
	char key[8];
	char **slot;
	bool *seen;

	if (d->done)
		return 0;
	d->done = true;
	if (!n || s[0] != '#')
		return 0;
	while (i < n && dir_space(s[i]))
		i++;
	name = s + i;
	if (i >= n || !isalpha((unsigned char)s[i]))
		return 0;
	while (i < n && isalnum((unsigned char)s[i]))
		i++;
	nlen = (size_t)(s + i - name);
	while (i < n && dir_space(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return 0;
	i++;
	while (i < n && dir_space(s[i]))
		i++;
	val = s + i;
	vlen = n - i;
	while (vlen && dir_space(val[vlen - 1]))
		vlen--;
	if (!vlen || nlen >= sizeof(key))
		return 0;
	for (i = 0; i < nlen; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[nlen] = '\0';
	if (strcmp(key, "syntax") == 0) {
		seen = &d->seen_syntax;
		slot = &df->syntax;
	} else if (strcmp(key, "check") == 0) {
		seen = &d->seen_check;
		slot = &df->check;
	} else if (strcmp(key, "escape") == 0) {
		seen = &d->seen_escape;
		slot = NULL;
	} else {
		return 0; /* an unknown directive is a comment, and ends them */
	}
	if (*seen)
		return bld_perr(
			pc, lineno,
			"only one %s parser directive can be used; remove this line",
			key);
	*seen = true;
	d->done = false;
	if (!slot) {
		if (vlen != 1 || (val[0] != '\\' && val[0] != '`'))
			return bld_perr(
				pc, lineno,
				"invalid escape directive '%.*s'; the escape character must be \\ or `",
				(int)vlen, val);
		df->escape = val[0];
		return 0;
	}
	*slot = strndup(val, vlen);
	return *slot ? 0 : -ENOMEM;
}

/* ---- heredocs ------------------------------------------------------------ */

static void chomp_tabs(char *body)
{
	char *r = body, *w = body;
	bool bol = true;

	for (; *r; r++) {
		if (bol && *r == '\t')
			continue;
		bol = *r == '\n';
		*w++ = *r;
	}
	*w = '\0';
}

/* Read the bodies of the heredocs @line announces into @owner. */
static int read_heredocs(const struct bld_pctx *pc, struct reader *r,
			 const char *line, struct bld_instr *owner,
			 unsigned start)
{
	struct bld_heredoc *docs = NULL;
	size_t n = 0, i;
	int ret = bld_heredoc_words(line, &docs, &n);

	if (ret)
		return ret;
	owner->heredocs = docs;
	owner->n_heredocs = n;
	for (i = 0; i < n; i++) {
		struct bld_heredoc *h = &docs[i];
		struct bld_sbuf body = { 0 };
		bool done = false, oom = false;
		const char *s;
		size_t len, rawn;

		while (!done && !oom && next_line(r, &s, &len, &rawn)) {
			const char *t = s;
			size_t tn = len;

			while (h->chomp && tn && *t == '\t') {
				t++;
				tn--;
			}
			if (tn == strlen(h->name) &&
			    memcmp(t, h->name, tn) == 0)
				done = true;
			else
				oom = bld_sbuf_add(&body, s, rawn) != 0;
		}
		if (oom) {
			bld_sbuf_free(&body);
			return -ENOMEM;
		}
		if (!done) {
			bld_sbuf_free(&body);
			return bld_perr(
				pc, start,
				"unterminated heredoc <<%s; end it with a line holding only %s",
				h->name, h->name);
		}
		h->body = bld_sbuf_take(&body);
		if (!h->body)
			return -ENOMEM;
		if (h->chomp)
			chomp_tabs(h->body);
	}
	return 0;
}

/* ---- building the model -------------------------------------------------- */

struct parser {
	struct bld_pctx pc;
	struct reader r;
	struct directives dirs;
	struct bld_dockerfile *df;
	unsigned last_end; /* end line of the previous instruction */
};

static int warn(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int warn(struct parser *p, unsigned line, const char *fmt, ...)
{
	struct bld_sbuf b = { 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (bld_sbuf_addf(&b, "%s:%u: %s", p->pc.filename, line, msg))
		return -ENOMEM;
	return cmn_strv_push(&p->df->warnings, bld_sbuf_take(&b));
}

/* Append to a growable array of instructions; the capacity doubles, at
 * each power of two. */
static int push_instr(struct bld_instr **arr, size_t *n, struct bld_instr *in)
{
	struct bld_instr *p = *arr;

	if (*n < 4 || !(*n & (*n - 1))) {
		p = realloc(*arr, (*n < 4 ? 4 : *n * 2) * sizeof(**arr));
		if (!p)
			return -ENOMEM;
		*arr = p;
	}
	p[*n] = *in;
	(*n)++;
	*in = (struct bld_instr){ 0 };
	return 0;
}

/* "FROM image AS name": start a stage. */
static int new_stage(struct parser *p, struct bld_instr *in)
{
	struct bld_dockerfile *df = p->df;
	struct bld_stage *st;
	char *name = NULL;
	size_t i;

	if (in->n_args == 3) {
		name = strdup(in->args[2]);
		if (!name)
			return -ENOMEM;
		for (i = 0; name[i]; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		for (i = 0; i < df->n_stages; i++) {
			if (df->stages[i].name &&
			    strcmp(df->stages[i].name, name) == 0) {
				free(name);
				return bld_perr(
					&p->pc, in->line,
					"duplicate stage name \"%s\" (first used on line %u); give each stage its own name",
					in->args[2],
					df->stages[i].instrs[0].line);
			}
		}
	}
	st = realloc(df->stages, (df->n_stages + 1) * sizeof(*st));
	if (!st) {
		free(name);
		return -ENOMEM;
	}
	df->stages = st;
	st = &df->stages[df->n_stages];
	*st = (struct bld_stage){ .index = df->n_stages, .name = name };
	df->n_stages++;
	if (push_instr(&st->instrs, &st->n_instrs, in))
		return -ENOMEM;
	st->image = st->instrs[0].args[0];
	st->platform = bld_instr_flag(&st->instrs[0], "platform", NULL);
	return 0;
}

/* Put a parsed instruction where it belongs. */
static int place(struct parser *p, struct bld_instr *in)
{
	struct bld_dockerfile *df = p->df;
	struct bld_stage *st;

	if (in->kind == BLD_FROM)
		return new_stage(p, in);
	if (!df->n_stages) {
		if (in->kind == BLD_ARG)
			return push_instr(&df->meta_args, &df->n_meta_args, in);
		return bld_perr(
			&p->pc, in->line,
			"%s before the first FROM; only ARG may come before FROM: start the build stage with FROM image",
			bld_kind_name(in->kind));
	}
	st = &df->stages[df->n_stages - 1];
	return push_instr(&st->instrs, &st->n_instrs, in);
}

/* Join continuation lines onto @line; sets *eof_cont when the file ended
 * while a continuation was pending. */
static int join_continuations(struct parser *p, struct bld_sbuf *line,
			      bool *empty_seen, bool *eof_cont)
{
	const char *s;
	size_t n, rawn;

	*empty_seen = false;
	*eof_cont = true;
	while (next_line(&p->r, &s, &n, &rawn)) {
		const char *t = s;
		size_t tn = n;

		if (is_comment(s, n))
			continue;
		ltrim(&t, &tn);
		if (!tn) {
			*empty_seen = true;
			continue;
		}
		if (!continues(s, &n, p->pc.escape)) {
			*eof_cont = false;
			return bld_sbuf_add(line, s, n);
		}
		if (bld_sbuf_add(line, s, n))
			return -ENOMEM;
	}
	return 0;
}

/* Is there nothing after the keyword? */
static bool keyword_only(const char *line)
{
	while (bld_isspace(*line))
		line++;
	while (*line && !bld_isspace(*line))
		line++;
	while (bld_isspace(*line))
		line++;
	return !*line;
}

/* One instruction starting at a first line @s/@n (already left-trimmed,
 * not a comment, not empty). */
static int instruction(struct parser *p, const char *s, size_t n)
{
	struct bld_sbuf line = { 0 };
	struct bld_instr in = { 0 };
	struct bld_instr *owner;
	unsigned start = p->r.lineno;
	bool empty_seen = false, eof_cont = false;
	int ret;

	if (continues(s, &n, p->pc.escape)) {
		ret = bld_sbuf_add(&line, s, n);
		if (!ret)
			ret = join_continuations(p, &line, &empty_seen,
						 &eof_cont);
	} else {
		ret = bld_sbuf_add(&line, s, n);
	}
	if (ret)
		goto out;
	if (eof_cont && keyword_only(line.p)) {
		ret = bld_perr(
			&p->pc, start,
			"%.*s has no arguments: the file ends in a line continuation; remove the trailing %c or finish the instruction",
			(int)strcspn(line.p, " \t"), line.p, p->pc.escape);
		goto out;
	}
	p->pc.prev_end = p->last_end;
	ret = bld_parse_line(&p->pc, line.p, start, &in);
	if (ret)
		goto out;
	owner = bld_heredoc_owner(&in);
	if (owner && strstr(line.p, "<<")) {
		ret = read_heredocs(&p->pc, &p->r, line.p, owner, start);
		if (ret)
			goto out;
	}
	in.end_line = p->r.lineno;
	if (in.trigger)
		in.trigger->end_line = in.end_line;
	ret = bld_finish_instr(&p->pc, &in);
	if (!ret && empty_seen)
		ret = warn(
			p, start,
			"empty continuation line in this %s; empty continuation lines will become errors, remove it",
			bld_kind_name(in.kind));
	if (!ret && eof_cont)
		ret = warn(
			p, start,
			"the file ends in a line continuation; remove the trailing %c",
			p->pc.escape);
	/* where a forgotten line continuation is a likely mistake */
	p->last_end = in.kind == BLD_RUN || in.kind == BLD_ENV ||
				      in.kind == BLD_LABEL ||
				      in.kind == BLD_ARG ||
				      in.kind == BLD_COPY || in.kind == BLD_ADD
			      ? in.end_line
			      : 0;
	if (!ret)
		ret = place(p, &in);
out:
	bld_instr_clear(&in);
	bld_sbuf_free(&line);
	return ret;
}

static int parse_lines(struct parser *p)
{
	const char *s;
	size_t n, rawn;
	int ret;

	while (next_line(&p->r, &s, &n, &rawn)) {
		if (p->r.lineno == 1 && n >= 3 &&
		    memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			n -= 3;
		}
		ltrim(&s, &n);
		ret = directive(&p->pc, &p->dirs, p->df, s, n, p->r.lineno);
		if (ret)
			return ret;
		p->pc.escape = p->df->escape;
		if (!n || *s == '#')
			continue;
		ret = instruction(p, s, n);
		if (ret)
			return ret;
	}
	return 0;
}

static bool known_frontend(const char *syntax)
{
	static const char *const ok[] = {
		"docker/dockerfile",
		"docker.io/docker/dockerfile",
		"docker/dockerfile-upstream",
		"docker.io/docker/dockerfile-upstream",
	};
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		n = strlen(ok[i]);
		if (strncmp(syntax, ok[i], n) == 0 &&
		    (!syntax[n] || syntax[n] == ':' || syntax[n] == '@'))
			return true;
	}
	return false;
}

int bld_dockerfile_parse(const char *text, size_t len, const char *filename,
			 struct bld_dockerfile **out, struct hutch_err *err)
{
	struct parser p = { 0 };
	const char *nul;
	int ret;

	*out = NULL;
	if (!filename)
		filename = "Dockerfile";
	p.pc = (struct bld_pctx){ .filename = filename,
				  .escape = '\\',
				  .err = err };
	nul = memchr(text, '\0', len);
	if (nul) {
		unsigned line = 1;
		const char *c;

		for (c = text; c < nul; c++)
			line += *c == '\n';
		return bld_perr(
			&p.pc, line,
			"NUL byte in the file; a Dockerfile is text, check that you gave the right file");
	}
	p.df = calloc(1, sizeof(*p.df));
	if (!p.df)
		return -ENOMEM;
	p.df->escape = '\\';
	p.df->filename = strdup(filename);
	p.r = (struct reader){ .p = text, .end = text + len };
	ret = p.df->filename ? 0 : -ENOMEM;
	if (!ret)
		ret = parse_lines(&p);
	if (!ret && !p.df->n_stages)
		ret = bld_perr(
			&p.pc, 0,
			"no FROM instruction; a Dockerfile must start with FROM (after ARGs and directives)");
	if (!ret && p.df->syntax && !known_frontend(p.df->syntax))
		ret = warn(
			&p, 1,
			"# syntax=%s names another Dockerfile frontend; hutch uses its built-in parser, which may not understand this file",
			p.df->syntax);
	if (ret) {
		if (ret == -ENOMEM)
			cmn_err_set(err, ENOMEM, "%s: cannot parse", filename);
		bld_dockerfile_free(p.df);
		return ret;
	}
	*out = p.df;
	return 0;
}

/* ---- stages -------------------------------------------------------------- */

int bld_target_resolve(const struct bld_dockerfile *df, const char *target,
		       size_t *index, struct hutch_err *err)
{
	struct bld_sbuf names = { 0 };
	size_t i;

	if (!target || !*target) {
		*index = df->n_stages - 1;
		return 0;
	}
	for (i = 0; i < df->n_stages; i++) {
		if (df->stages[i].name &&
		    strcasecmp(df->stages[i].name, target) == 0) {
			*index = i;
			return 0;
		}
	}
	for (i = 0; i < df->n_stages; i++) {
		if (df->stages[i].name &&
		    bld_sbuf_addf(&names, "%s%s", names.len ? ", " : "",
				  df->stages[i].name))
			break;
	}
	if (names.len)
		cmn_err_msg(
			err, ENOENT,
			"%s: target stage \"%s\" could not be found; the named stages are: %s",
			df->filename, target, names.p);
	else
		cmn_err_msg(
			err, ENOENT,
			"%s: target stage \"%s\" could not be found; no stage has a name: add AS %s to a FROM line",
			df->filename, target, target);
	bld_sbuf_free(&names);
	return -ENOENT;
}

int bld_stage_ref(const struct bld_dockerfile *df, size_t current,
		  const char *ref, size_t *index, struct hutch_err *err)
{
	uint64_t n;
	size_t i;

	if (cmn_parse_u64(ref, UINT32_MAX, &n)) {
		if (n < current) {
			*index = (size_t)n;
			return 0;
		}
		return cmn_err_msg(
			err, EINVAL,
			"%s: stage index %s is not a stage before this one (stage %zu); refer to an earlier stage by its name or index",
			df->filename, ref, current);
	}
	for (i = 0; i < df->n_stages; i++) {
		if (!df->stages[i].name ||
		    strcasecmp(df->stages[i].name, ref) != 0)
			continue;
		if (i < current) {
			*index = i;
			return 0;
		}
		return cmn_err_msg(
			err, EINVAL,
			"%s:%u: stage \"%s\" is used before it is defined (line %u) or by itself; move it above the stage that uses it",
			df->filename,
			df->stages[current < df->n_stages ? current
							  : df->n_stages - 1]
				.instrs[0]
				.line,
			ref, df->stages[i].instrs[0].line);
	}
	return -ENOENT;
}
