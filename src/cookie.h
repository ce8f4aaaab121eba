/*
 * cookie.h: the client's kept session tokens, one file per server.
 */
#ifndef COOKIE_H
#define COOKIE_H

#include <stddef.h>

int	cookie_load(const char *host, int port, char *tok, size_t len);
int	cookie_save(const char *host, int port, const char *tok);
int	cookie_forget(const char *host, int port);

#endif /* COOKIE_H */
