// SPDX-License-Identifier: Apache-2.0
/* fetch.c - ADD <URL>: http and https sources, downloaded on the host
 *
 * Theory of operation. An ADD source that starts with http:// or https://
 * is downloaded by the builder itself, on the host side: in hutch's own
 * process, before the copy's user namespace exists, with the user's
 * network, proxies and CA files (and whatever the build's --network, as in
 * Docker, where that flag is for RUN). libcurl does the transfer:
 * redirects, proxies and timeouts as the registry client has them
 * (image/http.c: http and https only; http_proxy, https_proxy, all_proxy
 * and no_proxy in both spellings, loopback never proxied, as in Docker);
 * the system's CAs, or SSL_CERT_FILE/SSL_CERT_DIR, which Docker's
 * Go reads too; a timeout on connecting (30 s) and on stalls (less than
 * 1 KiB/s for HUTCH_ADD_STALL_SECONDS, default 60) but none on the total.
 * The body goes to a file created and at once unlinked in a fresh
 * directory under the store's tmp/, so a killed build leaves nothing; its
 * descriptor travels into the copy's user namespace (a fork), where
 * step_copy.c copies it like a local file: 0600 unless --chmod, owned by
 * root unless --chown, mtime from Last-Modified, never unpacked (Docker
 * unpacks only local archives) unless --unpack=true says so.
 *
 * The cache follows Docker: with --checksum the step's key holds the
 * pinned digest, so a hit downloads nothing; without it the file is
 * downloaded every build and the key holds its content's digest, so an
 * unchanged file still hits. A download is refused past HUTCH_ADD_MAX_BYTES
 * (default 64 GiB: model weights are large, a runaway server is not).
 *
 * Alternatives rejected: downloading inside the copy's namespace (its
 * fds and memory are a forked copy; an error path there is harder to
 * report, and the cache key must be known before it runs); keeping the
 * file in the store's blobs (one build's source is not an image's
 * content, and gc would have to learn about it).
 */

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/builder-internal.h"

#define FETCH_MAX_DEFAULT (64ull << 30)

bool bld_is_url(const char *arg)
{
	return cmn_has_prefix(arg, "http://") ||
	       cmn_has_prefix(arg, "https://");
}

/* ---- planning: which arguments are URLs, and the checksum ---------------- */

/* The last component of the URL's path, decoded; NULL when it ends in '/'
 * or names nothing a file could be called. */
static char *url_file_name(const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL, *name = NULL;
	const char *base;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) ==
		    CURLUE_OK) {
		base = strrchr(path, '/');
		base = base ? base + 1 : path;
		if (*base && strcmp(base, ".") && strcmp(base, ".."))
			name = strdup(base);
	}
	curl_free(path);
	curl_url_cleanup(u);
	return name;
}

static int parse_checksum(const char *s, struct img_digest *out,
			  struct hutch_err *err)
{
	if (img_digest_parse(s, out))
		return 0;
	if (cmn_has_prefix(s, "sha384:") || cmn_has_prefix(s, "sha512:"))
		return cmn_err_msg(
			err, ENOTSUP,
			"--checksum=%s: only sha256 is supported; give sha256:<64 hex digits> (sha256sum FILE)",
			s);
	return cmn_err_msg(
		err, EINVAL,
		"invalid --checksum=%s: give sha256:<64 lowercase hex digits> (sha256sum FILE)",
		s);
}

/* Sources ADD does not fetch: other schemes and git repositories. */
static int refuse_source(const struct bld_instr *in, const char *arg,
			 struct hutch_err *err)
{
	size_t n = strcspn(arg, "#?");

	if (in->kind == BLD_COPY && bld_is_url(arg))
		return cmn_err_msg(err, EINVAL,
				   "COPY cannot fetch a URL (%s); use ADD",
				   arg);
	if (in->kind != BLD_ADD)
		return 0;
	if ((bld_is_url(arg) && n > 4 && !strncmp(arg + n - 4, ".git", 4)) ||
	    cmn_has_prefix(arg, "git@") || cmn_has_prefix(arg, "git://"))
		return cmn_err_msg(
			err, ENOTSUP,
			"ADD of a git repository (%s) is not supported yet; clone it in a RUN step",
			arg);
	if (!bld_is_url(arg) && strstr(arg, "://"))
		return cmn_err_msg(
			err, ENOTSUP,
			"ADD of %s: only http:// and https:// URLs are supported; fetch it in a RUN step",
			arg);
	return 0;
}

static int plan_one(const struct bld_instr *in, size_t i, struct bld_fetches *f,
		    const struct img_digest *pin)
{
	struct bld_fetch *v = realloc(f->v, (f->n + 1) * sizeof(*v));
	struct bld_fetch *one;

	if (!v)
		return -ENOMEM;
	f->v = v;
	one = &v[f->n];
	*one = (struct bld_fetch){ .arg = i, .url = in->args[i], .fd = -1 };
	one->name = url_file_name(in->args[i]);
	if (pin) {
		one->pinned = true;
		one->digest = *pin;
	}
	f->n++;
	return 0;
}

int bld_fetch_plan(const struct bld_instr *in, struct bld_fetches *out,
		   struct hutch_err *err)
{
	const char *sum = bld_instr_flag(in, "checksum", NULL);
	struct img_digest pin;
	size_t urls = 0;
	int ret = 0;

	*out = (struct bld_fetches){ 0 };
	for (size_t i = 0; ret == 0 && i + 1 < in->n_args; i++) {
		ret = refuse_source(in, in->args[i], err);
		urls += in->kind == BLD_ADD && bld_is_url(in->args[i]);
	}
	if (ret == 0 && sum) {
		if (in->n_args != 2 || urls != 1)
			return cmn_err_msg(
				err, EINVAL,
				"--checksum applies to one http(s) source only: ADD --checksum=sha256:<hex> URL DEST");
		ret = parse_checksum(sum, &pin, err);
	}
	for (size_t i = 0; ret == 0 && urls && i + 1 < in->n_args; i++)
		if (bld_is_url(in->args[i]))
			ret = plan_one(in, i, out, sum ? &pin : NULL);
	if (ret < 0)
		bld_fetches_free(out);
	return ret;
}

void bld_fetches_free(struct bld_fetches *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].name);
		if (f->v[i].fd >= 0)
			close(f->v[i].fd);
	}
	free(f->v);
	*f = (struct bld_fetches){ 0 };
}

const struct bld_fetch *bld_fetch_find(const struct bld_fetches *f, size_t arg)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (f->v[i].arg == arg)
			return &f->v[i];
	return NULL;
}

void bld_fetch_key(const struct bld_fetches *f, struct img_sha256 *h)
{
	for (size_t i = 0; i < f->n; i++) {
		img_sha256_update(h, f->v[i].url, strlen(f->v[i].url) + 1);
		img_sha256_update(h, f->v[i].digest.hex, 64);
	}
}

const char *bld_fetch_name(const struct bld_fetch *f, struct hutch_err *err)
{
	if (!f->name)
		cmn_err_msg(
			err, EINVAL,
			"cannot derive a file name from the URL %s (its path ends in '/' or names nothing); give the destination a file name: ADD URL /dir/name",
			f->url);
	return f->name;
}

/* ---- the transfer ----------------------------------------------------------- */

/* Where the body goes: the file, a running digest, a limit. */
struct sink {
	int fd;
	struct img_sha256 *h;
	uint64_t size, max;
	int werr;	   /* errno of a failed write */
	bool too_big;	   /* past max */
	const char *proxy; /* in use (the environment's), or NULL */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t len = size * n;

	if (s->size + len > s->max) {
		s->too_big = true;
		return 0;
	}
	if (cmn_write_all(s->fd, data, len) < 0) {
		s->werr = errno ? errno : EIO;
		return 0;
	}
	img_sha256_update(s->h, data, len);
	s->size += len;
	return len;
}

static uint64_t max_bytes(void)
{
	const char *env = getenv("HUTCH_ADD_MAX_BYTES");
	uint64_t v;

	if (env && cmn_parse_u64(env, UINT64_MAX, &v) && v > 0)
		return v;
	return FETCH_MAX_DEFAULT;
}

static CURL *easy_new(const char *url, struct sink *s, char *errbuf)
{
	CURL *e = img_http_easy(url, "HUTCH_ADD_STALL_SECONDS", &s->proxy);

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)s->max);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	return e;
}

/* What to do about a failed transfer, by its kind. */
static const char *fix_for(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return "check the URL, that the server is up, and http_proxy/https_proxy/no_proxy";
	case CURLE_OPERATION_TIMEDOUT:
		return "the server stalled; retry, or raise HUTCH_ADD_STALL_SECONDS";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return "install the server's CA certificate or point SSL_CERT_FILE at it";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
		return "check that the server speaks https on that port, and its certificate";
	default:
		return "check the URL and the network";
	}
}

static int transfer_error(CURL *e, CURLcode rc, const struct sink *s,
			  char *errbuf, const char *url, struct hutch_err *err)
{
	long status = 0, oserr = 0;
	char why[80] = "", via[160] = "";
	size_t n = strlen(errbuf);

	while (n && (errbuf[n - 1] == '\n' || errbuf[n - 1] == '\r'))
		errbuf[--n] = '\0';
	if (s->werr)
		return cmn_err_set(err, s->werr,
				   "cannot store the download of %s", url);
	if (s->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return cmn_err_msg(
			err, EFBIG,
			"cannot download %s: larger than the limit of %llu bytes; raise HUTCH_ADD_MAX_BYTES",
			url, (unsigned long long)s->max);
	if (e)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_HTTP_RETURNED_ERROR)
		return cmn_err_msg(
			err, status == 404 ? ENOENT : EIO,
			"cannot download %s: the server answered HTTP %ld; check the URL",
			url, status);
	if (e)
		curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oserr);
	/* "Couldn't connect to server" hides why: say "Connection refused". */
	if (oserr > 0)
		snprintf(why, sizeof(why), " (%s)", strerror((int)oserr));
	/* Name the proxy, without the credentials its URL may hold. */
	if (s->proxy)
		snprintf(via, sizeof(via), " through the proxy %s",
			 strrchr(s->proxy, '@') ? strrchr(s->proxy, '@') + 1
						: s->proxy);
	return cmn_err_msg(err, EIO, "cannot download %s%s: %s%s; %s", url, via,
			   n ? errbuf : curl_easy_strerror(rc), why,
			   fix_for(rc));
}

/* A file under the store's tmp/, already unlinked: nothing to clean. */
static int anonymous_file(struct bld *b, struct hutch_err *err)
{
	cleanup_free char *dir = img_store_tmpdir(b->store, ".fetch", err);
	cleanup_free char *path =
		dir ? cmn_strdup_printf("%s/body", dir) : NULL;
	int fd, e;

	if (!path)
		return dir ? -ENOMEM : -EIO;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	e = errno;
	unlink(path);
	rmdir(dir);
	if (fd < 0)
		return cmn_err_set(err, e, "cannot create %s", path);
	return fd;
}

static int verify(const struct bld_fetch *f, const struct img_digest *got,
		  struct hutch_err *err)
{
	char want[72], have[72];

	if (!f->pinned || img_digest_equal(&f->digest, got))
		return 0;
	return cmn_err_msg(
		err, EINVAL,
		"checksum mismatch for %s: expected %s, got %s; fix --checksum or the URL",
		f->url, img_digest_str(&f->digest, want),
		img_digest_str(got, have));
}

static int fetch_one(struct bld *b, struct bld_fetch *f, struct hutch_err *err)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink s = { .max = max_bytes(), .h = img_sha256_new() };
	curl_off_t mtime = -1;
	struct img_digest got;
	CURL *e = NULL;
	CURLcode rc;
	int ret;

	s.fd = anonymous_file(b, err);
	if (s.fd < 0 || !s.h) {
		img_sha256_free(s.h);
		if (s.fd >= 0)
			close(s.fd);
		return s.fd < 0 ? s.fd : -ENOMEM;
	}
	e = easy_new(f->url, &s, errbuf);
	rc = e ? curl_easy_perform(e) : CURLE_OUT_OF_MEMORY;
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_FILETIME_T, &mtime);
	ret = rc == CURLE_OK ? 0
			     : transfer_error(e, rc, &s, errbuf, f->url, err);
	curl_easy_cleanup(e);
	img_sha256_final(s.h, &got);
	if (ret == 0)
		ret = verify(f, &got, err);
	/* Unpacking (--unpack) reads from the offset. */
	if (ret == 0 && lseek(s.fd, 0, SEEK_SET) < 0)
		ret = cmn_err_set(err, errno, "cannot read the download of %s",
				  f->url);
	if (ret < 0) {
		close(s.fd);
		return ret;
	}
	f->fd = s.fd;
	f->digest = got;
	f->st = (struct stat){ .st_mode = S_IFREG | 0600,
			       .st_size = (off_t)s.size };
	if (mtime >= 0)
		f->st.st_mtim.tv_sec = (time_t)mtime;
	else
		clock_gettime(CLOCK_REALTIME, &f->st.st_mtim);
	f->st.st_atim = f->st.st_mtim;
	return 0;
}

int bld_fetch_all(struct bld *b, struct bld_fetches *f, bool pinned,
		  struct hutch_err *err)
{
	int ret = img_http_init();

	for (size_t i = 0; ret == 0 && i < f->n; i++)
		if (f->v[i].fd < 0 && f->v[i].pinned == pinned)
			ret = fetch_one(b, &f->v[i], err);
	return ret;
}
