/* SPDX-License-Identifier: Apache-2.0 */
/* forward-internal.h - what forward.c, forward_tcp.c and forward_udp.c
 * share: the forwarder's epoll loop and the objects registered in it */
#ifndef HUTCH_NET_FORWARD_INTERNAL_H
#define HUTCH_NET_FORWARD_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/net-internal.h"

/* What an epoll event's data.ptr points at: every registered object
 * starts with one of these. */
enum fwd_kind {
	FWD_TCP_LISTENER,
	FWD_UDP_LISTENER,
	FWD_TCP_SIDE,
	FWD_UDP_FLOW,
	FWD_SIGNAL,
};

struct fwd_tag {
	enum fwd_kind kind;
};

/* A host listener as the loop sees it. */
struct fwd_listener {
	struct fwd_tag tag;
	struct net_listener *l; /* borrowed from the caller */
	bool paused;		/* out of descriptors: not polled for now */
};

/* A pipe between two sockets, and how much it holds. */
struct fwd_pipe {
	int rd, wr; /* -1 when the direction has none */
	size_t len;
};

struct fwd_conn;
struct fwd_flow;

/**
 * struct fwd_loop - the forwarder's state; one per process, one thread
 * @epfd:     the epoll instance (owned)
 * @pool:     idle empty pipes (owned), @npool of them
 * @grave:    connections closed during this round, freed at its end (an
 *            event later in the same batch may still point at them)
 * @conns:    open TCP connections, doubly linked (for the exit)
 * @nconns:   how many
 * @flows:    the UDP flow table (forward_udp.c)
 */
struct fwd_loop {
	int epfd;
	const struct net_config *cfg;
	struct fwd_listener *lsn;
	size_t nlsn;
	bool paused;
	int64_t paused_at;
	struct fwd_pipe *pool;
	size_t npool;
	struct fwd_conn *grave;
	struct fwd_conn *conns;
	size_t nconns;
	struct fwd_udp *udp;
};

int64_t fwd_now_ms(void);
/** fwd_epoll_add() - register @fd for @events with @tag as its data. */
int fwd_epoll_add(struct fwd_loop *lp, int fd, uint32_t events,
		  struct fwd_tag *tag);
/** fwd_pause_listeners() - stop accepting until descriptors free up. */
void fwd_pause_listeners(struct fwd_loop *lp);

/* forward_tcp.c */
void fwd_tcp_accept(struct fwd_loop *lp, struct fwd_listener *fl);
void fwd_tcp_event(struct fwd_loop *lp, struct fwd_tag *tag, uint32_t ev);
void fwd_tcp_reap(struct fwd_loop *lp);
void fwd_tcp_pool_drain(struct fwd_loop *lp);
void fwd_tcp_close_all(struct fwd_loop *lp);

/* forward_udp.c */
int fwd_udp_init(struct fwd_loop *lp);
void fwd_udp_free(struct fwd_loop *lp);
void fwd_udp_listener_event(struct fwd_loop *lp, struct fwd_listener *fl);
void fwd_udp_flow_event(struct fwd_loop *lp, struct fwd_tag *tag);
/** fwd_udp_reap() - free the flows dropped during this round. */
void fwd_udp_reap(struct fwd_loop *lp);
/** fwd_udp_expire() - drop idle flows; returns ms until the next expiry,
 * or -1 when there are no flows. */
int fwd_udp_expire(struct fwd_loop *lp, int64_t now);

#endif
