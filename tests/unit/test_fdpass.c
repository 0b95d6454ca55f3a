// SPDX-License-Identifier: Apache-2.0
/* test_fdpass.c - unit tests for common/fdpass.c: one message with at most
 * one descriptor, and nothing left open when the message is bad */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

struct msg {
	int type;
	char text[32];
};

static void pair(int sv[2])
{
	assert_int_equal(
		socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* The number of descriptors this process has open. */
static int open_fds(void)
{
	cleanup_dir DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	return n - 1; /* the directory's own */
}

/* Are @a and @b the same open file? */
static bool same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void fd_round_trip(void **state)
{
	struct msg out = { .type = 7, .text = "hello" }, in = { 0 };
	int sv[2], fd = -2, passed = open("/dev/null", O_RDONLY | O_CLOEXEC);

	(void)state;
	pair(sv);
	assert_true(passed >= 0);
	assert_int_equal(cmn_send_fd(sv[0], &out, sizeof(out), passed), 0);
	assert_int_equal(cmn_recv_fd(sv[1], &in, sizeof(in), &fd), 1);
	assert_int_equal(in.type, 7);
	assert_string_equal(in.text, "hello");
	assert_true(fd >= 0 && fd != passed);
	assert_true(same_file(fd, passed));
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
	/* Without a descriptor: -1; at end of file: 0. */
	assert_int_equal(cmn_send_fd(sv[0], &out, sizeof(out), -1), 0);
	assert_int_equal(cmn_recv_fd(sv[1], &in, sizeof(in), &fd), 1);
	assert_int_equal(fd, -1);
	close(sv[0]);
	assert_int_equal(cmn_recv_fd(sv[1], &in, sizeof(in), &fd), 0);
	assert_int_equal(fd, -1);
	close(sv[1]);
	close(passed);
}

static void unwanted_fd_is_closed(void **state)
{
	struct msg m = { 0 };
	int sv[2], before;

	(void)state;
	pair(sv);
	before = open_fds();
	assert_int_equal(cmn_send_fd(sv[0], &m, sizeof(m), sv[0]), 0);
	assert_int_equal(cmn_recv_fd(sv[1], &m, sizeof(m), NULL), 1);
	assert_int_equal(open_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

static void bad_length_is_refused(void **state)
{
	struct msg m = { 0 };
	char big[sizeof(m) + 8] = { 0 };
	int sv[2], fd = -2, before;

	(void)state;
	pair(sv);
	before = open_fds();
	/* Short, then long: both refused, their descriptors closed. */
	assert_int_equal(cmn_send_fd(sv[0], &m, sizeof(m) - 1, sv[0]), 0);
	assert_int_equal(cmn_recv_fd(sv[1], &m, sizeof(m), &fd), -EPROTO);
	assert_int_equal(fd, -1);
	assert_int_equal(cmn_send_fd(sv[0], big, sizeof(big), sv[0]), 0);
	assert_int_equal(cmn_recv_fd(sv[1], &m, sizeof(m), &fd), -EPROTO);
	assert_int_equal(fd, -1);
	assert_int_equal(open_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that sends @n descriptors where one was asked for. */
static void send_fds(int sock, int fd, int n)
{
	struct msg m = { 0 };
	int fds[3] = { fd, fd, fd };
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl = { 0 };
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	assert_int_equal(sendmsg(sock, &mh, 0), (ssize_t)sizeof(m));
}

static void extra_fds_are_closed(void **state)
{
	struct msg m = { 0 };
	int sv[2], fd = -2, before;

	(void)state;
	pair(sv);
	before = open_fds();
	/* Two fit the receiver's control buffer; three are cut (CTRUNC). */
	for (int n = 2; n <= 3; n++) {
		send_fds(sv[0], sv[0], n);
		assert_int_equal(cmn_recv_fd(sv[1], &m, sizeof(m), &fd),
				 -EPROTO);
		assert_int_equal(fd, -1);
		assert_int_equal(open_fds(), before);
	}
	close(sv[0]);
	close(sv[1]);
}

static void send_to_closed_peer(void **state)
{
	struct msg m = { 0 };
	int sv[2];

	(void)state;
	pair(sv);
	close(sv[1]);
	/* MSG_NOSIGNAL: an error, not SIGPIPE. */
	assert_int_equal(cmn_send_fd(sv[0], &m, sizeof(m), -1), -EPIPE);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fd_round_trip),
		cmocka_unit_test(unwanted_fd_is_closed),
		cmocka_unit_test(bad_length_is_refused),
		cmocka_unit_test(extra_fds_are_closed),
		cmocka_unit_test(send_to_closed_peer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
