// SPDX-License-Identifier: Apache-2.0
/* slirp.c - libslirp's event loop on the tap descriptor
 *
 * Theory of operation
 *
 * The container's kernel sends Ethernet frames into its tap device; we read
 * them from the tap's descriptor and feed them to libslirp (slirp_input),
 * which terminates TCP and UDP in user space and opens ordinary sockets of
 * this process, in the host's network namespace, to the real destinations.
 * What libslirp has for the container comes back through send_packet(),
 * which writes one frame to the tap.
 *
 * One thread, one poll(2) per round: libslirp lists its sockets through
 * slirp_pollfds_fill() (an add_poll callback per descriptor), we add the
 * tap and the caller's stop descriptors, sleep in poll() for at most the
 * timeout libslirp and our timers ask for, then hand the results back with
 * slirp_pollfds_poll() and drain the tap. The pollfd array lives as long as
 * the loop and only grows; the frame buffer is allocated once; nothing is
 * allocated per packet here. libslirp's own timers (IPv6 router
 * advertisements) use the 4.7 API: timer_new_opaque() and
 * slirp_handle_timer(), kept on a short list checked after each poll.
 * Idle, the loop sleeps until libslirp's one-second housekeeping tick
 * (two per second while TCP connections exist, for its slow timer).
 *
 * Memory after connection churn: libslirp keeps every closed TCP
 * connection it closed first (the usual case when the server says
 * Connection: close) in TIME_WAIT for 10 s, with its host socket and two
 * socket buffers of 128 KiB (malloc'd, touched as used) still allocated.
 * Freed after that, those buffers would sit in glibc's heap, which its
 * dynamic mmap threshold steers them into after the first free, and the
 * process would keep the high-water mark. So main() fixes the mmap
 * threshold (buffers of 128 KiB are then mmap'd and unmapped on free), and
 * this loop calls malloc_trim() when traffic has settled. See README.md.
 */

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libslirp.h>

#include "net/net-internal.h"

#define ETH_HEADER	 14
#define FRAMES_PER_ROUND 64 /* tap frames read before polling again */
#define TRIM_INTERVAL_MS 2000
#define TRIM_SETTLE_MS	 15000 /* TIME_WAIT (10 s) plus margin */

/* A libslirp timer (timer_new_opaque); @expire is -1 when disarmed. */
struct net_timer {
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire; /* ms, on clock_ms()'s scale */
	struct net_timer *next;
};

struct net_slirp {
	Slirp *slirp;
	int tapfd;	    /* borrowed */
	struct pollfd *pfd; /* owned; grows, never shrinks */
	size_t npfd, cap;
	struct net_timer *timers; /* owned list */
	uint8_t *frame;		  /* owned; one frame of MTU + header */
	size_t frame_size;
	int64_t last_activity; /* ms of the last tap frame */
	int64_t last_trim;
	bool trim_due;
};

static int64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t clock_ms(void)
{
	return clock_ns() / 1000000;
}

/* ---- libslirp's callbacks ---------------------------------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;
	ssize_t n;

	do
		n = write(s->tapfd, buf, len);
	while (n < 0 && errno == EINTR);
	/* A full tap queue drops the frame; TCP retransmits it. */
	if (n < 0 && errno == EAGAIN)
		return len;
	return n < 0 ? -errno : n;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	(void)opaque;
	cmn_debug("container sent something odd: %s", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return clock_ns();
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	struct net_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;

	for (struct net_timer **p = &s->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	(void)opaque;
	((struct net_timer *)timer)->expire = expire_ms;
}

/* One thread: the next round's slirp_pollfds_fill() sees the new state. */
static void cb_noop_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_noop_fd,
	.unregister_poll_fd = cb_noop_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* ---- the pollfd array ---------------------------------------------------- */

static int add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	short ev = 0;

	if (s->npfd == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct pollfd *p = realloc(s->pfd, cap * sizeof(*p));

		if (!p)
			return -1; /* libslirp skips the socket this round */
		s->pfd = p;
		s->cap = cap;
	}
	ev |= (events & SLIRP_POLL_IN) ? POLLIN : 0;
	ev |= (events & SLIRP_POLL_OUT) ? POLLOUT : 0;
	ev |= (events & SLIRP_POLL_PRI) ? POLLPRI : 0;
	s->pfd[s->npfd] = (struct pollfd){ .fd = fd, .events = ev };
	return s->npfd++;
}

static int get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short rev;
	int ev = 0;

	if (idx < 0 || (size_t)idx >= s->npfd)
		return 0;
	rev = s->pfd[idx].revents;
	ev |= (rev & POLLIN) ? SLIRP_POLL_IN : 0;
	ev |= (rev & POLLOUT) ? SLIRP_POLL_OUT : 0;
	ev |= (rev & POLLPRI) ? SLIRP_POLL_PRI : 0;
	ev |= (rev & POLLERR) ? SLIRP_POLL_ERR : 0;
	ev |= (rev & POLLHUP) ? SLIRP_POLL_HUP : 0;
	return ev;
}

/* ---- setup ------------------------------------------------------------- */

static void config_init(SlirpConfig *c, const struct net_config *cfg)
{
	memset(c, 0, sizeof(*c));
	c->version = 4;
	c->restricted = 0;
	c->in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &c->vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &c->vnetmask);
	inet_pton(AF_INET, NET_ADDR_GATEWAY, &c->vhost);
	inet_pton(AF_INET, NET_ADDR_DNS, &c->vnameserver);
	inet_pton(AF_INET, "10.0.2.15", &c->vdhcp_start);
	c->in6_enabled = cfg->ipv6;
	inet_pton(AF_INET6, "fd00::", &c->vprefix_addr6);
	c->vprefix_len = NET_PREFIX6_LEN;
	inet_pton(AF_INET6, NET_ADDR6_GATEWAY, &c->vhost6);
	inet_pton(AF_INET6, NET_ADDR6_DNS, &c->vnameserver6);
	c->if_mtu = cfg->mtu;
	c->if_mru = cfg->mtu;
	/* The security default: 10.0.2.2 is not the host's 127.0.0.1. */
	c->disable_host_loopback = !cfg->allow_host_loopback;
	c->enable_emu = false;
	/* The tap is configured statically; nothing asks for a lease. */
	c->disable_dhcp = true;
}

struct net_slirp *net_slirp_new(const struct net_config *cfg, int tapfd,
				struct hutch_err *err)
{
	struct net_slirp *s = calloc(1, sizeof(*s));
	SlirpConfig c;

	if (!s) {
		cmn_err_set(err, ENOMEM, "cannot start the network");
		return NULL;
	}
	s->tapfd = tapfd;
	s->frame_size = cfg->mtu + ETH_HEADER;
	s->frame = malloc(s->frame_size);
	config_init(&c, cfg);
	if (s->frame)
		s->slirp = slirp_new(&c, &callbacks, s);
	if (!s->slirp) {
		cmn_err_set(err, ENOMEM, "cannot start libslirp");
		net_slirp_free(s);
		return NULL;
	}
	return s;
}

void net_slirp_free(struct net_slirp *s)
{
	if (!s)
		return;
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while (s->timers)
		cb_timer_free(s->timers, s);
	free(s->pfd);
	free(s->frame);
	free(s);
}

/* ---- the loop ----------------------------------------------------------- */

/* Fire the timers that are due. */
static void timers_run(struct net_slirp *s, int64_t now)
{
	for (struct net_timer *t = s->timers, *next; t; t = next) {
		next = t->next;
		if (t->expire >= 0 && t->expire <= now) {
			t->expire = -1;
			slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
		}
	}
}

/* Shorten @timeout (ms) to the first armed timer. */
static uint32_t timers_timeout(const struct net_slirp *s, int64_t now,
			       uint32_t timeout)
{
	for (const struct net_timer *t = s->timers; t; t = t->next) {
		if (t->expire < 0)
			continue;
		if (t->expire <= now)
			return 0;
		if (t->expire - now < (int64_t)timeout)
			timeout = t->expire - now;
	}
	return timeout;
}

/* Feed what the container sent to libslirp, a bounded batch per round. */
static int tap_drain(struct net_slirp *s)
{
	for (int i = 0; i < FRAMES_PER_ROUND; i++) {
		ssize_t n = read(s->tapfd, s->frame, s->frame_size);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		slirp_input(s->slirp, s->frame, n);
		s->trim_due = true;
	}
	return 0;
}

/* Return freed memory to the kernel once the connections have settled. */
static void maybe_trim(struct net_slirp *s, int64_t now)
{
	if (s->trim_due) {
		s->last_activity = now;
		s->trim_due = false;
	}
	if (now - s->last_activity > TRIM_SETTLE_MS + TRIM_INTERVAL_MS ||
	    now - s->last_trim < TRIM_INTERVAL_MS)
		return;
	malloc_trim(0);
	s->last_trim = now;
}

/* Which stop descriptor fired, or -1. Their pollfds sit at 1..nstop. */
static int stop_fired(const struct net_slirp *s, size_t nstop)
{
	for (size_t i = 0; i < nstop; i++)
		if (s->pfd[1 + i].revents)
			return i;
	return -1;
}

int net_slirp_run(struct net_slirp *s, const int *stop, size_t nstop)
{
	for (;;) {
		uint32_t timeout = UINT32_MAX;
		int n, ret, fired;
		int64_t now;

		s->npfd = 0;
		if (add_poll(s->tapfd, SLIRP_POLL_IN, s) < 0)
			return -ENOMEM;
		for (size_t i = 0; i < nstop; i++)
			if (add_poll(stop[i], SLIRP_POLL_IN, s) < 0)
				return -ENOMEM;
		slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
		timeout = timers_timeout(s, clock_ms(), timeout);
		n = poll(s->pfd, s->npfd, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		slirp_pollfds_poll(s->slirp, n < 0, get_revents, s);
		if (n > 0 && (s->pfd[0].revents & (POLLERR | POLLHUP)))
			return -EPIPE;
		if (n > 0 && (s->pfd[0].revents & POLLIN)) {
			ret = tap_drain(s);
			if (ret < 0)
				return ret;
		}
		now = clock_ms();
		timers_run(s, now);
		fired = n > 0 ? stop_fired(s, nstop) : -1;
		if (fired >= 0)
			return fired;
		if (n == 0)
			maybe_trim(s, now);
	}
}
