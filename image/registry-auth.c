// SPDX-License-Identifier: Apache-2.0
/* registry-auth.c - WWW-Authenticate challenges, bearer tokens, the
 * Authorization header of each request
 *
 * A registry says how it wants to be authenticated in the challenge of a
 * 401: "Basic realm=..." wants the credentials on every request;
 * "Bearer realm=URL,service=S,scope=X" wants a token from URL for the
 * service and scope, fetched with the credentials if there are any (and
 * anonymously otherwise: Docker Hub hands out pull tokens to anyone).
 * Tokens are kept per scope string until their "expires_in" runs out.
 */

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/registry-internal.h"

#define TOKEN_MAX (1u << 20)

/* ---- challenges ------------------------------------------------------------ */

static bool tchar(char c)
{
	return c > ' ' && c < 127 && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	return p;
}

/* A token or quoted-string at *@pp; owned; advances *@pp. */
static char *read_value(const char **pp)
{
	const char *p = *pp;
	size_t n = 0;
	char *out;

	if (*p != '"') {
		while (p[n] && tchar(p[n]))
			n++;
		/* token68 may end in '=' padding, and realms hold '/' */
		while (p[n] && p[n] != ',' && p[n] != ' ' && p[n] != '\t')
			n++;
		*pp = p + n;
		return strndup(p, n);
	}
	out = calloc(1, strlen(p) + 1);
	if (!out)
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p;
	}
	out[n] = '\0';
	*pp = *p == '"' ? p + 1 : p;
	return out;
}

static void set_param(struct reg_challenge *c, const char *name, char *value)
{
	char **field = NULL;

	if (!strcasecmp(name, "realm"))
		field = &c->realm;
	else if (!strcasecmp(name, "service"))
		field = &c->service;
	else if (!strcasecmp(name, "scope"))
		field = &c->scope;
	if (field && !*field) {
		*field = value;
		return;
	}
	free(value);
}

int reg_challenge_parse(const char *value, struct reg_challenge *out)
{
	const char *p = value ? value : "";
	enum reg_scheme current = REG_AUTH_NONE;
	bool taken = false;

	memset(out, 0, sizeof(*out));
	while (*(p = skip_ows(p))) {
		size_t n = 0;
		const char *after;

		while (p[n] && tchar(p[n]))
			n++;
		if (n == 0) {
			p++;
			continue;
		}
		after = p + n;
		while (*after == ' ' || *after == '\t')
			after++;
		if (*after == '=' && after[1] != '=') {
			char name[32];
			const char *v = after + 1;
			char *val;

			snprintf(name, sizeof(name), "%.*s", (int)n, p);
			while (*v == ' ' || *v == '\t')
				v++;
			val = read_value(&v);
			p = v;
			if (current && val)
				set_param(out, name, val);
			else
				free(val);
			continue;
		}
		/* A new challenge: its scheme name. */
		if (taken)
			break;
		if (n == 5 && !strncasecmp(p, "Basic", 5))
			current = REG_AUTH_BASIC;
		else if (n == 6 && !strncasecmp(p, "Bearer", 6))
			current = REG_AUTH_BEARER;
		else
			current = REG_AUTH_NONE;
		if (current) {
			out->scheme = current;
			taken = true;
		}
		p += n;
	}
	return out->scheme ? 0 : -EINVAL;
}

void reg_challenge_free(struct reg_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof(*c));
}

void reg_update_challenge(struct reg_client *c, const char *www_auth)
{
	struct reg_challenge ch;

	if (reg_challenge_parse(www_auth, &ch) < 0) {
		cmn_debug("registry: unknown challenge \"%s\"", www_auth);
		return;
	}
	reg_challenge_free(&c->ch);
	c->ch = ch;
}

/* ---- tokens ----------------------------------------------------------------- */

void reg_tokens_free(struct reg_client *c)
{
	for (size_t i = 0; i < c->n_tokens; i++) {
		free(c->tokens[i].scope);
		if (c->tokens[i].token)
			explicit_bzero(c->tokens[i].token,
				       strlen(c->tokens[i].token));
		free(c->tokens[i].token);
	}
	free(c->tokens);
	c->tokens = NULL;
	c->n_tokens = 0;
}

static struct reg_token *find_token(struct reg_client *c, const char *scope)
{
	for (size_t i = 0; i < c->n_tokens; i++)
		if (!strcmp(c->tokens[i].scope, scope))
			return &c->tokens[i];
	return NULL;
}

static int keep_token(struct reg_client *c, const char *scope, char *token,
		      double ttl)
{
	struct reg_token *t = find_token(c, scope), *nv;

	if (!t) {
		nv = realloc(c->tokens, (c->n_tokens + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		c->tokens = nv;
		t = &nv[c->n_tokens++];
		memset(t, 0, sizeof(*t));
		t->scope = strdup(scope);
		if (!t->scope) {
			c->n_tokens--;
			return -ENOMEM;
		}
	}
	free(t->token);
	t->token = token;
	/* Renew a little early: a transfer must not start on a dying token. */
	t->expires = reg_now() + (ttl > 20 ? ttl - 10 : ttl / 2);
	return 0;
}

/* realm?service=S&scope=A&scope=B */
static char *token_url(struct reg_client *c, const char *scope)
{
	CURL *e = curl_easy_init();
	char *url = NULL, *tmp;
	const char *sep = strchr(c->ch.realm, '?') ? "&" : "?";

	if (!e)
		return NULL;
	url = strdup(c->ch.realm);
	if (url && c->ch.service) {
		char *s = curl_easy_escape(e, c->ch.service, 0);

		tmp = cmn_strdup_printf("%s%sservice=%s", url, sep, s);
		curl_free(s);
		free(url);
		url = tmp;
		sep = "&";
	}
	for (const char *p = scope; url && p && *p;) {
		size_t n = strcspn(p, " ");
		char *one = strndup(p, n);
		char *s = one ? curl_easy_escape(e, one, 0) : NULL;

		tmp = s ? cmn_strdup_printf("%s%sscope=%s", url, sep, s) : NULL;
		curl_free(s);
		free(one);
		free(url);
		url = tmp;
		sep = "&";
		p += n;
		p += strspn(p, " ");
	}
	curl_easy_cleanup(e);
	return url;
}

/* Parse {"token": T} or {"access_token": T}, with "expires_in". */
static int parse_token(const struct reg_response *r, char **token, double *ttl)
{
	json_t *root = json_loadb(r->body ? r->body : "", r->len, 0, NULL);
	const char *t = json_string_value(json_object_get(root, "token"));
	json_int_t exp =
		json_integer_value(json_object_get(root, "expires_in"));

	if (!t || !*t)
		t = json_string_value(json_object_get(root, "access_token"));
	*token = t && *t ? strdup(t) : NULL;
	*ttl = exp > 0 ? (double)exp : 60;
	json_decref(root);
	return *token ? 0 : -EPROTO;
}

static size_t token_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reg_response *r = arg;
	size_t len = size * nmemb;
	char *nb;

	if (r->len + len > TOKEN_MAX)
		return 0;
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, data, len);
	r->body = nb;
	r->len += len;
	nb[r->len] = '\0';
	return len;
}

static int token_refused(struct reg_client *c, const struct reg_response *r,
			 struct hutch_err *err)
{
	cleanup_free char *why = reg_error_text(r);

	if (c->user)
		return cmn_err_msg(
			err, EACCES,
			"%s refused the credentials of \"%s\": %s; check them with 'hutch login %s'",
			c->registry, c->user,
			r->status == 401 ? "incorrect username or password"
					 : why,
			c->registry);
	return cmn_err_msg(
		err, EACCES,
		"%s requires authentication (%s); run 'hutch login %s'",
		c->registry, why, c->registry);
}

static int fetch_token(struct reg_client *c, const char *scope,
		       struct hutch_err *err)
{
	cleanup_free char *url = NULL;
	struct reg_response r = { 0 };
	char *token = NULL;
	double ttl = 60;
	CURL *e;
	int rc = CURLE_OK, ret;

	if (!c->ch.realm)
		return cmn_err_msg(
			err, EPROTO,
			"%s asked for a bearer token but named no realm to get it from",
			c->registry);
	url = token_url(c, scope);
	e = url ? reg_easy_new(c, url) : NULL;
	if (!e)
		return cmn_err_set(err, ENOMEM, "token request");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, token_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
	if (c->user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, c->pass ? c->pass : "");
	}
	ret = reg_perform(c, e, &rc);
	if (ret == 0 && rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_cleanup(e);
	if (ret == 0 && rc != CURLE_OK)
		ret = cmn_err_msg(err, EIO, "cannot get a token from %s: %s",
				  c->ch.realm, curl_easy_strerror(rc));
	else if (ret == 0 && (r.status == 401 || r.status == 403))
		ret = token_refused(c, &r, err);
	else if (ret == 0 && r.status != 200)
		ret = cmn_err_msg(err, EPROTO,
				  "the token service %s answered HTTP %ld",
				  c->ch.realm, r.status);
	else if (ret == 0 && parse_token(&r, &token, &ttl) < 0)
		ret = cmn_err_msg(err, EPROTO,
				  "the token service %s sent no token",
				  c->ch.realm);
	reg_response_free(&r);
	if (ret == 0 && keep_token(c, scope, token, ttl) < 0) {
		free(token);
		ret = cmn_err_set(err, ENOMEM, "token");
	}
	return ret;
}

int reg_auth_header(struct reg_client *c, const char *scope, bool refresh,
		    char **header, struct hutch_err *err)
{
	struct reg_token *t;
	int ret;

	*header = NULL;
	if (c->ch.scheme == REG_AUTH_BASIC) {
		cleanup_free char *pair = NULL;
		cleanup_free char *b64 = NULL;

		if (!c->user)
			return 0;
		pair = cmn_strdup_printf("%s:%s", c->user, c->pass);
		b64 = pair ? reg_base64_encode(pair, strlen(pair)) : NULL;
		if (pair)
			explicit_bzero(pair, strlen(pair));
		*header =
			b64 ? cmn_strdup_printf("Authorization: Basic %s", b64)
			    : NULL;
		return *header ? 0 : cmn_err_set(err, ENOMEM, "auth");
	}
	if (c->ch.scheme != REG_AUTH_BEARER)
		return 0;
	if (!scope)
		scope = "";
	t = find_token(c, scope);
	if (refresh || !t || !t->token || t->expires < reg_now()) {
		ret = fetch_token(c, scope, err);
		if (ret < 0)
			return ret;
		t = find_token(c, scope);
	}
	*header = cmn_strdup_printf("Authorization: Bearer %s", t->token);
	return *header ? 0 : cmn_err_set(err, ENOMEM, "auth");
}

int reg_check_login(struct reg_client *c, struct hutch_err *err)
{
	struct reg_request req = {
		.method = "GET", .path = "/v2/", .file_fd = -1, .max = 64 << 10
	};
	struct reg_response resp;
	int ret;

	if (c->ch.scheme == REG_AUTH_BEARER)
		return fetch_token(c, "", err);
	if (c->ch.scheme == REG_AUTH_NONE)
		return 0;
	ret = reg_do(c, &req, &resp, err);
	if (ret < 0)
		return ret;
	if (resp.status == 401 || resp.status == 403)
		ret = token_refused(c, &resp, err);
	else if (resp.status != 200)
		ret = cmn_err_msg(err, EPROTO,
				  "%s/v2/ answered HTTP %ld to the login",
				  c->base, resp.status);
	reg_response_free(&resp);
	return ret;
}
