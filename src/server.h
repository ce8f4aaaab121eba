/*
 * server.h: the daemon's parent process: accept, fork, count, reap.
 */
#ifndef SERVER_H
#define SERVER_H

struct conf;

int	server_run(struct conf *, int (*)(struct conf *), int *, int);

#endif /* SERVER_H */
