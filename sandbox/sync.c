// SPDX-License-Identifier: Apache-2.0
/* sync.c - messages between hutch and the container before exec */

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/sandbox-internal.h"

int sbx_msg_send(int sock, const struct sbx_msg *msg, int fd)
{
	return cmn_send_fd(sock, msg, sizeof(*msg), fd);
}

int sbx_msg_recv(int sock, struct sbx_msg *msg, int *fd)
{
	int ret = cmn_recv_fd(sock, msg, sizeof(*msg), fd);

	if (ret > 0)
		msg->text[sizeof(msg->text) - 1] = '\0';
	return ret;
}

void sbx_child_fail(int sock, int code, const struct hutch_err *err)
{
	struct sbx_msg msg = { .type = SBX_MSG_ERROR, .code = code };

	size_t len = strnlen(err->msg, sizeof(msg.text) - 1);

	memcpy(msg.text, err->msg, len);
	sbx_msg_send(sock, &msg, -1);
	_exit(code);
}
