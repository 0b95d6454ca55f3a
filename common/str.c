// SPDX-License-Identifier: Apache-2.0
/* str.c - string arrays, number parsing and random identifiers */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "common/common.h"

char *cmn_strdup_printf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return s;
}

size_t cmn_strv_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int cmn_strv_push(char ***v, char *s)
{
	size_t n = cmn_strv_len(*v);
	char **nv;

	if (!s)
		return -ENOMEM;
	nv = realloc(*v, (n + 2) * sizeof(*nv));
	if (!nv) {
		free(s);
		return -ENOMEM;
	}
	nv[n] = s;
	nv[n + 1] = NULL;
	*v = nv;
	return 0;
}

void cmn_strv_free(char **v)
{
	cmn_strv_freep(&v);
}

char **cmn_strv_dup(char *const *v)
{
	size_t n = cmn_strv_len(v);
	cleanup_strv char **copy = calloc(n + 1, sizeof(*copy));

	if (!copy)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		copy[i] = strdup(v[i]);
		if (!copy[i])
			return NULL;
	}
	return steal_ptr(&copy);
}

bool cmn_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

bool cmn_parse_go_bool(const char *s, bool *out)
{
	static const char *const yes[] = {
		"1", "t", "T", "TRUE", "true", "True"
	};
	static const char *const no[] = { "0",	   "f",	    "F",
					  "FALSE", "false", "False" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i]) || !strcmp(s, no[i])) {
			*out = !strcmp(s, yes[i]);
			return true;
		}
	}
	return false;
}

bool cmn_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "kmgtp";
	char *end;
	double v;
	const char *u;

	if (!(*s >= '0' && *s <= '9'))
		return false;
	v = strtod(s, &end);
	if (*end == ' ')
		end++;
	if (*end && (u = strchr(units, *end | 0x20)) != NULL) {
		for (const char *k = units; k <= u; k++)
			v *= 1024;
		end++;
	}
	if ((*end | 0x20) == 'i')
		end++;
	if ((*end | 0x20) == 'b')
		end++;
	if (*end || v >= 18e18)
		return false;
	*out = (uint64_t)v;
	return true;
}

int cmn_random_hex(char *out, size_t nbytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char buf[64];
	size_t got = 0;

	if (nbytes > sizeof(buf))
		return -EINVAL;
	while (got < nbytes) {
		ssize_t n = getrandom(buf + got, nbytes - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += n;
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = hex[buf[i] >> 4];
		out[2 * i + 1] = hex[buf[i] & 15];
	}
	out[2 * nbytes] = '\0';
	return 0;
}

bool cmn_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static const struct {
	int sig;
	const char *name;
} signals[] = {
	{ 1, "HUP" },	{ 2, "INT" },	  { 3, "QUIT" },  { 4, "ILL" },
	{ 5, "TRAP" },	{ 6, "ABRT" },	  { 7, "BUS" },	  { 8, "FPE" },
	{ 9, "KILL" },	{ 10, "USR1" },	  { 11, "SEGV" }, { 12, "USR2" },
	{ 13, "PIPE" }, { 14, "ALRM" },	  { 15, "TERM" }, { 16, "STKFLT" },
	{ 17, "CHLD" }, { 18, "CONT" },	  { 19, "STOP" }, { 20, "TSTP" },
	{ 21, "TTIN" }, { 22, "TTOU" },	  { 23, "URG" },  { 24, "XCPU" },
	{ 25, "XFSZ" }, { 26, "VTALRM" }, { 27, "PROF" }, { 28, "WINCH" },
	{ 29, "IO" },	{ 30, "PWR" },	  { 31, "SYS" },
};

int cmn_signal_parse(const char *s)
{
	uint64_t n;

	if (cmn_parse_u64(s, 64, &n))
		return n > 0 ? (int)n : -1;
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (!strcasecmp(s, signals[i].name))
			return signals[i].sig;
	if (!strncasecmp(s, "RTMIN+", 6) && cmn_parse_u64(s + 6, 30, &n))
		return SIGRTMIN + (int)n;
	return -1;
}

const char *cmn_signal_name(int sig)
{
	static const char *const full[] = {
		"SIGHUP",    "SIGINT",	"SIGQUIT",  "SIGILL",  "SIGTRAP",
		"SIGABRT",   "SIGBUS",	"SIGFPE",   "SIGKILL", "SIGUSR1",
		"SIGSEGV",   "SIGUSR2", "SIGPIPE",  "SIGALRM", "SIGTERM",
		"SIGSTKFLT", "SIGCHLD", "SIGCONT",  "SIGSTOP", "SIGTSTP",
		"SIGTTIN",   "SIGTTOU", "SIGURG",   "SIGXCPU", "SIGXFSZ",
		"SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",   "SIGPWR",
		"SIGSYS",
	};

	return sig >= 1 && sig <= 31 ? full[sig - 1] : "SIG?";
}
