/* digest.c - SHA-256 of array bytes through OpenSSL's libcrypto (SHA-NI where the CPU has it) */
#include <openssl/evp.h>

#include "core/diag.h"
#include "meta/digest.h"
#include "core/banned.h"

struct em_sha256 {
	EVP_MD_CTX *ctx;
};

struct em_sha256 *
em_sha256_new(void)
{
	struct em_sha256 *h = malloc(sizeof(*h));

	if (h == NULL) {
		em_fail("out of memory");
		return NULL;
	}
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		em_fail("cannot start SHA-256");
		return NULL;
	}
	return h;
}

void
em_sha256_free(struct em_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
em_sha256_update(struct em_sha256 *h, const void *p, size_t n)
{
	if (EVP_DigestUpdate(h->ctx, p, n) != 1)
		return em_fail("SHA-256 update failed");
	return 0;
}

int
em_sha256_final(struct em_sha256 *h, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_DigestFinal_ex(h->ctx, md, &n) != 1 || n != 32)
		return em_fail("SHA-256 final failed");
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

int
em_sha256_hex(const void *p, size_t n, char hex[65])
{
	struct em_sha256 *h = em_sha256_new();
	int rc;

	if (h == NULL)
		return -1;
	rc = em_sha256_update(h, p, n) < 0 ? -1 : em_sha256_final(h, hex);
	em_sha256_free(h);
	return rc;
}
