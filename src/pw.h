/*
 * pw.h: password hashing with crypt(3) from libxcrypt (yescrypt), and the
 * session tokens: random, shown to the client once, stored as a digest.
 */
#ifndef PW_H
#define PW_H

#include <stddef.h>

#define PW_MAX		511	/* bytes in a password: libxcrypt's limit */
#define PW_HASH_MAX	256
#define TOKEN_HEX_LEN	64	/* 256 random bits, hex */

int	pw_hash(const char *password, unsigned long cost, char *out,
	    size_t outlen);
int	pw_verify(const char *password, const char *hash);
void	pw_fake(const char *password, unsigned long cost);
int	pw_needs_rehash(const char *hash, unsigned long cost);

int	token_new(char hex[TOKEN_HEX_LEN + 1]);
int	token_valid(const char *hex);
int	token_digest(const char *hex, char digest[65]);
int	secret_equal(const char *, const char *);

#endif /* PW_H */
