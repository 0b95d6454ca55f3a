// SPDX-License-Identifier: Apache-2.0
/* dockerfile-dump.c - the model as normalised text, one line per
 * instruction, for tests and debugging
 *
 *   LINE[-END] KEYWORD [--flag[="value"]]... [json|shell] ARGUMENTS
 *
 * ARGUMENTS are quoted words ("a" "b"), name=value pairs ("k"="v", or "k"
 * for an ARG without a default), "NONE" or "CMD ..." for HEALTHCHECK (with
 * its parsed options), the wrapped instruction for ONBUILD. Each heredoc
 * follows on its own line, indented:
 *
 *   heredoc "NAME" [fd=N] [chomp] [noexpand] [arg=N] "BODY"
 *
 * Quoted strings escape " \ and control characters C-style.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile-internal.h"

static int quote(struct bld_sbuf *b, const char *s)
{
	int ret = bld_sbuf_addc(b, '"');

	for (; !ret && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			ret = bld_sbuf_adds(b, "\\\"");
			break;
		case '\\':
			ret = bld_sbuf_adds(b, "\\\\");
			break;
		case '\n':
			ret = bld_sbuf_adds(b, "\\n");
			break;
		case '\t':
			ret = bld_sbuf_adds(b, "\\t");
			break;
		case '\r':
			ret = bld_sbuf_adds(b, "\\r");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				ret = bld_sbuf_addf(b, "\\x%02x", c);
			else
				ret = bld_sbuf_addc(b, (char)c);
		}
	}
	return ret ? ret : bld_sbuf_addc(b, '"');
}

static int duration(struct bld_sbuf *b, const char *name, int64_t ns)
{
	if (ns % 1000000000 == 0)
		return bld_sbuf_addf(b, " %s=%" PRId64 "s", name,
				     ns / 1000000000);
	if (ns % 1000000 == 0)
		return bld_sbuf_addf(b, " %s=%" PRId64 "ms", name,
				     ns / 1000000);
	if (ns % 1000 == 0)
		return bld_sbuf_addf(b, " %s=%" PRId64 "us", name, ns / 1000);
	return bld_sbuf_addf(b, " %s=%" PRId64 "ns", name, ns);
}

static bool shell_form(enum bld_kind k)
{
	return k == BLD_RUN || k == BLD_CMD || k == BLD_ENTRYPOINT ||
	       k == BLD_SHELL || k == BLD_HEALTHCHECK;
}

static int dump_args(struct bld_sbuf *b, const struct bld_instr *in)
{
	size_t i;
	int ret = 0;

	if (in->json)
		ret = bld_sbuf_adds(b, " json");
	else if (shell_form(in->kind))
		ret = bld_sbuf_adds(b, " shell");
	for (i = 0; !ret && i < in->n_args; i++) {
		ret = bld_sbuf_addc(b, ' ');
		if (!ret)
			ret = quote(b, in->args[i]);
	}
	return ret;
}

static int dump_health(struct bld_sbuf *b, const struct bld_instr *in)
{
	const struct bld_health *h = &in->health;
	int ret;

	if (h->none)
		return bld_sbuf_adds(b, " NONE");
	ret = bld_sbuf_adds(b, " CMD");
	if (!ret)
		ret = dump_args(b, in);
	if (!ret)
		ret = duration(b, "interval", h->interval_ns);
	if (!ret)
		ret = duration(b, "timeout", h->timeout_ns);
	if (!ret)
		ret = duration(b, "start-period", h->start_period_ns);
	if (!ret)
		ret = duration(b, "start-interval", h->start_interval_ns);
	if (!ret)
		ret = bld_sbuf_addf(b, " retries=%d", h->retries);
	return ret;
}

static int dump_heredocs(struct bld_sbuf *b, const struct bld_instr *in)
{
	size_t i;
	int ret = 0;

	for (i = 0; !ret && i < in->n_heredocs; i++) {
		const struct bld_heredoc *h = &in->heredocs[i];

		ret = bld_sbuf_adds(b, "\n  heredoc ");
		if (!ret)
			ret = quote(b, h->name);
		if (!ret && h->fd >= 0)
			ret = bld_sbuf_addf(b, " fd=%d", h->fd);
		if (!ret && h->chomp)
			ret = bld_sbuf_adds(b, " chomp");
		if (!ret && !h->expand)
			ret = bld_sbuf_adds(b, " noexpand");
		if (!ret && h->arg >= 0)
			ret = bld_sbuf_addf(b, " arg=%d", h->arg);
		if (!ret)
			ret = bld_sbuf_addc(b, ' ');
		if (!ret)
			ret = quote(b, h->body ? h->body : "");
	}
	return ret;
}

/* KEYWORD and what follows, without the line numbers. */
static int dump_body(struct bld_sbuf *b, const struct bld_instr *in)
{
	size_t i;
	int ret = bld_sbuf_adds(b, bld_kind_name(in->kind));

	for (i = 0; !ret && i < in->n_flags; i++) {
		ret = bld_sbuf_addf(b, " --%s", in->flags[i].name);
		if (!ret && in->flags[i].value) {
			ret = bld_sbuf_addc(b, '=');
			if (!ret)
				ret = quote(b, in->flags[i].value);
		}
	}
	if (ret)
		return ret;
	switch (in->kind) {
	case BLD_ENV:
	case BLD_LABEL:
	case BLD_ARG:
		for (i = 0; !ret && i < in->n_kvs; i++) {
			ret = bld_sbuf_addc(b, ' ');
			if (!ret)
				ret = quote(b, in->kvs[i].key);
			if (!ret && in->kvs[i].value) {
				ret = bld_sbuf_addc(b, '=');
				if (!ret)
					ret = quote(b, in->kvs[i].value);
			}
		}
		return ret;
	case BLD_HEALTHCHECK:
		return dump_health(b, in);
	case BLD_ONBUILD:
		ret = bld_sbuf_addc(b, ' ');
		if (!ret && in->trigger)
			ret = dump_body(b, in->trigger);
		return ret;
	default:
		ret = dump_args(b, in);
		if (!ret)
			ret = dump_heredocs(b, in);
		return ret;
	}
}

static int dump_instr(struct bld_sbuf *b, const struct bld_instr *in)
{
	int ret;

	if (in->end_line > in->line)
		ret = bld_sbuf_addf(b, "%u-%u ", in->line, in->end_line);
	else
		ret = bld_sbuf_addf(b, "%u ", in->line);
	if (!ret)
		ret = dump_body(b, in);
	return ret;
}

char *bld_instr_dump(const struct bld_instr *in)
{
	struct bld_sbuf b = { 0 };

	if (dump_instr(&b, in)) {
		bld_sbuf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	return bld_sbuf_take(&b);
}

static int dump_header(struct bld_sbuf *b, const struct bld_dockerfile *df)
{
	char esc[2] = { df->escape, '\0' };
	char **w;
	int ret = 0;

	if (df->syntax) {
		ret = bld_sbuf_adds(b, "syntax ");
		if (!ret)
			ret = quote(b, df->syntax);
		if (!ret)
			ret = bld_sbuf_addc(b, '\n');
	}
	if (!ret && df->escape != '\\') {
		ret = bld_sbuf_adds(b, "escape ");
		if (!ret)
			ret = quote(b, esc);
		if (!ret)
			ret = bld_sbuf_addc(b, '\n');
	}
	if (!ret && df->check) {
		ret = bld_sbuf_adds(b, "check ");
		if (!ret)
			ret = quote(b, df->check);
		if (!ret)
			ret = bld_sbuf_addc(b, '\n');
	}
	for (w = df->warnings; !ret && w && *w; w++) {
		ret = bld_sbuf_adds(b, "warning ");
		if (!ret)
			ret = quote(b, *w);
		if (!ret)
			ret = bld_sbuf_addc(b, '\n');
	}
	return ret;
}

char *bld_dockerfile_dump(const struct bld_dockerfile *df)
{
	struct bld_sbuf b = { 0 };
	size_t i, j;
	int ret = dump_header(&b, df);

	for (i = 0; !ret && i < df->n_meta_args; i++) {
		ret = dump_instr(&b, &df->meta_args[i]);
		if (!ret)
			ret = bld_sbuf_addc(&b, '\n');
	}
	for (i = 0; !ret && i < df->n_stages; i++) {
		const struct bld_stage *st = &df->stages[i];

		ret = bld_sbuf_addf(&b, "stage %zu", st->index);
		if (!ret && st->name) {
			ret = bld_sbuf_adds(&b, " name=");
			if (!ret)
				ret = quote(&b, st->name);
		}
		if (!ret)
			ret = bld_sbuf_addc(&b, '\n');
		for (j = 0; !ret && j < st->n_instrs; j++) {
			ret = dump_instr(&b, &st->instrs[j]);
			if (!ret)
				ret = bld_sbuf_addc(&b, '\n');
		}
	}
	if (ret) {
		bld_sbuf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	return bld_sbuf_take(&b);
}
