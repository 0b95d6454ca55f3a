// SPDX-License-Identifier: Apache-2.0
/* trailer.c - what follows the squashfs image in a hutch .sqsh file: the
 * image's config and a footer with the file's digest
 *
 *   [squashfs image, padded to 4 KiB][config JSON][footer, 64 bytes]
 *
 * The squashfs image starts at offset 0, so the file mounts and reads as
 * a plain squashfs (squashfuse, rdsquashfs, the kernel: they stop at the
 * superblock's bytes_used). The footer (struct hsq_footer) holds the
 * sizes of the two parts and the sha256 of both: a flipped byte anywhere
 * or a truncated file is refused before anything of it is used. The
 * digest guards against damage (a copy cut short on a full quota, a bad
 * disk, an edit), not against someone who rewrites the footer too: that
 * needs a signature, which is not done.
 */

#include <errno.h>
#include <endian.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "squashfs/hsq-internal.h"

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put_le64(unsigned char *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

void hsq_footer_encode(const struct hsq_footer *f, unsigned char *buf)
{
	memset(buf, 0, HSQ_FOOTER_SIZE);
	memcpy(buf, f->magic, sizeof(f->magic));
	put_le64(buf + 16, f->fs_size);
	put_le64(buf + 24, f->config_size);
	memcpy(buf + 32, f->digest, sizeof(f->digest));
}

int hsq_footer_parse(const unsigned char *buf, uint64_t size,
		     struct hsq_footer *out, const char *what,
		     struct hutch_err *err)
{
	memcpy(out->magic, buf, sizeof(out->magic));
	out->fs_size = get_le64(buf + 16);
	out->config_size = get_le64(buf + 24);
	memcpy(out->digest, buf + 32, sizeof(out->digest));
	if (memcmp(out->magic, HSQ_MAGIC, sizeof(HSQ_MAGIC)))
		return cmn_err_msg(
			err, EINVAL,
			"%s is not a hutch squashfs image or is truncated: its footer is missing; save it again with hutch save --format squashfs",
			what);
	if (out->fs_size < 4096 || out->fs_size % 4096 ||
	    out->config_size > size || out->fs_size > size - out->config_size ||
	    size - out->config_size - out->fs_size != HSQ_FOOTER_SIZE)
		return cmn_err_msg(
			err, EINVAL,
			"%s is damaged or truncated: its size (%llu bytes) does not match its footer; copy or save it again",
			what, (unsigned long long)size);
	return 0;
}

/* sha256 of the first @len bytes of @fd. */
static int digest(int fd, uint64_t len, unsigned char *out,
		  struct hutch_err *err)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	cleanup_free unsigned char *buf = malloc(1 << 20);
	uint64_t at = 0;
	int ret = ctx && buf && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)
			  ? 0
			  : -ENOMEM;

	while (ret == 0 && at < len) {
		size_t want = len - at < (1 << 20) ? (size_t)(len - at)
						   : (size_t)1 << 20;
		ssize_t got = pread(fd, buf, want, (off_t)at);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			ret = cmn_err_set(err, got < 0 ? errno : EIO,
					  "cannot read the image");
		else if (!EVP_DigestUpdate(ctx, buf, (size_t)got))
			ret = -ENOMEM;
		else
			at += (uint64_t)got;
	}
	if (ret == 0 && !EVP_DigestFinal_ex(ctx, out, NULL))
		ret = -ENOMEM;
	EVP_MD_CTX_free(ctx);
	return ret;
}

int hsq_append_trailer(int fd, const char *config, size_t len,
		       struct hutch_err *err)
{
	struct hsq_footer f = { .magic = HSQ_MAGIC, .config_size = len };
	unsigned char buf[HSQ_FOOTER_SIZE];
	off_t end = lseek(fd, 0, SEEK_END);
	int ret;

	if (end < 0)
		return cmn_err_set(err, errno, "cannot write the image");
	f.fs_size = ((uint64_t)end + 4095) / 4096 * 4096;
	if (ftruncate(fd, (off_t)f.fs_size) < 0 ||
	    pwrite(fd, config, len, (off_t)f.fs_size) != (ssize_t)len)
		return cmn_err_set(err, errno ? errno : EIO,
				   "cannot write the image");
	ret = digest(fd, f.fs_size + len, f.digest, err);
	if (ret < 0)
		return ret;
	hsq_footer_encode(&f, buf);
	if (pwrite(fd, buf, sizeof(buf), (off_t)(f.fs_size + len)) !=
	    (ssize_t)sizeof(buf))
		return cmn_err_set(err, errno ? errno : EIO,
				   "cannot write the image");
	return 0;
}

int hsq_read_footer(int fd, const char *what, struct hsq_footer *f,
		    struct hutch_err *err)
{
	unsigned char buf[HSQ_FOOTER_SIZE];
	struct stat st;

	if (fstat(fd, &st) < 0)
		return cmn_err_set(err, errno, "cannot stat %s", what);
	if (!S_ISREG(st.st_mode) || st.st_size < HSQ_FOOTER_SIZE ||
	    pread(fd, buf, sizeof(buf), st.st_size - HSQ_FOOTER_SIZE) !=
		    (ssize_t)sizeof(buf))
		return cmn_err_msg(
			err, EINVAL,
			"%s is not a hutch squashfs image or is truncated: it is too short for its footer; copy or save it again",
			what);
	return hsq_footer_parse(buf, (uint64_t)st.st_size, f, what, err);
}

static int read_config(int fd, const char *what, const struct hsq_footer *f,
		       char **config, struct hutch_err *err)
{
	char *cfg = malloc(f->config_size + 1);

	if (!cfg)
		return -ENOMEM;
	if (pread(fd, cfg, f->config_size, (off_t)f->fs_size) !=
	    (ssize_t)f->config_size) {
		free(cfg);
		return cmn_err_set(err, errno ? errno : EIO, "cannot read %s",
				   what);
	}
	cfg[f->config_size] = '\0';
	*config = cfg;
	return 0;
}

int hsq_read_document(int fd, const char *what, char **doc,
		      struct hutch_err *err)
{
	struct hsq_footer f;
	int ret = hsq_read_footer(fd, what, &f, err);

	return ret < 0 ? ret : read_config(fd, what, &f, doc, err);
}

int hsq_verify(int fd, const char *what, char **config, uint64_t *fs_size,
	       struct hutch_err *err)
{
	unsigned char sum[32];
	struct hsq_footer f;
	int ret = hsq_read_footer(fd, what, &f, err);

	if (ret < 0)
		return ret;
	ret = digest(fd, f.fs_size + f.config_size, sum, err);
	if (ret < 0)
		return ret;
	if (memcmp(sum, f.digest, sizeof(sum)))
		return cmn_err_msg(
			err, EINVAL,
			"%s is damaged: its sha256 does not match the one in its footer (a changed or corrupt byte); copy or save it again",
			what);
	if (config && (ret = read_config(fd, what, &f, config, err)) < 0)
		return ret;
	if (fs_size)
		*fs_size = f.fs_size;
	return 0;
}
