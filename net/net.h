/* SPDX-License-Identifier: Apache-2.0 */
/* net.h - the whole interface of net/: the published-port spec parser that
 * hutch shares with hutch-net, and the contract for starting hutch-net.
 *
 * hutch talks to the network helper as a program (DESIGN.md); this header
 * documents that program's command line and its readiness and lifetime
 * protocol, and exports the one piece of code both sides need: the parser
 * of `-p [IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]`. net/portspec.c depends
 * on libc and common/ only, so hutch can link it without libslirp or libnl.
 *
 * Starting hutch-net from hutch (host user and network namespace, after the
 * container's namespaces exist and its id maps are written):
 *
 *	hutch-net --ready-fd=R [--exit-fd=E] [--ports-fd=P] [--mtu=N]
 *	          [--allow-host-loopback] [-p SPEC]... PID [TAPNAME]
 *
 *   PID          any process of the container (its init): hutch-net joins
 *                /proc/PID/ns/user and /proc/PID/ns/net to create the tap,
 *                and exits when that process exits (pidfd).
 *   --netns-type=path --userns-path=U NETNS  the same by namespace paths
 *                (then only --exit-fd, SIGTERM or the parent's death end it).
 *   TAPNAME      default "eth0".
 *   --ready-fd=R hutch-net writes one NUL byte to R once the tap is up and
 *                configured and every published port is bound and served,
 *                then closes R. On a failure before that point it writes
 *                one line "hutch-net: ...\n" (never starting with NUL)
 *                instead, also prints it on stderr, and exits with status 1.
 *                EOF without a byte means it died (report its stderr).
 *   --ports-fd=P before ready, one line per bound host port, then P is
 *                closed: "tcp 127.0.0.1:34567 80" (protocol, host address
 *                and port as bound, container port); how hutch learns the
 *                ports the kernel chose for "-p 80" or "-p IP::80".
 *   --exit-fd=E  hutch-net exits when E becomes readable or hangs up (give
 *                it the read end of a pipe whose write end the container's
 *                side keeps open).
 *   SIGTERM/INT  clean exit: listeners closed, forwarder reaped.
 *   Exit status  0 when the container (or exit-fd, or a signal) ended it;
 *                1 on an error (message on stderr); 2 on a usage error.
 *
 * hutch-net sets PR_SET_PDEATHSIG to SIGTERM: it ends when the process
 * that started it dies, so start it from the process that lives as long as
 * the container (hutch run in the foreground, the monitor with run -d).
 */
#ifndef HUTCH_NET_H
#define HUTCH_NET_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* The addresses of the user-mode network, as Docker users know slirp's. */
#define NET_ADDR_CONTAINER  "10.0.2.100"
#define NET_ADDR_GATEWAY    "10.0.2.2" /* the host; its loopback if allowed */
#define NET_ADDR_DNS	    "10.0.2.3"
#define NET_PREFIX_LEN	    24
#define NET_ADDR6_CONTAINER "fd00::100"
#define NET_ADDR6_GATEWAY   "fd00::2"
#define NET_ADDR6_DNS	    "fd00::3"
#define NET_PREFIX6_LEN	    64
#define NET_DEFAULT_MTU	    65520
#define NET_DEFAULT_TAP	    "eth0"

/**
 * struct net_port_spec - one -p option, ranges kept as ranges
 * @family:      AF_INET or AF_INET6 (of the host address)
 * @addr:        host address to bind; 127.0.0.1 when the spec names none
 * @host_first:  first host port; 0 means "any free port" (one per
 *               container port)
 * @host_last:   last host port (== @host_first for a single port)
 * @ctr_first:   first container port
 * @ctr_last:    last container port
 * @proto:       IPPROTO_TCP or IPPROTO_UDP
 *
 * When the host range is longer than a single container port
 * (8000-8010:80), one free host port of the range is chosen. Otherwise the
 * ranges have the same length and map one to one.
 */
struct net_port_spec {
	int family;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
	uint16_t host_first;
	uint16_t host_last;
	uint16_t ctr_first;
	uint16_t ctr_last;
	int proto;
};

/**
 * net_portspec_parse() - parse one -p argument
 * @s:    "[IP:][HOSTPORT:]CONTAINERPORT[/tcp|/udp]"; IPv6 addresses in
 *        brackets ("[::1]:8080:80"); ports or ranges "A-B"
 * @out:  filled on success
 * @err:  on failure, one line naming the spec, the cause and the fix
 *
 * The host address defaults to 127.0.0.1: a shared login node must not
 * expose a container's unauthenticated server to the cluster by accident;
 * "0.0.0.0:" (or "[::]:") opts in to every interface.
 *
 * Return: 0, or -EINVAL with @err filled.
 */
int net_portspec_parse(const char *s, struct net_port_spec *out,
		       struct hutch_err *err);

/**
 * net_portspec_format() - the canonical text of @spec, as `hutch ps` shows
 * it: "127.0.0.1:8080->80/tcp", "[::1]:8000-8001->8000-8001/udp",
 * "127.0.0.1:*->80/tcp" for a port still to be chosen.
 *
 * Return: the length written (truncated like snprintf).
 */
int net_portspec_format(const struct net_port_spec *spec, char *buf,
			size_t size);

/** net_portspec_count() - how many host ports @spec binds (>= 1). */
unsigned int net_portspec_count(const struct net_port_spec *spec);

#endif
