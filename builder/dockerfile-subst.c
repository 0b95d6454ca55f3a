// SPDX-License-Identifier: Apache-2.0
/* dockerfile-subst.c - Docker's variable substitution for one word
 *
 * This is the builder's small shell lexer, not a shell: it removes quotes,
 * handles the escape character and expands $VAR and ${VAR...}; nothing is
 * executed and no word splitting happens. The rules, as Docker applies
 * them:
 *
 *   'text'     literal; no escapes inside
 *   "text"     $ expands; the escape character escapes " $ and itself
 *              and is kept before anything else
 *   E c        outside quotes the escape character E makes c literal; a
 *              trailing E is dropped
 *   $name      letters, digits and '_' (a leading digit: digits only; or
 *              one of @ * # ? - $ ! as a special name); "$" before
 *              anything else stays "$"
 *   ${name}    and the modifiers -, +, ? with or without ':' (':' also
 *              treats an empty value as unset), # ## % %% (glob pattern
 *              removal, shortest/longest), / // (replace first/all). The
 *              words after a modifier are processed the same way, so they
 *              nest; patterns keep their escapes.
 *
 * Glob patterns know '*' (any run), '?' (one character), '[...]' (a class;
 * '!' or '^' negates) and '\' escapes, which is what Docker's translation
 * to a regular expression amounts to. They are matched without
 * backtracking beyond the last '*', so no pattern makes matching slow.
 * (Go's '.' does not match a newline; our '*' and '?' do.)
 *
 * Size. A value that doubles at each line (ENV A=$A$A) reaches gigabytes
 * in thirty lines, and ${A//?/$A} squares one: no word may grow past
 * BLD_VALUE_MAX, checked as it grows, not after.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile-internal.h"

#define LEX_MAX_DEPTH 64

struct lex {
	const char *s;
	size_t pos, len;
	char esc;
	bool keep_quotes;
	bool check; /* syntax only: nothing is set, ${X?} never fails */
	const struct bld_lookup *env;
	int depth;
	bool user_msg; /* the error is ${VAR?message}: quote no word */
	char msg[256]; /* the error, if any */
};

static int peek(const struct lex *l)
{
	return l->pos < l->len ? (unsigned char)l->s[l->pos] : -1;
}

static int next(struct lex *l)
{
	return l->pos < l->len ? (unsigned char)l->s[l->pos++] : -1;
}

static int fail(struct lex *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct lex *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int too_long(struct lex *l)
{
	return fail(
		l,
		"substitution makes a value longer than %d MiB (hutch's limit for one value)",
		BLD_VALUE_MAX >> 20);
}

static const char *get(struct lex *l, const char *name)
{
	if (l->check || !l->env || !l->env->get)
		return NULL;
	return l->env->get(l->env->ctx, name);
}

static int lex_word(struct lex *l, int stop, bool raw, struct bld_sbuf *out);
static int lex_dollar(struct lex *l, struct bld_sbuf *out);

static int lex_single(struct lex *l, struct bld_sbuf *out)
{
	int c;

	next(l);
	for (;;) {
		c = next(l);
		if (c < 0)
			return fail(
				l,
				"unexpected end of statement while looking for matching single-quote");
		if (c == '\'')
			return 0;
		if (bld_sbuf_addc(out, (char)c))
			return -ENOMEM;
	}
}

static int lex_double(struct lex *l, bool raw, struct bld_sbuf *out)
{
	int c, ret;

	next(l);
	for (;;) {
		c = peek(l);
		if (c < 0)
			return fail(
				l,
				"unexpected end of statement while looking for matching double-quote");
		if (c == '"') {
			next(l);
			return 0;
		}
		if (c == '$') {
			ret = lex_dollar(l, out);
			if (ret)
				return ret;
			continue;
		}
		c = next(l);
		if (c == l->esc) {
			int p = peek(l);

			if (p < 0)
				continue;
			if (p == '"' || p == '$' || p == l->esc) {
				if (raw && bld_sbuf_addc(out, (char)c))
					return -ENOMEM;
				c = next(l);
			}
		}
		if (bld_sbuf_addc(out, (char)c))
			return -ENOMEM;
	}
}

static bool special_param(int c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' ||
	       c == '$' || c == '!' || c == '0';
}

static bool name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c >= 0x80;
}

static void lex_name(struct lex *l, char *name, size_t size)
{
	size_t n = 0;
	int c = peek(l);

	if (c >= '0' && c <= '9') {
		while ((c = peek(l)) >= '0' && c <= '9') {
			next(l);
			if (n + 1 < size)
				name[n++] = (char)c;
		}
	} else if (special_param(c)) {
		name[n++] = (char)next(l);
	} else {
		while (name_char(c = peek(l))) {
			next(l);
			if (n + 1 < size)
				name[n++] = (char)c;
		}
	}
	name[n] = '\0';
}

/* Bytes in the UTF-8 character that starts with @c (1 for stray bytes). */
static size_t char_len(unsigned char c)
{
	return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/*
 * Does the class at @p (just after '[') admit @c? Sets *@end just past
 * the ']'; a class that never closes is a literal '[' (*@end = @p).
 */
static bool class_match(const char *p, unsigned char c, const char **end)
{
	bool neg = *p == '!' || *p == '^', in = false;
	const char *q = p + neg;

	do {
		unsigned char lo = (unsigned char)*q, hi;

		if (!lo)
			break;
		if (lo == '\\' && q[1])
			lo = (unsigned char)*++q;
		hi = lo;
		if (q[1] == '-' && q[2] && q[2] != ']') {
			q += 2;
			if (*q == '\\' && q[1])
				q++;
			hi = (unsigned char)*q;
		}
		in |= lo <= c && c <= hi;
		q++;
	} while (*q != ']');
	if (*q != ']') {
		*end = p;
		return c == '[';
	}
	*end = q + 1;
	return in != neg;
}

/* Glob @pat against s[0, n): '*' takes any run, so on a mismatch only the
 * last '*' needs to take one more character. */
static bool glob_match(const char *pat, const char *s, size_t n)
{
	const char *p = pat, *star_p = NULL;
	size_t i = 0, star_i = 0;

	while (i < n || *p) {
		const char *next;

		if (*p == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (i < n && *p) {
			unsigned char c = (unsigned char)s[i];

			if (*p == '?') {
				p++;
				i += char_len(c);
				if (i > n)
					i = n;
				continue;
			}
			if (*p == '[') {
				if (class_match(p + 1, c, &next)) {
					p = next == p + 1 ? p + 1 : next;
					i++;
					continue;
				}
			} else {
				/* a literal, perhaps escaped */
				size_t plen = *p == '\\' && p[1] ? 2 : 1;

				if ((unsigned char)p[plen - 1] == c) {
					p += plen;
					i++;
					continue;
				}
			}
		}
		if (!star_p || star_i >= n)
			return false;
		p = star_p;
		i = ++star_i;
	}
	return true;
}

/* ${v#p} ${v##p} ${v%p} ${v%%p}: the value with the match removed. */
static int trim(const char *value, const char *pat, bool suffix, bool greedy,
		struct bld_sbuf *out)
{
	size_t n = strlen(value), i, k;

	for (k = 0; k <= n; k++) {
		/* prefix: shortest first unless greedy; suffix likewise */
		if (!suffix) {
			i = greedy ? n - k : k;
			if (glob_match(pat, value, i))
				return bld_sbuf_adds(out, value + i);
		} else {
			i = greedy ? k : n - k;
			if (glob_match(pat, value + i, n - i))
				return bld_sbuf_add(out, value, i);
		}
	}
	return bld_sbuf_adds(out, value);
}

/* Leftmost, then longest, match of @pat in value at or after @from. */
static bool find_match(const char *pat, const char *value, size_t from,
		       size_t *a, size_t *b)
{
	size_t n = strlen(value), s, e;
	struct bld_sbuf any = { 0 };
	bool found = false;

	/* "pat*" tells cheaply whether any match starts at s */
	if (bld_sbuf_adds(&any, pat) || bld_sbuf_addc(&any, '*'))
		return false;
	for (s = from; s <= n && !found; s++) {
		if (!glob_match(any.p, value + s, n - s))
			continue;
		for (e = n + 1; e-- > s;) {
			if (glob_match(pat, value + s, e - s)) {
				*a = s;
				*b = e;
				found = true;
				break;
			}
		}
	}
	bld_sbuf_free(&any);
	return found;
}

/* ${v/p/r} and ${v//p/r}; empty matches next to a previous match are
 * skipped, as Go's ReplaceAllString does. */
static int replace(const char *value, const char *pat, const char *rep,
		   bool all, struct bld_sbuf *out)
{
	size_t n = strlen(value), pos = 0, a, b;
	size_t last_end = (size_t)-1;

	if (!*pat)
		return bld_sbuf_adds(out, value);
	while (pos <= n && find_match(pat, value, pos, &a, &b)) {
		if (a == b && a == last_end) {
			if (a >= n)
				break;
			if (bld_sbuf_add(out, value + pos, a + 1 - pos))
				return -ENOMEM;
			pos = a + 1;
			continue;
		}
		if (bld_sbuf_add(out, value + pos, a - pos) ||
		    bld_sbuf_adds(out, rep))
			return -ENOMEM;
		if (out->len > BLD_VALUE_MAX)
			return -E2BIG;
		last_end = b;
		if (a == b) {
			if (a < n && bld_sbuf_addc(out, value[a]))
				return -ENOMEM;
			pos = a + 1;
		} else {
			pos = b;
		}
		if (!all)
			break;
	}
	if (pos < n)
		return bld_sbuf_adds(out, value + pos);
	return 0;
}

static int sub_word(struct lex *l, int stop, bool raw, struct bld_sbuf *w)
{
	int ret = lex_word(l, stop, raw, w);

	if (ret == -EINVAL && peek(l) < 0)
		return stop == '}'
			       ? fail(l, "syntax error: missing '}'")
			       : fail(l, "syntax error: missing '/' in ${}");
	return ret;
}

/* ${name/pattern/replacement} and ${name//...} */
static int lex_replace(struct lex *l, const char *name, struct bld_sbuf *out)
{
	struct bld_sbuf pat = { 0 }, rep = { 0 }, val = { 0 };
	bool all = false;
	const char *v;
	int ret;

	if (peek(l) == '/') {
		next(l);
		all = true;
	}
	ret = sub_word(l, '/', true, &pat);
	if (!ret)
		ret = sub_word(l, '}', true, &rep);
	if (!ret) {
		v = get(l, name);
		ret = bld_sbuf_adds(&val, v ? v : "");
	}
	if (!ret && !l->check)
		ret = replace(val.p, pat.p ? pat.p : "", rep.p ? rep.p : "",
			      all, out);
	if (ret == -E2BIG)
		ret = too_long(l);
	bld_sbuf_free(&pat);
	bld_sbuf_free(&rep);
	bld_sbuf_free(&val);
	return ret;
}

/* The modifiers - + ? # % after ${name (and ':' for the first three). */
static int lex_modifier(struct lex *l, const char *name, int mod, bool colon,
			struct bld_sbuf *out)
{
	struct bld_sbuf w = { 0 }, val = { 0 };
	const char *v;
	bool unset;
	int ret;

	if (colon && (mod == '#' || mod == '%'))
		return fail(l, "unsupported modifier (:%c) in substitution",
			    mod);
	ret = sub_word(l, '}', mod == '#' || mod == '%', &w);
	if (ret) {
		bld_sbuf_free(&w);
		return ret;
	}
	if (!w.p && bld_sbuf_adds(&w, ""))
		return -ENOMEM;
	v = get(l, name);
	unset = !v || (colon && !*v);
	switch (mod) {
	case '-':
		ret = bld_sbuf_adds(out, unset ? w.p : v);
		break;
	case '+':
		ret = unset ? 0 : bld_sbuf_adds(out, w.p);
		break;
	case '?':
		if (unset && !l->check) {
			ret = fail(l, "%s: %s", name,
				   *w.p ? w.p
				   : !v ? "is not allowed to be unset"
					: "is not allowed to be empty");
			l->user_msg = true;
		} else if (v)
			ret = bld_sbuf_adds(out, v);
		break;
	default: /* '#' or '%' */
		ret = bld_sbuf_adds(&val, v ? v : "");
		if (!ret && !l->check) {
			bool greedy = w.p[0] == mod;

			ret = trim(val.p, w.p + greedy, mod == '%', greedy,
				   out);
		}
		break;
	}
	bld_sbuf_free(&w);
	bld_sbuf_free(&val);
	return ret;
}

static int lex_braces(struct lex *l, struct bld_sbuf *out)
{
	char name[256];
	const char *v;
	int c;

	next(l);
	c = peek(l);
	if (c < 0)
		return fail(l, "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return fail(l, "syntax error: bad substitution");
	lex_name(l, name, sizeof(name));
	c = next(l);
	switch (c) {
	case '}':
		v = get(l, name);
		return v ? bld_sbuf_adds(out, v) : 0;
	case ':':
		c = next(l);
		if (c == '-' || c == '+' || c == '?' || c == '#' || c == '%')
			return lex_modifier(l, name, c, true, out);
		if (c < 0)
			return fail(l, "syntax error: missing '}'");
		return fail(l, "unsupported modifier (:%c) in substitution", c);
	case '-':
	case '+':
	case '?':
	case '#':
	case '%':
		return lex_modifier(l, name, c, false, out);
	case '/':
		return lex_replace(l, name, out);
	case -1:
		return fail(l, "syntax error: missing '}'");
	default:
		return fail(l, "unsupported modifier (%c) in substitution", c);
	}
}

static int lex_dollar(struct lex *l, struct bld_sbuf *out)
{
	char name[256];
	const char *v;
	int ret;

	next(l);
	if (peek(l) != '{') {
		lex_name(l, name, sizeof(name));
		if (!name[0])
			return bld_sbuf_addc(out, '$');
		v = get(l, name);
		return v ? bld_sbuf_adds(out, v) : 0;
	}
	if (++l->depth > LEX_MAX_DEPTH)
		return fail(l, "substitutions nested too deeply");
	ret = lex_braces(l, out);
	l->depth--;
	return ret;
}

/* Process up to the end or to @stop (consumed); @raw keeps escapes. */
static int lex_word(struct lex *l, int stop, bool raw, struct bld_sbuf *out)
{
	int c, ret;

	while ((c = peek(l)) >= 0) {
		if (stop >= 0 && c == stop) {
			next(l);
			return 0;
		}
		if (c == '$') {
			ret = lex_dollar(l, out);
		} else if (c == '\'' && !l->keep_quotes) {
			ret = lex_single(l, out);
		} else if (c == '"' && !l->keep_quotes) {
			ret = lex_double(l, raw, out);
		} else {
			next(l);
			if (c == l->esc) {
				if (raw && bld_sbuf_addc(out, (char)c))
					return -ENOMEM;
				c = next(l);
				if (c < 0)
					break;
			}
			ret = bld_sbuf_addc(out, (char)c);
		}
		if (ret)
			return ret;
		if (out->len > BLD_VALUE_MAX)
			return too_long(l);
	}
	if (stop >= 0)
		return fail(
			l,
			"unexpected end of statement while looking for matching %c",
			stop);
	return 0;
}

static int run_lex(struct lex *l, char **out, struct hutch_err *err)
{
	struct bld_sbuf b = { 0 };
	int ret = lex_word(l, -1, false, &b);

	if (ret == -EINVAL) {
		bld_sbuf_free(&b);
		if (l->user_msg)
			return cmn_err_msg(err, EINVAL, "%s", l->msg);
		if (l->len > 60)
			return cmn_err_msg(err, EINVAL, "%s in \"%.57s...\"",
					   l->msg, l->s);
		return cmn_err_msg(err, EINVAL, "%s in \"%s\"", l->msg, l->s);
	}
	if (ret) {
		bld_sbuf_free(&b);
		return cmn_err_set(err, ENOMEM, "variable substitution");
	}
	if (out) {
		*out = bld_sbuf_take(&b);
		if (!*out)
			return cmn_err_set(err, ENOMEM,
					   "variable substitution");
	} else {
		bld_sbuf_free(&b);
	}
	return 0;
}

int bld_substitute(const char *word, char escape, unsigned flags,
		   const struct bld_lookup *env, char **out,
		   struct hutch_err *err)
{
	struct lex l = {
		.s = word,
		.len = strlen(word),
		.esc = escape,
		.keep_quotes = flags & BLD_SUBST_KEEP_QUOTES,
		.env = env,
	};

	*out = NULL;
	return run_lex(&l, out, err);
}

int bld_substitute_check(const char *word, char escape, unsigned flags,
			 struct hutch_err *err)
{
	struct lex l = {
		.s = word,
		.len = strlen(word),
		.esc = escape,
		.keep_quotes = flags & BLD_SUBST_KEEP_QUOTES,
		.check = true,
	};

	return run_lex(&l, NULL, err);
}
