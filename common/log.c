// SPDX-License-Identifier: Apache-2.0
/* log.c - the one place that writes diagnostics to stderr */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

enum cmn_log_level cmn_log_level = CMN_LOG_WARN;
const char *cmn_log_prog = "hutch";

void cmn_log_init(const char *prog)
{
	const char *dbg = getenv("HUTCH_DEBUG");

	cmn_log_prog = prog;
	if (dbg && *dbg && strcmp(dbg, "0") != 0)
		cmn_log_level = CMN_LOG_DEBUG;
}

void cmn_log(enum cmn_log_level level, const char *fmt, ...)
{
	static const char *const tag[] = { "", "warning: ", "", "debug: " };
	char line[2048];
	va_list ap;
	int n;

	if (level > cmn_log_level)
		return;
	/* Format first, then one write: lines from the container's helper
	 * processes must not interleave mid-line. */
	n = snprintf(line, sizeof(line), "%s: %s", cmn_log_prog, tag[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if ((size_t)n < sizeof(line) - 1)
		line[n++] = '\n';
	cmn_write_all(2, line, n);
}
