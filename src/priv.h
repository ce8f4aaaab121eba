/*
 * priv.h: running as root only as long as binding the port needs.
 */
#ifndef PRIV_H
#define PRIV_H

struct conf;

int	priv_check(const struct conf *);
int	priv_drop(const struct conf *);

#endif /* PRIV_H */
