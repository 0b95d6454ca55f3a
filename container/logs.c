// SPDX-License-Identifier: Apache-2.0
/* logs.c - a detached container's output: written by its monitor as JSON
 * lines (Docker's json-file format, so tools that read Docker's logs read
 * ours), read back by `hutch logs` with --tail, --since, -t and -f
 *
 * Each line keeps its stream (stdout and stderr apart) and the time it was
 * read. A line longer than the buffer is cut into several records, as
 * Docker does, rather than held back without bound.
 */

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "container/container-internal.h"

#define LINE_MAX_BYTES 16384

struct ctr_log {
	int fd;
	char buf[2]
		[LINE_MAX_BYTES]; /* per stream: bytes of an unfinished line */
	size_t len[2];
};

static char *log_path(const char *id)
{
	cleanup_free char *dir = ctr_container_dir(id);

	return dir ? cmn_strdup_printf("%s/container.log", dir) : NULL;
}

struct ctr_log *ctr_log_open(const struct ctr_container *c,
			     struct hutch_err *err)
{
	cleanup_free char *path = log_path(c->cfg.id);
	struct ctr_log *l = calloc(1, sizeof(*l));

	if (!path || !l) {
		free(l);
		cmn_err_set(err, ENOMEM, "log");
		return NULL;
	}
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		cmn_err_set(err, errno, "cannot open %s", path);
		free(l);
		return NULL;
	}
	return l;
}

/* "2024-05-01T12:34:56.123456789Z" */
static void rfc3339nano(int64_t ns, char buf[static 40])
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 40 - n, ".%09lldZ", (long long)(ns % 1000000000));
}

static void emit(struct ctr_log *l, int stream, const char *data, size_t len)
{
	char when[40];
	json_t *j;
	char *text;

	rfc3339nano(ctr_now_ns(), when);
	j = json_pack("{s:s%,s:s,s:s}", "log", data, len, "stream",
		      stream == 2 ? "stderr" : "stdout", "time", when);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text) {
		size_t n = strlen(text);

		/* One write per record: a reader never sees half a line. */
		text[n] = '\n';
		cmn_write_all(l->fd, text, n + 1);
		free(text);
	}
	if (j)
		json_decref(j);
}

void ctr_log_write(struct ctr_log *l, int stream, const char *buf, size_t len)
{
	int s = stream == 2 ? 1 : 0;

	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) + 1 : len;

		if (take > LINE_MAX_BYTES - l->len[s])
			take = LINE_MAX_BYTES - l->len[s];
		memcpy(l->buf[s] + l->len[s], buf, take);
		l->len[s] += take;
		buf += take;
		len -= take;
		if (l->buf[s][l->len[s] - 1] == '\n' ||
		    l->len[s] == LINE_MAX_BYTES) {
			emit(l, stream, l->buf[s], l->len[s]);
			l->len[s] = 0;
		}
	}
}

void ctr_log_flush(struct ctr_log *l)
{
	for (int s = 0; s < 2; s++)
		if (l->len[s]) {
			emit(l, s + 1, l->buf[s], l->len[s]);
			l->len[s] = 0;
		}
}

void ctr_log_close(struct ctr_log *l)
{
	if (!l)
		return;
	ctr_log_flush(l);
	close(l->fd);
	free(l);
}

/* ---- reading ------------------------------------------------------------------ */

/* One record to the right descriptor; false for a line that is not one. */
static bool print_record(const char *line, const struct ctr_log_opts *o,
			 int out, int err)
{
	json_t *j = json_loads(line, 0, NULL);
	const char *text = json_string_value(json_object_get(j, "log"));
	const char *stream = json_string_value(json_object_get(j, "stream"));
	const char *when = json_string_value(json_object_get(j, "time"));
	size_t len = json_string_length(json_object_get(j, "log"));
	int fd = stream && !strcmp(stream, "stderr") ? err : out;
	bool ok = text && when;

	if (ok && o->since && strcmp(when, o->since) < 0)
		ok = false;
	else if (ok) {
		if (o->timestamps) {
			cmn_write_all(fd, when, strlen(when));
			cmn_write_all(fd, " ", 1);
		}
		cmn_write_all(fd, text, len);
	}
	if (j)
		json_decref(j);
	return ok;
}

/* Print complete lines from @fd onwards; the tail of an incomplete one
 * stays in @pending for the next call (a writer in the middle of it). */
static void print_from(int fd, const struct ctr_log_opts *o, int out, int err,
		       char **pending, size_t *plen)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *more = realloc(*pending, *plen + (size_t)n + 1);
		char *line, *nl;

		if (!more)
			return;
		*pending = more;
		memcpy(*pending + *plen, buf, (size_t)n);
		*plen += (size_t)n;
		(*pending)[*plen] = '\0';
		line = *pending;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			print_record(line, o, out, err);
			line = nl + 1;
		}
		*plen -= (size_t)(line - *pending);
		memmove(*pending, line, *plen);
	}
}

/* Where the last @tail lines start, so only they are printed. */
static off_t tail_offset(int fd, int tail)
{
	char buf[65536];
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	int lines = 0;

	while (pos > 0) {
		size_t want =
			pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t n;

		pos -= (off_t)want;
		n = pread(fd, buf, want, pos);
		if (n <= 0)
			return 0;
		for (ssize_t i = n - 1; i >= 0; i--)
			if (buf[i] == '\n' && pos + i != end - 1 &&
			    ++lines == tail)
				return pos + i + 1;
	}
	return 0;
}

static void follow(int fd, const char *path, struct ctr_container *c,
		   const struct ctr_log_opts *o, int out, int err,
		   char **pending, size_t *plen)
{
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (in >= 0)
		inotify_add_watch(in, path, IN_MODIFY);
	for (;;) {
		struct pollfd p = { in, POLLIN, 0 };
		char ev[4096];

		print_from(fd, o, out, err, pending, plen);
		ctr_state_load(c);
		if (c->status != CTR_RUNNING)
			break;
		/* inotify wakes us on writes; the time-out notices a stop
		 * that wrote nothing. */
		if (poll(&p, 1, in >= 0 ? 1000 : 200) > 0)
			while (read(in, ev, sizeof(ev)) > 0)
				;
	}
	print_from(fd, o, out, err, pending, plen);
	if (in >= 0)
		close(in);
}

int ctr_container_logs(struct ctr_container *c, const struct ctr_log_opts *o,
		       int out, int err_fd, struct hutch_err *err)
{
	cleanup_free char *path = log_path(c->cfg.id);
	cleanup_free char *pending = NULL;
	cleanup_close int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	size_t plen = 0;

	if (fd < 0 && errno == ENOENT && !c->detached)
		return cmn_err_msg(
			err, ENOENT,
			"container %s ran in the foreground: its output went to the terminal, and no log was kept (run it with -d to keep one)",
			c->name);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return cmn_err_set(err, errno, "cannot open %s", path);
	if (o->tail >= 0)
		lseek(fd,
		      o->tail ? tail_offset(fd, o->tail)
			      : lseek(fd, 0, SEEK_END),
		      SEEK_SET);
	if (o->follow)
		follow(fd, path, c, o, out, err_fd, &pending, &plen);
	else
		print_from(fd, o, out, err_fd, &pending, &plen);
	return 0;
}
