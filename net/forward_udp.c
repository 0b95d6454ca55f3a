// SPDX-License-Identifier: Apache-2.0
/* forward_udp.c - published UDP ports: one flow per host peer
 *
 * A datagram from a new peer on a published host socket creates a flow: a
 * UDP socket in the container's netns, connected to the container port, so
 * that the server's replies come back on it and can be sent to that peer
 * through the host socket. Flows live in a hash table keyed by listener
 * and peer address, and on an LRU list; one silent for --udp-timeout, or
 * the oldest when FLOW_MAX exist, is dropped.
 *
 * Which container address: a UDP connect() cannot tell whether anything
 * listens, so we ask the kernel another way: binding 127.0.0.1:PORT fails
 * with EADDRINUSE exactly when a server holds that address or the wildcard
 * (or a dual-stack [::]); otherwise the server is bound to the tap's
 * address only and gets 10.0.2.100.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "net/forward-internal.h"

#define FLOW_BUCKETS	1024
#define FLOW_MAX	4096
#define DGRAM_MAX	65536
#define DGRAMS_PER_TURN 64

struct fwd_flow {
	struct fwd_tag tag;
	int fd; /* connected, in the container's netns (owned) */
	struct fwd_listener *fl;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	int64_t last; /* ms of the last datagram either way */
	struct fwd_flow *hnext;
	struct fwd_flow *prev, *next; /* LRU: lru_head is the oldest */
};

struct fwd_udp {
	struct fwd_flow *bucket[FLOW_BUCKETS];
	struct fwd_flow *lru_head, *lru_tail;
	struct fwd_flow *grave; /* dropped this round, freed at its end */
	size_t nflows;
	uint8_t buf[DGRAM_MAX]; /* one datagram in transit */
};

int fwd_udp_init(struct fwd_loop *lp)
{
	lp->udp = calloc(1, sizeof(*lp->udp));
	return lp->udp ? 0 : -ENOMEM;
}

/* FNV-1a over the peer's address and port and the listener. */
static size_t flow_hash(const struct fwd_listener *fl,
			const struct sockaddr_storage *peer)
{
	const uint8_t *p = (const uint8_t *)peer;
	size_t len = peer->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	uint64_t h = 1469598103934665603ULL ^ (uintptr_t)fl;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h % FLOW_BUCKETS;
}

static void lru_unlink(struct fwd_udp *u, struct fwd_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		u->lru_head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		u->lru_tail = f->prev;
	f->prev = f->next = NULL;
}

static void lru_append(struct fwd_udp *u, struct fwd_flow *f)
{
	f->prev = u->lru_tail;
	f->next = NULL;
	if (u->lru_tail)
		u->lru_tail->next = f;
	else
		u->lru_head = f;
	u->lru_tail = f;
}

static void flow_touch(struct fwd_udp *u, struct fwd_flow *f)
{
	f->last = fwd_now_ms();
	if (u->lru_tail != f) {
		lru_unlink(u, f);
		lru_append(u, f);
	}
}

/* Drop a flow: closed now, freed by fwd_udp_reap() at the end of the
 * round, since an event later in the same batch may still name it. */
static void flow_drop(struct fwd_udp *u, struct fwd_flow *f)
{
	struct fwd_flow **pp = &u->bucket[flow_hash(f->fl, &f->peer)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	lru_unlink(u, f);
	close(f->fd);
	f->fd = -1;
	f->hnext = u->grave;
	u->grave = f;
	u->nflows--;
}

void fwd_udp_reap(struct fwd_loop *lp)
{
	struct fwd_udp *u = lp->udp;

	while (u->grave) {
		struct fwd_flow *f = u->grave;

		u->grave = f->hnext;
		free(f);
	}
}

/* Normalise what recvfrom() filled so that equal peers compare equal. */
static void peer_clean(struct sockaddr_storage *peer, socklen_t len)
{
	if (len < sizeof(*peer))
		memset((char *)peer + len, 0, sizeof(*peer) - len);
}

static struct fwd_flow *flow_find(struct fwd_udp *u, struct fwd_listener *fl,
				  const struct sockaddr_storage *peer)
{
	struct fwd_flow *f = u->bucket[flow_hash(fl, peer)];

	for (; f; f = f->hnext)
		if (f->fl == fl && memcmp(&f->peer, peer, sizeof(*peer)) == 0)
			return f;
	return NULL;
}

/* Is something bound to 127.0.0.1:@port (or the wildcard) in here? */
static bool loopback_taken(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cleanup_close int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	       errno == EADDRINUSE;
}

/* A socket in the container's netns connected to the container port. */
static int flow_socket(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (loopback_taken(port))
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		inet_pton(AF_INET, NET_ADDR_CONTAINER, &sin.sin_addr);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static struct fwd_flow *flow_new(struct fwd_loop *lp, struct fwd_listener *fl,
				 const struct sockaddr_storage *peer,
				 socklen_t peerlen)
{
	struct fwd_udp *u = lp->udp;
	struct fwd_flow *f;
	size_t h = flow_hash(fl, peer);

	if (u->nflows >= FLOW_MAX)
		flow_drop(u, u->lru_head);
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->tag.kind = FWD_UDP_FLOW;
	f->fd = flow_socket(fl->l->ctr_port);
	if (f->fd < 0 || fwd_epoll_add(lp, f->fd, EPOLLIN, &f->tag) < 0) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	f->fl = fl;
	f->peer = *peer;
	f->peerlen = peerlen;
	f->hnext = u->bucket[h];
	u->bucket[h] = f;
	u->nflows++;
	lru_append(u, f);
	return f;
}

void fwd_udp_listener_event(struct fwd_loop *lp, struct fwd_listener *fl)
{
	struct fwd_udp *u = lp->udp;

	for (int i = 0; i < DGRAMS_PER_TURN; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		ssize_t n = recvfrom(fl->l->fd, u->buf, sizeof(u->buf), 0,
				     (struct sockaddr *)&peer, &plen);
		struct fwd_flow *f;

		if (n < 0)
			return; /* EAGAIN, or an error queued by ICMP */
		peer_clean(&peer, plen);
		f = flow_find(u, fl, &peer);
		if (!f)
			f = flow_new(lp, fl, &peer, plen);
		if (!f)
			continue;
		flow_touch(u, f);
		/* A refusal from an earlier datagram is reported once, on
		 * this send: try again. */
		if (send(f->fd, u->buf, n, 0) < 0 && errno == ECONNREFUSED)
			send(f->fd, u->buf, n, 0);
	}
}

void fwd_udp_flow_event(struct fwd_loop *lp, struct fwd_tag *tag)
{
	struct fwd_flow *f = (struct fwd_flow *)tag;
	struct fwd_udp *u = lp->udp;

	if (f->fd < 0)
		return;
	for (int i = 0; i < DGRAMS_PER_TURN; i++) {
		ssize_t n = recv(f->fd, u->buf, sizeof(u->buf), 0);

		if (n < 0) {
			if (errno == ECONNREFUSED)
				continue;
			return;
		}
		flow_touch(u, f);
		sendto(f->fl->l->fd, u->buf, n, 0, (struct sockaddr *)&f->peer,
		       f->peerlen);
	}
}

int fwd_udp_expire(struct fwd_loop *lp, int64_t now)
{
	struct fwd_udp *u = lp->udp;
	int64_t timeout = lp->cfg->udp_timeout_ms;

	while (u->lru_head && u->lru_head->last + timeout <= now)
		flow_drop(u, u->lru_head);
	fwd_udp_reap(lp);
	if (!u->lru_head)
		return -1;
	return u->lru_head->last + timeout - now;
}

void fwd_udp_free(struct fwd_loop *lp)
{
	if (!lp->udp)
		return;
	while (lp->udp->lru_head)
		flow_drop(lp->udp, lp->udp->lru_head);
	fwd_udp_reap(lp);
	free(lp->udp);
	lp->udp = NULL;
}
