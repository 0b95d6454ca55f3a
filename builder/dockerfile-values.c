// SPDX-License-Identifier: Apache-2.0
/* dockerfile-values.c - the values some instructions carry: Go durations
 * (HEALTHCHECK), port specs (EXPOSE), signal names (STOPSIGNAL)
 */

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "builder/dockerfile-internal.h"

bool bld_parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 },
		{ "us", 1000 },
		{ "\xc2\xb5s", 1000 }, /* U+00B5 micro sign */
		{ "\xce\xbcs", 1000 }, /* U+03BC Greek mu */
		{ "ms", 1000000 },
		{ "s", 1000000000ULL },
		{ "m", 60000000000ULL },
		{ "h", 3600000000000ULL },
	};
	uint64_t total = 0;
	bool neg = false;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return true;
	}
	if (!*s)
		return false;
	while (*s) {
		uint64_t whole = 0, frac = 0, scale = 1, unit = 0, v;
		bool digits = false;
		size_t i, ulen = 0;

		for (; isdigit((unsigned char)*s); s++, digits = true) {
			if (whole > (UINT64_MAX - 9) / 10)
				return false;
			whole = whole * 10 + (uint64_t)(*s - '0');
		}
		if (*s == '.') {
			for (s++; isdigit((unsigned char)*s);
			     s++, digits = true) {
				if (scale < 1000000000000000000ULL) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
			}
		}
		if (!digits)
			return false;
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			size_t l = strlen(units[i].unit);

			if (strncmp(s, units[i].unit, l) == 0 &&
			    !isalpha((unsigned char)s[l]) && l > ulen) {
				unit = units[i].ns;
				ulen = l;
			}
		}
		if (!unit)
			return false;
		s += ulen;
		if (whole > INT64_MAX / unit)
			return false;
		v = whole * unit + (uint64_t)((long double)frac * unit / scale);
		if (v > INT64_MAX || total > INT64_MAX - v)
			return false;
		total += v;
	}
	*ns = neg ? -(int64_t)total : (int64_t)total;
	return true;
}

bool bld_expose_parse(const char *spec, unsigned *lo, unsigned *hi,
		      const char **proto)
{
	const char *slash = strchr(spec, '/'), *dash;
	char port[16];
	uint64_t a, b;
	size_t n = slash ? (size_t)(slash - spec) : strlen(spec);

	*proto = "tcp";
	if (slash) {
		if (!strcasecmp(slash + 1, "tcp") || !slash[1])
			*proto = "tcp";
		else if (!strcasecmp(slash + 1, "udp"))
			*proto = "udp";
		else if (!strcasecmp(slash + 1, "sctp"))
			*proto = "sctp";
		else
			return false;
	}
	if (!n || n >= sizeof(port))
		return false;
	memcpy(port, spec, n);
	port[n] = '\0';
	dash = strchr(port, '-');
	if (dash) {
		port[dash - port] = '\0';
		if (!cmn_parse_u64(port, 65535, &a) ||
		    !cmn_parse_u64(dash + 1, 65535, &b) || b < a)
			return false;
	} else {
		if (!cmn_parse_u64(port, 65535, &a))
			return false;
		b = a;
	}
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return true;
}

int bld_signal_parse(const char *s)
{
	static const struct {
		const char *name;
		int num;
	} sigs[] = {
		{ "ABRT", SIGABRT },	 { "ALRM", SIGALRM },
		{ "BUS", SIGBUS },	 { "CHLD", SIGCHLD },
		{ "CLD", SIGCHLD },	 { "CONT", SIGCONT },
		{ "FPE", SIGFPE },	 { "HUP", SIGHUP },
		{ "ILL", SIGILL },	 { "INT", SIGINT },
		{ "IO", SIGIO },	 { "IOT", SIGIOT },
		{ "KILL", SIGKILL },	 { "PIPE", SIGPIPE },
		{ "POLL", SIGPOLL },	 { "PROF", SIGPROF },
		{ "PWR", SIGPWR },	 { "QUIT", SIGQUIT },
		{ "SEGV", SIGSEGV },	 { "STKFLT", 16 },
		{ "STOP", SIGSTOP },	 { "SYS", SIGSYS },
		{ "TERM", SIGTERM },	 { "TRAP", SIGTRAP },
		{ "TSTP", SIGTSTP },	 { "TTIN", SIGTTIN },
		{ "TTOU", SIGTTOU },	 { "URG", SIGURG },
		{ "USR1", SIGUSR1 },	 { "USR2", SIGUSR2 },
		{ "VTALRM", SIGVTALRM }, { "WINCH", SIGWINCH },
		{ "XCPU", SIGXCPU },	 { "XFSZ", SIGXFSZ },
	};
	/* Docker's numbering of the real-time signals (glibc keeps 32, 33). */
	enum {
		RTMIN = 34,
		RTMAX = 64
	};
	uint64_t n;
	size_t i;

	if (cmn_parse_u64(s, RTMAX, &n))
		return n ? (int)n : -1;
	if (strncasecmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < ARRAY_SIZE(sigs); i++) {
		if (strcasecmp(s, sigs[i].name) == 0)
			return sigs[i].num;
	}
	if (strncasecmp(s, "RTMIN", 5) == 0 ||
	    strncasecmp(s, "RTMAX", 5) == 0) {
		bool max = toupper((unsigned char)s[3]) == 'A';
		int base = max ? RTMAX : RTMIN;

		if (!s[5])
			return base;
		if (s[5] != (max ? '-' : '+') ||
		    !cmn_parse_u64(s + 6, RTMAX - RTMIN, &n) || !n)
			return -1;
		return max ? base - (int)n : base + (int)n;
	}
	return -1;
}
