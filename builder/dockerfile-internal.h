/* SPDX-License-Identifier: Apache-2.0 */
/* dockerfile-internal.h - what the Dockerfile parser's files share; private
 * to build/.
 */
#ifndef HUTCH_BUILDER_DOCKERFILE_INTERNAL_H
#define HUTCH_BUILDER_DOCKERFILE_INTERNAL_H

#include <stdarg.h>

#include "builder/builder.h"

/* A growable string; zero-initialise. p is NUL-terminated once non-NULL. */
struct bld_sbuf {
	char *p;
	size_t len;
	size_t cap;
};

int bld_sbuf_add(struct bld_sbuf *b, const char *s, size_t n);
int bld_sbuf_addc(struct bld_sbuf *b, char c);
int bld_sbuf_adds(struct bld_sbuf *b, const char *s);
int bld_sbuf_addf(struct bld_sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand the string over (never NULL on success: "" for an empty buffer). */
char *bld_sbuf_take(struct bld_sbuf *b);
void bld_sbuf_free(struct bld_sbuf *b);

/* The most one substituted word (an ARG or ENV value, an argument) and all
 * of one instruction's words may grow to: values that double at each line
 * would otherwise take the machine's memory. */
#define BLD_VALUE_MAX (1 << 20)
#define BLD_INSTR_MAX (8 << 20)

/* What every parsing step needs to report an error. */
struct bld_pctx {
	const char *filename;
	char escape;
	unsigned prev_end; /* last line of the previous instruction, or 0 */
	struct hutch_err *err;
};

/* Fill pc->err with "FILE:LINE: message"; returns -EINVAL. */
int bld_perr(const struct bld_pctx *pc, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whitespace as Go's unicode.IsSpace sees ASCII. */
static inline bool bld_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* ---- dockerfile-instr.c ---- */

/*
 * bld_parse_line() - parse one logical line (continuations joined) into
 * @in: the keyword, flags and arguments, checked. Heredoc bodies are read
 * by the caller afterwards and checked with bld_finish_instr().
 */
int bld_parse_line(const struct bld_pctx *pc, const char *line, unsigned lineno,
		   struct bld_instr *in);

/* Does @in (or the instruction ONBUILD wraps) take heredocs from its line? */
struct bld_instr *bld_heredoc_owner(struct bld_instr *in);

/*
 * bld_heredoc_words() - the heredocs a line announces, in order ("<<EOF",
 * "<<-'END'", "3<<X"), with @name, @fd, @expand, @chomp set.
 */
int bld_heredoc_words(const char *line, struct bld_heredoc **out, size_t *n);

/* bld_heredoc_word() - is @word a heredoc word ("<<EOF")? If so, and @name
 * is not NULL, set it to the delimiter (owned). */
bool bld_heredoc_word(const char *word, char **name);

/* Checks that need the heredocs (COPY/ADD sources and destination) and the
 * quoting of every word bld_expand() will substitute. */
int bld_finish_instr(const struct bld_pctx *pc, struct bld_instr *in);

/* Free what @in owns, leaving it zeroed. */
void bld_instr_clear(struct bld_instr *in);

/* ---- dockerfile-subst.c ---- */

/* Like bld_substitute(), but only checks the syntax: every variable is
 * unset and ${VAR?msg} does not fail. */
int bld_substitute_check(const char *word, char escape, unsigned flags,
			 struct hutch_err *err);

#endif
