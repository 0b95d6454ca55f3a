// SPDX-License-Identifier: Apache-2.0
/* httpd.c - a tiny keep-alive HTTP server for the network benchmark
 *
 * usage: httpd ADDR PORT
 *
 * One thread, epoll; every request (anything ending in an empty line) gets
 * "ok\n". Fast enough that wrk measures the network path, not the server.
 * Built by tests/bench/net.sh with cc; not part of hutch.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
			    "Content-Type: text/plain\r\n\r\nok\n";

struct conn {
	int fd;
	size_t len;
	char buf[8192];
};

static int listen_on(const char *addr, int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0 || inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 4096) < 0)
		return -1;
	return fd;
}

/* Answer every complete request in the buffer; false to close. */
static int serve(struct conn *c)
{
	for (;;) {
		ssize_t n =
			read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		char *end;

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return 0;
		if (n < 0)
			return 1;
		c->len += n;
		while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
			size_t used = end + 4 - c->buf;

			if (write(c->fd, reply, sizeof(reply) - 1) < 0)
				return 0;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
		}
		if (c->len == sizeof(c->buf))
			return 0;
	}
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[256];
	int lfd, ep, one = 1;

	if (argc != 3)
		return 2;
	lfd = listen_on(argv[1], atoi(argv[2]));
	ep = epoll_create1(0);
	if (lfd < 0 || ep < 0)
		return perror("httpd"), 1;
	ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) {
				int fd =
					accept4(lfd, NULL, NULL, SOCK_NONBLOCK);

				if (fd < 0)
					continue;
				setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
					   sizeof(one));
				c = calloc(1, sizeof(*c));
				c->fd = fd;
				ev = (struct epoll_event){ .events = EPOLLIN,
							   .data.ptr = c };
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			} else if (!serve(c)) {
				close(c->fd);
				free(c);
			}
		}
	}
}
