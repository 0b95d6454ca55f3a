// SPDX-License-Identifier: Apache-2.0
/* registry-blob.c - parallel blob downloads into the store
 *
 * All of an image's missing blobs are fetched at once on the client's curl
 * multi handle, a few at a time (Docker's default is 3; we take 4), each
 * streamed straight into its store writer, which hashes as it writes. The
 * manifest's size is enforced byte by byte: the first byte past it ends
 * the transfer. A blob GET usually answers with a redirect to object
 * storage or a CDN; curl follows it and, since 7.58, never forwards our
 * Authorization header to another host.
 *
 * A transfer that breaks (reset, truncated body, stall, 5xx, 429) is tried
 * again after a backoff, up to BLOB_ATTEMPTS times in all. It resumes with
 * a Range request where the server honours one (206 with the expected
 * Content-Range) and restarts the writer otherwise. A 401 mid-pull means
 * the token expired: it is renewed once per pull and the blob retried. A
 * digest mismatch is not retried: the store refuses the content and the
 * error names the blob. On the first blob that cannot be had, everything
 * in flight is abandoned and every writer aborted, so nothing unverified
 * reaches the store.
 */

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry-internal.h"

#define BLOB_ATTEMPTS 5
#define ERR_BODY_MAX  (64u << 10)

struct reg_fetch {
	struct reg_client *c;
	const char *repo;
	char scope[512];
	char *auth; /* owned: the Authorization header in use */
	bool auth_renewed;
	img_progress_fn progress;
	void *ctx;
	int active;
};

static void emit(struct reg_blob *b, enum img_event_kind kind,
		 const char *detail)
{
	struct img_event ev = { .kind = kind,
				.blob = &b->digest,
				.index = b->index,
				.done = b->done,
				.total = b->size,
				.detail = detail };

	if (!b->quiet && b->f->progress)
		b->f->progress(b->f->ctx, &ev);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct reg_blob *b = arg;
	size_t len = size * nmemb;
	char *v;

	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		free(b->content_range);
		b->content_range = NULL;
	} else if ((v = reg_header_value(line, len, "content-range"))) {
		free(b->content_range);
		b->content_range = v;
	}
	return len;
}

/* The first bytes of a response: is it the body we want, from where? */
static int body_starts(struct reg_blob *b, long status)
{
	char want[64];

	if (!b->ranged)
		return 0;
	b->ranged = false;
	if (status == 206) {
		snprintf(want, sizeof(want), "bytes %" PRId64 "-", b->done);
		if (b->content_range && cmn_has_prefix(b->content_range, want))
			return 0;
		b->bad_range = true;
		return -EPROTO;
	}
	if (b->content_range) {
		b->bad_range = true;
		return -EPROTO;
	}
	/* A 200 to a Range request: the whole blob comes again. */
	b->done = 0;
	return img_blob_writer_reset(b->w);
}

static size_t keep_error_body(struct reg_blob *b, const char *data, size_t len)
{
	char *nb;

	if (b->err_len + len > ERR_BODY_MAX)
		return len;
	nb = realloc(b->err_body, b->err_len + len + 1);
	if (!nb)
		return len;
	memcpy(nb + b->err_len, data, len);
	b->err_body = nb;
	b->err_len += len;
	nb[b->err_len] = '\0';
	return len;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reg_blob *b = arg;
	size_t len = size * nmemb;
	long status = 0;
	int ret;

	curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200 && status != 206)
		return keep_error_body(b, data, len);
	ret = body_starts(b, status);
	if (ret == 0 && b->done + (int64_t)len > b->size)
		ret = -EFBIG;
	if (ret == 0)
		ret = img_blob_writer_write(b->w, data, len);
	if (ret < 0) {
		b->local_err = -ret;
		return 0;
	}
	b->done += (int64_t)len;
	if (reg_now() - b->last_event >= 0.1 || b->done == b->size) {
		b->last_event = reg_now();
		emit(b, IMG_EV_LAYER_DOWNLOADING, NULL);
	}
	return len;
}

static int start(struct reg_fetch *f, struct reg_blob *b)
{
	char path[1024], dstr[72], range[32];
	cleanup_free char *url = NULL;
	struct curl_slist *h = NULL;
	CURL *e;

	snprintf(path, sizeof(path), "/v2/%s/blobs/%s", f->repo,
		 img_digest_str(&b->digest, dstr));
	url = reg_url(f->c, path);
	e = url ? reg_easy_new(f->c, url) : NULL;
	if (!e)
		return -ENOMEM;
	if (f->auth)
		h = curl_slist_append(h, f->auth);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(e, CURLOPT_PRIVATE, b);
	b->ranged = b->done > 0 && !b->bad_range;
	if (b->ranged) {
		snprintf(range, sizeof(range), "%" PRId64 "-", b->done);
		curl_easy_setopt(e, CURLOPT_RANGE, range);
	} else if (b->done > 0) {
		int ret = img_blob_writer_reset(b->w);

		if (ret < 0) {
			curl_slist_free_all(h);
			curl_easy_cleanup(e);
			return ret;
		}
		b->done = 0;
	}
	free(b->err_body);
	b->err_body = NULL;
	b->err_len = 0;
	b->easy = e;
	b->hdrs = h;
	b->attempts++;
	if (curl_multi_add_handle(f->c->multi, e) != CURLM_OK) {
		curl_slist_free_all(h);
		curl_easy_cleanup(e);
		b->easy = b->hdrs = NULL;
		return -ENOMEM;
	}
	b->active = true;
	f->active++;
	return 0;
}

static void stop(struct reg_fetch *f, struct reg_blob *b)
{
	if (!b->active)
		return;
	curl_multi_remove_handle(f->c->multi, b->easy);
	curl_easy_cleanup(b->easy);
	curl_slist_free_all(b->hdrs);
	b->easy = b->hdrs = NULL;
	b->active = false;
	f->active--;
}

/* Schedule another attempt, or fail when they are used up. */
static int again(struct reg_blob *b, const char *why, struct hutch_err *err)
{
	char d[72], msg[300];

	if (b->attempts >= BLOB_ATTEMPTS)
		return cmn_err_msg(
			err, EIO,
			"downloading blob %s failed %d times, last: %s",
			img_digest_str(&b->digest, d), b->attempts, why);
	b->retry_at = reg_now() + reg_backoff(b->attempts - 1);
	snprintf(msg, sizeof(msg), "%s; retrying (attempt %d of %d)", why,
		 b->attempts + 1, BLOB_ATTEMPTS);
	cmn_debug("registry: blob %s: %s", img_digest_str(&b->digest, d), msg);
	emit(b, IMG_EV_LAYER_RETRYING, msg);
	return 0;
}

static int finish(struct reg_blob *b, struct hutch_err *err)
{
	int ret;

	emit(b, IMG_EV_LAYER_VERIFYING, NULL);
	ret = img_blob_writer_commit(steal_ptr(&b->w), NULL, err);
	if (ret < 0)
		return ret;
	b->finished = true;
	emit(b, IMG_EV_LAYER_DOWNLOADED, NULL);
	return 0;
}

static int http_failure(struct reg_fetch *f, struct reg_blob *b, long status,
			struct hutch_err *err)
{
	struct reg_response r = { .status = status,
				  .body = b->err_body,
				  .len = b->err_len };
	cleanup_free char *why = reg_error_text(&r);
	char d[72], msg[300];
	int ret;

	img_digest_str(&b->digest, d);
	if (status == 401 && !f->auth_renewed) {
		f->auth_renewed = true;
		free(f->auth);
		f->auth = NULL;
		ret = reg_auth_header(f->c, f->scope, true, &f->auth, err);
		return ret < 0 ? ret : again(b, "the token expired", err);
	}
	if (status >= 500 || status == 429) {
		snprintf(msg, sizeof(msg), "HTTP %ld (%s)", status, why);
		return again(b, msg, err);
	}
	if (status == 404)
		return cmn_err_msg(
			err, ENOENT,
			"blob %s of %s is not in the registry (%s): the image is incomplete there; push it again",
			d, f->repo, why);
	if (status == 401 || status == 403)
		return cmn_err_msg(
			err, EACCES,
			"the registry refused blob %s of %s: %s; run 'hutch login'",
			d, f->repo, why);
	return cmn_err_msg(
		err, EPROTO,
		"the registry answered HTTP %ld for blob %s of %s: %s", status,
		d, f->repo, why);
}

/* A transfer ended: commit, retry or fail. */
static int done(struct reg_fetch *f, struct reg_blob *b, CURLcode rc,
		struct hutch_err *err)
{
	long status = 0;
	char d[72], msg[300];

	curl_easy_getinfo(b->easy, CURLINFO_RESPONSE_CODE, &status);
	stop(f, b);
	img_digest_str(&b->digest, d);
	if (b->local_err == EFBIG)
		return cmn_err_msg(
			err, EBADMSG,
			"blob %s is larger than the %" PRId64
			" bytes its manifest says: the registry sent something else; nothing was kept",
			d, b->size);
	if (b->local_err == EPROTO) {
		b->local_err = 0;
		return again(b, "the server ignored the resumption range", err);
	}
	if (b->local_err)
		return cmn_err_set(err, b->local_err, "cannot store blob %s",
				   d);
	if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
		if (!reg_curl_retryable(rc) && rc != CURLE_COULDNT_CONNECT)
			return cmn_err_msg(err, EIO, "downloading blob %s: %s",
					   d, curl_easy_strerror(rc));
		snprintf(msg, sizeof(msg),
			 "%s after %" PRId64 " of %" PRId64 " bytes",
			 curl_easy_strerror(rc), b->done, b->size);
		return again(b, msg, err);
	}
	if (status != 200 && status != 206)
		return http_failure(f, b, status, err);
	if (b->done < b->size) {
		snprintf(msg, sizeof(msg),
			 "the body ended after %" PRId64 " of %" PRId64
			 " bytes",
			 b->done, b->size);
		return again(b, msg, err);
	}
	return finish(b, err);
}

static void harvest(struct reg_fetch *f, int *ret, struct hutch_err *err)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->c->multi, &left))) {
		struct reg_blob *b = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &b);
		if (b && *ret == 0)
			*ret = done(f, b, msg->data.result, err);
		else if (b)
			stop(f, b);
	}
}

/* Start what may start now; the time until the next retry is due. */
static double launch(struct reg_fetch *f, struct reg_blob *blobs, size_t n,
		     int parallel, int *ret, struct hutch_err *err)
{
	double now = reg_now(), wait = 1.0;

	for (size_t i = 0; i < n && *ret == 0; i++) {
		struct reg_blob *b = &blobs[i];

		if (b->finished || b->active)
			continue;
		if (b->retry_at > now) {
			if (b->retry_at - now < wait)
				wait = b->retry_at - now;
			continue;
		}
		if (f->active >= parallel)
			break;
		*ret = start(f, b);
		if (*ret < 0)
			cmn_err_set(err, -*ret, "cannot start a download");
	}
	return wait;
}

static bool all_finished(const struct reg_blob *blobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!blobs[i].finished)
			return false;
	return true;
}

static void cleanup_blobs(struct reg_fetch *f, struct reg_blob *blobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		stop(f, &blobs[i]);
		img_blob_writer_abort(steal_ptr(&blobs[i].w));
		free(blobs[i].err_body);
		free(blobs[i].content_range);
		blobs[i].err_body = blobs[i].content_range = NULL;
	}
}

int reg_fetch_blobs(struct reg_client *c, const char *repo,
		    struct reg_blob *blobs, size_t n, int parallel,
		    img_progress_fn progress, void *ctx, struct hutch_err *err)
{
	struct reg_fetch f = {
		.c = c, .repo = repo, .progress = progress, .ctx = ctx
	};
	int ret, running = 0;

	snprintf(f.scope, sizeof(f.scope), "repository:%s:pull", repo);
	for (size_t i = 0; i < n; i++)
		blobs[i].f = &f;
	ret = reg_auth_header(c, f.scope, false, &f.auth, err);
	if (parallel <= 0)
		parallel = 4;
	while (ret == 0 && !all_finished(blobs, n)) {
		double wait = launch(&f, blobs, n, parallel, &ret, err);
		CURLMcode mc;

		if (ret < 0)
			break;
		mc = curl_multi_perform(c->multi, &running);
		if (mc == CURLM_OK)
			harvest(&f, &ret, err);
		if (ret < 0 || all_finished(blobs, n))
			break;
		if (mc == CURLM_OK)
			mc = curl_multi_poll(c->multi, NULL, 0,
					     (int)(wait * 1000) + 1, NULL);
		if (mc != CURLM_OK)
			ret = cmn_err_msg(err, EIO, "downloading: %s",
					  curl_multi_strerror(mc));
	}
	cleanup_blobs(&f, blobs, n);
	free(f.auth);
	return ret;
}
