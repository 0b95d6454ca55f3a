// SPDX-License-Identifier: Apache-2.0
/* dockerignore.c - .dockerignore: which context paths a build leaves out
 *
 * Docker's semantics (the docker CLI and BuildKit use moby's
 * patternmatcher; see build.h for the user-visible rules). Docker turns
 * each pattern into a Go regular expression: '*' is [^/]*, '?' is [^/],
 * "**" is (.* /)? (without the blank) inside a pattern and .* at its end, classes and escaped
 * characters pass through. Patterns without wildcards compare whole
 * strings; "P**" is a prefix test and "**P" (P without wildcards) a suffix
 * test, which is why "**foo" also matches "barfoo". We compile the same
 * pieces into tokens and match them with a small dynamic programme over
 * the path's positions (no backtracking, so no pattern can make matching
 * slow), keeping Go's '.' that does not match a newline.
 *
 * Patterns are checked as Go's filepath.Match checks them: "[" must close,
 * a class must not be empty, '-' and ']' inside one need a '\', and a
 * pattern cannot end in '\'. Docker's regular expression quirks on odd
 * input ('*' or '?' inside a class, '^' outside one, "\d" meaning a digit)
 * are not reproduced: those characters are literal here.
 *
 * A path is excluded when the last pattern matching it or one of its
 * parents is not an exception. A directory walk asks
 * bld_ignore_may_include_below() before skipping an excluded directory:
 * only an exception that comes after the last pattern excluding the
 * directory, and that could match some "dir/..." path, can bring a path
 * below it back.
 */

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

enum mtype {
	M_EXACT,
	M_PREFIX,
	M_SUFFIX,
	M_REGEX,
};

enum ttype {
	T_LIT,	     /* one byte */
	T_STAR,	     /* [^/]* */
	T_QMARK,     /* [^/] (one character) */
	T_CLASS,     /* [...] (one character) */
	T_DSTAR_DIR, /* (.* /)? */
	T_DSTAR_END, /* .* */
};

struct range {
	uint32_t lo, hi;
};

struct token {
	enum ttype type;
	unsigned char c;
	bool neg;
	struct range *ranges; /* owned, T_CLASS */
	size_t n_ranges;
};

struct pattern {
	char *text; /* owned: cleaned, without '!' */
	bool exception;
	enum mtype type;
	struct token *t; /* owned */
	size_t n;
	unsigned line;
};

struct bld_ignore {
	struct pattern *p;
	size_t n;
	bool exceptions;
};

/* ---- UTF-8 --------------------------------------------------------------- */

/* Decode one character at s[0..n); invalid bytes count as one each. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c = s[0];

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (len == 1 || len > n) {
		*cp = 0xfffd;
		return 1;
	}
	c &= 0x3f >> (len - 1);
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* ---- cleaning ------------------------------------------------------------ */

/* Go's path.Clean: "a//b/./c/.." is "a/b"; "" is "."; owned result. */
static char *clean_path(const char *path)
{
	size_t n = strlen(path), r = 0, w = 0, dotdot = 0;
	bool rooted = n && path[0] == '/';
	char *out = malloc(n + 2);

	if (!out)
		return NULL;
	if (rooted) {
		out[w++] = '/';
		r = dotdot = 1;
	}
	while (r < n) {
		if (path[r] == '/') {
			r++;
		} else if (path[r] == '.' &&
			   (r + 1 == n || path[r + 1] == '/')) {
			r++;
		} else if (path[r] == '.' && path[r + 1] == '.' &&
			   (r + 2 == n || path[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			for (; r < n && path[r] != '/'; r++)
				out[w++] = path[r];
		}
	}
	if (!w)
		out[w++] = '.';
	out[w] = '\0';
	return out;
}

/* ---- compiling ----------------------------------------------------------- */

static int push_token(struct pattern *p, struct token t)
{
	struct token *n = realloc(p->t, (p->n + 1) * sizeof(*n));

	if (!n) {
		free(t.ranges);
		return -ENOMEM;
	}
	p->t = n;
	p->t[p->n++] = t;
	return 0;
}

/* One class member as filepath.Match reads it: a character or "\c", never
 * an unescaped '-' or ']'. Return: bytes used, or 0 when invalid. */
static size_t class_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t used = 0, len;

	if (!n || s[0] == '-' || s[0] == ']')
		return 0;
	if (s[0] == '\\') {
		s++;
		n--;
		used = 1;
		if (!n)
			return 0;
	}
	len = utf8_decode(s, n, cp);
	if (*cp == 0xfffd && len == 1 && s[0] >= 0x80)
		return 0;
	if (len == n) /* a class must still close */
		return 0;
	return used + len;
}

/* Parse "[...]" at @s (after the '['); Return: bytes used, or 0. */
static size_t parse_class(const unsigned char *s, size_t n, struct token *t)
{
	size_t pos = 0, used;
	struct range *r;

	t->type = T_CLASS;
	if (pos < n && s[pos] == '^') {
		t->neg = true;
		pos++;
	}
	for (;;) {
		uint32_t lo, hi;

		if (pos < n && s[pos] == ']' && t->n_ranges)
			return pos + 1;
		used = class_char(s + pos, n - pos, &lo);
		if (!used)
			return 0;
		pos += used;
		hi = lo;
		if (s[pos] == '-') {
			used = class_char(s + pos + 1, n - pos - 1, &hi);
			if (!used)
				return 0;
			pos += 1 + used;
		}
		r = realloc(t->ranges, (t->n_ranges + 1) * sizeof(*r));
		if (!r)
			return 0;
		t->ranges = r;
		r[t->n_ranges++] = (struct range){ lo, hi };
	}
}

/* Docker's translation, token by token; sets p->type. Return: 0, -EINVAL
 * for a bad pattern (@why says why), -ENOMEM. */
static int compile(struct pattern *p, const char **why)
{
	const unsigned char *s = (const unsigned char *)p->text;
	size_t len = strlen(p->text), pos = 0, i;
	int ret = 0;

	p->type = M_EXACT;
	for (i = 0; pos < len && !ret; i++) {
		unsigned char ch = s[pos++];
		struct token t = { .type = T_LIT };

		if (ch == '*' && s[pos] == '*') {
			pos++;
			if (s[pos] == '/')
				pos++;
			if (pos == len && p->type == M_EXACT) {
				p->type = M_PREFIX;
			} else {
				t.type = pos == len ? T_DSTAR_END : T_DSTAR_DIR;
				p->type = M_REGEX;
				ret = push_token(p, t);
			}
			if (i == 0)
				p->type = M_SUFFIX;
			continue;
		}
		if (ch == '*' || ch == '?') {
			t.type = ch == '*' ? T_STAR : T_QMARK;
		} else if (ch == '\\') {
			if (pos == len) {
				*why = "it ends in an unescaped \\";
				return -EINVAL;
			}
			t.c = s[pos++];
		} else if (ch == '[') {
			size_t used = parse_class(s + pos, len - pos, &t);

			if (!used) {
				free(t.ranges);
				*why = "a [ class is not closed, is empty, or has an unescaped - or ]";
				return -EINVAL;
			}
			pos += used;
		} else {
			t.c = ch;
			if (ch == ']')
				p->type = M_REGEX;
			ret = push_token(p, t);
			continue;
		}
		p->type = M_REGEX;
		ret = push_token(p, t);
	}
	return ret;
}

/* ---- matching ------------------------------------------------------------ */

static bool boundary(const char *s, size_t n, size_t q)
{
	return q == 0 || q >= n || ((unsigned char)s[q] & 0xc0) != 0x80;
}

static bool in_class(const struct token *t, uint32_t cp)
{
	bool in = false;
	size_t i;

	for (i = 0; i < t->n_ranges && !in; i++)
		in = t->ranges[i].lo <= cp && cp <= t->ranges[i].hi;
	return in != t->neg;
}

/* The positions reachable after @t from the set @cur (both n+1 long). */
static void step(const struct token *t, const char *s, size_t n,
		 const bool *cur, bool *nxt)
{
	bool active = false;
	size_t q;
	uint32_t cp;

	memset(nxt, 0, n + 1);
	for (q = 0; q <= n; q++) {
		switch (t->type) {
		case T_LIT:
			if (q < n && cur[q] && (unsigned char)s[q] == t->c)
				nxt[q + 1] = true;
			break;
		case T_QMARK:
		case T_CLASS:
			if (!cur[q] || q >= n || !boundary(s, n, q))
				break;
			{
				size_t l = utf8_decode(
					(const unsigned char *)s + q, n - q,
					&cp);

				if (t->type == T_QMARK ? s[q] != '/'
						       : in_class(t, cp))
					nxt[q + l] = true;
			}
			break;
		case T_STAR:
		case T_DSTAR_END:
			active |= cur[q];
			if (active && boundary(s, n, q))
				nxt[q] = true;
			if (q < n && s[q] == (t->type == T_STAR ? '/' : '\n'))
				active = false;
			break;
		case T_DSTAR_DIR:
			if (cur[q])
				nxt[q] = true;
			active |= cur[q];
			if (q < n && s[q] == '\n')
				active = false;
			else if (active && q < n && s[q] == '/')
				nxt[q + 1] = true;
			break;
		}
	}
}

/*
 * Run the tokens over @s. With @prefix, report whether some string that
 * starts with @s could match (the pattern is still alive at the end of
 * @s); otherwise whether @s matches.
 */
static bool run_tokens(const struct pattern *p, const char *s, bool prefix)
{
	size_t n = strlen(s), i;
	bool stack[2 * 1024];
	bool *a = 2 * (n + 1) <= ARRAY_SIZE(stack) ? stack
						   : calloc(2 * (n + 1), 1);
	bool *cur, *nxt, *tmp;
	bool res = false;

	/* out of memory: fail closed, leaving the path out of the context */
	if (!a)
		return prefix || !p->exception;
	memset(a, 0, 2 * (n + 1));
	cur = a;
	nxt = a + n + 1;
	cur[0] = true;
	for (i = 0; i < p->n; i++) {
		if (prefix && cur[n]) {
			res = true;
			break;
		}
		step(&p->t[i], s, n, cur, nxt);
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
	if (i == p->n)
		res = cur[n] &&
		      (!prefix || (p->n && p->t[p->n - 1].type == T_DSTAR_END));
	if (a != stack)
		free(a);
	return res;
}

static bool pattern_match(const struct pattern *p, const char *path)
{
	size_t pl = strlen(p->text), l = strlen(path);

	switch (p->type) {
	case M_EXACT:
		return strcmp(path, p->text) == 0;
	case M_PREFIX:
		return strncmp(path, p->text, pl - 2) == 0;
	case M_SUFFIX:
		if (l >= pl - 2 &&
		    strcmp(path + l - (pl - 2), p->text + 2) == 0)
			return true;
		return p->text[2] == '/' && strcmp(path, p->text + 3) == 0;
	case M_REGEX:
		return run_tokens(p, path, false);
	}
	return false;
}

/* Could @p match some path starting with @dirslash ("dir/")? */
static bool pattern_may_match_below(const struct pattern *p,
				    const char *dirslash)
{
	size_t pl = strlen(p->text), dl = strlen(dirslash);

	switch (p->type) {
	case M_EXACT:
		return pl > dl && strncmp(p->text, dirslash, dl) == 0;
	case M_PREFIX:
		pl -= 2;
		return strncmp(p->text, dirslash, pl < dl ? pl : dl) == 0;
	case M_SUFFIX:
		return true;
	case M_REGEX:
		return run_tokens(p, dirslash, true);
	}
	return true;
}

/* Does @p match @path or one of its parent directories? */
static bool match_or_parent(const struct pattern *p, char *path)
{
	char *slash;
	bool m;

	if (pattern_match(p, path))
		return true;
	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		m = pattern_match(p, path);
		*slash = '/';
		if (m)
			return true;
	}
	return false;
}

static char *clean_rel(const char *relpath)
{
	while (*relpath == '/')
		relpath++;
	return clean_path(relpath);
}

bool bld_ignore_match(const struct bld_ignore *ign, const char *relpath)
{
	char *path = clean_rel(relpath);
	bool matched = false;
	size_t i;

	if (!path)
		return false;
	if (strcmp(path, ".") == 0) {
		free(path);
		return false; /* the context itself is never excluded */
	}
	for (i = 0; i < ign->n; i++) {
		const struct pattern *p = &ign->p[i];

		if (p->exception != matched)
			continue;
		if (match_or_parent(p, path))
			matched = !p->exception;
	}
	free(path);
	return matched;
}

bool bld_ignore_may_include_below(const struct bld_ignore *ign,
				  const char *reldir)
{
	char *dir = clean_rel(reldir), *dirslash;
	size_t i, last = 0;
	bool found = false, may = false;

	if (!dir)
		return true;
	if (!ign->exceptions) {
		free(dir);
		return false;
	}
	/* the last pattern that excludes the directory (or a parent) */
	for (i = 0; i < ign->n; i++) {
		if (!ign->p[i].exception && match_or_parent(&ign->p[i], dir)) {
			last = i;
			found = true;
		}
	}
	dirslash =
		strcmp(dir, ".") ? cmn_strdup_printf("%s/", dir) : strdup("");
	free(dir);
	if (!dirslash)
		return true;
	for (i = found ? last + 1 : 0; i < ign->n && !may; i++) {
		if (ign->p[i].exception)
			may = pattern_may_match_below(&ign->p[i], dirslash);
	}
	free(dirslash);
	return may;
}

bool bld_ignore_has_exceptions(const struct bld_ignore *ign)
{
	return ign->exceptions;
}

/* ---- reading the file ---------------------------------------------------- */

void bld_ignore_free(struct bld_ignore *ign)
{
	size_t i, j;

	if (!ign)
		return;
	for (i = 0; i < ign->n; i++) {
		for (j = 0; j < ign->p[i].n; j++)
			free(ign->p[i].t[j].ranges);
		free(ign->p[i].t);
		free(ign->p[i].text);
	}
	free(ign->p);
	free(ign);
}

static bool ign_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

static void trim(const char **s, size_t *n)
{
	while (*n && ign_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && ign_space((*s)[*n - 1]))
		(*n)--;
}

/* One line's pattern, cleaned as Docker's ReadAll does. */
static int add_pattern(struct bld_ignore *ign, const char *s, size_t n,
		       unsigned line, const char *filename,
		       struct hutch_err *err)
{
	struct pattern p = { .line = line };
	struct pattern *arr;
	const char *why = NULL;
	char *raw, *clean;
	int ret;

	if (*s == '!') {
		p.exception = true;
		s++;
		n--;
		trim(&s, &n);
		if (!n)
			return cmn_err_msg(
				err, EINVAL,
				"%s:%u: illegal exclusion pattern: \"!\"; write !PATH to re-include PATH",
				filename, line);
	}
	raw = strndup(s, n);
	if (!raw)
		return -ENOMEM;
	clean = clean_path(raw);
	free(raw);
	if (!clean)
		return -ENOMEM;
	if (clean[0] == '/' && clean[1])
		memmove(clean, clean + 1, strlen(clean));
	p.text = clean;
	ret = compile(&p, &why);
	if (!ret) {
		arr = realloc(ign->p, (ign->n + 1) * sizeof(*arr));
		if (arr) {
			ign->p = arr;
			ign->p[ign->n++] = p;
			ign->exceptions |= p.exception;
			return 0;
		}
		ret = -ENOMEM;
	}
	if (ret == -EINVAL)
		cmn_err_msg(
			err, EINVAL,
			"%s:%u: bad pattern \"%s\": %s; escape literal [ ] \\ with a \\",
			filename, line, p.text, why);
	for (size_t i = 0; i < p.n; i++)
		free(p.t[i].ranges);
	free(p.t);
	free(p.text);
	return ret;
}

int bld_ignore_parse(const char *text, size_t len, const char *filename,
		     struct bld_ignore **out, struct hutch_err *err)
{
	struct bld_ignore *ign = calloc(1, sizeof(*ign));
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int ret = 0;

	*out = NULL;
	if (!filename)
		filename = ".dockerignore";
	if (!ign)
		return cmn_err_set(err, ENOMEM, "%s", filename);
	while (p < end && !ret) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *s = p;
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		p = nl ? nl + 1 : end;
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		if (line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
			s += 3;
			n -= 3;
		}
		if (n && s[0] == '#')
			continue;
		trim(&s, &n);
		if (!n)
			continue;
		if (memchr(s, '\0', n)) {
			ret = cmn_err_msg(
				err, EINVAL,
				"%s:%u: NUL byte in a pattern; .dockerignore is text",
				filename, line);
			break;
		}
		ret = add_pattern(ign, s, n, line, filename, err);
	}
	if (ret) {
		if (ret == -ENOMEM)
			cmn_err_set(err, ENOMEM, "%s", filename);
		bld_ignore_free(ign);
		return ret;
	}
	*out = ign;
	return 0;
}
