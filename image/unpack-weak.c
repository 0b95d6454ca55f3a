// SPDX-License-Identifier: Apache-2.0
/* unpack-weak.c - TEMPORARY: weak stand-ins until image/unpack.c lands, so
 * that hutch links meanwhile. Removed with the real unpacker. */

#include <errno.h>

#include "image/unpack-internal.h"

__attribute__((weak)) int img_unpack(int fd, int dirfd,
				     const struct img_unpack_opts *opts,
				     struct img_digest *diff_id, uint64_t *size,
				     struct hutch_err *err)
{
	(void)fd;
	(void)dirfd;
	(void)opts;
	(void)diff_id;
	(void)size;
	return cmn_err_msg(err, ENOSYS, "layer unpacking is not built in");
}

__attribute__((weak)) bool img_unpack_probe(int dirfd)
{
	(void)dirfd;
	return false;
}
