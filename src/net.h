/*
 * net.h: socket addresses: listening sockets for the daemon, connecting
 * for the client, and printing addresses the way the logs show them.
 */
#ifndef NET_H
#define NET_H

#include <sys/socket.h>

#include <stddef.h>

#define NET_ADDRSTRLEN	64

int	net_listen(const char *addr, int port, int *fds, int maxfds);
int	net_connect(const char *host, int port, char *err, size_t errlen);
void	net_addr_str(const struct sockaddr_storage *, char *, size_t, int *);
int	net_resolvable(const char *host, char *err, size_t errlen);

#endif /* NET_H */
