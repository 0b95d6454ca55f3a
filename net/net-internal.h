/* SPDX-License-Identifier: Apache-2.0 */
/* net-internal.h - what the files of net/ share; not for other parts */
#ifndef HUTCH_NET_INTERNAL_H
#define HUTCH_NET_INTERNAL_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "net/net.h"

/**
 * struct net_config - everything main() decided from the command line
 * @pid:          the container's process; 0 with --netns-type=path
 * @netns_path:   the network namespace to join (owned)
 * @userns_path:  its owning user namespace (owned)
 * @tap_name:     the tap device's name inside the namespace
 * @mtu:          the tap's MTU, also libslirp's
 * @allow_host_loopback: 10.0.2.2 reaches the host's 127.0.0.1
 * @ipv6:         configure fd00::/64 and let libslirp speak IPv6
 * @ready_fd:     -1 or where to report readiness (net.h)
 * @exit_fd:      -1 or a descriptor whose readability ends hutch-net
 * @ports_fd:     -1 or where to list the bound ports before ready (net.h)
 * @udp_timeout_ms: idle time after which a published UDP flow is dropped
 * @specs:        published ports (owned), @nspecs of them
 */
struct net_config {
	pid_t pid;
	char *netns_path;
	char *userns_path;
	char tap_name[IFNAMSIZ];
	unsigned int mtu;
	bool allow_host_loopback;
	bool ipv6;
	int ready_fd;
	int exit_fd;
	int ports_fd;
	unsigned int udp_timeout_ms;
	struct net_port_spec *specs;
	size_t nspecs;
};

/** net_config_init() - the defaults: eth0, MTU 65520, IPv6 on, no fds. */
void net_config_init(struct net_config *cfg);
/** net_config_free() - free what @cfg owns. */
void net_config_free(struct net_config *cfg);

/* ---- tap.c: the device inside the namespace (libnl-3) ----------------- */

/**
 * net_tap_setup() - in the container's network namespace (the caller has
 * joined it and holds CAP_NET_ADMIN there): bring up lo, create the tap
 * @cfg->tap_name and configure its MTU, addresses and default routes.
 *
 * Return: the tap's descriptor (non-blocking, close-on-exec, owned by the
 * caller) or -errno with @err filled.
 */
int net_tap_setup(const struct net_config *cfg, struct hutch_err *err);

/* ---- ports.c: the host-side sockets of published ports ----------------- */

/**
 * struct net_listener - one bound host socket of a published port
 * @fd:        listening TCP or bound UDP socket in the host's netns (owned)
 * @proto:     IPPROTO_TCP or IPPROTO_UDP
 * @host:      the address bound, port included
 * @ctr_port:  the container port it forwards to
 */
struct net_listener {
	int fd;
	int proto;
	struct sockaddr_storage host;
	uint16_t ctr_port;
};

/**
 * net_ports_bind() - bind every port of @specs in the current (host) netns
 * @out:  set to an array of *@n listeners (owned; net_ports_close())
 *
 * All or nothing: on failure nothing stays bound and @err names the
 * address and port and what to do ("-p 8080:80: 127.0.0.1:8080/tcp is
 * already in use; ...").
 */
int net_ports_bind(const struct net_port_spec *specs, size_t nspecs,
		   struct net_listener **out, size_t *n, struct hutch_err *err);
/**
 * net_ports_report() - one line per listener to @fd, then close it:
 * "tcp 127.0.0.1:8080 80\n" (protocol, host address and port as bound,
 * container port); what `hutch port` shows for ports chosen by the kernel.
 */
int net_ports_report(int fd, const struct net_listener *l, size_t n);
/** net_ports_close() - close the listeners and free the array. */
void net_ports_close(struct net_listener *l, size_t n);
/** net_sockaddr_str() - "127.0.0.1:8080" or "[::1]:8080" into @buf. */
const char *net_sockaddr_str(const struct sockaddr_storage *ss, char *buf,
			     size_t size);

/* ---- nsjoin.c: the child that joins the container's namespaces --------- */

/**
 * struct net_ns - the container's namespaces, opened before anything runs
 * @userns: /proc/PID/ns/user or --userns-path (owned)
 * @netns:  /proc/PID/ns/net or the path operand (owned)
 */
struct net_ns {
	int userns;
	int netns;
};

/** net_ns_open() - open the namespaces @cfg names. */
int net_ns_open(const struct net_config *cfg, struct net_ns *ns,
		struct hutch_err *err);
/** net_ns_close() - close what net_ns_open() opened. */
void net_ns_close(struct net_ns *ns);

/**
 * net_nsjoin_spawn() - fork the child that joins the container's user and
 * network namespaces, creates and configures the tap there and passes its
 * descriptor back over a unix socket (SCM_RIGHTS). With published ports
 * the child then stays as the port forwarder (forward.c) on @listeners,
 * which the caller closes afterwards.
 * @tapfd:  set to the tap's descriptor (owned by the caller)
 * @fwd:    set to the forwarder's pid, or 0 when the child has exited
 *
 * Return: 0 or -errno with @err filled from the child's report.
 */
int net_nsjoin_spawn(const struct net_config *cfg, const struct net_ns *ns,
		     struct net_listener *listeners, size_t nlisteners,
		     int *tapfd, pid_t *fwd, struct hutch_err *err);

/* ---- slirp.c: libslirp's loop on the tap ------------------------------- */

struct net_slirp;

/** net_slirp_new() - a libslirp instance for @cfg on @tapfd (borrowed). */
struct net_slirp *net_slirp_new(const struct net_config *cfg, int tapfd,
				struct hutch_err *err);
/**
 * net_slirp_run() - serve the tap until one of @stop (readable or hung up)
 * fires
 * Return: the index in @stop that fired, or -errno.
 */
int net_slirp_run(struct net_slirp *s, const int *stop, size_t nstop);
/** net_slirp_free() - shut libslirp down (closes its host sockets). */
void net_slirp_free(struct net_slirp *s);

/* ---- forward.c: the published-port forwarder ---------------------------- */

/**
 * net_forward_run() - serve @listeners (host sockets) from inside the
 * container's network namespace until SIGTERM or SIGINT
 * Return: 0 after a signal (everything closed and freed), or -errno.
 */
int net_forward_run(const struct net_config *cfg, struct net_listener *l,
		    size_t n);

/* ---- lifetime.c: when to stop ------------------------------------------ */

/** net_life_pdeathsig() - die with @sig when the parent @ppid dies. */
int net_life_pdeathsig(int sig, pid_t ppid);
/** net_life_raise_nofile() - raise RLIMIT_NOFILE's soft limit to the hard
 * one; returns the new soft limit. */
unsigned long net_life_raise_nofile(void);
/**
 * net_life_watch_pid() - a descriptor that becomes readable when @pid
 * exits: a pidfd, or where the kernel lacks pidfd_open (before 5.3) a
 * timerfd ticking every second, with *@ticks set, whose reader must check
 * net_life_alive() itself. Return: the descriptor or -errno.
 */
int net_life_watch_pid(pid_t pid, bool *ticks);
/** net_life_alive() - does @pid still exist? */
bool net_life_alive(pid_t pid);

#endif
