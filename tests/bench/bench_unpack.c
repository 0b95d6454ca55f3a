// SPDX-License-Identifier: Apache-2.0
/* bench_unpack.c - time img_unpack() and the reading designs behind it
 *
 * usage: bench_unpack unpack BLOB DIR   unpack BLOB into the empty DIR
 *        bench_unpack chain BLOB        read only: decompress, hash, parse
 *                                       (the design img_unpack uses)
 *        bench_unpack single BLOB       read only: one reader, no hash
 *        bench_unpack twopass BLOB      read only: one reader, then a
 *                                       second decompression to hash
 *
 * Prints "MODE seconds uncompressed-bytes MB/s" on one line. Built and run
 * by tests/bench/unpack.sh.
 */

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "image/image.h"
#include "image/unpack-internal.h"

#define BLOCK (128 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct archive *reader(int fd, bool tar)
{
	struct archive *a = archive_read_new();

	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	if (tar)
		archive_read_support_format_tar(a);
	else
		archive_read_support_format_raw(a);
	if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK) {
		fprintf(stderr, "open: %s\n", archive_error_string(a));
		exit(1);
	}
	return a;
}

/* Read every entry's data; returns 0 or -1. */
static int read_entries(struct archive *a)
{
	struct archive_entry *e;
	int r;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		const void *buf;
		size_t len;
		la_int64_t off;

		while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
		       ARCHIVE_OK)
			;
		if (r != ARCHIVE_EOF)
			return -1;
	}
	return r == ARCHIVE_EOF ? 0 : -1;
}

struct chain {
	struct archive *outer;
	struct img_sha256 *sha;
	uint64_t size;
};

static la_ssize_t chain_read(struct archive *a, void *data, const void **buf)
{
	struct chain *c = data;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(c->outer, buf, &len, &off);

	(void)a;
	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK)
		return -1;
	img_sha256_update(c->sha, *buf, len);
	c->size += len;
	return len;
}

static uint64_t mode_chain(int fd)
{
	struct chain c = { reader(fd, false), img_sha256_new(), 0 };
	struct archive *in = archive_read_new();
	struct archive_entry *e;
	struct img_digest d;
	const void *buf;

	archive_read_next_header(c.outer, &e);
	archive_read_support_format_tar(in);
	archive_read_open(in, &c, NULL, chain_read, NULL);
	if (read_entries(in) < 0)
		exit(1);
	while (chain_read(in, &c, &buf) > 0)
		;
	img_sha256_final(c.sha, &d);
	archive_read_free(in);
	archive_read_free(c.outer);
	return c.size;
}

static uint64_t mode_single(int fd)
{
	struct archive *a = reader(fd, true);
	uint64_t size;

	if (read_entries(a) < 0)
		exit(1);
	size = archive_filter_bytes(a, 0);
	archive_read_free(a);
	return size;
}

static uint64_t mode_twopass(int fd)
{
	uint64_t size = mode_single(fd);
	struct archive *a;
	struct archive_entry *e;
	struct img_sha256 *sha = img_sha256_new();
	struct img_digest d;
	const void *buf;
	size_t len;
	la_int64_t off;

	lseek(fd, 0, SEEK_SET);
	a = reader(fd, false);
	archive_read_next_header(a, &e);
	while (archive_read_data_block(a, &buf, &len, &off) == ARCHIVE_OK)
		img_sha256_update(sha, buf, len);
	img_sha256_final(sha, &d);
	archive_read_free(a);
	return size;
}

int main(int argc, char **argv)
{
	struct img_unpack_opts opts = { 0 };
	struct hutch_err err = { 0 };
	struct img_digest d;
	uint64_t size = 0;
	double t0;
	int fd;

	if (argc < 3) {
		fprintf(stderr, "usage: see the top of bench_unpack.c\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[2]);
		return 1;
	}
	t0 = now();
	if (!strcmp(argv[1], "unpack") && argc == 4) {
		int dir = open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dir < 0 ||
		    img_unpack(fd, dir, &opts, &d, &size, &err) < 0) {
			fprintf(stderr, "unpack: %s\n", err.msg);
			return 1;
		}
	} else if (!strcmp(argv[1], "chain")) {
		size = mode_chain(fd);
	} else if (!strcmp(argv[1], "single")) {
		size = mode_single(fd);
	} else if (!strcmp(argv[1], "twopass")) {
		size = mode_twopass(fd);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	t0 = now() - t0;
	printf("%s %.3f %llu %.1f\n", argv[1], t0, (unsigned long long)size,
	       size / t0 / 1e6);
	return 0;
}
