// SPDX-License-Identifier: Apache-2.0
/* portspec.c - parse and print -p [IP:][HOSTPORT:]CONTAINERPORT[/PROTO]
 *
 * Shared by hutch (which validates -p before it starts anything) and
 * hutch-net (which binds what it describes). Depends on libc and common/
 * only. Every rejection names the spec, what is wrong with it and the form
 * that would work, in one line.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "net/net.h"

#define SPEC_FORM "[IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]"

/* Parse "N" or "N-M" (1 <= N <= M <= 65535) from [s, s+len). */
static bool parse_range(const char *s, size_t len, uint16_t *first,
			uint16_t *last)
{
	char buf[16];
	char *dash;
	uint64_t a, b;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (!cmn_parse_u64(buf, 65535, &a) || a == 0)
		return false;
	b = a;
	if (dash && (!cmn_parse_u64(dash + 1, 65535, &b) || b < a))
		return false;
	*first = a;
	*last = b;
	return true;
}

static int bad_port(struct hutch_err *err, const char *spec, const char *what,
		    const char *s, size_t len)
{
	return cmn_err_msg(
		err, EINVAL,
		"invalid -p '%s': %s '%.*s' is not a port (1-65535) or a range (A-B with A <= B); write " SPEC_FORM,
		spec, what, (int)len, s);
}

/* Split "/tcp" or "/udp" off the end; *len becomes the rest's length. */
static int parse_proto(const char *spec, size_t *len, int *proto,
		       struct hutch_err *err)
{
	const char *slash = strrchr(spec, '/');

	*proto = IPPROTO_TCP;
	*len = strlen(spec);
	if (!slash)
		return 0;
	*len = slash - spec;
	if (strcmp(slash + 1, "tcp") == 0)
		return 0;
	if (strcmp(slash + 1, "udp") == 0) {
		*proto = IPPROTO_UDP;
		return 0;
	}
	return cmn_err_msg(
		err, EINVAL,
		"invalid -p '%s': unsupported protocol '%s'; use /tcp (the default) or /udp",
		spec, slash + 1);
}

/* Parse the host address [s, s+len): dotted IPv4 or a bracketed IPv6. */
static int parse_addr(const char *spec, const char *s, size_t len,
		      struct net_port_spec *out, struct hutch_err *err)
{
	char buf[INET6_ADDRSTRLEN + 2];

	if (len == 0 || len >= sizeof(buf))
		goto bad;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (buf[0] == '[' && buf[len - 1] == ']') {
		buf[len - 1] = '\0';
		out->family = AF_INET6;
		if (inet_pton(AF_INET6, buf + 1, &out->addr.v6) == 1)
			return 0;
		goto bad;
	}
	out->family = AF_INET;
	if (inet_pton(AF_INET, buf, &out->addr.v4) == 1)
		return 0;
bad:
	return cmn_err_msg(
		err, EINVAL,
		"invalid -p '%s': host address '%.*s' is not an IPv4 address or a bracketed IPv6 address ([::1]); write " SPEC_FORM,
		spec, (int)len, s);
}

/* Find the colon that ends the host address, or NULL when there is none;
 * a bracketed IPv6 address may contain colons of its own. */
static const char *addr_end(const char *spec, const char *s, size_t len,
			    struct hutch_err *err, int *ret)
{
	const char *close, *c;
	int colons = 0;

	*ret = 0;
	if (s[0] == '[') {
		close = memchr(s, ']', len);
		if (!close || close + 1 >= s + len || close[1] != ':') {
			*ret = cmn_err_msg(
				err, EINVAL,
				"invalid -p '%s': expected [IPV6]:HOSTPORT:CONTAINERPORT",
				spec);
			return NULL;
		}
		return close + 1;
	}
	for (c = s; c < s + len; c++)
		colons += *c == ':';
	if (colons > 2) {
		*ret = cmn_err_msg(
			err, EINVAL,
			"invalid -p '%s': too many ':'; put an IPv6 host address in brackets: [::1]:HOSTPORT:CONTAINERPORT",
			spec);
		return NULL;
	}
	if (colons < 2)
		return NULL;
	return memchr(s, ':', len);
}

/* The ranges must map one to one, or many host ports to one (pick one). */
static int check_lengths(const char *spec, const struct net_port_spec *p,
			 struct hutch_err *err)
{
	unsigned int hn = p->host_last - p->host_first + 1;
	unsigned int cn = p->ctr_last - p->ctr_first + 1;

	if (p->host_first == 0 || hn == cn || cn == 1)
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"invalid -p '%s': the host range has %u ports and the container range %u; give ranges of the same length",
		spec, hn, cn);
}

/* Parse "[HOSTPORT:]CONTAINERPORT" from [s, s+len); an empty HOSTPORT
 * (after an address) means any free port. */
static int parse_ports(const char *spec, const char *s, size_t len,
		       bool after_addr, struct net_port_spec *out,
		       struct hutch_err *err)
{
	const char *colon = memchr(s, ':', len);
	const char *cport = colon ? colon + 1 : s;
	size_t clen = s + len - cport;

	if (!parse_range(cport, clen, &out->ctr_first, &out->ctr_last))
		return bad_port(err, spec, "container port", cport, clen);
	out->host_first = out->host_last = 0;
	if (!colon && after_addr)
		return cmn_err_msg(
			err, EINVAL,
			"invalid -p '%s': after the host address write HOSTPORT:CONTAINERPORT, or ::CONTAINERPORT for any free host port",
			spec);
	if (!colon || (colon == s && after_addr))
		return 0;
	if (!parse_range(s, colon - s, &out->host_first, &out->host_last))
		return bad_port(err, spec, "host port", s, colon - s);
	return check_lengths(spec, out, err);
}

int net_portspec_parse(const char *s, struct net_port_spec *out,
		       struct hutch_err *err)
{
	const char *end;
	size_t len;
	int ret;

	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->addr.v4.s_addr = htonl(INADDR_LOOPBACK);
	if (!s || !*s)
		return cmn_err_msg(err, EINVAL,
				   "invalid -p '': write " SPEC_FORM);
	ret = parse_proto(s, &len, &out->proto, err);
	if (ret < 0)
		return ret;
	end = addr_end(s, s, len, err, &ret);
	if (ret < 0)
		return ret;
	if (!end)
		return parse_ports(s, s, len, false, out, err);
	ret = parse_addr(s, s, end - s, out, err);
	if (ret < 0)
		return ret;
	return parse_ports(s, end + 1, len - (end + 1 - s), true, out, err);
}

unsigned int net_portspec_count(const struct net_port_spec *spec)
{
	unsigned int hn = spec->host_last - spec->host_first + 1;
	unsigned int cn = spec->ctr_last - spec->ctr_first + 1;

	return (spec->host_first && hn > cn) ? 1 : cn;
}

static int format_range(char *buf, size_t size, uint16_t a, uint16_t b)
{
	if (a == b)
		return snprintf(buf, size, "%u", a);
	return snprintf(buf, size, "%u-%u", a, b);
}

int net_portspec_format(const struct net_port_spec *spec, char *buf,
			size_t size)
{
	char addr[INET6_ADDRSTRLEN], host[16], ctr[16];

	inet_ntop(spec->family, &spec->addr, addr, sizeof(addr));
	if (spec->host_first)
		format_range(host, sizeof(host), spec->host_first,
			     spec->host_last);
	else
		snprintf(host, sizeof(host), "*");
	format_range(ctr, sizeof(ctr), spec->ctr_first, spec->ctr_last);
	return snprintf(buf, size, "%s%s%s:%s->%s/%s",
			spec->family == AF_INET6 ? "[" : "", addr,
			spec->family == AF_INET6 ? "]" : "", host, ctr,
			spec->proto == IPPROTO_UDP ? "udp" : "tcp");
}
