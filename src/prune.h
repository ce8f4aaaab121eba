/*
 * prune.h: the daemon's sweep of expired sessions.
 */
#ifndef PRUNE_H
#define PRUNE_H

#include <sys/types.h>

struct conf;

void	prune_tick(const struct conf *, const int *, int);
void	prune_stop(void);
long	prune_wait(const struct conf *);
int	prune_running(void);
int	prune_reaped(pid_t, int);

#endif /* PRUNE_H */
