// SPDX-License-Identifier: Apache-2.0
/* forward.c - the published-port forwarder: its process and epoll loop
 *
 * Theory of operation
 *
 * Published ports skip libslirp's user-mode TCP stack. A connection to a
 * published host port is accepted by a host socket and relayed to a
 * second, kernel TCP connection made inside the container's network
 * namespace, to the container port on its loopback (or, for a server bound
 * only to the tap's address, on 10.0.2.100). Both ends are kernel sockets,
 * so bytes move between them with splice(2) through a pipe, never copied
 * into this process.
 *
 * The kernel decides where a socket lives when it is created, and a socket
 * stays in that namespace for life. The listeners are therefore bound by
 * hutch-net in the host's namespace (ports.c); this process is the child
 * that joined the container's user and network namespaces to create the
 * tap (nsjoin.c) and inherited them across fork(). Here accept() returns
 * host sockets and socket()+connect() create container sockets: one
 * process holds both sides of every connection, with no per-connection
 * message to anyone. The rejected alternatives: the host side cannot
 * setns() into the container's netns without CAP_SYS_ADMIN in its own user
 * namespace, and passing each new socket over a unix socket from a helper
 * costs a round trip per connection.
 *
 * One thread, level-triggered epoll, each side polled only for what can
 * make progress (forward_tcp.c). Each connection has a direction per way,
 * each with a pipe only while bytes are in flight: idle connections hold
 * just their two sockets, and empty pipes go back to a small pool. A
 * direction moves at most a budget of bytes per turn, so one bulk
 * transfer cannot starve the rest; epoll reports what is left next round.
 *
 * UDP (forward_udp.c) keeps a flow per host peer: a connected UDP socket in
 * the container's namespace whose replies go back to that peer through the
 * host socket, dropped after --udp-timeout of silence.
 *
 * The process ends with SIGTERM from hutch-net (clean: every socket
 * closed, every allocation freed) or with its parent (PR_SET_PDEATHSIG).
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "net/forward-internal.h"

#define EVENTS_PER_WAIT 256
#define PAUSE_MS	100  /* retry accepting after running out of fds */
#define POOL_IDLE_MS	1000 /* empty the pipe pool after this long idle */

int64_t fwd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fwd_epoll_add(struct fwd_loop *lp, int fd, uint32_t events,
		  struct fwd_tag *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	if (epoll_ctl(lp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static void listeners_poll(struct fwd_loop *lp, bool on)
{
	for (size_t i = 0; i < lp->nlsn; i++) {
		struct epoll_event ev = { .events = on ? EPOLLIN : 0,
					  .data.ptr = &lp->lsn[i].tag };

		epoll_ctl(lp->epfd, EPOLL_CTL_MOD, lp->lsn[i].l->fd, &ev);
		lp->lsn[i].paused = !on;
	}
}

void fwd_pause_listeners(struct fwd_loop *lp)
{
	if (lp->paused)
		return;
	cmn_warn("out of file descriptors; not accepting for %d ms", PAUSE_MS);
	listeners_poll(lp, false);
	lp->paused = true;
	lp->paused_at = fwd_now_ms();
}

static int listeners_add(struct fwd_loop *lp, struct net_listener *l, size_t n)
{
	lp->lsn = calloc(n, sizeof(*lp->lsn));
	if (!lp->lsn)
		return -ENOMEM;
	lp->nlsn = n;
	for (size_t i = 0; i < n; i++) {
		lp->lsn[i].tag.kind = l[i].proto == IPPROTO_UDP
					      ? FWD_UDP_LISTENER
					      : FWD_TCP_LISTENER;
		lp->lsn[i].l = &l[i];
		int ret = fwd_epoll_add(lp, l[i].fd, EPOLLIN, &lp->lsn[i].tag);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* SIGTERM and SIGINT arrive as a readable descriptor. */
static int signals_add(struct fwd_loop *lp, struct fwd_tag *tag)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	tag->kind = FWD_SIGNAL;
	if (fwd_epoll_add(lp, fd, EPOLLIN, tag) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* How long epoll_wait may sleep. */
static int loop_timeout(struct fwd_loop *lp, int64_t now)
{
	int t = fwd_udp_expire(lp, now);

	if (lp->paused) {
		int left = PAUSE_MS - (int)(now - lp->paused_at);

		t = (t < 0 || left < t) ? (left > 0 ? left : 0) : t;
	}
	if (lp->nconns == 0 && lp->npool > 0 && (t < 0 || t > POOL_IDLE_MS))
		t = POOL_IDLE_MS;
	return t;
}

/* Returns true when a stop signal arrived. */
static bool dispatch(struct fwd_loop *lp, struct epoll_event *ev)
{
	struct fwd_tag *tag = ev->data.ptr;

	switch (tag->kind) {
	case FWD_TCP_LISTENER:
		fwd_tcp_accept(lp, (struct fwd_listener *)tag);
		break;
	case FWD_UDP_LISTENER:
		fwd_udp_listener_event(lp, (struct fwd_listener *)tag);
		break;
	case FWD_TCP_SIDE:
		fwd_tcp_event(lp, tag, ev->events);
		break;
	case FWD_UDP_FLOW:
		fwd_udp_flow_event(lp, tag);
		break;
	case FWD_SIGNAL:
		return true;
	}
	return false;
}

/* One round: wait, dispatch, free what was closed. */
static int loop_round(struct fwd_loop *lp, bool *stop)
{
	struct epoll_event ev[EVENTS_PER_WAIT];
	int64_t now = fwd_now_ms();
	int n = epoll_wait(lp->epfd, ev, EVENTS_PER_WAIT,
			   loop_timeout(lp, now));

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++)
		*stop |= dispatch(lp, &ev[i]);
	fwd_tcp_reap(lp);
	fwd_udp_reap(lp);
	now = fwd_now_ms();
	if (lp->paused && now - lp->paused_at >= PAUSE_MS) {
		listeners_poll(lp, true);
		lp->paused = false;
	}
	if (n == 0 && lp->nconns == 0)
		fwd_tcp_pool_drain(lp);
	return 0;
}

int net_forward_run(const struct net_config *cfg, struct net_listener *l,
		    size_t n)
{
	struct fwd_loop lp = { .cfg = cfg };
	struct fwd_tag sigtag;
	bool stop = false;
	int sigfd = -1, ret;

	lp.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp.epfd < 0)
		return -errno;
	ret = fwd_udp_init(&lp);
	if (ret == 0)
		ret = listeners_add(&lp, l, n);
	if (ret == 0)
		ret = sigfd = signals_add(&lp, &sigtag);
	while (ret >= 0 && !stop)
		ret = loop_round(&lp, &stop);
	fwd_tcp_close_all(&lp);
	fwd_udp_free(&lp);
	free(lp.lsn);
	if (sigfd >= 0)
		close(sigfd);
	close(lp.epfd);
	return ret < 0 ? ret : 0;
}
