/* SPDX-License-Identifier: Apache-2.0 */
/* common.h - what every part of hutch shares: errors, logging, files,
 * strings, JSON files, directories, safe path resolution and descriptor
 * passing. The whole interface of common/; nothing here prints to the
 * terminal except the logger.
 */
#ifndef HUTCH_COMMON_H
#define HUTCH_COMMON_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/cleanup.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Exit codes, as Docker uses them. */
enum {
	CMN_EXIT_HUTCH = 125,	   /* hutch itself failed */
	CMN_EXIT_CANNOT_RUN = 126, /* the command exists but cannot be run */
	CMN_EXIT_NOT_FOUND = 127,  /* the command was not found */
};

/* ---- errors (err.c) ---------------------------------------------------- */

/**
 * struct hutch_err - an error with the context a human needs
 * @code: positive errno of the cause, or 0 when there is none
 * @msg:  one line: what failed, why, and what to do
 *
 * Functions that act return 0 or -errno; where a message helps they also
 * fill a caller-provided struct hutch_err. Callers add context on the way up
 * with cmn_err_prefix(). A NULL @err is allowed everywhere and ignored.
 */
struct hutch_err {
	int code;
	char msg[1024];
};

/**
 * cmn_err_set() - fill @err with a formatted message
 * @errnum: positive errno appended as ": strerror" (0: nothing appended)
 *
 * Return: -@errnum, or -EINVAL when @errnum is 0, so that callers can write
 * "return cmn_err_set(err, errno, "cannot open %s", path);".
 */
int cmn_err_set(struct hutch_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * cmn_err_msg() - fill @err with a message that is complete by itself
 * (bad input, a missing name): like cmn_err_set() but without strerror.
 * Return: -@code.
 */
int cmn_err_msg(struct hutch_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** cmn_err_prefix() - prepend "context: " to the message in @err. */
void cmn_err_prefix(struct hutch_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** cmn_err_fix() - append "; FIX" (what the user should do) to @err. */
void cmn_err_fix(struct hutch_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- logging (log.c) --------------------------------------------------- */

enum cmn_log_level {
	CMN_LOG_ERROR,
	CMN_LOG_WARN,
	CMN_LOG_INFO,
	CMN_LOG_DEBUG
};

/* Set from HUTCH_DEBUG or --debug by the programs' main(). */
extern enum cmn_log_level cmn_log_level;
/* The prefix of every line, "hutch" by default. */
extern const char *cmn_log_prog;

void cmn_log(enum cmn_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define cmn_debug(...) cmn_log(CMN_LOG_DEBUG, __VA_ARGS__)
#define cmn_warn(...)  cmn_log(CMN_LOG_WARN, __VA_ARGS__)
/** cmn_log_init() - read HUTCH_DEBUG from the environment. */
void cmn_log_init(const char *prog);

/* ---- files and descriptors (file.c) ------------------------------------ */

/** cmn_write_all() - write all of @buf, retrying EINTR and short writes. */
int cmn_write_all(int fd, const void *buf, size_t len);

/** cmn_read_all() - read up to @len bytes until EOF; returns the count or
 * -errno. */
ssize_t cmn_read_all(int fd, void *buf, size_t len);

/** cmn_copy_data() - copy @in from its offset to its end onto @out:
 * copy_file_range(2) where the filesystems allow it (a reflink on some),
 * read and write otherwise. Return: 0 or -errno. */
int cmn_copy_data(int in, int out);

/**
 * cmn_read_fileat() - read a whole file into a NUL-terminated buffer
 * @dirfd: AT_FDCWD or a directory the path is relative to
 * @max:   refuse (-EFBIG) files larger than this
 * @len:   set to the length read, may be NULL
 *
 * Return: the buffer (owned by the caller), or NULL with errno set.
 */
char *cmn_read_fileat(int dirfd, const char *path, size_t max, size_t *len);

/** cmn_write_fileat() - create or truncate @path and write @data to it. */
int cmn_write_fileat(int dirfd, const char *path, const char *data, size_t len,
		     mode_t mode);

/** cmn_mkdir_p() - create @path and its parents (0 if it exists). */
int cmn_mkdir_p(const char *path, mode_t mode);

/**
 * cmn_opendirat() - opendir() of @path under @dirfd ("." for @dirfd
 * itself, as a new open file: a dup would share its offset), with
 * O_DIRECTORY | O_CLOEXEC and @flags (say O_NOFOLLOW). The descriptor is
 * closed when fdopendir() fails, which the open-then-fdopendir idiom
 * leaked.
 * Return: the stream, or NULL with errno set.
 */
DIR *cmn_opendirat(int dirfd, const char *path, int flags);

/**
 * cmn_remove_tree() - delete @name under @dirfd and everything below it,
 * without following symlinks; directories without write or search
 * permission are opened up first (layers contain 0555 directories).
 * Return: 0 (also when @name does not exist) or -errno.
 */
int cmn_remove_tree(int dirfd, const char *name);

/**
 * cmn_tree_size() - the disk space of @name under @dirfd and everything
 * below it (st_blocks, links not followed, 64 levels at most); what cannot
 * be read counts nothing. 0 when @name is missing.
 */
uint64_t cmn_tree_size(int dirfd, const char *name);

/**
 * cmn_close_fds_from() - close every descriptor >= @lowest except @keep
 * (-1: none). Used before handing control to a container so that nothing
 * of the host leaks in.
 */
int cmn_close_fds_from(int lowest, int keep);

/* ---- descriptor passing (fdpass.c) ------------------------------------- */

/**
 * cmn_send_fd() - send @len bytes of @buf as one message on the unix
 * socket @sock (SOCK_SEQPACKET: it arrives whole), with the descriptor @fd
 * attached as SCM_RIGHTS, or none when @fd is -1
 *
 * @fd stays open here; the receiver gets its own copy. EINTR is retried; a
 * peer that is gone is -EPIPE, never SIGPIPE.
 * Return: 0, -errno, or -EIO when less than @len bytes went out.
 */
int cmn_send_fd(int sock, const void *buf, size_t len, int fd);

/**
 * cmn_recv_fd() - receive one message of exactly @len bytes into @buf,
 * and the descriptor that came with it
 * @fd: set to the descriptor received (close-on-exec, owned by the caller)
 *      or -1 when none came; may be NULL: a descriptor that comes anyway is
 *      closed
 *
 * EINTR is retried. A message of another length, with its payload or
 * control data cut, or carrying more than one descriptor is refused, and
 * every descriptor it carried is closed.
 * Return: 1 for a message, 0 at end of file (the peer closed its end),
 * -EPROTO for a bad message, or -errno.
 */
int cmn_recv_fd(int sock, void *buf, size_t len, int *fd);

/* ---- JSON files (json.c) ----------------------------------------------- */

/* jansson's json_t, without making every user of common.h (hutch-overlay,
 * hutch-net) include jansson.h. */
struct json_t;

enum {
	CMN_JSON_SECRET = 1 << 0, /* wipe the text read once parsed */
};

/**
 * cmn_json_load() - read a file that holds one JSON object
 * @dirfd: AT_FDCWD or the directory @path is relative to
 * @path:  the file, named in every message
 * @what:  what the file is, for the messages: "the registries config"
 *         gives "the registries config PATH is not a JSON object: ..."
 * @max:   larger files are refused (EFBIG)
 * @flags: CMN_JSON_SECRET for files that hold credentials
 * @err:   filled on every failure with one line naming @path; the caller
 *         adds its fix (cmn_err_fix()) or replaces the message
 *
 * Return: the object, a new reference the caller drops with json_decref(),
 * or NULL with @err filled and errno telling the three failures apart:
 * ENOENT (or ENOTDIR) when there is no such file, which a caller with a
 * default takes as "use the default"; EBADMSG when the file is not JSON
 * (damaged, truncated); EINVAL when it is JSON but not an object. Any other
 * errno (EACCES, EFBIG, ...) is the read's, as "cannot read WHAT PATH: why".
 */
struct json_t *cmn_json_load(int dirfd, const char *path, const char *what,
			     size_t max, unsigned int flags,
			     struct hutch_err *err);

/* ---- strings (str.c) ---------------------------------------------------- */

/** cmn_strdup_printf() - like asprintf; NULL with errno set on failure. */
char *cmn_strdup_printf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/**
 * cmn_strv_push() - append a string to a NULL-terminated array
 * @v:   the array (NULL for an empty one), reallocated
 * @s:   the string; ownership passes to the array even on failure
 *
 * Return: 0 or -ENOMEM.
 */
int cmn_strv_push(char ***v, char *s);
/** cmn_strv_len() - the number of strings in @v (0 for NULL). */
size_t cmn_strv_len(char *const *v);
/** cmn_strv_free() - free the array and its strings. */
void cmn_strv_free(char **v);
/** cmn_strv_dup() - a deep copy of @v, or NULL with errno set. */
char **cmn_strv_dup(char *const *v);

/**
 * cmn_parse_u64() - parse a whole decimal number no larger than @max
 * Return: true on success; false for empty input, junk or overflow.
 */
bool cmn_parse_u64(const char *s, uint64_t max, uint64_t *out);
/** cmn_parse_go_bool() - Go's strconv.ParseBool, which Docker and BuildKit
 * use for their boolean options: 1 t T TRUE true True, 0 f F FALSE false
 * False. Return: false when @s is none of those. */
bool cmn_parse_go_bool(const char *s, bool *out);
/** cmn_parse_size() - Docker's sizes (go-units RAMInBytes): 4096, 64m,
 * 1.5g, "2 GiB": k/m/g/t/p in powers of 1024, any case, an optional i and
 * b. Return: false when @s is not one. */
bool cmn_parse_size(const char *s, uint64_t *out);

/** cmn_signal_parse() - "SIGTERM", "TERM", "term" or "15" into a signal
 * number; -1 when it names none. */
int cmn_signal_parse(const char *s);
/** cmn_signal_name() - "SIGTERM" for 15 (static), "SIG?" when unknown. */
const char *cmn_signal_name(int sig);

/** cmn_random_hex() - fill @out with 2*@nbytes hex digits and a NUL. */
int cmn_random_hex(char *out, size_t nbytes);

/** cmn_has_prefix() - does @s start with @prefix? */
bool cmn_has_prefix(const char *s, const char *prefix);

/* ---- the version (version.c) ------------------------------------------- */

/**
 * cmn_version_string() - "0.1.0 (commit abcdef123456)": the release and
 * commit this program was built from, the same in hutch and its helpers,
 * which print it as "NAME version STRING" (static).
 */
const char *cmn_version_string(void);

/* ---- hutch's directories (dirs.c) -------------------------------------- */

/**
 * cmn_store_dir() - $HUTCH_ROOT, else ${XDG_DATA_HOME:-~/.local/share}/hutch
 * Return: an owned string, or NULL with errno set. Not created.
 */
char *cmn_store_dir(void);

/**
 * cmn_runtime_dir() - where sockets, pid files and locks live:
 * $HUTCH_RUNTIME, else $XDG_RUNTIME_DIR/hutch when that directory exists and
 * belongs to us, else $TMPDIR/hutch-$UID, else /tmp/hutch-$UID.
 * Return: an owned string, or NULL with errno set. Not created.
 */
char *cmn_runtime_dir(void);

/**
 * cmn_runtime_dir_open() - create the runtime directory if needed (0700) and
 * check that it is ours and closed to others before anything in it is
 * trusted: /tmp/hutch-$UID could have been made by another user first.
 * Return: an owned path, or NULL with @err naming the problem and the fix.
 */
char *cmn_runtime_dir_open(struct hutch_err *err);

/**
 * cmn_local_dir() - where containers of the store @store keep their upper,
 * work and mount-point directories when the store is on a shared
 * filesystem: node-local disk, $TMPDIR/hutch-$UID/local/<hash of @store>
 * (/tmp when TMPDIR is unset or unusable). One directory per store, so
 * that `system prune` of one store never takes another's.
 * Return: an owned string, or NULL with errno set. Not created.
 */
char *cmn_local_dir(const char *store);

/**
 * cmn_local_dir_open() - cmn_local_dir(), created if needed (0700) and
 * checked to be ours and closed to others, as cmn_runtime_dir_open() does.
 * Return: an owned path, or NULL with @err naming the problem and the fix.
 */
char *cmn_local_dir_open(const char *store, struct hutch_err *err);

/* ---- hashing (hash.c) ------------------------------------------------- */

/** cmn_fnv1a64() - FNV-1a over @len bytes, continuing from @h (start with
 * CMN_FNV_INIT). Not cryptographic: names for caches whose entries carry
 * their full key. */
#define CMN_FNV_INIT 0xcbf29ce484222325ULL
uint64_t cmn_fnv1a64(uint64_t h, const void *data, size_t len);

/* ---- paths inside a root (path.c) -------------------------------------- */

enum cmn_create {
	CMN_CREATE_NONE, /* the path must exist */
	CMN_CREATE_DIR,	 /* create missing components; the last as a dir */
	CMN_CREATE_FILE, /* create missing components; the last as a file */
};

/**
 * cmn_open_in_root() - open @path as if @rootfd were "/"
 * @rootfd: a directory descriptor, the root of the tree (container rootfs,
 *          image layer, build context)
 * @path:   absolute or relative; both are taken relative to @rootfd
 * @flags:  open(2) flags for the last component (O_PATH, O_RDONLY |
 *          O_DIRECTORY, ...); O_CLOEXEC is always added; O_NOFOLLOW leaves a
 *          final symlink unfollowed
 * @create: whether missing components are created: intermediate ones as
 *          0755 directories, the last as a 0755 directory or 0644 empty file
 *
 * Symlinks, absolute or relative, and ".." are resolved inside the tree:
 * nothing the tree contains can make the walk leave it. Uses openat2(2)
 * with RESOLVE_IN_ROOT where the kernel has it, a component-by-component
 * walk otherwise (and whenever something must be created).
 *
 * Return: a descriptor owned by the caller, or -errno (-ELOOP after 40
 * symlinks, -ENOTDIR when a component is not a directory, -EEXIST when the
 * last component exists with the wrong type for @create).
 */
int cmn_open_in_root(int rootfd, const char *path, int flags,
		     enum cmn_create create);

/* Tests set this to force the portable walk even where openat2 exists. */
extern bool cmn_path_force_walk;

#endif
