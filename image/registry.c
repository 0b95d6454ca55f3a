// SPDX-License-Identifier: Apache-2.0
/* registry.c - the registry client: endpoints, requests, authentication
 *
 * Theory of operation. hutch speaks the Docker Registry HTTP API v2 (the
 * OCI distribution spec) through libcurl. A client (struct reg_client) is
 * bound to one endpoint of one registry: reg_open() walks the endpoints of
 * registries.json (mirrors first for pulls, then the registry itself) and
 * keeps the first that answers GET /v2/. That ping also says how the
 * registry authenticates: 200 means not at all, 401 carries a
 * WWW-Authenticate challenge, Basic (send the stored credentials) or
 * Bearer (fetch a token from the realm for a scope such as
 * "repository:library/python:pull", anonymously or with the credentials,
 * as Docker Hub wants). Tokens are cached per scope until they expire; a
 * 401 later drops the cached token and fetches a fresh one, once.
 *
 * Every transfer goes through the client's one curl multi handle, so that
 * manifests, tokens and the parallel blob downloads of registry-blob.c
 * share connections (and HTTP/2 streams where the registry offers them).
 * Insecure and loopback registries are tried over https without
 * certificate checks first and over plain http when that fails, as Docker
 * does. Proxies come from the environment, in both spellings
 * (HTTPS_PROXY/https_proxy, HTTP_PROXY/http_proxy, NO_PROXY/no_proxy):
 * curl alone ignores upper-case HTTP_PROXY. Loopback registries are never
 * proxied, as in Docker. Timeouts are on connecting and on stalls (too few
 * bytes for too long), never on the total time: a 5 GB layer takes what
 * it takes.
 *
 * Requests that can be repeated (GET, HEAD, and PUT of a manifest) are
 * retried with exponential backoff on 5xx, 429 and broken connections.
 */

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "image/registry-internal.h"

#define REQ_ATTEMPTS 4

double reg_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void reg_sleep(double seconds)
{
	struct timespec ts = { (time_t)seconds,
			       (long)((seconds - (double)(time_t)seconds) *
				      1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

double reg_backoff(int n)
{
	/* Jitter from the clock: concurrent pulls should not retry in step. */
	double jitter = (double)((uint64_t)(reg_now() * 1e4) % 250) / 1000.0;

	return 0.5 * (double)(1u << (n < 5 ? n : 5)) + jitter;
}

void *reg_easy_new(struct reg_client *c, const char *url)
{
	CURL *e = img_http_easy(url, "HUTCH_REGISTRY_STALL_SECONDS", NULL);

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (!c->ep.verify) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (cmn_log_level >= CMN_LOG_DEBUG)
		cmn_debug("registry: %s", url);
	return e;
}

char *reg_url(const struct reg_client *c, const char *path)
{
	if (cmn_has_prefix(path, "http://") || cmn_has_prefix(path, "https://"))
		return strdup(path);
	/* Upload locations may be absolute paths without the host. */
	return cmn_strdup_printf("%s%s", c->base, path);
}

/* Run one transfer to its end on the client's multi handle. */
int reg_perform(struct reg_client *c, void *easy, int *result)
{
	CURL *e = easy;
	CURLMcode mc = curl_multi_add_handle(c->multi, e);
	int running = 1;

	if (mc != CURLM_OK)
		return -ENOMEM;
	*result = CURLE_OK;
	while (running) {
		CURLMsg *msg;
		int left;

		mc = curl_multi_perform(c->multi, &running);
		if (mc != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(c->multi, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == e)
				*result = msg->data.result;
		if (running)
			mc = curl_multi_poll(c->multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK)
			break;
	}
	curl_multi_remove_handle(c->multi, e);
	return mc == CURLM_OK ? 0 : -EIO;
}

/* ---- responses ------------------------------------------------------------ */

struct sink {
	struct reg_response *r;
	size_t max;
	bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t len = size * nmemb;
	char *nb;

	if (s->r->len + len > s->max) {
		s->too_big = true;
		return 0;
	}
	nb = realloc(s->r->body, s->r->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + s->r->len, data, len);
	s->r->body = nb;
	s->r->len += len;
	nb[s->r->len] = '\0';
	return len;
}

/* A header's value if @line is "@name: value", trimmed; owned. */
char *reg_header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v;
	size_t vlen;

	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	v = line + n + 1;
	vlen = len - n - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && strchr(" \t\r\n", v[vlen - 1]))
		vlen--;
	return strndup(v, vlen);
}

static void set_field(char **field, char *value)
{
	if (!value)
		return;
	free(*field);
	*field = value;
}

struct head_sink {
	struct reg_response *r;
	char *www_auth;
};

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct head_sink *h = arg;
	size_t len = size * nmemb;

	/* A new response of a redirect chain: forget the previous one's. */
	if (len > 5 && !strncmp(line, "HTTP/", 5)) {
		free(h->www_auth);
		free(h->r->type);
		free(h->r->digest);
		free(h->r->location);
		h->www_auth = h->r->type = h->r->digest = h->r->location = NULL;
		return len;
	}
	set_field(&h->r->type, reg_header_value(line, len, "content-type"));
	set_field(&h->r->digest,
		  reg_header_value(line, len, "docker-content-digest"));
	set_field(&h->r->location, reg_header_value(line, len, "location"));
	set_field(&h->www_auth,
		  reg_header_value(line, len, "www-authenticate"));
	return len;
}

void reg_response_free(struct reg_response *r)
{
	free(r->body);
	free(r->type);
	free(r->digest);
	free(r->location);
	memset(r, 0, sizeof(*r));
}

char *reg_error_text(const struct reg_response *r)
{
	json_t *root = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	const json_t *e = json_array_get(json_object_get(root, "errors"), 0);
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *code = json_string_value(json_object_get(e, "code"));
	char *out;

	if (msg && code)
		out = cmn_strdup_printf("%s (%s)", msg, code);
	else if (msg || code)
		out = strdup(msg ? msg : code);
	else
		out = cmn_strdup_printf("HTTP %ld", r->status);
	json_decref(root);
	return out;
}

/* ---- requests ------------------------------------------------------------- */

struct file_src {
	int fd;
	int64_t off, left;
	struct reg_client *c;
	const struct reg_request *req;
	int64_t sent;
	double last;
};

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	struct file_src *f = arg;
	size_t want = size * nmemb;
	ssize_t n;

	if ((int64_t)want > f->left)
		want = (size_t)f->left;
	if (want == 0)
		return 0;
	do
		n = pread(f->fd, buf, want, f->off);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return CURL_READFUNC_ABORT;
	f->off += n;
	f->left -= n;
	f->sent += n;
	return (size_t)n;
}

static int on_xfer(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		   curl_off_t ultotal, curl_off_t ulnow)
{
	struct file_src *f = arg;
	const struct reg_request *req = f->req;
	double now = reg_now();
	struct img_event ev = { .kind = IMG_EV_LAYER_PUSHING,
				.blob = req->progress_blob,
				.index = req->progress_index,
				.count = req->progress_count,
				.done = req->file_off + ulnow,
				.total = req->progress_total };

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (!req->progress || now - f->last < 0.2)
		return 0;
	f->last = now;
	req->progress(req->progress_ctx, &ev);
	return 0;
}

static bool idempotent(const char *method, const char *path)
{
	return !strcmp(method, "GET") || !strcmp(method, "HEAD") ||
	       (!strcmp(method, "PUT") && strstr(path, "/manifests/"));
}

/* Broken connections and timeouts are worth another try; refusals,
 * names that do not resolve and TLS failures are not. */
bool reg_curl_retryable(int rc)
{
	switch ((CURLcode)rc) {
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static CURL *build(struct reg_client *c, const struct reg_request *req,
		   const char *url, const char *auth, struct curl_slist **hdrs,
		   struct sink *sink, struct head_sink *hs, struct file_src *fs)
{
	CURL *e = reg_easy_new(c, url);
	char line[512];

	if (!e)
		return NULL;
	if (auth)
		*hdrs = curl_slist_append(*hdrs, auth);
	if (req->accept) {
		snprintf(line, sizeof(line), "Accept: %s", req->accept);
		*hdrs = curl_slist_append(*hdrs, line);
	}
	if (req->type) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->type);
		*hdrs = curl_slist_append(*hdrs, line);
	}
	if (req->content_range) {
		snprintf(line, sizeof(line), "Content-Range: %s",
			 req->content_range);
		*hdrs = curl_slist_append(*hdrs, line);
	}
	/* No "Expect: 100-continue" round trip before uploads. */
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, hs);
	if (!strcmp(req->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (req->file_fd >= 0) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, fs);
		curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE,
				 (curl_off_t)req->file_len);
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xfer);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, fs);
	} else if (strcmp(req->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				 req->body ? (const char *)req->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
	}
	return e;
}

/* One attempt. Return 0 with @resp (and *@www_auth), or -EIO with
 * *@rc the curl failure. */
static int attempt(struct reg_client *c, const struct reg_request *req,
		   const char *url, const char *auth, struct reg_response *resp,
		   char **www_auth, int *rc, bool *too_big)
{
	struct curl_slist *hdrs = NULL;
	struct sink sink = { resp, req->max ? req->max : (1u << 20), false };
	struct head_sink hs = { resp, NULL };
	struct file_src fs = {
		req->file_fd, req->file_off, req->file_len, c, req, 0, 0
	};
	CURL *e = build(c, req, url, auth, &hdrs, &sink, &hs, &fs);
	int ret;

	if (!e) {
		curl_slist_free_all(hdrs);
		return -ENOMEM;
	}
	ret = reg_perform(c, e, rc);
	if (ret == 0 && *rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	*www_auth = hs.www_auth;
	*too_big = sink.too_big;
	if (ret < 0)
		return ret;
	return *rc == CURLE_OK ? 0 : -EIO;
}

int reg_do(struct reg_client *c, const struct reg_request *req,
	   struct reg_response *resp, struct hutch_err *err)
{
	cleanup_free char *url = reg_url(c, req->path);
	bool again = idempotent(req->method, req->path), refreshed = false;
	int ret = 0;

	memset(resp, 0, sizeof(*resp));
	if (!url)
		return cmn_err_set(err, ENOMEM, "registry request");
	for (int n = 0; n < REQ_ATTEMPTS; n++) {
		cleanup_free char *auth = NULL;
		cleanup_free char *www = NULL;
		bool too_big = false;
		int rc = CURLE_OK;

		reg_response_free(resp);
		ret = req->ping ? 0
				: reg_auth_header(c, req->scope, false, &auth,
						  err);
		if (ret < 0)
			return ret;
		ret = attempt(c, req, url, auth, resp, &www, &rc, &too_big);
		if (too_big)
			return cmn_err_msg(
				err, EFBIG,
				"the response to %s %s is larger than %zu bytes",
				req->method, url, req->max);
		if (ret == -EIO) {
			if (again && reg_curl_retryable(rc) &&
			    n + 1 < REQ_ATTEMPTS) {
				reg_sleep(reg_backoff(n));
				continue;
			}
			return cmn_err_msg(err, EIO, "%s %s: %s", req->method,
					   url,
					   curl_easy_strerror((CURLcode)rc));
		}
		if (ret < 0)
			return cmn_err_set(err, -ret, "%s %s", req->method,
					   url);
		if (resp->status == 401 && www && req->ping) {
			reg_update_challenge(c, www);
			return 0;
		}
		if (resp->status == 401 && !refreshed && www) {
			cleanup_free char *fresh = NULL;

			refreshed = true;
			n--;
			reg_update_challenge(c, www);
			ret = reg_auth_header(c, req->scope, true, &fresh, err);
			if (ret < 0)
				return ret;
			/* Nothing new to offer: the 401 is the answer. */
			if (!fresh || (auth && !strcmp(fresh, auth)))
				return 0;
			continue;
		}
		if (again && (resp->status >= 500 || resp->status == 429) &&
		    n + 1 < REQ_ATTEMPTS) {
			reg_sleep(reg_backoff(n));
			continue;
		}
		return 0;
	}
	return 0;
}

/* ---- opening ------------------------------------------------------------- */

static void set_endpoint(struct reg_client *c, const struct reg_endpoint *e)
{
	free(c->base);
	c->ep = *e;
	c->base = strdup(e->base);
	reg_challenge_free(&c->ch);
	reg_tokens_free(c);
}

/* Credentials for the endpoint in use, unless the caller gave some. */
static int load_credentials(struct reg_client *c, struct hutch_err *err)
{
	int ret;

	if (c->explicit_creds)
		return 0;
	free(c->user);
	free(c->pass);
	c->user = c->pass = NULL;
	ret = reg_auth_lookup(c->ep.mirror ? c->ep.host : c->registry, &c->user,
			      &c->pass, err);
	return ret == -ENOENT ? 0 : ret;
}

/* GET /v2/: learn the challenge; on an insecure endpoint fall back to
 * plain http when https cannot be spoken. */
static int ping(struct reg_client *c, struct hutch_err *err)
{
	struct reg_request req = { .method = "GET",
				   .path = "/v2/",
				   .file_fd = -1,
				   .max = 64 << 10,
				   .ping = true };
	struct reg_response resp;
	int ret = reg_do(c, &req, &resp, err);

	if (ret == -EIO && c->ep.http_fallback &&
	    cmn_has_prefix(c->base, "https://")) {
		char *plain = cmn_strdup_printf("http://%s", c->base + 8);

		if (!plain)
			return -ENOMEM;
		cmn_debug("registry: %s: %s; trying plain http", c->ep.host,
			  err ? err->msg : "https failed");
		free(c->base);
		c->base = plain;
		ret = reg_do(c, &req, &resp, err);
	}
	if (ret < 0)
		return ret;
	if (resp.status != 200 && resp.status != 401) {
		cleanup_free char *why = reg_error_text(&resp);

		reg_response_free(&resp);
		return cmn_err_msg(
			err, EPROTO,
			"%s/v2/ answered %s: not a registry (Docker Registry API v2)",
			c->base, why ? why : "?");
	}
	reg_response_free(&resp);
	return 0;
}

static int try_endpoint(struct reg_client *c, struct hutch_err *err)
{
	int ret = load_credentials(c, err);

	if (ret == 0)
		ret = ping(c, err);
	return ret;
}

/* Move to the first endpoint from @from on that answers. */
static int open_from(struct reg_client *c, size_t from, struct hutch_err *err)
{
	int ret = -ENOENT;

	for (size_t i = from; i < c->n_eps; i++) {
		set_endpoint(c, &c->eps[i]);
		c->cur = i;
		if (!c->base)
			return cmn_err_set(err, ENOMEM, "registry");
		ret = try_endpoint(c, err);
		if (ret == 0)
			return 0;
		if (c->ep.mirror)
			cmn_warn("mirror %s of %s failed (%s); trying the next",
				 c->ep.base, c->registry, err ? err->msg : "");
	}
	if (ret == -ENOENT)
		return cmn_err_msg(err, ENOENT, "no more endpoints for %s",
				   c->registry);
	cmn_err_prefix(err, "cannot reach registry %s", c->registry);
	cmn_err_fix(
		err,
		"check the name, the network and proxy settings (HTTPS_PROXY, NO_PROXY)");
	return ret;
}

int reg_open(const char *registry, bool pull, const char *user,
	     const char *pass, struct reg_client **out, struct hutch_err *err)
{
	struct reg_client *c = calloc(1, sizeof(*c));
	int ret;

	*out = NULL;
	if (!c || img_http_init() < 0) {
		free(c);
		return cmn_err_set(err, ENOMEM, "registry client");
	}
	c->registry = strdup(registry);
	c->multi = curl_multi_init();
	if (!c->registry || !c->multi) {
		reg_close(c);
		return cmn_err_set(err, ENOMEM, "registry client");
	}
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	if (user) {
		c->explicit_creds = true;
		c->user = strdup(user);
		c->pass = strdup(pass ? pass : "");
	}
	ret = reg_endpoints(registry, pull, &c->eps, &c->n_eps, err);
	if (ret == 0)
		ret = open_from(c, 0, err);
	if (ret < 0) {
		reg_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

int reg_next_endpoint(struct reg_client *c, struct hutch_err *err)
{
	if (c->cur + 1 >= c->n_eps)
		return -ENOENT;
	return open_from(c, c->cur + 1, err);
}

void reg_close(struct reg_client *c)
{
	if (!c)
		return;
	reg_tokens_free(c);
	reg_challenge_free(&c->ch);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	reg_endpoints_free(c->eps, c->n_eps);
	free(c->base);
	free(c->registry);
	if (c->pass)
		explicit_bzero(c->pass, strlen(c->pass));
	free(c->user);
	free(c->pass);
	free(c);
}

const char *reg_host(const struct reg_client *c)
{
	return c->ep.host;
}

bool reg_is_mirror(const struct reg_client *c)
{
	return c->ep.mirror;
}
