/*
 * tpeer.c: a scriptable test peer for the bats suite.  It connects to a
 * loopback port and runs its arguments as steps, so a test can send what
 * the real client never would: bad headers, split frames, resets.
 *
 *   tpeer -p PORT [-H HOST] STEP...
 *   send:TEXT    one framed message (C escapes \n \t \\ \xHH in TEXT)
 *   raw:BYTES    bytes as they are, same escapes, no header
 *   recv         read one frame, print its payload and a newline
 *   recvn:N      recv N times
 *   drain        print every frame until the server closes
 *   rawrecv      print raw bytes until the server closes
 *   sleep:MS     pause (only to make a peer slow on purpose)
 *   trickle:MS   send '0' bytes one per MS ms until the server speaks
 *   wait         block until standard input reaches end of file
 *   rst          close with SO_LINGER 0: the server sees a reset
 *   close        close normally
 * Exit 0 when every step worked, 1 otherwise, with the reason on stderr.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/socket.h>

#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "frame.h"
#include "net.h"

/* Decode C escapes in place; returns the decoded length. */
static size_t
unescape(char *s)
{
	char *in = s, *out = s;
	unsigned int v;

	while (*in != '\0') {
		if (*in != '\\' || in[1] == '\0') {
			*out++ = *in++;
			continue;
		}
		in++;
		switch (*in) {
		case 'n': *out++ = '\n'; in++; break;
		case 'r': *out++ = '\r'; in++; break;
		case 't': *out++ = '\t'; in++; break;
		case 'x':
			if (sscanf(in + 1, "%2x", &v) != 1)
				errx(2, "bad \\x escape");
			*out++ = (char)v;
			in += 3;
			break;
		default: *out++ = *in++; break;
		}
	}
	return (size_t)(out - s);
}

static void
step_recv(struct msgsock *ms)
{
	char *text;
	int r;

	if ((r = msgsock_recv(ms, &text, NULL)) != MS_OK)
		errx(1, "recv: %s", msgsock_strerror(r));
	printf("%s\n", text);
	fflush(stdout);
	free(text);
}

static void
step_drain(struct msgsock *ms)
{
	char *text;
	int r;

	while ((r = msgsock_recv(ms, &text, NULL)) == MS_OK) {
		printf("%s\n", text);
		fflush(stdout);
		free(text);
	}
	if (r != MS_EOF && r != MS_ESYS)
		errx(1, "drain: %s", msgsock_strerror(r));
}

static void
step_rawrecv(struct msgsock *ms)
{
	char buf[4096];
	ssize_t n;

	while ((n = msgsock_read_raw(ms, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
}

/* A slowloris: one byte at a time until the server has something to say. */
static void
step_trickle(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int n = 0;

	while (poll(&pfd, 1, ms) == 0)
		if (send(fd, "0", 1, MSG_NOSIGNAL) != 1 || ++n > 100000)
			break;
	fprintf(stderr, "tpeer: trickled %d bytes\n", n);
}

static void
step(struct msgsock *ms, int fd, char *arg)
{
	struct linger lg = { 1, 0 };
	struct timespec ts;
	const char *errstr;
	long long n;
	size_t len;
	char c;

	if (strncmp(arg, "send:", 5) == 0) {
		len = unescape(arg + 5);
		if (msgsock_sendn(ms, arg + 5, len) != MS_OK)
			errx(1, "send failed");
	} else if (strncmp(arg, "raw:", 4) == 0) {
		len = unescape(arg + 4);
		if (msgsock_write_raw(ms, arg + 4, len) != MS_OK)
			errx(1, "raw write failed");
	} else if (strcmp(arg, "recv") == 0) {
		step_recv(ms);
	} else if (strncmp(arg, "recvn:", 6) == 0) {
		n = strtonum(arg + 6, 1, 1000000, &errstr);
		if (errstr != NULL)
			errx(2, "recvn: %s", errstr);
		while (n-- > 0)
			step_recv(ms);
	} else if (strcmp(arg, "drain") == 0) {
		step_drain(ms);
	} else if (strcmp(arg, "rawrecv") == 0) {
		step_rawrecv(ms);
	} else if (strncmp(arg, "sleep:", 6) == 0) {
		n = strtonum(arg + 6, 0, 600000, &errstr);
		if (errstr != NULL)
			errx(2, "sleep: %s", errstr);
		ts.tv_sec = n / 1000;
		ts.tv_nsec = (n % 1000) * 1000000;
		nanosleep(&ts, NULL);
	} else if (strncmp(arg, "trickle:", 8) == 0) {
		n = strtonum(arg + 8, 1, 60000, &errstr);
		if (errstr != NULL)
			errx(2, "trickle: %s", errstr);
		step_trickle(fd, (int)n);
	} else if (strcmp(arg, "wait") == 0) {
		while (read(STDIN_FILENO, &c, 1) > 0)
			;
	} else if (strcmp(arg, "rst") == 0) {
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		exit(0);
	} else if (strcmp(arg, "close") == 0) {
		close(fd);
		exit(0);
	} else
		errx(2, "unknown step %s", arg);
}

int
main(int argc, char *argv[])
{
	struct msgsock *ms;
	const char *host = "127.0.0.1", *why;
	char ebuf[256];
	int ch, port = 0, fd, i;

	while ((ch = getopt(argc, argv, "H:p:")) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'p':
			if (conf_parse_port(optarg, &port, &why) == -1)
				errx(2, "%s", why);
			break;
		default:
			errx(2, "usage: tpeer -p port [-H host] step ...");
		}
	}
	if (port == 0)
		errx(2, "usage: tpeer -p port [-H host] step ...");
	if ((fd = net_connect(host, port, ebuf, sizeof(ebuf))) == -1)
		errx(1, "%s", ebuf);
	if ((ms = msgsock_new(fd, FRAME_CLIENT_MAX)) == NULL)
		err(1, "msgsock_new");
	msgsock_set_timeout(ms, 30000);
	for (i = optind; i < argc; i++)
		step(ms, fd, argv[i]);
	msgsock_free(ms);
	close(fd);
	return 0;
}
