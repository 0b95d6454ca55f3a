// SPDX-License-Identifier: Apache-2.0
/* pty.c - the user's terminal while a `-t` container runs: its size, raw
 * mode, and putting it back the way it was */

#include <errno.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

void sbx_term_size(struct winsize *ws)
{
	if (ioctl(0, TIOCGWINSZ, ws) == 0 && ws->ws_col)
		return;
	if (ioctl(1, TIOCGWINSZ, ws) == 0 && ws->ws_col)
		return;
	*ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
}

int sbx_term_raw(struct sbx_term *term)
{
	struct termios raw;

	term->fd = -1;
	term->raw = false;
	if (!isatty(0))
		return 0;
	term->saved = malloc(sizeof(*term->saved));
	if (!term->saved)
		return -ENOMEM;
	if (tcgetattr(0, term->saved) < 0)
		return -errno;
	raw = *term->saved;
	cfmakeraw(&raw);
	/* Keep output processing: the container's pty already turns \n into
	 * \r\n, and we copy its bytes as they are. */
	if (tcsetattr(0, TCSANOW, &raw) < 0)
		return -errno;
	term->fd = 0;
	term->raw = true;
	return 0;
}

void sbx_term_restore(struct sbx_term *term)
{
	if (term->raw && term->saved)
		tcsetattr(term->fd, TCSANOW, term->saved);
	term->raw = false;
	free(term->saved);
	term->saved = NULL;
}
