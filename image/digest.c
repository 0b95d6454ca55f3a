// SPDX-License-Identifier: Apache-2.0
/* digest.c - SHA-256 digests as OCI writes them ("sha256:<hex>") */

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"

struct img_sha256 {
	EVP_MD_CTX *ctx; /* owned */
};

bool img_digest_parse(const char *s, struct img_digest *out)
{
	if (!cmn_has_prefix(s, "sha256:") || strlen(s) != 7 + 64)
		return false;
	s += 7;
	if (strspn(s, "0123456789abcdef") != 64)
		return false;
	memcpy(out->hex, s, 65);
	return true;
}

const char *img_digest_str(const struct img_digest *d, char buf[static 72])
{
	snprintf(buf, 72, "sha256:%.64s", d->hex);
	return buf;
}

bool img_digest_equal(const struct img_digest *a, const struct img_digest *b)
{
	return memcmp(a->hex, b->hex, 64) == 0;
}

struct img_sha256 *img_sha256_new(void)
{
	struct img_sha256 *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		img_sha256_free(h);
		return NULL;
	}
	return h;
}

void img_sha256_update(struct img_sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void img_sha256_final(struct img_sha256 *h, struct img_digest *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	for (unsigned int i = 0; i < 32 && i < n; i++) {
		out->hex[2 * i] = hex[md[i] >> 4];
		out->hex[2 * i + 1] = hex[md[i] & 15];
	}
	out->hex[64] = '\0';
	img_sha256_free(h);
}

void img_sha256_free(struct img_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int img_sha256_buf(const void *data, size_t len, struct img_digest *out)
{
	struct img_sha256 *h = img_sha256_new();

	if (!h)
		return -ENOMEM;
	img_sha256_update(h, data, len);
	img_sha256_final(h, out);
	return 0;
}
