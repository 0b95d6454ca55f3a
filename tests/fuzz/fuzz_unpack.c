// SPDX-License-Identifier: Apache-2.0
/* fuzz_unpack.c - libFuzzer target for img_unpack(): any bytes as a layer
 *
 * Each input is unpacked into a fresh directory dest/ beside a directory
 * outside/ that holds one file, victim. After every input, whether
 * img_unpack() accepted it or not, nothing may exist beside dest/ and
 * outside/, outside/ must hold only victim, unchanged and with one link;
 * anything else aborts (a finding). The first byte chooses the options.
 * The two live in a fresh directory under $TMPDIR (/tmp without it).
 * Build and run: see tests/fuzz/README.md. Run it as an unprivileged user.
 */

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "image/unpack-internal.h"

static char base[128];
static char dest[160];
static char victim[192];
static int blob = -1;

/* How many unreadable directories the last pass opened up. */
static int opened;

/* A layer may give a directory any mode: make each one the walk meets
 * readable and searchable again, so that its contents can go. */
static int chmod_cb(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_D)
		chmod(path, 0700);
	else if (type == FTW_DNR && chmod(path, 0700) == 0)
		opened++;
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_DNR)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* A directory the walk could not read (mode 0300, say) hides what it
 * holds until it is opened up, so walk again until nothing is hidden. */
static void rm_rf(const char *path)
{
	do {
		opened = 0;
		nftw(path, chmod_cb, 16, FTW_PHYS);
	} while (opened);
	nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void cleanup(void)
{
	if (base[0])
		rm_rf(base);
}

static void init(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[160];

	if (!tmp || !*tmp || strlen(tmp) > 100)
		tmp = "/tmp";
	snprintf(base, sizeof(base), "%s/hutch-fuzz-XXXXXX", tmp);
	if (!mkdtemp(base))
		abort();
	atexit(cleanup);
	snprintf(dest, sizeof(dest), "%s/dest", base);
	snprintf(path, sizeof(path), "%s/outside", base);
	snprintf(victim, sizeof(victim), "%s/victim", path);
	if (mkdir(path, 0755) < 0 ||
	    cmn_write_fileat(AT_FDCWD, victim, "v", 1, 0644) < 0)
		abort();
	blob = memfd_create("layer", MFD_CLOEXEC);
	if (blob < 0)
		abort();
	cmn_log_level = CMN_LOG_ERROR;
}

/* Nothing may have appeared or changed outside dest/. */
static void check_contained(void)
{
	char path[160], buf[4];
	DIR *d = opendir(base);
	struct dirent *de;
	struct stat st;
	int fd;

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "dest") && strcmp(de->d_name, "outside"))
			abort();
	closedir(d);
	snprintf(path, sizeof(path), "%s/outside", base);
	d = opendir(path);
	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "victim"))
			abort();
	closedir(d);
	fd = open(victim, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_nlink != 1 ||
	    st.st_size != 1 || read(fd, buf, 2) != 1 || buf[0] != 'v' ||
	    (st.st_mode & 07777) != 0644)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img_unpack_opts opts = { 0 };
	struct hutch_err err;
	struct img_digest d;
	uint64_t len;
	int dirfd;

	if (blob < 0)
		init();
	if (size > 0) {
		opts.keep_owner = data[0] & 1;
		opts.oci_whiteouts = data[0] & 2;
		data++;
		size--;
	}
	if (ftruncate(blob, 0) < 0 ||
	    (size && pwrite(blob, data, size, 0) != (ssize_t)size) ||
	    lseek(blob, 0, SEEK_SET) != 0 || mkdir(dest, 0755) < 0)
		abort();
	dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		abort();
	img_unpack(blob, dirfd, &opts, &d, &len, &err);
	close(dirfd);
	check_contained();
	rm_rf(dest);
	return 0;
}
