// SPDX-License-Identifier: Apache-2.0
/* fdpass.c - one message on a unix socket, with a descriptor riding along
 *
 * hutch hands descriptors between processes that cannot share them by
 * inheritance: the container's side sends its pty master to hutch
 * (sandbox/), hutch-net's child sends the tap it made inside the container's
 * namespaces (net/). Both send a fixed-size message over a SOCK_SEQPACKET
 * pair, so a message arrives whole or not at all, with at most one
 * descriptor as SCM_RIGHTS control data.
 *
 * The receiver trusts nothing it did not ask for: a message of the wrong
 * length, a cut payload or cut control data, or more descriptors than one
 * is refused, and every descriptor that came with it is closed, so a bad
 * peer cannot leave descriptors open in the receiver.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"

/* Room for exactly one descriptor; the union aligns it for cmsghdr. */
union fd_control {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

int cmn_send_fd(int sock, const void *buf, size_t len, int fd)
{
	union fd_control ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

/* The first descriptor @mh carried, or -1. Every other one is closed, and
 * *@bad set: we asked for one. */
static int take_fds(struct msghdr *mh, bool *bad)
{
	int keep = -1;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (keep < 0) {
				keep = one;
			} else {
				close(one);
				*bad = true;
			}
		}
	}
	return keep;
}

int cmn_recv_fd(int sock, void *buf, size_t len, int *fd)
{
	union fd_control ctl;
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	bool bad = false;
	int got, ret;
	ssize_t n;

	if (fd)
		*fd = -1;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	got = take_fds(&mh, &bad);
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		bad = true;
	ret = n == 0 ? 0 : (n != (ssize_t)len || bad) ? -EPROTO : 1;
	if (ret == 1 && fd)
		*fd = got;
	else if (got >= 0)
		close(got);
	return ret;
}
