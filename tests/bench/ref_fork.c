/*
 * ref_fork.c: the benchmark's reference, the least a fork-per-connection
 * server can do with authchatd's framing and echo greeting: the parent
 * accepts and forks, the child greets and answers each message with
 * "250 " and its text in one write(2), until EOF.  The kernel reaps.
 * It starts a session of its own, as the detached daemon does, so that
 * the scheduler's autogroups treat the two alike.
 *
 * usage: ref_fork port [seconds]	(loopback only; exits after seconds)
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HDRLEN		10
#define MAX_MSG		65536
#define GREETING	"220 authchat/1 authchatd ready, mode echo; " \
			"/help for commands"

/* Exactly n bytes, or -1 on EOF or error. */
static int
read_full(int fd, char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* A frame header for len at p (no NUL left behind). */
static void
put_header(char *p, size_t len)
{
	char hdr[HDRLEN + 1];

	snprintf(hdr, sizeof(hdr), "%010zu", len);
	memcpy(p, hdr, HDRLEN);
}

static void
serve(int fd)
{
	static char buf[HDRLEN + 4 + MAX_MSG];
	size_t len, n = strlen(GREETING);
	int i;

	put_header(buf, n);
	memcpy(buf + HDRLEN, GREETING, n);
	if (write(fd, buf, HDRLEN + n) != (ssize_t)(HDRLEN + n))
		return;
	while (read_full(fd, buf, HDRLEN) == 0) {
		for (len = 0, i = 0; i < HDRLEN; i++) {
			if (buf[i] < '0' || buf[i] > '9')
				return;
			len = len * 10 + (size_t)(buf[i] - '0');
		}
		if (len > MAX_MSG || read_full(fd, buf + HDRLEN + 4, len) == -1)
			return;
		put_header(buf, len + 4);
		memcpy(buf + HDRLEN, "250 ", 4);
		if (write(fd, buf, HDRLEN + 4 + len) != (ssize_t)(HDRLEN + 4 +
		    len))
			return;
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in sin;
	int lfd, fd, on = 1;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: ref_fork port [seconds]\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[1]));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, SOMAXCONN) == -1) {
		perror("ref_fork");
		return 1;
	}
	(void)setsid();
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	alarm(argc == 3 ? (unsigned int)atoi(argv[2]) : 3600);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		if (fork() == 0) {
			close(lfd);
			serve(fd);
			_exit(0);
		}
		close(fd);
	}
}
