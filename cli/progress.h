/* SPDX-License-Identifier: Apache-2.0 */
/* progress.h - Docker-style pull and push progress on the terminal;
 * private to cli/ (pull.c, push.c, and run.c when it pulls) */
#ifndef HUTCH_CLI_PROGRESS_H
#define HUTCH_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "image/image.h"

struct cli_progress;

/**
 * cli_progress_new() - a renderer writing to @out
 * @tty:  one line per layer, redrawn in place with progress bars; else
 *        plain lines, one per change of a layer's state
 * @repo: the repository shown in "TAG: Pulling from REPO"
 * Return: owned, or NULL on ENOMEM.
 */
struct cli_progress *cli_progress_new(FILE *out, bool tty, const char *repo);
/** cli_progress_event() - an img_progress_fn; @ctx is the renderer. */
void cli_progress_event(void *ctx, const struct img_event *ev);
void cli_progress_free(struct cli_progress *p);

#endif
