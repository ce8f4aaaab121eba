/*
 * pw.c: owns every secret the daemon handles: crypt(3) hashing and checks
 * (libxcrypt, yescrypt by default), the fake work done for unknown users,
 * the rehash decision, and session tokens (getrandom(2), SHA-256 from
 * libmd).  Every copy of a password or hash is wiped after use.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/random.h>

#include <crypt.h>
#include <errno.h>
#include <sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pw.h"

#define PW_METHOD	"$y$"

/* A fresh setting (method, cost, random salt) for the configured cost. */
static int
pw_setting(unsigned long cost, char *out, size_t outlen)
{
	if (crypt_gensalt_rn(PW_METHOD, cost, NULL, 0, out, (int)outlen) ==
	    NULL || out[0] == '*') {
		log_warn("crypt_gensalt %s cost %lu", PW_METHOD, cost);
		return -1;
	}
	return 0;
}

/* Hash a password for storage; 0 on success. */
int
pw_hash(const char *password, unsigned long cost, char *out, size_t outlen)
{
	struct crypt_data *cd;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *h;
	int r = -1;

	if (strlen(password) > PW_MAX || pw_setting(cost, setting,
	    sizeof(setting)) == -1)
		return -1;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	h = crypt_rn(password, setting, cd, sizeof(*cd));
	if (h != NULL && h[0] != '*' && strlcpy(out, h, outlen) < outlen)
		r = 0;
	else
		log_warnx("crypt failed for method %s", PW_METHOD);
	freezero(cd, sizeof(*cd));
	return r;
}

/* Does password match hash?  Fails closed on any error or '*' result. */
int
pw_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	int ok = 0;

	if (strlen(password) > PW_MAX || hash[0] == '\0' || hash[0] == '*' ||
	    hash[0] == '!')
		return 0;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return 0;
	h = crypt_rn(password, hash, cd, sizeof(*cd));
	if (h != NULL && h[0] != '*')
		ok = secret_equal(h, hash);
	freezero(cd, sizeof(*cd));
	return ok;
}

/* The same work as a real check, for a user that does not exist. */
void
pw_fake(const char *password, unsigned long cost)
{
	struct crypt_data *cd;
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (pw_setting(cost, setting, sizeof(setting)) == -1 ||
	    (cd = calloc(1, sizeof(*cd))) == NULL)
		return;
	(void)crypt_rn(password, setting, cd, sizeof(*cd));
	freezero(cd, sizeof(*cd));
}

/* The "$id$params$" head of a hash or setting; length, or 0. */
static size_t
pw_params(const char *h)
{
	const char *p;

	if (h[0] != '$' || (p = strchr(h + 1, '$')) == NULL ||
	    (p = strchr(p + 1, '$')) == NULL)
		return 0;
	return (size_t)(p - h + 1);
}

/*
 * Should a hash that just verified be replaced?  Yes when its method or
 * cost differs from the configured one; crypt_checksalt(3) calls $6$
 * fine, so compare the method and parameters ourselves.
 */
int
pw_needs_rehash(const char *hash, unsigned long cost)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	size_t n;

	if (pw_setting(cost, setting, sizeof(setting)) == -1)
		return 0;
	n = pw_params(setting);
	return n == 0 || pw_params(hash) != n || strncmp(hash, setting, n) != 0;
}

/*
 * Constant-time comparison of two strings; lengths are not secret.  The
 * loop of OpenBSD's timingsafe_bcmp(3), which libbsd has only from 0.12.
 */
int
secret_equal(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = 0;

	if (la != lb)
		return 0;
	for (i = 0; i < la; i++)
		diff |= p[i] ^ q[i];
	return diff == 0;
}

/* 256 random bits as lowercase hex. */
int
token_new(char hex[TOKEN_HEX_LEN + 1])
{
	unsigned char raw[TOKEN_HEX_LEN / 2];
	size_t i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		log_warn("getrandom");
		return -1;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* Exactly 64 lowercase hex digits. */
int
token_valid(const char *hex)
{
	size_t i;

	for (i = 0; i < TOKEN_HEX_LEN; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return 0;
	return hex[i] == '\0';
}

/* What the server stores: the SHA-256 of the token, in lowercase hex. */
int
token_digest(const char *hex, char digest[65])
{
	SHA2_CTX ctx;
	uint8_t md[SHA256_DIGEST_LENGTH];
	size_t i;

	if (!token_valid(hex))
		return -1;
	SHA256Init(&ctx);
	SHA256Update(&ctx, (const uint8_t *)hex, TOKEN_HEX_LEN);
	SHA256Final(md, &ctx);
	for (i = 0; i < sizeof(md); i++)
		snprintf(digest + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(&ctx, sizeof(ctx));
	return 0;
}
