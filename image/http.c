// SPDX-License-Identifier: Apache-2.0
/* http.c - what every libcurl transfer of hutch sets up alike
 *
 * The registry client (registry.c) and ADD <URL> (build/fetch.c) make
 * their easy handles here, so that both behave the same way: http and
 * https only, redirects followed (at most 10), a timeout on connecting and
 * on stalls but none on the total (a 5 GB layer or model file takes what
 * it takes), and proxies from the environment as Docker takes them:
 * https_proxy/http_proxy/all_proxy and no_proxy in both spellings (curl
 * alone ignores upper-case HTTP_PROXY), loopback never proxied. Knowing
 * the proxy in use lets an error message name it.
 *
 * CA certificates: SSL_CERT_FILE and SSL_CERT_DIR when set (OpenSSL and
 * Docker's Go read them too), else libcurl's built-in bundle. That path
 * was fixed where libcurl was built, and the relocatable bundle (make
 * bundle) carries Debian's libcurl, which looks for
 * /etc/ssl/certs/ca-certificates.crt: Fedora, RHEL and openSUSE keep their
 * bundle elsewhere, and every https transfer would fail there. So where
 * the built-in file is missing, the first of the distributions' bundles
 * that exists is used instead.
 */

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "image/registry-internal.h"

int img_http_init(void)
{
	static bool done;

	if (!done && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOMEM;
	done = true;
	return 0;
}

static long env_seconds(const char *var, long dflt)
{
	const char *env = var ? getenv(var) : NULL;
	uint64_t v;

	if (env && cmn_parse_u64(env, 3600, &v) && v > 0)
		return (long)v;
	return dflt;
}

static const char *env2(const char *lower, const char *upper)
{
	const char *v = getenv(lower);

	if (!v || !*v)
		v = getenv(upper);
	return v && *v ? v : NULL;
}

/* Does no_proxy name @host: "*", the host, or a domain it is in (with or
 * without the leading dot)? Entries with ports or CIDR ranges are left
 * to curl, which gets the list too. */
static bool no_proxy_match(const char *list, const char *host)
{
	size_t hl = strlen(host);

	while (list && *list) {
		size_t n = strcspn(list, ",");
		const char *w = list;

		while (n && (*w == ' ' || *w == '.')) {
			w++;
			n--;
		}
		while (n && w[n - 1] == ' ')
			n--;
		if ((n == 1 && *w == '*') ||
		    (n && n <= hl && !strncasecmp(host + hl - n, w, n) &&
		     (n == hl || host[hl - n - 1] == '.')))
			return true;
		list = strchr(list, ',');
		list = list ? list + 1 : NULL;
	}
	return false;
}

/* Return: the proxy used (borrowed from the environment), or NULL. */
static const char *set_proxy(CURL *e, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	const char *proxy = cmn_has_prefix(url, "https://")
				    ? env2("https_proxy", "HTTPS_PROXY")
				    : env2("http_proxy", "HTTP_PROXY");
	const char *noproxy = env2("no_proxy", "NO_PROXY");

	if (!proxy)
		proxy = env2("all_proxy", "ALL_PROXY");
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
		curl_url_get(u, CURLUPART_HOST, &host, 0);
	if (!proxy || !host || reg_is_loopback(host) ||
	    no_proxy_match(noproxy, host)) {
		curl_easy_setopt(e, CURLOPT_PROXY, "");
		proxy = NULL;
	} else {
		curl_easy_setopt(e, CURLOPT_PROXY, proxy);
		if (noproxy)
			curl_easy_setopt(e, CURLOPT_NOPROXY, noproxy);
	}
	curl_free(host);
	curl_url_cleanup(u);
	return proxy;
}

/* Where distributions keep their CA bundle, most common first. */
static const char *const ca_bundles[] = {
	"/etc/ssl/certs/ca-certificates.crt", /* Debian, Ubuntu, Arch, Alpine */
	"/etc/pki/tls/certs/ca-bundle.crt", /* Fedora, RHEL and its rebuilds */
	"/etc/ssl/ca-bundle.pem",	    /* openSUSE, SLES */
	"/etc/ssl/cert.pem",		    /* Alpine, the BSDs' layout */
	NULL,
};

static void set_ca(CURL *e)
{
	const char *file = getenv("SSL_CERT_FILE");
	const char *dir = getenv("SSL_CERT_DIR");
	char *builtin = NULL;

	if (file && *file)
		curl_easy_setopt(e, CURLOPT_CAINFO, file);
	if (dir && *dir)
		curl_easy_setopt(e, CURLOPT_CAPATH, dir);
	if ((file && *file) || (dir && *dir))
		return;
#if LIBCURL_VERSION_NUM >= 0x075400
	if (curl_easy_getinfo(e, CURLINFO_CAINFO, &builtin) != CURLE_OK)
		builtin = NULL;
#endif
	/* No built-in file (a native CA store, an old libcurl): curl's own. */
	if (!builtin || access(builtin, R_OK) == 0)
		return;
	for (const char *const *p = ca_bundles; *p; p++) {
		if (access(*p, R_OK) == 0) {
			curl_easy_setopt(e, CURLOPT_CAINFO, *p);
			return;
		}
	}
}

void *img_http_easy(const char *url, const char *stall_env, const char **proxy)
{
	CURL *e = curl_easy_init();
	const char *used;

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "hutch/0.1");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
			 CURLPROTO_HTTP | CURLPROTO_HTTPS);
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS,
			 CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
	/* Less than 1 KiB/s for this long ends a transfer. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, env_seconds(stall_env, 60));
	set_ca(e);
	used = set_proxy(e, url);
	if (proxy)
		*proxy = used;
	return e;
}
