// SPDX-License-Identifier: Apache-2.0
/* fuzz_squashfs.c - libFuzzer target for what hutch-squashfs parses of a
 * .sqsh file: the footer (hsq_footer_parse()) and the squashfs image,
 * walked whole through libsquashfs (hsq_check_image(): every inode,
 * directory, xattr and data block, and our checks of names and sizes)
 *
 * The digest is not checked here, or no input would get past it: the
 * input is taken as the squashfs image itself, as hutch-squashfs reads it
 * once the digest matched (a .sqsh made by someone who computed the digest
 * of a hostile image). Any input must be refused or accepted without a
 * sanitizer report, a leak or a hang. Build and run: tests/fuzz/README.md.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "squashfs/hsq-internal.h"

static int fd = -1;

const char *__asan_default_options(void);

/* As hutch-squashfs caps its data segment at 1 GiB (main.c), an
 * allocation over 1 GiB fails here instead of being a finding:
 * libsquashfs allocates an xattr value as large as the image says (up to
 * 4 GiB) before reading it, and our code must then fail cleanly. */
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1:max_allocation_size_mb=1024";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hutch_err err = { 0 };
	struct hsq_footer f;
	size_t count = 0;

	if (fd < 0 && (fd = memfd_create("fuzz-sqsh", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(fd, 0) < 0 ||
	    (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	if (size >= HSQ_FOOTER_SIZE)
		hsq_footer_parse(data + size - HSQ_FOOTER_SIZE, size, &f,
				 "input", &err);
	hsq_check_image(fd, size, "input", &count, &err);
	return 0;
}
