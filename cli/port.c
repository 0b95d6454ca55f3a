// SPDX-License-Identifier: Apache-2.0
/* port.c - `hutch port`: a container's published ports, as bound, Docker's
 * way ("80/tcp -> 127.0.0.1:34567"; with PORT[/PROTO] only the addresses);
 * and the PORTS column of `ps` */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int port_main(int argc, char **argv);

const struct cli_cmd cli_port_cmd = {
	.name = "port",
	.usage = "port CONTAINER [PORT[/PROTO]]",
	.summary = "List a container's published ports.",
	.description =
		"List the ports a running container published, with the host port each was bound to.",
	.main = port_main,
};

/* "127.0.0.1:34567", "[::1]:34567" */
static const char *host_addr(const struct ctr_port *p, char *buf, size_t len)
{
	snprintf(buf, len, strchr(p->host_ip, ':') ? "[%s]:%u" : "%s:%u",
		 p->host_ip, p->host_port);
	return buf;
}

/* @p and @q continue one range (8000->80, 8001->81). */
static bool follows(const struct ctr_port *p, const struct ctr_port *q)
{
	return !strcmp(p->proto, q->proto) && !strcmp(p->host_ip, q->host_ip) &&
	       q->host_port == p->host_port + 1 &&
	       q->ctr_port == p->ctr_port + 1;
}

void cli_ports_text(const struct ctr_container *c, char *buf, size_t len)
{
	struct ctr_port *ports = NULL;
	size_t n = 0, at = 0;

	buf[0] = '\0';
	/* Another host's container: what was asked for, unbound here. */
	if (c->host) {
		for (char **p = c->ports; p && *p && at < len; p++)
			at += (size_t)snprintf(buf + at, len - at, "%s%s",
					       at ? ", " : "", *p);
		return;
	}
	if (ctr_container_ports(c, &ports, &n) < 0)
		return;
	for (size_t i = 0; i < n && at < len;) {
		size_t j = i;
		char a[80];

		while (j + 1 < n && follows(&ports[j], &ports[j + 1]))
			j++;
		host_addr(&ports[i], a, sizeof(a));
		if (j == i)
			at += (size_t)snprintf(buf + at, len - at,
					       "%s%s->%u/%s", at ? ", " : "", a,
					       ports[i].ctr_port,
					       ports[i].proto);
		else
			at += (size_t)snprintf(
				buf + at, len - at, "%s%s-%u->%u-%u/%s",
				at ? ", " : "", a, ports[j].host_port,
				ports[i].ctr_port, ports[j].ctr_port,
				ports[i].proto);
		i = j + 1;
	}
	free(ports);
}

/* PORT[/PROTO] as `docker port` takes it; tcp unless said. */
static int parse_filter(const char *arg, unsigned *port, char proto[4],
			struct hutch_err *err)
{
	uint64_t n;
	char num[8];
	const char *slash = strchr(arg, '/');
	size_t nlen = slash ? (size_t)(slash - arg) : strlen(arg);

	snprintf(proto, 4, "%s", slash ? slash + 1 : "tcp");
	snprintf(num, sizeof(num), "%.*s", (int)nlen, arg);
	if (nlen >= sizeof(num) || !cmn_parse_u64(num, 65535, &n) || !n ||
	    (strcmp(proto, "tcp") && strcmp(proto, "udp")) ||
	    (slash && strlen(slash + 1) > 3))
		return cmn_err_msg(
			err, EINVAL,
			"invalid port \"%s\": write PORT or PORT/tcp or PORT/udp",
			arg);
	*port = (unsigned)n;
	return 0;
}

static int port_one(struct ctr_container *c, void *ctx, struct hutch_err *err)
{
	const char *want = ctx;
	struct ctr_port *ports = NULL;
	unsigned wport = 0;
	char wproto[4] = "", a[80];
	size_t n = 0, shown = 0;

	if (want && parse_filter(want, &wport, wproto, err) < 0)
		return -EINVAL;
	if (ctr_container_ports(c, &ports, &n) < 0)
		return cmn_err_set(err, ENOMEM, "ports");
	for (size_t i = 0; i < n; i++) {
		if (!want) {
			printf("%u/%s -> %s\n", ports[i].ctr_port,
			       ports[i].proto,
			       host_addr(&ports[i], a, sizeof(a)));
		} else if (ports[i].ctr_port == wport &&
			   !strcmp(ports[i].proto, wproto)) {
			printf("%s\n", host_addr(&ports[i], a, sizeof(a)));
			shown++;
		}
	}
	free(ports);
	if (want && !shown)
		return cmn_err_msg(
			err, ENOENT,
			"Error: No public port '%u/%s' published for %s", wport,
			wproto, c->name);
	return 0;
}

static int port_main(int argc, char **argv)
{
	int first, ret = cli_simple(&cli_port_cmd, NULL, 0, NULL, argc, argv, 1,
				    &first);

	if (ret >= 0)
		return ret;
	if (argc - first > 2)
		return cli_fail(
			&(struct hutch_err){
				.msg = "port: give a container and at most one PORT[/PROTO]; see 'hutch port --help'" },
			CMN_EXIT_HUTCH);
	return cli_each_container(1, argv + first, port_one,
				  argc - first == 2 ? argv[first + 1] : NULL,
				  false);
}
