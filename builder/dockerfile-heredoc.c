// SPDX-License-Identifier: Apache-2.0
/* dockerfile-heredoc.c - which here-documents an instruction line announces
 *
 * RUN, COPY and ADD in shell form (also under ONBUILD) may announce
 * here-documents anywhere in their line, as Docker finds them: the line is
 * split into words as a shell would (quotes and backslashes respected and
 * kept), and every word of the form [N]<<[-]WORD, WORD without '<', is one.
 * The delimiter is WORD with quotes and backslashes removed; any quoting
 * in it means the body is taken literally (no $ substitution). The bodies
 * themselves are read by dockerfile.c, in the order announced.
 */

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile-internal.h"

struct bld_instr *bld_heredoc_owner(struct bld_instr *in)
{
	if (in->kind == BLD_ONBUILD && in->trigger)
		in = in->trigger;
	if (in->kind != BLD_RUN && in->kind != BLD_COPY && in->kind != BLD_ADD)
		return NULL;
	return in->json ? NULL : in;
}

/*
 * Remove the quotes and backslashes of a heredoc delimiter, leaving '$'
 * alone. Return: the number of quote characters that acted as quotes, or
 * -1 for an unterminated quote.
 */
static int dequote(const char *s, struct bld_sbuf *out)
{
	char q = 0;
	int quotes = 0;

	for (; *s; s++) {
		if (!q && (*s == '\'' || *s == '"')) {
			q = *s;
			quotes++;
			continue;
		}
		if (q && *s == q) {
			q = 0;
			quotes++;
			continue;
		}
		if (*s == '\\' && q != '\'' && s[1] &&
		    (!q || strchr("\"$\\", s[1])))
			s++;
		if (bld_sbuf_addc(out, *s))
			return -2;
	}
	return q ? -1 : quotes;
}

/* The number in the first @n bytes of @s, at most 9 digits' worth. */
static bool fd_number(const char *s, size_t n, uint64_t *out)
{
	char buf[10];

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return cmn_parse_u64(buf, INT32_MAX, out);
}

/* "[digits]<<[-]WORD" where WORD has no '<'. */
static bool heredoc_parse(const char *word, struct bld_heredoc *h)
{
	struct bld_sbuf name = { 0 };
	const char *p = word, *rest;
	int quotes;

	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != '<' || p[1] != '<')
		return false;
	h->fd = -1;
	if (p > word) {
		uint64_t fd;

		if (!fd_number(word, (size_t)(p - word), &fd))
			return false;
		h->fd = (int)fd;
	}
	p += 2;
	h->chomp = *p == '-';
	rest = p + h->chomp;
	if (!*rest || strchr(rest, '<'))
		return false;
	quotes = dequote(rest, &name);
	if (quotes < 0 || !name.len) {
		bld_sbuf_free(&name);
		return false;
	}
	h->name = bld_sbuf_take(&name);
	h->expand = quotes == 0;
	h->arg = -1;
	return h->name != NULL;
}

bool bld_heredoc_word(const char *word, char **name)
{
	struct bld_heredoc h = { 0 };

	if (!heredoc_parse(word, &h))
		return false;
	if (name)
		*name = h.name;
	else
		free(h.name);
	return true;
}

/* Split a line into words as the shell would, quotes and escapes kept.
 * Return: 0, 1 for an unterminated quote, or -ENOMEM. */
static int shell_words(const char *line, char ***words)
{
	struct bld_sbuf w = { 0 };
	const char *p;
	bool in_word = false;
	char q = 0;
	int ret = 0;

	for (p = line; *p && !ret; p++) {
		if (!q && bld_isspace(*p)) {
			if (in_word)
				ret = cmn_strv_push(words, bld_sbuf_take(&w));
			in_word = false;
			continue;
		}
		in_word = true;
		if (!q && (*p == '\'' || *p == '"'))
			q = *p;
		else if (q && *p == q)
			q = 0;
		else if (*p == '\\' && q != '\'' && p[1])
			ret = bld_sbuf_addc(&w, *p++);
		if (!ret)
			ret = bld_sbuf_addc(&w, *p);
	}
	if (!ret && q)
		ret = 1;
	if (!ret && in_word)
		ret = cmn_strv_push(words, bld_sbuf_take(&w));
	bld_sbuf_free(&w);
	return ret;
}

int bld_heredoc_words(const char *line, struct bld_heredoc **out, size_t *n)
{
	cleanup_strv char **words = NULL;
	struct bld_heredoc h, *arr;
	size_t i;
	int ret = shell_words(line, &words);

	*out = NULL;
	*n = 0;
	if (ret)
		return ret < 0 ? ret : 0;
	for (i = 0; words && words[i]; i++) {
		h = (struct bld_heredoc){ 0 };
		if (!heredoc_parse(words[i], &h))
			continue;
		arr = realloc(*out, (*n + 1) * sizeof(*arr));
		if (!arr) {
			free(h.name);
			return -ENOMEM;
		}
		*out = arr;
		arr[(*n)++] = h;
	}
	return 0;
}
