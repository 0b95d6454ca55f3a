// SPDX-License-Identifier: Apache-2.0
/* format.c - what listings share: Docker's --format templates (the
 * {{.Field}} subset), human sizes and "2 hours ago" */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"

/* Go's text/template for what `docker images/ps --format` users write:
 * {{.Field}} with optional spaces, "table " prefix ignored, \t and \n. */
int cli_format_line(const char *tmpl, cli_field_fn get, void *ctx, FILE *out,
		    struct hutch_err *err)
{
	char line[4096];
	size_t n = 0;
	const char *p = cmn_has_prefix(tmpl, "table ") ? tmpl + 6 : tmpl;

	while (*p && n + 1 < sizeof(line)) {
		if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
			line[n++] = p[1] == 't' ? '\t' : '\n';
			p += 2;
		} else if (p[0] == '{' && p[1] == '{') {
			const char *end = strstr(p, "}}");
			char field[64];
			const char *f = p + 2, *val;
			size_t len;

			if (!end)
				return cmn_err_msg(
					err, EINVAL,
					"template: unclosed action in \"%s\"",
					tmpl);
			while (*f == ' ')
				f++;
			len = (size_t)(end - f);
			while (len && f[len - 1] == ' ')
				len--;
			if (len < 2 || f[0] != '.' || len >= sizeof(field))
				return cmn_err_msg(
					err, EINVAL,
					"template: unsupported action \"%.*s\"; use {{.Field}}",
					(int)len, f);
			snprintf(field, sizeof(field), "%.*s", (int)len - 1,
				 f + 1);
			val = get(ctx, field);
			if (!val)
				return cmn_err_msg(err, EINVAL,
						   "template: no field .%s",
						   field);
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s",
					      val);
			if (n >= sizeof(line))
				n = sizeof(line) - 1;
			p = end + 2;
		} else {
			line[n++] = *p++;
		}
	}
	line[n] = '\0';
	fprintf(out, "%s\n", line);
	return 0;
}

/* Docker's units.HumanSize: decimal units, three significant digits. */
const char *cli_human_size(uint64_t bytes, char buf[static 16])
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, 16, "%.3g%s", v, unit[u]);
	return buf;
}

/* Docker's units.HumanDuration, plus " ago". */
const char *cli_human_ago(int64_t when, char buf[static 32])
{
	int64_t s = (int64_t)time(NULL) - when;

	if (when <= 0)
		snprintf(buf, 32, "N/A");
	else if (s < 1)
		snprintf(buf, 32, "Less than a second ago");
	else if (s < 60)
		snprintf(buf, 32, "%lld seconds ago", (long long)s);
	else if (s < 120)
		snprintf(buf, 32, "About a minute ago");
	else if (s < 3600)
		snprintf(buf, 32, "%lld minutes ago", (long long)(s / 60));
	else if (s < 7200)
		snprintf(buf, 32, "About an hour ago");
	else if (s < 48 * 3600)
		snprintf(buf, 32, "%lld hours ago", (long long)(s / 3600));
	else if (s < 14 * 86400)
		snprintf(buf, 32, "%lld days ago", (long long)(s / 86400));
	else if (s < 60 * 86400)
		snprintf(buf, 32, "%lld weeks ago",
			 (long long)(s / (7 * 86400)));
	else if (s < 730 * 86400)
		snprintf(buf, 32, "%lld months ago",
			 (long long)(s / (30 * 86400)));
	else
		snprintf(buf, 32, "%lld years ago",
			 (long long)(s / (365 * 86400)));
	return buf;
}
