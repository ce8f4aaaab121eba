/*
 * guard.h: admission control in the parent: startups, per-source
 * limits, penalties, rate-limited refusal logs.
 */
#ifndef GUARD_H
#define GUARD_H

#include <sys/socket.h>

struct conf;

/* A source block: the peer's address with the host bits cleared. */
struct srckey {
	int		family;
	unsigned char	addr[16];
};

void		 limits_key(const struct conf *, const struct sockaddr_storage *,
		    struct srckey *);
const char	*limits_admit(const struct conf *,
		    const struct sockaddr_storage *, int, int);
void		 limits_penalize(const struct conf *,
		    const struct sockaddr_storage *, int);
void		 limits_log(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
int		 limits_log_flush(void);

#endif /* GUARD_H */
