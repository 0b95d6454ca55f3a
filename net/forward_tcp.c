// SPDX-License-Identifier: Apache-2.0
/* forward_tcp.c - published TCP ports: accept on the host, connect in the
 * container, splice(2) both ways (the design is in forward.c)
 *
 * A connection's life: accepted (host side registered, polled for nothing
 * but errors), connecting (a non-blocking connect to the next container
 * address: 127.0.0.1, then 10.0.2.100 for servers bound only to the tap,
 * then ::1), established, half-closed per direction (EOF read on one side
 * is passed on as shutdown(SHUT_WR) on the other once its pipe is empty),
 * closed (both directions done, or an error on either side).
 *
 * Polling is level-triggered, and each side is polled only for what can
 * make progress: readable while its direction has an empty pipe and no
 * EOF, writable while the other direction holds bytes for it. So a short
 * read ends a turn without a second splice() to see EAGAIN (epoll reports
 * what is left next round), a direction stops at its byte budget without
 * losing its wakeup, and a destination that is full stops its source from
 * being polled at all. The price is an epoll_ctl() when a direction blocks
 * or unblocks, which happens in bulk transfers only, once per pipeful.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "net/forward-internal.h"

#ifndef PIPE_SIZE
#define PIPE_SIZE (512 << 10) /* bytes a pipe may hold; fewer syscalls */
#endif
#define POOL_MAX     32	       /* idle pipes kept for reuse */
#define TURN_BUDGET  (4 << 20) /* bytes per direction per turn */
#define ACCEPT_BATCH 64
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

/* The container addresses tried in order for each connection. */
enum {
	TRY_LOOPBACK,
	TRY_TAP,
	TRY_LOOPBACK6,
	TRY_COUNT
};

/* One socket of a connection; side 0 is the host's, side 1 the
 * container's. */
struct fwd_side {
	struct fwd_tag tag;
	struct fwd_conn *conn;
	int fd;
	uint32_t armed; /* the epoll events it is registered for */
};

/* One way through the connection: dir[0] host to container, dir[1]
 * container to host. */
struct fwd_dir {
	struct fwd_pipe pipe;
	bool eof;	   /* the source said EOF */
	bool shut;	   /* and the destination was shut down for writing */
	unsigned int more; /* SPLICE_F_MORE while a bulk transfer runs */
};

struct fwd_conn {
	struct fwd_side side[2];
	struct fwd_dir dir[2];
	uint16_t ctr_port;
	uint8_t attempt; /* TRY_*: the address being connected to */
	bool connecting;
	bool dead;			      /* closed; on lp->grave */
	struct fwd_conn *next;		      /* on lp->grave */
	struct fwd_conn *all_prev, *all_next; /* lp->conns, while open */
};

/* ---- the pipe pool ------------------------------------------------------ */

static int pipe_get(struct fwd_loop *lp, struct fwd_pipe *p)
{
	int fds[2];

	if (lp->npool > 0) {
		*p = lp->pool[--lp->npool];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	/* Best effort: over the user's pipe quota the default size stays. */
	fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
	*p = (struct fwd_pipe){ .rd = fds[0], .wr = fds[1], .len = 0 };
	return 0;
}

static void pipe_close(struct fwd_pipe *p)
{
	if (p->rd >= 0) {
		close(p->rd);
		close(p->wr);
	}
	*p = (struct fwd_pipe){ .rd = -1, .wr = -1 };
}

/* Give an empty pipe back to the pool; a pipe holding bytes is closed. */
static void pipe_put(struct fwd_loop *lp, struct fwd_pipe *p)
{
	if (p->rd < 0)
		return;
	if (p->len > 0 || lp->npool >= POOL_MAX) {
		pipe_close(p);
		return;
	}
	if (!lp->pool) {
		lp->pool = calloc(POOL_MAX, sizeof(*lp->pool));
		if (!lp->pool) {
			pipe_close(p);
			return;
		}
	}
	lp->pool[lp->npool++] = *p;
	*p = (struct fwd_pipe){ .rd = -1, .wr = -1 };
}

void fwd_tcp_pool_drain(struct fwd_loop *lp)
{
	while (lp->npool > 0)
		pipe_close(&lp->pool[--lp->npool]);
	free(lp->pool);
	lp->pool = NULL;
}

/* ---- connection life ---------------------------------------------------- */

static void conn_close(struct fwd_loop *lp, struct fwd_conn *c)
{
	if (c->dead)
		return;
	for (int i = 0; i < 2; i++) {
		if (c->side[i].fd >= 0)
			close(c->side[i].fd);
		c->side[i].fd = -1;
		pipe_put(lp, &c->dir[i].pipe);
	}
	c->dead = true;
	lp->nconns--;
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		lp->conns = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	/* Freed at the end of the round, once no event can name it. */
	c->next = lp->grave;
	lp->grave = c;
}

void fwd_tcp_reap(struct fwd_loop *lp)
{
	while (lp->grave) {
		struct fwd_conn *c = lp->grave;

		lp->grave = c->next;
		free(c);
	}
}

/* Start a non-blocking connect to the current attempt's address. */
static int conn_dial(struct fwd_loop *lp, struct fwd_conn *c)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	int one = 1, fd;

	if (c->attempt == TRY_LOOPBACK6) {
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(c->ctr_port);
	} else {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(c->ctr_port);
		inet_pton(AF_INET,
			  c->attempt == TRY_TAP ? NET_ADDR_CONTAINER
						: "127.0.0.1",
			  &s4->sin_addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	c->side[1].fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sizeof(ss)) < 0 &&
	    errno != EINPROGRESS)
		return -errno;
	c->connecting = true;
	c->side[1].armed = EPOLLOUT;
	return fwd_epoll_add(lp, fd, EPOLLOUT, &c->side[1].tag);
}

/* Try the next container address after a refusal; false when none is
 * left. */
static bool conn_redial(struct fwd_loop *lp, struct fwd_conn *c)
{
	while (++c->attempt < TRY_COUNT) {
		if (c->side[1].fd >= 0)
			close(c->side[1].fd);
		c->side[1].fd = -1;
		if (conn_dial(lp, c) == 0)
			return true;
	}
	return false;
}

/* Nothing listens on the container port: tell the client with a reset
 * rather than an empty reply. */
static void conn_refuse(struct fwd_loop *lp, struct fwd_conn *c)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	cmn_debug("nothing accepts on container port %u", c->ctr_port);
	setsockopt(c->side[0].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(lp, c);
}

static struct fwd_conn *conn_new(struct fwd_loop *lp, int hostfd,
				 uint16_t ctr_port)
{
	struct fwd_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	for (int i = 0; i < 2; i++) {
		c->side[i].tag.kind = FWD_TCP_SIDE;
		c->side[i].conn = c;
		c->dir[i].pipe = (struct fwd_pipe){ .rd = -1, .wr = -1 };
	}
	c->side[0].fd = hostfd;
	c->side[1].fd = -1;
	c->ctr_port = ctr_port;
	c->all_next = lp->conns;
	if (lp->conns)
		lp->conns->all_prev = c;
	lp->conns = c;
	lp->nconns++;
	return c;
}

/* Take one accepted host socket into a new connection. */
static void conn_start(struct fwd_loop *lp, int hostfd, uint16_t ctr_port)
{
	struct fwd_conn *c = conn_new(lp, hostfd, ctr_port);
	int one = 1;

	if (!c) {
		close(hostfd);
		return;
	}
	setsockopt(hostfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* Polled for errors only until the container side is connected;
	 * bytes wait in the host socket meanwhile. */
	if (fwd_epoll_add(lp, hostfd, 0, &c->side[0].tag) < 0 ||
	    (conn_dial(lp, c) < 0 && !conn_redial(lp, c)))
		conn_refuse(lp, c);
}

void fwd_tcp_accept(struct fwd_loop *lp, struct fwd_listener *fl)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int fd = accept4(fl->l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM)
				fwd_pause_listeners(lp);
			return;
		}
		conn_start(lp, fd, fl->l->ctr_port);
	}
}

/* ---- moving bytes ------------------------------------------------------- */

/* Move bytes one way until the destination is full (bytes stay in the
 * pipe), the source has no more right now, it ended, or the budget is
 * spent. Returns 0 or -errno for a broken connection. */
static int dir_pump(struct fwd_loop *lp, struct fwd_dir *d, int src, int dst)
{
	size_t budget = TURN_BUDGET;
	bool again = true;
	ssize_t n;

	for (;;) {
		while (d->pipe.len > 0) {
			n = splice(d->pipe.rd, NULL, dst, NULL, d->pipe.len,
				   SPLICE_FLAGS | d->more);
			if (n < 0)
				return errno == EAGAIN ? 0 : -errno;
			d->pipe.len -= n;
		}
		if (d->eof) {
			if (!d->shut && shutdown(dst, SHUT_WR) < 0 &&
			    errno != ENOTCONN)
				return -errno;
			d->shut = true;
			return 0;
		}
		if (!again || budget == 0)
			return 0;
		if (d->pipe.rd < 0 && pipe_get(lp, &d->pipe) < 0)
			return -EMFILE;
		n = splice(src, NULL, d->pipe.wr, NULL, PIPE_SIZE,
			   SPLICE_FLAGS);
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		d->eof = n == 0;
		/* Less than half a pipe: the socket is likely empty, and if
		 * not, level-triggered epoll says so next round. A nearly
		 * full pipe is a bulk transfer: tell TCP more follows. */
		again = (size_t)n >= PIPE_SIZE / 2;
		d->more = again ? SPLICE_F_MORE : 0;
		d->pipe.len = n;
		budget = (size_t)n >= budget ? 0 : budget - n;
	}
}

/* Poll each side for what can make progress (see the top of the file). */
static void conn_arm(struct fwd_loop *lp, struct fwd_conn *c)
{
	for (int i = 0; i < 2; i++) {
		uint32_t want = 0;
		struct epoll_event ev = { .data.ptr = &c->side[i].tag };

		if (!c->dir[i].eof && c->dir[i].pipe.len == 0)
			want |= EPOLLIN | EPOLLRDHUP;
		if (c->dir[!i].pipe.len > 0)
			want |= EPOLLOUT;
		if (want == c->side[i].armed)
			continue;
		ev.events = want;
		if (epoll_ctl(lp->epfd, EPOLL_CTL_MOD, c->side[i].fd, &ev) <
		    0) {
			conn_close(lp, c);
			return;
		}
		c->side[i].armed = want;
	}
}

/* Pump the directions in @dirs (bit i: dir[i]); close when both are done
 * or one broke. */
static void conn_pump(struct fwd_loop *lp, struct fwd_conn *c, unsigned dirs)
{
	for (int i = 0; i < 2; i++) {
		struct fwd_dir *d = &c->dir[i];

		if (!(dirs & (1u << i)))
			continue;
		if (dir_pump(lp, d, c->side[i].fd, c->side[!i].fd) < 0) {
			conn_close(lp, c);
			return;
		}
		if (d->pipe.len == 0)
			pipe_put(lp, &d->pipe);
	}
	if (c->dir[0].shut && c->dir[1].shut) {
		conn_close(lp, c);
		return;
	}
	conn_arm(lp, c);
}

/* Which directions an event on side @si can move: readable feeds the
 * direction it is the source of, writable drains the other one. */
static unsigned event_dirs(int si, uint32_t ev)
{
	unsigned dirs = 0;

	if (ev & (EPOLLERR | EPOLLHUP))
		return 3;
	if (ev & (EPOLLIN | EPOLLRDHUP))
		dirs |= 1u << si;
	if (ev & EPOLLOUT)
		dirs |= 1u << !si;
	return dirs;
}

/* The container side's connect finished: go on, or try the next address. */
static void conn_connected(struct fwd_loop *lp, struct fwd_conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(c->side[1].fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr == EINPROGRESS || soerr == EALREADY)
		return;
	if (soerr != 0) {
		if (!conn_redial(lp, c))
			conn_refuse(lp, c);
		return;
	}
	c->connecting = false;
	conn_pump(lp, c, 3);
}

void fwd_tcp_event(struct fwd_loop *lp, struct fwd_tag *tag, uint32_t ev)
{
	struct fwd_side *s = (struct fwd_side *)tag;
	struct fwd_conn *c = s->conn;

	if (c->dead)
		return;
	if (c->connecting) {
		if (s == &c->side[1])
			conn_connected(lp, c);
		else if (ev & (EPOLLERR | EPOLLHUP))
			conn_close(lp, c); /* the client gave up */
		return;
	}
	conn_pump(lp, c, event_dirs(s == &c->side[1], ev));
}

/* At exit: every connection and pipe closed, every allocation freed. */
void fwd_tcp_close_all(struct fwd_loop *lp)
{
	while (lp->conns)
		conn_close(lp, lp->conns);
	fwd_tcp_reap(lp);
	fwd_tcp_pool_drain(lp);
}
