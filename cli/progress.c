// SPDX-License-Identifier: Apache-2.0
/* progress.c - Docker-style pull and push progress
 *
 * On a terminal, every layer gets one line ("3f4d90098f5b: Downloading
 * [=====>     ]  1.2MB/4.5MB") that is redrawn in place: the cursor goes
 * up to the layer's line, rewrites it and comes back to the bottom. Lines
 * stay under 80 columns so that wrapping never breaks that arithmetic.
 * Elsewhere (logs, CI) each change of a layer's state is one plain line,
 * and byte counts are left out.
 */

#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/progress.h"

#define BAR 30

struct row {
	char id[13];
	char text[96];
};

struct cli_progress {
	FILE *out;
	bool tty;
	char *repo;	  /* owned */
	struct row *rows; /* owned */
	size_t n;
};

struct cli_progress *cli_progress_new(FILE *out, bool tty, const char *repo)
{
	struct cli_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->out = out;
	p->tty = tty;
	p->repo = strdup(repo ? repo : "");
	if (!p->repo) {
		free(p);
		return NULL;
	}
	return p;
}

void cli_progress_free(struct cli_progress *p)
{
	if (!p)
		return;
	fflush(p->out);
	free(p->rows);
	free(p->repo);
	free(p);
}

static const char *word(enum img_event_kind k)
{
	switch (k) {
	case IMG_EV_LAYER_EXISTS:
		return "Already exists";
	case IMG_EV_LAYER_WAITING:
		return "Pulling fs layer";
	case IMG_EV_LAYER_DOWNLOADING:
		return "Downloading";
	case IMG_EV_LAYER_RETRYING:
		return "Retrying";
	case IMG_EV_LAYER_VERIFYING:
		return "Verifying Checksum";
	case IMG_EV_LAYER_DOWNLOADED:
		return "Download complete";
	case IMG_EV_LAYER_EXTRACTING:
		return "Extracting";
	case IMG_EV_LAYER_PULLED:
		return "Pull complete";
	case IMG_EV_LAYER_PREPARING:
		return "Preparing";
	case IMG_EV_LAYER_PUSHING:
		return "Pushing";
	case IMG_EV_LAYER_PRESENT:
		return "Layer already exists";
	case IMG_EV_LAYER_MOUNTED:
		return "Mounted from";
	case IMG_EV_LAYER_PUSHED:
		return "Pushed";
	default:
		return "";
	}
}

/* "Downloading [=====>    ]  1.2MB/4.5MB" */
static void with_bar(char *buf, size_t size, const char *what,
		     const struct img_event *ev)
{
	char bar[BAR + 1], a[16], b[16];
	int fill = 0;

	if (ev->total > 0) {
		fill = (int)((double)ev->done / (double)ev->total * BAR);
		fill = fill > BAR ? BAR : fill;
	}
	memset(bar, ' ', BAR);
	bar[BAR] = '\0';
	memset(bar, '=', (size_t)fill);
	if (fill < BAR)
		bar[fill] = '>';
	cli_human_size(ev->done > 0 ? (uint64_t)ev->done : 0, a);
	if (ev->total > 0)
		snprintf(buf, size, "%s [%s] %7s/%s", what, bar, a,
			 cli_human_size((uint64_t)ev->total, b));
	else
		snprintf(buf, size, "%s %s", what, a);
}

static struct row *row_for(struct cli_progress *p, const char *id,
			   size_t *index)
{
	struct row *nr;

	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->rows[i].id, id)) {
			*index = i;
			return &p->rows[i];
		}
	nr = realloc(p->rows, (p->n + 1) * sizeof(*nr));
	if (!nr)
		return NULL;
	p->rows = nr;
	*index = p->n;
	memset(&nr[p->n], 0, sizeof(*nr));
	snprintf(nr[p->n].id, sizeof(nr[p->n].id), "%s", id);
	return &nr[p->n++];
}

static void draw(struct cli_progress *p, size_t i, bool fresh)
{
	const struct row *r = &p->rows[i];
	size_t up = p->n - i;

	if (fresh) {
		fprintf(p->out, "%s: %s\n", r->id, r->text);
	} else if (p->tty) {
		fprintf(p->out, "\033[%zuA\r\033[2K%s: %s\033[%zuB\r", up,
			r->id, r->text, up);
	} else {
		fprintf(p->out, "%s: %s\n", r->id, r->text);
	}
	fflush(p->out);
}

static void header(struct cli_progress *p, const struct img_event *ev)
{
	if (ev->kind == IMG_EV_PULLING)
		fprintf(p->out, "%s: Pulling from %s\n",
			ev->detail ? ev->detail : "latest", p->repo);
	else
		fprintf(p->out, "The push refers to repository [%s]\n",
			ev->detail ? ev->detail : p->repo);
	fflush(p->out);
}

void cli_progress_event(void *ctx, const struct img_event *ev)
{
	struct cli_progress *p = ctx;
	bool bytes = ev->kind == IMG_EV_LAYER_DOWNLOADING ||
		     ev->kind == IMG_EV_LAYER_PUSHING;
	char id[13], text[96];
	struct row *r;
	size_t i, before = p->n;

	if (ev->kind == IMG_EV_PULLING || ev->kind == IMG_EV_PUSHING) {
		header(p, ev);
		return;
	}
	if (!ev->blob)
		return;
	snprintf(id, sizeof(id), "%.12s", ev->blob->hex);
	if (bytes && p->tty)
		with_bar(text, sizeof(text), word(ev->kind), ev);
	else if (ev->detail)
		snprintf(text, sizeof(text), "%s %.70s", word(ev->kind),
			 ev->detail);
	else
		snprintf(text, sizeof(text), "%s", word(ev->kind));
	r = row_for(p, id, &i);
	if (!r || !strcmp(r->text, text))
		return;
	/* Off a terminal, byte counts would be a line per update. */
	if (!p->tty && bytes && !strncmp(r->text, text, strlen(word(ev->kind))))
		return;
	snprintf(r->text, sizeof(r->text), "%s", text);
	draw(p, i, p->n != before);
}
