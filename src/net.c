/*
 * net.c: owns name resolution and socket set-up: the daemon's listening
 * sockets, the client's connection (every address the host resolves to),
 * and the one function that prints an address for logs and replies.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net.h"

/* Open, bind and listen on one resolved address; -1 on failure. */
static int
net_listen_one(const struct addrinfo *ai, int v6only)
{
	int fd, on = 1, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (ai->ai_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &v6only, sizeof(v6only)) == -1)
		goto fail;
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, 128) == -1)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/*
 * Listen on every address addr resolves to (NULL: all IPv4 and IPv6
 * addresses).  Adds the sockets to fds and returns how many, or -1 with
 * the reason logged.
 */
int
net_listen(const char *addr, int port, int *fds, int maxfds)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16], host[NET_ADDRSTRLEN];
	int n = 0, fd, error, p;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((error = getaddrinfo(addr, portstr, &hints, &res)) != 0) {
		log_warnx("listen address %s: %s", addr ? addr : "*",
		    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		net_addr_str((const struct sockaddr_storage *)(void *)
		    ai->ai_addr, host, sizeof(host), &p);
		if (n >= maxfds) {
			log_warnx("too many listening sockets, skipping %s",
			    host);
			continue;
		}
		/* all addresses: one IPv4 and one IPv6-only socket */
		if ((fd = net_listen_one(ai, addr == NULL)) == -1) {
			if (addr == NULL && ai->ai_family == AF_INET6 &&
			    errno == EAFNOSUPPORT)
				continue;
			log_warn("cannot listen on %s port %d", host, port);
			while (n > 0)
				close(fds[--n]);
			freeaddrinfo(res);
			return -1;
		}
		fds[n++] = fd;
	}
	freeaddrinfo(res);
	return n;
}

/* Connect to the first address of host that answers. */
int
net_connect(const char *host, int port, char *err, size_t errlen)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16];
	int fd = -1, error, saved = 0, on = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((error = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		snprintf(err, errlen, "cannot connect to %s port %d: %s",
		    host, port, strerror(saved));
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	return fd;
}

/* Does host resolve to at least one address? */
int
net_resolvable(const char *host, char *err, size_t errlen)
{
	struct addrinfo hints, *res;
	int error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((error = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(error));
		return 0;
	}
	freeaddrinfo(res);
	return 1;
}

/* Numeric address and port; an IPv4-mapped IPv6 address prints as IPv4. */
void
net_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len,
    int *port)
{
	const struct sockaddr_in6 *sin6;
	const struct sockaddr_in *sin;
	struct in_addr in4;

	*port = 0;
	if (ss->ss_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, buf, len);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&in4, &sin6->sin6_addr.s6_addr[12], 4);
			inet_ntop(AF_INET, &in4, buf, len);
		} else
			inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len);
		*port = ntohs(sin6->sin6_port);
	} else
		strlcpy(buf, "unknown", len);
}
