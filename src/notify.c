/*
 * notify.c: owns the systemd protocol, written out because it is a few
 * lines: state datagrams to $NOTIFY_SOCKET (READY=1, RELOADING=1,
 * STOPPING=1) and the sockets passed by socket activation (LISTEN_FDS,
 * LISTEN_PID, starting at fd 3).  Without systemd both do nothing.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

#define LISTEN_FDS_START	3

/* Send one state datagram; failures are logged, never fatal. */
void
notify(const char *state)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	socklen_t len;
	size_t n;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) == -1)
		log_warn("notify %s", path);
	close(fd);
}

/* The listening sockets systemd passed us, if any: their count. */
int
notify_listen_fds(int *fds, int maxfds)
{
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	const char *errstr;
	long long p, n, i;

	if (pid == NULL || nfds == NULL)
		return 0;
	p = strtonum(pid, 1, INT32_MAX, &errstr);
	if (errstr != NULL || p != getpid())
		return 0;
	n = strtonum(nfds, 1, maxfds, &errstr);
	if (errstr != NULL) {
		log_warnx("LISTEN_FDS %s: %s", nfds, errstr);
		return -1;
	}
	for (i = 0; i < n; i++) {
		fds[i] = LISTEN_FDS_START + (int)i;
		if (fcntl(fds[i], F_SETFD, FD_CLOEXEC) == -1 ||
		    fcntl(fds[i], F_SETFL, O_NONBLOCK) == -1) {
			log_warn("LISTEN_FDS fd %d", fds[i]);
			return -1;
		}
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return (int)n;
}
