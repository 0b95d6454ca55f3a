/* SPDX-License-Identifier: Apache-2.0 */
/* cleanup.h - scope-based release of memory, descriptors and streams
 *
 * Declare and initialise in one statement:
 *
 *	cleanup_free char *buf = malloc(n);
 *	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
 *
 * and hand ownership on with steal_ptr()/steal_fd(). The helpers keep errno
 * intact so that a caller can still report the failure that made it leave.
 * Do not mix these with goto-based unwinding in one function.
 */
#ifndef HUTCH_COMMON_CLEANUP_H
#define HUTCH_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cmn_freep(void *p)
{
	int saved = errno;

	free(*(void **)p);
	errno = saved;
}

static inline void cmn_closep(const int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		close(*fd);
	errno = saved;
}

static inline void cmn_fclosep(FILE **f)
{
	int saved = errno;

	if (*f)
		fclose(*f);
	errno = saved;
}

static inline void cmn_closedirp(DIR **d)
{
	int saved = errno;

	if (*d)
		closedir(*d);
	errno = saved;
}

/* A NULL-terminated array of owned strings. */
static inline void cmn_strv_freep(char ***v)
{
	int saved = errno;

	if (*v) {
		for (char **p = *v; *p; p++)
			free(*p);
		free(*v);
	}
	errno = saved;
}

#define cleanup_free   __attribute__((cleanup(cmn_freep)))
#define cleanup_close  __attribute__((cleanup(cmn_closep)))
#define cleanup_fclose __attribute__((cleanup(cmn_fclosep)))
#define cleanup_dir    __attribute__((cleanup(cmn_closedirp)))
#define cleanup_strv   __attribute__((cleanup(cmn_strv_freep)))

#define steal_ptr(pp)                              \
	({                                         \
		__typeof__(*(pp)) _stolen = *(pp); \
		*(pp) = NULL;                      \
		_stolen;                           \
	})

#define steal_fd(fdp)                 \
	({                            \
		int _stolen = *(fdp); \
		*(fdp) = -1;          \
		_stolen;              \
	})

#endif
