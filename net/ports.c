// SPDX-License-Identifier: Apache-2.0
/* ports.c - bind the host side of published ports, all or nothing
 *
 * Listeners are bound in hutch-net's own (the host's) network namespace
 * before anything joins the container's: a socket stays in the namespace
 * it was created in, so the forwarder that later lives in the container's
 * namespace accepts on them unchanged. Binding first also means a taken
 * port is reported before the container's command starts.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/net-internal.h"

#define LISTEN_BACKLOG 4096

const char *net_sockaddr_str(const struct sockaddr_storage *ss, char *buf,
			     size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
		snprintf(buf, size, "[%s]:%u", addr, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
		snprintf(buf, size, "%s:%u", addr, ntohs(s4->sin_port));
	}
	return buf;
}

/* The host address of @spec with port @port. */
static socklen_t spec_addr(const struct net_port_spec *spec, uint16_t port,
			   struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (spec->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_addr = spec->addr.v6;
		s6->sin6_port = htons(port);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (void *)ss;

	s4->sin_family = AF_INET;
	s4->sin_addr = spec->addr.v4;
	s4->sin_port = htons(port);
	return sizeof(*s4);
}

/* Create, bind (and for TCP listen on) one host socket; -errno. */
static int bind_socket(const struct net_port_spec *spec, uint16_t port,
		       struct sockaddr_storage *bound)
{
	int type = spec->proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM;
	socklen_t len = spec_addr(spec, port, bound);
	cleanup_close int fd =
		socket(spec->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	/* TCP: rebinding over connections in TIME_WAIT is fine; Linux
	 * still refuses a port another socket listens on. */
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		return -errno;
	/* [::] means IPv6 only; 0.0.0.0 is the way to ask for IPv4. */
	if (spec->family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)bound, len) < 0)
		return -errno;
	if (type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) < 0)
		return -errno;
	len = sizeof(*bound);
	if (getsockname(fd, (struct sockaddr *)bound, &len) < 0)
		return -errno;
	return steal_fd(&fd);
}

/* One line for a port that cannot be bound, with what to do about it. */
static int bind_error(const struct net_port_spec *spec, uint16_t port, int ret,
		      struct hutch_err *err)
{
	struct sockaddr_storage ss;
	char what[96], where[80];
	const char *fix = "check the host address and port";

	net_portspec_format(spec, what, sizeof(what));
	spec_addr(spec, port, &ss);
	net_sockaddr_str(&ss, where, sizeof(where));
	if (ret == -EADDRINUSE)
		fix = "choose another host port, or stop what uses it";
	else if (ret == -EACCES)
		fix = "ports below 1024 need privilege; choose a host port of 1024 or above";
	else if (ret == -EADDRNOTAVAIL)
		fix = "the host has no such address; use 127.0.0.1 or one of its own addresses";
	cmn_err_set(err, -ret, "cannot publish %s: %s/%s", what, where,
		    spec->proto == IPPROTO_UDP ? "udp" : "tcp");
	cmn_err_fix(err, "%s", fix);
	return ret;
}

/* A host range for one container port: take the first free port. */
static int bind_pick(const struct net_port_spec *spec, struct net_listener *l,
		     struct hutch_err *err)
{
	int fd = -EADDRINUSE;

	for (unsigned int p = spec->host_first; p <= spec->host_last; p++) {
		fd = bind_socket(spec, p, &l->host);
		if (fd >= 0 || fd != -EADDRINUSE)
			break;
	}
	if (fd < 0) {
		bind_error(spec, spec->host_first, fd, err);
		cmn_err_prefix(err, "no free port in %u-%u", spec->host_first,
			       spec->host_last);
		return fd;
	}
	l->fd = fd;
	l->proto = spec->proto;
	l->ctr_port = spec->ctr_first;
	return 0;
}

/* Bind every port of one spec into @l (room for its count). */
static int bind_spec(const struct net_port_spec *spec, struct net_listener *l,
		     struct hutch_err *err)
{
	unsigned int n = net_portspec_count(spec);

	if (spec->host_first && spec->host_last - spec->host_first + 1u > n)
		return bind_pick(spec, l, err);
	for (unsigned int i = 0; i < n; i++) {
		uint16_t port = spec->host_first ? spec->host_first + i : 0;
		int fd = bind_socket(spec, port, &l[i].host);

		if (fd < 0)
			return bind_error(spec, port, fd, err);
		l[i].fd = fd;
		l[i].proto = spec->proto;
		l[i].ctr_port = spec->ctr_first + i;
	}
	return 0;
}

int net_ports_bind(const struct net_port_spec *specs, size_t nspecs,
		   struct net_listener **out, size_t *n, struct hutch_err *err)
{
	struct net_listener *l;
	size_t total = 0, at = 0;
	int ret = 0;

	for (size_t i = 0; i < nspecs; i++)
		total += net_portspec_count(&specs[i]);
	l = calloc(total ? total : 1, sizeof(*l));
	if (!l)
		return cmn_err_set(err, ENOMEM, "cannot publish ports");
	for (size_t i = 0; i < total; i++)
		l[i].fd = -1;
	for (size_t i = 0; i < nspecs && ret == 0; i++) {
		ret = bind_spec(&specs[i], l + at, err);
		at += net_portspec_count(&specs[i]);
	}
	if (ret < 0) {
		net_ports_close(l, total);
		return ret;
	}
	*out = l;
	*n = total;
	return 0;
}

int net_ports_report(int fd, const struct net_listener *l, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		char where[80], line[128];
		int len = snprintf(
			line, sizeof(line), "%s %s %u\n",
			l[i].proto == IPPROTO_UDP ? "udp" : "tcp",
			net_sockaddr_str(&l[i].host, where, sizeof(where)),
			l[i].ctr_port);

		ret = cmn_write_all(fd, line, len);
	}
	close(fd);
	return ret;
}

void net_ports_close(struct net_listener *l, size_t n)
{
	if (!l)
		return;
	for (size_t i = 0; i < n; i++)
		if (l[i].fd >= 0)
			close(l[i].fd);
	free(l);
}
