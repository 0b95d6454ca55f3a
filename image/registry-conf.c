// SPDX-License-Identifier: Apache-2.0
/* registry-conf.c - registries.json: mirrors and insecure registries
 *
 * The file is $HUTCH_REGISTRIES_CONF, else
 * ${XDG_CONFIG_HOME:-~/.config}/hutch/registries.json; a missing file means
 * no mirrors and only the loopback registries insecure. Every key is
 * optional:
 *
 *   {
 *     "registries": {
 *       "docker.io":         { "mirrors": ["https://mirror.example.org",
 *                                          "http://10.0.0.5:5000"] },
 *       "registry.lab:5000": { "insecure": true }
 *     },
 *     "registry-mirrors":    ["https://mirror.example.org"],
 *     "insecure-registries": ["registry.lab:5000", "10.1.0.0/16"]
 *   }
 *
 * "registries" is keyed by the name as it appears in image references.
 * The last two keys are those of Docker's daemon.json, so its lines can be
 * pasted: "registry-mirrors" are mirrors of docker.io, and
 * "insecure-registries" entries are host[:port] or IPv4 CIDR blocks.
 *
 * Mirrors serve pulls only, tried in order before the registry itself; a
 * mirror URL without a scheme is https. An insecure registry is tried over
 * https without checking its certificate, then over plain http (what
 * Docker does). "localhost", 127.0.0.0/8 and [::1] are insecure without
 * configuration, as in Docker.
 */

#include <arpa/inet.h>
#include <fcntl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "image/registry-internal.h"
#include "common/json-cleanup.h"

#define CONF_MAX (1u << 20)

char *reg_conf_path(void)
{
	const char *env = getenv("HUTCH_REGISTRIES_CONF");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");

	if (env && *env)
		return strdup(env);
	if (xdg && *xdg == '/')
		return cmn_strdup_printf("%s/hutch/registries.json", xdg);
	if (home && *home)
		return cmn_strdup_printf("%s/.config/hutch/registries.json",
					 home);
	errno = ENOENT;
	return NULL;
}

/* host[:port] without the port; IPv6 keeps its brackets off. */
static void host_only(const char *host, char *buf, size_t size)
{
	const char *end;

	if (host[0] == '[') {
		end = strchr(host, ']');
		snprintf(buf, size, "%.*s",
			 (int)(end ? end - host - 1 : (long)strlen(host)),
			 host + 1);
		return;
	}
	end = strchr(host, ':');
	snprintf(buf, size, "%.*s",
		 (int)(end ? end - host : (long)strlen(host)), host);
}

bool reg_is_loopback(const char *host)
{
	char h[256];
	struct in_addr a4;

	host_only(host, h, sizeof(h));
	if (!strcmp(h, "localhost") || !strcmp(h, "::1"))
		return true;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return false;
}

/* "10.1.0.0/16" contains @host (an IPv4 literal)? */
static bool cidr_contains(const char *cidr, const char *host)
{
	char net[64], h[256];
	const char *slash = strchr(cidr, '/');
	struct in_addr a, b;
	uint64_t bits;
	uint32_t mask;

	if (!slash || (size_t)(slash - cidr) >= sizeof(net))
		return false;
	snprintf(net, sizeof(net), "%.*s", (int)(slash - cidr), cidr);
	host_only(host, h, sizeof(h));
	if (!cmn_parse_u64(slash + 1, 32, &bits) ||
	    inet_pton(AF_INET, net, &a) != 1 || inet_pton(AF_INET, h, &b) != 1)
		return false;
	mask = bits ? ~0u << (32 - bits) : 0;
	return (ntohl(a.s_addr) & mask) == (ntohl(b.s_addr) & mask);
}

/* The config as JSON; an empty object when there is none. */
static json_t *load_conf(struct hutch_err *err)
{
	cleanup_free char *path = reg_conf_path();
	json_t *root;

	if (!path)
		return json_object();
	root = cmn_json_load(AT_FDCWD, path, "the registries config", CONF_MAX,
			     0, err);
	if (!root && errno == ENOENT)
		return json_object();
	if (!root && (errno == EBADMSG || errno == EINVAL))
		cmn_err_fix(err, "fix or remove it");
	return root;
}

/* Is @registry insecure by the config (either form) or by being local? */
static bool insecure(const json_t *conf, const char *registry)
{
	const json_t *entry =
		json_object_get(json_object_get(conf, "registries"), registry);
	const json_t *list = json_object_get(conf, "insecure-registries");
	const json_t *v;
	size_t i;

	if (reg_is_loopback(registry) ||
	    json_is_true(json_object_get(entry, "insecure")))
		return true;
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);

		if (s && (!strcmp(s, registry) || cidr_contains(s, registry)))
			return true;
	}
	return false;
}

/* "https://host:5000/path" -> host:5000 */
static char *url_host(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	return strndup(p, strcspn(p, "/"));
}

static int add_endpoint(struct reg_endpoint **v, size_t *n, const char *url,
			const json_t *conf, bool mirror)
{
	struct reg_endpoint *nv = realloc(*v, (*n + 1) * sizeof(**v));
	struct reg_endpoint *e;
	bool plain = cmn_has_prefix(url, "http://");
	bool has_scheme = plain || cmn_has_prefix(url, "https://");
	size_t len;

	if (!nv)
		return -ENOMEM;
	*v = nv;
	e = &nv[*n];
	memset(e, 0, sizeof(*e));
	e->base =
		has_scheme ? strdup(url) : cmn_strdup_printf("https://%s", url);
	e->host = e->base ? url_host(e->base) : NULL;
	if (!e->base || !e->host) {
		free(e->base);
		free(e->host);
		return -ENOMEM;
	}
	len = strlen(e->base);
	while (len > 8 && e->base[len - 1] == '/')
		e->base[--len] = '\0';
	e->mirror = mirror;
	e->verify = plain || !insecure(conf, e->host);
	e->http_fallback = !plain && !e->verify;
	(*n)++;
	return 0;
}

static int add_mirrors(struct reg_endpoint **v, size_t *n, const json_t *list,
		       const json_t *conf, const char *path,
		       struct hutch_err *err)
{
	const json_t *m;
	size_t i;

	if (list && !json_is_array(list))
		return cmn_err_msg(err, EINVAL,
				   "%s: mirrors must be a list of URLs", path);
	json_array_foreach(list, i, m)
	{
		const char *url = json_string_value(m);

		if (!url || !*url)
			return cmn_err_msg(err, EINVAL,
					   "%s: a mirror is not a URL string",
					   path);
		if (add_endpoint(v, n, url, conf, true) < 0)
			return cmn_err_set(err, ENOMEM, "registries");
	}
	return 0;
}

int reg_endpoints(const char *registry, bool pull, struct reg_endpoint **out,
		  size_t *n, struct hutch_err *err)
{
	cleanup_json json_t *conf = load_conf(err);
	cleanup_free char *path = reg_conf_path();
	struct reg_endpoint *v = NULL;
	bool hub = !strcmp(registry, "docker.io");
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!conf)
		return -EINVAL;
	if (pull) {
		const json_t *entry = json_object_get(
			json_object_get(conf, "registries"), registry);

		ret = add_mirrors(&v, n, json_object_get(entry, "mirrors"),
				  conf, path, err);
		if (ret == 0 && hub)
			ret = add_mirrors(
				&v, n,
				json_object_get(conf, "registry-mirrors"), conf,
				path, err);
	}
	if (ret == 0 &&
	    add_endpoint(&v, n, hub ? "registry-1.docker.io" : registry, conf,
			 false) < 0)
		ret = cmn_err_set(err, ENOMEM, "registries");
	if (ret < 0) {
		reg_endpoints_free(v, *n);
		*n = 0;
		return ret;
	}
	*out = v;
	return 0;
}

void reg_endpoints_free(struct reg_endpoint *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(e[i].base);
		free(e[i].host);
	}
	free(e);
}
