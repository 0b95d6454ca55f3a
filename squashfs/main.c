// SPDX-License-Identifier: Apache-2.0
/* main.c - hutch-squashfs: an image's layers into one squashfs file, and
 * that file checked
 *
 * Theory of operation
 * -------------------
 * hutch keeps libsquashfs out of its own binary (a plain `hutch run` does
 * not load it) and calls this helper, as it calls hutch-overlay and
 * hutch-net, found the same way ($HUTCH_SQUASHFS, next to hutch, PATH):
 *
 *   hutch-squashfs pack [--mtime SECONDS] OUT LAYER...
 *       merge the layer directories (base first) as overlayfs shows them
 *       (tree.c), write the result as a squashfs image to OUT (write.c)
 *       and append the JSON document read from standard input and the
 *       footer with the file's digest (trailer.c). hutch runs it as root
 *       of the containers' user namespace, so the owners it reads are the
 *       container's ids, whatever the mapping.
 *   hutch-squashfs verify FILE
 *       check the footer, sizes and digest, then walk the whole squashfs
 *       image with libsquashfs; print the JSON document.
 *   hutch-squashfs mount [--ready-fd=N] [--exit-with-mntns]
 *                        [--verified-cache=DIR] FILE DIR
 *       verify (once per unchanged file with a cache: verified.c), then
 *       serve the squashfs on DIR through libfuse3 and
 *       libsquashfuse_ll until it is unmounted (mount.c).
 *   hutch-squashfs config FILE
 *       print the JSON document, its digest not checked (run reads the
 *       config this way; the mount checks the digest).
 *   hutch-squashfs unpack FILE DIR
 *       verify, then make the image's tree in the empty directory DIR
 *       (hutch load and import of a .sqsh, in the user namespace).
 *
 * Exit status: 0, 1 for a file that is not a good image, 125 for a
 * failure of the helper itself (hutch's convention).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "squashfs/hsq-internal.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: hutch-squashfs pack [--mtime SECONDS] OUT LAYER...\n"
		"       hutch-squashfs verify FILE\n"
		"       hutch-squashfs config FILE\n"
		"       hutch-squashfs unpack FILE DIR\n"
		"       hutch-squashfs prune-verified DIR\n"
		"       hutch-squashfs mount [--ready-fd=N] [--exit-with-mntns] [--verified-cache=DIR] FILE DIR\n"
		"       hutch-squashfs --version\n");
	return 125;
}

static int fail(const struct hutch_err *err, int ret, int status)
{
	fprintf(stderr, "hutch-squashfs: %s\n",
		err->msg[0] ? err->msg : strerror(-ret));
	return status;
}

/* Standard input, whole, NUL-terminated. */
static char *read_stdin(size_t *len)
{
	size_t cap = 4096;
	char *buf = malloc(cap);

	*len = 0;
	while (buf) {
		ssize_t got;

		if (cap - *len < 2) {
			char *grown = realloc(buf, cap *= 2);

			if (!grown)
				break;
			buf = grown;
		}
		got = read(STDIN_FILENO, buf + *len, cap - *len - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (got == 0) {
				buf[*len] = '\0';
				return buf;
			}
			break;
		}
		*len += (size_t)got;
	}
	free(buf);
	return NULL;
}

static int pack(int argc, char **argv)
{
	struct hutch_err err = { 0 };
	struct hsq_node *root = NULL;
	cleanup_free char *config = NULL;
	cleanup_close int fd = -1;
	unsigned long mtime = 0;
	size_t len;
	int i = 0, ret = 0;

	if (argc > 2 && !strcmp(argv[0], "--mtime")) {
		mtime = strtoul(argv[1], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc < 2)
		return usage();
	config = read_stdin(&len);
	if (!config)
		return fail(
			&(struct hutch_err){
				.msg = "cannot read the JSON document on standard input" },
			-EIO, 125);
	for (i = 1; ret == 0 && i < argc; i++) {
		int layer = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* Each layer's descriptor stays open until the process
		 * ends: the tree's nodes refer to them. */
		if (layer < 0)
			ret = cmn_err_set(&err, errno, "cannot open layer %s",
					  argv[i]);
		else
			ret = hsq_tree_merge(&root, layer, &err);
	}
	if (ret == 0) {
		hsq_tree_sort(root);
		ret = hsq_write(root, argv[0], (uint32_t)mtime, &err);
	}
	hsq_tree_free(root);
	if (ret == 0 && (fd = open(argv[0], O_RDWR | O_CLOEXEC)) < 0)
		ret = cmn_err_set(&err, errno, "cannot open %s", argv[0]);
	if (ret == 0)
		ret = hsq_append_trailer(fd, config, len, &err);
	if (ret == 0 && fsync(fd) < 0)
		ret = cmn_err_set(&err, errno, "cannot write %s", argv[0]);
	return ret < 0 ? fail(&err, ret, 125) : 0;
}

/* verify FILE, or unpack FILE DIR when @dir is set. */
static int verify(const char *path, const char *dir)
{
	struct hutch_err err = { 0 };
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_close int dfd = -1;
	cleanup_free char *config = NULL;
	uint64_t size = 0;
	int ret;

	if (fd < 0)
		return fail(&err,
			    cmn_err_set(&err, errno, "cannot open %s", path),
			    1);
	if (dir && (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(&err,
			    cmn_err_set(&err, errno, "cannot open %s", dir),
			    125);
	ret = hsq_verify(fd, path, &config, &size, &err);
	if (ret == 0)
		ret = dir ? hsq_unpack(fd, size, path, dfd, &err)
			  : hsq_check_image(fd, size, path, NULL, &err);
	if (ret < 0)
		return fail(&err, ret, ret == -ENOMEM ? 125 : 1);
	fputs(config, stdout);
	return fflush(stdout) == 0 ? 0 : 125;
}

/* config FILE: the document, from the footer's sizes alone (the digest is
 * checked when the file is mounted). */
static int config(const char *path)
{
	struct hutch_err err = { 0 };
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *doc = NULL;
	int ret;

	if (fd < 0)
		return fail(&err,
			    cmn_err_set(&err, errno, "cannot open %s", path),
			    1);
	ret = hsq_read_document(fd, path, &doc, &err);
	if (ret < 0)
		return fail(&err, ret, ret == -ENOMEM ? 125 : 1);
	fputs(doc, stdout);
	return fflush(stdout) == 0 ? 0 : 125;
}

static int serve(int argc, char **argv)
{
	struct hutch_err err = { 0 };
	bool exit_with_ns = false;
	const char *cache = NULL;
	int ready = -1, ret;

	for (; argc > 2 && !strncmp(argv[0], "--", 2); argc--, argv++) {
		if (!strncmp(argv[0], "--ready-fd=", 11))
			ready = atoi(argv[0] + 11);
		else if (!strncmp(argv[0], "--verified-cache=", 17))
			cache = argv[0] + 17;
		else if (!strcmp(argv[0], "--exit-with-mntns"))
			exit_with_ns = true;
		else
			return usage();
	}
	if (argc != 2)
		return usage();
	ret = hsq_mount(argv[0], argv[1], cache, ready, exit_with_ns, &err);
	return ret < 0 ? fail(&err, ret, ret == -EINVAL ? 1 : 125) : 0;
}

/* prune-verified DIR: the verified cache's stale entries gone; prints how
 * many. */
static int prune_verified(const char *dir)
{
	struct hutch_err err = { 0 };
	size_t n = 0;
	int ret = hsq_verified_prune(dir, &n, &err);

	if (ret < 0)
		return fail(&err, ret, 125);
	printf("%zu\n", n);
	return fflush(stdout) == 0 ? 0 : 125;
}

/* What reads an untrusted file gets 1 GiB of data: libsquashfs allocates
 * an xattr value as large as the file says (up to 4 GiB) before reading
 * it, and such a file must fail with ENOMEM, not take the node's memory.
 * (The tree of a million files takes some 200 MiB.) */
static void cap_memory(void)
{
#ifndef __SANITIZE_ADDRESS__ /* ASan's own mappings need far more */
	struct rlimit r = { 1UL << 30, 1UL << 30 };

	if (setrlimit(RLIMIT_DATA, &r) < 0)
		cmn_warn("cannot limit the data segment: %s", strerror(errno));
#endif
}

int main(int argc, char **argv)
{
	cmn_log_init("hutch-squashfs");
	if (argc > 1 && strcmp(argv[1], "pack") && strcmp(argv[1], "--version"))
		cap_memory();
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("hutch-squashfs version %s\n", cmn_version_string());
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "pack"))
		return pack(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return verify(argv[2], NULL);
	if (argc > 3 && !strcmp(argv[1], "mount"))
		return serve(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "config"))
		return config(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "unpack"))
		return verify(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "prune-verified"))
		return prune_verified(argv[2]);
	return usage();
}
