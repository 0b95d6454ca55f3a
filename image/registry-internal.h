/* SPDX-License-Identifier: Apache-2.0 */
/* registry-internal.h - the registry client (registry*.c) and credentials
 * (auth.c); private to image/ */
#ifndef HUTCH_IMAGE_REGISTRY_INTERNAL_H
#define HUTCH_IMAGE_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/* Media types a registry speaks. */
#define MT_DOCKER_MANIFEST \
	"application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_MANIFEST	 "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX	 "application/vnd.oci.image.index.v1+json"
#define MT_OCI_CONFIG	 "application/vnd.oci.image.config.v1+json"

/* The most a manifest may weigh (the distribution spec's 4 MiB), and an
 * image config. */
#define REG_MANIFEST_MAX (4u << 20)
#define REG_CONFIG_MAX	 (16u << 20)

/* ---- registries.json (registry-conf.c) ---------------------------------- */

/**
 * struct reg_endpoint - one place to reach a registry's API
 * @base:   "https://registry-1.docker.io" (owned); requests go to
 *          @base + "/v2/..."
 * @host:   the host[:port] of @base, the key for its credentials (owned)
 * @verify: check the TLS certificate
 * @http_fallback: when https cannot be reached, try plain http
 *          (insecure registries and the loopback addresses)
 * @mirror: a pull-through mirror rather than the registry itself
 */
struct reg_endpoint {
	char *base;
	char *host;
	bool verify;
	bool http_fallback;
	bool mirror;
};

/**
 * reg_endpoints() - where to send requests for @registry, in order: its
 * mirrors from registries.json (pulls only), then the registry itself
 * (registry-1.docker.io for docker.io). Reads the config file each call.
 * @pull:  mirrors are for pulls; pushes and logins go to the registry
 * @out:   array of @n endpoints, freed with reg_endpoints_free()
 * Return: 0 or -errno with @err naming the config file and the problem.
 */
int reg_endpoints(const char *registry, bool pull, struct reg_endpoint **out,
		  size_t *n, struct hutch_err *err);
void reg_endpoints_free(struct reg_endpoint *e, size_t n);

/** reg_conf_path() - $HUTCH_REGISTRIES_CONF, else
 * ${XDG_CONFIG_HOME:-~/.config}/hutch/registries.json; owned. */
char *reg_conf_path(void);

/** reg_is_loopback() - "localhost", 127.0.0.0/8 or [::1], any port. */
bool reg_is_loopback(const char *host);

/* ---- WWW-Authenticate (registry-auth.c) --------------------------------- */

enum reg_scheme {
	REG_AUTH_NONE,
	REG_AUTH_BASIC,
	REG_AUTH_BEARER,
};

/**
 * struct reg_challenge - what a 401 asked for
 * @realm, @service, @scope: the challenge's parameters (owned, may be NULL)
 */
struct reg_challenge {
	enum reg_scheme scheme;
	char *realm;
	char *service;
	char *scope;
};

/**
 * reg_challenge_parse() - parse a WWW-Authenticate value: Basic or Bearer
 * with RFC 7235 auth-params (quoted strings with escapes, tokens); the
 * first challenge of a known scheme wins.
 * Return: 0, or -EINVAL when no known scheme is found.
 */
int reg_challenge_parse(const char *value, struct reg_challenge *out);
void reg_challenge_free(struct reg_challenge *c);

/* ---- credentials (auth.c) ----------------------------------------------- */

/**
 * reg_auth_key() - the normal form of a server name for credentials:
 * "docker.io" for Docker Hub in any spelling ("index.docker.io",
 * "https://index.docker.io/v1/", "registry-1.docker.io"), else host[:port]
 * without scheme or path. Owned; NULL on ENOMEM.
 */
char *reg_auth_key(const char *server);

/** reg_auth_path() - ${XDG_CONFIG_HOME:-~/.config}/hutch/auth.json; owned. */
char *reg_auth_path(void);

/**
 * reg_auth_lookup() - stored credentials for @server: hutch's auth.json,
 * then $REGISTRY_AUTH_FILE, then ${DOCKER_CONFIG:-~/.docker}/config.json
 * ("auths" entries with a base64 "auth" or "username"/"password").
 * Return: 0 with owned *@user, *@pass; -ENOENT when none; -errno with
 * @err for a file that cannot be read or parsed.
 */
int reg_auth_lookup(const char *server, char **user, char **pass,
		    struct hutch_err *err);

/** reg_auth_store() - save credentials in hutch's auth.json (0600, atomic
 * rename), keeping every other entry. */
int reg_auth_store(const char *server, const char *user, const char *pass,
		   struct hutch_err *err);

/** reg_auth_erase() - remove @server from hutch's auth.json; *@found says
 * whether there was an entry. */
int reg_auth_erase(const char *server, bool *found, struct hutch_err *err);

/** reg_base64_encode() - standard base64 with padding; owned. */
char *reg_base64_encode(const void *data, size_t len);
/** reg_base64_decode() - decode @s; owned, NUL terminated, *@len its
 * length; NULL for invalid input. */
char *reg_base64_decode(const char *s, size_t *len);

/* ---- the HTTP client (registry.c) --------------------------------------- */

struct reg_client;

/**
 * reg_open() - a client for @registry ("docker.io", "host:5000"): tries
 * each endpoint (mirrors first for pulls) with a GET /v2/ until one
 * answers, and learns how it wants to be authenticated
 * @user, @pass: credentials to use (NULL: look them up per endpoint)
 * Return: 0, or -errno with @err saying which endpoints failed and why.
 */
int reg_open(const char *registry, bool pull, const char *user,
	     const char *pass, struct reg_client **out, struct hutch_err *err);
void reg_close(struct reg_client *c);

/** reg_host() - the endpoint in use ("registry-1.docker.io"). */
const char *reg_host(const struct reg_client *c);
/** reg_is_mirror() - the endpoint in use is a mirror. */
bool reg_is_mirror(const struct reg_client *c);

/**
 * reg_check_login() - whether the client's credentials are accepted:
 * a token for the registry (Bearer) or GET /v2/ (Basic).
 * Return: 0, -EACCES with @err when refused, -errno on other failures.
 */
int reg_check_login(struct reg_client *c, struct hutch_err *err);

/**
 * struct reg_response - a whole (small) response
 * @status:   HTTP status
 * @body:     the body, NUL terminated (owned)
 * @type:     Content-Type, @digest: Docker-Content-Digest, @location:
 *            Location (all owned, NULL when absent)
 */
struct reg_response {
	long status;
	char *body;
	size_t len;
	char *type;
	char *digest;
	char *location;
};
void reg_response_free(struct reg_response *r);

/**
 * struct reg_request - one request with a small body both ways
 * @method:  "GET", "HEAD", "PUT", "POST", "PATCH"
 * @path:    "/v2/..." under the endpoint's base, or an absolute URL
 *           (upload locations)
 * @scope:   the token scope(s), space separated
 *           ("repository:team/app:pull,push repository:x:pull")
 * @accept:  Accept header value, or NULL
 * @type:    Content-Type of @body, or NULL
 * @body, @body_len: what to send (PUT/POST/PATCH)
 * @file_fd, @file_off, @file_len: or send this part of a file instead
 * @max:     refuse (-EFBIG) a response body larger than this
 */
struct reg_request {
	const char *method;
	const char *path;
	const char *scope;
	const char *accept;
	const char *type;
	const void *body;
	size_t body_len;
	int file_fd;
	int64_t file_off, file_len;
	const char *content_range;
	size_t max;
	img_progress_fn progress;
	void *progress_ctx;
	const struct img_digest *progress_blob;
	size_t progress_index, progress_count;
	int64_t progress_total;
	bool ping;
};

/**
 * reg_do() - send @req with authentication (a 401 fetches a token or uses
 * the credentials, then retries once) and retries with backoff on 5xx,
 * 429 and broken connections (requests that can be repeated only).
 * Return: 0 with @resp filled whatever the status; -errno with @err when
 * no response came (connection refused, TLS, timeouts).
 */
int reg_do(struct reg_client *c, const struct reg_request *req,
	   struct reg_response *resp, struct hutch_err *err);

/**
 * reg_error_text() - the registry's own words from an error body
 * ({"errors":[{"code","message"}]}), else "HTTP <status>"; owned.
 */
char *reg_error_text(const struct reg_response *r);

/**
 * struct reg_blob - one blob to download (registry-blob.c)
 * @digest, @size: from the manifest; the download must match both
 * @index:  the caller's number for it, passed back in progress events
 * @quiet:  no progress events (the config blob)
 * @w:      the store's writer (owned until the download ends)
 */
struct reg_blob {
	struct img_digest digest;
	int64_t size;
	size_t index;
	bool quiet;
	struct img_blob_writer *w;
	/* private to registry-blob.c */
	struct reg_fetch *f;
	void *easy, *hdrs;
	int64_t done;
	int attempts;
	bool ranged, active, finished, bad_range;
	int local_err;
	double retry_at, last_event;
	char *err_body;
	size_t err_len;
	char *content_range;
};

/**
 * reg_fetch_blobs() - download @n blobs of @repo at once, at most
 * @parallel at a time, each into its writer, and commit them: following
 * redirects (CDNs), resuming or restarting failed transfers with backoff,
 * refusing any byte past the expected size. On the first blob that cannot
 * be had, the others are abandoned and their writers aborted: nothing
 * unverified is kept.
 * Return: 0 when all were committed, else -errno with @err naming the blob.
 */
int reg_fetch_blobs(struct reg_client *c, const char *repo,
		    struct reg_blob *blobs, size_t n, int parallel,
		    img_progress_fn progress, void *ctx, struct hutch_err *err);

/* ---- platforms (registry-platform.c) ----------------------------------- */

/**
 * struct reg_platform - "os/arch[/variant]" in Go's names ("linux",
 * "arm64", "v8"); a missing variant is the usual one (arm64: v8, arm: v7)
 * @explicit_variant: the user named the variant (only exact matches then)
 */
struct reg_platform {
	char os[32];
	char arch[32];
	char variant[16];
	bool explicit_variant;
};

struct json_t;

/** reg_platform_parse() - "linux/arm64/v8", "linux/x86_64", ...;
 * -EINVAL with @err for anything else. */
int reg_platform_parse(const char *s, struct reg_platform *out,
		       struct hutch_err *err);
/** reg_platform_host() - the platform this machine runs. */
void reg_platform_host(struct reg_platform *out);
/** reg_platform_str() - "os/arch[/variant]". */
void reg_platform_str(const struct reg_platform *p, char *buf, size_t size);
/**
 * reg_platform_select() - the entry of a manifest list or OCI index for
 * @want (borrowed from @index), or NULL; @avail gets the platforms it
 * offers, for the error message.
 */
const struct json_t *reg_platform_select(const struct json_t *index,
					 const struct reg_platform *want,
					 char *avail, size_t avail_size);

/* ---- shared by registry*.c only ------------------------------------------ */

struct reg_token {
	char *scope;	/* owned */
	char *token;	/* owned */
	double expires; /* reg_now() seconds */
};

/**
 * struct reg_client - a client bound to one endpoint of one registry
 * @registry: the name as in references ("docker.io") (owned)
 * @eps, @n_eps, @cur: every endpoint, and the one in use (@ep is a copy
 *            of eps[cur], its strings borrowed from @eps)
 * @base:     @ep's base URL, "http://" after an insecure fallback (owned)
 * @user, @pass: credentials (owned; NULL: anonymous); @explicit_creds
 *            when the caller gave them (login) rather than the store
 * @ch:       the endpoint's challenge from the ping
 * @tokens:   bearer tokens per scope
 * @multi:    every transfer runs on it (shared connections)
 */
struct reg_client {
	char *registry;
	struct reg_endpoint *eps;
	size_t n_eps, cur;
	struct reg_endpoint ep;
	char *base;
	char *user, *pass;
	bool explicit_creds;
	struct reg_challenge ch;
	struct reg_token *tokens;
	size_t n_tokens;
	void *multi;
};

/** reg_next_endpoint() - switch to the next endpoint that answers (after
 * a mirror failed); -ENOENT when there is none. */
int reg_next_endpoint(struct reg_client *c, struct hutch_err *err);

/** reg_auth_header() - "Authorization: ..." for @scope (owned, NULL when
 * none is needed); @refresh drops a cached token first. */
int reg_auth_header(struct reg_client *c, const char *scope, bool refresh,
		    char **header, struct hutch_err *err);
/** reg_update_challenge() - remember the challenge of a 401. */
void reg_update_challenge(struct reg_client *c, const char *www_auth);
void reg_tokens_free(struct reg_client *c);

/** reg_easy_new() - a curl easy handle for @url with the client's TLS,
 * proxy, redirect and timeout settings. */
void *reg_easy_new(struct reg_client *c, const char *url);
/** reg_url() - @path under the endpoint's base, or @path if absolute. */
char *reg_url(const struct reg_client *c, const char *path);
/** reg_perform() - run one easy handle to its end on the multi handle;
 * *@result is its CURLcode. */
int reg_perform(struct reg_client *c, void *easy, int *result);
/** reg_header_value() - the value of header @name in @line, or NULL. */
char *reg_header_value(const char *line, size_t len, const char *name);
/** reg_curl_retryable() - a curl failure worth another attempt. */
bool reg_curl_retryable(int curl_code);
double reg_now(void);
void reg_sleep(double seconds);
/** reg_backoff() - seconds to wait before attempt @n + 1 (with jitter). */
double reg_backoff(int n);

#endif
